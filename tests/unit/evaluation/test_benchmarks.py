import json

import pytest

from consum.evaluation.benchmarks import evaluate_metric, main, unigram_precision


def test_evaluate_metric_on_hand_built_rows():
    rows = [{"doc": f"d{i}", "summary": f"s{i}", "label": label, "score": score}
            for i, (label, score) in enumerate([(0, 0.0), (0, 0.5), (1, 0.5), (1, 1.0)] * 5)]
    scores = [0.1, 0.4, 0.35, 0.8] * 5
    stats = evaluate_metric(rows, scores)
    assert stats["roc_auc"] == pytest.approx(0.75)
    assert stats["n_scored"] == 20
    assert stats["pearson"] > 0.5 and -1 <= stats["spearman"] <= 1
    with_missing = evaluate_metric(rows, [None, *scores[1:]])
    assert with_missing["n_scored"] == 19 and with_missing["n"] == 20


def test_unigram_precision():
    assert unigram_precision(["the cat sat"], ["The cat ran"]) == [pytest.approx(2 / 3)]


def test_cli_writes_json(tmp_path, capsys):
    path = tmp_path / "j.jsonl"
    path.write_text("".join(json.dumps({"doc": "a b c", "summary": s, "label": y, "score": y}) + "\n"
                            for s, y in [("a b", 1), ("x y", 0), ("a x", 0), ("c b", 1)] * 3))
    assert main(
        ["--data", str(path), "--metric", "unigram_precision", "--output", str(tmp_path / "o.json")]
    ) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["results"][str(path)]["roc_auc"] == pytest.approx(1.0)
    assert "| j.jsonl | 12/12 | 1.000" in capsys.readouterr().out
