"""factworld QA records: SQuAD-style, exact spans, over documents and over what summaries say."""

import json

import pytest

from consum.data.factworld import FactworldConfig, corpus_stats, generate_corpus, generate_qa_records

QA_KEYS = {"qa_id", "doc_id", "context_type", "context", "question", "answer", "answer_start", "role"}


@pytest.fixture(scope="module", params=["full", "single"])
def tiny(request):
    cfg = FactworldConfig(size="tiny", seed=0, train_noise=0.5, names=request.param)
    corpus = generate_corpus(cfg)
    return cfg, corpus, generate_qa_records(cfg, corpus)


def test_every_answer_is_the_exact_span_at_answer_start(tiny):
    _, corpus, qa = tiny
    assert set(qa) == set(corpus)
    for records in qa.values():
        for record in records:
            assert set(record) == QA_KEYS
            start = record["answer_start"]
            assert (
                record["answer"]
                and record["context"][start : start + len(record["answer"])] == record["answer"]
            )
            assert record["question"].endswith("?") and record["question"][0].isupper()


def test_records_cover_documents_and_summaries_with_unique_ids(tiny):
    _, corpus, qa = tiny
    ids = [r["qa_id"] for records in qa.values() for r in records]
    assert len(set(ids)) == len(ids)
    rows = {row["doc_id"]: row for rows in corpus.values() for row in rows}
    for records in qa.values():
        for record in records:
            row = rows[record["doc_id"]]
            assert record["context"] == row[record["context_type"]]


def test_one_question_per_stated_fact(tiny):
    _, corpus, qa = tiny
    by_context = {}
    for record in qa["train"]:
        by_context.setdefault((record["doc_id"], record["context_type"]), []).append(record["role"])
    for row in corpus["train"]:
        for context_type, facts_key in (("document", "doc_facts"), ("summary", "summary_facts")):
            roles = [fact["role"] for fact in json.loads(row[facts_key])["entities"]]
            assert by_context[row["doc_id"], context_type] == roles


def test_summary_qa_reads_the_summary_including_its_errors(tiny):
    """An unfaithful reference yields pairs true of the reference, e.g. the swapped winner."""
    _, corpus, qa = tiny
    answers = {(r["doc_id"], r["role"]): r["answer"] for r in qa["train"] if r["context_type"] == "summary"}
    unfaithful = [row for row in corpus["train"] if row["label"] != "consistent"]
    assert unfaithful
    for row in unfaithful:
        for error in json.loads(row["injected"])["errors"]:
            assert answers[row["doc_id"], error["role"]] == error["value"]


def test_ages_are_answered_by_their_digits(tiny):
    _, _, qa = tiny
    ages = [r for records in qa.values() for r in records if r["role"] == "main_age"]
    assert ages and all(
        r["answer"].isdigit() and r["question"].startswith(("How old", "What age")) for r in ages
    )


def test_qa_generation_is_deterministic(tiny):
    cfg, corpus, qa = tiny
    assert json.dumps(generate_qa_records(cfg, corpus)) == json.dumps(qa)


def test_corpus_stats_report_sizes_noise_lengths_and_qa(tiny):
    _, corpus, qa = tiny
    stats = corpus_stats(corpus, qa)
    assert stats["train"]["docs"] == 200
    assert stats["train"]["noise_rate"] == {"extrinsic": 0.25, "intrinsic": 0.25}
    assert stats["test"]["noise_rate"] == {"extrinsic": 0.0, "intrinsic": 0.0}
    assert stats["train"]["mean_document_words"] > stats["train"]["mean_summary_words"] > 10
    assert sum(stats["validation"]["qa_pairs"].values()) == len(qa["validation"])
    assert "qa_pairs" not in corpus_stats(corpus)["train"]
