"""The evaluation's factworld breakdown by kind and copy fidelity, on hand-built summaries."""

import pytest

from consum.evaluation.oracle_metrics import breakdown, breakdown_table, oracle_metrics
from consum.evaluation.report import answer_span, highlight, worst_example_html
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
