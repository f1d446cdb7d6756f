"""Long documents: windows that cover the whole document, each QA pair's best-supported window, and
the scorer's windowed document side equal to teacher forcing each window by hand."""

import pytest
import torch

from consum.generation.scoring import answer_positions, teacher_forced_logprobs
from consum.models import add_separator_token, build_tiny_bart, train_bpe_tokenizer
from consum.quals.config import QualsConfig
from consum.quals.document import best_window, document_windows
from consum.quals.filtering import QACandidate
from consum.quals.generated import GeneratedQA
from consum.quals.scorer import QualsScorer
from tests.conftest import TOY_TEXTS
from tests.unit.quals.test_scorer import SMALL_GEN

SEP = 99


def test_windows_overlap_cover_the_document_and_keep_its_special_tokens():
    ids = [0, *range(10, 30), 2]  # <s>, 20 tokens, </s>
    windows = document_windows(ids, max_len=10, stride=4, specials={0, 2})
    assert [w[0] for w in windows] == [0] * 4 and [w[-1] for w in windows] == [2] * 4
    assert [w[1:-1] for w in windows] == [list(range(10, 18)), list(range(14, 22)), list(range(18, 26)),
                                          list(range(22, 30))]  # the last window flush with the end
    assert document_windows(ids, max_len=22, stride=4, specials={0, 2}) == [ids]  # it fits: one window
    # no special tokens (a tokenizer without them): plain cuts
    assert document_windows(list(range(7)), max_len=4, stride=3, specials=set()) == [
        [0, 1, 2, 3], [3, 4, 5, 6]]
    with pytest.raises(ValueError, match="hold no document text"):
        document_windows(ids, max_len=2, stride=1, specials={0, 2})


def test_best_window_by_hand_on_three_windows():
    # QA tokens: question 5, SEP, answer 7 8, </s>. Per window, mean over all tokens / over the answer:
    #   window 0: [-1, -1, -4, -4, -1] -> all -2.2, answer -4.0
    #   window 1: [-3, -2, -1, -1, -3] -> all -2.0, answer -1.0
    #   window 2: [-1, -1, -2, -2, -0.5] -> all -1.3, answer -2.0
    windows = [[-1, -1, -4, -4, -1], [-3, -2, -1, -1, -3], [-1, -1, -2, -2, -0.5]]
    tokens = [5, SEP, 7, 8, 2]
    assert best_window(windows, tokens, SEP, answer_only=False) == 2
    assert best_window(windows, tokens, SEP, answer_only=True) == 1  # the window that holds the answer
    tie = [[-1.0, -2.0], [-2.0, -1.0]]
    assert best_window(tie, [SEP, 2], SEP, answer_only=False) == 0  # a tie: the first


@pytest.fixture(scope="module")
def short_qagen():
    """A tiny random QAGen that reads only 24 tokens: the toy document below needs several windows."""
    tokenizer = train_bpe_tokenizer(TOY_TEXTS, vocab_size=400, min_frequency=1)
    sep = add_separator_token(tokenizer, "<sep>")
    model = build_tiny_bart(tokenizer, d_model=32, encoder_layers=1, decoder_layers=1, attention_heads=2,
                            ffn_dim=64, dropout=0.0, max_position_embeddings=24)
    return model.eval(), tokenizer, sep


def forced(model, source_ids, tokens):
    target = torch.tensor([tokens])
    source = torch.tensor([source_ids])
    return teacher_forced_logprobs(model, source, torch.ones_like(source), target,
                                   torch.ones_like(target))[0].tolist()


@pytest.mark.parametrize("pair_tokens", ["all", "answer"])
def test_each_pair_is_scored_on_its_best_window(short_qagen, monkeypatch, pair_tokens):
    model, tokenizer, sep = short_qagen
    document = " ".join(TOY_TEXTS[:3])  # about 60 tokens
    candidates = [
        QACandidate("q", "Paris", [tokenizer.convert_tokens_to_ids("ĠParis"), sep, 5, 2], [-1.0] * 4,
                    [-1.0] * 4, 0),
        QACandidate("q", "Rome", [7, 8, sep, 9, 2], [-1.0] * 5, [-1.0] * 5, 1),
    ]
    config = QualsConfig(generation=SMALL_GEN, long_documents="windows", window_stride=8, filter="strict",
                         pair_tokens=pair_tokens)
    scorer = QualsScorer(model, tokenizer, config)
    monkeypatch.setattr(scorer, "generate", lambda texts: [GeneratedQA(2, candidates) for _ in texts])
    monkeypatch.setattr("consum.quals.scorer.filter_qa", lambda cands, *args: list(cands))
    [result] = scorer.score([document], ["Paris Rome"])

    ids = tokenizer(document)["input_ids"]
    windows = document_windows(ids, 24, 8, set(tokenizer.all_special_ids))
    assert len(windows) >= 3 and result.document_windows == len(windows) and not result.document_truncated
    chosen = []
    for pair, candidate in zip(result.pairs, candidates):
        by_window = [forced(model, w, candidate.tokens) for w in windows]
        chosen.append(best_window(by_window, candidate.tokens, sep, answer_only=pair_tokens == "answer"))
        expected = by_window[chosen[-1]]
        if pair_tokens == "answer":  # only the answer's tokens are scored; the others read 0
            answer = answer_positions([candidate.tokens], sep)[0].tolist()
            expected = [lp if is_answer else 0.0 for lp, is_answer in zip(expected, answer)]
        assert pair.doc_logprobs == pytest.approx(expected, abs=1e-5)
    assert max(chosen) > 0  # support found after the cut that truncation makes

    truncate = QualsScorer(model, tokenizer, QualsConfig(generation=SMALL_GEN, filter="strict"))
    monkeypatch.setattr(truncate, "generate", lambda texts: [GeneratedQA(2, candidates) for _ in texts])
    [cut] = truncate.score([document], ["Paris Rome"])
    assert cut.document_truncated and cut.document_windows == 1
    first_window = [*ids[:23], ids[-1]]  # the original: the first 23 tokens and </s>
    expected = forced(model, first_window, candidates[0].tokens)
    assert cut.pairs[0].doc_logprobs == pytest.approx(expected, abs=1e-5)
    assert truncate.n_documents_truncated == 1 and scorer.n_documents_windowed == 1
