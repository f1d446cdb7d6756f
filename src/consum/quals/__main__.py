"""``consum-quals`` / ``python -m consum.quals``: QUALS as a metric on a jsonl/csv/parquet file.

    consum-quals --qagen runs/train_qagen/<id> --input pairs.jsonl --output scored.jsonl \
        [--doc-field doc --summary-field summary --preset strict --filter original|strict ...] \
        [--threshold VALUE|calibrated]

Writes the input rows with ``quals``, ``n_qa``, ``n_generated``, ``document_truncated``,
``document_windows`` added (and ``qa_pairs`` with --details). With ``--threshold``,
also ``consistent`` (QUALS >= threshold; a summary without a QA pair scores ``NO_PAIRS_QUALS``, so it has
a verdict too) and ``quals_threshold``; ``--threshold calibrated`` takes the threshold ``bench-metric
--calibrate`` stored beside the QAGen and refuses QUALS settings other than the ones it was chosen with.
The QUALS options are :mod:`consum.quals.cli_options`'s, shared with bench-metric. The output appears
only when every row is scored (written to a temporary name, renamed at the end): a run stopped by a bad
row leaves no partial file. An input without rows, a bad row, bad options or an unusable calibration
stop with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tqdm.auto import tqdm

from consum.quals.cli_options import OptionError, add_quals_options, quals_settings, scorer_kwargs
from consum.quals.verdict import (
    CalibrationError,
    calibrated_threshold,
    check_calibrated_weights,
    is_consistent,
)

CALIBRATED = "calibrated"


def threshold_option(value: str) -> float | str:
    if value == CALIBRATED:
        return value
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise argparse.ArgumentTypeError(f"expected a number or {CALIBRATED!r}, got {value!r}")
    return threshold


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
    p.add_argument("--chunk-size", type=int, default=64, help="rows scored per call (progress granularity)")
    p.add_argument(
        "--details", action="store_true", help="also write the kept QA pairs with per-token log-probs"
    )
    p.add_argument(
        "--threshold", type=threshold_option, default=None, metavar="VALUE|calibrated",
        help="also write consistent (quals >= VALUE) and quals_threshold; 'calibrated': the threshold "
             "bench-metric --calibrate wrote beside the QAGen, for the same QUALS settings",
    )
    add_quals_options(p)
    return p.parse_args(argv)


class InputError(Exception):
    """Bad input: reported in one line with exit status 2, never a traceback."""


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        threshold = chosen_threshold(args)
        documents, summaries, records = read_rows(args)
        scorer = load_scorer(args)
        if args.threshold == CALIBRATED:
            check_calibrated_weights(args.qagen, scorer.model_hash)
        n_consistent = score_to_file(args, scorer, threshold, documents, summaries, records)
    except (InputError, OptionError, CalibrationError) as e:
        print(f"consum-quals: {e}", file=sys.stderr)
        return 2
    n_truncated, n_windowed = scorer.n_documents_truncated, scorer.n_documents_windowed
    print(f"consum-quals: scored {len(records)} rows -> {args.output}"
          + (f" ({n_truncated} documents cut at the QAGen's max length)" if n_truncated else "")
          + (f" ({n_windowed} documents scored in windows)" if n_windowed else "")
          + (f"; {n_consistent} consistent at QUALS >= {threshold:g}" if threshold is not None else ""),
          file=sys.stderr)
    return 0


def chosen_threshold(args) -> float | None:
    """The verdict threshold: the one given, the calibrated one (checked against the settings), or None."""
    if args.threshold == CALIBRATED:
        return calibrated_threshold(args.qagen, quals_settings(args))
    return args.threshold


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


def load_scorer(args):
    from consum.quals.scorer import QualsScorer

    try:
        return QualsScorer.from_pretrained(args.qagen, **scorer_kwargs(args))
    except (OSError, ValueError) as e:  # ValueError: a QAGen that cannot serve these settings
        raise InputError(f"cannot load the QAGen model {args.qagen!r}: {e}") from e


def score_to_file(args, scorer, threshold: float | None, documents: list[str], summaries: list[str],
                  records: list) -> int:
    """Score every row into ``args.output`` (atomically); return how many were found consistent."""
    from consum.io.atomic import atomic_write

    n_consistent = 0

    def write(tmp_path: Path) -> None:
        nonlocal n_consistent
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
                    row = output_row(record.fields, res, args.details, threshold)
                    n_consistent += bool(row.get("consistent"))
                    out.write(json.dumps(row) + "\n")
                bar.update(len(results))

    atomic_write(args.output, write)
    return n_consistent


def output_row(fields: dict, result, details: bool, threshold: float | None = None) -> dict:
    row = {**fields, "quals": result.quals}
    if threshold is not None:
        row.update(consistent=is_consistent(result.quals, threshold), quals_threshold=threshold)
    row.update(n_qa=result.n_qa, n_generated=result.n_generated, document_truncated=result.document_truncated,
               document_windows=result.document_windows)
    if details:
        row["qa_pairs"] = [pair.__dict__ for pair in result.pairs]
    return row


if __name__ == "__main__":
    sys.exit(main())
