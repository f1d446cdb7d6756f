r"""The QUALS threshold of train-mle's reference filter, chosen on noisy validation references.

The filter ``filter.by=quals`` keeps the training pairs whose reference has QUALS >= a threshold
(docs/training.md "Reference filtering"). Choose it on validation, never on the training data it
filters: noise the validation references at the training rate, score them, and take the threshold of
the best balanced accuracy against the oracle's labels (``consum.metrics.metric_stats.best_threshold``).

    make prepare-data EXP=factworld_xsum RUN_ID=xv data.factworld.eval_noise=0.77   # noisy validation refs
    make score-quals EXP=factworld_xsum RUN_ID=xv split=validation inputs.candidates=null \
        inputs.qagen=runs/train_qagen/x1 max_docs=null
    make score-quals EXP=factworld_xsum RUN_ID=x1r split=train inputs.candidates=null \
        inputs.data=runs/prepare_data/x1 inputs.qagen=runs/train_qagen/x1 max_docs=null   # training refs
    python scripts/filter_threshold.py --validation runs/score_quals/xv --train runs/score_quals/x1r

prints the threshold, its balanced accuracy and the ROC-AUC on validation, then how many training pairs
that threshold keeps (and of which oracle label), and the train-mle overrides that use it. Both score
runs must use the same ``quals`` settings (the experiment gives score-quals one). On data without an
oracle there are no labels to choose by: use ``filter.keep_top`` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from consum.data.factworld.oracle import check_summary
from consum.data.reference_filter import select_references
from consum.io import open_input
from consum.io.keys import REFERENCE_CAND_ID
from consum.training.reference_filter import quals_scores, quals_threshold


def reference_scores(scores_run) -> dict[str, float | None]:
    rows = scores_run.table("scores").select_columns(["doc_id", "cand_id", "quals"]).to_list()
    return {r["doc_id"]: r["quals"] for r in rows if r["cand_id"] == REFERENCE_CAND_ID}


def data_of(scores_run):
    return open_input(scores_run.manifest["inputs"]["data"]["path"], expected_stage="prepare_data")


def choose(validation_run) -> dict:
    """The threshold on the validation references the run scored, labelled by the oracle."""
    split = validation_run.manifest.get("stats", {}).get("split", "validation")
    scores = reference_scores(validation_run)
    rows = [r for r in data_of(validation_run).rows(split) if r["doc_id"] in scores]
    if not rows or "doc_facts" not in rows[0]:
        raise SystemExit("the validation scores must be of factworld references (the oracle labels them)")
    faithful = [not check_summary(r["doc_facts"], r["summary"]).hallucinated for r in rows]
    if all(faithful) or not any(faithful):
        label = "faithful" if all(faithful) else "unfaithful"
        raise SystemExit(f"all {len(rows)} {split} references are {label}: noise them "
                         "(data.factworld.eval_noise) to choose a threshold")
    return {"split": split, **quals_threshold([scores[r["doc_id"]] for r in rows], faithful)}


def kept_on_train(train_run, threshold: float) -> dict:
    """How many training pairs the threshold keeps, with either no-evidence policy, by label."""
    data_run = data_of(train_run)
    rows = data_run.rows("train")
    scores = quals_scores(train_run, data_run)
    out = {}
    for policy in ("keep", "drop"):
        result = select_references(rows, scores, threshold=threshold, no_evidence=policy)
        out[policy] = {**result.stats(), "kept_by_label": dict(Counter(r.get("label") for r in result.kept))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validation", required=True, help="score_quals run of noisy validation references")
    parser.add_argument("--train", help="score_quals run of the training references (split=train)")
    args = parser.parse_args(argv)
    chosen = choose(open_input(args.validation, expected_stage="score_quals"))
    print(f"QUALS threshold {chosen['threshold']:.4f} (balanced accuracy {chosen['balanced_accuracy']:.3f}, "
          f"ROC-AUC {chosen['roc_auc']:.3f}) on {chosen['n']} {chosen['split']} references "
          f"({chosen['n_faithful']} faithful; {chosen['n_no_evidence']} without a QA pair left out)")
    if args.train:
        kept = kept_on_train(open_input(args.train, expected_stage="score_quals"), chosen["threshold"])
        for policy, stats in kept.items():
            print(f"  training pairs kept with no_evidence={policy}: {stats['n_kept']} of {stats['n_in']} "
                  f"({stats['n_no_evidence']} without a QA pair); by label: "
                  f"{json.dumps(stats['kept_by_label'], sort_keys=True)}")
        print(f"train-mle overrides: filter.by=quals filter.threshold={chosen['threshold']!r} "
              f"filter.scores={args.train}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
