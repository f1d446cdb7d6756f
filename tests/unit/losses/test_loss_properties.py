"""Properties every loss must have, on the random batch of ``conftest.make_batch``."""

import pytest
import torch

from consum.losses import LOSSES

LOSS_NAMES = ("unlikelihood", "sequence", "margin_rank", "dpo", "span_unlikelihood")

PAIR_TERMS = {"margin_rank": "rank", "dpo": "dpo"}


def assert_same_output(left, right):
    torch.testing.assert_close(left.loss, right.loss)
    assert left.parts.keys() == right.parts.keys()
    for key in left.parts:
        torch.testing.assert_close(left.parts[key], right.parts[key], msg=key)


def test_registry_holds_every_loss():
    assert set(LOSSES) == set(LOSS_NAMES)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_parts_are_detached_scalars_and_loss_is_a_scalar(batch, name):
    output = batch.loss(name)
    assert output.loss.dim() == 0 and torch.isfinite(output.loss)
    for key, value in output.parts.items():
        assert value.dim() == 0 and not value.requires_grad, key


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_row_order_does_not_matter(batch, name):
    permutation = torch.randperm(len(batch.labels), generator=torch.Generator().manual_seed(3)).tolist()
    assert_same_output(batch.loss(name), batch.take(permutation).loss(name))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_fully_padded_rows_are_ignored(batch, name):
    # Row 5 is a fully padded positive of document 1, which has a negative: it must not form a pair.
    without_padded_row = [row for row in range(len(batch.labels)) if row != 5]
    assert_same_output(batch.loss(name), batch.take(without_padded_row).loss(name))


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize(
    "rows", [[6, 7], [6], [7], [5]], ids=["neg-only+pos-only", "neg-only", "pos-only", "padding-only"]
)
def test_groups_without_pairs_give_zero_pair_terms_and_finite_gradients(batch, name, rows):
    sub_batch = batch.take(rows)
    logits = sub_batch.logits.clone().requires_grad_(True)
    output = sub_batch.with_logits(logits).loss(name)
    output.loss.backward()
    assert torch.isfinite(output.loss)
    assert torch.isfinite(logits.grad).all()
    assert output.parts["n_pairs"].item() == 0
    assert output.parts["margin"].item() == 0.0 and output.parts["rank_acc"].item() == 0.0
    if name in PAIR_TERMS:
        assert output.parts[PAIR_TERMS[name]].item() == 0.0
    if rows == [5]:
        assert output.loss.item() == 0.0
        assert (logits.grad == 0).all()


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradients_are_finite_when_a_negative_is_certain(batch, name):
    # p(label) = 1 exactly in fp32 on every token of negative row 1: log(1 - p) hits the 1e-20 floor.
    logits = batch.logits.clone()
    labels = batch.labels[1]
    for step in range(labels.numel()):
        if labels[step] >= 0:
            logits[1, step] = -1e4
            logits[1, step, labels[step]] = 1e4
    logits.requires_grad_(True)
    output = batch.with_logits(logits).loss(name)
    output.loss.backward()
    assert torch.isfinite(output.loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_bf16_logits_match_fp32(batch, name):
    fp32 = batch.loss(name)
    bf16_logits = batch.logits.bfloat16()
    bf16 = batch.with_logits(bf16_logits).loss(name)
    assert bf16.loss.dtype == torch.float32
    assert_same_output(bf16, batch.with_logits(bf16_logits.float()).loss(name))  # computed in fp32
    torch.testing.assert_close(bf16.loss, fp32.loss, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_one_sgd_step_on_free_logits_separates_positives_from_negatives(make_batch, name):
    batch = make_batch(seed=4)
    logits = batch.logits.clone().requires_grad_(True)
    before = batch.with_logits(logits).loss(name)
    before.loss.backward()
    with torch.no_grad():
        stepped = logits - 0.5 * logits.grad / logits.grad.norm()
    after = batch.with_logits(stepped).loss(name)
    assert after.loss < before.loss
    assert after.parts["margin"] > before.parts["margin"]
    if name != "dpo":  # every other loss has a likelihood term on the positives
        assert after.parts["seq_logprob_pos"] > before.parts["seq_logprob_pos"]
    if name in ("unlikelihood", "sequence", "span_unlikelihood"):  # these push the negatives down directly
        assert after.parts["seq_logprob_neg"] < before.parts["seq_logprob_neg"]


@pytest.mark.parametrize("name", ["margin_rank", "dpo"])
def test_pair_terms_do_not_cross_documents(batch, name):
    # Moving the positive-only document 3 into document 2 (negative-only) creates exactly one more pair.
    merged = batch.take(list(range(len(batch.labels))))
    merged.group_ids = torch.where(merged.group_ids == 3, 2, merged.group_ids)
    assert batch.loss(name).parts["n_pairs"].item() == 3
    assert merged.loss(name).parts["n_pairs"].item() == 4
