"""Answer spans of a summary: the entities, numbers and noun phrases QUALS asks about (``answers=spans``).

The original lets QAGen's diverse beam search choose what to ask; on factworld's XSum-like references
that search often asks nothing about the one span the document does not support (an invented age or
nationality got a kept pair in 58% of references, ../shared/notes/quals-coverage.md). QAGS (Wang et
al. 2020) instead extracts answer candidates (named entities, numbers, noun chunks) and asks a
question about each. With ``quals.answers=spans`` every span an extractor finds becomes an answer,
and the same QAGen (trained with ``qagen_data.answer_conditioned`` > 0) writes its question.

Extractors (``quals.answer_extractor``):

* ``regex`` (no dependency; ``auto`` falls back to it): dates ("March 4"), numbers with their
  currency, unit and percent ("$4.5 million", "12,437", "67%", "2-1"), and runs of capitalised
  words ("Hannah Weber", "Kelso Rovers", "Japanese"), minus sentence-initial function words. On a
  lowercased text (see below) capitals name nothing, and ``regex`` returns what ``chunks`` does;
* ``chunks`` (no dependency, casing-blind): dates ("31 may", "march 4, 2016"), numbers (as ``regex``,
  plus "£ 10m" and spelled-out counts: "two" in "two security guards"), and noun-phrase-like chunks:
  maximal runs of content words between function words and punctuation, cut at a possessive ("big
  ben's 150th anniversary": "big ben", "150th anniversary"); see ``chunk_answer_spans`` for its rules;
* ``spacy``: spaCy's named entities plus its noun chunks (QAGS's answers; noun chunks need a model
  with a parser), ``en_core_web_sm`` unless ``spacy:<model>``, when installed;
* ``factworld``: factworld's lexicon matcher (the world's own NER: exact on factworld, nothing
  elsewhere);
* ``auto``: ``spacy`` when spaCy and ``en_core_web_sm`` are installed, else ``regex``.

Casing rule: a text is *lowercased* when it has at least 8 words and no word starts with a capital
except the first word of a sentence (and the pronoun "I"). Some human-judgment sets (QAGS's XSum
and CNN/DM summaries) are cased like that; a cased text of that length without a single capitalised
name names nothing ``regex`` could find either, so ``chunks`` serves it better too. Shorter texts
stay with ``regex``: so few words are not evidence of lowercasing ("The crowd cheered. It rained."
gives no answer).

Each returns the distinct answer strings in order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

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
MIN_LOWERCASED_WORDS = 8


def regex_answer_spans(text: str) -> list[str]:
    """Dates, numbers and capitalised names of ``text``, in order, each once; ``chunks`` if lowercased.

    >>> regex_answer_spans("The 40-year-old Japanese chief executive Hannah Weber of Kelso Rovers "
    ...                    "paid $4.5 million on March 4, a 2-1 deal.")
    ['40', 'Japanese', 'Hannah Weber', 'Kelso Rovers', '$4.5 million', 'March 4', '2-1']
    >>> regex_answer_spans("Exeter-based Draycott Pharma won 67% of the vote. She said 12,437 came.")
    ['Exeter', 'Draycott Pharma', '67%', '12,437']
    >>> regex_answer_spans("Two security guards have been threatened in a robbery at a bank in edinburgh.")
    ['Two', 'security guards', 'robbery', 'bank', 'edinburgh']
    """
    if looks_lowercased(text):
        return chunk_answer_spans(text)
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


# a sentence ends at ., ! or ? (and any closing quote or bracket) before a space
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+")
_WORD = re.compile(r"[^\W_][\w'’.&-]*")
_PRONOUN_I = re.compile(r"I(?:['’](?:m|ve|ll|d))?")


def looks_lowercased(text: str) -> bool:
    """At least 8 words, and none capitalised but a sentence's first and "I" (see the module doc).

    >>> looks_lowercased("Big ben's 150th anniversary has been chosen as the date. It is in london.")
    True
    >>> looks_lowercased("Big Ben's 150th anniversary has been chosen as the date to celebrate.")
    False
    """
    n_words = 0
    for sentence in _SENTENCE_END.split(text):
        words = _WORD.findall(sentence)
        if any(word[0].isupper() and not _PRONOUN_I.fullmatch(word) for word in words[1:]):
            return False
        n_words += len(words)
    return n_words >= MIN_LOWERCASED_WORDS


# --- chunks: dates, numbers and noun-phrase-like runs of content words, casing-blind ---------------

_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"\d{4}\b"
_DATE = (
    rf"\b(?:{_MONTHS})\s+{_DAY}\b(?:,?\s+{_YEAR})?"  # march 4 / March 4, 2016
    rf"|\b{_DAY}\s+(?:of\s+)?(?:{_MONTHS})\b(?:,?\s+{_YEAR})?"  # 31 may / 4th of july 1976
    rf"|\b(?:{_MONTHS})\s+{_YEAR}"  # june 2016
)
# the regex's numbers, also "£ 90" (tokenised corpora split the sign) and "£10m"/"£1.2bn"; a number
# glued to letters or a hyphen ("150th", "55-year-old") is a word of its chunk instead
_CHUNK_NUMBER = rf"(?<![\w.-])(?:[$£€]\s)?(?:{_NUMBER})(?:bn|m|k)?(?![\w-]|[.,]\d)"
# a word: letters and digits, inner apostrophes, dots, hyphens, "&" ("a&e"), commas between digits
_CHUNK_WORD = r"[^\W_](?:(?:[\w'’&.-]|,(?=\d))*[^\W_])?"
_CHUNK_TOKEN = re.compile(
    rf"(?P<date>{_DATE})|(?P<number>{_CHUNK_NUMBER})|(?P<word>{_CHUNK_WORD})|(?P<mark>\S)",
    re.IGNORECASE,
)
_SPELLED_NUMBERS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "thousand million billion dozen".split()
)
# After these a verb group goes on: "have been [threatened]", "he will have to [wait]", "who
# [admitted]": the first word of the next run is its verb, no answer (a predicate adjective, "are
# [open]", goes too). Auxiliaries, modals, subject pronouns, "who", negation and verb-bound adverbs.
_VERB_OPENERS = frozenset(
    "am is are was were be been being have has had having do does did will would shall should can "
    "could may might must ought cannot i he she we they who not never also still already just "
    "he's she's it's who's i'm i've i'll i'd you're you've you'll you'd we're we've we'll we'd "
    "they're they've they'll they'd let's "
    "isn't aren't wasn't weren't hasn't haven't hadn't don't doesn't didn't won't wouldn't shan't "
    "shouldn't can't couldn't mustn't mightn't needn't".split()
)
# Closed-class English words (and the reporting verbs say/tell, the commonest verbs of a news
# summary): they end a run and are never an answer.
_STOP_WORDS = _VERB_OPENERS | frozenset(
    # determiners and quantifiers
    "a an the this that these those some any no every each either neither both all half another other "
    "others such what which whatever whichever whose many much more most few fewer several less least "
    "enough own same "
    # pronouns
    "me my mine myself us our ours ourselves you your yours yourself yourselves him his himself her hers "
    "herself it its itself them their theirs themselves whom whoever someone somebody something anyone "
    "anybody anything everyone everybody everything nobody nothing none ones "
    # prepositions
    "about above across after against along alongside amid amidst among amongst around as at before "
    "behind below beneath beside besides between beyond by despite down during except for from in "
    "inside into like near of off on onto out outside over past per since through throughout till to "
    "toward towards under underneath unlike until up upon via with within without "
    # conjunctions
    "and or but nor so yet if unless because although though while whilst whereas whether once than "
    "then "
    # closed-class adverbs, wh-words, particles
    "only even again ever always often sometimes very too quite rather almost how why when where "
    "here there now however therefore thus meanwhile instead else perhaps ago "
    "that's there's here's what's where's "  # (the other contractions open a verb group)
    # titles and reporting verbs
    "mr mrs ms dr v vs versus say says said saying tell tells told according".split()
)
MAX_CHUNK_WORDS = 4


def chunk_answer_spans(text: str) -> list[str]:
    """Dates, numbers and noun-phrase-like chunks of ``text``, casing-blind, in order, each once.

    A chunk is a maximal run of content words: function words (``_STOP_WORDS``), punctuation,
    dates and numbers end it, and a possessive "'s" ends it after its owner. Then:

    * a spelled-out number is an answer of its own where it counts something (a content word follows:
      "two security guards" gives "two" and "security guards"), else a function word ("one of");
      numbers stand alone because the count is the fact a summary gets wrong, and a bare number is
      the answer ``pair_tokens=answer`` scores sharpest;
    * the first word of a run that follows an auxiliary, modal, negation, subject pronoun or "who"
      (``to`` in between or not) is that verb group's verb and is dropped ("have been threatened": nothing;
      "has been spared jail": "jail"); other lone verbs stay: without a tagger no suffix rule is safe
      ("building", "united", "armed police");
    * a run longer than 4 words is cut into the fewest near-equal pieces of at most 4 words, the
      longer first ("former leyton orient striker dean cox": "former leyton orient", "striker dean
      cox"); a long run of content words usually holds two phrases.

    >>> chunk_answer_spans("Big ben's 150th anniversary was chosen to celebrate london's history.")
    ['Big ben', '150th anniversary', 'celebrate london', 'history']
    >>> chunk_answer_spans("the school is home to 50 children and two teachers, who came on 31 may 2009.")
    ['school', '50', 'children', 'two', 'teachers', '31 may 2009']
    """
    out: list[str] = []
    for answer in _chunk_answers(_chunk_tokens(text)):
        if answer not in out:
            out.append(answer)
    return out


def _chunk_tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, surface): ``answer`` (a date or a number), ``word`` (a content word), ``stop``."""
    tokens = [(match.lastgroup, match.group(0)) for match in _CHUNK_TOKEN.finditer(text)]
    for index, (kind, surface) in enumerate(tokens):
        if kind in ("date", "number"):
            yield "answer", surface
        elif kind == "mark":
            yield "stop", surface
        elif _is_spelled_number(surface):
            yield from _spelled_number(tokens, index)
        elif _is_stop_word(surface):  # "he's" is a contraction, no possessive
            yield "stop", surface
        else:
            owner, possessive = _split_possessive(surface)
            yield ("stop" if _is_stop_word(owner) else "word"), owner
            if possessive:
                yield "stop", possessive


def _spelled_number(tokens: list[tuple[str, str]], index: int) -> Iterator[tuple[str, str]]:
    """A run of spelled-out number words is one answer ("two hundred") where a content word follows."""
    surface = tokens[index][1]
    if index > 0 and tokens[index - 1][0] == "word" and _is_spelled_number(tokens[index - 1][1]):
        yield "more", surface  # the run's later words join its first
        return
    end = index + 1
    while end < len(tokens) and tokens[end][0] == "word" and _is_spelled_number(tokens[end][1]):
        end += 1
    counts = end < len(tokens) and tokens[end][0] == "word" and not _is_stop_word(
        _split_possessive(tokens[end][1])[0]
    )
    yield ("answer" if counts else "stop"), " ".join(surface for _, surface in tokens[index:end])


def _chunk_answers(tokens: Iterator[tuple[str, str]]) -> Iterator[str]:
    run: list[str] = []  # the content words since the last function word, mark or answer
    verb_expected = False  # a verb opener came, and no content word since
    run_starts_with_verb = False
    for kind, surface in tokens:
        if kind == "more":  # a later word of a spelled-out number, already in its answer
            continue
        if kind == "word":
            if not run:
                run_starts_with_verb = verb_expected
            run.append(surface)
            verb_expected = False
            continue
        yield from _run_answers(run[1:] if run_starts_with_verb else run)
        run = []
        if kind == "answer":
            yield surface
        if _normalised(surface) != "to":  # "to" keeps a verb expected ("will have to wait"), opens none
            verb_expected = _normalised(surface) in _VERB_OPENERS
    yield from _run_answers(run[1:] if run_starts_with_verb else run)


def _run_answers(words: list[str]) -> Iterator[str]:
    """A run as answers: pieces of at most ``MAX_CHUNK_WORDS`` words, near-equal, the longer first."""
    if not words:
        return
    n_pieces = -(-len(words) // MAX_CHUNK_WORDS)
    size, longer = divmod(len(words), n_pieces)
    start = 0
    for piece in range(n_pieces):
        end = start + size + (piece < longer)
        yield " ".join(words[start:end])
        start = end


def _split_possessive(word: str) -> tuple[str, str]:
    """("ben", "'s") from "ben's"; a word without a possessive, as is."""
    match = re.fullmatch(r"(.+?)(['’]s)", word, re.IGNORECASE)
    return (match.group(1), match.group(2)) if match else (word, "")


def _normalised(word: str) -> str:
    return word.lower().replace("’", "'")


def _is_stop_word(word: str) -> bool:
    return _normalised(word) in _STOP_WORDS


def _is_spelled_number(word: str) -> bool:
    return all(part in _SPELLED_NUMBERS for part in word.lower().split("-"))  # "twenty-five"


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
    """spaCy's entities and noun chunks (QAGS's answers), in order, each once; ImportError without it."""
    nlp = _load_spacy(model)

    def extract(text: str) -> list[str]:
        doc = nlp(text)
        spans = list(doc.ents)
        if doc.has_annotation("DEP"):  # noun chunks need the parser
            spans += list(doc.noun_chunks)
        out: list[str] = []
        for span in sorted(spans, key=lambda span: (span.start, span.end)):
            while len(span) and span[0].pos_ in ("DET", "PRON"):  # "a bank": "bank"; "his son": "son"
                span = span[1:]
            if len(span) and span.text not in out:
                out.append(span.text)
        return out

    return extract


_SPACY_ALTERNATIVES = (
    "or use quals.answer_extractor=chunks (no model: noun phrases, numbers and dates, any casing) or "
    "regex (no model: capitalised names, numbers and dates; chunks on lowercased text)"
)


def _load_spacy(model: str):
    try:
        import spacy
    except ImportError as error:
        raise ImportError(
            f"quals.answer_extractor=spacy needs spaCy, which is not installed: pip install spacy && "
            f"python -m spacy download {model}; {_SPACY_ALTERNATIVES}"
        ) from error
    try:
        return spacy.load(model)
    except OSError as error:
        raise ImportError(
            f"quals.answer_extractor=spacy needs the spaCy model {model!r}, which is not installed: "
            f"python -m spacy download {model} (or answer_extractor=spacy:<an installed model>); "
            f"{_SPACY_ALTERNATIVES}"
        ) from error


def answer_extractor(name: str) -> Callable[[str], list[str]]:
    """The extractor ``quals.answer_extractor`` names: regex | chunks | factworld | spacy[:model] | auto."""
    if name == "regex":
        return regex_answer_spans
    if name == "chunks":
        return chunk_answer_spans
    if name == "factworld":
        return factworld_answer_spans
    if name == "spacy" or name.startswith("spacy:"):
        return spacy_answer_spans(name.partition(":")[2] or "en_core_web_sm")
    if name == "auto":
        try:
            return spacy_answer_spans()
        except ImportError:
            return regex_answer_spans
    raise ValueError(
        f"quals.answer_extractor must be regex, chunks, factworld, spacy[:model] or auto; got {name!r}"
    )
