"""consum-quals: a jsonl of (doc, summary) in, the same rows with QUALS out; bad input is an error,
not a traceback."""

import json

import pytest

from consum.quals.__main__ import main, parse_args
from tests.conftest import TOY_TEXTS
from tests.unit.quals.tiny_qagen import fix_generated_pairs, save_tiny_qagen


@pytest.fixture(scope="module")
def qagen_dir(tmp_path_factory):
    return save_tiny_qagen(tmp_path_factory.mktemp("qagen"))


def test_cli_scores_a_jsonl(qagen_dir, tmp_path):
    rows = [
        {"doc": TOY_TEXTS[0], "summary": "Alpha beat Beta.", "id": 1},
        {"doc": TOY_TEXTS[1], "summary": "", "id": 2},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    assert main([
        "--qagen", str(qagen_dir), "--input", str(src), "--output", str(out), "--num-beams", "4", "--details",
    ]) == 0
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in scored] == [1, 2]
    assert all({"quals", "n_qa", "n_generated", "document_truncated", "qa_pairs"} <= set(r) for r in scored)
    assert [r["document_truncated"] for r in scored] == [False, False]
    assert scored[1]["quals"] is None and scored[1]["n_qa"] == 0 and scored[0]["n_generated"] == 4


def test_cli_reports_bad_input(qagen_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"article": "x", "summary": "y"}) + "\n")
    assert main([
        "--qagen", str(qagen_dir), "--input", str(src), "--output", str(tmp_path / "o.jsonl"),
        "--num-beams", "4",
    ]) == 2
    assert "missing field 'doc'" in capsys.readouterr().err
    src.write_text(json.dumps({"doc": " ", "summary": "y"}) + "\n")
    assert main([
        "--qagen", str(qagen_dir), "--input", str(src), "--output", str(tmp_path / "o.jsonl"),
        "--num-beams", "4",
    ]) == 2
    assert "empty document" in capsys.readouterr().err


def run_cli(qagen_dir, tmp_path, rows: list[dict]) -> tuple[int, object]:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    return main(["--qagen", str(qagen_dir), "--input", str(src), "--output", str(out), "--num-beams", "4",
                 "--chunk-size", "1"]), out


def test_empty_input_is_an_error_and_writes_nothing(qagen_dir, tmp_path, capsys):
    code, out = run_cli(qagen_dir, tmp_path, [])
    assert code == 2 and "no rows to score" in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_row_after_good_ones_leaves_no_partial_output(qagen_dir, tmp_path, capsys):
    rows = [{"doc": TOY_TEXTS[0], "summary": "Alpha won."}, {"doc": " ", "summary": "y"}]
    code, out = run_cli(qagen_dir, tmp_path, rows)
    assert code == 2 and "empty document" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "in.jsonl"]  # neither the output nor a temporary file


def test_a_document_cut_at_the_model_length_is_flagged(qagen_dir, tmp_path, capsys):
    rows = [
        {"doc": " ".join(TOY_TEXTS[:8]), "summary": "Alpha beat Beta."},
        {"doc": TOY_TEXTS[1], "summary": "Gamma won."},
    ]
    code, out = run_cli(qagen_dir, tmp_path, rows)
    assert code == 0
    assert [json.loads(line)["document_truncated"] for line in out.read_text().splitlines()] == [True, False]
    assert "1 documents cut" in capsys.readouterr().err


def test_a_missing_qagen_is_a_clear_error(tmp_path, capsys):
    code, _ = run_cli(tmp_path / "no_such_model", tmp_path, [{"doc": "a", "summary": "b"}])
    assert code == 2 and "cannot load the QAGen model" in capsys.readouterr().err


def test_the_flags_before_the_shared_options_still_parse():
    args = parse_args([
        "--qagen", "q", "--input", "i.jsonl", "--output", "o.jsonl", "--doc-field", "article",
        "--summary-field", "highlights", "--filter", "strict", "--summary-side", "clean", "--num-beams", "4",
        "--precision", "bf16", "--device", "cpu", "--cache", "c.sqlite", "--details", "--chunk-size", "2",
    ])
    assert (args.doc_field, args.summary_field, args.filter, args.summary_side, args.precision) == (
        "article", "highlights", "strict", "clean", "bf16")
    assert (args.device, args.cache, args.details, args.chunk_size) == ("cpu", "c.sqlite", True, 2)


def scored_with_threshold(qagen_dir, tmp_path, threshold: str) -> list[dict]:
    rows = [{"doc": TOY_TEXTS[0], "summary": "Alpha beat Beta 3-1."}, {"doc": TOY_TEXTS[1], "summary": ""}]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--qagen", str(qagen_dir), "--input", str(src), "--output", str(out), "--num-beams", "4",
                 f"--threshold={threshold}"]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_threshold_adds_a_verdict_to_every_row(qagen_dir, tmp_path, monkeypatch):
    fix_generated_pairs(monkeypatch)
    at_zero = scored_with_threshold(qagen_dir, tmp_path, "0")
    assert at_zero[1]["quals"] is None  # an empty summary has no QA pair: it scores NO_PAIRS_QUALS = 0.0
    assert [r["quals_threshold"] for r in at_zero] == [0.0, 0.0]
    assert at_zero[1]["consistent"] is True
    assert at_zero[0]["consistent"] is (at_zero[0]["quals"] >= 0)
    assert [r["consistent"] for r in scored_with_threshold(qagen_dir, tmp_path, "1e-9")][1] is False
    assert [r["consistent"] for r in scored_with_threshold(qagen_dir, tmp_path, "-1e9")] == [True, True]
    assert [r["consistent"] for r in scored_with_threshold(qagen_dir, tmp_path, "1e9")] == [False, False]
    assert list(at_zero[0])[:4] == ["doc", "summary", "quals", "consistent"]


def test_without_a_threshold_there_is_no_verdict(qagen_dir, tmp_path):
    code, out = run_cli(qagen_dir, tmp_path, [{"doc": TOY_TEXTS[0], "summary": "Alpha won."}])
    assert code == 0
    assert not {"consistent", "quals_threshold"} & set(json.loads(out.read_text()))


def test_a_calibrated_threshold_needs_a_calibration(qagen_dir, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"doc": TOY_TEXTS[0], "summary": "Alpha won."}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["--qagen", str(qagen_dir), "--input", str(src), "--output", str(out),
                 "--threshold", "calibrated"]) == 2
    err = capsys.readouterr().err
    assert "no calibrated threshold" in err and "--calibrate" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_threshold_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(["--qagen", "q", "--input", "i", "--output", "o", "--threshold", "high"])
    assert stop.value.code == 2 and "expected a number or 'calibrated'" in capsys.readouterr().err
