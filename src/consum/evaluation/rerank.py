"""QUALS reranking at decoding time: N candidates per document, the one with the highest QUALS kept.

The other cheap answer a reviewer asks about before ConSeq: no retraining, only a faithfulness metric
choosing among a model's own outputs. An ``evaluate`` system becomes a reranked one when its entry in
``systems`` is a mapping (docs/evaluation.md "QUALS reranking")::

    systems:
      mle: runs/train_mle/r                                             # decoded as usual
      mle_rerank: {model: runs/train_mle/r, rerank: {n: 8, decoding: beam}}

Candidates (:func:`decode_candidates`): ``decoding: beam``, the ``n`` best hypotheses of a beam search
with ``max(n, num_beams)`` beams and the stage's lengths (with ``n <= num_beams`` the first candidate
is the plain system's summary); ``decoding: sample``, ``n`` top-k samples seeded per document
(``seed`` + a stable hash of doc_id: ``consum.generation.candidates``), so a document's candidates do
not depend on the batch or the process. All are scored by the evaluate stage's QualsScorer (its
``quals`` settings) and :func:`pick_best` keeps one: the highest QUALS; ties go to the candidate
first in decoding order (beam rank, sample index); a candidate without a QA pair (QUALS None or NaN)
ranks below any score; when none has one, the first is kept. What it costs, decoding and QUALS
seconds, goes to ``results.json`` next to its effect.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

DECODINGS = ("beam", "sample")
RERANK_DEFAULTS = {"n": 8, "decoding": "beam", "seed": None, "top_k": 50, "temperature": 1.0}


def pick_best(scores: Sequence[float | None]) -> int:
    """Index of the highest score; the first of tied ones; None / NaN below any score; 0 if all are.

    >>> pick_best([-0.5, None, -0.1, -0.1])
    2
    >>> pick_best([None, float("nan")])
    0
    """
    if not scores:
        raise ValueError("pick_best needs at least one candidate")
    best, best_value = 0, None
    for index, value in enumerate(scores):
        if value is None or math.isnan(value):
            continue
        if best_value is None or value > best_value:
            best, best_value = index, value
    return best


def system_spec(name: str, value, default_seed: int) -> tuple[str, dict | None]:
    """(run dir, rerank settings or None) of one ``systems`` entry: a path, or {model, rerank}."""
    if isinstance(value, str):
        return value, None
    if not isinstance(value, Mapping) or set(value) - {"model", "rerank"} or "model" not in value:
        raise ValueError(f"systems.{name} must be a run dir or {{model: <run dir>, rerank: {{...}}}}; "
                         f"got {value!r}")
    rerank = value.get("rerank")
    if rerank is None:
        return value["model"], None
    unknown = set(rerank) - set(RERANK_DEFAULTS)
    if unknown:
        raise ValueError(f"systems.{name}.rerank: unknown keys {sorted(unknown)} "
                         f"(known: {sorted(RERANK_DEFAULTS)})")
    settings = {**RERANK_DEFAULTS, **rerank}
    settings["seed"] = default_seed if settings["seed"] is None else settings["seed"]
    if settings["decoding"] not in DECODINGS or int(settings["n"]) < 1:
        raise ValueError(f"systems.{name}.rerank needs n >= 1 and decoding in {DECODINGS}; got {rerank!r}")
    return value["model"], settings


def decode_candidates(cfg: Mapping, model, tokenizer, rows: Sequence[Mapping], rerank: Mapping
                      ) -> list[list[str]]:
    """``rerank["n"]`` candidate summaries per row, in decoding order (beam rank or sample index)."""
    n = int(rerank["n"])
    if rerank["decoding"] == "beam":
        from consum.generation.beam import beam_generate

        return beam_generate(model, tokenizer, [r["document"] for r in rows],
                             num_beams=max(n, cfg["num_beams"]), num_return_sequences=n,
                             max_len=cfg["max_len"], min_len=cfg["min_len"],
                             max_source_len=cfg["max_source_len"], batch_size=cfg["batch_size"],
                             lenpen=cfg["lenpen"])
    from consum.generation.candidates import generate_rows

    generation = {"method": "sampling", "num_candidates": n, "top_k": rerank["top_k"],
                  "temperature": rerank["temperature"], "min_len": cfg["min_len"], "max_len": cfg["max_len"]}
    settings = {"generation": generation, "max_source_len": cfg["max_source_len"],
                "batch_size": cfg["batch_size"], "seed": rerank["seed"]}
    docs = [{"doc_id": r["doc_id"], "document": r["document"]} for r in rows]
    by_doc: dict[str, list[str]] = {}
    for candidate in generate_rows(model, tokenizer, docs, settings):  # per document, in sample order
        by_doc.setdefault(candidate["doc_id"], []).append(candidate["text"])
    return [by_doc[r["doc_id"]] for r in rows]


def rerank_decode(cfg: Mapping, model_path, rows: Sequence[Mapping], rerank: Mapping, scorer, device):
    """(the kept summary per row, the cost, one row per candidate with its QUALS and whether kept)."""
    from consum.models.loading import load_model, load_tokenizer

    started = time.perf_counter()
    model = load_model(model_path).to(device).eval()
    candidates = decode_candidates(cfg, model, load_tokenizer(model_path), rows, rerank)
    decoded = time.perf_counter()
    results = scorer.score_groups([r["document"] for r in rows], candidates)
    scored = time.perf_counter()
    kept, candidate_rows = [], []
    for row, texts, per_candidate in zip(rows, candidates, results, strict=True):
        best = pick_best([result.quals for result in per_candidate])
        kept.append(texts[best])
        candidate_rows += [{"doc_id": row["doc_id"], "cand_index": k, "text": text, "quals": result.quals,
                            "n_qa": result.n_qa, "kept": k == best}
                           for k, (text, result) in enumerate(zip(texts, per_candidate, strict=True))]
    cost = {"n_candidates": int(rerank["n"]), "decode_seconds": round(decoded - started, 2),
            "quals_seconds": round(scored - decoded, 2), "rerank": dict(rerank)}
    return kept, cost, candidate_rows


def cost_table(results: Mapping) -> str:
    """Markdown: per system, what its summaries cost to decode (reranking: + the candidates' QUALS)."""
    cost = results.get("cost") or {}
    if not any("rerank" in c for c in cost.values()):
        return ""
    n_docs = results["n_docs"]
    lines = ["| system | decoding | candidates | decode s | QUALS s | total s | s per document |",
             "|---|---|---|---|---|---|---|"]
    for name, c in cost.items():
        rerank = c.get("rerank")
        how = f"{rerank['decoding']}, highest QUALS of {rerank['n']}" if rerank else "beam, as usual"
        total = c["decode_seconds"] + c["quals_seconds"]
        lines.append(f"| {name} | {how} | {c['n_candidates']} | {c['decode_seconds']:.1f} | "
                     f"{c['quals_seconds']:.1f} | {total:.1f} | {total / n_docs:.3f} |")
    lines += ["", "Decoding cost: wall seconds on this machine to make the summaries above (a reranked "
              "system scores all its candidates with QUALS; its QUALS column is the criterion it chose by)."]
    return "\n".join(lines)
