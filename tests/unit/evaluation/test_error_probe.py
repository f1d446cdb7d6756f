"""The error probe (issue 30's why-analysis): mention log-probs by kind, paired changes, on hand-built
numbers; the teacher-forced log-probs against the model's own loss."""

import pytest

from consum.evaluation.error_probe import (
    mention_logprobs,
    oracle_mentions,
    paired_changes,
    summary_token_logprobs,
)
from tests.unit.data.test_factworld_oracle import SPORTS_FACTS


def test_a_mention_gets_the_mean_log_prob_of_the_tokens_overlapping_it():
    # "<s> Kelso| Rovers| beat| Oslo </s>": specials have empty offsets and are in no mention
    offsets = [(0, 0), (0, 5), (5, 12), (12, 17), (17, 22), (0, 0)]
    logprobs = [-0.1, -1.0, -3.0, -0.2, -5.0, -0.3]
    mentions = [(0, 12, "supported"), (18, 22, "invented_value"), (30, 34, "role_swap")]
    assert mention_logprobs(logprobs, offsets, mentions) == [
        ("supported", -2.0),  # the mean of Kelso (-1) and Rovers (-3)
        ("invented_value", -5.0),
        ("role_swap", None),  # past the kept tokens (truncation): no value, never a zero
    ]
    with pytest.raises(ValueError, match="5 log-probs for 6 offsets"):
        mention_logprobs(logprobs[:5], offsets, mentions)


def test_paired_changes_average_over_the_mentions_every_model_scored():
    per_model = {
        "mle": [("role_swap", -1.0), ("role_swap", -2.0), ("role_swap", None), ("supported", -0.4)],
        "a": [("role_swap", -3.0), ("role_swap", -2.5), ("role_swap", -9.0), ("supported", -0.6)],
        "b": [("role_swap", -1.0), ("role_swap", -1.0), ("role_swap", -1.0), ("supported", -0.4)],
    }
    out = paired_changes(per_model, base="mle")
    # the third role swap is left out: the base could not score it
    assert out["role_swap"]["n"] == 2
    assert out["role_swap"]["mean"] == {"mle": -1.5, "a": -2.75, "b": -1.0}
    assert out["role_swap"]["change"] == pytest.approx({"a": -1.25, "b": 0.5})
    assert out["supported"]["change"] == pytest.approx({"a": -0.2, "b": 0.0})


def test_paired_changes_refuse_unpaired_inputs():
    with pytest.raises(KeyError, match="base model 'x'"):
        paired_changes({"mle": []}, base="x")
    with pytest.raises(ValueError, match="different numbers of mentions"):
        paired_changes({"mle": [("a", -1.0)], "b": []}, base="mle")
    with pytest.raises(ValueError, match="several labels"):
        paired_changes({"mle": [("role_swap", -1.0)], "b": [("supported", -1.0)]}, base="mle")


def test_oracle_mentions_label_each_mention_with_its_kind_or_supported():
    text = "Ashford United beat Kelso Rovers in Oslo."
    mentions = oracle_mentions(SPORTS_FACTS, text)
    labels = {text[start:end]: label for start, end, label in mentions}
    assert labels["Ashford United"] == "role_swap" and labels["Kelso Rovers"] == "role_swap"
    assert labels["Oslo"] == "invented_value"
    faithful = "Maria Lee scored as Kelso Rovers beat Ashford United 3-1 in Leeds."
    assert {label for _, _, label in oracle_mentions(SPORTS_FACTS, faithful)} == {"supported"}


def test_teacher_forced_log_probs_sum_to_the_models_own_loss(tiny_model_dir):
    import torch

    from consum.models import load_model, load_tokenizer

    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    documents = ["the cat sat on the mat today", "a dog ran"]
    summaries = ["the cat sat", "a dog ran in the park with the cat"]
    out = summary_token_logprobs(model, tokenizer, documents, summaries, max_source_len=32,
                                 max_target_len=32, batch_size=1)
    for (logprobs, offsets), document, summary in zip(out, documents, summaries):
        labels = tokenizer(summary, return_tensors="pt")["input_ids"]
        assert len(logprobs) == len(offsets) == labels.shape[1]
        with torch.no_grad():
            loss = model(**tokenizer(document, return_tensors="pt"), labels=labels).loss
        assert sum(logprobs) / len(logprobs) == pytest.approx(-float(loss), abs=1e-5)
    # batched (padded) and one by one agree
    batched = summary_token_logprobs(model, tokenizer, documents, summaries, max_source_len=32,
                                     max_target_len=32, batch_size=2)
    for (a, _), (b, _) in zip(out, batched):
        assert a == pytest.approx(b, abs=1e-5)
