"""consum's decoding hot paths call no deprecated transformers API (a FutureWarning today is an error
in a later release: transformers 5.40 removes the ``past_key_values=`` keyword of ``forward``)."""

import contextlib
import warnings

import pytest
import torch
from transformers.utils.generic import ModelOutput

from consum.generation import DiverseBeamConfig, SamplingConfig, diverse_beam_search, sample_topk
from consum.generation._decoding import IncrementalDecoder, encode, special_tokens
from consum.generation.scoring import teacher_forced_logprobs
from consum.models import add_separator_token
from consum.models.loading import load_model, load_tokenizer
from consum.quals.config import QAGenerationConfig, QualsConfig
from consum.quals.scorer import QualsScorer
from tests.conftest import TOY_TEXTS


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    return load_model(tiny_model_dir).eval(), load_tokenizer(tiny_model_dir)


@pytest.fixture(scope="module")
def sources(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    return tokenizer(TOY_TEXTS[:2], padding=True, return_tensors="pt")


@pytest.fixture
def deprecations_are_errors(monkeypatch):
    """Deprecation warnings raise; so does reading an output's ``past_key_values``, which transformers
    only reports once per process through its logger (the field is ``cache`` now)."""

    def deprecated_field(output):
        warnings.warn("ModelOutput.past_key_values is deprecated: read .cache", FutureWarning, stacklevel=2)
        return output.cache

    monkeypatch.setattr(ModelOutput, "past_key_values", property(deprecated_field))

    @contextlib.contextmanager
    def strict():
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            warnings.simplefilter("error", DeprecationWarning)
            yield

    return strict


def test_diverse_beam_search(model_and_tokenizer, sources, deprecations_are_errors):
    model, _ = model_and_tokenizer
    config = DiverseBeamConfig(num_beams=4, num_groups=2, min_len=1, max_len=6)  # 2 beams a group: reorders
    with deprecations_are_errors():
        hypotheses = diverse_beam_search(model, sources["input_ids"], sources["attention_mask"], config)
    assert [len(h) for h in hypotheses] == [4, 4]


def test_topk_sampler(model_and_tokenizer, sources, deprecations_are_errors):
    model, _ = model_and_tokenizer
    config = SamplingConfig(num_samples=2, top_k=5, min_len=1, max_len=6)
    with deprecations_are_errors():
        samples = sample_topk(model, sources["input_ids"], sources["attention_mask"], config, seeds=[0, 1])
    assert [len(s) for s in samples] == [2, 2]


@pytest.mark.parametrize("shared_sources", [False, True])
def test_teacher_forced_scoring(model_and_tokenizer, sources, deprecations_are_errors, shared_sources):
    model, _ = model_and_tokenizer
    targets = torch.tensor([[5, 6, 7, 2], [8, 9, 2, 1], [10, 2, 1, 1]])
    target_mask = (targets != 1).long()
    source_of_target = torch.tensor([0, 1, 0])
    input_ids, attention_mask = sources["input_ids"], sources["attention_mask"]
    if not shared_sources:  # one source row per target: no cache, one forward
        input_ids, attention_mask = input_ids[source_of_target], attention_mask[source_of_target]
    rows = source_of_target if shared_sources else None
    with deprecations_are_errors():
        log_probs = teacher_forced_logprobs(
            model, input_ids, attention_mask, targets, target_mask, source_rows=rows
        )
    assert log_probs.shape == targets.shape


def test_incremental_decoder_steps_extends_and_selects_rows(
    model_and_tokenizer, sources, deprecations_are_errors
):
    model, _ = model_and_tokenizer
    with deprecations_are_errors(), torch.inference_mode():
        encoded = encode(model, sources["input_ids"], sources["attention_mask"])
        decoder = IncrementalDecoder(model, encoded, sources["attention_mask"], special_tokens(model))
        decoder.first_step()
        decoder.select_rows(torch.tensor([0, 0, 1]))
        decoder.step(torch.tensor([5, 6, 7]))
        decoder.select_rows(torch.tensor([2, 0]))
        logits = decoder.extend(torch.tensor([[8, 9], [10, 11]]))
    assert logits.shape[:2] == (2, 2)


def test_quals_scorer(tiny_model_dir, deprecations_are_errors):
    tokenizer = load_tokenizer(tiny_model_dir)
    sep = add_separator_token(tokenizer, "<sep>")
    model = load_model(tiny_model_dir).eval()
    model.resize_token_embeddings(len(tokenizer))
    config = QualsConfig(generation=QAGenerationConfig(num_beams=6, num_groups=3, min_len=2, max_len=8))
    scorer = QualsScorer(model, tokenizer, config)
    with deprecations_are_errors():
        results = scorer.score([TOY_TEXTS[0], TOY_TEXTS[0]], [TOY_TEXTS[0], TOY_TEXTS[1]])
        # A random QAGen's answers rarely occur in the summary: the document side is also run directly.
        pairs = [(0, [5, sep, 6, 2]), (1, [7, sep, 2]), (0, [8, 2])]
        doc_logprobs, _ = scorer.doc_logprobs(TOY_TEXTS[:2], pairs)
    assert [r.n_generated for r in results] == [6, 6]
    assert [len(lp) for lp in doc_logprobs] == [4, 3, 2]
