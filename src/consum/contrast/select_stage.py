"""The ``select_contrast`` stage (the last step of ``make build-contrast``): S+ / S- rows from scores.

Reward (``reward``): ``quals`` (score_quals rows of references and candidates), ``rouge`` (the
paper's ConSeq-ROUGE baseline: mean ROUGE-1/2/L F1 of a candidate against the reference, computed
here; references then all score 1.0, so B is decided by the doc_id tie-break and selection is driven
by the negatives) or ``oracle`` (factworld only: the oracle as a perfect reward, the ceiling of a
loss; see :mod:`consum.contrast.oracle_reward`). Output ``contrast``: keyed rows (doc_id, cand_id,
role, score, text), the selection statistics in the manifest, and ``scores_hist.png``: reference vs.
candidate scores with the cut-offs drawn.
"""

from __future__ import annotations

from pathlib import Path

from consum.contrast.oracle_reward import keep_oracle_consistent
from consum.contrast.selection import SelectionConfig, select_contrast
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
    from consum.evaluation.rouge import rouge_mean_f1

    scores = rouge_mean_f1([c["text"] for c in candidates], [references[c["doc_id"]] for c in candidates])
    refs = [{"doc_id": d, "score": 1.0} for d in references]
    cands = [{"doc_id": c["doc_id"], "cand_id": c["cand_id"], "score": s} for c, s in zip(candidates, scores)]
    return refs, cands


def oracle_reward_scores(data_run: RunDir, split: str, references: dict[str, str], candidates: list[dict]):
    from consum.contrast.oracle_reward import oracle_scores

    table = data_run.table(split)
    if "doc_facts" not in table.column_names:
        raise DataError(f"reward=oracle needs factworld data (a doc_facts column); {data_run.path} has "
                        f"columns {table.column_names}: use reward=quals or reward=rouge on other data")
    wanted = {c["doc_id"] for c in candidates}
    facts = {r["doc_id"]: r["doc_facts"] for r in table.select_columns(["doc_id", "doc_facts"]).to_list()
             if r["doc_id"] in wanted}
    return oracle_scores(facts, {d: references[d] for d in facts}, candidates)


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
    for i, part in enumerate(chunk(rows, 100_000)):
        write_shard(run.path, "contrast", i, part)
    run.record_output("contrast", key=["doc_id", "cand_id"])
    plot_histogram(refs, cands, selection.stats, run.path / "scores_hist.png", cfg["reward"])
    run.stats.update({"reward": cfg["reward"], "split": split, "selection": selection.stats})
    run.finalize()
    s = selection.stats
    echo(f"select_contrast -> {run.path}: {s['n_kept']} of {s['n_docs']} documents kept "
         f"({s['n_pos']} positives, {s['n_neg']} negatives; |A|={s['n_A']}, |B|={s['n_B']}); "
         "histogram scores_hist.png")
    return run
