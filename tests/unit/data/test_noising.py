"""BART's noise on hand-built token lists: spans applied by hand, spans drawn as specified, sentences
shuffled."""

import itertools

import numpy as np
import pytest

from consum.data.noising import (
    NoisingConfig,
    Span,
    apply_spans,
    noise_sentences,
    sample_spans,
    word_boundaries,
)

M = 4  # <mask>
# four words: [10 11] [12] [13 14] [15]
IDS = [10, 11, 12, 13, 14, 15]
STARTS = [True, False, True, True, False, True]


def test_word_boundaries_follow_word_starts_and_the_first_token():
    assert word_boundaries(STARTS) == [0, 2, 3, 5]
    assert word_boundaries([False, False, True]) == [0, 2]


@pytest.mark.parametrize(
    "spans, expected",
    [
        ([], IDS),
        ([Span(1, 2)], [10, 11, M, 15]),  # two words, one mask
        ([Span(0, 1), Span(1, 1)], [M, 13, 14, 15]),  # adjacent spans merge into one mask
        ([Span(1, 2), Span(2, 2)], [10, 11, M]),  # overlapping spans merge
        ([Span(3, 5)], [10, 11, 12, 13, 14, M]),  # a span running past the end stops there
        ([Span(2, 0)], [10, 11, 12, M, 13, 14, 15]),  # length 0 inserts a mask before word 2
        ([Span(2, 0), Span(1, 1)], [10, 11, M, 13, 14, 15]),  # an insertion next to a removed run merges
        ([Span(3, 1, random_token=99)], [10, 11, 12, 13, 14, 99]),  # a random token instead of <mask>
    ],
)
def test_apply_spans_by_hand(spans, expected):
    assert apply_spans(IDS, STARTS, spans, mask_id=M) == expected


def test_sampled_spans_cover_thirty_percent_of_words_with_poisson_three_lengths():
    rng = np.random.default_rng(0)
    config = NoisingConfig()
    draws = [sample_spans(1000, rng, config, random_tokens=(5, 500)) for _ in range(20)]
    for spans in draws:
        assert sum(s.length for s in spans) == 300
        assert len({s.start for s in spans}) == len(spans)  # distinct starts
        assert all(0 <= s.start < 1000 for s in spans)
    lengths = [s.length for spans in draws for s in spans[:-1]]  # the last one is cut to the budget
    assert np.mean(lengths) == pytest.approx(3.0, abs=0.15)
    assert 0.03 < np.mean([length == 0 for length in lengths]) < 0.07  # P(0) = e^-3 = 0.05
    randomised = [s.random_token for spans in draws for s in spans if s.random_token is not None]
    assert len(randomised) / sum(len(spans) for spans in draws) == pytest.approx(0.1, abs=0.03)
    assert min(randomised) >= 5 and max(randomised) < 500  # never a special token


def test_no_words_or_no_budget_gives_no_span():
    rng = np.random.default_rng(0)
    assert sample_spans(0, rng, NoisingConfig(), random_tokens=(5, 10)) == []
    assert sample_spans(3, rng, NoisingConfig(mask_ratio=0.1), random_tokens=(5, 10)) == []  # round(0.3) = 0


SENTENCES = [[10, 11, 12], [20, 21], [30, 31, 32, 33]]
SENTENCE_STARTS = [[True, True, True], [True, True], [True, False, True, True]]


def test_noise_is_a_function_of_the_generator_seed():
    def noised(seed):
        rng = np.random.default_rng(seed)
        return noise_sentences(
            SENTENCES, SENTENCE_STARTS, rng, NoisingConfig(), mask_id=M, random_tokens=(5, 40)
        )

    assert noised(7) == noised(7)
    assert len({tuple(noised(seed)) for seed in range(20)}) > 5


def test_permutation_alone_shuffles_whole_sentences_and_nothing_else():
    config = NoisingConfig(mask_ratio=0.0)
    orders = set()
    for seed in range(30):
        rng = np.random.default_rng(seed)
        out = noise_sentences(SENTENCES, SENTENCE_STARTS, rng, config, mask_id=M, random_tokens=(5, 40))
        orders.add(tuple(out))
        assert out in [[t for i in order for t in SENTENCES[i]] for order in itertools.permutations(range(3))]
    assert len(orders) == 6  # all 3! orders occur


def test_no_noise_is_the_identity():
    config = NoisingConfig(mask_ratio=0.0, permute_sentences=0.0)
    rng = np.random.default_rng(0)
    out = noise_sentences(SENTENCES, SENTENCE_STARTS, rng, config, mask_id=M, random_tokens=(5, 40))
    assert out == [t for s in SENTENCES for t in s]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="mask_ratio"):
        NoisingConfig(mask_ratio=1.5)
    with pytest.raises(ValueError, match="poisson_lambda"):
        NoisingConfig(poisson_lambda=0)
