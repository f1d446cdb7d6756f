"""The YAML defaults equal the defaults of the code they configure (dataclasses, function keywords).

Where a stage reads a group into a dataclass (``QualsConfig``, ``SelectionConfig``, ``FactworldConfig``,
the decoders' configs) or passes it as keywords (losses, the tiny BART), a value changed on one side only
would make ``make <stage>`` and the Python API disagree without anyone noticing.
"""

import dataclasses
import inspect

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from consum.contrast.selection import SelectionConfig
from consum.contrast.spans import SpanRule
from consum.data.factworld.generator import FactworldConfig
from consum.generation.diverse_beam import DiverseBeamConfig
from consum.generation.sampling import SamplingConfig
from consum.losses import LOSSES
from consum.models.tiny import build_tiny_bart
from consum.models.tokenizer import train_bpe_tokenizer
from consum.quals.config import QAGenerationConfig, QualsConfig
from tests.conftest import CONF_DIR


def group(stage: str, key: str, *overrides: str) -> dict:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name=stage, overrides=["run_id=fixed", *overrides])
    return OmegaConf.to_container(cfg[key], resolve=True)


def keyword_defaults(fn, exclude=()) -> dict:
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty and name not in exclude}


def test_quals_default_is_quals_config():
    assert group("score_quals", "quals", "quals=default") == dataclasses.asdict(QualsConfig())


def test_quals_strict_changes_the_filter_and_the_summary_side_only():
    """conf/quals/strict.yaml (and the README): the paper's description = filter=strict +
    summary_side=clean."""
    strict = group("score_quals", "quals", "quals=strict")
    assert strict == dataclasses.asdict(QualsConfig(filter="strict", summary_side="clean"))


@pytest.mark.parametrize("stage", ["score_quals", "evaluate"])
def test_the_stages_scoring_quals_default_to_quals_default(stage):
    assert group(stage, "quals") == dataclasses.asdict(QualsConfig())


def test_qa_generation_and_diverse_beam_defaults_agree():
    """QUALS builds a DiverseBeamConfig from QAGenerationConfig: both default to the original's QAGen
    search."""
    qa, beam = dataclasses.asdict(QAGenerationConfig()), dataclasses.asdict(DiverseBeamConfig())
    assert {k: qa[k] for k in beam} == beam


def test_contrast_default_is_selection_config():
    """score_column is not a setting: the select_contrast stage sets it to its own column."""
    expected = dataclasses.asdict(SelectionConfig())
    del expected["score_column"]
    assert group("select_contrast", "contrast") == expected


def test_spans_default_is_no_spans_and_the_span_rule():
    """select_contrast adds no span columns by default; the rule's keys are SpanRule's defaults."""
    spans = group("select_contrast", "spans")
    assert spans.pop("source") is None
    assert spans == dataclasses.asdict(SpanRule())


def test_factworld_data_is_factworld_config():
    """prepare_data (seed 0, data.size small) builds the default corpus of the Python API."""
    assert group("prepare_data", "data")["factworld"] == dataclasses.asdict(FactworldConfig())


def test_sampling_generation_is_sampling_config_on_xsum():
    """SamplingConfig's defaults are the original's XSum candidates: 6 top-50 samples, 10..60 tokens."""
    gen = group("generate", "generation", "generation=sampling", "data=xsum")
    mapped = {"num_samples": gen.pop("num_candidates"), **{k: v for k, v in gen.items() if k != "method"}}
    assert mapped == dataclasses.asdict(SamplingConfig())


@pytest.mark.parametrize("option", ["diverse", "beam"])
def test_beam_generation_options_share_the_decoder_defaults(option):
    """The candidate options keep DiverseBeamConfig's search settings (their beam counts are for k candidates,
    not QUALS's 60 QA pairs); diverse = one beam per group, one candidate per group."""
    gen, defaults = group("generate", "generation", f"generation={option}"), DiverseBeamConfig()
    assert gen["lenpen"] == defaults.lenpen
    if option == "diverse":
        assert gen["diversity_strength"] == defaults.diversity_strength
        assert gen["num_beams"] == gen["num_groups"] == gen["num_candidates"]
    else:
        assert gen["num_beams"] >= gen["num_candidates"]


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_options_are_the_loss_keyword_defaults(name):
    """train_conseq passes conf/loss/<name>.yaml as keywords; it supplies the reference log-probs itself."""
    options = group("train_conseq", "loss", f"loss={name}")
    assert options.pop("name") == name
    supplied = ("reference_sequence_logprobs", "reference_token_logprobs", "reduction")
    assert options == keyword_defaults(LOSSES[name], exclude=supplied)


def test_tiny_model_is_the_tiny_builder_defaults():
    tiny = group("train_mle", "model", "model=tiny")["tiny"]
    tokenizer = keyword_defaults(train_bpe_tokenizer)
    assert {k: tiny.pop(k) for k in tokenizer} == tokenizer
    assert tiny == keyword_defaults(build_tiny_bart, exclude=("seed",))
