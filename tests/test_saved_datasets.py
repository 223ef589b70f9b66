"""ui.saved_datasets and ui.demo_project: the *Load data* sections around the upload form."""

from __future__ import annotations

from pagetest import shown
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import load_dataset
from slicewise.core.task import TaskSpec
from slicewise.ui.context import DEMO_DIR


def probe() -> None:
    """Draw one section (``probe_section``) for Ana, with the dataset in use preset."""
    import streamlit as st

    from slicewise.ui import demo_project, saved_datasets
    from slicewise.ui.context import Context, get_store

    ctx = Context(get_store(), "", None, st.session_state.get("probe_dataset"), "Ana", "owner")
    if st.session_state["probe_section"] == "demo":
        demo_project.demo_section(ctx)
    else:
        saved_datasets.saved_section(ctx)


def run(section: str, **state) -> AppTest:
    at = AppTest.from_function(probe, default_timeout=120)
    at.session_state["probe_section"] = section
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_no_dataset_yet_says_so(fresh):
    at = run("saved")
    assert not at.exception
    assert [c.value for c in at.caption] == ["None yet."]


def test_the_chosen_dataset_follows_the_one_in_use_and_a_deletion_meanwhile_is_said(store):
    data = load_dataset(DEMO_DIR / "inspection_predictions.csv")
    project = store.get_or_create_project("Factory", user="Ana")
    first = store.save_dataset(project, "first", data, task=TaskSpec(), user="Ana")
    second = store.save_dataset(project, "second", data, task=TaskSpec(), user="Ana")
    at = run("saved", probe_dataset=second)
    assert at.selectbox(key="load_manage").value == second
    assert len(at.dataframe[0].value) == 2
    store.delete_dataset(second, user="Ana")  # by someone else
    at.session_state["probe_dataset"] = None
    at.run()
    warning = shown(at.warning[0])
    assert "**second** (id" in warning and "deleted meanwhile" in warning
    assert at.selectbox(key="load_manage").value == first


def test_the_demo_button_creates_the_demo_project_and_selects_its_first_dataset(store):
    at = run("demo")
    at.button(key="load_open_demo").click().run()
    assert not at.exception and not at.error
    projects = store.list_projects()
    assert projects["name"].tolist() == ["Demo"]
    demo = store.list_datasets(int(projects["id"].iloc[0]))
    assert at.session_state["_pending_dataset_id"] in set(demo["id"].astype(int))
    assert len(demo) >= 2  # the lecture's two examples
