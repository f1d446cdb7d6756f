"""Load seq2seq models and tokenizers by hub name or local path; build tiny ones for tests and demos."""

from consum.models.loading import load_model, load_tokenizer, model_for_training
from consum.models.tiny import build_tiny_bart
from consum.models.tokenizer import SPECIAL_TOKENS, add_separator_token, train_bpe_tokenizer

__all__ = [
    "SPECIAL_TOKENS",
    "add_separator_token",
    "build_tiny_bart",
    "load_model",
    "load_tokenizer",
    "model_for_training",
    "train_bpe_tokenizer",
]
