"""Direct preference optimisation (Rafailov et al., 2023) over (S+, S-) pairs of the same document.

Worked example (checked by ``test_hand_computed_example``): V = 3, every position has
p = (0.5, 0.25, 0.25), β = 0.1, summed log-probs. Row 0 positive, labels (0, 1, 0):
``π+ = ln(1/16) = -2.772589``; row 1 negative, labels (2, 0, pad): ``π- = ln(1/8) = -2.079442``.
Reference sequence log-probs ``ref+ = -3``, ``ref- = -2``. Then
``(π+ - ref+) - (π- - ref-) = 0.227411 + 0.079442 = 0.306853`` and
``loss = -log σ(0.1 · 0.306853) = log(1 + e^{-0.0306853}) = 0.677922``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from consum.losses.batch import check_batch, masked_mean, pair_mask, pairwise_difference, present_rows
from consum.losses.logprobs import gather_labels, label_smoothed_token_loss, sequence_logprob, target_mask
from consum.losses.output import LossOutput, ranking_diagnostics


def dpo_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    *,
    reference_sequence_logprobs: torch.Tensor | None = None,
    reference_token_logprobs: torch.Tensor | None = None,
    beta: float = 0.1,
    normalise: bool = False,
    nll_weight: float = 0.0,
    label_smoothing: float = 0.0,
) -> LossOutput:
    """``mean_pairs -log σ(β[(π(pos) - ref(pos)) - (π(neg) - ref(neg))]) + nll_weight · NLL(S+)``.

    ``π`` and ``ref`` are sequence log-probs of the policy and of the frozen reference model: summed
    over tokens, or the per-token mean with ``normalise=True``. Give the reference as exactly one of

    * ``reference_token_logprobs`` ``(N, T)``: per-token log-probs of the labels under the reference
      model; they are reduced here with the same mask and ``normalise`` as the policy (safest);
    * ``reference_sequence_logprobs`` ``(N,)``: already reduced, which must match ``normalise``.

    The reference is detached. Pairs never cross documents; with no pairs the DPO term is 0.

    Args:
        logits: ``(N, T, V)`` policy logits, any float dtype (computed in fp32).
        labels: ``(N, T)``, -100 on padding; fully padded rows are ignored.
        is_positive: ``(N,)`` bool, True for S+ rows.
        group_ids: ``(N,)`` document index of each row.
        beta: inverse temperature β of the implicit reward.
        normalise: length-normalise the sequence log-probs (off in standard DPO).
        nll_weight: weight of an extra token NLL on positives (0 = plain DPO).
        label_smoothing: ε of that NLL.

    Returns:
        ``LossOutput`` with parts ``dpo`` and ``nll_pos`` (``loss = dpo + nll_weight·nll_pos``),
        ``reward_pos`` / ``reward_neg`` (mean ``β(π - ref)`` over present rows), ``reward_margin`` and
        ``reward_acc`` (over pairs), and the diagnostics.
    """
    check_batch(logits, labels, is_positive, group_ids)
    if (reference_sequence_logprobs is None) == (reference_token_logprobs is None):
        raise ValueError("give exactly one of reference_sequence_logprobs and reference_token_logprobs")
    mask = target_mask(labels)
    present = present_rows(labels)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    token_lp = gather_labels(log_probs, labels)
    policy = sequence_logprob(token_lp, mask, normalise=normalise)
    if reference_token_logprobs is not None:
        reference = sequence_logprob(reference_token_logprobs.detach().float(), mask, normalise=normalise)
    else:
        reference = reference_sequence_logprobs.detach().float()
    rewards = beta * (policy - reference)
    reward_differences = pairwise_difference(rewards)
    pairs = pair_mask(is_positive, group_ids, present)
    dpo = masked_mean(-F.logsigmoid(reward_differences), pairs)

    positive_token_loss = label_smoothed_token_loss(
        log_probs[is_positive], labels[is_positive], label_smoothing
    )
    nll_pos = masked_mean(positive_token_loss, mask[is_positive])
    loss = dpo + nll_weight * nll_pos

    mean_token_lp = policy if normalise else sequence_logprob(token_lp, mask, normalise=True)
    rewards = rewards.detach()
    reward_differences = reward_differences.detach()
    parts = {
        "dpo": dpo.detach(),
        "nll_pos": nll_pos.detach(),
        "reward_pos": masked_mean(rewards, is_positive & present),
        "reward_neg": masked_mean(rewards, ~is_positive & present),
        "reward_margin": masked_mean(reward_differences, pairs),
        "reward_acc": masked_mean((reward_differences > 0).float(), pairs),
    }
    parts |= ranking_diagnostics(mean_token_lp, is_positive, group_ids, present)
    return LossOutput(loss, parts)
