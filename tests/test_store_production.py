"""Production samples and drift thresholds in the store: saved, listed, loaded, deleted, and
all-or-nothing on failure (a real SQLite file per test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pandas.testing as tm
import pytest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import NameTakenError, NotFoundError, PermissionDenied, StoreError
from slicewise.core.store import MIGRATIONS, PRODUCTION_DIR, Store
from slicewise.core.task import TaskSpec


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "prediction": ["1", "0", "1"],
            "site": ["north", "north", "south"],
            "ts": ["2024-01-01", "2024-01-02", "2024-01-09"],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "s.db") as s:
        yield s


@pytest.fixture
def project(store: Store) -> int:
    return store.get_or_create_project("p", user="ann")


def _save_dataset(store: Store, project: int, name: str) -> int:
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "prediction": [0, 1], "site": ["a", "b"]})
    ds = dataset_from_frame(frame, ColumnMapping(), name=f"{name}.csv")
    return store.save_dataset(project, name, ds, task=TaskSpec(), user="ann")


@pytest.fixture
def dataset(store: Store, project: int) -> int:
    return _save_dataset(store, project, "ref")


def _files(store: Store) -> list[Path]:
    folder = store.files_dir / PRODUCTION_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_schema_has_the_production_tables(store: Store) -> None:
    assert store.schema_version == len(MIGRATIONS)
    assert {"production_samples", "drift_thresholds"} <= set(store.db.table_names())


def test_a_saved_sample_lists_who_and_when_and_loads_as_saved(
    store: Store, project: int, dataset: int
) -> None:
    before = datetime.now(UTC)
    sid = store.save_production_sample(
        dataset, "week 1", _table(), source_name="w1.csv", content_hash="abc", user="ann",
        time_column="ts",
    )  # fmt: skip
    listed = store.list_production_samples(project)
    assert listed["id"].tolist() == [sid]
    row = listed.iloc[0]
    assert (row["name"], row["source_name"], row["created_by"]) == ("week 1", "w1.csv", "ann")
    assert (row["project_id"], row["dataset_id"]) == (project, dataset)
    assert (row["row_count"], row["time_column"]) == (3, "ts")
    at = datetime.fromisoformat(row["created_at"])
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
    tm.assert_frame_equal(store.load_production_sample(sid), _table())
    assert store.production_sample_info(sid)["content_hash"] == "abc"
    assert _files(store) == [store.files_dir / PRODUCTION_DIR / f"{sid}.parquet"]
    assert "production_sample.save" in store.events()["kind"].tolist()


def test_samples_are_listed_newest_first_per_project(store: Store, project: int, dataset: int):
    first = store.save_production_sample(dataset, "a", _table(), source_name="a", user="ann")
    second = store.save_production_sample(dataset, "b", _table(), source_name="b", user="ann")
    other = store.get_or_create_project("q", user="ann")
    store.save_production_sample(
        _save_dataset(store, other, "elsewhere"), "c", _table(), source_name="c", user="ann"
    )
    assert store.list_production_samples(project)["id"].tolist() == [second, first]
    assert len(store.list_production_samples()) == 3


def test_each_dataset_lists_only_the_samples_uploaded_against_it(
    store: Store, project: int, dataset: int
) -> None:
    second = _save_dataset(store, project, "second")
    mine = store.save_production_sample(dataset, "w", _table(), source_name="w", user="ann")
    theirs = store.save_production_sample(second, "w", _table(), source_name="w", user="ann")
    assert store.list_production_samples(dataset_id=dataset)["id"].tolist() == [mine]
    assert store.list_production_samples(dataset_id=second)["id"].tolist() == [theirs]
    assert store.list_production_samples(project)["id"].tolist() == [theirs, mine]


@pytest.mark.parametrize("deleted", ["first", "second"])
def test_deleting_a_dataset_deletes_its_samples_rows_and_files_only(
    store: Store, project: int, dataset: int, deleted: str
) -> None:
    second = _save_dataset(store, project, "second")
    ids = {
        "first": store.save_production_sample(dataset, "w", _table(), source_name="w", user="ann"),
        "second": store.save_production_sample(second, "w", _table(), source_name="w", user="ann"),
    }
    kept = "second" if deleted == "first" else "first"
    store.delete_dataset(dataset if deleted == "first" else second, user="ann")
    assert store.list_production_samples(project)["id"].tolist() == [ids[kept]]
    assert _files(store) == [store.files_dir / PRODUCTION_DIR / f"{ids[kept]}.parquet"]
    with pytest.raises(NotFoundError, match=f"no production sample with id {ids[deleted]}"):
        store.load_production_sample(ids[deleted])


def test_deleting_a_sample_removes_its_row_and_file(store: Store, project: int, dataset: int):
    sid = store.save_production_sample(dataset, "a", _table(), source_name="a", user="ann")
    store.delete_production_sample(sid, user="ann")
    assert store.list_production_samples(project).empty
    assert _files(store) == []
    with pytest.raises(NotFoundError, match=f"no production sample with id {sid}"):
        store.load_production_sample(sid)


def _mixed() -> pd.DataFrame:
    return pd.DataFrame({"site": ["a", 1, 2.5]})  # numbers and text: no Parquet type


@pytest.mark.parametrize(
    ("table", "options", "message"),
    [
        (pd.DataFrame({"site": []}), {}, "has no rows"),
        (_mixed(), {}, "cannot be stored as Parquet"),
        (_table(), {"time_column": "when"}, "no time column 'when'"),
        (_table(), {"dataset_id": 999}, "no dataset with id 999"),
        ("not a table", {}, "must be a DataFrame"),
    ],
    ids=["empty", "not parquet", "unknown time column", "unknown dataset", "not a frame"],
)
def test_a_failed_save_leaves_nothing_behind(
    store: Store, project: int, dataset: int, table, options, message
) -> None:
    events = len(store.events())
    target = options.pop("dataset_id", dataset)
    with pytest.raises(StoreError, match=message):
        store.save_production_sample(
            target, "bad", table, source_name="bad.csv", user="ann", **options
        )
    assert store.list_production_samples(project).empty
    assert _files(store) == []
    assert len(store.events()) == events


def test_a_crash_inside_the_transaction_removes_the_moved_file(
    store: Store, project: int, dataset: int, monkeypatch
) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("crash after the file moved")

    monkeypatch.setattr(Store, "_event", boom)
    with pytest.raises(RuntimeError):
        store.save_production_sample(dataset, "a", _table(), source_name="a", user="ann")
    monkeypatch.undo()
    assert store.list_production_samples(project).empty
    assert _files(store) == []


def test_a_taken_name_is_refused_and_the_first_sample_kept(
    store: Store, project: int, dataset: int
) -> None:
    sid = store.save_production_sample(dataset, "a", _table(), source_name="a", user="ann")
    with pytest.raises(NameTakenError, match="already has a production sample named 'a'"):
        store.save_production_sample(dataset, "a", _table().head(1), source_name="x", user="ann")
    assert store.list_production_samples(project)["id"].tolist() == [sid]
    assert len(_files(store)) == 1


def test_thresholds_are_saved_updated_and_reset_per_project(store: Store, project: int) -> None:
    other = store.get_or_create_project("q", user="ann")
    assert store.drift_thresholds(project) == {}
    store.set_drift_thresholds(project, {"site": 0.2, "age": 0.05}, user="ann")
    store.set_drift_thresholds(project, {"site": 0.3}, user="ann")
    store.set_drift_thresholds(other, {"site": 0.9}, user="ann")
    assert store.drift_thresholds(project) == {"age": 0.05, "site": 0.3}
    store.set_drift_thresholds(project, {"age": None}, user="ann")
    assert store.drift_thresholds(project) == {"site": 0.3}
    assert store.drift_thresholds(other) == {"site": 0.9}


@pytest.mark.parametrize(
    ("value", "message"),
    [(-0.1, "give a number >= 0"), (float("nan"), "give a number >= 0"), ("high", "not a number")],
    ids=["negative", "nan", "text"],
)
def test_an_invalid_threshold_writes_none_of_them(
    store: Store, project: int, value, message
) -> None:
    store.set_drift_thresholds(project, {"site": 0.2}, user="ann")
    with pytest.raises(StoreError, match=message):
        store.set_drift_thresholds(project, {"site": 0.4, "age": value}, user="ann")
    assert store.drift_thresholds(project) == {"site": 0.2}


@pytest.mark.parametrize(
    ("role", "may_save", "may_set"),
    [("viewer", False, False), ("annotator", False, True), ("owner", True, True)],
)
def test_roles_guard_samples_and_thresholds(
    store: Store, project: int, dataset: int, role: str, may_save: bool, may_set: bool
) -> None:
    store.set_member(project, "ann", "owner", user="ann")
    store.set_member(project, "bob", role, user="ann")

    def save() -> None:
        store.save_production_sample(dataset, "b", _table(), source_name="b", user="bob")

    def set_threshold() -> None:
        store.set_drift_thresholds(project, {"site": 0.5}, user="bob")

    for action, allowed in ((save, may_save), (set_threshold, may_set)):
        if allowed:
            action()
        else:
            with pytest.raises(PermissionDenied):
                action()
    assert len(store.list_production_samples(project)) == int(may_save)
    assert store.drift_thresholds(project) == ({"site": 0.5} if may_set else {})
    if not may_save:
        assert _files(store) == []
