"""Which entity extractor a dataset gets (consum.data.ner), for evaluation and the entity filter."""

from consum.data.ner import entity_extractor


def test_factworld_gets_its_lexicon_matcher_with_every_mention():
    extract = entity_extractor({"source": "factworld"})
    text = "Kelso Rovers beat Ashford United 3-1 in Leeds; Maria Lee scored, and Lee ran to Kelso Rovers."
    assert extract(text) == ["Kelso Rovers", "Ashford United", "3-1", "Leeds", "Maria Lee", "Lee",
                             "Kelso Rovers"]
    assert extract("nothing here") == []


def test_other_data_gets_spacy_or_none():
    extract = entity_extractor({"source": "hub"})
    assert extract is None or callable(extract)  # None when spaCy or its model is not installed
