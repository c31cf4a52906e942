"""Shape rules the codebase keeps (docs: ../shared/STYLE.md): short functions, so every stage
reads top to bottom as a short orchestrator over small builders."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kdedge", "export", "runtime")
MAX_FUNCTION_LINES = 60


def _functions():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield path.relative_to(ROOT), node


def test_no_function_longer_than_the_limit():
    long = [f"{path}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path, node in _functions()
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: split them"


def test_no_assert_guards_in_library_code():
    """`python -O` strips asserts: a check that guards users or data must raise."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno}" for package in PACKAGES
             for path in sorted((ROOT / package).rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Assert)]
    assert found == []
