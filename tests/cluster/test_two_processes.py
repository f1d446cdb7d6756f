"""The multi-process stop on the CPU, without SLURM: 2 processes under torchrun, one of them signalled.

Part of `make test-cluster` rather than `make test` (a 2-process launch costs ~20 s here); it needs no SLURM.
"""

import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.integration.test_stop_on_signal import overrides, wait_for_line
from tests.integration.test_train_mle import losses

pytestmark = pytest.mark.cluster


def test_two_processes_stop_at_the_same_update_when_only_one_gets_the_signal(toy_data_run, tmp_path):
    """2 CPU processes (torchrun); SIGTERM to rank 1 only. Rank 0 learns it through the sum over ranks after
    the update, and both save the checkpoint of that update (each its own RNG state) and stop."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "CONSUM_REQUEUE": "0"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "consum.cli.train_mle", f"paths.root_dir={tmp_path}", "train.cpu=true",
           *overrides(toy_data_run, "two"), "+fault.pause_after_steps=3"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = wait_for_line(proc, "paused after step 3: rank 1")
    rank1 = int(lines[-1].rsplit("pid", 1)[1])
    os.kill(rank1, signal.SIGTERM)
    out = "".join(lines) + proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, out[-3000:]  # torchrun reports the ranks' 143
    assert "checkpoint of step 3 saved; stopping" in out, out[-3000:]
    run_dir = tmp_path / "runs" / "train_mle" / "two"
    checkpoint = run_dir / "checkpoints" / "step_00000003"
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["step_00000003"]
    assert {"random_states_0.pkl", "random_states_1.pkl"} <= {p.name for p in checkpoint.iterdir()}
    assert [s for s, _ in sorted(losses(run_dir).items())] == [2]  # log_every=2: nothing after step 3
