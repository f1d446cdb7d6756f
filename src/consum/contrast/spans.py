"""Where an S- summary is unsupported: character spans of its claims, and the tokens they cover. Pure.

The ``span_unlikelihood`` loss (:mod:`consum.losses.span_unlikelihood`) pushes down only the tokens
of a negative that carry its unsupported claims, instead of every token of the summary. Those
claims come from one of two sources, chosen in ``select_contrast`` (``spans.source``):

* ``quals``: the answers of the summary's lowest-scoring kept QA pairs (``score_quals`` detail rows;
  :func:`unsupported_answers` with a :class:`SpanRule`), located in the summary text by
  :func:`locate_answer_spans`;
* ``oracle`` (factworld): the character spans of the mentions the oracle finds unsupported
  (:func:`oracle_unsupported_spans`).

``select_contrast`` stores the spans as ``unsupported_spans`` (``[[start, end], ...]``, character
offsets, end exclusive) on every S- row; ``train_conseq`` maps them to token positions with
:func:`char_spans_to_token_mask` and the tokenizer's offsets. A negative whose spans are empty (an
answer that cannot be found in the text, no QA pair, no unsupported mention) is trained with the
whole-summary term instead, and counted.

Worked example: the summary ``"Ana met Ben in Paris. Ana left."`` with worst answer ``"Ana"`` gives
the spans ``[(0, 3), (22, 25)]``: a claim repeated is unsupported wherever it occurs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True)
class SpanRule:
    """Which kept QA pairs of a negative count as unsupported.

    The ``worst_k`` pairs with the lowest pair score (mean doc-conditioned minus mean summary-side
    log-prob of the QA tokens: the lower, the less the document supports the answer); ties are broken
    by ``qa_index``. With ``max_pair_score`` set, only those of them scoring ``<= max_pair_score``
    (so a negative may get no span at all, and then falls back to the whole summary). Pairs with a
    blank answer (QUALS's default filter keeps them) name no text and are never chosen.
    """

    worst_k: int = 1
    max_pair_score: float | None = None

    def __post_init__(self) -> None:
        if self.worst_k < 1:
            raise ValueError(f"spans.worst_k must be >= 1, got {self.worst_k}")


def unsupported_answers(detail_rows: Iterable[Mapping], rule: SpanRule) -> list[str]:
    """The answers of one summary's kept QA pairs that ``rule`` marks unsupported, worst first.

    ``detail_rows``: the summary's ``score_quals`` detail rows (``answer``, ``pair_score``,
    ``qa_index``).

    >>> rows = [{"qa_index": 0, "answer": "Paris", "pair_score": -0.5},
    ...         {"qa_index": 1, "answer": "Ben", "pair_score": -2.0},
    ...         {"qa_index": 2, "answer": "3-1", "pair_score": -1.0}]
    >>> unsupported_answers(rows, SpanRule(worst_k=2))
    ['Ben', '3-1']
    >>> unsupported_answers(rows, SpanRule(worst_k=3, max_pair_score=-0.9))
    ['Ben', '3-1']
    """
    answered = [r for r in detail_rows if r["answer"].strip()]
    ranked = sorted(answered, key=lambda r: (r["pair_score"], r["qa_index"]))[: rule.worst_k]
    if rule.max_pair_score is not None:
        ranked = [r for r in ranked if r["pair_score"] <= rule.max_pair_score]
    return [r["answer"] for r in ranked]


def locate_answer_spans(summary: str, answers: Sequence[str]) -> tuple[list[Span], list[str]]:
    """Character spans ``(start, end)`` of every occurrence of each answer in ``summary``, merged and
    sorted; and the answers found nowhere.

    Every occurrence counts: a claim the document does not support is unsupported wherever the
    summary repeats it. Answers are stripped first (QAGen decodes them with a leading space); empty
    answers are ignored (neither located nor reported missing). Each answer is searched with the
    first of these that finds anything: exact case as a whole word (not inside a longer word, so
    ``"he"`` does not mark ``"the"``), any case as a whole word, exact case anywhere, any case
    anywhere (the test of QUALS's default filter, so every answer it kept is found). Overlapping
    spans are merged; touching ones are kept apart (``"3"`` twice in ``"33"`` is two spans, each the
    answer; the token mask is the same either way).

    >>> locate_answer_spans("Ana met Ben in Paris. Ana left.", ["Ana", " paris", "Rome", ""])
    ([(0, 3), (15, 20), (22, 25)], ['Rome'])
    """
    spans: list[Span] = []
    missing: list[str] = []
    for answer in answers:
        answer = answer.strip()
        if not answer:
            continue
        found = _occurrences(summary, answer)
        if found:
            spans.extend(found)
        else:
            missing.append(answer)
    return merge_spans(spans), missing


def _occurrences(summary: str, answer: str) -> list[Span]:
    escaped = re.escape(answer)
    # \b-like boundaries only where the answer itself starts / ends with a word character
    left = r"(?<!\w)" if re.match(r"\w", answer) else ""
    right = r"(?!\w)" if re.search(r"\w$", answer) else ""
    for pattern, flags in (
        (left + escaped + right, 0),
        (left + escaped + right, re.IGNORECASE),
        (escaped, 0),
        (escaped, re.IGNORECASE),
    ):
        found = [m.span() for m in re.finditer(pattern, summary, flags)]
        if found:
            return found
    return []


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort and merge overlapping ``(start, end)`` spans; touching ones stay apart, so every span is
    still an occurrence or a union of overlapping ones; empty spans are dropped.

    >>> merge_spans([(5, 8), (0, 2), (7, 10), (10, 12), (3, 3)])
    [(0, 2), (5, 10), (10, 12)]
    """
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans if e > s):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def char_spans_to_token_mask(offsets: Sequence[Sequence[int]], spans: Iterable[Sequence[int]]) -> list[bool]:
    """One bool per token: True when the token's character range overlaps a span.

    ``offsets``: the tokenizer's ``offset_mapping`` of the text, ``(start, end)`` per token. Tokens
    with an empty range (``(0, 0)``: ``<s>``, ``</s>`` and other special tokens) are never in a span.

    >>> # "<s> Ana| met| Ben </s>" with the span of "Ben"
    >>> char_spans_to_token_mask([(0, 0), (0, 3), (4, 7), (8, 11), (0, 0)], [(8, 11)])
    [False, False, False, True, False]
    """
    spans = merge_spans((s, e) for s, e in spans)
    return [
        end > start and any(start < span_end and span_start < end for span_start, span_end in spans)
        for start, end in offsets
    ]


def tokenize_with_span_masks(
    tokenizer, texts: Sequence[str], spans: Sequence[Sequence[Sequence[int]] | None], max_length: int
) -> tuple[list[list[int]], list[list[bool] | None]]:
    """Token ids of ``texts``, exactly those of ``tokenizer(texts, truncation=True, max_length=...)``,
    and for each text a mask over those ids from its character ``spans`` (None where ``spans`` is None).

    The ids are the labels of the contrast batch (``<s> ... </s>`` for BART), so mask position t is
    label position t: the specials get False from their empty offsets. Needs a fast tokenizer (the
    character offsets come from its ``offset_mapping``).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("span masks need a fast tokenizer (character offsets); "
                         f"got {type(tokenizer).__name__}")
    if len(texts) != len(spans):
        raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
    if not texts:
        return [], []
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_offsets_mapping=True)
    masks = [
        None if text_spans is None else char_spans_to_token_mask(offsets, text_spans)
        for offsets, text_spans in zip(encoded["offset_mapping"], spans)
    ]
    return encoded["input_ids"], masks


def oracle_unsupported_spans(doc_facts: Mapping | str, text: str) -> list[Span]:
    """The merged character spans of the mentions of ``text`` that factworld's oracle finds extrinsic or
    intrinsic (everything but ``supported``)."""
    from consum.data.factworld.oracle import check_summary

    verdict = check_summary(doc_facts, text)
    return merge_spans(m.span for m in verdict.mentions if m.status != "supported")
