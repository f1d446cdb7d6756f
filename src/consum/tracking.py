"""Metrics logging: a JSONL log that is always on (tests read it back), wandb optional.

Only the main process logs; other ranks get a logger whose calls do nothing.

Keys are namespaced by phase, the way wandb groups them into panels: ``train/...`` (the training
loop's log lines: ``train/loss``, ``train/lr``, ``train/grad_norm``, ``train/tokens_per_s``, the loss
parts), ``val/...`` (periodic validation of ``train_mle`` / ``train_qagen``, and the lead-1 baseline
at step 0) and ``heldout/...`` (``train_conseq``'s held-out diagnostics; step 0 = before training).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"


def resolve_wandb_mode(configured: str | None) -> str:
    """An explicit config value wins; else ``WANDB_MODE``; else offline (no key needed)."""
    if configured:
        return configured
    return os.environ.get("WANDB_MODE") or "offline"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # torch / numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value


class MetricsLogger:
    def __init__(
        self,
        run_path: str | Path,
        *,
        enabled: bool = True,
        wandb_cfg: dict | None = None,
        config: dict | None = None,
        run_name: str | None = None,
    ):
        self.enabled = enabled
        self.path = Path(run_path) / METRICS_FILE
        self._wandb_run = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if wandb_cfg:
            import wandb

            self._wandb_run = wandb.init(
                project=wandb_cfg.get("project", "consum"),
                entity=wandb_cfg.get("entity"),
                group=wandb_cfg.get("group"),
                tags=list(wandb_cfg.get("tags") or []),
                name=run_name,
                dir=str(Path(run_path)),
                mode=resolve_wandb_mode(wandb_cfg.get("mode")),
                config=config,
            )

    def log(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if not self.enabled:
            return
        record = {k: _jsonable(v) for k, v in metrics.items()}
        record["time"] = round(time.time(), 3)
        if step is not None:
            record["step"] = step
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._wandb_run is not None:
            self._wandb_run.log({k: v for k, v in record.items() if k not in ("time", "step")}, step=step)

    def forget_after(self, step: int) -> int:
        """Drop the records of updates after ``step`` (a run resumed from its checkpoint at ``step``
        logs them again; killed hard, it had logged some past its checkpoint); returns how many."""
        if not self.enabled or not self.path.exists():
            return 0
        lines = [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [line for line in lines if json.loads(line).get("step", step) <= step]
        if len(kept) < len(lines):
            tmp = self.path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
            tmp.replace(self.path)
        return len(lines) - len(kept)

    def close(self) -> None:
        if self._wandb_run is not None:
            self._wandb_run.finish()
            self._wandb_run = None


def read_metrics(run_path: str | Path) -> list[dict]:
    path = Path(run_path) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
