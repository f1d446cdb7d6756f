"""Token-budget batching and the per-rank update schedule.

fairseq-style: examples sorted by length are packed so that ``n_examples x longest`` stays under
``max_tokens``; batch order is shuffled per epoch with a fixed seed. An *update* is
``update_freq x world_size`` micro-batches; rank r takes its ``update_freq`` consecutive ones.
Every micro-batch carries the target-token count of its whole update, so the loss can be
normalised per token over the update exactly as fairseq does, whatever the world size.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


def token_budget_batches(
    lengths: Sequence[int], max_tokens: int, max_examples: int | None = None
) -> list[list[int]]:
    """Pack example indices, sorted by length, into batches with ``len(batch) * max_len <= max_tokens``.

    An example longer than ``max_tokens`` gets a batch of its own (it was already truncated).
    >>> token_budget_batches([5, 1, 4, 2], max_tokens=8)
    [[1, 3], [2], [0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    current_max = 0
    for i in order:
        new_max = max(current_max, lengths[i])
        too_big = new_max * (len(current) + 1) > max_tokens
        too_many = max_examples is not None and len(current) + 1 > max_examples
        if current and (too_big or too_many):
            batches.append(current)
            current, new_max = [], lengths[i]
        current.append(i)
        current_max = new_max
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True)
class MicroBatch:
    indices: tuple[int, ...]
    update_target_tokens: int  # target tokens of the whole update, all ranks together
    update_index: int


def rank_schedule(
    batches: Sequence[Sequence[int]],
    target_lengths: Sequence[int],
    *,
    epoch: int,
    seed: int,
    update_freq: int,
    world_size: int,
    rank: int,
) -> tuple[list[MicroBatch], int]:
    """This rank's micro-batches for one epoch, in order; and how many batches were dropped.

    Batch order is shuffled with ``(seed, epoch)``. With several ranks, trailing batches that do
    not fill a whole update are dropped (every rank must take part in every update); with one
    rank the last update may be short.
    """
    order = list(range(len(batches)))
    random.Random(f"{seed}-{epoch}").shuffle(order)
    per_update = update_freq * world_size
    n_updates = len(order) // per_update if world_size > 1 else -(-len(order) // per_update)
    dropped = len(order) - min(len(order), n_updates * per_update)
    schedule = []
    for u in range(n_updates):
        group = [batches[b] for b in order[u * per_update : (u + 1) * per_update]]
        tokens = sum(target_lengths[i] for batch in group for i in batch)
        for batch in group[rank * update_freq : (rank + 1) * update_freq]:
            schedule.append(MicroBatch(tuple(batch), tokens, u))
    return schedule, dropped
