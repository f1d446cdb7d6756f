"""Dependencies point one way (ARCHITECTURE.md): ``cli -> training/generation/quals/contrast/evaluation
-> losses/data/models/metrics/io``. A package imports only packages of a lower layer than its own.

Within the middle, the order the stages' outputs flow in: ``evaluation`` (reads every stage's
outputs) above ``training`` and ``quals`` (``train-conseq`` uses the contrast collator; ``quals``
decodes with ``generation``), above ``contrast`` and ``generation``. ``quals`` never imports
``training`` (same layer). Imports inside functions count: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# higher number = higher layer; a package may import only packages with a strictly lower number
LAYER = {
    "cli": 5,
    "evaluation": 4,
    "training": 3, "quals": 3,
    "contrast": 2, "generation": 2,
    "losses": 1, "data": 1, "models": 1, "metrics": 1, "tracking": 1, "resolvers": 1,
    "io": 0,
}


def consum_imports(source: str) -> list[tuple[int, str]]:
    """(line, consum package) of every absolute ``consum.*`` import in ``source``, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, n.split(".")[1]) for n in names if n.startswith("consum.")]
    return found


def upward_imports(source: str, package: str) -> list[str]:
    return [
        f"{line}: {package} imports consum.{target}"
        for line, target in consum_imports(source)
        if target != package and LAYER[target] >= LAYER[package]
    ]


def test_every_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in (SRC / "consum").iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert packages == set(LAYER)


def test_no_import_runs_up_the_layers():
    found = []
    for path in sorted((SRC / "consum").rglob("*.py")):
        parts = path.relative_to(SRC / "consum").with_suffix("").parts
        if parts == ("__init__",):
            continue
        found += [f"{path.relative_to(SRC)}:{up}" for up in upward_imports(path.read_text(), parts[0])]
    assert not found, "move the shared code down a layer (or the importer up):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "package", "flagged"),
    [
        ("from consum.evaluation.rouge import rouge_scores", "training", True),  # the arrow issue 23 removed
        ("def f():\n    from consum.evaluation import rouge", "contrast", True),  # lazy imports count
        ("import consum.training.loop", "quals", True),  # same layer
        ("from consum.metrics.rouge import rouge_mean_f1", "contrast", False),
        ("from consum.generation.beam import beam_generate", "training", False),
        ("from .rouge import rouge_scores", "metrics", False),  # relative: inside the package
    ],
)
def test_the_check_sees_upward_and_lazy_imports(source, package, flagged):
    assert bool(upward_imports(source, package)) is flagged
