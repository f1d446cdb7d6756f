"""What ``make pipeline`` prints when it is done: where the results are, and the headline table.

``python -m consum.evaluation.headline runs/evaluate/<run_id>`` reads the evaluate run dir's
``results.md`` (written by :func:`consum.evaluation.evaluate.write_outputs`: the headline table and
its notes, the oracle's table by kind of error on factworld, a "Made by" line) and prints the paths of
``results.md`` and ``report.html``, the headline table with its notes, and the "Made by" line. A run
dir without ``results.md`` is one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path


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


def render(run_dir: Path) -> str:
    results = run_dir / "results.md"
    if not results.is_file():
        raise FileNotFoundError(f"no results.md in {run_dir}: has its evaluate run finished?")
    lines = [f"Results: {results}"]
    if (run_dir / "report.html").is_file():
        lines.append(f"Report:  {run_dir / 'report.html'}")
    return "\n".join(lines) + "\n\n" + headline(results.read_text(encoding="utf-8"))


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
