"""Every shipped config composes: each primary alone, with each option of its groups, and with each
experiment."""

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.conftest import CONF_DIR

PRIMARIES = sorted(p.stem for p in CONF_DIR.glob("*.yaml"))
GROUPS = ("data", "model", "logger", "debug", "experiment", "quals", "loss", "generation", "contrast")


def options(group):
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose_resolved(primary, overrides=()):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name=primary, overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


def cases():
    for primary in PRIMARIES:
        yield primary, ()
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            chosen = compose(config_name=primary, return_hydra_config=True).hydra.runtime.choices
        for group in GROUPS:
            for option in options(group):
                # a stage composes only the groups it uses; experiments are checked against the stages
                # they name
                if group in chosen or group in ("debug", "experiment"):
                    yield primary, (f"{group}={option}",)


@pytest.mark.parametrize("primary, overrides", list(cases()))
def test_config_composes(primary, overrides):
    cfg = compose_resolved(primary, overrides)
    assert cfg["stage"] == primary
    assert cfg["run_dir"].endswith(f"{primary}/{cfg['run_id']}")


def test_primaries_exist():
    assert "prepare_data" in PRIMARIES
