"""A Hydra multirun through hydra-submitit-launcher (submitit_local) writes one complete run dir per job.

Runs ``python -m consum.cli.prepare_data -m +sweep=local_smoke`` (conf/sweep/local_smoke.yaml: seed x
shard_size on the tiny factworld, 4 jobs) in a subprocess, as a user would.
"""

import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration

pytest.importorskip(
    "hydra_plugins.hydra_submitit_launcher", reason="needs hydra-submitit-launcher (the dev extra)"
)

GRID = {(0, 50), (0, 100), (1, 50), (1, 100)}  # (seed, shard_size) of local_smoke.yaml


def test_local_sweep_writes_a_complete_run_dir_per_job(tmp_path):
    env = {
        **os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "CONSUM_ROOT": str(tmp_path)
    }
    cmd = [
        sys.executable, "-m", "consum.cli.prepare_data", "-m", "+sweep=local_smoke", "run_id=smoke",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    sweep_dir = tmp_path / "runs" / "prepare_data" / "sweep-smoke"
    assert (sweep_dir / "multirun.yaml").exists()
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        assert (job / "COMPLETE").exists(), f"{job} has no COMPLETE marker: {sorted(os.listdir(job))}"
        config = yaml.safe_load((job / "config.yaml").read_text())
        assert config["run_dir"] == str(job)  # each job its own run dir, not a shared <runs>/<stage>/<run_id>
        assert config["data"]["factworld"]["size"] == "tiny"
        seen.add((config["seed"], config["shard_size"]))
        manifest = yaml.safe_load((job / "manifest.json").read_text())  # JSON is YAML
        expected_shards = -(-manifest["outputs"]["train"]["n_rows"] // config["shard_size"])
        assert manifest["outputs"]["train"]["n_shards"] == expected_shards
    assert seen == GRID
    # nothing was written to the shared, non-sweep run dir
    assert not (tmp_path / "runs" / "prepare_data" / "smoke").exists()
