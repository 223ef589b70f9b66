"""Helpers shared by the AppTest page tests: run a page as a user, read what it shows.

The isolated database per test is the ``fresh`` fixture in ``conftest.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
USER = "Ana"


def run_page(page: str, dataset_id: int | None = None, **state) -> AppTest:
    """Run ``page`` once as ``USER``, with ``dataset_id`` selected and ``state`` preset."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state["user_name"] = USER
    if dataset_id is not None:
        at.session_state["dataset_id"] = dataset_id
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def assert_ok(at: AppTest, *, no_errors: bool = False) -> None:
    """The run raised nothing (and, with ``no_errors``, showed no st.error)."""
    assert not at.exception, [e.value for e in at.exception]
    if no_errors:
        assert not at.error, [e.value for e in at.error]


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(element) -> str:
    """The text a reader sees of a Markdown element: backslash escapes (ui.text.md) undone."""
    return _ESCAPED.sub(r"\1", str(element.value))


def texts(elements) -> str:
    """What some elements (markdown, captions...) show, as one string."""
    return "\n".join(shown(e) for e in elements)


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first st.dataframe on the page that has ``column`` (display tables have no key)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")
