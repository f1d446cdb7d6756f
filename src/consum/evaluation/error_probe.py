"""Does ConSeq lower the probability of the errors it saw, and of the same kinds on new documents?

Issue 30's why-analysis (``scripts/error_probe.py``). A summary is teacher-forced under each model
with its document as the source; each mention the factworld oracle finds in it gets the mean
log-probability of its tokens, labelled by its kind of error (``invented_attribute``, ``role_swap``,
...) or ``supported`` (the control: a loss that lowers everything is not unlearning an error). Two
sets of summaries answer two questions:

- the **negatives the loss saw** (a contrast's S- rows, training documents): did the updates lower
  their errors' probability, and by more than the supported mentions beside them?
- **new documents** (e.g. the MLE model's own validation outputs): does that transfer, so that the
  ConSeq model gives the same kinds of error less probability where it never saw them?

Comparisons are paired: every model scores the very same mentions, and a label's change is the mean
over its mentions of ``logprob(model) - logprob(base)``. The counting is pure
(:func:`mention_logprobs`, :func:`paired_changes`); :func:`summary_token_logprobs` runs a model.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from consum.contrast.spans import char_spans_to_token_mask

SUPPORTED = "supported"


def oracle_mentions(doc_facts: Mapping | str, text: str) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` of every mention the oracle finds in ``text``: its kind of error, or
    ``supported``; an unsupported mention without a kind is ``unsupported``."""
    from consum.data.factworld.oracle import check_summary

    return [(m.span[0], m.span[1], SUPPORTED if m.status == SUPPORTED else (m.kind or "unsupported"))
            for m in check_summary(doc_facts, text).mentions]


def mention_logprobs(token_logprobs: Sequence[float], offsets: Sequence[Sequence[int]],
                     mentions: Iterable[tuple[int, int, str]]) -> list[tuple[str, float | None]]:
    """Per mention ``(start, end, label)``, its label and the mean log-prob of the tokens whose
    character range overlaps it (None when truncation left it no token).

    ``token_logprobs[t]``: the log-prob the model gave target token t; ``offsets[t]``: its character
    range (``(0, 0)`` for specials, never in a mention).

    >>> mention_logprobs([-0.1, -2.0, -4.0, -0.5], [(0, 0), (0, 3), (4, 7), (0, 0)],
    ...                  [(0, 3, "supported"), (4, 7, "role_swap"), (9, 12, "invented_value")])
    [('supported', -2.0), ('role_swap', -4.0), ('invented_value', None)]
    >>> mention_logprobs([-1.0, -3.0], [(0, 2), (2, 5)], [(0, 5, "role_swap")])  # two tokens: their mean
    [('role_swap', -2.0)]
    """
    if len(token_logprobs) != len(offsets):
        raise ValueError(f"{len(token_logprobs)} log-probs for {len(offsets)} offsets")
    out = []
    for start, end, label in mentions:
        mask = char_spans_to_token_mask(offsets, [(start, end)])
        values = [lp for lp, inside in zip(token_logprobs, mask) if inside]
        out.append((label, statistics.fmean(values) if values else None))
    return out


def paired_changes(per_model: Mapping[str, Sequence[tuple[str, float | None]]], base: str) -> dict:
    """Per label: the number of mentions every model scored, each model's mean log-prob, and each other
    model's mean change against ``base`` over the same mentions (positive: more probable).

    ``per_model[name]``: one ``(label, logprob or None)`` per mention, the same mentions in the same
    order for every model; a mention any model could not score is left out of every mean.

    >>> out = paired_changes({"mle": [("role_swap", -1.0), ("role_swap", -3.0), ("supported", -0.5)],
    ...                       "conseq": [("role_swap", -2.0), ("role_swap", -5.0), ("supported", -0.5)]},
    ...                      base="mle")
    >>> out["role_swap"]
    {'n': 2, 'mean': {'mle': -2.0, 'conseq': -3.5}, 'change': {'conseq': -1.5}}
    >>> out["supported"]["change"]
    {'conseq': 0.0}
    """
    if base not in per_model:
        raise KeyError(f"base model {base!r} not among {sorted(per_model)}")
    lengths = {name: len(rows) for name, rows in per_model.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"the models scored different numbers of mentions: {lengths}")
    names = list(per_model)
    by_label: dict[str, list[dict[str, float]]] = {}
    for scored in zip(*(per_model[n] for n in names)):
        labels = {label for label, _ in scored}
        if len(labels) != 1:
            raise ValueError(f"one mention, several labels across models: {sorted(labels)}")
        if any(lp is None for _, lp in scored):
            continue
        by_label.setdefault(scored[0][0], []).append({n: lp for n, (_, lp) in zip(names, scored)})
    return {label: {"n": len(rows),
                    "mean": {n: statistics.fmean(r[n] for r in rows) for n in names},
                    "change": {n: statistics.fmean(r[n] - r[base] for r in rows) for n in names if n != base}}
            for label, rows in sorted(by_label.items())}


def summary_token_logprobs(model, tokenizer, documents: Sequence[str], summaries: Sequence[str], *,
                           max_source_len: int, max_target_len: int, batch_size: int = 32
                           ) -> list[tuple[list[float], list[tuple[int, int]]]]:
    """Teacher-forced: per (document, summary), the log-prob of every summary token (the tokenizer's
    ids of the summary, ``<s> ... </s>`` for BART: the labels ConSeq trains on) and the tokens'
    character offsets (:func:`consum.generation.scoring.teacher_forced_logprobs`, QUALS's own)."""
    from consum.generation.scoring import right_padded, teacher_forced_logprobs

    if len(documents) != len(summaries):
        raise ValueError(f"{len(documents)} documents but {len(summaries)} summaries")
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("the probe needs a fast tokenizer (character offsets)")
    out = []
    for i in range(0, len(documents), batch_size):
        source = tokenizer(list(documents[i:i + batch_size]), truncation=True, max_length=max_source_len,
                           padding=True, return_tensors="pt")
        target = tokenizer(list(summaries[i:i + batch_size]), truncation=True, max_length=max_target_len,
                           return_offsets_mapping=True)
        ids, mask = right_padded(target["input_ids"], tokenizer.pad_token_id)
        logprobs = teacher_forced_logprobs(model, source["input_ids"].to(model.device),
                                           source["attention_mask"].to(model.device), ids, mask).cpu()
        for row, (tokens, offsets) in enumerate(zip(target["input_ids"], target["offset_mapping"])):
            out.append((logprobs[row, :len(tokens)].tolist(), [tuple(o) for o in offsets]))
    return out
