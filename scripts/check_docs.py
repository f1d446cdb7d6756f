"""The docs cannot rot silently: check README.md and docs/**/*.md against the repository.

    python scripts/check_docs.py [ROOT]     # prints one line per problem; exit 1 if any

Checked (tests/unit/test_docs.py runs it in `make test`):
* every relative link ``[text](path#anchor)`` resolves to a file or folder inside the repository,
  and its anchor, when it has one and points at a Markdown file, to a heading of that file
  (GitHub's slugs: lower case, punctuation dropped, spaces to hyphens, ``-1``, ``-2`` for repeats);
* every ``make <target>`` in code (fenced blocks and inline code) is a target of the Makefile;
* every module run with ``python -m consum...`` / ``-m consum...``, and every ``consum.cli.<name>``
  anywhere, is a module under ``src/``;
* every repository path in inline code (``scripts/x.py``, ``src/...``, ``conf/...``, ``tests/...``
  with a file extension and no placeholder) exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", flags=re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", flags=re.MULTILINE)
MAKE = re.compile(r"\bmake((?:\s+[A-Z_]+=\S*)*)\s+([a-z][a-z0-9_-]*)")
MODULE_RUN = re.compile(r"-m\s+(consum(?:\.\w+)+)")
CLI_MODULE = re.compile(r"\b(consum\.cli\.\w+)")
REPO_PATH = re.compile(r"^(?:scripts|src|conf|tests|docs)/[\w./-]+\.\w+$")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", flags=re.IGNORECASE)


def doc_files(root: Path) -> list[Path]:
    return [p for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if p.is_file()]


def blank(match: re.Match) -> str:
    """The match replaced by spaces, newlines kept: line numbers survive the masking."""
    return re.sub(r"[^\n]", " ", match.group(0))


def prose(text: str) -> str:
    """The text without fenced code and inline code (links there are code, not links)."""
    return INLINE_CODE.sub(blank, FENCE.sub(blank, text))


def code_spans(text: str) -> list[tuple[int, str]]:
    """(offset, code) of every fenced block and inline code span."""
    spans = [(m.start(), m.group(0)) for m in FENCE.finditer(text)]
    outside = FENCE.sub(blank, text)
    return spans + [(m.start(2), m.group(2)) for m in INLINE_CODE.finditer(outside)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text.

    >>> slug("`make pipeline` (EXP=factworld_small; commit cd41335)")
    'make-pipeline-expfactworld_small-commit-cd41335'
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower().replace("*", ""))
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(FENCE.sub(blank, text)):
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def make_targets(root: Path) -> set[str]:
    makefile = root / "Makefile"
    text = makefile.read_text(encoding="utf-8") if makefile.is_file() else ""
    return set(re.findall(r"^([a-zA-Z][\w-]*):", text, flags=re.MULTILINE))


def is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath("src", *dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def link_problems(root: Path, path: Path, text: str) -> list[tuple[int, str]]:
    found = []
    for match in LINK.finditer(prose(text)):
        target = match.group(1)
        if SCHEME.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        line = line_of(text, match.start())
        if root.resolve() not in (resolved, *resolved.parents):
            found.append((line, f"link {target} leaves the repository"))
        elif not resolved.exists():
            found.append((line, f"broken link {target}: no {resolved.relative_to(root.resolve())}"))
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text("utf-8")):
            found.append((line, f"broken link {target}: no heading #{anchor} in {resolved.name}"))
    return found


def code_problems(root: Path, text: str) -> list[tuple[int, str]]:
    targets, found = make_targets(root), []
    for offset, code in code_spans(text):
        for match in MAKE.finditer(code):
            if match.group(2) not in targets:
                line = line_of(text, offset + match.start())
                found.append((line, f"make {match.group(2)}: no such target"))
        for match in MODULE_RUN.finditer(code):
            if not is_module(root, match.group(1)):
                found.append((line_of(text, offset + match.start()), f"no module {match.group(1)}"))
        stripped = code.strip()
        if REPO_PATH.match(stripped) and not (root / stripped).exists():
            found.append((line_of(text, offset), f"no file {stripped}"))
    for match in CLI_MODULE.finditer(text):
        if not is_module(root, match.group(1)):
            found.append((line_of(text, match.start()), f"no module {match.group(1)}"))
    return sorted(set(found))


def problems(root: Path) -> list[str]:
    """``file:line: what`` for every broken link, unknown make target, module or path in the docs."""
    out = []
    for path in doc_files(root):
        text = path.read_text(encoding="utf-8")
        for line, what in link_problems(root, path, text) + code_problems(root, text):
            out.append(f"{path.relative_to(root)}:{line}: {what}")
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    found = problems(root)
    print("\n".join(found) if found else f"docs ok: {len(doc_files(root))} files")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
