"""Rows that own one Parquet file (annotation sets, production samples): the delete either
removes the rows, the dependents and the file, or leaves all of them as they were, whichever
step fails (a real SQLite file per test)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import DiskFull, NotFoundError, StoreReadOnly
from slicewise.core.store import ANNOTATIONS_DIR, PRODUCTION_DIR, Store
from slicewise.core.store import owned_files as owned_files_mod
from slicewise.core.store.faults import _Connection
from slicewise.core.task import TaskSpec


def _save_annotation_set(store: Store, project: int) -> int:
    labels = pd.DataFrame(
        {"item": ["a", "a", "b"], "annotator": ["x", "y", "x"], "label": ["cat", "dog", "cat"]}
    )
    sid = store.save_annotation_set(
        project, "round 1", labels, source_name="l.csv", content_hash="h", user="ann"
    )
    store.save_review_decision(sid, "a", decision="cat", user="ann")
    return sid


def _save_production_sample(store: Store, project: int) -> int:
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "prediction": [0, 1]})
    ds = dataset_from_frame(frame, ColumnMapping(), name="ref.csv")
    did = store.save_dataset(project, "ref", ds, task=TaskSpec(), user="ann")
    table = pd.DataFrame({"prediction": ["1", "0"], "site": ["n", "s"]})
    return store.save_production_sample(did, "w", table, source_name="w.csv", user="ann")


@dataclass(frozen=True)
class Kind:
    """One kind of row owning a file, as a caller of the store sees it."""

    folder: str
    table: str
    save: Callable[[Store, int], int]
    delete: Callable[..., None]
    load: Callable[[Store, int], pd.DataFrame]
    info: Callable[[Store, int], dict]
    event: str
    id_key: str
    dependents_sql: str  # counts the rows deleted with it
    what: str
    name: str


KINDS = {
    "annotation_set": Kind(
        ANNOTATIONS_DIR,
        "annotation_sets",
        _save_annotation_set,
        Store.delete_annotation_set,
        Store.load_annotation_set,
        Store.annotation_set_info,
        "annotation_set.delete",
        "annotation_set_id",
        "SELECT COUNT(*) FROM review_decisions",
        "annotation set",
        "round 1",
    ),
    "production_sample": Kind(
        PRODUCTION_DIR,
        "production_samples",
        _save_production_sample,
        Store.delete_production_sample,
        Store.load_production_sample,
        Store.production_sample_info,
        "production_sample.delete",
        "production_sample_id",
        "SELECT 0",  # no rows depend on a production sample
        "production sample",
        "w",
    ),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "s.db") as s:
        yield s


def _state(store: Store, kind: Kind) -> tuple:
    """Rows, dependent rows, events and the folder's files (name, SHA-256), read raw."""
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute(f"SELECT * FROM {kind.table} ORDER BY id").fetchall()
        dependent = conn.execute(kind.dependents_sql).fetchone()[0]
        events = conn.execute("SELECT kind, detail FROM events ORDER BY id").fetchall()
    finally:
        conn.close()
    files = sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (store.files_dir / kind.folder).iterdir()
    )
    return rows, dependent, events, files


def test_deleting_removes_the_row_its_dependents_and_its_file_and_writes_the_event(
    store: Store, kind: Kind
) -> None:
    project = store.get_or_create_project("p", user="ann")
    rid = kind.save(store, project)
    rows, _, events, files = _state(store, kind)
    assert len(rows) == 1 and files == [(f"{rid}.parquet", files[0][1])]
    kind.delete(store, rid, user="ann")
    rows, dependent, events_after, files = _state(store, kind)
    assert rows == [] and dependent == 0 and files == []
    assert events_after[: len(events)] == events
    (new_kind, detail), *more = events_after[len(events) :]
    assert more == [] and new_kind == kind.event
    assert json.loads(detail) == {kind.id_key: rid, "name": kind.name}
    with pytest.raises(NotFoundError, match=f"no {kind.what} with id {rid}"):
        kind.load(store, rid)


def _fail_commit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every ``COMMIT`` fail as a full disk would; return the statements seen after."""
    real = _Connection.execute
    seen: list[str] = []

    def execute(self, sql, parameters=(), /):
        if sql == "COMMIT":
            seen.append(sql)
            raise DiskFull("database or disk is full (made to fail by the test)")
        return real(self, sql, parameters)

    monkeypatch.setattr(_Connection, "execute", execute)
    return seen


def test_a_failing_commit_leaves_the_rows_and_the_file_in_place(
    store: Store, kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = store.get_or_create_project("p", user="ann")
    rid = kind.save(store, project)
    before = _state(store, kind)
    table = kind.load(store, rid)
    seen = _fail_commit(monkeypatch)
    with pytest.raises(DiskFull, match="made to fail by the test"):
        kind.delete(store, rid, user="ann")
    assert seen == ["COMMIT"]  # the file had been renamed when the commit failed
    monkeypatch.undo()
    assert _state(store, kind) == before  # no .deleted- file: renamed back
    pd.testing.assert_frame_equal(kind.load(store, rid), table)
    assert kind.info(store, rid)["id"] == rid
    kind.delete(store, rid, user="ann")  # and it can still be deleted
    assert _state(store, kind)[3] == []


def test_a_failing_rename_rolls_the_delete_back(
    store: Store, kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = store.get_or_create_project("p", user="ann")
    rid = kind.save(store, project)
    before = _state(store, kind)
    table = kind.load(store, rid)
    real = os.replace

    def refuse(src, dst):
        if Path(dst).name.startswith(".deleted-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        real(src, dst)

    monkeypatch.setattr(owned_files_mod.os, "replace", refuse)
    with pytest.raises(StoreReadOnly, match=f"cannot write .*{kind.folder}.*{rid}.parquet"):
        kind.delete(store, rid, user="ann")
    monkeypatch.undo()
    assert _state(store, kind) == before
    pd.testing.assert_frame_equal(kind.load(store, rid), table)


@pytest.mark.parametrize(
    "call",
    [
        lambda store, k: k.delete(store, 99, user="ann"),
        lambda store, k: k.load(store, 99),
        lambda store, k: k.info(store, 99),
    ],
    ids=["delete", "load", "info"],
)
def test_an_unknown_id_is_refused_naming_the_kind(
    store: Store, kind: Kind, call: Callable[[Store, Kind], object]
) -> None:
    store.get_or_create_project("p", user="ann")
    events = len(store.events())
    with pytest.raises(NotFoundError, match=f"^no {kind.what} with id 99$"):
        call(store, kind)
    assert len(store.events()) == events
