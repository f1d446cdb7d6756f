"""A stage stopped by a signal (what SLURM sends before a kill) keeps its work; no SLURM needed here.

train-mle runs in a subprocess, as ``python -m consum.cli.train_mle``; it pauses after update 3 (the test
hook ``+fault.pause_after_steps``) so that the test knows where it is, and gets SIGTERM from the test.
It must save the checkpoint of update 3 (with no periodic checkpoint due until 100) and exit 143; rerun,
it resumes there and logs the same losses as an uninterrupted run, each step once. ``log_every=2``, so
the stop falls between two log lines: the resumed run's line of step 4 still covers updates 3 and 4.
generate gets SIGUSR1 while it writes its first shard: it writes that shard whole, starts no other,
and the rerun writes the rest (every key once). tests/cluster/ does the same through a real SLURM.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from consum.generation import candidates as generate
from consum.io import open_input
from consum.io.keys import check_keys
from consum.io.preemption import Preempted
from consum.io.shards import shard_paths
from consum.tracking import read_metrics
from consum.training import mle
from tests.conftest import REPO_ROOT
from tests.integration.conftest import TINY_MODEL
from tests.integration.test_train_mle import FAST, losses

pytestmark = pytest.mark.integration

STEPS = ["train.max_steps=6", "train.checkpoint_every=100", "train.log_every=2"]


def overrides(data_run, run_id):
    return [f"run_id={run_id}", f"inputs.data={data_run}", *TINY_MODEL, *FAST, *STEPS]


def start_stage(stage, args, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
           "CONSUM_REQUEUE": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", f"consum.cli.{stage}", f"paths.root_dir={tmp_path}", *args],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for_line(proc, needle, timeout_s=120):
    """Read the process's output until a line holds ``needle``; return the lines read."""
    lines, found = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if needle in line:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not found.wait(timeout_s):
        proc.kill()
        raise AssertionError(f"no {needle!r} in {timeout_s} s:\n" + "".join(lines)[-3000:])
    return lines


def test_sigterm_mid_training_saves_that_update_and_the_resumed_run_logs_the_same_losses(
    toy_data_run, compose_config, tmp_path
):
    straight = mle.run(compose_config("train_mle", overrides(toy_data_run, "straight")))

    args = [*overrides(toy_data_run, "stopped"), "+fault.pause_after_steps=3"]
    proc = start_stage("train_mle", args, tmp_path)
    wait_for_line(proc, "paused after step 3")
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 143, out[-3000:]
    run_dir = tmp_path / "runs" / "train_mle" / "stopped"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_00000003"]
    assert not (run_dir / "model").exists() and not (run_dir / "COMPLETE").exists()

    resumed = mle.run(compose_config("train_mle", overrides(toy_data_run, "stopped")))
    a, b = losses(straight.path), losses(resumed.path)
    assert sorted(a) == sorted(b) == [2, 4, 6]
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-6), step
    logged = [r["step"] for r in read_metrics(resumed.path) if "train/loss" in r]
    assert logged == [2, 4, 6]  # each once: nothing was redone


def test_a_signal_during_a_shard_finishes_it_and_starts_no_other(
    toy_data_run, fake_model_run, compose_config, monkeypatch
):
    cfg = compose_config("generate", [
        f"inputs.data={toy_data_run}", f"inputs.model={fake_model_run}", "run_id=stopped", "shard_size=10",
        "generation.num_candidates=2", "generation.max_len=8",
    ])
    real, calls = generate.generate_rows, []

    def signalled_rows(model, tokenizer, docs, cfg):
        calls.append(len(docs))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGUSR1)  # arrives mid-shard
        return real(model, tokenizer, docs, cfg)

    monkeypatch.setattr(generate, "generate_rows", signalled_rows)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(Preempted) as raised:
        generate.run(cfg, echo=lambda s: None)
    assert raised.value.code == 138
    run_dir = Path(cfg["run_dir"])
    assert [p.name for p in shard_paths(run_dir, "candidates")] == ["shard-00000.parquet"]
    assert calls == [10]

    run = generate.run(cfg, echo=lambda s: None)
    assert run.is_complete and calls == [10, 10, 10, 10]  # the 3 shards left, not the first again
    rows = open_input(run.path).rows("candidates")
    docs = open_input(toy_data_run).rows("train")
    check_keys([(d["doc_id"], c) for d in docs for c in ("s0", "s1")],
               [(r["doc_id"], r["cand_id"]) for r in rows], "generate after a stop")


