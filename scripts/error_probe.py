r"""Does ConSeq lower the probability of the errors it saw, and on new documents? (issue 30)

Teacher-forces two sets of summaries under each model (the first is the base of the changes) and
prints, per kind of error the factworld oracle finds in them and for the supported mentions (the
control), the mean token log-prob of the mentions and each model's paired change
(consum.evaluation.error_probe):

    python scripts/error_probe.py --data runs/prepare_data/study \
        --negatives runs/select_contrast/study-s1-oracle \
        --outputs runs/evaluate/study-s1-ceiling:mle \
        --models mle=runs/train_mle/study-s1 oracle=runs/train_conseq/study-s1-conseq_oracle

``--negatives``: a select_contrast run; its S- rows (training documents) are what the loss saw.
``--outputs RUN:SYSTEM``: an evaluate run's summaries of one system (its split's documents, which no
ConSeq run trained on), e.g. the MLE model's own outputs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from consum.evaluation.error_probe import (
    mention_logprobs,
    oracle_mentions,
    paired_changes,
    summary_token_logprobs,
)
from consum.io import open_input


def run_split(run, default: str) -> str:
    """The split a run read (its config.yaml's ``split``)."""
    from omegaconf import OmegaConf

    config = run.path / "config.yaml"
    return str(OmegaConf.load(config).get("split", default)) if config.exists() else default


def load_rows(args) -> dict[str, tuple[str, list[dict]]]:
    """Per probed set: its split and rows ``{doc_id, text}``."""
    sets = {}
    if args.negatives:
        contrast = open_input(args.negatives, expected_stage="select_contrast")
        split = run_split(contrast, "train")
        sets["negatives seen"] = (split, [{"doc_id": r["doc_id"], "text": r["text"]}
                                          for r in contrast.rows("contrast") if r["role"] == "neg"])
    if args.outputs:
        run_dir, _, system = args.outputs.rpartition(":")
        evaluated = open_input(run_dir, expected_stage="evaluate")
        split = run_split(evaluated, "test")
        sets[f"{system} outputs, {split}"] = (split, [{"doc_id": r["doc_id"], "text": r["summary"]}
                                                      for r in evaluated.rows(f"summaries_{system}")])
    return {name: (split, rows[: args.max_rows]) for name, (split, rows) in sets.items()}


def score_sets(tables: dict, models: dict[str, str], args) -> dict[str, dict[str, list]]:
    """Per probed set, per model: one ``(label, mean log-prob)`` per oracle mention, in the same order."""
    from consum.models import load_model, load_tokenizer

    scored: dict[str, dict[str, list]] = {name: {} for name in tables}
    for model_name, run_dir in models.items():
        path = run_dir if Path(run_dir, "config.json").exists() else open_input(run_dir).model_path
        model, tokenizer = load_model(path), load_tokenizer(path)
        for name, t in tables.items():
            documents = [t["docs"][r["doc_id"]]["document"] for r in t["rows"]]
            logprobs = summary_token_logprobs(model, tokenizer, documents, [r["text"] for r in t["rows"]],
                                              max_source_len=args.max_source_len,
                                              max_target_len=args.max_target_len)
            scored[name][model_name] = [m for (lps, offsets), mentions in zip(logprobs, t["mentions"])
                                        for m in mention_logprobs(lps, offsets, mentions)]
    return scored


def probed_tables(args) -> dict[str, dict]:
    """Per probed set: its split, rows, documents and the oracle's mentions of each row."""
    data = open_input(args.data)
    tables = {}
    for name, (split, rows) in load_rows(args).items():
        wanted = {r["doc_id"] for r in rows}
        docs = {r["doc_id"]: r for r in data.rows(split) if r["doc_id"] in wanted}
        if wanted - docs.keys():
            raise SystemExit(f"{len(wanted - docs.keys())} documents of {name!r} are not in {args.data}'s "
                             f"{split} split")
        if docs and "doc_facts" not in next(iter(docs.values())):
            raise SystemExit(f"{args.data} has no doc_facts: the probe needs factworld data")
        mentions = [oracle_mentions(docs[r["doc_id"]]["doc_facts"], r["text"]) for r in rows]
        tables[name] = {"split": split, "rows": rows, "docs": docs, "mentions": mentions}
    return tables


def print_table(name: str, result: dict, models: list[str]) -> None:
    base, others = models[0], models[1:]
    print(f"\n{name} ({result['n_summaries']} summaries, {result['split']}): mean token log-prob of the "
          f"oracle's mentions; change against {base}, paired\n")
    print("| mention | n | " + " | ".join(models) + " | "
          + " | ".join(f"{o} change" for o in others) + " |")
    print("|---|---|" + "---|" * (len(models) + len(others)))
    for label, row in result["labels"].items():
        means = " | ".join(f"{row['mean'][m]:.3f}" for m in models)
        changes = " | ".join(f"{row['change'][o]:+.3f}" for o in others)
        print(f"| {label.replace('_', ' ')} | {row['n']} | {means} | {changes} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the factworld data run of the summaries' documents")
    p.add_argument("--models", nargs="+", required=True,
                   help="name=run_dir (holding model/); the first is the base")
    p.add_argument("--negatives", help="a select_contrast run: its S- rows")
    p.add_argument("--outputs", help="RUN:SYSTEM, an evaluate run and one of its systems")
    p.add_argument("--max-rows", type=int, default=2000, help="per set, the first rows")
    p.add_argument("--max-source-len", type=int, default=512)
    p.add_argument("--max-target-len", type=int, default=64)
    p.add_argument("--output", help="write the numbers as json")
    args = p.parse_args(argv)
    if not (args.negatives or args.outputs):
        p.error("give --negatives, --outputs or both")
    models = dict(m.split("=", 1) for m in args.models)
    if len(models) < 2 or any(not v for v in models.values()):
        p.error("--models needs at least two name=run_dir")

    import torch

    torch.manual_seed(0)
    tables = probed_tables(args)
    base = next(iter(models))
    results = {}
    for name, per_model in score_sets(tables, models, args).items():
        results[name] = {"n_summaries": len(tables[name]["rows"]), "split": tables[name]["split"],
                         "labels": paired_changes(per_model, base)}
        print_table(name, results[name], list(models))
    if args.output:
        out = {"models": models, "base": base, "sets": results}
        Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
