"""The shared numerical pieces: token/sequence log-probs, log(1 - p), label smoothing, batch checks."""

import math

import pytest
import torch

from consum.losses import compute_loss
from consum.losses.batch import check_batch, pair_mask
from consum.losses.label_smoothing import label_smoothed_nll_sum
from consum.losses.logprobs import label_smoothed_token_loss, log1mexp, sequence_logprob, token_logprobs


def test_token_logprobs_match_cross_entropy_and_zero_padding():
    logits = torch.randn(3, 4, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[1, 2, 3, -100], [0, -100, -100, -100], [6, 5, 4, 3]])
    expected = -torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), labels, ignore_index=-100, reduction="none"
    )
    torch.testing.assert_close(token_logprobs(logits, labels), expected)
    assert token_logprobs(logits.bfloat16(), labels).dtype == torch.float32


def test_sequence_logprob_sum_mean_length_penalty_and_empty_rows():
    token_lp = torch.tensor([[-1.0, -2.0, -3.0], [-4.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, False, False], [False, False, False]])
    torch.testing.assert_close(
        sequence_logprob(token_lp, mask, normalise=False), torch.tensor([-6.0, -4.0, 0.0])
    )
    torch.testing.assert_close(sequence_logprob(token_lp, mask), torch.tensor([-2.0, -4.0, 0.0]))
    torch.testing.assert_close(
        sequence_logprob(token_lp, mask, length_penalty=2.0), torch.tensor([-6.0 / 9.0, -4.0, 0.0])
    )


def test_log1mexp_is_accurate_over_the_whole_range():
    x = -torch.logspace(-7, 2, 200, dtype=torch.float64)
    expected = torch.log(-torch.expm1(x))
    torch.testing.assert_close(log1mexp(x.float()).double(), expected, rtol=1e-5, atol=1e-12)


def test_log1mexp_floor_and_gradients_are_finite_at_the_edges():
    x = torch.tensor([0.0, -1e-30, -math.inf, -0.5, -5.0], requires_grad=True)
    value = log1mexp(x)
    assert value[0].item() == pytest.approx(math.log(1e-20))
    assert value[2].item() == 0.0
    value.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[0].item() == 0.0  # clamped at the floor, as (1 - p).clamp(min=1e-20).log()
    assert x.grad[3].item() == pytest.approx(-math.exp(-0.5) / (1 - math.exp(-0.5)), rel=1e-5)


def test_label_smoothing_with_zero_epsilon_is_plain_nll():
    log_values = torch.log_softmax(torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(1)), -1)
    labels = torch.tensor([[0, 1, -100], [4, 3, 2]])
    nll = -token_logprobs(log_values, labels)
    torch.testing.assert_close(label_smoothed_token_loss(log_values, labels, 0.0), nll)
    smoothed = label_smoothed_token_loss(log_values, labels, 0.2)
    uniform = -log_values.mean(-1) * (labels != -100)
    torch.testing.assert_close(smoothed, 0.8 * nll + 0.2 * uniform)


def test_pairs_stay_inside_a_document_and_skip_absent_rows():
    is_positive = torch.tensor([True, False, True, False, False])
    group_ids = torch.tensor([0, 0, 1, 1, 0])
    present = torch.tensor([True, True, True, True, False])
    assert pair_mask(is_positive, group_ids, present).nonzero().tolist() == [[0, 1], [2, 3]]


def test_batch_shapes_are_checked():
    logits = torch.zeros(2, 3, 4)
    labels = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="labels"):
        check_batch(logits, labels[:, :2], torch.tensor([True, False]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="is_positive"):
        check_batch(logits, labels, torch.tensor([1, 0]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="group_ids"):
        check_batch(logits, labels, torch.tensor([True, False]), torch.tensor([0.0, 0.0]))


def test_compute_loss_names_the_known_losses():
    with pytest.raises(ValueError, match="dpo, margin_rank, sequence, span_unlikelihood, unlikelihood"):
        compute_loss(
            "brio",
            torch.zeros(1, 1, 2),
            torch.zeros(1, 1, dtype=torch.long),
            torch.tensor([True]),
            torch.tensor([0]),
        )


def test_positive_term_matches_the_mle_recipe_label_smoothing(batch):
    # ConSeq's likelihood on S+ is the same fairseq 0.9 formula the MLE recipe trains with.
    positives = batch.is_positive
    expected_sum, _, _ = label_smoothed_nll_sum(batch.logits[positives], batch.labels[positives], 0.1)
    output = compute_loss(
        "unlikelihood", batch.logits, batch.labels, batch.is_positive, batch.group_ids, reduction="sum"
    )
    torch.testing.assert_close(output.parts["nll_pos"], expected_sum)
