"""The exact hallucination oracle: check every entity and number of any text against a document's facts.

Each mention found by :func:`find_mentions` gets a status:

* ``extrinsic``: its value is nowhere in the document (a surname alone counts as the document's
  person with that surname; a month alone as any date of the document in that month);
* ``intrinsic``: the value is in the document but the text puts it in another role: a cue of the
  event type (see ``events.base.Cue``) claims a role different from the document's, or a number of
  the document appears as another kind of number (a count of injured given as an age);
* ``supported`` otherwise, including when no cue claims a role.

Each unsupported mention also gets the *kind* of error it is (``ERROR_KINDS``, docs/factworld.md):

* ``invented_attribute``: an extrinsic age or nationality (the document does not state it): what
  factworld's unfaithful references teach, and what ConSeq should remove;
* ``mangled_copy``: an extrinsic name (person, organisation, place, award) that shares a word with a
  document entity of its type but is not it ("Greta Nilsen" for the document's "Greta Ogunleye",
  "Kelso Rovers" for "Kelso United"): a copy gone wrong;
* ``invented_value``: any other extrinsic value (a name sharing no word with the document's, a sum,
  a date or a count the document does not have);
* ``role_swap``: an intrinsic mention (a document value in the wrong role).

Limits, by design: only lexicon names and digit numbers are checked ("twice", "the club" are not);
roles are read from local cues written for the reference templates, so a wrong role phrased in
some other way ("Kelso, the winners, ...") passes as supported; facts without a role conflict (a
true age attached to the wrong person, a wrong event type) are not judged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from consum.data.factworld.entities import (
    AGE,
    DATE,
    NORP,
    NUMBER_TYPES,
    PERSON,
    SCORE,
    Mention,
    canonical_key,
    find_mentions,
    numeric_value,
)
from consum.data.factworld.events import EVENT_SPECS, EventSpec

SUPPORTED, EXTRINSIC, INTRINSIC = "supported", "extrinsic", "intrinsic"
INVENTED_ATTRIBUTE, MANGLED_COPY, INVENTED_VALUE, ROLE_SWAP = (
    "invented_attribute", "mangled_copy", "invented_value", "role_swap"
)
ERROR_KINDS = (INVENTED_ATTRIBUTE, MANGLED_COPY, INVENTED_VALUE, ROLE_SWAP)
ATTRIBUTE_TYPES = frozenset({AGE, NORP})
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


class OracleMention(NamedTuple):
    surface: str
    entity_type: str
    status: str  # supported | extrinsic | intrinsic
    span: tuple[int, int]
    kind: str | None = None  # one of ERROR_KINDS for an unsupported mention, else None


@dataclass(frozen=True)
class OracleResult:
    mentions: list[OracleMention]
    # per mention: (its role in the document, role the text gives it)
    roles: list[tuple[str | None, str | None]]

    def _count(self, status: str) -> int:
        return sum(m.status == status for m in self.mentions)

    @property
    def n_supported(self) -> int:
        return self._count(SUPPORTED)

    @property
    def n_extrinsic(self) -> int:
        return self._count(EXTRINSIC)

    @property
    def n_intrinsic(self) -> int:
        return self._count(INTRINSIC)

    def kind_counts(self) -> dict[str, int]:
        """Unsupported mentions per kind of error (every kind present, zeros included)."""
        return {kind: sum(m.kind == kind for m in self.mentions) for kind in ERROR_KINDS}

    @property
    def hallucinated(self) -> bool:
        return self.n_extrinsic + self.n_intrinsic > 0

    def kind_flags(self) -> dict[str, bool]:
        """``hallucinated`` and, per kind of error, whether the text has one (what a metric is rated on)."""
        counts = self.kind_counts()
        return {"hallucinated": self.hallucinated, **{kind: counts[kind] > 0 for kind in ERROR_KINDS}}

    def describe(self) -> list[str]:
        """One readable line per mention, e.g.
        "Kelso Rovers [ORG] intrinsic, role swap (document: loser, text: winner)"."""
        return [
            f"{m.surface} [{m.entity_type}] {m.status}{', ' + m.kind.replace('_', ' ') if m.kind else ''} "
            f"(document: {doc_role or '-'}, text: {text_role or '-'})"
            for m, (doc_role, text_role) in zip(self.mentions, self.roles, strict=True)
        ]


class _DocumentIndex:
    """The document's facts, looked up the ways a mention can refer to them."""

    def __init__(self, entities: Iterable[Mapping]):
        self.by_key: dict[tuple[str, str], str] = {}  # (entity type, key) -> role
        self.by_name_part: dict[str, str] = {}  # lowercased first name or surname -> role
        self.by_month: dict[str, str] = {}  # month of a "Month D" date -> role
        self.by_number: dict[Decimal, str] = {}  # plain value of every number fact -> role
        self.name_words: dict[str, set[str]] = {}  # entity type -> lowercased words of its names
        for fact in entities:
            entity_type, role = fact["type"], fact["role"]
            key = canonical_key(str(fact["value"]))
            self.by_key[entity_type, key] = role
            if entity_type not in NUMBER_TYPES | {DATE}:
                self.name_words.setdefault(entity_type, set()).update(key.split())
            if entity_type == PERSON:
                for part in key.split():
                    self.by_name_part[part] = role
            if entity_type == DATE and " " in key:
                self.by_month[key.split()[0]] = role
            if entity_type in NUMBER_TYPES - {SCORE}:
                self.by_number[numeric_value(key)] = role

    def role_of(self, mention: Mention) -> tuple[str | None, bool]:
        """(the document role the mention refers to, whether only as another kind of number)."""
        if mention.name_part in ("first", "surname"):
            return self.by_name_part.get(mention.key), False
        role = self.by_key.get((mention.entity_type, mention.key))
        if role is None and mention.entity_type == DATE:
            role = self.by_month.get(mention.key)
        if role is None and mention.entity_type in NUMBER_TYPES - {SCORE}:
            value = numeric_value(mention.key)
            if value in self.by_number:
                return self.by_number[value], True
        return role, False


    def error_kind(self, mention: Mention, status: str) -> str | None:
        if status == INTRINSIC:
            return ROLE_SWAP
        if status != EXTRINSIC:
            return None
        if mention.entity_type in ATTRIBUTE_TYPES:
            return INVENTED_ATTRIBUTE
        if set(mention.key.split()) & self.name_words.get(mention.entity_type, set()):
            return MANGLED_COPY
        return INVENTED_VALUE


def _contexts(text: str, mentions: list[Mention]) -> list[tuple[str, str]]:
    """Per mention, the text back to the previous name and on to the next, within its sentence.

    Numbers are transparent (a cue may read "beaten 3-1 by"); any other mention bounds a context.
    """
    names = [m for m in mentions if not m.is_number]
    contexts = []
    for mention in mentions:
        start, end = mention.span
        left_bound = max((n.span[1] for n in names if n.span[1] <= start), default=0)
        right_bound = min((n.span[0] for n in names if n.span[0] >= end), default=len(text))
        left_text = text[left_bound:start]
        sentence_ends = list(_SENTENCE_END.finditer(left_text))
        if sentence_ends:
            left_text = left_text[sentence_ends[-1].end() :]
        right_text = text[end:right_bound]
        sentence_end = _SENTENCE_END.search(right_text)
        if sentence_end:
            right_text = right_text[: sentence_end.end()]
        contexts.append((left_text, right_text))
    return contexts


def _claimed_role(spec: EventSpec, mention: Mention, left_text: str, right_text: str) -> str | None:
    for cue in spec.all_cues:
        if spec.role(cue.role).entity_type == mention.entity_type and cue.matches(left_text, right_text):
            return cue.role
    return None


def check_summary(doc_facts: Mapping | str, text: str) -> OracleResult:
    """Judge every entity and number mention of ``text`` (any text) against the document's facts."""
    facts = json.loads(doc_facts) if isinstance(doc_facts, str) else doc_facts
    spec = EVENT_SPECS[facts["event_type"]]
    index = _DocumentIndex(facts["entities"])
    found = find_mentions(text)
    mentions, roles = [], []
    for mention, (left_text, right_text) in zip(found, _contexts(text, found), strict=True):
        doc_role, other_kind = index.role_of(mention)
        text_role = _claimed_role(spec, mention, left_text, right_text)
        if doc_role is None:
            status = EXTRINSIC
        elif other_kind or (text_role is not None and text_role != doc_role):
            status = INTRINSIC
        else:
            status = SUPPORTED
        kind = index.error_kind(mention, status)
        mentions.append(OracleMention(mention.surface, mention.entity_type, status, mention.span, kind))
        roles.append((doc_role, text_role))
    return OracleResult(mentions, roles)


def aggregate(results: Iterable[OracleResult]) -> dict[str, float]:
    """Shares of texts with at least one unsupported (extrinsic, intrinsic) mention, and per mention."""
    results = list(results)
    n = len(results)
    n_mentions = sum(len(r.mentions) for r in results)
    n_unsupported = sum(r.n_extrinsic + r.n_intrinsic for r in results)
    return {
        "hallucination_rate": sum(r.hallucinated for r in results) / n if n else 0.0,
        "extrinsic_rate": sum(r.n_extrinsic > 0 for r in results) / n if n else 0.0,
        "intrinsic_rate": sum(r.n_intrinsic > 0 for r in results) / n if n else 0.0,
        "unsupported_mention_rate": n_unsupported / n_mentions if n_mentions else 0.0,
        "mentions_per_text": n_mentions / n if n else 0.0,
        "n": n,
    }
