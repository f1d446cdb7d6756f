"""``reward=oracle``: factworld's oracle as a perfect reward, the ceiling of each ConSeq loss.

The oracle (:func:`consum.data.factworld.check_summary`) knows every fact of a generated document, so
it can say exactly which summaries are hallucinated. Used in place of QUALS, under the *same*
selection rules and sizes (:func:`consum.contrast.selection.select_contrast` with the same ratios), the
only thing that changes between ConSeq-QUALS and ConSeq-oracle is the reward; the gap between them is
what a better factuality metric could still buy.

The score of a summary is minus its number of unsupported mentions (extrinsic + intrinsic), so the
ranking inside A and B prefers the worst candidates and the cleanest references, plus a tie-break in
[0, 0.5) from a hash of the row's key (:func:`tie_break`), which keeps the sign (score >= 0 exactly when
faithful) and the order between counts. Integer scores tie massively (most references are faithful),
and the selection's own tie-break, by doc_id in both A and B, would then pick the *same* low doc_ids
for both sets: the intersection would be several times QUALS's (whose scores hardly tie), not the
same size. With independent hashes for references and candidates, A and B are as unrelated as
QUALS's are, and the selection sizes match. Because a ratio can
exceed the share of hallucinated candidates (or of faithful references), :func:`keep_oracle_consistent`
then drops every negative the oracle finds faithful and every positive it finds hallucinated: S- is
only hallucinated candidates, S+ only faithful references, as the issue defines the ceiling. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence

from consum.contrast.selection import Selection
from consum.io.keys import REFERENCE_CAND_ID


def oracle_score(doc_facts: Mapping | str, text: str) -> int:
    """Minus the number of mentions of ``text`` the document's facts do not support (0 = faithful)."""
    from consum.data.factworld.oracle import check_summary

    verdict = check_summary(doc_facts, text)
    return -(verdict.n_extrinsic + verdict.n_intrinsic)


def tie_break(*key: str) -> float:
    """A fixed pseudo-random number in [0, 0.5) for ``key`` (the same on every machine and run)."""
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 / 2


def oracle_scores(
    doc_facts: Mapping[str, Mapping | str], references: Mapping[str, str], candidates: Sequence[Mapping]
) -> tuple[list[dict], list[dict]]:
    """(reference rows, candidate rows) with ``unsupported`` (the count) and ``score`` = -unsupported +
    :func:`tie_break` of the row's key, the shape that ``select_contrast`` reads. A candidate of a
    document without facts is an error (a wrong input)."""
    missing = sorted({c["doc_id"] for c in candidates} - set(doc_facts))
    if missing:
        raise KeyError(f"reward=oracle: no doc_facts for {len(missing)} candidate documents, "
                       f"e.g. {missing[:3]}")
    refs = [_scored({"doc_id": d}, oracle_score(doc_facts[d], text), REFERENCE_CAND_ID, d)
            for d, text in references.items()]
    cands = [_scored({"doc_id": c["doc_id"], "cand_id": c["cand_id"]},
                     oracle_score(doc_facts[c["doc_id"]], c["text"]), "cand", c["doc_id"], c["cand_id"])
             for c in candidates]
    return refs, cands


def _scored(row: dict, score: int, *key: str) -> dict:
    return {**row, "unsupported": -score, "score": score + tie_break(*key)}


def keep_oracle_consistent(
    selection: Selection,
    hallucinated: Callable[[Mapping], bool] | None = None,
    sides: Collection[str] = ("pos", "neg"),
) -> Selection:
    """Drop negatives the oracle finds faithful and positives it finds hallucinated (only the roles in
    ``sides``); a paired document (intersection mode) that loses either side loses both. Counts go to
    the stats. ``hallucinated(row)`` defaults to the oracle reward's own score (< 0); with another
    reward (``oracle_filter``) the caller passes the oracle's verdict on the row's text."""
    rows = selection.rows
    if hallucinated is None:
        hallucinated = lambda r: r["score"] < 0  # noqa: E731
    bad = {(r["doc_id"], r["cand_id"]) for r in rows
           if r["role"] in sides and bool(hallucinated(r)) == (r["role"] == "pos")}
    kept = [r for r in rows if (r["doc_id"], r["cand_id"]) not in bad]
    by_doc: dict[str, set[str]] = {}
    for r in kept:
        by_doc.setdefault(r["doc_id"], set()).add(r["role"])
    paired = selection.stats.get("mode", "intersection") == "intersection"
    if paired:
        kept = [r for r in kept if by_doc[r["doc_id"]] == {"pos", "neg"}]
    stats = dict(selection.stats)
    stats.update({
        "oracle_dropped_faithful_negatives": sum(
            r["role"] == "neg" and (r["doc_id"], r["cand_id"]) in bad for r in rows),
        "oracle_dropped_hallucinated_positives": sum(
            r["role"] == "pos" and (r["doc_id"], r["cand_id"]) in bad for r in rows),
        "n_pos": sum(r["role"] == "pos" for r in kept),
        "n_neg": sum(r["role"] == "neg" for r in kept),
        "n_kept": len({r["doc_id"] for r in kept}),
    })
    if not kept and stats.get("empty_reason") is None:
        stats["empty_reason"] = "the oracle found no hallucinated negative / faithful positive to keep"
    return Selection(kept, stats)
