"""Teacher-forced per-token log-probs of given targets: QUALS's doc-conditioned side (spec §4) and our tests."""

from __future__ import annotations

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.generation._decoding import encode, eval_mode, special_tokens

__all__ = ["teacher_forced_logprobs"]


def teacher_forced_logprobs(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    target_ids: torch.Tensor,
    target_mask: torch.Tensor,
    *,
    encoder_outputs: BaseModelOutput | None = None,
) -> torch.Tensor:
    """fp32 log p(target_t | source, target_<t), (batch, target_len), 0 where ``target_mask`` is 0.

    Targets are right-padded and hold the tokens after the decoder start (ending with eos, as decoders
    return them); the decoder reads [decoder_start] + target[:-1], as fairseq's SequenceScorer does.
    """
    special = special_tokens(model)
    device = model.device
    target_ids, target_mask = target_ids.to(device), target_mask.to(device)
    start = torch.full_like(target_ids[:, :1], special.decoder_start)
    decoder_input_ids = torch.cat([start, target_ids[:, :-1]], dim=1)
    decoder_attention_mask = torch.cat([torch.ones_like(target_mask[:, :1]), target_mask[:, :-1]], dim=1)
    with eval_mode(model), torch.inference_mode():
        if encoder_outputs is None:
            encoder_outputs = encode(model, input_ids, attention_mask)
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
