"""Wall time of `make pipeline` with pretraining against the pipeline before pretraining (issue 12).

    .venv/bin/python scripts/bench_pipeline.py --root /tmp/bench-pipeline     # EXP=factworld_xsum

Back to back, in a fresh root (``CONSUM_ROOT``: its own runs/ and QA cache, so nothing is reused from
earlier runs): (1) the first ``make pipeline``, pretraining included; (2) a second one, which finds the
pretrained model (and the QA pairs of (1) in the QA cache) and skips the pretrain stage; (3) "today's"
pipeline, the stages as the demo had them before pretraining: train-mle (2,500 updates) and train-qagen
(1,000 updates, from the MLE model) from random weights, no pretrain stage, with a QA cache of its own.
Prints a table of wall times and their ratios to (3), and whether the results of (1) and (2) are
identical (results.md byte for byte; results.json but for its decoding seconds). Targets: (1) <= 2x
(3), (2) <= 1.25x (3). Compare ratios, not absolute times: machines of one kind differ ~2x.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from copy_ablation import MEASURED_MLE, SCRATCH_MODEL  # scripts/ is on sys.path when run

REPO = Path(__file__).resolve().parents[1]
# stage -> overrides that turn factworld_small's settings of today into the demo's before pretraining
# (the model and MLE budget the copy ablation's "scratch" row measured)
BEFORE_PRETRAINING = {
    "train_mle": ["model.name=tiny", *SCRATCH_MODEL, *MEASURED_MLE],
    "train_qagen": ["model.name=tiny", *SCRATCH_MODEL, "inputs.init=${paths.runs_dir}/train_mle/${run_id}",
                    "train.max_steps=1000"],
    "score_quals": ["cache=${paths.root_dir}/cache/qa_cache_before_pretraining.sqlite"],
    "evaluate": ["cache=${paths.root_dir}/cache/qa_cache_before_pretraining.sqlite"],
}
STAGES = ("prepare_data", "train_mle", "train_qagen", "generate", "score_quals", "select_contrast",
          "train_conseq", "evaluate")


def timed(commands: list[list[str]], env: dict, log: Path) -> float:
    started = time.perf_counter()
    with open(log, "w") as out:
        for cmd in commands:
            print("$ " + " ".join(cmd), flush=True)
            if subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT).returncode:
                raise SystemExit(f"failed: {' '.join(cmd)} (log: {log})")
    return time.perf_counter() - started


def before_pretraining(experiment: str, run_id: str, extra: dict[str, list[str]]) -> list[list[str]]:
    """The stage commands of the pipeline before pretraining (no pretrain stage)."""
    return [[sys.executable, "-m", f"consum.cli.{stage}", f"experiment={experiment}", f"run_id={run_id}",
             *BEFORE_PRETRAINING.get(stage, []), *extra.get(stage, [])] for stage in STAGES]


def same_results(a: Path, b: Path) -> bool:
    """Two evaluate results.json equal in everything but the wall seconds each system took to decode
    (``cost.<system>.*_seconds``: a timing, not a result)."""
    def without_timings(path: Path) -> dict:
        results = json.loads(path.read_text())
        for cost in (results.get("cost") or {}).values():
            for key in [k for k in cost if k.endswith("_seconds")]:
                del cost[key]
        return results

    return without_timings(a) == without_timings(b)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="a new directory: runs/ and cache/ of the three pipelines")
    p.add_argument("--experiment", default="factworld_xsum")
    p.add_argument("--prefix", default="bench")
    p.add_argument("--before-override", nargs=2, action="append", default=[],
                   metavar=("STAGE", "OVERRIDE"),
                   help="one more override of a stage of the pipeline before pretraining (smaller models)")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    if (root / "runs").exists():
        raise SystemExit(f"{root}/runs exists: the first pipeline must start from nothing (use a new --root)")
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CONSUM_ROOT": str(root)}
    extra: dict[str, list[str]] = {}
    for stage, override in args.before_override:
        extra.setdefault(stage, []).append(override)
    make = ["make", "--no-print-directory", "pipeline", f"EXP={args.experiment}"]
    first, second, before = (f"{args.prefix}-first", f"{args.prefix}-second", f"{args.prefix}-before")
    seconds = {
        "first": timed([[*make, f"RUN_ID={first}"]], env, root / f"{first}.log"),
        "second": timed([[*make, f"RUN_ID={second}"]], env, root / f"{second}.log"),
        "before": timed(before_pretraining(args.experiment, before, extra), env, root / f"{before}.log"),
    }
    evaluated = [root / "runs" / "evaluate" / run for run in (first, second)]
    identical_md = filecmp.cmp(*(e / "results.md" for e in evaluated), shallow=False)
    identical_json = same_results(*(e / "results.json" for e in evaluated))
    print(f"\n| pipeline ({args.experiment}) | wall time | ratio to before pretraining |\n|---|---|---|")
    rows = (("before", "before pretraining (random weights)"), ("first", "first, with pretraining"),
            ("second", "second (pretrained model reused)"))
    for name, what in rows:
        print(f"| {what} | {minutes(seconds[name])} | {seconds[name] / seconds['before']:.2f} |")
    print(f"\nresults.md of the first and second pipelines byte-identical: {identical_md}; results.json "
          f"identical but for the decoding seconds (its 'cost'): {identical_json}; logs in {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
