"""Answer spans of a summary: the entities and numbers QUALS asks about with ``quals.answers=spans``.

The original lets QAGen's diverse beam search choose what to ask; on factworld's XSum-like references
that search often asks nothing about the one span the document does not support (an invented age or
nationality got a kept pair in 58% of references, ../shared/notes/quals-coverage.md). QAGS (Wang et
al. 2020) instead extracts answer candidates (named entities, numbers, noun chunks) and asks a
question about each. With ``quals.answers=spans`` every span an extractor finds becomes an answer,
and the same QAGen (trained with ``qagen_data.answer_conditioned`` > 0) writes its question.

Extractors (``quals.answer_extractor``):

* ``regex`` (no dependency; ``auto`` falls back to it): dates ("March 4"), numbers with their
  currency, unit and percent ("$4.5 million", "12,437", "67%", "2-1"), and runs of capitalised
  words ("Hannah Weber", "Kelso Rovers", "Japanese"), minus sentence-initial function words;
* ``spacy``: spaCy's named entities (``en_core_web_sm`` unless ``spacy:<model>``), when installed;
* ``factworld``: factworld's lexicon matcher (the world's own NER: exact on factworld, nothing
  elsewhere).

Each returns the distinct answer strings in order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_NUMBER = (
    r"[$£€]?\d+(?:[.,]\d+)*(?:-\d+(?![\w-]))?"  # 12,437 / $4.5 / a score 2-1 (not 55-year-old)
    r"(?:\s(?:million|billion|thousand|per cent))?%?"
)
# a capitalised word: letters, apostrophes, dots ("St.") and inner capitals ("McDonald")
_CAP_WORD = r"[A-Z][A-Za-z'’.&]*[A-Za-z]|[A-Z]"
# name particles join a run; "of" does not ("Hannah Weber of Kelso Rovers" is two answers)
_CAP_RUN = rf"(?:{_CAP_WORD})(?:\s+(?:(?:de|du|la|van|von|der)\s+)?(?:{_CAP_WORD}))*"
_SPAN = re.compile(rf"\b(?:{_MONTHS})\s+\d{{1,2}}\b(?:,\s*\d{{4}})?|(?<![\w.])(?:{_NUMBER})|\b(?:{_CAP_RUN})")
# words that open a sentence or a clause in capitals without naming anything
_FUNCTION_WORDS = frozenset(
    "A An The This That These Those In On At By For From With After Before During Following As "
    "He She It They We I You His Her Its Their Our My Your There Here But And Or If When While "
    "Mr Mrs Ms Dr".split()
)


def regex_answer_spans(text: str) -> list[str]:
    """Dates, numbers and capitalised names of ``text``, in order, each once.

    >>> regex_answer_spans("The 40-year-old Japanese chief executive Hannah Weber of Kelso Rovers "
    ...                    "paid $4.5 million on March 4, a 2-1 deal.")
    ['40', 'Japanese', 'Hannah Weber', 'Kelso Rovers', '$4.5 million', 'March 4', '2-1']
    >>> regex_answer_spans("Exeter-based Draycott Pharma won 67% of the vote. She said 12,437 came.")
    ['Exeter', 'Draycott Pharma', '67%', '12,437']
    """
    out: list[str] = []
    for match in _SPAN.finditer(text):
        span = match.group(0).rstrip(".")
        words = span.split()
        while words and words[0] in _FUNCTION_WORDS:  # "The Hague" loses its article; a lone "The" goes
            words = words[1:]
        span = " ".join(words)
        if span and span not in out:
            out.append(span)
    return out


def factworld_answer_spans(text: str) -> list[str]:
    """factworld's lexicon entities, ages by their digits (as its QA answers give them)."""
    from consum.data.factworld.entities import AGE, find_mentions

    out: list[str] = []
    for mention in find_mentions(text):
        surface = mention.surface
        if mention.entity_type == AGE:
            surface = re.search(r"\d+", surface).group(0)
        if surface not in out:
            out.append(surface)
    return out


def spacy_answer_spans(model: str = "en_core_web_sm") -> Callable[[str], list[str]]:
    try:
        import spacy

        nlp = spacy.load(model)
    except (ImportError, OSError) as error:
        raise ImportError(
            f"quals.answer_extractor=spacy needs spaCy and its model {model!r}: pip install spacy && "
            f"python -m spacy download {model}; or use answer_extractor=regex"
        ) from error

    def extract(text: str) -> list[str]:
        return list(dict.fromkeys(entity.text for entity in nlp(text).ents))

    return extract


def answer_extractor(name: str) -> Callable[[str], list[str]]:
    """The extractor ``quals.answer_extractor`` names: regex | factworld | spacy[:model] | auto."""
    if name == "regex":
        return regex_answer_spans
    if name == "factworld":
        return factworld_answer_spans
    if name == "spacy" or name.startswith("spacy:"):
        return spacy_answer_spans(name.partition(":")[2] or "en_core_web_sm")
    if name == "auto":
        try:
            return spacy_answer_spans()
        except ImportError:
            return regex_answer_spans
    raise ValueError(f"quals.answer_extractor must be regex, factworld, spacy[:model] or auto; got {name!r}")
