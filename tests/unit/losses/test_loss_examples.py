"""Each loss on the 2 x 3, V = 3 example worked out by hand in its module docstring.

Every position has p = (0.5, 0.25, 0.25). Row 0 is a positive with labels (0, 1, 0), row 1 a negative
of the same document with labels (2, 0, pad). Length-normalised log-probs: ln(1/16)/3 = -0.924196 and
ln(1/8)/2 = -1.039721, so margin 0.115525 and ranking accuracy 1.
"""

import pytest
import torch

from consum.losses import dpo_loss, margin_rank_loss, sequence_loss, span_unlikelihood_loss, unlikelihood_loss

LOGITS = torch.log(torch.tensor([0.5, 0.25, 0.25])).expand(2, 3, 3).clone()
LABELS = torch.tensor([[0, 1, 0], [2, 0, -100]])
IS_POSITIVE = torch.tensor([True, False])
GROUP_IDS = torch.tensor([0, 0])


def check_diagnostics(parts):
    assert parts["seq_logprob_pos"].item() == pytest.approx(-0.924196, abs=1e-6)
    assert parts["seq_logprob_neg"].item() == pytest.approx(-1.039721, abs=1e-6)
    assert parts["margin"].item() == pytest.approx(0.115525, abs=1e-6)
    assert parts["rank_acc"].item() == 1.0
    assert (parts["n_pos"].item(), parts["n_neg"].item(), parts["n_pairs"].item()) == (1, 1, 1)


def test_unlikelihood_hand_computed_example():
    loss, parts = unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, label_smoothing=0.1)
    # L+ = 0.739357 + 1.363190 + 0.739357 = 2.841903; L- = 0.301198 + 0.666116 = 0.967314; 5 tokens.
    assert loss.item() == pytest.approx(0.761843, abs=1e-6)
    assert parts["nll_pos"].item() == pytest.approx(2.841903 / 5, abs=1e-6)
    assert parts["ul_neg"].item() == pytest.approx(0.967314 / 5, abs=1e-6)
    assert parts["n_tokens"].item() == 5
    check_diagnostics(parts)


def test_unlikelihood_sum_reduction_and_neg_weight():
    loss, _ = unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, neg_weight=2.0, reduction="sum")
    assert loss.item() == pytest.approx(2.841903 + 2.0 * 0.967314, abs=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, reduction="batchmean")


# The negative's span covers its second token (label 0) only; the positive's mask must be ignored.
SPAN_MASK = torch.tensor([[True, False, True], [False, True, False]])


def test_span_unlikelihood_hand_computed_example():
    loss, parts = span_unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, span_mask=SPAN_MASK)
    # L+ = 2.841903 as in unlikelihood; L- = 0.666116 (the label-0 token only); still 5 tokens.
    assert loss.item() == pytest.approx(0.701604, abs=1e-6)
    assert parts["nll_pos"].item() == pytest.approx(2.841903 / 5, abs=1e-6)
    assert parts["ul_neg"].item() == pytest.approx(0.666116 / 5, abs=1e-6)
    assert parts["n_tokens"].item() == 5 and parts["n_span_tokens"].item() == 1
    check_diagnostics(parts)
    loss, parts = span_unlikelihood_loss(
        LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, span_mask=SPAN_MASK, outside_weight=0.5
    )
    # L- = 0.5 * 0.301198 + 0.666116 = 0.816715
    assert loss.item() == pytest.approx(0.731724, abs=1e-6)
    assert parts["ul_neg"].item() == pytest.approx(0.816715 / 5, abs=1e-6)


@pytest.mark.parametrize(
    ("span_mask", "outside_weight"),
    [(torch.ones(2, 3, dtype=torch.bool), 0.0), (SPAN_MASK, 1.0)],
    ids=["mask-all-true", "outside-weight-1"],
)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_span_unlikelihood_without_a_span_is_unlikelihood(span_mask, outside_weight, reduction):
    expected = unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, neg_weight=0.7, reduction=reduction)
    got = span_unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, span_mask=span_mask,
                                 outside_weight=outside_weight, neg_weight=0.7, reduction=reduction)
    assert got.loss.item() == expected.loss.item()  # exactly, not approximately
    assert {k: v.item() for k, v in got.parts.items() if k != "n_span_tokens"} == {
        k: v.item() for k, v in expected.parts.items()
    }


def test_span_unlikelihood_rejects_a_bad_mask():
    with pytest.raises(ValueError, match="span_mask"):
        span_unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, span_mask=SPAN_MASK.long())
    with pytest.raises(ValueError, match="span_mask"):
        span_unlikelihood_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, span_mask=SPAN_MASK[:, :2])


def test_sequence_hand_computed_example():
    loss, parts = sequence_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS)
    # -s+ = 0.924196; p- = 8^(-1/2) = 0.353553, -log(1 - p-) = 0.436265; mean over 2 rows.
    assert loss.item() == pytest.approx(0.680230, abs=1e-6)
    assert parts["nll_pos"].item() == pytest.approx(0.924196 / 2, abs=1e-6)
    assert parts["ul_neg"].item() == pytest.approx(0.436265 / 2, abs=1e-6)
    check_diagnostics(parts)


def test_margin_rank_hand_computed_example():
    loss, parts = margin_rank_loss(
        LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, margin=0.5, nll_weight=1.0, label_smoothing=0.1
    )
    # max(0, 0.5 - 0.115525) = 0.384475; smoothed positive NLL 2.841903 / 3 tokens = 0.947301.
    assert loss.item() == pytest.approx(1.331777, abs=1e-6)
    assert parts["rank"].item() == pytest.approx(0.384475, abs=1e-6)
    assert parts["nll_pos"].item() == pytest.approx(0.947301, abs=1e-6)
    check_diagnostics(parts)


def test_margin_rank_hinge_is_zero_once_the_margin_is_met():
    _, parts = margin_rank_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, margin=0.1)
    assert parts["rank"].item() == 0.0


def test_margin_rank_length_penalty_changes_the_score_not_the_diagnostics():
    # length_penalty 2: s+ = ln(1/16)/9 = -0.308065, s- = ln(1/8)/4 = -0.519860, gap 0.211795.
    _, parts = margin_rank_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, margin=0.5, length_penalty=2.0)
    assert parts["rank"].item() == pytest.approx(0.5 - 0.211795, abs=1e-6)
    check_diagnostics(parts)


def test_dpo_hand_computed_example():
    reference = torch.tensor([-3.0, -2.0])
    loss, parts = dpo_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, reference_sequence_logprobs=reference)
    # (ln(1/16) + 3) - (ln(1/8) + 2) = 0.306853; -log σ(0.0306853) = 0.677922.
    assert loss.item() == pytest.approx(0.677922, abs=1e-6)
    assert parts["dpo"].item() == pytest.approx(0.677922, abs=1e-6)
    assert parts["reward_pos"].item() == pytest.approx(0.1 * (-2.772589 + 3.0), abs=1e-6)
    assert parts["reward_neg"].item() == pytest.approx(0.1 * (-2.079442 + 2.0), abs=1e-6)
    assert parts["reward_margin"].item() == pytest.approx(0.0306853, abs=1e-6)
    assert parts["reward_acc"].item() == 1.0
    assert parts["nll_pos"].item() == pytest.approx(0.924196, abs=1e-6)  # logged, weight 0
    check_diagnostics(parts)


def test_dpo_token_reference_is_reduced_like_the_policy():
    # Reference tokens summing to -3 and -2; the padded position's value must be ignored.
    reference_tokens = torch.tensor([[-1.0, -1.0, -1.0], [-1.5, -0.5, -99.0]])
    expected, _ = dpo_loss(
        LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, reference_sequence_logprobs=torch.tensor([-3.0, -2.0])
    )
    loss, _ = dpo_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, reference_token_logprobs=reference_tokens)
    torch.testing.assert_close(loss, expected)
    # normalise=True: (ln(1/16)/3 + 1) - (ln(1/8)/2 + 1) = 0.115525.
    loss, _ = dpo_loss(
        LOGITS, LABELS, IS_POSITIVE, GROUP_IDS, reference_token_logprobs=reference_tokens, normalise=True
    )
    assert loss.item() == pytest.approx(
        torch.nn.functional.softplus(torch.tensor(-0.0115525)).item(), abs=1e-6
    )


def test_dpo_needs_exactly_one_reference():
    with pytest.raises(ValueError, match="exactly one"):
        dpo_loss(LOGITS, LABELS, IS_POSITIVE, GROUP_IDS)
    with pytest.raises(ValueError, match="exactly one"):
        dpo_loss(
            LOGITS,
            LABELS,
            IS_POSITIVE,
            GROUP_IDS,
            reference_sequence_logprobs=torch.zeros(2),
            reference_token_logprobs=torch.zeros(2, 3),
        )
