"""Draw the values of one document's facts: names from the split's pool, numbers from fixed ranges.

Within a document no name word and no number value is used twice. That keeps every fact
recoverable from the text alone: a surname names one person, "Leeds" is one role, 34 is one number.
The same guarantee makes an injected extrinsic value provably new to the document.

Names come in two worlds (``NAMES``; ``FactworldConfig.names``): ``full`` draws "First Surname" people
and multi-word organisations; ``single`` draws a surname alone for a person and one word of
``lexicons.SINGLE_ORGS`` for any organisation, so that every person and organisation name is one
word, distinct within the document.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from consum.data.factworld import lexicons
from consum.data.factworld.entities import (
    AGE,
    AWARD,
    CARDINAL,
    DATE,
    GPE,
    MONEY,
    NORP,
    ORG,
    PERCENT,
    PERSON,
    SCORE,
    canonical_key,
    numeric_value,
)


@dataclass(frozen=True)
class NamePool:
    """The names one split may use: training never sees the held-out tail of each list."""

    surnames: tuple[str, ...]
    cities: tuple[str, ...]
    team_towns: tuple[str, ...]
    company_prefixes: tuple[str, ...]
    parties: tuple[str, ...]
    institutions: tuple[str, ...]
    funders: tuple[str, ...]
    awards: tuple[str, ...]
    single_orgs: tuple[str, ...]

    @classmethod
    def for_split(cls, split: str) -> NamePool:
        if split == "train":
            return cls(**{
                key: lexicons.split_heldout(items)[0] for key, items in lexicons.HELDOUT_LISTS.items()
            })
        return cls(**{key: items for key, items in lexicons.HELDOUT_LISTS.items()})


NAMES = ("full", "single")


class Draw:
    """Draws fact values for one document, never reusing a name word or a number value."""

    def __init__(self, rng: random.Random, pool: NamePool, names: str = "full"):
        if names not in NAMES:
            raise ValueError(f"factworld names must be one of {NAMES}, got {names!r}")
        self.rng = rng
        self.pool = pool
        self.names = names
        self._used_words: set[str] = set()
        self._used_numbers: set[Decimal] = set()

    def value(self, kind: str) -> str:
        return KINDS[kind].draw(self)

    def fork(self, rng: random.Random) -> Draw:
        """A draw for the same document on another random stream (e.g. its reference's)."""
        forked = Draw(rng, self.pool, self.names)
        forked._used_words = set(self._used_words)
        forked._used_numbers = set(self._used_numbers)
        return forked

    def _fresh_words(self, build: Callable[[], tuple[str, tuple[str, ...]]]) -> str:
        """A value whose distinctive words (``build``'s second item) are new to the document."""
        while True:
            name, words = build()
            lowered = {w.lower() for w in words}
            if not lowered & self._used_words:
                self._used_words |= lowered
                return name

    def _fresh_number(self, build: Callable[[], str]) -> str:
        while True:
            text = build()
            value = numeric_value(canonical_key(text))
            if value not in self._used_numbers:
                self._used_numbers.add(value)
                return text

    # -- names --------------------------------------------------------------------------------
    def person(self) -> str:
        if self.names == "single":
            return self._pick(self.pool.surnames)

        def build():
            first, last = self.rng.choice(lexicons.FIRST_NAMES), self.rng.choice(self.pool.surnames)
            return f"{first} {last}", (first, last)

        return self._fresh_words(build)

    def _pick(self, items: tuple[str, ...]) -> str:
        def build():
            name = self.rng.choice(items)
            return name, (name,)

        return self._fresh_words(build)

    def city(self) -> str:
        return self._pick(self.pool.cities)

    def _single_org(self) -> str:
        return self._pick(self.pool.single_orgs)

    def team(self) -> str:
        if self.names == "single":
            return self._single_org()

        def build():
            town = self.rng.choice(self.pool.team_towns)
            return f"{town} {self.rng.choice(lexicons.TEAM_SUFFIXES)}", (town,)

        return self._fresh_words(build)

    def _company(self, suffixes: tuple[str, ...]) -> str:
        if self.names == "single":
            return self._single_org()

        def build():
            prefix = self.rng.choice(self.pool.company_prefixes)
            return f"{prefix} {self.rng.choice(suffixes)}", (prefix,)

        return self._fresh_words(build)

    def company(self) -> str:
        return self._company(lexicons.COMPANY_SUFFIXES)

    def operator(self) -> str:
        return self._company(lexicons.TRANSPORT_SUFFIXES)

    def party(self) -> str:
        return self._single_org() if self.names == "single" else self._pick(self.pool.parties)

    def institution(self) -> str:
        return self._single_org() if self.names == "single" else self._pick(self.pool.institutions)

    def funder(self) -> str:
        return self._single_org() if self.names == "single" else self._pick(self.pool.funders)

    def award(self) -> str:
        return self._pick(self.pool.awards)

    def nationality(self) -> str:
        return self._pick(lexicons.NATIONALITIES)

    def date(self) -> str:
        if self.rng.random() < 0.6:
            return self._pick(lexicons.WEEKDAYS)
        month = self._pick(lexicons.MONTHS)
        return f"{month} {self.rng.randint(1, 28)}"

    # -- numbers ------------------------------------------------------------------------------
    def count(self, low: int, high: int) -> str:
        return self._fresh_number(lambda: f"{self.rng.randint(low, high):,}")

    def percent(self, low: int, high: int) -> str:
        return self._fresh_number(lambda: f"{self.rng.randint(low, high)}%")

    def _currency(self) -> str:
        return self.rng.choice("$£")

    def deal_price(self) -> str:
        def build():
            roll = self.rng.random()
            if roll < 0.4:
                return f"{self._currency()}{self.rng.randint(12, 999) / 10:g} million"
            if roll < 0.75:
                return f"{self._currency()}{self.rng.randint(100, 950)} million"
            return f"{self._currency()}{self.rng.randint(11, 99) / 10:g} billion"

        return self._fresh_number(build)

    def prize(self) -> str:
        return self._fresh_number(lambda: f"{self._currency()}{self.rng.randint(5, 250) * 1000:,}")

    def salary(self) -> str:
        def build():
            if self.rng.random() < 0.5:
                return f"{self._currency()}{self.rng.randint(20, 95) * 10000:,}"
            return f"{self._currency()}{self.rng.randint(11, 49) / 10:g} million"

        return self._fresh_number(build)

    def score(self) -> str:
        def build():
            winner_goals = self.rng.randint(1, 5)
            score = f"{winner_goals}-{self.rng.randint(0, winner_goals - 1)}"
            return score, (score,)

        return self._fresh_words(build)

    def age(self) -> str:
        return self._fresh_number(lambda: str(self.rng.randint(21, 69)))


@dataclass(frozen=True)
class Kind:
    """What a role's value is: its entity type and how to draw one."""

    entity_type: str
    draw: Callable[[Draw], str]


KINDS: dict[str, Kind] = {
    "person": Kind(PERSON, Draw.person),
    "city": Kind(GPE, Draw.city),
    "team": Kind(ORG, Draw.team),
    "company": Kind(ORG, Draw.company),
    "operator": Kind(ORG, Draw.operator),
    "party": Kind(ORG, Draw.party),
    "institution": Kind(ORG, Draw.institution),
    "funder": Kind(ORG, Draw.funder),
    "award": Kind(AWARD, Draw.award),
    "nationality": Kind(NORP, Draw.nationality),
    "date": Kind(DATE, Draw.date),
    "score": Kind(SCORE, Draw.score),
    "age": Kind(AGE, Draw.age),
    "deal_price": Kind(MONEY, Draw.deal_price),
    "prize": Kind(MONEY, Draw.prize),
    "salary": Kind(MONEY, Draw.salary),
    # Disjoint ranges encode the order facts must have: the winner's share beats the runner-up's,
    # fewer people are injured than were on board.
    "winner_share": Kind(PERCENT, lambda d: d.percent(46, 68)),
    "runner_up_share": Kind(PERCENT, lambda d: d.percent(15, 44)),
    "turnout": Kind(PERCENT, lambda d: d.percent(25, 80)),
    "effect": Kind(PERCENT, lambda d: d.percent(8, 60)),
    "attendance": Kind(CARDINAL, lambda d: d.count(2000, 60000)),
    "employees": Kind(CARDINAL, lambda d: d.count(150, 9000)),
    "injured": Kind(CARDINAL, lambda d: d.count(3, 28)),
    "passengers": Kind(CARDINAL, lambda d: d.count(30, 80)),
    "participants": Kind(CARDINAL, lambda d: d.count(400, 25000)),
    "votes": Kind(CARDINAL, lambda d: d.count(8000, 95000)),
}
