"""Tests of the store's typed errors (core.errors) and of the core.store package's shape.

Each precise error is still a :class:`core.errors.StoreError` (and a ``DataError``), so an
``except StoreError`` written before keeps catching it; its message is unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slicewise.core.store as store_pkg
from slicewise.core.dataset import dataset_from_frame
from slicewise.core.errors import (
    ConflictError,
    DataError,
    NameTakenError,
    NotFoundError,
    StoreError,
    StoreValueError,
    UnusableDatabaseError,
)
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "slicewise.db")
    yield s
    s.close()


@pytest.fixture
def saved(store: Store) -> int:
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "label": ["cat", "dog", "cat"], "prediction": ["cat"] * 3}
    )
    project = store.get_or_create_project("demo", user="ann")
    return store.save_dataset(
        project, "pets", dataset_from_frame(frame, name="pets.csv"), task=TaskSpec(), user="ann"
    )


@pytest.mark.parametrize(
    "error", [NotFoundError, NameTakenError, ConflictError, StoreValueError, UnusableDatabaseError]
)
def test_every_precise_error_is_a_store_error(error: type) -> None:
    assert issubclass(error, StoreError) and issubclass(error, DataError)


def test_renaming_a_dataset_to_a_taken_name_raises_name_taken(store: Store, saved: int) -> None:
    project = int(store.dataset_info(saved)["project_id"])
    other = store.save_dataset(
        project,
        "other",
        dataset_from_frame(pd.DataFrame({"id": [1], "label": ["x"], "prediction": ["x"]})),
        task=TaskSpec(),
        user="ann",
    )
    with pytest.raises(NameTakenError, match=r"already has a dataset named 'pets' \(id 1\)"):
        store.rename_dataset(other, "pets", user="ann")
    with pytest.raises(StoreError):  # what callers written before catch
        store.rename_dataset(other, "pets", user="ann")


def test_a_taken_tag_name_raises_name_taken(store: Store, saved: int) -> None:
    store.create_tag(saved, "blurry", user="ann")
    with pytest.raises(NameTakenError, match="already has a tag named 'blurry'"):
        store.create_tag(saved, "blurry", user="ann")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.dataset_info(999), "no dataset with id 999"),
        (lambda s: s.list_datasets(42), "no project with id 42"),
        (lambda s: s.report_content(7), "no report with id 7"),
        (lambda s: s.iteration_info(3), "no iteration with id 3"),
        (lambda s: s.annotation_set_info(5), "no annotation set with id 5"),
        (lambda s: s.review_sample(8), "no review sample with id 8"),
    ],
)
def test_a_missing_id_raises_not_found(store: Store, call, message: str) -> None:
    with pytest.raises(NotFoundError, match=message):
        call(store)


def test_unknown_tag_and_example_raise_not_found(store: Store, saved: int) -> None:
    with pytest.raises(NotFoundError, match="has no tag 'nope'; it has no tags"):
        store.set_tag(saved, ["a"], "nope", True, user="ann")
    store.create_tag(saved, "blurry", user="ann")
    with pytest.raises(NotFoundError, match=r"no example with id 'zz' \(1 of 1 ids unknown\)"):
        store.set_tag(saved, ["zz"], "blurry", True, user="ann")


def test_values_out_of_range_raise_store_value_error(store: Store, saved: int) -> None:
    store.create_tag(saved, "blurry", user="ann")
    with pytest.raises(StoreValueError, match="from 0 to 1, got 2"):
        store.set_tag_settings(saved, "blurry", hlp=2, user="ann")
    with pytest.raises(StoreValueError, match="must be True or False, got 'yes'"):
        store.set_tag(saved, ["a"], "blurry", "yes", user="ann")
    with pytest.raises(StoreValueError, match="user must name the person"):
        store.rename_dataset(saved, "x", user="  ")
    with pytest.raises(StoreValueError, match="not ':memory:'"):
        Store(":memory:")


def test_the_last_owner_cannot_leave_conflict(store: Store, saved: int) -> None:
    project = int(store.dataset_info(saved)["project_id"])
    store.set_member(project, "ann", "owner", user="ann")
    with pytest.raises(ConflictError, match="ann is the last owner of project 'demo'"):
        store.remove_member(project, "ann", user="ann")
    with pytest.raises(NotFoundError, match="'bob' is not a member of project 'demo'"):
        store.remove_member(project, "bob", user="ann")


def test_a_newer_schema_raises_unusable_database(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(UnusableDatabaseError, match="has schema version 99, newer than"):
        Store(path)


def test_the_package_keeps_every_old_public_name() -> None:
    for name in store_pkg.__all__:
        assert getattr(store_pkg, name) is not None
    # every method of the old single class is still on Store
    for method in ("save_dataset", "merge_tags", "mark_reviewed", "undo_last", "events"):
        assert callable(getattr(Store, method))
    assert store_pkg.TAG_SCOPES == ("all", "errors", "none", "auto")


def test_iteration_table_is_stored_as_strict_compact_json(store: Store, saved: int) -> None:
    project = int(store.dataset_info(saved)["project_id"])
    table = pd.DataFrame(
        {"n": [3, 2], "lift": [np.inf, 0.5]}, index=pd.Index(["all", "cat"], name="slice")
    )
    iid = store.save_iteration(
        project, saved, table=table, model_name="m", model_version="1", user="ann"
    )
    (text,) = store.db.execute("SELECT slice_table FROM iterations WHERE id = ?", [iid]).fetchone()
    # RFC 8259 has no Infinity: it is stored as null, hand-written here
    assert json.loads(text)["data"] == [[3, None], [2, 0.5]]
    assert "Infinity" not in text and ", " not in text
    back = store.iteration_table(iid)
    assert back["n"].tolist() == [3, 2]
    assert np.isnan(back.loc["all", "lift"]) and back.loc["cat", "lift"] == 0.5
