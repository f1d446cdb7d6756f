"""Diverse (group) beam search with Hamming diversity, batched over sources, with per-token scores.

This is QUALS's QA generator: 60 beams in 60 groups per summary (spec §2.2), every hypothesis returned
with its raw and penalised per-token log-probs, since QUALS subtracts the penalised summary-side mean.

Where it matches fairseq 0.9 (``search.DiverseBeamSearch`` in ``SequenceGenerator``):
* groups g = 0..G-1 are processed in order at every step; group g's log-probs get −λ·c(v), where c(v)
  counts how often token v is among the top-2·group_size *candidate* tokens (not just the chosen ones) of
  groups < g at the same step;
* each group then makes an ordinary beam step of width group_size over its penalised cumulative scores,
  taking the top 2·group_size candidates; the penalty is folded into the cumulative score, so
  ``penalised_logprobs`` (fairseq's ``pos_scores``) and ``score`` include it;
* at the first step only the first beam of each group expands (all beams are the decoder start);
* eos is allowed as a finished hypothesis only among the first group_size candidates of a group;
  the next beams are the best group_size non-eos candidates;
* pad never; eos forbidden for steps < min_len; only eos at step max_len (so min_len+1 ≤ T ≤ max_len+1);
* score = cumulative penalised log-prob / T**lenpen, hypotheses sorted by it, all num_beams returned;
* log-softmax in fp32 whatever the model's dtype.

Where it differs:
* fairseq interleaves the candidates of all groups, finalises up to num_beams hypotheses per *sentence*
  (from any group) and refills finished beam slots from the interleaved list, so after the first finished
  hypothesis beams migrate between groups and one group can finish several hypotheses while another
  finishes none. Here each group keeps its own beams and finishes exactly group_size hypotheses, then
  stops (fairseq's early stopping, applied per group). With 60 groups of one beam the two agree until
  the first hypothesis of a source finishes; afterwards the sets of 60 QA pairs are similar, not equal.
* A finished group no longer proposes candidates, so it adds nothing to later groups' penalty (in fairseq
  a refilled slot keeps contributing).

Speed: each step runs the model once for the live beams of all sources (KV cache; the first step runs
once per source; finished groups leave the batch), then one batched top-k over the vocabulary for all
groups. Only the penalty is sequential over groups (group g's candidates depend on the penalties of the
groups before it, so no cumulative-count shortcut is exact), and that loop works on short candidate lists,
batched over sources: the penalty only lowers scores and group g can penalise at most 2·group_size²·g
(beam, token) pairs, so its true top-2·group_size lies in its unpenalised top-(2·group_size +
2·group_size²·(G−1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.generation._decoding import (
    Hypothesis,
    IncrementalDecoder,
    encode,
    eval_mode,
    mask_special,
    special_tokens,
)

__all__ = ["DiverseBeamConfig", "Hypothesis", "diverse_beam_search"]


@dataclass(frozen=True)
class DiverseBeamConfig:
    num_beams: int = 60  # hypotheses per source, all returned (fairseq --beam)
    num_groups: int = 60  # fairseq --diverse_beam_groups; 60 of 60 beams = one beam per group
    diversity_strength: float = 0.5  # λ of the Hamming penalty (fairseq --diverse_beam_strength)
    min_len: int = 8  # eos forbidden before step 8, so at least 9 tokens with eos
    max_len: int = 60  # at most 60 tokens plus eos
    lenpen: float = 1.0  # score = sum of penalised log-probs / T**lenpen

    def __post_init__(self) -> None:
        if self.num_beams < 1 or self.num_groups < 1 or self.num_beams % self.num_groups:
            raise ValueError(
                f"num_beams ({self.num_beams}) must be a positive multiple of num_groups ({self.num_groups})"
            )
        if not 0 <= self.min_len <= self.max_len or self.max_len < 1:
            raise ValueError(
                f"need 0 <= min_len <= max_len and max_len >= 1, got {self.min_len}, {self.max_len}"
            )
        if self.diversity_strength < 0:
            raise ValueError("diversity_strength must be >= 0")

    @property
    def group_size(self) -> int:
        return self.num_beams // self.num_groups


def diverse_beam_search(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    config: DiverseBeamConfig,
    *,
    encoder_outputs: BaseModelOutput | None = None,
    drop_finished: bool = True,
) -> list[list[Hypothesis]]:
    """Diverse beam search for every source of a padded batch; per source num_beams hypotheses, best first.

    ``encoder_outputs`` (from ``model.get_encoder()`` on these inputs) skips the encoder pass.
    ``drop_finished=False`` keeps finished groups in the batch: same results, for benchmarking only.
    """
    special = special_tokens(model)
    num_sources = input_ids.shape[0]
    groups, group_size = config.num_groups, config.group_size
    width = 2 * group_size  # candidates per group and step, as in fairseq
    penalised = config.diversity_strength > 0 and groups > 1
    # The unpenalised candidates that can still reach a group's penalised top-`width` (module docstring).
    shortlist = width + width * group_size * (groups - 1) if penalised else width

    with eval_mode(model), torch.inference_mode():
        if encoder_outputs is None:
            encoder_outputs = encode(model, input_ids, attention_mask)
        decoder = IncrementalDecoder(model, encoder_outputs, attention_mask, special)
        device = encoder_outputs.last_hidden_state.device
        # Flat group id = source * groups + group; the beams of group id i are rows i*group_size + k.
        num_group_ids = num_sources * groups
        history = _History.empty(num_group_ids, group_size, config.max_len + 1, device)
        finished_count = torch.zeros(num_group_ids, dtype=torch.long, device=device)
        group_active = torch.ones(num_group_ids, dtype=torch.bool, device=device)
        decoded_groups = torch.arange(num_group_ids, device=device)  # group ids whose beams the decoder runs
        cumulative = torch.zeros(num_group_ids, group_size, device=device)  # penalised score of each beam
        last_tokens = torch.full_like(finished_count[:, None], special.decoder_start).expand(-1, group_size)
        hypotheses: list[list[Hypothesis]] = [[] for _ in range(num_sources)]

        for step in range(config.max_len + 1):
            if step == 0:
                # One row per source; only the first beam of each group expands (fairseq does the same).
                log_probs = decoder.first_step()
                mask_special(log_probs, step, special, min_len=config.min_len, max_len=config.max_len)
                first = _top_continuations(
                    log_probs[:, None, :],
                    log_probs.new_zeros(num_sources, 1),
                    min(shortlist, log_probs.shape[-1]),
                )
                candidates = tuple(c.repeat_interleave(groups, dim=0) for c in first)
            else:
                log_probs = decoder.step(last_tokens[decoded_groups].reshape(-1))
                mask_special(log_probs, step, special, min_len=config.min_len, max_len=config.max_len)
                vocab = log_probs.shape[-1]
                live = _top_continuations(
                    log_probs.view(-1, group_size, vocab),
                    cumulative[decoded_groups],
                    min(shortlist, group_size * vocab),
                )
                candidates = _scatter_groups(live, decoded_groups, num_group_ids, special.pad)
            scores, raw, cand_tokens, cand_beams = candidates

            if penalised:
                chosen, penalty = _hamming_select(
                    scores.view(num_sources, groups, -1),
                    cand_tokens.view(num_sources, groups, -1),
                    group_active.view(num_sources, groups),
                    config.diversity_strength,
                    width,
                    log_probs.shape[-1],
                )
                chosen, penalty = chosen.view(num_group_ids, width), penalty.view(num_group_ids, width)
            else:  # top-k output is sorted: the first `width` shortlisted are the candidates
                chosen = torch.arange(width, device=device).expand(num_group_ids, width)
                penalty = scores.new_zeros(num_group_ids, width)
            sel_scores = scores.gather(1, chosen) - penalty
            sel_raw = raw.gather(1, chosen)
            sel_penalised = sel_raw - penalty
            sel_tokens = cand_tokens.gather(1, chosen)
            sel_beams = cand_beams.gather(1, chosen)
            is_eos = sel_tokens == special.eos

            # Finalise eos among each live group's first group_size candidates, best first, up to what it lacks.
            eos_in_top = (
                is_eos[:, :group_size] & sel_scores[:, :group_size].isfinite() & group_active[:, None]
            )
            finalise = eos_in_top & (eos_in_top.cumsum(1) <= (group_size - finished_count)[:, None])
            group_ids, ranks = finalise.nonzero(as_tuple=True)
            if len(group_ids):
                tokens, raw_lps, penalised_lps = history.extended(
                    group_ids,
                    sel_beams[group_ids, ranks],
                    step,
                    sel_tokens[group_ids, ranks],
                    sel_raw[group_ids, ranks],
                    sel_penalised[group_ids, ranks],
                )
                norm_scores = sel_scores[group_ids, ranks] / (step + 1) ** config.lenpen
                _collect(hypotheses, groups, group_ids, tokens, raw_lps, penalised_lps, norm_scores)
                finished_count += finalise.sum(1)
                group_active = finished_count < group_size
                if not bool(group_active.any()):
                    break

            # The next beams: the best group_size non-eos candidates (eos ones are pushed to the back).
            order = (is_eos.long() * width + torch.arange(width, device=device)).argsort(1)[:, :group_size]
            next_beams = sel_beams.gather(1, order)
            last_tokens = sel_tokens.gather(1, order)
            cumulative = sel_scores.gather(1, order)
            if group_size > 1:
                history.follow(next_beams)
            history.write(step, last_tokens, sel_raw.gather(1, order), sel_penalised.gather(1, order))

            next_groups = group_active.nonzero().squeeze(1) if drop_finished else decoded_groups
            if step == 0:  # copy each source's single row out to its beams
                decoder.select_rows((next_groups // groups).repeat_interleave(group_size))
            elif group_size > 1 or len(next_groups) != len(decoded_groups):
                # With one beam per group a surviving beam stays in its row: only finished groups leave.
                decoder.select_rows(_parent_rows(decoded_groups, next_groups, next_beams, num_group_ids))
            decoded_groups = next_groups

    incomplete = [i for i, found in enumerate(hypotheses) if len(found) != config.num_beams]
    if incomplete:
        raise RuntimeError(f"sources {incomplete[:5]} ended with fewer than {config.num_beams} hypotheses")
    return [sorted(found, key=lambda h: -h.score) for found in hypotheses]


@dataclass
class _History:
    """Each beam's tokens and raw and penalised log-probs so far, (group ids, group_size, max_len + 1)."""

    tokens: torch.Tensor
    raw: torch.Tensor
    penalised: torch.Tensor

    @classmethod
    def empty(cls, num_group_ids: int, group_size: int, max_tokens: int, device: torch.device) -> _History:
        shape = (num_group_ids, group_size, max_tokens)
        return cls(
            torch.zeros(shape, dtype=torch.long, device=device),
            torch.zeros(shape, device=device),
            torch.zeros(shape, device=device),
        )

    def follow(self, parents: torch.Tensor) -> None:
        """Beam k of each group continues beam ``parents[group, k]`` of the same group."""
        index = parents[:, :, None].expand(-1, -1, self.tokens.shape[2])
        self.tokens, self.raw, self.penalised = (
            t.gather(1, index) for t in (self.tokens, self.raw, self.penalised)
        )

    def write(self, step: int, tokens: torch.Tensor, raw: torch.Tensor, penalised: torch.Tensor) -> None:
        self.tokens[:, :, step], self.raw[:, :, step], self.penalised[:, :, step] = tokens, raw, penalised

    def extended(self, group_ids, beams, step, tokens, raw, penalised) -> tuple[torch.Tensor, ...]:
        """The first ``step`` entries of beams (group_ids, beams), each followed by one more entry."""
        return tuple(
            torch.cat([past[group_ids, beams, :step], last[:, None]], dim=1)
            for past, last in ((self.tokens, tokens), (self.raw, raw), (self.penalised, penalised))
        )


def _parent_rows(
    decoded_groups: torch.Tensor, next_groups: torch.Tensor, next_beams: torch.Tensor, num_group_ids: int
) -> torch.Tensor:
    """For each decoder row of the next step, the current decoder row it continues.

    The decoder holds the beams of ``decoded_groups`` in order; next it holds those of ``next_groups``,
    where beam k of group i continues beam ``next_beams[i, k]`` of the same group.
    """
    group_size = next_beams.shape[1]
    beam_offsets = torch.arange(group_size, device=decoded_groups.device)
    current_rows = (decoded_groups[:, None] * group_size + beam_offsets).view(-1)
    position = torch.full((num_group_ids * group_size,), -1, dtype=torch.long, device=decoded_groups.device)
    position[current_rows] = torch.arange(len(current_rows), device=decoded_groups.device)
    return position[(next_groups[:, None] * group_size + next_beams[next_groups]).view(-1)]


def _top_continuations(
    log_probs: torch.Tensor, cumulative: torch.Tensor, count: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``count`` best (beam, token) continuations of each group, unpenalised.

    log_probs (groups, beams, vocab) and cumulative (groups, beams) give, each (groups, count), best first:
    cumulative scores, raw token log-probs, tokens and beam indices.
    """
    num, beams, vocab = log_probs.shape
    flat_log_probs = log_probs.reshape(num, beams * vocab)
    if beams == 1:  # one beam: the cumulative score is a constant shift, rank the log-probs alone
        raw, flat = flat_log_probs.topk(count, dim=1)
        return cumulative + raw, raw, flat, torch.zeros_like(flat)
    scores, flat = (cumulative[:, :, None] + log_probs).view(num, beams * vocab).topk(count, dim=1)
    # Gathered, not recovered as score − cumulative, so raw log-probs stay exact.
    return scores, flat_log_probs.gather(1, flat), flat % vocab, flat // vocab


def _scatter_groups(
    live: tuple[torch.Tensor, ...], group_ids: torch.Tensor, num_group_ids: int, pad: int
) -> tuple[torch.Tensor, ...]:
    """Spread the decoded groups' candidates over all group ids; groups not decoded get −inf scores."""
    scores, raw, cand_tokens, cand_beams = live
    count = scores.shape[1]
    out_scores = scores.new_full((num_group_ids, count), -torch.inf)
    out_raw = raw.new_full((num_group_ids, count), -torch.inf)
    out_tokens = cand_tokens.new_full((num_group_ids, count), pad)
    out_beams = cand_beams.new_zeros((num_group_ids, count))
    out_scores[group_ids], out_raw[group_ids] = scores, raw
    out_tokens[group_ids], out_beams[group_ids] = cand_tokens, cand_beams
    return out_scores, out_raw, out_tokens, out_beams


def _hamming_select(
    scores: torch.Tensor,
    cand_tokens: torch.Tensor,
    contributes: torch.Tensor,
    strength: float,
    width: int,
    vocab: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """fairseq 0.9's Hamming diversity over shortlisted candidates, all sources at once, groups in order.

    scores and cand_tokens are (sources, groups, shortlist), sorted best first; contributes (sources, groups)
    says which groups are still live. Returns, each (sources, groups, width): the positions of each group's
    penalised top-`width` in its shortlist, best first, and the penalty λ·c(v) each of them received.
    """
    num_sources, groups, _ = scores.shape
    counts = scores.new_zeros(num_sources, vocab)  # c(v): v among the candidates of earlier groups
    weights = contributes.to(scores.dtype)[:, :, None].expand(-1, -1, width)
    chosen = torch.empty(num_sources, groups, width, dtype=torch.long, device=scores.device)
    penalties = scores.new_empty(num_sources, groups, width)
    for group in range(groups):
        group_tokens = cand_tokens[:, group]
        penalty = strength * counts.gather(1, group_tokens)
        top = (scores[:, group] - penalty).topk(width, dim=1).indices
        chosen[:, group] = top
        penalties[:, group] = penalty.gather(1, top)
        counts.scatter_add_(1, group_tokens.gather(1, top), weights[:, group])
    return chosen, penalties


def _collect(
    hypotheses: list[list[Hypothesis]],
    groups: int,
    group_ids: torch.Tensor,
    tokens: torch.Tensor,
    raw: torch.Tensor,
    penalised: torch.Tensor,
    scores: torch.Tensor,
) -> None:
    """Append finished hypotheses (one device-to-host copy per field) to their sources' lists."""
    for group_id, toks, raw_lp, pen_lp, score in zip(
        group_ids.tolist(), tokens.tolist(), raw.tolist(), penalised.tolist(), scores.tolist(), strict=True
    ):
        hypotheses[group_id // groups].append(
            Hypothesis(
                tokens=toks,
                token_logprobs=raw_lp,
                penalised_logprobs=pen_lp,
                score=score,
                group=group_id % groups,
            )
        )
