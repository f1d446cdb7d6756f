"""Summary statistics of a generated corpus, for the ``prepare_data`` printout and the docs."""

from __future__ import annotations

from collections import Counter
from statistics import fmean

from consum.data.factworld.generator import LABELS


def corpus_stats(corpus: dict[str, list[dict]], qa: dict[str, list[dict]] | None = None) -> dict[str, dict]:
    """Per split: docs, share of each reference label, mean words of documents and summaries, QA pairs."""
    stats = {}
    for split, rows in corpus.items():
        labels = Counter(row["label"] for row in rows)
        split_stats = {
            "docs": len(rows),
            "noise_rate": {label: labels[label] / len(rows) if rows else 0.0 for label in LABELS[1:]},
            "mean_document_words": fmean(len(r["document"].split()) for r in rows) if rows else 0.0,
            "mean_summary_words": fmean(len(r["summary"].split()) for r in rows) if rows else 0.0,
            "event_types": dict(sorted(Counter(r["event_type"] for r in rows).items())),
        }
        if qa is not None:
            by_context = Counter(record["context_type"] for record in qa.get(split, []))
            split_stats["qa_pairs"] = {"document": by_context["document"], "summary": by_context["summary"]}
        stats[split] = split_stats
    return stats
