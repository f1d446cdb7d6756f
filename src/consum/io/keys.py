"""Keys shared by the stages, and their checks: stages join on keys (``doc_id``, ``cand_id``), never
on row positions.

Everything more than one package spells lives here: the reference summary's ``cand_id``, the stable
hash of a key and the per-document seed derived from it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Iterable

REFERENCE_CAND_ID = "ref"
"""``cand_id`` of a document's reference summary (``score_quals`` rows, contrast rows); generated
candidates may not use it."""


def stable_hash(text: str) -> int:
    """A 60-bit hash that is the same in every process and Python run (unlike ``hash``).

    >>> stable_hash("d0")
    48786306828217490
    """
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:15], 16)


def document_seed(seed: int, doc_id: str) -> int:
    """The sampling seed of one document: the run's ``seed`` mixed with :func:`stable_hash` of
    ``doc_id``, so a document's candidates do not depend on the process, shard or batch it lands in.

    >>> document_seed(1, "d0")
    48786306829217493
    """
    return (seed * 1_000_003 + stable_hash(doc_id)) % (2**62)


class DuplicateKeyError(ValueError):
    pass


class KeyMismatchError(ValueError):
    pass


def find_duplicates(keys: Iterable[Hashable]) -> list[Hashable]:
    return sorted((k for k, n in Counter(keys).items() if n > 1), key=str)


def _preview(keys, limit: int = 5) -> str:
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def check_unique(keys: Iterable[Hashable], what: str) -> None:
    duplicates = find_duplicates(keys)
    if duplicates:
        raise DuplicateKeyError(f"{what}: duplicate keys {_preview(duplicates)}")


def check_keys(expected: Iterable[Hashable], produced: Iterable[Hashable], what: str) -> None:
    """Assert ``produced`` holds every key of ``expected`` exactly once and nothing else.

    Run after every multi-process or resumed stage: a lost shard, a shard written twice or a
    rank that processed the wrong slice all show up here, not as a silent misalignment later.
    """
    produced = list(produced)
    check_unique(produced, f"{what} (output)")
    expected_set, produced_set = set(expected), set(produced)
    missing = expected_set - produced_set
    extra = produced_set - expected_set
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {_preview(sorted(missing, key=str))}")
        if extra:
            parts.append(f"unexpected {_preview(sorted(extra, key=str))}")
        raise KeyMismatchError(f"{what}: output keys differ from input keys: " + "; ".join(parts))
