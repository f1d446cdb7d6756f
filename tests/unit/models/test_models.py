import torch

from consum.models import (
    add_separator_token,
    load_model,
    load_tokenizer,
    model_for_training,
    train_bpe_tokenizer,
)
from tests.conftest import TOY_TEXTS


def test_tokenizer_round_trip_through_save_pretrained(tiny_tokenizer_dir):
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    assert len(tokenizer) > 100  # not the empty 5-token tokenizer of BartTokenizer(vocab_file=...)
    text = "Team Alpha beat team Beta 3-1 in Paris."
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_tokenizer_training_is_deterministic():
    a = train_bpe_tokenizer(TOY_TEXTS, vocab_size=300, min_frequency=1)
    b = train_bpe_tokenizer(TOY_TEXTS, vocab_size=300, min_frequency=1)
    assert a.get_vocab() == b.get_vocab()


def test_separator_is_one_special_token(tiny_tokenizer_dir, tmp_path):
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    sep_id = add_separator_token(tokenizer, "<sep>")
    assert sep_id == len(tokenizer) - 1
    ids = tokenizer("Who won? <sep> Alpha", add_special_tokens=False)["input_ids"]
    assert ids.count(sep_id) == 1
    tokenizer.save_pretrained(tmp_path)
    assert load_tokenizer(tmp_path).convert_tokens_to_ids("<sep>") == sep_id
    assert add_separator_token(tokenizer, "<sep>") == sep_id  # idempotent


def test_model_loads_by_path_and_computes_loss(tiny_model_dir):
    model = load_model(tiny_model_dir)
    tokenizer = load_tokenizer(tiny_model_dir)
    batch = tokenizer(["Team Alpha beat team Beta."], return_tensors="pt")
    labels = tokenizer(["Alpha won."], return_tensors="pt")["input_ids"]
    out = model(**batch, labels=labels)
    assert torch.isfinite(out.loss)
    assert model.config.decoder_start_token_id == 2


def test_model_for_training_builds_tiny_with_separator():
    model_cfg = {
        "name_or_path": None,
        "tiny": {
            "vocab_size": 300, "min_frequency": 1, "d_model": 32, "encoder_layers": 1, "decoder_layers": 1,
            "attention_heads": 2, "ffn_dim": 64, "max_position_embeddings": 128, "dropout": 0.0,
        },
    }
    model, tokenizer = model_for_training(model_cfg, lambda: TOY_TEXTS, separator="<sep>", seed=3)
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    again, _ = model_for_training(model_cfg, lambda: TOY_TEXTS, separator="<sep>", seed=3)
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
