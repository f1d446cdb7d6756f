"""consum-quals: a jsonl of (doc, summary) in, the same rows with QUALS out; bad input is an error,
not a traceback."""

import json

import pytest
import torch

from consum.models import add_separator_token, build_tiny_bart, train_bpe_tokenizer
from consum.quals.__main__ import main
from tests.conftest import TOY_TEXTS


@pytest.fixture(scope="module")
def qagen_dir(tmp_path_factory):
    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    sep = add_separator_token(tokenizer, "<sep>")
    # 96 positions: a document of a few toy texts is cut, as a long article is at 1024 with BART
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64,
        dropout=0.0, max_position_embeddings=96,
    )
    with torch.no_grad():
        model.final_logits_bias[0, sep] = 2.0
    path = tmp_path_factory.mktemp("qagen")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


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
