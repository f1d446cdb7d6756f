"""The QUALS scorer on a tiny random QAGen: fast path == naive path, aggregation, cache, bad input."""

import pytest
import torch

from consum.generation.scoring import teacher_forced_logprobs
from consum.quals.batching import plan_score_batches, with_oom_backoff
from consum.quals.cache import QACache
from consum.quals.config import QAGenerationConfig, QualsConfig
from consum.quals.filtering import QACandidate
from consum.quals.generated import GeneratedQA
from consum.quals.scorer import QualsScorer
from tests.conftest import TOY_TEXTS

SMALL_GEN = QAGenerationConfig(num_beams=6, num_groups=6, min_len=2, max_len=8)


def make_scorer(qagen, **overrides):
    model, tokenizer, _ = qagen
    return QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN, **overrides))


def naive_doc_logprobs(model, tokenizer, document, tokens, max_len=1024):
    """The original's cost structure: the document re-encoded for every QA pair."""
    src = tokenizer([document], truncation=True, max_length=max_len, return_tensors="pt")
    target = torch.tensor([tokens])
    return teacher_forced_logprobs(
        model, src["input_ids"], src["attention_mask"], target, torch.ones_like(target)
    )[0].tolist()


@pytest.mark.parametrize("budget", [16384, 200, 40])  # 40: every pair in its own chunk
def test_encoded_once_equals_reencoded_per_pair(qagen, budget):
    model, tokenizer, sep = qagen
    scorer = make_scorer(qagen, score_batch_tokens=budget)
    docs = [TOY_TEXTS[0], TOY_TEXTS[1] + " Extra words make this one longer than the first.", TOY_TEXTS[2]]
    pairs = [
        (0, [5, 6, sep, 7, 2]), (1, [8, sep, 9, 10, 11, 2]), (0, [12, sep, 2]), (2, [5, sep, 6, 2]),
        (1, [7, 7, sep, 2]),
    ]
    fast, truncated = scorer.doc_logprobs(docs, pairs)
    assert truncated == [False, False, False]
    for (d, tokens), got in zip(pairs, fast):
        assert got == pytest.approx(naive_doc_logprobs(model, tokenizer, docs[d], tokens), abs=1e-5)


def test_plan_never_splits_rows_and_respects_budget():
    pairs = [(d, [1] * (3 + p % 4)) for d in range(3) for p in range(5)]
    batches = plan_score_batches(range(len(pairs)), pairs, [20, 50, 10], budget=120)
    seen = sorted(p for batch in batches for _, ps, _ in batch for p in ps)
    assert seen == list(range(len(pairs)))
    for batch in batches:
        rows = sum(len(ps) for _, ps, _ in batch)
        assert rows * max(cost for _, _, cost in batch) <= 120 or rows == 1


def out_of_memory_above(rows: int, run_batch):
    """``run_batch`` that fails like CUDA does when a batch holds more than ``rows`` items."""

    def run(batch):
        if len(batch) > rows:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return run_batch(batch)

    return run


def test_oom_backoff_halves_the_batch_and_runs_every_item_once(caplog):
    ran = []
    with_oom_backoff(out_of_memory_above(2, ran.append), list(range(7)), 8, "a test")
    assert ran == [[0, 1], [2, 3], [4, 5], [6]]
    assert "retrying with batch size 2" in caplog.text
    with pytest.raises(torch.cuda.OutOfMemoryError):  # nothing left to halve
        with_oom_backoff(out_of_memory_above(0, ran.append), [1], 4, "a test")


def test_doc_logprobs_under_oom_halve_the_token_budget_and_give_the_same_logprobs(
    qagen, monkeypatch, caplog
):
    import consum.quals.document as document_module

    _, _, sep = qagen
    scorer = make_scorer(qagen, score_batch_tokens=16384)
    docs = [TOY_TEXTS[0], TOY_TEXTS[1], TOY_TEXTS[2]]
    pairs = [(0, [5, 6, sep, 7, 2]), (1, [8, sep, 9, 10, 11, 2]), (0, [12, sep, 2]), (2, [5, sep, 6, 2])]
    expected, _ = scorer.doc_logprobs(docs, pairs)
    forced, rows = document_module.teacher_forced_logprobs, []

    def forced_short_of_memory(model, input_ids, attention_mask, target_ids, *args, **kwargs):
        if len(target_ids) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        rows.append(len(target_ids))
        return forced(model, input_ids, attention_mask, target_ids, *args, **kwargs)

    monkeypatch.setattr(document_module, "teacher_forced_logprobs", forced_short_of_memory)
    got, _ = scorer.doc_logprobs(docs, pairs)
    assert "retrying with a token budget of" in caplog.text
    assert sum(rows) == len(pairs)  # every pair scored once, in batches of at most 2
    for g, e in zip(got, expected, strict=True):
        assert g == pytest.approx(e, abs=1e-5)


def test_long_document_truncated_and_recorded(qagen):
    scorer = make_scorer(qagen, max_document_len=16)
    _, truncated = scorer.doc_logprobs([TOY_TEXTS[0] * 5], [(0, [5, 2])])
    assert truncated == [True]


def cand(question, answer, tokens, summary_lp, penalised_lp):
    return QACandidate(question, answer, tokens, summary_lp, penalised_lp, 0)


def test_quals_aggregates_kept_pairs(qagen, monkeypatch):
    model, tokenizer, sep = qagen
    scorer = make_scorer(qagen)
    summary = "Alpha beat Beta in Paris."
    a = cand("Who won?", "Alpha", [5, sep, 6, 2], [-1.0, -1.0, -1.0, -1.0], [-1.0, -2.0, -1.0, -1.0])
    b = cand("Where?", "Paris", [7, 8, sep, 9, 2], [-0.5] * 5, [-0.5] * 5)
    c = cand("What?", "London", [7, sep, 9, 2], [-0.1] * 4, [-0.1] * 4)  # answer not in summary: dropped
    monkeypatch.setattr(scorer, "generate", lambda summaries: [GeneratedQA(60, [a, b, c]) for _ in summaries])
    [[result]] = scorer.score_groups([TOY_TEXTS[0]], [[summary]])
    doc_a = naive_doc_logprobs(model, tokenizer, TOY_TEXTS[0], a.tokens)
    doc_b = naive_doc_logprobs(model, tokenizer, TOY_TEXTS[0], b.tokens)
    pen_a = sum(doc_a) / 4 - (-5.0 / 4)  # summary side = penalised log-probs (parity default)
    pen_b = sum(doc_b) / 5 - (-0.5)
    assert result.n_qa == 2 and result.n_generated == 60
    assert result.quals == pytest.approx((pen_a + pen_b) / 2, abs=1e-5)
    clean = make_scorer(qagen, summary_side="clean")
    monkeypatch.setattr(clean, "generate", lambda summaries: [GeneratedQA(60, [a, b, c]) for _ in summaries])
    [[clean_result]] = clean.score_groups([TOY_TEXTS[0]], [[summary]])
    # penalty lowers ns by 1/4 on pair a
    assert clean_result.quals == pytest.approx(result.quals - 0.25 / 2, abs=1e-5)


def test_zero_pairs_give_null_and_empty_summary_generates_nothing(qagen):
    scorer = make_scorer(qagen)
    results = scorer.score([TOY_TEXTS[0], TOY_TEXTS[1]], ["", "   "])
    assert [(r.quals, r.n_qa, r.n_generated) for r in results] == [(None, 0, 0), (None, 0, 0)]


def test_bad_input_is_reported_by_row(qagen):
    scorer = make_scorer(qagen)
    with pytest.raises(ValueError, match="row 1: empty document"):
        scorer.score(["doc", " "], ["a", "b"])
    with pytest.raises(TypeError, match="row 0: summary must be a string, got int"):
        scorer.score(["doc"], [3])
    with pytest.raises(ValueError, match="2 documents but 1 summaries"):
        scorer.score(["a", "b"], ["c"])


def test_cache_hit_gives_identical_results_without_generation(qagen, tmp_path, monkeypatch):
    model, tokenizer, _ = qagen
    cache = QACache(tmp_path / "qa.sqlite")
    scorer = QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN), cache=cache)
    docs, sums = TOY_TEXTS[:3], ["Alpha beat Beta 3-1 in Paris.", "Gamma beat Delta in Lyon.", "Omega lost."]
    first = scorer.score(docs, sums)
    assert cache.misses == 3 and cache.hits == 0
    import consum.quals.generated as generated_module

    def fail(*args, **kwargs):
        raise AssertionError("generation ran despite a cache hit")

    monkeypatch.setattr(generated_module, "diverse_beam_search", fail)
    second = QualsScorer(
        model, tokenizer, QualsConfig(generation=SMALL_GEN), cache=QACache(tmp_path / "qa.sqlite")
    ).score(docs, sums)
    assert [(r.quals, r.n_qa, r.n_generated) for r in first] == [
        (r.quals, r.n_qa, r.n_generated) for r in second
    ]
    # another generation config is another key
    other = QualsScorer(
        model, tokenizer,
        QualsConfig(generation=QAGenerationConfig(num_beams=4, num_groups=4, min_len=2, max_len=8)),
        cache=QACache(tmp_path / "qa.sqlite"),
    )
    with pytest.raises(AssertionError, match="generation ran"):
        other.score(docs[:1], sums[:1])


def test_identical_documents_are_scored_as_one_group(qagen):
    scorer = make_scorer(qagen)
    docs = [TOY_TEXTS[0], TOY_TEXTS[1], TOY_TEXTS[0]]
    sums = ["Alpha won.", "Gamma won.", "Alpha beat Beta."]
    together = scorer.score(docs, sums)
    alone = [scorer.score([d], [s])[0] for d, s in zip(docs, sums)]
    for x, y in zip(together, alone):
        assert x.n_qa == y.n_qa and x.n_generated == y.n_generated
        assert (x.quals is None and y.quals is None) or x.quals == pytest.approx(y.quals, abs=1e-5)
