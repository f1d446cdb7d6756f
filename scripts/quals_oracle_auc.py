r"""How well QUALS separates faithful from unfaithful factworld references (issue: QUALS core, done-when).

Scores the references of a split with a trained QAGen and reports the mean QUALS per oracle label and
the ROC-AUC of QUALS for "consistent" vs "extrinsic"/"intrinsic". Use a data run whose split has
unfaithful references, e.g. validation with eval_noise:

    make prepare-data data=factworld data.size=small data.factworld.eval_noise=0.3 RUN_ID=noisy
    python scripts/quals_oracle_auc.py --data runs/prepare_data/noisy --qagen runs/train_qagen/<id> \
        --split validation
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

from consum.evaluation.metric_stats import roc_auc
from consum.io import open_input
from consum.quals.scorer import QualsScorer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--qagen", required=True)
    p.add_argument("--split", default="validation")
    p.add_argument("--num-beams", type=int, default=60)
    p.add_argument("--max-docs", type=int, default=None)
    p.add_argument("--filter", default="original", choices=["original", "strict"])
    p.add_argument("--summary-side", default="penalised", choices=["penalised", "clean"])
    p.add_argument("--output", help="write the numbers as json")
    p.add_argument("--diagnostics", action="store_true",
                   help="also: how many unfaithful references get a QA pair on their injected value, "
                        "the pair-level ROC-AUC, and the ROC-AUC of other aggregations "
                        "(min over pairs, answer tokens only)")
    args = p.parse_args(argv)
    rows = open_input(args.data).rows(args.split)[: args.max_docs]
    scorer = QualsScorer.from_pretrained(
        open_input(args.qagen).model_path, filter=args.filter, summary_side=args.summary_side,
        generation={"num_beams": args.num_beams, "num_groups": args.num_beams, "min_len": 4, "max_len": 32},
    )
    started = time.perf_counter()
    results = scorer.score(
        [r["document"] for r in rows], [r["summary"] for r in rows], keep_pairs=args.diagnostics
    )
    seconds = time.perf_counter() - started
    by_label = defaultdict(list)
    scored = [(r["label"], res.quals) for r, res in zip(rows, results) if res.quals is not None]
    for label, q in scored:
        by_label[label].append(q)
    auc = (
        roc_auc([q for _, q in scored], [int(label == "consistent") for label, _ in scored])
        if len({lab for lab, _ in scored}) > 1
        else None
    )
    out = {
        "split": args.split, "n": len(rows), "n_scored": len(scored), "seconds": round(seconds, 1),
        "mean_quals": {k: sum(v) / len(v) for k, v in sorted(by_label.items())},
        "count": {k: len(v) for k, v in sorted(by_label.items())},
        "roc_auc_consistent_vs_unfaithful": auc,
    }
    print("| label | n | mean QUALS |\n|---|---|---|")
    for k in out["mean_quals"]:
        print(f"| {k} | {out['count'][k]} | {out['mean_quals'][k]:.3f} |")
    print(f"ROC-AUC (QUALS, consistent vs unfaithful): {auc if auc is None else round(auc, 3)}; "
          f"{len(rows) - len(scored)} of {len(rows)} references without QA pairs; {seconds:.0f} s")
    if args.diagnostics:
        out["diagnostics"] = diagnostics(rows, results, scorer.sep_id)
        for key, value in out["diagnostics"].items():
            print(f"{key}: {value}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(out, f, indent=2)
    return 0


def diagnostics(rows, results, sep_id: int) -> dict:
    """Where QUALS loses the signal: coverage of the injected error, pair-level separation, aggregations."""
    from statistics import fmean

    def answer_score(pair):  # mean doc − mean summary log-prob over the answer tokens (after SEP)
        cut = pair.tokens.index(sep_id) + 1
        return fmean(pair.doc_logprobs[cut:]) - fmean(pair.summary_logprobs[cut:])

    covered, injected_pairs, faithful_pairs = 0, [], []
    labels, by_min, by_answer = [], [], []
    for row, res in zip(rows, results):
        if row["label"] == "consistent":
            faithful_pairs += [p.score for p in res.pairs]
        elif row.get("injected"):
            values = [str(e["value"]).lower() for e in json.loads(row["injected"])["errors"]]
            hits = [p.score for p in res.pairs
                    if p.answer.strip()
                    and any(v in p.answer.lower() or p.answer.lower() in v for v in values)]
            injected_pairs += hits
            covered += bool(hits)
        if res.pairs:
            labels.append(int(row["label"] == "consistent"))
            by_min.append(min(p.score for p in res.pairs))
            by_answer.append(fmean(answer_score(p) for p in res.pairs))
    n_unfaithful = sum(r["label"] != "consistent" for r in rows)
    pair_auc = (
        roc_auc(faithful_pairs + injected_pairs, [1] * len(faithful_pairs) + [0] * len(injected_pairs))
        if injected_pairs and faithful_pairs
        else None
    )
    return {
        "unfaithful references with a kept QA pair on the injected value": f"{covered} of {n_unfaithful}",
        "mean pair score: faithful references / injected-value pairs": (
            f"{fmean(faithful_pairs):.3f} / {fmean(injected_pairs):.3f}"
            if injected_pairs and faithful_pairs
            else None
        ),
        "pair-level ROC-AUC (faithful-reference pairs vs injected-value pairs)": (
            pair_auc and round(pair_auc, 3)
        ),
        "mean kept pairs per reference": round(fmean(r.n_qa for r in results), 2),
        "ROC-AUC, min over pairs": round(roc_auc(by_min, labels), 3),
        "ROC-AUC, answer tokens only (mean over pairs)": round(roc_auc(by_answer, labels), 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
