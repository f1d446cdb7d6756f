import json

import pytest

from consum.io import COMPLETE_MARKER, IncompleteRunError, RunDir, open_input, write_shard
from consum.io.rundir import ConfigMismatchError


def make_config(tmp_path, run_id="r1", **extra):
    return {"stage": "demo", "run_id": run_id, "run_dir": str(tmp_path / "demo" / run_id), "seed": 7, **extra}


def test_finalize_writes_manifest_then_marker(tmp_path):
    run = RunDir.create(make_config(tmp_path), world_size=2)
    write_shard(run.path, "rows", 0, [{"doc_id": "a", "x": 1}, {"doc_id": "b", "x": 2}])
    write_shard(run.path, "rows", 1, [{"doc_id": "c", "x": 3}])
    assert not run.is_complete
    run.record_output("rows")
    manifest = run.finalize()

    assert (run.path / COMPLETE_MARKER).exists()
    on_disk = json.loads((run.path / "manifest.json").read_text())
    assert on_disk["outputs"]["rows"]["n_rows"] == 3
    assert on_disk["outputs"]["rows"]["n_shards"] == 2
    assert len(on_disk["outputs"]["rows"]["sha256"]) == 64
    for key in ("stage", "run_id", "git", "config_hash", "seed", "packages", "world_size", "inputs"):
        assert key in on_disk
    assert on_disk["world_size"] == 2 and on_disk["seed"] == 7
    assert on_disk["packages"]["torch"]
    assert manifest["config_hash"] == on_disk["config_hash"]
    assert (run.path / "config.yaml").read_text().startswith("stage: demo")


def test_open_input_refuses_unfinished_run(tmp_path):
    run = RunDir.create(make_config(tmp_path))
    write_shard(run.path, "rows", 0, [{"doc_id": "a"}])
    with pytest.raises(IncompleteRunError, match="no COMPLETE marker"):
        open_input(run.path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_input(tmp_path / "nowhere")


def test_open_input_reads_complete_run_and_records_its_hash(tmp_path):
    upstream = RunDir.create(make_config(tmp_path))
    write_shard(upstream.path, "rows", 0, [{"doc_id": "a"}])
    upstream.record_output("rows")
    upstream.finalize()

    opened = open_input(upstream.path, expected_stage="demo")
    assert opened.rows("rows") == [{"doc_id": "a"}]
    with pytest.raises(ValueError, match="written by stage 'demo'"):
        open_input(upstream.path, expected_stage="train_mle")
    with pytest.raises(KeyError, match="no output 'other'"):
        opened.table("other")

    downstream = RunDir.create({**make_config(tmp_path, "r2"), "stage": "next"})
    downstream.add_input("data", opened)
    assert len(downstream.inputs["data"]["manifest_sha256"]) == 64


def test_resume_with_other_config_is_refused(tmp_path):
    RunDir.create(make_config(tmp_path, lr=1))
    RunDir.create(make_config(tmp_path, lr=1))  # same config: resumes
    with pytest.raises(ConfigMismatchError):
        RunDir.create(make_config(tmp_path, lr=2))


def test_config_hash_ignores_run_naming(tmp_path):
    a = RunDir.create(make_config(tmp_path, "a"))
    b = RunDir.create(make_config(tmp_path, "b"))
    assert a.config_hash == b.config_hash


def test_manifests_name_the_machine_and_a_results_line_names_commit_versions_and_machine(tmp_path):
    from consum.io.rundir import environment_line

    run = RunDir.create({"stage": "s", "run_id": "r", "run_dir": str(tmp_path / "r")})
    manifest = run.finalize()
    assert manifest["machine"]["cpu"] and manifest["machine"]["cpu_count"] >= 1
    line = environment_line(manifest)
    assert f"transformers {manifest['packages']['transformers']}" in line
    assert manifest["machine"]["cpu"] in line
    fake = {"git": {"sha": "0123456789abcdef", "dirty": True},
            "packages": {"python": "3.11.7", "torch": "2.13.0"},
            "machine": {"cpu": "Some CPU", "cpu_count": 2, "gpu": None}}
    assert environment_line(fake) == (
        "consum 0123456789+uncommitted changes; python 3.11.7, torch 2.13.0; Some CPU, 2 CPUs."
    )
