import pytest

from consum.data.filters import clean_cnndm_summary, clean_example, clean_xsum_document, fix_missing_period


@pytest.mark.parametrize(
    "line, expected",
    [
        ("No period", "No period."),
        ("Done.", "Done."),
        ("Really?", "Really?"),
        ('He said "yes"', 'He said "yes"'),
        ("(aside)", "(aside)"),
        ("  spaced  ", "spaced."),
        ("", ""),
    ],
)
def test_fix_missing_period(line, expected):
    assert fix_missing_period(line) == expected


def test_xsum_share_widget_lines_dropped_at_level_1_only():
    doc = "The match ended 2-1\nShare this with\nemail\nCopy this link\nFans cheered."
    assert clean_xsum_document(doc, 1) == "The match ended 2-1. Fans cheered."
    assert clean_xsum_document(doc, 0) == (
        "The match ended 2-1. Share this with. email. Copy this link. Fans cheered."
    )


def test_cnndm_promo_highlights_dropped_case_sensitively():
    highlights = "Storm hits coast\nREAD: full story\nCLICK HERE for photos\nread more later"
    assert clean_cnndm_summary(highlights, 1) == "Storm hits coast. read more later."


def test_filter_level_2_is_refused_not_ignored():
    with pytest.raises(ValueError, match="filter_level=2"):
        clean_example("d", "s", "xsum", 2)
