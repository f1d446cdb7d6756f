r"""Compare evaluate runs of factworld's two names worlds (docs/factworld.md "Names"): per run, the
headline rates, the kinds, the exact-copy rate, and what the kinds alone do not say across worlds:

* the summaries with a wrong person or organisation of any kind (a mangled copy in the full world is
  often the same confusion a role swap or an invented value is in the single world);
* the summaries with a made-up word (in neither the document nor any training text: a garbled copy
  the oracle cannot see, since it ignores words in no lexicon).

    python scripts/names_world_compare.py runs/evaluate/f1 runs/evaluate/s1 [--system mle]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter

from consum.data.factworld.entities import ORG, PERSON
from consum.data.factworld.oracle import ERROR_KINDS, check_summary
from consum.io import open_input

WORD = re.compile(r"[A-Za-z]+")


def words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def compare(eval_dir: str, system: str) -> dict:
    run = open_input(eval_dir, expected_stage="evaluate")
    data = open_input(run.manifest["inputs"]["data"]["path"], expected_stage="prepare_data")
    results = json.loads((run.path / "results.json").read_text())
    split = results["split"]
    rows = {r["doc_id"]: r for r in data.rows(split)}
    training = set().union(*(words(r["document"] + " " + r["summary"]) for r in data.rows("train")))
    wrong, n_wrong, n_made_up = Counter(), 0, 0
    summaries = run.rows(f"summaries_{system}")
    for summary in summaries:
        row = rows[summary["doc_id"]]
        flagged = [m for m in check_summary(row["doc_facts"], summary["summary"]).mentions
                   if m.entity_type in (PERSON, ORG) and m.kind]
        wrong.update(m.kind for m in flagged)
        n_wrong += bool(flagged)
        n_made_up += bool(words(summary["summary"]) - words(row["document"]) - training)
    stats = results["systems"][system]
    kinds = stats["oracle_breakdown"]
    n = len(summaries)
    return {
        "n": n,
        **{key: round(100 * stats[key]["mean"], 1)
           for key in ("hallucinated", "extrinsic", "intrinsic", "rougeL")},
        "kinds (% of summaries, mentions)": {k: [round(100 * kinds[k]["mean"], 1), kinds[k]["mentions"]]
                                             for k in ERROR_KINDS},
        "exact_copy_rate": (round(100 * kinds["exact_copy_rate"]["mean"], 1)
                            if "exact_copy_rate" in kinds else None),
        "person/org mentions flagged, by kind": dict(wrong),
        "% summaries with a wrong person or organisation": round(100 * n_wrong / n, 1),
        "% summaries with a made-up word": round(100 * n_made_up / n, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="evaluate run dirs on factworld")
    parser.add_argument("--system", default="mle")
    args = parser.parse_args(argv)
    print(json.dumps({path: compare(path, args.system) for path in args.runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
