"""Raw records from the hub (``datasets.load_dataset``) or local jsonl/csv/parquet files.

Each loader returns ``{split: list of raw records}`` plus where each record came from, so that
an error can name the file and line. :func:`to_rows` maps raw records to the row schema.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from consum.data.schema import SPLITS, DataError

FORMATS = ("jsonl", "csv", "parquet")


@dataclass
class RawRecord:
    fields: Mapping
    origin: str  # "file.jsonl:12" or "hub EdinburghNLP/xsum[train]#12"


def infer_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise DataError(f"unknown data format {fmt!r} for {path}; expected one of {FORMATS}")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "parquet"):
        return suffix
    raise DataError(
        f"cannot tell the format of {path} from its extension; set data.format to one of {FORMATS}"
    )


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{line_no}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{line_no}: malformed JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
            yield RawRecord(record, f"{path}:{line_no}")


def _read_csv(path: Path) -> Iterator[RawRecord]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            # line 1 is the header; csv rows may span lines, so report the reader's line number
            reader = csv.DictReader(f)
            for record in reader:
                yield RawRecord(record, f"{path}:{reader.line_num}")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None


def _read_parquet(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: cannot read Parquet ({e})") from None
    for i, record in enumerate(table.to_pylist()):
        yield RawRecord(record, f"{path}#row{i}")


def read_file(path: str | Path, fmt: str | None = None) -> list[RawRecord]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[infer_format(path, fmt)]
    return list(reader(path))


def load_files(files: Mapping[str, str | None], fmt: str | None = None) -> dict[str, list[RawRecord]]:
    """``files``: split -> path (None = no such split)."""
    unknown = set(files) - set(SPLITS)
    if unknown:
        raise DataError(f"unknown split names {sorted(unknown)} in data.files; expected {SPLITS}")
    out = {split: read_file(path, fmt) for split, path in files.items() if path}
    if not out:
        raise DataError("no data files given: set data.path=<file> or data.files.<split>=<file>")
    return out


def load_hub(path: str, name: str | None, splits: Mapping[str, str], **kwargs) -> dict[str, list[RawRecord]]:
    """Load a hub dataset through ``datasets.load_dataset`` (needs the hub, or a local datasets cache)."""
    import datasets

    out = {}
    for split, hub_split in splits.items():
        if not hub_split:
            continue
        ds = datasets.load_dataset(path, name, split=hub_split, **kwargs)
        label = f"hub {path}{'/' + name if name else ''}[{hub_split}]"
        out[split] = [RawRecord(rec, f"{label}#{i}") for i, rec in enumerate(ds)]
    return out


def field_value(record: RawRecord, field: str, what: str) -> str:
    if field not in record.fields:
        known = ", ".join(sorted(map(str, record.fields))) or "none"
        raise DataError(f"{record.origin}: missing field {field!r} ({what}); the record has fields: {known}")
    value = record.fields[field]
    if value is None:
        return ""
    if not isinstance(value, str):
        if what == "id" and isinstance(value, int):
            return str(value)
        raise DataError(
            f"{record.origin}: field {field!r} ({what}) must be a string, got {type(value).__name__}"
        )
    return value
