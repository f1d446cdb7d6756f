"""Benchmark a factual-consistency metric against human judgments (``make bench-metric``).

Input: jsonl (or csv/parquet) files with a document, a summary, and ``label`` (1 = consistent) and/or
``score`` (e.g. the share of consistent sentences), such as the QAGS CNN/DM and XSum judgments. Every
file is read and checked before anything is scored. Each file splits in two halves by a seeded hash of
(doc, summary): the balanced-accuracy threshold is chosen on the ``selection`` half and measured on the
``report`` half (the honest number); ROC-AUC against ``label`` and Pearson/Spearman against ``score`` are
computed on the whole file and on each half. Every summary is scored: one without a kept QA pair gets
``NO_PAIRS_QUALS`` and is counted (``n_no_pairs``). ``--calibrate`` writes the threshold chosen on the
pooled selection halves beside the QAGen, for ``consum-quals --threshold calibrated``.

    python -m consum.evaluation.benchmarks --data qags_xsum.jsonl --metric quals --qagen runs/train_qagen/<id>
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from consum.metrics.metric_stats import balanced_accuracy, best_threshold, pearson, roc_auc, spearman
from consum.quals.cli_options import OptionError, add_quals_options, quals_settings, scorer_kwargs
from consum.quals.config import QualsConfig
from consum.quals.verdict import (
    CALIBRATION_FILE,
    NO_PAIRS_QUALS,
    Calibration,
    Halves,
    calibrate,
    calibration_path,
    quals_value,
)

METRICS = ("quals", "unigram_precision")
SCORING_CHUNK = 64  # summaries per scorer call: the progress bar's step (the scorer batches within it)
HALVES = ("selection", "report")


class BenchError(Exception):
    """A bad input file or model: one line naming it, exit status 2, nothing scored."""


@dataclasses.dataclass
class Judgments:
    """One file of human judgments; ``rows``: doc, summary, label (0/1/None), score (float/None)."""

    path: str
    sha256: str
    rows: list[dict]


# ---- reading and checking the judgments ----------------------------------------------------------


def read_judgments(path: str, fields: dict[str, str]) -> Judgments:
    """Read and check one file; ``fields`` maps doc/summary/label/score to the file's field names."""
    from consum.data.schema import DataError
    from consum.data.sources import field_value, read_file
    from consum.io.atomic import sha256_file

    try:
        records = read_file(path)
        rows = [{"doc": field_value(r, fields["doc"], "document"),
                 "summary": field_value(r, fields["summary"], "summary"),
                 "label": judgment_label(r.fields.get(fields["label"]), r.origin, fields["label"]),
                 "score": judgment_score(r.fields.get(fields["score"]), r.origin, fields["score"])}
                for r in records]
    except DataError as e:
        raise BenchError(str(e)) from e
    if not rows:
        raise BenchError(f"{path}: no rows")
    for record, row in zip(records, rows):
        if not row["doc"].strip():
            raise BenchError(f"{record.origin}: empty document (field {fields['doc']!r})")
    if all(row["label"] is None and row["score"] is None for row in rows):
        raise BenchError(f"{path}: no row has a {fields['label']!r} or a {fields['score']!r} "
                         "(the human judgments to compare with)")
    return Judgments(path, sha256_file(path), rows)


def judgment_label(value, origin: str, field: str) -> int | None:
    if value is None or value == "":
        return None
    if value in (0, 1) or value in ("0", "1"):  # csv cells are strings
        return int(value)
    raise BenchError(f"{origin}: {field!r} must be 0 or 1 (1 = consistent), got {value!r}")


def judgment_score(value, origin: str, field: str) -> float | None:
    if value is None or value == "":
        return None
    number = math.nan
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)  # csv cells are strings
        except ValueError:
            pass
    if not math.isfinite(number):
        raise BenchError(f"{origin}: {field!r} must be a finite number, got {value!r}")
    return number


# ---- the metrics -------------------------------------------------------------------------------


def unigram_precision(documents: Sequence[str], summaries: Sequence[str]) -> list[float]:
    """Share of summary word types that occur in the document: a lexical baseline."""
    out = []
    for d, s in zip(documents, summaries):
        doc_words = set(d.lower().split())
        words = set(s.lower().split())
        out.append(len(words & doc_words) / len(words) if words else 1.0)
    return out


class QualsMetric:
    """QUALS of each summary: None when no QA pair was kept (scored ``NO_PAIRS_QUALS`` by the statistics)."""

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, documents: Sequence[str], summaries: Sequence[str]) -> list[float | None]:
        return [r.quals for r in self.scorer.score(list(documents), list(summaries), keep_pairs=False)]


def load_metric(args: argparse.Namespace):
    if args.metric == "unigram_precision":
        return unigram_precision
    from consum.quals.scorer import QualsScorer

    try:
        return QualsMetric(QualsScorer.from_pretrained(args.qagen, **scorer_kwargs(args)))
    except (OSError, ValueError) as e:
        raise BenchError(f"cannot load the QAGen model {args.qagen!r}: {e}") from e


def phase_seconds(metric) -> dict[str, float]:
    """The scorer's accumulated seconds per phase (``QualsScorer.timings``, where the scorer has it)."""
    return dict(getattr(getattr(metric, "scorer", None), "timings", None) or {})


def score_file(metric, judgments: Judgments) -> tuple[list[float | None], dict]:
    """The metric's score of every row, and what it cost: wall seconds, summaries/s, seconds per phase."""
    rows = judgments.rows
    # the rows of one document side by side: a document judged with several summaries is encoded once
    first_row = {}
    order = sorted(range(len(rows)), key=lambda i: first_row.setdefault(rows[i]["doc"], i))
    before = phase_seconds(metric)
    start = time.perf_counter()
    scores: list[float | None] = [None] * len(rows)
    with tqdm(total=len(rows), desc=Path(judgments.path).name, unit="summary", leave=False) as bar:
        for first in range(0, len(order), SCORING_CHUNK):
            chunk = order[first:first + SCORING_CHUNK]
            values = metric([rows[i]["doc"] for i in chunk], [rows[i]["summary"] for i in chunk])
            for i, value in zip(chunk, values):
                scores[i] = value
            bar.update(len(chunk))
    seconds = time.perf_counter() - start
    after = phase_seconds(metric)
    return scores, {
        "seconds": seconds,
        "summaries_per_second": len(rows) / seconds if seconds > 0 else None,
        "phases": {phase: after[phase] - before.get(phase, 0.0) for phase in after},
    }


# ---- statistics --------------------------------------------------------------------------------


def validation_mask(rows: Sequence[dict], seed: int) -> list[bool]:
    """The selection half: rows chosen by a hash of (seed, doc, summary), the same whatever the metric."""
    return [
        int(hashlib.sha256(f"{seed}|{r['doc']}|{r['summary']}".encode()).hexdigest(), 16) % 2 == 0
        for r in rows
    ]


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None  # a correlation with a constant input is undefined


def part_statistics(rows: Sequence[dict], scores: Sequence[float | None], threshold: float | None) -> dict:
    """Statistics of a set of rows; a score of None (no QA pair) counts as ``NO_PAIRS_QUALS``."""
    labelled = [(quals_value(s), r["label"]) for r, s in zip(rows, scores) if r["label"] is not None]
    graded = [(quals_value(s), r["score"]) for r, s in zip(rows, scores) if r["score"] is not None]
    two_classes = len({y for _, y in labelled}) == 2
    values, labels = [v for v, _ in labelled], [y for _, y in labelled]
    return {
        "n": len(rows), "n_no_pairs": sum(s is None for s in scores),
        "n_labelled": len(labelled), "n_graded": len(graded),
        "roc_auc": roc_auc(values, labels) if two_classes else None,
        "balanced_accuracy": (balanced_accuracy(values, labels, threshold)
                              if two_classes and threshold is not None else None),
        "pearson": finite_or_none(pearson(*zip(*graded))) if len(graded) > 2 else None,
        "spearman": finite_or_none(spearman(*zip(*graded))) if len(graded) > 2 else None,
    }


def evaluate_metric(rows: Sequence[dict], scores: Sequence[float | None], seed: int = 0) -> dict:
    """``threshold`` (chosen on the selection half; None when it lacks a class) and the statistics of the
    ``whole`` file, its ``selection`` half and its ``report`` half (higher score = more consistent)."""
    in_selection = validation_mask(rows, seed)
    halves = Halves(scores, [r["label"] for r in rows], in_selection)
    selection_scores, selection_labels = halves.labelled(True)
    threshold = (best_threshold(selection_scores, selection_labels)[0]
                 if len(set(selection_labels)) == 2 else None)
    masks = {"whole": [True] * len(rows), "selection": in_selection, "report": [not m for m in in_selection]}
    stats: dict = {"threshold": threshold}
    for part, mask in masks.items():
        kept = [i for i, keep in enumerate(mask) if keep]
        stats[part] = part_statistics([rows[i] for i in kept], [scores[i] for i in kept], threshold)
    return stats


# ---- the printed tables --------------------------------------------------------------------------


def cell(value, scale: float = 1.0, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value * scale:.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table padded to its widest cells: readable in a terminal, pasteable in a document."""
    widths = [max(3, *(len(line[i]) for line in [header, *rows])) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def results_tables(files: list[dict]) -> str:
    main_rows, half_rows, phase_lines = [], [], []
    for f in files:
        name, whole, cost = Path(f["path"]).name, f["whole"], f["cost"]
        main_rows.append([
            name, str(whole["n"]), str(whole["n_no_pairs"]), cell(whole["roc_auc"]),
            cell(f["report"]["balanced_accuracy"]), cell(whole["pearson"], 100, 1),
            cell(whole["spearman"], 100, 1), cell(cost["seconds"], digits=1),
            cell(cost["summaries_per_second"], digits=2),
        ])
        for half in HALVES:
            s = f[half]
            half_rows.append([name, half, str(s["n"]), str(s["n_no_pairs"]), cell(f["threshold"], digits=4),
                              cell(s["balanced_accuracy"]), cell(s["roc_auc"]), cell(s["pearson"], 100, 1),
                              cell(s["spearman"], 100, 1)])
        if cost["phases"]:
            phases = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in cost["phases"].items())
            phase_lines.append(f"{name}: {phases}")
    main = markdown_table(["data", "n", "no pairs", "ROC-AUC", "bal. acc. (report half)", "Pearson x100",
                           "Spearman x100", "seconds", "summaries/s"], main_rows)
    halves = markdown_table(["data", "half", "n", "no pairs", "threshold", "bal. acc.", "ROC-AUC",
                             "Pearson x100", "Spearman x100"], half_rows)
    text = f"{main}\n\nPer half (the threshold is chosen on the selection half):\n\n{halves}"
    if phase_lines:
        text += "\n\nSeconds per scoring phase:\n" + "\n".join(phase_lines)
    return text


# ---- what the numbers were made with -----------------------------------------------------------


def qagen_info(qagen: str, metric) -> dict:
    """The QAGen as given, the hash of its weights (the scorer's, as in the QA cache keys), its run_id."""
    path = Path(qagen)
    manifests = [path / "manifest.json"] + ([path.parent / "manifest.json"] if path.name == "model" else [])
    manifest = next((json.loads(m.read_text()) for m in manifests if m.is_file()), {})
    return {"path": qagen, "local": path.is_dir(), "weights_hash": metric.scorer.model_hash,
            "run_id": manifest.get("run_id")}


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def environment() -> dict:
    from consum.io.rundir import environment_line, git_state, machine_info, package_versions

    made_with = {"git": git_state(), "packages": package_versions(), "machine": machine_info()}
    return {"line": environment_line(made_with), **made_with}


def calibration_record(calibration: Calibration, settings: QualsConfig, args, data: list[Judgments],
                       qagen: dict, made_with: dict) -> dict:
    """What ``<qagen>/quals_threshold.json`` holds: the threshold and everything it was chosen with."""
    return {
        "threshold": calibration.threshold,
        "quals_settings": dataclasses.asdict(settings),
        "preset": args.preset,
        "no_pairs_quals": NO_PAIRS_QUALS,
        "qagen": qagen,
        "chosen_on": {
            "half": "selection", "seed": args.seed,
            "files": [{"path": j.path, "sha256": j.sha256, "rows": len(j.rows),
                       "selection_rows": sum(validation_mask(j.rows, args.seed))} for j in data],
            "n_labelled": {"selection": calibration.n_selection, "report": calibration.n_report},
        },
        "balanced_accuracy": {"selection": calibration.balanced_accuracy_selection,
                              "report": calibration.balanced_accuracy_report},
        "git": made_with["git"],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# ---- the command line --------------------------------------------------------------------------


def parse_args(argv=None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    p = argparse.ArgumentParser(
        prog="bench-metric", description="Benchmark a factual-consistency metric against human judgments."
    )
    p.add_argument("--data", required=True, nargs="+", help="files of (doc, summary, label and/or score)")
    p.add_argument("--metric", default="quals", choices=METRICS, help="(default: quals)")
    p.add_argument("--qagen", help="QAGen of --metric quals: train_qagen run dir, its model/ dir, hub name")
    p.add_argument("--doc-field", default="doc", help="(default: doc)")
    p.add_argument("--summary-field", default="summary", help="(default: summary)")
    p.add_argument("--label-field", default="label", help="1 = consistent, 0 = not (default: label)")
    p.add_argument("--score-field", default="score",
                   help="a graded judgment, e.g. the share of consistent sentences (default: score)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the hash that splits each file in halves (default: 0)")
    p.add_argument("--output", help="json of every statistic, written once every file is scored")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of torch (default: torch's, the machine's cores or OMP_NUM_THREADS)")
    p.add_argument("--calibrate", action="store_true",
                   help="write the threshold chosen on the pooled selection halves to "
                        f"<qagen>/{CALIBRATION_FILE} (metric quals, a local QAGen directory), "
                        "for consum-quals --threshold calibrated")
    add_quals_options(p)
    args = p.parse_args(argv)
    if args.metric == "quals" and not args.qagen:
        p.error("--metric quals needs --qagen")
    if args.calibrate and (args.metric != "quals" or not Path(args.qagen).is_dir()):
        p.error("--calibrate needs --metric quals and --qagen a local directory (the threshold goes there)")
    return p, args


def check_calibration_data(data: list[Judgments], seed: int) -> None:
    labels = {r["label"] for j in data for r, selected in zip(j.rows, validation_mask(j.rows, seed))
              if selected and r["label"] is not None}
    if labels != {0, 1}:
        raise BenchError("--calibrate needs labelled rows of both classes in the selection halves; "
                         f"they have labels {sorted(labels)}")


def main(argv=None) -> int:
    from consum.io.atomic import atomic_write_json

    _, args = parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    fields = {"doc": args.doc_field, "summary": args.summary_field,
              "label": args.label_field, "score": args.score_field}
    try:
        settings = quals_settings(args) if args.metric == "quals" else None
        data = [read_judgments(path, fields) for path in args.data]  # all of them before any scoring
        if args.calibrate:
            check_calibration_data(data, args.seed)
        metric = load_metric(args)
    except (BenchError, OptionError) as e:
        print(f"bench-metric: {e}", file=sys.stderr)
        return 2
    files, all_scores = [], []
    for judgments in data:
        scores, cost = score_file(metric, judgments)
        all_scores.append(scores)
        files.append({"path": judgments.path, "sha256": judgments.sha256, "rows": len(judgments.rows),
                      **evaluate_metric(judgments.rows, scores, args.seed), "cost": cost})
    print(results_tables(files))
    made_with = environment()
    qagen = qagen_info(args.qagen, metric) if args.metric == "quals" else None
    report = {
        "metric": args.metric, "quals_settings": dataclasses.asdict(settings) if settings else None,
        "preset": args.preset if settings else None, "qagen": qagen, "seed": args.seed,
        "no_pairs_quals": NO_PAIRS_QUALS, "threads": torch_threads(), "environment": made_with,
        "files": files,
    }
    if args.calibrate:
        halves = [Halves(s, [r["label"] for r in j.rows], validation_mask(j.rows, args.seed))
                  for j, s in zip(data, all_scores)]
        calibration = calibration_record(calibrate(halves), settings, args, data, qagen, made_with)
        report["calibration"] = calibration
        atomic_write_json(calibration_path(args.qagen), calibration)
        print(f"\ncalibrated threshold {calibration['threshold']:.4f} -> {calibration_path(args.qagen)}")
    if args.output:
        atomic_write_json(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
