import pytest

from consum.io import DuplicateKeyError, KeyMismatchError, check_keys, read_rows, shard_path, write_shard
from consum.io.shards import chunk, pending_shards, run_shards


def test_write_and_read_shards_in_order(tmp_path):
    write_shard(tmp_path, "out", 1, [{"k": "c"}])
    write_shard(tmp_path, "out", 0, [{"k": "a"}, {"k": "b"}])
    assert [r["k"] for r in read_rows(tmp_path, "out")] == ["a", "b", "c"]


def test_empty_shard_with_features_keeps_schema(tmp_path):
    import datasets

    features = datasets.Features({"k": datasets.Value("string")})
    write_shard(tmp_path, "out", 0, [], features)
    write_shard(tmp_path, "out", 1, [{"k": "x"}], features)
    assert read_rows(tmp_path, "out") == [{"k": "x"}]


def test_resume_skips_done_shards_and_redoes_partial(tmp_path):
    items = [{"k": str(i)} for i in range(10)]
    shards = chunk(items, 3)
    assert [len(s) for s in shards] == [3, 3, 3, 1]
    calls = []

    def process(batch):
        calls.append(batch[0]["k"])
        return list(batch)

    done = list(run_shards(tmp_path, "out", shards[:2], process))  # first "run" dies after 2 shards
    assert done == [0, 1]
    # a partial write leaves only a temp file, which never counts as done
    (shard_path(tmp_path, "out", 2).parent / ".shard-00002.parquet.123.tmp").write_bytes(b"partial")
    assert pending_shards(tmp_path, "out", len(shards)) == [2, 3]

    calls.clear()
    assert list(run_shards(tmp_path, "out", shards, process)) == [2, 3]
    assert calls == ["6", "9"]
    keys = [r["k"] for r in read_rows(tmp_path, "out")]
    check_keys([x["k"] for x in items], keys, "out")


def test_check_keys_reports_missing_duplicate_and_extra():
    check_keys(["a", "b"], ["b", "a"], "ok")
    with pytest.raises(KeyMismatchError, match="missing 'b'"):
        check_keys(["a", "b"], ["a"], "t")
    with pytest.raises(KeyMismatchError, match="unexpected 'z'"):
        check_keys(["a"], ["a", "z"], "t")
    with pytest.raises(DuplicateKeyError, match="duplicate keys 'a'"):
        check_keys(["a"], ["a", "a"], "t")
    check_keys([("d1", "c0")], [("d1", "c0")], "tuple keys")
