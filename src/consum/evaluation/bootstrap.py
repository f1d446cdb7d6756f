"""Percentile-bootstrap confidence intervals, for one system and for the difference of two.

Missing values (None or NaN, e.g. QUALS of a summary without QA pairs, or a precision of a summary
without entities) are dropped before resampling; for the paired version a document is dropped when
either system's value is missing, so both are always compared on the same documents. An input with
nothing left raises ValueError.

``statistic`` must reduce along an ``axis`` keyword like ``np.mean`` or ``np.median``, so all
resamples are computed in one vectorised call. Results depend only on the inputs and ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Statistic = Callable[..., np.ndarray]

# Resample in blocks of at most this many drawn values, to bound memory on large test sets.
_MAX_BLOCK_VALUES = 4_000_000


def _as_float_array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def _resampled_statistics(
    columns: list[np.ndarray], n_resamples: int, seed: int, statistic: Statistic
) -> list[np.ndarray]:
    """The statistic of each column on the same ``n_resamples`` index resamples: one (n_resamples,)
    array per column."""
    n_values = len(columns[0])
    rng = np.random.default_rng(seed)
    block_size = max(1, _MAX_BLOCK_VALUES // n_values)
    per_column: list[list[np.ndarray]] = [[] for _ in columns]
    for start in range(0, n_resamples, block_size):
        indices = rng.integers(0, n_values, size=(min(block_size, n_resamples - start), n_values))
        for column, results in zip(columns, per_column, strict=True):
            results.append(np.asarray(statistic(column[indices], axis=1), dtype=float))
    return [np.concatenate(results) for results in per_column]


def _interval(resampled: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return float(low), float(high)


def _check_settings(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def bootstrap_ci(
    values: Sequence[float | None],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    statistic: Statistic = np.mean,
) -> tuple[float, float, float]:
    """``(point, low, high)``: the statistic of the values and its percentile-bootstrap interval.

    >>> bootstrap_ci([2.0, 2.0, None, 2.0])
    (2.0, 2.0, 2.0)
    """
    _check_settings(n_resamples, confidence)
    array = _as_float_array(values)
    array = array[~np.isnan(array)]
    if array.size == 0:
        raise ValueError("bootstrap_ci got no values (after dropping None/NaN)")
    (resampled,) = _resampled_statistics([array], n_resamples, seed, statistic)
    low, high = _interval(resampled, confidence)
    return float(statistic(array)), low, high


def paired_bootstrap_diff(
    a: Sequence[float | None],
    b: Sequence[float | None],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    statistic: Statistic = np.mean,
) -> tuple[float, float, float, float]:
    """``(diff, low, high, p_value)`` for statistic(a) - statistic(b) on the same documents.

    Documents are resampled jointly. ``p_value`` is two-sided for "no difference": the share of
    resampled differences at least as far from the observed one as the observed one is from zero
    (the bootstrap distribution shifted to the null), with the +1 correction
    (count + 1) / (n_resamples + 1) so that it is never exactly 0.

    >>> paired_bootstrap_diff([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    (0.0, 0.0, 0.0, 1.0)
    """
    _check_settings(n_resamples, confidence)
    if len(a) != len(b):
        raise ValueError(f"paired inputs differ in length: {len(a)} vs {len(b)}")
    array_a, array_b = _as_float_array(a), _as_float_array(b)
    both_present = ~(np.isnan(array_a) | np.isnan(array_b))
    array_a, array_b = array_a[both_present], array_b[both_present]
    if array_a.size == 0:
        raise ValueError("paired_bootstrap_diff got no document with both values present")
    resampled_a, resampled_b = _resampled_statistics([array_a, array_b], n_resamples, seed, statistic)
    resampled_diff = resampled_a - resampled_b
    diff = float(statistic(array_a) - statistic(array_b))
    low, high = _interval(resampled_diff, confidence)
    n_as_extreme = int(np.sum(np.abs(resampled_diff - diff) >= abs(diff)))
    p_value = (n_as_extreme + 1) / (n_resamples + 1)
    return diff, low, high, p_value


def bootstrap_ratio_ci(
    numerators: Sequence[float],
    denominators: Sequence[float],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(point, low, high)`` for sum(numerators) / sum(denominators), documents resampled jointly.

    For a rate pooled over documents with different counts (e.g. exact name copies / name mentions).
    A resample whose denominators sum to 0 is left out of the interval.

    >>> bootstrap_ratio_ci([1.0, 1.0], [2.0, 2.0])
    (0.5, 0.5, 0.5)
    """
    _check_settings(n_resamples, confidence)
    num, den = _as_float_array(numerators), _as_float_array(denominators)
    if len(num) != len(den) or num.size == 0 or den.sum() <= 0:
        raise ValueError(
            "bootstrap_ratio_ci needs equally long, non-empty inputs with a positive denominator"
        )
    resampled_num, resampled_den = _resampled_statistics([num, den], n_resamples, seed, np.sum)
    defined = resampled_den > 0
    low, high = _interval(resampled_num[defined] / resampled_den[defined], confidence)
    return float(num.sum() / den.sum()), low, high
