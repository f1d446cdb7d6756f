"""Top-k sampling: per-row random streams, batch independence, top-k, scores, lengths."""

import pytest
import torch
from conftest import EOS, PAD, build_model, unpad

from consum.generation import SamplingConfig, sample_topk, teacher_forced_logprobs

CONFIG = SamplingConfig(num_samples=4, top_k=5, min_len=2, max_len=12)


def tokens_of(results):
    return [[h.tokens for h in hypotheses] for hypotheses in results]


def test_batch_composition_and_order_do_not_change_samples(model, sources):
    input_ids, attention_mask = sources
    seeds = [11, 22, 33]
    batched = sample_topk(model, input_ids, attention_mask, CONFIG, seeds)
    reordered = sample_topk(model, input_ids[[2, 0, 1]], attention_mask[[2, 0, 1]], CONFIG, [33, 11, 22])
    assert tokens_of(reordered) == tokens_of([batched[2], batched[0], batched[1]])
    for row in range(3):
        (alone,) = sample_topk(model, *unpad(input_ids, attention_mask, row), CONFIG, [seeds[row]])
        assert [h.tokens for h in alone] == [h.tokens for h in batched[row]]
        for a, b in zip(alone, batched[row], strict=True):
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-5)


def test_seeds_decide_the_samples(model, sources):
    input_ids, attention_mask = sources
    first = sample_topk(model, input_ids, attention_mask, CONFIG, [1, 2, 3])
    assert tokens_of(first) == tokens_of(sample_topk(model, input_ids, attention_mask, CONFIG, [1, 2, 3]))
    assert tokens_of(first) != tokens_of(sample_topk(model, input_ids, attention_mask, CONFIG, [4, 5, 6]))
    # The samples of one source differ from each other (each has its own stream).
    assert len({tuple(h.tokens) for h in first[0]}) > 1


def test_kept_finished_rows_give_the_same_samples(model, sources):
    input_ids, attention_mask = sources
    dropped = sample_topk(model, input_ids, attention_mask, CONFIG, [7, 8, 9])
    kept = sample_topk(model, input_ids, attention_mask, CONFIG, [7, 8, 9], drop_finished=False)
    assert tokens_of(dropped) == tokens_of(kept)


def test_topk_respected_and_logprobs_are_raw_model_logprobs(model, sources):
    """Each sampled token is among the top-k of the model's distribution; its stored score is log p,
    unrenormalised."""
    input_ids, attention_mask = sources
    for row, hypotheses in enumerate(sample_topk(model, input_ids, attention_mask, CONFIG, [5, 6, 7])):
        ids, mask = unpad(input_ids, attention_mask, row)
        for h in hypotheses:
            targets = torch.tensor([h.tokens])
            decoder_input_ids = torch.tensor([[EOS] + h.tokens[:-1]])
            with torch.no_grad():
                logits = model(
                    input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_input_ids
                ).logits[0]
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            log_probs[:, PAD] = -torch.inf
            log_probs[: CONFIG.min_len, EOS] = -torch.inf
            top = log_probs.topk(CONFIG.top_k, dim=-1).indices
            assert all(token in top[t].tolist() for t, token in enumerate(h.tokens))
            forced = teacher_forced_logprobs(model, ids, mask, targets, torch.ones_like(targets))[0]
            assert h.token_logprobs == pytest.approx(forced.tolist(), abs=1e-5)
            assert h.penalised_logprobs == h.token_logprobs
            assert h.score == pytest.approx(sum(h.token_logprobs) / len(h.tokens))


def test_structure_and_length_limits(sources):
    input_ids, attention_mask = sources
    config = SamplingConfig(num_samples=3, top_k=0, min_len=4, max_len=9)
    for eos_bias, allowed in [(30.0, {5}), (-30.0, {10}), (2.5, set(range(5, 11)))]:
        results = sample_topk(build_model(eos_bias), input_ids, attention_mask, config, [0, 1, 2])
        assert [[h.group for h in hs] for hs in results] == [[0, 1, 2]] * 3
        for h in (h for hs in results for h in hs):
            assert len(h.tokens) in allowed
            assert h.tokens[-1] == EOS and EOS not in h.tokens[:-1] and PAD not in h.tokens


def test_needs_one_seed_per_source(model, sources):
    with pytest.raises(ValueError, match="seeds"):
        sample_topk(model, *sources, CONFIG, [1])
