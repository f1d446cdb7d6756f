"""ConSeq losses: pure functions from a contrast batch to a :class:`LossOutput`. Torch only.

Every loss has the signature ``loss(logits, labels, is_positive, group_ids, **options)``:

* ``logits`` ``(N, T, V)``: decoder logits of N target sequences (the positives and negatives of
  several documents stacked), any float dtype; losses compute in fp32. ``logits[n, t]`` predicts
  ``labels[n, t]`` (Hugging Face convention, no shift).
* ``labels`` ``(N, T)`` long, -100 on padding. A fully padded row is ignored everywhere.
* ``is_positive`` ``(N,)`` bool: True for S+ rows, False for S- rows.
* ``group_ids`` ``(N,)`` long: the row's document within the batch. (pos, neg) pairs are formed only
  within a document.

``span_unlikelihood`` also takes ``span_mask`` ``(N, T)`` bool (the collator's ``span_mask``: the
tokens of each negative's unsupported span).

:class:`consum.contrast.collator.ContrastCollator` produces exactly these tensors. Adding a loss: write
a function with that signature returning ``LossOutput`` (its terms plus ``ranking_diagnostics`` in
``parts``), register it in ``LOSSES``, and give it the tests of ``tests/unit/losses``.
"""

from collections.abc import Callable

import torch

from consum.losses.dpo import dpo_loss
from consum.losses.logprobs import IGNORE_INDEX, log1mexp, sequence_logprob, token_logprobs
from consum.losses.margin_rank import margin_rank_loss
from consum.losses.output import LossOutput, ranking_diagnostics
from consum.losses.sequence import sequence_loss
from consum.losses.span_unlikelihood import span_unlikelihood_loss
from consum.losses.unlikelihood import unlikelihood_loss

LOSSES: dict[str, Callable[..., LossOutput]] = {
    "unlikelihood": unlikelihood_loss,  # the original ConSeq criterion (default)
    "sequence": sequence_loss,
    "margin_rank": margin_rank_loss,
    "dpo": dpo_loss,
    "span_unlikelihood": span_unlikelihood_loss,  # needs span_mask (select_contrast spans.source)
}


def compute_loss(
    name: str,
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_positive: torch.Tensor,
    group_ids: torch.Tensor,
    **options,
) -> LossOutput:
    """Call the loss registered as ``name`` with the batch tensors and its keyword ``options``."""
    try:
        loss_fn = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; known losses: {', '.join(sorted(LOSSES))}") from None
    return loss_fn(logits, labels, is_positive, group_ids, **options)


__all__ = [
    "IGNORE_INDEX",
    "LOSSES",
    "LossOutput",
    "compute_loss",
    "dpo_loss",
    "log1mexp",
    "margin_rank_loss",
    "ranking_diagnostics",
    "sequence_logprob",
    "sequence_loss",
    "span_unlikelihood_loss",
    "token_logprobs",
    "unlikelihood_loss",
]
