"""ConSeq: contrastive retraining of the MLE summarizer on S+ / S- (``train_conseq``).

Each batch holds whole document groups (a document's positive(s) and negative(s) together, as the
original paired them in one mini-batch). The loss is one of :data:`consum.losses.LOSSES`
(``loss.name``): ``unlikelihood`` (the original), ``sequence``, ``margin_rank`` (BRIO-style) or
``dpo`` (against the frozen starting model). ``unlikelihood`` is summed over tokens and normalised by
the update's target tokens, as the original; the other losses average over the micro-batches of an
update. A held-out slice of the selected documents is never trained on: the mean sequence
log-prob of its positives and negatives, and their margin, are logged before and during training.

``span_unlikelihood`` reads the ``unsupported_spans`` of the S- rows (``select_contrast
spans.source=quals|oracle``), maps them to the negatives' label tokens through the tokenizer's
character offsets, and weights each negative token's unlikelihood by whether it is in the span; a
negative without a span token gets the whole-summary term, counted (``train/n_span_fallback`` per
micro-batch, ``stats["spans"]`` over the training set).

DPO's reference log-probs ``log π_ref(s)`` are computed once, before the first update, by the model
as loaded (eval mode), keyed by ``(doc_id, cand_id)``; the collator puts them into the batches. No
frozen copy of the model is kept, and no reference forward pass runs during training.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import defaultdict

import torch

from consum.contrast.collator import ContrastCollator, group_batches
from consum.contrast.spans import tokenize_with_span_masks
from consum.data.schema import DataError
from consum.io.keys import check_keys, stable_hash
from consum.io.rundir import RunDir, open_input
from consum.losses import compute_loss
from consum.losses.logprobs import sequence_logprob, target_mask, token_logprobs
from consum.losses.output import ranking_diagnostics
from consum.training.common import close_training_run, decoder_inputs, open_training_run
from consum.training.loop import TrainData, to_device, train_loop

SPAN_LOSSES = ("span_unlikelihood",)  # losses that take the batch's span_mask
TOKEN_SUM_LOSSES = ("unlikelihood", "span_unlikelihood")  # Σ token losses / tokens of the update


def build_groups(contrast_rows: list[dict], documents: dict[str, str]) -> list[dict]:
    """One group per document: its text and its (cand_id, role, text) targets, in doc_id order.

    A negative keeps its ``unsupported_spans`` (as ``spans``) when the contrast rows have them."""
    targets = defaultdict(list)
    for r in contrast_rows:
        if r["doc_id"] not in documents:
            raise DataError(
                f"contrast row {r['doc_id']}/{r['cand_id']} names a document missing from the data run"
            )
        target = {"cand_id": r["cand_id"], "role": r["role"], "text": r["text"]}
        if r["role"] == "neg" and r.get("unsupported_spans") is not None:
            target["spans"] = r["unsupported_spans"]
        targets[r["doc_id"]].append(target)
    return [{"doc_id": d, "document": documents[d], "targets": targets[d]} for d in sorted(targets)]


def check_spans(loss_name: str, contrast_rows: list[dict], path) -> None:
    """A span loss needs the unsupported spans of every S- row: refuse rows written without them."""
    if loss_name not in SPAN_LOSSES:
        return
    if any(r["role"] == "neg" and r.get("unsupported_spans") is None for r in contrast_rows):
        raise DataError(
            f"loss={loss_name} needs the unsupported spans of the S- rows, but the contrast run {path} has "
            "none: rerun select_contrast with spans.source=quals (needs score_quals detail=true) or "
            "spans.source=oracle (factworld data)"
        )


def split_heldout(groups: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Deterministic by doc_id hash: the same documents are held out whatever the order or world size."""
    paired = lambda g: {t["role"] for t in g["targets"]} == {"pos", "neg"}  # noqa: E731
    held = [
        g for g in groups
        if paired(g) and stable_hash(f"{seed}/{g['doc_id']}") % 10_000 < fraction * 10_000
    ]
    held_ids = {g["doc_id"] for g in held}
    return [g for g in groups if g["doc_id"] not in held_ids], held


def tokenize_groups(
    tokenizer, groups: list[dict], max_source_len: int, max_target_len: int, with_spans: bool = False
) -> list[dict]:
    """The collator's examples. ``with_spans``: negatives also get ``span_mask`` over their ids, from
    their character ``spans`` (the ids are the same either way)."""
    if not groups:
        return []
    sources = tokenizer(
        [g["document"] for g in groups], truncation=True, max_length=max_source_len
    )["input_ids"]
    targets = [t for g in groups for t in g["targets"]]
    texts = [t["text"] for t in targets]
    if with_spans:
        ids, masks = tokenize_with_span_masks(tokenizer, texts, [t.get("spans") for t in targets],
                                              max_target_len)
    else:
        ids, masks = tokenizer(texts, truncation=True, max_length=max_target_len)["input_ids"], None
    encoded = iter(zip(ids, masks or [None] * len(ids)))
    examples = []
    for g, src in zip(groups, sources):
        example_targets = []
        for t in g["targets"]:
            target_ids, mask = next(encoded)
            example_targets.append({"ids": target_ids, "role": t["role"], "cand_id": t["cand_id"]})
            if mask is not None:
                example_targets[-1]["span_mask"] = mask
        examples.append({"doc_id": g["doc_id"], "input_ids": src, "targets": example_targets})
    return examples


def span_stats(examples: list[dict]) -> dict:
    """Training negatives, and those without a span token (trained on the whole summary instead)."""
    masks = [t.get("span_mask") or [] for e in examples for t in e["targets"] if t["role"] == "neg"]
    return {"n_neg": len(masks), "n_span_fallback": sum(not any(m) for m in masks),
            "n_span_tokens": sum(sum(m) for m in masks)}


def forward_logits(model, batch: dict, pad_id: int, start_id: int) -> torch.Tensor:
    return model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        decoder_input_ids=decoder_inputs(batch["labels"], pad_id, start_id),
    ).logits


def loss_options(loss_cfg: dict) -> dict:
    return {k: v for k, v in loss_cfg.items() if k != "name"}


def conseq_micro_step(loss_cfg: dict, pad_id: int, start_id: int, world_size: int, update_freq: int):
    """The ConSeq micro-step. DPO reads π_ref from ``batch["reference_logprobs"]`` (see
    :func:`precompute_reference`): the step runs the policy only."""
    name, options = loss_cfg["name"], loss_options(loss_cfg)
    token_sum = name in TOKEN_SUM_LOSSES  # parity: Σ token losses / tokens of the whole update (spec §7.2)
    if token_sum:
        options["reduction"] = "sum"

    def step(model, batch):
        logits = forward_logits(model, batch, pad_id, start_id)
        extra = {}
        if name == "dpo":
            if "reference_logprobs" not in batch:
                raise ValueError("dpo needs batch['reference_logprobs'] (see precompute_reference)")
            extra["reference_sequence_logprobs"] = batch["reference_logprobs"]
        if name in SPAN_LOSSES:
            if "span_mask" not in batch:
                raise ValueError(f"{name} needs batch['span_mask'] (ContrastCollator with_span_mask=True)")
            extra["span_mask"] = batch["span_mask"]
        out = compute_loss(name, logits, batch["labels"], batch["is_positive"], batch["group_ids"],
                           **options, **extra)
        scale = world_size / batch["update_target_tokens"] if token_sum else 1.0 / update_freq
        # logged per micro-batch and averaged: loss parts, sequence log-probs, margin, ranking accuracy
        stats = {k: v.detach().float() for k, v in out.parts.items() if v.numel() == 1}
        n_tokens = max(int(target_mask(batch["labels"]).sum()), 1)
        stats["loss"] = out.loss.detach() / n_tokens if token_sum else out.loss.detach()
        stats["weight"] = torch.tensor(1.0)
        if "n_span_fallback" in batch:  # negatives given the whole-summary term, per micro-batch
            stats["n_span_fallback"] = torch.tensor(float(batch["n_span_fallback"]))
        return out.loss * scale, stats

    return step


@torch.no_grad()
def reference_logprobs(
    model, examples: list[dict], batches: list[list[int]], collator: ContrastCollator,
    pad_id: int, start_id: int, device, normalise: bool,
) -> list[tuple[tuple[str, str], float]]:
    """``((doc_id, cand_id), log π_ref(target))`` for every target of ``batches``, under ``model`` as it is.

    ``log π_ref`` is reduced exactly as :func:`consum.losses.dpo_loss` reduces a per-token reference:
    the sum over the target tokens, or their mean with ``normalise``. Each batch is collated as in
    training (the same micro-batches, so the same padding), so the values are those that a frozen
    copy of the model would give at every training step.
    """
    out = []
    for indices in batches:
        batch = to_device(collator([examples[i] for i in indices]), device)
        token_lp = token_logprobs(forward_logits(model, batch, pad_id, start_id), batch["labels"])
        values = sequence_logprob(token_lp, target_mask(batch["labels"]), normalise=normalise)
        out.extend(zip(zip(batch["doc_ids"], batch["cand_ids"]), values.tolist()))
    return out


def precompute_reference(
    model, data: TrainData, collator: ContrastCollator, accelerator, pad_id: int, start_id: int,
    normalise: bool,
) -> dict[tuple[str, str], float]:
    """DPO's π_ref for every training target, once, before training: the model in eval mode, the
    micro-batches split between processes and gathered; keys checked (each target exactly once)."""
    from accelerate.utils import gather_object

    model.to(accelerator.device).eval()
    with accelerator.split_between_processes(data.batches) as mine:
        local = reference_logprobs(model, data.examples, mine, collator, pad_id, start_id, accelerator.device,
                                   normalise)
    pairs = [pair for part in gather_object([local]) for pair in part]
    expected = [(e["doc_id"], t["cand_id"]) for e in data.examples for t in e["targets"]]
    check_keys(expected, [key for key, _ in pairs], "reference log-probs")
    return dict(pairs)


@torch.no_grad()
def heldout_diagnostics(
    model, examples: list[dict], collator: ContrastCollator, pad_id: int, start_id: int, device,
    batch_groups: int = 16,
) -> dict:
    """Mean length-normalised sequence log-prob of held-out positives and negatives, margin, ranking
    accuracy."""
    if not examples:
        return {}
    means, positives, groups, present = [], [], [], []
    for start in range(0, len(examples), batch_groups):
        batch = to_device(collator(examples[start : start + batch_groups]), device)
        lp = token_logprobs(forward_logits(model, batch, pad_id, start_id), batch["labels"])
        mask = target_mask(batch["labels"])
        means.append(sequence_logprob(lp, mask))
        positives.append(batch["is_positive"])
        groups.append(batch["group_ids"] + start)
        present.append(mask.any(-1))
    diag = ranking_diagnostics(torch.cat(means), torch.cat(positives), torch.cat(groups), torch.cat(present))
    return {f"heldout/{k}": float(v) for k, v in diag.items()}


def contrast_groups(cfg: dict, contrast_run, data_run) -> tuple[list[dict], list[dict]]:
    """(training groups, held-out groups) of the contrast run, documents joined from the data run."""
    split = contrast_run.manifest["stats"]["split"]
    documents = {
        r["doc_id"]: r["document"]
        for r in data_run.table(split).select_columns(["doc_id", "document"]).to_list()
    }
    rows = contrast_run.rows("contrast")
    check_spans(cfg["loss"]["name"], rows, contrast_run.path)
    train_groups, heldout_groups = split_heldout(build_groups(rows, documents), cfg["heldout_fraction"],
                                                 cfg["seed"])
    if not train_groups:
        raise DataError(f"no contrast groups to train on in {contrast_run.path}")
    return train_groups, heldout_groups


def run(cfg: dict) -> RunDir:
    from consum.models.loading import load_model, load_tokenizer

    accelerator, run, logger = open_training_run(cfg)
    if logger is None:
        return run
    train_cfg = cfg["train"]
    # build_contrast: the stage's name before it became select_contrast (older run dirs)
    contrast_run = open_input(cfg["inputs"]["contrast"], expected_stage=("select_contrast", "build_contrast"))
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    init_run = open_input(cfg["inputs"]["model"], expected_stage=("train_mle", "train_conseq"))
    for name, r in (("contrast", contrast_run), ("data", data_run), ("model", init_run)):
        run.add_input(name, r)
    train_groups, heldout_groups = contrast_groups(cfg, contrast_run, data_run)
    tokenizer = load_tokenizer(init_run.model_path)
    model = load_model(init_run.model_path)
    pad_id, start_id = tokenizer.pad_token_id, model.config.decoder_start_token_id
    with_spans = cfg["loss"]["name"] in SPAN_LOSSES
    train_examples = tokenize_groups(
        tokenizer, train_groups, train_cfg["max_source_len"], train_cfg["max_target_len"], with_spans
    )
    heldout_examples = tokenize_groups(  # the held-out diagnostics are sequence log-probs: no spans
        tokenizer, heldout_groups, train_cfg["max_source_len"], train_cfg["max_target_len"]
    )
    collator = ContrastCollator(pad_token_id=pad_id)
    lengths = [(len(e["input_ids"]), [len(t["ids"]) for t in e["targets"]]) for e in train_examples]
    data = TrainData(
        examples=train_examples,
        batches=group_batches(lengths, train_cfg["max_tokens"]),
        target_tokens=[sum(t) for _, t in lengths],
        collate=dataclasses.replace(collator, with_span_mask=with_spans),
    )
    if with_spans:
        run.stats["spans"] = span_stats(train_examples)
    evaluate = functools.partial(
        heldout_diagnostics, examples=heldout_examples, collator=collator, pad_id=pad_id, start_id=start_id,
        device=accelerator.device,
    )
    before = evaluate(model.to(accelerator.device).eval()) if accelerator.is_main_process else {}
    logger.log(before, step=0)  # the held-out curves start at step 0: the model before training
    if cfg["loss"]["name"] == "dpo":  # π_ref = the model as loaded, computed once; no second model
        started = time.perf_counter()
        reference = precompute_reference(model, data, collator, accelerator, pad_id, start_id,
                                         cfg["loss"].get("normalise", False))
        data.collate = dataclasses.replace(collator, reference_logprobs=reference)
        run.stats.update(n_reference_logprobs=len(reference),
                         reference_seconds=round(time.perf_counter() - started, 2))
    world, update_freq = accelerator.num_processes, train_cfg["update_freq"]
    step = conseq_micro_step(cfg["loss"], pad_id, start_id, world, update_freq)
    started = time.perf_counter()
    main_only = lambda m: evaluate(accelerator.unwrap_model(m)) if accelerator.is_main_process else {}  # noqa: E731
    after, model = train_loop(cfg, run, model, data, step, main_only, accelerator, logger)
    run.stats.update({
        "loss": cfg["loss"]["name"], "n_train_groups": len(train_groups),
        "n_heldout_groups": len(heldout_groups), "heldout_before": before, "heldout_after": after,
        "train_seconds": round(time.perf_counter() - started, 1),
    })
    close_training_run(accelerator, run, model, tokenizer, logger, format_summary)
    return run


def format_summary(run: RunDir) -> str:
    def fmt(value):
        return "n/a" if value is None else f"{value:.4f}"

    before = run.stats["heldout_before"].get("heldout/margin")
    after = run.stats["heldout_after"].get("heldout/margin")
    return (f"train_conseq[{run.stats['loss']}] -> {run.path}/model ({run.stats['steps']} steps); "
            f"held-out margin (pos − neg mean log-prob): {fmt(before)} -> {fmt(after)}")
