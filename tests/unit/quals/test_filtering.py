"""Each quirk of the original QA filter (spec §3) and each fix of the strict mode, on hand-built cases."""

import pytest

from consum.quals.filtering import QACandidate, candidates_from_generation, filter_qa, split_qa


def qa(question: str, answer: str, score: float, index: int = 0) -> QACandidate:
    """A candidate whose penalised total log-prob is ``score`` (spread over two tokens)."""
    return QACandidate(
        question=question,
        answer=answer,
        tokens=[1, 2],
        token_logprobs=[score / 2, score / 2],
        penalised_logprobs=[score / 2, score / 2],
        index=index,
    )


def pairs(kept: list[QACandidate]) -> list[tuple[str, str]]:
    return [(candidate.question, candidate.answer) for candidate in kept]


SUMMARY = "Alice met Bob in Paris on Monday to start a company."


def test_split_qa_keeps_leading_space_and_rejects_other_part_counts():
    assert split_qa("Who? strutConnector Bob", " strutConnector") == ("Who?", " Bob")
    assert split_qa("Who? Bob", " strutConnector") is None
    assert split_qa("Who? strutConnector Bob strutConnector Al", " strutConnector") is None


def test_candidates_from_generation_drops_unsplittable_and_keeps_rank():
    candidates = candidates_from_generation(
        ["Who?<sep>Bob", "no separator", "Where?<sep>Paris<sep>Rome", "When?<sep>Monday"],
        tokens=[[1], [2], [3], [4]],
        token_logprobs=[[-1.0], [-2.0], [-3.0], [-4.0]],
        penalised_logprobs=[[-1.0], [-2.5], [-3.5], [-4.5]],
        separator="<sep>",
    )
    assert [(c.question, c.answer, c.index) for c in candidates] == [
        ("Who?", "Bob", 0),
        ("When?", "Monday", 3),
    ]
    assert candidates[1].penalised_logprobs == [-4.5]


def test_original_soft_cap_keeps_all_distinct_answers_when_there_are_at_least_max_qas():
    answers = [
        "Alice",
        "Bob",
        "Paris",
        "Monday",
        "company",
        "met",
        "start",
        "in",
        "on",
        "to",
        "a",
        "Alice met",
    ]
    candidates = [qa(f"Q{i}?", answer, -float(i), i) for i, answer in enumerate(answers)]
    kept = filter_qa(candidates, SUMMARY, max_qas=10)
    assert len(kept) == 12  # one round visits all 12 groups; the cap is only checked between rounds


def test_original_soft_cap_with_few_answers_reaches_max_minus_one_plus_groups():
    # 3 distinct answers, 5 questions each: rounds keep 3, 6, 9 (< 10), then a 4th round adds 3 -> 12 = 9 + 3.
    candidates = [
        qa(f"Q{a}{i}?", answer, -float(i), 5 * a + i)
        for a, answer in enumerate(["Alice", "Bob", "Paris"])
        for i in range(5)
    ]
    kept = filter_qa(candidates, SUMMARY, max_qas=10)
    assert len(kept) == 12


def test_strict_hard_cap_truncates_inside_a_round():
    candidates = [
        qa(f"Q{a}{i}?", answer, -float(i), 5 * a + i)
        for a, answer in enumerate(["Alice", "Bob", "Paris"])
        for i in range(5)
    ]
    kept = filter_qa(candidates, SUMMARY, mode="strict", max_qas=10)
    assert len(kept) == 10
    assert pairs(kept)[9] == ("Q03?", "Alice")  # round 4 stops after its first group


def test_round_robin_order_follows_penalised_score_and_groups_by_first_appearance():
    candidates = [
        qa("Who met Alice?", "Bob", -3.0, 0),
        qa("Where?", "Paris", -1.0, 1),
        qa("Who did Alice meet?", "bob", -2.0, 2),
        qa("Which city?", "Paris", -4.0, 3),
    ]
    kept = filter_qa(candidates, SUMMARY, max_qas=10)
    # Sorted: Paris(-1), bob(-2), Bob(-3), Paris(-4); groups "paris" then "bob" (case-insensitive).
    assert pairs(kept) == [
        ("Where?", "Paris"),
        ("Who did Alice meet?", "bob"),
        ("Which city?", "Paris"),
        ("Who met Alice?", "Bob"),
    ]


def test_ordering_uses_penalised_not_clean_log_probs():
    better_clean = QACandidate("Q1?", "Alice", [1], [-0.1], [-5.0], 0)
    better_penalised = QACandidate("Q2?", "Alice", [1], [-1.0], [-1.0], 1)
    kept = filter_qa([better_clean, better_penalised], SUMMARY, max_qas=1)
    assert [c.index for c in kept] == [1]


def test_ties_in_score_keep_generation_order():
    kept = filter_qa([qa("Q1?", "Bob", -1.0, 0), qa("Q2?", "Alice", -1.0, 1)], SUMMARY)
    assert [c.index for c in kept] == [0, 1]


def test_empty_answer_passes_in_original_but_not_in_strict():
    candidates = [qa("What?", "", -1.0)]
    assert len(filter_qa(candidates, SUMMARY)) == 1
    assert filter_qa(candidates, SUMMARY, mode="strict") == []


def test_substring_match_in_original_versus_word_boundary_in_strict():
    candidates = [qa("What?", "art", -1.0)]  # only inside "start"
    assert len(filter_qa(candidates, SUMMARY)) == 1
    assert filter_qa(candidates, SUMMARY, mode="strict") == []


def test_strict_phrase_match_handles_case_punctuation_and_digits():
    summary = "Shares in U.S. firm Acme rose $5 to 2021 highs."
    for answer in ["u.s.", "$5", "2021", "ACME rose"]:
        assert len(filter_qa([qa("What?", answer, -1.0)], summary, mode="strict")) == 1, answer
    for answer in ["202", "5 to 20", "Acm"]:
        assert filter_qa([qa("What?", answer, -1.0)], summary, mode="strict") == [], answer


def test_original_ignores_the_question_and_keeps_whitespace_strict_requires_question_mark_and_strips():
    candidates = [qa("  who did Alice meet  ", " Bob ", -1.0)]
    kept_original = filter_qa(candidates, SUMMARY)
    assert pairs(kept_original) == [("  who did Alice meet  ", " Bob ")]
    assert filter_qa(candidates, SUMMARY, mode="strict") == []
    kept_strict = filter_qa([qa(" Who did Alice meet? ", " Bob ", -1.0)], SUMMARY, mode="strict")
    assert pairs(kept_strict) == [("Who did Alice meet?", "Bob")]


def test_answer_not_in_summary_is_dropped():
    assert filter_qa([qa("Who?", "Carol", -1.0)], SUMMARY) == []


def test_duplicates_are_case_insensitive_on_answer_and_question():
    candidates = [
        qa("Who met Alice?", "Bob", -1.0, 0),
        qa("WHO MET ALICE?", "bob", -2.0, 1),  # duplicate of 0
        qa("Who?", "BOB", -3.0, 2),
        qa("Where?", "Paris", -1.5, 3),
        qa("Which city?", "Paris", -2.5, 4),  # keeps round 2 productive, so round 3 happens
        qa("Who met Bob?", "Alice", -4.0, 5),
    ]
    kept = filter_qa(candidates, SUMMARY)
    assert [c.index for c in kept] == [0, 3, 5, 4, 2]


def test_original_stops_after_a_round_of_duplicates_even_if_unique_candidates_remain():
    candidates = [
        qa("Who met Alice?", "Bob", -1.0, 0),
        qa("who met alice?", "Bob", -2.0, 1),  # round 2 pops only this duplicate -> loop ends
        qa("Who was in Paris?", "Bob", -3.0, 2),  # unique but never reached
    ]
    assert [c.index for c in filter_qa(candidates, SUMMARY)] == [0]
    assert [c.index for c in filter_qa(candidates, SUMMARY, mode="strict")] == [0, 2]


def test_no_valid_candidates_gives_empty_list():
    assert filter_qa([], SUMMARY) == []


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown filter mode"):
        filter_qa([], SUMMARY, mode="lenient")
