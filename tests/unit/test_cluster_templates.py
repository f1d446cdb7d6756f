"""The cluster launch templates parse and carry the keys their launches depend on; the sbatch is valid bash;
the sweep configs compose with their stages."""

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
])
def test_sweep_config_composes(primary, sweep, params):
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="needs hydra-submitit-launcher (the dev extra)"
    )
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name=primary, overrides=[f"+sweep={sweep}"], return_hydra_config=True)
    launcher = "submitit_slurm" if sweep == "lr_label_smoothing" else "submitit_local"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == launcher
    assert set(cfg.hydra.sweeper.params) == params
    for key in params:  # the swept keys exist in the stage's config
        assert OmegaConf.select(cfg, key) is not None, key
    # one run dir per job (unresolved here: the hydra: resolver needs a running job)
    assert OmegaConf.to_container(cfg, resolve=False)["run_dir"] == "${hydra:sweep.dir}/${hydra:sweep.subdir}"
