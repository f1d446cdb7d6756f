"""The ``train_qagen`` stage: the MLE recipe on QA-generation data (spec §1.1).

source = context (truncated), target = question ⊕ SEP ⊕ answer ⊕ </s>, with SEP a dedicated
special token added to the tokenizer (embeddings resized), not the original's hijacked BPE id.
QA sources (``qagen_data.source``): ``factworld`` (the QA outputs of a prepare_data run), ``squad``
(SQuAD v1.1 json by path, or ``rajpurkar/squad`` from the hub) and ``newsqa`` (combined json).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import Counter
from collections.abc import Sequence

from consum.data import qa as qa_data
from consum.data.schema import DataError
from consum.io.rundir import RunDir, open_input
from consum.training.common import (
    EncodedPair,
    close_training_run,
    open_training_run,
    record_model_input,
    truncate,
)
from consum.training.mle import format_summary, train


def load_qa_examples(cfg: dict, run: RunDir) -> dict[str, list[dict]]:
    """QA examples per split (train, validation) from the configured source."""
    source_cfg = cfg["qagen_data"]
    source = source_cfg["source"]
    if source == "factworld":
        data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
        run.add_input("data", data_run)
        kinds = set(source_cfg.get("context_types") or ("document", "summary"))
        return {
            split: qa_data.factworld_examples(
                r for r in data_run.rows(f"qa_{split}") if r["context_type"] in kinds
            )
            for split in ("train", "validation")
        }
    if source == "squad":
        if not source_cfg.get("train_path"):
            return {
                split: qa_data.squad_examples_from_hub(source_cfg["hub_path"], hub)
                for split, hub in (("train", "train"), ("validation", "validation"))
            }
        splits, dropped_articles = squad_files(source_cfg, seed=cfg["seed"])
        run.stats["train_articles_dropped_as_validation"] = dropped_articles
        return splits
    if source == "newsqa":
        path = source_cfg["newsqa_path"]
        data = qa_data.load_qa_json(path)
        return {split: qa_data.newsqa_examples(data, path, split) for split in ("train", "validation")}
    raise DataError(f"unknown qagen_data.source {source!r}; expected factworld, squad or newsqa")


def squad_files(source_cfg: dict, seed: int) -> tuple[dict[str, list[dict]], int]:
    """SQuAD json files: ``train_path`` (one file or a list) for training; ``validation_path`` for
    validation, of which ``validation_articles`` (when set) whole articles are held out, chosen by a
    seeded hash of their titles, the others free to train. No article is in both: a training
    article whose title is also a validation one is dropped. Returns the splits and how many
    articles were dropped so."""
    answers = source_cfg.get("answers") or "all"
    train_paths = source_cfg["train_path"]
    train_paths = [train_paths] if isinstance(train_paths, str) else list(train_paths)
    by_path = {path: qa_data.squad_examples_from_json(qa_data.load_qa_json(path), path, answers)
               for path in dict.fromkeys([*train_paths, *filter(None, [source_cfg.get("validation_path")])])}
    train = [e for path in train_paths for e in by_path[path]]
    validation = by_path.get(source_cfg.get("validation_path"), [])
    if validation and source_cfg.get("validation_articles"):
        _, validation = qa_data.split_articles(validation, int(source_cfg["validation_articles"]), seed)
    held_out = {e["article"] for e in validation}
    kept = [e for e in train if e["article"] not in held_out]
    splits = {"train": kept, **({"validation": validation} if validation else {})}
    return splits, len({e["article"] for e in train} & held_out)


def encode_qa(
    tokenizer, examples: Sequence[dict], sep_id: int, max_source_len: int, max_target_len: int,
    answer_conditioned: float = 0.0, seed: int = 0,
) -> tuple[list[EncodedPair], dict]:
    """Encode QA examples. Dropped (counted): targets longer than max_target_len (the original
    skipped q+a > 1022 tokens) and NewsQA answers cut off by the context truncation.

    ``answer_conditioned``: the share of examples (chosen by a seeded hash of ``qa_id``) whose source
    is ``a ⊕ SEP ⊕ context`` instead of the context (``qa.encode_answer_conditioned_source``): the
    same model then also asks a question about a given answer (``quals.answers=spans``).
    """
    contexts = tokenizer(
        [e["context"] for e in examples], add_special_tokens=True, return_offsets_mapping=True
    )
    pairs, dropped = [], {"target_too_long": 0, "answer_truncated": 0}
    n_conditioned = 0
    for ex, src, offsets in zip(examples, contexts["input_ids"], contexts["offset_mapping"]):
        target = qa_data.encode_qa_target(tokenizer, ex["question"], ex["answer"], sep_id)
        if len(target) > max_target_len:
            dropped["target_too_long"] += 1
            continue
        conditioned = answer_conditioned > 0 and _hash_share(seed, ex["qa_id"]) < answer_conditioned
        room = max_source_len  # the answer prefix takes room from the context: its answer must still fit
        if conditioned:
            room -= len(tokenizer(ex["answer"], add_special_tokens=False)["input_ids"]) + 1
        if len(src) > room and ex.get("answer_end") is not None:
            kept_chars = offsets[max(room - 2, 0)][1]
            if ex["answer_end"] > kept_chars:
                dropped["answer_truncated"] += 1
                continue
        if conditioned:
            n_conditioned += 1
            source = qa_data.encode_answer_conditioned_source(
                tokenizer, ex["answer"], src, sep_id, max_source_len
            )
        else:
            source = truncate(src, max_source_len)
        pairs.append(EncodedPair(ex["qa_id"], source, target))
    dropped["kept_answer_conditioned"] = n_conditioned  # not dropped: how many of the kept pairs
    return pairs, dropped


def _hash_share(seed: int, key: str) -> float:
    """A number in [0, 1) fixed by (seed, key): which examples are answer-conditioned, on every rank."""
    digest = hashlib.sha256(f"{seed}\x1f{key}\x1fanswer_conditioned".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def parse_rate_validator(examples: Sequence[dict], separator: str, train_cfg: dict, max_len: int):
    """Share of greedy outputs that parse as question ⊕ SEP ⊕ answer (non-empty both sides), share whose
    answer occurs in the context, and the reading gap: the mean token NLL of each example's QA target
    given another example's context minus given its own (0 = the QAGen ignores its input, and QUALS,
    which compares a pair's likelihood given the document and given the summary, measures nothing)."""
    def validate(model, tokenizer) -> dict:
        contexts = [e["context"] for e in examples]
        outputs = greedy_raw(model, tokenizer, contexts, train_cfg["max_source_len"], max_len)
        parsed = [o.split(separator) for o in outputs]
        ok = [len(p) == 2 and bool(p[0].strip()) and bool(p[1].strip()) for p in parsed]
        # compared without case, spaces and punctuation: a WordPiece QAGen decodes "21:45" as "21 : 45"
        in_context = [k and _letters(p[1]) in _letters(c) for k, p, c in zip(ok, parsed, contexts)]
        own, other = context_nll(model, tokenizer, examples, separator, train_cfg["max_source_len"])
        return {"val/parse_rate": sum(ok) / len(ok), "val/answer_in_context": sum(in_context) / len(ok),
                "val/nll_own_context": own, "val/nll_other_context": other, "val/reading_gap": other - own}

    return validate


def context_nll(model, tokenizer, examples: Sequence[dict], separator: str, max_source_len: int,
                batch_size: int = 16) -> tuple[float, float]:
    """Mean token NLL of the examples' QA targets given their own contexts, and given the next example's
    context (rotated by one: the same targets, the same contexts, mismatched)."""
    from consum.generation.scoring import right_padded, teacher_forced_logprobs

    sep_id = tokenizer.convert_tokens_to_ids(separator)
    targets = [qa_data.encode_qa_target(tokenizer, e["question"], e["answer"], sep_id) for e in examples]
    contexts = [e["context"] for e in examples]
    sources = tokenizer(contexts, truncation=True, max_length=max_source_len)["input_ids"]
    totals = []
    for shift in (0, 1):
        nll, n_tokens = 0.0, 0
        for start in range(0, len(examples), batch_size):
            rows = range(start, min(start + batch_size, len(examples)))
            src_ids, src_mask = right_padded([sources[(r + shift) % len(sources)] for r in rows],
                                             tokenizer.pad_token_id)
            tgt_ids, tgt_mask = right_padded([targets[r] for r in rows], tokenizer.pad_token_id)
            logprobs = teacher_forced_logprobs(model, src_ids, src_mask, tgt_ids, tgt_mask)
            nll -= logprobs.sum().item()
            n_tokens += int(tgt_mask.sum())
        totals.append(nll / n_tokens)
    return totals[0], totals[1]


def _letters(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def greedy_raw(
    model, tokenizer, contexts: Sequence[str], max_source_len: int, max_len: int, batch_size: int = 32
) -> list[str]:
    """Greedy decode keeping the separator (a special token) in the text."""
    import torch

    device = next(model.parameters()).device
    out_texts = []
    drop = {tokenizer.pad_token, tokenizer.eos_token, tokenizer.bos_token}
    with torch.inference_mode():
        for start in range(0, len(contexts), batch_size):
            batch = tokenizer(
                list(contexts[start : start + batch_size]), truncation=True, max_length=max_source_len,
                padding=True, return_tensors="pt",
            ).to(device)
            out = model.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=max_len)
            for ids in out.tolist():
                tokens = [t for t in tokenizer.convert_ids_to_tokens(ids) if t not in drop]
                out_texts.append(tokenizer.convert_tokens_to_string(tokens))
    return out_texts


def run(cfg: dict) -> RunDir:
    from consum.models.loading import model_for_training
    from consum.models.tokenizer import add_separator_token

    accelerator, run, logger = open_training_run(cfg)
    if logger is None:
        return run
    train_cfg, separator = cfg["train"], cfg["separator"]
    examples = load_qa_examples(cfg, run)
    for split, exs in examples.items():
        qa_data.check_examples(exs, f"qagen_data[{split}]")
    shares = cfg["qagen_data"].get("context") or {"paragraph": 1.0}
    if set(shares) != {"paragraph"}:  # some examples read a cut of their context (seeded per example)
        examples = {split: qa_data.with_training_contexts(exs, shares, cfg["seed"])
                    for split, exs in examples.items()}
        run.stats["context_modes"] = dict(Counter(e["context_mode"] for e in examples["train"]))
    limit = cfg["qagen_data"].get("max_train_examples")
    if limit and len(examples["train"]) > limit:  # a seeded subsample, for quick CPU runs
        examples["train"] = random.Random(cfg["seed"]).sample(examples["train"], limit)
    if not examples.get("train"):
        raise DataError("QAGen training data is empty")
    model_cfg = dict(cfg["model"])
    if cfg["inputs"].get("init"):
        # Start from an upstream summarizer (train-mle) instead of random weights: the in-domain
        # analogue of the original's QAGen, fine-tuned from pretrained BART-large (spec §1.3).
        init_run = open_input(
            cfg["inputs"]["init"], expected_stage=("train_mle", "train_qagen", "train_conseq")
        )
        run.add_input("init", init_run)
        model_cfg["name_or_path"] = str(init_run.model_path)
    else:
        record_model_input(run, model_cfg)
    model, tokenizer = model_for_training(
        model_cfg,
        lambda: (t for e in examples["train"] for t in (e["context"], e["question"])),
        separator=separator,
        seed=cfg["seed"],
    )
    sep_id = add_separator_token(tokenizer, separator)
    conditioned = float(cfg["qagen_data"].get("answer_conditioned") or 0.0)
    if not 0.0 <= conditioned <= 1.0:
        raise DataError(f"qagen_data.answer_conditioned must lie in [0, 1], got {conditioned}")
    train_pairs, dropped = encode_qa(
        tokenizer, examples["train"], sep_id, train_cfg["max_source_len"], train_cfg["max_target_len"],
        answer_conditioned=conditioned, seed=cfg["seed"],
    )
    valid_pairs, _ = encode_qa(
        tokenizer, examples.get("validation", []), sep_id, train_cfg["max_source_len"],
        train_cfg["max_target_len"], answer_conditioned=conditioned, seed=cfg["seed"],
    )
    # parse-rate sample: distinct validation contexts, fixed by the seed
    contexts = list({e["context"]: e for e in examples.get("validation", [])}.values())
    random.Random(cfg["seed"]).shuffle(contexts)
    sample = contexts[: train_cfg["val_rouge_docs"]]
    run.stats.update({
        "n_train": len(train_pairs), "n_valid": len(valid_pairs),
        "n_answer_conditioned": dropped.pop("kept_answer_conditioned"), "dropped": dropped,
        "separator": separator, "separator_id": sep_id,
    })
    validate = (
        parse_rate_validator(sample, separator, train_cfg, train_cfg["max_target_len"]) if sample else None
    )
    started = time.perf_counter()
    final, model = train(cfg, run, model, tokenizer, train_pairs, valid_pairs, validate, accelerator, logger)
    model.config.qa_separator = separator  # travels with the checkpoint: QUALS reads it
    # whether it learned answer-conditioned sources: quals.answers=spans refuses a QAGen that did not
    model.config.qa_answer_conditioned = conditioned > 0
    run.stats.update({"final_validation": final, "train_seconds": round(time.perf_counter() - started, 1)})
    close_training_run(accelerator, run, model, tokenizer, logger, format_summary)
    return run
