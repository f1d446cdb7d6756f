"""The ``score_quals`` stage: QUALS of references and/or candidates of a split, sharded, resumable,
multi-process (one process per GPU, or 2 on CPU), key-checked.

Output ``scores``: keyed rows (doc_id, cand_id, quals, n_qa, n_generated, document_truncated,
document_windows);
references have cand_id "ref". With ``detail=true`` also ``details``: one row per kept QA pair
(question, answer, tokens, per-token doc and summary log-probs, pair score) for explanations.
"""

from __future__ import annotations

import time
from collections import defaultdict

from tqdm.auto import tqdm

from consum.data.schema import DataError
from consum.io.keys import REFERENCE_CAND_ID, check_keys, check_unique
from consum.io.preemption import StopSignals
from consum.io.rundir import RunDir, open_input
from consum.io.shards import chunk, pending_shards, read_table, run_shards, write_shard
from consum.io.stage import open_stage
from consum.quals.scorer import QualsScorer


def collect_items(cfg: dict, run: RunDir) -> list[dict]:
    """Per document: its text and the (cand_id, summary) pairs to score, in data order."""
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    run.add_input("data", data_run)
    split = cfg["split"]
    if split not in data_run.manifest["outputs"]:
        raise DataError(f"data run {data_run.path} has no split {split!r}")
    rows = data_run.rows(split)
    if cfg.get("max_docs"):
        rows = rows[: cfg["max_docs"]]
    summaries: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if cfg["score_references"]:
        for r in rows:
            summaries[r["doc_id"]].append((REFERENCE_CAND_ID, r["summary"]))
    if cfg["inputs"].get("candidates"):
        cand_run = open_input(cfg["inputs"]["candidates"], expected_stage=("generate", "evaluate"))
        run.add_input("candidates", cand_run)
        known = {r["doc_id"] for r in rows}
        cands = cand_run.table("candidates").select_columns(["doc_id", "cand_id", "text"]).to_list()
        check_unique([(c["doc_id"], c["cand_id"]) for c in cands], "candidates")
        stray = {c["doc_id"] for c in cands} - known
        if stray and not cfg.get("max_docs"):
            raise DataError(
                f"{len(stray)} candidate doc_ids are not in split {split!r} of {data_run.path}, "
                f"e.g. {sorted(stray)[:3]}"
            )
        for c in cands:
            if c["doc_id"] in known:
                summaries[c["doc_id"]].append((c["cand_id"], c["text"]))
    items = [
        {"doc_id": r["doc_id"], "document": r["document"], "summaries": summaries[r["doc_id"]],
         **({"doc_facts": r["doc_facts"]} if "doc_facts" in r else {})}  # factworld: the oracle's facts
        for r in rows if summaries[r["doc_id"]]
    ]
    if not items:
        raise DataError("nothing to score: no references (score_references=false) and no candidates")
    return items


def score_shard(scorer: QualsScorer, items: list[dict], detail: bool) -> tuple[list[dict], list[dict]]:
    results = scorer.score_groups(
        [it["document"] for it in items], [[s for _, s in it["summaries"]] for it in items], keep_pairs=detail
    )
    rows, details = [], []
    for it, per_summary in zip(items, results):
        for (cand_id, _), res in zip(it["summaries"], per_summary):
            rows.append({"doc_id": it["doc_id"], "cand_id": cand_id, "quals": res.quals, "n_qa": res.n_qa,
                         "n_generated": res.n_generated, "document_truncated": res.document_truncated,
                         "document_windows": res.document_windows})
            for k, pair in enumerate(res.pairs):
                details.append({
                    "doc_id": it["doc_id"], "cand_id": cand_id, "qa_index": k, "question": pair.question,
                    "answer": pair.answer, "tokens": pair.tokens, "doc_logprobs": pair.doc_logprobs,
                    "summary_logprobs": pair.summary_logprobs, "pair_score": pair.score,
                })
    return rows, details


def run(cfg: dict, *, echo=print) -> RunDir:
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=bool(cfg.get("cpu", False)))
    run = open_stage(cfg, accelerator, echo=echo)
    if run.is_complete:
        return run
    items = collect_items(cfg, run)
    qagen_run = open_input(cfg["inputs"]["qagen"], expected_stage="train_qagen")
    run.add_input("qagen", qagen_run)
    scorer = QualsScorer.from_pretrained(
        qagen_run.model_path, device=str(accelerator.device), cache_path=cfg.get("cache"), **cfg["quals"]
    )

    shards = list(enumerate(chunk(items, cfg["shard_size"])))  # (shard index, items)
    accelerator.wait_for_everyone()  # every rank lists the missing shards before any rank writes
    pending = pending_shards(run.path, "scores", len(shards))
    accelerator.wait_for_everyone()
    started = time.perf_counter()
    n_summaries = 0

    def process(shard):
        nonlocal n_summaries
        index, shard_items = shard
        rows, details = score_shard(scorer, shard_items, cfg["detail"])
        if cfg["detail"]:  # details first: the scores shard marks the shard done
            write_shard(run.path, "details", index, details)
        n_summaries += len(rows)
        return rows

    # a stop signal (consum.io.preemption) ends the loop after the shard in flight, which is written whole
    with accelerator.split_between_processes(pending) as mine, StopSignals() as stop:
        progress = tqdm(
            total=len(pending), desc=f"score_quals[{cfg['split']}]", disable=not accelerator.is_main_process
        )
        crash_after = (cfg.get("fault") or {}).get("after_shards")
        for n_done, _ in enumerate(run_shards(run.path, "scores", shards, process, shard_indices=mine), 1):
            progress.update(accelerator.num_processes)
            if crash_after is not None and n_done >= crash_after:
                raise RuntimeError(f"fault.after_shards={crash_after}: simulated crash")
            if stop.requested:
                stop.exit(is_main=accelerator.is_main_process, what=f"{n_done} shards written by this rank")
        progress.close()
    elapsed = time.perf_counter() - started
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        table = read_table(run.path, "scores")
        expected = [(it["doc_id"], cand_id) for it in items for cand_id, _ in it["summaries"]]
        check_keys(expected, zip(table["doc_id"], table["cand_id"]), "score_quals")
        run.record_output("scores", key=["doc_id", "cand_id"])
        if cfg["detail"]:
            run.record_output("details", key=["doc_id", "cand_id", "qa_index"])
        scores = table.to_list()
        run.stats.update(score_stats(scores))
        if items and "doc_facts" in items[0]:
            run.stats["quals_vs_oracle"] = quals_vs_oracle(items, scores)
        run.stats.update({"split": cfg["split"], "seconds": round(elapsed, 2),
                          "summaries_per_s_rank0": round(n_summaries / elapsed, 2) if elapsed else None,
                          "cache_hits_rank0": scorer.cache.hits if scorer.cache else None,
                          "cache_misses_rank0": scorer.cache.misses if scorer.cache else None})
        run.finalize()
        echo(format_stats(run))
    return run


def score_stats(rows: list[dict]) -> dict:
    def mean(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    refs = [r for r in rows if r["cand_id"] == REFERENCE_CAND_ID]
    cands = [r for r in rows if r["cand_id"] != REFERENCE_CAND_ID]
    return {
        "n_scored": len(rows),
        "n_null": sum(r["quals"] is None for r in rows),
        "mean_n_qa": mean([r["n_qa"] for r in rows]),
        "mean_quals_references": mean([r["quals"] for r in refs]),
        "mean_quals_candidates": mean([r["quals"] for r in cands]),
        "documents_truncated": len({r["doc_id"] for r in rows if r["document_truncated"]}),
        "documents_windowed": len({r["doc_id"] for r in rows if r.get("document_windows", 1) > 1}),
    }


def quals_vs_oracle(items: list[dict], scores: list[dict]) -> dict:
    """ROC-AUC of QUALS against factworld's oracle, per kind of error, for references and candidates."""
    from consum.data.factworld.oracle import ERROR_KINDS, check_summary
    from consum.metrics.metric_stats import auc_by_error_kind

    quals = {(r["doc_id"], r["cand_id"]): r["quals"] for r in scores}
    out = {}
    for name, is_reference in (("references", True), ("candidates", False)):
        values, verdicts = [], []
        for it in items:
            for cand_id, text in it["summaries"]:
                if (cand_id == REFERENCE_CAND_ID) == is_reference:
                    values.append(quals[(it["doc_id"], cand_id)])
                    verdicts.append(check_summary(it["doc_facts"], text).kind_flags())
        if values:
            out[name] = auc_by_error_kind(values, verdicts, ERROR_KINDS)
    return out


def format_stats(run: RunDir) -> str:
    from consum.metrics.metric_stats import auc_by_error_kind_line

    s = run.stats
    def fmt(v):
        return "n/a" if v is None else f"{v:.4f}"
    return (f"score_quals -> {run.path}: {s['n_scored']} summaries ({s['n_null']} without QA pairs), "
            f"mean n_qa {fmt(s['mean_n_qa'])}, mean QUALS refs {fmt(s['mean_quals_references'])} / "
            f"candidates {fmt(s['mean_quals_candidates'])}, "
            f"{s['summaries_per_s_rank0']} summaries/s on rank 0"
            + "".join(f"\nQUALS ROC-AUC vs the oracle, {name}: {auc_by_error_kind_line(auc)}"
                      for name, auc in s.get("quals_vs_oracle", {}).items()))
