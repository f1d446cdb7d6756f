"""A tiny random QAGen shared by the QUALS tests."""

import pytest
import torch

from consum.models import add_separator_token, build_tiny_bart, train_bpe_tokenizer
from tests.conftest import TOY_TEXTS


@pytest.fixture(scope="module")
def qagen():
    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    sep = add_separator_token(tokenizer, "<sep>")
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64, dropout=0.0
    )
    with torch.no_grad():
        model.final_logits_bias[0, sep] = 2.0  # make separators common in random output
    return model.eval(), tokenizer, sep
