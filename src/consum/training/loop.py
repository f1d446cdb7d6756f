"""The training loop shared by the recipes (MLE and ConSeq): updates over token-budget micro-batches.

An update = ``update_freq`` micro-batches per process, ``no_sync`` until the last (manual
accumulation, so the loss can be normalised over the whole update as fairseq does), clip, step.
Checkpoints are ``save_state`` folders; a restarted run ``load_state``s the latest and skips the
micro-batches already done (``skip_first_batches``), so it logs the same losses as an
uninterrupted run.

A stop signal (SIGUSR1/SIGUSR2/SIGTERM: SLURM's warning before a time limit, preemption, ``scancel``;
see consum.io.preemption) is acted on after the update in flight: all ranks agree on it, save the
checkpoint of that update (with the unlogged part of the logging window), and exit; the resumed run
loses nothing and logs the same losses.

Read :func:`train_loop` first; each concern is one small function below it: which updates an
epoch still holds (:func:`epoch_updates`), one update (:func:`run_update`, :func:`apply_update`),
the logging window (:class:`MetricsWindow`), evaluation, checkpoints, stopping on a signal and the
test fault hooks.
Logged keys are namespaced by phase: ``train/<stat>`` here, the recipes' ``evaluate`` returns
``val/...`` or ``heldout/...``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from consum.io.preemption import StopSignals
from consum.io.rundir import RunDir
from consum.tracking import MetricsLogger
from consum.training.batching import rank_schedule
from consum.training.common import load_latest_checkpoint, make_loader, make_optimizer, save_checkpoint

# micro_step(model, batch) -> (loss to backward, stats); stats hold weighted sums and a "weight":
# the logged value of stat k is Σ stats[k] / Σ stats["weight"] over the logging window.
MicroStep = Callable[[torch.nn.Module, dict], tuple[torch.Tensor, dict[str, torch.Tensor]]]

TRAIN_PREFIX = "train/"  # every metric of the loop's log lines (wandb groups keys by prefix)


@dataclass
class TrainData:
    examples: Sequence            # what the collate function takes
    batches: list[list[int]]      # micro-batches of example indices (token budget)
    target_tokens: list[int]      # per example: target tokens, for the per-update normalisation
    collate: Callable[[list], dict]


@dataclass
class LoopState:
    """Where training stands; saved in every checkpoint (``trainer_state.json``)."""

    step: int = 0               # updates done
    epoch: int = 0              # the epoch in progress
    updates_in_epoch: int = 0   # updates of that epoch done (skipped on resume)
    best_value: float | None = None  # train.best_metric: its best value so far (its step: best_model/)
    window: dict = field(default_factory=dict)  # the logging window's updates not logged yet (see save_now)


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
    train_cfg = cfg["train"]
    optimizer, scheduler = make_optimizer(model, cfg["optim"])
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    per_epoch, max_steps = count_updates(len(data.batches), train_cfg, accelerator.num_processes)
    state = resume(accelerator, run.path)
    if state.step and accelerator.is_main_process:
        logger.forget_after(state.step)  # nothing logged twice after a hard kill
    progress = tqdm(total=max_steps, initial=state.step, desc=cfg["stage"],
                    disable=not accelerator.is_main_process)
    window, final = MetricsWindow(**state.window), {}
    model.train()
    with StopSignals() as stop:
        while state.step < max_steps:
            updates, dropped = epoch_updates(data, state, cfg, accelerator)
            if dropped:
                run.stats["dropped_batches_per_epoch"] = dropped
            for micro_batches in updates:
                stats, tokens = run_update(model, micro_batches, micro_step, accelerator)
                grad_norm = apply_update(model, optimizer, scheduler, accelerator, train_cfg["clip_norm"])
                state.step, state.updates_in_epoch = state.step + 1, state.updates_in_epoch + 1
                progress.update(1)
                window.add(reduce_sums(stats, accelerator), tokens * accelerator.num_processes)
                if due(state.step, train_cfg["log_every"], max_steps):
                    extra = {"lr": scheduler.get_last_lr()[0],
                             "grad_norm": float(grad_norm) if grad_norm is not None else None,
                             "epoch": state.epoch}
                    log_window(window, extra, logger, progress, state.step)
                if due(state.step, train_cfg["eval_every"], max_steps):
                    final = evaluate_now(model, evaluate, accelerator, logger, state.step)
                    track_best(final, state, train_cfg.get("best_metric"), accelerator.unwrap_model(model),
                               run.path)
                if maybe_checkpoint(accelerator, run.path, state, window, train_cfg, max_steps):
                    fault_hook(cfg, state.step)
                pause_hook(cfg, state.step, stop, accelerator)
                if state.step < max_steps and stop.agreed(accelerator):
                    stop_now(accelerator, run.path, state, window, train_cfg, stop)
                if state.step >= max_steps:
                    break
            if state.step < max_steps:  # the epoch's schedule is exhausted
                state.epoch, state.updates_in_epoch = state.epoch + 1, 0
    progress.close()
    run.stats.update({"steps": state.step, "epochs_started": state.epoch, "steps_per_epoch": per_epoch})
    unwrapped = accelerator.unwrap_model(model)
    if train_cfg.get("best_metric") and accelerator.is_main_process:
        final = restore_best(unwrapped, run, state, train_cfg["best_metric"])
    accelerator.wait_for_everyone()
    return final, unwrapped


# ---- schedule ------------------------------------------------------------------------------------


def count_updates(n_batches: int, train_cfg: dict, world_size: int) -> tuple[int, int]:
    """(updates per epoch, updates in the whole run). Several ranks drop an epoch's partial last update."""
    update_freq = train_cfg["update_freq"]
    per_update = update_freq * world_size
    per_epoch = n_batches // per_update if world_size > 1 else -(-n_batches // update_freq)
    return per_epoch, train_cfg.get("max_steps") or per_epoch * train_cfg["max_epochs"]


def resume(accelerator, run_path) -> LoopState:
    """Load the latest complete checkpoint (model, optimizer, scheduler, RNG) if any; its loop state."""
    saved = load_latest_checkpoint(accelerator, run_path)
    state = LoopState(**saved) if saved else LoopState()
    if state.step:
        accelerator.print(f"resuming from step {state.step} (epoch {state.epoch})")
    return state


def epoch_updates(
    data: TrainData, state: LoopState, cfg: dict, accelerator
) -> tuple[Iterator[list[dict]], int]:
    """This rank's updates of ``state.epoch`` not done yet, each a list of collated micro-batches;
    and how many batches the epoch drops (see :func:`rank_schedule`)."""
    schedule, dropped = rank_schedule(
        data.batches, data.target_tokens, epoch=state.epoch, seed=cfg["seed"],
        update_freq=cfg["train"]["update_freq"], world_size=accelerator.num_processes,
        rank=accelerator.process_index,
    )
    micro_per_update = Counter(m.update_index for m in schedule)
    loader = make_loader(data.examples, schedule, data.collate)
    if state.updates_in_epoch:
        done = sum(micro_per_update[u] for u in range(state.updates_in_epoch))
        loader = accelerator.skip_first_batches(loader, done)
    return group_updates(loader, micro_per_update), dropped


def group_updates(loader: Iterable[dict], micro_per_update: Counter) -> Iterator[list[dict]]:
    """Consecutive micro-batches of the same update, as one list (``micro_per_update[u]`` of them)."""
    pending: list[dict] = []
    for batch in loader:
        pending.append(batch)
        if len(pending) == micro_per_update[batch["update_index"]]:
            yield pending
            pending = []


def due(step: int, every: int, max_steps: int) -> bool:
    """Log or evaluate every ``every`` updates and after the last one."""
    return step % every == 0 or step == max_steps


# ---- one update ----------------------------------------------------------------------------------


def run_update(
    model, micro_batches: list[dict], micro_step: MicroStep, accelerator
) -> tuple[dict[str, torch.Tensor], float]:
    """Forward and backward every micro-batch of one update, gradients synced only on the last.

    Returns this rank's stats summed over the micro-batches (fp64) and its real source + target tokens.
    """
    sums: dict[str, torch.Tensor] = {}
    tokens = 0.0
    for index, batch in enumerate(micro_batches):
        batch = to_device(batch, accelerator.device)
        last = index == len(micro_batches) - 1
        with contextlib.nullcontext() if last else accelerator.no_sync(model):
            loss, stats = micro_step(model, batch)
            accelerator.backward(loss)
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v.detach().double()
        tokens += float(batch["attention_mask"].sum() + (batch["labels"] != -100).sum())
    return sums, tokens


def apply_update(model, optimizer, scheduler, accelerator, clip_norm: float):
    """Clip, step the optimizer and the schedule, clear the gradients; return the norm before clipping."""
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return grad_norm


def reduce_sums(sums: dict[str, torch.Tensor], accelerator) -> dict[str, float]:
    """Sum each stat over the ranks (one collective for all of them)."""
    names = sorted(sums)
    stacked = torch.stack([torch.as_tensor(sums[k], device=accelerator.device) for k in names])
    return dict(zip(names, accelerator.reduce(stacked, reduction="sum").tolist()))


# ---- logging, evaluation, checkpoints ------------------------------------------------------------


class MetricsWindow:
    """The updates since the last log line: their summed stats (all ranks), tokens and wall time.

    >>> window = MetricsWindow()
    >>> window.add({"loss": 6.0, "weight": 3.0}, tokens=10.0)
    >>> window.add({"loss": 2.0, "weight": 1.0}, tokens=10.0)
    >>> metrics = window.flush({"lr": 0.1})
    >>> metrics["train/loss"], metrics["train/lr"], "train/tokens_per_s" in metrics
    (2.0, 0.1, True)
    """

    def __init__(self, sums: dict[str, float] | None = None, tokens: float = 0.0):
        self.reset()
        self.add(sums or {}, tokens)  # a resumed run continues the window its checkpoint saved

    def reset(self) -> None:
        self.sums: dict[str, float] = {}
        self.tokens = 0.0
        self.started = time.perf_counter()

    def add(self, sums: dict[str, float], tokens: float) -> None:
        for k, v in sums.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.tokens += tokens

    def pending(self) -> dict:
        """What :meth:`__init__` takes to continue this window (saved in a checkpoint's loop state)."""
        return {"sums": dict(self.sums), "tokens": self.tokens}

    def flush(self, extra: dict) -> dict:
        """``train/<stat>`` = Σ stat / Σ weight, then ``extra`` and ``tokens_per_s``; starts a new window."""
        elapsed = time.perf_counter() - self.started
        weight = self.sums.pop("weight", 1.0) or 1.0
        metrics = {k: v / weight for k, v in self.sums.items()}
        metrics.update(extra, tokens_per_s=self.tokens / elapsed)
        self.reset()
        return {TRAIN_PREFIX + k: v for k, v in metrics.items()}


def log_window(window: MetricsWindow, extra: dict, logger: MetricsLogger, progress, step: int) -> None:
    metrics = window.flush(extra)
    logger.log(metrics, step=step)
    if TRAIN_PREFIX + "loss" in metrics:
        progress.set_postfix(loss=f"{metrics[TRAIN_PREFIX + 'loss']:.3f}")


def evaluate_now(model, evaluate: Callable[[torch.nn.Module], dict], accelerator, logger, step: int) -> dict:
    """Run ``evaluate`` in eval mode (every rank calls it; it may return {} on some); log what it returns."""
    model.eval()
    metrics = evaluate(model)
    model.train()
    accelerator.wait_for_everyone()
    if metrics:
        logger.log(metrics, step=step)
    return metrics


BEST_DIR = "best_model"  # train.best_metric: the weights of the best evaluation so far (+ its metrics)


def lower_is_better(metric: str) -> bool:
    """``val/nll``, ``val/loss``, ``val/ppl``: lower is better; anything else (ROUGE, accuracy): higher."""
    return any(part in metric.rsplit("/", 1)[-1] for part in ("nll", "loss", "ppl"))


def track_best(metrics: dict, state: LoopState, metric: str | None, model, run_path) -> None:
    """``+train.best_metric=val/nll``: after an evaluation that improves it, save the weights to
    ``best_model/``; the run's ``model/`` is then that one, so the number of updates is chosen by
    validation, not by hand. Evaluations return metrics on the main process only: only it tracks."""
    if not metric or not metrics:
        return
    if metric not in metrics:
        raise KeyError(f"train.best_metric={metric!r} is not among the evaluation's metrics "
                       f"{sorted(metrics)}")
    value, best = float(metrics[metric]), state.best_value
    if best is None or (value < best if lower_is_better(metric) else value > best):
        state.best_value = value
        model.save_pretrained(run_path / BEST_DIR, safe_serialization=True)
        (run_path / BEST_DIR / "metrics.json").write_text(json.dumps({"step": state.step, **metrics}))


def restore_best(model, run: RunDir, state: LoopState, metric: str) -> dict:
    """Load the best evaluation's weights into ``model``; return its metrics (the run's final ones)."""
    saved = run.path / BEST_DIR
    if not (saved / "metrics.json").exists():
        raise RuntimeError(f"train.best_metric={metric!r}: no evaluation ran (train.eval_every?)")
    # from_pretrained restores what save_pretrained dropped (tied embeddings); strict: same architecture
    model.load_state_dict(type(model).from_pretrained(saved).state_dict())
    metrics = json.loads((saved / "metrics.json").read_text())
    run.stats["best"] = {"metric": metric, "value": metrics[metric], "step": metrics.pop("step"),
                         "last_step": state.step}
    return metrics


def maybe_checkpoint(accelerator, run_path, state: LoopState, window: MetricsWindow, train_cfg: dict,
                     max_steps: int) -> bool:
    """``save_state`` every ``checkpoint_every`` updates (not after the last: the final model follows)."""
    if state.step % train_cfg["checkpoint_every"] or state.step >= max_steps:
        return False
    save_now(accelerator, run_path, state, window, train_cfg)
    return True


def save_now(accelerator, run_path, state: LoopState, window: MetricsWindow, train_cfg: dict) -> None:
    """``save_state`` into ``checkpoints/step_N`` with the loop state, including the logging window's
    updates not logged yet: a checkpoint between two log lines resumes into the same next log line."""
    state.window = window.pending()
    save_checkpoint(accelerator, run_path, asdict(state), train_cfg["keep_last_n"])


def stop_now(accelerator, run_path, state: LoopState, window: MetricsWindow, train_cfg: dict,
             stop: StopSignals) -> None:
    """A stop signal reached some rank: every rank saves this update's checkpoint, then exits (and the
    main process requeues the SLURM job; see consum.io.preemption). Raises ``Preempted``."""
    if state.step % train_cfg["checkpoint_every"]:  # else maybe_checkpoint has just saved this step
        save_now(accelerator, run_path, state, window, train_cfg)
    accelerator.print(f"checkpoint of step {state.step} saved; stopping")
    stop.exit(is_main=accelerator.is_main_process, what=f"checkpoint of step {state.step} saved")


def fault_hook(cfg: dict, step: int) -> None:
    """Test hook ``fault.after_steps=N``: die right after the step-N checkpoint, like a killed run."""
    if (cfg.get("fault") or {}).get("after_steps") == step:
        raise RuntimeError(f"fault.after_steps={step}: simulated crash after the step-{step} checkpoint")


def pause_hook(cfg: dict, step: int, stop: StopSignals, accelerator, timeout_s: float = 120.0) -> None:
    """Test hook ``+fault.pause_after_steps=N``: after update N, say so on stderr (with this rank's pid) and
    wait until some rank gets a stop signal, so that a test can signal a process mid-run at a known update."""
    if (cfg.get("fault") or {}).get("pause_after_steps") != step:
        return
    print(f"consum: paused after step {step}: rank {accelerator.process_index} pid {os.getpid()}",
          file=sys.stderr, flush=True)
    waited = 0.0
    while not stop.agreed(accelerator):  # every rank polls in step, so the sum is taken together
        if waited > timeout_s:
            raise RuntimeError(f"fault.pause_after_steps={step}: no stop signal in {timeout_s:.0f} s")
        time.sleep(0.05)
        waited += 0.05
