"""Beam search / greedy decoding of summaries through HF ``generate`` (deterministic, so batch
composition does not change results), length-sorted batches with the original order restored."""

from __future__ import annotations

from collections.abc import Sequence

import torch


@torch.inference_mode()
def beam_generate(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    num_beams: int,
    max_len: int,
    min_len: int,
    max_source_len: int,
    batch_size: int = 16,
    lenpen: float = 1.0,
    num_return_sequences: int = 1,
) -> list[list[str]]:
    """Return, per text, ``num_return_sequences`` decoded summaries (best first)."""
    device = next(model.parameters()).device
    encoded = tokenizer(
        list(texts), add_special_tokens=True, truncation=True, max_length=max_source_len
    )["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    results: list[list[str]] = [[] for _ in texts]
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt").to(device)
        out = model.generate(
            **batch,
            num_beams=num_beams,
            num_return_sequences=num_return_sequences,
            max_new_tokens=max_len + 1,  # + </s>, as fairseq's max_len_b counts tokens before it
            min_new_tokens=min_len,
            length_penalty=lenpen,
            early_stopping=True,
            do_sample=False,
        )
        texts_out = tokenizer.batch_decode(out, skip_special_tokens=True)
        for j, i in enumerate(idx):
            results[i] = [
                t.strip() for t in texts_out[j * num_return_sequences : (j + 1) * num_return_sequences]
            ]
    return results
