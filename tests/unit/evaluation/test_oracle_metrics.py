"""The evaluation's factworld breakdown by kind and copy fidelity, on hand-built summaries."""

import pytest

from consum.data.factworld.oracle import ERROR_KINDS
from consum.evaluation.oracle_metrics import breakdown, breakdown_table, oracle_metrics
from consum.evaluation.report import answer_span, highlight, worst_example_html
from consum.metrics.metric_stats import auc_by_error_kind, auc_by_error_kind_line
from tests.unit.data.test_factworld_oracle import SPORTS_FACTS

SUMMARIES = [
    "Maria Lee scored as Kelso Rovers beat Ashford United 3-1 in Leeds.",  # faithful: 4 exact names
    "The 29-year-old Maria Novak scored as Kelso United won.",  # attribute + 2 mangled copies
    "Ashford United beat Kelso Rovers in Oslo.",  # 2 role swaps (exact names) + an invented city
]


def test_per_summary_kinds_and_name_counts():
    faithful, attribute_and_mangled, swapped = (oracle_metrics(SPORTS_FACTS, s) for s in SUMMARIES)
    assert faithful["hallucinated"] == 0.0 and faithful["exact_name_mentions"] == 4
    assert faithful["oracle_flags"] == [] and faithful["mangled_copy_mentions"] == 0
    assert (
        attribute_and_mangled["invented_attribute"] == 1.0
        and attribute_and_mangled["mangled_copy_mentions"] == 2
    )
    assert attribute_and_mangled["exact_name_mentions"] == 0
    assert [f["kind"] for f in attribute_and_mangled["oracle_flags"]] == [
        "invented_attribute", "mangled_copy", "mangled_copy",
    ]
    assert swapped["role_swap_mentions"] == 2 and swapped["invented_value_mentions"] == 1
    assert swapped["exact_name_mentions"] == 2  # a swapped name is still an exact copy


def test_breakdown_over_a_system_and_its_table():
    per_doc = [oracle_metrics(SPORTS_FACTS, s) for s in SUMMARIES]
    out = breakdown(per_doc, n_resamples=200, seed=0)
    assert (
        out["invented_attribute"]["mean"] == pytest.approx(1 / 3)
        and out["invented_attribute"]["mentions"] == 1
    )
    assert out["mangled_copy"]["mentions"] == 2 and out["role_swap"]["mentions"] == 2
    assert out["invented_value"]["mean"] == pytest.approx(1 / 3)
    assert out["exact_copy_rate"]["mean"] == pytest.approx(6 / 8)  # 4 + 0 + 2 exact of 8 name mentions
    assert out["exact_copy_rate"]["n_name_mentions"] == 8
    table = breakdown_table({"systems": {"mle": {"oracle_breakdown": out}}})
    assert "| mle | 33.33 [" in table and "(2)" in table and "| 75.00 [" in table


def test_report_marks_the_answer_and_the_flagged_mentions():
    summary = SUMMARIES[1]
    assert answer_span(summary, " kelso united ") == (38, 50)
    assert answer_span(summary, "Nobody") is None
    marked = highlight("Alpha beat Beta.", [(0, 5, "oracle", "role swap"), (11, 15, "answer", "answer")])
    assert marked == ("<mark class='oracle' title='role swap'>Alpha</mark> beat "
                      "<mark class='answer' title='answer'>Beta</mark>.")
    metrics = {"summary": summary, **oracle_metrics(SPORTS_FACTS, summary)}
    pair = {
        "system": "mle", "doc_id": "d1", "summary_quals": -1.5, "question": "Who won?",
        "answer": "Kelso United",
    }
    html = worst_example_html(pair, metrics, "The <document> text.", "worst_qa_0.png")
    assert "<details><summary>document</summary><p>The &lt;document&gt; text.</p></details>" in html
    assert "title='oracle: invented attribute'>29-year-old</mark>" in html
    assert "oracle: 29-year-old [AGE] extrinsic, invented attribute (document: -, text: -); " in html
    assert "Kelso United [ORG] extrinsic, mangled copy" in html


def test_auc_by_error_kind_on_oracle_verdicts_of_hand_built_summaries():
    # faithful 0.3 and 0.1; the attribute+mangled summary -0.4; the swap+invented-value summary 0.2
    per_doc = [oracle_metrics(SPORTS_FACTS, s) for s in (SUMMARIES[0], SUMMARIES[0], *SUMMARIES[1:])]
    out = auc_by_error_kind([0.3, 0.1, -0.4, 0.2], per_doc, ERROR_KINDS)
    assert out["n"] == 4 and out["n_hallucinated"] == 2 and out["n_unscored"] == 0
    # faithful {0.3, 0.1} vs hallucinated {-0.4, 0.2}: pairs won 2 + 1 of 4
    assert out["roc_auc"] == pytest.approx(0.75)
    assert out["by_kind"]["invented_attribute"] == {"roc_auc": 1.0, "n_faithful": 2, "n_kind": 1}
    assert out["by_kind"]["mangled_copy"]["roc_auc"] == 1.0
    assert out["by_kind"]["role_swap"]["roc_auc"] == pytest.approx(0.5)  # 0.3 > 0.2 > 0.1
    assert out["by_kind"]["invented_value"]["n_kind"] == 1
    line = auc_by_error_kind_line(out)
    assert line.startswith("0.750 overall (n=4, 2 hallucinated)") and "role swap 0.500 (n=1)" in line


def test_auc_by_error_kind_leaves_out_unscored_and_empty_classes():
    flags = [{"hallucinated": 0.0}, {"hallucinated": 1.0, "role_swap": 1.0}]
    out = auc_by_error_kind([None, -1.0], flags, ERROR_KINDS)
    assert out["roc_auc"] is None and out["n_unscored"] == 1 and out["n"] == 1
    assert all(v["roc_auc"] is None for v in out["by_kind"].values())
    with pytest.raises(ValueError, match="2 scores for 1"):
        auc_by_error_kind([0.0, 1.0], flags[:1], ERROR_KINDS)


def test_evaluate_reports_the_auc_pooled_and_per_system():
    from consum.evaluation.evaluate import quals_auc

    metrics = [oracle_metrics(SPORTS_FACTS, s) for s in SUMMARIES]
    per_doc = {
        "mle": [{**m, "quals": q} for m, q in zip(metrics, [0.5, -1.0, -0.2])],
        "conseq": [{**m, "quals": q} for m, q in zip(metrics, [0.1, -0.3, None])],
    }
    out = quals_auc(per_doc)
    # pooled faithful {0.5, 0.1} vs hallucinated {-1.0, -0.2, -0.3}: all 6 pairs won
    assert out["roc_auc"] == 1.0 and out["n"] == 5 and out["n_unscored"] == 1
    assert out["by_system"]["conseq"]["by_kind"]["invented_attribute"]["roc_auc"] == 1.0
    assert out["by_system"]["mle"]["by_kind"]["role_swap"] == {"roc_auc": 1.0, "n_faithful": 1, "n_kind": 1}


def test_kind_flags_agree_with_the_evaluation_verdicts():
    from consum.data.factworld.oracle import check_summary

    for summary in SUMMARIES:
        metrics = oracle_metrics(SPORTS_FACTS, summary)
        flags = check_summary(SPORTS_FACTS, summary).kind_flags()
        assert flags == {k: bool(metrics[k]) for k in ("hallucinated", *ERROR_KINDS)}
