"""Consistent or not: QUALS against a threshold, and the threshold calibrated on human judgments.

``bench-metric --calibrate`` chooses the threshold that maximises balanced accuracy on the pooled
selection halves of labelled files and writes it beside the QAGen (:data:`CALIBRATION_FILE`), with
the QUALS settings it was chosen with; ``consum-quals --threshold calibrated`` reads it back and refuses
settings under which the threshold means something else.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from consum.metrics.metric_stats import balanced_accuracy, best_threshold
from consum.quals.config import QualsConfig

# QUALS is the mean over QA pairs of (mean log-prob given the document - mean log-prob given the summary).
# A summary without a kept pair has no measured difference: it scores as a summary the document supports
# exactly as well as the summary itself does. Every summary gets a score, hence a verdict.
NO_PAIRS_QUALS = 0.0

CALIBRATION_FILE = "quals_threshold.json"

# Settings that do not define the metric, left out when a calibration is compared with the current settings:
# the batch sizes only group the same computations, and precision (bf16/fp16 autocast on CUDA) rounds the
# same log-probs, it does not change what is measured. They are stored in the calibration file all the same.
NOT_METRIC_SETTINGS = ("summary_batch_size", "score_batch_tokens", "precision")


class CalibrationError(Exception):
    """No usable calibrated threshold: one line and exit status 2."""


def quals_value(quals: float | None) -> float:
    """QUALS with a summary without a QA pair scored :data:`NO_PAIRS_QUALS`."""
    return NO_PAIRS_QUALS if quals is None else quals


def is_consistent(quals: float | None, threshold: float) -> bool:
    """The verdict: QUALS (:func:`quals_value`) at or above the threshold."""
    return quals_value(quals) >= threshold


@dataclasses.dataclass(frozen=True)
class Halves:
    """One file's scores, labels (None = unlabelled row) and which rows are in its selection half."""

    scores: Sequence[float | None]
    labels: Sequence[int | None]
    selection: Sequence[bool]

    def labelled(self, in_selection: bool) -> tuple[list[float], list[int]]:
        rows = [(quals_value(s), y) for s, y, sel in zip(self.scores, self.labels, self.selection)
                if y is not None and sel == in_selection]
        return [s for s, _ in rows], [y for _, y in rows]


@dataclasses.dataclass(frozen=True)
class Calibration:
    threshold: float
    balanced_accuracy_selection: float
    balanced_accuracy_report: float | None  # None when the pooled report halves lack a class
    n_selection: int
    n_report: int


def pooled(files: Sequence[Halves], in_selection: bool) -> tuple[list[float], list[int]]:
    """The labelled rows of one half of every file, together."""
    scores: list[float] = []
    labels: list[int] = []
    for halves in files:
        more_scores, more_labels = halves.labelled(in_selection)
        scores += more_scores
        labels += more_labels
    return scores, labels


def calibrate(files: Sequence[Halves]) -> Calibration:
    """The threshold maximising balanced accuracy on the pooled selection halves, measured on the pooled
    report halves too. Raises ValueError when the selection halves lack a class."""
    selection_scores, selection_labels = pooled(files, in_selection=True)
    report_scores, report_labels = pooled(files, in_selection=False)
    if len(set(selection_labels)) < 2:
        raise ValueError("the selection halves need labelled rows of both classes (label 0 and 1)")
    threshold, selection_accuracy = best_threshold(selection_scores, selection_labels)
    report_accuracy = (balanced_accuracy(report_scores, report_labels, threshold)
                       if len(set(report_labels)) == 2 else None)
    return Calibration(
        threshold, selection_accuracy, report_accuracy, len(selection_scores), len(report_scores)
    )


def flat_settings(settings: QualsConfig) -> dict:
    """``{"filter": ..., "generation.num_beams": ...}``: every setting under one name."""
    values = dataclasses.asdict(settings)
    generation = values.pop("generation")
    return {**values, **{f"generation.{name}": value for name, value in generation.items()}}


def settings_differences(calibrated: QualsConfig, current: QualsConfig) -> list[str]:
    """The metric-defining settings that differ, as ``name calibrated -> current`` (empty = same metric)."""
    before, after = flat_settings(calibrated), flat_settings(current)
    return [f"{name} {before[name]!r} -> {after[name]!r}" for name in before
            if name not in NOT_METRIC_SETTINGS and before[name] != after[name]]


def calibration_path(qagen: str | Path) -> Path:
    return Path(qagen) / CALIBRATION_FILE


def read_calibration(qagen: str | Path) -> dict:
    path = calibration_path(qagen)
    if not path.is_file():
        raise CalibrationError(
            f"no calibrated threshold for the QAGen {qagen} ({path} does not exist); make one with "
            f'make bench-metric ARGS="--data judgments.jsonl --metric quals --qagen {qagen} --calibrate" '
            "(the same QUALS options as here), or give --threshold VALUE"
        )
    try:
        calibration = json.loads(path.read_text(encoding="utf-8"))
        QualsConfig.from_dict(calibration["quals_settings"])
        float(calibration["threshold"])
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise CalibrationError(f"{path}: not a calibration written by bench-metric --calibrate ({e})") from e
    return calibration


def calibrated_threshold(qagen: str | Path, settings: QualsConfig) -> float:
    """The threshold stored beside ``qagen``; refused when it was chosen under other QUALS settings.

    A calibration written before a setting existed reads that setting's default, which is the original
    behaviour (QualsConfig's defaults are the original's).
    """
    calibration = read_calibration(qagen)
    differences = settings_differences(QualsConfig.from_dict(calibration["quals_settings"]), settings)
    if differences:
        raise CalibrationError(
            f"the threshold in {calibration_path(qagen)} was calibrated with other QUALS settings "
            f"({'; '.join(differences)}): use those settings, recalibrate, or give --threshold VALUE"
        )
    return float(calibration["threshold"])


def check_calibrated_weights(qagen: str | Path, weights_hash: str) -> None:
    """Refuse a calibration made with other QAGen weights than the ones loaded from ``qagen``."""
    stored = read_calibration(qagen).get("qagen", {}).get("weights_hash")
    if stored != weights_hash:
        raise CalibrationError(
            f"the threshold in {calibration_path(qagen)} was calibrated with other QAGen weights "
            f"(weights hash {stored}, loaded {weights_hash}): recalibrate with bench-metric --calibrate"
        )
