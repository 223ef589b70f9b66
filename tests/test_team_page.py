"""The *Team* page and the role-aware pages, run in Streamlit's AppTest (local sign-in mode:
the typed name is the user).

A store with members: Ana owns project "Demo", Vic is a viewer and Ann an annotator, Eve is
no member. A viewer sees the analysis and the downloads with every write control disabled
(AppTest refuses to click a disabled widget, as a browser would); an annotator tags but does
not manage members; an owner manages members on the Team page, whose log names who did what.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pagetest import ROOT, TIMEOUT, assert_ok, table_with, texts
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import AppTestError

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

TEAM = "pages/11_Team.py"
pytestmark = pytest.mark.usefixtures("fresh")


def _seed(store: Store, *, members: bool = True) -> tuple[int, int]:
    frame = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(8)],
            "label": ["a", "b"] * 4,
            "prediction": ["a", "a", "b", "b"] * 2,
            "noisy": ["x", "", "x", "", "", "x", "", ""],
        }
    )
    ds = dataset_from_frame(frame, ColumnMapping(tag_columns=("noisy",)), name="p.csv")
    pid = store.get_or_create_project("Demo", user="Ana")
    did = store.save_dataset(pid, "v1", ds, task=TaskSpec(), user="Ana")
    if members:
        store.sign_in("Ana")
        store.set_member(pid, "Vic", "viewer", user="Ana")
        store.set_member(pid, "Ann", "annotator", user="Ana")
    return pid, did


def page(file: str, user: str, dataset_id: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / file), default_timeout=TIMEOUT)
    at.session_state["user_name"] = user
    if dataset_id is not None:
        at.session_state["dataset_id"] = dataset_id
    return at.run()


def widget(at: AppTest, key: str):
    found = [
        w
        for kind in ("button", "text_input", "selectbox", "multiselect")
        for w in getattr(at, kind)
        if w.key == key
    ]
    assert found, key
    return found[0]


def test_a_viewer_sees_team_and_history_but_cannot_manage(store):
    _, did = _seed(store)
    store.set_tag(did, ["e1"], "noisy", True, user="Ann")
    at = page(TEAM, "Vic", did)
    assert_ok(at, no_errors=True)
    members = table_with(at, "role")
    assert members[["member", "role"]].values.tolist() == [
        ["Ana", "owner"],
        ["Ann", "annotator"],
        ["Vic", "viewer"],
    ]
    assert "You are **Vic**, viewer here." in texts(at.caption)
    for key in ("team_member", "team_remove_member", "team_remove"):
        assert widget(at, key).disabled, key
    save = [b for b in at.button if b.label == "Save"][0]
    assert save.disabled and "Needs the owner role" in save.help
    with pytest.raises(AppTestError, match="disabled"):
        save.click()
    log = table_with(at, "who")
    # Newest first, each with the identity that made it.
    assert log[["who", "what"]].values.tolist()[:3] == [
        ["Ann", "tag.set"],
        ["Ana", "member.set"],
        ["Ana", "member.set"],
    ]
    assert log["dataset"].iloc[0] == "v1"


def test_an_owner_adds_changes_and_removes_members(store):
    pid, did = _seed(store)
    at = page(TEAM, "Ana", did)
    assert_ok(at, no_errors=True)
    widget(at, "team_member").input("Zoe")
    widget(at, "team_role").select("owner")
    [b for b in at.button if b.label == "Save"][0].click()
    at.run()
    assert_ok(at, no_errors=True)
    assert store.role(pid, "Zoe") == "owner"
    widget(at, "team_remove_member").select("Vic")
    at.run()  # choosing a member enables Remove
    widget(at, "team_remove").click()
    at.run()
    assert_ok(at, no_errors=True)
    assert store.members(pid)["member"].tolist() == ["Ana", "Zoe", "Ann"]
    kinds = store.events(project_id=pid)[["kind", "user"]].tail(2).values.tolist()
    assert kinds == [["member.set", "Ana"], ["member.remove", "Ana"]]


def test_an_annotator_cannot_manage_members_on_the_page(store):
    pid, did = _seed(store)
    at = page(TEAM, "Ann", did)
    assert_ok(at, no_errors=True)
    assert [b for b in at.button if b.label == "Save"][0].disabled
    assert widget(at, "team_remove").disabled
    assert store.members(pid)["member"].tolist() == ["Ana", "Ann", "Vic"]


def test_on_an_open_store_the_page_says_so_and_the_first_member_set_makes_you_owner(store):
    pid, did = _seed(store, members=False)
    at = page(TEAM, "Ana", did)
    assert_ok(at, no_errors=True)
    assert "This store is open" in texts(at.info)
    widget(at, "team_member").input("Bob")
    widget(at, "team_role").select("viewer")
    [b for b in at.button if b.label == "Save"][0].click()
    at.run()
    assert_ok(at, no_errors=True)
    assert store.members(pid)[["member", "role"]].values.tolist() == [
        ["Ana", "owner"],
        ["Bob", "viewer"],
    ]


def test_a_non_member_sees_no_project(store):
    _seed(store)
    at = page("pages/1_Load_data.py", "Eve")
    assert_ok(at, no_errors=True)
    assert "You are not a member of any project here" in texts(at.sidebar.caption)
    assert "None yet." in texts(at.caption)  # the saved datasets of others are not listed


@pytest.mark.parametrize(
    ("file", "keys"),
    [
        ("pages/1_Load_data.py", ["load_delete", "load_rename_btn"]),
        ("pages/2_Tag_errors.py", ["tag_undo", "tag_mark_reviewed", "tag_bulk_add"]),
    ],
)
def test_a_viewer_finds_the_write_controls_disabled(store, file, keys):
    _, did = _seed(store)
    at = page(file, "Vic", did)
    assert_ok(at, no_errors=True)
    assert "Your role here: viewer" in texts(at.sidebar.caption)
    for key in keys:
        button = widget(at, key)
        assert button.disabled, key
        assert "Needs the" in button.help and "role in this project" in button.help, key


@pytest.mark.parametrize(("user", "editable"), [("Vic", False), ("Ann", True), ("Ana", True)])
def test_tag_errors_lets_annotators_and_owners_tag(store, user, editable):
    _, did = _seed(store)
    at = page("pages/2_Tag_errors.py", user, did)
    assert_ok(at, no_errors=True)
    widget(at, "tag_new").input("blurry")
    at.run()
    create = [b for b in at.button if b.key == "tag_create"][0]
    assert create.disabled is not editable
    # The grid's tag columns are editable for the annotator and the owner only.
    config = json.loads(at.data_editor[0].proto.columns)
    assert config["noisy"].get("disabled", False) is not editable


def test_a_viewer_still_downloads_every_report(store):
    _, did = _seed(store)
    at = page("pages/5_Export.py", "Vic", did)
    assert_ok(at, no_errors=True)
    assert len(at.get("download_button")) >= 4
    assert "Your downloads are not kept in the project" in texts(at.caption)
