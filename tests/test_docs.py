"""The README cannot drift from the code: commands, pages and CI stay in step."""

import re
from pathlib import Path

import pytest

from slicewise.core.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    marker = next(i for i, text in enumerate(lines) if text.startswith("# The README's test"))
    assert lines[marker + 1].startswith("pip install")
    assert lines[marker + 1] in README


def test_ci_checks_lint_and_format_after_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert lines[-1] == "ruff check . && ruff format --check ."


def test_readme_has_the_run_command():
    assert "pip install -e . && slicewise app" in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_cli_command_is_documented(command):
    assert f"slicewise {command}" in README


def test_every_page_is_documented():
    for page in sorted((ROOT / "pages").glob("*.py")):
        title = re.sub(r"^\d+_", "", page.stem).replace("_", " ")
        assert title.lower() in README.lower(), page.name
