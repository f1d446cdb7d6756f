"""The contrast batch layout shared by every loss: which rows are present, which (pos, neg) pairs exist.

A batch stacks the target sequences of several documents: ``is_positive (N,)`` bool says whether row
n is in S+ (True) or S- (False), ``group_ids (N,)`` long names its document within the batch. Pairs
are formed only inside a document: every present positive with every present negative of the same
group. A row whose labels are all padding is absent everywhere.
"""

from __future__ import annotations

import torch

from consum.losses.logprobs import target_mask


def check_batch(
    logits: torch.Tensor, labels: torch.Tensor, is_positive: torch.Tensor, group_ids: torch.Tensor
) -> None:
    """Raise ValueError unless the shapes and dtypes follow the convention in the module docstring."""
    if logits.dim() != 3:
        raise ValueError(f"logits must be (N, T, V), got shape {tuple(logits.shape)}")
    n_rows, n_steps = logits.shape[:2]
    if tuple(labels.shape) != (n_rows, n_steps):
        raise ValueError(f"labels must be {(n_rows, n_steps)} like logits[..., 0], got {tuple(labels.shape)}")
    if is_positive.dtype != torch.bool or tuple(is_positive.shape) != (n_rows,):
        raise ValueError(f"is_positive must be a bool tensor of shape ({n_rows},)")
    if group_ids.dtype.is_floating_point or tuple(group_ids.shape) != (n_rows,):
        raise ValueError(f"group_ids must be an integer tensor of shape ({n_rows},)")


def present_rows(labels: torch.Tensor) -> torch.Tensor:
    """``(N,)`` bool: rows with at least one real target token."""
    return target_mask(labels).any(-1)


def pair_mask(is_positive: torch.Tensor, group_ids: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` bool, ``[i, j]`` True iff row i is a positive and row j a negative of the same document.

    >>> pair_mask(torch.tensor([True, False, False, True]), torch.tensor([0, 0, 0, 1]),
    ...           torch.tensor([True, True, False, True])).nonzero().tolist()  # row 2 is padding
    [[0, 1]]
    """
    positive = is_positive & present
    negative = ~is_positive & present
    same_group = group_ids.unsqueeze(1) == group_ids.unsqueeze(0)
    return same_group & positive.unsqueeze(1) & negative.unsqueeze(0)


def pairwise_difference(scores: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` with ``[i, j] = scores[i] - scores[j]``: positive-minus-negative where ``pair_mask``
    holds."""
    return scores.unsqueeze(1) - scores.unsqueeze(0)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` holds; 0.0 (with a zero gradient) when nothing does."""
    total = torch.where(mask, values, torch.zeros_like(values)).sum()
    return total / mask.sum().clamp(min=1)
