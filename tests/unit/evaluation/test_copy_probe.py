import pytest

from consum.evaluation.copy_probe import (
    SwappedName,
    continuation_accuracy,
    surname_token_positions,
    swapped_first_names,
)


def test_continuation_accuracy_splits_chunk_starts_from_the_tokens_after_them():
    # chunk_len 2: tokens 0, 2, 4 start chunks; 1, 3 are inside
    correct = [[False, True, False, True, True], [True, True, False, False, False]]
    result = continuation_accuracy(correct, 2)
    assert result["start"] == pytest.approx(2 / 6)  # (F, F, T) and (T, F, F)
    assert result["within"] == pytest.approx(3 / 4)  # (T, T) and (T, F)


def test_continuation_accuracy_refuses_what_it_cannot_count():
    with pytest.raises(ValueError, match="chunk_len must be >= 2"):
        continuation_accuracy([[True, True]], 1)
    with pytest.raises(ValueError, match="no tokens"):
        continuation_accuracy([[True]], 3)


def _word_offsets(text):
    """Offsets like a byte-level BPE with one token per word, the space in front of each word."""
    offsets, start = [], 0
    for index, word in enumerate(text.split(" ")):
        begin = start - 1 if index else start
        offsets.append((begin, start + len(word)))
        start += len(word) + 1
    return offsets


def test_surname_positions_are_those_of_full_names_the_document_writes_in_full():
    document = "Greta Ogunleye has been elected mayor of Kyoto. Zofia Jensen finished second. Ogunleye won."
    reference = "Politician Greta Ogunleye beat Zofia Jensen and Paula Wojcik in Kyoto."
    offsets = _word_offsets(reference)  # Politician=0 Greta=1 Ogunleye=2 beat=3 Zofia=4 Jensen=5 ...
    # Paula Wojcik is not in the document; Kyoto is a place, not a person
    assert surname_token_positions(reference, document, offsets) == [2, 5]
    alone = "Ogunleye won."  # a surname alone is no full name
    assert surname_token_positions(alone, document, _word_offsets(alone)) == []


def test_surname_position_is_found_when_a_token_starts_at_the_surname_itself():
    document = "Greta Ogunleye has been elected mayor of Kyoto."
    reference = "Greta Ogunleye won."
    offsets = [(0, 5), (5, 6), (6, 14), (14, 18), (18, 19)]  # "Greta", " ", "Ogunleye", " won", "."
    assert surname_token_positions(reference, document, offsets) == [2]


def test_swapped_first_names_put_each_other_persons_first_name_in_place_of_the_references():
    document = ("Greta Ogunleye has been elected mayor of Kyoto. Zofia Jensen finished second. "
                "Greta Larsen counted the votes. Ogunleye thanked Paula Ogunleye.")
    reference = "Politician Greta Ogunleye has won in Kyoto."
    # Greta Larsen shares the first name and Paula Ogunleye the surname: neither tells binding from role
    assert swapped_first_names(reference, document) == [
        SwappedName("Politician Zofia", bound_surname="Jensen", role_surname="Ogunleye"),
    ]
    assert swapped_first_names("Politician Paula Wojcik has won.", document) == []  # not in the document
    assert swapped_first_names("Ogunleye has won.", document) == []  # no full name
