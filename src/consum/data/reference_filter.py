"""Reference filtering: keep the training pairs whose reference scores at or above a threshold.

The cheapest answer to unfaithful references is not to train on them: Nan et al. (EACL 2021) dropped
XSum pairs whose reference names an entity the document lacks. ``train-mle``'s ``filter`` option
(docs/training.md "Reference filtering") scores every training reference (QUALS, entity precision
against the document, or factworld's oracle; :mod:`consum.training.reference_filter`) and keeps the
pairs :func:`select_references` passes. This module is the pure part: rows and per-document scores
in, kept rows and counts out.

Rules, each explicit:

* a higher score is more faithful; a reference passes when ``score >= threshold``;
* ``keep_top=q`` instead of a threshold: the threshold is the score of the ``ceil(q * n)``-th best of
  the ``n`` scored references (:func:`top_share_threshold`), so references tied with it pass too and
  a little more than ``q`` may be kept;
* a score of ``None`` (or NaN) is *no evidence*: the filter cannot judge the reference (QUALS: no QA
  pair survived its filtering; entity precision: the reference has no entity). ``no_evidence="keep"``
  (the default: a filter removes only what its evidence condemns) keeps it, ``"drop"`` drops it; either
  way it is counted apart;
* a training document without a score at all is an error (the scores cover other documents: e.g. a
  ``score_quals`` run with ``max_docs``), never a silent drop.

Worked example: scores {a: 0.9, b: 0.2, c: None, d: 0.5}, threshold 0.5, no_evidence "keep" -> a, c, d
kept; b below; c counted as no evidence. With keep_top=0.5 instead: scored values 0.9, 0.5, 0.2,
ceil(1.5) = 2nd best = 0.5, the same threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consum.data.schema import DataError

NO_EVIDENCE = ("keep", "drop")


@dataclass(frozen=True)
class FilterResult:
    kept: list[Mapping]  # the rows that pass, in input order (the same objects)
    threshold: float | None  # scores >= threshold pass (None: nothing was scored)
    n_in: int
    n_below: int  # scored below the threshold: dropped
    n_no_evidence: int  # no score: kept or dropped as no_evidence says
    no_evidence: str

    @property
    def n_kept(self) -> int:
        return len(self.kept)

    @property
    def n_dropped(self) -> int:
        return self.n_in - self.n_kept

    def stats(self) -> dict:
        return {"threshold": self.threshold, "n_in": self.n_in, "n_kept": self.n_kept,
                "n_dropped": self.n_dropped, "n_below_threshold": self.n_below,
                "n_no_evidence": self.n_no_evidence, "no_evidence": self.no_evidence}


def top_share_threshold(values: Sequence[float], share: float) -> float:
    """The score of the ``ceil(share * n)``-th best value: keeping ``>=`` it keeps at least that share.

    >>> top_share_threshold([0.2, 0.9, 0.5, 0.5], 0.5)  # 2nd best of 4
    0.5
    >>> top_share_threshold([0.2, 0.9, 0.5], 0.1)  # at least one
    0.9
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"keep_top must lie in (0, 1], got {share}")
    if not values:
        raise DataError("keep_top: no reference has a score, so there is no share to keep")
    ranked = sorted(values, reverse=True)
    return ranked[max(1, math.ceil(share * len(ranked))) - 1]


def _score(scores: Mapping[str, float | None], doc_id: str) -> float | None:
    value = scores[doc_id]
    return None if value is None or math.isnan(value) else float(value)


def select_references(
    rows: Sequence[Mapping], scores: Mapping[str, float | None], *, threshold: float | None = None,
    keep_top: float | None = None, no_evidence: str = "keep",
) -> FilterResult:
    """The rows whose ``scores[row["doc_id"]]`` passes; exactly one of ``threshold`` / ``keep_top``."""
    if (threshold is None) == (keep_top is None):
        raise ValueError("give exactly one of threshold and keep_top")
    if no_evidence not in NO_EVIDENCE:
        raise ValueError(f"no_evidence must be one of {NO_EVIDENCE}, got {no_evidence!r}")
    unscored = [row["doc_id"] for row in rows if row["doc_id"] not in scores]
    if unscored:
        raise DataError(
            f"{len(unscored)} of {len(rows)} training documents have no score, e.g. {unscored[:3]}: "
            "the scores must cover every training reference"
        )
    values = {row["doc_id"]: _score(scores, row["doc_id"]) for row in rows}
    if keep_top is not None:
        threshold = top_share_threshold([v for v in values.values() if v is not None], keep_top)
    kept, n_below, n_none = [], 0, 0
    for row in rows:
        value = values[row["doc_id"]]
        if value is None:
            n_none += 1
            passes = no_evidence == "keep"
        else:
            passes = value >= threshold
            n_below += not passes
        if passes:
            kept.append(row)
    return FilterResult(kept, threshold, len(rows), n_below, n_none, no_evidence)
