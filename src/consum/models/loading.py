"""Model + tokenizer by hub name (``facebook/bart-large``) or local path, through the Auto classes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from consum.models.tiny import build_tiny_bart
from consum.models.tokenizer import add_separator_token, train_bpe_tokenizer
from consum.models.warm_start import resize_embeddings, warm_started_seq2seq


def load_tokenizer(name_or_path: str | Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(name_or_path))


def load_model(name_or_path: str | Path, *, dtype=None) -> PreTrainedModel:
    path = Path(str(name_or_path)).expanduser()
    if path.exists() and not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} exists but holds no model (no config.json)")
    kwargs = {"dtype": dtype} if dtype is not None else {}
    return AutoModelForSeq2SeqLM.from_pretrained(str(path if path.exists() else name_or_path), **kwargs)


def model_for_training(
    model_cfg: dict,
    training_texts: Callable[[], Iterable[str]],
    *,
    separator: str | None = None,
    seed: int = 0,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The starting model of a training stage.

    ``model_cfg['name_or_path']`` set: load it (hub name or local path, e.g. an upstream run's
    ``model/``, such as a ``pretrain`` run's for ``model=pretrained``). ``model_cfg['warm_start']`` set:
    an encoder-decoder built from encoder checkpoints (:mod:`consum.models.warm_start`). Otherwise build
    the tiny model: train a BPE tokenizer on ``training_texts()`` and a random BART from
    ``model_cfg['tiny']``. ``separator`` (QAGen) is added as a special token and the embeddings are
    resized.
    """
    if model_cfg.get("recipe") is not None and not Path(model_cfg["name_or_path"]).exists():
        raise FileNotFoundError(
            f"no pretrained model at {model_cfg['name_or_path']}: run `make pretrain` with the same "
            "experiment first (its run dir is keyed by the recipe, model.recipe)"
        )
    if model_cfg.get("name_or_path"):
        tokenizer = load_tokenizer(model_cfg["name_or_path"])
        model = load_model(model_cfg["name_or_path"])
    elif model_cfg.get("warm_start"):
        model, tokenizer = warm_started_seq2seq(model_cfg["warm_start"])
    else:
        tiny = dict(model_cfg["tiny"])
        tokenizer = train_bpe_tokenizer(
            training_texts(), vocab_size=tiny.pop("vocab_size"), min_frequency=tiny.pop("min_frequency", 2)
        )
        if separator:
            add_separator_token(tokenizer, separator)
        model = build_tiny_bart(tokenizer, seed=seed, **tiny)
    if separator:
        add_separator_token(tokenizer, separator)
        resize_embeddings(model, len(tokenizer))
    return model, tokenizer


def model_run_dir(name_or_path: str | Path | None) -> Path | None:
    """The run dir holding a model given as ``<run dir>/model`` (so a stage can record it as an input);
    None for a hub name or a directory outside a run dir."""
    if not name_or_path:
        return None
    path = Path(str(name_or_path)).expanduser()
    return path.parent if path.name == "model" and (path.parent / "manifest.json").exists() else None
