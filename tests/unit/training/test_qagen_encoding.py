"""train-qagen's answer-conditioned examples (qagen_data.answer_conditioned), on a tiny tokenizer."""

import pytest

from consum.models import add_separator_token, load_tokenizer
from consum.training.qagen import encode_qa

EXAMPLES = [
    {"qa_id": f"q{i}", "context": "Team Alpha beat team Beta 3-1 in Paris on Sunday.",
     "question": "Who won?", "answer": "Team Alpha" if i % 2 else "Paris"}
    for i in range(200)
]


@pytest.fixture(scope="module")
def tokenizer_and_sep(tiny_tokenizer_dir):
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    return tokenizer, add_separator_token(tokenizer, "<sep>")


def test_a_seeded_share_of_sources_is_answer_sep_context(tokenizer_and_sep):
    tokenizer, sep = tokenizer_and_sep
    plain, dropped = encode_qa(tokenizer, EXAMPLES, sep, 64, 32)
    assert dropped["kept_answer_conditioned"] == 0
    mixed, dropped = encode_qa(tokenizer, EXAMPLES, sep, 64, 32, answer_conditioned=0.5, seed=3)
    n = dropped["kept_answer_conditioned"]
    assert 70 < n < 130  # a hash share of 200, not an exact count
    conditioned = [m for p, m in zip(plain, mixed) if m.source_ids != p.source_ids]
    assert len(conditioned) == n
    context = tokenizer(EXAMPLES[0]["context"])["input_ids"]
    for pair, example in zip(mixed, EXAMPLES):
        answer = tokenizer(example["answer"], add_special_tokens=False)["input_ids"]
        assert pair.target_ids == [*tokenizer("Who won?", add_special_tokens=False)["input_ids"], sep,
                                   *answer, tokenizer.eos_token_id]  # the target never changes
        if pair in conditioned:
            assert pair.source_ids == [tokenizer.bos_token_id, *answer, sep, *context[1:]]
    again, _ = encode_qa(tokenizer, EXAMPLES, sep, 64, 32, answer_conditioned=0.5, seed=3)
    assert [p.source_ids for p in again] == [p.source_ids for p in mixed]  # deterministic
    other, _ = encode_qa(tokenizer, EXAMPLES, sep, 64, 32, answer_conditioned=0.5, seed=4)
    assert [p.source_ids for p in other] != [p.source_ids for p in mixed]  # another seed, another share
    everything, dropped = encode_qa(tokenizer, EXAMPLES, sep, 64, 32, answer_conditioned=1.0)
    assert dropped["kept_answer_conditioned"] == 200


def test_the_reading_gap_is_zero_for_a_qagen_whose_encoder_says_nothing(tokenizer_and_sep):
    """A warm start collapsed so (its encoder's outputs one constant vector): train-qagen's validation
    must show it, as val/reading_gap = 0, where a QAGen that reads has a positive gap."""
    import torch

    from consum.models import build_tiny_bart
    from consum.training.qagen import context_nll

    tokenizer, _ = tokenizer_and_sep
    model = build_tiny_bart(tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                            ffn_dim=64, dropout=0.0).eval()
    examples = [{"context": f"Team {team} beat team Beta 3-1 in {city} on Sunday.", "question": "Who won?",
                 "answer": team} for team, city in [("Alpha", "Paris"), ("Gamma", "Lyon"), ("Omega", "Rome")]]
    norm = model.model.encoder.layers[-1].final_layer_norm
    with torch.no_grad():  # a louder cross-attention than a random init's, so the input shows in the output
        model.model.decoder.layers[0].encoder_attn.out_proj.weight.mul_(100.0)
    own, other = context_nll(model, tokenizer, examples, "<sep>", max_source_len=64)
    assert own > 0 and other > 0 and abs(other - own) > 1e-4
    with torch.no_grad():  # the collapse: the encoder's last norm outputs its bias whatever the input
        norm.weight.zero_()
    own, other = context_nll(model, tokenizer, examples, "<sep>", max_source_len=64)
    assert other - own == pytest.approx(0.0, abs=1e-6)  # 100 times smaller than the gap above
