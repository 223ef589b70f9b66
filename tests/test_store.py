"""Tests of core.store: one temporary database per test."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import slicewise.core.store as store_mod
import slicewise.core.store.corrections as corrections_mod
import slicewise.core.store.files as files_mod
import slicewise.core.store.migrations as migrations_mod
from slicewise.core.dataset import ColumnMapping, Dataset, dataset_from_frame
from slicewise.core.errors import StoreError
from slicewise.core.store import DEFAULT_DB_ENV, MIGRATIONS, Store, default_db_path
from slicewise.core.task import TaskSpec, TextNormalization

# --------------------------------------------------------------------------- fixtures


def pets_frame(ids=("a", "b", "c", "d", "e", "f")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(ids),
            "label": ["cat", "dog", "cat", "dog", "cat", "dog"],
            "prediction": ["cat", "cat", "dog", "dog", "cat", None],
            "noisy": ["1", "0", "1", "0", "0", "1"],
            "accent": [True, False, False, True, False, False],
            "night": ["x", "", "", "x", "x", ""],
            "age": [1.5, np.nan, 3.0, 4.0, 5.0, 6.0],
        }
    ).fillna({"prediction": "cat"})


def numeric_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "example_id": [10, 20, 30, 40],
            "y_true": [0, 1, 2, 1],
            "y_pred": [0, 2, 2, 1],
            "human_label": [0, 1, 1, 1],
            "score": [0.9, 0.4, 0.8, 0.7],
            "blurry": [1, 0, 1, 0],
            "city": ["Oslo", "Lima", None, "Pune"],
        }
    )


def speech_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["u1", "u2", "u3"],
            "label": ["turn the lights on", "what's the weather", "play some jazz"],
            "prediction": ["turn the light on", "what's the weather", "play sam jazz"],
            "tags": ["noisy;accent", "", "accent"],
        }
    )


CASES = {
    "text ids": (pets_frame, None, TaskSpec()),
    "int ids": (
        lambda: pets_frame(ids=range(100, 106)),
        None,
        TaskSpec(kind="binary", positive="cat"),
    ),
    "numeric labels": (numeric_frame, None, TaskSpec(kind="classification")),
    "text task, tags column": (
        speech_frame,
        ColumnMapping(tags_column="tags"),
        TaskSpec(
            kind="text",
            normalization=TextNormalization(
                lowercase=False, replacements=(("Umm,", "Um,"), ("gonna", "going to"))
            ),
        ),
    ),
}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "slicewise.db")
    yield s
    s.close()


@pytest.fixture
def pets() -> Dataset:
    return dataset_from_frame(pets_frame(), name="pets.csv")


@pytest.fixture
def saved(store: Store, pets: Dataset) -> int:
    project = store.get_or_create_project("demo", user="ann")
    return store.save_dataset(project, "pets", pets, task=TaskSpec(), user="ann")


def assert_same_dataset(got: Dataset, want: Dataset) -> None:
    pd.testing.assert_frame_equal(got.frame, want.frame)
    pd.testing.assert_frame_equal(got.tags, want.tags)
    assert got.mapping == want.mapping
    assert got.content_hash == want.content_hash
    assert got.source_name == want.source_name
    assert got.warnings == want.warnings


def override_count(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM tag_overrides").fetchone()[0]


# --------------------------------------------------------------------------- opening


def test_new_store_creates_folder_database_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "team.db"
    with Store(path) as s:
        assert path.exists()
        assert s.files_dir == tmp_path / "deep" / "er" / "team_files"
        assert s.schema_version == len(MIGRATIONS)
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert {
            "projects",
            "datasets",
            "tags",
            "tag_overrides",
            "label_corrections",
            "reports",
            "events",
        } <= set(s.db.table_names())


def test_default_db_path_honours_env_variable(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DEFAULT_DB_ENV, str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"
    with Store() as s:
        assert s.path == tmp_path / "env.db"
    assert (tmp_path / "env.db").exists()


def test_default_db_path_falls_back_to_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DEFAULT_DB_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_db_path() == tmp_path / ".slicewise" / "slicewise.db"


def test_opening_version_0_database_migrates_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('kept')")
    conn.commit()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 1
        assert "events" in s.db.table_names()
        assert s.db.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_new_migration_step_runs_once_on_an_older_database(monkeypatch, tmp_path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
    calls = []

    def add_colour(db) -> None:
        calls.append(1)
        db.execute("ALTER TABLE projects ADD COLUMN colour TEXT")  # fails if run twice

    monkeypatch.setattr(migrations_mod, "MIGRATIONS", [*MIGRATIONS, add_colour])
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
        assert "colour" in s.db["projects"].columns_dict
        assert s.list_projects()["id"].tolist() == [pid]
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) + 1
    assert calls == [1]


def test_failing_migration_step_leaves_the_old_version(monkeypatch, tmp_path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()

    def broken(db) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("step failed")

    monkeypatch.setattr(migrations_mod, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="step failed"):
        Store(path)
    monkeypatch.setattr(migrations_mod, "MIGRATIONS", list(MIGRATIONS))
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS)
        assert "half_done" not in s.db.table_names()


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


# --------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("case", list(CASES))
def test_dataset_round_trips_through_a_new_store_object(tmp_path: Path, case: str) -> None:
    make, mapping, task = CASES[case]
    dataset = dataset_from_frame(make(), mapping, name=f"{case}.csv")
    path = tmp_path / "s.db"
    with Store(path) as s:
        did = s.save_dataset(
            s.get_or_create_project("p", user="ann"), "d", dataset, task=task, user="ann"
        )
    with Store(path) as s:  # a restart
        assert_same_dataset(s.load_dataset(did), dataset)
        info = s.dataset_info(did)
    assert info["task"] == task
    assert info["mapping"] == dataset.mapping
    assert info["row_count"] == dataset.n
    assert info["task_kind"] == task.kind
    assert info["created_by"] == "ann"
    assert (tmp_path / "s_files" / str(did) / "frame.parquet").exists()


def test_round_trip_keeps_state_after_edits(tmp_path: Path, pets: Dataset) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        did = s.save_dataset(
            s.get_or_create_project("p", user="ann"), "d", pets, task=TaskSpec(), user="ann"
        )
        s.set_tag(did, ["b", "c"], "accent", True, user="bob")
        s.create_tag(did, "blurry", user="bob")
        s.set_tag(did, ["f"], "blurry", True, user="bob")
        s.rename_tag(did, "noisy", "loud", user="bob")
        s.correct_label(did, "b", "cat", user="bob", reason="misheard")
        before = s.load_dataset(did)
    with Store(path) as s:
        assert_same_dataset(s.load_dataset(did), before)
    assert list(before.tags.columns) == ["loud", "accent", "night", "blurry"]
    assert before.frame.loc[1, "label"] == "cat"


def test_list_datasets_newest_first_and_by_project(store: Store, pets: Dataset) -> None:
    p1 = store.get_or_create_project("one", user="ann")
    p2 = store.get_or_create_project("two", user="ann")
    assert store.get_or_create_project("one", user="bob") == p1
    a = store.save_dataset(p1, "a", pets, task=TaskSpec(), user="ann")
    b = store.save_dataset(p2, "b", pets, task=TaskSpec(), user="bob")
    c = store.save_dataset(p1, "c", pets, task=TaskSpec(kind="binary", positive="cat"), user="cid")
    listing = store.list_datasets()
    assert listing["id"].tolist() == [c, b, a]
    assert list(listing.columns) == [
        "id",
        "project_id",
        "name",
        "source_name",
        "content_hash",
        "row_count",
        "task_kind",
        "created_at",
        "created_by",
    ]
    assert store.list_datasets(p1)["name"].tolist() == ["c", "a"]
    assert store.list_datasets(p1)["task_kind"].tolist() == ["binary", "classification"]
    assert store.list_projects()["name"].tolist() == ["one", "two"]


def test_dataset_name_clash_in_a_project_raises(store: Store, pets: Dataset, saved: int) -> None:
    project = store.dataset_info(saved)["project_id"]
    with pytest.raises(StoreError, match="already has a dataset named 'pets'"):
        store.save_dataset(project, "pets", pets, task=TaskSpec(), user="bob")
    other = store.save_dataset(project, "pets v2", pets, task=TaskSpec(), user="bob")
    with pytest.raises(StoreError, match="already has a dataset named 'pets'"):
        store.rename_dataset(other, "pets", user="bob")
    elsewhere = store.get_or_create_project("elsewhere", user="bob")
    store.save_dataset(elsewhere, "pets", pets, task=TaskSpec(), user="bob")  # allowed
    assert len(store.list_datasets()) == 3


def test_rename_dataset(store: Store, saved: int) -> None:
    store.rename_dataset(saved, "  pets (cleaned) ", user="bob")
    info = store.dataset_info(saved)
    assert (info["name"], info["updated_by"]) == ("pets (cleaned)", "bob")


def test_delete_dataset_removes_rows_and_files(store: Store, saved: int) -> None:
    store.set_tag(saved, ["a"], "night", False, user="bob")
    store.correct_label(saved, "a", "dog", user="bob")
    store.save_report(saved, "csv", "r.csv", "x,y\n", user="bob")
    folder = store.files_dir / str(saved)
    assert (folder / "frame.parquet").exists() and (folder / "tags.parquet").exists()
    store.delete_dataset(saved, user="bob")
    assert not folder.exists()
    assert list(store.files_dir.iterdir()) == []
    for table in ("datasets", "tag_bases", "reports"):
        assert store.db[table].count == 0, table
    # Tags, hand values and corrections belong to the project (schema 4): they stay.
    for table in ("tags", "tag_overrides", "label_corrections"):
        assert store.db[table].count > 0, table
    with pytest.raises(StoreError, match=f"no dataset with id {saved}"):
        store.load_dataset(saved)
    assert store.events(saved)["kind"].iloc[-1] == "dataset.delete"


@pytest.mark.parametrize("fail_at", ["frame.parquet", "tags.parquet", "database"])
def test_failed_save_leaves_no_dataset_row_and_no_files(
    store: Store, pets: Dataset, monkeypatch, fail_at: str
) -> None:
    project = store.get_or_create_project("p", user="ann")
    real_write, real_event = files_mod._write_parquet, Store._event

    def write(frame, path):
        if path.name == fail_at:
            raise OSError("disk full")
        real_write(frame, path)

    def event(self, kind, **kw):
        if kind == "dataset.save" and fail_at == "database":
            # the last write of the transaction, after the files were moved into place
            assert (self.files_dir / str(kw["dataset_id"]) / "frame.parquet").exists()
            raise sqlite3.OperationalError("disk I/O error")
        real_event(self, kind, **kw)

    monkeypatch.setattr(files_mod, "_write_parquet", write)
    monkeypatch.setattr(Store, "_event", event)
    with pytest.raises((OSError, sqlite3.OperationalError)):
        store.save_dataset(project, "pets", pets, task=TaskSpec(), user="ann")
    assert store.list_datasets().empty
    assert store.db["tags"].count == 0
    assert list(store.files_dir.iterdir()) == []
    assert store.events()["kind"].tolist() == ["project.create"]
    monkeypatch.undo()
    did = store.save_dataset(project, "pets", pets, task=TaskSpec(), user="ann")
    assert_same_dataset(store.load_dataset(did), pets)


def test_unstorable_frame_raises_store_error_and_leaves_nothing(store: Store) -> None:
    dataset = dataset_from_frame(pets_frame())
    dataset.frame["mixed"] = pd.Series([1, "two", 3.0, None, b"5", 6], dtype=object)
    with pytest.raises(StoreError, match="cannot be stored as Parquet"):
        store.save_dataset(
            store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
        )
    assert store.list_datasets().empty
    assert list(store.files_dir.iterdir()) == []


def test_duplicate_ids_as_text_are_refused(store: Store) -> None:
    dataset = dataset_from_frame(pets_frame())
    dataset.frame["id"] = pd.Series([1, "1", 2, 3, 4, 5], dtype=object)
    with pytest.raises(StoreError, match="ids must be unique as text; '1' repeat"):
        store.save_dataset(
            store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.load_dataset(99), "no dataset with id 99"),
        (lambda s: s.dataset_info(99), "no dataset with id 99"),
        (lambda s: s.tag_matrix(99), "no dataset with id 99"),
        (lambda s: s.list_tags(99), "no dataset with id 99"),
        (lambda s: s.rename_dataset(99, "x", user="a"), "no dataset with id 99"),
        (lambda s: s.delete_dataset(99, user="a"), "no dataset with id 99"),
        (lambda s: s.list_datasets(project_id=7), "no project with id 7"),
        (lambda s: s.report_content(5), "no report with id 5"),
        (lambda s: s.load_dataset("1"), "dataset id must be an integer"),
        (lambda s: s.get_or_create_project(" ", user="a"), "project name must be a non-empty"),
        (lambda s: s.get_or_create_project("p", user=""), "user must name the person"),
    ],
)
def test_unknown_ids_and_bad_arguments_raise_store_error(store: Store, call, message) -> None:
    with pytest.raises(StoreError, match=message):
        call(store)


# --------------------------------------------------------------------------- tags


def expected_tags(pets: Dataset) -> pd.DataFrame:
    return pets.tags.copy()


@pytest.mark.parametrize(
    "ids", [["b", "c"], ("c", "b", "b"), pd.Series(["b", "c"]), np.array(["b", "c"])]
)
def test_set_tag_then_tag_matrix(store: Store, pets: Dataset, saved: int, ids) -> None:
    want = expected_tags(pets)
    assert store.set_tag(saved, ids, "accent", True, user="bob") == 2
    want.loc[[1, 2], "accent"] = True
    pd.testing.assert_frame_equal(store.tag_matrix(saved), want)
    assert store.set_tag(saved, ids, "accent", True, user="bob") == 0  # already set
    assert store.set_tag(saved, ["a", "b"], "accent", False, user="bob") == 2
    want.loc[[0, 1], "accent"] = False
    pd.testing.assert_frame_equal(store.tag_matrix(saved), want)


def test_hand_values_are_kept_when_set_back_to_the_file_values(store: Store, saved: int) -> None:
    # Schema 4: a hand value belongs to the project, and another dataset of it may have no
    # such file value, so going back to this file's values keeps the hand values.
    store.set_tag(saved, ["b", "c"], "accent", True, user="bob")
    assert override_count(store) == 2
    store.set_tag(saved, ["b", "c"], "accent", False, user="bob")  # back to the file's values
    assert override_count(store) == 2
    assert store.tag_matrix(saved)["accent"].tolist() == [True, False, False, True, False, False]


@pytest.mark.parametrize(("wanted", "given"), [(101, "101"), ("101", 101), (101, np.int64(101))])
def test_set_tag_matches_int_ids_as_text(store: Store, wanted, given) -> None:
    dataset = dataset_from_frame(pets_frame(ids=range(100, 106)))
    did = store.save_dataset(
        store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
    )
    assert store.set_tag(did, [given], "accent", True, user="a") == 1
    assert store.tag_matrix(did)["accent"].tolist() == [True, True, False, True, False, False]
    store.correct_label(did, wanted, "dog", user="a")
    assert store.corrections(did)["example_id"].tolist() == ["101"]


def test_set_tag_unknown_tag_raises(store: Store, saved: int) -> None:
    with pytest.raises(
        StoreError, match="dataset .* has no tag 'missing'; its tags are 'noisy', 'accent', 'night'"
    ):
        store.set_tag(saved, ["a"], "missing", True, user="bob")


def test_set_tag_unknown_ids_raise_naming_a_few_and_write_nothing(store: Store, saved: int) -> None:
    ids = ["a", "zz1", "zz2", "zz3", "zz4", "zz5", "zz6", "zz7"]
    with pytest.raises(
        StoreError,
        match=r"no example with id 'zz1', 'zz2', 'zz3', 'zz4', "
        r"'zz5' and 2 more \(7 of 8 ids unknown\)",
    ):
        store.set_tag(saved, ids, "accent", True, user="bob")
    assert override_count(store) == 0
    assert store.events(saved)["kind"].tolist() == ["dataset.save"]


@pytest.mark.parametrize("value", [1, "yes", None])
def test_set_tag_value_must_be_boolean(store: Store, saved: int, value) -> None:
    with pytest.raises(StoreError, match="True or False"):
        store.set_tag(saved, ["a"], "accent", value, user="bob")


def test_create_tag_starts_empty_and_comes_last(store: Store, saved: int) -> None:
    store.create_tag(saved, "blurry", user="bob")
    matrix = store.tag_matrix(saved)
    assert list(matrix.columns) == ["noisy", "accent", "night", "blurry"]
    assert not matrix["blurry"].any()
    with pytest.raises(StoreError, match="already has a tag named 'blurry'"):
        store.create_tag(saved, "blurry", user="bob")


def test_rename_tag_keeps_values_settings_and_position(
    store: Store, pets: Dataset, saved: int
) -> None:
    store.set_tag(saved, ["b"], "accent", True, user="bob")
    store.set_tag_settings(saved, "accent", hlp=0.9, user="bob")
    before = store.tag_matrix(saved)
    store.rename_tag(saved, "accent", "accented speech", user="bob")
    after = store.tag_matrix(saved)
    assert list(after.columns) == ["noisy", "accented speech", "night"]
    np.testing.assert_array_equal(after.to_numpy(), before.to_numpy())
    assert store.tag_settings(saved)["hlp"] == {"accented speech": 0.9}
    with pytest.raises(StoreError, match="already has a tag named 'night'"):
        store.rename_tag(saved, "noisy", "night", user="bob")
    with pytest.raises(StoreError, match="has no tag 'accent'"):
        store.rename_tag(saved, "accent", "x", user="bob")


@pytest.mark.parametrize(
    ("sources", "target", "columns"),
    [
        (["noisy", "night"], "noisy", ["noisy", "accent"]),  # into one of the sources
        (["night", "noisy"], "noisy", ["noisy", "accent"]),  # order does not matter
        (["noisy", "night"], "hard audio", ["accent", "hard audio"]),  # a new tag, added last
        (["noisy", "accent", "night"], "any", ["any"]),
        (["noisy"], "accent", ["accent", "night"]),  # into an existing other tag
    ],
)
def test_merge_tags_is_the_union_of_the_sources(
    store: Store, saved: int, sources, target, columns
) -> None:
    # Overrides first, so the union must combine file values and later edits.
    store.set_tag(saved, ["b"], "noisy", True, user="bob")
    store.set_tag(saved, ["a"], "night", False, user="bob")
    store.set_tag(saved, ["f"], "accent", True, user="bob")
    before = store.tag_matrix(saved)
    merged = [*sources, target] if target in before.columns else sources
    want = before.drop(columns=merged)
    want[target] = before[merged].any(axis=1)
    store.merge_tags(saved, sources, target, user="bob")
    got = store.tag_matrix(saved)
    assert list(got.columns) == columns
    pd.testing.assert_frame_equal(got, want[columns])
    assert store.events(saved)["kind"].iloc[-1] == "tag.merge"


def test_merge_then_edit_then_restart(tmp_path: Path, pets: Dataset) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        did = s.save_dataset(
            s.get_or_create_project("p", user="a"), "d", pets, task=TaskSpec(), user="a"
        )
        s.merge_tags(did, ["noisy", "night"], "hard", user="a")
        s.set_tag(did, ["a", "b"], "hard", False, user="a")
        want = s.tag_matrix(did)
    with Store(path) as s:
        pd.testing.assert_frame_equal(s.tag_matrix(did), want)
    assert want["hard"].tolist() == [False, False, True, True, True, True]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([], "at least one source"),
        (["noisy", "ghost"], "has no tag 'ghost'"),
    ],
)
def test_merge_tags_errors(store: Store, saved: int, sources, message) -> None:
    with pytest.raises(StoreError, match=message):
        store.merge_tags(saved, sources, "x", user="bob")


def test_delete_tag(store: Store, pets: Dataset, saved: int) -> None:
    store.set_tag(saved, ["b"], "accent", True, user="bob")
    store.delete_tag(saved, "accent", user="bob")
    pd.testing.assert_frame_equal(store.tag_matrix(saved), pets.tags.drop(columns="accent"))
    assert override_count(store) == 0
    assert store.list_tags(saved)["name"].tolist() == ["noisy", "night"]
    store.create_tag(saved, "accent", user="bob")  # a new tag under the old name is empty
    assert not store.tag_matrix(saved)["accent"].any()


# --------------------------------------------------------------------------- settings


def test_tag_settings_round_trip_and_clear(store: Store, saved: int) -> None:
    store.set_tag_settings(saved, "noisy", hlp=0.8, importance=5, ease=2, user="bob")
    store.set_tag_settings(saved, "accent", importance=np.int64(3), user="bob")
    store.set_tag_settings(saved, "noisy", ease=4, user="cid")  # None leaves the others
    assert store.tag_settings(saved) == {
        "hlp": {"noisy": 0.8},
        "importance": {"noisy": 5, "accent": 3},
        "ease": {"noisy": 4},
    }
    store.set_tag_settings(saved, "noisy", clear_hlp=True, user="cid")
    assert store.tag_settings(saved)["hlp"] == {}
    tags = store.list_tags(saved).set_index("name")
    assert tags.loc["noisy", "updated_by"] == "cid"
    assert tags.loc["noisy", "importance"] == 5 and pd.isna(tags.loc["night", "importance"])
    assert list(store.list_tags(saved).columns) == [
        "name",
        "hlp",
        "importance",
        "ease",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hlp": 1.2}, "hlp .* from 0 to 1, got 1.2"),
        ({"hlp": -0.1}, "from 0 to 1"),
        ({"hlp": "high"}, "from 0 to 1"),
        ({"hlp": True}, "from 0 to 1"),
        ({"importance": 0}, "importance must be a whole number from 1 to 5, got 0"),
        ({"importance": 6}, "importance must be a whole number from 1 to 5"),
        ({"ease": 2.5}, "ease must be a whole number from 1 to 5, got 2.5"),
        ({"ease": "3"}, "ease must be a whole number"),
        ({"hlp": 0.5, "clear_hlp": True}, "either a new hlp or clear_hlp"),
    ],
)
def test_tag_settings_validation(store: Store, saved: int, kwargs, message) -> None:
    with pytest.raises(StoreError, match=message):
        store.set_tag_settings(saved, "noisy", user="bob", **kwargs)
    assert store.tag_settings(saved) == {"hlp": {}, "importance": {}, "ease": {}}


def test_tag_settings_feed_analyze(store: Store, saved: int) -> None:
    from slicewise.core.analysis import analyze

    store.set_tag_settings(saved, "noisy", hlp=0.9, importance=4, ease=2, user="bob")
    table = analyze(
        store.load_dataset(saved),
        task=store.dataset_info(saved)["task"],
        **store.tag_settings(saved),
    )
    assert "noisy" in table.index


# --------------------------------------------------------------------------- corrections


def test_label_correction_applied_and_reverted(store: Store, pets: Dataset, saved: int) -> None:
    store.correct_label(saved, "b", "cat", user="bob", reason="barks like a cat")
    store.correct_label(saved, "b", "fox", user="cid", reason="second look")
    store.correct_label(saved, "e", "dog", user="bob")
    fixes = store.corrections(saved)
    assert fixes[["example_id", "original", "corrected", "user"]].values.tolist() == [
        ["b", "dog", "fox", "cid"],
        ["e", "cat", "dog", "bob"],
    ]
    assert fixes["reason"].tolist() == ["second look", ""]
    labels = store.load_dataset(saved).frame["label"]
    assert labels.tolist() == ["cat", "fox", "cat", "dog", "dog", "dog"]
    assert labels.dtype == pets.frame["label"].dtype

    store.revert_correction(saved, "b", user="dan")
    assert store.corrections(saved)["example_id"].tolist() == ["e"]
    assert store.load_dataset(saved).frame["label"].tolist() == [
        "cat",
        "dog",
        "cat",
        "dog",
        "dog",
        "dog",
    ]
    with pytest.raises(StoreError, match="example 'b' of dataset .* has no label correction"):
        store.revert_correction(saved, "b", user="dan")
    history = store.db.execute("SELECT COUNT(*) FROM label_corrections").fetchone()[0]
    assert history == 3  # reverted corrections are kept


@pytest.mark.parametrize("given", ["2", 2, 2.0, "2.0", " 2 "])
def test_label_corrections_take_the_class_spelling_of_the_dataset(store: Store, given) -> None:
    # Classes are text (core.values): 2, 2.0 and "2.0" all name the class written "2".
    dataset = dataset_from_frame(numeric_frame())
    did = store.save_dataset(
        store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
    )
    store.correct_label(did, 20, given, user="a")
    frame = store.load_dataset(did).frame
    assert frame["label"].tolist() == ["0", "2", "2", "1"]
    assert store.corrections(did)[["original", "corrected"]].values.tolist() == [["1", "2"]]


def test_label_corrections_to_a_new_class_keep_its_spelling(store: Store) -> None:
    dataset = dataset_from_frame(numeric_frame())
    did = store.save_dataset(
        store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
    )
    store.correct_label(did, 20, "007", user="a")
    assert store.load_dataset(did).frame["label"].tolist() == ["0", "007", "2", "1"]


def test_numeric_label_corrections_on_a_numeric_frame_from_an_older_version(store: Store) -> None:
    dataset = dataset_from_frame(numeric_frame())
    did = store.save_dataset(
        store.get_or_create_project("p", user="a"), "d", dataset, task=TaskSpec(), user="a"
    )
    labels = pd.Series([0, 1, 2, 1])  # datasets saved before labels were text
    with pytest.raises(StoreError, match="labels are whole numbers; 1.5 is not one"):
        corrections_mod._coerce_label(1.5, labels, did)
    with pytest.raises(StoreError, match="labels are numbers; 'cat' is not"):
        corrections_mod._coerce_label("cat", labels, did)
    with pytest.raises(StoreError, match="no example with id '99'"):
        store.correct_label(did, 99, 1, user="a")


# --------------------------------------------------------------------------- reports


def test_reports_saved_listed_and_read(store: Store, saved: int) -> None:
    first = store.save_report(saved, "HTML", "report.html", "<h1>Pets – errors</h1>", user="bob")
    second = store.save_report(saved, "xlsx", "report.xlsx", b"PK\x03\x04binary", user="cid")
    listing = store.list_reports(saved)
    assert listing["id"].tolist() == [second, first]
    assert listing["fmt"].tolist() == ["xlsx", "html"]
    assert listing["size"].tolist() == [10, len("<h1>Pets – errors</h1>".encode())]
    assert list(listing.columns) == [
        "id",
        "dataset_id",
        "fmt",
        "filename",
        "size",
        "created_at",
        "created_by",
    ]
    assert store.report_content(first).decode("utf-8") == "<h1>Pets – errors</h1>"
    assert store.report_content(second) == b"PK\x03\x04binary"
    assert len(store.list_reports()) == 2


# --------------------------------------------------------------------------- events


def test_events_record_user_and_kind_for_each_write(store: Store, pets: Dataset) -> None:
    project = store.get_or_create_project("p", user="ann")
    did = store.save_dataset(project, "d", pets, task=TaskSpec(), user="ann")
    store.rename_dataset(did, "d2", user="bob")
    store.create_tag(did, "new", user="bob")
    store.set_tag(did, ["a"], "new", True, user="cid")
    store.rename_tag(did, "new", "newer", user="cid")
    store.merge_tags(did, ["newer", "night"], "night", user="cid")
    store.set_tag_settings(did, "night", hlp=0.5, user="dan")
    store.delete_tag(did, "accent", user="dan")
    store.correct_label(did, "a", "dog", user="eve", reason="r")
    store.revert_correction(did, "a", user="eve")
    store.save_report(did, "md", "r.md", "# r", user="fay")
    store.delete_dataset(did, user="gus")
    log = store.events()
    assert list(log.columns) == ["id", "project_id", "dataset_id", "kind", "detail", "user", "at"]
    assert log[["kind", "user"]].values.tolist() == [
        ["project.create", "ann"],
        ["dataset.save", "ann"],
        ["dataset.rename", "bob"],
        ["tag.create", "bob"],
        ["tag.set", "cid"],
        ["tag.rename", "cid"],
        ["tag.merge", "cid"],
        ["tag.settings", "dan"],
        ["tag.delete", "dan"],
        ["label.correct", "eve"],
        ["label.revert", "eve"],
        ["report.save", "fay"],
        ["dataset.delete", "gus"],
    ]
    assert (log["dataset_id"].iloc[1:] == did).all()
    assert (log["project_id"] == project).all()
    assert log["at"].is_monotonic_increasing and log["at"].str.endswith("+00:00").all()
    assert json.loads(log["detail"].iloc[4]) == {
        "tag": "new",
        "value": True,
        "changed": 1,
        "example_ids": ["a"],
    }
    assert store.events(did)["kind"].tolist() == log["kind"].tolist()[1:]


def test_no_op_writes_record_no_event(store: Store, saved: int) -> None:
    # Schema 4: confirming a file value records a hand value (it applies to the project's
    # other datasets); repeating it is the no-op.
    assert store.set_tag(saved, ["a"], "noisy", True, user="bob") == 0  # true in the file
    assert store.events(saved)["kind"].tolist() == ["dataset.save", "tag.set"]
    store.set_tag(saved, ["a"], "noisy", True, user="bob")
    store.rename_dataset(saved, "pets", user="bob")
    store.set_tag_settings(saved, "noisy", user="bob")
    assert store.events(saved)["kind"].tolist() == ["dataset.save", "tag.set"]


def test_events_are_append_only(store: Store, saved: int) -> None:
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE events SET \"user\" = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM events")
    assert store.events()["user"].tolist() == ["ann", "ann"]


def test_failed_write_rolls_back_its_event(store: Store, saved: int, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("crash after the update")

    monkeypatch.setattr(Store, "_event", boom)
    with pytest.raises(RuntimeError):
        store.rename_tag(saved, "noisy", "loud", user="bob")
    monkeypatch.undo()
    assert store.list_tags(saved)["name"].tolist() == ["noisy", "accent", "night"]


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("shared", [True, False], ids=["one object", "one object each"])
def test_concurrent_writers_all_succeed(tmp_path: Path, pets: Dataset, shared: bool) -> None:
    import threading

    path = tmp_path / "s.db"
    with Store(path) as s:
        did = s.save_dataset(
            s.get_or_create_project("p", user="a"), "d", pets, task=TaskSpec(), user="a"
        )
        for name in ("t0", "t1", "t2", "t3"):
            s.create_tag(did, name, user="a")
    stores = [Store(path)] if shared else [Store(path) for _ in range(4)]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        s = stores[0] if shared else stores[k]
        try:
            for i, example in enumerate(pets.frame["id"]):
                s.set_tag(did, [example], f"t{k}", True, user=f"u{k}")
                s.set_tag_settings(did, f"t{k}", importance=1 + i % 5, user=f"u{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    with Store(path) as s:
        assert s.tag_matrix(did)[["t0", "t1", "t2", "t3"]].all().all()
        assert (s.events(did)["kind"] == "tag.set").sum() == 4 * len(pets.frame)


def test_revision_grows_with_every_write_and_matches_the_event_log(tmp_path):
    from slicewise.core.dataset import dataset_from_frame
    from slicewise.core.store import Store
    from slicewise.core.task import TaskSpec

    store = Store(tmp_path / "rev.db")
    pid = store.get_or_create_project("p", user="ann")
    df = pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"], "t": [1, 0]})
    did = store.save_dataset(pid, "d", dataset_from_frame(df), task=TaskSpec(), user="ann")
    first = store.revision(did)
    store.set_tag(did, [1], "t", True, user="ann")
    assert store.revision(did) > first
    assert store.revision(did) == int(store.events(did)["id"].max())
    assert store.revision(999) == 0


# --------------------------------------------------------------------------- iterations


def _iteration(store: Store, project: int, dataset: int, **kwargs) -> int:
    from slicewise.core.analysis import analyze

    args = {
        "model_name": "asr",
        "model_version": "1.0",
        "data_version": "v1",
        "notes": {"lr": 0.001, "commit": "abc123", "layers": [4, 4]},
        "table": analyze(store.load_dataset(dataset)),
        "user": "ann",
    }
    return store.save_iteration(project, dataset, **{**args, **kwargs})


def test_migration_2_adds_iterations_to_a_version_1_database(monkeypatch, tmp_path) -> None:
    path = tmp_path / "v1.db"
    monkeypatch.setattr(migrations_mod, "MIGRATIONS", MIGRATIONS[:1])
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        assert s.schema_version == 1 and "iterations" not in s.db.table_names()
    monkeypatch.undo()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 2
        assert "iterations" in s.db.table_names()
        assert s.list_projects()["id"].tolist() == [pid]
        assert s.list_iterations(pid).empty


def test_iteration_round_trips_its_table_and_metadata(tmp_path: Path, pets: Dataset) -> None:
    from slicewise.core.analysis import analyze

    path = tmp_path / "s.db"
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        did = s.save_dataset(pid, "d", pets, task=TaskSpec(), user="ann")
        s.set_tag(did, ["b"], "noisy", True, user="bob")
        table = analyze(s.load_dataset(did))
        iid = _iteration(s, pid, did, table=table)
        fingerprint = s.load_dataset(did).fingerprint()
        revision = s.revision(did)
    with Store(path) as s:  # a new connection reads the same
        pd.testing.assert_frame_equal(s.iteration_table(iid), table)
        info = s.iteration_info(iid)
        assert info["notes"] == {"lr": 0.001, "commit": "abc123", "layers": [4, 4]}
        assert (info["model_name"], info["model_version"], info["data_version"]) == (
            "asr",
            "1.0",
            "v1",
        )
        assert info["dataset_id"] == did and info["dataset_name"] == "d"
        assert info["source_name"] == "pets.csv" and info["row_count"] == 6
        assert info["content_hash"] == pets.content_hash
        assert info["fingerprint"] == fingerprint
        assert info["revision"] == revision - 1  # the iteration's own event came after
        assert info["created_by"] == "ann"


def test_list_iterations_is_the_project_history_oldest_first(store: Store, pets: Dataset) -> None:
    p1 = store.get_or_create_project("p1", user="ann")
    p2 = store.get_or_create_project("p2", user="ann")
    d1 = store.save_dataset(p1, "d", pets, task=TaskSpec(), user="ann")
    d2 = store.save_dataset(p2, "d", pets, task=TaskSpec(), user="ann")
    first = _iteration(store, p1, d1, model_version="1")
    second = _iteration(store, p1, d1, model_version="2", notes=None)
    _iteration(store, p2, d2)
    history = store.list_iterations(p1)
    assert history["id"].tolist() == [first, second]
    assert history["model_version"].tolist() == ["1", "2"]
    assert history["notes"].iloc[1] == {}
    assert list(history.columns) == [
        "id",
        "project_id",
        "dataset_id",
        "dataset_name",
        "source_name",
        "content_hash",
        "fingerprint",
        "revision",
        "row_count",
        "model_name",
        "model_version",
        "data_version",
        "notes",
        "created_at",
        "created_by",
    ]


def test_iterations_outlive_their_dataset_and_are_logged(store: Store, pets: Dataset) -> None:
    pid = store.get_or_create_project("p", user="ann")
    did = store.save_dataset(pid, "d", pets, task=TaskSpec(), user="ann")
    iid = _iteration(store, pid, did, user="bob")
    store.delete_dataset(did, user="ann")
    assert store.list_iterations(pid)["id"].tolist() == [iid]
    assert not store.iteration_table(iid).empty
    store.delete_iteration(iid, user="cid")
    assert store.list_iterations(pid).empty
    log = store.events()
    saved = log[log["kind"] == "iteration.save"].iloc[0]
    assert saved["user"] == "bob" and saved["dataset_id"] == did
    assert json.loads(saved["detail"])["iteration_id"] == iid
    assert log["kind"].iloc[-1] == "iteration.delete" and log["user"].iloc[-1] == "cid"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_name": " "}, "model name"),
        ({"notes": ["lr=1"]}, "notes must be a dict"),
        ({"notes": {"lr": float("nan")}}, "JSON values"),
        ({"notes": {"": 1}}, "note names"),
        ({"table": pd.DataFrame()}, "empty"),
        ({"table": "not a table"}, "must be a DataFrame"),
        ({"model_version": ["1"]}, "model version must be text"),
        ({"user": ""}, "user"),
    ],
)
def test_save_iteration_validation(store: Store, saved: int, kwargs, message) -> None:
    pid = int(store.dataset_info(saved)["project_id"])
    with pytest.raises(StoreError, match=message):
        _iteration(store, pid, saved, **kwargs)
    assert store.list_iterations(pid).empty
    assert "iteration.save" not in store.events()["kind"].tolist()


def test_iteration_needs_a_dataset_of_the_project(store: Store, pets: Dataset, saved: int) -> None:
    other = store.get_or_create_project("other", user="ann")
    with pytest.raises(StoreError, match="belongs to project"):
        _iteration(store, other, saved)
    with pytest.raises(StoreError, match="no iteration with id 99"):
        store.iteration_table(99)
    with pytest.raises(StoreError, match="no iteration with id 99"):
        store.delete_iteration(99, user="ann")


# --------------------------------------------------------------------------- annotation sets


def annotation_labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": ["a", "a", "a", "b", "b", "c", "c"],
            "annotator": ["x", "y", "z", "x", "y", "x", "z"],
            "label": ["cat", "dog", "cat", "dog", "dog", "cat", "dog"],
            "comment": ["", "blurry", "", "", "", "", "hard"],
        }
    )


def _annotation_set(store: Store, project: int, name: str = "round 1", **kwargs) -> int:
    args = {"source_name": "labels.csv", "content_hash": "abc", "user": "ann"}
    return store.save_annotation_set(project, name, annotation_labels(), **{**args, **kwargs})


def test_migration_3_adds_annotation_sets_to_a_version_2_database(monkeypatch, tmp_path) -> None:
    path = tmp_path / "v2.db"
    monkeypatch.setattr(migrations_mod, "MIGRATIONS", MIGRATIONS[:2])
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        assert s.schema_version == 2
        assert "annotation_sets" not in s.db.table_names()
    monkeypatch.undo()
    with Store(path) as s:
        assert s.schema_version == len(MIGRATIONS) >= 3
        assert {"annotation_sets", "review_decisions"} <= set(s.db.table_names())
        assert s.list_projects()["id"].tolist() == [pid]
        assert s.list_annotation_sets(pid).empty
        sid = _annotation_set(s, pid)
        assert s.review_decisions(sid).empty


def test_annotation_set_round_trips_across_a_new_store(tmp_path: Path, pets: Dataset) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        did = s.save_dataset(pid, "pets", pets, task=TaskSpec(), user="ann")
        sid = _annotation_set(s, pid, linked_dataset_id=did)
    with Store(path) as s:
        pd.testing.assert_frame_equal(s.load_annotation_set(sid), annotation_labels())
        sets = s.list_annotation_sets(pid)
        assert sets["id"].tolist() == [sid]
        row = sets.iloc[0]
        assert (row["name"], row["source_name"], row["content_hash"]) == (
            "round 1",
            "labels.csv",
            "abc",
        )
        assert row["row_count"] == 7 and row["linked_dataset_id"] == did
        assert row["created_by"] == "ann"
        assert s.annotation_set_info(sid)["linked_dataset_id"] == did
        assert (s.files_dir / "annotation_sets" / f"{sid}.parquet").exists()
        assert not list((s.files_dir / "annotation_sets").glob(".*"))  # no staging left
        kinds = s.events()["kind"].tolist()
        assert kinds[-1] == "annotation_set.save"


def test_reopening_removes_stale_staging_and_orphan_files_but_not_a_live_save(
    tmp_path: Path, pets: Dataset
) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        did = s.save_dataset(pid, "pets", pets, task=TaskSpec(), user="ann")
        sid = _annotation_set(s, pid, linked_dataset_id=did)
        files, sets = s.files_dir, s.files_dir / "annotation_sets"
    # What killed saves leave: staging copies (an hour old, and one just being written),
    # and an annotation file whose row was never committed.
    old = time.time() - store_mod.STALE_STAGING_SECONDS - 60
    (files / ".staging-old").mkdir()
    (files / ".staging-old" / "frame.parquet").write_bytes(b"half")
    os.utime(files / ".staging-old", (old, old))
    (files / ".staging-live").mkdir()
    (sets / ".staging-old.parquet").write_bytes(b"half")
    os.utime(sets / ".staging-old.parquet", (old, old))
    (sets / ".staging-live.parquet").write_bytes(b"half")
    (sets / f"{sid + 1}.parquet").write_bytes(b"orphan")
    with Store(path) as s:
        assert sorted(p.name for p in files.iterdir()) == sorted(
            [".staging-live", "annotation_sets", str(did)]
        )
        assert sorted(p.name for p in sets.iterdir()) == [".staging-live.parquet", f"{sid}.parquet"]
        assert_same_dataset(s.load_dataset(did), pets)
        pd.testing.assert_frame_equal(s.load_annotation_set(sid), annotation_labels())


def test_annotation_set_errors(store: Store, saved: int) -> None:
    pid = store.get_or_create_project("demo", user="ann")
    _annotation_set(store, pid)
    with pytest.raises(StoreError, match="already has an annotation set named 'round 1'"):
        _annotation_set(store, pid)
    with pytest.raises(StoreError, match="lack the column"):
        store.save_annotation_set(
            pid,
            "r2",
            annotation_labels().drop(columns="annotator"),
            source_name="f",
            content_hash="",
            user="ann",
        )
    other = store.get_or_create_project("other", user="ann")
    with pytest.raises(StoreError, match="belongs to project"):
        _annotation_set(store, other, linked_dataset_id=saved)
    with pytest.raises(StoreError, match="no annotation set with id 99"):
        store.load_annotation_set(99)
    assert len(store.list_annotation_sets()) == 1
    assert not list((store.files_dir / "annotation_sets").glob(".*"))


def test_latest_review_decision_wins_and_history_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        pid = s.get_or_create_project("p", user="ann")
        sid = _annotation_set(s, pid)
        assert s.save_review_decision(sid, "a", decision="dog", user="ann")
        assert s.save_review_decision(
            sid, "a", decision="borderline", note="tail hidden", user="bob"
        )
        assert not s.save_review_decision(
            sid, "a", decision="borderline", note=" tail hidden ", user="bob"
        )  # no change
        assert s.save_review_decision(sid, "b", decision=None, note="define 'dog'", user="ann")
        assert s.save_review_decision(sid, "c", decision="cat", user="ann")
        assert s.save_review_decision(sid, "c", decision=None, user="ann")  # withdrawn
    with Store(path) as s:
        latest = s.review_decisions(sid)
        assert latest["item"].tolist() == ["a", "b"]
        a = latest.iloc[0]
        assert (a["decision"], a["note"], a["user"]) == ("borderline", "tail hidden", "bob")
        assert latest.iloc[1]["decision"] is None
        assert latest.iloc[1]["note"] == "define 'dog'"
        history = s.review_decisions(sid, history=True)
        assert history["decision"].tolist() == ["dog", "borderline", None, "cat", None]
        events = s.events()
        decided = events[events["kind"] == "review.decide"]
        assert decided["user"].tolist() == ["ann", "bob", "ann", "ann", "ann"]
        first = json.loads(decided["detail"].iloc[1])
        assert first == {
            "annotation_set_id": sid,
            "item": "a",
            "decision": "borderline",
            "note": "tail hidden",
            "previous": "dog",
        }


def test_review_decision_errors_write_nothing(store: Store) -> None:
    pid = store.get_or_create_project("p", user="ann")
    sid = _annotation_set(store, pid)
    before = len(store.events())
    with pytest.raises(StoreError, match="has no item 'zz'"):
        store.save_review_decision(sid, "zz", decision="cat", user="ann")
    with pytest.raises(StoreError, match="user must name"):
        store.save_review_decision(sid, "a", decision="cat", user=" ")
    with pytest.raises(StoreError, match="no annotation set"):
        store.save_review_decision(sid + 1, "a", decision="cat", user="ann")
    assert len(store.events()) == before
    assert store.review_decisions(sid).empty


def test_delete_annotation_set_and_unlink_on_dataset_delete(store: Store, saved: int) -> None:
    pid = store.get_or_create_project("demo", user="ann")
    sid = _annotation_set(store, pid, linked_dataset_id=saved)
    store.save_review_decision(sid, "a", decision="cat", user="ann")
    store.delete_dataset(saved, user="ann")
    assert store.list_annotation_sets(pid)["linked_dataset_id"].isna().all()
    store.delete_annotation_set(sid, user="bob")
    assert store.list_annotation_sets().empty
    assert not (store.files_dir / "annotation_sets" / f"{sid}.parquet").exists()
    assert store.db.execute("SELECT COUNT(*) FROM review_decisions").fetchone()[0] == 0
    assert store.events()["kind"].iloc[-1] == "annotation_set.delete"


def test_annotation_hlp_saved_to_tag_settings_with_its_source(store: Store, saved: int) -> None:
    pid = store.get_or_create_project("demo", user="ann")
    sid = _annotation_set(store, pid, linked_dataset_id=saved)
    store.apply_annotation_hlp(sid, saved, {"noisy": 0.9, "night": 0.75}, user="bob")
    assert store.tag_settings(saved)["hlp"] == {"noisy": 0.9, "night": 0.75}
    sources = store.hlp_sources(saved)
    assert set(sources) == {"noisy", "night"}
    assert sources["noisy"]["name"] == "round 1" and sources["noisy"]["user"] == "bob"
    # typing another value, or renaming, follows the tag
    store.set_tag_settings(saved, "noisy", hlp=0.8, user="ann")
    store.rename_tag(saved, "night", "at night", user="ann")
    assert set(store.hlp_sources(saved)) == {"at night"}
    # an unknown tag saves nothing
    with pytest.raises(StoreError, match="no tag 'nope'"):
        store.apply_annotation_hlp(sid, saved, {"noisy": 0.5, "nope": 0.5}, user="bob")
    assert store.tag_settings(saved)["hlp"]["noisy"] == 0.8
