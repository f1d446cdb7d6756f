"""QUALS is not BART-bound: tiny random BART, T5 and BERT2BERT (warm-started encoder-decoder) QAGens,
saved and loaded by path like hub checkpoints, through both QA paths (generated and answer spans).

For each: the document side computed once per document equals teacher forcing it per pair, scores
survive ``save_pretrained`` / ``from_pretrained``, and a batch of summaries scores as each alone.
"""

import pytest
import torch
from transformers import T5Config, T5ForConditionalGeneration

from consum.generation.scoring import answer_positions, right_padded, teacher_forced_logprobs
from consum.models import add_separator_token, build_tiny_bart, train_bpe_tokenizer
from consum.models.warm_start import resize_embeddings, warm_started_seq2seq
from consum.quals.config import QAGenerationConfig
from consum.quals.scorer import QualsScorer
from tests.conftest import TOY_TEXTS, wordpiece_tokenizer
from tests.unit.quals.test_scorer import naive_doc_logprobs

GEN = QAGenerationConfig(num_beams=4, num_groups=4, min_len=2, max_len=8)
SUMMARIES = ["Team Alpha beat Beta 3-1 in Paris.", "Ana Silva scored twice in Lyon.", "Omega lost in Rome."]
DOCUMENT = TOY_TEXTS[0] + " " + TOY_TEXTS[1]


def tiny_bart():
    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    add_separator_token(tokenizer, "<sep>")
    model = build_tiny_bart(tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                            ffn_dim=64, dropout=0.0)
    return model, tokenizer


def tiny_t5():
    tokenizer = wordpiece_tokenizer(with_start_token=False)
    add_separator_token(tokenizer, "<sep>")
    config = T5Config(vocab_size=len(tokenizer), d_model=32, d_ff=64, d_kv=16, num_layers=1,
                      num_decoder_layers=1, num_heads=2, dropout_rate=0.0,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      decoder_start_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    return T5ForConditionalGeneration(config), tokenizer


def tiny_bert2bert(bert_dir):
    """A tiny random BERT checkpoint warm-started as the English QAGen is."""
    model, tokenizer = warm_started_seq2seq({"encoder": str(bert_dir), "decoder_layers": 1})
    add_separator_token(tokenizer, "<sep>")
    resize_embeddings(model, len(tokenizer))
    return model, tokenizer


@pytest.fixture(scope="module", params=["bart", "t5", "bert2bert"])
def qagen_dir(request, tmp_path_factory, tiny_bert_dir):
    """A tiny random QAGen of each architecture that claims answer-conditioned training, saved."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    model, tokenizer = {"bart": tiny_bart, "t5": tiny_t5,
                        "bert2bert": lambda: tiny_bert2bert(tiny_bert_dir)}[request.param]()
    model.config.qa_answer_conditioned = True
    model.config.qa_separator = "<sep>"
    model.eval().save_pretrained(tmp_path / "qagen")
    tokenizer.save_pretrained(tmp_path / "qagen")
    return tmp_path / "qagen"


def scorer_of(path, **overrides) -> QualsScorer:
    return QualsScorer.from_pretrained(path, device="cpu", generation=GEN.__dict__, answer_extractor="regex",
                                       **overrides)


@pytest.mark.parametrize("answers", ["generated", "spans"])
def test_both_qa_paths_score_every_architecture(qagen_dir, answers):
    scorer = scorer_of(qagen_dir, answers=answers)
    results = scorer.score([DOCUMENT] * 3, SUMMARIES)
    assert [type(r.quals) in (float, type(None)) for r in results] == [True] * 3
    if answers == "spans":  # every summary has spans (names, numbers), and each gets a scored pair
        assert all(r.n_qa > 0 and r.quals is not None for r in results)
    for r in results:
        for pair in r.pairs:  # the document side is the pair teacher-forced on the whole document
            assert pair.doc_logprobs == pytest.approx(
                naive_doc_logprobs(scorer.model, scorer.tokenizer, DOCUMENT, pair.tokens), abs=1e-5)


def test_a_batch_of_span_summaries_scores_as_each_alone(qagen_dir):
    scorer = scorer_of(qagen_dir, answers="spans", question_choice="answerable", question_beams=3)
    together = scorer.score([DOCUMENT] * 3, SUMMARIES)
    for summary, batched in zip(SUMMARIES, together):
        [alone] = scorer_of(qagen_dir, answers="spans", question_choice="answerable",
                            question_beams=3).score([DOCUMENT], [summary])
        assert [p.question for p in alone.pairs] == [p.question for p in batched.pairs]
        assert alone.quals == pytest.approx(batched.quals, abs=1e-5)


def test_a_saved_qagen_scores_as_before_saving(qagen_dir, tmp_path):
    scorer = scorer_of(qagen_dir, answers="spans")
    scorer.model.save_pretrained(tmp_path / "again")
    scorer.tokenizer.save_pretrained(tmp_path / "again")
    reloaded = scorer_of(tmp_path / "again", answers="spans")
    assert [r.quals for r in reloaded.score([DOCUMENT], SUMMARIES[:1])] == pytest.approx(
        [r.quals for r in scorer.score([DOCUMENT], SUMMARIES[:1])], abs=1e-6)


def test_the_lm_head_on_the_answer_alone_gives_the_answers_log_probs(qagen_dir):
    """pair_tokens=answer asks the model for the answer's logits only (logits_to_keep where the model
    takes it: BART, BERT2BERT; T5 computes all and keeps those): the same log-probs there, 0 elsewhere."""
    scorer = scorer_of(qagen_dir)
    sep, eos = scorer.sep_id, scorer.tokenizer.eos_token_id
    targets = [[7, 8, sep, 9, 10, eos], [11, sep, 12, eos], [sep, eos]]
    ids, mask = right_padded(targets, scorer.tokenizer.pad_token_id)
    source = scorer.tokenizer([DOCUMENT], return_tensors="pt")
    rows = torch.zeros(len(targets), dtype=torch.long)  # every target reads the one document
    full = teacher_forced_logprobs(scorer.model, source["input_ids"], source["attention_mask"], ids, mask,
                                   source_rows=rows)
    needed = answer_positions(targets, sep)
    answer_only = teacher_forced_logprobs(scorer.model, source["input_ids"], source["attention_mask"], ids,
                                          mask, source_rows=rows, needed=needed)
    assert answer_only[needed].tolist() == pytest.approx(full[needed].tolist(), abs=1e-5)
    assert not answer_only[~needed].any() and needed.sum() == 3

