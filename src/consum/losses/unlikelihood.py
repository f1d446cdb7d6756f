"""ConSeq as the original trains it: token NLL on S+, token unlikelihood on S- (spec §7.2).

Worked example (the test ``test_hand_computed_example`` checks these numbers). V = 3, every position
has p = (0.5, 0.25, 0.25), ε = 0.1. Row 0 is a positive with labels (0, 1, 0); row 1 a negative of the
same document with labels (2, 0, pad).

* Positive token, label smoothing over ``-log p``: the smoothing part is
  ``ε/V·Σ_v -log p(v) = 0.1/3·(ln 2 + 2 ln 4) = 0.115525``. Tokens: ``0.9·ln 2 + 0.115525 = 0.739357``,
  ``0.9·ln 4 + 0.115525 = 1.363190``, ``0.739357`` again, so ``L+ = 2.841903``.
* Negative token, the same formula over ``-log(1 - p)``: ``1 - p = (0.5, 0.75, 0.75)``, smoothing
  part ``0.1/3·(ln 2 + 2 ln(4/3)) = 0.042284``. Tokens: label 2 gives ``0.9·ln(4/3) + 0.042284 = 0.301198``,
  label 0 gives ``0.9·ln 2 + 0.042284 = 0.666116``, so ``L- = 0.967314``.
* ``loss = (L+ + L-) / (3 + 2 tokens) = 3.809217 / 5 = 0.761843``.
"""

from __future__ import annotations

import torch

from consum.losses.batch import check_batch, present_rows
from consum.losses.logprobs import (
    gather_labels,
    label_smoothed_token_loss,
    log1mexp,
    sequence_logprob,
    target_mask,
)
from consum.losses.output import LossOutput, ranking_diagnostics

REDUCTIONS = ("mean", "sum")


def unlikelihood_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    *,
    label_smoothing: float = 0.1,
    neg_weight: float = 1.0,
    reduction: str = "mean",
) -> LossOutput:
    """``(L+ + neg_weight·L-) / n_tokens``: the original ConSeq criterion (the default loss).

    ``L+ = Σ_{positive tokens} (1-ε)(-log p(y_t)) + (ε/V) Σ_v -log p(v)`` and ``L-`` the same sum over
    negative tokens with every ``log p(v)`` replaced by ``log max(1 - p(v), 1e-20)``. Both are plain
    sums over tokens, with no per-sequence normalisation; ``n_tokens`` counts positive and negative
    (non-padding) tokens together. The original (``neg_weight = 1``, ``ε = 0.1``) divides by the token
    count summed over GPUs and accumulation steps: for exact parity under gradient accumulation use
    ``reduction="sum"`` and divide by the sum of ``parts["n_tokens"]`` yourself.

    Args:
        logits: ``(N, T, V)``, any float dtype (computed in fp32).
        labels: ``(N, T)``, -100 on padding.
        is_positive: ``(N,)`` bool, True for S+ rows.
        group_ids: ``(N,)`` document index of each row (used only by the diagnostics).
        label_smoothing: ε, applied to both terms as in the original.
        neg_weight: weight of the unlikelihood term (the original has none, i.e. 1.0).
        reduction: ``"mean"`` divides by ``n_tokens``; ``"sum"`` does not.

    Returns:
        ``LossOutput`` with parts ``nll_pos`` and ``ul_neg`` (``L+`` and ``L-`` after the reduction,
        so ``loss = nll_pos + neg_weight·ul_neg``), ``n_tokens`` and the ranking diagnostics.
    """
    return weighted_unlikelihood_loss(logits, labels, is_positive, group_ids, None,
                                      label_smoothing=label_smoothing, neg_weight=neg_weight,
                                      reduction=reduction)


def weighted_unlikelihood_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    negative_token_weights: torch.Tensor | None,
    *,
    label_smoothing: float,
    neg_weight: float,
    reduction: str,
) -> LossOutput:
    """:func:`unlikelihood_loss` with each negative token's unlikelihood term multiplied by
    ``negative_token_weights[n, t]`` (``(N, T)``; None = all 1, the original). Shared by
    ``span_unlikelihood``, whose weights come from the span mask."""
    check_batch(logits, labels, is_positive, group_ids)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    mask = target_mask(labels)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    is_negative = ~is_positive

    positive_sum = label_smoothed_token_loss(
        log_probs[is_positive], labels[is_positive], label_smoothing
    ).sum()
    negative_tokens = label_smoothed_token_loss(
        log1mexp(log_probs[is_negative]), labels[is_negative], label_smoothing
    )
    if negative_token_weights is not None:
        negative_tokens = negative_tokens * negative_token_weights[is_negative].to(negative_tokens.dtype)
    negative_sum = negative_tokens.sum()
    n_tokens = mask.sum().float()
    divisor = n_tokens.clamp(min=1.0) if reduction == "mean" else torch.ones_like(n_tokens)
    nll_pos = positive_sum / divisor
    ul_neg = negative_sum / divisor
    loss = nll_pos + neg_weight * ul_neg

    mean_token_lp = sequence_logprob(gather_labels(log_probs, labels), mask, normalise=True)
    parts = {"nll_pos": nll_pos.detach(), "ul_neg": ul_neg.detach(), "n_tokens": n_tokens}
    parts |= ranking_diagnostics(mean_token_lp, is_positive, group_ids, present_rows(labels))
    return LossOutput(loss, parts)
