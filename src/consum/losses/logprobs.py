"""Per-token and per-sequence log-probabilities, and the numerically careful pieces the losses share.

Conventions (used by every module in :mod:`consum.losses`):

* ``logits`` ``(N, T, V)``: decoder outputs for N target sequences, any float dtype; every function
  upcasts to fp32 before the log-softmax. ``logits[n, t]`` predicts ``labels[n, t]`` (the Hugging Face
  seq2seq convention: decoder inputs are the labels shifted right, so no shift happens here).
* ``labels`` ``(N, T)`` long, :data:`IGNORE_INDEX` (-100) on padding. A row whose labels are all
  padding is *absent*: it contributes no tokens, no sequence and no pair.
"""

from __future__ import annotations

import math

import torch

IGNORE_INDEX = -100
"""Label value of padded target positions (the Hugging Face / PyTorch cross-entropy convention)."""

LOG_1M_P_FLOOR = 1e-20
"""The original clamps 1 - p at this value before taking log(1 - p) (spec §7.2)."""

_LN2 = math.log(2.0)


def target_mask(labels: torch.Tensor) -> torch.Tensor:
    """``(N, T)`` bool, True on real (non-padding) target tokens."""
    return labels != IGNORE_INDEX


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Log-probability of each label token, ``(N, T)`` fp32, 0.0 on padding.

    >>> logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]]))
    >>> token_logprobs(logits, torch.tensor([[1, -100]]))  # log 0.25, padding
    tensor([[-1.3863,  0.0000]])
    """
    return gather_labels(torch.log_softmax(logits.float(), dim=-1), labels)


def gather_labels(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``values[n, t, labels[n, t]]`` as ``(N, T)``, 0.0 where the label is padding."""
    mask = target_mask(labels)
    gathered = values.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(mask, gathered, torch.zeros_like(gathered))


def sequence_logprob(
    token_lp: torch.Tensor,
    mask: torch.Tensor,
    normalise: bool = True,
    length_penalty: float = 1.0,
) -> torch.Tensor:
    """Sequence log-probability ``(N,)`` from per-token log-probs ``(N, T)`` and a ``(N, T)`` bool mask.

    ``normalise=False``: the sum ``log p(y|x)``. ``normalise=True``: the sum divided by
    ``length ** length_penalty`` (``length_penalty=1`` gives the mean token log-prob; BRIO uses other
    exponents). A row with no real tokens gives 0.0 (its length is clamped to 1, so no 0/0).

    >>> lp = torch.tensor([[-1.0, -2.0, 0.0], [-3.0, 0.0, 0.0]])
    >>> mask = torch.tensor([[True, True, False], [True, False, False]])
    >>> sequence_logprob(lp, mask, normalise=False), sequence_logprob(lp, mask)
    (tensor([-3., -3.]), tensor([-1.5000, -3.0000]))
    """
    mask = mask.to(token_lp.dtype)
    total = (token_lp * mask).sum(-1)
    if not normalise:
        return total
    lengths = mask.sum(-1).clamp(min=1.0)
    return total / lengths.pow(length_penalty)


def log1mexp(x: torch.Tensor, floor: float = LOG_1M_P_FLOOR) -> torch.Tensor:
    """``log(max(1 - exp(x), floor))`` for log-probabilities ``x <= 0``, stable in value and gradient.

    Near 0 (``x > -ln 2``) it uses ``log(-expm1(x))``, elsewhere ``log1p(-exp(x))`` (Mächler 2012).
    Each branch only ever sees inputs in its safe range, so the branch that ``torch.where`` discards
    cannot send inf or NaN into the backward pass. The floor is applied *before* the log, so at
    ``p = 1`` the value is ``log(floor)`` with a zero (not NaN) gradient, as in the original's
    ``(1 - p).clamp(min=1e-20).log()``.

    >>> log1mexp(torch.log(torch.tensor([0.5, 0.25, 1.0])))
    tensor([ -0.6931,  -0.2877, -46.0517])
    """
    x = x.float().clamp(max=0.0)
    near_zero = x > -_LN2
    x_near = torch.where(near_zero, x, torch.full_like(x, -_LN2))
    x_far = torch.where(near_zero, torch.full_like(x, -_LN2), x)
    value_near = torch.log((-torch.expm1(x_near)).clamp(min=floor))
    value_far = torch.log1p(-torch.exp(x_far))
    return torch.where(near_zero, value_near, value_far)


def label_smoothed_token_loss(log_values: torch.Tensor, labels: torch.Tensor, epsilon: float) -> torch.Tensor:
    """fairseq 0.9 label smoothing per token, ``(N, T)``, 0.0 on padding.

    ``(1 - ε)·(-log_values[y_t]) + (ε / V)·Σ_v (-log_values[v])`` with ``log_values`` ``(N, T, V)``:
    the log-softmax for a likelihood term, ``log1mexp`` of it for the unlikelihood term (spec §7.2).

    >>> lv = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    >>> label_smoothed_token_loss(lv, torch.tensor([[0]]), epsilon=0.1)  # 0.9·ln2 + 0.1/3·(ln2 + 2·ln4)
    tensor([[0.7394]])
    """
    nll = -gather_labels(log_values, labels)
    if epsilon == 0.0:
        return nll
    smooth = -log_values.sum(-1)
    smooth = torch.where(target_mask(labels), smooth, torch.zeros_like(smooth))
    return (1.0 - epsilon) * nll + (epsilon / log_values.size(-1)) * smooth
