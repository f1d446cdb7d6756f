"""The training loop shared by the recipes (MLE and ConSeq): updates over token-budget micro-batches.

An update = ``update_freq`` micro-batches per process, ``no_sync`` until the last (manual
accumulation, so the loss can be normalised over the whole update as fairseq does), clip, step.
Checkpoints are ``save_state`` folders; a restarted run ``load_state``s the latest and skips the
micro-batches already done (``skip_first_batches``), so it logs the same losses as an
uninterrupted run.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from consum.io.rundir import RunDir
from consum.tracking import MetricsLogger
from consum.training.batching import MicroBatch, rank_schedule
from consum.training.common import load_latest_checkpoint, make_optimizer, save_checkpoint

# micro_step(model, batch) -> (loss to backward, stats); stats hold weighted sums and a "weight":
# the logged value of stat k is Σ stats[k] / Σ stats["weight"] over the logging window.
MicroStep = Callable[[torch.nn.Module, dict], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class TrainData:
    examples: Sequence            # what the collate function takes
    batches: list[list[int]]      # micro-batches of example indices (token budget)
    target_tokens: list[int]      # per example: target tokens, for the per-update normalisation
    collate: Callable[[list], dict]


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def train_loop(
    cfg: dict,
    run: RunDir,
    model,
    data: TrainData,
    micro_step: MicroStep,
    evaluate: Callable[[torch.nn.Module], dict],
    accelerator,
    logger: MetricsLogger,
) -> tuple[dict, torch.nn.Module]:
    """Train ``model`` (not yet prepared); return the last evaluation metrics and the unwrapped model."""
    from consum.training.common import make_loader

    train_cfg = cfg["train"]
    update_freq = train_cfg["update_freq"]
    world, rank = accelerator.num_processes, accelerator.process_index
    optimizer, scheduler = make_optimizer(model, cfg["optim"])
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    n_batches = len(data.batches)
    per_epoch = n_batches // (update_freq * world) if world > 1 else -(-n_batches // update_freq)
    max_steps = train_cfg.get("max_steps") or per_epoch * train_cfg["max_epochs"]
    state = load_latest_checkpoint(accelerator, run.path) or {"step": 0, "epoch": 0, "updates_in_epoch": 0}
    if state["step"]:
        accelerator.print(f"resuming from step {state['step']} (epoch {state['epoch']})")
    step, epoch, updates_in_epoch = state["step"], state["epoch"], state["updates_in_epoch"]
    final: dict = {}
    progress = tqdm(total=max_steps, initial=step, desc=cfg["stage"], disable=not accelerator.is_main_process)
    window: dict[str, float] = {}
    window_tokens, window_start = 0.0, time.perf_counter()
    model.train()
    while step < max_steps:
        schedule: list[MicroBatch]
        schedule, dropped = rank_schedule(data.batches, data.target_tokens, epoch=epoch, seed=cfg["seed"],
                                          update_freq=update_freq, world_size=world, rank=rank)
        micro_per_update = Counter(m.update_index for m in schedule)
        loader = make_loader(data.examples, schedule, data.collate)
        if updates_in_epoch:
            loader = accelerator.skip_first_batches(loader, sum(micro_per_update[u] for u in range(updates_in_epoch)))
        seen_in_update = 0
        update_stats: dict[str, torch.Tensor] = {}
        for batch in loader:
            batch = to_device(batch, accelerator.device)
            seen_in_update += 1
            last = seen_in_update == micro_per_update[batch["update_index"]]
            with contextlib.nullcontext() if last else accelerator.no_sync(model):
                loss, stats = micro_step(model, batch)
                accelerator.backward(loss)
            for k, v in stats.items():
                update_stats[k] = update_stats.get(k, 0.0) + v.detach().double()
            window_tokens += float(batch["attention_mask"].sum() + (batch["labels"] != -100).sum()) * world
            if not last:
                continue
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), train_cfg["clip_norm"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step, updates_in_epoch, seen_in_update = step + 1, updates_in_epoch + 1, 0
            progress.update(1)
            names = sorted(update_stats)
            reduced = accelerator.reduce(torch.stack([torch.as_tensor(update_stats[k], device=accelerator.device) for k in names]), reduction="sum")
            for k, v in zip(names, reduced.tolist()):
                window[k] = window.get(k, 0.0) + v
            update_stats = {}
            if step % train_cfg["log_every"] == 0 or step == max_steps:
                elapsed = time.perf_counter() - window_start
                weight = window.pop("weight", 1.0) or 1.0
                metrics = {k: v / weight for k, v in window.items()}
                metrics.update(lr=scheduler.get_last_lr()[0], grad_norm=float(grad_norm) if grad_norm is not None else None,
                               epoch=epoch, tokens_per_s=window_tokens / elapsed)
                logger.log(metrics, step=step)
                if "loss" in metrics:
                    progress.set_postfix(loss=f"{metrics['loss']:.3f}")
                window, window_tokens, window_start = {}, 0.0, time.perf_counter()
            if step % train_cfg["eval_every"] == 0 or step == max_steps:
                model.eval()
                final = evaluate(model)
                model.train()
                accelerator.wait_for_everyone()
                if final:
                    logger.log(final, step=step)
            if step % train_cfg["checkpoint_every"] == 0 and step < max_steps:
                save_checkpoint(accelerator, run.path, {"step": step, "epoch": epoch, "updates_in_epoch": updates_in_epoch}, train_cfg["keep_last_n"])
                if (cfg.get("fault") or {}).get("after_steps") == step:  # test hook: simulate a kill
                    raise RuntimeError(f"fault.after_steps={step}: simulated crash after the step-{step} checkpoint")
            if step >= max_steps:
                break
        if step < max_steps:  # the epoch's schedule is exhausted
            epoch, updates_in_epoch = epoch + 1, 0
        if dropped:
            run.stats["dropped_batches_per_epoch"] = dropped
    progress.close()
    run.stats.update({"steps": step, "epochs_started": epoch, "steps_per_epoch": per_epoch})
    return final, accelerator.unwrap_model(model)
