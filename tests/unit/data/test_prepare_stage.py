import json

import datasets
import pytest

from consum.data import prepare
from consum.io import check_keys, open_input


def write_jsonl(path, n):
    path.write_text("".join(
        json.dumps({"id": f"d{i}", "text": f"Doc {i}", "abstract": f"Sum {i}"}) + "\n" for i in range(n)
    ))
    return path


def test_prepare_jsonl_writes_complete_run(tmp_path, compose_config):
    path = write_jsonl(tmp_path / "in.jsonl", 25)
    cfg = compose_config(
        "prepare_data",
        ["data=jsonl", f"data.path={path}", "data.fields.id=id", "data.fields.document=text",
         "data.fields.summary=abstract", "run_id=j1", "shard_size=10"],
    )
    lines = []
    prepare.run(cfg, echo=lines.append)
    run = open_input(tmp_path / "runs" / "prepare_data" / "j1", expected_stage="prepare_data")
    assert run.manifest["outputs"]["train"]["n_rows"] == 25
    assert run.manifest["outputs"]["train"]["n_shards"] == 3
    rows = run.rows("train")
    assert rows[0] == {"doc_id": "d0", "document": "Doc 0.", "summary": "Sum 0.", "split": "train"}
    assert "train" in lines[-1] and "25" in lines[-1]


def test_killed_prepare_resumes_without_duplicates(tmp_path, compose_config):
    path = write_jsonl(tmp_path / "in.jsonl", 35)
    base = ["data=jsonl", f"data.path={path}", "data.fields.id=id", "data.fields.document=text",
            "data.fields.summary=abstract", "run_id=k1", "shard_size=10"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare.run(compose_config("prepare_data", [*base, "fault.after_shards=2"]), echo=lambda s: None)
    run_path = tmp_path / "runs" / "prepare_data" / "k1"
    assert not (run_path / "COMPLETE").exists()
    # the crash hook is a test knob, not part of the config hash that guards resumes
    resumed = prepare.run(compose_config("prepare_data", base), echo=lambda s: None)
    assert resumed.is_complete
    rows = open_input(run_path).rows("train")
    check_keys([f"d{i}" for i in range(35)], [r["doc_id"] for r in rows], "prepare resume")


@pytest.mark.parametrize(
    "dataset, raw, expected_doc, expected_summary",
    [
        (
            "xsum",
            {
                "id": "123", "document": "Storm hits town\nShare this with\nTwitter\nRoads closed.",
                "summary": "A storm hit",
            },
            "Storm hits town. Roads closed.",
            "A storm hit.",
        ),
        (
            "cnndm",
            {"id": "abc", "article": "Storm hits town.", "highlights": "Storm hits\nREAD: more\nRoads shut"},
            "Storm hits town.",
            "Storm hits. Roads shut.",
        ),
    ],
)
def test_hub_path_with_monkeypatched_load_dataset(
    tmp_path, compose_config, monkeypatch, dataset, raw, expected_doc, expected_summary
):
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        return datasets.Dataset.from_list([raw] if split == "train" else [{**raw, "id": raw["id"] + split}])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    cfg = compose_config("prepare_data", [f"data={dataset}", "run_id=h1"])
    prepare.run(cfg, echo=lambda s: None)
    expected_path = {"xsum": ("EdinburghNLP/xsum", None), "cnndm": ("cnn_dailymail", "3.0.0")}[dataset]
    assert {c[:2] for c in calls} == {expected_path}
    assert {c[2] for c in calls} == {"train", "validation", "test"}
    run = open_input(tmp_path / "runs" / "prepare_data" / "h1")
    train = run.rows("train")
    assert train == [
        {"doc_id": raw["id"], "document": expected_doc, "summary": expected_summary, "split": "train"}
    ]
    assert set(run.manifest["outputs"]) == {"train", "validation", "test"}
