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
once per source; finished groups leave the batch), on one decoder row per distinct (source, prefix):
hypotheses of one source share prefixes a lot, and beams with equal prefixes have equal decoder states.
Then one batched top-k per decoder row gives every group a short list of unpenalised candidates. Only
the penalty is sequential over groups (group g's candidates depend on the penalties of the groups before
it, so no cumulative-count shortcut is exact), and that loop works on the short lists, batched over
sources. The penalty only lowers scores, so a group's penalised top-2·group_size is exact when its
2·group_size-th penalised score is at least the best unpenalised score left out; a source where some
live group fails that check has its step redone on lists that are provably long enough (group g can
penalise at most 2·group_size²·g (beam, token) pairs, so its true top-2·group_size lies in its
unpenalised top-(2·group_size + 2·group_size²·(G−1))).
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

# First try of the shortlist per group, in candidates (width): when a live group's penalised top-`width`
# may lie outside it (checked), that source's step is redone with the provably sufficient shortlist.
# 12 (24 for one beam per group): a redo in a few % of (source, step) with the QAGens of bench_quals;
# a longer list costs more in the per-row top-k than it saves in redos.
SHORTLIST_PER_CANDIDATE = 12


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
    share_prefixes: bool = True,
) -> list[list[Hypothesis]]:
    """Diverse beam search for every source of a padded batch; per source num_beams hypotheses, best first.

    ``encoder_outputs`` (from ``model.get_encoder()`` on these inputs) skips the encoder pass.
    ``drop_finished=False`` keeps finished groups in the batch and ``share_prefixes=False`` gives every
    beam its own decoder row: same results, for benchmarking only.
    """
    special = special_tokens(model)
    num_sources = input_ids.shape[0]
    groups, group_size = config.num_groups, config.group_size
    width = 2 * group_size  # candidates per group and step, as in fairseq
    penalised = config.diversity_strength > 0 and groups > 1
    # Unpenalised candidates per group: the first try (checked), and the count that is always enough.
    provable = width + width * group_size * (groups - 1) if penalised else width
    shortlist = min(SHORTLIST_PER_CANDIDATE * width, provable) if penalised else width

    with eval_mode(model), torch.inference_mode():
        if encoder_outputs is None:
            encoder_outputs = encode(model, input_ids, attention_mask)
        decoder = IncrementalDecoder(model, encoder_outputs, attention_mask, special)
        device = encoder_outputs.last_hidden_state.device
        # Flat group id = source * groups + group.
        num_group_ids = num_sources * groups
        history = _History.empty(num_group_ids, group_size, config.max_len + 1, device)
        finished_count = torch.zeros(num_group_ids, dtype=torch.long, device=device)
        group_active = torch.ones(num_group_ids, dtype=torch.bool, device=device)
        decoded_groups = torch.arange(num_group_ids, device=device)  # group ids whose beams the decoder runs
        # The decoder row of each beam (-1: not decoded). The first step runs one row per source.
        beam_rows = (decoded_groups // groups)[:, None].repeat(1, group_size)
        # Penalised score of each beam; at the first step only the first beam of each group expands
        # (all beams are the decoder start; fairseq does the same).
        cumulative = torch.zeros(num_group_ids, group_size, device=device)
        cumulative[:, 1:] = -torch.inf
        row_tokens = None  # the last token of each decoder row
        hypotheses: list[list[Hypothesis]] = [[] for _ in range(num_sources)]

        for step in range(config.max_len + 1):
            log_probs = decoder.first_step() if step == 0 else decoder.step(row_tokens)
            mask_special(log_probs, step, special, min_len=config.min_len, max_len=config.max_len)
            vocab = log_probs.shape[-1]
            candidates, bound = _scatter_groups(
                _top_continuations(
                    log_probs, beam_rows[decoded_groups], cumulative[decoded_groups], shortlist
                ),
                decoded_groups,
                num_group_ids,
                special.pad,
            )
            if penalised:
                chosen, penalty, exact = _hamming_select(
                    candidates, bound, group_active, num_sources, config.diversity_strength, width, vocab
                )
                selected = _select(candidates, chosen, penalty)
                redo = (~exact).nonzero().squeeze(1)
                if len(redo):  # rare: a group's penalised top-`width` may lie outside its shortlist
                    _redo_sources(
                        selected,
                        redo,
                        log_probs,
                        beam_rows,
                        cumulative,
                        group_active,
                        groups,
                        provable,
                        special.pad,
                        config.diversity_strength,
                        width,
                    )
            else:  # top-k output is sorted: the first `width` shortlisted are the candidates
                selected = tuple(c[:, :width] for c in candidates) + (
                    candidates[0].new_zeros(num_group_ids, width),
                )
            sel_scores, sel_raw, sel_tokens, sel_beams, penalty = selected
            sel_penalised = sel_raw - penalty
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
            parents = beam_rows.gather(1, next_beams)[next_groups]  # the decoder row each next beam continues
            tokens = last_tokens[next_groups]
            if share_prefixes:
                # Beams with the same source and prefix (same parent row, same token) share one decoder row:
                # their decoder states are equal (hypotheses of one source share prefixes a lot).
                keys, rows = torch.unique(parents * vocab + tokens, return_inverse=True)
                parent_rows, row_tokens = keys // vocab, keys % vocab
            else:
                parent_rows, row_tokens = parents.reshape(-1), tokens.reshape(-1)
                rows = torch.arange(len(parent_rows), device=device).view(-1, group_size)
            beam_rows = torch.full_like(beam_rows, -1)
            beam_rows[next_groups] = rows
            if len(parent_rows) != decoder.num_rows or not torch.equal(
                parent_rows, torch.arange(len(parent_rows), device=device)
            ):  # rows are copied only when they change (never with one beam per group and no sharing)
                decoder.select_rows(parent_rows)
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


def _top_continuations(
    log_probs: torch.Tensor, beam_rows: torch.Tensor, cumulative: torch.Tensor, count: int
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """The ``count`` best (beam, token) continuations of each group, unpenalised.

    log_probs (decoder rows, vocab); beam_rows and cumulative (groups, beams): each beam's decoder row and
    score. Returns (cumulative scores, raw token log-probs, tokens, beam indices), each (groups, count), best
    first, and per group a bound on the score of every continuation left out (−inf when none is).
    """
    vocab = log_probs.shape[1]
    num, beams = beam_rows.shape
    # A group's top-count lies in the union of its beams' top-count: one top-k per decoder row suffices,
    # and beams (of any group) sharing a row share its top-k.
    row_raw, row_tokens = log_probs.topk(min(count, vocab), dim=1)
    raw, tokens = row_raw[beam_rows], row_tokens[beam_rows]  # (groups, beams, per row)
    scores = cumulative[:, :, None] + raw
    if beams == 1:  # already sorted
        scores, raw, tokens = scores[:, 0], raw[:, 0], tokens[:, 0]
        beam_ids = torch.zeros_like(tokens)
    else:
        per_row = raw.shape[2]
        scores, flat = scores.view(num, -1).topk(min(count, beams * per_row), dim=1)
        raw, tokens = raw.view(num, -1).gather(1, flat), tokens.view(num, -1).gather(1, flat)
        beam_ids = flat // per_row
    bound = scores[:, -1] if count < beams * vocab else torch.full_like(scores[:, 0], -torch.inf)
    return (scores, raw, tokens, beam_ids), bound


def _scatter_groups(
    live: tuple[tuple[torch.Tensor, ...], torch.Tensor], group_ids: torch.Tensor, num_group_ids: int, pad: int
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Spread the decoded groups' candidates over all group ids; groups not decoded get −inf scores."""
    (scores, raw, cand_tokens, cand_beams), bound = live
    count = scores.shape[1]
    out_scores = scores.new_full((num_group_ids, count), -torch.inf)
    out_raw = raw.new_full((num_group_ids, count), -torch.inf)
    out_tokens = cand_tokens.new_full((num_group_ids, count), pad)
    out_beams = cand_beams.new_zeros((num_group_ids, count))
    out_bound = bound.new_full((num_group_ids,), -torch.inf)
    out_scores[group_ids], out_raw[group_ids] = scores, raw
    out_tokens[group_ids], out_beams[group_ids], out_bound[group_ids] = cand_tokens, cand_beams, bound
    return (out_scores, out_raw, out_tokens, out_beams), out_bound


def _hamming_select(
    candidates: tuple[torch.Tensor, ...],
    bound: torch.Tensor,
    contributes: torch.Tensor,
    num_sources: int,
    strength: float,
    width: int,
    vocab: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """fairseq 0.9's Hamming diversity over shortlisted candidates, all sources at once, groups in order.

    candidates (as from ``_scatter_groups``: group ids source-major, shortlists sorted best first), bound
    (group ids,) on the unpenalised score of every candidate not shortlisted; contributes (group ids,)
    says which groups are still live. Returns the positions of each group's penalised top-`width` in its
    shortlist, best first, and the penalty λ·c(v) each received, both (group ids, width); and per source
    whether that selection is provably the one over the full vocabulary: every live group's width-th
    penalised score is at least its bound (the penalty only lowers scores).
    """
    scores, _, cand_tokens, _ = candidates
    groups = len(contributes) // num_sources
    scores = scores.view(num_sources, groups, -1).unbind(1)
    cand_tokens = cand_tokens.view(num_sources, groups, -1).unbind(1)
    contributes = contributes.view(num_sources, groups)
    weights = contributes.to(scores[0].dtype)[:, :, None].expand(-1, -1, width).unbind(1)
    counts = scores[0].new_zeros(num_sources, vocab)  # c(v): v among the candidates of earlier groups
    chosen = torch.empty(num_sources, groups, width, dtype=torch.long, device=scores[0].device)
    penalties = scores[0].new_empty(num_sources, groups, scores[0].shape[1])
    worst = scores[0].new_empty(num_sources, groups)  # each group's width-th penalised score
    for group in range(groups):
        group_tokens = cand_tokens[group]
        penalty = strength * counts.gather(1, group_tokens)
        penalties[:, group] = penalty
        top_scores, top = (scores[group] - penalty).topk(width, dim=1)
        chosen[:, group], worst[:, group] = top, top_scores[:, -1]
        counts.scatter_add_(1, group_tokens.gather(1, top), weights[group])
    exact = ((worst >= bound.view(num_sources, groups)) | ~contributes).all(1)
    chosen = chosen.view(-1, width)
    return chosen, penalties.view(len(chosen), -1).gather(1, chosen), exact


def _select(
    candidates: tuple[torch.Tensor, ...], chosen: torch.Tensor, penalty: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """The chosen candidates: penalised scores, raw log-probs, tokens, beams and penalties."""
    scores, raw, cand_tokens, cand_beams = candidates
    return (
        scores.gather(1, chosen) - penalty,
        raw.gather(1, chosen),
        cand_tokens.gather(1, chosen),
        cand_beams.gather(1, chosen),
        penalty,
    )


def _redo_sources(
    selected, sources, log_probs, beam_rows, cumulative, group_active, groups, count, pad, strength, width
) -> None:
    """In place, the selection of every group of ``sources`` redone over ``count`` (provably enough) candidates."""
    group_ids = (sources[:, None] * groups + torch.arange(groups, device=sources.device)).view(-1)
    decoded = beam_rows[group_ids, 0] >= 0
    live = _top_continuations(log_probs, beam_rows[group_ids[decoded]], cumulative[group_ids[decoded]], count)
    candidates, bound = _scatter_groups(live, decoded.nonzero().squeeze(1), len(group_ids), pad)
    chosen, penalty, _ = _hamming_select(
        candidates,
        bound.fill_(-torch.inf),
        group_active[group_ids],
        len(sources),
        strength,
        width,
        log_probs.shape[1],
    )
    for field, redone in zip(selected, _select(candidates, chosen, penalty), strict=True):
        field[group_ids] = redone


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
