"""ROUGE F1 with Google's ``rouge_score`` package, and the lead baseline.

The original scored with files2rouge (ROUGE-1.5.5 on PTB-tokenized text, one summary per line);
``rouge_score`` with stemming is the usual Python stand-in and gives close but not identical numbers.
ROUGE-L here is the sentence-level LCS (``rougeL``), which is what files2rouge computes on one-line
summaries.

Worked example: prediction "the cat sat", reference "the cat sat on the mat". ROUGE-1 overlap is 3
unigrams, P = 3/3, R = 3/6, F1 = 2/3; ROUGE-2 overlap 2 of 2 and 5 bigrams, F1 = 4/7; ROUGE-L LCS = 3,
F1 = 2/3.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")

# Titles whose trailing period does not end a sentence.
_ABBREVIATIONS = tuple("Mr. Mrs. Ms. Dr. Prof. St. Gen. Sen. Rep. Gov. Lt. Col. Sgt.".split())
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(\[]?[A-Z0-9])")


@functools.lru_cache(maxsize=2)
def _scorer(stemming: bool) -> rouge_scorer.RougeScorer:
    # Building the scorer loads the stemmer; one per setting, reused across calls.
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=stemming)


def rouge_scores(
    predictions: Sequence[str], references: Sequence[str], stemming: bool = True
) -> list[dict[str, float]]:
    """ROUGE-1/2/L F1 of each prediction against its reference: ``[{"rouge1", "rouge2", "rougeL"}, ...]``."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scorer = _scorer(stemming)
    results = []
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)  # rouge_score's order is (target, prediction)
        results.append({name: scores[name].fmeasure for name in ROUGE_TYPES})
    return results


def rouge_mean_f1(
    predictions: Sequence[str], references: Sequence[str], stemming: bool = True
) -> list[float]:
    """Per pair, the mean of the ROUGE-1, ROUGE-2 and ROUGE-L F1 (the ConSeq-ROUGE reward of the paper)."""
    return [
        sum(scores[name] for name in ROUGE_TYPES) / len(ROUGE_TYPES)
        for scores in rouge_scores(predictions, references, stemming)
    ]


def split_sentences(text: str) -> list[str]:
    """Split on ., ! or ? followed by whitespace and a capital, digit or opening quote; keep titles
    like "Mr." attached.

    >>> split_sentences("Mr. Smith left. He was 5. 'No', she said!")
    ['Mr. Smith left.', 'He was 5.', "'No', she said!"]
    """
    pieces = _SENTENCE_BREAK.split(text.strip())
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [sentence for sentence in sentences if sentence]


def lead_baseline(document: str, n_sentences: int = 1) -> str:
    """The first ``n_sentences`` sentences of the document (LEAD-1 for XSum, LEAD-3 for CNN/DM)."""
    if n_sentences < 1:
        raise ValueError(f"n_sentences must be >= 1, got {n_sentences}")
    return " ".join(split_sentences(document)[:n_sentences])
