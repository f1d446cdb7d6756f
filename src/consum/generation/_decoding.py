"""Shared machinery of our decoders: special ids, one encoder pass, an incremental decoder over rows.

Works on any Hugging Face encoder-decoder (``model(encoder_outputs=..., decoder_input_ids=..., cache=...)``
with an ``EncoderDecoderCache``, transformers >= 5.24: ``past_key_values=`` is deprecated there) on whatever
device the model sits on.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from transformers.cache_utils import EncoderDecoderCache
from transformers.modeling_outputs import BaseModelOutput


@dataclass
class Hypothesis:
    """One finished sequence of a decoder, with its per-token scores.

    ``tokens`` are the generated ids after the decoder start token, ending with eos; T = len(tokens).
    """

    tokens: list[int]
    token_logprobs: list[float]  # raw fp32 log p(w_t | source, w_<t) over the full vocabulary
    penalised_logprobs: list[float]  # what the search summed (diverse beam: raw minus its diversity penalty)
    score: float  # the search's sort key (diverse beam: sum(penalised) / T**lenpen; sampling: mean raw)
    group: int  # diverse beam: the group that found it; sampling: the sample index


@dataclass(frozen=True)
class SpecialTokens:
    decoder_start: int
    eos: int
    pad: int


def special_tokens(model) -> SpecialTokens:
    """The decoder start, eos and pad ids; the generation config wins over the model config (as in HF)."""

    def first_set(name: str) -> int:
        for config in (getattr(model, "generation_config", None), model.config):
            value = getattr(config, name, None) if config is not None else None
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if value is not None:
                return int(value)
        raise ValueError(f"the model config sets no {name}")

    return SpecialTokens(
        decoder_start=first_set("decoder_start_token_id"),
        eos=first_set("eos_token_id"),
        pad=first_set("pad_token_id"),
    )


@functools.cache
def _forward_parameters(forward) -> frozenset[str]:
    return frozenset(inspect.signature(forward).parameters)


def logits_to_keep_argument(model) -> str | None:
    """How to ask ``model`` for the logits of some positions only (transformers' ``logits_to_keep``, a
    (rows, length) bool mask, the LM head then run on those positions alone): ``logits_to_keep`` (BART),
    ``decoder_logits_to_keep`` (an ``EncoderDecoderModel`` whose decoder takes it: BERT), or None (T5:
    every position's logits are computed, and the caller keeps the ones it needs)."""
    if "logits_to_keep" in _forward_parameters(type(model).forward):
        return "logits_to_keep"
    decoder = getattr(model, "decoder", None)
    if decoder is not None and "logits_to_keep" in _forward_parameters(type(decoder).forward) \
            and "kwargs" in _forward_parameters(type(model).forward):
        return "decoder_logits_to_keep"
    return None


@contextlib.contextmanager
def eval_mode(model) -> Iterator[None]:
    """Decode without dropout, then give the model back in the mode it came in (it may be mid-training)."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def encode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> BaseModelOutput:
    """One encoder pass over right- or left-padded sources."""
    device = model.device
    return model.get_encoder()(
        input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), return_dict=True
    )


def mask_special(
    log_probs: torch.Tensor, step: int, special: SpecialTokens, *, min_len: int, max_len: int
) -> None:
    """In place, fairseq 0.9's rules: never pad; no eos before step ``min_len``; only eos at step ``max_len``.

    Step t produces the (t+1)-th token after the decoder start, so sequences hold min_len+1 to
    max_len+1 tokens.
    """
    log_probs[:, special.pad] = -torch.inf
    if step < min_len:
        log_probs[:, special.eos] = -torch.inf
    if step >= max_len:
        eos_column = log_probs[:, special.eos].clone()
        log_probs.fill_(-torch.inf)
        log_probs[:, special.eos] = eos_column


class IncrementalDecoder:
    """The decoder of an encoder-decoder run one token per step over a changing set of rows, with a KV cache.

    Every row belongs to one source. The first step runs on one row per source (all rows of a source are
    identical before their first token) and only then is the cache copied out to ``rows_per_source`` rows,
    so the cross-attention keys and values are projected once per source rather than once per beam.
    ``select_rows`` then keeps, drops, duplicates or reorders rows (beam reordering, finished rows).
    ``extend`` feeds several tokens per row at once (teacher forcing after a shared first step).
    """

    def __init__(
        self, model, encoder_outputs: BaseModelOutput, attention_mask: torch.Tensor, special: SpecialTokens
    ):
        self.model = model
        self.special = special
        self._encoder_states = encoder_outputs.last_hidden_state
        self._attention_mask = attention_mask.to(self._encoder_states.device)
        self._cache = None

    @property
    def num_rows(self) -> int:
        return self._encoder_states.shape[0]

    def first_step(self) -> torch.Tensor:
        """fp32 log-probs of the first token, one row per source: (num_sources, vocab)."""
        start = torch.full(
            (self.num_rows, 1),
            self.special.decoder_start,
            dtype=torch.long,
            device=self._encoder_states.device,
        )
        return self._log_softmax_last(self._logits(start))

    def step(self, last_tokens: torch.Tensor) -> torch.Tensor:
        """fp32 log-probs of the next token of every current row given its last token: (num_rows, vocab)."""
        return self._log_softmax_last(self._logits(last_tokens.view(-1, 1)))

    def extend(self, tokens: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (model dtype) after each of several tokens per row, fed at once: (num_rows, length,
        vocab); with ``keep`` (num_rows, length) bool, only the kept positions' logits, flattened
        (num_kept, vocab), where the model can skip the others (:func:`logits_to_keep_argument`)."""
        if keep is None:
            return self._logits(tokens)
        argument = logits_to_keep_argument(self.model)
        if argument is None:
            return self._logits(tokens)[keep]
        return self._logits(tokens, **{argument: keep})

    def select_rows(self, parent_rows: torch.Tensor) -> None:
        """Row i becomes a copy of current row ``parent_rows[i]`` (cache, encoder states and mask alike)."""
        parent_rows = parent_rows.to(self._encoder_states.device)
        self._cache.reorder_cache(parent_rows)
        if self._cross_attention_cached():
            # The encoder states are only read for their shape now: a broadcast view instead of a copy.
            self._encoder_states = self._encoder_states[:1].expand(len(parent_rows), -1, -1)
        else:
            self._encoder_states = self._encoder_states.index_select(0, parent_rows)
        self._attention_mask = self._attention_mask.index_select(0, parent_rows)

    def _cross_attention_cached(self) -> bool:
        """Whether every decoder layer takes its cross-attention keys and values from the cache (HF sets
        ``is_updated`` once it has projected them) rather than from the encoder states."""
        updated = getattr(self._cache, "is_updated", None)
        layers = getattr(self.model.config, "decoder_layers", None) or getattr(
            self.model.config, "num_decoder_layers", None
        )
        return (
            isinstance(self._cache, EncoderDecoderCache)
            and bool(updated)
            and all(updated.values())
            and len(updated) == layers
        )

    def _logits(self, decoder_input_ids: torch.Tensor, **keep) -> torch.Tensor:
        outputs = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=self._encoder_states),
            attention_mask=self._attention_mask,
            decoder_input_ids=decoder_input_ids,
            cache=self._cache,
            use_cache=True,
            return_dict=True,
            **keep,
        )
        self._cache = outputs.cache
        return outputs.logits

    @staticmethod
    def _log_softmax_last(logits: torch.Tensor) -> torch.Tensor:
        # Scores are kept in fp32 whatever the model's dtype (fairseq and HF do the same).
        return torch.log_softmax(logits[:, -1, :].float(), dim=-1)
