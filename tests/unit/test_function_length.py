"""Functions a reader can hold in mind: none in src/consum is over 80 lines (docstring included)."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "consum"
MAX_LINES = 80


def test_no_function_in_src_is_over_80_lines():
    long = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "split these along their concerns:\n" + "\n".join(long)
