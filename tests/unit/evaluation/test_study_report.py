"""consum.evaluation.study_report: the factworld study's aggregation, on hand-built per-seed records."""

import pytest

from consum.evaluation import study_report as sr


def system(h: float, rouge: float = 0.5, mangled: float = 0.2, mentions: int = 10) -> dict:
    return {"hallucinated": {"mean": h}, "rougeL": {"mean": rouge}, "quals": {"mean": None},
            "oracle_breakdown": {"mangled_copy": {"mean": mangled, "mentions": mentions}}}


def record(h: dict, auc: float | None = None, steps: int = 40) -> dict:
    results = {"systems": {name: system(v) for name, v in h.items()},
               "comparisons": {f"{n}-vs-mle": {"hallucinated": {"diff": v - h["mle"], "ci_low": -0.1,
                                                                 "ci_high": 0.05, "p_value": 0.2}}
                               for n, v in h.items() if n != "mle"}}
    if auc is not None:
        results["quals_auc_vs_oracle"] = {"roc_auc": auc}
    return {"results": results,
            "contrast": {"quals": {"selection": {"n_docs": 100, "n_kept": 9}},
                         "oracle": {"selection": {"n_docs": 100, "n_kept": 7,
                                                  "oracle_dropped_faithful_negatives": 2,
                                                  "oracle_dropped_hallucinated_positives": 1}}},
            "conseq": {name: {"steps": steps} for name in h if name != "mle"}}


def test_gap_closed_hand_computed():
    assert sr.gap_closed(0.8, 0.7, 0.4) == pytest.approx(0.25)  # 0.1 of a 0.4 drop
    assert sr.gap_closed(0.8, 0.9, 0.4) == pytest.approx(-0.25)  # worse than MLE: negative share
    assert sr.gap_closed(0.8, 0.7, 0.8) is None  # the ceiling does not improve on MLE: undefined
    assert sr.gap_closed(0.8, 0.7, 0.9) is None


def test_aggregate_means_sds_kinds_and_relative_change():
    out = sr.aggregate({
        1: record({"mle": 0.8, "conseq_quals": 0.4, "conseq_oracle": 0.2}, auc=0.7),
        2: record({"mle": 0.6, "conseq_quals": 0.4, "conseq_oracle": 0.4}, auc=0.9),
    })
    mle, quals = out["systems"]["mle"], out["systems"]["conseq_quals"]
    assert mle["hallucinated"]["mean"] == pytest.approx(0.7)
    assert mle["hallucinated"]["sd"] == pytest.approx(0.1414213, abs=1e-6)  # sample sd of 0.8, 0.6
    assert quals["hallucinated"] == {"mean": pytest.approx(0.4), "sd": 0.0, "per_seed": [0.4, 0.4]}
    assert quals["hallucinated_relative_change"] == pytest.approx((0.4 - 0.7) / 0.7)
    assert quals["mangled_copy"]["mean"] == pytest.approx(0.2)
    assert quals["mangled_copy"]["mentions"]["mean"] == pytest.approx(10)
    assert "quals" not in mle  # None means are skipped, not averaged as 0
    assert out["systems"]["conseq_rouge"] == {}  # a system no seed evaluated
    assert out["quals_auc_vs_oracle"]["mean"] == pytest.approx(0.8)
    assert out["seeds"] == [1, 2]


def test_aggregate_gap_paired_and_selection():
    out = sr.aggregate({
        1: record({"mle": 0.8, "conseq_quals": 0.4, "conseq_oracle": 0.0}, steps=40),
        2: record({"mle": 0.6, "conseq_quals": 0.5, "conseq_oracle": 0.6}, steps=50),
    })
    gap = out["gap_closed"]["conseq_quals"]
    assert gap["ceiling"] == "conseq_oracle"
    assert gap["per_seed"][0] == pytest.approx(0.5) and gap["per_seed"][1] is None  # seed 2: no gap
    assert gap["of_means"] == pytest.approx((0.7 - 0.45) / (0.7 - 0.3))
    assert out["gap_closed"]["conseq_quals_span"]["of_means"] is None  # its systems were not run
    assert [c["diff"] for c in out["paired_vs_mle"]["conseq_quals"]] == pytest.approx([-0.4, -0.1])
    assert out["paired_vs_mle"]["conseq_rouge"] == [None, None]
    assert out["updates"]["conseq_quals"] == [40, 50]
    assert out["selection"]["quals"] == {"n_docs": [100, 100], "n_kept": [9, 9]}
    assert out["selection"]["oracle"]["oracle_dropped_faithful_negatives"] == [2, 2]


def test_report_lists_every_system_and_table():
    out = sr.aggregate({1: {**record({"mle": 0.5, "conseq_quals": 0.25, "conseq_oracle": 0.0}),
                            "stage_seconds": {"train_mle/s-s1": 1000, "evaluate/s-s1": 234}}})
    text = sr.report_markdown(out)
    assert "in parallel): 1,234." in text
    assert "| conseq_quals | 25.00 ± 0.00 |" in text and "-50.0%" in text
    assert "| conseq_rouge | n/a |" in text
    assert "| conseq_quals | conseq_oracle | 50% | 50% |" in text  # gap table
    assert "| conseq_quals | -25.0 [-10.0, +5.0] 0.200 |" in text  # paired bootstrap, seed 1
    assert "| oracle | 100 | 7 |  |  | 2 ; 1 |" in text  # selection
    assert "20.00 ± 0.00 (10)" in text  # mangled copies: share of summaries (mentions)
    assert "ROC-AUC" not in text  # no AUC recorded
    assert "own MLE, QAGen, candidates" in text and "Shared by every seed" not in text


def test_report_names_a_shared_qagen_and_its_seconds_apart_from_the_seeds():
    out = sr.aggregate({1: {**record({"mle": 0.5, "conseq_quals": 0.25, "conseq_oracle": 0.0}),
                            "stage_seconds": {"train_mle/s-s1": 1000}}})
    out["shared_stage_seconds"] = {"train_qagen/s-qagen": 1022}
    text = sr.report_markdown(out)
    assert "own MLE, candidates, contrasts and ConSeq runs; one QAGen for every seed" in text
    assert "in parallel): 1,000." in text and "Shared by every seed: train_qagen/s-qagen 1,022 s." in text


LEVERS = [name.removeprefix("conseq_oracle_") for name in sr.CEILING.conseq if name != "conseq_oracle"]
ALL_DESIGNS = [*sr.DESIGNS.values(), *(sr.contrast_design(lever) for lever in LEVERS)]


def _reward_swapped(overrides: list[str]) -> list[str]:
    return sorted(o.replace("=quals", "=oracle") for o in overrides)


@pytest.mark.parametrize("design", ALL_DESIGNS, ids=[*sr.DESIGNS, *(f"contrast-{lever}" for lever in LEVERS)])
def test_every_study_system_names_a_contrast_the_study_builds(design):
    assert design.systems[0] == "mle" and len(set(design.systems)) == len(design.systems)
    for contrast, _ in design.conseq.values():
        assert contrast in design.contrasts
    for quals_system, ceiling in design.ceiling.items():
        assert design.conseq[quals_system][1] == design.conseq[ceiling][1]  # same loss, other reward
        quals, oracle = design.conseq[quals_system][0], design.conseq[ceiling][0]
        # the same rule on the same candidates, only the reward (and where the spans come from) differs
        assert quals.startswith("quals") and oracle.startswith("oracle")
        assert _reward_swapped(design.contrasts[quals]) == sorted(design.contrasts[oracle])
        assert design.contrast_candidates.get(quals) == design.contrast_candidates.get(oracle)
        assert design.conseq_overrides.get(quals_system) == design.conseq_overrides.get(ceiling)
    assert set(design.contrast_candidates.values()) <= set(design.candidates)
    assert set(design.filtered.values()) <= {"quals", "entity", "oracle"}  # train-mle's filter.by
    assert set(design.conseq_overrides) <= set(design.conseq)


def test_xsum_design_reports_the_baselines_and_what_they_cost():
    h = {"mle": 0.8, "conseq_quals": 0.6, "conseq_oracle": 0.4, "mle_filter_quals": 0.7,
         "mle_filter_oracle": 0.3, "mle_rerank_quals": 0.75}
    records = {}
    for seed, decode in ((1, 10.0), (2, 20.0)):
        rec = record(h)
        rec["conseq"] = {n: {"steps": 40} for n in sr.XSUM.conseq}
        rec["filter"] = {"mle_filter_quals": {"by": "quals", "threshold": -0.25, "n_in": 3000, "n_kept": 900,
                                              "kept_by_label": {"consistent": 600, "extrinsic": 300}},
                         "mle_filter_oracle": {"by": "oracle", "threshold": 1.0, "n_in": 3000, "n_kept": 690},
                         "mle_filter_entity": None}  # not run in this seed
        rec["results"]["cost"] = {"mle": {"n_candidates": 1, "decode_seconds": decode, "quals_seconds": 0.0},
                                  "mle_rerank_quals": {"n_candidates": 2400, "decode_seconds": 2 * decode,
                                                       "quals_seconds": 3 * decode}}
        records[seed] = rec
    out = sr.aggregate(records, sr.XSUM)
    assert out["design"] == "xsum" and list(out["systems"]) == sr.XSUM.systems
    assert out["systems"]["mle_filter_oracle"]["hallucinated_relative_change"] == pytest.approx(-0.625)
    assert [c["diff"] for c in out["paired_vs_mle"]["mle_rerank_quals"]] == pytest.approx([-0.05, -0.05])
    assert "mle_rerank_quals" not in out["updates"]  # no ConSeq run: no updates to count
    assert list(out["gap_closed"]) == ["conseq_quals"]  # (0.8 - 0.6) / (0.8 - 0.4)
    assert out["gap_closed"]["conseq_quals"]["per_seed"] == pytest.approx([0.5, 0.5])
    text = sr.report_markdown(out)
    assert "| mle_filter_quals | 900 of 3,000 pairs kept (600 consistent), threshold -0.250 / 900 of" in text
    assert "| mle_filter_entity | n/a / n/a |" in text
    assert ("| mle_rerank_quals | 2,400 candidates, 50 s (5.0x MLE's beam) / "
            "2,400 candidates, 100 s (5.0x") in text


def test_selection_precision_hand_computed():
    rows = [{"role": "neg", "id": 1}, {"role": "neg", "id": 2}, {"role": "neg", "id": 3},
            {"role": "pos", "id": 4}, {"role": "pos", "id": 5}]
    hallucinated = {1: True, 2: True, 3: False, 4: True, 5: False}
    mangled = {1: 2, 2: 1, 3: 0, 4: 5, 5: 0}  # positives' mentions do not count

    def verdict(r):
        counts = {f"{k}_mentions": 0 for k in sr.KINDS} | {"exact_name_mentions": 1}
        return {**counts, "hallucinated": float(hallucinated[r["id"]]),
                "mangled_copy_mentions": mangled[r["id"]]}

    out = sr.selection_precision(rows, verdict)
    assert {k: out[k] for k in ("n_neg", "n_pos", "neg_hallucinated", "pos_faithful")} == {
        "n_neg": 3, "n_pos": 2, "neg_hallucinated": pytest.approx(2 / 3), "pos_faithful": pytest.approx(0.5)}
    assert out["per_negative"]["mangled_copy_mentions"] == pytest.approx(1.0)  # (2 + 1 + 0) / 3
    assert out["per_negative"]["role_swap_mentions"] == 0 and out["per_negative"]["exact_name_mentions"] == 1
    empty = sr.selection_precision([], verdict)
    assert empty["neg_hallucinated"] is None and empty["per_negative"]["mangled_copy_mentions"] is None


def test_report_shows_the_oracle_check_of_each_contrast():
    check = {"references_hallucinated": 0.3, "candidates_hallucinated": 0.6,
             "contrasts": {c: {"neg_hallucinated": 0.9, "pos_faithful": 0.8,
                               "per_negative": {"mangled_copy_mentions": 1.25}} for c in sr.MILD.contrasts}}
    out = sr.aggregate({1: {**record({"mle": 0.5}), "oracle_check": check}})
    text = sr.report_markdown(out)
    assert "| (all candidates / all references) | 60 | 70 |" in text
    assert "| quals | 90 | 80 | n/a | 1.25 | n/a | n/a | n/a |" in text
    assert "oracle_check" not in sr.aggregate({1: record({"mle": 0.5})})  # not factworld: no section


def test_head_to_head_pairs_documents_by_id_not_by_position():
    # system: doc a faithful, b hallucinated; baseline: both hallucinated. Given in opposite orders, the
    # join by doc_id gives -0.5 hallucinated and +0.1 ROUGE-L (0.6/0.4 vs 0.5/0.3): no resample changes
    # a constant per-document difference of ROUGE-L, so its interval is the point.
    system_rows = [{"doc_id": "a", "hallucinated": 0.0, "rougeL": 0.6},
                   {"doc_id": "b", "hallucinated": 1.0, "rougeL": 0.4}]
    baseline_rows = [{"doc_id": "b", "hallucinated": 1.0, "rougeL": 0.3},
                     {"doc_id": "a", "hallucinated": 1.0, "rougeL": 0.5}]
    out = sr.head_to_head(system_rows, baseline_rows, n_resamples=200)
    assert out["hallucinated"]["diff"] == pytest.approx(-0.5) and out["hallucinated"]["n"] == 2
    rouge = out["rougeL"]
    assert (rouge["diff"], rouge["ci_low"], rouge["ci_high"]) == pytest.approx((0.1, 0.1, 0.1))
    assert sr.head_to_head(system_rows, baseline_rows, n_resamples=200) == out  # seeded


def test_head_to_head_refuses_rows_that_do_not_pair():
    rows = [{"doc_id": "a", "hallucinated": 0.0, "rougeL": 0.5}]
    with pytest.raises(ValueError, match="different documents"):
        sr.head_to_head(rows, [{"doc_id": "b", "hallucinated": 0.0, "rougeL": 0.5}])
    with pytest.raises(ValueError, match="twice"):
        sr.head_to_head(rows + rows, rows)


def test_xsum_report_tests_conseq_against_each_quals_baseline_per_seed():
    h = {name: 0.5 for name in sr.XSUM.systems}
    pair = {"hallucinated": {"diff": -0.043, "ci_low": -0.09, "ci_high": 0.007, "p_value": 0.106},
            "rougeL": {"diff": 0.013, "ci_low": -0.017, "ci_high": 0.043, "p_value": 0.399}}
    records = {seed: {**record(h), "head_to_head": {"conseq_quals_span vs mle_filter_quals": pair}}
               for seed in (1, 2)}
    out = sr.aggregate(records, sr.XSUM)
    assert list(out["head_to_head"]) == [f"{a} vs {b}" for a, b in sr.XSUM.head_to_head]
    assert out["head_to_head"]["conseq_quals_span vs mle_filter_quals"] == [pair, pair]
    assert out["head_to_head"]["conseq_quals vs mle_rerank_quals"] == [None, None]  # not in the records
    text = sr.report_markdown(out)
    assert ("| conseq_quals_span vs mle_filter_quals | -4.3 [-9.0, +0.7] 0.106 / +1.3 [-1.7, +4.3] 0.399 | "
            "-4.3 [-9.0, +0.7] 0.106 / +1.3") in text
    assert "| conseq_quals vs mle_rerank_quals | n/a | n/a |" in text
    assert "head_to_head" not in sr.aggregate(records, sr.MILD)  # the mild design has no baselines


def test_the_ceiling_design_reports_every_oracle_lever_and_no_gap_table():
    h = {"mle": 0.8, **{name: 0.7 for name in sr.CEILING.conseq}}
    rec = record(h)
    rec["contrast"] = {c: {"selection": {"n_docs": 100, "n_kept": 9, "n_fallback_kept": 3}}
                       for c in sr.CEILING.contrasts}
    out = sr.aggregate({1: rec, 2: rec}, sr.CEILING)
    assert list(out["systems"]) == sr.CEILING.systems and out["gap_closed"] == {}
    assert out["systems"]["conseq_oracle_fallback"]["hallucinated_relative_change"] == pytest.approx(-0.125)
    text = sr.report_markdown(out)
    for name in sr.CEILING.conseq:
        assert f"| {name} | 70.00 ± 0.00 |" in text
    assert "| oracle_fallback | 100 / 100 | 9 / 9 |  | 3 / 3 |  |" in text
    assert "oracle-ceiling gap" not in text


@pytest.mark.parametrize("lever", LEVERS)
def test_the_contrast_design_puts_a_ceiling_lever_beside_the_papers_rule_and_reuses_the_ceilings_runs(lever):
    full = sr.contrast_design(lever, lever_ceiling=True)
    oracle_system = f"conseq_oracle_{lever}"
    # the lever's oracle system is the ceiling design's own: same contrast, loss and overrides, so its
    # select-contrast and ConSeq runs (same run ids, same configs) are reused, not retrained
    assert full.conseq[oracle_system] == sr.CEILING.conseq[oracle_system]
    contrast = full.conseq[oracle_system][0]
    assert full.contrasts[contrast] == sr.CEILING.contrasts[contrast]
    assert full.conseq_overrides.get(oracle_system) == sr.CEILING.conseq_overrides.get(oracle_system)
    assert full.systems == ["mle", "conseq_quals", f"conseq_quals_{lever}", "conseq_oracle", oracle_system,
                            "mle_rerank_quals"]
    assert full.ceiling == {"conseq_quals": "conseq_oracle", f"conseq_quals_{lever}": oracle_system}
    # the default drops the lever's oracle twin (its ceiling is the ceiling design's); the QUALS system
    # is the same: the twin's contrast with the QUALS reward and spans, the same loss and overrides
    design = sr.contrast_design(lever)
    assert design.systems == ["mle", "conseq_quals", f"conseq_quals_{lever}", "conseq_oracle",
                              "mle_rerank_quals"]
    assert design.ceiling == {"conseq_quals": "conseq_oracle"}
    quals_system = f"conseq_quals_{lever}"
    assert design.conseq[quals_system] == full.conseq[quals_system]
    quals_contrast = design.conseq[quals_system][0]
    assert design.contrasts[quals_contrast] == full.contrasts[quals_contrast]
    lever_options = set(sr.CEILING.contrasts[contrast]) - set(sr.CEILING.contrasts["oracle"])
    assert set(design.contrasts[quals_contrast]) == lever_options | set(sr.MILD.contrasts["quals"])
    assert design.conseq_overrides.get(quals_system) == sr.CEILING.conseq_overrides.get(oracle_system)
    assert design.contrast_candidates.get(quals_contrast) == sr.CEILING.contrast_candidates.get(contrast)
    for d in (design, full):
        assert d.needs_quals and d.shared_qagen and d.evaluate_split == "test"
        assert (quals_system, "mle_rerank_quals") in d.head_to_head
    # each its own evaluate run
    assert len({design.evaluate_suffix, full.evaluate_suffix, sr.CEILING.evaluate_suffix, ""}) == 4
    assert sr.DESIGNS["contrast"] == sr.CONTRAST and sr.DESIGNS["contrast_full"] == sr.CONTRAST_FULL


def test_the_contrast_design_names_its_levers_when_asked_for_an_unknown_one():
    with pytest.raises(KeyError, match="known: span, x3"):
        sr.contrast_design("nope")
