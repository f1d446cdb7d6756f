"""Setup shared by the training recipes: accelerator, optimizer + schedule, encoded datasets,
collation, checkpoints. Small functions; each recipe reads top to bottom (setup, train, save).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from consum.training.batching import MicroBatch

CHECKPOINT_DIR = "checkpoints"
TRAINER_STATE = "trainer_state.json"


def make_accelerator(train_cfg) -> Accelerator:  # noqa: F821
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    # Gradient accumulation is done by hand (no_sync over an update's micro-batches) so that
    # the loss is normalised by the tokens of the whole update, as in fairseq; see batching.py.
    return Accelerator(
        cpu=bool(train_cfg.get("cpu", False)),
        mixed_precision=str(train_cfg.get("precision", "no")),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=False)],
    )


def make_optimizer(model, optim_cfg) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    from transformers import get_scheduler

    groups = parameter_groups(model, optim_cfg)
    optimizer = torch.optim.AdamW(
        groups,
        lr=optim_cfg["lr"],
        betas=tuple(optim_cfg["betas"]),
        eps=optim_cfg["eps"],
    )
    schedule = optim_cfg["schedule"]
    kwargs = {"power": optim_cfg.get("power", 1.0)} if schedule == "polynomial" else {}
    scheduler = get_scheduler(
        {"constant": "constant_with_warmup", "linear": "linear", "polynomial": "polynomial"}[schedule],
        optimizer,
        num_warmup_steps=optim_cfg["warmup_steps"],
        num_training_steps=optim_cfg["total_steps"],
        scheduler_specific_kwargs=kwargs,
    )
    return optimizer, scheduler


def parameter_groups(model, optim_cfg) -> list[dict]:
    """AdamW groups: weight decay but for biases and norms; ``optim.lr_multipliers`` (optional,
    ``{name pattern: factor}``) scales the learning rate of the parameters whose name contains the
    pattern (the first that matches), e.g. the cross-attention a warm start creates from nothing."""
    multipliers = dict(optim_cfg.get("lr_multipliers") or {})
    grouped: dict[tuple[bool, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decays = not (param.ndim < 2 or "norm" in name.lower())
        factor = next((float(f) for pattern, f in multipliers.items() if pattern in name), 1.0)
        grouped.setdefault((decays, factor), []).append(param)
    return [
        {"params": params, "weight_decay": optim_cfg["weight_decay"] if decays else 0.0,
         "lr": optim_cfg["lr"] * factor}
        for (decays, factor), params in sorted(grouped.items(), key=lambda item: (not item[0][0], item[0][1]))
    ]


@dataclass
class EncodedPair:
    key: str
    source_ids: list[int]
    target_ids: list[int]
    # Target tokens before this index are teacher-forced inputs only, not predicted (no loss): a
    # binding pair (training/binding.py) learns only the end of its target.
    loss_from: int = 0


def encode_summaries(
    tokenizer, rows: Sequence[dict], max_source_len: int, max_target_len: int
) -> tuple[list[EncodedPair], int]:
    """(document -> summary) pairs; returns the pairs and how many sources were truncated."""
    if not rows:
        return [], 0
    sources = tokenizer([r["document"] for r in rows], add_special_tokens=True)["input_ids"]
    targets = tokenizer([r["summary"] for r in rows], add_special_tokens=True)["input_ids"]
    pairs, truncated = [], 0
    for row, src, tgt in zip(rows, sources, targets):
        truncated += len(src) > max_source_len
        pairs.append(EncodedPair(row["doc_id"], truncate(src, max_source_len), truncate(tgt, max_target_len)))
    return pairs, truncated


def truncate(ids: list[int], max_len: int) -> list[int]:
    """Cut to max_len keeping the final </s>."""
    return ids if len(ids) <= max_len else [*ids[: max_len - 1], ids[-1]]


class ScheduledDataset(Dataset):
    """Indexable by (example index, MicroBatch) pairs from :class:`ScheduleSampler`."""

    def __init__(self, examples: Sequence):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, item):
        index, micro = item
        return self.examples[index], micro


class ScheduleSampler:
    """A batch sampler over a fixed per-rank schedule (see batching.rank_schedule)."""

    def __init__(self, schedule: Sequence[MicroBatch]):
        self.schedule = schedule

    def __iter__(self):
        for micro in self.schedule:
            yield [(i, micro) for i in micro.indices]

    def __len__(self) -> int:
        return len(self.schedule)


def collate_pairs(pairs: Sequence[EncodedPair], pad_token_id: int) -> dict:
    src_len = max(len(p.source_ids) for p in pairs)
    tgt_len = max(len(p.target_ids) for p in pairs)
    input_ids = torch.full((len(pairs), src_len), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(pairs), src_len), dtype=torch.long)
    labels = torch.full((len(pairs), tgt_len), -100, dtype=torch.long)
    for row, pair in enumerate(pairs):
        input_ids[row, : len(pair.source_ids)] = torch.tensor(pair.source_ids)
        attention_mask[row, : len(pair.source_ids)] = 1
        labels[row, : len(pair.target_ids)] = torch.tensor(pair.target_ids)
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
    if any(pair.loss_from for pair in pairs):
        # the teacher-forcing input still reads the whole target; only the labels lose their prefix
        batch["decoder_targets"] = labels.clone()
        for row, pair in enumerate(pairs):
            labels[row, : pair.loss_from] = -100
    return batch


def make_loader(
    examples: Sequence, schedule: Sequence[MicroBatch], collate: Callable[[list], dict]
) -> DataLoader:
    """A DataLoader over this rank's schedule; each batch also carries its update's token count."""

    def collate_with_update(items):
        batch = collate([example for example, _ in items])
        micro = items[0][1]
        batch.update(update_target_tokens=micro.update_target_tokens, update_index=micro.update_index)
        return batch

    return DataLoader(
        ScheduledDataset(examples),
        batch_sampler=ScheduleSampler(schedule),
        collate_fn=collate_with_update,
        # A private generator: creating the iterator draws a seed from it, and drawing from the
        # global RNG there would shift dropout after a resume (the loader is rebuilt mid-epoch).
        generator=torch.Generator().manual_seed(0),
    )


def decoder_inputs(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Teacher forcing input: [start] + labels[:-1], padding as pad (not -100)."""
    shifted = labels.new_full(labels.shape, pad_token_id)
    shifted[:, 1:] = labels[:, :-1].masked_fill(labels[:, :-1] == -100, pad_token_id)
    shifted[:, 0] = decoder_start_token_id
    return shifted


# ---- checkpoints -----------------------------------------------------------------------------

def checkpoint_dirs(run_path: Path) -> list[Path]:
    root = Path(run_path) / CHECKPOINT_DIR
    done = [p for p in root.glob("step_*") if (p / TRAINER_STATE).exists()]
    return sorted(done, key=lambda p: int(p.name.split("_")[1]))


def save_checkpoint(accelerator, run_path: Path, state: dict, keep_last_n: int) -> Path:
    """``save_state`` into ``checkpoints/step_N``; the trainer state file, written last, marks it complete."""
    path = Path(run_path) / CHECKPOINT_DIR / f"step_{state['step']:08d}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        (path / TRAINER_STATE).write_text(json.dumps(state))
        for old in checkpoint_dirs(run_path)[:-keep_last_n] if keep_last_n > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return path


def load_latest_checkpoint(accelerator, run_path: Path) -> dict | None:
    dirs = checkpoint_dirs(run_path)
    if not dirs:
        return None
    accelerator.load_state(str(dirs[-1]))
    return json.loads((dirs[-1] / TRAINER_STATE).read_text())


# ---- the frame of a training stage ---------------------------------------------------------------


def open_training_run(cfg: dict, *, echo: Callable[[str], object] = print):
    """Accelerator, run dir and metrics logger of a training stage.

    The logger is None when the run dir is already complete (the stage then has nothing to do; ``echo``
    has said so).
    Seeds are per rank (``device_specific``): dropout differs between ranks, as it should.
    """
    from accelerate.utils import set_seed

    from consum.io.stage import open_stage
    from consum.tracking import MetricsLogger

    accelerator = make_accelerator(cfg["train"])
    run = open_stage(cfg, accelerator, echo=echo)
    if run.is_complete:
        return accelerator, run, None
    set_seed(cfg["seed"], device_specific=True)
    logger = MetricsLogger(
        run.path, enabled=accelerator.is_main_process, wandb_cfg=cfg["logger"].get("wandb"),
        config=cfg, run_name=f"{cfg['stage']}-{run.run_id}",
    )
    return accelerator, run, logger


def record_model_input(run, model_cfg: dict) -> None:
    """A starting model that is a run's ``model/`` (e.g. ``pretrain``'s) is an input of the manifest; a
    warm start's checkpoints are named in its stats (name, path, package version, weights hash)."""
    from consum.io.rundir import open_input
    from consum.models.loading import model_run_dir

    source = model_run_dir(model_cfg.get("name_or_path"))
    if source is not None:
        run.add_input("model", open_input(source))
    if model_cfg.get("warm_start") and not model_cfg.get("name_or_path"):
        from consum.models.warm_start import warm_start_record

        run.stats["warm_start"] = warm_start_record(model_cfg["warm_start"])


def close_training_run(accelerator, run, model, tokenizer, logger, summary: Callable[[object], str]) -> None:
    """Save the final model (``save_pretrained``), finalize the run dir, print ``summary(run)``."""
    path = run.path / "model"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        model.save_pretrained(path, safe_serialization=True)
        tokenizer.save_pretrained(path)
        run.record_model("model")
    logger.close()
    if accelerator.is_main_process:
        run.finalize()
        accelerator.print(summary(run))
