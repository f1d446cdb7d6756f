"""The ``generate`` stage: k candidate summaries for every document of a split.

Default (the original's ConSeq sampling, spec §6.1): 6 top-k (k=50) samples, temperature 1.
Also ``beam`` (beam search, k best) and ``diverse`` (diverse beam search, k groups).
Sampling is seeded per document (seed + stable hash of doc_id) and per sample, so candidates do not
depend on the number of processes, the shard or the batch a document lands in.

Work is split in shards of documents; each process takes a slice of the missing shards
(``split_between_processes``), writes them atomically, and the main process checks that the
output keys are exactly (doc_id, cand_id) for every document and candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from consum.data.schema import DataError
from consum.io.keys import check_keys, document_seed
from consum.io.preemption import StopSignals
from consum.io.rundir import RunDir, open_input
from consum.io.shards import chunk, pending_shards, read_table, run_shards
from consum.io.stage import open_stage

CANDIDATE_COLUMNS = ("doc_id", "cand_id", "text", "method", "gen_logprob_sum", "gen_logprob_mean", "n_tokens")


def cand_ids(method: str, k: int) -> list[str]:
    prefix = {"sampling": "s", "beam": "b", "diverse": "d"}[method]
    return [f"{prefix}{i}" for i in range(k)]


def generate_hypotheses(model, input_ids, attention_mask, gen_cfg: dict, seeds: Sequence[int]):
    """Per source, ``num_candidates`` hypotheses (consum.generation decoders)."""
    from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
    from consum.generation.sampling import SamplingConfig, sample_topk

    method, k = gen_cfg["method"], gen_cfg["num_candidates"]
    if method == "sampling":
        config = SamplingConfig(num_samples=k, top_k=gen_cfg["top_k"], temperature=gen_cfg["temperature"],
                                min_len=gen_cfg["min_len"], max_len=gen_cfg["max_len"])
        return sample_topk(model, input_ids, attention_mask, config, list(seeds))
    if method in ("beam", "diverse"):
        groups = 1 if method == "beam" else gen_cfg["num_groups"]
        config = DiverseBeamConfig(
            num_beams=gen_cfg["num_beams"], num_groups=groups,
            diversity_strength=0.0 if method == "beam" else gen_cfg["diversity_strength"],
            min_len=gen_cfg["min_len"], max_len=gen_cfg["max_len"], lenpen=gen_cfg["lenpen"],
        )
        return [hyps[:k] for hyps in diverse_beam_search(model, input_ids, attention_mask, config)]
    raise ValueError(f"unknown generation.method {method!r}; expected sampling, beam or diverse")


def generate_rows(model, tokenizer, docs: Sequence[dict], cfg: dict) -> list[dict]:
    """Candidates of ``docs`` as keyed rows, in ``docs`` order; batches are length-sorted."""
    gen_cfg = cfg["generation"]
    device = next(model.parameters()).device
    encoded = tokenizer(
        [d["document"] for d in docs], truncation=True, max_length=cfg["max_source_len"]
    )["input_ids"]
    order = sorted(range(len(docs)), key=lambda i: len(encoded[i]))
    by_doc: dict[int, list[dict]] = {}
    ids = cand_ids(gen_cfg["method"], gen_cfg["num_candidates"])
    for start in range(0, len(order), cfg["batch_size"]):
        idx = order[start : start + cfg["batch_size"]]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(device)
        seeds = [document_seed(cfg["seed"], docs[i]["doc_id"]) for i in idx]
        for i, hyps in zip(
            idx, generate_hypotheses(model, batch["input_ids"], batch["attention_mask"], gen_cfg, seeds)
        ):
            by_doc[i] = [
                {
                    "doc_id": docs[i]["doc_id"],
                    "cand_id": cand_id,
                    "text": tokenizer.decode(h.tokens, skip_special_tokens=True).strip(),
                    "method": gen_cfg["method"],
                    "gen_logprob_sum": float(sum(h.token_logprobs)),
                    "gen_logprob_mean": float(sum(h.token_logprobs) / len(h.token_logprobs)),
                    "n_tokens": len(h.tokens),
                }
                for cand_id, h in zip(ids, hyps)
            ]
    return [row for i in range(len(docs)) for row in by_doc[i]]


def load_generation_model(model_path, precision: str, device):
    from consum.models.loading import load_model, load_tokenizer

    dtype = {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    model = load_model(model_path, dtype=dtype).to(device).eval()
    return model, load_tokenizer(model_path)


def run(cfg: dict, *, echo=print) -> RunDir:
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=bool(cfg.get("cpu", False)))
    run = open_stage(cfg, accelerator, echo=echo)
    if run.is_complete:
        return run
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    model_run = open_input(cfg["inputs"]["model"], expected_stage=("train_mle", "train_conseq"))
    run.add_input("data", data_run)
    run.add_input("model", model_run)
    split = cfg["split"]
    if split not in data_run.manifest["outputs"]:
        raise DataError(f"data run {data_run.path} has no split {split!r}")
    docs = [
        {"doc_id": r["doc_id"], "document": r["document"]}
        for r in data_run.table(split).select_columns(["doc_id", "document"]).to_list()
    ]
    if cfg.get("max_docs"):
        docs = docs[: cfg["max_docs"]]
    if not docs:
        raise DataError(f"split {split!r} of {data_run.path} is empty: nothing to generate")
    model, tokenizer = load_generation_model(
        model_run.model_path, cfg.get("precision", "no"), accelerator.device
    )

    shards = chunk(docs, cfg["shard_size"])
    accelerator.wait_for_everyone()  # every rank lists the missing shards before any rank writes
    pending = pending_shards(run.path, "candidates", len(shards))
    accelerator.wait_for_everyone()
    # a stop signal (consum.io.preemption) ends the loop after the shard in flight, which is written whole
    with accelerator.split_between_processes(pending) as mine, StopSignals() as stop:
        progress = tqdm(
            total=len(pending), desc=f"generate[{split}]", disable=not accelerator.is_main_process
        )
        crash_after = (cfg.get("fault") or {}).get("after_shards")  # test hook: simulate a kill
        for n_done, _ in enumerate(
            run_shards(
                run.path, "candidates", shards, lambda d: generate_rows(model, tokenizer, d, cfg),
                shard_indices=mine,
            ),
            1,
        ):
            progress.update(accelerator.num_processes)
            if crash_after is not None and n_done >= crash_after:
                raise RuntimeError(f"fault.after_shards={crash_after}: simulated crash")
            if stop.requested:
                stop.exit(is_main=accelerator.is_main_process, what=f"{n_done} shards written by this rank")
        progress.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        table = read_table(run.path, "candidates")
        ids = cand_ids(cfg["generation"]["method"], cfg["generation"]["num_candidates"])
        check_keys(
            [(d["doc_id"], c) for d in docs for c in ids],
            zip(table["doc_id"], table["cand_id"]),
            "generate candidates",
        )
        run.record_output("candidates", key=["doc_id", "cand_id"])
        run.stats.update({
            "split": split, "n_docs": len(docs), "method": cfg["generation"]["method"],
            "n_candidates": table.num_rows,
        })
        run.finalize()
        echo(f"generate -> {run.path}: {table.num_rows} candidates for {len(docs)} documents ({split})")
    return run
