"""Shared by the CLIs: config resolution and the environment a stage expects."""

from __future__ import annotations

import os

from omegaconf import DictConfig, OmegaConf

from consum.resolvers import register_resolvers

register_resolvers()  # before @hydra.main resolves any config (${content_key:...})

CONFIG_PATH = "../../../conf"


def to_container(cfg: DictConfig) -> dict:
    """The resolved config as plain Python (what stages receive and what run dirs store)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def quiet_libraries() -> None:
    # Tokenizers' fork warning and HF's advisory logs are noise on every stage.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import logging

    # accelerate logs every checkpoint file at INFO under Hydra's root logger config
    for name in (
        "accelerate", "accelerate.checkpointing", "accelerate.accelerator", "accelerate.utils.other"
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
