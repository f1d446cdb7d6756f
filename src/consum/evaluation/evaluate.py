"""The ``evaluate`` stage: decode test summaries for each system, then ROUGE, QUALS, entity-level
factuality, and on factworld the oracle hallucination rates; bootstrap 95% CIs; results.json,
results.md and report.html (see :mod:`consum.evaluation.report`).

Systems are run dirs holding ``model/`` (``train_mle``, ``train_conseq``), named in ``systems``; an
entry ``{model: <run dir>, rerank: {n, decoding, ...}}`` keeps the highest-QUALS of N candidates
instead (:mod:`consum.evaluation.rerank`). Decoding is dataset-specific (original: XSum beam 6 / max 60 /
min 10; CNN/DM beam 4 / 140 / 55); what it cost per system is in ``results["cost"]``.
"""

from __future__ import annotations

import json
import time

from consum.data.factworld.oracle import ERROR_KINDS
from consum.data.ner import entity_extractor
from consum.data.schema import DataError
from consum.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_diff
from consum.io.rundir import RunDir, environment_line, open_input
from consum.io.shards import write_shard
from consum.io.stage import open_stage

HEADLINE = (
    "rougeL", "rouge1", "rouge2", "quals", "hallucinated", "extrinsic", "intrinsic",
    "prec_s", "prec_t", "recall_t",
)


def per_summary_metrics(rows: list[dict], summaries: list[str], extract, is_factworld: bool) -> list[dict]:
    from consum.metrics.entity import entity_counts
    from consum.metrics.rouge import rouge_scores

    rouge = rouge_scores(summaries, [r["summary"] for r in rows])
    out = []
    for row, summary, scores in zip(rows, summaries, rouge):
        metrics = {"doc_id": row["doc_id"], "summary": summary, **scores}
        if extract is not None:
            counts = entity_counts(summary, row["document"], row["summary"], extract)
            metrics.update(prec_s=counts.prec_s, prec_t=counts.prec_t, recall_t=counts.recall_t)
        if is_factworld:
            from consum.evaluation.oracle_metrics import oracle_metrics

            metrics.update(oracle_metrics(row["doc_facts"], summary))
        out.append(metrics)
    return out


def summarize(per_doc: list[dict], n_resamples: int, seed: int) -> dict:
    """Mean and bootstrap 95% CI of every headline metric (None values are left out); on factworld
    also the oracle's breakdown by kind of error."""
    summary = {}
    for key in HEADLINE:
        values = [m.get(key) for m in per_doc if m.get(key) is not None]
        if values:
            point, low, high = bootstrap_ci(values, n_resamples=n_resamples, seed=seed)
            summary[key] = {"mean": point, "ci_low": low, "ci_high": high, "n": len(values)}
    if per_doc and "hallucinated" in per_doc[0]:
        from consum.evaluation.oracle_metrics import breakdown

        summary["oracle_breakdown"] = breakdown(per_doc, n_resamples, seed)
    return summary


def run(cfg: dict, *, echo=print) -> RunDir:
    from consum.evaluation.rerank import system_spec

    specs = {name: system_spec(name, value, cfg["seed"]) for name, value in cfg["systems"].items()}
    reranks = {name: rerank for name, (_, rerank) in specs.items() if rerank}
    if reranks and not cfg["inputs"].get("qagen"):
        raise ValueError(f"systems {sorted(reranks)} rerank by QUALS: set inputs.qagen")
    run = open_stage(cfg, echo=echo)
    if run.is_complete:
        return run
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    run.add_input("data", data_run)
    rows = split_rows(data_run, cfg["split"], cfg.get("max_docs"))
    systems = {}
    for name, (path, _) in specs.items():
        system_run = open_input(path, expected_stage=("train_mle", "train_conseq"))
        systems[name] = system_run.model_path  # raises a clear error when the run holds no model
        run.add_input(f"system.{name}", system_run)
    is_factworld = cfg["data"].get("source") == "factworld"
    extract = entity_extractor(cfg["data"])
    scorer = quals_scorer(cfg, run) if cfg["inputs"].get("qagen") else None
    outputs, cost, candidates = decode_systems(cfg, systems, reranks, rows, scorer)
    per_doc = {name: per_summary_metrics(rows, outputs[name], extract, is_factworld) for name in systems}
    details = quals_details(cfg, run, rows, outputs, per_doc, scorer) if scorer else []
    results = {
        "split": cfg["split"], "n_docs": len(rows),
        "decoding": {k: cfg[k] for k in ("num_beams", "max_len", "min_len", "lenpen")}, "cost": cost,
        "systems": {name: summarize(per_doc[name], cfg["bootstrap"]["n_resamples"], cfg["bootstrap"]["seed"])
                    for name in systems},
    }
    results["comparisons"] = compare_systems(per_doc, cfg)
    if is_factworld and details:
        results["quals_auc_vs_oracle"] = quals_auc(per_doc)
    table = write_outputs(run, results, rows, per_doc, details, candidates)
    run.stats.update({"results": results})
    run.finalize()
    echo(f"evaluate -> {run.path} (results.json, results.md, report.html)\n{table}")
    return run


def split_rows(data_run, split: str, max_docs: int | None) -> list[dict]:
    if split not in data_run.manifest["outputs"]:
        raise DataError(f"data run {data_run.path} has no split {split!r}")
    rows = data_run.rows(split)[: max_docs or None]
    if not rows:
        raise DataError(f"split {split!r} of {data_run.path} is empty: nothing to evaluate")
    return rows


def device_for(cfg: dict):
    import torch

    return torch.device("cuda" if torch.cuda.is_available() and not cfg.get("cpu") else "cpu")


def decode(cfg: dict, model_path, rows: list[dict]) -> list[str]:
    """The system's summary of every row, with the dataset's decoding settings."""
    from consum.generation.beam import beam_generate
    from consum.models.loading import load_model, load_tokenizer

    model = load_model(model_path).to(device_for(cfg)).eval()
    decoded = beam_generate(model, load_tokenizer(model_path), [r["document"] for r in rows],
                            num_beams=cfg["num_beams"], max_len=cfg["max_len"], min_len=cfg["min_len"],
                            max_source_len=cfg["max_source_len"], batch_size=cfg["batch_size"],
                            lenpen=cfg["lenpen"])
    return [d[0] for d in decoded]


def decode_systems(cfg: dict, systems: dict, reranks: dict, rows: list[dict], scorer):
    """Each system's summaries, what they cost (decoding and reranking seconds), and the candidates
    of the reranked systems."""
    from consum.evaluation.rerank import rerank_decode

    outputs, cost, candidates = {}, {}, {}
    for name, model_path in systems.items():
        if name in reranks:
            outputs[name], cost[name], candidates[name] = rerank_decode(
                cfg, model_path, rows, reranks[name], scorer, device_for(cfg))
            continue
        started = time.perf_counter()
        outputs[name] = decode(cfg, model_path, rows)
        cost[name] = {"n_candidates": 1, "decode_seconds": round(time.perf_counter() - started, 2),
                      "quals_seconds": 0.0}
    return outputs, cost, candidates


def quals_scorer(cfg: dict, run: RunDir):
    """The stage's QualsScorer (its ``quals`` settings), for the metric and for reranking alike."""
    from consum.quals.scorer import QualsScorer

    qagen_run = open_input(cfg["inputs"]["qagen"], expected_stage="train_qagen")
    run.add_input("qagen", qagen_run)
    return QualsScorer.from_pretrained(qagen_run.model_path, device=str(device_for(cfg)),
                                       cache_path=cfg.get("cache"), **cfg["quals"])


def quals_details(cfg: dict, run: RunDir, rows: list[dict], outputs: dict, per_doc: dict,
                  scorer=None) -> list[dict]:
    """QUALS of every output (added to ``per_doc``); one detail row per kept QA pair."""
    scorer = scorer or quals_scorer(cfg, run)
    documents = [r["document"] for r in rows]
    details = []
    for name, summaries in outputs.items():
        for metrics, result in zip(per_doc[name], scorer.score(documents, summaries, keep_pairs=True)):
            metrics.update(quals=result.quals, n_qa=result.n_qa)
            for k, pair in enumerate(result.pairs):
                details.append({
                    "system": name, "doc_id": metrics["doc_id"], "qa_index": k, "question": pair.question,
                    "answer": pair.answer, "tokens": [scorer.tokenizer.decode([t]) for t in pair.tokens],
                    "doc_logprobs": pair.doc_logprobs, "summary_logprobs": pair.summary_logprobs,
                    "pair_score": pair.score, "summary_quals": result.quals,
                })
    return details


def write_outputs(run: RunDir, results: dict, rows: list[dict], per_doc: dict, details: list[dict],
                  candidates: dict | None = None) -> str:
    """Shards of summaries, QA details and reranked candidates, results.json, results.md, report.html;
    returns the tables."""
    from consum.evaluation.oracle_metrics import breakdown_table
    from consum.evaluation.report import write_report
    from consum.evaluation.rerank import cost_table

    for name, metrics in per_doc.items():
        write_shard(run.path, f"summaries_{name}", 0, metrics)
        run.record_output(f"summaries_{name}", key=["doc_id"])
    for name, candidate_rows in (candidates or {}).items():
        write_shard(run.path, f"candidates_{name}", 0, candidate_rows)
        run.record_output(f"candidates_{name}", key=["doc_id", "cand_index"])
    if details:
        write_shard(run.path, "details", 0, details)
        run.record_output("details", key=["system", "doc_id", "qa_index"])
    results["made_by"] = environment_line(run.manifest())  # commit, versions, machine: numbers depend on them
    (run.path / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    tables = [t for t in (results_table(results), breakdown_table(results), cost_table(results)) if t]
    tables.append(f"Made by {results['made_by']}")
    (run.path / "results.md").write_text("\n\n".join(tables) + "\n")
    documents = {r["doc_id"]: r["document"] for r in rows}
    write_report(run.path, results, per_doc, details, tables, documents)
    return "\n\n".join(tables)


def compare_systems(per_doc: dict[str, list[dict]], cfg: dict) -> dict:
    """Paired bootstrap of each system against the first (the baseline), per headline metric."""
    names = list(per_doc)
    out = {}
    for name in names[1:]:
        out[f"{name}-vs-{names[0]}"] = {}
        for key in ("rougeL", "quals", "hallucinated", *ERROR_KINDS):
            a = [m.get(key) for m in per_doc[name]]
            b = [m.get(key) for m in per_doc[names[0]]]
            if any(v is not None for v in a) and any(v is not None for v in b):
                diff, low, high, p = paired_bootstrap_diff(
                    a, b, n_resamples=cfg["bootstrap"]["n_resamples"], seed=cfg["bootstrap"]["seed"]
                )
                out[f"{name}-vs-{names[0]}"][key] = {
                    "diff": diff, "ci_low": low, "ci_high": high, "p_value": p
                }
    return out


def quals_auc(per_doc: dict[str, list[dict]]) -> dict:
    """How well low QUALS flags oracle-hallucinated system outputs, overall and per kind of error:
    pooled over systems, and per system under ``by_system``."""
    from consum.metrics.metric_stats import auc_by_error_kind

    def auc(rows: list[dict]) -> dict:
        return auc_by_error_kind([m.get("quals") for m in rows], rows, ERROR_KINDS)

    pooled = auc([m for rows in per_doc.values() for m in rows])
    pooled["by_system"] = {name: auc(rows) for name, rows in per_doc.items()}
    return pooled


def results_table(results: dict) -> str:
    columns = [k for k in HEADLINE if any(k in s for s in results["systems"].values())]
    lines = ["| system | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, summary in results["systems"].items():
        cells = []
        for key in columns:
            m = summary.get(key)
            scale = 100 if key not in ("quals",) else 1
            cells.append(
                "n/a" if m is None
                else f"{m['mean'] * scale:.2f} [{m['ci_low'] * scale:.2f}, {m['ci_high'] * scale:.2f}]"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{results['n_docs']} {results['split']} documents; mean [95% bootstrap CI]; "
        "ROUGE, rates and entity precision/recall in %, QUALS in nats."
    )
    auc = results.get("quals_auc_vs_oracle")
    if auc and auc.get("roc_auc") is not None:
        from consum.metrics.metric_stats import auc_by_error_kind_line

        # results.json of runs before the breakdown by kind hold only the overall number
        line = auc_by_error_kind_line(auc) if "by_kind" in auc else f"{auc['roc_auc']:.3f} (n={auc['n']})"
        lines.append(
            f"QUALS ROC-AUC against the oracle (faithful vs hallucinated system outputs, pooled): {line}."
        )
    return "\n".join(lines)
