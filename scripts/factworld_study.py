"""The factworld study (`make study`): MLE against ConSeq and the baselines a reviewer asks first,
over several seeds, in the XSum regime (``--experiment factworld_study_xsum_single``, the default: the
world of single-word names; ``factworld_study_xsum``: full names) or the mild one (``factworld_study``).

    make study                                   # EXP=factworld_study_xsum_single, seeds 1 2 3 in parallel
    make study ARGS="--design ceiling"           # the oracle ceiling by lever (validation split)
    make study ARGS="--design contrast_full"     # contrast + the chosen contrast's oracle twin
    make study ARGS="--design xsum"              # the previous round's design: filters, ConSeq-ROUGE
    make study EXP=factworld_study               # the mild-regime study of earlier rounds
    .venv/bin/python scripts/factworld_study.py --seeds 1 2 3 --jobs 3 \
        --experiment factworld_study_xsum_single

The design (``--design``; by default ``contrast`` when the experiment's name has xsum, else ``mild``;
consum.evaluation.study_report.DESIGNS) says which systems each seed trains; a design may add candidate
sets of its own (``generate/P-s<s>-gen-<name>``, e.g. every training document), skips QAGen and QUALS
when no system needs them, and names the split evaluate reads. One data run (the world
is fixed; ``data.factworld.seed``) and, per training seed s, one full replicate of the method, every
stage through its own CLI (the commands are printed, so any step can be rerun by hand):

    pretrain (keyed by its recipe; reused) -> prepare_data/P
    train_mle/P-s<s> (from the pretrained tiny BART) -> train_qagen/P-s<s> (where the experiment
        says: mild from that MLE model, xsum from the pretrained model; a design with shared_qagen,
        the default contrast, trains one train_qagen/P-qagen with seed 1 for every seed instead)
        -> generate/P-s<s> -> score_quals/P-s<s> (detail rows: the pair scores locate spans)
    select_contrast/P-s<s>-<contrast>   one per contrast of the design (quals, rouge, oracle, ...)
    train_conseq/P-s<s>-<system>        one per ConSeq system (contrast, loss)
    xsum design only, the baselines:
      prepare_data/P-valnoise           the validation references noised at the training rate (once)
      score_quals/P-s<s>-valrefs, -refs QUALS of those and of every training reference
      train_mle/P-s<s>-mle_filter_<by>  MLE on the references a filter keeps: quals (its threshold the
                                        best balanced accuracy on the noisy validation references,
                                        scripts/filter_threshold.py), entity, oracle (the ceiling);
                                        the weights of the best validation NLL (fewer pairs overfit)
      mle_rerank_quals                  at evaluate: the highest-QUALS of the MLE model's 8 beams
    evaluate/P-s<s>                     every system on the same test documents

``--jobs N`` runs N seeds at once, each stage with ``OMP_NUM_THREADS=1`` (unless set): on a 2-core
machine three one-thread seeds finish sooner than three two-thread seeds one after another. Never run
the same seed twice at once (a stage's run dir has one writer). Every stage skips a complete run dir
and resumes an unfinished one, so rerunning the script after a crash or a kill only does what is
missing. At the end the per-seed results are aggregated (consum.evaluation.study_report) into
``<out>/study.json``, ``<out>/study.md`` and ``<out>/study.png``; ``--aggregate-only`` redoes only that.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from omegaconf import OmegaConf

from consum.evaluation.study_report import (
    DESIGNS,
    StudyDesign,
    aggregate,
    head_to_head,
    plot,
    report_markdown,
    selection_precision,
)


def stage(name: str, run_id: str | None, *overrides: str, experiment: str, runs: Path, log_dir: Path,
          threads: int | None = None) -> None:
    """Run one stage's CLI; run_id None for the pretrain stage, whose run dir is keyed by its recipe."""
    cmd = [sys.executable, "-m", f"consum.cli.{name}", *([f"run_id={run_id}"] if run_id else []),
           f"experiment={experiment}", f"paths.runs_dir={runs}", *overrides]
    print("$ " + " ".join(shlex.quote(c) for c in cmd[1:]), flush=True)
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    if threads is not None:
        env.setdefault("OMP_NUM_THREADS", str(threads))
        env.setdefault("MKL_NUM_THREADS", str(threads))
    started = time.perf_counter()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{run_id or 'keyed'}.log"
    with open(log_path, "a") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode:
        raise SystemExit(f"{name} {run_id or ''} failed (exit {proc.returncode}); see {log_path}")
    label = run_id or "(keyed by its recipe)"
    print(f"  {name} {label} done in {time.perf_counter() - started:.0f} s", flush=True)


def hydra_value(value) -> str:
    """A Hydra override value of a dict of strings / numbers / dicts (paths quoted)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    return f"'{value}'" if isinstance(value, str) else str(value)


SHARED_QAGEN_SEED = 1


def shared_qagen_id(prefix: str) -> str:
    """The run id of a study's one QAGen (designs with shared_qagen)."""
    return f"{prefix}-qagen"


def qagen_run(args, runs: Path, design: StudyDesign, seed: int) -> Path:
    """The QAGen a seed's QUALS reads: the study's shared one, or the seed's own."""
    run_id = shared_qagen_id(args.prefix) if design.shared_qagen else f"{args.prefix}-s{seed}"
    return runs / "train_qagen" / run_id


def qa_cache(args, design: StudyDesign, seed: int) -> str:
    """One QA cache per QAGen: keys hash the QAGen's weights, so a shared QAGen shares its cache (every
    seed's references are the same summaries); per-seed QAGens would only add write locks to one file."""
    name = "qa_cache.sqlite" if design.shared_qagen else f"qa_cache-s{seed}.sqlite"
    return f"cache={Path(args.out).resolve()}/{name}"


def train_shared_qagen(args, runs: Path) -> None:
    """The study's one QAGen, trained with seed 1 (the same config as seed 1's own, so the same weights).
    Refused where the experiment starts QAGen from the seed's MLE model (the mild study)."""
    init = qagen_init(args.experiment)
    if init is not None and "train_mle" in str(init):
        raise SystemExit(f"experiment {args.experiment}: QAGen starts from the seed's MLE model ({init}); "
                         "a design with shared_qagen needs a QAGen that does not")
    stage("train_qagen", shared_qagen_id(args.prefix), f"inputs.data={runs}/prepare_data/{args.prefix}",
          f"seed={SHARED_QAGEN_SEED}", experiment=args.experiment, runs=runs, log_dir=Path(args.out) / "logs",
          threads=1 if args.jobs > 1 else None)


def qagen_init(experiment: str):
    """``inputs.init`` of the experiment's train_qagen config, unresolved (where QAGen starts)."""
    from hydra import compose, initialize_config_dir

    conf = Path(__file__).resolve().parent.parent / "conf"
    with initialize_config_dir(version_base="1.3", config_dir=str(conf)):
        cfg = compose(config_name="train_qagen", overrides=[f"experiment={experiment}"])
    return OmegaConf.to_container(cfg.inputs, resolve=False)["init"]


def run_seed(seed: int, args, runs: Path, design: StudyDesign,
             qagen_ready: Callable[[], object] = lambda: None) -> Path:
    """One seed's chain of stages; ``qagen_ready`` blocks until a shared QAGen is trained."""
    exp, data = args.experiment, f"inputs.data={runs}/prepare_data/{args.prefix}"
    rid = f"{args.prefix}-s{seed}"
    common = dict(experiment=exp, runs=runs, log_dir=Path(args.out) / "logs",
                  threads=1 if args.jobs > 1 else None)
    cache = qa_cache(args, design, seed)
    qagen = f"inputs.qagen={qagen_run(args, runs, design, seed)}"
    stage("train_mle", rid, data, f"seed={seed}", **common)
    if design.needs_quals and not design.shared_qagen:
        # the experiment's train_qagen file says where QAGen starts (the mild study: this seed's MLE model)
        stage("train_qagen", rid, data, f"seed={seed}", **common)
    stage("generate", rid, data, f"seed={seed}", **common)
    # the same per-document seeds (seed, doc_id): a larger set's first documents are the shared set's
    candidate_runs = {None: f"{runs}/generate/{rid}"}
    for name, overrides in design.candidates.items():
        stage("generate", f"{rid}-gen-{name}", data, f"seed={seed}", f"inputs.model={runs}/train_mle/{rid}",
              *overrides, **common)
        candidate_runs[name] = f"{runs}/generate/{rid}-gen-{name}"
    score_runs = {}
    if design.needs_quals:
        qagen_ready()
        stage("score_quals", rid, data, cache, qagen, **common)
        score_runs[None] = f"{runs}/score_quals/{rid}"
    for contrast, overrides in design.contrasts.items():
        chosen = design.contrast_candidates.get(contrast)
        scores = []
        if design.reads_quals(contrast):
            if chosen not in score_runs:  # a candidate set of its own: QUALS of all its documents
                stage("score_quals", f"{rid}-gen-{chosen}", data, cache, "max_docs=null",
                      f"inputs.candidates={candidate_runs[chosen]}", qagen, **common)
                score_runs[chosen] = f"{runs}/score_quals/{rid}-gen-{chosen}"
            scores = [f"inputs.scores={score_runs[chosen]}"]
        stage("select_contrast", f"{rid}-{contrast}", data, *overrides,
              f"inputs.candidates={candidate_runs[chosen]}", *scores, **common)
    systems: dict = {"mle": f"{runs}/train_mle/{rid}"}
    for name, (contrast, loss) in design.conseq.items():
        stage("train_conseq", f"{rid}-{name}", data, f"seed={seed}", f"loss={loss}",
              f"inputs.contrast={runs}/select_contrast/{rid}-{contrast}",
              f"inputs.model={runs}/train_mle/{rid}", *design.conseq_overrides.get(name, ()), **common)
        systems[name] = f"{runs}/train_conseq/{rid}-{name}"
    for name, by in design.filtered.items():
        filtering = [*filter_overrides(by, rid, args, runs, cache, qagen, common), *design.filtered_train]
        stage("train_mle", f"{rid}-{name}", data, f"seed={seed}", *filtering, **common)
        systems[name] = f"{runs}/train_mle/{rid}-{name}"
    for name, rerank in design.reranked.items():
        systems[name] = {"model": systems["mle"], "rerank": rerank}
    quals = [cache, qagen] if design.needs_quals else ["inputs.qagen=null"]
    evaluated = rid + design.evaluate_suffix
    stage("evaluate", evaluated, data, *quals, f"split={design.evaluate_split}", "~systems",
          f"+systems={hydra_value(systems)}", *args.evaluate_overrides, **common)
    return runs / "evaluate" / evaluated


def filter_overrides(by: str, rid: str, args, runs: Path, cache: str, qagen: str, common: dict) -> list[str]:
    """train-mle's overrides of one reference filter. QUALS: the seed's QAGen scores the noisy
    validation references (its threshold: the best balanced accuracy against the oracle, never chosen
    on the training data it filters) and every training reference (what the filter reads)."""
    if by != "quals":
        return [f"filter.by={by}"]
    from filter_threshold import choose  # scripts/ is on sys.path when run

    from consum.io.rundir import open_input

    stage("score_quals", f"{rid}-valrefs", f"inputs.data={runs}/prepare_data/{args.prefix}-valnoise",
          "split=validation", "inputs.candidates=null", "max_docs=null", qagen, cache, **common)
    stage("score_quals", f"{rid}-refs", f"inputs.data={runs}/prepare_data/{args.prefix}", "split=train",
          "inputs.candidates=null", "max_docs=null", qagen, cache, **common)
    chosen = choose(open_input(runs / "score_quals" / f"{rid}-valrefs", expected_stage="score_quals"))
    print(f"  {rid}: QUALS filter threshold {chosen['threshold']:.4f} (balanced accuracy "
          f"{chosen['balanced_accuracy']:.3f} on {chosen['n']} noisy validation references)", flush=True)
    return ["filter.by=quals", f"filter.threshold={chosen['threshold']!r}",
            f"filter.scores={runs}/score_quals/{rid}-refs"]


def design_runs(design: StudyDesign, rid: str) -> set[str]:
    """``stage/run_id`` of every run one seed of ``design`` makes (what run_seed runs)."""
    runs = {f"train_mle/{rid}", f"generate/{rid}", f"evaluate/{rid}{design.evaluate_suffix}"}
    runs |= {f"generate/{rid}-gen-{name}" for name in design.candidates}
    if design.needs_quals:
        runs |= {f"score_quals/{rid}"} | (set() if design.shared_qagen else {f"train_qagen/{rid}"})
        quals_sets = {design.contrast_candidates.get(c) for c in design.contrasts if design.reads_quals(c)}
        runs |= {f"score_quals/{rid}-gen-{name}" for name in quals_sets - {None}}
    runs |= {f"select_contrast/{rid}-{c}" for c in design.contrasts}
    runs |= {f"train_conseq/{rid}-{name}" for name in design.conseq}
    runs |= {f"train_mle/{rid}-{name}" for name in design.filtered}
    if "quals" in design.filtered.values():
        runs |= {f"score_quals/{rid}-valrefs", f"score_quals/{rid}-refs"}
    return runs


def run_seconds(runs: Path, run: str) -> int | None:
    """A stage run's seconds from its manifest (started_at .. finished_at); None if unrecorded."""
    manifest = runs / run / "manifest.json"
    m = json.loads(manifest.read_text()) if manifest.exists() else {}
    if m.get("started_at") and m.get("finished_at"):
        return round(m["finished_at"] - m["started_at"])
    return None


def seed_record(seed: int, args, runs: Path, design: StudyDesign) -> dict:
    """What aggregate() reads of one seed: evaluate's results and the contrast/ConSeq manifests."""
    rid = f"{args.prefix}-s{seed}"

    def stats(stage_name: str, run_id: str) -> dict:
        path = runs / stage_name / run_id / "manifest.json"
        return json.loads(path.read_text()).get("stats", {}) if path.exists() else {}

    # what the seed's chain cost: each stage run's manifest records when it started and finished; only
    # this design's runs (designs sharing a prefix share runs dirs)
    stage_seconds = {run: t for run in sorted(design_runs(design, rid)) if (t := run_seconds(runs, run))}
    evaluated = runs / "evaluate" / (rid + design.evaluate_suffix)
    # the same resampling as evaluate's own tests against MLE; each system's rows read once
    boot = dict(OmegaConf.load(evaluated / "config.yaml").get("bootstrap") or {})
    rows = system_rows(evaluated, {name for pair in design.head_to_head for name in pair})
    return {
        "head_to_head": {f"{a} vs {b}": head_to_head(rows[a], rows[b], **boot)
                         for a, b in design.head_to_head},
        "stage_seconds": stage_seconds,
        "oracle_check": oracle_check(seed, args, runs, design),
        "results": json.loads((evaluated / "results.json").read_text()),
        "contrast": {c: stats("select_contrast", f"{rid}-{c}") for c in design.contrasts},
        "conseq": {n: stats("train_conseq", f"{rid}-{n}") for n in design.conseq},
        "filter": {n: stats("train_mle", f"{rid}-{n}").get("filter") for n in design.filtered},
    }


def system_rows(evaluated: Path, systems: set[str]) -> dict[str, list[dict]]:
    """Per system, its per-document rows (doc_id, the oracle's labels, ROUGE) from an evaluate run."""
    from consum.io.rundir import open_input

    run = open_input(evaluated, expected_stage="evaluate")
    return {name: run.rows(f"summaries_{name}") for name in sorted(systems)}


def oracle_check(seed: int, args, runs: Path, design: StudyDesign) -> dict | None:
    """factworld: the oracle's verdict on the references and candidates the seed scored, and on the
    rows of each contrast (how right the selection is); None on data without doc_facts."""
    from consum.data.factworld import check_summary
    from consum.evaluation.oracle_metrics import oracle_metrics
    from consum.io.rundir import open_input

    rid = f"{args.prefix}-s{seed}"
    data = open_input(runs / "prepare_data" / args.prefix).table("train")
    if "doc_facts" not in data.column_names:
        return None
    rows = data.select_columns(["doc_id", "summary", "doc_facts"]).to_list()
    facts = {r["doc_id"]: r["doc_facts"] for r in rows}
    candidates = open_input(runs / "generate" / rid).rows("candidates")
    scored_docs = {c["doc_id"] for c in candidates}

    def hallucinated(row: dict) -> bool:
        return check_summary(facts[row["doc_id"]], row["text"]).hallucinated

    references = [{"doc_id": r["doc_id"], "text": r["summary"]} for r in rows if r["doc_id"] in scored_docs]
    contrasts = {c: open_input(runs / "select_contrast" / f"{rid}-{c}").rows("contrast")
                 for c in design.contrasts}
    return {
        "references_hallucinated": statistics.fmean(hallucinated(r) for r in references),
        "candidates_hallucinated": statistics.fmean(hallucinated(c) for c in candidates),
        "contrasts": {c: selection_precision(r, lambda row: oracle_metrics(facts[row["doc_id"]], row["text"]))
                      for c, r in contrasts.items()},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="factworld_study_xsum_single")
    p.add_argument("--design", choices=sorted(DESIGNS), default=None,
                   help="which systems (default: contrast if the experiment's name has xsum, else mild)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--jobs", type=int, default=1, help="seeds run at once (one thread per stage if > 1)")
    p.add_argument("--prefix", default="study")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--out", default="runs/study", help="aggregated results, logs")
    p.add_argument("--aggregate-only", action="store_true",
                   help="only aggregate the seeds' evaluate runs (all complete)")
    p.add_argument("--evaluate-overrides", nargs="*", default=[],
                   help="extra Hydra overrides of evaluate, e.g. max_docs=500")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be >= 1")
    design = DESIGNS[args.design or ("contrast" if "xsum" in args.experiment else "mild")]
    shared = design.needs_quals and design.shared_qagen  # one QAGen trained for the whole study
    runs = Path(args.runs_dir).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if not args.aggregate_only:
        # The pretrained tiny BART every train_mle starts from: made once, reused when complete.
        stage("pretrain", None, experiment=args.experiment, runs=runs, log_dir=out / "logs")
        stage("prepare_data", args.prefix, experiment=args.experiment, runs=runs, log_dir=out / "logs")
        if "quals" in design.filtered.values():  # the QUALS filter's threshold is chosen on these
            stage("prepare_data", f"{args.prefix}-valnoise",
                  "data.factworld.eval_noise=${data.factworld.train_noise}",
                  experiment=args.experiment, runs=runs, log_dir=out / "logs")
        # threads only wait on subprocesses; a shared QAGen trains beside the seeds' MLE runs (it starts
        # from the pretrained model) and each seed waits for it before its first QUALS
        with ThreadPoolExecutor(max_workers=args.jobs + shared) as pool:
            qagen = pool.submit(train_shared_qagen, args, runs) if shared else None
            ready = qagen.result if qagen else lambda: None
            futures = [pool.submit(run_seed, seed, args, runs, design, ready) for seed in args.seeds]
            for future in [*futures, *([qagen] if qagen else [])]:
                future.result()
    study = aggregate({seed: seed_record(seed, args, runs, design) for seed in args.seeds}, design)
    study["experiment"], study["prefix"] = args.experiment, args.prefix
    if shared:  # the study's, not a seed's
        qagen_run_name = f"train_qagen/{shared_qagen_id(args.prefix)}"
        study["shared_stage_seconds"] = {qagen_run_name: run_seconds(runs, qagen_run_name)}
    study["wall_seconds_this_invocation"] = round(time.perf_counter() - started)
    (out / "study.json").write_text(json.dumps(study, indent=2) + "\n")
    text = report_markdown(study)
    (out / "study.md").write_text(text + "\n")
    plot(study, out / "study.png")
    print(text)
    print(f"-> {out}/study.json, study.md, study.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
