"""Benchmark a factual-consistency metric against human judgments (``make bench-metric``).

Input: a jsonl with ``doc``, ``summary``, and ``label`` (1 = consistent) and/or ``score`` (e.g. the
share of consistent sentences), such as the QAGS CNN/DM and XSum judgments. Output: ROC-AUC against
``label``; balanced accuracy at the threshold chosen on a validation half (seeded split by row hash)
and measured on the other half; Pearson and Spearman against ``score``.

    python -m consum.evaluation.benchmarks --data qags_xsum.jsonl --metric quals --qagen runs/train_qagen/<id>
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence

from consum.metrics.metric_stats import balanced_accuracy, best_threshold, pearson, roc_auc, spearman


def unigram_precision(documents: Sequence[str], summaries: Sequence[str]) -> list[float]:
    """Share of summary word types that occur in the document: a lexical baseline."""
    out = []
    for d, s in zip(documents, summaries):
        doc_words = set(d.lower().split())
        words = set(s.lower().split())
        out.append(len(words & doc_words) / len(words) if words else 1.0)
    return out


def quals_metric(qagen: str, **overrides) -> Callable[[Sequence[str], Sequence[str]], list[float | None]]:
    from consum.quals.scorer import QualsScorer

    scorer = QualsScorer.from_pretrained(qagen, **overrides)
    return lambda documents, summaries: [
        r.quals for r in scorer.score(list(documents), list(summaries), keep_pairs=False)
    ]


def validation_mask(rows: Sequence[dict], seed: int) -> list[bool]:
    """Half of the rows, chosen by a hash of (seed, doc, summary): the threshold-selection split."""
    return [
        int(hashlib.sha256(f"{seed}|{r['doc']}|{r['summary']}".encode()).hexdigest(), 16) % 2 == 0
        for r in rows
    ]


def evaluate_metric(rows: Sequence[dict], scores: Sequence[float | None], seed: int = 0) -> dict:
    """Correlation and classification statistics of ``scores`` (higher = more consistent).

    Rows whose score is None (e.g. QUALS with no QA pair) are counted and left out.
    """
    kept = [(r, s) for r, s in zip(rows, scores) if s is not None]
    out: dict = {"n": len(rows), "n_scored": len(kept)}
    labelled = [(r, s) for r, s in kept if r.get("label") is not None]
    if labelled and len({int(r["label"]) for r, _ in labelled}) == 2:
        labels = [int(r["label"]) for r, _ in labelled]
        values = [s for _, s in labelled]
        out["roc_auc"] = roc_auc(values, labels)
        is_val = validation_mask([r for r, _ in labelled], seed)
        val = [(v, y) for v, y, m in zip(values, labels, is_val) if m]
        test = [(v, y) for v, y, m in zip(values, labels, is_val) if not m]
        if len({y for _, y in val}) == 2 and len({y for _, y in test}) == 2:
            threshold, val_bacc = best_threshold([v for v, _ in val], [y for _, y in val])
            out.update(threshold=threshold, balanced_accuracy_val=val_bacc,
                       balanced_accuracy_test=balanced_accuracy(
                           [v for v, _ in test], [y for _, y in test], threshold
                       ))
    graded = [(r["score"], s) for r, s in kept if r.get("score") is not None]
    if len(graded) > 2:
        out["pearson"] = pearson([s for _, s in graded], [g for g, _ in graded])
        out["spearman"] = spearman([s for _, s in graded], [g for g, _ in graded])
    return out


def format_row(name: str, stats: dict) -> str:
    def f(key, scale=1.0):
        return "n/a" if stats.get(key) is None else f"{stats[key] * scale:.3f}"

    return (f"| {name} | {stats['n_scored']}/{stats['n']} | {f('roc_auc')} | {f('balanced_accuracy_test')} | "
            f"{f('pearson', 100)} | {f('spearman', 100)} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", required=True, nargs="+", help="jsonl file(s) with doc, summary, label and/or score"
    )
    p.add_argument("--metric", default="quals", choices=["quals", "unigram_precision"])
    p.add_argument("--qagen", help="QAGen model (train_qagen run dir) for --metric quals")
    p.add_argument("--num-beams", type=int, default=60)
    p.add_argument("--filter", default="original", choices=["original", "strict"])
    p.add_argument("--summary-side", default="penalised", choices=["penalised", "clean"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", help="write the statistics as json")
    args = p.parse_args(argv)
    from consum.data.sources import field_value, read_file

    if args.metric == "quals":
        if not args.qagen:
            p.error("--metric quals needs --qagen")
        metric = quals_metric(
            args.qagen, generation={"num_beams": args.num_beams, "num_groups": args.num_beams},
            filter=args.filter, summary_side=args.summary_side,
        )
    else:
        metric = unigram_precision
    results = {}
    print(
        "| data | scored | ROC-AUC | bal. acc. (test half) | Pearson x100 | Spearman x100 |\n"
        "|---|---|---|---|---|---|"
    )
    for path in args.data:
        records = read_file(path)
        rows = [{"doc": field_value(r, "doc", "document"), "summary": field_value(r, "summary", "summary"),
                 "label": r.fields.get("label"), "score": r.fields.get("score")} for r in records]
        stats = evaluate_metric(
            rows, metric([r["doc"] for r in rows], [r["summary"] for r in rows]), args.seed
        )
        results[path] = stats
        print(format_row(path.rsplit("/", 1)[-1], stats))
    if args.output:
        with open(args.output, "w") as f:
            json.dump({"metric": args.metric, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
