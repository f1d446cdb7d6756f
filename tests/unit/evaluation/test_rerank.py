"""QUALS reranking (consum.evaluation.rerank): the pick on hand-computed scores, the systems entry, the
candidates of the tiny model, and the whole rerank with a deterministic dummy scorer."""

import math
from types import SimpleNamespace

import pytest

from consum.evaluation.rerank import (
    cost_table,
    decode_candidates,
    pick_best,
    rerank_decode,
    system_spec,
)


@pytest.mark.parametrize(("scores", "best"), [
    ([-0.5, -0.1, -0.3], 1),  # the highest
    ([-0.5, -0.1, -0.1, -0.2], 1),  # tied: the first in decoding order
    ([None, -2.0, None], 1),  # no QA pair ranks below any score, even a low one
    ([float("nan"), -3.0], 1),  # NaN is no QA pair too
    ([None, None, float("nan")], 0),  # none scored: the first
    ([0.0], 0),
    ([2.0, math.inf, 1.0], 1),
])
def test_pick_best_keeps_the_highest_quals_and_breaks_ties_by_decoding_order(scores, best):
    assert pick_best(scores) == best


def test_pick_best_needs_a_candidate():
    with pytest.raises(ValueError, match="at least one"):
        pick_best([])


def test_a_systems_entry_is_a_path_or_a_model_with_rerank_settings():
    assert system_spec("mle", "runs/train_mle/a", 1) == ("runs/train_mle/a", None)
    assert system_spec("mle", {"model": "runs/train_mle/a"}, 1) == ("runs/train_mle/a", None)
    path, rerank = system_spec("r", {"model": "m", "rerank": {"n": 4, "decoding": "sample"}}, 7)
    assert path == "m"
    assert rerank == {"n": 4, "decoding": "sample", "seed": 7, "top_k": 50, "temperature": 1.0}
    assert system_spec("r", {"model": "m", "rerank": {"seed": 3}}, 7)[1]["seed"] == 3
    assert system_spec("r", {"model": "m", "rerank": {}}, 7)[1]["n"] == 8  # the defaults: 8 beams


@pytest.mark.parametrize(("value", "message"), [
    ({"rerank": {"n": 2}}, "must be a run dir"),
    ({"model": "m", "extra": 1}, "must be a run dir"),
    ({"model": "m", "rerank": {"beams": 4}}, "unknown keys"),
    ({"model": "m", "rerank": {"decoding": "greedy"}}, "decoding in"),
    ({"model": "m", "rerank": {"n": 0}}, "n >= 1"),
])
def test_bad_systems_entries_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        system_spec("r", value, 1)


CFG = {"num_beams": 2, "max_len": 12, "min_len": 2, "max_source_len": 64, "batch_size": 2, "lenpen": 1.0}
ROWS = [{"doc_id": f"d{i}", "document": text} for i, text in enumerate([
    "Team Alpha beat team Beta 3-1 in Paris on Sunday.", "Ana Silva scored twice in Lyon.",
    "Team Omega beat team Sigma 4-2 in Rome on Sunday, and Chen Wei scored twice.",
])]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from consum.models import load_model, load_tokenizer

    return load_model(tiny_model_dir).eval(), load_tokenizer(tiny_model_dir)


def test_beam_candidates_start_with_the_plain_summary(tiny):
    from consum.generation.beam import beam_generate

    model, tokenizer = tiny
    candidates = decode_candidates(CFG, model, tokenizer, ROWS, {"n": 2, "decoding": "beam"})
    plain = beam_generate(model, tokenizer, [r["document"] for r in ROWS], num_beams=2, max_len=12, min_len=2,
                          max_source_len=64)
    assert [len(c) for c in candidates] == [2, 2, 2]
    assert [c[0] for c in candidates] == [p[0] for p in plain]  # n <= num_beams: the same search


def test_sampled_candidates_are_seeded_per_document(tiny):
    model, tokenizer = tiny
    rerank = {"n": 3, "decoding": "sample", "seed": 5, "top_k": 50, "temperature": 1.0}
    candidates = decode_candidates(CFG, model, tokenizer, ROWS, rerank)
    alone = decode_candidates({**CFG, "batch_size": 1}, model, tokenizer, ROWS[2:], rerank)
    assert [len(c) for c in candidates] == [3, 3, 3] and candidates[2] == alone[0]  # not the batch's
    assert decode_candidates(CFG, model, tokenizer, ROWS, {**rerank, "seed": 6}) != candidates


class LengthScorer:
    """Deterministic dummy: QUALS = minus the word count (None for an empty summary); counts its calls."""

    def __init__(self):
        self.calls = []

    def score_groups(self, documents, groups):
        self.calls.append((list(documents), [list(g) for g in groups]))
        return [[SimpleNamespace(quals=-len(s.split()) if s.strip() else None, n_qa=int(bool(s.strip())))
                 for s in group] for group in groups]


def test_rerank_keeps_the_candidate_the_scorer_ranks_highest(tiny_model_dir):
    scorer = LengthScorer()
    rerank = {"n": 3, "decoding": "sample", "seed": 1, "top_k": 50, "temperature": 1.0}
    kept, cost, rows = rerank_decode(CFG, tiny_model_dir, ROWS, rerank, scorer, "cpu")
    [(documents, groups)] = scorer.calls  # every candidate of every document, scored once
    assert documents == [r["document"] for r in ROWS] and [len(g) for g in groups] == [3, 3, 3]
    for summary, group in zip(kept, groups, strict=True):
        assert summary == group[pick_best([-len(s.split()) if s.strip() else None for s in group])]
    keys = [(r["doc_id"], r["cand_index"]) for r in rows]
    assert keys == [(f"d{i}", k) for i in range(3) for k in range(3)]
    assert [r["text"] for r in rows if r["kept"]] == kept
    assert cost["n_candidates"] == 3 and cost["rerank"] == rerank
    assert cost["decode_seconds"] >= 0 and cost["quals_seconds"] >= 0


def test_the_cost_table_shows_up_only_with_a_reranked_system():
    plain = {"n_candidates": 1, "decode_seconds": 2.0, "quals_seconds": 0.0}
    reranked = {"n_candidates": 8, "decode_seconds": 10.0, "quals_seconds": 30.0,
                "rerank": {"n": 8, "decoding": "beam", "seed": 1, "top_k": 50, "temperature": 1.0}}
    assert cost_table({"n_docs": 4, "cost": {"mle": plain}}) == ""
    table = cost_table({"n_docs": 4, "cost": {"mle": plain, "mle_rerank": reranked}})
    assert "| mle | beam, as usual | 1 | 2.0 | 0.0 | 2.0 | 0.500 |" in table
    assert "| mle_rerank | beam, highest QUALS of 8 | 8 | 10.0 | 30.0 | 40.0 | 10.000 |" in table
