"""ui.links: the URL read back at session start, and the parameters links carry."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slicewise.ui import links


def probe() -> None:
    """Read the URL as the sidebar does at session start, then record what links carry."""
    import streamlit as st

    from slicewise.ui import links
    from slicewise.ui.auth import SignIn

    identity = st.session_state.get("probe_identity")
    links.apply_query_params(SignIn("proxy" if identity else "local", identity))
    if identity:
        st.session_state["_signed_in_identity"] = identity
        st.session_state["_sign_in_mode"] = "proxy"
    st.session_state["got"] = links.link_params()


def run(query: dict[str, object], **state) -> AppTest:
    at = AppTest.from_function(probe, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_a_link_reopens_dataset_columns_and_name():
    at = run({"dataset": "3", "slice_by": ["device", "region"], "user": "  Ana  "})
    assert not at.exception
    # The dataset waits for the next run's sidebar; the columns and the name are set now.
    assert at.session_state["_pending_dataset_id"] == 3
    assert at.session_state["shared_slice_by"] == ["device", "region"]
    assert at.session_state["user_name"] == "Ana"
    assert at.session_state["got"] == {"slice_by": ["device", "region"], "user": "Ana"}


def test_comma_separated_columns_read_as_two_and_bad_dataset_is_ignored():
    at = run({"dataset": "three", "slice_by": "a,b"})
    assert "_pending_dataset_id" not in at.session_state
    # "a,b" may be one column's name as well: both readings are offered, once each.
    assert at.session_state["shared_slice_by"] == ["a,b", "a", "b"]


def test_a_signed_in_identity_never_comes_from_a_link():
    at = run({"user": "Mallory"}, probe_identity="ana@example.org", dataset_id=5)
    assert "user_name" not in at.session_state
    assert at.session_state["got"] == {"dataset": "5"}  # no name: it is the sign-in's


def test_the_workflow_lists_every_page_once_in_order():
    pages = [page for page, *_ in links.WORKFLOW]
    assert pages[0] == links.LOAD_PAGE and pages[-1] == links.TEAM_PAGE
    assert len(set(pages)) == len(pages) == 11
    assert [int(p.split("/")[1].split("_")[0]) for p in pages] == list(range(1, 12))
