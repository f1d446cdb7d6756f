"""ConSeq as the paper writes it: sequence-level likelihood on S+, sequence-level unlikelihood on S-.

``p(y|x)`` here is the length-normalised sequence probability ``exp(mean_t log p(y_t | y_<t, x))``;
the raw product would make ``log(1 - p)`` ≈ 0 for any summary longer than a few tokens.

Worked example (checked by ``test_hand_computed_example``): V = 3, every position has
p = (0.5, 0.25, 0.25). Row 0 positive, labels (0, 1, 0): mean log-prob ``ln(1/16)/3 = -0.924196``.
Row 1 negative, labels (2, 0, pad): mean log-prob ``ln(1/8)/2 = -1.039721``, so
``p = 8^{-1/2} = 0.353553`` and ``-log(1 - p) = 0.436265``.
``loss = (0.924196 + 0.436265) / 2 rows = 0.680230``.
"""

from __future__ import annotations

import torch

from consum.losses.batch import check_batch, present_rows
from consum.losses.logprobs import log1mexp, sequence_logprob, target_mask, token_logprobs
from consum.losses.output import LossOutput, ranking_diagnostics


def sequence_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    *,
    neg_weight: float = 1.0,
) -> LossOutput:
    """``mean over present rows of [-log p(s+|x)] or [-neg_weight·log(1 - p(s-|x))]``.

    Args:
        logits: ``(N, T, V)``, any float dtype (computed in fp32).
        labels: ``(N, T)``, -100 on padding; fully padded rows are ignored.
        is_positive: ``(N,)`` bool, True for S+ rows.
        group_ids: ``(N,)`` document index of each row (used only by the diagnostics).
        neg_weight: weight of the unlikelihood rows.

    Returns:
        ``LossOutput`` with parts ``nll_pos`` and ``ul_neg`` (each summed over its rows and divided by
        the number of present rows, so ``loss = nll_pos + neg_weight·ul_neg``) and the diagnostics.
    """
    check_batch(logits, labels, is_positive, group_ids)
    mask = target_mask(labels)
    present = present_rows(labels)
    mean_token_lp = sequence_logprob(token_logprobs(logits, labels), mask, normalise=True)
    positive = is_positive & present
    negative = ~is_positive & present
    zeros = torch.zeros_like(mean_token_lp)
    n_rows = present.sum().clamp(min=1)
    nll_pos = torch.where(positive, -mean_token_lp, zeros).sum() / n_rows
    ul_neg = torch.where(negative, -log1mexp(mean_token_lp), zeros).sum() / n_rows
    loss = nll_pos + neg_weight * ul_neg
    parts = {"nll_pos": nll_pos.detach(), "ul_neg": ul_neg.detach()}
    parts |= ranking_diagnostics(mean_token_lp, is_positive, group_ids, present)
    return LossOutput(loss, parts)
