"""How QUALS cuts its work into batches: fixed-size runs, token-budget plans for document scoring, and
the CUDA out-of-memory back-off that every QUALS phase shares."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

log = logging.getLogger(__name__)


def fixed_size_batches(items: list, size: int) -> list[list]:
    """Consecutive runs of ``size`` items (the last may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def plan_score_batches(
    todo: Sequence[int], pairs: Sequence[tuple[int, list[int]]], doc_lengths: Sequence[int], budget: int
) -> list[list]:
    """Pack QA pairs into batches of (document, pair indices, cost) units, length-sorted.

    A unit holds pairs of ONE document (it is encoded once per batch); cost per QA row =
    document tokens + QA tokens; a batch keeps rows x max cost under ``budget``.
    """
    pairs_of: dict[int, list[int]] = {}
    for p in todo:
        pairs_of.setdefault(pairs[p][0], []).append(p)
    units = []
    for d in sorted(pairs_of, key=lambda d: doc_lengths[d]):
        ps = sorted(pairs_of[d], key=lambda p: len(pairs[p][1]))
        cost = doc_lengths[d] + len(pairs[ps[-1]][1])
        per_chunk = max(1, budget // cost)
        units.extend((d, ps[i : i + per_chunk], cost) for i in range(0, len(ps), per_chunk))
    batches, current, current_cost, current_rows = [], [], 0, 0
    for unit in units:
        rows, cost = len(unit[1]), unit[2]
        if current and (current_rows + rows) * max(current_cost, cost) > budget:
            batches.append(current)
            current, current_cost, current_rows = [], 0, 0
        current.append(unit)
        current_cost, current_rows = max(current_cost, cost), current_rows + rows
    if current:
        batches.append(current)
    return batches


def pair_batches(
    todo: Sequence[int], budget: int, *, pairs: Sequence[tuple[int, list[int]]], doc_lengths: Sequence[int]
) -> list[list[int]]:
    """``plan_score_batches`` as lists of pair indices, a document's pairs next to each other."""
    # Planned from index order whatever order ``todo`` comes in: the same batches on every retry.
    batches = plan_score_batches(sorted(todo), pairs, doc_lengths, budget)
    return [[p for _, unit_pairs, _ in batch for p in unit_pairs] for batch in batches]


def with_oom_backoff(
    run_batch: Callable[[list], None],
    items: Sequence,
    size: int,
    what: str,
    *,
    plan: Callable[[list, int], list[list]] = fixed_size_batches,
    min_size: int = 1,
    size_label: str = "batch size",  # how the log names `size`
) -> None:
    """Run ``items`` in the batches ``plan(items, size)`` makes; on CUDA out-of-memory halve ``size``,
    re-plan the items not yet run and go on (logged). Out of memory at ``size <= min_size`` is raised.

    ``size`` means what ``plan`` makes of it: items per batch (the default), a token budget, ...
    QA generation and document scoring share this one mechanism.
    """
    remaining = list(items)
    while remaining:
        batches = plan(remaining, size)
        for index, batch in enumerate(batches):
            try:
                run_batch(batch)
            except torch.cuda.OutOfMemoryError:
                if size <= min_size:
                    raise
                torch.cuda.empty_cache()
                size //= 2
                log.warning("CUDA out of memory in %s: retrying with %s %d", what, size_label, size)
                remaining = [item for rest in batches[index:] for item in rest]
                break
        else:
            remaining = []
