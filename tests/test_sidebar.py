"""ui.sidebar: the project and dataset in use, chosen, kept valid and returned."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import load_dataset
from slicewise.core.task import TaskSpec
from slicewise.ui.context import DEMO_DIR
from slicewise.ui.sidebar import latest_dataset


@pytest.fixture
def two(store):
    """Two datasets of one project; the first is renamed after the second was saved."""
    data = load_dataset(DEMO_DIR / "inspection_predictions.csv")
    project = store.get_or_create_project("Factory", user="seed")
    first = store.save_dataset(project, "first", data, task=TaskSpec(), user="seed")
    second = store.save_dataset(project, "second", data, task=TaskSpec(), user="seed")
    return project, first, second


def test_latest_is_the_last_written_not_the_newest_id(store, two):
    _, first, second = two
    assert latest_dataset(store, [first, second]) == second
    store.rename_dataset(first, "first again", user="seed")
    assert latest_dataset(store, [first, second]) == first
    assert latest_dataset(store, []) is None


def probe() -> None:
    """Draw the sidebar and record what it selected."""
    import streamlit as st

    from slicewise.ui.sidebar import sidebar

    ctx = sidebar()
    st.session_state["got"] = (ctx.project_id, ctx.dataset_id, ctx.user, ctx.role)


def test_a_new_session_opens_the_latest_dataset_and_a_pending_one_wins(two):
    project, first, second = two
    at = AppTest.from_function(probe, default_timeout=30)
    at.session_state["user_name"] = "Ana"
    at.run()
    assert not at.exception
    assert at.session_state["got"] == (project, second, "Ana", "owner")
    assert at.sidebar.selectbox(key="dataset_id").value == second
    at.session_state["_pending_dataset_id"] = first  # as select_dataset() leaves it
    at.run()
    assert at.session_state["got"][1] == first
    assert "_pending_dataset_id" not in at.session_state
    assert at.query_params["dataset"] == str(first)  # the URL follows


def test_a_deleted_dataset_falls_back_to_one_still_there(store, two):
    project, first, second = two
    at = AppTest.from_function(probe, default_timeout=30)
    at.session_state["dataset_id"] = second
    at.run()
    store.delete_dataset(second, user="seed")
    at.run()
    assert at.session_state["got"][:2] == (project, first)
