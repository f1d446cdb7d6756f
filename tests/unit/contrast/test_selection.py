"""S+/S- selection on hand-built score tables (spec §6.3 and the options around it)."""

from dataclasses import dataclass

import pytest

from consum.contrast.selection import SelectionConfig, quantiles, select_contrast
from consum.io.keys import DuplicateKeyError, KeyMismatchError

# Ten documents. Worst-candidate scores (unscored candidates ignored):
#   d0 -5, d1 -1, d2 -4, d3 -2, d4 -3, d5 -0.5, d6 -0.1, d7 -6, d8 none, d9 -0.2
# Reference scores, highest first: d8 -0.05, d0 -0.1, d2 -0.2, d3 -0.3, d7 -0.4, ...
REFERENCE_SCORES = {
    "d0": -0.1,
    "d1": -0.9,
    "d2": -0.2,
    "d3": -0.3,
    "d4": -0.8,
    "d5": -0.7,
    "d6": -0.6,
    "d7": -0.4,
    "d8": -0.05,
    "d9": -1.0,
}
CANDIDATE_SCORES = {
    "d0": {"s0": -5.0, "s1": -0.15, "s2": -2.0},
    "d1": {"s0": -1.0, "s1": None},
    "d2": {"s0": -4.0, "s1": -4.0, "s2": -1.0},
    "d3": {"s0": -2.0},
    "d4": {"s0": -3.0},
    "d5": {"s0": -0.5},
    "d6": {"s0": -0.1},
    "d7": {"s0": -6.0},
    "d8": {"s0": None, "s1": None},
    "d9": {"s0": -0.2},
}


def references(scores=None):
    return [{"doc_id": doc_id, "quals": score} for doc_id, score in (scores or REFERENCE_SCORES).items()]


def candidates(scores=None):
    return [
        {"doc_id": doc_id, "cand_id": cand_id, "quals": score}
        for doc_id, by_candidate in (scores or CANDIDATE_SCORES).items()
        for cand_id, score in by_candidate.items()
    ]


def keys(selection):
    return [(row["doc_id"], row["cand_id"], row["role"]) for row in selection.rows]


def test_original_rule_30_30_intersection():
    # A = 3 lowest worst candidates = {d7, d0, d2}; B = 3 highest references = {d8, d0, d2}.
    selection = select_contrast(references(), candidates(), SelectionConfig())
    assert selection.rows == [
        {"doc_id": "d0", "cand_id": "ref", "role": "pos", "score": -0.1},
        {"doc_id": "d0", "cand_id": "s0", "role": "neg", "score": -5.0},
        {"doc_id": "d2", "cand_id": "ref", "role": "pos", "score": -0.2},
        {"doc_id": "d2", "cand_id": "s0", "role": "neg", "score": -4.0},  # tie with s1, broken by cand_id
    ]
    stats = selection.stats
    assert (stats["n_docs"], stats["n_A"], stats["n_B"], stats["n_kept"]) == (10, 3, 3, 2)
    assert (stats["n_pos"], stats["n_neg"], stats["ref_cutoff"], stats["neg_cutoff"]) == (2, 2, -0.2, -4.0)
    assert (stats["n_candidates"], stats["n_candidates_scored"], stats["n_docs_with_scored_candidates"]) == (
        16,
        13,
        9,
    )
    assert stats["empty_reason"] is None
    assert stats["ref_score_quantiles"] == {
        "min": -1.0,
        "p25": -0.775,
        "p50": -0.5,
        "p75": -0.225,
        "max": -0.05,
    }


def test_unscored_candidates_and_references_are_never_selected():
    # d8 has no scored candidate and d5's reference is unscored: even ratio 1.0 leaves them out of A / B.
    reference_scores = dict(REFERENCE_SCORES, d5=None)
    selection = select_contrast(
        references(reference_scores), candidates(), SelectionConfig(neg_ratio=1.0, pos_ratio=1.0)
    )
    assert (selection.stats["n_A"], selection.stats["n_B"], selection.stats["n_refs_scored"]) == (9, 9, 9)
    assert sorted({row["doc_id"] for row in selection.rows}) == [
        "d0",
        "d1",
        "d2",
        "d3",
        "d4",
        "d6",
        "d7",
        "d9",
    ]
    assert ("d1", "s0", "neg") in keys(selection)  # d1's unscored s1 is skipped, not taken as the worst


def test_nan_scores_count_as_missing():
    candidate_scores = dict(CANDIDATE_SCORES, d7={"s0": float("nan")})
    selection = select_contrast(references(), candidates(candidate_scores), SelectionConfig())
    # Without d7, A = {d0, d2, d4}; B is unchanged, so the kept documents stay d0 and d2.
    assert selection.stats["neg_cutoff"] == -3.0
    assert {row["doc_id"] for row in selection.rows} == {"d0", "d2"}


def test_score_ties_are_broken_by_doc_id():
    reference_scores = {"a": -1.0, "b": -1.0, "c": -1.0, "d": -2.0}
    candidate_scores = {"a": {"s0": -3.0}, "b": {"s0": -3.0}, "c": {"s0": -3.0}, "d": {"s0": -9.0}}
    config = SelectionConfig(neg_ratio=0.5, pos_ratio=0.5)  # round(2.0) = 2 documents each
    selection = select_contrast(references(reference_scores), candidates(candidate_scores), config)
    # A = {d, a} (d lowest, then a before b, c); B = {a, b}: the tie at -1.0 is broken by doc_id.
    assert keys(selection) == [("a", "ref", "pos"), ("a", "s0", "neg")]


def test_python_rounding_half_to_even_like_the_original():
    five = {f"d{i}": -float(i) for i in range(5)}
    selection = select_contrast(
        references(five), candidates({doc: {"s0": score} for doc, score in five.items()}), SelectionConfig()
    )
    assert selection.stats["n_A"] == selection.stats["n_B"] == 2  # round(0.3 x 5) = round(1.5) = 2


def test_separate_mode_keeps_a_and_b_unpaired():
    selection = select_contrast(references(), candidates(), SelectionConfig(mode="separate"))
    assert keys(selection) == [
        ("d0", "ref", "pos"),
        ("d0", "s0", "neg"),
        ("d2", "ref", "pos"),
        ("d2", "s0", "neg"),
        ("d7", "s0", "neg"),
        ("d8", "ref", "pos"),
    ]
    assert (selection.stats["n_kept"], selection.stats["n_pos"], selection.stats["n_neg"]) == (4, 3, 3)


def test_absolute_thresholds_replace_the_ratios():
    config = SelectionConfig(neg_threshold=-2.0, pos_threshold=-0.3)
    selection = select_contrast(references(), candidates(), config)
    # A = worst <= -2: {d0, d2, d3, d4, d7}; B = reference >= -0.3: {d0, d2, d3, d8}.
    assert (selection.stats["n_A"], selection.stats["n_B"]) == (5, 4)
    assert keys(selection) == [
        ("d0", "ref", "pos"),
        ("d0", "s0", "neg"),
        ("d2", "ref", "pos"),
        ("d2", "s0", "neg"),
        ("d3", "ref", "pos"),
        ("d3", "s0", "neg"),
    ]
    assert (selection.stats["ref_cutoff"], selection.stats["neg_cutoff"]) == (-0.3, -2.0)


def test_k_negatives_per_document_worst_first():
    selection = select_contrast(references(), candidates(), SelectionConfig(negatives_per_doc=2))
    assert [
        (row["doc_id"], row["cand_id"], row["score"]) for row in selection.rows if row["role"] == "neg"
    ] == [
        ("d0", "s0", -5.0),
        ("d0", "s2", -2.0),
        ("d2", "s0", -4.0),
        ("d2", "s1", -4.0),
    ]


def test_positives_from_candidates_must_clear_the_reference_cutoff():
    # The cutoff is B's lowest reference score, -0.2: only d0's s1 (-0.15) clears it.
    selection = select_contrast(references(), candidates(), SelectionConfig(positives_from_candidates=2))
    assert keys(selection) == [
        ("d0", "ref", "pos"),
        ("d0", "s1", "pos"),
        ("d0", "s0", "neg"),
        ("d2", "ref", "pos"),
        ("d2", "s0", "neg"),
    ]
    # With absolute thresholds, kept = A ∩ B = {d0, d2, d7}, and the candidates scoring >= -2.5 that
    # are not the document's negative qualify: d0's s1 and s2, d2's s2 (s1 is -4), none of d7's.
    config = SelectionConfig(positives_from_candidates=2, pos_threshold=-2.5, neg_threshold=-3.5)
    selection = select_contrast(references(), candidates(), config)
    assert [(row["doc_id"], row["cand_id"]) for row in selection.rows if row["role"] == "pos"] == [
        ("d0", "ref"),
        ("d0", "s1"),
        ("d0", "s2"),
        ("d2", "ref"),
        ("d2", "s2"),
        ("d7", "ref"),
    ]
    # A candidate already taken as a negative is never also a positive: with k = 2, d0's s2 is a negative.
    config = SelectionConfig(positives_from_candidates=2, negatives_per_doc=2, pos_threshold=-2.5)
    selection = select_contrast(references(), candidates(), config)
    assert [row["cand_id"] for row in selection.rows if row["doc_id"] == "d0"] == ["ref", "s1", "s0", "s2"]


# Three documents for positive_fallback: a's reference is unfaithful (-5) but one of its samples is
# good (s1 -0.2); b is the original rule's case; c has one good sample and nothing to contrast it with.
FALLBACK_REFERENCES = {"a": -5.0, "b": -0.1, "c": -4.0}
FALLBACK_CANDIDATES = {
    "a": {"s0": -6.0, "s1": -0.2, "s2": -3.0},
    "b": {"s0": -5.5, "s1": -1.0},
    "c": {"s0": -0.5},
}


def fallback_selection(**options):
    # A = worst candidate <= -4: {a, b}; B = reference >= pos_threshold (-0.5 unless given): {b}.
    config = SelectionConfig(**{"pos_threshold": -0.5, "neg_threshold": -4.0, **options})
    return select_contrast(references(FALLBACK_REFERENCES), candidates(FALLBACK_CANDIDATES), config)


def test_without_the_fallback_a_document_with_an_unfaithful_reference_teaches_no_positive():
    assert keys(fallback_selection()) == [("b", "ref", "pos"), ("b", "s0", "neg")]


def test_the_fallback_positive_is_the_best_sample_past_the_negatives_when_the_reference_is_out_of_b():
    # a: worst s0 (-6) is its negative; of the rest, s1 (-0.2) clears the cutoff -0.5, so a enters B
    # with s1 as S+ in place of its reference. c (s0 -0.5, at the cutoff) enters B too, but is not in A.
    selection = fallback_selection(positive_fallback="best_candidate")
    paired = [("a", "s1", "pos"), ("a", "s0", "neg"), ("b", "ref", "pos"), ("b", "s0", "neg")]
    assert keys(selection) == paired
    assert (selection.stats["n_fallback"], selection.stats["n_fallback_kept"]) == (2, 1)
    # separate mode: every fallback document gives its positive, paired or not.
    selection = fallback_selection(positive_fallback="best_candidate", mode="separate")
    assert keys(selection) == [*paired, ("c", "s0", "pos")]


def test_the_fallback_takes_positives_from_candidates_and_never_a_negative():
    # Cutoff -3: a's s1 (-0.2) and s2 (-3.0) both qualify; positives_from_candidates=2 takes both, best first.
    selection = fallback_selection(positive_fallback="best_candidate", positives_from_candidates=2,
                                   pos_threshold=-3.0)
    assert [k for k in keys(selection) if k[0] == "a"] == [
        ("a", "s1", "pos"), ("a", "s2", "pos"), ("a", "s0", "neg")]
    # With two negatives, a's s2 is one of them: s1 stays its only positive.
    selection = fallback_selection(positive_fallback="best_candidate", negatives_per_doc=2)
    assert [k for k in keys(selection) if k[0] == "a"] == [
        ("a", "s1", "pos"), ("a", "s0", "neg"), ("a", "s2", "neg")]
    # A document of A whose only sample is its negative has nothing left to be its positive.
    one_sample = {"a": {"s0": -6.0}, "b": {"s0": -5.5}, "c": {"s0": -0.5}}
    config = SelectionConfig(positive_fallback="best_candidate", pos_threshold=-0.5, neg_threshold=-4.0)
    selection = select_contrast(references(FALLBACK_REFERENCES), candidates(one_sample), config)
    assert keys(selection) == [("b", "ref", "pos"), ("b", "s0", "neg")]


def test_the_extended_contrast_separate_fallback_and_two_negatives_together():
    # The ceiling's `extended` lever on the three documents: A = {a, b} (worst <= -4), each with its two
    # lowest samples as S- (a: s0 -6, s2 -3; b: s0 -5.5, s1 -1.0, its only two); B = {b} by reference,
    # plus a (best sample past its negatives: s1 -0.2) and c (s0 -0.5, at the cutoff: a tie is in) by
    # fallback. Separate: every row of A and of B, unpaired; c gives a positive and no negative.
    selection = fallback_selection(positive_fallback="best_candidate", mode="separate", negatives_per_doc=2)
    assert keys(selection) == [
        ("a", "s1", "pos"), ("a", "s0", "neg"), ("a", "s2", "neg"),
        ("b", "ref", "pos"), ("b", "s0", "neg"), ("b", "s1", "neg"),
        ("c", "s0", "pos"),
    ]
    assert (selection.stats["n_fallback"], selection.stats["n_fallback_kept"]) == (2, 2)
    # a sample just below the cutoff is no positive: c's s0 at -0.51 leaves B and the selection
    below = {**FALLBACK_CANDIDATES, "c": {"s0": -0.51}}
    config = SelectionConfig(positive_fallback="best_candidate", mode="separate", negatives_per_doc=2,
                             pos_threshold=-0.5, neg_threshold=-4.0)
    assert [k for k in keys(select_contrast(references(FALLBACK_REFERENCES), candidates(below), config))
            if k[0] == "c"] == []


def test_the_fallback_on_the_ten_documents_cutoff_from_the_ratios():
    # B = {d8, d0, d2}, cutoff -0.2 (B's lowest reference). Outside B, d6 (-0.1) and d9 (-0.2) have a
    # sample at or above it; d7 (in A) has only its negative. Neither d6 nor d9 is in A: the paired rule
    # keeps what it kept, the separate one adds their samples as positives.
    config = SelectionConfig(positive_fallback="best_candidate")
    selection = select_contrast(references(), candidates(), config)
    assert keys(selection) == keys(select_contrast(references(), candidates(), SelectionConfig()))
    assert selection.stats["n_fallback"] == 2
    config = SelectionConfig(positive_fallback="best_candidate", mode="separate")
    assert [k for k in keys(select_contrast(references(), candidates(), config)) if k[2] == "pos"] == [
        ("d0", "ref", "pos"), ("d2", "ref", "pos"), ("d6", "s0", "pos"), ("d8", "ref", "pos"),
        ("d9", "s0", "pos")]


def test_empty_intersection_returns_no_rows_and_says_why():
    reference_scores = {"a": -0.1, "b": -5.0}
    candidate_scores = {"a": {"s0": -0.2}, "b": {"s0": -9.0}}
    config = SelectionConfig(neg_ratio=0.5, pos_ratio=0.5)
    selection = select_contrast(references(reference_scores), candidates(candidate_scores), config)
    assert selection.rows == []
    assert "do not overlap" in selection.stats["empty_reason"]
    assert "mode='separate'" in selection.stats["empty_reason"]


@pytest.mark.parametrize(
    ("reference_rows", "candidate_rows", "config", "reason"),
    [
        ([], [], SelectionConfig(), "no reference rows"),
        (
            [{"doc_id": "a", "quals": -1.0}],
            [{"doc_id": "a", "cand_id": "s0", "quals": None}],
            SelectionConfig(),
            "no document has a scored candidate",
        ),
        (
            [{"doc_id": "a", "quals": None}],
            [{"doc_id": "a", "cand_id": "s0", "quals": -1.0}],
            SelectionConfig(neg_ratio=1.0),
            "no reference has a score",
        ),
        (
            [{"doc_id": "a", "quals": -1.0}],
            [{"doc_id": "a", "cand_id": "s0", "quals": -1.0}],
            SelectionConfig(),
            "round(neg_ratio=0.3 x 1 docs) = 0",
        ),
        (
            [{"doc_id": "a", "quals": -1.0}],
            [{"doc_id": "a", "cand_id": "s0", "quals": -1.0}],
            SelectionConfig(neg_threshold=-2.0, pos_threshold=0.0),
            "neg_threshold=-2.0",
        ),
    ],
)
def test_empty_result_reasons(reference_rows, candidate_rows, config, reason):
    selection = select_contrast(reference_rows, candidate_rows, config)
    assert selection.rows == [] and reason in selection.stats["empty_reason"]


def test_duplicate_keys_are_named():
    with pytest.raises(DuplicateKeyError, match="'d1'"):
        select_contrast(references() + [{"doc_id": "d1", "quals": 0.0}], candidates())
    with pytest.raises(DuplicateKeyError, match=r"\('d2', 's1'\)"):
        select_contrast(references(), candidates() + [{"doc_id": "d2", "cand_id": "s1", "quals": 0.0}])


def test_bad_keys_are_rejected():
    with pytest.raises(KeyMismatchError, match="without a reference row: \\['zz'\\]"):
        select_contrast(references(), candidates() + [{"doc_id": "zz", "cand_id": "s0", "quals": 0.0}])
    with pytest.raises(ValueError, match="reserved"):
        select_contrast(references(), candidates() + [{"doc_id": "d1", "cand_id": "ref", "quals": 0.0}])
    with pytest.raises(ValueError, match="no 'quals' field"):
        select_contrast([{"doc_id": "a", "score": 1.0}], [])


def test_dataclass_rows_and_another_score_column():
    @dataclass
    class Scored:
        doc_id: str
        rouge: float
        cand_id: str = "ref"

    reference_rows = [Scored("a", 0.9), Scored("b", 0.2)]
    candidate_rows = [Scored("a", 0.1, "s0"), Scored("b", 0.5, "s0")]
    config = SelectionConfig(neg_ratio=0.5, pos_ratio=0.5, score_column="rouge")
    assert keys(select_contrast(reference_rows, candidate_rows, config)) == [
        ("a", "ref", "pos"),
        ("a", "s0", "neg"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"neg_ratio": 1.5},
        {"pos_ratio": -0.1},
        {"mode": "union"},
        {"negatives_per_doc": 0},
        {"positives_from_candidates": -1},
        {"positive_fallback": "reference"},
    ],
)
def test_config_is_validated(bad):
    with pytest.raises(ValueError):
        SelectionConfig(**bad)


def test_quantiles_of_nothing_is_none():
    assert quantiles([]) is None
    assert quantiles([2.0]) == {"min": 2.0, "p25": 2.0, "p50": 2.0, "p75": 2.0, "max": 2.0}
