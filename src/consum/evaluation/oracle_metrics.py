"""factworld's oracle in the evaluation: hallucination rates, the breakdown by kind, copy fidelity.

Per summary (:func:`oracle_metrics`): whether it hallucinates at all / extrinsically / intrinsically,
for each kind of error (``consum.data.factworld.oracle.ERROR_KINDS``: invented attribute, mangled copy,
invented value, role swap) whether it has one and how many mentions, the flagged spans (for the
report), and the counts behind copy fidelity.

Per system (:func:`breakdown`): the share of summaries with each kind (bootstrap 95% CI), the
mentions of each kind over the whole split (the issue's "mangled copies per 300 test summaries"), and
the **exact-copy rate**: of the summary's name mentions that point at a document name (the exact name,
or a mangled copy of it), the share that are the exact name. Names are people, organisations,
places and awards; numbers, dates and nationalities are values, not copies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from consum.data.factworld.entities import AWARD, GPE, ORG, PERSON
from consum.data.factworld.oracle import ERROR_KINDS, INTRINSIC, MANGLED_COPY, SUPPORTED, check_summary
from consum.evaluation.bootstrap import bootstrap_ci, bootstrap_ratio_ci

NAME_TYPES = frozenset({PERSON, ORG, GPE, AWARD})
RATES = ("hallucinated", "extrinsic", "intrinsic")


def oracle_metrics(doc_facts: Mapping | str, summary: str) -> dict:
    verdict = check_summary(doc_facts, summary)
    counts = verdict.kind_counts()
    exact_names = sum(
        m.entity_type in NAME_TYPES and m.status in (SUPPORTED, INTRINSIC) for m in verdict.mentions
    )
    return {
        "hallucinated": float(verdict.hallucinated),
        "extrinsic": float(verdict.n_extrinsic > 0),
        "intrinsic": float(verdict.n_intrinsic > 0),
        **{kind: float(counts[kind] > 0) for kind in ERROR_KINDS},
        **{f"{kind}_mentions": counts[kind] for kind in ERROR_KINDS},
        "exact_name_mentions": exact_names,
        "oracle_flags": [
            {"start": m.span[0], "end": m.span[1], "type": m.entity_type, "status": m.status, "kind": m.kind}
            for m in verdict.mentions if m.kind is not None
        ],
        "oracle_verdict": verdict.describe(),
    }


def breakdown(per_doc: list[dict], n_resamples: int, seed: int) -> dict:
    """Per kind: share of summaries with one (mean, CI) and mentions in all; and the exact-copy rate."""
    out: dict = {}
    for kind in ERROR_KINDS:
        point, low, high = bootstrap_ci([m[kind] for m in per_doc], n_resamples=n_resamples, seed=seed)
        out[kind] = {"mean": point, "ci_low": low, "ci_high": high,
                     "mentions": int(sum(m[f"{kind}_mentions"] for m in per_doc)), "n": len(per_doc)}
    exact = np.array([m["exact_name_mentions"] for m in per_doc], dtype=float)
    mangled = np.array([m[f"{MANGLED_COPY}_mentions"] for m in per_doc], dtype=float)
    if (exact + mangled).sum() > 0:
        point, low, high = bootstrap_ratio_ci(exact, exact + mangled, n_resamples=n_resamples, seed=seed)
        out["exact_copy_rate"] = {"mean": point, "ci_low": low, "ci_high": high,
                                  "n_name_mentions": int((exact + mangled).sum())}
    return out


def breakdown_table(results: dict) -> str:
    """Markdown: per system, each kind as "% of summaries [CI] (mentions)", and the exact-copy rate."""
    systems = {
        name: s["oracle_breakdown"] for name, s in results["systems"].items() if "oracle_breakdown" in s
    }
    if not systems:
        return ""
    header = ["system", *(k.replace("_", " ") for k in ERROR_KINDS), "exact-copy rate"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, kinds in systems.items():
        cells = [_cell(kinds[k]) + f" ({kinds[k]['mentions']})" for k in ERROR_KINDS]
        cells.append(_cell(kinds["exact_copy_rate"]) if "exact_copy_rate" in kinds else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Oracle hallucinations by kind (docs/factworld.md): % of summaries with at least one "
        "[95% bootstrap CI] (mentions in all); exact-copy rate: % of the name mentions pointing at a "
        "document name that are exactly it (the rest are mangled copies)."
    )
    return "\n".join(lines)


def _cell(stat: dict) -> str:
    return f"{100 * stat['mean']:.2f} [{100 * stat['ci_low']:.2f}, {100 * stat['ci_high']:.2f}]"
