"""ROC-AUC, balanced accuracy, threshold choice and correlations against hand-computed values."""

import itertools

import numpy as np
import pytest

from consum.metrics.metric_stats import (
    average_ranks,
    balanced_accuracy,
    best_threshold,
    pearson,
    roc_auc,
    spearman,
)


def test_roc_auc_by_hand():
    # Positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered correctly.
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75


def test_roc_auc_counts_ties_as_half():
    # Pairs (pos, neg): (0.5, 0.5) tie = 0.5, (0.5, 0.2) = 1, (0.9, 0.5) = 1, (0.9, 0.2) = 1 -> 3.5 / 4.
    assert roc_auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]) == 0.875


def test_roc_auc_equals_pairwise_mann_whitney_count():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=40).astype(float)  # many ties
    labels = rng.integers(0, 2, size=40)
    positives, negatives = scores[labels == 1], scores[labels == 0]
    pairwise = np.mean(
        [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positives, negatives)]
    )
    assert roc_auc(scores, labels) == pytest.approx(pairwise)


def test_roc_auc_rejects_one_class_bad_labels_and_nan():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        roc_auc([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0.1, float("nan")], [0, 1])


def test_balanced_accuracy_and_best_threshold():
    scores, labels = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    assert balanced_accuracy(scores, labels, threshold=0.3) == 0.75  # TPR 1, TNR 1/2
    assert balanced_accuracy(scores, labels, threshold=0.9) == 0.5  # TPR 0, TNR 1
    threshold, accuracy = best_threshold(scores, labels)
    # Candidates 0.1, 0.225, 0.375, 0.6 give 0.5, 0.75, 0.5, 0.75; the lowest maximiser wins.
    assert threshold == pytest.approx(0.225)
    assert accuracy == 0.75
    assert balanced_accuracy(scores, labels, threshold) == accuracy


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=60).round(1)
    labels = (scores + rng.normal(size=60) > 0).astype(int)
    _, accuracy = best_threshold(scores, labels)
    brute = max(balanced_accuracy(scores, labels, t) for t in np.unique(scores))
    assert accuracy == pytest.approx(brute)


def test_average_ranks_with_ties():
    assert average_ranks([3.0, 1.0, 3.0, 2.0, 3.0]).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]


def test_spearman_with_ties_by_hand():
    # ranks x [1, 2.5, 2.5, 4], y [1, 3, 2, 4]; centred sums: cov 4.5, var_x 4.5, var_y 5.
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / np.sqrt(4.5 * 5))


def test_pearson_by_hand_and_degenerate_cases():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="differ in length"):
        pearson([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="two points"):
        pearson([1], [1])
