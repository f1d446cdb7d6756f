"""scripts/factworld_study.py: the stage commands one seed of the XSum-regime study runs (recorded, not
run), and the Hydra value of its systems (a run dir or a reranked model)."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from consum.evaluation import study_report
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "factworld_study.py"


def load_script(monkeypatch, choose):
    """The script as a module, with scripts/ on sys.path (as when run) and filter_threshold.choose faked."""
    monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
    fake = SimpleNamespace(choose=choose)
    monkeypatch.setitem(sys.modules, "filter_threshold", fake)
    spec = importlib.util.spec_from_file_location("factworld_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hydra_value_quotes_paths_and_nests_rerank_settings():
    spec = importlib.util.spec_from_file_location("factworld_study_values", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = module.hydra_value({"mle": "/r/train_mle/p-s1",
                                "rr": {"model": "/r/train_mle/p-s1", "rerank": {"n": 8, "decoding": "beam"}}})
    assert value == "{mle:'/r/train_mle/p-s1',rr:{model:'/r/train_mle/p-s1',rerank:{n:8,decoding:'beam'}}}"


def test_an_xsum_seed_runs_every_system_and_the_quals_filter_reads_its_validation_threshold(
        monkeypatch, tmp_path):
    chose_on = []

    def choose(run):
        chose_on.append(run)
        return {"threshold": -1.25, "balanced_accuracy": 0.8, "n": 40}

    study = load_script(monkeypatch, choose)
    calls = []
    monkeypatch.setattr(study, "stage",
                        lambda name, run_id, *overrides, **kw: calls.append((name, run_id, overrides)))
    monkeypatch.setattr("consum.io.rundir.open_input", lambda path, expected_stage=None: Path(path))
    args = SimpleNamespace(experiment="factworld_study_xsum", prefix="p", out=str(tmp_path / "out"), jobs=3,
                           evaluate_overrides=[])
    runs = tmp_path / "runs"
    study.run_seed(1, args, runs, study_report.XSUM)

    ran = [(name, run_id) for name, run_id, _ in calls]
    assert ran[:4] == [("train_mle", "p-s1"), ("train_qagen", "p-s1"), ("generate", "p-s1"),
                       ("score_quals", "p-s1")]
    assert {r for n, r in ran if n == "select_contrast"} == {"p-s1-quals", "p-s1-rouge", "p-s1-oracle"}
    assert {r for n, r in ran if n == "train_conseq"} == {f"p-s1-{s}" for s in study_report.XSUM.conseq}
    # the QUALS filter: validation references scored (split=validation, the noised data run), then every
    # training reference, then the threshold chosen on the validation run only
    assert ran.index(("score_quals", "p-s1-valrefs")) < ran.index(("train_mle", "p-s1-mle_filter_quals"))
    assert chose_on == [runs / "score_quals" / "p-s1-valrefs"]
    overrides = {run_id: o for name, run_id, o in calls}
    assert f"inputs.data={runs}/prepare_data/p-valnoise" in overrides["p-s1-valrefs"]
    assert {"split=train", "inputs.candidates=null", "max_docs=null"} <= set(overrides["p-s1-refs"])
    quals_filter = {"filter.by=quals", "filter.threshold=-1.25",
                    f"filter.scores={runs}/score_quals/p-s1-refs"}
    assert quals_filter <= set(overrides["p-s1-mle_filter_quals"])
    assert "filter.by=entity" in overrides["p-s1-mle_filter_entity"]
    assert "+train.best_metric=val/nll" in overrides["p-s1-mle_filter_entity"]  # fewer pairs: stop early
    assert "filter.by=oracle" in overrides["p-s1-mle_filter_oracle"]
    # evaluate last, with every system of the design; the reranked one is the MLE model with rerank settings
    name, run_id, evaluate = calls[-1]
    assert (name, run_id) == ("evaluate", "p-s1")
    assert {"split=test", f"inputs.qagen={runs}/train_qagen/p-s1"} <= set(evaluate)
    systems = next(o for o in evaluate if o.startswith("+systems="))
    for system in study_report.XSUM.systems:
        assert f"{system}:" in systems
    assert f"mle_rerank_quals:{{model:'{runs}/train_mle/p-s1',rerank:{{n:8,decoding:'beam'}}}}" in systems
    assert f"mle_filter_quals:'{runs}/train_mle/p-s1-mle_filter_quals'" in systems


def test_the_ceiling_design_rewards_every_system_by_the_oracle_with_each_levers_overrides(
        monkeypatch, tmp_path):
    study = load_script(monkeypatch, choose=None)
    calls = []
    monkeypatch.setattr(study, "stage",
                        lambda name, run_id, *overrides, **kw: calls.append((name, run_id, overrides)))
    args = SimpleNamespace(experiment="factworld_study_xsum_single", prefix="p", out=str(tmp_path / "out"),
                           jobs=1, evaluate_overrides=[])
    runs = tmp_path / "runs"
    evaluated = study.run_seed(1, args, runs, study_report.CEILING)
    ran = [(name, run_id) for name, run_id, _ in calls]
    # all oracle: no QAGen, no QUALS scoring, no QUALS at evaluate
    assert not [r for r in ran if r[0] in ("train_qagen", "score_quals")]
    assert not [o for _, _, overrides in calls for o in overrides if o.startswith("inputs.scores=")]
    # the candidate sets: the shared 1,500 documents, then every document
    generated = {run_id: set(o) for name, run_id, o in calls if name == "generate"}
    assert set(generated) == {"p-s1", "p-s1-gen-all"}
    assert {"max_docs=null", f"inputs.model={runs}/train_mle/p-s1"} <= generated["p-s1-gen-all"]
    assert not [o for o in generated["p-s1"] if "max_docs" in o]
    selects = {run_id: set(o) for name, run_id, o in calls if name == "select_contrast"}
    assert set(selects) == {f"p-s1-{c}" for c in study_report.CEILING.contrasts}
    assert all({"reward=oracle", "spans.source=oracle"} <= o for o in selects.values())
    candidates_of = {run_id: next(o for o in opts if o.startswith("inputs.candidates="))
                     for run_id, opts in selects.items()}
    assert candidates_of["p-s1-oracle"] == f"inputs.candidates={runs}/generate/p-s1"
    assert candidates_of["p-s1-oracle_all"] == f"inputs.candidates={runs}/generate/p-s1-gen-all"
    assert candidates_of["p-s1-oracle_extended"] == f"inputs.candidates={runs}/generate/p-s1-gen-all"
    assert candidates_of["p-s1-oracle_fallback_all"] == f"inputs.candidates={runs}/generate/p-s1-gen-all"
    assert "contrast.positive_fallback=best_candidate" in selects["p-s1-oracle_fallback"]
    assert "contrast.mode=separate" in selects["p-s1-oracle_separate"]
    assert "contrast.negatives_per_doc=3" in selects["p-s1-oracle_k3"]
    assert {"contrast.positive_fallback=best_candidate", "contrast.mode=separate",
            "contrast.negatives_per_doc=3"} <= selects["p-s1-oracle_extended"]
    conseq = {run_id: set(o) for name, run_id, o in calls if name == "train_conseq"}
    assert "loss=span_unlikelihood" in conseq["p-s1-conseq_oracle_span"]
    oracle_contrast = f"inputs.contrast={runs}/select_contrast/p-s1-oracle"
    assert oracle_contrast in conseq["p-s1-conseq_oracle_span"]
    assert "train.max_epochs=12" in conseq["p-s1-conseq_oracle_x3"]  # 3x the factworld_small epochs
    assert oracle_contrast in conseq["p-s1-conseq_oracle_x3"]
    others = [o for run_id, overrides in conseq.items() if not run_id.endswith("_x3") for o in overrides]
    assert not [o for o in others if "max_epochs" in o]
    assert not [c for c in calls if c[0] == "train_mle" and c[1] != "p-s1"]  # no filter baselines
    # evaluated on validation (this design chooses), in its own run beside the xsum design's p-s1
    name, run_id, evaluate = calls[-1]
    assert (name, run_id) == ("evaluate", "p-s1-ceiling") and evaluated == runs / "evaluate" / "p-s1-ceiling"
    assert {"split=validation", "inputs.qagen=null"} <= set(evaluate)


def test_only_designs_with_a_quals_reward_filter_or_reranking_need_a_qagen():
    assert study_report.XSUM.needs_quals and study_report.MILD.needs_quals
    assert not study_report.CEILING.needs_quals


def test_a_quals_contrast_on_a_candidate_set_of_its_own_scores_that_set_once(monkeypatch, tmp_path):
    study = load_script(monkeypatch, choose=None)
    calls = []
    monkeypatch.setattr(study, "stage",
                        lambda name, run_id, *overrides, **kw: calls.append((name, run_id, overrides)))
    design = study_report.StudyDesign(
        name="t", conseq={"a": ("quals_all", "unlikelihood"), "b": ("oracle_all", "unlikelihood"),
                          "c": ("quals_all_k3", "unlikelihood")},
        contrasts={"quals_all": ["reward=quals"], "oracle_all": ["reward=oracle"],
                   "quals_all_k3": ["reward=quals", "contrast.negatives_per_doc=3"]},
        ceiling={}, candidates={"all": ("max_docs=null",)},
        contrast_candidates={c: "all" for c in ("quals_all", "oracle_all", "quals_all_k3")})
    args = SimpleNamespace(experiment="factworld_study_xsum_single", prefix="p", out=str(tmp_path / "out"),
                           jobs=1, evaluate_overrides=[])
    runs = tmp_path / "runs"
    study.run_seed(1, args, runs, design)
    scored = {run_id: set(o) for name, run_id, o in calls if name == "score_quals"}
    # the shared candidates, and the set of its own once (every document), though two contrasts read it
    assert set(scored) == {"p-s1", "p-s1-gen-all"}
    assert {"max_docs=null", f"inputs.candidates={runs}/generate/p-s1-gen-all",
            f"inputs.qagen={runs}/train_qagen/p-s1"} <= scored["p-s1-gen-all"]  # the seed's QAGen
    selects = {run_id: set(o) for name, run_id, o in calls if name == "select_contrast"}
    for contrast in ("quals_all", "quals_all_k3"):
        assert f"inputs.scores={runs}/score_quals/p-s1-gen-all" in selects[f"p-s1-{contrast}"]
    assert not [o for o in selects["p-s1-oracle_all"] if o.startswith("inputs.scores=")]
    name, run_id, evaluate = calls[-1]
    assert (name, run_id) == ("evaluate", "p-s1") and "split=test" in evaluate


def test_the_runs_a_seed_is_charged_for_are_exactly_those_its_design_runs(monkeypatch, tmp_path):
    study = load_script(monkeypatch, choose=lambda run: {"threshold": -1.0, "balanced_accuracy": 0.7, "n": 4})
    monkeypatch.setattr("consum.io.rundir.open_input", lambda path, expected_stage=None: Path(path))
    calls = []
    monkeypatch.setattr(study, "stage",
                        lambda name, run_id, *overrides, **kw: calls.append(f"{name}/{run_id}"))
    for design in study_report.DESIGNS.values():
        calls.clear()
        args = SimpleNamespace(experiment="e", prefix="p", out=str(tmp_path / "out"), jobs=1,
                               evaluate_overrides=[])
        study.run_seed(1, args, tmp_path / "runs", design)
        assert study.design_runs(design, "p-s1") == set(calls), design.name


def test_a_shared_qagen_design_trains_one_qagen_and_every_seeds_quals_reads_it_after_it_is_ready(
        monkeypatch, tmp_path):
    study = load_script(monkeypatch, choose=None)
    calls = []
    monkeypatch.setattr(study, "stage",
                        lambda name, run_id, *overrides, **kw: calls.append((name, run_id, set(overrides))))
    args = SimpleNamespace(experiment="factworld_study_xsum_single", prefix="p", out=str(tmp_path / "out"),
                           jobs=2, evaluate_overrides=[])
    runs = tmp_path / "runs"
    ready = []
    for seed in (2, 3):
        study.run_seed(seed, args, runs, study_report.CONTRAST,
                       qagen_ready=lambda s=seed: ready.append((s, len(calls))))
    assert not [c for c in calls if c[0] == "train_qagen"]  # no seed trains its own
    shared_qagen = f"inputs.qagen={runs}/train_qagen/p-qagen"
    cache = f"cache={(tmp_path / 'out').resolve()}/qa_cache.sqlite"
    quals_readers = [c for c in calls if c[0] in ("score_quals", "evaluate")]
    assert len(quals_readers) == 2 * 3  # per seed: its candidates, every document's, the evaluate
    for name, run_id, overrides in quals_readers:
        assert {shared_qagen, cache} <= overrides, (name, run_id)
    # each seed waits for the QAGen before its first QUALS, not before its MLE
    for seed, n_calls_before in ready:
        before = [c[:2] for c in calls[:n_calls_before]]
        assert ("train_mle", f"p-s{seed}") in before
        assert not [c for c in before if c[0] == "score_quals" and c[1].startswith(f"p-s{seed}")]
    # the study's QAGen: seed 1's config, so seed 1's QUALS is what a per-seed design gives it
    calls.clear()
    study.train_shared_qagen(args, runs)
    assert calls == [("train_qagen", "p-qagen", {f"inputs.data={runs}/prepare_data/p", "seed=1"})]


def test_a_shared_qagen_is_refused_where_qagen_starts_from_the_seeds_mle_model(monkeypatch, tmp_path):
    study = load_script(monkeypatch, choose=None)
    monkeypatch.setattr(study, "stage", lambda *a, **kw: pytest.fail("no stage may run"))
    args = SimpleNamespace(experiment="factworld_study", prefix="p", out=str(tmp_path / "out"), jobs=1,
                           evaluate_overrides=[])
    with pytest.raises(SystemExit, match="starts from the seed's MLE model"):
        study.train_shared_qagen(args, tmp_path / "runs")
    assert study.qagen_init("factworld_study_xsum_single") is None
