r"""QUALS against factworld's oracle, per kind of error, for any data run + QAGen.

Scores a split's references and, with ``--outputs`` / ``--candidates``, the system outputs of
evaluate runs and the sampled candidates of generate runs (joined on ``doc_id``), and reports the
ROC-AUC of QUALS for faithful summaries against hallucinated ones, overall and for each kind of error
(invented attribute, mangled copy, invented value, role swap; each kind against the faithful
summaries). Choose on validation, never on test:

    make prepare-data EXP=factworld_xsum RUN_ID=xv data.factworld.eval_noise=0.77   # noisy validation refs
    make generate EXP=factworld_xsum RUN_ID=xvg split=validation inputs.model=runs/train_mle/<id> ...
    python scripts/quals_oracle_auc.py --data runs/prepare_data/xv --qagen runs/train_qagen/<id> \
        --candidates runs/generate/xvg --quals answers=both aggregation=min --variants --coverage

``--quals key=value`` sets QualsConfig fields (``generation.num_beams=20`` for nested ones); without
``--variants`` the numbers are those of ``QualsScorer.score`` with that config. ``--variants`` scores
every pair once and reports every combination of answers (generated / spans / both; spans and both
need an answer-conditioned QAGen), aggregation (mean / min), pair tokens (all / answer) and summary
side (penalised / clean). ``--coverage`` says, per kind, how many flagged summaries get a QA pair whose
answer is the flagged span, from the generated pairs and from the answer spans, and how often that
pair is the summary's lowest-scoring one.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import time
from collections import defaultdict

import yaml

from consum.data.factworld.oracle import ERROR_KINDS
from consum.evaluation.oracle_metrics import oracle_metrics
from consum.io import open_input
from consum.metrics.metric_stats import auc_by_error_kind
from consum.quals.aggregation import summary_score
from consum.quals.filtering import filter_qa
from consum.quals.generated import GeneratedQA
from consum.quals.scorer import QualsScorer, score_candidate
from consum.quals.span_questions import with_span_pairs

SCRIPT_GENERATION = {"num_beams": 20, "num_groups": 20, "min_len": 4, "max_len": 32}  # the demo's


def parse_overrides(items: list[str]) -> dict:
    """``a=1 generation.num_beams=20`` -> {"a": 1, "generation": {"num_beams": 20}} (values as YAML)."""
    out: dict = {"generation": dict(SCRIPT_GENERATION)}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--quals takes key=value, got {item!r}")
        *parents, leaf = key.split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = yaml.safe_load(value)
    return out


def summary_sets(args, rows: list[dict]) -> dict[str, list[tuple[dict, str]]]:
    """Name -> (data row, summary) pairs: the references, and each system of each --outputs run."""
    sets = {"references": [(r, r["summary"]) for r in rows]}
    by_id = {r["doc_id"]: r for r in rows}
    for path in args.candidates:
        run = open_input(path, expected_stage="generate")
        table = run.table("candidates").select_columns(["doc_id", "cand_id", "text"]).to_list()
        sets[f"candidates ({run.path.name})"] = [(by_id[t["doc_id"]], t["text"]) for t in table
                                                 if t["doc_id"] in by_id]
    for path in args.outputs:
        run = open_input(path, expected_stage="evaluate")
        for name in run.manifest["outputs"]:
            if name.startswith("summaries_"):
                table = run.rows(name)
                label = f"{name.removeprefix('summaries_')} ({run.path.name})"
                sets[label] = [(by_id[t["doc_id"]], t["summary"]) for t in table if t["doc_id"] in by_id]
    return sets


def score_pairs(scorer: QualsScorer, documents: list[str], doc_index: list[int], texts: list[str],
                with_spans: bool, with_generated: bool = True):
    """Every summary's kept generated pairs and answer-span pairs, with their document-side log-probs."""
    generated = scorer.generate(texts) if with_generated else [GeneratedQA(0, [])] * len(texts)
    kept = [filter_qa(g.candidates, t, scorer.config.filter, scorer.config.max_qas) if t.strip() else []
            for t, g in zip(texts, generated)]
    spans = scorer.span_questions(texts) if with_spans else [GeneratedQA(0, [])] * len(texts)
    flat = [(k, c) for k in range(len(texts)) for c in (*kept[k], *spans[k].candidates)]
    doc_lps, _ = scorer.doc_logprobs(documents, [(doc_index[k], c.tokens) for k, c in flat])
    logprobs = {(k, id(c)): lp for (k, c), lp in zip(flat, doc_lps)}
    return kept, [s.candidates for s in spans], logprobs


def variant_scores(config, kept, spans, logprobs, sep_id) -> list[float | None]:
    out = []
    for k, (gen, span) in enumerate(zip(kept, spans)):
        chosen = {"generated": gen, "spans": span, "both": with_span_pairs(gen, span)}[config.answers]
        scores = [score_candidate(c, logprobs[(k, id(c))], config, sep_id).score for c in chosen]
        out.append(summary_score(scores, config.aggregation))
    return out


def flagged_surfaces(summary: str, verdict: dict) -> dict[str, list[str]]:
    spans = defaultdict(list)
    for flag in verdict["oracle_flags"]:
        spans[flag["kind"]].append(summary[flag["start"] : flag["end"]].lower())
    return spans


def covers(answer: str, surfaces: list[str]) -> bool:
    answer = answer.strip().lower()
    return bool(answer) and any(answer in s or s in answer for s in surfaces)


def coverage(config, summaries, verdicts, kept, spans, logprobs, sep_id) -> dict:
    """Per kind: flagged summaries, how many get a pair on the flagged span (generated / span pairs), and
    how often such a pair is the lowest-scoring pair of the configured variant."""
    out = {}
    for kind in ERROR_KINDS:
        n = gen_hit = span_hit = lowest = 0
        for k, (summary, verdict) in enumerate(zip(summaries, verdicts)):
            surfaces = flagged_surfaces(summary, verdict).get(kind)
            if not surfaces:
                continue
            n += 1
            gen_hit += any(covers(c.answer, surfaces) for c in kept[k])
            span_hit += any(covers(c.answer, surfaces) for c in spans[k])
            chosen = {"generated": kept[k], "spans": spans[k], "both": with_span_pairs(kept[k], spans[k])}
            scored = [
                score_candidate(c, logprobs[(k, id(c))], config, sep_id) for c in chosen[config.answers]
            ]
            if scored:
                worst = min(scored, key=lambda p: p.score)
                lowest += covers(worst.answer, surfaces)
        out[kind] = {"n": n, "generated_pair": gen_hit, "span_pair": span_hit, "is_lowest_pair": lowest}
    return out


def auc_row(name: str, auc: dict) -> str:
    def cell(v):
        return "n/a" if v["roc_auc"] is None else f"{v['roc_auc']:.3f} ({v['n_kind']})"

    overall = "n/a" if auc["roc_auc"] is None else f"{auc['roc_auc']:.3f} ({auc['n_hallucinated']})"
    return f"| {name} | {overall} | " + " | ".join(cell(auc["by_kind"][k]) for k in ERROR_KINDS) + \
        f" | {auc['n_unscored']} |"


HEADER = ("| variant | all kinds | " + " | ".join(k.replace("_", " ") for k in ERROR_KINDS) +
          " | no QA pair |\n|---|---|---|---|---|---|---|")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a prepare_data run (factworld)")
    p.add_argument("--qagen", required=True, help="a train_qagen run")
    p.add_argument("--split", default="validation")
    p.add_argument("--outputs", action="append", default=[], help="an evaluate run of the same split")
    p.add_argument("--candidates", action="append", default=[], help="a generate run of the same split")
    p.add_argument("--max-docs", type=int, default=None)
    p.add_argument("--quals", nargs="*", default=[], metavar="KEY=VALUE", help="QualsConfig overrides")
    p.add_argument("--variants", action="store_true")
    p.add_argument("--coverage", "--diagnostics", action="store_true")
    # the flags of the script's first version, so that the commands in docs/results still run
    p.add_argument("--num-beams", type=int, help="= --quals generation.num_beams=N generation.num_groups=N")
    p.add_argument("--summary-side", choices=["penalised", "clean"], help="= --quals summary_side=...")
    p.add_argument("--filter", choices=["original", "strict"], help="= --quals filter=...")
    p.add_argument("--spans-only", action="store_true",
                   help="no QA generation by diverse beam search: only the answer-span variants (faster)")
    p.add_argument("--output", help="write the numbers as json")
    args = p.parse_args(argv)
    data = open_input(args.data, expected_stage="prepare_data")
    rows = data.rows(args.split)[: args.max_docs]
    if not rows or "doc_facts" not in rows[0]:
        raise SystemExit(f"{args.data} split {args.split}: no factworld rows (the oracle needs doc_facts)")
    shortcuts = [f"{key}={value}" for key, value in (
        ("generation.num_beams", args.num_beams), ("generation.num_groups", args.num_beams),
        ("summary_side", args.summary_side), ("filter", args.filter),
    ) if value is not None]
    overrides = parse_overrides([*shortcuts, *args.quals])
    scorer = QualsScorer.from_pretrained(open_input(args.qagen).model_path, **overrides)
    conditioned = bool(getattr(scorer.model.config, "qa_answer_conditioned", False))
    documents = list(dict.fromkeys(r["document"] for r in rows))
    position = {d: i for i, d in enumerate(documents)}
    results: dict = {"config": dataclasses.asdict(scorer.config), "split": args.split, "sets": {}}
    for name, pairs in summary_sets(args, rows).items():
        started = time.perf_counter()
        texts = [s for _, s in pairs]
        verdicts = [oracle_metrics(r["doc_facts"], s) for r, s in pairs]
        kept, spans, logprobs = score_pairs(
            scorer, documents, [position[r["document"]] for r, _ in pairs], texts,
            with_spans=conditioned and (args.variants or scorer.config.answers != "generated"),
            with_generated=not args.spans_only and (args.variants or scorer.config.answers != "spans"),
        )
        configs = {"configured": scorer.config}
        if args.variants:
            modes = ("generated", "spans", "both") if conditioned else ("generated",)
            if args.spans_only:
                modes = ("spans",)
            for answers, aggregation, tokens, side in itertools.product(
                modes, ("mean", "min"), ("all", "answer"), ("penalised", "clean")
            ):
                configs[f"{answers}/{aggregation}/{tokens}/{side}"] = dataclasses.replace(
                    scorer.config, answers=answers, aggregation=aggregation, pair_tokens=tokens,
                    summary_side=side,
                )
        out = {"n": len(pairs), "seconds": None, "variants": {}}
        for label, config in configs.items():
            scores = variant_scores(config, kept, spans, logprobs, scorer.sep_id)
            out["variants"][label] = auc_by_error_kind(scores, verdicts, ERROR_KINDS)
        if args.coverage:
            out["coverage"] = coverage(scorer.config, texts, verdicts, kept, spans, logprobs, scorer.sep_id)
        out["seconds"] = round(time.perf_counter() - started, 1)
        results["sets"][name] = out
        print(f"\n{name}: {len(pairs)} summaries, {out['seconds']} s; ROC-AUC (number hallucinated)")
        print(HEADER)
        for label, auc in out["variants"].items():
            print(auc_row(label, auc))
        for kind, c in out.get("coverage", {}).items():
            print(f"coverage {kind}: {c['n']} flagged; a pair on the flagged span: generated "
                  f"{c['generated_pair']}, span {c['span_pair']}; the lowest pair: {c['is_lowest_pair']}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
