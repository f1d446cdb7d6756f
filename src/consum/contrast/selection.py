"""Choose S+ and S- from QUALS (or any) scores: pure, keyed, no I/O (spec §6.3).

The original rule (``mode="intersection"``, the defaults), for N documents that have a reference row:

* a document's *worst candidate* is its lowest-scoring generated summary; candidates without a score
  (no QA pairs survived filtering) are ignored;
* **A** = the ``round(neg_ratio·N)`` documents whose worst candidate scores lowest;
* **B** = the ``round(pos_ratio·N)`` documents whose reference scores highest;
* every document in A ∩ B yields one positive, its reference (``cand_id = "ref"``), and one negative,
  its worst candidate.

Worked example (N = 10, both ratios 0.3, so |A| = |B| = round(3.0) = 3): worst-candidate scores
d0..d9 = -5, -1, -4, -2, -3, -0.5, -0.1, -6, None, -0.2 give A = {d7, d0, d2}; reference scores
= -0.1, -0.9, -0.2, -0.3, -0.8, -0.7, -0.6, -0.4, -0.05, -1.0 give B = {d8, d0, d2}; the kept
documents are A ∩ B = {d0, d2}.

Deliberate differences from the original, all about corner cases:

* Ties are broken by ``doc_id`` (ascending) in both rankings. The original's stable sort broke them by
  line number, the same thing when ``doc_id`` follows line order.
* A document with no scored candidate is never in A, and an unscored reference never in B. The
  original scored such documents 1e5 and sorted them last, so they could still be picked when a ratio
  exceeded the share of scored documents (e.g. ``--unlike_select_ratio 1.0``).
* The output is sorted by ``doc_id``, not in arbitrary set order.

``round`` is Python's (half to even), as in the original: N = 5 at 0.3 gives round(1.5) = 2.

Beyond the original (defaults off): ``negatives_per_doc``, ``positives_from_candidates`` (samples
beside the reference), and ``positive_fallback="best_candidate"``: where most references are
unfaithful (XSum), most documents never reach B, and their own faithful samples are the positives the
data has; a document outside B whose best sample (past its negatives) scores at or above the positive
cut-off joins B with that sample as its S+ instead of the reference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from consum.io.keys import REFERENCE_CAND_ID, KeyMismatchError, check_unique

MODES = ("intersection", "separate")
POSITIVE_FALLBACKS = ("none", "best_candidate")


@dataclass(frozen=True)
class SelectionConfig:
    neg_ratio: float = 0.3  # share of documents in A, by lowest worst-candidate score (--unlike_select_ratio)
    pos_ratio: float = 0.3  # share of documents in B, by highest reference score (--target_select_ratio)
    mode: str = (
        "intersection"  # "separate": B's references -> positives, A's candidates -> negatives, unpaired
    )
    negatives_per_doc: int = 1  # the k lowest-scoring candidates of a document become negatives
    positives_from_candidates: int = (
        0  # also the top-m candidates scoring >= the positive cutoff become positives
    )
    positive_fallback: str = "none"  # best_candidate: a document whose reference is not in B enters B
    #   when a candidate (not one of its negatives) scores >= the positive cutoff; that candidate is its S+
    pos_threshold: float | None = None  # B = references scoring >= this (instead of pos_ratio)
    neg_threshold: float | None = (
        None  # A = documents whose worst candidate scores <= this (instead of neg_ratio)
    )
    score_column: str = "quals"  # the score field read from every input row

    def __post_init__(self) -> None:
        for name in ("neg_ratio", "pos_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.negatives_per_doc < 1:
            raise ValueError(f"negatives_per_doc must be >= 1, got {self.negatives_per_doc}")
        if self.positives_from_candidates < 0:
            raise ValueError(f"positives_from_candidates must be >= 0, got {self.positives_from_candidates}")
        if self.positive_fallback not in POSITIVE_FALLBACKS:
            raise ValueError(f"positive_fallback must be one of {POSITIVE_FALLBACKS}, "
                             f"got {self.positive_fallback!r}")


@dataclass(frozen=True)
class Selection:
    """``rows``: ``{"doc_id", "cand_id", "role": "pos" | "neg", "score"}``, sorted by ``doc_id``; within
    a document the reference first, then candidate positives (best first), then negatives (worst first).
    ``stats``: counts, cutoffs and score quantiles; ``stats["empty_reason"]`` says why ``rows`` is
    empty (None otherwise)."""

    rows: list[dict[str, Any]]
    stats: dict[str, Any]


def select_contrast(
    reference_scores: Iterable[Mapping[str, Any] | Any],
    candidate_scores: Iterable[Mapping[str, Any] | Any],
    config: SelectionConfig = SelectionConfig(),  # noqa: B008 - frozen, so a shared default is safe
) -> Selection:
    """Select contrast rows from score rows keyed by ``doc_id`` (references) and ``(doc_id, cand_id)``.

    Rows are dicts or objects with those attributes; the score is read from ``config.score_column``
    and may be None (or NaN) for "no score". Every candidate's document must have a reference row.
    Raises ValueError on duplicate keys (``DuplicateKeyError``, naming them), on candidates of
    documents without a reference row (``KeyMismatchError``) and on a candidate whose ``cand_id`` is
    ``"ref"``.

    >>> refs = [{"doc_id": "a", "quals": -0.1}, {"doc_id": "b", "quals": -2.0}]
    >>> cands = [{"doc_id": "a", "cand_id": "s0", "quals": -3.0},
    ...          {"doc_id": "a", "cand_id": "s1", "quals": -1.0},
    ...          {"doc_id": "b", "cand_id": "s0", "quals": -0.5}]
    >>> for row in select_contrast(refs, cands, SelectionConfig(neg_ratio=0.5, pos_ratio=0.5)).rows:
    ...     print(row)
    {'doc_id': 'a', 'cand_id': 'ref', 'role': 'pos', 'score': -0.1}
    {'doc_id': 'a', 'cand_id': 's0', 'role': 'neg', 'score': -3.0}
    """
    column = config.score_column
    references = {_field(row, "doc_id"): _score(row, column) for row in _checked_references(reference_scores)}
    candidates = _group_candidates(candidate_scores, column, references)
    n_docs = len(references)

    # Scored candidates of each document, worst first; ties by cand_id.
    ranked_candidates = {
        doc_id: sorted(((score, cand_id) for cand_id, score in rows if score is not None))
        for doc_id, rows in candidates.items()
    }
    worst = {doc_id: ranked[0][0] for doc_id, ranked in ranked_candidates.items() if ranked}
    scored_references = {doc_id: score for doc_id, score in references.items() if score is not None}

    docs_a = _documents_a(worst, config, n_docs)
    docs_b = _documents_b(scored_references, config, n_docs)
    neg_cutoff = max((worst[doc_id] for doc_id in docs_a), default=None)
    ref_cutoff = min((references[doc_id] for doc_id in docs_b), default=None)
    candidate_pos_cutoff = config.pos_threshold if config.pos_threshold is not None else ref_cutoff
    fallback_docs = _fallback_documents(docs_a, docs_b, ranked_candidates, candidate_pos_cutoff, config)

    if config.mode == "intersection":
        positive_docs = negative_docs = docs_a & (docs_b | fallback_docs)
    else:
        positive_docs, negative_docs = docs_b | fallback_docs, docs_a

    rows = _contrast_rows(positive_docs, negative_docs, fallback_docs, references, ranked_candidates,
                          candidate_pos_cutoff, config)

    all_candidate_scores = [score for scored in candidates.values() for _, score in scored]
    n_pos = sum(row["role"] == "pos" for row in rows)
    stats = {
        "mode": config.mode,
        "n_docs": n_docs,
        "n_refs_scored": len(scored_references),
        "n_candidates": len(all_candidate_scores),
        "n_candidates_scored": sum(score is not None for score in all_candidate_scores),
        "n_docs_with_scored_candidates": len(worst),
        "n_A": len(docs_a),
        "n_B": len(docs_b),
        "n_fallback": len(fallback_docs),
        "n_fallback_kept": len(fallback_docs & positive_docs),
        "n_kept": len({row["doc_id"] for row in rows}),
        "n_pos": n_pos,
        "n_neg": len(rows) - n_pos,
        "ref_cutoff": ref_cutoff,
        "neg_cutoff": neg_cutoff,
        "ref_score_quantiles": quantiles(scored_references.values()),
        "candidate_score_quantiles": quantiles(s for s in all_candidate_scores if s is not None),
        "worst_candidate_score_quantiles": quantiles(worst.values()),
        "empty_reason": None
        if rows
        else _empty_reason(config, n_docs, worst, scored_references, docs_a, docs_b),
    }
    return Selection(rows=rows, stats=stats)


def _contrast_rows(
    positive_docs: set[str],
    negative_docs: set[str],
    fallback_docs: set[str],
    references: Mapping[str, float | None],
    ranked_candidates: Mapping[str, list[tuple[float, str]]],
    candidate_pos_cutoff: float | None,
    config: SelectionConfig,
) -> list[dict[str, Any]]:
    """The rows of the kept documents, by doc_id: the reference (and candidate positives, best first)
    of a positive document, or in a fallback document its best candidates (at least one) instead of
    the reference; then the k worst candidates of a negative one."""
    rows: list[dict[str, Any]] = []
    for doc_id in sorted(positive_docs | negative_docs):
        ranked = ranked_candidates.get(doc_id, [])
        negatives = ranked[: config.negatives_per_doc] if doc_id in negative_docs else []
        if doc_id in positive_docs:
            fallback = doc_id in fallback_docs
            if not fallback:
                rows.append(_row(doc_id, REFERENCE_CAND_ID, "pos", references[doc_id]))
            if candidate_pos_cutoff is not None:
                past_negatives = ranked[len(negatives):]  # negatives are the first of ranked
                limit = config.positives_from_candidates
                limit = max(1, limit) if fallback else limit
                best = _best_candidates(past_negatives, candidate_pos_cutoff, limit)
                rows.extend(_row(doc_id, cand_id, "pos", score) for score, cand_id in best)
        rows.extend(_row(doc_id, cand_id, "neg", score) for score, cand_id in negatives)
    return rows


def _fallback_documents(
    docs_a: set,
    docs_b: set,
    ranked_candidates: Mapping[str, list[tuple[float, str]]],
    cutoff: float | None,
    config: SelectionConfig,
) -> set:
    """``positive_fallback=best_candidate``: the documents outside B with a candidate scoring >= the
    positive cutoff, a document of A counting only candidates past its k negatives (a sample is never
    both S+ and S-). Where references are mostly unfaithful, these are the model's own faithful samples."""
    if config.positive_fallback == "none" or cutoff is None:
        return set()
    found = set()
    for doc_id, ranked in ranked_candidates.items():
        if doc_id in docs_b:
            continue
        eligible = ranked[config.negatives_per_doc:] if doc_id in docs_a else ranked
        if eligible and eligible[-1][0] >= cutoff:  # ranked ascending: the last is the best
            found.add(doc_id)
    return found


def quantiles(values: Iterable[float]) -> dict[str, float] | None:
    """Min, quartiles and max with linear interpolation (numpy's default); None for no values.

    >>> quantiles([4.0, 1.0, 3.0, 2.0])
    {'min': 1.0, 'p25': 1.75, 'p50': 2.5, 'p75': 3.25, 'max': 4.0}
    """
    ordered = sorted(values)
    if not ordered:
        return None

    def at(fraction: float) -> float:
        position = fraction * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return {"min": ordered[0], "p25": at(0.25), "p50": at(0.5), "p75": at(0.75), "max": ordered[-1]}


def _documents_a(worst: Mapping[Any, float], config: SelectionConfig, n_docs: int) -> set:
    """Documents whose worst candidate is low enough to give a negative."""
    if config.neg_threshold is not None:
        return {doc_id for doc_id, score in worst.items() if score <= config.neg_threshold}
    ascending = sorted(worst, key=lambda doc_id: (worst[doc_id], doc_id))
    return set(ascending[: round(config.neg_ratio * n_docs)])


def _documents_b(scored_references: Mapping[Any, float], config: SelectionConfig, n_docs: int) -> set:
    """Documents whose reference scores high enough to be a positive."""
    if config.pos_threshold is not None:
        return {doc_id for doc_id, score in scored_references.items() if score >= config.pos_threshold}
    descending = sorted(scored_references, key=lambda doc_id: (-scored_references[doc_id], doc_id))
    return set(descending[: round(config.pos_ratio * n_docs)])


def _best_candidates(ranked: list[tuple[float, str]], cutoff: float, limit: int) -> list[tuple[float, str]]:
    """The ``limit`` highest-scoring ``(score, cand_id)`` at or above ``cutoff``; ties by cand_id."""
    qualifying = sorted((-score, cand_id) for score, cand_id in ranked if score >= cutoff)
    return [(-negated_score, cand_id) for negated_score, cand_id in qualifying[:limit]]


def _field(row: Mapping[str, Any] | Any, name: str) -> Any:
    if isinstance(row, Mapping):
        if name not in row:
            raise ValueError(f"score row has no {name!r} field: {dict(row)!r}")
        return row[name]
    if not hasattr(row, name):
        raise ValueError(f"score row has no {name!r} field: {row!r}")
    return getattr(row, name)


def _score(row: Mapping[str, Any] | Any, column: str) -> float | None:
    value = _field(row, column)
    if value is None or math.isnan(value):
        return None
    return float(value)


def _checked_references(reference_scores: Iterable[Any]) -> list[Any]:
    rows = list(reference_scores)
    check_unique((_field(row, "doc_id") for row in rows), "reference_scores doc_id")
    return rows


def _group_candidates(
    candidate_scores: Iterable[Any], column: str, references: Mapping[Any, float | None]
) -> dict[Any, list[tuple[str, float | None]]]:
    rows = list(candidate_scores)
    keys = [(_field(row, "doc_id"), _field(row, "cand_id")) for row in rows]
    check_unique(keys, "candidate_scores (doc_id, cand_id)")
    reserved = [key for key in keys if key[1] == REFERENCE_CAND_ID]
    if reserved:
        raise ValueError(
            f"candidate_scores: cand_id {REFERENCE_CAND_ID!r} is reserved for references: {reserved[:5]}"
        )
    orphans = sorted({doc_id for doc_id, _ in keys if doc_id not in references}, key=str)
    if orphans:
        raise KeyMismatchError(
            f"candidate_scores: documents without a reference row: {orphans[:5]}"
            + (f" ... ({len(orphans)} in all)" if len(orphans) > 5 else "")
        )
    grouped: dict[Any, list[tuple[str, float | None]]] = {}
    for (doc_id, cand_id), row in zip(keys, rows, strict=True):
        grouped.setdefault(doc_id, []).append((cand_id, _score(row, column)))
    return grouped


def _row(doc_id: Any, cand_id: str, role: str, score: float | None) -> dict[str, Any]:
    return {"doc_id": doc_id, "cand_id": cand_id, "role": role, "score": score}


def _empty_reason(
    config: SelectionConfig,
    n_docs: int,
    worst: Mapping[Any, float],
    scored_references: Mapping[Any, float],
    docs_a: set,
    docs_b: set,
) -> str:
    if n_docs == 0:
        return "no reference rows: nothing to select from"
    reasons = []
    if not docs_a:
        if not worst:
            reasons.append("no document has a scored candidate, so A (the negatives) is empty")
        elif config.neg_threshold is not None:
            reasons.append(
                f"no worst-candidate score is <= neg_threshold={config.neg_threshold}, so A is empty"
            )
        else:
            reasons.append(f"round(neg_ratio={config.neg_ratio} x {n_docs} docs) = 0, so A is empty")
    if not docs_b:
        if not scored_references:
            reasons.append("no reference has a score, so B (the positives) is empty")
        elif config.pos_threshold is not None:
            reasons.append(f"no reference score is >= pos_threshold={config.pos_threshold}, so B is empty")
        else:
            reasons.append(f"round(pos_ratio={config.pos_ratio} x {n_docs} docs) = 0, so B is empty")
    if config.mode == "intersection" and docs_a and docs_b:
        reasons.append(
            f"A ({len(docs_a)} docs with the lowest worst-candidate scores) and B ({len(docs_b)} docs with "
            "the highest reference scores) do not overlap; raise neg_ratio/pos_ratio or use mode='separate'"
        )
    return "; ".join(reasons)
