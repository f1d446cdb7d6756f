from types import MappingProxyType, SimpleNamespace

import pytest

from consum.io import open_stage, write_shard
from consum.io.rundir import ConfigMismatchError


def make_config(tmp_path, run_id="r1", **extra):
    return {"stage": "demo", "run_id": run_id, "run_dir": str(tmp_path / "demo" / run_id), "seed": 7, **extra}


def finished(cfg):
    run = open_stage(cfg, echo=lambda s: None)
    write_shard(run.path, "rows", 0, [{"doc_id": "a"}])
    run.record_output("rows")
    run.finalize()
    return run


def test_new_run_dir_is_created(tmp_path):
    lines = []
    run = open_stage(make_config(tmp_path), echo=lines.append)
    assert not run.is_complete and lines == []
    assert (run.path / "config.yaml").read_text().startswith("stage: demo")
    assert (run.world_size, run.is_main) == (1, True)


def test_incomplete_run_dir_is_reopened(tmp_path):
    first = open_stage(make_config(tmp_path))
    write_shard(first.path, "rows", 0, [{"doc_id": "a"}])
    lines = []
    again = open_stage(make_config(tmp_path), echo=lines.append)
    assert again.path == first.path and not again.is_complete and lines == []
    assert (again.path / "data" / "rows").is_dir()  # the finished shard is still there to skip


def test_complete_run_dir_means_nothing_to_do(tmp_path):
    run = finished(make_config(tmp_path))
    lines = []
    again = open_stage(make_config(tmp_path), echo=lines.append)
    assert again.is_complete and again.path == run.path
    assert lines == [f"demo: {run.path} is already complete; nothing to do"]


@pytest.mark.parametrize("complete", [False, True])
def test_other_config_is_refused(tmp_path, complete):
    (finished if complete else open_stage)(make_config(tmp_path, lr=1))
    with pytest.raises(ConfigMismatchError, match="different config"):
        open_stage(make_config(tmp_path, lr=2), echo=lambda s: None)


def test_accelerator_gives_world_size_and_only_the_main_process_speaks(tmp_path):
    finished(make_config(tmp_path))
    lines = []
    rank1 = SimpleNamespace(num_processes=2, is_main_process=False)
    run = open_stage(make_config(tmp_path), rank1, echo=lines.append)
    assert run.is_complete and (run.world_size, run.is_main) == (2, False) and lines == []
    rank0 = SimpleNamespace(num_processes=2, is_main_process=True)
    open_stage(make_config(tmp_path), rank0, echo=lines.append)
    assert len(lines) == 1


def test_any_mapping_is_accepted(tmp_path):
    run = open_stage(MappingProxyType(make_config(tmp_path)))
    assert run.config == make_config(tmp_path)
