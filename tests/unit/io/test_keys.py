"""Shared keys and hashes: values pinned so that moving or rewriting them cannot change candidates."""

import pytest

from consum.generation.candidates import document_seed, stable_hash


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1025426827051516353),
        ("d0", 48786306828217490),
        ("train-17", 573830870631159839),
        ("Über-doc/é", 630110873606751843),
        ("0/train-3", 38185206204785381),  # the form train_conseq's held-out split hashes
    ],
)
def test_stable_hash_values_are_pinned(text, expected):
    assert stable_hash(text) == expected


@pytest.mark.parametrize(
    ("seed", "doc_id", "expected"),
    [
        (0, "d0", 48786306828217490),
        (1, "d0", 48786306829217493),
        (42, "train-17", 573830870673159965),
        (2021, "xsum-34567", 222106854634624077),
        (7, "", 1025426827058516374),
    ],
)
def test_document_seed_values_are_pinned(seed, doc_id, expected):
    assert document_seed(seed, doc_id) == expected
