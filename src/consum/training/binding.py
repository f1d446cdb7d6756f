"""Binding pairs: extra MLE pairs that teach the summarizer to finish the name it has started.

Why (README "Copy fidelity"): the tiny models write mangled copies ("Greta Jensen" for a document's
"Greta Ogunleye" and "Zofia Jensen"); measured with ``scripts/copy_probe.py``, after another person's
first name they still write the surname of the person the reference is about (64-88%) and that
person's own surname only 9-25%: they choose each word by role, not by what they just wrote. Teacher
forcing never shows them the case that would teach it, since a reference's first name is always its
own. A binding pair is the document with the reference up to a multi-word name of the document, the
first word of *another* name of the same type in its place, and as the only target tokens the rest
of that other name: "the words that follow the one I just wrote, in this document". The loss covers
those tokens alone (``EncodedPair.loss_from``), so the pair never teaches writing the other name in
the reference's role.

Needs the document's entities (factworld's ``doc_facts``); for other data an NER pass would give
the same. :func:`binding_cases` is pure (text in, text out); :func:`binding_pairs` samples and encodes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from consum.training.common import EncodedPair


class BindingCase(NamedTuple):
    prefix: str  # the reference up to a document name, another name's first word in its place
    continuation: str  # the rest of that other name, with its leading space (the only target tokens)


def _names(doc_facts: Mapping, types: Sequence[str]) -> dict[str, list[str]]:
    """Multi-word names of the document per entity type (in document order, no repeats)."""
    names: dict[str, list[str]] = {}
    for fact in doc_facts.get("entities", []):
        value = str(fact.get("value", ""))
        if fact.get("type") in types and len(value.split()) >= 2:
            names.setdefault(fact["type"], [])
            if value not in names[fact["type"]]:
                names[fact["type"]].append(value)
    return names


def binding_cases(reference: str, doc_facts: Mapping | str, types: Sequence[str] = ("PERSON", "ORG")
                  ) -> list[BindingCase]:
    """For each multi-word name of the document that ``reference`` writes (first occurrence, whole
    words) and each other multi-word name of the document of the same type: the case "reference up to
    the name + the other name's first word" -> "the other name's remaining words".

    Other names are skipped when their first word is the first word of another name of that type in
    the document ("Kelso United" and "Kelso Rovers": the first word does not tell the rest) or when
    it is the referenced name's own first word. Example: reference "Greta Ogunleye won in Kyoto.",
    document persons "Greta Ogunleye", "Zofia Jensen" -> [("Zofia", " Jensen")].
    """
    facts = json.loads(doc_facts) if isinstance(doc_facts, str) else doc_facts
    cases = []
    for names in _names(facts, types).values():
        firsts = [name.split()[0] for name in names]
        for name in names:
            found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", reference)
            if found is None:
                continue
            for other in names:
                first, _, rest = other.partition(" ")
                if other == name or first == name.split()[0] or firsts.count(first) > 1:
                    continue
                cases.append(BindingCase(reference[: found.start()] + first, " " + rest))
    return cases


def binding_pairs(tokenizer, rows: Sequence[Mapping], source_pairs: Sequence[EncodedPair], *,
                  share: float, seed: int, types: Sequence[str] = ("PERSON", "ORG"),
                  max_target_len: int = 256, per_document: int = 1) -> list[EncodedPair]:
    """Binding pairs for a ``share`` of the rows that have a case: ``per_document`` of its cases (all
    when it has fewer) drawn at random, sharing the source tokens of the row's own pair
    (``source_pairs``, same order as ``rows``).

    Row ``i`` draws from ``(seed, i)`` alone, so the pairs do not depend on the other rows. Target:
    ``<s>`` + prefix + continuation tokens (no ``</s>``: nothing is learned after the name), with
    ``loss_from`` at the continuation's first token. A case whose prefix does not tokenize the same
    alone and followed by the continuation (a merge across the boundary) is dropped.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"binding share must be in [0, 1], got {share}")
    if per_document < 1:
        raise ValueError(f"binding per_document must be >= 1, got {per_document}")
    if len(rows) != len(source_pairs):
        raise ValueError(f"{len(rows)} rows but {len(source_pairs)} source pairs")
    pairs = []
    for index, (row, own) in enumerate(zip(rows, source_pairs, strict=True)):
        if "doc_facts" not in row or row["doc_facts"] is None:
            raise ValueError(f"binding pairs need the document's entities (doc_facts); row "
                             f"{row.get('doc_id')} has none (factworld data has them)")
        if own.key != row["doc_id"]:
            raise ValueError(f"source pair {own.key} is not row {row['doc_id']}")
        rng = np.random.default_rng([seed, index])
        cases = binding_cases(row["summary"], row["doc_facts"], types)
        if not cases or rng.random() >= share:
            continue
        if per_document == 1:
            chosen = [int(rng.integers(len(cases)))]
        else:
            chosen = rng.permutation(len(cases))[:per_document].tolist()
        for number, case_index in enumerate(chosen):
            case = cases[case_index]
            prefix = tokenizer(case.prefix, add_special_tokens=True)["input_ids"][:-1]  # drop </s>
            whole = tokenizer(case.prefix + case.continuation, add_special_tokens=True)["input_ids"][:-1]
            if whole[: len(prefix)] != prefix or len(whole) == len(prefix) or len(whole) > max_target_len:
                continue
            key = f"{row['doc_id']}-binding" + (f"-{number}" if number else "")
            pairs.append(EncodedPair(key, own.source_ids, whole, loss_from=len(prefix)))
    return pairs
