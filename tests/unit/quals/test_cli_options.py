"""The QUALS options shared by consum-quals and bench-metric: one flag per setting, presets as Hydra's."""

import argparse
import dataclasses

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from consum.quals.cli_options import (
    GENERATION_FLAGS,
    OptionError,
    add_quals_options,
    load_preset,
    quals_settings,
    scorer_kwargs,
)
from consum.quals.config import QAGenerationConfig, QualsConfig
from tests.conftest import CONF_DIR


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_quals_options(p)
    return p


def settings(*argv: str) -> QualsConfig:
    return quals_settings(parser().parse_args(list(argv)))


def test_every_setting_has_a_flag():
    flags = parser()._option_string_actions
    for f in dataclasses.fields(QualsConfig):
        if f.name != "generation":
            assert "--" + f.name.replace("_", "-") in flags, f.name
    for f in dataclasses.fields(QAGenerationConfig):
        assert GENERATION_FLAGS.get(f.name, "--" + f.name.replace("_", "-")) in flags, f.name


def test_no_flag_gives_the_defaults_and_flags_set_their_field():
    assert settings() == QualsConfig()
    got = settings("--max-qas", "3", "--aggregation", "min", "--diversity-strength", "0.25",
                   "--max-qa-len", "20")
    assert (got.max_qas, got.aggregation) == (3, "min")
    assert (got.generation.diversity_strength, got.generation.max_len) == (0.25, 20)


def test_num_beams_sets_the_groups_unless_they_are_given():
    assert dataclasses.astuple(settings("--num-beams", "4").generation)[:2] == (4, 4)
    assert dataclasses.astuple(settings("--num-beams", "4", "--num-groups", "2").generation)[:2] == (4, 2)


def test_a_choice_outside_the_list_is_a_usage_error():
    with pytest.raises(SystemExit):
        parser().parse_args(["--filter", "loose"])


def test_an_invalid_combination_is_an_option_error():
    with pytest.raises(OptionError, match="window_stride"):
        settings("--window-tokens", "100", "--window-stride", "200")


@pytest.mark.parametrize("preset", ["default", "strict", "spans"])
def test_a_preset_is_the_hydra_group(preset):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="score_quals", overrides=["run_id=fixed", f"quals={preset}"])
    assert dataclasses.asdict(settings("--preset", preset)) == OmegaConf.to_container(cfg.quals, resolve=True)


def test_spans_preset_with_flags_on_top():
    got = settings("--preset", "spans", "--aggregation", "mean", "--num-beams", "6")
    assert (got.answers, got.question_choice, got.pair_tokens, got.summary_side) == (
        "spans", "answerable", "answer", "clean")
    assert got.aggregation == "mean" and got.generation.num_groups == 6


def test_an_unknown_preset_is_an_option_error():
    with pytest.raises(OptionError, match="no QUALS preset 'nope'"):
        load_preset("nope")


def test_scorer_kwargs_are_what_from_pretrained_takes():
    args = parser().parse_args(["--device", "cpu", "--cache", "c.sqlite", "--filter", "strict"])
    kwargs = scorer_kwargs(args)
    assert (kwargs.pop("device"), kwargs.pop("cache_path")) == ("cpu", "c.sqlite")
    assert QualsConfig.from_dict(kwargs) == QualsConfig(filter="strict")
