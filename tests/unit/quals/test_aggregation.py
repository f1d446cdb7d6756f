"""QUALS aggregation on the worked example of the module docstring (2 summaries, 3 pairs, T = 3 and 4)."""

import math

import pytest
import torch

from consum.quals.aggregation import (
    answer_mean,
    answer_only_score,
    pair_score,
    pair_scores_from_padded,
    summary_means,
    summary_quals,
)

# (summary index, doc log-probs, summary-side log-probs)
PAIRS = [
    (0, [-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]),  # -2.0 - (-1.0) = -1.0
    (0, [-1.0, -1.0, -2.0, -4.0], [-0.5, -0.5, -0.5, -0.5]),  # -2.0 - (-0.5) = -1.5
    (1, [-0.5, -0.5, -0.5, -0.5], [-1.0, -1.0, -1.0, -1.0]),  # -0.5 - (-1.0) = +0.5
]


def test_pair_scores_and_summary_quals_by_hand():
    scores = [pair_score(doc, summary) for _, doc, summary in PAIRS]
    assert scores == pytest.approx([-1.0, -1.5, 0.5])
    assert summary_quals(scores[:2]) == pytest.approx(-1.25)
    assert summary_quals(scores[2:]) == pytest.approx(0.5)


def test_summary_with_zero_pairs_is_none():
    assert summary_quals([]) is None


def test_pair_score_rejects_misaligned_or_empty_inputs():
    with pytest.raises(ValueError, match="different tokens"):
        pair_score([-1.0, -2.0], [-1.0])
    with pytest.raises(ValueError, match="at least one token"):
        pair_score([], [])


def test_padded_version_equals_list_version_and_ignores_padding():
    n_pairs, width = len(PAIRS), 5
    doc = torch.full((n_pairs, width), float("-inf"))  # padding that would poison a masked product
    summary = torch.full((n_pairs, width), 123.0)
    mask = torch.zeros((n_pairs, width), dtype=torch.bool)
    for row, (_, doc_lp, summary_lp) in enumerate(PAIRS):
        doc[row, : len(doc_lp)] = torch.tensor(doc_lp)
        summary[row, : len(summary_lp)] = torch.tensor(summary_lp)
        mask[row, : len(doc_lp)] = True
    scores = pair_scores_from_padded(doc, summary, mask)
    expected = [pair_score(doc_lp, summary_lp) for _, doc_lp, summary_lp in PAIRS]
    assert scores.tolist() == pytest.approx(expected)

    summary_index = torch.tensor([index for index, _, _ in PAIRS])
    values, counts = summary_means(scores, summary_index, n_summaries=3)
    assert counts.tolist() == [2, 1, 0]
    assert values[:2].tolist() == pytest.approx([summary_quals(expected[:2]), summary_quals(expected[2:])])
    assert math.isnan(values[2].item())


def test_padded_version_checks_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        pair_scores_from_padded(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2, 3))
    with pytest.raises(ValueError, match="expected two"):
        summary_means(torch.zeros(3), torch.zeros(2, dtype=torch.long), 1)


def test_answer_only_score_uses_tokens_after_separator_without_eos():
    tokens = [11, 99, 12, 13, 2]  # question, SEP, answer, answer, EOS
    doc = [-1.0, -2.0, -3.0, -5.0, -9.0]
    summary = [-1.0, -1.0, -1.0, -2.0, -1.0]
    assert answer_mean(doc, tokens, 99) == pytest.approx(-4.0)
    assert answer_only_score(doc, summary, tokens, 99) == pytest.approx(-4.0 - (-1.5))


def test_answer_mean_of_empty_answer_is_zero_and_missing_separator_raises():
    assert answer_mean([-1.0, -2.0, -3.0], [11, 99, 2], 99) == 0.0
    with pytest.raises(ValueError, match="separator"):
        answer_mean([-1.0, -2.0], [11, 2], 99)
