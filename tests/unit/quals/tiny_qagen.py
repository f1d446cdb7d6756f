"""A tiny random QAGen saved as a model dir, as the command-line tests load one."""

from pathlib import Path

import torch

from consum.models import add_separator_token, build_tiny_bart, train_bpe_tokenizer
from tests.conftest import TOY_TEXTS


def save_tiny_qagen(path: Path) -> Path:
    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    sep = add_separator_token(tokenizer, "<sep>")
    # 96 positions: a document of a few toy texts is cut, as a long article is at 1024 with BART
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64,
        dropout=0.0, max_position_embeddings=96,
    )
    with torch.no_grad():
        model.final_logits_bias[0, sep] = 2.0  # make separators common in random output
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def fix_generated_pairs(monkeypatch) -> None:
    """Every non-empty summary naming Alpha gets one QA pair ("Who won?" -> "Alpha") with summary-side
    log-probs of -1: a random QAGen keeps no pair of its own, and QUALS then varies with the document only.
    Other summaries get no pair."""
    from consum.quals.filtering import QACandidate
    from consum.quals.scorer import GeneratedQA, QualsScorer

    def generate(scorer, summaries):
        pair = QACandidate("Who won?", "Alpha", [5, scorer.sep_id, 6, 2], [-1.0] * 4, [-1.0] * 4, 0)
        return [GeneratedQA(1, [pair] if "Alpha" in s else []) for s in summaries]

    monkeypatch.setattr(QualsScorer, "generate", generate)
