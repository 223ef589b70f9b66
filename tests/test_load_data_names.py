"""Names on *Load data* and in the store: said once, capped, and never meant for another dataset.

Issue 15: saving a file under a dataset name its project already had showed a warning, a
failed status and the error; a click on Rename in a tab whose dataset another tab had just
deleted fell silently on another dataset; the store took a 10,000-character dataset name.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from pagetest import assert_ok, run_page, shown, texts
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import InvalidValueError
from slicewise.core.store import MAX_NAME_CHARS, Store
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")
LOAD = "pages/1_Load_data.py"
CSV = b"id,label,prediction\n1,a,a\n2,a,b\n3,b,b\n"
LONG = "n" * 10_000


def seed(store: Store, project: str, *names: str) -> list[int]:
    """Store a three-row dataset per name in ``project``; return their ids."""
    frame = pd.DataFrame({"id": [1, 2, 3], "label": list("aab"), "prediction": list("abb")})
    dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name="seed.csv")
    pid = store.get_or_create_project(project, user="Ana")
    return [store.save_dataset(pid, n, dataset, task=TaskSpec(), user="Ana") for n in names]


def ending(widgets, suffix: str):
    """The upload form's widget keyed ``load_<file id><suffix>`` (e.g. ``_save``)."""
    form = re.compile(r"load_[0-9a-f-]{36}" + re.escape(suffix))
    found = [w for w in widgets if w.key and form.fullmatch(w.key)]
    assert len(found) == 1, [w.key for w in widgets]
    return found[0]


def upload(at: AppTest) -> AppTest:
    at.file_uploader(key="load_upload").set_value(("hostile.csv", CSV, "text/csv")).run()
    assert_ok(at)
    return at


def mentions(at: AppTest, text: str) -> int:
    """How many messages and status labels on the page mention ``text``."""
    boxes = [
        shown(e)
        for kind in ("error", "warning", "info", "success", "toast")
        for e in getattr(at, kind)
    ]
    return sum(text in b for b in boxes) + sum(text in str(s.label) for s in at.status)


# ----------------------------------------------------------------------------- a taken name


def test_the_same_file_uploaded_twice_says_the_name_is_taken_once(store):
    at = upload(run_page(LOAD))
    ending(at.button, "_save").click().run()
    assert_ok(at, no_errors=True)
    assert len(store.list_datasets()) == 1
    at = upload(run_page(LOAD))  # the same file again, in a new session
    assert mentions(at, "already has a dataset named") == 1
    assert "The project **hostile** already has a dataset named **hostile**" in texts(at.warning)
    save = ending(at.button, "_save")
    assert save.disabled and "another dataset name" in save.help
    assert not at.error and not at.status[1:]  # no failed save, no second message
    ending(at.text_input, "_name").set_value("hostile v2").run()
    assert not ending(at.button, "_save").disabled and "already has" not in texts(at.warning)
    ending(at.button, "_save").click().run()
    assert_ok(at, no_errors=True)
    assert sorted(store.list_datasets()["name"]) == ["hostile", "hostile v2"]


def test_right_after_saving_the_form_does_not_warn_about_its_own_dataset(store):
    at = upload(run_page(LOAD))
    ending(at.button, "_save").click().run()
    assert "Saved **hostile**" in texts(at.success)
    assert "already has" not in texts(at.warning)
    assert ending(at.button, "_save").disabled  # saved: a second click would only fail


# ----------------------------------------------------------------------------- deleted meanwhile


@pytest.mark.parametrize("button", ["load_rename_btn", "load_delete", "load_open"])
def test_a_click_on_a_dataset_another_tab_deleted_says_so(store, button):
    keep, doomed = seed(store, "p", "keep", "doomed")
    tab_a = run_page(LOAD, doomed)
    assert tab_a.selectbox(key="load_manage").value == doomed
    tab_a.text_input(key=f"load_rename_{doomed}").set_value("renamed")
    store.delete_dataset(doomed, user="Ana")  # tab B
    tab_a.button(key=button).click().run()
    assert_ok(tab_a, no_errors=True)
    assert mentions(tab_a, "was deleted meanwhile") == 1
    assert "**doomed** (id 2) was deleted meanwhile" in texts(tab_a.warning)
    assert store.list_datasets()["name"].tolist() == ["keep"]  # not renamed in its place
    assert "load_confirm_delete" not in tab_a.session_state  # nor offered for deletion
    assert tab_a.selectbox(key="load_manage").value == keep
    tab_a.run()  # said once
    assert mentions(tab_a, "was deleted meanwhile") == 0


def test_deleting_here_is_not_reported_as_deleted_meanwhile(store):
    keep, doomed = seed(store, "p", "keep", "doomed")
    at = run_page(LOAD, doomed)
    at.button(key="load_delete").click().run()
    at.button(key="load_delete_yes").click().run()
    assert_ok(at, no_errors=True)
    assert store.list_datasets()["id"].tolist() == [keep]
    assert mentions(at, "was deleted meanwhile") == 0


# ----------------------------------------------------------------------------- long names


def _calls(store: Store, name: str) -> dict:
    """Each write that takes a name a person gives, called with ``name``."""
    (did,) = seed(store, "p", "base")
    store.create_tag(did, "old", user="Ana")
    pid = int(store.list_projects()["id"].iloc[0])
    labels = pd.DataFrame({"item": ["1"], "annotator": ["x"], "label": ["a"]})
    return {
        "project": lambda: store.get_or_create_project(name, user="Ana"),
        "dataset": lambda: seed(store, "p", name),
        "rename dataset": lambda: store.rename_dataset(did, name, user="Ana"),
        "tag": lambda: store.create_tag(did, name, user="Ana"),
        "rename tag": lambda: store.rename_tag(did, "old", name, user="Ana"),
        "annotation set": lambda: store.save_annotation_set(
            pid, name, labels, source_name="l.csv", content_hash="h", user="Ana"
        ),
        "member": lambda: store.set_member(pid, name, "viewer", user="Ana"),
    }


CALLS = ["project", "dataset", "rename dataset", "tag", "rename tag", "annotation set", "member"]


@pytest.mark.parametrize("call", CALLS)
def test_a_name_over_the_cap_is_refused_and_nothing_is_written(store, call):
    calls = _calls(store, LONG)
    before = len(store.events())
    limit = 256 if call == "member" else MAX_NAME_CHARS  # a member: as long as an identity
    with pytest.raises(
        InvalidValueError,
        match=rf"is 10,000 characters long; the most "
        rf"allowed is {limit}: choose a shorter one",
    ):
        calls[call]()
    assert len(store.events()) == before


@pytest.mark.parametrize("call", CALLS)
def test_a_name_at_the_cap_is_taken(store, call):
    _calls(store, "x" * MAX_NAME_CHARS)[call]()  # raises nothing


def test_renaming_to_a_long_name_on_the_page_shows_one_message(store):
    (did,) = seed(store, "p", "base")
    at = run_page(LOAD, did)
    at.text_input(key=f"load_rename_{did}").set_value(LONG)
    at.button(key="load_rename_btn").click().run()
    assert_ok(at)
    assert mentions(at, "characters long") == 1
    assert store.dataset_info(did)["name"] == "base"
