"""The factworld study (`make study`): MLE vs ConSeq-QUALS vs ConSeq-ROUGE (+ ranking and DPO losses),
several seeds.

    make study                                   # EXP=factworld_study, seeds 1 2 3, run ids study-s<seed>*
    .venv/bin/python scripts/factworld_study.py --seeds 1 2 3 --prefix study --experiment factworld_study

One data run (the world is fixed; ``data.factworld.seed``) and, per training seed s, one full replicate of
the method, every stage through its own CLI (the commands are printed, so any step can be rerun by hand):

    train_mle/P-s<s>      -> train_qagen/P-s<s> (starts from that MLE model) -> generate/P-s<s>
                          -> score_quals/P-s<s>
    select_contrast/P-s<s>-quals (reward quals)   select_contrast/P-s<s>-rouge (reward rouge)
    train_conseq/P-s<s>-quals (unlikelihood)  -rouge (unlikelihood on the ROUGE contrast)
                           -rank (margin_rank)  -dpo (dpo), both on the QUALS contrast
    evaluate/P-s<s>       all five systems on the same test documents

Seeds are independent: ``--seeds 1``, ``--seeds 2`` and ``--seeds 3`` may run at the same time in three
shells (``OMP_NUM_THREADS=1`` each on a small machine; never the same seed twice at once: a stage's run
dir has one writer), then ``--seeds 1 2 3 --aggregate-only`` aggregates. Every
stage skips a complete run dir and resumes an unfinished one, so rerunning the script after a crash
or a kill only does what is missing. At the end the per-seed results are aggregated (mean and standard
deviation over seeds) into ``<out>/study.json``, ``<out>/study.md`` and ``<out>/study.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

SYSTEMS = {  # system name -> (contrast run suffix, loss) of its train_conseq run; None = the MLE model
    "mle": None,
    "conseq_quals": ("quals", "unlikelihood"),
    "conseq_rouge": ("rouge", "unlikelihood"),
    "conseq_quals_rank": ("quals", "margin_rank"),
    "conseq_quals_dpo": ("quals", "dpo"),
}
SUFFIX = {
    "conseq_quals": "quals", "conseq_rouge": "rouge", "conseq_quals_rank": "rank", "conseq_quals_dpo": "dpo"
}
METRICS = [  # key in results.json, column title, scale
    ("hallucinated", "hallucinated %", 100),
    ("extrinsic", "extrinsic %", 100),
    ("intrinsic", "intrinsic %", 100),
    ("rougeL", "ROUGE-L", 100),
    ("quals", "QUALS", 1),
    ("prec_s", "entity prec. source %", 100),
]


def stage(name: str, run_id: str, *overrides: str, experiment: str, runs: Path, log_dir: Path) -> None:
    cmd = [sys.executable, "-m", f"consum.cli.{name}", f"run_id={run_id}", f"experiment={experiment}",
           f"paths.runs_dir={runs}", *overrides]
    print("$ " + " ".join(shlex.quote(c) for c in cmd[1:]), flush=True)
    started = time.perf_counter()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}-{run_id}.log", "a") as log:
        proc = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HYDRA_FULL_ERROR": "1"}
        )
    if proc.returncode:
        raise SystemExit(
            f"{name} {run_id} failed (exit {proc.returncode}); see {log_dir / f'{name}-{run_id}.log'}"
        )
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)


def run_seed(seed: int, args, runs: Path) -> Path:
    exp, data = args.experiment, f"inputs.data={runs}/prepare_data/{args.prefix}"
    rid = f"{args.prefix}-s{seed}"
    common = dict(experiment=exp, runs=runs, log_dir=Path(args.out) / "logs")
    # One QA cache per seed: seeds may run as parallel invocations (--seeds 2 in another shell), and
    # their QAGens differ anyway, so a shared SQLite file would only add write locks.
    cache = f"cache={Path(args.out).resolve()}/qa_cache-s{seed}.sqlite"
    stage("train_mle", rid, *[data, f"seed={seed}"], **common)
    stage("train_qagen", rid, *[data, f"seed={seed}", f"inputs.init={runs}/train_mle/{rid}"], **common)
    stage("generate", rid, *[data, f"seed={seed}"], **common)
    stage("score_quals", rid, data, cache, **common)
    for reward in ("quals", "rouge"):
        stage("select_contrast", f"{rid}-{reward}", data, f"reward={reward}",
              f"inputs.candidates={runs}/generate/{rid}", f"inputs.scores={runs}/score_quals/{rid}", **common)
    systems = {"mle": f"{runs}/train_mle/{rid}"}
    for name, spec in SYSTEMS.items():
        if spec is None:
            continue
        contrast, loss = spec
        conseq_id = f"{rid}-{SUFFIX[name]}"
        stage("train_conseq", conseq_id, data, f"seed={seed}", f"loss={loss}",
              f"inputs.contrast={runs}/select_contrast/{rid}-{contrast}",
              f"inputs.model={runs}/train_mle/{rid}", **common)
        systems[name] = f"{runs}/train_conseq/{conseq_id}"
    stage("evaluate", rid, data, cache, f"inputs.qagen={runs}/train_qagen/{rid}", "~systems",
          "+systems={" + ",".join(f"{k}:'{v}'" for k, v in systems.items()) + "}", *args.evaluate_overrides,
          **common)
    return runs / "evaluate" / rid


def aggregate(results_by_seed: dict[int, dict]) -> dict:
    """Per system and metric: per-seed means, their mean and sample standard deviation."""
    out = {"seeds": sorted(results_by_seed), "systems": {}, "quals_auc_vs_oracle": {}}
    for name in SYSTEMS:
        row = {}
        for key, _, _ in METRICS:
            values = [r["systems"][name][key]["mean"] for r in results_by_seed.values()
                      if name in r["systems"] and r["systems"][name].get(key)
                      and r["systems"][name][key]["mean"] is not None]
            if values:
                row[key] = {
                    "mean": statistics.fmean(values),
                    "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "per_seed": values,
                }
        out["systems"][name] = row
    aucs = [r["quals_auc_vs_oracle"]["roc_auc"] for r in results_by_seed.values()
            if r.get("quals_auc_vs_oracle", {}).get("roc_auc") is not None]
    if aucs:
        out["quals_auc_vs_oracle"] = {
            "mean": statistics.fmean(aucs),
            "sd": statistics.stdev(aucs) if len(aucs) > 1 else 0.0,
            "per_seed": aucs,
        }
    base = out["systems"]["mle"].get("hallucinated", {}).get("mean")
    for row in out["systems"].values():
        if base and "hallucinated" in row:
            row["hallucinated_relative_change"] = (row["hallucinated"]["mean"] - base) / base
    return out


def table(study: dict) -> str:
    head = "| system | " + " | ".join(title for _, title, _ in METRICS) + " | hallucination vs MLE |"
    lines = [head, "|" + "---|" * (len(METRICS) + 2)]
    for name, row in study["systems"].items():
        cells = []
        for key, _, scale in METRICS:
            m = row.get(key)
            cells.append("n/a" if m is None else f"{m['mean'] * scale:.2f} ± {m['sd'] * scale:.2f}")
        rel = row.get("hallucinated_relative_change")
        cells.append("" if name == "mle" or rel is None else f"{rel * 100:+.1f}%")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"mean ± sd over seeds {study['seeds']} (each seed: its own MLE, QAGen, candidates and ConSeq runs)."
    )
    auc = study.get("quals_auc_vs_oracle")
    if auc:
        lines.append(
            "QUALS ROC-AUC against oracle hallucination labels of the test outputs (pooled systems): "
            f"{auc['mean']:.3f} ± {auc['sd']:.3f}."
        )
    return "\n".join(lines)


def plot(study: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(study["systems"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (key, title, scale) in zip(axes, [METRICS[0], METRICS[3], METRICS[4]]):
        means = [study["systems"][n].get(key, {}).get("mean", float("nan")) * scale for n in names]
        sds = [study["systems"][n].get(key, {}).get("sd", 0.0) * scale for n in names]
        ax.bar(range(len(names)), means, yerr=sds, capsize=4, color=["#888"] + ["#3a7"] * (len(names) - 1))
        for i, n in enumerate(names):
            for v in study["systems"][n].get(key, {}).get("per_seed", []):
                ax.plot(i, v * scale, "k.", ms=4)
        ax.set_xticks(range(len(names)), [n.replace("conseq_", "C-") for n in names], rotation=25, ha="right")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="factworld_study")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--prefix", default="study")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--out", default="runs/study", help="aggregated results, logs")
    p.add_argument(
        "--aggregate-only", action="store_true", help="only aggregate the seeds' evaluate runs (all complete)"
    )
    p.add_argument(
        "--evaluate-overrides", nargs="*", default=[],
        help="extra Hydra overrides of evaluate, e.g. max_docs=500",
    )
    args = p.parse_args(argv)
    runs = Path(args.runs_dir).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = {}
    if args.aggregate_only:
        for seed in args.seeds:
            results[seed] = json.loads(
                (runs / "evaluate" / f"{args.prefix}-s{seed}" / "results.json").read_text()
            )
    else:
        stage("prepare_data", args.prefix, experiment=args.experiment, runs=runs, log_dir=out / "logs")
        for seed in args.seeds:
            results[seed] = json.loads((run_seed(seed, args, runs) / "results.json").read_text())
    study = aggregate(results)
    study["experiment"], study["prefix"] = args.experiment, args.prefix
    study["wall_seconds_this_invocation"] = round(time.perf_counter() - started)
    (out / "study.json").write_text(json.dumps(study, indent=2) + "\n")
    text = table(study)
    (out / "study.md").write_text(text + "\n")
    plot(study, out / "study.png")
    print(text)
    print(f"-> {out}/study.json, study.md, study.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
