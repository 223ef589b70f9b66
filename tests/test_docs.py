"""The README cannot drift from the code: commands, pages and CI stay in step."""

import re
from pathlib import Path

import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README


def test_readme_has_the_run_command():
    assert "pip install -e . && slicewise app" in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_cli_command_is_documented(command):
    assert f"slicewise {command}" in README


def test_every_page_is_documented():
    for page in sorted((ROOT / "pages").glob("*.py")):
        title = re.sub(r"^\d+_", "", page.stem).replace("_", " ")
        assert title.lower() in README.lower(), page.name
