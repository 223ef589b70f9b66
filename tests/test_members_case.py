"""Member names match regardless of letter case: ``OLIVIA`` is ``olivia`` (issue 15).

Identity providers and people write e-mail addresses in either case, so every member
lookup of the store (its role checks, ``set_member``, ``remove_member``, ``list_projects``
for a user) ignores case, for every alphabet (``str.casefold``); a member is shown as first
given.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pagetest import assert_ok, run_page, texts

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import PermissionDenied, StoreError
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def team(store: Store) -> tuple[Store, int, int]:
    """Project "p" (one dataset) owned by Olivia@Example.org, Élodie annotates, Bo views."""
    frame = pd.DataFrame({"id": [1, 2], "label": ["a", "b"], "prediction": ["a", "a"]})
    dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name="d.csv")
    pid = store.get_or_create_project("p", user="Olivia@Example.org")
    did = store.save_dataset(pid, "d", dataset, task=TaskSpec(), user="Olivia@Example.org")
    store.sign_in("Olivia@Example.org")
    store.set_member(pid, "Élodie", "annotator", user="Olivia@Example.org")
    store.set_member(pid, "Bo", "viewer", user="Olivia@Example.org")
    store.get_or_create_project("other", user="someone")  # nobody above is a member
    return store, pid, did


@pytest.mark.parametrize(
    ("spelling", "role"),
    [
        ("Olivia@Example.org", "owner"),
        ("olivia@example.org", "owner"),
        ("OLIVIA@EXAMPLE.ORG", "owner"),
        ("  olivia@example.ORG ", "owner"),
        ("élodie", "annotator"),
        ("ÉLODIE", "annotator"),
        ("bo", "viewer"),
        ("BO", "viewer"),
        ("olivia", None),
        ("bob", None),
    ],
)
def test_a_role_is_found_whatever_the_case(team, spelling, role):
    store, pid, _ = team
    assert store.role(pid, spelling) == role
    assert store.list_projects(spelling)["name"].tolist() == (["p"] if role else [])


def test_writes_check_the_role_whatever_the_case(team):
    store, _, did = team
    store.create_tag(did, "blurry", user="ÉLODIE")  # an annotator, in capitals
    with pytest.raises(PermissionDenied, match="BO cannot create a tag.*they are a viewer"):
        store.create_tag(did, "noisy", user="BO")


def test_setting_a_role_in_another_case_changes_the_member_shown_as_first_given(team):
    store, pid, _ = team
    store.set_member(pid, "BO", "annotator", user="OLIVIA@example.org")
    members = store.members(pid)
    assert members[["member", "role"]].values.tolist() == [
        ["Olivia@Example.org", "owner"],
        ["Bo", "annotator"],
        ["Élodie", "annotator"],
    ]
    events = store.events(project_id=pid)
    change = events[events["kind"] == "member.set"].iloc[-1]
    detail = json.loads(change["detail"])
    assert (change["user"], detail["member"], detail["previous"]) == (
        "OLIVIA@example.org",
        "Bo",
        "viewer",
    )


def test_a_new_member_is_kept_as_typed(team):
    store, pid, _ = team
    store.set_member(pid, "Cid@Example.ORG", "viewer", user="olivia@example.org")
    assert "Cid@Example.ORG" in store.members(pid)["member"].tolist()
    assert store.role(pid, "cid@example.org") == "viewer"


def test_removing_a_member_in_another_case_removes_them(team):
    store, pid, _ = team
    store.remove_member(pid, "élodie", user="olivia@example.org")
    assert store.members(pid)["member"].tolist() == ["Olivia@Example.org", "Bo"]
    assert store.role(pid, "Élodie") is None
    with pytest.raises(StoreError, match="'ÉLODIE' is not a member of project 'p'"):
        store.remove_member(pid, "ÉLODIE", user="olivia@example.org")


@pytest.mark.parametrize(
    "change",
    [
        lambda store, pid: store.set_member(
            pid, "OLIVIA@EXAMPLE.ORG", "viewer", user="olivia@example.org"
        ),
        lambda store, pid: store.remove_member(
            pid, "olivia@example.org", user="Olivia@Example.org"
        ),
    ],
    ids=["demote", "remove"],
)
def test_the_last_owner_cannot_leave_under_another_spelling(team, change):
    store, pid, _ = team
    with pytest.raises(StoreError, match="is the last owner of project 'p'"):
        change(store, pid)
    assert store.role(pid, "Olivia@Example.org") == "owner"


def test_the_sidebar_and_the_team_page_know_a_member_typed_in_capitals(team):
    store, pid, did = team
    at = run_page("pages/11_Team.py", did, user_name="OLIVIA@EXAMPLE.ORG")
    assert_ok(at, no_errors=True)
    assert "Your role here: owner" in texts(at.sidebar.caption)
    assert not at.selectbox(key="team_remove_member").disabled  # an owner manages members
