"""ui.context: who the user is, what their role allows, and why a control is off."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slicewise.core.access import ANNOTATOR, OWNER, VIEWER
from slicewise.ui.context import Context, can, read_only_help


def test_can_follows_the_role_and_a_read_only_store_allows_nothing(store):
    def ctx(role, target=store):
        return Context(target, "", 1, 1, "Ana", role)

    assert can(ctx(OWNER), ANNOTATOR) and can(ctx(ANNOTATOR), ANNOTATOR)
    assert not can(ctx(VIEWER), ANNOTATOR) and not can(ctx(None), VIEWER)
    assert read_only_help(store) is None

    class ReadOnly:  # what can() and read_only_help() ask of a store
        read_only, damaged = True, False

    assert not can(ctx(OWNER, ReadOnly()), VIEWER)
    assert read_only_help(ReadOnly()) == (
        "The store is read-only, so nothing can be saved: see the message at the top."
    )
    ReadOnly.damaged = True
    assert "(it is damaged)" in read_only_help(ReadOnly())


def probe() -> None:
    """Record the user and the help of a control off for want of a role."""
    import streamlit as st

    from slicewise.ui import context

    st.session_state["who"] = context.current_user()
    st.session_state["needs"] = context.needs("owner", project="Demo")
    context.select_dataset(7)


def test_the_signed_in_identity_wins_over_the_typed_name(fresh):
    at = AppTest.from_function(probe, default_timeout=30).run()
    assert at.session_state["who"] == "anonymous"  # nobody typed a name
    assert at.session_state["needs"] == (
        "Needs the owner role in the project 'Demo': ask one of its owners to give it to "
        "you on the Team page."
    )
    assert at.session_state["_pending_dataset_id"] == 7  # selected from the next run on
    at.session_state["user_name"] = "  Ana "
    assert at.run().session_state["who"] == "Ana"
    at.session_state["_signed_in_identity"] = "bo@example.org"
    assert at.run().session_state["who"] == "bo@example.org"
