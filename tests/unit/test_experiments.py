"""Experiments neither lose settings silently nor leak them into stages that never read them.

An experiment ``E`` is ``conf/experiment/E.yaml`` (what every stage reads: the data) plus one file per
stage, ``conf/experiment/<stage>/E.yaml`` (that stage's settings). Every primary config includes its
stage's file without ``optional``, so a missing file stops the composition instead of quietly dropping
the experiment's settings for that stage; a derived experiment (``defaults: [xsum]``) names its parent
in every per-stage file too.
"""

import functools
import shutil

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from consum.io.rundir import UNHASHED_KEYS, config_hash
from consum.resolvers import content_key
from tests.conftest import CONF_DIR

STAGES = ("pretrain", "prepare_data", "train_mle", "train_qagen", "generate", "score_quals",
          "select_contrast", "train_conseq", "evaluate")
EXPERIMENT_DIR = CONF_DIR / "experiment"
EXPERIMENTS = sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml"))
# ConSeq-ROUGE variants: the same recipe as their parent with ROUGE as the reward of the selection
ROUGE_PAIRS = [(name.removesuffix("_rouge"), name) for name in EXPERIMENTS if name.endswith("_rouge")]
# Groups an experiment may choose (defaults overrides); the deep key check composes the stage with them.
CHOOSABLE_GROUPS = ("data", "model", "optim", "train", "loss", "quals", "generation", "contrast", "logger")
# Settings two stages must share under every experiment: QUALS in evaluate is the metric that chose S+/S-.
SHARED = {"quals": ("score_quals", "evaluate"), "cache": ("score_quals", "evaluate")}
# Keys a pretraining recipe may set that the base recipe lacks on purpose: the code reads them with a
# default (absent = full), so the recipes written before them keep their content key, i.e. their run dir
# (conf/pretrained/factworld_single.yaml).
OPTIONAL_KEYS = {"pretrained.corpus.names"}
# Blocks only some model / optim choices have, read with a default where absent, so that the run dirs of
# every other stage keep their config hash: a warm start's checkpoints (model=minilm_bert2bert) and the
# learning-rate factors of optim=warm_start. And maps whose keys are data, not settings: the shares of
# qagen_data.context name its context modes.
OPTIONAL_BLOCKS = {"model.warm_start", "optim.lr_multipliers", "qagen_data.context"}


@functools.cache
def composed(stage: str, overrides: tuple[str, ...] = (), conf_dir: str = str(CONF_DIR), hydra: bool = False):
    with initialize_config_dir(version_base="1.3", config_dir=conf_dir):
        return compose(config_name=stage, overrides=["run_id=fixed", *overrides], return_hydra_config=hydra)


def plain(stage: str, overrides: tuple[str, ...] = (), resolve: bool = False) -> dict:
    return OmegaConf.to_container(composed(stage, overrides), resolve=resolve)


def key_paths(node, prefix: str = "") -> set[str]:
    """Every key of a nested mapping as a dotted path (a mapping's own path included)."""
    if not isinstance(node, dict):
        return set()
    paths = set()
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths |= {path} | key_paths(value, f"{path}.")
    return paths


def null_paths(node, prefix: str = "") -> set[str]:
    """The dotted paths of a nested mapping whose value is None."""
    if not isinstance(node, dict):
        return set()
    paths = set()
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths |= {path} if value is None else null_paths(value, f"{path}.")
    return paths


def parents(experiment: str) -> list[str]:
    """The experiments ``conf/experiment/<experiment>.yaml`` derives from (its plain defaults entries)."""
    raw = yaml.safe_load((EXPERIMENT_DIR / f"{experiment}.yaml").read_text()) or {}
    return [d for d in raw.get("defaults", []) if isinstance(d, str) and d in EXPERIMENTS]


def test_the_stages_are_the_primary_configs():
    assert sorted(STAGES) == sorted(p.stem for p in CONF_DIR.glob("*.yaml"))


def test_experiment_subfolders_are_the_stages():
    folders = {p.name for p in EXPERIMENT_DIR.iterdir() if p.is_dir()}
    assert folders == set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_every_experiment_has_a_file_for_the_stage_and_no_file_is_orphaned(stage):
    files = {p.stem for p in (EXPERIMENT_DIR / stage).glob("*.yaml")}
    assert set(EXPERIMENTS) - files == set(), f"conf/experiment/{stage}/ lacks these experiments"
    assert files - set(EXPERIMENTS) == set(), f"conf/experiment/{stage}/ holds files of no experiment"


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_includes_its_experiment_file_without_optional(stage):
    defaults = yaml.safe_load((CONF_DIR / f"{stage}.yaml").read_text())["defaults"]
    assert {f"experiment/{stage}@_global_": "${experiment}"} in defaults
    assert not [d for d in defaults if isinstance(d, dict) and any(k.startswith("optional ") for k in d)]


@pytest.mark.parametrize("stage, experiment", [(s, e) for s in STAGES for e in EXPERIMENTS if parents(e)])
def test_a_derived_experiment_names_its_parent_in_every_stage_file(stage, experiment):
    raw = yaml.safe_load((EXPERIMENT_DIR / stage / f"{experiment}.yaml").read_text()) or {}
    assert set(parents(experiment)) <= set(raw.get("defaults", [])), (
        f"conf/experiment/{stage}/{experiment}.yaml must start with defaults: {parents(experiment)}")


def test_a_missing_stage_file_stops_the_composition(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    (conf / "experiment" / "derived.yaml").write_text("# @package _global_\ndefaults:\n  - xsum\n")
    for stage in STAGES:
        if stage != "train_mle":
            (conf / "experiment" / stage).mkdir(exist_ok=True)
            (conf / "experiment" / stage / "derived.yaml").write_text("defaults:\n  - xsum\n")
    assert composed("generate", ("experiment=derived",), str(conf)).generation.num_candidates == 6
    with pytest.raises(HydraException, match="experiment/train_mle"):
        composed("train_mle", ("experiment=derived",), str(conf))


@pytest.mark.parametrize("stage, experiment", [(s, e) for s in STAGES for e in EXPERIMENTS])
def test_an_experiment_adds_no_top_level_key_to_a_stage(stage, experiment):
    extra = set(plain(stage, (f"experiment={experiment}",))) - set(plain(stage))
    assert not extra, f"experiment={experiment} adds {sorted(extra)} to {stage}, which never reads them"


@pytest.mark.parametrize("stage, experiment", [(s, e) for s in STAGES for e in EXPERIMENTS])
def test_an_experiment_sets_only_keys_the_stage_has(stage, experiment):
    """Deeper: every key an experiment sets exists in the stage composed with the same group choices
    (catches a misspelt or misplaced key, e.g. train.val_rouge_doc, that would otherwise be ignored)."""
    choices = composed(stage, (f"experiment={experiment}",), hydra=True).hydra.runtime.choices
    same_groups = tuple(f"{g}={choices[g]}" for g in CHOOSABLE_GROUPS if g in choices)
    base = plain(stage, same_groups)
    unknown = key_paths(plain(stage, (f"experiment={experiment}",))) - key_paths(base)
    # a null slot takes a whole block: model.recipe (null but under model=pretrained), model.tiny
    unknown = {p for p in unknown if not any(p.startswith(f"{n}.") for n in null_paths(base))}
    unknown -= OPTIONAL_KEYS
    unknown = {p for p in unknown if not any(p == b or p.startswith(f"{b}.") for b in OPTIONAL_BLOCKS)}
    assert not unknown, f"experiment={experiment} sets keys {stage} does not have: {sorted(unknown)}"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("key", sorted(SHARED))
def test_stages_that_share_a_setting_get_the_same_value(key, experiment):
    values = [plain(stage, (f"experiment={experiment}",), resolve=True)[key] for stage in SHARED[key]]
    assert all(v == values[0] for v in values), f"{key} differs between {SHARED[key]} under {experiment}"


def test_the_rouge_experiments_pair_with_their_parents():
    assert ("xsum", "xsum_rouge") in ROUGE_PAIRS and ("cnndm", "cnndm_rouge") in ROUGE_PAIRS
    for parent, _ in ROUGE_PAIRS:
        assert parent in EXPERIMENTS


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "select_contrast"])
@pytest.mark.parametrize("parent, rouge", ROUGE_PAIRS)
def test_a_rouge_experiment_hashes_like_its_parent_outside_selection(parent, rouge, stage):
    """ConSeq-ROUGE differs from ConSeq-QUALS in the selection's reward only: every other stage's config
    hash is the same, so one MLE / QAGen / candidates / scores run serves both."""
    a = plain(stage, (f"experiment={parent}",), resolve=True)
    b = plain(stage, (f"experiment={rouge}",), resolve=True)
    assert config_hash(a) == config_hash(b)


@pytest.mark.parametrize("parent, rouge", ROUGE_PAIRS)
def test_a_rouge_experiment_changes_only_the_reward_of_selection(parent, rouge):
    a = plain("select_contrast", (f"experiment={parent}",), resolve=True)
    b = plain("select_contrast", (f"experiment={rouge}",), resolve=True)
    differ = {k for k in set(a) | set(b) if k not in UNHASHED_KEYS and a.get(k) != b.get(k)}
    assert differ == {"reward"} and (a["reward"], b["reward"]) == ("quals", "rouge")


@pytest.mark.parametrize("stage", ["train_mle", "train_qagen"])
@pytest.mark.parametrize("experiment", ["xsum", "cnndm"])
def test_a_hub_model_experiment_gives_the_model_option_itself(stage, experiment):
    """The model block under experiment=xsum is exactly model=bart_large's (no tiny-model leftovers)."""
    chosen = plain(stage, (f"experiment={experiment}",), resolve=True)["model"]
    assert chosen == plain(stage, ("model=bart_large",), resolve=True)["model"]


@pytest.mark.parametrize("stage", ["train_mle", "train_qagen"])
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_a_stage_starting_from_the_pretrained_model_names_the_one_its_pretrain_stage_makes(stage, experiment):
    """`make pipeline EXP=e` pretrains once, then train-mle / train-qagen load that run's model/: the
    recipe they name must key the same run dir as the pretrain stage's (the demo's and the study's differ)."""
    model = plain(stage, (f"experiment={experiment}",), resolve=True)["model"]
    if model.get("recipe") is None:
        return  # a hub model, a tiny model from random weights, or an upstream run (inputs.init)
    recipe = composed("pretrain", (f"experiment={experiment}",)).pretrained  # its run_id: this key
    assert model["name_or_path"].endswith(f"/pretrain/{content_key(recipe)}/model")


def test_the_xsum_regime_scores_with_quals_spans_and_a_qagen_that_can_ask_it():
    """factworld_xsum writes conf/quals/spans.yaml's keys out (an experiment file cannot override a group
    chosen by interpolation); they must not drift apart, and its QAGen must learn what spans need."""
    spans = OmegaConf.to_container(composed("score_quals", ("quals=spans",)).quals)
    for stage in ("score_quals", "evaluate"):
        quals = OmegaConf.to_container(composed(stage, ("experiment=factworld_xsum",)).quals)
        assert quals == {**spans, "generation": quals["generation"], "answer_extractor": "factworld"}
    qagen = composed("train_qagen", ("experiment=factworld_xsum",))
    assert qagen.qagen_data.answer_conditioned > 0
    data = composed("prepare_data", ("experiment=factworld_xsum",)).data.factworld
    assert (data.train_noise, data.extrinsic_share, data.eval_noise) == (0.77, 0.95, 0.0)


def test_the_english_experiment_scores_with_the_quals_chosen_on_human_judgments():
    """english writes conf/quals/english.yaml's keys out (as factworld_xsum does spans.yaml's); they must
    not drift apart, and its QAGen must learn the answer-conditioned questions that spans need."""
    english = OmegaConf.to_container(composed("score_quals", ("quals=english",)).quals)
    assert english["answers"] == "spans"
    for stage in ("score_quals", "evaluate"):
        assert OmegaConf.to_container(composed(stage, ("experiment=english",)).quals) == english
    assert composed("train_qagen", ("experiment=english",)).qagen_data.answer_conditioned > 0


def test_the_pipelines_default_world_is_the_studys():
    """`make pipeline` (factworld_xsum_single) and `make study` (factworld_study_xsum_single) train on the
    same world, from the same pretrained model, with the same recipe: the demo shows what the study
    measures (one seed of it)."""
    for stage in ("prepare_data", "pretrain", "train_mle", "generate", "select_contrast", "train_conseq",
                  "evaluate"):
        # run_id (and the run_dir made of it) is the time of composition: not the recipe
        demo, study = (plain(stage, (f"experiment={e}", "run_id=x"), resolve=True)
                       for e in ("factworld_xsum_single", "factworld_study_xsum_single"))
        assert demo == study, stage
    data = composed("prepare_data", ("experiment=factworld_xsum_single",)).data.factworld
    assert (data.names, data.train_noise) == ("single", 0.77)
