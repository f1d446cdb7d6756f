"""Shared keys and hashes: values pinned so that moving or rewriting them cannot change candidates."""

import pytest

from consum.io.keys import REFERENCE_CAND_ID, document_seed, stable_hash


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



def test_reference_cand_id_is_spelled_once():
    import ast
    from pathlib import Path

    import consum

    assert REFERENCE_CAND_ID == "ref"  # stored in score and contrast run dirs: changing it breaks old runs
    root = Path(consum.__file__).parent
    spelled = [
        f"{path.relative_to(root).as_posix()}:{node.lineno}"
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == REFERENCE_CAND_ID
    ]
    assert len(spelled) == 1 and spelled[0].startswith("io/keys.py:"), (
        f"{REFERENCE_CAND_ID!r} is spelled at {spelled}: import REFERENCE_CAND_ID from consum.io.keys"
    )
