"""The codebase keeps its rooms small: the guide of issue 16, checked so it stays true.

No module of the app or its core past 600 lines, and no function past 60 lines of code
(its docstring not counted: a public function's numpy docstring with shapes, units, errors
and sources is wanted, however long).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_CODE_LINES = 60
MODULES = sorted(
    [ROOT / "app.py"]
    + list((ROOT / "core").rglob("*.py"))
    + list((ROOT / "ui").rglob("*.py"))
    + list((ROOT / "pages").glob("*.py"))
)


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
    return lines


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_its_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({_code_lines(node)} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and _code_lines(node) > MAX_FUNCTION_CODE_LINES
    ]
    assert long == []


def test_the_count_skips_only_the_docstring():
    source = 'def f():\n    """Doc.\n\n    More.\n    """\n    a = 1\n    return a\n'
    assert _code_lines(ast.parse(source).body[0]) == 3
