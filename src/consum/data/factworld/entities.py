"""Find factworld entities and numbers in any text, with a canonical key to compare mentions by.

Two passes. Numbers and day-of-month dates are found first by one regex (money, percentages, ages,
"Month D" dates, scores, plain counts: the first alternative that matches at a position wins, so
"34-year-old" is an age and not a count). Then the words outside those spans are matched against the
lexicons, greedily and longest first, so "Leeds United" beats "Leeds" and "Smithson" is never "Smith".

Matching is case-insensitive and the words of a name may be separated by any whitespace ("Maria
\\n Lopez"), but not by punctuation. A first name directly followed by a surname is one person; a
surname or a first name alone is a partial person mention (``name_part``), which the oracle resolves
against the document. Numbers are keyed by value, so "1,200" and "1200" are the same count and
"$4.5 million" equals "$4,500,000". Words in no lexicon are ignored, whatever the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from itertools import product

from consum.data.factworld import lexicons

PERSON, ORG, GPE, NORP, DATE, AWARD = "PERSON", "ORG", "GPE", "NORP", "DATE", "AWARD"
MONEY, PERCENT, AGE, SCORE, CARDINAL = "MONEY", "PERCENT", "AGE", "SCORE", "CARDINAL"
NUMBER_TYPES = frozenset({MONEY, PERCENT, AGE, SCORE, CARDINAL})

_MULTIPLIERS = {"million": 10**6, "m": 10**6, "billion": 10**9, "bn": 10**9}
_NUM = r"\d{1,3}(?:,\d{3})+|\d+"
_MONTHS = "|".join(lexicons.MONTHS)
# Alternatives in priority order; each has its own named groups.
_NUMBER_RE = re.compile(
    rf"(?P<money>(?P<cur>[$£€])\s?(?P<money_num>(?:{_NUM})(?:\.\d+)?)(?:\s?(?P<mult>million|billion|bn|m)\b)?)"
    rf"|(?P<percent>(?P<pct_num>\d+(?:\.\d+)?)\s?(?:%|per\s?cent\b|percent\b))"
    rf"|(?P<age>(?P<age_num>\d{{1,3}})\s?-?\s?years?\s?-?\s?old\b)"
    rf"|(?P<aged>\baged\s+(?P<aged_num>\d{{1,3}})\b)"
    rf"|(?P<date>\b(?P<month>{_MONTHS})\s+(?P<day>\d{{1,2}})\b(?![.,]?\d))"
    rf"|(?P<score>(?<![\d.,])(?P<goals_a>\d{{1,2}})\s?-\s?(?P<goals_b>\d{{1,2}})(?![\d.,]?\d))"
    rf"|(?P<cardinal>(?<![\d.,])(?:{_NUM})(?:\.\d+)?(?![\d]))",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Mention:
    """One entity or number found in a text."""

    surface: str  # the text as written
    entity_type: str  # PERSON, ORG, GPE, NORP, DATE, AWARD, MONEY, PERCENT, AGE, SCORE, CARDINAL
    span: tuple[int, int]  # character offsets: text[start:end] == surface
    key: str  # canonical value: lowercased name, or the number's value ("1200", "$4500000", "3-1")
    name_part: str = ""  # PERSON only: "full", "first" (first name alone) or "surname" (surname alone)

    @property
    def is_number(self) -> bool:
        return self.entity_type in NUMBER_TYPES


def _decimal_key(text: str) -> str:
    value = Decimal(text.replace(",", ""))
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def _number_mention(match: re.Match) -> tuple[str, str]:
    """(entity type, key) of one match of _NUMBER_RE."""
    if match.group("money"):
        amount = Decimal(match.group("money_num").replace(",", ""))
        amount *= _MULTIPLIERS.get((match.group("mult") or "").lower(), 1)
        return MONEY, match.group("cur") + _decimal_key(str(amount))
    if match.group("percent"):
        return PERCENT, _decimal_key(match.group("pct_num"))
    if match.group("age") or match.group("aged"):
        return AGE, str(int(match.group("age_num") or match.group("aged_num")))
    if match.group("date"):
        return DATE, f"{match.group('month').lower()} {int(match.group('day'))}"
    if match.group("score"):
        goals = sorted((int(match.group("goals_a")), int(match.group("goals_b"))), reverse=True)
        return SCORE, f"{goals[0]}-{goals[1]}"
    return CARDINAL, _decimal_key(match.group("cardinal"))


def numeric_value(key: str) -> Decimal | None:
    """The plain value behind a number's key (money by amount: "$4500000" -> 4500000); None for others.

    Lets numbers of different kinds be compared: a count of 34 and an age of 34.
    """
    try:
        return Decimal(key.lstrip("$£€"))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class _Lexicon:
    names: dict[tuple[str, ...], tuple[str, str]]  # lowercased words -> (entity type, canonical name)
    first_names: frozenset[str]
    surnames: frozenset[str]
    first_words: frozenset[str]  # words that can start a mention
    max_words: int


@cache
def _lexicon() -> _Lexicon:
    names: dict[tuple[str, ...], tuple[str, str]] = {}

    def add(entity_type: str, entries) -> None:
        for name in entries:
            names[tuple(name.lower().split())] = (entity_type, name)

    add(GPE, lexicons.CITIES)
    add(ORG, (f"{town} {suffix}" for town, suffix in product(lexicons.TEAM_TOWNS, lexicons.TEAM_SUFFIXES)))
    company_suffixes = lexicons.COMPANY_SUFFIXES + lexicons.TRANSPORT_SUFFIXES
    add(ORG, (
        f"{prefix} {suffix}" for prefix, suffix in product(lexicons.COMPANY_PREFIXES, company_suffixes)
    ))
    add(ORG, lexicons.PARTIES + lexicons.INSTITUTIONS + lexicons.FUNDERS)
    add(ORG, lexicons.SINGLE_ORGS)  # the single-word world's; no full-world text contains one
    add(AWARD, lexicons.AWARDS)
    add(NORP, lexicons.NATIONALITIES)
    add(DATE, lexicons.WEEKDAYS + lexicons.MONTHS)
    first_names = frozenset(n.lower() for n in lexicons.FIRST_NAMES)
    surnames = frozenset(n.lower() for n in lexicons.SURNAMES)
    return _Lexicon(
        names=names,
        first_names=first_names,
        surnames=surnames,
        first_words=frozenset(words[0] for words in names) | first_names | surnames,
        max_words=max(len(k) for k in names),
    )


def find_mentions(text: str) -> list[Mention]:
    """Every entity and number mention in ``text``, in order, non-overlapping."""
    mentions = []
    pieces, cursor = [], 0  # the text with numbers blanked out by a filler that is neither letter nor space
    for match in _NUMBER_RE.finditer(text):
        entity_type, key = _number_mention(match)
        mentions.append(Mention(match.group(), entity_type, match.span(), key))
        pieces += [text[cursor : match.start()], "\0" * (match.end() - match.start())]
        cursor = match.end()
    pieces.append(text[cursor:])
    mentions.extend(_match_names(text, list(_WORD_RE.finditer("".join(pieces)))))
    return sorted(mentions, key=lambda m: m.span)


def _match_names(text: str, words: list[re.Match]) -> list[Mention]:
    lex = _lexicon()
    lowered = [w.group().lower() for w in words]
    mentions = []
    i = 0
    while i < len(words):
        if lowered[i] not in lex.first_words:
            i += 1
            continue
        # n words starting at i form a candidate only if whitespace alone separates them
        n_joined = 1
        while (
            n_joined < lex.max_words
            and i + n_joined < len(words)
            and text[words[i + n_joined - 1].end() : words[i + n_joined].start()].isspace()
        ):
            n_joined += 1
        found = None
        for n in range(n_joined, 0, -1):
            entry = lex.names.get(tuple(lowered[i : i + n]))
            if entry:
                found = (n, entry[0], "")
                break
            if n == 2 and lowered[i] in lex.first_names and lowered[i + 1] in lex.surnames:
                found = (2, PERSON, "full")
                break
        if found is None and lowered[i] in lex.surnames:
            found = (1, PERSON, "surname")
        elif found is None and lowered[i] in lex.first_names:
            found = (1, PERSON, "first")
        if found is None:
            i += 1
            continue
        n, entity_type, name_part = found
        start, end = words[i].start(), words[i + n - 1].end()
        key = " ".join(lowered[i : i + n])
        mentions.append(Mention(text[start:end], entity_type, (start, end), key, name_part))
        i += n
    return mentions


def find_entities(text: str) -> list[tuple[str, str, tuple[int, int]]]:
    """(surface, entity type, (start, end)) of every entity and number mentioned in ``text``."""
    return [(m.surface, m.entity_type, m.span) for m in find_mentions(text)]


@lru_cache(maxsize=1 << 16)  # the oracle and the QA builder ask for the same few thousand values
def canonical_key(value: str) -> str:
    """The key a mention of ``value`` (a name or a number as the generator writes it) would get."""
    found = find_mentions(value)
    if len(found) != 1 or found[0].span != (0, len(value)):
        raise ValueError(f"{value!r} is not exactly one factworld entity")
    return found[0].key
