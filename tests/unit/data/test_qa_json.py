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


def squad_json(*articles):
    """SQuAD json: articles as (title, [(context, [(question, answer text), ...]), ...])."""
    return {"data": [
        {"title": title, "paragraphs": [
            {"context": context, "qas": [
                {"id": f"{title}-{p}-{q}", "question": question,
                 "answers": [{"text": answer, "answer_start": context.index(answer)}, {"text": answer[:2],
                                                                                    "answer_start": 0}]}
                for q, (question, answer) in enumerate(qas)]}
            for p, (context, qas) in enumerate(paragraphs)]}
        for title, paragraphs in articles]}


PARAGRAPH = "Ann was born in Paris. She moved to Rome in 1990. She died there in 2001."


def test_first_answers_keep_their_offsets_and_article():
    data = squad_json(("Ann", [(PARAGRAPH, [("When did she move?", "1990")])]))
    [first] = squad_examples_from_json(data, "x", answers="first")
    assert (first["answer"], first["answer_start"], first["answer_end"], first["article"]) == (
        "1990", PARAGRAPH.index("1990"), PARAGRAPH.index("1990") + 4, "Ann")
    # by default, every distinct answer of a question
    assert [e["answer"] for e in squad_examples_from_json(data, "x")] == ["1990", "19"]
    with pytest.raises(DataError, match="answers must be"):
        squad_examples_from_json(data, "x", answers="longest")


def test_whole_articles_are_held_out_by_a_seeded_title_hash():
    from consum.data.qa import split_articles

    data = squad_json(*[(f"T{i}", [(PARAGRAPH, [("Where was she born?", "Paris")] * 2)]) for i in range(6)])
    examples = squad_examples_from_json(data, "x", answers="first")
    rest, held = split_articles(examples, 2, seed=0)
    assert len({e["article"] for e in held}) == 2 and len(held) == 4 and len(rest) == 8
    assert not {e["article"] for e in held} & {e["article"] for e in rest}
    assert split_articles(examples, 2, seed=0) == (rest, held)
    assert {e["article"] for e in split_articles(examples, 2, seed=5)[1]} != {e["article"] for e in held}
    with pytest.raises(DataError, match="cannot hold out 6 articles of 6"):
        split_articles(examples, 6, seed=0)


def test_training_contexts_cut_to_the_answer_sentence_keep_the_answer_offsets():
    from consum.data.qa import answer_context, with_training_contexts

    assert answer_context(PARAGRAPH, "2001", PARAGRAPH.index("2001"), "sentence") == (50, len(PARAGRAPH))
    assert answer_context(PARAGRAPH, "Rome", None, "window") == (0, len(PARAGRAPH))
    assert answer_context(PARAGRAPH, "Tokyo", None, "sentence") == (0, len(PARAGRAPH))  # not placed: all
    examples = [{"qa_id": f"q{i}", "context": PARAGRAPH, "answer": "Rome",
                 "answer_start": PARAGRAPH.index("Rome"), "question": "Where?"} for i in range(300)]
    cut = with_training_contexts(examples, {"sentence": 0.5, "paragraph": 0.5}, seed=1)
    modes = [e["context_mode"] for e in cut]
    assert 100 < modes.count("sentence") < 200 and set(modes) == {"sentence", "paragraph"}
    for e in cut:
        sentence = "She moved to Rome in 1990."
        assert e["context"] == (PARAGRAPH if e["context_mode"] == "paragraph" else sentence)
        assert e["context"][e["answer_start"] : e["answer_end"]] == "Rome"
    assert with_training_contexts(examples, {"sentence": 0.5, "paragraph": 0.5}, seed=1) == cut  # seeded
    with pytest.raises(DataError, match="context needs shares"):
        with_training_contexts(examples, {"sentences": 1.0}, seed=1)
