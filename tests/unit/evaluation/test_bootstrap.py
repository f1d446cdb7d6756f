"""Bootstrap intervals: determinism, degenerate inputs, and a paired difference."""

import numpy as np
import pytest

from consum.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_diff


def test_same_seed_same_interval_other_seed_other_interval():
    values = np.random.default_rng(1).normal(size=50).tolist()
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_interval_brackets_the_point_estimate():
    values = np.random.default_rng(2).normal(loc=1.0, size=200)
    point, low, high = bootstrap_ci(values, n_resamples=500)
    assert point == pytest.approx(values.mean())
    assert low < point < high
    assert high - low < 0.5  # about 4 standard errors of 0.07


def test_constant_vector_gives_a_zero_width_interval():
    point, low, high = bootstrap_ci([0.3] * 20)
    assert low == point == high  # every resample is the same vector
    assert point == pytest.approx(0.3)  # not exactly: 20 * 0.3 / 20 rounds


def test_none_and_nan_are_dropped_and_empty_raises():
    assert bootstrap_ci([1.0, None, float("nan"), 1.0]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="no values"):
        bootstrap_ci([None, float("nan")])
    with pytest.raises(ValueError, match="no values"):
        bootstrap_ci([])


def test_median_statistic_and_block_boundaries_are_deterministic(monkeypatch):
    values = list(range(11))
    whole = bootstrap_ci(values, statistic=np.median, n_resamples=100)
    import consum.evaluation.bootstrap as bootstrap_module

    monkeypatch.setattr(bootstrap_module, "_MAX_BLOCK_VALUES", 30)  # forces blocks of 2 resamples
    assert bootstrap_ci(values, statistic=np.median, n_resamples=100) == whole
    assert whole[0] == 5.0


def test_invalid_settings_raise():
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0], confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0], n_resamples=0)


def test_paired_difference_of_a_clearly_better_system():
    rng = np.random.default_rng(5)
    b = rng.normal(size=100)
    a = b + 0.5 + rng.normal(scale=0.1, size=100)
    diff, low, high, p_value = paired_bootstrap_diff(a, b, n_resamples=500)
    assert diff == pytest.approx(np.mean(a - b))
    assert 0.4 < low < diff < high < 0.6
    assert p_value == pytest.approx(1 / 501)  # no resample comes close to zero difference


def test_paired_difference_of_identical_systems_is_not_significant():
    values = [0.1, 0.5, 0.2, 0.9]
    assert paired_bootstrap_diff(values, values) == (0.0, 0.0, 0.0, 1.0)


def test_paired_drops_documents_missing_in_either_system():
    diff, *_ = paired_bootstrap_diff([1.0, None, 3.0, 5.0], [0.0, 2.0, float("nan"), 4.0])
    assert diff == pytest.approx(1.0)  # only documents 0 and 3 remain
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_diff([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="both values"):
        paired_bootstrap_diff([None], [1.0])


def test_ratio_of_sums_pools_documents_and_brackets_its_point():
    from consum.evaluation.bootstrap import bootstrap_ratio_ci

    # 9 of 10 name mentions exact in one document, 0 of 2 in another, none in a third: 9/12 pooled
    point, low, high = bootstrap_ratio_ci([9, 0, 0], [10, 2, 0], n_resamples=500, seed=0)
    assert point == pytest.approx(0.75)
    assert 0.0 <= low <= point <= high <= 0.9
    with pytest.raises(ValueError, match="positive denominator"):
        bootstrap_ratio_ci([0, 0], [0, 0])
