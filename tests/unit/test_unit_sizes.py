"""The size budget of the library (issue: renovation): files ≤ 300 lines, functions ≤ 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "alien"
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
FILES = sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_the_package_is_found():
    assert len(FILES) > 50


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_file_and_its_functions_fit_the_budget(path: Path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_FILE_LINES, f"{path.name} is over {MAX_FILE_LINES} lines"
    long = {
        f.name: f.end_lineno - f.lineno + 1
        for f in _functions(ast.parse(source))
        if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines in {path.name}: {long}"
