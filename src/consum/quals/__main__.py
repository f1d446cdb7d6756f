"""``consum-quals`` / ``python -m consum.quals``: QUALS as a metric on a jsonl/csv/parquet file.

    consum-quals --qagen runs/train_qagen/<id> --input pairs.jsonl --output scored.jsonl \
        [--doc-field doc --summary-field summary --filter original|strict --summary-side penalised|clean]

Writes the input rows with ``quals``, ``n_qa``, ``n_generated``, ``document_truncated`` added (and
``qa_pairs`` with --details). The output appears only when every row is scored (written to a temporary
name, renamed at the end): a run stopped by a bad row leaves no partial file. An input without rows,
or a bad row, stops with a message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="consum-quals", description="Score (document, summary) pairs with QUALS."
    )
    p.add_argument(
        "--qagen", required=True, help="QAGen model: a train_qagen run dir, its model/ dir, or a hub name"
    )
    p.add_argument(
        "--input", required=True, help="jsonl, csv or parquet with a document and a summary column"
    )
    p.add_argument("--output", required=True, help="jsonl to write")
    p.add_argument("--doc-field", default="doc")
    p.add_argument("--summary-field", default="summary")
    p.add_argument("--filter", default="original", choices=["original", "strict"])
    p.add_argument("--summary-side", default="penalised", choices=["penalised", "clean"])
    p.add_argument(
        "--num-beams", type=int, default=60, help="QA pairs generated per summary (diverse beam groups too)"
    )
    p.add_argument("--chunk-size", type=int, default=64, help="rows scored per call (progress granularity)")
    p.add_argument("--precision", default="no", choices=["no", "bf16", "fp16"])
    p.add_argument("--device", default=None)
    p.add_argument("--cache", default=None, help="sqlite file caching QA generation")
    p.add_argument(
        "--details", action="store_true", help="also write the kept QA pairs with per-token log-probs"
    )
    return p.parse_args(argv)


class InputError(Exception):
    """Bad input: reported in one line with exit status 2, never a traceback."""


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        documents, summaries, records = read_rows(args)
        n_truncated = score_to_file(args, documents, summaries, records)
    except InputError as e:
        print(f"consum-quals: {e}", file=sys.stderr)
        return 2
    print(f"consum-quals: scored {len(records)} rows -> {args.output}"
          + (f" ({n_truncated} documents cut at the QAGen's max length)" if n_truncated else ""),
          file=sys.stderr)
    return 0


def read_rows(args) -> tuple[list[str], list[str], list]:
    from consum.data.schema import DataError
    from consum.data.sources import field_value, read_file

    try:
        records = read_file(args.input)
        documents = [field_value(r, args.doc_field, "document") for r in records]
        summaries = [field_value(r, args.summary_field, "summary") for r in records]
    except DataError as e:
        raise InputError(str(e)) from e
    if not records:
        raise InputError(f"{args.input}: no rows to score (empty input); nothing written")
    return documents, summaries, records


def score_to_file(args, documents: list[str], summaries: list[str], records: list) -> int:
    """Score every row into ``args.output`` (atomically); return how many documents were cut."""
    from consum.io.atomic import atomic_write
    from consum.quals.scorer import QualsScorer

    generation = {"num_beams": args.num_beams, "num_groups": args.num_beams}
    try:
        scorer = QualsScorer.from_pretrained(
            args.qagen, device=args.device, cache_path=args.cache, generation=generation,
            filter=args.filter, summary_side=args.summary_side, precision=args.precision,
        )
    except OSError as e:
        raise InputError(f"cannot load the QAGen model {args.qagen!r}: {e}") from e

    def write(tmp_path: Path) -> None:
        with open(tmp_path, "w", encoding="utf-8") as out, \
                tqdm(total=len(records), desc="QUALS", unit="summary") as bar:
            for start in range(0, len(records), args.chunk_size):
                end = start + args.chunk_size
                try:
                    results = scorer.score(
                        documents[start:end], summaries[start:end], keep_pairs=args.details
                    )
                except (TypeError, ValueError) as e:
                    raise InputError(f"{args.input}: {e} (rows counted from {start}); nothing written") from e
                for record, res in zip(records[start:end], results):
                    out.write(json.dumps(output_row(record.fields, res, args.details)) + "\n")
                bar.update(len(results))

    atomic_write(args.output, write)
    return scorer.n_documents_truncated


def output_row(fields: dict, result, details: bool) -> dict:
    row = {**fields, "quals": result.quals, "n_qa": result.n_qa, "n_generated": result.n_generated,
           "document_truncated": result.document_truncated}
    if details:
        row["qa_pairs"] = [pair.__dict__ for pair in result.pairs]
    return row


if __name__ == "__main__":
    sys.exit(main())
