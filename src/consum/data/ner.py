"""Entity extractors for entity-level factuality (``consum.metrics.entity``): which one a dataset gets.

:func:`entity_extractor` is the one place that decides, for the evaluate stage (summary metrics) and
``train-mle``'s entity filter (the reference's precision against its document) alike: factworld gets
its own lexicon matcher (exact on its names and numbers), other data spaCy NER when spaCy and its model
are installed, else None (the caller skips the metrics or refuses the filter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

EntityExtractor = Callable[[str], list[str]]

TRACKED_ENTITY_TYPES = ("PERSON", "FAC", "GPE", "ORG", "NORP", "LOC", "EVENT")


def entity_extractor(data_cfg: Mapping) -> EntityExtractor | None:
    """factworld: its lexicon matcher; otherwise spaCy when installed; else None."""
    if data_cfg.get("source") == "factworld":
        from consum.data.factworld import find_entities

        return lambda text: [surface for surface, _, _ in find_entities(text)]
    try:
        return spacy_extractor()
    except (ImportError, OSError, RuntimeError):
        return None


def spacy_extractor(
    model: str = "en_core_web_lg", entity_types: Sequence[str] = TRACKED_ENTITY_TYPES
) -> EntityExtractor:
    """An extractor returning the text of every spaCy entity whose first token has a tracked type.

    The type is read from the entity's first token, as the original did. spaCy is imported here so
    that the rest of the package does not need it.
    """
    try:
        import spacy
    except ImportError as error:
        raise ImportError(
            "spacy_extractor needs spaCy: pip install spacy && python -m spacy download "
            f"{model}; or pass another extractor, e.g. a lexicon matcher"
        ) from error
    try:
        nlp = spacy.load(model)
    except OSError as error:
        raise ImportError(
            f"spaCy model {model!r} is not installed: python -m spacy download {model}"
        ) from error
    tracked = frozenset(entity_types)

    def extract(text: str) -> list[str]:
        return [entity.text for entity in nlp(text).ents if entity[0].ent_type_ in tracked]

    return extract

