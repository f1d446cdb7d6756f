"""Top-k sampling with one random stream per (source, sample): ConSeq's candidate summaries (spec §6.1).

Every row's randomness comes from its own ``torch.Generator``, seeded from the caller's per-source seed
(seed + a stable hash of doc_id) and the sample index, and drawn up front: a sample therefore does not
depend on which other sources share its batch, on their order, or on the number of processes.

Like fairseq 0.9 ``search.Sampling`` with ``--sampling_topk``: pad never; eos forbidden before step min_len;
only eos at step max_len; the stored per-token scores are the model's unrenormalised fp32 log-probs of the
sampled tokens. Differences: each sample is an independent row that stops at its first eos (fairseq runs
the samples through its beam bookkeeping); samples come back in sample-index order, not sorted by score;
log-probs are stored at temperature 1 even when sampling at another temperature; the draw is by inverse
CDF from pre-drawn uniforms instead of ``torch.multinomial``, so it differs from fairseq's random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from consum.generation._decoding import (
    Hypothesis,
    IncrementalDecoder,
    encode,
    eval_mode,
    mask_special,
    special_tokens,
)

__all__ = ["SamplingConfig", "sample_topk", "row_seed"]

_MASK_64 = (1 << 64) - 1


@dataclass(frozen=True)
class SamplingConfig:
    num_samples: int = 6  # candidates per document (fairseq --beam 6 with --sampling)
    top_k: int = 50  # sample among the k most likely tokens; 0 = whole vocabulary
    temperature: float = 1.0  # fairseq default; applies to the draw only, not to the stored log-probs
    min_len: int = 10  # eos forbidden before step 10 (XSUM script)
    max_len: int = 60  # at most 60 tokens plus eos (XSUM script)

    def __post_init__(self) -> None:
        if self.num_samples < 1 or self.top_k < 0 or self.temperature <= 0:
            raise ValueError("need num_samples >= 1, top_k >= 0 and temperature > 0")
        if not 0 <= self.min_len <= self.max_len:
            raise ValueError(f"need 0 <= min_len <= max_len, got {self.min_len}, {self.max_len}")


def row_seed(source_seed: int, sample_index: int) -> int:
    """The generator seed of one sample: a SplitMix64 mix, so nearby source seeds give unrelated streams."""
    z = (source_seed * 0x9E3779B97F4A7C15 + sample_index + 1) & _MASK_64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK_64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK_64
    return z ^ (z >> 31)


def sample_topk(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    config: SamplingConfig,
    seeds: list[int],
    *,
    drop_finished: bool = True,
) -> list[list[Hypothesis]]:
    """``config.num_samples`` top-k samples per source, in sample-index order; ``seeds[i]`` seeds source i.

    ``drop_finished=False`` keeps finished samples in the batch: same results, for benchmarking only.
    """
    num_sources = input_ids.shape[0]
    if len(seeds) != num_sources:
        raise ValueError(f"{len(seeds)} seeds for {num_sources} sources")
    special = special_tokens(model)
    samples = config.num_samples
    num_rows = num_sources * samples
    max_tokens = config.max_len + 1

    with eval_mode(model), torch.inference_mode():
        encoder_outputs = encode(model, input_ids, attention_mask)
        device = encoder_outputs.last_hidden_state.device
        uniforms = _row_uniforms(seeds, samples, max_tokens, device)
        decoder = IncrementalDecoder(model, encoder_outputs, attention_mask, special)
        history_tokens = torch.zeros(num_rows, max_tokens, dtype=torch.long, device=device)
        history_raw = torch.zeros(num_rows, max_tokens, device=device)
        lengths = torch.full((num_rows,), max_tokens, dtype=torch.long, device=device)
        decoded_rows = torch.arange(num_rows, device=device)  # the rows the decoder runs, in order

        for step in range(max_tokens):
            if step == 0:
                # All samples of a source share the first distribution: run the source once, then copy it out.
                source_log_probs = decoder.first_step()
                decoder.select_rows(decoded_rows // samples)
                log_probs = source_log_probs.repeat_interleave(samples, dim=0)
            else:
                log_probs = decoder.step(history_tokens[decoded_rows, step - 1])
            mask_special(log_probs, step, special, min_len=config.min_len, max_len=config.max_len)
            sampled = _draw_topk(log_probs, uniforms[decoded_rows, step], config.top_k, config.temperature)
            history_tokens[decoded_rows, step] = sampled
            history_raw[decoded_rows, step] = log_probs.gather(1, sampled[:, None]).squeeze(1)

            running = lengths[decoded_rows] == max_tokens  # only kept-on finished rows are not running
            ended = running & (sampled == special.eos)
            lengths[decoded_rows[ended]] = step + 1
            still_running = running & ~ended
            if not bool(still_running.any()):
                break
            if drop_finished and not bool(still_running.all()):
                decoder.select_rows(still_running.nonzero().squeeze(1))
                decoded_rows = decoded_rows[still_running]

    lengths_list = lengths.tolist()
    all_tokens, all_raw = history_tokens.tolist(), history_raw.tolist()
    output: list[list[Hypothesis]] = [[] for _ in range(num_sources)]
    for row, length in enumerate(lengths_list):
        raw = all_raw[row][:length]
        output[row // samples].append(
            Hypothesis(
                tokens=all_tokens[row][:length],
                token_logprobs=raw,
                penalised_logprobs=list(raw),
                score=sum(raw) / length,
                group=row % samples,
            )
        )
    return output


def _row_uniforms(seeds: list[int], samples: int, max_tokens: int, device: torch.device) -> torch.Tensor:
    """(sources·samples, max_tokens) uniforms; row (i, j) from its own generator on the model's device."""
    rows = []
    for source_seed in seeds:
        for sample_index in range(samples):
            generator = torch.Generator(device=device).manual_seed(row_seed(int(source_seed), sample_index))
            rows.append(torch.rand(max_tokens, generator=generator, device=device))
    return torch.stack(rows)


def _draw_topk(
    log_probs: torch.Tensor, uniforms: torch.Tensor, top_k: int, temperature: float
) -> torch.Tensor:
    """Per row, the token at ``uniforms`` in the CDF of the renormalised top-k at ``temperature``."""
    vocab = log_probs.shape[-1]
    k = vocab if top_k == 0 else min(top_k, vocab)
    top_log_probs, top_tokens = log_probs.topk(k, dim=-1)
    # Softmax of log-probs / T equals softmax of logits / T: the log-normaliser cancels.
    cdf = torch.softmax(top_log_probs / temperature, dim=-1).cumsum(-1)
    picked = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None], right=True).clamp_(max=k - 1)
    return top_tokens.gather(1, picked).squeeze(1)
