"""The ``prepare_data`` stage: load a source, clean it, write keyed Parquet shards + manifest.

Sources (``data.source``): ``hub`` (``datasets.load_dataset``), ``files`` (local
jsonl/csv/parquet), ``factworld`` (the embedded generator, which also writes its QA set).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from consum.data import filters, sources
from consum.data.schema import ROW_FEATURES, SPLITS, DataError
from consum.io.keys import find_duplicates
from consum.io.rundir import RunDir
from consum.io.shards import chunk, run_shards
from consum.io.stage import open_stage

TOKEN = re.compile(r"\w+|[^\w\s]")


def rows_from_records(
    records: list[sources.RawRecord], split: str, data_cfg: Mapping
) -> tuple[list[dict], dict]:
    """Map raw records to schema rows: clean, drop empty (counted), truncate (counted)."""
    fields = data_cfg["fields"]
    max_chars = data_cfg.get("max_document_chars")
    rows, dropped = [], Counter()
    n_truncated = 0
    for index, record in enumerate(records):
        document = sources.field_value(record, fields["document"], "document")
        summary = sources.field_value(record, fields["summary"], "summary")
        doc_id = (
            sources.field_value(record, fields["id"], "id") if fields.get("id") else f"{split}-{index:07d}"
        )
        if not doc_id.strip():
            raise DataError(f"{record.origin}: empty id in field {fields['id']!r}")
        document, summary = filters.clean_example(
            document,
            summary,
            data_cfg.get("cleaner", "plain"),
            int(data_cfg.get("filter_level", 0)),
            bool(data_cfg.get("fix_missing_period", True)),
        )
        if not document:
            dropped["empty_document"] += 1
            continue
        if not summary:
            dropped["empty_summary"] += 1
            continue
        if max_chars and len(document) > max_chars:
            document = document[:max_chars]
            n_truncated += 1
        rows.append({"doc_id": doc_id, "document": document, "summary": summary, "split": split})
    stats = {"n_raw": len(records), "n_rows": len(rows), "dropped": dict(dropped), "truncated": n_truncated}
    return rows, stats


def load_source(
    data_cfg: Mapping, seed: int
) -> tuple[dict[str, list[dict]], dict[str, dict], dict[str, list[dict]]]:
    """Return (rows per split, stats per split, extra outputs such as factworld's QA records)."""
    source = data_cfg["source"]
    extra: dict[str, list[dict]] = {}
    if source == "factworld":
        from consum.data import factworld

        fw_cfg = factworld.FactworldConfig(**dict(data_cfg["factworld"]))
        corpus = factworld.generate_corpus(fw_cfg)
        qa = factworld.generate_qa_records(fw_cfg, corpus)
        for split, records in qa.items():
            extra[f"qa_{split}"] = records
        stats = {
            split: {"n_raw": len(rows), "n_rows": len(rows), "dropped": {}, "truncated": 0}
            for split, rows in corpus.items()
        }
        stats["factworld"] = factworld.corpus_stats(corpus, qa)
        for split, rows in corpus.items():  # punctuation-split tokens, beside the word counts
            for field in ("document", "summary"):
                stats["factworld"][split][f"mean_{field}_tokens"] = (
                    sum(len(TOKEN.findall(r[field])) for r in rows) / max(len(rows), 1)
                )
        return corpus, stats, extra
    if source == "hub":
        hub = data_cfg["hub"]
        raw = sources.load_hub(hub["path"], hub.get("name"), hub["splits"], **dict(hub.get("kwargs") or {}))
    elif source == "files":
        files = dict(data_cfg.get("files") or {})
        if data_cfg.get("path"):
            files[data_cfg.get("path_split", "train")] = data_cfg["path"]
        raw = sources.load_files(files, data_cfg.get("format"))
    else:
        raise DataError(f"unknown data.source {source!r}; expected hub, files or factworld")
    limit = data_cfg.get("max_examples")
    rows, stats = {}, {}
    for split, records in raw.items():
        rows[split], stats[split] = rows_from_records(records[:limit] if limit else records, split, data_cfg)
    return rows, stats, extra


def check_rows(rows: dict[str, list[dict]]) -> None:
    if not any(rows.values()):
        raise DataError(
            "the dataset is empty after preprocessing (every example was dropped or none was read)"
        )
    if "train" in rows and not rows["train"]:
        raise DataError("the train split is empty after preprocessing")
    all_ids = [r["doc_id"] for split_rows in rows.values() for r in split_rows]
    duplicates = find_duplicates(all_ids)
    if duplicates:
        shown = ", ".join(map(repr, duplicates[:5]))
        raise DataError(
            f"duplicate doc ids across the dataset: {shown} ({len(duplicates)} in all); ids must be unique"
        )


def run(cfg: Mapping, *, echo=print) -> RunDir:
    run_dir = open_stage(cfg, echo=echo)
    if run_dir.is_complete:
        return run_dir
    data_cfg = cfg["data"]
    rows, stats, extra = load_source(data_cfg, cfg["seed"])
    check_rows(rows)

    crash_after = (cfg.get("fault") or {}).get("after_shards")  # test hook: simulate a kill mid-stage
    written = 0

    def write(name: str, items: list[dict], features=None) -> None:
        nonlocal written
        for _ in run_shards(
            run_dir.path, name, chunk(items, int(cfg["shard_size"])) or [[]], list, features=features
        ):
            written += 1
            if crash_after is not None and written >= crash_after:
                raise RuntimeError(
                    f"fault.after_shards={crash_after}: simulated crash after {written} shards"
                )

    for split in SPLITS:
        if split in rows:
            write(split, rows[split], None if data_cfg["source"] == "factworld" else ROW_FEATURES)
    for name, records in extra.items():
        write(name, records)

    for split in SPLITS:
        if split in rows:
            run_dir.record_output(split)
    for name in extra:
        run_dir.record_output(name)
    run_dir.stats = {"source": data_cfg["source"], "name": data_cfg.get("name"), "splits": stats}
    run_dir.finalize()
    echo(format_table(run_dir))
    return run_dir


def format_table(run_dir: RunDir) -> str:
    splits = run_dir.stats["splits"]
    lines = [f"prepare_data -> {run_dir.path}", f"{'split':<12}{'rows':>9}{'dropped':>9}{'truncated':>11}"]
    for split in SPLITS:
        if split in splits:
            s = splits[split]
            lines.append(f"{split:<12}{s['n_rows']:>9}{sum(s['dropped'].values()):>9}{s['truncated']:>11}")
    fw = splits.get("factworld")
    if fw:
        lines.append(f"{'factworld':<12}{'extrinsic':>10}{'intrinsic':>10}{'doc words':>10}{'doc tokens':>11}"
                     f"{'sum words':>10}{'sum tokens':>11}{'QA doc':>8}{'QA sum':>8}")
        for split in SPLITS:
            if split in fw:
                s = fw[split]
                lines.append(
                    f"{split:<12}{s['noise_rate']['extrinsic']:>10.1%}{s['noise_rate']['intrinsic']:>10.1%}"
                    f"{s['mean_document_words']:>10.1f}{s['mean_document_tokens']:>11.1f}{s['mean_summary_words']:>10.1f}"
                    f"{s['mean_summary_tokens']:>11.1f}{s['qa_pairs']['document']:>8}{s['qa_pairs']['summary']:>8}"
                )
    return "\n".join(lines)
