"""The ``pretrain`` stage: BART's denoising pretraining (Lewis et al. 2020) for the tiny CPU models.

Real runs start from ``facebook/bart-large``, which copies names exactly and reads its input from the
first update; a tiny BART trained from random weights does neither. This stage gives the CPU models
the same kind of start: a byte-level BPE trained on the pretraining corpus (so every name of the
lexicons is in the vocabulary), then a tiny BART trained to rebuild each document from BART's noise
of it (sentences shuffled, ~30% of the words removed in Poisson(3) spans, one ``<mask>`` per span).
The result is a ``save_pretrained`` model + tokenizer in ``<run>/model`` that ``train-mle`` and
``train-qagen`` load by path, exactly like a hub checkpoint (``model=pretrained``).

It runs on the shared training loop (token-budget batches, checkpoints, resume == uninterrupted
losses): the objective is MLE of the original text given the noised one. The tokenizer is trained
once, by the main process, and saved in the run dir before training; a resumed run reloads it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from consum.data.noising import NoisingConfig, noise_sentences
from consum.data.pretraining import fit_sentences, load_corpus, tokenize_sentences
from consum.io.rundir import RunDir
from consum.training.common import EncodedPair, close_training_run, make_accelerator, open_training_run

TOKENIZER_DIR = "tokenizer"


def denoising_pairs(
    tokenizer, texts: Sequence[str], noising: NoisingConfig, *, seed: int, max_len: int, key_prefix: str
) -> list[EncodedPair]:
    """(noised source, original target) pairs, both ``<s> ... </s>`` and at most ``max_len`` tokens.

    The target is the text's leading sentences that fit. The noise of text ``i`` comes from a
    generator seeded by ``(seed, i)`` alone: it does not depend on batching, processes or a resume.
    Empty texts are skipped.
    """
    bos, eos, mask = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.mask_token_id
    if mask is None:
        raise ValueError("the tokenizer has no <mask> token: denoising needs one")
    random_tokens = (len(tokenizer.all_special_ids), len(tokenizer))  # BART's layout: specials first
    pairs = []
    for index, (ids, starts) in enumerate(tokenize_sentences(tokenizer, texts)):
        ids, starts = fit_sentences(ids, starts, max_len - 2)
        if not ids:
            continue
        rng = np.random.default_rng([seed, index])
        source = noise_sentences(ids, starts, rng, noising, mask_id=mask, random_tokens=random_tokens)
        target = [t for sentence in ids for t in sentence]
        pairs.append(EncodedPair(f"{key_prefix}-{index:07d}", [bos, *source, eos], [bos, *target, eos]))
    return pairs


def copy_pairs(n: int, length: int, random_tokens: tuple[int, int], *, seed: int, bos: int, eos: int,
               key_prefix: str = "copy", chunk_len: int = 0) -> list[EncodedPair]:
    """``n`` copy-task pairs: a string of ``length`` tokens drawn uniformly from ``range(*random_tokens)``
    (the vocabulary without its special tokens) as the target; the source is the same string, or, with
    ``chunk_len`` > 0, its chunks of ``chunk_len`` tokens in a random order.

    Why: a tiny BART trained from random weights on templated text becomes a language model that
    ignores its encoder (measured: after 3,000 denoising updates it rebuilt an appointment story as an
    award story, names copied 1.7%); the template words are cheap to predict without reading. A random
    string can only be rebuilt by reading it, so these pairs give the cross-attention a gradient from
    the first update, and the model learns to copy before the language model takes over (README,
    "Pretraining"). Pair ``i`` depends on ``(seed, i)`` only.

    Why chunks: an identical source can be copied by position alone (output token *k* reads input
    token *k*), and that is what the tiny model learns: measured (``scripts/copy_probe.py``), it then
    continues a shuffled chunk no better than it guesses the chunk's first token (3.1% vs 3.9%), and
    the summarizer built on it binds one person's first name to another's surname. With the chunks
    shuffled, every token after a chunk's first can only be found by content ("the token that follows
    the one I just wrote"), which is how a name is copied from wherever it stands in a document.
    """
    low, high = random_tokens
    if n and (length < 1 or high <= low or chunk_len < 0):
        raise ValueError(f"copy pairs need length >= 1, a non-empty token range and chunk_len >= 0, "
                         f"got {length}, {random_tokens}, {chunk_len}")
    pairs = []
    for index in range(n):
        rng = np.random.default_rng([seed, index])
        ids = rng.integers(low, high, size=length).tolist()
        source = ids
        if chunk_len:
            chunks = [ids[start:start + chunk_len] for start in range(0, length, chunk_len)]
            source = [t for k in rng.permutation(len(chunks)) for t in chunks[k]]
        pairs.append(EncodedPair(f"{key_prefix}-{index:07d}", [bos, *source, eos], [bos, *ids, eos]))
    return pairs


COPY_WARMUP_DIR = "copy_warmup"


def copy_warmup(cfg: dict, run: RunDir, model, tokenizer, accelerator, echo=print):
    """Phase 1 of the pretraining, when ``copy_task.warmup_steps`` > 0: that many updates on copy pairs
    alone (:func:`copy_pairs`, constant ``copy_task.lr``), then the model goes on to the denoising.

    Measured (README, "Pretraining"): on the denoising mixture alone the tiny BART found its encoder
    late or never; 300 copy-only updates (batch ~2k tokens, lr 1e-3) teach it to read first, and the
    names it copies in the denoising rise from there. The phase is a run dir of its own inside the
    pretrain run (``copy_warmup/``: checkpoints, metrics, manifest, ``model/``), so a killed run
    resumes it; a complete phase is loaded, not redone.
    """
    from transformers import AutoModelForSeq2SeqLM

    from consum.tracking import MetricsLogger
    from consum.training.mle import train

    copy_cfg, train_cfg = cfg["copy_task"], cfg["train"]
    steps, length = int(copy_cfg["warmup_steps"]), int(copy_cfg.get("length", 40))
    chunk_len = int(copy_cfg.get("chunk_len") or 0)
    warm_cfg = {
        **cfg, "run_id": f"{run.run_id}-{COPY_WARMUP_DIR}", "run_dir": str(run.path / COPY_WARMUP_DIR),
        "optim": {**cfg["optim"], "lr": float(copy_cfg["lr"]), "schedule": "constant", "warmup_steps": 0,
                  "total_steps": steps},
        "train": {**train_cfg, "max_steps": steps, "eval_every": steps, "log_every": min(100, steps),
                  "checkpoint_every": min(train_cfg["checkpoint_every"], steps)},
    }
    warm_run = RunDir.create(warm_cfg, world_size=accelerator.num_processes,
                             is_main=accelerator.is_main_process)
    model_path = warm_run.path / "model"
    if not warm_run.is_complete:
        per_batch = max(1, int(train_cfg["max_tokens"]) // (length + 2))
        per_update = per_batch * int(train_cfg.get("update_freq", 1))
        bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
        random_tokens = (len(tokenizer.all_special_ids), len(tokenizer))
        train_pairs = copy_pairs(steps * per_update * accelerator.num_processes, length, random_tokens,
                                 seed=cfg["seed"], bos=bos, eos=eos, chunk_len=chunk_len)
        valid_pairs = copy_pairs(64, length, random_tokens, seed=cfg["seed"] + 1, bos=bos, eos=eos,
                                 key_prefix="copy-validation", chunk_len=chunk_len)
        logger = MetricsLogger(warm_run.path, enabled=accelerator.is_main_process, wandb_cfg=None,
                               config=warm_cfg, run_name=f"pretrain-{warm_cfg['run_id']}")
        final, model = train(warm_cfg, warm_run, model, tokenizer, train_pairs, valid_pairs, None,
                             accelerator, logger)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            model.save_pretrained(model_path, safe_serialization=True)
        warm_run.stats.update({"final_validation": final, "n_copy_pairs": len(train_pairs)})
        warm_run.finalize()
        logger.close()
        accelerator.free_memory()
        nll = final.get("val/nll", float("nan"))
        echo(f"pretrain: copy warm-up done ({steps} updates; copy NLL {nll:.3f})")
    accelerator.wait_for_everyone()
    run.stats["copy_warmup"] = {"steps": steps, "run_dir": str(warm_run.path)}
    return AutoModelForSeq2SeqLM.from_pretrained(model_path)


def pretraining_tokenizer(
    run: RunDir, texts: Sequence[str], accelerator, *, vocab_size: int, min_frequency: int
):
    """The run's BPE: trained on ``texts`` by the main process and saved in the run dir, then loaded
    by every process (a resumed run loads the saved one)."""
    from consum.models import load_tokenizer, train_bpe_tokenizer

    path = run.path / TOKENIZER_DIR
    if accelerator.is_main_process and not (path / "tokenizer.json").exists():
        tokenizer = train_bpe_tokenizer(texts, vocab_size=vocab_size, min_frequency=min_frequency)
        tmp = run.path / f".{TOKENIZER_DIR}.tmp"
        tokenizer.save_pretrained(tmp)
        tmp.rename(path)
    accelerator.wait_for_everyone()
    return load_tokenizer(path)


def name_copy_validator(texts: Sequence[str], max_len: int, n_texts: int = 30):
    """``val/name_copy``: rebuild texts whose sentences were rotated (first to last, no words masked);
    the share of the source's multi-word names (lexicon people, organisations, places, awards) that
    the output repeats exactly. A model that reads its input scores near 1; a language model that
    ignores it writes other names (near 0). Texts without lexicon names give no value."""
    from consum.data.factworld import find_mentions
    from consum.data.pretraining import split_sentences
    from consum.generation.beam import beam_generate

    sample = [t for t in texts if len(split_sentences(t)) > 1][:n_texts]
    sources = [" ".join([*split_sentences(t)[1:], split_sentences(t)[0]]) for t in sample]
    names = [[m.surface for m in find_mentions(t) if " " in m.surface and not m.is_number] for t in sample]

    def validate(model, tokenizer) -> dict:
        if not any(names):
            return {}
        outputs = beam_generate(model, tokenizer, sources, num_beams=1, max_len=max_len, min_len=1,
                                max_source_len=max_len)
        found = sum(name in out[0] for out, text_names in zip(outputs, names) for name in text_names)
        return {"val/name_copy": found / sum(len(n) for n in names)}

    return validate


def run(cfg: dict, *, echo=print) -> RunDir | None:
    """Pretrain the recipe ``cfg["pretrained"]``; None (and a message) when the experiment has none."""
    from consum.models import build_tiny_bart
    from consum.training.mle import train

    if cfg["pretrained"] is None:
        echo("pretrain: this experiment starts from a hub checkpoint (pretrained: null); nothing to do")
        return None
    # The run is the recipe's alone: the data an experiment's global file sets (conf/pretrain.yaml
    # composes it only so that those files apply) must not make the same recipe another run.
    cfg = {key: value for key, value in cfg.items() if key != "data"}
    accelerator, run, logger = open_training_run(cfg, echo=echo)
    if logger is None:
        return run
    train_texts, valid_texts = load_corpus(cfg["corpus"])
    tiny = dict(cfg["model"]["tiny"])
    tokenizer = pretraining_tokenizer(run, train_texts, accelerator, vocab_size=tiny.pop("vocab_size"),
                                      min_frequency=tiny.pop("min_frequency", 2))
    model = build_tiny_bart(tokenizer, seed=cfg["seed"], **tiny)
    if int((cfg.get("copy_task") or {}).get("warmup_steps") or 0) > 0:
        model = copy_warmup(cfg, run, model, tokenizer, accelerator, echo)
        # A fresh Accelerator for phase 2: the warm-up's scheduler stays registered for checkpointing
        # in the old one, and a resumed phase 2 (which skips the warm-up) must save the same objects.
        accelerator = make_accelerator(cfg["train"])
    noising, max_len = NoisingConfig(**cfg["noising"]), cfg["train"]["max_source_len"]
    train_pairs = denoising_pairs(tokenizer, train_texts, noising, seed=cfg["seed"], max_len=max_len,
                                  key_prefix="train")
    valid_pairs = denoising_pairs(tokenizer, valid_texts, noising, seed=cfg["seed"] + 1, max_len=max_len,
                                  key_prefix="validation")
    copy_cfg = cfg.get("copy_task") or {}
    n_copy = round(float(copy_cfg.get("share", 0.0)) * len(train_pairs))
    random_tokens = (len(tokenizer.all_special_ids), len(tokenizer))
    train_pairs = train_pairs + copy_pairs(n_copy, int(copy_cfg.get("length", 40)), random_tokens,
                                           seed=cfg["seed"], bos=tokenizer.bos_token_id,
                                           eos=tokenizer.eos_token_id,
                                           chunk_len=int(copy_cfg.get("chunk_len") or 0))
    run.stats.update(corpus_stats(train_pairs, valid_pairs, tokenizer))
    started = time.perf_counter()
    validate = name_copy_validator(valid_texts, max_len)
    final, model = train(cfg, run, model, tokenizer, train_pairs, valid_pairs, validate, accelerator, logger)
    run.stats.update({"final_validation": final, "train_seconds": round(time.perf_counter() - started, 1)})
    close_training_run(accelerator, run, model, tokenizer, logger, format_summary)
    return run


def corpus_stats(train_pairs: Sequence[EncodedPair], valid_pairs: Sequence[EncodedPair], tokenizer) -> dict:
    masked = sum(p.source_ids.count(tokenizer.mask_token_id) for p in train_pairs)
    return {
        "n_train_texts": sum(not p.key.startswith("copy-") for p in train_pairs),
        "n_copy_pairs": sum(p.key.startswith("copy-") for p in train_pairs),
        "n_valid_texts": len(valid_pairs),
        "train_target_tokens": sum(len(p.target_ids) for p in train_pairs),
        "train_source_tokens": sum(len(p.source_ids) for p in train_pairs),
        "train_masks": masked,
        "vocab_size": len(tokenizer),
    }


def format_summary(run: RunDir) -> str:
    final = run.stats.get("final_validation", {})
    loss = f"; validation NLL {final['val/nll']:.4f}" if "val/nll" in final else ""
    if "val/name_copy" in final:
        loss += f", names copied {100 * final['val/name_copy']:.1f}%"
    return (f"pretrain -> {run.path}/model ({run.stats['steps']} steps, {run.stats['train_seconds']} s, "
            f"{run.stats['n_train_texts']} texts, vocabulary {run.stats['vocab_size']}){loss}")
