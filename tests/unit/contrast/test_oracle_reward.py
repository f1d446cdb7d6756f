"""reward=oracle on hand-built rows: scores, the same selection rule as QUALS, the consistency filter,
and the clear error off factworld."""

import math

import pytest

from consum.contrast.oracle_reward import keep_oracle_consistent, oracle_score, oracle_scores, tie_break
from consum.contrast.selection import SelectionConfig, select_contrast
from tests.unit.data.test_factworld_oracle import SPORTS_FACTS

FAITHFUL = "Maria Lee scored as Kelso Rovers beat Ashford United 3-1 in Leeds."
ONE_ERROR = "Maria Lee scored as Kelso Rovers won in Oslo."  # Oslo: extrinsic
THREE_ERRORS = "The 29-year-old Maria Novak scored as Kelso United won."  # age + 2 mangled copies


def test_score_is_minus_the_unsupported_mentions():
    assert oracle_score(SPORTS_FACTS, FAITHFUL) == 0
    assert oracle_score(SPORTS_FACTS, ONE_ERROR) == -1
    assert oracle_score(SPORTS_FACTS, THREE_ERRORS) == -3


def rows(references, candidates):
    facts = {d: SPORTS_FACTS for d in references}
    cands = [{"doc_id": d, "cand_id": f"c{i}", "text": t} for d, texts in candidates.items()
             for i, t in enumerate(texts)]
    return oracle_scores(facts, references, cands)


def test_same_selection_rule_then_only_hallucinated_negatives_and_faithful_positives():
    # 4 documents, ratios 0.5: A = the 2 documents with the worst candidates, B = the 2 cleanest refs.
    references = {"d0": FAITHFUL, "d1": FAITHFUL, "d2": ONE_ERROR, "d3": FAITHFUL}
    candidates = {"d0": [FAITHFUL, THREE_ERRORS], "d1": [ONE_ERROR], "d2": [THREE_ERRORS], "d3": [FAITHFUL]}
    refs, cands = rows(references, candidates)
    assert [r["unsupported"] for r in refs] == [0, 0, 1, 0]
    assert [c["unsupported"] for c in cands] == [0, 3, 1, 3, 0]
    assert [math.floor(c["score"]) for c in cands] == [0, -3, -1, -3, 0]  # the tie-break keeps the count
    config = SelectionConfig(neg_ratio=0.5, pos_ratio=0.5, score_column="score")
    selection = select_contrast(refs, cands, config)
    # A = {d0, d2} (worst -3, -3); B = the 2 of the faithful d0, d1, d3 with the largest tie-breaks
    b = sorted(["d0", "d1", "d3"], key=lambda d: -tie_break("ref", d))[:2]
    assert "d0" in b  # (the fixed hash; d0 is in B, d2 is not: its reference is hallucinated)
    kept = keep_oracle_consistent(selection)
    assert [(r["doc_id"], r["cand_id"], r["role"]) for r in kept.rows] == [
        ("d0", "ref", "pos"), ("d0", "c1", "neg")]
    assert kept.stats["oracle_dropped_faithful_negatives"] == 0


def test_tie_break_is_fixed_small_and_independent_of_the_doc_id_order():
    assert tie_break("ref", "d0") == tie_break("ref", "d0")
    values = [tie_break(role, f"d{i:04d}") for role in ("ref", "cand") for i in range(2000)]
    assert all(0 <= v < 0.5 for v in values)
    # 2,000 tied documents, 30% ratios on both sides: with a doc_id tie-break A and B would be the
    # same 600 documents; with the hashes the overlap is what unrelated sets give (~0.3 x 600 = 180).
    refs = [{"doc_id": f"d{i:04d}", "score": 0 + tie_break("ref", f"d{i:04d}")} for i in range(2000)]
    cands = [{"doc_id": f"d{i:04d}", "cand_id": "c0", "score": -1 + tie_break("cand", f"d{i:04d}", "c0")}
             for i in range(2000)]
    config = SelectionConfig(neg_ratio=0.3, pos_ratio=0.3, score_column="score")
    selection = select_contrast(refs, cands, config)
    assert 130 <= selection.stats["n_kept"] <= 230


def test_a_ratio_larger_than_the_hallucinated_share_drops_faithful_negatives():
    references = {"d0": FAITHFUL, "d1": FAITHFUL}
    candidates = {"d0": [THREE_ERRORS], "d1": [FAITHFUL]}
    refs, cands = rows(references, candidates)
    config = SelectionConfig(neg_ratio=1.0, pos_ratio=1.0, score_column="score")
    selection = select_contrast(refs, cands, config)
    assert {r["doc_id"] for r in selection.rows} == {"d0", "d1"}  # the ratio alone keeps d1's clean one
    kept = keep_oracle_consistent(selection)
    assert {r["doc_id"] for r in kept.rows} == {"d0"}  # paired: d1 loses its negative, so its positive too
    assert kept.stats["oracle_dropped_faithful_negatives"] == 1
    assert (kept.stats["n_pos"], kept.stats["n_neg"], kept.stats["n_kept"]) == (1, 1, 1)


def test_separate_mode_keeps_unpaired_rows_and_drops_hallucinated_positives():
    references = {"d0": ONE_ERROR, "d1": FAITHFUL}
    candidates = {"d0": [FAITHFUL], "d1": [THREE_ERRORS]}
    refs, cands = rows(references, candidates)
    config = SelectionConfig(neg_ratio=1.0, pos_ratio=1.0, mode="separate", score_column="score")
    kept = keep_oracle_consistent(select_contrast(refs, cands, config))
    assert sorted((r["doc_id"], r["role"]) for r in kept.rows) == [("d1", "neg"), ("d1", "pos")]
    assert kept.stats["oracle_dropped_hallucinated_positives"] == 1


def test_candidates_without_facts_are_an_error():
    with pytest.raises(KeyError, match="no doc_facts"):
        oracle_scores({}, {}, [{"doc_id": "d9", "cand_id": "c0", "text": FAITHFUL}])


def test_filter_one_side_with_another_rewards_verdicts():
    """oracle_filter=positives on a QUALS-like selection: only positives the oracle contradicts go
    (with their paired negatives); negatives are left alone even when faithful."""
    from consum.contrast.selection import Selection

    rows = [{"doc_id": d, "cand_id": c, "role": role, "score": 0.0}
            for d, c, role in [("d0", "ref", "pos"), ("d0", "c0", "neg"), ("d1", "ref", "pos"),
                               ("d1", "c1", "neg"), ("d2", "ref", "pos"), ("d2", "c2", "neg")]]
    hallucinated = {("d0", "ref"): True, ("d0", "c0"): True, ("d1", "ref"): False, ("d1", "c1"): False,
                    ("d2", "ref"): False, ("d2", "c2"): True}
    verdict = lambda r: hallucinated[(r["doc_id"], r["cand_id"])]  # noqa: E731
    selection = Selection(rows, {"mode": "intersection"})
    kept = keep_oracle_consistent(selection, verdict, ("pos",))
    assert sorted({r["doc_id"] for r in kept.rows}) == ["d1", "d2"]  # d1's faithful negative stays
    stats = kept.stats
    assert (stats["oracle_dropped_hallucinated_positives"], stats["oracle_dropped_faithful_negatives"],
            stats["n_kept"]) == (1, 0, 2)
    both = keep_oracle_consistent(selection, verdict)
    assert [r["doc_id"] for r in both.rows] == ["d2", "d2"]
    assert both.stats["oracle_dropped_faithful_negatives"] == 1
