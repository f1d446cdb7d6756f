"""Filtering the QA pairs that QAGen generated from one summary (spec §2.5 and §3).

QAGen decodes each hypothesis as ``question <separator> answer``. :func:`split_qa` splits that text,
:func:`candidates_from_generation` turns a summary's hypotheses into :class:`QACandidate` objects and
:func:`filter_qa` selects the pairs that QUALS scores.

Two modes:

``original`` (default) reproduces ``filter_qas_dataset_lm_score`` of amazon-science/fact-check-summarization
quirk for quirk:

1. keep a pair if ``answer.lower()`` is a plain substring of ``summary.lower()``; an empty answer
   passes, the question is not checked, nothing is stripped;
2. sort the survivors by their total penalised log-prob (the original's ``uns``) descending, stably;
3. group them by ``answer.lower()``; groups are ordered by first appearance;
4. round-robin: while fewer than ``max_qas`` are kept *at the start of a round*, pop the next candidate
   of every group and keep it unless the same (answer, question), lowercased, is already kept. The
   loop also stops after a round that keeps nothing, even if later candidates are unique.

The cap is soft: with D distinct answers, D >= max_qas keeps all D pairs, and D < max_qas can reach
max_qas - 1 + D. Worked example with ``max_qas=2`` and answers ``a1, a1, a2, a3`` (already sorted):
round 1 keeps the best of each group (3 pairs, over the cap) and the loop ends.

``strict`` is what the paper describes ("up to 10 QA pairs"): question and answer stripped, the
answer non-empty and found in the summary as a whole word or phrase (case-insensitive; "art" does not
match "start"), the question ending in "?", a hard cap that truncates inside a round, and rounds go on
until the cap is reached or every group is exhausted (a round of duplicates does not stop the loop).
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FilterMode = Literal["original", "strict"]


@dataclass(frozen=True)
class QACandidate:
    """One generated QA pair of a summary.

    ``tokens`` is the generated sequence (question, separator, answer, EOS); ``token_logprobs`` are
    the clean log p(token | summary) and ``penalised_logprobs`` the same minus the diverse-beam-search
    penalty (what the original stored as ``pos_scores``). ``index`` is the rank in generation order.
    """

    question: str
    answer: str
    tokens: list[int]
    token_logprobs: list[float]
    penalised_logprobs: list[float]
    index: int

    @property
    def penalised_total(self) -> float:
        """Sum of the penalised log-probs: the original's ``uns``, used to rank candidates."""
        return float(sum(self.penalised_logprobs))


def split_qa(decoded_text: str, separator: str) -> tuple[str, str] | None:
    """Split ``"question<separator>answer"``; None unless there are exactly two parts.

    Nothing is stripped (the original kept the answer's leading space):

    >>> split_qa("Who won? strutConnector Ann", " strutConnector")
    ('Who won?', ' Ann')
    >>> split_qa("Who won?", " strutConnector") is None
    True
    """
    parts = decoded_text.split(separator)
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def candidates_from_generation(
    decoded_texts: Sequence[str],
    tokens: Sequence[list[int]],
    token_logprobs: Sequence[list[float]],
    penalised_logprobs: Sequence[list[float]],
    separator: str,
) -> list[QACandidate]:
    """Build the candidates of one summary from its hypotheses, in generation order.

    Hypotheses that do not split into exactly two parts are dropped; the survivors keep their
    generation rank as ``index``.
    """
    if not len(decoded_texts) == len(tokens) == len(token_logprobs) == len(penalised_logprobs):
        raise ValueError("decoded_texts, tokens, token_logprobs and penalised_logprobs differ in length")
    candidates = []
    for index, text in enumerate(decoded_texts):
        split = split_qa(text, separator)
        if split is None:
            continue
        candidates.append(
            QACandidate(
                question=split[0],
                answer=split[1],
                tokens=list(tokens[index]),
                token_logprobs=list(token_logprobs[index]),
                penalised_logprobs=list(penalised_logprobs[index]),
                index=index,
            )
        )
    return candidates


def _answer_in_summary_as_phrase(answer: str, summary: str) -> bool:
    # Look-arounds instead of \b so that answers starting or ending with punctuation ("$5", "U.S.")
    # still need a non-word character (or the text edge) on each side.
    pattern = r"(?<!\w)" + re.escape(answer) + r"(?!\w)"
    return re.search(pattern, summary, flags=re.IGNORECASE) is not None


def _is_valid(candidate: QACandidate, summary: str, mode: FilterMode) -> bool:
    if mode == "original":
        return candidate.answer.lower() in summary.lower()
    return (
        candidate.answer != ""
        and candidate.question.endswith("?")
        and _answer_in_summary_as_phrase(candidate.answer, summary)
    )


def _stripped(candidate: QACandidate) -> QACandidate:
    return dataclasses.replace(
        candidate, question=candidate.question.strip(), answer=candidate.answer.strip()
    )


def filter_qa(
    candidates: Sequence[QACandidate],
    summary: str,
    mode: FilterMode = "original",
    max_qas: int = 10,
) -> list[QACandidate]:
    """Select the QA pairs of one summary that QUALS will score (see the module docstring).

    Returns the kept candidates in selection order (round by round, groups in order).
    """
    if mode not in ("original", "strict"):
        raise ValueError(f"unknown filter mode {mode!r}; expected 'original' or 'strict'")
    if mode == "strict":
        candidates = [_stripped(candidate) for candidate in candidates]
    valid = [candidate for candidate in candidates if _is_valid(candidate, summary, mode)]
    # sorted() is stable, so equal scores keep generation order, as in the original.
    ranked = sorted(valid, key=lambda candidate: -candidate.penalised_total)

    groups: dict[str, deque[QACandidate]] = {}
    for candidate in ranked:
        groups.setdefault(candidate.answer.lower(), deque()).append(candidate)

    kept: list[QACandidate] = []
    kept_keys: set[tuple[str, str]] = set()
    while len(kept) < max_qas:
        popped_any = False
        added_any = False
        for queue in groups.values():
            if not queue:
                continue
            if mode == "strict" and len(kept) >= max_qas:
                break
            candidate = queue.popleft()
            popped_any = True
            key = (candidate.answer.lower(), candidate.question.lower())
            if key in kept_keys:
                continue
            kept_keys.add(key)
            kept.append(candidate)
            added_any = True
        if not popped_any or (mode == "original" and not added_any):
            break
    return kept
