"""Entity-level factual consistency (Nan et al., EACL 2021), as computed by the original ``evaluate_hypo``.

For each (summary, source, reference) the entities of a text are extracted by a callable
``extract_entities(text) -> list[str]`` (every mention counts, repeats included, as in the original's
loop over ``doc.ents``): spaCy NER or factworld's lexicon matcher (``consum.data.ner.entity_extractor``
picks one for a dataset), or any other callable. An entity "occurs" in a text by the lenient
:func:`entity_match`. Per summary:

* ``prec_s``   = summary entities found in the source    / summary entities
* ``prec_t``   = summary entities found in the reference / summary entities
* ``recall_t`` = reference entities found in the summary / reference entities
* ``f1_t``     = harmonic mean of ``prec_t`` and ``recall_t``

Aggregation (:func:`aggregate_entity_metrics`):

* **macro**: the mean of the per-summary ratios. A ratio is undefined for a summary without entities
  (for ``recall_t``: a reference without entities); such summaries are left out of that mean, like the
  original's ``np.nanmean``, and how many were left out is reported.
* **micro**: pooled counts, e.g. all matched summary entities / all summary entities.
* F1 in both cases is computed from the aggregated precision and recall, as the original did.

The original's printout names these the other way round ("macro" for pooled counts, "micro" for the
mean of ratios); we use the standard names. Map accordingly when comparing with its numbers.

Pure counting (no spaCy, no consum import): it lives in the bottom layer because ``train-mle``'s
entity filter (the reference's ``prec_s``, docs/training.md) and the evaluate stage both use it.

Worked example: summary "John Smith met Tom in Paris.", source "Mr Smith flew to Paris.", reference
"Smith was in Paris." with entities [John Smith, Tom, Paris], [Smith, Paris], [Smith, Paris]:
"John Smith" matches the source through its token "Smith", "Tom" is hallucinated, so
prec_s = prec_t = 2/3 and recall_t = 2/2 = 1, f1_t = 0.8.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

EntityExtractor = Callable[[str], list[str]]

# spaCy's English STOP_WORDS (MIT licence), which the original's entity_match used; kept verbatim so
# that single-token matching skips the same words ("six", "first", "back", ... are stop words there).
STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also although
    always am among amongst amount an and another any anyhow anyone anything anyway anywhere are around
    as at back be became because become becomes becoming been before beforehand behind being below
    beside besides between beyond both bottom but by call can cannot ca could did do does doing done
    down due during each eight either eleven else elsewhere empty enough even ever every everyone
    everything everywhere except few fifteen fifty first five for former formerly forty four from front
    full further get give go had has have he hence her here hereafter hereby herein hereupon hers
    herself him himself his how however hundred i if in indeed into is it its itself keep last latter
    latterly least less just made make many may me meanwhile might mine more moreover most mostly move
    much must my myself name namely neither never nevertheless next nine no nobody none noone nor not
    nothing now nowhere of off often on once one only onto or other others otherwise our ours ourselves
    out over own part per perhaps please put quite rather re really regarding same say see seem seemed
    seeming seems serious several she should show side since six sixty so some somehow someone something
    sometime sometimes somewhere still such take ten than that the their them themselves then thence
    there thereafter thereby therefore therein thereupon these they third this those though three
    through throughout thru thus to together too top toward towards twelve twenty two under until up
    unless upon us used using various very via was we well were what whatever when whence whenever where
    whereafter whereas whereby wherein whereupon wherever whether which while whither who whoever whole
    whom whose why will with within without would yet you your yours yourself yourselves
    n't 'd 'll 'm 're 's 've n’t ’d ’ll ’m ’re ’s ’ve n‘t ‘d ‘ll ‘m ‘re ‘s ‘ve
    """.split()
)


def entity_match(entity: str, text: str) -> bool:
    """The original's lenient match (``ner.entity_match`` at level 2).

    True if any contiguous span of >= 2 words of the entity occurs in the text (case-insensitive), or
    else if any single word that is not a stop word (``"US"`` always counts) occurs in it as a
    case-insensitive substring.

    >>> entity_match("John Smith", "Mr Smith said")
    True
    >>> entity_match("The Who", "who is the best")
    False
    >>> entity_match("US", "the USA")
    True
    """
    words = entity.split()

    def occurs(needle: str) -> bool:
        return re.search(re.escape(needle), text, flags=re.IGNORECASE) is not None

    spans = (
        " ".join(words[start : start + length])
        for length in range(len(words), 1, -1)
        for start in range(len(words) - length + 1)
    )
    if any(occurs(span) for span in spans):
        return True
    return any((word.lower() not in STOP_WORDS or word == "US") and occurs(word) for word in words)


@dataclass(frozen=True)
class EntityCounts:
    """Entity counts of one summary; the original's column names in the comments."""

    summary_entities: int  # ent_count_hypo
    summary_in_source: int  # ent_count_hypo_source
    summary_in_reference: int  # ent_count_hypo_target
    reference_entities: int  # ent_count_target
    reference_in_summary: int  # ent_count_target_hypo

    @property
    def prec_s(self) -> float | None:
        return _ratio(self.summary_in_source, self.summary_entities)

    @property
    def prec_t(self) -> float | None:
        return _ratio(self.summary_in_reference, self.summary_entities)

    @property
    def recall_t(self) -> float | None:
        return _ratio(self.reference_in_summary, self.reference_entities)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def entity_counts(
    summary: str, source: str, reference: str, extract_entities: EntityExtractor
) -> EntityCounts:
    """Count a summary's entities and how many match the source and the reference, and vice versa."""
    summary_entities = extract_entities(summary)
    reference_entities = extract_entities(reference)
    return EntityCounts(
        summary_entities=len(summary_entities),
        summary_in_source=sum(entity_match(entity, source) for entity in summary_entities),
        summary_in_reference=sum(entity_match(entity, reference) for entity in summary_entities),
        reference_entities=len(reference_entities),
        reference_in_summary=sum(entity_match(entity, summary) for entity in reference_entities),
    )


def _mean_defined(values: list[float | None]) -> tuple[float | None, int]:
    defined = [value for value in values if value is not None]
    return (math.fsum(defined) / len(defined) if defined else None), len(values) - len(defined)


def aggregate_entity_metrics(counts: Sequence[EntityCounts]) -> dict[str, float | int | None]:
    """Macro and micro prec_s, prec_t, recall_t and f1_t over summaries (None where undefined).

    Keys: ``macro_prec_s, macro_prec_t, macro_recall_t, macro_f1_t, micro_prec_s, micro_prec_t,
    micro_recall_t, micro_f1_t, n_summaries, n_without_summary_entities,
    n_without_reference_entities``.
    """
    macro_prec_s, n_without_summary_entities = _mean_defined([c.prec_s for c in counts])
    macro_prec_t, _ = _mean_defined([c.prec_t for c in counts])
    macro_recall_t, n_without_reference_entities = _mean_defined([c.recall_t for c in counts])

    summary_entities = sum(c.summary_entities for c in counts)
    reference_entities = sum(c.reference_entities for c in counts)
    micro_prec_s = _ratio(sum(c.summary_in_source for c in counts), summary_entities)
    micro_prec_t = _ratio(sum(c.summary_in_reference for c in counts), summary_entities)
    micro_recall_t = _ratio(sum(c.reference_in_summary for c in counts), reference_entities)
    return {
        "macro_prec_s": macro_prec_s,
        "macro_prec_t": macro_prec_t,
        "macro_recall_t": macro_recall_t,
        "macro_f1_t": _f1(macro_prec_t, macro_recall_t),
        "micro_prec_s": micro_prec_s,
        "micro_prec_t": micro_prec_t,
        "micro_recall_t": micro_recall_t,
        "micro_f1_t": _f1(micro_prec_t, micro_recall_t),
        "n_summaries": len(counts),
        "n_without_summary_entities": n_without_summary_entities,
        "n_without_reference_entities": n_without_reference_entities,
    }
