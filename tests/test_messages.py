"""ui.messages: store errors become messages on the page, never tracebacks."""

from __future__ import annotations

import pytest
from pagetest import shown
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("fresh")


def probe() -> None:
    """Guard a failing read, a failing and a working write, and a failing section."""
    import streamlit as st

    from slicewise.core.errors import StoreError
    from slicewise.ui import messages

    def fails(*_args, **_kwargs):
        raise StoreError("the projects cannot be read")

    st.session_state["fallback"] = messages.read(fails, otherwise="fallback", what="The list")
    st.session_state["wrote"] = (
        messages.run_write(fails, 1, success="never said"),
        messages.run_write(lambda n: n * 2, 21, success=lambda r: f"Got {r}"),
    )
    st.session_state["queued"] = list(st.session_state["_flash"])
    with messages.section("The lineage"):
        fails()
    st.write("after the section")
    messages.read(fails)  # no fallback: the page stops here
    st.write("never drawn")


def test_errors_are_shown_and_the_page_goes_on_until_a_read_has_no_fallback():
    at = AppTest.from_function(probe, default_timeout=30).run()
    assert not at.exception
    assert at.session_state["fallback"] == "fallback"
    assert at.session_state["wrote"] == (False, True)
    assert at.session_state["queued"] == [
        ("error", "the projects cannot be read"),
        ("success", "Got 42"),
    ]
    errors = [shown(e) for e in at.error]  # md() escapes, undone
    assert errors[0] == "The list cannot be shown: the projects cannot be read"
    assert errors[1] == "The lineage cannot be shown: the projects cannot be read"
    assert errors[2] == "the projects cannot be read"  # the stopping read: no prefix
    drawn = [m.value for m in at.markdown]
    assert "after the section" in drawn and "never drawn" not in drawn


def flash_probe() -> None:
    """Show the messages queued by the last run."""
    from slicewise.ui import messages

    messages.show_flash()


def test_flash_messages_are_shown_once_by_kind():
    at = AppTest.from_function(flash_probe, default_timeout=30)
    at.session_state["_flash"] = [("error", "no *room*"), ("warning", "careful"), ("success", "ok")]
    at.run()
    assert [e.value for e in at.error] == [r"no \*room\*"]  # literal: escaped for Markdown
    assert [w.value for w in at.warning] == ["careful"]
    assert [t.value for t in at.toast] == ["ok"]
    at.run()  # said once
    assert not at.error and not at.warning
