"""The pretraining corpus and its denoising pairs (the ``pretrain`` stage's data).

Corpus (``corpus.source``):
- ``factworld``: documents of factworld's pretraining streams (``generator.PRETRAIN_STREAMS``), which
  are keyed apart from every split ``prepare-data`` makes, for any seed, and draw names from the full
  lists, held-out names included (BART's corpus covers the real names a test set holds);
- ``files``: the ``corpus.field`` column of local jsonl/csv/parquet files (``corpus.train_path``,
  ``corpus.validation_path``).

Texts are tokenized sentence by sentence, with the word starts that BART's whole-word noise needs
(:mod:`consum.data.noising`); ``consum.training.pretrain`` makes the (noised, original) pairs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from consum.data.schema import DataError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def load_corpus(corpus_cfg: Mapping) -> tuple[list[str], list[str]]:
    """(training texts, validation texts) of the pretraining corpus."""
    source = corpus_cfg["source"]
    if source == "factworld":
        from consum.data.factworld.generator import generate_pretraining_documents

        seed = int(corpus_cfg["seed"])
        return (generate_pretraining_documents(seed, "pretrain", int(corpus_cfg["n_train"])),
                generate_pretraining_documents(seed, "pretrain_validation", int(corpus_cfg["n_valid"])))
    if source == "files":
        from consum.data.sources import field_value, read_file

        def texts(path):
            return [field_value(r, corpus_cfg["field"], "text") for r in read_file(path)] if path else []

        train = texts(corpus_cfg.get("train_path"))
        if not train:
            raise DataError("pretraining corpus: corpus.train_path names no file or a file without rows")
        return train, texts(corpus_cfg.get("validation_path"))
    raise DataError(f"pretraining corpus.source must be 'factworld' or 'files', got {source!r}")


def split_sentences(text: str) -> list[str]:
    """Sentences at ., ! or ? followed by whitespace; the whitespace is dropped."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def tokenize_sentences(tokenizer, text: str) -> tuple[list[list[int]], list[list[bool]]]:
    """Token ids of each sentence (a space before all but the first, as in the running text) and,
    per token, whether it starts a word (byte-level BPE marks a leading space with "Ġ")."""
    sentences = split_sentences(text)
    pieces = [s if i == 0 else " " + s for i, s in enumerate(sentences)]
    ids = tokenizer(pieces, add_special_tokens=False)["input_ids"] if pieces else []
    starts = [[tok.startswith("Ġ") for tok in tokenizer.convert_ids_to_tokens(row)] for row in ids]
    return ids, starts


def fit_sentences(ids: list[list[int]], starts: list[list[bool]], budget: int):
    """The leading sentences that fit in ``budget`` tokens (at least part of the first)."""
    kept_ids, kept_starts, used = [], [], 0
    for sentence, sentence_starts in zip(ids, starts):
        if used + len(sentence) > budget:
            if not kept_ids:
                kept_ids, kept_starts = [sentence[:budget]], [sentence_starts[:budget]]
            break
        kept_ids.append(sentence)
        kept_starts.append(sentence_starts)
        used += len(sentence)
    return kept_ids, kept_starts
