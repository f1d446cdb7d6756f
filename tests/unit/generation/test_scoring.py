"""Teacher forcing: targets sharing sources (cross-attention projected once per source) == each on its own."""

import pytest
import torch
from conftest import EOS, PAD, VOCAB

from consum.generation import teacher_forced_logprobs
from consum.generation._decoding import encode


def test_shared_sources_equal_one_source_per_row(model, sources):
    input_ids, attention_mask = sources  # three right-padded sources
    generator = torch.Generator().manual_seed(3)
    lengths = [5, 1, 7, 3, 6]  # right-padded targets, one of a single token
    source_rows = torch.tensor([2, 0, 0, 1, 2])
    targets = torch.full((len(lengths), max(lengths)), PAD)
    target_mask = torch.zeros_like(targets)
    for row, length in enumerate(lengths):
        targets[row, : length - 1] = torch.randint(3, VOCAB, (length - 1,), generator=generator)
        targets[row, length - 1] = EOS
        target_mask[row, :length] = 1
    expected = teacher_forced_logprobs(
        model, input_ids[source_rows], attention_mask[source_rows], targets, target_mask
    )
    with torch.inference_mode():
        encoder_outputs = encode(model, input_ids, attention_mask)
    shared = teacher_forced_logprobs(
        model,
        None,
        attention_mask,
        targets,
        target_mask,
        encoder_outputs=encoder_outputs,
        source_rows=source_rows,
    )
    assert shared.shape == expected.shape
    assert shared.tolist() == [pytest.approx(row, abs=1e-5) for row in expected.tolist()]
    assert (shared[target_mask == 0] == 0).all()
    # The sources are not interchangeable, so a wrong row mapping would show.
    swapped = teacher_forced_logprobs(
        model,
        None,
        attention_mask,
        targets,
        target_mask,
        encoder_outputs=encoder_outputs,
        source_rows=source_rows.flip(0),
    )
    assert not torch.allclose(swapped, expected, atol=1e-3)
