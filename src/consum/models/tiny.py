"""Tiny BART models built from ``BartConfig`` (random init): the models of tests and the CPU demo."""

from __future__ import annotations

from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerBase


def build_tiny_bart(
    tokenizer: PreTrainedTokenizerBase,
    *,
    d_model: int = 128,
    encoder_layers: int = 2,
    decoder_layers: int = 2,
    attention_heads: int = 4,
    ffn_dim: int = 512,
    max_position_embeddings: int = 1024,
    dropout: float = 0.1,
    seed: int = 0,
) -> BartForConditionalGeneration:
    import torch

    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
        encoder_attention_heads=attention_heads,
        decoder_attention_heads=attention_heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        max_position_embeddings=max_position_embeddings,
        dropout=dropout,
        attention_dropout=dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,  # BART/fairseq: the decoder starts from </s>
        forced_bos_token_id=None,
        forced_eos_token_id=tokenizer.eos_token_id,
        scale_embedding=False,
        tie_word_embeddings=True,
    )
    # A fixed init seed makes "same config, same seed" give the same model (resume, reproducibility).
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return BartForConditionalGeneration(config)
