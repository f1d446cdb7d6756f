"""ConSeq's unlikelihood aimed at the unsupported span of each negative (``loss=span_unlikelihood``).

The original (:mod:`consum.losses.unlikelihood`, spec §7.2) pushes down every token of an S- summary,
including the words it shares with a faithful summary ("The", the names copied correctly). Here the
unlikelihood term of a negative token is weighted by whether the token belongs to the summary's
unsupported span (``span_mask``: the answers of its worst QA pairs or the oracle's unsupported
mentions, see :mod:`consum.contrast.spans`): weight 1 inside, ``outside_weight`` elsewhere. The positive
term and the divisor are those of ``unlikelihood_loss``, so ``outside_weight = 1`` (or a mask covering
every token) gives exactly the original criterion.

Worked example (``test_span_unlikelihood_hand_computed_example`` checks these numbers): the example of
:mod:`consum.losses.unlikelihood`. V = 3, every position has p = (0.5, 0.25, 0.25), ε = 0.1; row 0 is a
positive with labels (0, 1, 0), row 1 a negative with labels (2, 0, pad) whose span mask covers only
its second token.

* ``L+ = 0.739357 + 1.363190 + 0.739357 = 2.841903`` as before (the positive's mask is ignored).
* Negative token terms as before: label 2 (outside the span) ``0.301198``, label 0 (inside) ``0.666116``.
  With ``outside_weight = 0``: ``L- = 0.666116``; with ``outside_weight = 0.5``:
  ``L- = 0.5·0.301198 + 0.666116 = 0.816715``.
* The divisor still counts every real token, 3 + 2 = 5: ``loss = (2.841903 + 0.666116) / 5 = 0.701604``
  (``outside_weight = 0``) or ``(2.841903 + 0.816715) / 5 = 0.731724`` (``outside_weight = 0.5``).
"""

from __future__ import annotations

import torch

from consum.losses.logprobs import target_mask
from consum.losses.output import LossOutput
from consum.losses.unlikelihood import weighted_unlikelihood_loss


def span_unlikelihood_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    *,
    span_mask: torch.Tensor,
    label_smoothing: float = 0.1,
    neg_weight: float = 1.0,
    outside_weight: float = 0.0,
    reduction: str = "mean",
) -> LossOutput:
    """``(L+ + neg_weight·L-) / n_tokens`` with ``L-`` weighted token by token by ``span_mask``.

    ``L+`` and ``n_tokens`` are exactly those of :func:`consum.losses.unlikelihood_loss`.
    ``L- = Σ_{negative tokens} w_t·[(1-ε)(-log(1 - p(y_t))) + (ε/V) Σ_v -log(1 - p(v))]`` with
    ``w_t = 1`` where ``span_mask`` is True and ``outside_weight`` elsewhere.

    Args:
        logits, labels, is_positive, group_ids: the contrast batch (see :mod:`consum.losses`).
        span_mask: ``(N, T)`` bool, True on the tokens of a negative's unsupported span. Ignored on
            positive rows and on padding. A negative without a located span should come with an
            all-True row (the collator does that), which gives it the whole-summary term.
        label_smoothing: ε, applied to both terms as in the original.
        neg_weight: weight of the unlikelihood term.
        outside_weight: weight of the unlikelihood of negative tokens outside the span (0 = none).
        reduction: ``"mean"`` divides by ``n_tokens``; ``"sum"`` does not.

    Returns:
        ``LossOutput`` with parts ``nll_pos``, ``ul_neg`` (after the reduction, so
        ``loss = nll_pos + neg_weight·ul_neg``), ``n_tokens``, ``n_span_tokens`` (negative tokens inside
        the span) and the ranking diagnostics.
    """
    if span_mask.dtype != torch.bool or span_mask.shape != labels.shape:
        raise ValueError(f"span_mask must be a bool tensor shaped like labels {tuple(labels.shape)}, "
                         f"got {span_mask.dtype} {tuple(span_mask.shape)}")
    weights = torch.where(span_mask, 1.0, outside_weight)
    out = weighted_unlikelihood_loss(logits, labels, is_positive, group_ids, weights,
                                     label_smoothing=label_smoothing, neg_weight=neg_weight,
                                     reduction=reduction)
    is_negative = ~is_positive
    n_span_tokens = (span_mask[is_negative] & target_mask(labels)[is_negative]).sum().float()
    return LossOutput(out.loss, {**out.parts, "n_span_tokens": n_span_tokens})
