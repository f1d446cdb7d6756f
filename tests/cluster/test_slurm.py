"""consum's cluster path through a real SLURM (`make cluster-up`; `make test-cluster`).

- a Hydra multirun through submitit_slurm is a SLURM job array with one complete run dir per job;
- `sbatch scripts/slurm/stage.sbatch generate` on a CPU node starts one process per allocated CPU (2) and
  writes the rows of a 1-process run;
- a train-mle job that SLURM signals mid-training (`scancel --signal=USR1`, what `--signal=USR1@90` sends
  before the time limit) saves the update in flight, requeues itself, resumes under the same job id, and
  logs the losses of an uninterrupted run, each step once; after SIGTERM (scancel, preemption) it saves
  and ends, and a resubmission resumes the same way;
- a train-mle sweep job through submitit_slurm, signalled as submitit's time limit does (SIGUSR2), saves,
  is requeued by submitit (max_num_timeout) and resumes the same way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from consum.generation import candidates as generate
from consum.io import open_input
from consum.tracking import read_metrics
from consum.training import mle
from tests.cluster.conftest import job_info, sbatch, wait_for_job_end, wait_until
from tests.compare import assert_same_rows
from tests.conftest import REPO_ROOT
from tests.integration.conftest import TINY_MODEL
from tests.integration.test_train_mle import FAST

pytestmark = pytest.mark.cluster

STAGE_SBATCH = "scripts/slurm/stage.sbatch"
GRID = {(0, 50), (0, 100), (1, 50), (1, 100)}  # (seed, shard_size) of conf/sweep/slurm_smoke.yaml


def stage_job(partition, tmp_path, name, cpus=2):
    """sbatch options for stage.sbatch on the CPU node: its GPU/partition placeholders replaced."""
    return [f"--partition={partition}", "--gpus-per-node=0", f"--cpus-per-task={cpus}", "--time=20",
            f"--job-name={name}", f"--output={tmp_path}/%x-%j.out"]


def test_a_sweep_through_submitit_slurm_is_a_job_array_with_a_run_dir_per_job(tmp_path, partition, job_env):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs hydra-submitit-launcher")
    cmd = [sys.executable, "-m", "consum.cli.prepare_data", "-m", "+sweep=slurm_smoke", "run_id=smoke",
           f"hydra.launcher.partition={partition}"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=job_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    sweep_dir = tmp_path / "runs" / "prepare_data" / "sweep-smoke"
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        assert (job / "COMPLETE").exists(), f"{job}: {sorted(p.name for p in job.iterdir())}"
        config = yaml.safe_load((job / "config.yaml").read_text())
        assert config["run_dir"] == str(job)
        seen.add((config["seed"], config["shard_size"]))
        manifest = json.loads((job / "manifest.json").read_text())
        assert manifest["outputs"]["train"]["n_shards"] == -(-manifest["outputs"]["train"]["n_rows"]
                                                              // config["shard_size"])
    assert seen == GRID
    # one SLURM array: submitit's folders are <array job id>_<task id>, tasks 0..3 of the same array
    tasks = sorted(p.name for p in (sweep_dir / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name))
    arrays = {name.split("_")[0] for name in tasks}
    assert len(arrays) == 1 and sorted(int(n.split("_")[1]) for n in tasks) == [0, 1, 2, 3], tasks


def test_stage_sbatch_generate_with_two_cpu_processes_writes_the_rows_of_one(
    tmp_path, partition, job_env, toy_data_run, fake_model_run, compose_config
):
    args = [f"inputs.data={toy_data_run}", f"inputs.model={fake_model_run}", "shard_size=10",
            "generation.num_candidates=2", "generation.max_len=8"]
    one = generate.run(compose_config("generate", ["run_id=one", "cpu=true", *args]), echo=lambda s: None)

    job_id = sbatch([*stage_job(partition, tmp_path, "generate"), STAGE_SBATCH, "generate", *args],
                    {**job_env, "RUN_ID": "two"}, wait=True)
    log = (tmp_path / f"generate-{job_id}.out").read_text()
    assert "device=cpu processes=2 (2/node," in log and " cpu=true" in log, log[-3000:]
    two = open_input(tmp_path / "runs" / "generate" / "two")
    assert two.manifest["world_size"] == 2
    assert yaml.safe_load((two.path / "config.yaml").read_text())["cpu"] is True  # stage.sbatch passed it
    rows_one, rows_two = open_input(one.path).rows("candidates"), two.rows("candidates")
    assert_same_rows(rows_one, rows_two, floats=["gen_logprob_sum", "gen_logprob_mean"])


def train_losses(run_dir):
    return [(r["step"], r["train/loss"]) for r in read_metrics(run_dir) if "train/loss" in r]


STEPS = 600  # ~20 s of updates at ~30-35 updates/s (2 CPU processes): a signal lands mid-run


def train_args(data_run, steps=STEPS):
    return [f"inputs.data={data_run}", *TINY_MODEL, *FAST, f"train.max_steps={steps}",
            "train.checkpoint_every=1000", "train.log_every=1"]  # no periodic checkpoint before the end


def signal_mid_training(job_id, run_dir, sig):
    """Once the run has logged 5 updates, ``scancel --signal=<sig>`` the job (its steps' processes)."""
    wait_until(lambda: (run_dir / "metrics.jsonl").exists() and len(train_losses(run_dir)) >= 5,
               300, f"5 logged updates of job {job_id}", poll_s=0.1)
    subprocess.run(["scancel", f"--signal={sig}", job_id], check=True)


def stopped_at(log: str) -> int:
    saved = re.findall(r"checkpoint of step (\d+) saved; stopping", log)
    assert len(saved) == 1, log[-4000:]
    return int(saved[0])


def assert_resumed_like_straight(run_dir, straight_dir, step: int, steps: int = STEPS):
    """Stopped after ``step`` (its checkpoint the only one: nothing lost but the update in flight),
    resumed there (nothing redone: each step logged once), the losses of the uninterrupted run."""
    assert 5 <= step < steps
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [f"step_{step:08d}"]
    straight, resumed = train_losses(straight_dir), train_losses(run_dir)
    assert [s for s, _ in resumed] == [s for s, _ in straight] == list(range(1, steps + 1))
    for (at, a), (_, b) in zip(straight, resumed):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6), at
    assert (run_dir / "COMPLETE").exists()


def test_a_train_mle_job_stopped_by_slurm_resumes_and_logs_the_losses_of_an_uninterrupted_one(
    tmp_path, partition, job_env, toy_data_run
):
    """stage.sbatch, 2 CPU processes. SIGUSR1 (what --signal=USR1@90 sends before the time limit): the job
    saves, requeues itself and resumes under the same job id. SIGTERM (scancel, preemption): it saves and
    ends, not requeued; a resubmission with the same RUN_ID resumes."""
    runs, args = tmp_path / "runs" / "train_mle", train_args(toy_data_run)

    def submit(name, wait):
        return sbatch([*stage_job(partition, tmp_path, name), STAGE_SBATCH, "train_mle", *args],
                      {**job_env, "RUN_ID": name}, wait=wait)

    submit("straight", wait=True)

    job_id = submit("usr1", wait=False)
    signal_mid_training(job_id, runs / "usr1", "USR1")
    info = wait_for_job_end(job_id)
    log = (tmp_path / f"usr1-{job_id}.out").read_text()
    assert (info["JobState"], info["Restarts"], info["ExitCode"]) == ("COMPLETED", "1", "0:0"), log[-4000:]
    step = stopped_at(log)
    assert f"requeueing SLURM job {job_id}" in log and "restart=1" in log
    assert f"resuming from step {step}" in log
    assert_resumed_like_straight(runs / "usr1", runs / "straight", step)

    job_id = submit("term", wait=False)
    signal_mid_training(job_id, runs / "term", "TERM")
    info = wait_for_job_end(job_id)
    log = (tmp_path / f"term-{job_id}.out").read_text()
    assert (info["JobState"], info["Restarts"]) == ("FAILED", "0"), log[-4000:]  # ended, not requeued
    step = stopped_at(log)
    assert "requeueing" not in log and not (runs / "term" / "COMPLETE").exists()
    resubmitted = submit("term", wait=True)
    log = (tmp_path / f"term-{resubmitted}.out").read_text()
    assert f"resuming from step {step}" in log
    assert_resumed_like_straight(runs / "term", runs / "straight", step)


def test_a_sweep_job_stopped_through_submitit_is_requeued_by_submitit_and_resumes(
    tmp_path, partition, job_env, toy_data_run, compose_config
):
    """hydra-submitit-launcher (the lr_label_smoothing path): submitit asks SLURM for SIGUSR2 before the time
    limit and requeues the job itself (max_num_timeout). Our handler saves the update in flight first, then
    hands the signal to submitit's. One job, one process; the same run in-process is the reference."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs hydra-submitit-launcher")
    args = train_args(toy_data_run, steps=1000)  # one process, ~50 updates/s: ~20 s of updates too
    straight = mle.run(compose_config("train_mle", ["run_id=straight", *args]))

    cmd = [sys.executable, "-m", "consum.cli.train_mle", "-m", "hydra/launcher=submitit_slurm",
           f"hydra.launcher.partition={partition}", "hydra.launcher.timeout_min=30",
           "hydra.launcher.cpus_per_task=1", "hydra.launcher.max_num_timeout=1",
           "run_dir=${hydra:sweep.dir}/${hydra:sweep.subdir}", "run_id=sub", *args]
    sweep = subprocess.Popen(cmd, cwd=REPO_ROOT, env=job_env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    sweep_dir = tmp_path / "runs" / "train_mle" / "sweep-sub"
    # submitit's folder per job: <job id> (one job) or <array id>_<task> (several)
    job_id = wait_until(lambda: next((p.name for p in (sweep_dir / ".submitit").glob("[0-9]*") if p.is_dir()),
                                     None) if (sweep_dir / ".submitit").exists() else None,
                        120, "the submitit job")
    signal_mid_training(job_id, sweep_dir / "0", "USR2")
    out = sweep.communicate(timeout=600)[0]
    assert sweep.returncode == 0, out[-4000:]

    job_log = "".join(p.read_text() for p in sorted((sweep_dir / ".submitit" / job_id).glob("*_log.*")))
    assert f"Requeued job {job_id}" in job_log, job_log[-4000:]  # submitit's handler ran after ours
    assert job_info(job_id)["Restarts"] == "1"
    step = stopped_at(job_log)
    assert_resumed_like_straight(sweep_dir / "0", straight.path, step, steps=1000)
