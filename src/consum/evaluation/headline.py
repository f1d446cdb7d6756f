"""What ``make pipeline`` prints when it is done: where the results are, and the headline table.

``python -m consum.evaluation.headline runs/evaluate/<run_id>`` prints the paths of ``results.md`` and
``report.html``, then the headline. On factworld (systems with the oracle's breakdown in
``results.json``) it is the table by kind of error, **invented attributes first** (the kind ConSeq
exists to remove), each system's hallucination change against the first system (paired bootstrap),
ROUGE-L and QUALS (:func:`kinds_headline`). Elsewhere it is ``results.md``'s first table with its notes
(:func:`headline`). Then the "Made by" line. A run dir without ``results.md`` is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# the kinds in the headline's order: the one ConSeq's reward sees best first
HEADLINE_KINDS = ("invented_attribute", "invented_value", "role_swap", "mangled_copy")


def is_table(block: str) -> bool:
    return block.lstrip().startswith("|")


def headline(results_md: str) -> str:
    """The first table of ``results_md`` with the prose that follows it (up to the next table), and
    the "Made by" line.

    >>> print(headline("| a |\\n|---|\\n| 1 |\\n\\nnotes\\n\\n| kinds |\\n|---|\\n\\nMade by x"))
    | a |
    |---|
    | 1 |
    <BLANKLINE>
    notes
    <BLANKLINE>
    Made by x
    """
    blocks = [b.strip("\n") for b in results_md.split("\n\n") if b.strip()]
    first = next((i for i, b in enumerate(blocks) if is_table(b)), None)
    kept = []
    if first is not None:
        kept.append(blocks[first])
        for block in blocks[first + 1:]:
            if is_table(block) or block.startswith("Made by"):
                break
            kept.append(block)
    kept += [b for b in blocks if b.startswith("Made by")]
    return "\n\n".join(kept)


def kinds_headline(results: dict) -> str | None:
    """The factworld headline from ``results.json``: per system, each kind of error as "% of summaries
    (mentions)", invented attributes first, then hallucinated % with its paired change against the first
    system (points [95% CI] p), ROUGE-L and QUALS. None when no system has the oracle's breakdown.

    >>> cell = lambda m: {"mean": m, "ci_low": m, "ci_high": m}
    >>> kinds = {k: {**cell(0.1), "mentions": 3} for k in HEADLINE_KINDS}
    >>> results = {"n_docs": 30, "split": "test", "systems": {
    ...     "mle": {"hallucinated": cell(0.5), "rougeL": cell(0.4), "oracle_breakdown": kinds},
    ...     "conseq": {"hallucinated": cell(0.4), "rougeL": cell(0.41), "oracle_breakdown": kinds}},
    ...     "comparisons": {"conseq-vs-mle": {"hallucinated": {
    ...         "diff": -0.1, "ci_low": -0.2, "ci_high": -0.01, "p_value": 0.03}}}}
    >>> print(kinds_headline(results).splitlines()[3])
    | conseq | 10.0 (3) | 10.0 (3) | 10.0 (3) | 10.0 (3) | 40.0 | -10.0 [-20.0, -1.0] p 0.030 | 41.0 | n/a |
    """
    systems = results.get("systems", {})
    if not systems or not all("oracle_breakdown" in s for s in systems.values()):
        return None
    base = next(iter(systems))
    kinds = " | ".join(k.replace("_", " ") for k in HEADLINE_KINDS)
    lines = [f"| system | {kinds} | hallucinated | vs {base} (points) | ROUGE-L | QUALS |",
             "|---|" + "---|" * (len(HEADLINE_KINDS) + 4)]

    def mean(summary: dict, key: str, scale: float = 100) -> str:
        return f"{summary[key]['mean'] * scale:.{1 if scale == 100 else 2}f}" if key in summary else "n/a"

    for name, summary in systems.items():
        breakdown = summary["oracle_breakdown"]
        cells = [f"{100 * breakdown[k]['mean']:.1f} ({breakdown[k]['mentions']})" if k in breakdown else "n/a"
                 for k in HEADLINE_KINDS]
        test = (results.get("comparisons", {}).get(f"{name}-vs-{base}") or {}).get("hallucinated")
        change = ("" if name == base else "n/a" if not test else
                  f"{100 * test['diff']:+.1f} [{100 * test['ci_low']:+.1f}, {100 * test['ci_high']:+.1f}] "
                  f"p {test['p_value']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean(summary, 'hallucinated')} | {change} | "
                     f"{mean(summary, 'rougeL')} | {mean(summary, 'quals', 1)} |")
    lines += ["", f"{results['n_docs']} {results['split']} documents. Errors by kind (the factworld "
              "oracle's, docs/factworld.md): % of summaries with at least one (mentions in all); "
              f"hallucinated: % with any; the change against {base} is a paired bootstrap on the same "
              "documents; ROUGE-L in %, QUALS in nats. Every column with its CI: results.md."]
    return "\n".join(lines)


def render(run_dir: Path) -> str:
    results = run_dir / "results.md"
    if not results.is_file():
        raise FileNotFoundError(f"no results.md in {run_dir}: has its evaluate run finished?")
    lines = [f"Results: {results}"]
    if (run_dir / "report.html").is_file():
        lines.append(f"Report:  {run_dir / 'report.html'}")
    text = results.read_text(encoding="utf-8")
    results_json = run_dir / "results.json"
    by_kind = kinds_headline(json.loads(results_json.read_text())) if results_json.is_file() else None
    if by_kind is None:
        return "\n".join(lines) + "\n\n" + headline(text)
    made_by = [b.strip("\n") for b in text.split("\n\n") if b.startswith("Made by")]
    return "\n".join(lines) + "\n\n" + "\n\n".join([by_kind, *made_by])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m consum.evaluation.headline runs/evaluate/<run_id>", file=sys.stderr)
        return 2
    try:
        print(render(Path(argv[0])))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
