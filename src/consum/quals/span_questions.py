"""``quals.answers=spans``: QA pairs that start from the answer. An extractor finds the answer spans of a
summary (:mod:`consum.quals.answers`); the same QAGen, given ``span ⊕ SEP ⊕ summary``, writes a question
about each (QAGS's recipe, without its second model); the pair is ``question ⊕ SEP ⊕ span ⊕ </s>`` and
its summary side the clean log-probs of those tokens teacher-forced on the plain summary, as the
document side is on the plain document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from consum.data.qa import encode_answer_conditioned_source
from consum.generation.diverse_beam import DiverseBeamConfig, diverse_beam_search
from consum.generation.scoring import answer_positions, right_padded, teacher_forced_logprobs
from consum.quals.aggregation import answer_mean
from consum.quals.batching import with_oom_backoff
from consum.quals.filtering import QACandidate
from consum.quals.generated import GeneratedQA, cached


def span_questions(scorer, summaries: Sequence[str]) -> list[GeneratedQA]:
    """One QA candidate per answer span of each summary (cached by content hash).

    The questions come from the project's beam search (one group of ``question_beams`` beams, ending at
    SEP). ``quals.question_choice``: ``first`` keeps the top beam; ``grounded`` the best :func:`grounded`
    beam (one that names only what the summary names), else the top one; ``answerable`` a grounded beam
    before one that is not, and among those the question under which the summary best predicts the
    span (mean answer-token log-prob; ties to the higher beam): a question about something else ("What
    award did she win? -> Swedish") is not answered by the span, so it is not kept. A span whose
    questions all come out empty gets no pair.
    """
    return cached(scorer, summaries, scorer.config.spans_key(), lambda todo: _ask(scorer, todo))


def _ask(scorer, todo: list[str]) -> dict[str, GeneratedQA]:
    config, tokenizer = scorer.config, scorer.tokenizer
    max_len = scorer.max_summary_tokens
    encoded = tokenizer(todo, truncation=True, max_length=max_len)["input_ids"]
    requests = [(i, answer) for i, s in enumerate(todo) for answer in scorer.extract_answers(s)]
    sources = [
        encode_answer_conditioned_source(tokenizer, a, encoded[i], scorer.sep_id, max_len)
        for i, a in requests
    ]
    options: list[list[list[int]]] = [[] for _ in requests]  # distinct QA targets, in beam order
    beam_cfg = DiverseBeamConfig(num_beams=config.question_beams, num_groups=1, min_len=1,
                                 max_len=config.max_question_len)

    def ask(batch: list[int]) -> None:
        ids, mask = right_padded([sources[r] for r in batch], tokenizer.pad_token_id)
        with scorer.autocast():
            hyps = diverse_beam_search(scorer.model, ids.to(scorer.device), mask.to(scorer.device), beam_cfg,
                                       end_token=scorer.sep_id)
        for r, beams in zip(batch, hyps):
            answer = tokenizer(requests[r][1], add_special_tokens=False)["input_ids"]
            for hyp in beams:
                question = question_ids(tokenizer, hyp.tokens, scorer.sep_id)
                target = [*question, scorer.sep_id, *answer, tokenizer.eos_token_id]
                if question and target not in options[r]:
                    options[r].append(target)

    order = sorted(range(len(requests)), key=lambda r: len(sources[r]))
    with scorer.timed("span_questions"):
        with_oom_backoff(ask, order, 4 * config.summary_batch_size, "answer-span questions")
    for r, targets in enumerate(options):  # answerable scores every option; the others choose now
        if config.question_choice == "grounded":
            summary = todo[requests[r][0]]
            targets[:] = [next((t for t in targets if grounded(_question_text(scorer, t), summary)),
                               targets[0])] if targets else []
        elif config.question_choice == "first":
            del targets[1:]
    flat = [(r, target) for r in range(len(requests)) for target in options[r]]
    with scorer.timed("span_summary_scoring"):
        clean = summary_logprobs(scorer, encoded, [(requests[r][0], target) for r, target in flat])
    best: dict[int, tuple[tuple[bool, float], list[int], list[float]]] = {}
    for (r, target), logprobs in zip(flat, clean):
        rank = (grounded(_question_text(scorer, target), todo[requests[r][0]]),
                answer_mean(logprobs, target, scorer.sep_id))
        if r not in best or rank > best[r][0]:  # strictly better: ties keep the higher beam
            best[r] = (rank, target, logprobs)
    per_summary: list[list[QACandidate]] = [[] for _ in todo]
    for r in sorted(best):
        i, answer = requests[r]
        _, tokens, logprobs = best[r]
        per_summary[i].append(QACandidate(
            question=_question_text(scorer, tokens), answer=answer,
            tokens=tokens, token_logprobs=logprobs, penalised_logprobs=logprobs,
            index=len(per_summary[i]),
        ))
    n_spans = [0] * len(todo)
    for i, _ in requests:
        n_spans[i] += 1
    return {s: GeneratedQA(n, cands) for s, n, cands in zip(todo, n_spans, per_summary)}


def _question_text(scorer, target: list[int]) -> str:
    return scorer.tokenizer.decode(target[: target.index(scorer.sep_id)], skip_special_tokens=True)


def question_ids(tokenizer, generated: list[int], sep_id: int) -> list[int]:
    """The question of a hypothesis: up to SEP (or </s>), special tokens left out."""
    stop = {sep_id, tokenizer.eos_token_id}
    special = set(tokenizer.all_special_ids) - stop
    question = []
    for token in generated:
        if token in stop:
            break
        if token not in special:
            question.append(token)
    return question


def summary_logprobs(
    scorer, summaries: list[list[int]], pairs: list[tuple[int, list[int]]]
) -> list[list[float]]:
    """Clean teacher-forced log p(QA tokens | summary) of (summary index, tokens) pairs."""
    out: list[list[float] | None] = [None] * len(pairs)
    pad = scorer.tokenizer.pad_token_id

    def run_batch(batch: list[int]) -> None:
        rows = list(dict.fromkeys(pairs[p][0] for p in batch))
        position = {s: k for k, s in enumerate(rows)}
        ids, mask = right_padded([summaries[s] for s in rows], pad)
        targets = [pairs[p][1] for p in batch]
        target_ids, target_mask = right_padded(targets, pad)
        # the choice reads the answer's tokens, and so does the pair's score with pair_tokens=answer
        needed = answer_positions(targets, scorer.sep_id) if scorer.config.pair_tokens == "answer" else None
        with scorer.autocast():
            lp = teacher_forced_logprobs(
                scorer.model, ids.to(scorer.device), mask.to(scorer.device), target_ids, target_mask,
                source_rows=torch.tensor([position[pairs[p][0]] for p in batch]), needed=needed,
            )
        for row, p in enumerate(batch):
            out[p] = lp[row, : len(pairs[p][1])].tolist()

    size = 4 * scorer.config.summary_batch_size
    with_oom_backoff(run_batch, range(len(pairs)), size, "answer-span scoring")
    return out


_NAME_RUN_OR_NUMBER = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*|\d[\d,.]*\d|\d")


def grounded(question: str, summary: str) -> bool:
    """Whether every name (a run of capitalised words, the question's first word aside) and number of
    ``question`` occurs in ``summary``: a question about a summary names only what it names. QAGen's
    own copy errors (a recombined "Bellwether Foods" for the summary's "Bellwether Software" and
    "Veltro Foods") fail it.

    >>> grounded("Who is the chief executive of Veltro Foods?", "Veltro Foods paid $240 million.")
    True
    >>> grounded("Which company is buying Bellwether Foods?", "Veltro Foods bought Bellwether Software.")
    False
    >>> grounded("How many fans watched the 2-1 win?", "Kelso won 3-1.")
    False
    """
    _, _, rest = question.strip().partition(" ")
    return all(name in summary for name in _NAME_RUN_OR_NUMBER.findall(rest))


def with_span_pairs(kept: list[QACandidate], span_pairs: list[QACandidate]) -> list[QACandidate]:
    """The kept generated pairs, then each answer-span pair whose answer no kept pair has (case and
    spaces aside): ``answers=both``; with no generated pair (``answers=spans``) all span pairs."""
    have = {c.answer.strip().lower() for c in kept}
    return kept + [c for c in span_pairs if c.answer.strip().lower() not in have]
