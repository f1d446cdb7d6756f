"""Generate the factworld corpus: news-like documents, one-sentence references, oracle labels.

Every document reports one event. Its facts are drawn first (``sampling``), then stated by
paraphrase templates in a shuffled order with background sentences mixed in (``events``). The
reference states a few main facts in one sentence. A fixed share of training references is made
unfaithful on purpose, as in XSum, where many references say things the article does not:

* **extrinsic**: the reference adds what the document never says: mostly an age and/or nationality
  for the main person ("34-year-old Brazilian striker Maria Lopez"), a recurring surface form an MLE
  model picks up as a habit; otherwise one main fact takes a new value (another city, another sum).
* **intrinsic**: a value of the document lands in the wrong role: the loser named as winner, the
  runner-up elected, the city the coach came from given as the crash site.

Randomness is keyed, never sequential across documents: document ``i`` of a split depends only on
(seed, split, i), through SHA-256 (Python's ``hash`` is salted per process). The document and its
reference use separate streams, so the noise settings change references, never documents.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import cache

from consum.data.factworld.entities import PERSON
from consum.data.factworld.events import EVENT_SPECS, MAIN_AGE, MAIN_NATIONALITY, EventSpec
from consum.data.factworld.render import Text, slots
from consum.data.factworld.sampling import NAMES, Draw, NamePool

SPLITS = ("train", "validation", "test")
# Streams of documents for denoising pretraining (``consum.data.pretraining``): keyed by their own
# names, so no pretraining document is a document of any split, for any seed; drawn from the full
# name lists (the held-out names included), as BART's corpus covers the names a test set holds.
PRETRAIN_STREAMS = ("pretrain", "pretrain_validation")
SIZES = {
    "tiny": {"train": 200, "validation": 50, "test": 50},
    "small": {"train": 3000, "validation": 300, "test": 300},
    "medium": {"train": 20000, "validation": 1000, "test": 1000},
}
LABELS = ("consistent", "extrinsic", "intrinsic")
ATTRIBUTES = (MAIN_AGE, MAIN_NATIONALITY)

P_STATED_ATTRIBUTE = 0.35  # a document states the main person's age (and, independently, nationality)
P_COPIED_ATTRIBUTE = 0.7  # a faithful reference repeats a stated attribute; the model must learn when
P_INVENTED_ATTRIBUTE = 0.75  # of extrinsic errors, those that invent an attribute (rest: replace a value)
FILLERS_PER_DOCUMENT = (2, 4)

_ATTRIBUTE_SENTENCES = {  # (age stated, nationality stated) -> sentence about the main person
    (True, False): ("The {main_age}-year-old {noun} {predicate}.", "{MAIN}, aged {main_age}, {predicate}."),
    (False, True): (
        "The {main_nationality} {noun} {predicate}.", "{MAIN}, who is {main_nationality}, {predicate}."
    ),
    (True, True): (
        "The {main_age}-year-old {main_nationality} {noun} {predicate}.",
        "{MAIN}, a {main_age}-year-old {main_nationality} {noun}, {predicate}.",
    ),
}
_MAIN_NOUN_PHRASES = {  # (age shown, nationality shown) -> how a reference names the main person
    (False, False): "{noun} {MAIN}",
    (True, False): "{main_age}-year-old {noun} {MAIN}",
    (False, True): "{main_nationality} {noun} {MAIN}",
    (True, True): "{main_age}-year-old {main_nationality} {noun} {MAIN}",
}


@dataclass(frozen=True)
class FactworldConfig:
    size: str = "small"  # a key of SIZES; n_train/n_valid/n_test override its counts
    seed: int = 0
    train_noise: float = 0.3  # share of unfaithful training references
    extrinsic_share: float = 0.5  # of the unfaithful ones, the extrinsic share (the rest are intrinsic)
    eval_noise: float = 0.0  # share of unfaithful validation and test references
    n_train: int | None = None
    n_valid: int | None = None
    n_test: int | None = None
    # full: "First Surname" people, multi-word organisations; single: one word each, distinct within a
    # document (a surname alone; lexicons.SINGLE_ORGS), a world whose names a tiny model can copy
    names: str = "full"

    def __post_init__(self):
        if self.size not in SIZES:
            raise ValueError(f"factworld size {self.size!r} is not one of {sorted(SIZES)}")
        if self.names not in NAMES:
            raise ValueError(f"factworld names {self.names!r} is not one of {NAMES}")
        for name in ("train_noise", "extrinsic_share", "eval_noise"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"factworld {name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("n_train", "n_valid", "n_test"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"factworld {name} must be >= 0, got {getattr(self, name)}")

    def n_docs(self, split: str) -> int:
        override = {"train": self.n_train, "validation": self.n_valid, "test": self.n_test}[split]
        return SIZES[self.size][split] if override is None else override

    def noise(self, split: str) -> float:
        return self.train_noise if split == "train" else self.eval_noise


def stable_rng(*parts: object) -> random.Random:
    """A random stream determined by ``parts`` alone, identical across processes and platforms."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate_corpus(cfg: FactworldConfig) -> dict[str, list[dict]]:
    """Rows of every split, keyed by split name (see ``generate_example`` for the row)."""
    return {split: generate_split(cfg, split) for split in SPLITS}


def generate_split(cfg: FactworldConfig, split: str) -> list[dict]:
    labels = assign_labels(cfg, split)
    return [
        generate_example(cfg.seed, split, index, label, cfg.names) for index, label in enumerate(labels)
    ]


# What a roster lists: mostly multi-word names, whose words a copy must keep together
ROSTER_KINDS = ("person", "person", "person", "team", "company", "operator", "party", "institution", "city",
                "award", "date", "deal_price", "attendance")
ROSTER_ENTRIES = (6, 14)


def generate_pretraining_documents(
    seed: int, stream: str, n: int, roster_share: float = 0.0, names: str = "full"
) -> list[str]:
    """The first ``n`` texts of a pretraining stream: news documents and, a ``roster_share`` of them,
    rosters (lists of names, as tables and lists in a web corpus; see :func:`generate_roster`), with
    the names of the world ``names`` (``FactworldConfig.names``)."""
    if stream not in PRETRAIN_STREAMS:
        raise ValueError(f"factworld pretraining stream {stream!r} is not one of {PRETRAIN_STREAMS}")
    if not 0.0 <= roster_share <= 1.0:
        raise ValueError(f"roster_share must lie in [0, 1], got {roster_share}")
    return [
        generate_roster(seed, stream, index, names)
        if stable_rng(seed, stream, index, "genre").random() < roster_share
        else generate_example(seed, stream, index, "consistent", names)["document"]
        for index in range(n)
    ]


def generate_roster(seed: int, stream: str, index: int, names: str = "full") -> str:
    """A list of 6-14 names and values, one per sentence ("Greta Ogunleye. Kelso Rovers. Kyoto.").

    In a templated news corpus a tiny model predicts everything but the names from the language alone,
    so it learns a language model first and copying late; in a roster the names are all there is, and
    the noise (entries shuffled, words masked) leaves copying them, each name's words together, as the
    only way to rebuild it. No name word is used twice in a roster, as in a document.
    """
    rng = stable_rng(seed, stream, index, "roster")
    draw = Draw(rng, _name_pool(stream), names)
    n_entries = rng.randint(*ROSTER_ENTRIES)
    entries: list[str] = []
    for _ in range(4 * n_entries):  # awards and dates may repeat: keep the first of each
        entry = draw.value(rng.choice(ROSTER_KINDS))
        if entry not in entries:
            entries.append(entry)
        if len(entries) == n_entries:
            break
    return " ".join(f"{entry}." for entry in entries)


def assign_labels(cfg: FactworldConfig, split: str) -> list[str]:
    """Exactly round(noise * n) unfaithful references per split, on documents picked by a keyed hash."""
    n = cfg.n_docs(split)
    n_noisy = round(cfg.noise(split) * n)
    n_extrinsic = round(n_noisy * cfg.extrinsic_share)
    order = sorted(
        range(n), key=lambda i: hashlib.sha256(f"{cfg.seed}\x1f{split}\x1f{i}\x1fnoise".encode()).digest()
    )
    labels = ["consistent"] * n
    for rank, index in enumerate(order[:n_noisy]):
        labels[index] = "extrinsic" if rank < n_extrinsic else "intrinsic"
    return labels


@cache
def _name_pool(split: str) -> NamePool:
    return NamePool.for_split(split)


def generate_example(seed: int, split: str, index: int, label: str, names: str = "full") -> dict:
    """One row: the document, its reference with the given label, and the facts of both as JSON.

    ``names="single"`` draws one-word people and organisations (``sampling.Draw``); the draws after
    them shift, so the single world is another corpus, not the full one renamed.
    """
    rng = stable_rng(seed, split, index, "document")
    spec = EVENT_SPECS[rng.choice(sorted(EVENT_SPECS))]
    draw = Draw(rng, _name_pool(split), names)
    values = {role.name: draw.value(role.kind) for role in spec.roles}
    for attribute in ATTRIBUTES:
        if rng.random() < P_STATED_ATTRIBUTE:
            values[attribute] = draw.value(spec.role(attribute).kind)
    details = {name: rng.choice(options) for name, options in spec.details.items()}
    details["noun"] = rng.choice(spec.person_nouns)
    document = _render_document(spec, values, details, rng)
    stated = {role: values[role] for role in document.roles}

    reference_rng = stable_rng(seed, split, index, "reference")
    summary, summary_values, injected = _render_reference(
        spec, stated, details, label, reference_rng, draw.fork(reference_rng)
    )
    return {
        "doc_id": f"fw-{split}-{index:06d}",
        "document": document.text,
        "summary": summary,
        "split": split,
        "event_type": spec.name,
        "doc_facts": json.dumps(_facts(spec, stated, details), ensure_ascii=False),
        "summary_facts": json.dumps(_facts(spec, summary_values), ensure_ascii=False),
        "label": label,
        "injected": json.dumps(injected, ensure_ascii=False),
    }


def _facts(spec: EventSpec, values: dict[str, str], details: dict[str, str] | None = None) -> dict:
    facts = {
        "event_type": spec.name,
        "main_person": spec.main_person,
        "entities": [
            {"role": role, "type": spec.role(role).entity_type, "value": value, "main": spec.role(role).main}
            for role, value in values.items()
        ],
    }
    if details is not None:
        facts["details"] = details
    return facts


def _render_document(
    spec: EventSpec, values: dict[str, str], details: dict[str, str], rng: random.Random
) -> Text:
    statements = [s for s in spec.statements if rng.random() < s.p]
    rng.shuffle(statements)
    templates = [rng.choice(spec.leads)] + [rng.choice(s.templates) for s in statements]
    for filler in rng.sample(spec.fillers, rng.randint(*FILLERS_PER_DOCUMENT)):
        templates.insert(rng.randint(1, len(templates)), filler)
    shown = tuple(attribute in values for attribute in ATTRIBUTES)
    if any(shown):  # right after the main person is introduced, since it refers back to them
        sentence = rng.choice(_ATTRIBUTE_SENTENCES[shown]).replace(
            "{predicate}", rng.choice(spec.attribute_predicates)
        )
        main_slot = "{" + spec.main_person + "}"
        first = next(i for i, t in enumerate(templates) if main_slot in t)
        templates.insert(first + 1, sentence.replace("{MAIN}", main_slot))

    introduced: set[str] = set()

    def role_text(role: str) -> str:
        if spec.role(role).entity_type != PERSON:
            return values[role]
        if role in introduced:  # news style: full name first, surname after
            return values[role].split()[-1]
        introduced.add(role)
        return values[role]

    text = Text()
    for template in templates:
        text.add_sentence(template, role_text, details)
    return text


def _summary_roles(spec: EventSpec, template: str, details: dict[str, str]) -> list[str]:
    return [
        spec.main_person if name == "main_np" else name for name in slots(template) if name not in details
    ]


def _render_reference(
    spec: EventSpec, stated: dict[str, str], details: dict[str, str], label: str, rng: random.Random,
    draw: Draw,
) -> tuple[str, dict[str, str], dict | None]:
    """(reference text, role -> value as the reference states it, description of the injected error)."""
    missing = [a for a in ATTRIBUTES if a not in stated]
    invent_attribute = label == "extrinsic" and bool(missing) and rng.random() < P_INVENTED_ATTRIBUTE
    if label == "intrinsic":
        template, swap = rng.choice([
            (t, s) for t in spec.summaries for s in spec.swaps
            if s.target in _summary_roles(spec, t, details) and s.source in stated
        ])
    else:
        template = rng.choice([t for t in spec.summaries if not invent_attribute or "{main_np}" in t])
    values = {role: stated[role] for role in _summary_roles(spec, template, details)}

    errors = []
    if label == "intrinsic":
        errors.append({"role": swap.target, "value": stated[swap.source], "doc_role": swap.source})
        if swap.mutual and swap.source in values:
            errors.append({"role": swap.source, "value": stated[swap.target], "doc_role": swap.target})
    elif invent_attribute:
        invented = missing if len(missing) == 1 else rng.choice([[MAIN_AGE], [MAIN_NATIONALITY], missing])
        errors.extend({"role": a, "value": draw.value(spec.role(a).kind), "doc_role": None} for a in invented)
    elif label == "extrinsic":
        role = rng.choice(list(values))
        errors.append({"role": role, "value": draw.value(spec.role(role).kind), "doc_role": None})
    for error in errors:
        values[error["role"]] = error["value"]

    if "{main_np}" in template:
        for attribute in ATTRIBUTES:
            if attribute in stated and rng.random() < P_COPIED_ATTRIBUTE:
                values[attribute] = stated[attribute]
        shown = tuple(attribute in values for attribute in ATTRIBUTES)
        noun_phrase = _MAIN_NOUN_PHRASES[shown].replace("{MAIN}", "{" + spec.main_person + "}")
        template = template.replace("{main_np}", noun_phrase)
    text = Text()
    text.add_sentence(template, values.__getitem__, details)
    injected = None
    if label != "consistent":
        kind = "swap" if label == "intrinsic" else "attribute" if invent_attribute else "replacement"
        injected = {"label": label, "kind": kind, "errors": errors}
    return text.text, {role: values[role] for role in text.roles}, injected
