"""Verdicts: QUALS against a threshold, the threshold calibrated on pooled selection halves, and the
refusal of a calibration made under other settings."""

import dataclasses
import json

import pytest

from consum.evaluation import benchmarks
from consum.quals.__main__ import main as consum_quals
from consum.quals.config import QAGenerationConfig, QualsConfig
from consum.quals.verdict import (
    NO_PAIRS_QUALS,
    CalibrationError,
    Halves,
    calibrate,
    calibrated_threshold,
    check_calibrated_weights,
    is_consistent,
    settings_differences,
)
from tests.conftest import TOY_TEXTS
from tests.unit.quals.tiny_qagen import fix_generated_pairs, save_tiny_qagen


def test_a_verdict_is_quals_at_or_above_the_threshold():
    assert NO_PAIRS_QUALS == 0.0
    assert is_consistent(-0.2, -0.3) and is_consistent(-0.3, -0.3) and not is_consistent(-0.4, -0.3)
    assert is_consistent(None, 0.0) and not is_consistent(None, 0.1)  # no pair: scored NO_PAIRS_QUALS


def test_the_threshold_is_chosen_on_the_pooled_selection_halves():
    # selection rows: file a (1 -> 0, 6 -> 1), file b (2 -> 0, 8 -> 1, no pair -> 0): pooled, the
    # candidates are 0, 0.5, 1.5, 4, 7 and 4 separates them; file a alone would give 3.5.
    a = Halves(scores=[1.0, 6.0, 5.0, 3.0], labels=[0, 1, 0, 1], selection=[True, True, False, False])
    b = Halves(scores=[2.0, 8.0, None, 9.0], labels=[0, 1, 0, None], selection=[True, True, True, False])
    got = calibrate([a, b])
    assert got.threshold == 4.0 and got.balanced_accuracy_selection == 1.0
    assert got.balanced_accuracy_report == 0.0  # report rows 5 (label 0) and 3 (label 1): both wrong
    assert (got.n_selection, got.n_report) == (5, 2)  # the unlabelled row is not counted
    with pytest.raises(ValueError, match="both classes"):
        calibrate([Halves([1.0, 2.0], [1, 1], [True, True])])


def test_settings_that_define_the_metric_are_compared():
    calibrated = QualsConfig()
    current = QualsConfig(filter="strict", summary_batch_size=4, score_batch_tokens=100, precision="bf16",
                          generation=QAGenerationConfig(num_beams=4, num_groups=4))
    assert settings_differences(calibrated, current) == [
        "filter 'original' -> 'strict'", "generation.num_beams 60 -> 4", "generation.num_groups 60 -> 4",
    ]
    assert settings_differences(calibrated, QualsConfig(precision="fp16", summary_batch_size=1)) == []


def test_a_calibration_missing_a_newer_setting_reads_its_default(tmp_path):
    stored = dataclasses.asdict(QualsConfig())
    del stored["long_documents"]
    (tmp_path / "quals_threshold.json").write_text(json.dumps({"threshold": -0.5, "quals_settings": stored}))
    assert calibrated_threshold(tmp_path, QualsConfig()) == -0.5
    with pytest.raises(CalibrationError, match="long_documents 'truncate' -> 'windows'"):
        calibrated_threshold(tmp_path, QualsConfig(long_documents="windows"))


def judgments(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_calibrate_then_score_with_the_calibrated_threshold(tmp_path, monkeypatch, capsys):
    fix_generated_pairs(monkeypatch)
    qagen = save_tiny_qagen(tmp_path / "qagen")
    rows = [{"doc": TOY_TEXTS[i % 4], "summary": f"Alpha won {i}." if i % 5 else f"Beta won {i}.",
             "label": i % 2} for i in range(16)]
    data = judgments(tmp_path / "judged.jsonl", rows)
    flags = ["--num-beams", "4"]
    assert benchmarks.main(["--data", data, "--metric", "quals", "--qagen", str(qagen), "--calibrate",
                            "--output", str(tmp_path / "bench.json"), *flags]) == 0
    calibration = json.loads((qagen / "quals_threshold.json").read_text())
    assert {"threshold", "quals_settings", "qagen", "chosen_on", "balanced_accuracy", "git", "date"} <= set(
        calibration)
    assert calibration["quals_settings"]["generation"]["num_beams"] == 4
    assert calibration["chosen_on"]["half"] == "selection"
    assert calibration["chosen_on"]["files"][0]["rows"] == 16
    assert calibration == json.loads((tmp_path / "bench.json").read_text())["calibration"]

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"doc": TOY_TEXTS[0], "summary": "Alpha won."}) + "\n")

    def score(*extra: str) -> int:
        return consum_quals(["--qagen", str(qagen), "--input", str(src), "--output", str(out),
                             "--threshold", "calibrated", *extra])

    assert score(*flags) == 0
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["quals_threshold"] == calibration["threshold"]
    assert row["consistent"] is (row["quals"] >= calibration["threshold"])
    assert score(*flags, "--precision", "bf16") == 0  # rounding, not another metric
    capsys.readouterr()
    out.unlink()
    assert score(*flags, "--filter", "strict") == 2
    err = capsys.readouterr().err
    assert "filter 'original' -> 'strict'" in err and len(err.strip().splitlines()) == 1
    assert score() == 2 and "generation.num_beams 4 -> 60" in capsys.readouterr().err
    assert not out.exists()


def test_a_calibration_of_other_weights_is_refused(tmp_path):
    (tmp_path / "quals_threshold.json").write_text(json.dumps(
        {"threshold": 0.0, "quals_settings": {}, "qagen": {"weights_hash": "abc"}}))
    check_calibrated_weights(tmp_path, "abc")
    with pytest.raises(CalibrationError, match="other QAGen weights"):
        check_calibrated_weights(tmp_path, "def")
