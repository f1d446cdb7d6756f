import json

import pytest

from consum.data.prepare import check_rows, rows_from_records
from consum.data.schema import DataError
from consum.data.sources import load_files, read_file

FIELDS = {"id": None, "document": "document", "summary": "summary"}
CFG = {"fields": FIELDS, "cleaner": "plain", "filter_level": 0}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_jsonl_csv_parquet_give_same_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{"document": "Doc one", "summary": "Sum one"}, {"document": "Doc two.", "summary": "Sum two"}]
    write_jsonl(tmp_path / "a.jsonl", records)
    (tmp_path / "a.csv").write_text("document,summary\nDoc one,Sum one\nDoc two.,Sum two\n")
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "a.parquet")
    results = []
    for name in ("a.jsonl", "a.csv", "a.parquet"):
        rows, stats = rows_from_records(read_file(tmp_path / name), "train", CFG)
        results.append(rows)
    assert results[0] == results[1] == results[2]
    assert results[0][0] == {
        "doc_id": "train-0000000", "document": "Doc one.", "summary": "Sum one.", "split": "train"
    }


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_file(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no data files"):
        load_files({})


def test_missing_field_names_field_and_file(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"article": "x", "summary": "y"}])
    with pytest.raises(DataError, match=r"d\.jsonl:1: missing field 'document'.*article, summary"):
        rows_from_records(read_file(path), "train", CFG)


def test_non_string_field(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"document": ["x"], "summary": "y"}])
    with pytest.raises(DataError, match="must be a string, got list"):
        rows_from_records(read_file(path), "train", CFG)


def test_malformed_json_reports_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"document": "a", "summary": "b"}\n{"document": "a", \n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: malformed JSON"):
        read_file(path)


def test_non_utf8_reports_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"document": "a", "summary": "b"}\n{"document": "caf\xe9", "summary": "b"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: not valid UTF-8"):
        read_file(path)


def test_non_object_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(DataError, match="expected a JSON object"):
        read_file(path)


def test_empty_examples_dropped_and_counted(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"document": "ok", "summary": "fine"},
            {"document": "  ", "summary": "x"},
            {"document": "y", "summary": None},
        ],
    )
    rows, stats = rows_from_records(read_file(path), "train", CFG)
    assert len(rows) == 1
    assert stats["dropped"] == {"empty_document": 1, "empty_summary": 1}


def test_empty_dataset_and_duplicate_ids_are_errors(tmp_path):
    with pytest.raises(DataError, match="empty"):
        check_rows({"train": []})
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "x", "document": "a", "summary": "b"}] * 2)
    rows, _ = rows_from_records(read_file(path), "train", {**CFG, "fields": {**FIELDS, "id": "id"}})
    with pytest.raises(DataError, match="duplicate doc ids.*'x'"):
        check_rows({"train": rows})


def test_truncation_counted(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"document": "a" * 50, "summary": "s"}])
    rows, stats = rows_from_records(read_file(path), "train", {**CFG, "max_document_chars": 10})
    assert len(rows[0]["document"]) == 10 and stats["truncated"] == 1
