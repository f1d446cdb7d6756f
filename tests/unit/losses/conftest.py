"""A small random contrast batch with every awkward case the losses must handle."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import torch

from consum.losses import LossOutput, compute_loss


@dataclass
class ContrastBatch:
    logits: torch.Tensor
    labels: torch.Tensor
    is_positive: torch.Tensor
    group_ids: torch.Tensor
    reference_token_logprobs: torch.Tensor
    span_mask: torch.Tensor

    def take(self, rows: list[int]) -> ContrastBatch:
        index = torch.tensor(rows, dtype=torch.long)
        return ContrastBatch(
            self.logits[index],
            self.labels[index],
            self.is_positive[index],
            self.group_ids[index],
            self.reference_token_logprobs[index],
            self.span_mask[index],
        )

    def with_logits(self, logits: torch.Tensor) -> ContrastBatch:
        return replace(self, logits=logits)

    def loss(self, name: str, **options) -> LossOutput:
        if name == "dpo":
            options.setdefault("reference_token_logprobs", self.reference_token_logprobs)
        if name == "span_unlikelihood":
            options.setdefault("span_mask", self.span_mask)
        return compute_loss(name, self.logits, self.labels, self.is_positive, self.group_ids, **options)


def build_batch(n_steps: int = 5, vocab: int = 6, seed: int = 0) -> ContrastBatch:
    """Rows (document, role, length): doc 0 has 1 pos + 2 negs, doc 1 has 1 neg + 1 pos + 1 fully
    padded pos, doc 2 only a negative, doc 3 only a positive."""
    layout = [
        (0, True, 4),
        (0, False, 3),
        (0, False, 5),
        (1, False, 2),
        (1, True, 5),
        (1, True, 0),
        (2, False, 3),
        (3, True, 4),
    ]
    generator = torch.Generator().manual_seed(seed)
    n_rows = len(layout)
    logits = 2.0 * torch.randn(n_rows, n_steps, vocab, generator=generator)
    labels = torch.randint(0, vocab, (n_rows, n_steps), generator=generator)
    lengths = torch.tensor([length for _, _, length in layout])
    padding = torch.arange(n_steps).unsqueeze(0) >= lengths.unsqueeze(1)
    labels[padding] = -100
    reference = -3.0 * torch.rand(n_rows, n_steps, generator=generator)
    reference[padding] = 0.0
    span_mask = torch.rand(n_rows, n_steps, generator=generator) < 0.5  # on padding too: must be ignored
    return ContrastBatch(
        logits=logits,
        labels=labels,
        is_positive=torch.tensor([is_pos for _, is_pos, _ in layout]),
        group_ids=torch.tensor([doc for doc, _, _ in layout]),
        reference_token_logprobs=reference,
        span_mask=span_mask,
    )


@pytest.fixture
def batch() -> ContrastBatch:
    return build_batch()


@pytest.fixture
def make_batch():
    """``make_batch(seed=...)``: the same layout with other random logits and labels."""
    return build_batch
