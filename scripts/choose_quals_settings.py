"""Choose QUALS settings for a QAGen on human judgments, by the rule of docs/results/human-judgments.md.

One pass over the levers in a fixed order, from the parity settings; each candidate is one
``bench-metric`` run (its ``--output`` json kept in ``--out-dir``); the objective reads only the
selection halves: per file, mean of Spearman and 2·ROC-AUC − 1, then the mean over files; a value
within ``TIE`` of the best loses to the value listed before it (the parity value, or the cheaper one).

    python scripts/choose_quals_settings.py --qagen runs/train_qagen/english \
        --data ../shared/data/factcons_dev/qags_cnndm.jsonl ../shared/data/factcons_dev/qags_xsum.jsonl \
        --out-dir docs/results/human-judgments --cache cache/qa_english.sqlite

Prints each lever's candidates with their objective and writes ``choice.json`` (every step, the chosen
settings) in ``--out-dir``. A candidate whose json exists is not rerun (delete it to rerun).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TIE = 0.005
# (lever, [(name, flags)]), each list in the order that wins ties: the parity (or cheaper) value first.
# A lever applies when its `when` test passes on the settings chosen so far.
LEVERS = [
    ("answers", [("generated", ["--answers", "generated"]), ("spans", ["--answers", "spans"]),
                 ("both", ["--answers", "both"])], lambda s: True),
    ("question_choice", [(v, ["--question-choice", v]) for v in ("first", "grounded", "answerable")],
     lambda s: s["answers"] != "generated"),
    ("summary_side", [(v, ["--summary-side", v]) for v in ("penalised", "clean")],
     lambda s: s["answers"] != "spans"),  # span pairs have one summary side, the clean one
    ("pair_tokens", [(v, ["--pair-tokens", v]) for v in ("all", "answer")], lambda s: True),
    ("aggregation", [(v, ["--aggregation", v]) for v in ("mean", "min")], lambda s: True),
    ("long_documents", [("truncate", ["--long-documents", "truncate"]),
                        ("windows512", ["--long-documents", "windows", "--window-tokens", "512"]),
                        ("windows256", ["--long-documents", "windows", "--window-tokens", "256"])],
     lambda s: True),
    ("answer_extractor", [(v, ["--answer-extractor", v]) for v in ("regex", "chunks")],
     lambda s: s["answers"] != "generated"),
    ("num_beams", [(v, ["--num-beams", v]) for v in ("60", "20")], lambda s: s["answers"] != "spans"),
]
PARITY = {"answers": "generated", "question_choice": "first", "summary_side": "penalised",
          "pair_tokens": "all", "aggregation": "mean", "long_documents": "truncate",
          "answer_extractor": "regex", "num_beams": "60"}


def objective(report: dict) -> float:
    """Mean over files of the selection half's (Spearman + 2·ROC-AUC − 1) / 2."""
    values = []
    for f in report["files"]:
        half = f["selection"]
        values.append((half["spearman"] + 2 * half["roc_auc"] - 1) / 2)
    return sum(values) / len(values)


def choose(candidates: list[tuple[str, float]]) -> str:
    """The best candidate, unless one listed before it is within TIE of it."""
    best = max(value for _, value in candidates)
    return next(name for name, value in candidates if value >= best - TIE)


def flags_of(settings: dict) -> list[str]:
    flags = []
    for lever, options, _ in LEVERS:
        flags += dict(options)[settings[lever]]
    return flags


def run_candidate(args, settings: dict, name: str) -> dict:
    from consum.evaluation.benchmarks import main as bench

    output = Path(args.out_dir) / f"{name}.json"
    if not output.exists():
        code = bench(["--data", *args.data, "--qagen", args.qagen, "--cache", args.cache,
                      "--output", str(output), *flags_of(settings), *args.extra])
        if code:
            sys.exit(code)
    return json.loads(output.read_text())


def candidate_name(settings: dict) -> str:
    changed = [f"{lever}-{settings[lever]}" for lever, _, _ in LEVERS if settings[lever] != PARITY[lever]]
    return "__".join(changed) or "parity"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qagen", required=True)
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--cache", required=True, help="sqlite QA cache shared by the candidates")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more bench-metric flags, last")
    args = p.parse_args(argv)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    settings, steps = dict(PARITY), []
    for lever, options, applies in LEVERS:
        if not applies(settings):
            continue
        scored = []
        for value, _ in options:
            trial = {**settings, lever: value}
            report = run_candidate(args, trial, candidate_name(trial))
            scored.append((value, objective(report)))
            print(f"{lever}={value}: objective {scored[-1][1]:+.4f} ({candidate_name(trial)})", flush=True)
        settings[lever] = choose(scored)
        steps.append({"lever": lever, "candidates": dict(scored), "chosen": settings[lever]})
        print(f"-> {lever}={settings[lever]}", flush=True)
    result = {"rule": "docs/results/human-judgments.md", "tie": TIE, "steps": steps, "chosen": settings,
              "chosen_run": candidate_name(settings), "flags": flags_of(settings)}
    (Path(args.out_dir) / "choice.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["chosen"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
