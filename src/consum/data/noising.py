"""BART's denoising noise (Lewis et al. 2020): sentence permutation, then text infilling.

The pretraining target is the original text; the source is the text with its sentences shuffled and
~30% of its words removed in spans whose lengths follow Poisson(3), each span replaced by ONE
``<mask>`` token (a zero-length span inserts a ``<mask>``), so the model must also infer how many words
are missing. Masking works on whole words (a byte-level BPE token that starts with a space starts a
word), as BART's released models were trained.

Pure functions over token ids, split so that each can be checked by hand:
:func:`sample_spans` draws the spans, :func:`apply_spans` applies given spans, :func:`permute` shuffles
sentences; :func:`noise_sentences` composes them for one document with a ``numpy`` generator that the
caller seeds per (seed, example, epoch), so a resumed run noises every example exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoisingConfig:
    mask_ratio: float = 0.3  # share of words removed (BART: 30%)
    poisson_lambda: float = 3.0  # span lengths ~ Poisson(3), length 0 = insert a mask
    random_ratio: float = 0.1  # share of spans replaced by a random token instead of <mask> (fairseq 0.1)
    permute_sentences: float = 1.0  # share of documents whose sentences are shuffled (BART: all)

    def __post_init__(self):
        for name in ("mask_ratio", "random_ratio", "permute_sentences"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"noising {name} must lie in [0, 1], got {getattr(self, name)}")
        if self.poisson_lambda <= 0:
            raise ValueError(f"noising poisson_lambda must be > 0, got {self.poisson_lambda}")


@dataclass(frozen=True)
class Span:
    start: int  # index of the first word removed (or before which a mask is inserted)
    length: int  # words removed; 0 inserts a mask
    random_token: int | None = None  # replace the span by this token instead of <mask>


def word_boundaries(word_starts: Sequence[bool]) -> list[int]:
    """Token index where each word starts; the first token always starts a word."""
    return [i for i, start in enumerate(word_starts) if start or i == 0]


def sample_spans(
    n_words: int, rng: np.random.Generator, config: NoisingConfig, random_tokens: tuple[int, int]
) -> list[Span]:
    """Spans covering round(mask_ratio * n_words) words, lengths ~ Poisson(lambda), at random starts.

    Lengths are drawn until they cover the budget (the last is cut to fit); starts are distinct words
    in random order. Spans may overlap or touch: :func:`apply_spans` merges them into one mask. A
    random replacement token is drawn from ``range(*random_tokens)`` (the vocabulary without its
    special tokens).
    """
    budget = round(config.mask_ratio * n_words)
    if n_words == 0 or budget == 0:
        return []
    lengths = []
    while sum(lengths) < budget:
        lengths.append(int(rng.poisson(config.poisson_lambda)))
        if len(lengths) >= n_words:  # all-zero draws cannot loop forever on a short text
            break
    lengths[-1] -= max(sum(lengths) - budget, 0)
    starts = rng.permutation(n_words)[: len(lengths)]
    randomised = rng.random(len(lengths)) < config.random_ratio
    replacements = rng.integers(*random_tokens, size=len(lengths))
    return [
        Span(int(s), length, int(r) if rand else None)
        for s, length, rand, r in zip(starts, lengths, randomised, replacements)
    ]


def apply_spans(
    ids: Sequence[int], word_starts: Sequence[bool], spans: Sequence[Span], mask_id: int
) -> list[int]:
    """Remove the spans' words; each maximal run of removed words becomes one token (mask or random).

    A zero-length span inserts its token before word ``start`` (a mask next to a removed run merges
    into it). Overlapping or adjacent spans merge into one token, the one of the span that removed the
    run's first word, as fairseq's replace_length=1 collapses a masked run.
    """
    bounds = word_boundaries(word_starts)
    words = [list(ids[b:e]) for b, e in zip(bounds, [*bounds[1:], len(ids)])]
    removed_by: list[Span | None] = [None] * len(words)
    inserted: dict[int, Span] = {}
    for span in spans:
        if span.length == 0:
            inserted.setdefault(span.start, span)
        for w in range(span.start, min(span.start + span.length, len(words))):
            removed_by[w] = removed_by[w] or span

    def kept(w: int) -> bool:
        return not 0 <= w < len(words) or removed_by[w] is None

    out: list[int] = []
    for w, word in enumerate(words):
        if w in inserted and kept(w) and kept(w - 1):
            out.append(_token(inserted[w], mask_id))
        if removed_by[w] is None:
            out.extend(word)
        elif kept(w - 1):
            out.append(_token(removed_by[w], mask_id))
    if len(words) in inserted and kept(len(words) - 1):
        out.append(_token(inserted[len(words)], mask_id))
    return out


def _token(span: Span, mask_id: int) -> int:
    return mask_id if span.random_token is None else span.random_token


def permute(items: Sequence, rng: np.random.Generator) -> list:
    return [items[i] for i in rng.permutation(len(items))]


def noise_sentences(
    sentences: Sequence[Sequence[int]],
    sentence_word_starts: Sequence[Sequence[bool]],
    rng: np.random.Generator,
    config: NoisingConfig,
    *,
    mask_id: int,
    random_tokens: tuple[int, int],
) -> list[int]:
    """The noised source of one document given as tokenized sentences (no special tokens)."""
    order = list(range(len(sentences)))
    if rng.random() < config.permute_sentences:
        order = permute(order, rng)
    ids = [t for i in order for t in sentences[i]]
    starts = [s for i in order for s in sentence_word_starts[i]]
    n_words = len(word_boundaries(starts)) if ids else 0
    return apply_spans(ids, starts, sample_spans(n_words, rng, config, random_tokens), mask_id)
