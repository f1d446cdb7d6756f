"""DPO with reference log-probs computed once before training == DPO against a frozen copy run at every step.

The old recipe deep-copied the starting model and ran the copy (eval mode) on every micro-batch; the
new one runs the starting model once over the training micro-batches (same collation, so the same
padding) and carries ``log π_ref`` of each (doc_id, cand_id) in the batches. Both give the reference
in fp32 and reduce it the same way, so losses and gradients agree to float-summation noise: atol 1e-6
on values of order 1 (fp32 carries ~7 digits; a BLAS kernel may sum in another order for another
memory alignment). Measured on CPU: bitwise equal.
"""

import copy
import inspect

import pytest
import torch
from accelerate import Accelerator

from consum.contrast.collator import ContrastCollator, group_batches
from consum.losses import compute_loss
from consum.losses.logprobs import token_logprobs
from consum.models import build_tiny_bart, load_tokenizer
from consum.training.conseq import (
    conseq_micro_step,
    forward_logits,
    loss_options,
    precompute_reference,
    tokenize_groups,
)
from consum.training.loop import TrainData

pytestmark = pytest.mark.integration

GROUPS = [
    {"doc_id": f"d{i}", "document": f"Team {a} beat team {b} {x}-{y} in {city} on Sunday.", "targets": [
        {"cand_id": "ref", "role": "pos", "text": f"{a} beat {b} {x}-{y} in {city}."},
        {"cand_id": "c1", "role": "neg", "text": f"{b} beat {a} in {city} on Sunday."},
        {"cand_id": "c2", "role": "neg", "text": f"{a} won {y}-{x}."},
    ][: 2 + i % 2]}
    for i, (a, b, x, y, city) in enumerate([
        ("Alpha", "Beta", 3, 1, "Paris"), ("Gamma", "Delta", 2, 0, "Lyon"), ("Omega", "Sigma", 4, 2, "Rome"),
        ("Kappa", "Theta", 1, 0, "Oslo"), ("Beta", "Omega", 5, 3, "Lima"),
    ])
]
PAD_TOKENS = 140  # token budget: several micro-batches of 1-2 documents, with padding inside


def old_dpo_step(loss_cfg, pad_id, start_id, reference_model):
    """The removed per-step reference: a frozen copy's forward pass on every micro-batch."""
    options = loss_options(loss_cfg)

    def step(model, batch):
        logits = forward_logits(model, batch, pad_id, start_id)
        with torch.no_grad():
            ref_logits = forward_logits(reference_model, batch, pad_id, start_id)
            reference = token_logprobs(ref_logits, batch["labels"])
        out = compute_loss("dpo", logits, batch["labels"], batch["is_positive"], batch["group_ids"],
                           reference_token_logprobs=reference, **options)
        return out.loss, {k: v.detach() for k, v in out.parts.items()}

    return step


def train(tokenizer, loss_cfg, precomputed: bool):
    """Three SGD updates, one micro-batch each; per update the loss, its parts and the gradients."""
    model = build_tiny_bart(tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                            ffn_dim=64, seed=0)
    pad_id, start_id = tokenizer.pad_token_id, model.config.decoder_start_token_id
    examples = tokenize_groups(tokenizer, GROUPS, 64, 32)
    lengths = [(len(e["input_ids"]), [len(t["ids"]) for t in e["targets"]]) for e in examples]
    collator = ContrastCollator(pad_token_id=pad_id)
    data = TrainData(examples, group_batches(lengths, PAD_TOKENS), [sum(t) for _, t in lengths], collator)
    assert len(data.batches) >= 3 and any(len(b) > 1 for b in data.batches)
    if precomputed:
        reference = precompute_reference(model, data, collator, Accelerator(cpu=True), pad_id, start_id,
                                         loss_cfg["normalise"])
        assert set(reference) == {(g["doc_id"], t["cand_id"]) for g in GROUPS for t in g["targets"]}
        collator = ContrastCollator(pad_token_id=pad_id, reference_logprobs=reference)
        step = conseq_micro_step(loss_cfg, pad_id, start_id, world_size=1, update_freq=1)
    else:
        step = old_dpo_step(loss_cfg, pad_id, start_id, copy.deepcopy(model).eval().requires_grad_(False))
    model.train()  # dropout on in the policy, as in training; the same seed gives both runs the same masks
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    history = []
    for indices in data.batches[:3]:
        torch.manual_seed(1)
        loss, stats = step(model, collator([examples[i] for i in indices]))
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        history.append((loss.item(), {k: v.item() for k, v in stats.items() if k != "weight"}, grads))
        optimizer.step()
        optimizer.zero_grad()
    return history


@pytest.mark.parametrize("normalise", [False, True])
def test_precomputed_reference_equals_per_step_reference_model(tiny_tokenizer_dir, normalise):
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    loss_cfg = {"name": "dpo", "beta": 0.5, "normalise": normalise, "nll_weight": 0.1, "label_smoothing": 0.1}
    old = train(tokenizer, loss_cfg, precomputed=False)
    new = train(tokenizer, loss_cfg, precomputed=True)
    for update, ((loss_a, parts_a, grads_a), (loss_b, parts_b, grads_b)) in enumerate(zip(old, new)):
        assert loss_a == pytest.approx(loss_b, abs=1e-6), update
        assert parts_a.keys() <= parts_b.keys()
        for key in parts_a:
            assert parts_a[key] == pytest.approx(parts_b[key], abs=1e-6), (update, key)
        assert grads_a.keys() == grads_b.keys()
        for name in grads_a:
            torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6, rtol=1e-5, msg=name)
    assert old[2][1]["reward_margin"] != 0.0  # the policy moved away from the reference: the test has teeth


def test_the_micro_step_runs_no_reference_model():
    assert list(inspect.signature(conseq_micro_step).parameters) == [
        "loss_cfg", "pad_id", "start_id", "world_size", "update_freq"
    ]
    step = conseq_micro_step({"name": "dpo", "beta": 0.1}, 1, 2, world_size=1, update_freq=1)
    batch = ContrastCollator(pad_token_id=1)([{"doc_id": "a", "input_ids": [0, 5, 2], "targets": [
        {"ids": [0, 6, 2], "role": "pos", "cand_id": "ref"}]}])
    with pytest.raises(ValueError, match="reference_logprobs"):
        step(lambda **kw: type("Out", (), {"logits": torch.zeros(1, 3, 8)})(), batch)
