"""train-mle's reference filter on hand-built factworld rows and run dirs: each filter's scores, the
QUALS join on doc_id with its coverage and same-data checks, the stats, the config checks, and the
QUALS threshold chosen on validation."""

import importlib.util
import json

import pytest

from consum.data.schema import DataError
from consum.io.rundir import RunDir, open_input
from consum.io.shards import write_shard
from consum.training.reference_filter import (
    check_filter_config,
    entity_scores,
    filter_rows,
    oracle_scores,
    quals_threshold,
)
from tests.conftest import REPO_ROOT
from tests.unit.data.test_factworld_oracle import SPORTS_FACTS

DOCUMENT = ("Kelso Rovers beat Ashford United 3-1 in Leeds on Saturday. Maria Lee, aged 34, scored. "
            "Kelso Rovers manager Tomas Smithson was pleased. Ashford United captain Anton Novak was not. "
            "A crowd of 1,200 watched. The next match is in York.")
REFERENCES = {
    "d0": ("Kelso Rovers beat Ashford United 3-1 in Leeds.", "consistent"),
    "d1": ("The 29-year-old striker Maria Lee scored for Kelso Rovers.", "extrinsic"),  # invented age
    "d2": ("Ashford United beat Kelso Rovers 3-1.", "intrinsic"),  # the loser as the winner
    "d3": ("The match was played.", "consistent"),  # names nothing
}
ROWS = [{"doc_id": d, "document": DOCUMENT, "summary": s, "label": label,
         "doc_facts": json.dumps(SPORTS_FACTS)} for d, (s, label) in REFERENCES.items()]


def factworld_extract(text):
    from consum.data.ner import entity_extractor

    return entity_extractor({"source": "factworld"})(text)


def test_oracle_scores_flag_every_unfaithful_reference():
    assert oracle_scores(ROWS) == {"d0": 1.0, "d1": 0.0, "d2": 0.0, "d3": 1.0}
    with pytest.raises(DataError, match="doc_facts"):
        oracle_scores([{"doc_id": "x", "document": "a", "summary": "b"}])


def test_entity_scores_are_the_references_precision_against_the_document():
    # d1: 29-year-old is not in the document, Maria Lee and Kelso Rovers are; d2: a role swap names only
    # document entities (the entity filter cannot see it); d3: no entity, no evidence
    assert entity_scores(ROWS, factworld_extract) == {"d0": 1.0, "d1": pytest.approx(2 / 3), "d2": 1.0,
                                                      "d3": None}


def finished(tmp_path, stage, tables, inputs=(), stats=None):
    run = RunDir.create({"stage": stage, "run_id": stage, "run_dir": str(tmp_path / stage)})
    for name, rows in tables.items():
        write_shard(run.path, name, 0, rows)
        run.record_output(name)
    for name, upstream in inputs:
        run.add_input(name, upstream)
    run.stats.update(stats or {})
    run.finalize()
    return open_input(run.path)


def score_row(doc_id, quals, cand_id="ref"):
    return {"doc_id": doc_id, "cand_id": cand_id, "quals": quals, "n_qa": 0 if quals is None else 3}


@pytest.fixture
def runs(tmp_path):
    data = finished(tmp_path, "prepare_data", {"train": ROWS})
    scores = finished(tmp_path, "score_quals", {"scores": [
        score_row("d0", -0.1), score_row("d1", -1.5), score_row("d2", -0.4), score_row("d3", None),
        score_row("d1", 0.0, cand_id="s0"),  # a candidate's score is never a reference's
    ]}, inputs=[("data", data)], stats={"split": "train"})
    train = RunDir.create({"stage": "train_mle", "run_id": "t", "run_dir": str(tmp_path / "train_mle")})
    return data, scores, train


def config(**filter_cfg):
    return {"data": {"source": "factworld"},
            "filter": {"by": None, "threshold": None, "keep_top": None, "no_evidence": "keep", "scores": None,
                       **filter_cfg}}


def kept(rows):
    return [r["doc_id"] for r in rows]


def test_quals_filter_joins_reference_scores_on_doc_id_and_records_the_scores_run(runs):
    data, scores, train = runs
    rows = filter_rows(config(by="quals", threshold=-0.5, scores=str(scores.path)), train, data, ROWS)
    assert kept(rows) == ["d0", "d2", "d3"]  # d3: no QA pair, kept by no_evidence=keep
    assert train.stats["filter"] == {
        "by": "quals", "keep_top": None, "threshold": -0.5, "n_in": 4, "n_kept": 3, "n_dropped": 1,
        "n_below_threshold": 1, "n_no_evidence": 1, "no_evidence": "keep",
        "kept_by_label": {"consistent": 2, "intrinsic": 1},
    }
    assert train.inputs["filter_scores"]["path"] == str(scores.path)
    rows = filter_rows(config(by="quals", keep_top=0.34, no_evidence="drop", scores=str(scores.path)),
                       train, data, ROWS)
    assert kept(rows) == ["d0", "d2"] and train.stats["filter"]["threshold"] == -0.4  # 2nd best of 3


def test_each_filter_keeps_what_its_evidence_allows(runs):
    data, _, train = runs
    assert kept(filter_rows(config(by="oracle"), train, data, ROWS)) == ["d0", "d3"]
    assert train.stats["filter"]["threshold"] == 1.0 and train.stats["filter"]["n_dropped"] == 2
    assert kept(filter_rows(config(by="entity"), train, data, ROWS)) == ["d0", "d2", "d3"]
    assert kept(filter_rows(config(by="entity", no_evidence="drop"), train, data, ROWS)) == ["d0", "d2"]
    assert kept(filter_rows(config(by="entity", threshold=0.5), train, data, ROWS)) == ["d0", "d1", "d2",
                                                                                       "d3"]
    assert kept(filter_rows(config(), train, data, ROWS)) == ["d0", "d1", "d2", "d3"]  # by: null


def test_quals_scores_must_cover_the_training_documents_of_the_same_data(runs, tmp_path):
    data, scores, train = runs
    more = ROWS + [{**ROWS[0], "doc_id": "d4"}]
    with pytest.raises(DataError, match="1 of 5 training documents have no score"):
        filter_rows(config(by="quals", threshold=-0.5, scores=str(scores.path)), train, data, more)
    other = finished(tmp_path / "other", "prepare_data", {"train": more})
    with pytest.raises(DataError, match="whose training split is not that of"):
        filter_rows(config(by="quals", threshold=-0.5, scores=str(scores.path)), train, other, more)
    validation = finished(tmp_path / "v", "score_quals", {"scores": [score_row("d0", 0.1)]},
                          inputs=[("data", data)], stats={"split": "validation"})
    with pytest.raises(DataError, match="not the training split"):
        filter_rows(config(by="quals", threshold=-0.5, scores=str(validation.path)), train, data, ROWS)


@pytest.mark.parametrize(("filter_cfg", "message"), [
    ({"by": "rouge"}, "filter.by must be"),
    ({"threshold": 0.5}, "filter.by is null"),
    ({"by": "quals", "threshold": 0.5}, "needs filter.scores"),
    ({"by": "quals", "scores": "runs/score_quals/x"}, "needs filter.scores"),
    ({"by": "quals", "scores": "x", "threshold": 0.1, "keep_top": 0.5}, "not both"),
    ({"by": "entity", "scores": "x"}, "read by filter.by=quals only"),
    ({"by": "oracle", "threshold": 0.5}, "takes no threshold"),
])
def test_filter_settings_that_would_be_ignored_are_refused(filter_cfg, message):
    with pytest.raises(ValueError, match=message):
        check_filter_config(config(**filter_cfg)["filter"])


def test_quals_threshold_maximises_balanced_accuracy_and_counts_references_without_a_score():
    # scored: -1.0 (unfaithful), -0.2, -0.1 (faithful), -0.9 (unfaithful); candidates -1.0, -0.95,
    # -0.55, -0.15: -0.55 separates them (balanced accuracy 1.0)
    chosen = quals_threshold([-1.0, -0.2, None, -0.1, -0.9, float("nan")],
                             [False, True, True, True, False, True])
    assert chosen == {"threshold": -0.55, "balanced_accuracy": 1.0, "roc_auc": 1.0, "n": 4, "n_faithful": 2,
                      "n_no_evidence": 2}


def test_the_threshold_script_chooses_on_validation_and_counts_what_it_keeps(runs, tmp_path, capsys):
    path = REPO_ROOT / "scripts" / "filter_threshold.py"
    spec = importlib.util.spec_from_file_location("filter_threshold", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _, train_scores, _ = runs
    valid_rows = [{**row, "split": "validation"} for row in ROWS]
    valid_data = finished(tmp_path / "v", "prepare_data", {"validation": valid_rows})
    valid_scores = finished(tmp_path / "v", "score_quals", {"scores": [
        score_row("d0", -0.1), score_row("d1", -1.5), score_row("d2", -0.4), score_row("d3", None),
    ]}, inputs=[("data", valid_data)], stats={"split": "validation"})
    # oracle: d0, d3 faithful; scored d0 -0.1 (faithful), d2 -0.4, d1 -1.5 -> the midpoint -0.25
    assert script.main(["--validation", str(valid_scores.path), "--train", str(train_scores.path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("QUALS threshold -0.2500 (balanced accuracy 1.000, ROC-AUC 1.000) on 3 ")
    assert "no_evidence=keep: 2 of 4" in printed[1] and '{"consistent": 2}' in printed[1]
    assert "no_evidence=drop: 1 of 4" in printed[2]
    assert printed[3] == ("train-mle overrides: filter.by=quals filter.threshold=-0.25 "
                          f"filter.scores={train_scores.path}")
