"""Locating unsupported answers in a summary, choosing them from QA pair scores, mapping spans to tokens."""

import pytest

from consum.contrast.spans import (
    SpanRule,
    char_spans_to_token_mask,
    locate_answer_spans,
    merge_spans,
    oracle_unsupported_spans,
    unsupported_answers,
)

SUMMARY = "Ana Silva scored twice in Paris. Team Alpha beat team Beta in Paris."
#          0         1         2         3         4         5         6
#          0123456789012345678901234567890123456789012345678901234567890123456789


def test_an_answer_is_located_by_its_character_offsets():
    spans, missing = locate_answer_spans(SUMMARY, ["Ana Silva"])
    assert spans == [(0, 9)] and missing == []
    assert SUMMARY[0:9] == "Ana Silva"


def test_an_answer_occurring_twice_gives_both_spans():
    spans, missing = locate_answer_spans(SUMMARY, ["Paris"])
    assert spans == [(26, 31), (62, 67)] and missing == []
    assert {SUMMARY[s:e] for s, e in spans} == {"Paris"}


def test_an_answer_not_found_is_reported_and_gives_no_span():
    spans, missing = locate_answer_spans(SUMMARY, ["Rome", "Ana Silva"])
    assert spans == [(0, 9)] and missing == ["Rome"]
    assert locate_answer_spans(SUMMARY, ["Rome"]) == ([], ["Rome"])


def test_case_insensitive_only_when_the_exact_case_is_absent():
    assert locate_answer_spans(SUMMARY, ["team alpha"]) == ([(33, 43)], [])
    # "Team" (exact case, at 33) is found, so the lower-case "team" at 49 is not used for "Team"
    assert locate_answer_spans(SUMMARY, ["Team"]) == ([(33, 37)], [])
    assert locate_answer_spans(SUMMARY, ["TEAM"]) == ([(33, 37), (49, 53)], [])


def test_whole_words_are_preferred_over_a_match_inside_a_word():
    assert locate_answer_spans("He said the cat sat.", ["he"]) == ([(0, 2)], [])  # "He", not inside "the"
    assert locate_answer_spans("She said the cat sat.", ["he"]) == ([(1, 3), (10, 12)], [])  # no word: any
    assert locate_answer_spans("the cat and he sat", ["he"]) == ([(12, 14)], [])  # the word, not "the"
    assert locate_answer_spans("the cat sat", ["at"]) == ([(5, 7), (9, 11)], [])  # no whole word: substrings


def test_answers_are_stripped_empty_ones_ignored_and_spans_merged():
    spans, missing = locate_answer_spans(SUMMARY, [" Ana", "Ana Silva", "", "   ", "Silva scored "])
    assert spans == [(0, 16)] and missing == []  # "Ana", "Ana Silva", "Silva scored" overlap


def test_an_answer_repeated_back_to_back_gives_spans_that_are_each_the_answer():
    # found by the substring fallback inside "33": two touching occurrences, not one span "33"
    assert locate_answer_spans("They won 33 to 1.", ["3"]) == ([(9, 10), (10, 11)], [])


def test_merge_spans():
    assert merge_spans([(5, 8), (0, 2), (7, 10), (10, 12), (3, 3)]) == [(0, 2), (5, 10), (10, 12)]
    assert merge_spans([]) == []


def test_token_mask_marks_tokens_overlapping_a_span_and_never_specials():
    # <s> "Ana" " Silva" " scored" " in" " Paris" "." </s>, with trimmed offsets as BART's tokenizer gives
    offsets = [(0, 0), (0, 3), (4, 9), (10, 16), (17, 19), (20, 25), (25, 26), (0, 0)]
    assert char_spans_to_token_mask(offsets, [(20, 25)]) == [False] * 5 + [True, False, False]
    # a span starting mid-token still takes the whole token; a span touching a token's edge does not
    assert char_spans_to_token_mask(offsets, [(5, 12)]) == [False, False, True, True] + [False] * 4
    assert char_spans_to_token_mask(offsets, [(3, 4)]) == [False] * 8
    # a span at offset 0 never takes the (0, 0) specials
    assert char_spans_to_token_mask(offsets, [(0, 3)]) == [False, True] + [False] * 6
    assert char_spans_to_token_mask(offsets, []) == [False] * 8
    assert char_spans_to_token_mask(offsets, [[17, 19], [20, 26]]) == [False] * 4 + [True, True, True, False]


ROWS = [
    {"qa_index": 0, "answer": "Paris", "pair_score": -0.5},
    {"qa_index": 1, "answer": "Ana Silva", "pair_score": -2.0},
    {"qa_index": 2, "answer": "twice", "pair_score": -1.0},
    {"qa_index": 3, "answer": "Beta", "pair_score": -1.0},
]


def test_the_worst_k_pairs_are_unsupported_ties_by_qa_index():
    assert unsupported_answers(ROWS, SpanRule()) == ["Ana Silva"]
    assert unsupported_answers(ROWS, SpanRule(worst_k=3)) == ["Ana Silva", "twice", "Beta"]
    assert unsupported_answers(ROWS[::-1], SpanRule(worst_k=3)) == ["Ana Silva", "twice", "Beta"]
    assert unsupported_answers(ROWS, SpanRule(worst_k=10)) == ["Ana Silva", "twice", "Beta", "Paris"]
    assert unsupported_answers([], SpanRule()) == []
    blank = {"qa_index": 4, "answer": " ", "pair_score": -9.0}  # kept by QUALS's filter, names no text
    assert unsupported_answers([*ROWS, blank], SpanRule()) == ["Ana Silva"]


def test_max_pair_score_keeps_only_pairs_at_or_below_it():
    rule = SpanRule(worst_k=4, max_pair_score=-1.0)
    assert unsupported_answers(ROWS, rule) == ["Ana Silva", "twice", "Beta"]
    assert unsupported_answers(ROWS, SpanRule(worst_k=1, max_pair_score=-1.0)) == ["Ana Silva"]
    assert unsupported_answers(ROWS, SpanRule(worst_k=4, max_pair_score=-3.0)) == []


def test_worst_k_must_be_positive():
    with pytest.raises(ValueError, match="worst_k"):
        SpanRule(worst_k=0)


def test_oracle_spans_are_the_unsupported_mentions():
    from tests.unit.contrast.test_oracle_reward import FAITHFUL, ONE_ERROR, THREE_ERRORS
    from tests.unit.data.test_factworld_oracle import SPORTS_FACTS

    assert oracle_unsupported_spans(SPORTS_FACTS, FAITHFUL) == []
    start = ONE_ERROR.index("Oslo")
    assert oracle_unsupported_spans(SPORTS_FACTS, ONE_ERROR) == [(start, start + 4)]  # extrinsic
    spans = oracle_unsupported_spans(SPORTS_FACTS, THREE_ERRORS)  # the age and two mangled copies
    assert [THREE_ERRORS[s:e] for s, e in spans] == ["29-year-old", "Maria Novak", "Kelso United"]
