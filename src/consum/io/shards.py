"""Parquet shards written through ``datasets``, and the resumable shard loop.

Layout inside a run dir: ``data/<name>/shard-00000.parquet``. A shard exists only once it is
complete (atomic rename), so "is shard i done?" is "does its file exist?": a stage killed
mid-shard redoes at most that shard, and never counts a partial one as done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from consum.io.atomic import atomic_write

SHARD_GLOB = "shard-*.parquet"

# One bar per tiny Parquet write is noise; stages draw their own progress bars.
datasets.disable_progress_bars()


def shard_path(run_path: str | Path, name: str, index: int) -> Path:
    return Path(run_path) / "data" / name / f"shard-{index:05d}.parquet"


def shard_paths(run_path: str | Path, name: str) -> list[Path]:
    return sorted((Path(run_path) / "data" / name).glob(SHARD_GLOB))


def write_shard(
    run_path: str | Path, name: str, index: int, rows: list[dict], features: datasets.Features | None = None
) -> Path:
    """Write one shard atomically. ``features`` fixes the schema (needed for empty shards)."""

    def write(tmp: Path) -> None:
        if rows:
            datasets.Dataset.from_list(rows, features=features).to_parquet(str(tmp))
        else:
            schema = features.arrow_schema if features is not None else pa.schema([])
            pq.write_table(schema.empty_table(), tmp)

    return atomic_write(shard_path(run_path, name, index), write)


def read_table(run_path: str | Path, name: str) -> datasets.Dataset:
    """All shards of output ``name`` as one in-memory Arrow-backed ``datasets.Dataset``, in shard order."""
    paths = shard_paths(run_path, name)
    if not paths:
        raise FileNotFoundError(f"no shards for output {name!r} in {run_path} (looked in data/{name}/)")
    tables = [t for t in (pq.read_table(p) for p in paths) if t.num_columns]
    if not tables:
        return datasets.Dataset.from_dict({})
    return datasets.Dataset(pa.concat_tables(tables, promote_options="default"))


def read_rows(run_path: str | Path, name: str) -> list[dict]:
    return read_table(run_path, name).to_list()


def chunk(items: Sequence, size: int) -> list[Sequence]:
    if size < 1:
        raise ValueError(f"shard size must be >= 1, got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def pending_shards(run_path: str | Path, name: str, n_shards: int) -> list[int]:
    """Indices of shards whose file does not exist yet."""
    return [i for i in range(n_shards) if not shard_path(run_path, name, i).exists()]


def run_shards(
    run_path: str | Path,
    name: str,
    shards: Sequence[Sequence],
    process: Callable[[Sequence], list[dict]],
    *,
    shard_indices: Sequence[int] | None = None,
    features: datasets.Features | None = None,
    on_shard_done: Callable[[int, int], None] | None = None,
) -> Iterator[int]:
    """Process each shard whose output is missing, write it, and yield its index.

    ``shard_indices`` restricts the loop to this process's share (multi-process stages pass
    the slice ``split_between_processes`` gave them); by default every pending shard.
    """
    todo = pending_shards(run_path, name, len(shards)) if shard_indices is None else list(shard_indices)
    for i in todo:
        if shard_path(run_path, name, i).exists():
            continue
        rows = process(shards[i])
        write_shard(run_path, name, i, rows, features)
        if on_shard_done is not None:
            on_shard_done(i, len(rows))
        yield i
