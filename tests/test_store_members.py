"""Roles per project, kept in the store and checked by every write (issue 15).

Every write method of :class:`core.store.Store` is called as a non-member, a viewer, an
annotator and an owner of the project: the roles the issue names allow it or refuse it with
:class:`core.errors.PermissionDenied`, and a refused write leaves every table and file as it
was. A store without members keeps today's behaviour (anyone writes); the first user who
signs in owns every project; a project always keeps an owner.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from test_access import ANNOTATOR_WRITES, OWNER_WRITES

from slicewise.core import access
from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import InvalidValueError, PermissionDenied, StoreError
from slicewise.core.store import FIRST_USER_EVENT, Store
from slicewise.core.task import TaskSpec

OWNER, WHO, OTHER = "own@example.org", "who@example.org", "other@example.org"
RANK = {"viewer": 0, "annotator": 1, "owner": 2}
NEEDED = {**{a: "owner" for a in OWNER_WRITES}, **{a: "annotator" for a in ANNOTATOR_WRITES}}


def _dataset(name: str = "preds.csv"):
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "label": ["cat", "dog", "cat"],
            "prediction": ["cat", "cat", "dog"],
            "noisy": [True, False, True],
            "accent": [False, False, False],
        }
    )
    return dataset_from_frame(frame, ColumnMapping(tag_columns=("noisy", "accent")), name=name)


LABELS = pd.DataFrame(
    {
        "item": ["a", "a", "b", "b"],
        "annotator": ["x", "y", "x", "y"],
        "label": ["cat", "dog", "dog", "dog"],
    }
)


@dataclass(frozen=True)
class Ids:
    project: int
    dataset: int
    iteration: int
    annotation_set: int
    production_sample: int


def _fill(s: Store) -> Ids:
    """One project with a dataset, an iteration, an annotation set, a correction and a tag
    change of WHO's (so that WHO has something to undo and to revert), all made while the
    store is open."""
    pid = s.get_or_create_project("Demo", user=WHO)
    did = s.save_dataset(pid, "v1", _dataset(), task=TaskSpec(), user=WHO)
    s.set_tag(did, ["c"], "accent", True, user=WHO)
    s.correct_label(did, "b", "cat", user=WHO)
    iid = s.save_iteration(pid, did, model_name="m", table=analyze(s.load_dataset(did)), user=WHO)
    sid = s.save_annotation_set(
        pid,
        "round 1",
        LABELS,
        source_name="labels.csv",
        content_hash="h",
        user=WHO,
        linked_dataset_id=did,
    )
    prod = s.save_production_sample(did, "week 1", LABELS, source_name="week1.csv", user=WHO)
    return Ids(pid, did, iid, sid, prod)


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, tuple[Path, Ids]]:
    """Two stores built once: 'open' (no member) and 'claimed' (OWNER signed in first)."""
    out = {}
    for kind in ("open", "claimed"):
        folder = tmp_path_factory.mktemp(kind)
        with Store(folder / "s.db") as s:
            ids = _fill(s)
            if kind == "claimed":
                assert s.sign_in(OWNER)
                s.set_member(ids.project, OTHER, "viewer", user=OWNER)
        out[kind] = (folder, ids)
    return out


def _copy(templates, kind: str, tmp_path: Path) -> tuple[Store, Ids]:
    folder, ids = templates[kind]
    shutil.copytree(folder, tmp_path / kind)
    return Store(tmp_path / kind / "s.db"), ids


# One call per write method, as ``user``.
CASES = {
    "save_dataset": lambda s, i, u: s.save_dataset(
        i.project, "v2", _dataset(), task=TaskSpec(), user=u
    ),
    "rename_dataset": lambda s, i, u: s.rename_dataset(i.dataset, "renamed", user=u),
    "delete_dataset": lambda s, i, u: s.delete_dataset(i.dataset, user=u),
    "save_iteration": lambda s, i, u: s.save_iteration(
        i.project, i.dataset, model_name="m2", table=analyze(s.load_dataset(i.dataset)), user=u
    ),
    "delete_iteration": lambda s, i, u: s.delete_iteration(i.iteration, user=u),
    "save_annotation_set": lambda s, i, u: s.save_annotation_set(
        i.project, "round 2", LABELS, source_name="l2.csv", content_hash="h2", user=u
    ),
    "delete_annotation_set": lambda s, i, u: s.delete_annotation_set(i.annotation_set, user=u),
    "set_member": lambda s, i, u: s.set_member(i.project, "new@example.org", "viewer", user=u),
    "remove_member": lambda s, i, u: s.remove_member(i.project, OTHER, user=u),
    "create_tag": lambda s, i, u: s.create_tag(i.dataset, "fresh", user=u),
    "rename_tag": lambda s, i, u: s.rename_tag(i.dataset, "noisy", "loud", user=u),
    "merge_tags": lambda s, i, u: s.merge_tags(i.dataset, ["noisy", "accent"], "both", user=u),
    "delete_tag": lambda s, i, u: s.delete_tag(i.dataset, "noisy", user=u),
    "set_tag": lambda s, i, u: s.set_tag(i.dataset, ["a"], "accent", True, user=u),
    "apply_tag_rule": lambda s, i, u: s.apply_tag_rule(
        i.dataset, ["a", "b"], "accent", True, scope="all", user=u, rule="r"
    ),
    "set_tag_settings": lambda s, i, u: s.set_tag_settings(i.dataset, "noisy", hlp=0.7, user=u),
    "apply_annotation_hlp": lambda s, i, u: s.apply_annotation_hlp(
        i.annotation_set, i.dataset, {"noisy": 0.8}, user=u
    ),
    "set_tag_scope": lambda s, i, u: s.set_tag_scope(i.dataset, "noisy", "errors", user=u),
    "mark_reviewed": lambda s, i, u: s.mark_reviewed(i.dataset, ["a"], user=u),
    "save_review_sample": lambda s, i, u: s.save_review_sample(
        i.dataset,
        seed=1,
        sizes={"errors": 1},
        example_ids={"errors": ["c"]},
        population={"errors": 2},
        user=u,
    ),
    "undo_last": lambda s, i, u: s.undo_last(i.dataset, user=u),
    "correct_label": lambda s, i, u: s.correct_label(i.dataset, "a", "dog", user=u),
    "revert_correction": lambda s, i, u: s.revert_correction(i.dataset, "b", user=u),
    "save_review_decision": lambda s, i, u: s.save_review_decision(
        i.annotation_set, "a", decision="cat", user=u
    ),
    "save_report": lambda s, i, u: s.save_report(i.dataset, "csv", "r.csv", "a,b", user=u),
    "save_production_sample": lambda s, i, u: s.save_production_sample(
        i.dataset, "week 2", LABELS, source_name="week2.csv", user=u
    ),
    "delete_production_sample": lambda s, i, u: s.delete_production_sample(
        i.production_sample, user=u
    ),
    "set_drift_thresholds": lambda s, i, u: s.set_drift_thresholds(
        i.project, {"label": 0.2}, user=u
    ),
}
#: Public methods taking ``user=`` that only read.
READS = {"last_change"}
#: Writes any user may make: creating a project (its creator owns it).
ANYONE = {"get_or_create_project"}


def snapshot(s: Store) -> tuple:
    """Every row of every table and every file beside the database (name and bytes)."""
    tables = [
        r[0]
        for r in s.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    ]
    rows = {t: sorted(map(repr, s.db.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    files = (
        sorted(
            (str(p.relative_to(s.files_dir)), p.read_bytes() if p.is_file() else b"/")
            for p in s.files_dir.rglob("*")
        )
        if s.files_dir.exists()
        else []
    )
    return rows, files


def test_every_write_method_is_in_the_table_and_tested():
    writes = (
        {
            name
            for name, fn in inspect.getmembers(Store, inspect.isfunction)
            if not name.startswith("_")
            and (p := inspect.signature(fn).parameters.get("user"))
            and p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        - READS
        - ANYONE
    )
    assert writes == set(access.ACTIONS) == set(CASES) == set(NEEDED)


@pytest.mark.parametrize("role", [None, "viewer", "annotator", "owner"])
@pytest.mark.parametrize("action", sorted(CASES))
def test_each_write_is_allowed_or_refused_by_the_role(templates, tmp_path, action, role):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        if role is not None:
            s.set_member(ids.project, WHO, role, user=OWNER)
        before = snapshot(s)
        if role is not None and RANK[role] >= RANK[NEEDED[action]]:
            CASES[action](s, ids, WHO)
            assert snapshot(s) != before, "an allowed write wrote nothing"
            assert s.events()["user"].iloc[-1] == WHO  # the identity is in the log
        else:
            being = (
                f"they are {'an' if role == 'annotator' else 'a'} {role}"
                if role
                else "they are not a member"
            )
            with pytest.raises(
                PermissionDenied,
                match=f"{WHO} cannot .*'Demo'.* needs the role {NEEDED[action]}, and {being}",
            ):
                CASES[action](s, ids, WHO)
            assert snapshot(s) == before, "a refused write changed the store"


@pytest.mark.parametrize("action", sorted(set(CASES) - {"set_member", "remove_member"}))
def test_an_open_store_lets_anyone_write_as_today(templates, tmp_path, action):
    s, ids = _copy(templates, "open", tmp_path)
    with s:
        assert not s.roles_enforced()
        assert s.role(ids.project, "anyone") == s.role(ids.project, WHO) == "owner"
        before = snapshot(s)
        CASES[action](s, ids, WHO if action in ("undo_last",) else "anyone")
        assert snapshot(s) != before
        assert not s.roles_enforced() and s.members(ids.project).empty


def test_a_viewer_cannot_delete_and_an_annotator_cannot_manage_members(templates, tmp_path):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        s.set_member(ids.project, "vic", "viewer", user=OWNER)
        s.set_member(ids.project, "ann", "annotator", user=OWNER)
        with pytest.raises(PermissionDenied, match="vic cannot delete a dataset"):
            s.delete_dataset(ids.dataset, user="vic")
        assert s.list_datasets(ids.project)["id"].tolist() == [ids.dataset]
        for manage in (
            lambda: s.set_member(ids.project, "ann", "owner", user="ann"),
            lambda: s.remove_member(ids.project, "vic", user="ann"),
        ):
            with pytest.raises(
                PermissionDenied,
                match="ann cannot manage the project's members .* and they are an annotator",
            ):
                manage()
        assert s.role(ids.project, "ann") == "annotator"
        assert s.role(ids.project, "vic") == "viewer"
        s.set_tag(ids.dataset, ["a"], "noisy", False, user="ann")  # annotators do tag


def test_the_first_user_who_signs_in_owns_every_project(templates, tmp_path):
    s, ids = _copy(templates, "open", tmp_path)
    with s:
        other = s.get_or_create_project("Other", user="someone")
        message = s.sign_in(" ana@example.org ")
        assert message == (
            "ana@example.org is the first user of this store and the owner of its 2 projects"
        )
        assert s.roles_enforced()
        for pid in (ids.project, other):
            assert s.members(pid)[["member", "role", "added_by"]].values.tolist() == [
                ["ana@example.org", "owner", "ana@example.org"]
            ]
        assert s.sign_in("bob@example.org") is None  # the second user gets nothing
        assert s.role(ids.project, "bob@example.org") is None
        assert s.list_projects("bob@example.org").empty
        assert s.list_projects("ana@example.org")["name"].tolist() == ["Demo", "Other"]
        assert len(s.list_projects()) == 2  # no user: every project
        log = s.events()
        assert log.loc[log["kind"] == "member.set", "user"].tolist() == ["ana@example.org"] * 2
        assert log.loc[log["kind"] == FIRST_USER_EVENT, "user"].tolist() == ["ana@example.org"]


def test_on_a_fresh_store_the_first_user_and_each_creator_own_their_projects(tmp_path):
    with Store(tmp_path / "s.db") as s:
        assert s.sign_in("ana") == (
            "ana is the first user of this store and the owner of each project they create"
        )
        assert s.roles_enforced()  # before any project or member exists
        mine = s.get_or_create_project("Ana's", user="ana")
        theirs = s.get_or_create_project("Bob's", user="bob")
        assert s.sign_in("bob") is None
        assert (s.role(mine, "ana"), s.role(mine, "bob")) == ("owner", None)
        assert (s.role(theirs, "bob"), s.role(theirs, "ana")) == ("owner", None)
        with pytest.raises(PermissionDenied, match="bob cannot upload a dataset"):
            s.save_dataset(mine, "d", _dataset(), task=TaskSpec(), user="bob")
        assert s.list_datasets().empty
        # An existing project is found, not taken over.
        assert s.get_or_create_project("Ana's", user="bob") == mine
        assert s.role(mine, "bob") is None


def test_managing_members_on_an_open_store_makes_the_manager_owner_first(templates, tmp_path):
    s, ids = _copy(templates, "open", tmp_path)
    with s:
        s.set_member(ids.project, "bob", "viewer", user="ana")
        assert s.members(ids.project)[["member", "role"]].values.tolist() == [
            ["ana", "owner"],
            ["bob", "viewer"],
        ]
        assert s.role(ids.project, "carol") is None


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_the_last_owner_cannot_leave(templates, tmp_path, change):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        before = snapshot(s)

        def leave():
            if change == "demote":
                s.set_member(ids.project, OWNER, "annotator", user=OWNER)
            else:
                s.remove_member(ids.project, OWNER, user=OWNER)

        with pytest.raises(StoreError, match=f"{OWNER} is the last owner of project 'Demo'"):
            leave()
        assert snapshot(s) == before
        s.set_member(ids.project, "co@example.org", "owner", user=OWNER)
        leave()  # with another owner, they may
        assert s.role(ids.project, OWNER) == ("annotator" if change == "demote" else None)
        assert s.role(ids.project, "co@example.org") == "owner"


def test_member_changes_are_events_naming_who_made_them(templates, tmp_path):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        s.set_member(ids.project, "bob", "annotator", user=OWNER)
        s.set_member(ids.project, "bob", "owner", user=OWNER)
        s.remove_member(ids.project, "bob", user=OWNER)
        log = s.events(project_id=ids.project)
        tail = log.tail(3)
        assert tail["kind"].tolist() == ["member.set", "member.set", "member.remove"]
        assert (tail["user"] == OWNER).all()
        details = [json.loads(d) for d in tail["detail"]]
        assert [(d["member"], d.get("role"), d["previous"]) for d in details] == [
            ("bob", "annotator", None),
            ("bob", "owner", "annotator"),
            ("bob", None, "owner"),
        ]
        assert set(log["project_id"]) == {ids.project}


def test_members_are_listed_owners_first(templates, tmp_path):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        s.set_member(ids.project, "zed", "owner", user=OWNER)
        s.set_member(ids.project, "amy", "annotator", user="zed")
        out = s.members(ids.project)
        assert list(out.columns) == ["member", "role", "added_by", "added_at"]
        assert out[["member", "role", "added_by"]].values.tolist() == [
            [OWNER, "owner", OWNER],
            ["zed", "owner", OWNER],
            ["amy", "annotator", "zed"],
            [OTHER, "viewer", OWNER],
        ]
        s.set_member(ids.project, "amy", "annotator", user=OWNER)  # the same role: no change
        assert s.members(ids.project).equals(out)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda s, i: s.set_member(i.project, "bob", "admin", user=OWNER),
            InvalidValueError,
            "role must be one of viewer, annotator, owner; got 'admin'",
        ),
        (
            lambda s, i: s.set_member(i.project, "  ", "viewer", user=OWNER),
            StoreError,
            "member must be a non-empty text",
        ),
        (
            lambda s, i: s.set_member(999, "bob", "viewer", user=OWNER),
            StoreError,
            "no project with id 999",
        ),
        (
            lambda s, i: s.remove_member(i.project, "nobody", user=OWNER),
            StoreError,
            f"'nobody' is not a member of project 'Demo'; its members are '{OTHER}', '{OWNER}'",
        ),
        (lambda s, i: s.role(999, OWNER), StoreError, "no project with id 999"),
    ],
)
def test_bad_member_requests_are_refused_by_name(templates, tmp_path, call, error, message):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        with pytest.raises(error, match=re.escape(message)):
            call(s, ids)


def test_a_non_member_and_nobody_have_no_role_once_enforced(templates, tmp_path):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        assert s.role(ids.project, None) is None
        assert s.role(ids.project, "stranger") is None
        assert s.role(ids.project, f" {OWNER} ") == "owner"


def test_events_can_be_read_per_project(templates, tmp_path):
    s, ids = _copy(templates, "claimed", tmp_path)
    with s:
        other = s.get_or_create_project("Other", user=OWNER)
        everything = s.events()
        mine = s.events(project_id=ids.project)
        assert len(mine) == (everything["project_id"] == ids.project).sum()
        assert s.events(project_id=other)["kind"].tolist() == ["project.create", "member.set"]
        assert s.events(ids.dataset, project_id=other).empty
