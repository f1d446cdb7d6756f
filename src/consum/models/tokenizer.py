"""A byte-level BPE tokenizer trained locally, laid out like BART's
(ids 0/1/2/3/4 = <s>/<pad>/</s>/<unk>/<mask>).

Wrapped as a transformers fast tokenizer and saved with ``save_pretrained`` so that later stages
load it with ``AutoTokenizer.from_pretrained(dir)``, exactly as they would load
``facebook/bart-large``. (In transformers 5.x ``BartTokenizer(vocab_file=..., merges_file=...)``
silently builds an empty tokenizer; never construct one that way.)
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def train_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int = 6000, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts``; deterministic for the same texts in the same order."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    # BART's template: <s> text </s>
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), add_prefix_space=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        mask_token="<mask>",
    )
    ids = fast.convert_tokens_to_ids(list(SPECIAL_TOKENS))
    assert ids == [0, 1, 2, 3, 4], f"special token ids {ids} are not BART's 0..4"
    return fast


def add_separator_token(tokenizer: PreTrainedTokenizerBase, separator: str) -> int:
    """Add the QA separator as a dedicated special token (never split by BPE); return its id.

    The original hijacked a rare GPT-2 BPE id (50009, decoded " strutConnector"); a real special
    token cannot collide with text. Resize the model's embeddings afterwards.
    """
    if separator in tokenizer.all_special_tokens:
        return tokenizer.convert_tokens_to_ids(separator)
    tokenizer.add_special_tokens({"additional_special_tokens": [separator]})
    sep_id = tokenizer.convert_tokens_to_ids(separator)
    if sep_id is None or sep_id == tokenizer.unk_token_id:
        raise ValueError(f"could not add separator token {separator!r} to the tokenizer")
    return sep_id
