"""``train-mle``'s reference filter: score every training reference, keep the pairs that pass.

The baseline a reviewer asks first: does ConSeq beat simply cleaning the training data? Filters
(``filter.by``; docs/training.md "Reference filtering"):

* ``quals``: QUALS of the reference from a ``score_quals`` run of the training split
  (``filter.scores``; rows with cand_id "ref", joined on doc_id), kept when ``>= filter.threshold``
  (chosen on noisy validation references by :func:`quals_threshold`, ``scripts/filter_threshold.py``)
  or the best ``filter.keep_top`` share (without an oracle to choose a threshold);
* ``entity``: the reference's entity precision against its document (Nan et al., EACL 2021:
  ``prec_s``, :mod:`consum.metrics.entity`), kept when ``>= filter.threshold`` (default 1.0: every
  entity found in the document); factworld's lexicon matcher on factworld, spaCy elsewhere;
* ``oracle`` (factworld): kept when the oracle finds no unsupported mention. The ceiling of filtering.

Scores are per doc_id; :func:`consum.data.reference_filter.select_references` does the selection
(no-evidence policy, counts). The run's manifest names the scores run as an input and records the
threshold and the counts under ``stats.filter``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from consum.data.reference_filter import FilterResult, select_references
from consum.data.schema import DataError
from consum.io.keys import REFERENCE_CAND_ID

FILTERS = ("quals", "entity", "oracle")
ENTITY_THRESHOLD = 1.0  # Nan et al.: a reference passes when every entity it names is in the document


def check_filter_config(filter_cfg: Mapping) -> None:
    """Refuse settings that would be ignored or cannot work, before any model is loaded."""
    by = filter_cfg.get("by")
    threshold, keep_top, scores = (filter_cfg.get(k) for k in ("threshold", "keep_top", "scores"))
    if by is None:
        if threshold is not None or keep_top is not None or scores:
            raise ValueError("filter.threshold / keep_top / scores are set but filter.by is null")
        return
    if by not in FILTERS:
        raise ValueError(f"filter.by must be null or one of {', '.join(FILTERS)}; got {by!r}")
    if threshold is not None and keep_top is not None:
        raise ValueError("filter.threshold and filter.keep_top: give one, not both")
    if by == "quals" and (not scores or (threshold is None and keep_top is None)):
        raise ValueError("filter.by=quals needs filter.scores (a score_quals run of the training "
                         "references) and filter.threshold (scripts/filter_threshold.py) or filter.keep_top")
    if by != "quals" and scores:
        raise ValueError(f"filter.scores is read by filter.by=quals only, not {by!r}")
    if by == "oracle" and (threshold is not None or keep_top is not None):
        raise ValueError("filter.by=oracle keeps the faithful references; it takes no threshold or keep_top")


def oracle_scores(rows: Sequence[Mapping]) -> dict[str, float]:
    """1.0 for a reference the oracle finds faithful, 0.0 otherwise (factworld rows only)."""
    from consum.data.factworld.oracle import check_summary

    if rows and "doc_facts" not in rows[0]:
        raise DataError("filter.by=oracle needs factworld rows (their doc_facts)")
    return {r["doc_id"]: float(not check_summary(r["doc_facts"], r["summary"]).hallucinated) for r in rows}


def entity_scores(rows: Sequence[Mapping], extract) -> dict[str, float | None]:
    """The reference's entity precision against its document (None: the reference names no entity)."""
    from consum.metrics.entity import entity_counts

    return {
        r["doc_id"]: entity_counts(r["summary"], r["document"], r["summary"], extract).prec_s for r in rows
    }


def quals_scores(scores_run, data_run) -> dict[str, float | None]:
    """QUALS of each training reference from a ``score_quals`` run of the same training data."""
    split = scores_run.manifest.get("stats", {}).get("split")
    if split not in (None, "train"):
        raise DataError(f"filter.scores {scores_run.path} scored split {split!r}, not the training split")
    check_same_training_data(scores_run, data_run)
    table = scores_run.table("scores").select_columns(["doc_id", "cand_id", "quals"]).to_list()
    refs = [r for r in table if r["cand_id"] == REFERENCE_CAND_ID]
    if not refs:
        raise DataError(f"filter.scores {scores_run.path} holds no reference scores (score_references?)")
    return {r["doc_id"]: r["quals"] for r in refs}


def check_same_training_data(scores_run, data_run) -> None:
    """The scores run read the same training rows: the same data run, or one whose train split has the
    same checksum (doc_ids alone would join another seed's or another noise's references)."""
    from consum.io.rundir import open_input

    recorded = scores_run.manifest.get("inputs", {}).get("data", {}).get("path")
    if recorded and Path(recorded).resolve() == Path(data_run.path).resolve():
        return
    ours = data_run.manifest["outputs"].get("train", {}).get("sha256")
    try:
        theirs = open_input(recorded).manifest["outputs"].get("train", {}).get("sha256") if recorded else None
    except (FileNotFoundError, RuntimeError):
        theirs = None
    if theirs is None or theirs != ours:
        raise DataError(f"filter.scores {scores_run.path} scored the references of {recorded}, whose "
                        f"training split is not that of {data_run.path}")


def filter_rows(cfg: Mapping, run, data_run, rows: Sequence[Mapping]) -> list[Mapping]:
    """The training rows the config's filter keeps (all when ``filter.by`` is null); stats in the run."""
    filter_cfg = cfg.get("filter") or {}
    check_filter_config(filter_cfg)
    by = filter_cfg.get("by")
    if by is None:
        return list(rows)
    threshold, keep_top = filter_cfg.get("threshold"), filter_cfg.get("keep_top")
    if by == "quals":
        from consum.io.rundir import open_input

        scores_run = open_input(filter_cfg["scores"], expected_stage="score_quals")
        run.add_input("filter_scores", scores_run)
        scores = quals_scores(scores_run, data_run)
    elif by == "entity":
        from consum.data.ner import entity_extractor

        extract = entity_extractor(cfg["data"])
        if extract is None:
            raise DataError("filter.by=entity needs an entity extractor: install spaCy and en_core_web_lg")
        scores = entity_scores(rows, extract)
        if threshold is None and keep_top is None:
            threshold = ENTITY_THRESHOLD
    else:
        scores, threshold = oracle_scores(rows), 1.0
    result = select_references(rows, scores, threshold=threshold, keep_top=keep_top,
                               no_evidence=filter_cfg.get("no_evidence") or "keep")
    run.stats["filter"] = filter_stats(by, keep_top, result)
    if not result.kept:
        raise DataError(f"filter.by={by} keeps no training pair (threshold {result.threshold})")
    return result.kept


def filter_stats(by: str, keep_top: float | None, result: FilterResult) -> dict:
    """What the manifest records: the filter, its threshold, the counts, and on labelled rows (factworld)
    how many of each label it kept."""
    stats = {"by": by, "keep_top": keep_top, **result.stats()}
    if result.kept and "label" in result.kept[0]:
        stats["kept_by_label"] = dict(sorted(Counter(r["label"] for r in result.kept).items()))
    return stats


def quals_threshold(scores: Sequence[float | None], faithful: Sequence[bool]) -> dict:
    """The QUALS threshold that best separates faithful from unfaithful references (balanced accuracy),
    chosen on validation references a data run noised (``data.factworld.eval_noise``) and labelled by
    the oracle. References without a score (no QA pair) are left out and counted.

    >>> quals_threshold([-1.0, -0.2, None, -0.1, -0.9], [False, True, True, True, False])["threshold"]
    -0.55
    """
    from consum.metrics.metric_stats import best_threshold, roc_auc

    pairs = [(s, int(f)) for s, f in zip(scores, faithful, strict=True)
             if s is not None and not math.isnan(s)]
    values, labels = [s for s, _ in pairs], [y for _, y in pairs]
    threshold, balanced = best_threshold(values, labels)
    return {"threshold": threshold, "balanced_accuracy": balanced, "roc_auc": roc_auc(values, labels),
            "n": len(pairs), "n_faithful": sum(labels), "n_no_evidence": len(scores) - len(pairs)}
