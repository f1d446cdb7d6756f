"""QUALS's levers beyond the original: answer-span QA pairs, min aggregation, answer-token scores.

Hand-built examples: which spans a summary yields (an invented age must get a pair), what the
answer-conditioned encoder input is, and a QUALS computed by hand from given log-probs.
"""

import pytest
import torch

from consum.data.qa import encode_answer_conditioned_source
from consum.generation._decoding import Hypothesis
from consum.generation.scoring import teacher_forced_logprobs
from consum.models import build_tiny_bart
from consum.quals.answers import answer_extractor, factworld_answer_spans, regex_answer_spans
from consum.quals.config import QualsConfig
from consum.quals.filtering import QACandidate
from consum.quals.scorer import GeneratedQA, QualsScorer, grounded, score_candidate, with_span_pairs
from tests.unit.quals.test_scorer import SMALL_GEN, naive_doc_logprobs

TOY_DOC = "Team Alpha beat team Beta 3-1 in Paris on Sunday, and Ana Silva scored twice."
# An XSum-style reference whose age and nationality its document never states.
INVENTED = "40-year-old Japanese chief executive Hannah Weber said Kelso Rovers paid $4.5 million on March 4."


def test_every_entity_and_number_of_the_summary_is_an_answer():
    expected = ["40", "Japanese", "Hannah Weber", "Kelso Rovers", "$4.5 million", "March 4"]
    assert regex_answer_spans(INVENTED) == expected
    assert factworld_answer_spans(INVENTED) == expected  # the world's own NER agrees here
    assert regex_answer_spans("Ashford United won 2-1 in Leeds, and 12,437 watched 67% of it.") == [
        "Ashford United", "2-1", "Leeds", "12,437", "67%",
    ]
    assert regex_answer_spans("The crowd cheered. It rained.") == []  # function words are not answers
    assert regex_answer_spans("") == []
    assert answer_extractor("regex") is regex_answer_spans
    with pytest.raises(ValueError, match="answer_extractor must be"):
        answer_extractor("ner")


def test_answer_conditioned_source_is_answer_sep_context_and_fits(qagen):
    _, tokenizer, sep = qagen
    context = tokenizer("Team Alpha beat team Beta in Paris.")["input_ids"]
    answer = tokenizer("Paris", add_special_tokens=False)["input_ids"]
    source = encode_answer_conditioned_source(tokenizer, "Paris", context, sep, max_len=64)
    assert source == [tokenizer.bos_token_id, *answer, sep, *context[1:]]
    short = encode_answer_conditioned_source(tokenizer, "Paris", context, sep, max_len=len(answer) + 5)
    assert len(short) == len(answer) + 5 and short[-1] == tokenizer.eos_token_id
    assert short[: len(answer) + 2] == [tokenizer.bos_token_id, *answer, sep]


@pytest.fixture(scope="module")
def conditioned(qagen):
    """A random QAGen that claims answer-conditioned training (as train-qagen records it), its
    separator not favoured, so that its questions are not empty."""
    _, tokenizer, sep = qagen
    model = build_tiny_bart(
        tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2, ffn_dim=64, dropout=0.0
    )
    model.config.qa_answer_conditioned = True
    return model.eval(), tokenizer, sep


def spans_scorer(qagen, **overrides):
    model, tokenizer, _ = qagen
    config = QualsConfig(generation=SMALL_GEN, answer_extractor="regex", summary_side="clean", **overrides)
    return QualsScorer(model, tokenizer, config)


def test_spans_mode_asks_one_question_per_span_and_scores_it_on_both_sides(conditioned):
    model, tokenizer, sep = conditioned
    scorer = spans_scorer(conditioned, answers="spans")
    summary = "Team Alpha beat Beta 3-1 in Paris."
    [[result]] = scorer.score_groups([TOY_DOC], [[summary]])
    assert [p.answer for p in result.pairs] == ["Team Alpha", "Beta", "3-1", "Paris"]
    assert result.n_generated == 4 and result.n_qa == 4
    summary_ids = tokenizer([summary], return_tensors="pt")
    for pair in result.pairs:
        answer = tokenizer(pair.answer, add_special_tokens=False)["input_ids"]
        assert pair.tokens[-len(answer) - 2 :] == [sep, *answer, tokenizer.eos_token_id]
        assert pair.tokens.count(sep) == 1 and pair.tokens.index(sep) > 0  # a non-empty question
        target = torch.tensor([pair.tokens])
        clean = teacher_forced_logprobs(model, summary_ids["input_ids"], summary_ids["attention_mask"],
                                        target, torch.ones_like(target))[0].tolist()
        assert pair.summary_logprobs == pytest.approx(clean, abs=1e-5)  # the plain summary, no penalty
        assert pair.doc_logprobs == pytest.approx(naive_doc_logprobs(model, tokenizer, TOY_DOC, pair.tokens),
                                                  abs=1e-5)
        assert pair.score == pytest.approx(
            sum(pair.doc_logprobs) / len(target[0]) - sum(clean) / len(target[0]), abs=1e-5
        )
    assert result.quals == pytest.approx(sum(p.score for p in result.pairs) / 4, abs=1e-6)
    lowest = spans_scorer(conditioned, answers="spans", aggregation="min").score([TOY_DOC], [summary])[0]
    assert lowest.quals == pytest.approx(min(p.score for p in result.pairs), abs=1e-6)
    # the invented age and nationality each get their own pair, whatever a diverse beam search would ask
    [invented] = scorer.score([TOY_DOC], [INVENTED])
    assert {"40", "Japanese"} <= {p.answer for p in invented.pairs}


def test_both_adds_a_span_pair_only_where_no_generated_pair_answers(conditioned, monkeypatch):
    scorer = spans_scorer(conditioned, answers="both")
    _, _, sep = conditioned
    generated = QACandidate("Where?", "paris", [7, sep, 9, 2], [-0.5] * 4, [-0.5] * 4, 0)
    monkeypatch.setattr(scorer, "generate", lambda texts: [GeneratedQA(20, [generated]) for _ in texts])
    [[result]] = scorer.score_groups([TOY_DOC], [["Team Alpha beat Beta in Paris."]])
    assert [p.answer for p in result.pairs] == ["paris", "Team Alpha", "Beta"]  # no second "Paris"
    assert result.n_generated == 20 + 3  # generated hypotheses + spans asked


def test_with_span_pairs_and_answer_token_scores_by_hand():
    def qa(answer, tokens, summary_lp):
        return QACandidate("q?", answer, tokens, summary_lp, summary_lp, 0)

    kept = [qa("Paris", [5, 99, 6, 2], [-1.0] * 4)]
    spans = [qa("paris", [7, 99, 6, 2], [-1.0] * 4), qa("40", [8, 8, 99, 9, 2], [-0.5] * 3 + [-0.25, -1.0])]
    assert [c.answer for c in with_span_pairs(kept, spans)] == ["Paris", "40"]
    assert with_span_pairs([], spans) == spans
    # the invented "40": the document gives its answer token -4.25; the summary -0.25
    doc = [-1.0, -0.5, -0.5, -4.25, -1.0]
    all_tokens = score_candidate(spans[1], doc, QualsConfig(summary_side="clean"), 99)
    assert all_tokens.score == pytest.approx((-7.25 - -2.75) / 5)  # -0.9
    answer_only = score_candidate(spans[1], doc, QualsConfig(summary_side="clean", pair_tokens="answer"), 99)
    assert answer_only.score == pytest.approx(-4.0)  # the answer token alone: 4x the signal


def test_spans_need_an_answer_conditioned_qagen(qagen):
    with pytest.raises(ValueError, match="answer_conditioned"):
        spans_scorer(qagen, answers="spans")
    with pytest.raises(ValueError, match="quals.aggregation must be one of mean, min"):
        QualsConfig(aggregation="median")


def test_span_pairs_are_cached_by_content(conditioned, tmp_path, monkeypatch):
    from consum.quals.cache import QACache

    model, tokenizer, _ = conditioned
    config = QualsConfig(generation=SMALL_GEN, answers="spans", answer_extractor="regex")
    first = QualsScorer(model, tokenizer, config, cache=QACache(tmp_path / "qa.sqlite"))
    expected = first.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])[0]

    def fail(*args, **kwargs):
        raise AssertionError("questions were generated despite a cache hit")

    import consum.quals.scorer as scorer_module

    monkeypatch.setattr(scorer_module, "diverse_beam_search", fail)
    again = QualsScorer(model, tokenizer, config, cache=QACache(tmp_path / "qa.sqlite"))
    got = again.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])[0]
    assert [p.tokens for p in got.pairs] == [p.tokens for p in expected.pairs] and got.quals == expected.quals
    other = QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN, answers="spans",
                                                      answer_extractor="regex", question_beams=2),
                        cache=QACache(tmp_path / "qa.sqlite"))
    with pytest.raises(AssertionError, match="despite a cache hit"):  # other settings, other key
        other.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])



def test_answerable_prefers_grounded_then_the_question_the_summary_best_answers(conditioned, monkeypatch):
    model, tokenizer, sep = conditioned
    summary = "Team Alpha beat Beta in Paris."
    scorer = spans_scorer(conditioned, answers="spans", question_choice="answerable", question_beams=3)
    monkeypatch.setattr(scorer, "_extract_answers", lambda text: ["Paris"])

    def ids(text):
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    beams = [ids(" Where did Team Gamma play?"), ids(" Where did Alpha win?"), ids(" Who won in Paris?")]

    def search(model, input_ids, attention_mask, config, *, end_token):  # 3 beams ending at SEP, best first
        assert end_token == sep and config.num_beams == 3 and config.num_groups == 1
        return [[Hypothesis([*q, sep], [0.0] * (len(q) + 1), [0.0] * (len(q) + 1), -k, 0)
                 for k, q in enumerate(beams)] for _ in input_ids]

    import consum.quals.scorer as scorer_module

    monkeypatch.setattr(scorer_module, "diverse_beam_search", search)
    [[result]] = scorer.score_groups([TOY_DOC], [[summary]])
    [pair] = result.pairs
    answer = ids("Paris")
    targets = [[*q, sep, *answer, tokenizer.eos_token_id] for q in beams]
    summary_ids = tokenizer(summary)["input_ids"]
    logprobs = scorer._summary_logprobs([summary_ids], [(0, t) for t in targets])
    answerable = [sum(lp[len(q) + 1 : -1]) / len(answer) for q, lp in zip(beams, logprobs)]
    # "Team Gamma" is not in the summary: only the two grounded beams compete, on answerability
    assert [grounded(tokenizer.decode(q), summary) for q in beams] == [False, True, True]
    expected = 1 + max(range(2), key=lambda k: (answerable[1 + k], -k))
    assert pair.tokens == targets[expected] and pair.answer == "Paris"
    assert pair.summary_logprobs == pytest.approx(logprobs[expected], abs=1e-6)
    first = spans_scorer(conditioned, answers="spans", question_beams=3)  # question_choice=first
    monkeypatch.setattr(first, "_extract_answers", lambda text: ["Paris"])
    [[top_beam]] = first.score_groups([TOY_DOC], [[summary]])
    assert top_beam.pairs[0].tokens == targets[0]  # the top beam, ungrounded or not
    grounded_first = spans_scorer(conditioned, answers="spans", question_beams=3, question_choice="grounded")
    monkeypatch.setattr(grounded_first, "_extract_answers", lambda text: ["Paris"])
    [[best_grounded]] = grounded_first.score_groups([TOY_DOC], [[summary]])
    assert best_grounded.pairs[0].tokens == targets[1]  # the best beam that names only the summary's names
