"""A name starting with ``_`` is private to its package: no other consum package (nor a script) uses it.

Packages are ``consum.<name>`` (``consum.data``, ``consum.quals``, ...; a top-level module such as
``consum.tracking`` is its own package). Inside a package, private helpers and modules are shared
freely (``consum.generation._decoding`` serves the decoders of ``consum.generation``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SRC = REPO_ROOT / "src"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_uses(source: str, module: str | None, *, is_package: bool = False) -> list[str]:
    """``line: what`` for every private consum name that ``source`` (module ``module``; None for a
    script, outside every package) takes from another package: imported (``from consum.x import _f``,
    ``from consum.x._m import f``, ``import consum.x._m``) or reached through a module
    (``from consum.x import m`` then ``m._f``; ``import consum.x.m`` then ``consum.x.m._f``)."""
    own = package_of(module) if module else None
    found, modules = [], {}  # modules: local name -> the dotted consum module it is bound to

    def foreign(dotted: str) -> bool:
        return dotted.split(".")[0] == "consum" and package_of(dotted) != own

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = module.split(".") if module else []
                anchor = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                dotted = f"{base}.{alias.name}"
                if is_module(dotted):
                    modules[alias.asname or alias.name] = dotted
                if foreign(dotted if is_module(dotted) else base) and any(map(is_private, dotted.split("."))):
                    found.append(f"{node.lineno}: from {base} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                modules[alias.asname or top] = alias.name if alias.asname else top
                if foreign(alias.name) and any(map(is_private, alias.name.split("."))):
                    found.append(f"{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in modules:
            dotted = ".".join([modules[value.id], *reversed(chain)])
            if is_module(dotted) and foreign(dotted):
                found.append(f"{node.lineno}: {dotted}.{node.attr}")
    return found


def scanned_files() -> list[tuple[Path, str | None, bool]]:
    """(path, module name, is a package ``__init__``) of every module of consum and every script."""
    files = []
    for path in sorted((SRC / "consum").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        files.append((path, ".".join(parts[:-1] if is_package else parts), is_package))
    files += [(path, None, False) for path in sorted((REPO_ROOT / "scripts").rglob("*.py"))]
    return files


def test_no_private_name_crosses_a_package_boundary():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{use}"
        for path, module, is_package in scanned_files()
        for use in private_uses(path.read_text(encoding="utf-8"), module, is_package=is_package)
    ]
    assert not found, "make these public (documented) in their package, or move them:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "module", "flagged"),
    [
        ("from consum.data.qa import _load_json", "consum.training.qagen", True),
        ("from consum.generation._decoding import encode", "consum.quals.scorer", True),
        ("import consum.generation._decoding", "consum.quals.scorer", True),
        ("from consum.data import qa as qa_data\nqa_data._load_json('x')", "consum.training.qagen", True),
        ("import consum.data.qa\nconsum.data.qa._load_json('x')", "consum.training.qagen", True),
        ("import consum.data.qa as q\nq._load_json('x')", None, True),  # a script
        ("from ..data.qa import _load_json", "consum.training.qagen", True),
        ("from consum.data.qa import load_qa_json", "consum.training.qagen", False),
        ("from consum.generation._decoding import encode", "consum.generation.scoring", False),
        ("from ._decoding import encode", "consum.generation.scoring", False),
        ("from consum.data import qa\nqa.__name__", "consum.training.qagen", False),  # dunders are public
        ("from consum.io.rundir import RunDir\nRunDir._open", "consum.cli.x", False),  # a class's business
    ],
)
def test_the_scan_sees_imports_and_module_attributes(source, module, flagged):
    assert bool(private_uses(source, module)) is flagged
