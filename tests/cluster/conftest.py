"""Tests that submit real jobs to a SLURM: `make cluster-up` (a one-node SLURM on this machine), then
`make test-cluster`. They are marked ``cluster`` and skipped, with the reason printed, in `make test`
(CONSUM_CLUSTER_TESTS is unset there: they take minutes and need the daemons); those that submit jobs (the
``partition`` fixture) are skipped where ``sinfo`` does not answer.

Jobs run on the machine that submits them, as the submitting user, with its environment (sbatch's default
``--export=ALL``) plus this checkout's ``src`` on PYTHONPATH and the venv of the running Python.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.conftest import fake_model_run, toy_data_run  # noqa: F401 (fixtures)

CLUSTER_ENV = "CONSUM_CLUSTER_TESTS"  # `make test-cluster` sets it to 1
NOT_IN_MAKE_TEST = ("cluster test: runs with `make test-cluster` (SLURM jobs need `make cluster-up` first: a "
                    "one-node SLURM here), not in `make test`")
NO_SLURM = "cluster test: no SLURM here (`sinfo` does not answer); `make cluster-up` starts a one-node one"


@cache
def default_partition() -> str | None:
    """The default partition of the SLURM that ``sinfo`` answers for; None when none answers."""
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    names = proc.stdout.split()
    return next((n.rstrip("*") for n in names if n.endswith("*")), names[0])


def pytest_collection_modifyitems(config, items):
    if os.environ.get(CLUSTER_ENV) == "1":
        return
    for item in items:
        if item.get_closest_marker("cluster"):
            item.add_marker(pytest.mark.skip(reason=NOT_IN_MAKE_TEST))


@pytest.fixture
def partition() -> str:
    """The SLURM partition jobs go to; the test is skipped (the reason printed) when no SLURM answers."""
    name = default_partition()
    if name is None:
        pytest.skip(NO_SLURM)
    cpus = subprocess.run(["sinfo", "-h", "-p", name, "-o", "%c"], capture_output=True,
                          text=True).stdout.split()
    # jobs here ask for 2 CPUs; on a smaller node they would pend forever (Reason=PartitionConfig)
    assert cpus and max(int(c.rstrip("+")) for c in cpus) >= 2, f"partition {name!r} has no node with 2 CPUs"
    return name


@pytest.fixture
def job_env(tmp_path) -> dict:
    """The environment jobs start with: this checkout's code, offline, one OMP thread unless set."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "VENV": str(Path(sys.executable).parent.parent),  # stage.sbatch runs $VENV/bin/accelerate
        "CONSUM_ROOT": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_MODE": "disabled",
    }


def sbatch(args: list[str], env: dict, *, wait: bool, timeout_s: int = 600) -> str:
    """Submit from the repository root; return the job id (after the job ended, with ``wait``)."""
    cmd = ["sbatch", "--parsable", *(["--wait"] if wait else []), *args]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    job_id = proc.stdout.strip().split(";")[0]
    if proc.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return job_id


def job_info(job_id: str) -> dict[str, str]:
    """``scontrol show job -o``: key=value fields (JobState, Restarts, ExitCode, ...)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True,
                         check=True).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.5):
    """Poll ``predicate`` until it returns something true; return that, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_for_job_end(job_id: str, timeout_s: float = 600) -> dict[str, str]:
    ended = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED"}
    return wait_until(lambda: (info := job_info(job_id))["JobState"] in ended and info,
                      timeout_s, f"job {job_id} to end", poll_s=1.0)
