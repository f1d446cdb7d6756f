"""What every loss returns, and the ranking diagnostics every loss logs."""

from __future__ import annotations

from typing import NamedTuple

import torch

from consum.losses.batch import masked_mean, pair_mask, pairwise_difference


class LossOutput(NamedTuple):
    """``loss``: the scalar to back-propagate. ``parts``: detached fp32 scalars for logging.

    Every loss puts its own terms in ``parts`` (so that ``loss`` can be re-added from them) plus the
    entries of :func:`ranking_diagnostics`.
    """

    loss: torch.Tensor
    parts: dict[str, torch.Tensor]


def ranking_diagnostics(
    mean_token_lp: torch.Tensor, is_positive: torch.Tensor, group_ids: torch.Tensor, present: torch.Tensor
) -> dict[str, torch.Tensor]:
    """How well the model separates S+ from S-, from length-normalised sequence log-probs ``(N,)``.

    * ``seq_logprob_pos`` / ``seq_logprob_neg``: mean over present positive / negative rows.
    * ``margin``: mean over (pos, neg) pairs of the same document of ``s(pos) - s(neg)``.
    * ``rank_acc``: share of those pairs with ``s(pos) > s(neg)``.
    * ``n_pos``, ``n_neg``, ``n_pairs``: counts. Means over an empty set are 0.0.
    """
    scores = mean_token_lp.detach().float()
    positive = is_positive & present
    negative = ~is_positive & present
    pairs = pair_mask(is_positive, group_ids, present)
    difference = pairwise_difference(scores)
    return {
        "seq_logprob_pos": masked_mean(scores, positive),
        "seq_logprob_neg": masked_mean(scores, negative),
        "margin": masked_mean(difference, pairs),
        "rank_acc": masked_mean((difference > 0).float(), pairs),
        "n_pos": positive.sum().float(),
        "n_neg": negative.sum().float(),
        "n_pairs": pairs.sum().float(),
    }
