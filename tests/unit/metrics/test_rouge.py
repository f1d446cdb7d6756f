"""ROUGE on a pair small enough to count by hand, and the lead baseline."""

import pytest

from consum.metrics.rouge import lead_baseline, rouge_mean_f1, rouge_scores, split_sentences


def test_rouge_by_hand_on_a_tiny_pair():
    # unigrams: 3 shared; P = 3/3, R = 3/6 -> F1 = 2/3. bigrams: 2 shared of 2 and 5 -> F1 = 4/7.
    # LCS = 3 -> 2/3.
    (scores,) = rouge_scores(["the cat sat"], ["the cat sat on the mat"])
    assert scores["rouge1"] == pytest.approx(2 / 3)
    assert scores["rouge2"] == pytest.approx(4 / 7)
    assert scores["rougeL"] == pytest.approx(2 / 3)
    assert rouge_mean_f1(["the cat sat"], ["the cat sat on the mat"]) == pytest.approx(
        [(2 / 3 + 4 / 7 + 2 / 3) / 3]
    )


def test_stemming_matches_inflected_forms():
    stemmed, unstemmed = (
        rouge_scores(["cats running"], ["cat runs"])[0],
        rouge_scores(["cats running"], ["cat runs"], stemming=False)[0],
    )
    assert stemmed["rouge1"] == pytest.approx(1.0)
    assert unstemmed["rouge1"] == 0.0


def test_rouge_rejects_unaligned_inputs():
    with pytest.raises(ValueError, match="predictions"):
        rouge_scores(["a"], [])


def test_lead_baseline_keeps_titles_inside_sentences():
    document = "Mr. Brown resigned on Monday. He had led the firm for 10 years. Shares fell."
    assert split_sentences(document) == [
        "Mr. Brown resigned on Monday.",
        "He had led the firm for 10 years.",
        "Shares fell.",
    ]
    assert lead_baseline(document) == "Mr. Brown resigned on Monday."
    assert (
        lead_baseline(document, n_sentences=2)
        == "Mr. Brown resigned on Monday. He had led the firm for 10 years."
    )
    assert lead_baseline(document, n_sentences=5) == document
