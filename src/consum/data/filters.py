"""Preprocessing of the original (spec §9): ``filter_level=1`` corruption filters and the missing-period fix.

``filter_level=2`` (dropping examples or summary sentences with entities absent from the source)
needs spaCy NER and is not implemented; asking for it is an error, not a silent no-op.
"""

from __future__ import annotations

# XSum share-widget lines that leak into the BBC article body (dropped case-insensitively).
XSUM_SHARE_LINES = frozenset(
    s.lower()
    for s in (
        "Share this with",
        "Email",
        "Facebook",
        "Messenger",
        "Twitter",
        "Pinterest",
        "WhatsApp",
        "LinkedIn",
        "Copy this link",
        "These are external links and will open in a new window",
    )
)
# CNN/DM highlights that are promo links, not summary sentences (case-sensitive prefix, as the original).
CNNDM_PROMO_PREFIXES = ("READ", "CLICK HERE")
SENTENCE_END = (".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")")


def fix_missing_period(line: str) -> str:
    """Append '.' unless the line already ends like a sentence (the original's rule)."""
    line = line.strip()
    if not line or line.endswith(SENTENCE_END):
        return line
    return line + "."


def join_lines(lines, fix_period: bool = True) -> str:
    lines = (fix_missing_period(x) if fix_period else x.strip() for x in lines)
    return " ".join(x for x in lines if x)


def clean_xsum_document(text: str, filter_level: int = 1) -> str:
    lines = text.split("\n")
    if filter_level >= 1:
        lines = [x for x in lines if x.strip().lower() not in XSUM_SHARE_LINES]
    return join_lines(lines)


def clean_cnndm_summary(text: str, filter_level: int = 1) -> str:
    lines = text.split("\n")
    if filter_level >= 1:
        lines = [x for x in lines if not x.strip().startswith(CNNDM_PROMO_PREFIXES)]
    return join_lines(lines)


def clean_plain(text: str, fix_period: bool = True) -> str:
    return join_lines(text.split("\n"), fix_period=fix_period)


def clean_example(document: str, summary: str, cleaner: str, filter_level: int, fix_period: bool = True):
    """Apply a dataset's cleaning to one (document, summary) pair."""
    if filter_level not in (0, 1):
        raise ValueError(
            f"filter_level={filter_level} is not supported: level 2 needs spaCy entity matching (spec §9); "
            "use 0 or 1"
        )
    if cleaner == "xsum":
        return clean_xsum_document(document, filter_level), clean_plain(summary)
    if cleaner == "cnndm":
        return clean_plain(document), clean_cnndm_summary(summary, filter_level)
    if cleaner in ("plain", "none"):
        return clean_plain(document, fix_period), clean_plain(summary, fix_period)
    raise ValueError(f"unknown cleaner {cleaner!r}; expected xsum, cnndm or plain")
