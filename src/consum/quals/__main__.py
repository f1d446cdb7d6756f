"""``consum-quals`` / ``python -m consum.quals``: QUALS as a metric on a jsonl/csv/parquet file.

    consum-quals --qagen runs/train_qagen/<id> --input pairs.jsonl --output scored.jsonl \
        [--doc-field doc --summary-field summary --filter original|strict --summary-side penalised|clean]

Writes the input rows with ``quals``, ``n_qa``, ``n_generated`` added (and ``qa_pairs`` with --details).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="consum-quals", description="Score (document, summary) pairs with QUALS.")
    p.add_argument("--qagen", required=True, help="QAGen model: a train_qagen run dir, its model/ dir, or a hub name")
    p.add_argument("--input", required=True, help="jsonl, csv or parquet with a document and a summary column")
    p.add_argument("--output", required=True, help="jsonl to write")
    p.add_argument("--doc-field", default="doc")
    p.add_argument("--summary-field", default="summary")
    p.add_argument("--filter", default="original", choices=["original", "strict"])
    p.add_argument("--summary-side", default="penalised", choices=["penalised", "clean"])
    p.add_argument("--num-beams", type=int, default=60, help="QA pairs generated per summary (diverse beam groups too)")
    p.add_argument("--chunk-size", type=int, default=64, help="rows scored per call (progress granularity)")
    p.add_argument("--precision", default="no", choices=["no", "bf16", "fp16"])
    p.add_argument("--device", default=None)
    p.add_argument("--cache", default=None, help="sqlite file caching QA generation")
    p.add_argument("--details", action="store_true", help="also write the kept QA pairs with per-token log-probs")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from consum.data.schema import DataError
    from consum.data.sources import field_value, read_file
    from consum.quals.scorer import QualsScorer

    try:
        records = read_file(args.input)
        documents = [field_value(r, args.doc_field, "document") for r in records]
        summaries = [field_value(r, args.summary_field, "summary") for r in records]
    except DataError as e:
        print(f"consum-quals: {e}", file=sys.stderr)
        return 2
    generation = {"num_beams": args.num_beams, "num_groups": args.num_beams}
    scorer = QualsScorer.from_pretrained(args.qagen, device=args.device, cache_path=args.cache, generation=generation,
                                         filter=args.filter, summary_side=args.summary_side, precision=args.precision)
    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as out, tqdm(total=len(records), desc="QUALS", unit="summary") as bar:
        for start in range(0, len(records), args.chunk_size):
            end = start + args.chunk_size
            try:
                results = scorer.score(documents[start:end], summaries[start:end], keep_pairs=args.details)
            except (TypeError, ValueError) as e:
                print(f"consum-quals: {args.input}: {e} (rows counted from {start})", file=sys.stderr)
                return 2
            for record, res in zip(records[start:end], results):
                row = {**record.fields, "quals": res.quals, "n_qa": res.n_qa, "n_generated": res.n_generated}
                if args.details:
                    row["qa_pairs"] = [p.__dict__ for p in res.pairs]
                out.write(json.dumps(row) + "\n")
            bar.update(len(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
