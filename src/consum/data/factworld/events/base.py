"""What an event type is made of: its roles, the sentences that state them, and the cues that read them.

Templates name roles in braces: ``{winner}`` is filled with the value of the role ``winner`` and its
span recorded; ``{vehicle}``-style names in ``EventSpec.details`` are plain words fixed per document.
Summary templates write ``{main_np}`` where the main person goes, with a role noun and optional
age and nationality ("34-year-old Brazilian striker Maria Lopez").

A :class:`Cue` is how the oracle reads a role off any text: the words right before a mention ("left",
text since the previous name) or right after it ("right", text up to the next name) in the same
sentence. Cues are tried in order and the first whose role has the mention's type decides. They are
written from the summary templates, and the document templates avoid cue words around other roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from consum.data.factworld.sampling import KINDS

MAIN_AGE, MAIN_NATIONALITY = "main_age", "main_nationality"


@dataclass(frozen=True)
class Role:
    name: str
    kind: str  # a key of sampling.KINDS
    main: bool = False  # a key fact of the event; references state main roles only

    @property
    def entity_type(self) -> str:
        return KINDS[self.kind].entity_type


# Attributes of the main person that a document may state and an unfaithful reference may invent.
ATTRIBUTE_ROLES = (Role(MAIN_AGE, "age"), Role(MAIN_NATIONALITY, "nationality"))


@dataclass(frozen=True)
class Statement:
    """One sentence of a document, as paraphrases that state the same roles."""

    templates: tuple[str, ...]
    p: float = 1.0  # probability that a document includes it


@dataclass(frozen=True)
class Cue:
    role: str
    side: str  # "left" or "right" of the mention
    pattern: re.Pattern

    def matches(self, left_text: str, right_text: str) -> bool:
        return bool(self.pattern.search(left_text if self.side == "left" else right_text))


def left(role: str, words: str) -> Cue:
    """The text before the mention ends with ``words`` (a regex)."""
    return Cue(role, "left", re.compile(rf"(?:^|\W)(?:{words})\s*$", re.IGNORECASE))


def right(role: str, words: str) -> Cue:
    """The text after the mention starts with ``words`` (a regex)."""
    return Cue(role, "right", re.compile(rf"^\s*(?:{words})(?:\W|$)", re.IGNORECASE))


@dataclass(frozen=True)
class Swap:
    """An intrinsic error: the summary's ``target`` role gets the document's ``source`` value."""

    target: str
    source: str
    mutual: bool = False  # the source role, if the summary states it, gets the target's value


@dataclass(frozen=True)
class EventSpec:
    name: str
    roles: tuple[Role, ...]
    main_person: str  # the role whose age and nationality documents may state
    person_nouns: tuple[str, ...]  # what the main person is ("striker"), one per document
    leads: tuple[str, ...]  # first sentence of the document
    statements: tuple[Statement, ...]  # the other fact sentences, shuffled
    attribute_predicates: tuple[str, ...]  # ends "The 34-year-old Brazilian striker ..."
    fillers: tuple[str, ...]  # background sentences without entities or numbers
    summaries: tuple[str, ...]  # one-sentence references over main roles
    swaps: tuple[Swap, ...]
    cues: tuple[Cue, ...]
    questions: dict[str, tuple[str, ...]]  # role -> question paraphrases (may name other roles)
    details: dict[str, tuple[str, ...]] = field(default_factory=dict)  # non-entity words per document

    def role(self, name: str) -> Role:
        return self._roles_by_name[name]

    @cached_property
    def _roles_by_name(self) -> dict[str, Role]:
        return {r.name: r for r in self.roles + ATTRIBUTE_ROLES}

    @cached_property
    def all_cues(self) -> tuple[Cue, ...]:
        """The event's cues, then the role noun before the main person ("striker Maria Lopez")."""
        nouns = "|".join(re.escape(noun) for noun in self.person_nouns)
        return self.cues + (left(self.main_person, nouns),)
