"""MLE training of a seq2seq model: the summarizer (``train_mle``) and QAGen (``train_qagen``).

One explicit loop on ``accelerate``: token-budget micro-batches, an update = ``update_freq``
micro-batches per rank with ``no_sync`` until the last, label-smoothed token NLL normalised by the
update's target tokens (fairseq), gradient clipping, AdamW + schedule, periodic validation,
``save_state`` checkpoints (resume with ``load_state`` + ``skip_first_batches``), and a final
``save_pretrained`` model in ``<run>/model`` that later stages load by path.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from consum.io.rundir import RunDir
from consum.losses.label_smoothing import label_smoothed_nll_sum
from consum.tracking import MetricsLogger
from consum.training.batching import rank_schedule, token_budget_batches
from consum.training.common import (
    EncodedPair,
    decoder_inputs,
    load_latest_checkpoint,
    make_accelerator,
    make_loader,
    make_optimizer,
    save_checkpoint,
)

# validate(model, tokenizer) -> metrics; run on the main process only
Validator = Callable[[torch.nn.Module, object], dict]


def batch_loss(model, batch: dict, epsilon: float, pad_token_id: int, decoder_start_token_id: int):
    """Forward one micro-batch; return (label-smoothed loss sum, nll sum, target tokens)."""
    logits = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        decoder_input_ids=decoder_inputs(batch["labels"], pad_token_id, decoder_start_token_id),
    ).logits
    return label_smoothed_nll_sum(logits, batch["labels"], epsilon)


def backward_micro_batch(accelerator, model, batch: dict, epsilon: float, pad_id: int, start_id: int):
    """Forward + backward of one micro-batch, normalised by the tokens of its whole update.

    DDP averages gradients over ranks, hence x world size: the update's gradient is
    Σ grad(token losses) / (target tokens of the update, all micro-batches of all ranks).
    """
    loss_sum, nll_sum, ntok = batch_loss(model, batch, epsilon, pad_id, start_id)
    accelerator.backward(loss_sum * accelerator.num_processes / batch["update_target_tokens"])
    return loss_sum.detach(), nll_sum.detach(), ntok


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def validation_loss(accelerator, model, pairs: Sequence[EncodedPair], train_cfg, pad_id: int, start_id: int) -> dict:
    """Per-token label-smoothed loss and NLL on ``pairs``, split across processes."""
    if not pairs:
        return {}
    batches = token_budget_batches(
        [max(len(p.source_ids), len(p.target_ids)) for p in pairs], train_cfg["max_tokens"], train_cfg.get("max_examples_per_batch")
    )
    schedule, _ = rank_schedule(batches, [len(p.target_ids) for p in pairs], epoch=0, seed=0, update_freq=1, world_size=1, rank=0)
    totals = torch.zeros(3, device=accelerator.device, dtype=torch.float64)
    model.eval()
    with accelerator.split_between_processes(schedule) as mine:
        for batch in make_loader(pairs, mine, pad_id):
            loss, nll, ntok = batch_loss(model, to_device(batch, accelerator.device), train_cfg["label_smoothing"], pad_id, start_id)
            totals += torch.stack([loss.double(), nll.double(), ntok.double()])
    model.train()
    totals = accelerator.reduce(totals, reduction="sum")
    return {"val_loss": (totals[0] / totals[2]).item(), "val_nll": (totals[1] / totals[2]).item(), "val_ppl": math.exp(min((totals[1] / totals[2]).item(), 50))}


def train(
    cfg: dict,
    run: RunDir,
    model,
    tokenizer,
    train_pairs: Sequence[EncodedPair],
    valid_pairs: Sequence[EncodedPair],
    validate: Validator | None,
    accelerator,
    logger: MetricsLogger,
) -> tuple[dict, torch.nn.Module]:
    """The training loop; returns the last validation metrics and the unwrapped model."""
    train_cfg, optim_cfg = cfg["train"], cfg["optim"]
    pad_id, start_id = tokenizer.pad_token_id, model.config.decoder_start_token_id
    epsilon, update_freq = train_cfg["label_smoothing"], train_cfg["update_freq"]
    world, rank = accelerator.num_processes, accelerator.process_index

    optimizer, scheduler = make_optimizer(model, optim_cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    lengths = [max(len(p.source_ids), len(p.target_ids)) for p in train_pairs]
    batches = token_budget_batches(lengths, train_cfg["max_tokens"], train_cfg.get("max_examples_per_batch"))
    target_lengths = [len(p.target_ids) for p in train_pairs]
    per_epoch = len(batches) // (update_freq * world) if world > 1 else -(-len(batches) // update_freq)
    max_steps = train_cfg.get("max_steps") or per_epoch * train_cfg["max_epochs"]

    state = load_latest_checkpoint(accelerator, run.path) or {"step": 0, "epoch": 0, "updates_in_epoch": 0}
    if state["step"]:
        accelerator.print(f"resuming from step {state['step']} (epoch {state['epoch']})")
    step, epoch, updates_in_epoch = state["step"], state["epoch"], state["updates_in_epoch"]
    final: dict = {}
    progress = tqdm(total=max_steps, initial=step, desc=cfg["stage"], disable=not accelerator.is_main_process)
    window = {"loss": 0.0, "nll": 0.0, "tokens": 0.0, "src_tokens": 0, "time": time.perf_counter()}
    model.train()
    while step < max_steps:
        schedule, dropped = rank_schedule(batches, target_lengths, epoch=epoch, seed=cfg["seed"], update_freq=update_freq, world_size=world, rank=rank)
        micro_per_update = Counter(m.update_index for m in schedule)
        loader = make_loader(train_pairs, schedule, pad_id)
        if updates_in_epoch:
            done_micro = sum(micro_per_update[u] for u in range(updates_in_epoch))
            loader = accelerator.skip_first_batches(loader, done_micro)
        seen_in_update = 0
        update_sums = torch.zeros(3, device=accelerator.device, dtype=torch.float64)
        for batch in loader:
            batch = to_device(batch, accelerator.device)
            seen_in_update += 1
            last = seen_in_update == micro_per_update[batch["update_index"]]
            sync = contextlib.nullcontext() if last else accelerator.no_sync(model)
            with sync:
                loss_sum, nll_sum, ntok = backward_micro_batch(accelerator, model, batch, epsilon, pad_id, start_id)
            update_sums += torch.stack([loss_sum.double(), nll_sum.double(), ntok.double()])
            window["src_tokens"] += int(batch["attention_mask"].sum())
            if not last:
                continue
            grad_norm = accelerator.clip_grad_norm_(model.parameters(), train_cfg["clip_norm"])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step, updates_in_epoch, seen_in_update = step + 1, updates_in_epoch + 1, 0
            progress.update(1)
            sums = accelerator.reduce(update_sums, reduction="sum")
            update_sums.zero_()
            window["loss"] += sums[0].item()
            window["nll"] += sums[1].item()
            window["tokens"] += sums[2].item()
            if step % train_cfg["log_every"] == 0 or step == max_steps:
                elapsed = time.perf_counter() - window["time"]
                metrics = {
                    "loss": window["loss"] / window["tokens"],
                    "nll": window["nll"] / window["tokens"],
                    "lr": scheduler.get_last_lr()[0],
                    "grad_norm": float(grad_norm) if grad_norm is not None else None,
                    "epoch": epoch,
                    "target_tokens_per_s": window["tokens"] / elapsed,
                    "tokens_per_s": (window["tokens"] + window["src_tokens"] * world) / elapsed,
                }
                logger.log(metrics, step=step)
                progress.set_postfix(loss=f"{metrics['loss']:.3f}")
                window = {"loss": 0.0, "nll": 0.0, "tokens": 0.0, "src_tokens": 0, "time": time.perf_counter()}
            if step % train_cfg["eval_every"] == 0 or step == max_steps:
                final = evaluate(accelerator, model, tokenizer, valid_pairs, validate, train_cfg, pad_id, start_id)
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


def evaluate(accelerator, model, tokenizer, valid_pairs, validate, train_cfg, pad_id, start_id) -> dict:
    metrics = validation_loss(accelerator, model, valid_pairs, train_cfg, pad_id, start_id)
    if validate is not None and accelerator.is_main_process:
        model.eval()
        metrics.update(validate(accelerator.unwrap_model(model), tokenizer))
        model.train()
    accelerator.wait_for_everyone()
    return metrics


def save_model(accelerator, run: RunDir, model, tokenizer) -> Path:
    path = run.path / "model"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        model.save_pretrained(path, safe_serialization=True)
        tokenizer.save_pretrained(path)
        run.record_model("model")
    return path


# ---- the train_mle stage ---------------------------------------------------------------------


def rouge_validator(rows: Sequence[dict], data_cfg: dict, train_cfg: dict) -> Validator:
    """ROUGE-1/2/L F1 of generated summaries on a fixed sample of validation documents."""
    from consum.evaluation.rouge import rouge_scores
    from consum.generation.beam import beam_generate

    def validate(model, tokenizer) -> dict:
        predictions = beam_generate(
            model,
            tokenizer,
            [r["document"] for r in rows],
            num_beams=train_cfg["val_num_beams"],
            max_len=data_cfg["summary_max_len"],
            min_len=data_cfg["summary_min_len"],
            max_source_len=train_cfg["max_source_len"],
        )
        scores = rouge_scores([p[0] for p in predictions], [r["summary"] for r in rows])
        return {f"val_{k}": sum(s[k] for s in scores) / len(scores) for k in scores[0]}

    return validate


def lead_baseline_rouge(rows: Sequence[dict]) -> dict:
    from consum.evaluation.rouge import lead_baseline, rouge_scores

    scores = rouge_scores([lead_baseline(r["document"]) for r in rows], [r["summary"] for r in rows])
    return {f"lead1_{k}": sum(s[k] for s in scores) / len(scores) for k in scores[0]}


def run(cfg: dict) -> RunDir:
    from accelerate.utils import set_seed

    from consum.io.rundir import open_input
    from consum.models.loading import model_for_training
    from consum.training.common import encode_summaries

    accelerator = make_accelerator(cfg["train"])
    run = RunDir.create(cfg, world_size=accelerator.num_processes, is_main=accelerator.is_main_process)
    if run.is_complete:
        accelerator.print(f"{cfg['stage']}: {run.path} is already complete; nothing to do")
        return run
    set_seed(cfg["seed"], device_specific=True)  # per-rank seeds: different dropout per rank
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    run.add_input("data", data_run)
    train_rows = data_run.rows("train")
    valid_rows = data_run.rows("validation") if "validation" in data_run.manifest["outputs"] else []
    train_cfg = cfg["train"]
    model, tokenizer = model_for_training(
        cfg["model"], lambda: (t for r in train_rows for t in (r["document"], r["summary"])), seed=cfg["seed"]
    )
    train_pairs, truncated = encode_summaries(tokenizer, train_rows, train_cfg["max_source_len"], train_cfg["max_target_len"])
    valid_pairs, _ = encode_summaries(tokenizer, valid_rows, train_cfg["max_source_len"], train_cfg["max_target_len"])
    rouge_rows = valid_rows[: train_cfg["val_rouge_docs"]]
    logger = MetricsLogger(run.path, enabled=accelerator.is_main_process, wandb_cfg=cfg["logger"].get("wandb"), config=cfg, run_name=f"{cfg['stage']}-{run.run_id}")
    if rouge_rows:
        run.stats["lead_baseline"] = lead_baseline_rouge(rouge_rows)
        logger.log(run.stats["lead_baseline"], step=0)
    run.stats.update({"n_train": len(train_pairs), "n_valid": len(valid_pairs), "train_sources_truncated": truncated})
    validate = rouge_validator(rouge_rows, cfg["data"], train_cfg) if rouge_rows else None
    started = time.perf_counter()
    final, model = train(cfg, run, model, tokenizer, train_pairs, valid_pairs, validate, accelerator, logger)
    run.stats.update({"final_validation": final, "train_seconds": round(time.perf_counter() - started, 1)})
    save_model(accelerator, run, model, tokenizer)
    logger.close()
    if accelerator.is_main_process:
        run.finalize()
        accelerator.print(format_summary(run))
    return run


def format_summary(run: RunDir) -> str:
    lines = [f"{run.stage} -> {run.path}/model ({run.stats['steps']} steps, {run.stats['train_seconds']} s)"]
    for key, value in {**run.stats.get("lead_baseline", {}), **run.stats.get("final_validation", {})}.items():
        lines.append(f"  {key:<16}{value:.4f}")
    return "\n".join(lines)
