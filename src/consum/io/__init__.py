"""Run directories, manifests, atomic writes and resumable Parquet shards.

Every stage writes ``runs/<stage>/<run_id>/`` and reads its inputs' run dirs by path. See
:mod:`consum.io.rundir` for the layout, :mod:`consum.io.stage` for how a stage opens its run dir
and :mod:`consum.io.shards` for the shard loop.
"""

from consum.io.keys import (
    REFERENCE_CAND_ID,
    DuplicateKeyError,
    KeyMismatchError,
    check_keys,
    document_seed,
    find_duplicates,
    stable_hash,
)
from consum.io.rundir import (
    COMPLETE_MARKER,
    IncompleteRunError,
    InputRun,
    RunDir,
    open_input,
)
from consum.io.shards import read_rows, read_table, shard_path, write_shard
from consum.io.stage import open_stage

__all__ = [
    "COMPLETE_MARKER",
    "DuplicateKeyError",
    "IncompleteRunError",
    "InputRun",
    "KeyMismatchError",
    "REFERENCE_CAND_ID",
    "RunDir",
    "check_keys",
    "document_seed",
    "find_duplicates",
    "open_input",
    "open_stage",
    "read_rows",
    "read_table",
    "shard_path",
    "stable_hash",
    "write_shard",
]
