"""Entity-level precision/recall on hand-built summaries with a lexicon extractor (no spaCy needed)."""

import pytest

from consum.metrics.entity import (
    EntityCounts,
    aggregate_entity_metrics,
    entity_counts,
    entity_match,
)

LEXICON = ["John Smith", "Smith", "Tom", "Paris", "London", "The Who"]


def lexicon_extractor(text: str) -> list[str]:
    """Every lexicon entry in the text, longest first, without re-counting words inside a longer match."""
    found = []
    for entry in sorted(LEXICON, key=len, reverse=True):
        while entry in text:
            found.append(entry)
            text = text.replace(entry, " ", 1)
    return found


def test_entity_match_rules():
    assert entity_match("John Smith", "Mr Smith said")  # partial name: non-stop-word token
    assert entity_match("new york city", "in New York yesterday")  # longest >= 2-word sub-span
    assert not entity_match("The Who", "who is the best band")  # only stop-word tokens
    assert entity_match("The Who", "saw THE WHO live")  # the whole 2-word span, case-insensitive
    assert entity_match("US", "the USA")  # "US" counts although "us" is a stop word
    assert not entity_match("us", "the USA")
    assert entity_match("Tom", "a tomato")  # plain substring, as in the original
    assert not entity_match("Tom", "Mr Smith flew to Paris.")


def test_hallucinated_name_and_partial_match():
    counts = entity_counts(
        summary="John Smith met Tom in Paris.",
        source="Mr Smith flew to Paris.",
        reference="Smith was in Paris.",
        extract_entities=lexicon_extractor,
    )
    assert counts == EntityCounts(
        summary_entities=3,
        summary_in_source=2,
        summary_in_reference=2,
        reference_entities=2,
        reference_in_summary=2,
    )
    assert counts.prec_s == pytest.approx(2 / 3)
    assert counts.prec_t == pytest.approx(2 / 3)
    assert counts.recall_t == 1.0


def test_summary_without_entities_has_undefined_precision():
    counts = entity_counts("It rained.", "It rained in London.", "Rain in London.", lexicon_extractor)
    assert counts.summary_entities == 0
    assert counts.prec_s is None and counts.prec_t is None
    assert counts.recall_t == 0.0


def test_macro_excludes_undefined_summaries_and_micro_pools_counts():
    counts = [
        EntityCounts(
            summary_entities=3,
            summary_in_source=2,
            summary_in_reference=2,
            reference_entities=2,
            reference_in_summary=2,
        ),
        EntityCounts(
            summary_entities=1,
            summary_in_source=0,
            summary_in_reference=0,
            reference_entities=1,
            reference_in_summary=0,
        ),
        EntityCounts(
            summary_entities=0,
            summary_in_source=0,
            summary_in_reference=0,
            reference_entities=0,
            reference_in_summary=0,
        ),
    ]
    metrics = aggregate_entity_metrics(counts)
    assert metrics["macro_prec_s"] == pytest.approx((2 / 3 + 0) / 2)
    assert metrics["macro_recall_t"] == pytest.approx((1 + 0) / 2)
    assert metrics["macro_f1_t"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert metrics["micro_prec_s"] == pytest.approx(2 / 4)
    assert metrics["micro_prec_t"] == pytest.approx(2 / 4)
    assert metrics["micro_recall_t"] == pytest.approx(2 / 3)
    assert metrics["micro_f1_t"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert metrics["n_summaries"] == 3
    assert metrics["n_without_summary_entities"] == 1
    assert metrics["n_without_reference_entities"] == 1


def test_all_summaries_without_entities_give_none_not_an_error():
    metrics = aggregate_entity_metrics([EntityCounts(0, 0, 0, 0, 0)])
    assert (
        metrics["macro_prec_s"] is None and metrics["micro_prec_t"] is None and metrics["macro_f1_t"] is None
    )
