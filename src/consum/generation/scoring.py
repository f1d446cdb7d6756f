"""Teacher-forced per-token log-probs of given targets: QUALS's doc-conditioned side (spec §4) and
our tests."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.generation._decoding import IncrementalDecoder, encode, eval_mode, special_tokens

__all__ = ["answer_positions", "right_padded", "teacher_forced_logprobs"]


def teacher_forced_logprobs(
    model,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor,
    target_ids: torch.Tensor,
    target_mask: torch.Tensor,
    *,
    encoder_outputs: BaseModelOutput | None = None,
    source_rows: torch.Tensor | None = None,
    needed: torch.Tensor | None = None,
) -> torch.Tensor:
    """fp32 log p(target_t | source, target_<t), (batch, target_len), 0 where ``target_mask`` is 0.

    Targets are right-padded and hold the tokens after the decoder start (ending with eos, as decoders
    return them); the decoder reads [decoder_start] + target[:-1], as fairseq's SequenceScorer does.

    ``source_rows`` (batch,): target i reads source ``source_rows[i]`` of the inputs (fewer rows than the
    targets). Then the decoder start runs once per source and its KV cache (the cross-attention keys and
    values of the whole source, the costly part for long sources) is copied out to the targets' rows.

    ``needed`` (batch, target_len) bool: only these positions' log-probs are wanted (e.g. an answer's
    tokens); the others read 0 too, and the LM head, most of a small decoder's cost, runs on the needed
    positions alone where the model allows it (:func:`~consum.generation._decoding.logits_to_keep_argument`).
    """
    special = special_tokens(model)
    device = model.device
    target_ids, target_mask = target_ids.to(device), target_mask.to(device)
    with eval_mode(model), torch.inference_mode():
        if encoder_outputs is None:
            encoder_outputs = encode(model, input_ids, attention_mask)
        if needed is not None:
            target_mask = target_mask * needed.to(device)
        if source_rows is not None:
            keep = None if needed is None else target_mask.bool()
            log_probs = _from_shared_sources(
                model, encoder_outputs, attention_mask, target_ids, source_rows.to(device), special, keep
            )
        else:
            start = torch.full_like(target_ids[:, :1], special.decoder_start)
            decoder_input_ids = torch.cat([start, target_ids[:, :-1]], dim=1)
            decoder_attention_mask = torch.cat(
                [torch.ones_like(target_mask[:, :1]), target_mask[:, :-1]], dim=1
            )
            logits = model(
                encoder_outputs=encoder_outputs,
                attention_mask=attention_mask.to(device),
                decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=decoder_attention_mask,
                use_cache=False,
                return_dict=True,
            ).logits
            log_probs = torch.log_softmax(logits.float(), dim=-1).gather(2, target_ids[:, :, None]).squeeze(2)
        return log_probs * target_mask.to(log_probs.dtype)


def _from_shared_sources(model, encoder_outputs, attention_mask, target_ids, source_rows, special, keep=None):
    """Token log-probs of the targets, the decoder start run once per source (``teacher_forced_logprobs``);
    with ``keep`` (batch, target_len) bool, the positions after the first only where it is set."""
    decoder = IncrementalDecoder(model, encoder_outputs, attention_mask, special)
    first = decoder.first_step()[source_rows].gather(1, target_ids[:, :1])
    if target_ids.shape[1] == 1:
        return first
    decoder.select_rows(source_rows)
    # Right padding needs no decoder mask: causal attention never lets a real token see a later pad.
    if keep is None:
        logits = decoder.extend(target_ids[:, :-1])
        rest = torch.log_softmax(logits.float(), dim=-1).gather(2, target_ids[:, 1:, None]).squeeze(2)
    else:
        kept = keep[:, 1:]
        logits = decoder.extend(target_ids[:, :-1], keep=kept)  # (kept positions, vocab)
        picked = torch.log_softmax(logits.float(), dim=-1).gather(1, target_ids[:, 1:][kept][:, None])
        rest = torch.zeros(kept.shape, dtype=picked.dtype, device=picked.device)
        rest[kept] = picked.squeeze(1)
    return torch.cat([first, rest], dim=1)


def right_padded(sequences: Sequence[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, longest) token ids padded on the right with ``pad``, and the mask of real tokens."""
    width = max(map(len, sequences))
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, tokens in enumerate(sequences):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    return ids, mask


def answer_positions(sequences: Sequence[list[int]], separator: int) -> torch.Tensor:
    """(rows, longest) bool: the answer's tokens of each ``question ⊕ SEP ⊕ answer ⊕ </s>`` sequence (after
    the first separator, the last token left out), the positions an answer-only QUALS reads.

    >>> answer_positions([[5, 99, 7, 8, 2], [99, 2]], separator=99).tolist()
    [[False, False, True, True, False], [False, False, False, False, False]]
    """
    needed = torch.zeros((len(sequences), max(map(len, sequences))), dtype=torch.bool)
    for row, tokens in enumerate(sequences):
        if separator in tokens:
            needed[row, list(tokens).index(separator) + 1 : len(tokens) - 1] = True
    return needed

