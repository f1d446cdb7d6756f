"""Batch ConSeq document groups so that a document's positives and negatives share a mini-batch.

The original zipped two datasets so that batch k held the same documents in both halves (spec §7.1);
here one example *is* a document with all its targets, so the pairing cannot drift.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

ROLES = ("pos", "neg")


@dataclass(frozen=True)
class ContrastCollator:
    """Turn tokenised document groups into the tensors :mod:`consum.losses` expects.

    Each example is one document: ``{"doc_id", "input_ids": list[int], "targets": [{"ids": list[int],
    "role": "pos" | "neg", "cand_id": str}, ...]}``. Every target becomes one row, in example order
    and then target order; sources are right-padded with ``pad_token_id`` and labels with
    ``label_pad``. With ``repeat_source=True`` (default) row n's source is ``input_ids[n]``; with
    ``repeat_source=False`` each document's source appears once and row n's source is
    ``input_ids[source_index[n]]`` (run the encoder once per document and index its output).

    Sequences longer than ``max_source_len`` / ``max_target_len`` keep their first tokens; if
    ``eos_token_id`` is set, the last kept token is replaced by it, as tokenizer truncation does.

    Labels are the target ids themselves: the model derives decoder inputs by shifting them right
    (e.g. ``model.prepare_decoder_input_ids_from_labels`` for BART).

    ``reference_logprobs`` (optional) maps ``(doc_id, cand_id)`` to a number computed once per target
    before training, e.g. its sequence log-prob under the frozen starting model (DPO's ``π_ref``);
    the batch then carries them row by row as ``reference_logprobs`` ``(N,)`` fp32. A target missing
    from the mapping is an error.

    ``with_span_mask=True`` (``loss=span_unlikelihood``): a negative target may carry ``"span_mask"``,
    one bool per id, True on the tokens of its unsupported span (see
    :func:`consum.contrast.spans.tokenize_with_span_masks`). The batch then has ``span_mask`` ``(N, T)``
    bool aligned with ``labels`` (False on positives and padding) and ``n_span_fallback``: the number
    of negatives without a span token (no mask, or none left after truncation), whose rows are True on
    every real token, so that they get the whole-summary unlikelihood instead of none.

    Example:

    >>> collator = ContrastCollator(pad_token_id=1)
    >>> examples = [
    ...     {"doc_id": "a", "input_ids": [0, 11, 12, 2], "targets": [
    ...         {"ids": [0, 21, 2], "role": "pos", "cand_id": "ref"},
    ...         {"ids": [0, 22, 23, 2], "role": "neg", "cand_id": "s4"}]},
    ...     {"doc_id": "b", "input_ids": [0, 13, 2], "targets": [
    ...         {"ids": [0, 24, 2], "role": "pos", "cand_id": "ref"}]},
    ... ]
    >>> batch = collator(examples)
    >>> batch["input_ids"]
    tensor([[ 0, 11, 12,  2],
            [ 0, 11, 12,  2],
            [ 0, 13,  2,  1]])
    >>> batch["attention_mask"]
    tensor([[1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 0]])
    >>> batch["labels"]
    tensor([[   0,   21,    2, -100],
            [   0,   22,   23,    2],
            [   0,   24,    2, -100]])
    >>> batch["is_positive"], batch["group_ids"]
    (tensor([ True, False,  True]), tensor([0, 0, 1]))
    >>> batch["doc_ids"], batch["cand_ids"]
    (['a', 'a', 'b'], ['ref', 's4', 'ref'])
    >>> compact = ContrastCollator(pad_token_id=1, repeat_source=False)(examples)
    >>> compact["input_ids"], compact["source_index"]
    (tensor([[ 0, 11, 12,  2],
            [ 0, 13,  2,  1]]), tensor([0, 0, 1]))
    >>> reference = {("a", "ref"): -1.5, ("a", "s4"): -4.0, ("b", "ref"): -2.25}
    >>> ContrastCollator(pad_token_id=1, reference_logprobs=reference)(examples)["reference_logprobs"]
    tensor([-1.5000, -4.0000, -2.2500])
    >>> examples[0]["targets"][1]["span_mask"] = [False, True, False, False]  # token 22 is unsupported
    >>> spans = ContrastCollator(pad_token_id=1, with_span_mask=True)(examples)
    >>> spans["span_mask"], spans["n_span_fallback"]
    (tensor([[False, False, False, False],
            [False,  True, False, False],
            [False, False, False, False]]), 0)
    """

    pad_token_id: int
    label_pad: int = -100
    max_source_len: int | None = None
    max_target_len: int | None = None
    eos_token_id: int | None = None
    repeat_source: bool = True
    reference_logprobs: Mapping[tuple[str, str], float] | None = None
    with_span_mask: bool = False

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if not examples:
            raise ValueError("ContrastCollator got an empty list of examples")
        sources, labels, is_positive, group_ids, doc_ids, cand_ids = [], [], [], [], [], []
        span_rows: list[list[bool]] = []
        n_fallback = 0
        for group_id, example in enumerate(examples):
            doc_id = example["doc_id"]
            source = self._truncate(
                example["input_ids"], self.max_source_len, f"document {doc_id!r} input_ids"
            )
            if not example["targets"]:
                raise ValueError(f"document {doc_id!r} has no targets")
            if not self.repeat_source:
                sources.append(source)
            for target in example["targets"]:
                if target["role"] not in ROLES:
                    raise ValueError(
                        f"document {doc_id!r}: role must be one of {ROLES}, got {target['role']!r}"
                    )
                what = f"document {doc_id!r} target {target['cand_id']!r}"
                labels.append(self._truncate(target["ids"], self.max_target_len, what))
                if self.with_span_mask:
                    row, fallback = self._span_row(target, len(labels[-1]), what)
                    span_rows.append(row)
                    n_fallback += fallback
                if self.repeat_source:
                    sources.append(source)
                is_positive.append(target["role"] == "pos")
                group_ids.append(group_id)
                doc_ids.append(doc_id)
                cand_ids.append(target["cand_id"])

        input_ids = _pad(sources, self.pad_token_id)
        batch = {
            "input_ids": input_ids,
            "attention_mask": _pad([[1] * len(source) for source in sources], 0),
            "labels": _pad(labels, self.label_pad),
            "is_positive": torch.tensor(is_positive, dtype=torch.bool),
            "group_ids": torch.tensor(group_ids, dtype=torch.long),
            "doc_ids": doc_ids,
            "cand_ids": cand_ids,
        }
        if not self.repeat_source:
            batch["source_index"] = batch["group_ids"].clone()
        if self.reference_logprobs is not None:
            batch["reference_logprobs"] = self._reference(doc_ids, cand_ids)
        if self.with_span_mask:
            batch["span_mask"] = _pad(span_rows, False).bool()
            batch["n_span_fallback"] = n_fallback
        return batch

    def _span_row(self, target: Mapping[str, Any], n_kept: int, what: str) -> tuple[list[bool], bool]:
        """The target's span row over its ``n_kept`` label tokens, and whether it fell back to every
        token (a negative with no span token)."""
        if target["role"] == "pos":
            return [False] * n_kept, False
        mask = target.get("span_mask")
        if mask is not None and len(mask) != len(target["ids"]):
            raise ValueError(f"{what}: span_mask has {len(mask)} entries for {len(target['ids'])} ids")
        row = [bool(m) for m in (mask or [])[:n_kept]]
        if n_kept < len(target["ids"]) and self.eos_token_id is not None:
            row[-1] = False  # truncation put EOS there
        if any(row):
            return row, False
        return [True] * n_kept, True

    def _reference(self, doc_ids: list[str], cand_ids: list[str]) -> torch.Tensor:
        missing = [key for key in zip(doc_ids, cand_ids) if key not in self.reference_logprobs]
        if missing:
            raise KeyError(f"no reference log-prob for {missing[:3]} ({len(missing)} missing)")
        values = [self.reference_logprobs[key] for key in zip(doc_ids, cand_ids)]
        return torch.tensor(values, dtype=torch.float32)

    def _truncate(self, ids: Sequence[int], max_len: int | None, what: str) -> list[int]:
        if not ids:
            raise ValueError(f"{what} is empty")
        ids = list(ids)
        if max_len is None or len(ids) <= max_len:
            return ids
        truncated = ids[:max_len]
        if self.eos_token_id is not None:
            truncated[-1] = self.eos_token_id
        return truncated


def _pad(sequences: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(sequence) for sequence in sequences)
    return torch.tensor(
        [sequence + [value] * (width - len(sequence)) for sequence in sequences], dtype=torch.long
    )


def group_batches(
    groups_lengths: Sequence[tuple[int, Sequence[int]]],
    max_tokens: int,
    shuffle_seed: int | None = None,
) -> list[list[int]]:
    """Pack whole document groups into batches of at most ``max_tokens`` padded tokens.

    ``groups_lengths[i] = (source length, [target lengths])`` of group i, after truncation. A batch's
    cost is what :class:`ContrastCollator` (``repeat_source=True``) allocates: ``rows x (longest
    source + longest target)``, rows counting every target. Groups are sorted by (source length,
    longest target) so that similar lengths share a batch, packed greedily in that order, and a
    group is never split: a group over the budget on its own gets a batch to itself.

    With ``shuffle_seed`` set, ties in length are broken in a seeded random order and the batches
    are shuffled with the same seed (pass ``seed + epoch`` for a new order each epoch); without it
    the batches come shortest first. The same arguments always give the same batches.

    >>> group_batches([(10, [3, 5]), (4, [2]), (9, [6]), (30, [4, 4, 4])], max_tokens=40)
    [[1, 2], [0], [3]]
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    for index, (_, target_lengths) in enumerate(groups_lengths):
        if not target_lengths:
            raise ValueError(f"group {index} has no targets")
    rng = random.Random(shuffle_seed)
    order = list(range(len(groups_lengths)))
    if shuffle_seed is not None:
        rng.shuffle(order)
    order.sort(key=lambda index: (groups_lengths[index][0], max(groups_lengths[index][1])))

    batches: list[list[int]] = []
    current: list[int] = []
    rows = longest_source = longest_target = 0
    for index in order:
        source_length, target_lengths = groups_lengths[index]
        new_rows = rows + len(target_lengths)
        new_source = max(longest_source, source_length)
        new_target = max(longest_target, max(target_lengths))
        if current and new_rows * (new_source + new_target) > max_tokens:
            batches.append(current)
            current = []
            new_rows, new_source, new_target = len(target_lengths), source_length, max(target_lengths)
        current.append(index)
        rows, longest_source, longest_target = new_rows, new_source, new_target
    if current:
        batches.append(current)
    if shuffle_seed is not None:
        rng.shuffle(batches)
    return batches
