"""The whole pipeline on factworld tiny (experiment factworld_tiny), as `make pipeline EXP=factworld_tiny`
runs it, plus QUALS runner properties on its trained QAGen: resume and 2 processes == 1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from consum.contrast import select_stage
from consum.data import prepare
from consum.data.schema import DataError
from consum.evaluation import evaluate, headline
from consum.generation import candidates
from consum.io import check_keys, open_input
from consum.quals import runner as score_quals
from consum.training import conseq, mle, pretrain, qagen
from tests.compare import assert_same_rows
from tests.conftest import CONF_DIR

pytestmark = pytest.mark.integration

STAGES = [
    ("pretrain", pretrain.run),
    ("prepare_data", prepare.run),
    ("train_mle", mle.run),
    ("train_qagen", qagen.run),
    ("generate", candidates.run),
    ("score_quals", score_quals.run),
    ("select_contrast", select_stage.run),
    ("train_conseq", conseq.run),
    ("evaluate", evaluate.run),
]


KEYED = {"pretrain"}  # run dirs named by their recipe, not by run_id


def compose_stage(root, stage, *overrides):
    run_id = [] if stage in KEYED else ["run_id=tiny"]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(
            config_name=stage,
            overrides=[f"paths.root_dir={root}", "experiment=factworld_tiny", *run_id, *overrides],
        )
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def run_path(root, stage):
    return Path(compose_stage(root, stage)["run_dir"])


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    for stage, run in STAGES:
        cfg = compose_stage(root, stage)
        if stage in ("prepare_data", "generate", "score_quals", "select_contrast", "evaluate"):
            run(cfg, echo=lambda s: None)
        else:
            run(cfg)
    return root


def test_every_stage_completes_and_chains(pipeline):
    runs = {stage: open_input(run_path(pipeline, stage), expected_stage=stage) for stage, _ in STAGES}
    assert runs["train_mle"].manifest["inputs"]["data"]["path"] == str(runs["prepare_data"].path)
    # the pretrained start
    assert runs["train_mle"].manifest["inputs"]["model"]["path"] == str(runs["pretrain"].path)
    assert set(runs["train_conseq"].manifest["inputs"]) == {"contrast", "data", "model"}
    scores = runs["score_quals"].rows("scores")
    assert any(r["n_qa"] > 0 for r in scores)  # the tiny QAGen produces usable QA pairs
    assert runs["score_quals"].rows("details")  # detail=true in the tiny experiment
    contrast_rows = runs["select_contrast"].rows("contrast")
    assert {r["role"] for r in contrast_rows} == {"pos", "neg"}
    assert (runs["select_contrast"].path / "scores_hist.png").exists()
    results = json.loads((runs["evaluate"].path / "results.json").read_text())
    assert set(results["systems"]) == {"mle", "conseq"}
    assert "hallucinated" in results["systems"]["mle"] and "rougeL" in results["systems"]["mle"]
    kinds = results["systems"]["mle"]["oracle_breakdown"]
    assert {"invented_attribute", "mangled_copy", "invented_value", "role_swap"} <= set(kinds)
    assert "mangled_copy" in results["comparisons"]["conseq-vs-mle"]
    report = (runs["evaluate"].path / "report.html").read_text()
    assert report.count("<table>") == 2  # the headline table and the breakdown by kind
    assert "exact-copy rate" in (runs["evaluate"].path / "results.md").read_text()
    printed = headline.render(runs["evaluate"].path)  # what `make pipeline` prints at its end
    assert "report.html" in printed and "| mle |" in printed and "exact-copy rate" not in printed
    worst = runs["evaluate"].rows("summaries_mle")
    assert all("oracle_flags" in r and "oracle_verdict" in r for r in worst)
    # QUALS against the oracle per kind: score-quals on references and candidates, evaluate on outputs
    by_set = runs["score_quals"].manifest["stats"]["quals_vs_oracle"]
    assert set(by_set) == {"references", "candidates"}
    n_refs = sum(r["cand_id"] == "ref" for r in scores)
    assert by_set["references"]["n"] + by_set["references"]["n_unscored"] == n_refs
    assert set(by_set["candidates"]["by_kind"]) == set(kinds)
    auc = results["quals_auc_vs_oracle"]
    assert set(auc["by_system"]) == {"mle", "conseq"} and set(auc["by_kind"]) == set(kinds)
    assert auc["n"] + auc["n_unscored"] == 2 * results["n_docs"]
    # the line needs both classes: the tiny models' outputs may all hallucinate
    line = "each kind vs the faithful ones" in (runs["evaluate"].path / "results.md").read_text()
    assert line == (auc["roc_auc"] is not None)


def test_train_qagen_starts_from_an_mle_run(pipeline):
    from safetensors.torch import load_file

    from consum.models.loading import load_tokenizer

    runs = pipeline / "runs"
    run = qagen.run(compose_stage(
        pipeline, "train_qagen", "run_id=from_mle", f"inputs.init={runs}/train_mle/tiny",
        f"inputs.data={runs}/prepare_data/tiny", "train.max_steps=2", "train.eval_every=100000",
    ))
    assert open_input(run.path).manifest["inputs"]["init"]["path"] == str(runs / "train_mle" / "tiny")
    mle_vocab = load_tokenizer(runs / "train_mle" / "tiny" / "model").get_vocab()
    qagen_vocab = load_tokenizer(run.path / "model").get_vocab()
    assert set(qagen_vocab) == set(mle_vocab) | {"<sep>"}  # the MLE tokenizer, plus the separator
    name = "model.encoder.layers.0.fc1.weight"
    start = load_file(runs / "train_mle" / "tiny" / "model" / "model.safetensors")[name]
    after = load_file(run.path / "model" / "model.safetensors")[name]
    assert (after - start).abs().max() < 1e-3  # two small updates away from the MLE weights, not a fresh init
    with pytest.raises(FileNotFoundError, match="does not exist"):
        qagen.run(compose_stage(
            pipeline, "train_qagen", "run_id=from_nothing", f"inputs.init={runs}/train_mle/nothing",
            f"inputs.data={runs}/prepare_data/tiny", "train.max_steps=2",
        ))


def test_answer_conditioned_qagen_scores_with_answer_spans(pipeline):
    from consum.quals.scorer import QualsScorer

    runs = pipeline / "runs"
    run = qagen.run(compose_stage(
        pipeline, "train_qagen", "run_id=conditioned", f"inputs.data={runs}/prepare_data/tiny",
        f"inputs.init={runs}/train_qagen/tiny",  # the pipeline's QAGen writes QA pairs; 2 more updates
        "qagen_data.answer_conditioned=0.5", "train.max_steps=2", "train.eval_every=100000",
    ))
    stats = open_input(run.path).manifest["stats"]
    assert 0.3 * stats["n_train"] < stats["n_answer_conditioned"] < 0.7 * stats["n_train"]
    scorer = QualsScorer.from_pretrained(run.path, answers="spans", answer_extractor="factworld",
                                         generation={"num_beams": 4, "num_groups": 4})
    row = open_input(runs / "prepare_data" / "tiny").rows("validation")[0]
    [result] = scorer.score([row["document"]], [row["summary"]])
    from consum.quals.answers import factworld_answer_spans

    asked = factworld_answer_spans(row["summary"])
    assert result.n_generated == len(asked) > 0  # one question asked per entity of the reference
    assert {p.answer for p in result.pairs} <= set(asked)
    with pytest.raises(ValueError, match="answer_conditioned"):  # the pipeline's QAGen learned none
        QualsScorer.from_pretrained(runs / "train_qagen" / "tiny", answers="spans")

    # scripts/quals_oracle_auc.py: its variants, scored once, equal the scorer configured as each variant
    import importlib.util

    from consum.data.factworld.oracle import ERROR_KINDS, check_summary
    from consum.metrics.metric_stats import auc_by_error_kind

    spec = importlib.util.spec_from_file_location("quals_oracle_auc", Path("scripts/quals_oracle_auc.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out_path = pipeline / "auc.json"
    assert script.main([
        "--data", str(runs / "prepare_data" / "tiny"), "--qagen", str(run.path), "--split", "train",
        "--max-docs", "20", "--variants", "--output", str(out_path), "--quals", "answer_extractor=factworld",
        "generation.num_beams=4", "generation.num_groups=4",
    ]) == 0
    variants = json.loads(out_path.read_text())["sets"]["references"]["variants"]
    assert len(variants) == 1 + 3 * 2 * 2 * 2  # configured + answers x aggregation x tokens x side
    rows = open_input(runs / "prepare_data" / "tiny").rows("train")[:20]
    flags = [check_summary(r["doc_facts"], r["summary"]).kind_flags() for r in rows]
    for answers, aggregation, tokens in (("spans", "min", "answer"), ("both", "mean", "all")):
        direct = QualsScorer.from_pretrained(
            run.path, answers=answers, aggregation=aggregation, pair_tokens=tokens, summary_side="clean",
            answer_extractor="factworld", generation={"num_beams": 4, "num_groups": 4},
        ).score([r["document"] for r in rows], [r["summary"] for r in rows])
        expected = auc_by_error_kind([d.quals for d in direct], flags, ERROR_KINDS)
        got = variants[f"{answers}/{aggregation}/{tokens}/clean"]
        assert expected["roc_auc"] is not None and got["roc_auc"] == pytest.approx(expected["roc_auc"])
        assert got["n"] == expected["n"] and got["n_unscored"] == expected["n_unscored"]
        for kind in ERROR_KINDS:
            assert got["by_kind"][kind]["n_kind"] == expected["by_kind"][kind]["n_kind"]
            assert got["by_kind"][kind]["roc_auc"] == pytest.approx(expected["by_kind"][kind]["roc_auc"])


def test_train_mle_adds_binding_pairs_from_the_config(pipeline):
    runs = pipeline / "runs"
    run = mle.run(compose_stage(
        pipeline, "train_mle", "run_id=binding", f"inputs.data={runs}/prepare_data/tiny",
        "binding.share=1.0", "binding.per_document=2", "train.max_steps=2", "train.eval_every=100000",
    ))
    stats = open_input(run.path).manifest["stats"]
    n_docs = len(open_input(runs / "prepare_data" / "tiny").rows("train"))
    assert stats["n_binding_pairs"] > n_docs // 2  # most tiny documents have two persons or orgs
    assert stats["n_train"] == n_docs + stats["n_binding_pairs"]


def test_train_mle_filters_the_references_from_the_config(pipeline):
    runs = pipeline / "runs"
    base = [f"inputs.data={runs}/prepare_data/tiny", "train.max_steps=2", "train.eval_every=100000"]
    run = mle.run(compose_stage(pipeline, "train_mle", "run_id=filtered", "filter.by=oracle", *base))
    stats = open_input(run.path).manifest["stats"]
    rows = open_input(runs / "prepare_data" / "tiny").rows("train")
    n_faithful = sum(r["label"] == "consistent" for r in rows)  # the oracle flags exactly the others
    assert stats["filter"]["n_in"] == len(rows)
    assert stats["n_train"] == stats["filter"]["n_kept"] == n_faithful
    # the pipeline's score-quals scored 60 training references, not all: a QUALS filter refuses them
    with pytest.raises(DataError, match="training documents have no score"):
        mle.run(compose_stage(pipeline, "train_mle", "run_id=filtered_quals", "filter.by=quals",
                              "filter.keep_top=0.5", f"filter.scores={runs}/score_quals/tiny", *base))


def test_evaluate_reranks_candidates_by_quals_and_reports_the_cost(pipeline):
    runs = pipeline / "runs"
    model = f"{runs}/train_mle/tiny"
    run = evaluate.run(compose_stage(
        pipeline, "evaluate", "run_id=rerank", "max_docs=6", f"inputs.data={runs}/prepare_data/tiny",
        f"inputs.qagen={runs}/train_qagen/tiny", "~systems",
        f"+systems={{mle: {model}, mle_rerank: {{model: {model}, rerank: {{n: 3, decoding: sample}}}}}}",
    ), echo=lambda s: None)
    done = open_input(run.path)
    results = json.loads((run.path / "results.json").read_text())
    cost = results["cost"]
    assert cost["mle"]["n_candidates"] == 1 and cost["mle"]["quals_seconds"] == 0.0
    assert cost["mle_rerank"]["n_candidates"] == 3 and cost["mle_rerank"]["quals_seconds"] > 0
    assert cost["mle_rerank"]["rerank"]["seed"] == 1  # the stage's seed
    candidates = done.rows("candidates_mle_rerank")
    assert len(candidates) == 18 and sum(c["kept"] for c in candidates) == 6
    summaries = {r["doc_id"]: r for r in done.rows("summaries_mle_rerank")}
    for doc_id in summaries:
        mine = [c for c in candidates if c["doc_id"] == doc_id]
        kept = next(c for c in mine if c["kept"])
        assert summaries[doc_id]["summary"] == kept["text"]
        assert kept["cand_index"] == max(  # the highest QUALS, the first of ties, None below any score
            range(3), key=lambda k: (mine[k]["quals"] is not None, mine[k]["quals"] or 0.0, -k))
    assert "highest QUALS of 3" in (run.path / "results.md").read_text()
    assert set(done.manifest["inputs"]) == {"data", "qagen", "system.mle", "system.mle_rerank"}


def test_rerun_skips_complete_stage(pipeline, capsys):
    import inspect

    for stage, run in STAGES:  # every stage opens its run dir with consum.io.open_stage
        manifest = (run_path(pipeline, stage) / "manifest.json").read_bytes()
        capsys.readouterr()
        if "echo" in inspect.signature(run).parameters:
            lines = []
            done = run(compose_stage(pipeline, stage), echo=lines.append)
        else:  # the training stages print
            done = run(compose_stage(pipeline, stage))
            lines = capsys.readouterr().out.splitlines()
        assert done.is_complete
        assert f"{stage}: {done.path} is already complete; nothing to do" in lines
        assert (done.path / "manifest.json").read_bytes() == manifest  # nothing was redone


def test_score_quals_resume_and_two_processes(pipeline):
    base = ["detail=false"]
    one = score_quals.run(
        compose_stage(pipeline, "score_quals", "run_id=one", *base, *inputs(pipeline)), echo=lambda s: None
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_quals.run(
            compose_stage(
                pipeline, "score_quals", "run_id=killed", "fault.after_shards=1", *base, *inputs(pipeline)
            ),
            echo=lambda s: None,
        )
    resumed = score_quals.run(
        compose_stage(pipeline, "score_quals", "run_id=killed", *base, *inputs(pipeline)), echo=lambda s: None
    )
    rows_one, rows_resumed = open_input(one.path).rows("scores"), open_input(resumed.path).rows("scores")
    check_keys(
        [(r["doc_id"], r["cand_id"]) for r in rows_one],
        [(r["doc_id"], r["cand_id"]) for r in rows_resumed],
        "resumed",
    )
    assert_same_scores(rows_one, rows_resumed)

    env = {**os.environ, "PYTHONPATH": str(CONF_DIR.parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "-m", "consum.cli.score_quals",
           f"paths.root_dir={pipeline}", "experiment=factworld_tiny", "run_id=two", "cpu=true",
           *base, *inputs(pipeline)]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=600)
    two = open_input(pipeline / "runs" / "score_quals" / "two")
    assert two.manifest["world_size"] == 2
    assert_same_scores(two.rows("scores"), rows_one)


def assert_same_scores(a, b):
    """Same keys, counts and QA pairs; QUALS equal up to float noise (thread count, batch shape:
    tests/compare.py)."""
    assert_same_rows(a, b, floats=("quals",))


def inputs(root):
    runs = root / "runs"
    return [
        f"inputs.data={runs}/prepare_data/tiny",
        f"inputs.candidates={runs}/generate/tiny",
        f"inputs.qagen={runs}/train_qagen/tiny",
    ]


def test_evaluate_refuses_missing_model_and_empty_split(pipeline, tmp_path):
    data = f"inputs.data={pipeline}/runs/prepare_data/tiny"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate.run(
            compose_stage(pipeline, "evaluate", "run_id=bad1", data, f"systems.mle={tmp_path}/nothing"),
            echo=lambda s: None,
        )
    from consum.io import RunDir

    no_model = RunDir.create(
        {"stage": "train_mle", "run_id": "nomodel", "run_dir": str(tmp_path / "nomodel")}
    )
    no_model.finalize()
    with pytest.raises(FileNotFoundError, match="holds no model"):
        evaluate.run(
            compose_stage(pipeline, "evaluate", "run_id=bad2", data, f"systems.mle={no_model.path}"),
            echo=lambda s: None,
        )
    empty = prepare.run(compose_stage(tmp_path, "prepare_data", "data.factworld.n_test=0"),
                        echo=lambda s: None)
    with pytest.raises(DataError, match="empty"):
        evaluate.run(
            compose_stage(pipeline, "evaluate", "run_id=bad3", f"inputs.data={empty.path}"),
            echo=lambda s: None,
        )


def test_train_conseq_resume_logs_the_same_losses(pipeline):
    from consum.tracking import read_metrics

    runs = pipeline / "runs"
    base = [f"inputs.contrast={runs}/select_contrast/tiny", f"inputs.data={runs}/prepare_data/tiny",
            f"inputs.model={runs}/train_mle/tiny",
            "train.max_steps=6", "train.checkpoint_every=3", "train.log_every=1", "optim.lr=1e-3",
            "heldout_fraction=0.5"]
    straight = conseq.run(compose_stage(pipeline, "train_conseq", "run_id=c_straight", *base))
    with pytest.raises(RuntimeError, match="simulated crash"):
        conseq.run(compose_stage(pipeline, "train_conseq", "run_id=c_resumed", "fault.after_steps=3", *base))
    resumed = conseq.run(compose_stage(pipeline, "train_conseq", "run_id=c_resumed", *base))

    def losses(path):
        return {r["step"]: r["train/loss"] for r in read_metrics(path) if "train/loss" in r}

    a, b = losses(straight.path), losses(resumed.path)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in a:
        assert a[step] == pytest.approx(b[step], rel=1e-5, abs=1e-6), step
    stats = open_input(straight.path).manifest["stats"]
    assert stats["n_heldout_groups"] > 0
    assert "heldout/margin" in stats["heldout_before"] and "heldout/margin" in stats["heldout_after"]


def test_train_conseq_dpo_holds_one_model_and_computes_the_reference_once(pipeline, monkeypatch):
    """No frozen copy of the model during DPO training: π_ref is computed before, one value per target."""
    import gc

    from transformers import BartForConditionalGeneration

    from consum.tracking import read_metrics

    def live_models():  # type(), not isinstance(): some objects warn when their __class__ is read
        gc.collect()
        return sum(issubclass(type(o), BartForConditionalGeneration) for o in gc.get_objects())

    seen, train_loop = [], conseq.train_loop

    def counting_loop(cfg, run, model, data, micro_step, *rest):
        def step(m, batch):
            seen.append(live_models())
            return micro_step(m, batch)

        return train_loop(cfg, run, model, data, step, *rest)

    monkeypatch.setattr(conseq, "train_loop", counting_loop)
    runs = pipeline / "runs"
    contrast = f"{runs}/select_contrast/tiny"
    cfg = compose_stage(pipeline, "train_conseq", "run_id=c_dpo", "loss=dpo", f"inputs.contrast={contrast}",
                        f"inputs.data={runs}/prepare_data/tiny", f"inputs.model={runs}/train_mle/tiny",
                        "train.max_steps=2", "train.log_every=1", "heldout_fraction=0.5")
    baseline = live_models()
    run = conseq.run(cfg)
    assert seen and set(seen) == {baseline + 1}  # the policy only
    by_doc = {}
    for row in open_input(contrast).rows("contrast"):
        by_doc.setdefault(row["doc_id"], []).append({"role": row["role"]})
    groups = [{"doc_id": d, "targets": targets} for d, targets in by_doc.items()]
    train_groups, _ = conseq.split_heldout(groups, cfg["heldout_fraction"], cfg["seed"])
    stats = open_input(run.path).manifest["stats"]
    assert stats["n_reference_logprobs"] == sum(len(g["targets"]) for g in train_groups)
    assert stats["reference_seconds"] >= 0
    logged = read_metrics(run.path)
    assert {
        "train/dpo", "train/reward_margin", "train/loss", "train/lr", "train/grad_norm"
    } <= set(logged[-2])
    assert logged[0]["step"] == 0 and "heldout/margin" in logged[0]  # held-out diagnostics before training
    assert "heldout/margin" in logged[-1] and logged[-1]["step"] == 2


def test_select_contrast_with_the_oracle_reward(pipeline, tmp_path):
    """reward=oracle: same inputs as QUALS minus the scores; S- only oracle-hallucinated candidates,
    S+ only oracle-faithful references; a clear error on data without the oracle's facts."""
    from consum.data.factworld import check_summary

    run = select_stage.run(compose_stage(pipeline, "select_contrast", "run_id=oracle", "reward=oracle",
                                         f"inputs.data={pipeline}/runs/prepare_data/tiny",
                                         f"inputs.candidates={pipeline}/runs/generate/tiny",
                                         "inputs.scores=null", "contrast.neg_ratio=1.0",
                                         "contrast.pos_ratio=1.0"), echo=lambda s: None)
    rows = open_input(run.path).rows("contrast")
    assert rows and {r["role"] for r in rows} == {"pos", "neg"}
    data = open_input(f"{pipeline}/runs/prepare_data/tiny")
    facts = {r["doc_id"]: r["doc_facts"] for r in data.rows("train")}
    for r in rows:
        assert check_summary(facts[r["doc_id"]], r["text"]).hallucinated == (r["role"] == "neg")
    assert open_input(run.path).manifest["stats"]["reward"] == "oracle"

    # +oracle_filter=positives with the QUALS reward: the same selection minus hallucinated positives
    filtered = select_stage.run(compose_stage(pipeline, "select_contrast", "run_id=quals_oracle_pos",
                                              "+oracle_filter=positives", "contrast.pos_ratio=1.0",
                                              f"inputs.data={pipeline}/runs/prepare_data/tiny",
                                              f"inputs.candidates={pipeline}/runs/generate/tiny",
                                              f"inputs.scores={pipeline}/runs/score_quals/tiny"),
                                echo=lambda s: None)
    texts = {r["doc_id"]: r["summary"] for r in data.rows("train")}
    filtered_rows = open_input(filtered.path).rows("contrast")
    assert filtered_rows and all(not check_summary(facts[r["doc_id"]], texts[r["doc_id"]]).hallucinated
                                 for r in filtered_rows if r["role"] == "pos")
    assert "oracle_dropped_hallucinated_positives" in open_input(filtered.path).manifest["stats"]["selection"]

    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"document": r["document"], "summary": r["summary"]}) + "\n"
                             for r in data.rows("train")))
    plain_run = prepare.run(compose_stage(tmp_path, "prepare_data", "data=jsonl", f"data.path={plain}",
                                          "data.fields.id=null"), echo=lambda s: None)
    with pytest.raises(DataError, match="reward=oracle needs factworld data"):
        select_stage.run(compose_stage(pipeline, "select_contrast", "run_id=oracle_plain", "reward=oracle",
                                       f"inputs.data={plain_run.path}",
                                       f"inputs.candidates={pipeline}/runs/generate/tiny"),
                         echo=lambda s: None)


def test_span_unlikelihood_trains_on_the_spans_of_the_quals_details(pipeline):
    """spans.source=quals: the S- rows carry the character spans of their worst QA pairs' answers
    (score_quals detail rows) through select_contrast, and train_conseq loss=span_unlikelihood trains on
    them; without the spans it refuses with a clear error."""
    import math

    from consum.tracking import read_metrics

    runs = pipeline / "runs"
    contrast = select_stage.run(compose_stage(
        pipeline, "select_contrast", "run_id=spans", "spans.source=quals",
        f"inputs.data={runs}/prepare_data/tiny", f"inputs.candidates={runs}/generate/tiny",
        f"inputs.scores={runs}/score_quals/tiny",
    ), echo=lambda s: None)
    rows = open_input(contrast.path).rows("contrast")
    negatives = [r for r in rows if r["role"] == "neg"]
    assert negatives and all(r["unsupported_spans"] == [] for r in rows if r["role"] == "pos")
    stats = open_input(contrast.path).manifest["stats"]["spans"]
    assert stats["n_neg"] == len(negatives)
    assert stats["n_neg_with_spans"] == sum(r["span_found"] for r in negatives) > 0
    answers = {}
    for d in open_input(f"{runs}/score_quals/tiny").rows("details"):
        answers.setdefault((d["doc_id"], d["cand_id"]), set()).add(d["answer"].strip().lower())
    for r in negatives:  # every span is one of the negative's QA answers, in its own text
        for start, end in r["unsupported_spans"]:
            assert r["text"][start:end].lower() in answers[(r["doc_id"], r["cand_id"])]

    base = [f"inputs.data={runs}/prepare_data/tiny", f"inputs.model={runs}/train_mle/tiny",
            "loss=span_unlikelihood", "train.max_steps=3", "train.log_every=1", "heldout_fraction=0.5"]
    with pytest.raises(DataError, match="spans.source=quals"):
        conseq.run(compose_stage(pipeline, "train_conseq", "run_id=c_span_plain",
                                 f"inputs.contrast={runs}/select_contrast/tiny", *base))
    run = conseq.run(compose_stage(pipeline, "train_conseq", "run_id=c_span",
                                   f"inputs.contrast={contrast.path}", *base))
    logged = [r for r in read_metrics(run.path) if "train/loss" in r]
    assert [r["step"] for r in logged] == [1, 2, 3]
    for r in logged:
        assert all(math.isfinite(r[k]) for k in ("train/loss", "train/nll_pos", "train/ul_neg"))
        assert r["train/n_span_fallback"] >= 0 and r["train/n_span_tokens"] > 0
    trained = open_input(run.path).manifest["stats"]
    assert trained["loss"] == "span_unlikelihood"
    assert trained["spans"]["n_neg"] > trained["spans"]["n_span_fallback"] >= 0
