"""How well a score (e.g. QUALS) separates or tracks labels: ROC-AUC, balanced accuracy, correlations.

Pure numpy. Binary labels are 1 for the class the score should rank higher (e.g. "consistent") and
0 otherwise. Inputs must be finite: filter missing scores before calling, so that the number of
examples behind each statistic is explicit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _finite_vector(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _scores_and_labels(scores: Sequence[float], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    score_array = _finite_vector(scores, "scores")
    label_array = np.asarray(labels)
    if label_array.shape != score_array.shape:
        raise ValueError(f"{len(score_array)} scores for {len(label_array)} labels")
    if not np.all((label_array == 0) | (label_array == 1)):
        raise ValueError("labels must be 0 or 1")
    label_array = label_array.astype(bool)
    if label_array.all() or not label_array.any():
        raise ValueError("labels need both classes (0 and 1)")
    return score_array, label_array


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span.

    >>> average_ranks([0.1, 0.4, 0.4, 0.2]).tolist()
    [1.0, 3.5, 3.5, 2.0]
    """
    array = _finite_vector(values, "values")
    order = np.argsort(array, kind="stable")
    sorted_values = array[order]
    # Start index of each run of equal values, and the run each sorted element belongs to.
    run_starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    run_ends = np.r_[run_starts[1:], len(array)]
    run_of_sorted = np.cumsum(np.r_[True, sorted_values[1:] != sorted_values[:-1]]) - 1
    mean_rank_of_run = (run_starts + 1 + run_ends) / 2  # mean of ranks start+1 .. end
    ranks = np.empty(len(array))
    ranks[order] = mean_rank_of_run[run_of_sorted]
    return ranks


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative) + 0.5 P(tie).

    Computed from average ranks (the Mann-Whitney U statistic divided by n_pos * n_neg).

    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    score_array, label_array = _scores_and_labels(scores, labels)
    n_positive = int(label_array.sum())
    n_negative = len(label_array) - n_positive
    positive_rank_sum = float(average_ranks(score_array)[label_array].sum())
    u_statistic = positive_rank_sum - n_positive * (n_positive + 1) / 2
    return u_statistic / (n_positive * n_negative)


def balanced_accuracy(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    """Mean of the true-positive and true-negative rates when ``score >= threshold`` predicts 1.

    >>> balanced_accuracy([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], threshold=0.3)
    0.75
    """
    score_array, label_array = _scores_and_labels(scores, labels)
    predicted = score_array >= threshold
    true_positive_rate = predicted[label_array].mean()
    true_negative_rate = (~predicted[~label_array]).mean()
    return float((true_positive_rate + true_negative_rate) / 2)


def best_threshold(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """``(threshold, balanced_accuracy)`` maximising balanced accuracy; choose it on a validation split.

    Candidates are the lowest score (everything predicted 1) and the midpoints between consecutive
    distinct scores, so that the threshold sits between examples rather than on one. Ties in balanced
    accuracy go to the lowest threshold.

    >>> best_threshold([1.0, 2.0, 6.0, 8.0], [0, 0, 1, 1])  # candidates 1, 1.5, 4, 7
    (4.0, 1.0)
    """
    score_array, label_array = _scores_and_labels(scores, labels)
    distinct = np.unique(score_array)
    candidates = np.r_[distinct[0], (distinct[:-1] + distinct[1:]) / 2]
    positive_scores = np.sort(score_array[label_array])
    negative_scores = np.sort(score_array[~label_array])
    # Number of each class with score >= t, for all candidates t at once.
    positives_above = len(positive_scores) - np.searchsorted(positive_scores, candidates, side="left")
    negatives_above = len(negative_scores) - np.searchsorted(negative_scores, candidates, side="left")
    true_positive_rate = positives_above / len(positive_scores)
    true_negative_rate = 1 - negatives_above / len(negative_scores)
    balanced = (true_positive_rate + true_negative_rate) / 2
    best = int(np.argmax(balanced))  # argmax returns the first, i.e. lowest, maximiser
    return float(candidates[best]), float(balanced[best])


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation; NaN when either input is constant (the correlation is undefined).

    >>> pearson([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])
    0.9933992677987828
    """
    x_array, y_array = _finite_vector(x, "x"), _finite_vector(y, "y")
    if x_array.shape != y_array.shape:
        raise ValueError(f"x and y differ in length: {len(x_array)} vs {len(y_array)}")
    if len(x_array) < 2:
        raise ValueError("a correlation needs at least two points")
    x_centred, y_centred = x_array - x_array.mean(), y_array - y_array.mean()
    denominator = np.sqrt((x_centred**2).sum() * (y_centred**2).sum())
    if denominator == 0:
        return float("nan")
    return float((x_centred * y_centred).sum() / denominator)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman correlation: Pearson on average ranks, so ties are handled like scipy's ``spearmanr``.

    >>> # ranks [1, 2.5, 2.5, 4] vs [1, 3, 2, 4]: 4.5/sqrt(4.5*5)
    >>> round(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 6)
    0.948683
    """
    return pearson(average_ranks(x), average_ranks(y))


def auc_by_error_kind(
    scores: Sequence[float | None], flags: Sequence[Mapping], kinds: Sequence[str]
) -> dict:
    """How well a score (higher = more faithful, e.g. QUALS) ranks faithful texts above hallucinated
    ones, overall and for each kind of error (the texts with that kind against the faithful ones).

    ``flags[i]``: text i's verdict, a mapping with a truthy ``hallucinated`` and, per kind, a truthy
    value when the text has that kind (missing = no). Texts without a score (QUALS without a QA pair)
    are left out and counted. ROC-AUC is None where a class is empty.

    >>> flags = [{"hallucinated": 0}, {"hallucinated": 0}, {"hallucinated": 1, "swap": 1},
    ...          {"hallucinated": 1, "invented": 1}, {"hallucinated": 1, "invented": 1}]
    >>> out = auc_by_error_kind([0.2, -0.1, 0.0, -0.5, None], flags, ["invented", "swap", "other"])
    >>> out["roc_auc"], out["n"], out["n_unscored"], out["by_kind"]["invented"]
    (0.75, 4, 1, {'roc_auc': 1.0, 'n_faithful': 2, 'n_kind': 1})
    >>> out["by_kind"]["swap"]["roc_auc"], out["by_kind"]["other"]["roc_auc"]
    (0.5, None)
    """
    if len(scores) != len(flags):
        raise ValueError(f"{len(scores)} scores for {len(flags)} verdicts")
    scored = [(s, f) for s, f in zip(scores, flags) if s is not None]
    faithful = [s for s, f in scored if not f["hallucinated"]]

    def auc_against(negatives: list[float]) -> float | None:
        if not faithful or not negatives:
            return None
        return roc_auc(faithful + negatives, [1] * len(faithful) + [0] * len(negatives))

    hallucinated = [s for s, f in scored if f["hallucinated"]]
    by_kind = {}
    for kind in kinds:
        with_kind = [s for s, f in scored if f.get(kind)]
        by_kind[kind] = {
            "roc_auc": auc_against(with_kind), "n_faithful": len(faithful), "n_kind": len(with_kind)
        }
    return {
        "roc_auc": auc_against(hallucinated), "n": len(scored), "n_hallucinated": len(hallucinated),
        "n_unscored": len(scores) - len(scored), "by_kind": by_kind,
    }


def auc_by_error_kind_line(auc: dict) -> str:
    """One line of :func:`auc_by_error_kind`: the overall ROC-AUC and each kind's, with counts."""
    def cell(value):
        return "n/a" if value is None else f"{value:.3f}"

    kinds = ", ".join(
        f"{kind.replace('_', ' ')} {cell(v['roc_auc'])} (n={v['n_kind']})"
        for kind, v in auc["by_kind"].items()
    )
    return (f"{cell(auc['roc_auc'])} overall (n={auc['n']}, {auc['n_hallucinated']} hallucinated); "
            f"each kind vs the faithful ones: {kinds}")
