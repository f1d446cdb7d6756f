"""Label-smoothed token NLL (fairseq 0.9 ``label_smoothed_nll_loss``), summed over target tokens."""

from __future__ import annotations

import torch


def label_smoothed_nll_sum(
    logits: torch.Tensor, labels: torch.Tensor, epsilon: float, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (loss_sum, nll_sum, n_tokens) over non-ignored positions.

    loss_t = (1 − ε)·(−log p(y_t)) + (ε/V)·Σ_v(−log p(v)), log-softmax in fp32.
    Example: V=2, one token with p = (0.5, 0.5), y=0, ε=0.1: nll = log 2,
    smooth = 2·log 2, loss = 0.9·log 2 + 0.05·2·log 2 = log 2.
    """
    lprobs = torch.log_softmax(logits.float(), dim=-1)
    mask = labels != ignore_index
    safe_labels = labels.masked_fill(~mask, 0)
    nll = -lprobs.gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)
    smooth = -lprobs.sum(-1)
    vocab = lprobs.size(-1)
    loss = (1.0 - epsilon) * nll + (epsilon / vocab) * smooth
    mask_f = mask.to(loss.dtype)
    return (loss * mask_f).sum(), (nll * mask_f).sum(), mask.sum()
