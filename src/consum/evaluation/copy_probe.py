"""Does a model copy by content or by position? Three teacher-forced probes (``scripts/copy_probe.py``).

A mangled copy ("Greta Jensen" for a document's "Greta Ogunleye" and "Zofia Jensen") is a binding
error: the summarizer picks the right kind of word from the document but not the one that *follows*
the word it just wrote. Copying that survives a name standing anywhere in a document needs content:
"the token after the one I just wrote". Copying a source to an identical target does not: output
token *k* can read input token *k* by position. The probes tell the two apart:

- **shuffled-chunk continuation**: the source is a random token string cut into chunks of
  ``chunk_len`` tokens in a random order, the target the string in order (``copy_pairs(chunk_len=)``).
  A chunk's first token cannot be known (the order is random); every later token of a chunk can, by
  content. ``within`` far above ``start`` means content copying; equal means none.
- **surname binding**: teacher-forced on references, the share of full person names (also written in
  full in the document) whose surname's first token is the model's top-1 prediction right after the
  first name, and its mean log-probability.
- **binding against the role**: the same, with the reference's first name replaced by the first name
  of another person of the document (:func:`swapped_first_names`). A model that binds writes that
  person's surname; one that picks the surname by role (who won, who was appointed) writes the surname
  the reference had: the mangled copy. Both shares are reported.

The counting is pure (:func:`continuation_accuracy`, :func:`surname_token_positions`,
:func:`swapped_first_names`); :func:`probe` runs a model, encoding each document once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from consum.data.factworld.entities import PERSON, find_mentions


def continuation_accuracy(correct: Sequence[Sequence[bool]], chunk_len: int) -> dict[str, float]:
    """Top-1 accuracy at chunk starts and inside chunks. ``correct[i][k]``: whether target token ``k``
    (``<s>``/``</s>`` excluded, so token 0 starts the first chunk) of string ``i`` was predicted."""
    if chunk_len < 2:
        raise ValueError(f"chunk_len must be >= 2 (a chunk needs a token after its first), got {chunk_len}")
    within, start = [], []
    for row in correct:
        for k, ok in enumerate(row):
            (start if k % chunk_len == 0 else within).append(bool(ok))
    if not within or not start:
        raise ValueError("no tokens to count: pass strings longer than one chunk")
    return {"within": float(np.mean(within)), "start": float(np.mean(start))}


def _full_names(text: str) -> list[tuple[str, str, int]]:
    """(first name, surname, start) of the full person names of ``text``."""
    names = []
    for m in find_mentions(text):
        first, _, surname = m.surface.rpartition(" ")
        if m.entity_type == PERSON and m.name_part == "full" and first:
            names.append((first, surname, m.span[0]))
    return names


def surname_token_positions(
    reference: str, document: str, offsets: Sequence[tuple[int, int]]
) -> list[int]:
    """Token indices (into the reference's tokens, whose character ``offsets`` are given) of the first
    token of each surname of a full person name in ``reference`` that ``document`` also writes in full.

    The first token is the one whose span covers the surname's first character (with byte-level BPE
    it also holds the space before it).
    """
    people = {(first, surname) for first, surname, _ in _full_names(document)}
    positions = []
    for first, surname, start in _full_names(reference):
        if (first, surname) not in people:
            continue
        surname_start = start + len(first) + 1
        for index, (a, b) in enumerate(offsets):
            if a <= surname_start < b:
                positions.append(index)
                break
    return positions


class SwappedName(NamedTuple):
    prefix: str  # the reference up to a full name's first name, replaced by another person's first name
    bound_surname: str  # that other person's surname: what a model that binds writes next
    role_surname: str  # the surname the reference had there: a mangled copy if written next


def swapped_first_names(reference: str, document: str) -> list[SwappedName]:
    """For each full person name of ``reference`` that ``document`` writes in full, and each other
    person the document names in full (first name and surname both different): the reference up to
    that name with the other person's first name in place of its own."""
    people = {(first, surname) for first, surname, _ in _full_names(document)}
    cases = []
    for first, surname, start in _full_names(reference):
        if (first, surname) not in people:
            continue
        for other_first, other_surname in sorted(people):
            if other_first != first and other_surname != surname:
                cases.append(SwappedName(reference[:start] + other_first, other_surname, surname))
    return cases


def probe(model, tokenizer, rows: Sequence[Mapping], *, n_strings: int = 64, length: int = 40,
          chunk_len: int = 3, max_source_len: int = 320, seed: int = 1) -> dict[str, float]:
    """The three probes for one model: ``rows`` are factworld rows (``document``, ``summary``)."""
    import torch

    from consum.training.common import decoder_inputs
    from consum.training.pretrain import copy_pairs

    model.eval()
    start_id = model.config.decoder_start_token_id
    random_tokens = (len(tokenizer.all_special_ids), len(tokenizer))
    pairs = copy_pairs(n_strings, length, random_tokens, seed=seed, bos=tokenizer.bos_token_id,
                       eos=tokenizer.eos_token_id, key_prefix="probe", chunk_len=chunk_len)
    with torch.no_grad():
        source = torch.tensor([p.source_ids for p in pairs])
        labels = torch.tensor([p.target_ids for p in pairs])
        logits = model(input_ids=source, decoder_input_ids=decoder_inputs(labels, tokenizer.pad_token_id,
                                                                          start_id)).logits
        correct = (logits.argmax(-1) == labels)[:, 1:-1].tolist()  # the string, without <s> and </s>
        result = {f"chunk_{k}": v for k, v in continuation_accuracy(correct, chunk_len).items()}
        hits, log_probs, bound, by_role = [], [], [], []
        for row in rows:
            encoded = tokenizer(row["summary"], return_offsets_mapping=True)
            positions = surname_token_positions(row["summary"], row["document"], encoded["offset_mapping"])
            cases = swapped_first_names(row["summary"], row["document"])
            if not positions and not cases:
                continue
            source = tokenizer(row["document"], return_tensors="pt", truncation=True,
                               max_length=max_source_len)
            # the document's encoding, shared by both probes' decoder passes
            memory = {"encoder_outputs": model.get_encoder()(**source),
                      "attention_mask": source["attention_mask"]}
            if positions:
                labels = torch.tensor([encoded["input_ids"]])
                decoder_input_ids = decoder_inputs(labels, tokenizer.pad_token_id, start_id)
                log_p = model(**memory, decoder_input_ids=decoder_input_ids).logits[0].log_softmax(-1)
                for k in positions:
                    hits.append(int(log_p[k].argmax()) == encoded["input_ids"][k])
                    log_probs.append(float(log_p[k, encoded["input_ids"][k]]))
            for case in cases:
                prefix = tokenizer(case.prefix)["input_ids"][:-1]  # <s> ..., without </s>
                logits = model(**memory, decoder_input_ids=torch.tensor([[start_id, *prefix]])).logits
                predicted = int(logits[0, -1].argmax())
                bound.append(predicted == _first_token(tokenizer, case.bound_surname))
                by_role.append(predicted == _first_token(tokenizer, case.role_surname))
    result.update({"swapped_bound": float(np.mean(bound)) if bound else float("nan"),
                   "swapped_role": float(np.mean(by_role)) if by_role else float("nan"),
                   "n_swapped": len(bound)})
    result.update({"surname_top1": float(np.mean(hits)) if hits else float("nan"),
                   "surname_log_prob": float(np.mean(log_probs)) if log_probs else float("nan"),
                   "n_surnames": len(hits)})
    return result


def _first_token(tokenizer, word: str) -> int:
    """The first token of ``word`` written after a space (as it follows a first name)."""
    return tokenizer(" " + word, add_special_tokens=False)["input_ids"][0]
