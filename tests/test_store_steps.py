"""The shared checks and named steps of the store's writes (core/store/common.py and the
module-level steps of the mixins), each against hand-worked values."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slicewise.core.errors import (
    ConflictError,
    DiskFull,
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store import Store
from slicewise.core.store.common import (
    _check_bool,
    _check_same_project,
    _check_text,
    _insert,
    _row_by_id,
    _stamped,
)
from slicewise.core.store.files import _from_ipc, _stage_parquet, _staged
from slicewise.core.store.reports import _check_report
from slicewise.core.store.review_samples import _check_sample
from slicewise.core.store.tag_settings import _check_settings
from slicewise.core.store.tag_values import _HandPlan
from slicewise.core.store.tags import _check_merge, _merged_bases


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "slicewise.db")
    yield s
    s.close()


# ------------------------------------------------------------------- common checks


def test_check_bool_takes_python_and_numpy_booleans_only() -> None:
    assert _check_bool(True, "reviewed") is True
    assert _check_bool(np.bool_(False), "reviewed") is False
    with pytest.raises(StoreValueError, match=r"^reviewed must be True or False, got 1$"):
        _check_bool(1, "reviewed")
    with pytest.raises(StoreValueError, match="a tag value must be True or False, got 'yes'"):
        _check_bool("yes", "a tag value")


def test_check_text_strips_and_refuses_non_text() -> None:
    assert _check_text("  typo in the label \n", "reason") == "typo in the label"
    assert _check_text("", "reason") == ""
    with pytest.raises(StoreValueError, match=r"^reason must be text, got 5$"):
        _check_text(5, "reason")


def test_row_by_id_reads_one_row_or_names_what_is_missing(store: Store) -> None:
    pid = store.get_or_create_project("birds", user="ann")
    assert _row_by_id(store, "projects", pid, "project")["name"] == "birds"
    assert _row_by_id(store, "projects", np.int64(pid), "project", "id, name") == {
        "id": pid,
        "name": "birds",
    }
    with pytest.raises(NotFoundError, match=r"^no project with id 999$"):
        _row_by_id(store, "projects", 999, "project")
    with pytest.raises(StoreValueError, match="review sample id must be an integer, got '1'"):
        _row_by_id(store, "review_samples", "1", "review sample")


def test_check_same_project_names_both_projects() -> None:
    row = {"id": 3, "project_id": 1}
    assert _check_same_project(row, 1) == 3
    with pytest.raises(ConflictError, match=r"^dataset 3 belongs to project 1, not 2$"):
        _check_same_project(row, 2)
    with pytest.raises(ConflictError, match=r"^dataset 3 belongs to project 1, not 2: why$"):
        _check_same_project(row, 2, "why")


def test_stamped_insert_writes_who_and_when(store: Store) -> None:
    pid = store.get_or_create_project("p", user="ann")
    record = _stamped({"project_id": pid, "name": "noisy"}, "bob", "2024-01-02T03:04:05")
    assert record == {
        "project_id": pid,
        "name": "noisy",
        "created_at": "2024-01-02T03:04:05",
        "created_by": "bob",
        "updated_at": "2024-01-02T03:04:05",
        "updated_by": "bob",
    }
    with store._write():
        first = _insert(store, "tags", record)
        second = _insert(store, "tags", {**record, "name": "blurry"})
    assert second == first + 1
    assert _row_by_id(store, "tags", second, "tag")["updated_by"] == "bob"


# ------------------------------------------------------------------- staged files


def test_stage_parquet_turns_unstorable_frames_into_a_store_error(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"x": pd.Series([1, "two", b"3"], dtype=object)})
    with pytest.raises(StoreValueError, match=r"^dataset 'd' cannot be stored as Parquet: "):
        _stage_parquet(mixed, tmp_path / "f.parquet", "dataset 'd'")
    assert list(tmp_path.iterdir()) == []
    _stage_parquet(pd.DataFrame({"x": [1, 2]}), tmp_path / "ok.parquet", "dataset 'd'")
    assert pd.read_parquet(tmp_path / "ok.parquet")["x"].tolist() == [1, 2]


def test_staged_removes_the_staged_copy_or_the_moved_one_on_failure(store: Store) -> None:
    folder = store.files_dir
    folder.mkdir(parents=True, exist_ok=True)
    with pytest.raises(RuntimeError), _staged(store, folder / ".staging-a", tree=True) as st:
        st.path.mkdir()
        (st.path / "x").write_text("x")
        raise RuntimeError("before the move")
    assert list(folder.iterdir()) == []
    with pytest.raises(RuntimeError), _staged(store, folder / ".staging-b", tree=False) as st:
        st.path.write_text("x")
        st.move_to(folder / "7.parquet")
        raise RuntimeError("after the move")
    assert list(folder.iterdir()) == []
    with _staged(store, folder / ".staging-c", tree=False) as st:
        st.path.write_text("kept")
        st.move_to(folder / "8.parquet")
    assert [p.name for p in folder.iterdir()] == ["8.parquet"]


def test_staged_turns_a_full_disk_into_disk_full(store: Store) -> None:
    store.files_dir.mkdir(parents=True, exist_ok=True)
    with pytest.raises(DiskFull), _staged(store, store.files_dir / ".staging", tree=True):
        raise OSError(errno.ENOSPC, "No space left on device")


# ------------------------------------------------------------------- steps of the writes


def test_merged_bases_unions_columns_and_takes_the_narrowest_scope() -> None:
    bases = {
        10: {
            1: {"base_columns": ["a"], "scope": "all"},
            2: {"base_columns": ["b", "a"], "scope": "errors"},
        },
        11: {2: {"base_columns": ["c"], "scope": "all"}},  # tag 1 has no base: "none"
    }
    assert _merged_bases(bases, [1, 2]) == [(10, '["a", "b"]', "errors"), (11, '["c"]', "none")]
    assert _merged_bases(bases, [2, 1]) == [(10, '["b", "a"]', "errors"), (11, '["c"]', "none")]


def test_check_merge_drops_repeated_sources() -> None:
    assert _check_merge("noisy", " loud ", " ann ") == (["noisy"], "loud", "ann")
    assert _check_merge(["a", "b", "a"], "a", "ann") == (["a", "b"], "a", "ann")
    with pytest.raises(StoreValueError, match="needs at least one source tag"):
        _check_merge([], "a", "ann")


def test_check_sample_keys_by_stripped_strata_and_refuses_bad_counts() -> None:
    seed, sizes, population, drawn = _check_sample(
        7,
        {" errors ": 2, "correct": 1},
        {"errors": [1, "2"], "correct": ["3"]},
        {"errors": 5, "correct": 9},
    )
    assert seed == 7
    assert sizes == {"errors": 2, "correct": 1}
    assert population == {"errors": 5, "correct": 9}
    assert drawn == {"errors": ["1", "2"], "correct": ["3"]}
    with pytest.raises(StoreValueError, match=r"stratum 'e' holds 2 ids, more than its size \(1\)"):
        _check_sample(None, {"e": 1}, {"e": ["a", "b"]}, {"e": 4})
    with pytest.raises(StoreValueError, match="ids in two strata: 'a'"):
        _check_sample(None, {"e": 1, "c": 1}, {"e": ["a"], "c": ["a"]}, {"e": 1, "c": 1})
    with pytest.raises(StoreValueError, match="the population must be a whole number from 0"):
        _check_sample(None, {"e": 1}, {"e": []}, {"e": -1})
    with pytest.raises(StoreValueError, match="seed must be a whole number or None, got True"):
        _check_sample(True, {"e": 1}, {"e": []}, {"e": 1})


def test_check_settings_keeps_order_and_clears() -> None:
    changes = _check_settings(hlp=(0.9, False), importance=(None, True), ease=(3.0, False))
    assert changes == {"hlp": 0.9, "importance": None, "ease": 3}
    assert list(changes) == ["hlp", "importance", "ease"]
    assert isinstance(changes["ease"], int)
    assert _check_settings(hlp=(None, False), importance=(None, False), ease=(None, False)) == {}
    with pytest.raises(StoreValueError, match="either a new ease or clear_ease=True, not both"):
        _check_settings(hlp=(None, False), importance=(None, False), ease=(2, True))


def test_check_report_lower_cases_the_format_and_encodes_text() -> None:
    assert _check_report(" HTML ", " r.html ", "é") == ("html", "r.html", b"\xc3\xa9")
    assert _check_report("csv", "a.csv", bytearray(b"a,b")) == ("csv", "a.csv", b"a,b")
    with pytest.raises(StoreValueError, match="report content must be text or bytes"):
        _check_report("csv", "a.csv", 5)


def test_hand_plan_counts_and_undo_rows() -> None:
    # Ids x (stored True by ann), y (none), z (stored False by bob); the new value is True.
    plan = _HandPlan(
        ids=np.array(["x", "y", "z"], dtype=object),
        before=np.array([1, -1, 0], dtype=np.int8),
        changed=np.array([False, True, True]),
        write=np.array([False, True, True]),
        found=(
            np.array(["z", "x"], dtype=object),
            np.array([0, 1], dtype=np.int8),
            np.array(["bob", "ann"], dtype=object),
            np.array(["t2", "t1"], dtype=object),
        ),
        where=np.array([1, -1, 0]),
    )
    assert (plan.n_changed, plan.n_write) == (2, 2)
    rows = _from_ipc(plan.undo_rows()).to_pydict()
    assert rows == {
        "example_id": ["y", "z"],
        "value": [-1, 0],
        "user": [None, "bob"],
        "at": [None, "t2"],
    }
