"""Label-smoothed token NLL summed over target tokens: the MLE recipe's loss (fairseq 0.9)."""

from __future__ import annotations

import torch

from consum.losses.logprobs import gather_labels, label_smoothed_token_loss, target_mask


def label_smoothed_nll_sum(
    logits: torch.Tensor, labels: torch.Tensor, epsilon: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (loss_sum, nll_sum, n_tokens) over non-padding (-100) positions.

    loss_t = (1 − ε)·(−log p(y_t)) + (ε/V)·Σ_v(−log p(v)), log-softmax in fp32.
    Example: V=2, p = (0.5, 0.5), y=0, ε=0.1: loss = 0.9·ln2 + 0.05·2·ln2 = ln2.
    """
    lprobs = torch.log_softmax(logits.float(), dim=-1)
    loss = label_smoothed_token_loss(lprobs, labels, epsilon)
    nll = -gather_labels(lprobs, labels)
    return loss.sum(), nll.sum(), target_mask(labels).sum()
