"""Test environment: offline, no wandb, quiet; shared tiny-model fixtures."""

import os

# Set before transformers/datasets are imported anywhere: tests never touch a hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from consum.resolvers import register_resolvers  # noqa: E402

register_resolvers()  # the configs' ${content_key:...}, as every CLI registers it

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"

TOY_TEXTS = [
    f"Team {a} beat team {b} {x}-{y} in {city} on Sunday, and {name} scored twice."
    for a, b, x, y, city, name in [
        ("Alpha", "Beta", 3, 1, "Paris", "Ana Silva"),
        ("Gamma", "Delta", 2, 0, "Lyon", "Ben Okafor"),
        ("Omega", "Sigma", 4, 2, "Rome", "Chen Wei"),
        ("Kappa", "Theta", 1, 0, "Oslo", "Dara Quinn"),
    ]
] * 10


def wordpiece_tokenizer(with_start_token: bool):
    """An uncased WordPiece tokenizer trained on the toy texts: BERT's layout ([CLS] text [SEP]) or,
    without a start token, T5's (text [SEP] as text </s>)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(TOY_TEXTS, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials))
    template = "[CLS] $A [SEP]" if with_start_token else "$A [SEP]"
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, tok.token_to_id(t)) for t in ("[CLS]", "[SEP]")]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", eos_token="[SEP]", **({"bos_token": "[CLS]"} if with_start_token else {}),
    )


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny random BERT checkpoint with a WordPiece tokenizer, saved as a BERT comes from a hub (no
    start or end token named): what the English QAGen warm-starts from, in miniature."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = wordpiece_tokenizer(with_start_token=True)
    tokenizer.bos_token = tokenizer.eos_token = None
    path = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory):
    from consum.models import train_bpe_tokenizer

    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    path = tmp_path_factory.mktemp("tiny_tokenizer")
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer_dir, tmp_path_factory):
    """A tiny random BART + tokenizer saved with save_pretrained, loaded by path like a hub model."""
    from consum.models import build_tiny_bart, load_tokenizer

    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64
    )
    path = tmp_path_factory.mktemp("tiny_model")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def compose_config(tmp_path):
    """Compose a stage's primary config like the CLI does, with runs under tmp_path; returns plain dict."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    def _compose(config_name: str, overrides: list[str] = ()) -> dict:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            cfg = compose(config_name=config_name, overrides=[f"paths.root_dir={tmp_path}", *overrides])
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)

    return _compose
