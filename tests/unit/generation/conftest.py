"""A tiny random BART (bos 0, pad 1, eos 2, decoder starts from eos) and a padded batch of sources."""

import pytest
import torch
from transformers import BartConfig, BartForConditionalGeneration

VOCAB = 80
PAD, EOS = 1, 2


def build_model(eos_bias: float) -> BartForConditionalGeneration:
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=VOCAB,
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        bos_token_id=0,
        pad_token_id=PAD,
        eos_token_id=EOS,
        decoder_start_token_id=EOS,
        forced_bos_token_id=None,
        forced_eos_token_id=EOS,
        # Untied and with a wide init, random weights give source-dependent, non-repetitive outputs.
        tie_word_embeddings=False,
        init_std=0.15,
    )
    model = BartForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.final_logits_bias[0, EOS] = eos_bias  # a likely eos gives hypotheses of varied lengths
    return model


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy machine they make each op slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return build_model(eos_bias=2.5)


@pytest.fixture(scope="module")
def sources():
    """Three right-padded sources of lengths 9, 5 and 7 (ids 3.., then eos, as a BART source ends)."""
    generator = torch.Generator().manual_seed(1)
    lengths = [9, 5, 7]
    input_ids = torch.full((len(lengths), max(lengths)), PAD, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        input_ids[row, : length - 1] = torch.randint(3, VOCAB, (length - 1,), generator=generator)
        input_ids[row, length - 1] = EOS
        attention_mask[row, :length] = 1
    return input_ids, attention_mask


def unpad(input_ids, attention_mask, row):
    """Source ``row`` alone, without padding, as a batch of one."""
    length = int(attention_mask[row].sum())
    return input_ids[row : row + 1, :length], attention_mask[row : row + 1, :length]
