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

from dataclasses import dataclass, replace

import torch
from transformers.modeling_outputs import BaseModelOutput

from consum.generation._decoding import (
    Hypothesis,
    IncrementalDecoder,
    SpecialTokens,
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
    end_token: int | None = None,
) -> list[list[Hypothesis]]:
    """Diverse beam search for every source of a padded batch; per source num_beams hypotheses, best first.

    ``encoder_outputs`` (from ``model.get_encoder()`` on these inputs) skips the encoder pass.
    ``drop_finished=False`` keeps finished groups in the batch and ``share_prefixes=False`` gives every
    beam its own decoder row: same results, for benchmarking only. ``end_token`` ends a hypothesis
    instead of the model's eos (QUALS's span questions end at the QA separator); the eos is then an
    ordinary token.
    """
    special = special_tokens(model)
    if end_token is not None:
        special = replace(special, eos=end_token)
    plan = _SearchPlan.of(config, special, drop_finished=drop_finished, share_prefixes=share_prefixes)
    with eval_mode(model), torch.inference_mode():
        if encoder_outputs is None:
            encoder_outputs = encode(model, input_ids, attention_mask)
        decoder = IncrementalDecoder(model, encoder_outputs, attention_mask, special)
        device = encoder_outputs.last_hidden_state.device
        state = _BeamState.start(input_ids.shape[0], plan, config.max_len + 1, device)
        for step in range(config.max_len + 1):
            log_probs = decoder.first_step() if step == 0 else decoder.step(state.row_tokens)
            mask_special(log_probs, step, special, min_len=config.min_len, max_len=config.max_len)
            selected = _select_candidates(log_probs, state, plan)
            is_eos = selected.tokens == plan.eos
            if _finalise(selected, is_eos, step, state, plan):
                break
            next_beams, last_tokens = _next_beams(selected, is_eos, step, state, plan)
            parent_rows = _next_decoder_rows(next_beams, last_tokens, state, plan, log_probs.shape[-1])
            if len(parent_rows) != decoder.num_rows or not torch.equal(
                parent_rows, torch.arange(len(parent_rows), device=device)
            ):  # rows are copied only when they change (never with one beam per group and no sharing)
                decoder.select_rows(parent_rows)

    incomplete = [i for i, found in enumerate(state.hypotheses) if len(found) != config.num_beams]
    if incomplete:
        raise RuntimeError(f"sources {incomplete[:5]} ended with fewer than {config.num_beams} hypotheses")
    return [sorted(found, key=lambda h: -h.score) for found in state.hypotheses]


@dataclass(frozen=True)
class _SearchPlan:
    """What every step of one search needs to know besides its state: sizes, λ, special ids, options."""

    groups: int  # groups per source
    group_size: int  # beams per group
    width: int  # candidates per group and step: 2·group_size, as in fairseq
    strength: float  # λ of the Hamming penalty; 0 when none applies (λ = 0 or a single group)
    shortlist: int  # unpenalised candidates per group at the first try (checked)
    provable: int  # unpenalised candidates per group that are always enough
    eos: int
    pad: int  # the token of a candidate slot of a group that was not decoded
    lenpen: float
    drop_finished: bool
    share_prefixes: bool

    @classmethod
    def of(
        cls, config: DiverseBeamConfig, special: SpecialTokens, *, drop_finished: bool, share_prefixes: bool
    ) -> _SearchPlan:
        groups, group_size = config.num_groups, config.group_size
        width = 2 * group_size
        penalised = config.diversity_strength > 0 and groups > 1
        # Group g can penalise at most width·group_size·g (beam, token) pairs (see the module docstring).
        provable = width + width * group_size * (groups - 1) if penalised else width
        return cls(
            groups=groups,
            group_size=group_size,
            width=width,
            strength=config.diversity_strength if penalised else 0.0,
            shortlist=min(SHORTLIST_PER_CANDIDATE * width, provable) if penalised else width,
            provable=provable,
            eos=special.eos,
            pad=special.pad,
            lenpen=config.lenpen,
            drop_finished=drop_finished,
            share_prefixes=share_prefixes,
        )


@dataclass
class _BeamState:
    """Every group of every source between two steps; tensors indexed by group id = source·groups + group."""

    history: _History
    cumulative: torch.Tensor  # (group ids, group_size): each beam's penalised score so far
    beam_rows: torch.Tensor  # (group ids, group_size): the decoder row of each beam, -1 when not decoded
    decoded_groups: torch.Tensor  # the group ids whose beams the decoder runs
    row_tokens: torch.Tensor | None  # the last token of each decoder row; None before the first step
    finished_count: torch.Tensor  # (group ids,): hypotheses found so far
    group_active: torch.Tensor  # (group ids,): finished_count < group_size
    hypotheses: list[list[Hypothesis]]  # per source, in the order found

    @classmethod
    def start(cls, num_sources: int, plan: _SearchPlan, max_tokens: int, device: torch.device) -> _BeamState:
        num_group_ids = num_sources * plan.groups
        decoded_groups = torch.arange(num_group_ids, device=device)
        # Penalised score of each beam; at the first step only the first beam of each group expands
        # (all beams are the decoder start; fairseq does the same).
        cumulative = torch.zeros(num_group_ids, plan.group_size, device=device)
        cumulative[:, 1:] = -torch.inf
        return cls(
            history=_History.empty(num_group_ids, plan.group_size, max_tokens, device),
            cumulative=cumulative,
            # The first step runs one decoder row per source.
            beam_rows=(decoded_groups // plan.groups)[:, None].repeat(1, plan.group_size),
            decoded_groups=decoded_groups,
            row_tokens=None,
            finished_count=torch.zeros(num_group_ids, dtype=torch.long, device=device),
            group_active=torch.ones(num_group_ids, dtype=torch.bool, device=device),
            hypotheses=[[] for _ in range(num_sources)],
        )


@dataclass
class _Candidates:
    """(beam, token) continuations of every group id, best first; each field (group ids, count)."""

    scores: torch.Tensor  # the beam's cumulative score + the token's log-prob (penalised once selected)
    raw: torch.Tensor  # the token's raw log-prob
    tokens: torch.Tensor
    beams: torch.Tensor  # the beam of its group that the token continues
    penalised: torch.Tensor | None = None  # raw − λ·c(token); None before the Hamming selection

    def take(self, positions: torch.Tensor, penalty: torch.Tensor) -> _Candidates:
        """The candidates at ``positions`` (per group id), scores and log-probs lowered by ``penalty``."""
        raw = self.raw.gather(1, positions)
        return _Candidates(
            self.scores.gather(1, positions) - penalty,
            raw,
            self.tokens.gather(1, positions),
            self.beams.gather(1, positions),
            raw - penalty,
        )

    def replace_groups(self, group_ids: torch.Tensor, other: _Candidates) -> None:
        """In place, the rows of ``group_ids`` become ``other``'s."""
        for name in ("scores", "raw", "tokens", "beams", "penalised"):
            getattr(self, name)[group_ids] = getattr(other, name)


@dataclass
class _Shortlist:
    """Each group's best unpenalised candidates and a bound on those left out."""

    candidates: _Candidates
    bound: torch.Tensor  # (group ids,): ≥ the score of every continuation left out; −inf when none is


def _select_candidates(log_probs: torch.Tensor, state: _BeamState, plan: _SearchPlan) -> _Candidates:
    """Each group id's `width` candidates of this step, penalised, best first (−inf: group not decoded)."""
    groups = state.decoded_groups
    shortlist = _scatter_groups(
        _top_continuations(log_probs, state.beam_rows[groups], state.cumulative[groups], plan.shortlist),
        groups,
        len(state.group_active),
        plan.pad,
    )
    candidates = shortlist.candidates
    if plan.strength == 0:  # top-k output is sorted: the first `width` shortlisted are the candidates
        width = plan.width
        raw = candidates.raw[:, :width]
        return _Candidates(
            candidates.scores[:, :width],
            raw,
            candidates.tokens[:, :width],
            candidates.beams[:, :width],
            penalised=raw,
        )
    chosen, penalty, exact = _hamming_select(shortlist, state.group_active, plan, log_probs.shape[1])
    selected = candidates.take(chosen, penalty)
    redo = (~exact).nonzero().squeeze(1)
    if len(redo):  # rare: a group's penalised top-`width` may lie outside its shortlist
        _redo_sources(selected, redo, log_probs, state, plan)
    return selected


def _finalise(
    selected: _Candidates, is_eos: torch.Tensor, step: int, state: _BeamState, plan: _SearchPlan
) -> bool:
    """Finish eos among each live group's first group_size candidates, best first, up to what it lacks.

    Returns whether every group of every source has finished.
    """
    size = plan.group_size
    eos_in_top = is_eos[:, :size] & selected.scores[:, :size].isfinite() & state.group_active[:, None]
    finalise = eos_in_top & (eos_in_top.cumsum(1) <= (size - state.finished_count)[:, None])
    group_ids, ranks = finalise.nonzero(as_tuple=True)
    if not len(group_ids):
        return False
    finished = state.history.finished(selected, group_ids, ranks, step)
    scores = selected.scores[group_ids, ranks] / (step + 1) ** plan.lenpen
    _collect(state.hypotheses, plan.groups, group_ids, finished, scores)
    state.finished_count += finalise.sum(1)
    state.group_active = state.finished_count < size
    return not bool(state.group_active.any())


def _next_beams(
    selected: _Candidates, is_eos: torch.Tensor, step: int, state: _BeamState, plan: _SearchPlan
) -> tuple[torch.Tensor, torch.Tensor]:
    """In place, each group's next beams: its best group_size non-eos candidates (eos ones go to the back).

    Returns the beam each next beam continues and its last token, both (group ids, group_size).
    """
    width = plan.width
    order = (is_eos.long() * width + torch.arange(width, device=is_eos.device)).argsort(1)
    order = order[:, : plan.group_size]
    next_beams = selected.beams.gather(1, order)
    last_tokens = selected.tokens.gather(1, order)
    state.cumulative = selected.scores.gather(1, order)
    if plan.group_size > 1:
        state.history.follow(next_beams)
    state.history.write(step, last_tokens, selected.raw.gather(1, order), selected.penalised.gather(1, order))
    return next_beams, last_tokens


def _next_decoder_rows(
    next_beams: torch.Tensor, last_tokens: torch.Tensor, state: _BeamState, plan: _SearchPlan, vocab: int
) -> torch.Tensor:
    """In place, the decoder row of each next beam and the token each row reads next.

    Returns the current decoder row that each next decoder row continues.
    """
    next_groups = state.group_active.nonzero().squeeze(1) if plan.drop_finished else state.decoded_groups
    parents = state.beam_rows.gather(1, next_beams)[next_groups]  # the decoder row each next beam continues
    tokens = last_tokens[next_groups]
    if plan.share_prefixes:
        # Beams with the same source and prefix (same parent row, same token) share one decoder row:
        # their decoder states are equal (hypotheses of one source share prefixes a lot).
        keys, rows = torch.unique(parents * vocab + tokens, return_inverse=True)
        parent_rows, state.row_tokens = keys // vocab, keys % vocab
    else:
        parent_rows, state.row_tokens = parents.reshape(-1), tokens.reshape(-1)
        rows = torch.arange(len(parent_rows), device=parents.device).view(-1, plan.group_size)
    state.beam_rows = torch.full_like(state.beam_rows, -1)
    state.beam_rows[next_groups] = rows
    state.decoded_groups = next_groups
    return parent_rows


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

    def finished(
        self, selected: _Candidates, group_ids: torch.Tensor, ranks: torch.Tensor, step: int
    ) -> _History:
        """The whole sequences of candidates (``group_ids``, ``ranks``) of ``selected``: the first ``step``
        entries of the beam each continues, then its own entry; (len(group_ids), step + 1)."""
        beams = selected.beams[group_ids, ranks]
        return _History(
            *(
                torch.cat([past[group_ids, beams, :step], last[group_ids, ranks][:, None]], dim=1)
                for past, last in (
                    (self.tokens, selected.tokens),
                    (self.raw, selected.raw),
                    (self.penalised, selected.penalised),
                )
            )
        )


def _top_continuations(
    log_probs: torch.Tensor, beam_rows: torch.Tensor, cumulative: torch.Tensor, count: int
) -> _Shortlist:
    """The ``count`` best (beam, token) continuations of each group, unpenalised.

    log_probs (decoder rows, vocab); beam_rows and cumulative (groups, beams): each beam's decoder row and
    score. Returns each group's candidates (count of them, best first) and a bound on the score of every
    continuation left out (−inf when none is).
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
    return _Shortlist(_Candidates(scores, raw, tokens, beam_ids), bound)


def _scatter_groups(
    shortlist: _Shortlist, group_ids: torch.Tensor, num_group_ids: int, pad: int
) -> _Shortlist:
    """Spread the decoded groups' candidates over all group ids; groups not decoded get −inf scores."""
    live = shortlist.candidates
    count = live.scores.shape[1]
    out = _Candidates(
        live.scores.new_full((num_group_ids, count), -torch.inf),
        live.raw.new_full((num_group_ids, count), -torch.inf),
        live.tokens.new_full((num_group_ids, count), pad),
        live.beams.new_zeros((num_group_ids, count)),
    )
    out_bound = shortlist.bound.new_full((num_group_ids,), -torch.inf)
    out.scores[group_ids], out.raw[group_ids] = live.scores, live.raw
    out.tokens[group_ids], out.beams[group_ids] = live.tokens, live.beams
    out_bound[group_ids] = shortlist.bound
    return _Shortlist(out, out_bound)


def _hamming_select(
    shortlist: _Shortlist, contributes: torch.Tensor, plan: _SearchPlan, vocab: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """fairseq 0.9's Hamming diversity over shortlisted candidates, all sources at once, groups in order.

    shortlist: as from ``_scatter_groups`` (group ids source-major, candidates sorted best first, and per
    group a bound on the unpenalised score of every candidate not shortlisted); contributes (group ids,)
    says which groups are still live. Returns the positions of each group's penalised top-`width` in its
    shortlist, best first, and the penalty λ·c(v) each received, both (group ids, width); and per source
    whether that selection is provably the one over the full vocabulary: every live group's width-th
    penalised score is at least its bound (the penalty only lowers scores).
    """
    groups, width, strength = plan.groups, plan.width, plan.strength
    num_sources = len(contributes) // groups
    scores = shortlist.candidates.scores.view(num_sources, groups, -1).unbind(1)
    cand_tokens = shortlist.candidates.tokens.view(num_sources, groups, -1).unbind(1)
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
    exact = ((worst >= shortlist.bound.view(num_sources, groups)) | ~contributes).all(1)
    chosen = chosen.view(-1, width)
    return chosen, penalties.view(len(chosen), -1).gather(1, chosen), exact


def _redo_sources(
    selected: _Candidates,
    sources: torch.Tensor,
    log_probs: torch.Tensor,
    state: _BeamState,
    plan: _SearchPlan,
) -> None:
    """In place, the selection of every group of ``sources`` redone over ``plan.provable`` candidates."""
    group_ids = (sources[:, None] * plan.groups + torch.arange(plan.groups, device=sources.device)).view(-1)
    decoded = state.beam_rows[group_ids, 0] >= 0
    live = _top_continuations(
        log_probs, state.beam_rows[group_ids[decoded]], state.cumulative[group_ids[decoded]], plan.provable
    )
    shortlist = _scatter_groups(live, decoded.nonzero().squeeze(1), len(group_ids), plan.pad)
    shortlist.bound.fill_(-torch.inf)  # provably long enough: nothing to check
    chosen, penalty, _ = _hamming_select(shortlist, state.group_active[group_ids], plan, log_probs.shape[1])
    selected.replace_groups(group_ids, shortlist.candidates.take(chosen, penalty))


def _collect(
    hypotheses: list[list[Hypothesis]],
    groups: int,
    group_ids: torch.Tensor,
    finished: _History,
    scores: torch.Tensor,
) -> None:
    """Append finished hypotheses (one device-to-host copy per field) to their sources' lists."""
    for group_id, toks, raw_lp, pen_lp, score in zip(
        group_ids.tolist(),
        finished.tokens.tolist(),
        finished.raw.tolist(),
        finished.penalised.tolist(),
        scores.tolist(),
        strict=True,
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
