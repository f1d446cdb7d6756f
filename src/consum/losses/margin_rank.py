"""A BRIO-style pairwise margin ranking loss over (S+, S-) pairs of the same document, plus token NLL.

Worked example (checked by ``test_hand_computed_example``): V = 3, every position has
p = (0.5, 0.25, 0.25), margin 0.5, ε = 0.1, nll_weight 1. Row 0 positive, labels (0, 1, 0), score
``s+ = ln(1/16)/3 = -0.924196``; row 1 negative of the same document, labels (2, 0, pad),
``s- = ln(1/8)/2 = -1.039721``. Pair term ``max(0, 0.5 - (s+ - s-)) = 0.5 - 0.115525 = 0.384475``.
NLL term: the label-smoothed positive tokens ``0.739357 + 1.363190 + 0.739357 = 2.841903`` over 3
tokens ``= 0.947301``. ``loss = 0.384475 + 0.947301 = 1.331777``.
"""

from __future__ import annotations

import torch

from consum.losses.batch import check_batch, masked_mean, pair_mask, pairwise_difference, present_rows
from consum.losses.logprobs import gather_labels, label_smoothed_token_loss, sequence_logprob, target_mask
from consum.losses.output import LossOutput, ranking_diagnostics


def margin_rank_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    *,
    margin: float = 0.1,
    length_penalty: float = 1.0,
    nll_weight: float = 1.0,
    label_smoothing: float = 0.1,
) -> LossOutput:
    """``mean_pairs max(0, margin - (s(pos) - s(neg))) + nll_weight · NLL(S+)``.

    ``s`` is the sequence log-prob divided by ``length ** length_penalty``. The pair mean runs over
    all (positive, negative) pairs of the same document in the batch (so a document with more pairs
    weighs more); with no pairs the term is 0. The NLL is label-smoothed (fairseq 0.9 form) and
    averaged over positive tokens.

    Args:
        logits: ``(N, T, V)``, any float dtype (computed in fp32).
        labels: ``(N, T)``, -100 on padding; fully padded rows are ignored.
        is_positive: ``(N,)`` bool, True for S+ rows.
        group_ids: ``(N,)`` document index of each row; pairs never cross documents.
        margin: required gap between ``s(pos)`` and ``s(neg)``, in nats per token at
            ``length_penalty = 1``.
        length_penalty: exponent of the length in the score's denominator.
        nll_weight: weight of the positive-token NLL.
        label_smoothing: ε of the NLL.

    Returns:
        ``LossOutput`` with parts ``rank`` and ``nll_pos`` (``loss = rank + nll_weight·nll_pos``)
        and the diagnostics.
    """
    check_batch(logits, labels, is_positive, group_ids)
    mask = target_mask(labels)
    present = present_rows(labels)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    token_lp = gather_labels(log_probs, labels)
    scores = sequence_logprob(token_lp, mask, normalise=True, length_penalty=length_penalty)
    hinge = (margin - pairwise_difference(scores)).clamp(min=0.0)
    rank = masked_mean(hinge, pair_mask(is_positive, group_ids, present))

    positive_token_loss = label_smoothed_token_loss(
        log_probs[is_positive], labels[is_positive], label_smoothing
    )
    nll_pos = masked_mean(positive_token_loss, mask[is_positive])
    loss = rank + nll_weight * nll_pos

    mean_token_lp = scores if length_penalty == 1.0 else sequence_logprob(token_lp, mask, normalise=True)
    parts = {"rank": rank.detach(), "nll_pos": nll_pos.detach()}
    parts |= ranking_diagnostics(mean_token_lp, is_positive, group_ids, present)
    return LossOutput(loss, parts)
