"""SQuAD-style question-answer pairs over factworld documents and over their reference summaries.

One question per fact a context states, from paraphrase templates per role; the answer is the fact's
exact span in the context (for a person, the full-name mention; for an age, just its digits).

Summary QA is read off the summary text, injected errors included: over an unfaithful training
reference "Kelso Rovers beat Ashford United" the pair is ("Who won the match?", "Kelso Rovers").
Every pair is thus true of its own context, so a QAGen model trained on these pairs learns to be a
faithful reader of whatever it is given, which is what QUALS needs: it compares what the model
expects from the summary with what it expects from the document.
"""

from __future__ import annotations

import json
import random
import re

from consum.data.factworld.entities import AGE, canonical_key, find_mentions
from consum.data.factworld.events import EVENT_SPECS, MAIN_AGE, MAIN_NATIONALITY, EventSpec
from consum.data.factworld.generator import FactworldConfig, stable_rng
from consum.data.factworld.render import SLOT_RE, slots

_ATTRIBUTE_QUESTIONS = {
    MAIN_AGE: ("How old is {MAIN}?", "What age is {MAIN}?"),
    MAIN_NATIONALITY: ("What nationality is {MAIN}?", "What is the nationality of {MAIN}?"),
}


def generate_qa_records(cfg: FactworldConfig, corpus: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per split, QA records: qa_id, doc_id, context_type, context, question, answer, answer_start, role."""
    return {split: [qa for row in rows for qa in qa_for_row(cfg.seed, row)] for split, rows in corpus.items()}


def qa_for_row(seed: int, row: dict) -> list[dict]:
    """The QA records of one corpus row: over its document, then over its summary."""
    doc_facts = json.loads(row["doc_facts"])
    spec = EVENT_SPECS[doc_facts["event_type"]]
    contexts = (
        ("document", row["document"], doc_facts),
        ("summary", row["summary"], json.loads(row["summary_facts"])),
    )
    records = []
    for context_type, context, facts in contexts:
        rng = stable_rng(seed, row["doc_id"], "qa", context_type)
        values = {fact["role"]: fact["value"] for fact in facts["entities"]}
        spans = _first_spans(context)
        for fact in facts["entities"]:
            role = fact["role"]
            question = _question(spec, role, values, doc_facts["details"], rng)
            if question is None:
                continue
            span = spans.get((fact["type"], canonical_key(fact["value"])))
            if span is None:
                raise ValueError(f"{row['doc_id']}: {fact['value']!r} is not mentioned in its {context_type}")
            start, answer = span[0], context[span[0] : span[1]]
            records.append({
                "qa_id": f"{row['doc_id']}-{context_type[0]}{len(records):02d}",
                "doc_id": row["doc_id"],
                "context_type": context_type,
                "context": context,
                "question": question,
                "answer": answer,
                "answer_start": start,
                "role": role,
            })
    return records


def _question(
    spec: EventSpec, role: str, values: dict[str, str], details: dict[str, str], rng: random.Random
) -> str | None:
    """A paraphrase whose other slots the context can fill, or None if it can fill none."""
    templates = spec.questions.get(role) or _ATTRIBUTE_QUESTIONS[role]
    templates = [t.replace("{MAIN}", "{" + spec.main_person + "}") for t in templates]
    usable = [t for t in templates if all(name in values or name in details for name in slots(t))]
    if not usable:
        return None
    question = SLOT_RE.sub(lambda m: values.get(m.group(1)) or details[m.group(1)], rng.choice(usable))
    return question[:1].upper() + question[1:]


def _first_spans(context: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(entity type, key) -> span of its first mention; ages by their digits.

    A person is asked for by their whole name's key: "maria lee" finds the full-name mention (a later
    "Lee" alone has the key "lee"); in the single-word world (``FactworldConfig.names``) the whole
    name is the surname, whose every mention has the key "lee".
    """
    spans = {}
    for mention in find_mentions(context):
        start, end = mention.span
        if mention.entity_type == AGE:  # "34-year-old" answers "How old ...?" with "34"
            digits = re.search(r"\d+", mention.surface)
            start, end = start + digits.start(), start + digits.end()
        spans.setdefault((mention.entity_type, mention.key), (start, end))
    return spans
