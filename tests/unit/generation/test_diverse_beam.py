"""Diverse beam search: fairseq-0.9 Hamming semantics, per-token scores, lengths, batching."""

import math

import pytest
import torch
from conftest import EOS, PAD, VOCAB, build_model, unpad

from consum.generation import DiverseBeamConfig, diverse_beam_search, teacher_forced_logprobs


def next_log_probs(model, input_ids, attention_mask, prefixes, step, config):
    """fp32 log-probs after each prefix, recomputed from scratch (no cache), with the decoders' masks."""
    decoder_input_ids = torch.tensor([[EOS] + prefix for prefix in prefixes])
    with torch.no_grad():
        logits = model(
            input_ids=input_ids.expand(len(prefixes), -1),
            attention_mask=attention_mask.expand(len(prefixes), -1),
            decoder_input_ids=decoder_input_ids,
        ).logits[:, -1]
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    log_probs[:, PAD] = -math.inf
    if step < config.min_len:
        log_probs[:, EOS] = -math.inf
    if step >= config.max_len:
        log_probs[:, :EOS] = -math.inf
        log_probs[:, EOS + 1 :] = -math.inf
    return log_probs


def naive_diverse_beam(model, input_ids, attention_mask, config):
    """The rule written out for one source: full-vocabulary penalty, no cache, plain loops.

    Returns per group its finished (tokens, raw, penalised, score) in the order found.
    """
    groups, size = config.num_groups, config.group_size
    # A beam: (tokens, raw log-probs, penalised log-probs, cumulative penalised score).
    beams = [[([], [], [], 0.0 if k == 0 else -math.inf) for k in range(size)] for _ in range(groups)]
    finished = [[] for _ in range(groups)]
    for step in range(config.max_len + 1):
        counts = torch.zeros(VOCAB)
        for group in range(groups):
            if len(finished[group]) == size:
                continue
            log_probs = next_log_probs(
                model, input_ids, attention_mask, [b[0] for b in beams[group]], step, config
            )
            penalty = config.diversity_strength * counts
            cumulative = torch.tensor([b[3] for b in beams[group]])
            totals = (cumulative[:, None] + log_probs - penalty).view(-1)
            top = totals.topk(2 * size).indices.tolist()
            candidates = []
            for flat in top:
                beam, token = divmod(flat, VOCAB)
                tokens, raw, penalised, _ = beams[group][beam]
                raw_lp = log_probs[beam, token].item()
                pen_lp = raw_lp - penalty[token].item()
                candidates.append(
                    (tokens + [token], raw + [raw_lp], penalised + [pen_lp], totals[flat].item())
                )
                counts[token] += 1
            for candidate in candidates[:size]:
                if candidate[0][-1] == EOS and len(finished[group]) < size:
                    finished[group].append(
                        (*candidate[:3], candidate[3] / len(candidate[0]) ** config.lenpen)
                    )
            beams[group] = [c for c in candidates if c[0][-1] != EOS][:size]
        if all(len(found) == size for found in finished):
            return finished
    raise AssertionError("the naive search did not finish")


def by_group(hypotheses):
    grouped = {}
    for hypothesis in hypotheses:
        grouped.setdefault(hypothesis.group, []).append(hypothesis)
    return grouped


def greedy(model, input_ids, attention_mask, config):
    """HF greedy decoding with the same limits (HF lengths count the decoder start token)."""
    out = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        num_beams=1,
        do_sample=False,
        min_length=config.min_len + 1,
        max_length=config.max_len + 2,
        suppress_tokens=[PAD],
    )
    return [t for t in out[0, 1:].tolist() if t != PAD]


@pytest.mark.parametrize(
    "config",
    [
        DiverseBeamConfig(num_beams=4, num_groups=4, diversity_strength=0.5, min_len=2, max_len=10),
        DiverseBeamConfig(
            num_beams=6, num_groups=3, diversity_strength=0.7, min_len=1, max_len=8, lenpen=0.6
        ),
    ],
    ids=["one_beam_per_group", "two_beams_per_group"],
)
def test_matches_naive_transcription_of_the_rule(model, sources, config):
    assert_matches_naive(model, sources, config, diverse_beam_search(model, *sources, config))


def assert_matches_naive(model, sources, config, results):
    """Every group's hypotheses equal those of the plain-Python transcription of the rule."""
    input_ids, attention_mask = sources
    for row, hypotheses in enumerate(results):
        expected = naive_diverse_beam(model, *unpad(input_ids, attention_mask, row), config)
        grouped = by_group(hypotheses)
        for group, found in enumerate(expected):
            got = sorted(grouped[group], key=lambda h: -h.score)
            found = sorted(found, key=lambda f: -f[3])
            assert [h.tokens for h in got] == [f[0] for f in found]
            for h, (_, raw, penalised, score) in zip(got, found, strict=True):
                assert h.token_logprobs == pytest.approx(raw, abs=1e-5)
                assert h.penalised_logprobs == pytest.approx(penalised, abs=1e-5)
                assert h.score == pytest.approx(score, abs=1e-5)


def test_zero_strength_collapses_every_group_to_greedy(model, sources):
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(num_beams=5, num_groups=5, diversity_strength=0.0, min_len=2, max_len=12)
    for row, hypotheses in enumerate(diverse_beam_search(model, input_ids, attention_mask, config)):
        expected = greedy(model, *unpad(input_ids, attention_mask, row), config)
        assert [h.tokens for h in hypotheses] == [expected] * 5
        assert all(h.penalised_logprobs == h.token_logprobs for h in hypotheses)


def test_group_zero_is_greedy_and_unpenalised(model, sources):
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(num_beams=4, num_groups=4, diversity_strength=0.5, min_len=2, max_len=12)
    for row, hypotheses in enumerate(diverse_beam_search(model, input_ids, attention_mask, config)):
        (first,) = by_group(hypotheses)[0]
        assert first.tokens == greedy(model, *unpad(input_ids, attention_mask, row), config)
        assert first.penalised_logprobs == first.token_logprobs


def test_group_zero_is_plain_beam_search(model, sources):
    """Group 0 pays no penalty, whatever the other groups do: it is a plain beam search of width group_size.

    (HF ``generate(num_beams=3)`` is not an exact reference: when the eos candidates of one step overflow
    the free slots, HF keeps the best finished ones by normalised score, even dropping earlier ones;
    fairseq and we keep the earlier ones and fill the free slots by candidate rank.)
    """
    input_ids, attention_mask = sources
    diverse = DiverseBeamConfig(num_beams=9, num_groups=3, diversity_strength=0.8, min_len=2, max_len=10)
    plain = DiverseBeamConfig(num_beams=3, num_groups=1, min_len=2, max_len=10)
    for with_groups, alone in zip(
        diverse_beam_search(model, input_ids, attention_mask, diverse),
        diverse_beam_search(model, input_ids, attention_mask, plain),
        strict=True,
    ):
        group_zero = by_group(with_groups)[0]
        assert [h.tokens for h in group_zero] == [h.tokens for h in alone]
        assert [h.score for h in group_zero] == pytest.approx([h.score for h in alone], abs=1e-5)


def test_penalty_at_the_first_step_by_hand(model, sources):
    """Three groups of one beam: at step 0, group g pays λ per earlier-group top-2 candidate equal to
    its token."""
    input_ids, attention_mask = sources
    strength = 0.5
    config = DiverseBeamConfig(num_beams=3, num_groups=3, diversity_strength=strength, min_len=2, max_len=6)
    first_step = next_log_probs(model, *unpad(input_ids, attention_mask, 0), [[]], 0, config)[0]
    hypotheses = by_group(diverse_beam_search(model, input_ids[:1], attention_mask[:1], config)[0])

    earlier_candidates: list[int] = []  # the top-2 candidate tokens of the groups before
    for group in range(3):
        penalty = strength * torch.bincount(
            torch.tensor(earlier_candidates, dtype=torch.long), minlength=VOCAB
        )
        top_two = (first_step - penalty).topk(2).indices.tolist()
        (hypothesis,) = hypotheses[group]
        token = hypothesis.tokens[0]
        assert token == top_two[0]
        expected_penalty = strength * earlier_candidates.count(token)
        assert hypothesis.token_logprobs[0] - hypothesis.penalised_logprobs[0] == pytest.approx(
            expected_penalty
        )
        earlier_candidates += top_two
    # Group 1 avoided group 0's two candidates; some penalty was actually exercised by then.
    assert hypotheses[1][0].tokens[0] not in first_step.topk(2).indices.tolist()


def test_raw_logprobs_equal_teacher_forcing(model, sources):
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(num_beams=6, num_groups=3, diversity_strength=0.5, min_len=2, max_len=12)
    for row, hypotheses in enumerate(diverse_beam_search(model, input_ids, attention_mask, config)):
        length = max(len(h.tokens) for h in hypotheses)
        targets = torch.full((len(hypotheses), length), PAD)
        target_mask = torch.zeros_like(targets)
        for i, h in enumerate(hypotheses):
            targets[i, : len(h.tokens)] = torch.tensor(h.tokens)
            target_mask[i, : len(h.tokens)] = 1
        ids, mask = unpad(input_ids, attention_mask, row)
        forced = teacher_forced_logprobs(
            model, ids.expand(len(hypotheses), -1), mask.expand(len(hypotheses), -1), targets, target_mask
        )
        for i, h in enumerate(hypotheses):
            assert h.token_logprobs == pytest.approx(forced[i, : len(h.tokens)].tolist(), abs=1e-5)


def test_sorted_complete_and_scored(model, sources):
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(
        num_beams=8, num_groups=4, diversity_strength=0.5, min_len=2, max_len=12, lenpen=0.8
    )
    for hypotheses in diverse_beam_search(model, input_ids, attention_mask, config):
        assert len(hypotheses) == 8
        assert sorted(h.group for h in hypotheses) == [0, 0, 1, 1, 2, 2, 3, 3]
        assert [h.score for h in hypotheses] == sorted((h.score for h in hypotheses), reverse=True)
        for h in hypotheses:
            assert h.tokens[-1] == EOS and EOS not in h.tokens[:-1] and PAD not in h.tokens
            assert len(h.token_logprobs) == len(h.penalised_logprobs) == len(h.tokens)
            assert h.score == pytest.approx(sum(h.penalised_logprobs) / len(h.tokens) ** 0.8, abs=1e-5)


@pytest.mark.parametrize(("eos_bias", "min_len", "max_len"), [(6.0, 3, 12), (-20.0, 0, 7)])
def test_length_limits(sources, eos_bias, min_len, max_len):
    """A very likely eos still waits for min_len; a never-chosen eos is forced at step max_len."""
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(num_beams=4, num_groups=2, min_len=min_len, max_len=max_len)
    lengths = {
        len(h.tokens)
        for hs in diverse_beam_search(build_model(eos_bias), input_ids, attention_mask, config)
        for h in hs
    }
    assert lengths == ({min_len + 1} if eos_bias > 0 else {max_len + 1})


@pytest.mark.parametrize("drop_finished", [True, False])
def test_batched_equals_one_by_one(model, sources, drop_finished):
    input_ids, attention_mask = sources
    config = DiverseBeamConfig(num_beams=6, num_groups=3, diversity_strength=0.5, min_len=2, max_len=12)
    batched = diverse_beam_search(model, input_ids, attention_mask, config, drop_finished=drop_finished)
    for row, hypotheses in enumerate(batched):
        (alone,) = diverse_beam_search(model, *unpad(input_ids, attention_mask, row), config)
        assert [(h.tokens, h.group) for h in hypotheses] == [(h.tokens, h.group) for h in alone]
        for h, a in zip(hypotheses, alone, strict=True):
            assert h.token_logprobs == pytest.approx(a.token_logprobs, abs=1e-5)
            assert h.penalised_logprobs == pytest.approx(a.penalised_logprobs, abs=1e-5)


def test_precomputed_encoder_outputs_and_training_mode_kept(sources):
    input_ids, attention_mask = sources
    model = build_model(eos_bias=2.5).train()  # dropout must not leak into decoding
    config = DiverseBeamConfig(num_beams=4, num_groups=4, min_len=2, max_len=10)
    plain = diverse_beam_search(model, input_ids, attention_mask, config)
    assert model.training
    model.eval()
    with torch.no_grad():
        encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    reused = diverse_beam_search(model, input_ids, attention_mask, config, encoder_outputs=encoder_outputs)
    assert [[h.tokens for h in hs] for hs in plain] == [[h.tokens for h in hs] for hs in reused]


def test_bfloat16_model_gives_fp32_scores(sources):
    input_ids, attention_mask = sources
    model = build_model(eos_bias=2.5).to(torch.bfloat16)
    config = DiverseBeamConfig(num_beams=4, num_groups=4, min_len=2, max_len=8)
    (hypotheses, *_) = diverse_beam_search(model, input_ids, attention_mask, config)
    hypothesis = hypotheses[0]
    targets = torch.tensor([hypothesis.tokens])
    forced = teacher_forced_logprobs(
        model, input_ids[:1], attention_mask[:1], targets, torch.ones_like(targets)
    )
    assert forced.dtype == torch.float32
    assert hypothesis.token_logprobs == pytest.approx(forced[0].tolist(), abs=1e-2)


def test_rejects_beams_not_divisible_by_groups():
    with pytest.raises(ValueError, match="multiple"):
        DiverseBeamConfig(num_beams=6, num_groups=4)


# ---- the checked shortlist and shared prefixes (speed-ups that must not change results) ----


def test_hamming_select_flags_a_shortlist_that_may_miss_the_true_top():
    """Group 1's two shortlisted tokens are group 0's candidates: penalised below the bound, not provable."""
    from consum.generation._decoding import special_tokens
    from consum.generation.diverse_beam import _Candidates, _hamming_select, _SearchPlan, _Shortlist

    # One source, two groups of one beam, width 2, shortlist 2, vocabulary 6.
    config = DiverseBeamConfig(num_beams=2, num_groups=2, diversity_strength=1.0)
    plan = _SearchPlan.of(config, special_tokens(build_model(0.0)), drop_finished=True, share_prefixes=True)
    scores = torch.tensor([[-1.0, -2.0], [-1.0, -2.0]])
    tokens = torch.tensor([[3, 4], [3, 4]])
    candidates = _Candidates(scores, scores.clone(), tokens, torch.zeros_like(tokens))
    active = torch.tensor([True, True])

    def select(bound, active):
        return _hamming_select(_Shortlist(candidates, torch.tensor(bound)), active, plan, 6)

    # Every token left out scores at most -2.5: group 1's penalised -2.0 and -3.0 do not clear it.
    chosen, penalty, exact = select([-2.5, -2.5], active)
    assert chosen.tolist() == [[0, 1], [0, 1]]
    assert penalty.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert exact.tolist() == [False]
    # With a lower bound (-3.5) both penalised candidates still beat everything left out.
    *_, exact = select([-2.5, -3.5], active)
    assert exact.tolist() == [True]
    # A finished group's selection does not matter: it never makes a source inexact.
    *_, exact = select([-2.5, -2.5], torch.tensor([True, False]))
    assert exact.tolist() == [True]


@pytest.mark.parametrize(
    "config",
    [
        DiverseBeamConfig(num_beams=5, num_groups=5, diversity_strength=2.0, min_len=2, max_len=10),
        DiverseBeamConfig(num_beams=6, num_groups=3, diversity_strength=1.5, min_len=1, max_len=8),
    ],
    ids=["one_beam_per_group", "two_beams_per_group"],
)
def test_too_short_shortlist_falls_back_to_the_exact_one(model, sources, config, monkeypatch):
    """A first-try shortlist of just `width` candidates is often not provably enough; results stay exact."""
    from consum.generation import diverse_beam

    redone = []
    original = diverse_beam._redo_sources
    monkeypatch.setattr(diverse_beam, "SHORTLIST_PER_CANDIDATE", 1)
    monkeypatch.setattr(
        diverse_beam,
        "_redo_sources",
        lambda selected, srcs, *a: redone.append(len(srcs)) or original(selected, srcs, *a),
    )
    results = diverse_beam_search(model, *sources, config)
    assert redone, "the fallback was never exercised"
    assert_matches_naive(model, sources, config, results)


@pytest.mark.parametrize("drop_finished", [True, False])
@pytest.mark.parametrize(
    "config",
    [
        DiverseBeamConfig(num_beams=6, num_groups=6, diversity_strength=0.3, min_len=2, max_len=12),
        DiverseBeamConfig(num_beams=6, num_groups=3, diversity_strength=0.3, min_len=2, max_len=12),
    ],
    ids=["one_beam_per_group", "two_beams_per_group"],
)
def test_shared_prefixes_give_the_same_hypotheses_with_fewer_rows(
    model, sources, config, drop_finished, monkeypatch
):
    from consum.generation import _decoding

    rows = []
    original_step = _decoding.IncrementalDecoder.step
    monkeypatch.setattr(
        _decoding.IncrementalDecoder,
        "step",
        lambda self, last: rows.append(last.numel()) or original_step(self, last),
    )
    input_ids, attention_mask = sources
    runs = {}
    for share in (True, False):
        rows.clear()
        hyps = diverse_beam_search(
            model, input_ids, attention_mask, config, drop_finished=drop_finished, share_prefixes=share
        )
        runs[share] = hyps, sum(rows)
    (shared, shared_rows), (separate, separate_rows) = runs[True], runs[False]
    assert shared_rows < separate_rows  # some beams did share a prefix
    for a, b in zip(shared, separate, strict=True):
        assert [(h.tokens, h.group) for h in a] == [(h.tokens, h.group) for h in b]
        for x, y in zip(a, b, strict=True):
            assert x.token_logprobs == pytest.approx(y.token_logprobs, abs=1e-5)
            assert x.penalised_logprobs == pytest.approx(y.penalised_logprobs, abs=1e-5)
            assert x.score == pytest.approx(y.score, abs=1e-5)


def test_another_end_token_ends_hypotheses_and_eos_becomes_ordinary(sources):
    """QUALS's span questions end at the separator: with end_token=7 (made likely), every hypothesis ends
    at the first 7 after min_len, and eos, very likely too, appears inside hypotheses as a token."""
    input_ids, attention_mask = sources
    model = build_model(eos_bias=6.0)
    with torch.no_grad():
        model.final_logits_bias[0, 7] = 5.0
    config = DiverseBeamConfig(num_beams=4, num_groups=1, min_len=2, max_len=10)
    found = diverse_beam_search(model, input_ids, attention_mask, config, end_token=7)
    for hypotheses in found:
        assert len(hypotheses) == 4
        for h in hypotheses:
            assert h.tokens[-1] == 7 and 7 not in h.tokens[:-1] and len(h.tokens) >= 3
    assert any(EOS in h.tokens for hs in found for h in hs)  # eos no longer ends anything
    plain = diverse_beam_search(model, input_ids, attention_mask, config)
    assert all(h.tokens[-1] == EOS for hs in plain for h in hs)  # the default is untouched
