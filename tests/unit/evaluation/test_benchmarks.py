"""bench-metric: every file checked before anything is scored, every summary scored, statistics on the
whole file and on its selection and report halves, and a json of what the numbers were made with."""

import json

import pytest

from consum.evaluation import benchmarks
from consum.evaluation.benchmarks import evaluate_metric, main, unigram_precision, validation_mask
from tests.conftest import TOY_TEXTS
from tests.unit.quals.tiny_qagen import fix_generated_pairs, save_tiny_qagen


def test_unigram_precision():
    assert unigram_precision(["the cat sat"], ["The cat ran"]) == [pytest.approx(2 / 3)]


def test_halves_statistics_on_a_hand_made_example():
    """8 rows per half, labels alternating. Selection half: consistent summaries score 1, the others 0
    (ROC-AUC 1, threshold 0.5). Report half: the reverse (ROC-AUC 0, balanced accuracy 0 at 0.5). The
    whole file, halves alike: ROC-AUC 0.5."""
    candidates = [{"doc": f"document {i}", "summary": f"summary {i}"} for i in range(40)]
    in_selection = validation_mask(candidates, seed=0)
    rows, scores = [], []
    for half in (True, False):
        members = [row for row, selected in zip(candidates, in_selection) if selected == half][:8]
        for k, row in enumerate(members):
            rows.append({**row, "label": k % 2, "score": k % 2})
            scores.append(k % 2 if half else 1 - k % 2)
    stats = evaluate_metric(rows, scores, seed=0)
    assert stats["threshold"] == 0.5
    assert (stats["selection"]["roc_auc"], stats["selection"]["balanced_accuracy"]) == (1.0, 1.0)
    assert (stats["report"]["roc_auc"], stats["report"]["balanced_accuracy"]) == (0.0, 0.0)
    assert stats["whole"]["roc_auc"] == 0.5 and stats["whole"]["balanced_accuracy"] == 0.5
    assert stats["selection"]["pearson"] == pytest.approx(1.0)
    assert stats["report"]["spearman"] == pytest.approx(-1.0)
    assert [stats[part]["n"] for part in ("whole", "selection", "report")] == [16, 8, 8]


def test_summaries_without_a_pair_are_scored_and_counted():
    rows = [{"doc": f"d{i}", "summary": f"s{i}", "label": y, "score": None}
            for i, y in enumerate([1, 1, 0, 0])]
    stats = evaluate_metric(rows, [0.5, None, -0.5, None])
    # as 0.0: positives {0.5, 0} above negatives {-0.5, 0}: 3 pairs won, 1 tied, of 4
    assert stats["whole"]["roc_auc"] == 0.875
    assert (stats["whole"]["n"], stats["whole"]["n_no_pairs"]) == (4, 2)
    assert stats["selection"]["n_no_pairs"] + stats["report"]["n_no_pairs"] == 2
    assert stats["whole"]["pearson"] is None  # no graded row


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


GOOD_ROWS = [{"doc": "a b c", "summary": s, "label": y, "score": y}
             for s, y in [("a b", 1), ("x y", 0), ("a x", 0), ("c b", 1), ("b", 1), ("z", 0)] * 2]


@pytest.fixture
def recorded_scoring(monkeypatch):
    calls = []

    def recording(documents, summaries):
        calls.append(len(documents))
        return unigram_precision(documents, summaries)

    monkeypatch.setattr(benchmarks, "unigram_precision", recording)
    return calls


@pytest.mark.parametrize("bad_rows, problem", [
    (None, "does not exist"),
    ([{"doc": "a", "label": 1}], "missing field 'summary'"),
    ([{"doc": " ", "summary": "a", "label": 1}], "empty document"),
    ([{"doc": "a", "summary": "a", "label": 2}], "'label' must be 0 or 1"),
    ([{"doc": "a", "summary": "a", "score": "high"}], "'score' must be a finite number"),
    ([{"doc": "a", "summary": "a"}], "no row has a 'label' or a 'score'"),
])
def test_a_bad_file_stops_before_anything_is_scored(tmp_path, capsys, recorded_scoring, bad_rows, problem):
    good = write_jsonl(tmp_path / "good.jsonl", GOOD_ROWS)
    bad = tmp_path / "bad.jsonl"
    if bad_rows is not None:
        write_jsonl(bad, bad_rows)
    output = tmp_path / "o.json"
    code = main(["--data", good, str(bad), "--metric", "unigram_precision", "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 2 and problem in err and str(bad) in err and len(err.strip().splitlines()) == 1
    assert recorded_scoring == [] and not output.exists()


def test_the_field_names_are_options(tmp_path, recorded_scoring):
    renamed = [{"article": r["doc"], "highlights": r["summary"], "human": r["label"]} for r in GOOD_ROWS]
    path = write_jsonl(tmp_path / "renamed.jsonl", renamed)
    assert main(["--data", path, "--metric", "unigram_precision", "--doc-field", "article",
                 "--summary-field", "highlights", "--label-field", "human", "--score-field", "none"]) == 0
    assert recorded_scoring == [len(renamed)]


def test_json_and_table_of_the_baseline(tmp_path, capsys):
    path = write_jsonl(tmp_path / "j.jsonl", GOOD_ROWS)
    assert main(["--data", path, "--metric", "unigram_precision", "--output", str(tmp_path / "o.json")]) == 0
    report = json.loads((tmp_path / "o.json").read_text())
    assert set(report) >= {"metric", "quals_settings", "qagen", "seed", "no_pairs_quals", "environment",
                           "files"}
    assert report["metric"] == "unigram_precision" and report["quals_settings"] is None
    assert {"line", "git", "packages", "machine"} <= set(report["environment"])
    [stats] = report["files"]
    assert {"path", "sha256", "rows", "threshold", "whole", "selection", "report", "cost"} <= set(stats)
    assert (stats["path"], stats["rows"], stats["whole"]["roc_auc"]) == (path, 12, 1.0)
    assert {"n", "n_no_pairs", "roc_auc", "balanced_accuracy", "pearson", "spearman"} <= set(stats["report"])
    assert {"seconds", "summaries_per_second", "phases"} <= set(stats["cost"])
    printed = capsys.readouterr().out.splitlines()
    lines = [[cell.strip() for cell in line.strip("|").split("|")] for line in printed
             if line.startswith("| j.jsonl")]
    assert lines[0][:4] == ["j.jsonl", "12", "0", "1.000"]
    assert [line[1] for line in lines[1:]] == ["selection", "report"]


def test_quals_scores_every_summary_and_reports_settings_and_cost(tmp_path, monkeypatch, capsys):
    fix_generated_pairs(monkeypatch)  # summaries naming Alpha get a QA pair, the others none
    qagen = save_tiny_qagen(tmp_path / "qagen")
    rows = [{"doc": TOY_TEXTS[i % 4], "summary": f"Alpha won {i}." if i % 3 else f"Beta won {i}.",
             "label": i % 2, "score": (i % 4) / 3} for i in range(12)]
    path = write_jsonl(tmp_path / "judged.jsonl", rows)
    assert main(["--data", path, "--qagen", str(qagen), "--preset", "strict", "--num-beams", "4",
                 "--output", str(tmp_path / "o.json")]) == 0
    report = json.loads((tmp_path / "o.json").read_text())
    assert report["quals_settings"]["filter"] == "strict" and report["preset"] == "strict"
    assert report["quals_settings"]["generation"]["num_groups"] == 4
    assert report["qagen"]["path"] == str(qagen) and len(report["qagen"]["weights_hash"]) == 32
    [stats] = report["files"]
    assert stats["whole"]["n"] == 12 and stats["whole"]["n_no_pairs"] == 4  # i = 0, 3, 6, 9
    assert stats["selection"]["n"] + stats["report"]["n"] == 12
    assert stats["cost"]["seconds"] > 0
    assert "calibration" not in report and not (qagen / "quals_threshold.json").exists()


def test_the_summaries_of_one_document_are_scored_in_one_call_and_in_row_order(monkeypatch):
    calls = []

    def recording(documents, summaries):
        calls.append(list(documents))
        return [float(s[1:]) for s in summaries]  # summary "s<i>" scores i

    monkeypatch.setattr(benchmarks, "SCORING_CHUNK", 2)
    judgments = benchmarks.Judgments("x", "sha", [{"doc": d, "summary": f"s{i}", "label": 1, "score": None}
                                                  for i, d in enumerate(["d1", "d2", "d1", "d2", "d3"])])
    scores, _ = benchmarks.score_file(recording, judgments)
    assert calls == [["d1", "d1"], ["d2", "d2"], ["d3"]]  # a document's rows together, encoded once
    assert scores == [0.0, 1.0, 2.0, 3.0, 4.0]  # back in the file's row order
