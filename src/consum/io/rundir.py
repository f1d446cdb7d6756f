"""Run directories: ``runs/<stage>/<run_id>/``.

Contents:
- ``config.yaml``: the resolved config of the run;
- ``manifest.json``: stage, run_id, git sha + dirty flag, config hash, seed, package versions,
  world size, inputs (path + sha256 of their manifest), outputs (row counts, sha256), stats;
- ``metrics.jsonl``: the JSONL metrics log;
- ``data/<name>/shard-*.parquet``: keyed rows; ``model/``: ``save_pretrained`` output;
- ``COMPLETE``: the completion marker, written last by atomic rename. Downstream stages refuse a
  run dir without it.

A stage rerun with the same run_id resumes the unfinished run dir (refusing one whose config
differs) and skips a complete one.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from consum.io.atomic import atomic_write_json, atomic_write_text, sha256_file, sha256_files
from consum.io.shards import read_table, shard_paths

COMPLETE_MARKER = "COMPLETE"
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
TRACKED_PACKAGES = ("consum", "torch", "transformers", "tokenizers", "datasets", "accelerate", "hydra-core")
# Keys that name a run rather than change what it computes; left out of the config hash so a
# resumed run (same config, same run_id) and a rerun elsewhere hash the same.
UNHASHED_KEYS = ("run_id", "run_dir", "paths", "logger", "hydra", "fault", "cache")


class IncompleteRunError(RuntimeError):
    pass


class ConfigMismatchError(RuntimeError):
    pass


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    cwd = cwd or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=cwd, capture_output=True, text=True, check=True,
            ).stdout.strip()
        )
        return {"sha": sha, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"sha": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What ran a stage: numbers (times, and float results in their last digits) depend on it."""
    import os

    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def environment_line(manifest: dict) -> str:
    """One line naming the commit, package versions and machine recorded in a manifest."""
    git, packages = manifest.get("git", {}), manifest.get("packages", {})
    machine = manifest.get("machine", {})
    sha = (git.get("sha") or "unknown")[:10] + ("+uncommitted changes" if git.get("dirty") else "")
    names = ("torch", "transformers", "accelerate", "datasets")
    versions = ", ".join(f"{name} {packages[name]}" for name in names if packages.get(name))
    where = machine.get("gpu") or f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cpu_count')} CPUs"
    return f"consum {sha}; python {packages.get('python')}, {versions}; {where}."


def config_hash(config: dict) -> str:
    hashed = {k: v for k, v in config.items() if k not in UNHASHED_KEYS}
    return hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class InputRun:
    """A complete upstream run dir, opened for reading."""

    path: Path
    manifest: dict

    @property
    def stage(self) -> str:
        return self.manifest["stage"]

    def table(self, name: str):
        if name not in self.manifest.get("outputs", {}):
            known = ", ".join(sorted(self.manifest.get("outputs", {}))) or "none"
            raise KeyError(f"run dir {self.path} has no output {name!r} (outputs: {known})")
        return read_table(self.path, name)

    def rows(self, name: str) -> list[dict]:
        return self.table(name).to_list()

    @property
    def model_path(self) -> Path:
        path = self.path / "model"
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"run dir {self.path} (stage {self.stage}) holds no model: expected {path}/config.json"
            )
        return path


def open_input(path: str | Path, expected_stage: str | tuple[str, ...] | None = None) -> InputRun:
    """Open an upstream run dir; refuse a missing or unfinished one with a clear message."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"input run dir {path} does not exist")
    if not (path / COMPLETE_MARKER).exists():
        raise IncompleteRunError(
            f"input run dir {path} has no {COMPLETE_MARKER} marker: the stage that writes it has not "
            f"finished (crashed, killed or still running). "
            f"Rerun that stage with the same run_id to resume it."
        )
    manifest = json.loads((path / MANIFEST).read_text())
    if expected_stage is not None:
        allowed = (expected_stage,) if isinstance(expected_stage, str) else expected_stage
        if manifest.get("stage") not in allowed:
            raise ValueError(
                f"input run dir {path} was written by stage {manifest.get('stage')!r}, "
                f"expected one of {allowed}"
            )
    return InputRun(path=path, manifest=manifest)


@dataclass
class RunDir:
    """The run dir a stage writes. Only the main process writes manifest, config and marker."""

    path: Path
    stage: str
    run_id: str
    config: dict
    seed: int | None = None
    world_size: int = 1
    is_main: bool = True
    inputs: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)

    @classmethod
    def create(cls, config: dict, *, world_size: int = 1, is_main: bool = True) -> RunDir:
        """Create (or reopen for resume) the run dir named by ``config['run_dir']``."""
        run = cls(
            path=Path(config["run_dir"]).expanduser(),
            stage=config["stage"],
            run_id=str(config["run_id"]),
            config=config,
            seed=config.get("seed"),
            world_size=world_size,
            is_main=is_main,
        )
        run._open()
        return run

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)

    @property
    def is_complete(self) -> bool:
        return (self.path / COMPLETE_MARKER).exists()

    def _open(self) -> None:
        saved = self.path / ".config_hash"
        if saved.exists() and saved.read_text().strip() != self.config_hash:
            raise ConfigMismatchError(
                f"run dir {self.path} was started with a different config "
                f"(hash {saved.read_text().strip()} != "
                f"{self.config_hash}); use a new run_id or the same config to resume"
            )
        if self.is_main and not self.is_complete:
            self.path.mkdir(parents=True, exist_ok=True)
            import yaml  # pyyaml comes with hydra/omegaconf

            atomic_write_text(self.path / CONFIG, yaml.safe_dump(self.config, sort_keys=False))
            atomic_write_text(saved, self.config_hash + "\n")

    def add_input(self, name: str, run: InputRun) -> None:
        self.inputs[name] = {
            "path": str(run.path),
            "stage": run.stage,
            "run_id": run.manifest.get("run_id"),
            "manifest_sha256": sha256_file(run.path / MANIFEST),
        }

    def record_output(self, name: str, **extra: Any) -> dict:
        """Record output ``name`` (its shards must be written): row count, shard count, sha256."""
        paths = shard_paths(self.path, name)
        n_rows = read_table(self.path, name).num_rows if paths else 0
        self.outputs[name] = {
            "n_rows": n_rows,
            "n_shards": len(paths),
            "sha256": sha256_files(paths),
            **extra,
        }
        return self.outputs[name]

    def record_model(self, name: str = "model") -> None:
        model_dir = self.path / name
        files = sorted(p for p in model_dir.rglob("*") if p.is_file())
        self.outputs[name] = {
            "kind": "model",
            "files": [str(p.relative_to(self.path)) for p in files],
            "sha256": sha256_files(files),
        }

    def manifest(self) -> dict:
        return {
            "stage": self.stage,
            "run_id": self.run_id,
            "git": git_state(),
            "config_hash": self.config_hash,
            "seed": self.seed,
            "packages": package_versions(),
            "machine": machine_info(),
            "world_size": self.world_size,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "stats": self.stats,
            "started_at": self.started_at,
            "finished_at": time.time(),
        }

    def finalize(self) -> dict:
        """Write the manifest, then the completion marker (last, atomically)."""
        manifest = self.manifest()
        if self.is_main:
            atomic_write_json(self.path / MANIFEST, manifest)
            atomic_write_text(self.path / COMPLETE_MARKER, sha256_file(self.path / MANIFEST) + "\n")
        return manifest
