"""The ``select_contrast`` stage (the last step of ``make build-contrast``): S+ / S- rows from scores.

Reward (``reward``): ``quals`` (score_quals rows of references and candidates), ``rouge`` (the
paper's ConSeq-ROUGE baseline: mean ROUGE-1/2/L F1 of a candidate against the reference, computed
here; references then all score 1.0, so B is decided by the doc_id tie-break and selection is driven
by the negatives) or ``oracle`` (factworld only: the oracle as a perfect reward, the ceiling of a
loss; see :mod:`consum.contrast.oracle_reward`). Output ``contrast``: keyed rows (doc_id, cand_id,
role, score, text), the selection statistics in the manifest, and ``scores_hist.png``: reference vs.
candidate scores with the cut-offs drawn.

Spans (``spans.source``, for ``loss=span_unlikelihood``): ``quals`` or ``oracle`` adds to every row
``unsupported_spans`` (``[[start, end], ...]`` character offsets in ``text``; always empty on
positives) and ``span_found`` (a negative with at least one span). ``quals`` takes the answers of the
negative's worst kept QA pairs (``spans.worst_k``, ``spans.max_pair_score``: see
:class:`consum.contrast.spans.SpanRule`) from the ``details`` of the score run (``score_quals
detail=true``), whatever the reward; ``oracle`` (factworld data) the oracle's unsupported mentions.
Counts go to ``stats["spans"]``. ``null`` (default) writes the rows as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from consum.contrast.oracle_reward import keep_oracle_consistent
from consum.contrast.selection import SelectionConfig, select_contrast
from consum.contrast.spans import (
    Span,
    SpanRule,
    locate_answer_spans,
    oracle_unsupported_spans,
    unsupported_answers,
)
from consum.data.schema import DataError
from consum.io.keys import REFERENCE_CAND_ID
from consum.io.rundir import RunDir, open_input
from consum.io.shards import chunk, write_shard
from consum.io.stage import open_stage


def quals_scores(cfg: dict, run: RunDir) -> tuple[list[dict], list[dict]]:
    scores_run = open_input(cfg["inputs"]["scores"], expected_stage="score_quals")
    run.add_input("scores", scores_run)
    rows = scores_run.table("scores").select_columns(["doc_id", "cand_id", "quals"]).to_list()
    refs = [{"doc_id": r["doc_id"], "score": r["quals"]} for r in rows if r["cand_id"] == REFERENCE_CAND_ID]
    cands = [
        {"doc_id": r["doc_id"], "cand_id": r["cand_id"], "score": r["quals"]}
        for r in rows if r["cand_id"] != REFERENCE_CAND_ID
    ]
    if not refs:
        raise DataError(f"score run {scores_run.path} holds no reference scores "
                        f"(cand_id {REFERENCE_CAND_ID!r}): run score_quals with score_references=true")
    return refs, cands


def rouge_scores(references: dict[str, str], candidates: list[dict]) -> tuple[list[dict], list[dict]]:
    from consum.metrics.rouge import rouge_mean_f1

    scores = rouge_mean_f1([c["text"] for c in candidates], [references[c["doc_id"]] for c in candidates])
    refs = [{"doc_id": d, "score": 1.0} for d in references]
    cands = [{"doc_id": c["doc_id"], "cand_id": c["cand_id"], "score": s} for c, s in zip(candidates, scores)]
    return refs, cands


def doc_facts(data_run: RunDir, split: str, wanted: set[str], *, needed_by: str,
              instead: str) -> dict[str, str]:
    """factworld's ``doc_facts`` of the ``wanted`` documents; a DataError naming ``needed_by`` and the
    alternative (``instead``) on data without them."""
    table = data_run.table(split)
    if "doc_facts" not in table.column_names:
        raise DataError(f"{needed_by} needs factworld data (a doc_facts column); {data_run.path} has "
                        f"columns {table.column_names}: {instead}")
    return {r["doc_id"]: r["doc_facts"] for r in table.select_columns(["doc_id", "doc_facts"]).to_list()
            if r["doc_id"] in wanted}


def oracle_reward_scores(data_run: RunDir, split: str, references: dict[str, str], candidates: list[dict]):
    from consum.contrast.oracle_reward import oracle_scores

    facts = doc_facts(data_run, split, {c["doc_id"] for c in candidates}, needed_by="reward=oracle",
                      instead="use reward=quals or reward=rouge on other data")
    return oracle_scores(facts, {d: references[d] for d in facts}, candidates)


ORACLE_FILTER_SIDES = {"positives": ("pos",), "negatives": ("neg",), "both": ("pos", "neg")}


def oracle_filtered(which: str, selection, data_run: RunDir, split: str, references: dict[str, str],
                    texts: dict[tuple[str, str], str]):
    """``oracle_filter`` (a factworld diagnostic): drop the selected rows of ``which`` side(s) that
    the oracle contradicts, so a study can tell a reward's positives from its negatives."""
    from consum.data.factworld import check_summary

    if which not in ORACLE_FILTER_SIDES:
        raise ValueError(f"oracle_filter={which!r}; expected null, {', '.join(ORACLE_FILTER_SIDES)}")
    facts = doc_facts(data_run, split, {r["doc_id"] for r in selection.rows}, needed_by="oracle_filter",
                      instead="it is a factworld diagnostic")

    def hallucinated(row) -> bool:
        text = (references[row["doc_id"]] if row["cand_id"] == REFERENCE_CAND_ID
                else texts[(row["doc_id"], row["cand_id"])])
        return check_summary(facts[row["doc_id"]], text).hallucinated

    return keep_oracle_consistent(selection, hallucinated, ORACLE_FILTER_SIDES[which])


class SpanSearch(NamedTuple):
    spans: list[Span]  # merged character spans located in the negative's text
    n_claims: int  # unsupported answers chosen (quals) or unsupported mentions (oracle)
    not_found: list[str]  # chosen answers absent from the text (quals)


SPAN_SOURCES = ("quals", "oracle")


def quals_span_finder(cfg: dict, run: RunDir, negatives: list[dict]) -> Callable[[dict], SpanSearch]:
    """The answers of each negative's worst kept QA pairs (``score_quals`` detail rows), located in its
    text."""
    scores_run = open_input(cfg["inputs"]["scores"], expected_stage="score_quals")
    run.add_input("scores", scores_run)
    if "details" not in scores_run.manifest.get("outputs", {}):
        raise DataError(f"spans.source=quals needs the QA pairs of the score run, but {scores_run.path} "
                        "has no details: rerun score_quals with detail=true (or use spans.source=oracle "
                        "on factworld data)")
    wanted = {(r["doc_id"], r["cand_id"]) for r in negatives}
    details = defaultdict(list)
    columns = ["doc_id", "cand_id", "qa_index", "answer", "pair_score"]
    for d in scores_run.table("details").select_columns(columns).to_list():
        if (d["doc_id"], d["cand_id"]) in wanted:
            details[(d["doc_id"], d["cand_id"])].append(d)
    rule = SpanRule(worst_k=cfg["spans"]["worst_k"], max_pair_score=cfg["spans"]["max_pair_score"])

    def find(row: dict) -> SpanSearch:
        answers = unsupported_answers(details[(row["doc_id"], row["cand_id"])], rule)
        spans, not_found = locate_answer_spans(row["text"], answers)
        return SpanSearch(spans, len(answers), not_found)

    return find


def oracle_span_finder(data_run: RunDir, split: str, negatives: list[dict]) -> Callable[[dict], SpanSearch]:
    """The mentions of each negative that factworld's oracle finds unsupported."""
    facts = doc_facts(data_run, split, {r["doc_id"] for r in negatives}, needed_by="spans.source=oracle",
                      instead="use spans.source=quals (with score_quals detail=true)")

    def find(row: dict) -> SpanSearch:
        spans = oracle_unsupported_spans(facts[row["doc_id"]], row["text"])
        return SpanSearch(spans, len(spans), [])

    return find


def add_unsupported_spans(cfg: dict, run: RunDir, data_run: RunDir, split: str, rows: list[dict]) -> dict:
    """Give every row ``unsupported_spans`` and ``span_found`` (in place); return the ``spans`` stats."""
    source = cfg["spans"]["source"]
    negatives = [r for r in rows if r["role"] == "neg"]
    if source == "quals":
        find = quals_span_finder(cfg, run, negatives)
    elif source == "oracle":
        find = oracle_span_finder(data_run, split, negatives)
    else:
        raise ValueError(f"unknown spans.source {source!r}; expected null, {' or '.join(SPAN_SOURCES)}")
    stats = {**cfg["spans"], "n_neg": len(negatives), "n_neg_with_spans": 0, "n_neg_without_spans": 0,
             "n_neg_without_claims": 0, "n_answers_not_found": 0}
    for r in rows:
        found = find(r) if r["role"] == "neg" else SpanSearch([], 0, [])
        r["unsupported_spans"] = [[start, end] for start, end in found.spans]
        r["span_found"] = bool(found.spans)
        if r["role"] == "neg":
            stats["n_neg_with_spans" if found.spans else "n_neg_without_spans"] += 1
            stats["n_neg_without_claims"] += found.n_claims == 0
            stats["n_answers_not_found"] += len(found.not_found)
    return stats


def contrast_features(rows: list[dict]):
    """The shards' schema, fixed so that a shard whose span lists are all empty keeps the list type."""
    import datasets

    features = datasets.Dataset.from_list(rows).features.copy()
    if "unsupported_spans" in features:
        features["unsupported_spans"] = datasets.List(datasets.List(datasets.Value("int64")))
    return features


def plot_histogram(refs: list[dict], cands: list[dict], stats: dict, path: Path, reward: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_values = [r["score"] for r in refs if r["score"] is not None]
    cand_values = [c["score"] for c in cands if c["score"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([ref_values, cand_values], bins=40, label=["references", "candidates"], alpha=0.8)
    for key, label, color in (
        ("ref_cutoff", "S+ cut-off (refs >=)", "tab:green"),
        ("neg_cutoff", "S- cut-off (worst cand <=)", "tab:red"),
    ):
        if stats.get(key) is not None:
            ax.axvline(stats[key], color=color, linestyle="--", label=f"{label} {stats[key]:.3f}")
    ax.set_xlabel(reward)
    ax.set_ylabel("summaries")
    ax.set_title(f"{reward}: kept {stats.get('n_kept', 0)} of {stats.get('n_docs', 0)} documents")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(cfg: dict, *, echo=print) -> RunDir:
    run = open_stage(cfg, echo=echo)
    if run.is_complete:
        return run
    data_run = open_input(cfg["inputs"]["data"], expected_stage="prepare_data")
    cand_run = open_input(cfg["inputs"]["candidates"], expected_stage="generate")
    run.add_input("data", data_run)
    run.add_input("candidates", cand_run)
    split = cand_run.manifest["stats"]["split"]
    references = {
        r["doc_id"]: r["summary"]
        for r in data_run.table(split).select_columns(["doc_id", "summary"]).to_list()
    }
    candidates = cand_run.table("candidates").select_columns(["doc_id", "cand_id", "text"]).to_list()
    texts = {(c["doc_id"], c["cand_id"]): c["text"] for c in candidates}
    if cfg["reward"] == "quals":
        refs, cands = quals_scores(cfg, run)
    elif cfg["reward"] == "rouge":
        refs, cands = rouge_scores({d: references[d] for d in {c["doc_id"] for c in candidates}}, candidates)
    elif cfg["reward"] == "oracle":
        refs, cands = oracle_reward_scores(data_run, split, references, candidates)
    else:
        raise ValueError(f"unknown reward {cfg['reward']!r}; expected quals, rouge or oracle")
    selection = select_contrast(refs, cands, SelectionConfig(**{**cfg["contrast"], "score_column": "score"}))
    if cfg["reward"] == "oracle":
        selection = keep_oracle_consistent(selection)
    elif cfg.get("oracle_filter"):
        selection = oracle_filtered(cfg["oracle_filter"], selection, data_run, split, references, texts)
    if not selection.rows:
        raise DataError(f"select_contrast selected nothing: {selection.stats['empty_reason']}")
    rows = [
        {
            **r,
            "text": references[r["doc_id"]] if r["cand_id"] == REFERENCE_CAND_ID
            else texts[(r["doc_id"], r["cand_id"])],
        }
        for r in selection.rows
    ]
    spans = (cfg.get("spans") or {}).get("source")
    if spans is not None:
        run.stats["spans"] = add_unsupported_spans(cfg, run, data_run, split, rows)
    features = contrast_features(rows) if spans is not None else None
    for i, part in enumerate(chunk(rows, 100_000)):
        write_shard(run.path, "contrast", i, part, features=features)
    run.record_output("contrast", key=["doc_id", "cand_id"])
    plot_histogram(refs, cands, selection.stats, run.path / "scores_hist.png", cfg["reward"])
    run.stats.update({"reward": cfg["reward"], "split": split, "selection": selection.stats})
    run.finalize()
    s = selection.stats
    found = f"; spans ({spans}) on {run.stats['spans']['n_neg_with_spans']} negatives" if spans else ""
    echo(f"select_contrast -> {run.path}: {s['n_kept']} of {s['n_docs']} documents kept "
         f"({s['n_pos']} positives, {s['n_neg']} negatives; |A|={s['n_A']}, |B|={s['n_B']}{found}); "
         "histogram scores_hist.png")
    return run
