"""QUALS's levers beyond the original: answer-span QA pairs, min aggregation, answer-token scores.

Hand-built examples: which spans a summary yields (an invented age must get a pair), what the
answer-conditioned encoder input is, and a QUALS computed by hand from given log-probs.
"""

import sys
import types

import pytest
import torch

from consum.data.qa import encode_answer_conditioned_source
from consum.generation._decoding import Hypothesis
from consum.generation.scoring import teacher_forced_logprobs
from consum.models import build_tiny_bart
from consum.quals.answers import (
    answer_extractor,
    chunk_answer_spans,
    factworld_answer_spans,
    looks_lowercased,
    regex_answer_spans,
    spacy_answer_spans,
)
from consum.quals.config import QualsConfig
from consum.quals.filtering import QACandidate
from consum.quals.generated import GeneratedQA
from consum.quals.scorer import QualsScorer, score_candidate
from consum.quals.span_questions import grounded, with_span_pairs
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


# QAGS XSum summaries as the benchmark gives them (lowercased but the first letter), the answers
# ``chunks`` gives, worked out by hand from its rules, and what ``regex`` gave before it knew casing
ENGLISH = [
    ("Two security guards have been threatened during a robbery at a bank in edinburgh.",
     ["Two", "security guards", "robbery", "bank", "edinburgh"], ["Two"]),
    ("Big ben's 150th anniversary has been chosen as the date to celebrate london's history.",
     ["Big ben", "150th anniversary", "date", "celebrate london", "history"], ["Big", "150"]),
    ("a collection of 37 paintings by sir winston churchill has been accepted for the nation by his "
     "daughter.",
     ["collection", "37", "paintings", "sir winston churchill", "nation", "daughter"], ["37"]),
    ("India's batsmen dominated the first day of the third and final test against south africa with an "
     "innings-and-96-run win.",
     ["India", "batsmen dominated", "first day", "third", "final test", "south africa",
      "innings-and-96-run win"],
     ["India's", "96"]),
    ("Former leyton orient striker dean cox says he will have to wait four months to play in the english "
     "football league.",
     ["Former leyton orient", "striker dean cox", "four", "months", "play", "english football league"],
     ["Former"]),
    ("A man who admitted downloading and viewing child pornography has been spared jail.",
     ["man", "downloading", "viewing child pornography", "jail"], []),
    ("The new england patriots beat seattle seahawks 28-24 to win super bowl xlix in glendale, arizona with "
     "brady named as mvp for the third time in his fourth super bowl victory.",
     ["new england patriots", "beat seattle seahawks", "28-24", "win super bowl xlix", "glendale", "arizona",
      "brady named", "mvp", "third time", "fourth super bowl victory"], ["28-24"]),
    ("Nominations are open for cnn heroes 2015. Doyne, nepal, met women and children in nepal. The school is "
     "home to about 50 children.",
     ["Nominations", "cnn heroes", "2015", "Doyne", "nepal", "met women", "children", "school", "50"],
     ["Nominations", "2015", "Doyne", "50"]),
]
# the same summaries cased as written (the man's sentence names nothing: its casing is the same)
CASED = [
    "Two security guards have been threatened during a robbery at a bank in Edinburgh.",
    "Big Ben's 150th anniversary has been chosen as the date to celebrate London's history.",
    "A collection of 37 paintings by Sir Winston Churchill has been accepted for the nation by his daughter.",
    "India's batsmen dominated the first day of the third and final Test against South Africa with an "
    "innings-and-96-run win.",
    "Former Leyton Orient striker Dean Cox says he will have to wait four months to play in the English "
    "Football League.",
    "A man who admitted downloading and viewing child pornography has been spared jail.",
    "The New England Patriots beat Seattle Seahawks 28-24 to win Super Bowl XLIX in Glendale, Arizona with "
    "Brady named as MVP for the third time in his fourth Super Bowl victory.",
    "Nominations are open for CNN Heroes 2015. Doyne, Nepal, met women and children in Nepal. The school is "
    "home to about 50 children.",
]


@pytest.mark.parametrize(("lowercased", "expected", "regex_before"), ENGLISH)
def test_chunks_finds_noun_phrases_numbers_and_dates_in_lowercased_english(
    lowercased, expected, regex_before
):
    assert chunk_answer_spans(lowercased) == expected
    assert looks_lowercased(lowercased)
    assert regex_answer_spans(lowercased) == expected  # regex hands a lowercased text to chunks
    assert len(expected) > len(regex_before)  # where capitals found almost nothing
    cased = CASED[[row[0] for row in ENGLISH].index(lowercased)]
    assert [a.lower() for a in chunk_answer_spans(cased)] == [a.lower() for a in expected]  # casing-blind


def test_regex_on_cased_english_is_unchanged():
    expected = [
        ["Two", "Edinburgh"],
        ["Big Ben's", "150", "London's"],
        ["37", "Sir Winston Churchill"],
        ["India's", "Test", "South Africa", "96"],
        ["Former Leyton Orient", "Dean Cox", "English Football League"],
        ["man", "downloading", "viewing child pornography", "jail"],  # no name to tell its casing: chunks
        ["New England Patriots", "Seattle Seahawks", "28-24", "Super Bowl XLIX", "Glendale", "Arizona",
         "Brady", "MVP", "Super Bowl"],
        ["Nominations", "CNN Heroes", "2015", "Doyne", "Nepal", "50"],
    ]
    assert [regex_answer_spans(text) for text in CASED] == expected
    assert [looks_lowercased(text) for text in CASED] == [False] * 5 + [True] + [False] * 2


def test_a_text_is_lowercased_when_only_sentence_starts_are_capitalised_and_it_has_8_words():
    assert looks_lowercased("the crowd cheered and then it rained hard.")  # 8 words, no capital at all
    assert not looks_lowercased("the crowd cheered and then it rained.")  # 7: too few to tell
    assert not looks_lowercased("The crowd cheered. It rained.")
    assert looks_lowercased('He asked "why?" Then they left the room early.')  # a sentence after ?"
    assert looks_lowercased("On monday I met the new england patriots coach in boston.")  # "I" is no name
    assert not looks_lowercased("On monday we met the new england Patriots coach in boston.")
    assert not looks_lowercased("they met in paris, as the crowd cheered. then UEFA spoke.")  # mid-sentence


def test_chunks_rules_dates_numbers_counts_verbs_and_long_runs():
    dates = "the final is on 31 may, the draw on may 27 and the replay on june 7 or March 4, 2016."
    assert chunk_answer_spans(dates) == [
        "final", "31 may", "draw", "may 27", "replay", "june 7", "March 4, 2016",
    ]
    numbers = "a fine of £ 90, a £10m fund, 12 per cent of voters and a 10,000-seater arena."
    assert chunk_answer_spans(numbers) == [
        "fine", "£ 90", "£10m", "fund", "12 per cent", "voters", "10,000-seater arena",
    ]
    # a spelled-out count is an answer where it counts; "one of" counts nothing
    assert chunk_answer_spans("two hundred fans met one of the three players.") == [
        "two hundred", "fans met", "three", "players",  # a verb after its subject joins the run
    ]
    # the word after an auxiliary or "who" is a verb, "to" or not between; after a preposition it is not
    verbs = "she has been jailed. they will have to leave. fans who left went to leeds."
    assert chunk_answer_spans(verbs) == ["fans", "went", "leeds"]
    assert chunk_answer_spans("police said that brighton and hove albion football club fans rioted.") == [
        "police", "brighton", "hove albion football", "club fans rioted",
    ]
    # runs over 4 words: the fewest near-equal pieces, the longer first
    assert chunk_answer_spans("b c d e f g h j k, l m n o p.") == ["b c d", "e f g", "h j k", "l m n", "o p"]
    assert chunk_answer_spans("the uk’s chief medical officer and the uk’s chief medical officer.") == [
        "uk", "chief medical officer",
    ]
    assert chunk_answer_spans("") == [] and chunk_answer_spans("it is what it is.") == []


def test_answer_extractor_names_chunks_and_refuses_unknown_names():
    assert answer_extractor("chunks") is chunk_answer_spans
    with pytest.raises(ValueError, match="regex, chunks, factworld, spacy"):
        answer_extractor("noun_chunks")


def test_spacy_without_spacy_or_its_model_says_how_to_install_and_what_else_to_use(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # "import spacy" fails, installed or not
    no_spacy = (r"spaCy, which is not installed: pip install spacy && python -m spacy download "
                r"en_core_web_sm; or use quals.answer_extractor=chunks")
    with pytest.raises(ImportError, match=no_spacy) as info:
        answer_extractor("spacy")
    assert "regex" in str(info.value)
    assert answer_extractor("auto") is regex_answer_spans  # auto falls back

    def no_model(name):
        raise OSError(f"[E050] Can't find model '{name}'")

    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=no_model))
    no_model_message = (r"spaCy model 'en_core_web_md', which is not installed: "
                        r"python -m spacy download en_core_web_md .*answer_extractor=chunks")
    with pytest.raises(ImportError, match=no_model_message):
        answer_extractor("spacy:en_core_web_md")
    assert answer_extractor("auto") is regex_answer_spans


class _Span(list):
    """A stand-in for a spaCy span: tokens with ``pos_``, its token offsets in the doc and its text."""

    def __init__(self, doc_words, start, end):
        super().__init__(types.SimpleNamespace(pos_=pos) for _, pos in doc_words[start:end])
        self.doc_words, self.start, self.end = doc_words, start, end
        self.text = " ".join(word for word, _ in doc_words[start:end])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _Span(self.doc_words, self.start + index.start, self.end)
        return super().__getitem__(index)


def test_spacy_answers_are_entities_and_noun_chunks_in_order_without_determiners(monkeypatch):
    words = [("Two", "NUM"), ("guards", "NOUN"), ("were", "AUX"), ("threatened", "VERB"), ("at", "ADP"),
             ("a", "DET"), ("bank", "NOUN"), ("in", "ADP"), ("Edinburgh", "PROPN"), ("by", "ADP"),
             ("him", "PRON")]
    ents = [_Span(words, 0, 1), _Span(words, 8, 9)]
    chunks = [_Span(words, 0, 2), _Span(words, 5, 7), _Span(words, 8, 9), _Span(words, 10, 11)]

    def nlp(parsed):
        def parse(text):
            return types.SimpleNamespace(ents=ents, noun_chunks=chunks, has_annotation=lambda _: parsed)

        return parse

    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=lambda name: nlp(True)))
    assert spacy_answer_spans()("…") == ["Two", "Two guards", "bank", "Edinburgh"]
    monkeypatch.setitem(sys.modules, "spacy", types.SimpleNamespace(load=lambda name: nlp(False)))
    assert spacy_answer_spans()("…") == ["Two", "Edinburgh"]  # no parser: its entities only


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

    import consum.quals.span_questions as span_module

    monkeypatch.setattr(span_module, "diverse_beam_search", fail)
    again = QualsScorer(model, tokenizer, config, cache=QACache(tmp_path / "qa.sqlite"))
    got = again.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])[0]
    assert [p.tokens for p in got.pairs] == [p.tokens for p in expected.pairs] and got.quals == expected.quals
    other = QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN, answers="spans",
                                                      answer_extractor="regex", question_beams=2),
                        cache=QACache(tmp_path / "qa.sqlite"))
    with pytest.raises(AssertionError, match="despite a cache hit"):  # other settings, other key
        other.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])
    # pair_tokens=answer stores the answer's summary-side log-probs only: never served to pair_tokens=all
    answer_only = QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN, answers="spans",
                                                            answer_extractor="regex", pair_tokens="answer"),
                              cache=QACache(tmp_path / "qa.sqlite"))
    with pytest.raises(AssertionError, match="despite a cache hit"):
        answer_only.score([TOY_DOC], ["Team Alpha beat Beta in Paris."])


def test_answerable_prefers_grounded_then_the_question_the_summary_best_answers(conditioned, monkeypatch):
    model, tokenizer, sep = conditioned
    summary = "Team Alpha beat Beta in Paris."
    scorer = spans_scorer(conditioned, answers="spans", question_choice="answerable", question_beams=3)
    monkeypatch.setattr(scorer, "extract_answers", lambda text: ["Paris"])

    def ids(text):
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    beams = [ids(" Where did Team Gamma play?"), ids(" Where did Alpha win?"), ids(" Who won in Paris?")]

    def search(model, input_ids, attention_mask, config, *, end_token):  # 3 beams ending at SEP, best first
        assert end_token == sep and config.num_beams == 3 and config.num_groups == 1
        return [[Hypothesis([*q, sep], [0.0] * (len(q) + 1), [0.0] * (len(q) + 1), -k, 0)
                 for k, q in enumerate(beams)] for _ in input_ids]

    import consum.quals.span_questions as span_module

    monkeypatch.setattr(span_module, "diverse_beam_search", search)
    [[result]] = scorer.score_groups([TOY_DOC], [[summary]])
    [pair] = result.pairs
    answer = ids("Paris")
    targets = [[*q, sep, *answer, tokenizer.eos_token_id] for q in beams]
    summary_ids = tokenizer(summary)["input_ids"]
    logprobs = span_module.summary_logprobs(scorer, [summary_ids], [(0, t) for t in targets])
    answerable = [sum(lp[len(q) + 1 : -1]) / len(answer) for q, lp in zip(beams, logprobs)]
    # "Team Gamma" is not in the summary: only the two grounded beams compete, on answerability
    assert [grounded(tokenizer.decode(q), summary) for q in beams] == [False, True, True]
    expected = 1 + max(range(2), key=lambda k: (answerable[1 + k], -k))
    assert pair.tokens == targets[expected] and pair.answer == "Paris"
    assert pair.summary_logprobs == pytest.approx(logprobs[expected], abs=1e-6)
    first = spans_scorer(conditioned, answers="spans", question_beams=3)  # question_choice=first
    monkeypatch.setattr(first, "extract_answers", lambda text: ["Paris"])
    [[top_beam]] = first.score_groups([TOY_DOC], [[summary]])
    assert top_beam.pairs[0].tokens == targets[0]  # the top beam, ungrounded or not
    grounded_first = spans_scorer(conditioned, answers="spans", question_beams=3, question_choice="grounded")
    monkeypatch.setattr(grounded_first, "extract_answers", lambda text: ["Paris"])
    [[best_grounded]] = grounded_first.score_groups([TOY_DOC], [[summary]])
    assert best_grounded.pairs[0].tokens == targets[1]  # the best beam that names only the summary's names
