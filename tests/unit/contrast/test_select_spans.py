"""select_contrast spans.source=quals|oracle on hand-built run dirs: the columns, the counts, the errors."""

import json

import datasets
import pytest

from consum.contrast.select_stage import add_unsupported_spans, contrast_features
from consum.data.schema import DataError
from consum.io.rundir import RunDir, open_input
from consum.io.shards import read_table, write_shard
from tests.unit.contrast.test_oracle_reward import FAITHFUL, ONE_ERROR
from tests.unit.data.test_factworld_oracle import SPORTS_FACTS

NEG_D0 = "Ben Okafor scored twice in Paris. Ben left."
NEG_D1 = "Team Alpha won in Oslo."


def contrast_rows():
    return [
        {"doc_id": "d0", "cand_id": "ref", "role": "pos", "score": 0.1, "text": "Ana Silva scored twice."},
        {"doc_id": "d0", "cand_id": "c1", "role": "neg", "score": -2.0, "text": NEG_D0},
        {"doc_id": "d1", "cand_id": "c0", "role": "neg", "score": -1.0, "text": NEG_D1},
        {"doc_id": "d2", "cand_id": "c3", "role": "neg", "score": -1.5, "text": "Nothing to see."},
    ]


def detail(doc_id, cand_id, qa_index, answer, pair_score):
    return {"doc_id": doc_id, "cand_id": cand_id, "qa_index": qa_index, "question": "?", "answer": answer,
            "pair_score": pair_score}


DETAILS = [
    detail("d0", "ref", 0, " Ana Silva", -9.0),  # a positive's pairs are never used
    detail("d0", "c1", 0, " Paris", -0.5),
    detail("d0", "c1", 1, " Ben", -3.0),
    detail("d1", "c0", 0, " Oslo", -1.0),
    detail("d1", "c0", 1, " Rome", -2.0),  # the worst answer is not in the text
    detail("d9", "c0", 0, " Rome", -2.0),  # not selected
]  # d2/c3 has no kept QA pair


def finished_run(tmp_path, stage, tables):
    run = RunDir.create({"stage": stage, "run_id": stage, "run_dir": str(tmp_path / stage)})
    for name, rows in tables.items():
        write_shard(run.path, name, 0, rows)
        run.record_output(name)
    run.finalize()
    return open_input(run.path)


def stage_run(tmp_path):
    return RunDir.create({"stage": "select_contrast", "run_id": "x", "run_dir": str(tmp_path / "select")})


def spans_cfg(scores_path, source="quals", worst_k=1, max_pair_score=None):
    return {"inputs": {"scores": str(scores_path)},
            "spans": {"source": source, "worst_k": worst_k, "max_pair_score": max_pair_score}}


@pytest.fixture
def scores_run(tmp_path):
    scores = [{"doc_id": d["doc_id"], "cand_id": d["cand_id"], "quals": 0.0} for d in DETAILS]
    return finished_run(tmp_path, "score_quals", {"scores": scores, "details": DETAILS})


def test_quals_spans_are_the_worst_answers_located_in_each_negative(tmp_path, scores_run):
    rows = contrast_rows()
    stats = add_unsupported_spans(spans_cfg(scores_run.path), stage_run(tmp_path), None, "train", rows)
    by_key = {(r["doc_id"], r["cand_id"]): r for r in rows}
    assert by_key[("d0", "ref")]["unsupported_spans"] == [] and not by_key[("d0", "ref")]["span_found"]
    assert by_key[("d0", "c1")]["unsupported_spans"] == [[0, 3], [34, 37]]  # "Ben", twice
    assert by_key[("d0", "c1")]["span_found"]
    assert by_key[("d1", "c0")]["unsupported_spans"] == [] and not by_key[("d1", "c0")]["span_found"]
    assert by_key[("d2", "c3")]["unsupported_spans"] == [] and not by_key[("d2", "c3")]["span_found"]
    assert stats == {"source": "quals", "worst_k": 1, "max_pair_score": None, "n_neg": 3,
                     "n_neg_with_spans": 1, "n_neg_without_spans": 2, "n_neg_without_claims": 1,
                     "n_answers_not_found": 1}


def test_quals_spans_follow_the_rule(tmp_path, scores_run):
    rows = contrast_rows()
    stats = add_unsupported_spans(spans_cfg(scores_run.path, worst_k=2), stage_run(tmp_path), None, "train",
                                  rows)
    assert rows[1]["unsupported_spans"] == [[0, 3], [27, 32], [34, 37]]  # Ben, Paris, Ben
    assert rows[2]["unsupported_spans"] == [[18, 22]]  # Oslo; Rome still not found
    assert (stats["n_neg_with_spans"], stats["n_answers_not_found"]) == (2, 1)
    rows = contrast_rows()
    stats = add_unsupported_spans(spans_cfg(scores_run.path, worst_k=2, max_pair_score=-2.5),
                                  stage_run(tmp_path), None, "train", rows)
    assert rows[1]["unsupported_spans"] == [[0, 3], [34, 37]]
    assert rows[2]["unsupported_spans"] == [] and stats["n_neg_without_claims"] == 2


def test_quals_spans_need_the_detail_rows(tmp_path):
    no_details = {"scores": [{"doc_id": "d0", "cand_id": "c1", "quals": 0.0}]}
    scores = finished_run(tmp_path, "score_quals", no_details)
    with pytest.raises(DataError, match="detail=true"):
        add_unsupported_spans(spans_cfg(scores.path), stage_run(tmp_path), None, "train", contrast_rows())


def test_oracle_spans_are_the_unsupported_mentions(tmp_path):
    data = finished_run(tmp_path, "prepare_data",
                        {"train": [{"doc_id": "d0", "doc_facts": json.dumps(SPORTS_FACTS)}]})
    rows = [{"doc_id": "d0", "cand_id": "ref", "role": "pos", "score": 0, "text": FAITHFUL},
            {"doc_id": "d0", "cand_id": "c0", "role": "neg", "score": -1, "text": ONE_ERROR}]
    stats = add_unsupported_spans(spans_cfg(None, source="oracle"), stage_run(tmp_path), data, "train", rows)
    start = ONE_ERROR.index("Oslo")
    assert rows[1]["unsupported_spans"] == [[start, start + 4]] and rows[1]["span_found"]
    assert rows[0]["unsupported_spans"] == []
    assert (stats["n_neg_with_spans"], stats["n_neg_without_claims"]) == (1, 0)
    plain = finished_run(tmp_path, "plain_data", {"train": [{"doc_id": "d0", "summary": "x"}]})
    with pytest.raises(DataError, match="factworld data"):
        add_unsupported_spans(spans_cfg(None, source="oracle"), stage_run(tmp_path), plain, "train", rows)
    with pytest.raises(ValueError, match="spans.source"):
        add_unsupported_spans(spans_cfg(None, source="ner"), stage_run(tmp_path), plain, "train", rows)


def test_a_shard_of_empty_span_lists_keeps_the_list_of_int_type(tmp_path):
    rows = contrast_rows()[:1]
    rows[0].update(unsupported_spans=[], span_found=False)
    write_shard(tmp_path, "contrast", 0, rows, features=contrast_features(rows))
    table = read_table(tmp_path, "contrast")
    assert table.features["unsupported_spans"] == datasets.List(datasets.List(datasets.Value("int64")))
    assert table.to_list()[0]["unsupported_spans"] == []
