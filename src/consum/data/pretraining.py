"""The pretraining corpus and its denoising pairs (the ``pretrain`` stage's data).

Corpus (``corpus.source``):
- ``factworld``: documents of factworld's pretraining streams (``generator.PRETRAIN_STREAMS``), which
  are keyed apart from every split ``prepare-data`` makes, for any seed, and draw names from the full
  lists, held-out names included (BART's corpus covers the real names a test set holds), in the
  names world ``corpus.names`` (full when absent; single: one-word people and organisations);
- ``files``: the ``corpus.field`` column of local jsonl/csv/parquet files (``corpus.train_path``,
  ``corpus.validation_path``).

Texts are tokenized sentence by sentence, with the word starts that BART's whole-word noise needs
(:mod:`consum.data.noising`); ``consum.training.pretrain`` makes the (noised, original) pairs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from consum.data.schema import DataError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def load_corpus(corpus_cfg: Mapping) -> tuple[list[str], list[str]]:
    """(training texts, validation texts) of the pretraining corpus."""
    source = corpus_cfg["source"]
    if source == "factworld":
        from consum.data.factworld.generator import generate_pretraining_documents

        seed, rosters = int(corpus_cfg["seed"]), float(corpus_cfg.get("roster_share") or 0.0)
        n_train, n_valid = int(corpus_cfg["n_train"]), int(corpus_cfg["n_valid"])
        # an optional key, so that the recipes written before it keep their content key (run dir)
        names = corpus_cfg.get("names") or "full"
        return (generate_pretraining_documents(seed, "pretrain", n_train, rosters, names),
                generate_pretraining_documents(seed, "pretrain_validation", n_valid, rosters, names))
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


def tokenize_sentences(tokenizer, texts: Sequence[str]) -> list[tuple[list[list[int]], list[list[bool]]]]:
    """Per text: the token ids of each sentence (a space before all but the first, as in the running
    text) and, per token, whether it starts a word (byte-level BPE marks a leading space with "Ġ").

    One tokenizer call for all sentences of all texts (the Rust tokenizer batches them); word starts
    come from a table over the vocabulary, not from a string per token.
    """
    pieces, owners = [], []
    for index, text in enumerate(texts):
        for position, sentence in enumerate(split_sentences(text)):
            pieces.append(sentence if position == 0 else " " + sentence)
            owners.append(index)
    ids = tokenizer(pieces, add_special_tokens=False)["input_ids"] if pieces else []
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    starts_word = [token is not None and token.startswith("Ġ") for token in vocab]
    out: list[tuple[list[list[int]], list[list[bool]]]] = [([], []) for _ in texts]
    for owner, row in zip(owners, ids):
        out[owner][0].append(row)
        out[owner][1].append([starts_word[t] for t in row])
    return out


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
