"""train_conseq's span plumbing: contrast rows -> groups -> tokenized targets with span masks."""

import pytest

from consum.data.schema import DataError
from consum.training.conseq import build_groups, check_spans, span_stats, tokenize_groups

TEXT = "Team Gamma beat team Delta 2-0 in Rome on Sunday, and Chen Wei scored twice."
ROWS = [
    {"doc_id": "d0", "cand_id": "ref", "role": "pos", "text": TEXT, "unsupported_spans": []},
    {"doc_id": "d0", "cand_id": "s1", "role": "neg", "text": TEXT, "unsupported_spans": [[34, 38]]},
    {"doc_id": "d0", "cand_id": "s2", "role": "neg", "text": TEXT, "unsupported_spans": []},
]


def test_groups_carry_the_negatives_spans_and_tokenize_to_masks(tiny_tokenizer_dir):
    from consum.models import load_tokenizer

    assert TEXT[34:38] == "Rome"
    groups = build_groups(ROWS, {"d0": "a document"})
    assert [t.get("spans") for t in groups[0]["targets"]] == [None, [[34, 38]], []]
    tokenizer = load_tokenizer(tiny_tokenizer_dir)
    with_spans = tokenize_groups(tokenizer, groups, 32, 64, with_spans=True)
    plain = tokenize_groups(tokenizer, groups, 32, 64)
    assert [t["ids"] for t in with_spans[0]["targets"]] == [t["ids"] for t in plain[0]["targets"]]
    assert all("span_mask" not in t for t in plain[0]["targets"])
    pos, neg, empty = with_spans[0]["targets"]
    assert "span_mask" not in pos
    assert tokenizer.decode([i for i, m in zip(neg["ids"], neg["span_mask"]) if m]).strip() == "Rome"
    assert not any(empty["span_mask"])
    n_span_tokens = sum(neg["span_mask"])
    assert span_stats(with_spans) == {"n_neg": 2, "n_span_fallback": 1, "n_span_tokens": n_span_tokens}


def test_a_span_loss_refuses_contrast_rows_without_spans(tmp_path):
    check_spans("span_unlikelihood", ROWS, tmp_path)
    check_spans("unlikelihood", [{k: v for k, v in r.items() if k != "unsupported_spans"} for r in ROWS],
                tmp_path)
    without = [{k: v for k, v in r.items() if k != "unsupported_spans"} for r in ROWS]
    with pytest.raises(DataError, match="rerun select_contrast with spans.source=quals"):
        check_spans("span_unlikelihood", without, tmp_path)
