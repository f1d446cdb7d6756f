"""batch 4 x accum 1 == batch 2 x accum 2: same loss and gradients (per-token normalisation)."""

import pytest
import torch
from accelerate import Accelerator

from consum.models import build_tiny_bart, load_tokenizer
from consum.training.batching import rank_schedule
from consum.training.common import encode_summaries, make_loader
from consum.training.mle import mle_micro_step, pair_data
from tests.compare import FLOAT_REL

pytestmark = pytest.mark.integration

ROWS = [
    {"doc_id": "a", "document": "Team Alpha beat team Beta 3-1 in Paris on Sunday.", "summary": "Alpha won."},
    {"doc_id": "b", "document": "Team Gamma beat team Delta 2-0 in Lyon.",
     "summary": "Gamma beat Delta in Lyon on Sunday."},
    {"doc_id": "c", "document": "Team Omega lost.", "summary": "Omega lost to Sigma 4-2."},
    {"doc_id": "d", "document": "Team Kappa beat team Theta 1-0 in Oslo, and Dara Quinn scored twice.",
     "summary": "Kappa won 1-0."},
]


def update_gradients(tokenizer, max_examples, update_freq):
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64, dropout=0.0,
        seed=0,
    )
    accelerator = Accelerator(cpu=True)
    pairs, _ = encode_summaries(tokenizer, ROWS, 64, 32)
    data = pair_data(
        pairs, {"max_tokens": 10_000, "max_examples_per_batch": max_examples}, tokenizer.pad_token_id
    )
    schedule, _ = rank_schedule(
        data.batches, data.target_tokens, epoch=0, seed=0, update_freq=update_freq, world_size=1, rank=0
    )
    assert len({m.update_index for m in schedule}) == 1  # one update in both layouts
    step = mle_micro_step(0.1, tokenizer.pad_token_id, 2, world_size=1)
    total = 0.0
    for batch in make_loader(pairs, schedule, data.collate):
        loss, stats = step(model, batch)
        accelerator.backward(loss)
        total += stats["loss"].item()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return total / batch["update_target_tokens"], grads, len(schedule)


def test_batch4_accum1_equals_batch2_accum2(tiny_tokenizer_dir):
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    loss_a, grads_a, n_micro_a = update_gradients(tokenizer, max_examples=4, update_freq=1)
    loss_b, grads_b, n_micro_b = update_gradients(tokenizer, max_examples=2, update_freq=2)
    assert (n_micro_a, n_micro_b) == (1, 2)
    # batch shape changes the float summation order (tests/compare.py): equal up to fp32 noise
    assert loss_a == pytest.approx(loss_b, rel=FLOAT_REL)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-6, rtol=1e-4), name
