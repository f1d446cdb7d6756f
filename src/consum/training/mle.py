"""MLE training of a seq2seq model: the summarizer (``train_mle``) and QAGen (``train_qagen``).

The loop is :func:`consum.training.loop.train_loop`; this module supplies the MLE micro-step
(label-smoothed token NLL normalised by the update's target tokens, as fairseq), validation (loss,
and ROUGE or the QA parse rate on a sample) and the ``train_mle`` stage. The final model is saved
with ``save_pretrained`` in ``<run>/model``; later stages load it by path.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence

import torch

from consum.io.rundir import RunDir
from consum.losses.label_smoothing import label_smoothed_nll_sum
from consum.tracking import MetricsLogger
from consum.training.batching import rank_schedule, token_budget_batches
from consum.training.common import EncodedPair, collate_pairs, decoder_inputs, make_loader
from consum.training.loop import TrainData, to_device, train_loop

# validate(model, tokenizer) -> metrics; run on the main process only
Validator = Callable[[torch.nn.Module, object], dict]


def batch_loss(model, batch: dict, epsilon: float, pad_token_id: int, decoder_start_token_id: int):
    """Forward one micro-batch; return (label-smoothed loss sum, nll sum, target tokens)."""
    logits = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        decoder_input_ids=decoder_inputs(batch.get("decoder_targets", batch["labels"]), pad_token_id,
                                         decoder_start_token_id),
    ).logits
    return label_smoothed_nll_sum(logits, batch["labels"], epsilon)


def mle_micro_step(epsilon: float, pad_id: int, start_id: int, world_size: int):
    """The MLE micro-step: loss normalised by the target tokens of its whole update.

    DDP averages gradients over ranks, hence x world size: the update's gradient is
    Σ grad(token losses) / (target tokens of the update, all micro-batches of all ranks).
    """

    def step(model, batch):
        loss_sum, nll_sum, ntok = batch_loss(model, batch, epsilon, pad_id, start_id)
        return (
            loss_sum * world_size / batch["update_target_tokens"],
            {"loss": loss_sum, "nll": nll_sum, "weight": ntok},
        )

    return step


def pair_data(pairs: Sequence[EncodedPair], train_cfg: dict, pad_id: int) -> TrainData:
    lengths = [max(len(p.source_ids), len(p.target_ids)) for p in pairs]
    return TrainData(
        examples=pairs,
        batches=token_budget_batches(
            lengths, train_cfg["max_tokens"], train_cfg.get("max_examples_per_batch")
        ),
        target_tokens=[len(p.target_ids) - p.loss_from for p in pairs],
        collate=functools.partial(collate_pairs, pad_token_id=pad_id),
    )


@torch.no_grad()
def validation_loss(
    accelerator, model, pairs: Sequence[EncodedPair], train_cfg, pad_id: int, start_id: int
) -> dict:
    """Per-token label-smoothed loss and NLL on ``pairs``, split across processes."""
    if not pairs:
        return {}
    data = pair_data(pairs, train_cfg, pad_id)
    schedule, _ = rank_schedule(
        data.batches, data.target_tokens, epoch=0, seed=0, update_freq=1, world_size=1, rank=0
    )
    totals = torch.zeros(3, device=accelerator.device, dtype=torch.float64)
    # The bare model, not DDP's wrapper: DDP's forward broadcasts buffers (a collective), and a rank whose
    # share of the batches is shorter (8 batches over 3 ranks, 1 over 2) would leave the others hanging.
    model = accelerator.unwrap_model(model)
    with accelerator.split_between_processes(schedule) as mine:
        for batch in make_loader(pairs, mine, data.collate):
            loss, nll, ntok = batch_loss(
                model, to_device(batch, accelerator.device), train_cfg["label_smoothing"], pad_id, start_id
            )
            totals += torch.stack([loss.double(), nll.double(), ntok.double()])
    totals = accelerator.reduce(totals, reduction="sum")
    nll = (totals[1] / totals[2]).item()
    return {"val/loss": (totals[0] / totals[2]).item(), "val/nll": nll, "val/ppl": math.exp(min(nll, 50))}


def train(
    cfg: dict, run: RunDir, model, tokenizer, train_pairs, valid_pairs, validate: Validator | None,
    accelerator, logger: MetricsLogger,
):
    """MLE on ``train_pairs``; returns the last validation metrics and the unwrapped model."""
    train_cfg = cfg["train"]
    pad_id, start_id = tokenizer.pad_token_id, model.config.decoder_start_token_id

    def evaluate(prepared_model) -> dict:
        metrics = validation_loss(accelerator, prepared_model, valid_pairs, train_cfg, pad_id, start_id)
        if validate is not None and accelerator.is_main_process:
            metrics.update(validate(accelerator.unwrap_model(prepared_model), tokenizer))
        return metrics

    step = mle_micro_step(train_cfg["label_smoothing"], pad_id, start_id, accelerator.num_processes)
    return train_loop(
        cfg, run, model, pair_data(train_pairs, train_cfg, pad_id), step, evaluate, accelerator, logger
    )


# ---- the train_mle stage ---------------------------------------------------------------------


def rouge_validator(rows: Sequence[dict], data_cfg: dict, train_cfg: dict) -> Validator:
    """ROUGE-1/2/L F1 of generated summaries on a fixed sample of validation documents (``val/rouge1``...)."""
    from consum.generation.beam import beam_generate
    from consum.metrics.rouge import rouge_scores

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
        return {f"val/{k}": sum(s[k] for s in scores) / len(scores) for k in scores[0]}

    return validate


def lead_baseline_rouge(rows: Sequence[dict]) -> dict:
    from consum.metrics.rouge import lead_baseline, rouge_scores

    scores = rouge_scores([lead_baseline(r["document"]) for r in rows], [r["summary"] for r in rows])
    return {f"val/lead1_{k}": sum(s[k] for s in scores) / len(scores) for k in scores[0]}


def run(cfg: dict) -> RunDir:
    from consum.io.rundir import open_input
    from consum.models.loading import model_for_training
    from consum.training.common import (
        close_training_run,
        encode_summaries,
        open_training_run,
        record_model_input,
    )
    from consum.training.reference_filter import check_filter_config, filter_rows

    check_filter_config(cfg.get("filter") or {})  # before the run dir exists: a bad filter leaves none
    accelerator, run, logger = open_training_run(cfg)
    if logger is None:
        return run
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    run.add_input("data", data_run)
    # filter.by: the pairs whose reference passes (all by default); everything below sees only those
    train_rows = filter_rows(cfg, run, data_run, data_run.rows("train"))
    valid_rows = data_run.rows("validation") if "validation" in data_run.manifest["outputs"] else []
    train_cfg = cfg["train"]
    model, tokenizer = model_for_training(
        cfg["model"], lambda: (t for r in train_rows for t in (r["document"], r["summary"])), seed=cfg["seed"]
    )
    record_model_input(run, cfg["model"])
    train_pairs, truncated = encode_summaries(
        tokenizer, train_rows, train_cfg["max_source_len"], train_cfg["max_target_len"]
    )
    valid_pairs, _ = encode_summaries(
        tokenizer, valid_rows, train_cfg["max_source_len"], train_cfg["max_target_len"]
    )
    binding_cfg = cfg.get("binding") or {}  # conf/train_mle.yaml gives every key
    if binding_cfg.get("share"):
        from consum.training.binding import binding_pairs

        extra = binding_pairs(tokenizer, train_rows, train_pairs, share=float(binding_cfg["share"]),
                              seed=cfg["seed"], types=tuple(binding_cfg["types"]),
                              max_target_len=train_cfg["max_target_len"],
                              per_document=int(binding_cfg["per_document"]))
        run.stats["n_binding_pairs"] = len(extra)
        train_pairs = train_pairs + extra
    rouge_rows = valid_rows[: train_cfg["val_rouge_docs"]]
    if rouge_rows:
        run.stats["lead_baseline"] = lead_baseline_rouge(rouge_rows)
        logger.log(run.stats["lead_baseline"], step=0)
    run.stats.update(
        {"n_train": len(train_pairs), "n_valid": len(valid_pairs), "train_sources_truncated": truncated}
    )
    validate = rouge_validator(rouge_rows, cfg["data"], train_cfg) if rouge_rows else None
    started = time.perf_counter()
    final, model = train(cfg, run, model, tokenizer, train_pairs, valid_pairs, validate, accelerator, logger)
    run.stats.update({"final_validation": final, "train_seconds": round(time.perf_counter() - started, 1)})
    close_training_run(accelerator, run, model, tokenizer, logger, format_summary)
    return run


def format_summary(run: RunDir) -> str:
    lines = [f"{run.stage} -> {run.path}/model ({run.stats['steps']} steps, {run.stats['train_seconds']} s)"]
    if "filter" in run.stats:
        f = run.stats["filter"]
        lines.append(f"  filter by {f['by']}: kept {f['n_kept']} of {f['n_in']} training pairs (threshold "
                     f"{f['threshold']}, {f['n_no_evidence']} without evidence: {f['no_evidence']})")
    for key, value in {**run.stats.get("lead_baseline", {}), **run.stats.get("final_validation", {})}.items():
        lines.append(f"  {key:<20}{value:.4f}")
    return "\n".join(lines)
