import json

import pytest

from consum.data.qa import load_qa_json, squad_examples_from_json
from consum.data.schema import DataError


def test_load_qa_json_reads_squad(tmp_path):
    squad = {"data": [{"paragraphs": [{"context": "Ana scored twice.", "qas": [
        {"id": "q1", "question": "Who scored?",
         "answers": [{"text": "Ana"}, {"text": "Ana"}, {"text": "Ana Silva"}]},
    ]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    examples = squad_examples_from_json(load_qa_json(path), str(path))
    assert [(e["qa_id"], e["answer"]) for e in examples] == [("q1-0", "Ana"), ("q1-1", "Ana Silva")]


def test_load_qa_json_names_the_file_on_bad_input(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_qa_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.json: malformed JSON .* line 2"):
        load_qa_json(bad)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"x": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.json: not valid UTF-8"):
        load_qa_json(latin)
