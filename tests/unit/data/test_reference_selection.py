"""select_references on hand-built rows: the threshold, keep_top, no-evidence policy, counts, errors."""

import math

import pytest

from consum.data.reference_filter import select_references, top_share_threshold
from consum.data.schema import DataError

ROWS = [{"doc_id": d, "summary": f"reference {d}"} for d in ("a", "b", "c", "d", "e")]
SCORES = {"a": 0.9, "b": 0.2, "c": None, "d": 0.5, "e": float("nan"), "unused": -3.0}


def kept_ids(result):
    return [row["doc_id"] for row in result.kept]


def test_a_threshold_keeps_scores_at_or_above_it_and_counts_the_rest():
    result = select_references(ROWS, SCORES, threshold=0.5)
    assert kept_ids(result) == ["a", "c", "d", "e"]  # input order; c and e have no evidence: kept
    assert result.stats() == {"threshold": 0.5, "n_in": 5, "n_kept": 4, "n_dropped": 1,
                              "n_below_threshold": 1, "n_no_evidence": 2, "no_evidence": "keep"}
    assert result.kept[0] is ROWS[0]  # the rows themselves, not copies


def test_no_evidence_drop_drops_unscored_references_and_counts_them_apart():
    result = select_references(ROWS, SCORES, threshold=0.5, no_evidence="drop")
    assert kept_ids(result) == ["a", "d"]
    assert (result.n_dropped, result.n_below, result.n_no_evidence) == (3, 1, 2)


def test_keep_top_takes_the_score_of_the_last_kept_rank_and_keeps_its_ties():
    # scored: 0.9, 0.5, 0.2 -> ceil(0.5 * 3) = 2nd best = 0.5
    result = select_references(ROWS, SCORES, keep_top=0.5, no_evidence="drop")
    assert result.threshold == 0.5 and kept_ids(result) == ["a", "d"]
    tied = {"a": 0.5, "b": 0.5, "c": 0.1, "d": 0.9, "e": 0.5}
    result = select_references(ROWS, tied, keep_top=0.4)  # 2nd best of 5 = 0.5: three tie with it
    assert kept_ids(result) == ["a", "b", "d", "e"] and result.n_below == 1
    assert top_share_threshold([3.0, 1.0, 2.0], 1.0) == 1.0  # everything


def test_a_threshold_equal_to_a_score_keeps_it_and_the_threshold_can_drop_everything():
    assert kept_ids(select_references(ROWS[:2], {"a": 0.2, "b": 0.2}, threshold=0.2)) == ["a", "b"]
    result = select_references(ROWS[:2], {"a": 0.2, "b": 0.1}, threshold=0.3)
    assert result.kept == [] and result.n_below == 2


def test_a_training_document_without_a_score_is_an_error_not_a_drop():
    with pytest.raises(DataError, match="1 of 5 training documents have no score"):
        select_references(ROWS, {k: v for k, v in SCORES.items() if k != "d"}, threshold=0.0)


@pytest.mark.parametrize("kwargs", [{}, {"threshold": 0.1, "keep_top": 0.5}])
def test_exactly_one_of_threshold_and_keep_top(kwargs):
    with pytest.raises(ValueError, match="exactly one"):
        select_references(ROWS, SCORES, **kwargs)


def test_bad_policies_and_shares_are_refused():
    with pytest.raises(ValueError, match="no_evidence"):
        select_references(ROWS, SCORES, threshold=0.0, no_evidence="maybe")
    for share in (0.0, 1.5, math.nan):
        with pytest.raises(ValueError, match="keep_top"):
            top_share_threshold([1.0], share)
    with pytest.raises(DataError, match="no reference has a score"):
        select_references(ROWS[2:3], {"c": None}, keep_top=0.5)
