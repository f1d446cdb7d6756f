"""The cluster launch templates parse and carry the keys their launches depend on; the sbatch is valid bash
and, run with a fake srun, launches as many processes as the allocation has GPUs or CPUs (never a default
count); the sweep configs compose with their stages."""

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import CONF_DIR, REPO_ROOT

ACCELERATE_DIR = REPO_ROOT / "scripts" / "accelerate"
SBATCH = REPO_ROOT / "scripts" / "slurm" / "stage.sbatch"
TEMPLATES = sorted(ACCELERATE_DIR.glob("*.yaml"))
REQUIRED = {
    "compute_environment", "distributed_type", "num_machines", "machine_rank", "num_processes",
    "mixed_precision", "use_cpu",
}
# name -> (distributed_type, num_machines, num_processes, mixed_precision)
EXPECTED = {
    "single_gpu": ("NO", 1, 1, "no"),
    "multi_gpu": ("MULTI_GPU", 1, 8, "bf16"),
    "multi_node": ("MULTI_GPU", 2, 16, "bf16"),
    # MULTI_GPU, not MULTI_CPU: accelerate's MULTI_CPU (and --cpu) launcher starts ONE process
    "cpu_2proc": ("MULTI_GPU", 1, 2, "no"),
}


def test_every_expected_template_exists():
    assert {p.stem for p in TEMPLATES} >= set(EXPECTED)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_template_parses_with_required_keys(path):
    config = yaml.safe_load(path.read_text())
    assert isinstance(config, dict)
    assert REQUIRED <= set(config), REQUIRED - set(config)
    assert config["distributed_type"] in {"NO", "MULTI_GPU", "MULTI_CPU"}  # a bare NO would load as False
    assert config["mixed_precision"] in {"no", "bf16", "fp16"}
    assert 0 <= config["machine_rank"] < config["num_machines"]
    assert config["num_processes"] >= config["num_machines"]
    if path.stem in EXPECTED:
        dtype, machines, processes, precision = EXPECTED[path.stem]
        assert (
            config["distributed_type"], config["num_machines"], config["num_processes"],
            config["mixed_precision"],
        ) == (dtype, machines, processes, precision)
    if config["num_machines"] > 1:
        assert {"main_process_ip", "main_process_port"} <= set(config)


def test_sbatch_is_valid_bash():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    proc = subprocess.run([bash, "-n", str(SBATCH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_sbatch_launches_with_slurm_derived_rank_and_one_run_id():
    text = SBATCH.read_text()
    for needle in ("--num_machines", "--machine_rank \"$SLURM_NODEID\"", "--main_process_ip",
                   "--main_process_port", "run_id=\"$RUN_ID\"", "SLURM_JOB_ID", "scontrol show hostnames",
                   "--ntasks-per-node=1"):
        assert needle in text, needle


@pytest.mark.parametrize("primary, sweep, params", [
    ("train_mle", "lr_label_smoothing", {"optim.lr", "train.label_smoothing"}),
    ("prepare_data", "local_smoke", {"seed", "shard_size"}),
    ("prepare_data", "slurm_smoke", {"seed", "shard_size"}),
])
def test_sweep_config_composes(primary, sweep, params):
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="needs hydra-submitit-launcher (the dev extra)"
    )
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name=primary, overrides=[f"+sweep={sweep}"], return_hydra_config=True)
    launcher = "submitit_local" if sweep == "local_smoke" else "submitit_slurm"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == launcher
    assert set(cfg.hydra.sweeper.params) == params
    for key in params:  # the swept keys exist in the stage's config
        assert OmegaConf.select(cfg, key) is not None, key
    # one run dir per job (unresolved here: the hydra: resolver needs a running job)
    assert OmegaConf.to_container(cfg, resolve=False)["run_dir"] == "${hydra:sweep.dir}/${hydra:sweep.subdir}"


# ---- stage.sbatch run without SLURM: fake srun/scontrol/accelerate print what would be launched ----------

FAKE_SRUN = """#!/bin/bash
# srun [options] bash -c SCRIPT ARGS...: drop srun's options, record them, run the task here as node 0
while [[ "$1" != bash ]]; do echo "srun-option $1" >> "$FAKE_LOG"; shift; done
SLURM_NODEID=0 exec "$@"
"""
FAKE_SCONTROL = """#!/bin/bash
echo node1
"""
FAKE_ACCELERATE = """#!/bin/bash
{ echo "OMP_NUM_THREADS=$OMP_NUM_THREADS"; echo "PET_SIGNALS_TO_HANDLE=$PET_SIGNALS_TO_HANDLE";
  for a in "$@"; do echo "arg $a"; done; } >> "$FAKE_LOG"
"""


def run_sbatch(tmp_path, stage, *overrides, **env):
    """Run stage.sbatch as SLURM would (its #SBATCH lines are comments to bash); return what it launched:
    {"args": accelerate launch's arguments, "env": the variables it saw, "srun": srun's options}."""
    bin_dir, venv_bin = tmp_path / "bin", tmp_path / "venv" / "bin"
    for folder, name, text in ((bin_dir, "srun", FAKE_SRUN), (bin_dir, "scontrol", FAKE_SCONTROL),
                               (venv_bin, "accelerate", FAKE_ACCELERATE)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    log = tmp_path / "launched.txt"
    log.unlink(missing_ok=True)
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "CUDA_VISIBLE", "OMP_", "NPROC", "CPUS_PER", "PET_", "RUN_ID"))}
    full_env = {**keep, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VENV": str(tmp_path / "venv"),
                "FAKE_LOG": str(log), "SLURM_JOB_ID": "1234", "SLURM_JOB_NODELIST": "node1",
                "SLURM_SUBMIT_DIR": str(REPO_ROOT), "CONSUM_ROOT": str(tmp_path), **env}
    proc = subprocess.run(["bash", str(SBATCH), stage, *overrides], env=full_env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = log.read_text().splitlines()
    return {
        "args": [line[4:] for line in lines if line.startswith("arg ")],
        "env": dict(line.split("=", 1) for line in lines
                    if "=" in line and not line.startswith(("arg ", "srun"))),
        "srun": [line.split(" ", 1)[1] for line in lines if line.startswith("srun-option ")],
        "stdout": proc.stdout,
    }


def launch_option(args, name):
    return args[args.index(name) + 1]


@pytest.mark.parametrize("stage, key", [("generate", "cpu=true"), ("score_quals", "cpu=true"),
                                        ("train_mle", "train.cpu=true"), ("train_conseq", "train.cpu=true")])
def test_sbatch_on_a_cpu_node_starts_one_process_per_allocated_cpu_with_the_stage_cpu_key(
    tmp_path, stage, key
):
    launched = run_sbatch(tmp_path, stage, "shard_size=10", SLURM_CPUS_ON_NODE="2", SLURM_CPUS_PER_TASK="2")
    args = launched["args"]
    assert launch_option(args, "--num_processes") == "2"  # from the allocation: never the old default of 8
    assert launch_option(args, "--mixed_precision") == "no"  # not the GPU template's bf16
    assert args[args.index("-m") + 1:] == [f"consum.cli.{stage}", "run_id=1234", key, "shard_size=10"]
    assert launched["env"]["OMP_NUM_THREADS"] == "1"  # 2 CPUs / 2 processes
    assert "SIGUSR1" in launched["env"]["PET_SIGNALS_TO_HANDLE"]  # torchrun forwards SLURM's warning
    assert launched["srun"] == ["--kill-on-bad-exit=1", "--cpus-per-task", "2"]
    assert "device=cpu processes=2" in launched["stdout"]


def test_sbatch_cpu_processes_follow_cpus_per_process_or_nproc(tmp_path):
    launched = run_sbatch(tmp_path, "generate", SLURM_CPUS_ON_NODE="8", CPUS_PER_PROCESS="4")
    assert launch_option(launched["args"], "--num_processes") == "2"
    assert launched["env"]["OMP_NUM_THREADS"] == "4"
    launched = run_sbatch(tmp_path, "generate", SLURM_CPUS_ON_NODE="8", NPROC="1")
    assert launch_option(launched["args"], "--num_processes") == "1"
    assert launched["env"]["OMP_NUM_THREADS"] == "8"
    # no CPU count at all (not inside a real allocation): one process, not eight
    assert launch_option(run_sbatch(tmp_path, "generate")["args"], "--num_processes") == "1"


def test_sbatch_keeps_a_cpu_key_the_overrides_set(tmp_path):
    args = run_sbatch(tmp_path, "generate", "cpu=false", SLURM_CPUS_ON_NODE="2")["args"]
    assert args[args.index("-m") + 1:] == ["consum.cli.generate", "run_id=1234", "cpu=false"]


@pytest.mark.parametrize("env, processes", [
    ({"SLURM_GPUS_ON_NODE": "8", "SLURM_CPUS_ON_NODE": "64"}, "8"),
    ({"SLURM_GPUS_ON_NODE": "4", "SLURM_NNODES": "2"}, "8"),  # 2 nodes x 4 GPUs
    ({"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_CPUS_ON_NODE": "16"}, "2"),  # --gres=gpu:2, older SLURM
])
def test_sbatch_on_gpu_nodes_starts_one_process_per_gpu_without_a_cpu_key(tmp_path, env, processes):
    args = run_sbatch(tmp_path, "train_mle", **env)["args"]
    assert launch_option(args, "--num_processes") == processes
    assert "--mixed_precision" not in args  # the template's (bf16), or the stage's own
    assert args[args.index("-m") + 1:] == ["consum.cli.train_mle", "run_id=1234"]
