"""Schema 4 moves tags, hand values and corrections to the project without losing any.

The schema-3 database is made by the schema-3 code itself (``core/store.py`` at
:data:`V3_COMMIT`): committed under ``tests/data/store_v3`` (built by :func:`build_v3`), and
built afresh from git history when that commit is available. It holds project "pets" with two
datasets of the same examples (two models), each with file tags, hand values, settings and
corrections, and project "other" with the same ids. Expected values after the migration are
written out by hand below; the only values that change are those the issue asks to change
(a hand value of one dataset now applies to the other; a conflict keeps the latest).

To rebuild the committed fixture::

    git show d171013bd19adc6d292bf8d5d2b13e7a3c6d5fde:core/store.py > /tmp/store_v3.py
    python -c "import sys; sys.path[:0] = ['/tmp', 'tests']; import store_v3; \\
        from test_store_migration_4 import build_v3; \\
        build_v3(store_v3.Store, 'tests/data/store_v3/slicewise.db')"
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

import slicewise.core.store as store_mod
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import MIGRATIONS, Store
from slicewise.core.task import TaskSpec
from tests.historical import load_from_git

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "data" / "store_v3"
#: The last commit whose core/store.py writes schema 3.
V3_COMMIT = "d171013bd19adc6d292bf8d5d2b13e7a3c6d5fde"

IDS = ["a", "b", "c", "d", "e", "f"]
LABELS = ["cat", "dog", "cat", "dog", "cat", "dog"]
T, F = True, False


def _dataset(predictions: list[str], **tags: list[bool]):
    frame = pd.DataFrame({"id": IDS, "label": LABELS, "prediction": predictions, **tags})
    return dataset_from_frame(frame, ColumnMapping(tag_columns=tuple(tags)), name="preds.csv")


def build_v3(store_cls: type, path: str | Path) -> None:
    """Fill a schema-3 database through the schema-3 ``Store`` (ids 1, 2, 3 in order)."""
    with store_cls(path) as s:
        pets = s.get_or_create_project("pets", user="ann")
        other = s.get_or_create_project("other", user="ann")
        v1 = s.save_dataset(
            pets,
            "v1",
            _dataset(
                ["cat", "cat", "dog", "dog", "cat", "cat"],
                noisy=[T, F, T, F, F, F],
                accent=[F, F, F, T, F, F],
            ),
            task=TaskSpec(),
            user="ann",
        )
        v2 = s.save_dataset(
            pets,
            "v2",
            _dataset(
                ["dog", "dog", "cat", "cat", "cat", "dog"],
                noisy=[T, T, T, T, F, F],
                night=[F, F, F, F, T, F],
            ),
            task=TaskSpec(),
            user="ann",
        )
        o = s.save_dataset(
            other, "o", _dataset(["cat"] * 6, noisy=[F] * 6), task=TaskSpec(), user="ann"
        )
        s.set_tag(v1, ["b"], "noisy", True, user="bob")
        s.set_tag(v1, ["d"], "noisy", True, user="bob")
        s.set_tag(v2, ["d"], "noisy", False, user="cid")  # later: disagrees with v1 on d
        s.create_tag(v1, "blurry", user="bob")
        s.set_tag(v1, ["f"], "blurry", True, user="bob")
        s.create_tag(v2, "blurry", user="cid")
        s.set_tag(v2, ["f", "a"], "blurry", True, user="cid")
        s.set_tag(v1, ["e"], "accent", True, user="bob")
        s.set_tag_settings(v1, "noisy", hlp=0.9, importance=4, user="bob")
        s.set_tag_settings(v1, "accent", ease=2, user="bob")
        s.set_tag_settings(v2, "noisy", hlp=0.8, user="cid")  # later: its hlp is kept
        s.set_tag_settings(v2, "night", importance=5, user="cid")
        s.correct_label(v1, "b", "cat", user="bob", reason="meows")
        s.correct_label(v2, "e", "dog", user="cid")
        s.correct_label(v2, "f", "cat", user="cid")
        s.revert_correction(v2, "f", user="cid")
        s.correct_label(v1, "a", "dog", user="bob")
        s.correct_label(v2, "a", "fox", user="cid")  # later: disagrees with v1 on a
        s.set_tag(o, ["a"], "noisy", True, user="eve")
        s.set_tag_settings(o, "noisy", hlp=0.5, user="eve")
        s.correct_label(o, "c", "dog", user="eve")
        assert (v1, v2, o) == (1, 2, 3)


def _v3_module(folder: Path) -> types.ModuleType:
    return load_from_git(V3_COMMIT, "core/store.py", "store_v3", folder)


@pytest.fixture(params=["committed fixture", "built now by the schema-3 code"])
def v3_db(request, tmp_path: Path) -> Path:
    """A schema-3 database (with its Parquet files) in the test's own folder."""
    db = tmp_path / "v3" / "slicewise.db"
    if request.param == "committed fixture":
        shutil.copytree(FIXTURE, db.parent)
    else:
        db.parent.mkdir()
        build_v3(_v3_module(tmp_path).Store, db)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    finally:
        conn.close()
    return db


# What the migrated database must hold (by hand from build_v3). Project tags come in the
# order of their oldest row: noisy (v1), accent (v1), night (v2), blurry (v1's, made later).
WANT_TAGS = {
    1: pd.DataFrame(
        {
            "noisy": [T, T, T, F, F, F],  # file T,F,T,F,F,F; b by hand; d: v2's later False wins
            "accent": [F, F, F, T, T, F],  # file, and e by hand
            "night": [F] * 6,  # no such column in v1's file, no hand value
            "blurry": [T, F, F, F, F, T],  # f by hand here; a by hand on v2 (union)
        }
    ),
    2: pd.DataFrame(
        {
            "noisy": [T, T, T, F, F, F],  # file T,T,T,T,F,F; d by hand (False)
            "accent": [F, F, F, F, T, F],  # no column here; e by hand on v1
            "night": [F, F, F, F, T, F],  # file
            "blurry": [T, F, F, F, F, T],
        }
    ),
    3: pd.DataFrame({"noisy": [T, F, F, F, F, F]}),  # the other project: its own
}
# Active corrections per project, oldest first: v2's later "fox" for a wins; f was reverted.
WANT_FIXES = {
    1: [["b", "dog", "cat", "bob"], ["e", "cat", "dog", "cid"], ["a", "cat", "fox", "cid"]],
    2: [["b", "dog", "cat", "bob"], ["e", "cat", "dog", "cid"], ["a", "cat", "fox", "cid"]],
    3: [["c", "cat", "dog", "eve"]],
}
WANT_SETTINGS = {
    1: {"hlp": {"noisy": 0.8}, "importance": {"noisy": 4, "night": 5}, "ease": {"accent": 2}},
    3: {"hlp": {"noisy": 0.5}, "importance": {}, "ease": {}},
}


def test_migration_keeps_every_tag_value_setting_and_correction(v3_db: Path) -> None:
    with Store(v3_db) as s:
        assert s.schema_version == len(MIGRATIONS) >= 4
        for did, want in WANT_TAGS.items():
            pd.testing.assert_frame_equal(s.tag_matrix(did), want, obj=f"dataset {did}")
            fixes = s.corrections(did)
            assert (
                fixes[["example_id", "original", "corrected", "user"]].values.tolist()
                == WANT_FIXES[did]
            ), did
        for did in (1, 2):
            assert s.tag_settings(did) == WANT_SETTINGS[1]
        assert s.tag_settings(3) == WANT_SETTINGS[3]
        assert s.load_dataset(1).frame["label"].tolist() == [
            "fox",
            "cat",
            "cat",
            "dog",
            "dog",
            "dog",
        ]
        assert s.corrections(1)["reason"].tolist() == ["meows", "", ""]
        tags = s.list_tags(2).set_index("name")
        assert tags.loc["noisy", "created_by"] == "ann"
        assert tags.loc["noisy", "updated_by"] == "cid"  # the latest update of either
        assert tags.loc["blurry", "created_by"] == "bob"  # the oldest creation
        # A tag from a file column is decided from the data as `analyze` does ("auto": a
        # column only errors carry was filled on errors), a hand-made one known where reviewed.
        assert s.tag_scopes(1) == {
            "noisy": "auto",
            "accent": "auto",
            "night": "none",
            "blurry": "none",
        }
        assert s.tag_scopes(2) == {
            "noisy": "auto",
            "accent": "none",
            "night": "auto",
            "blurry": "none",
        }
        reviewed = s.reviewed_matrix(1)
        assert reviewed["blurry"].tolist() == [T, F, F, F, F, T]
        assert reviewed["noisy"].tolist() == [F, T, F, T, F, F]
        assert set(s.db.table_names()).isdisjoint(
            {"tags_v3", "tag_overrides_v3", "label_corrections_v3"}
        )
        assert s.db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert s.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_migration_records_the_merges_and_conflicts(v3_db: Path) -> None:
    with Store(v3_db) as s:
        log = s.events()
        migrated = log[log["kind"] == "schema.migrate"]
        assert migrated["project_id"].tolist() == [1, 2]
        assert (migrated["user"] == store_mod.MIGRATION_USER).all()
        pets = json.loads(migrated["detail"].iloc[0])
        assert [m["tag"] for m in pets["merged_tags"]] == ["noisy", "blurry"]
        noisy = pets["merged_tags"][0]
        assert noisy["datasets"] == [1, 2]
        assert noisy["settings_kept"] == {"hlp": 0.8, "importance": 4, "ease": None}
        assert noisy["settings_differed"] == {
            "hlp": [{"dataset_id": 1, "hlp": 0.9}, {"dataset_id": 2, "hlp": 0.8}]
        }
        assert pets["value_conflicts"] == 1
        conflict = pets["values"][0]
        assert (conflict["tag"], conflict["example_id"], conflict["kept"]) == ("noisy", "d", False)
        assert [(v["dataset_id"], v["value"], v["user"]) for v in conflict["values"]] == [
            (1, True, "bob"),
            (2, False, "cid"),
        ]
        assert pets["correction_conflicts"] == 1
        assert pets["corrections"] == [
            {
                "example_id": "a",
                "kept": "fox",
                "values": [
                    {"dataset_id": 1, "corrected": "dog"},
                    {"dataset_id": 2, "corrected": "fox"},
                ],
            }
        ]
        other = json.loads(migrated["detail"].iloc[1])
        assert other["merged_tags"] == [] and other["value_conflicts"] == 0
        # The history from before the migration is all there.
        assert (log["kind"] == "tag.set").sum() == 7


def test_the_migrated_store_works_as_a_project_store(v3_db: Path) -> None:
    with Store(v3_db) as s:
        s.set_tag(2, ["c"], "accent", True, user="dan")
        assert s.tag_matrix(1)["accent"].tolist() == [F, F, T, T, T, F]
        assert s.undo_last(1, user="dan") == "tagged 1 example as 'accent'"
        s.create_tag(1, "new", user="dan")
        assert list(s.tag_matrix(2).columns) == ["noisy", "accent", "night", "blurry", "new"]
        s.correct_label(2, "c", "dog", user="dan")
        assert s.corrections(1)["example_id"].tolist() == ["b", "e", "a", "c"]
        s.delete_dataset(1, user="dan")
        pd.testing.assert_frame_equal(
            s.tag_matrix(2)[["noisy", "accent", "night", "blurry"]], WANT_TAGS[2]
        )


# --------------------------------------------------------------------------- crash safety


@pytest.fixture
def plain_main(monkeypatch):
    """A spawned child re-runs the parent's ``__main__``; keep it a plain module."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def killed_migration_child(db: str) -> None:
    """Run the migration to schema 4 and die by SIGKILL before it commits."""
    real = store_mod.MIGRATIONS[3]

    def migrate_then_die(database) -> None:
        real(database)
        os.kill(os.getpid(), signal.SIGKILL)

    store_mod.MIGRATIONS[3] = migrate_then_die
    Store(db)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_migration_killed_before_it_commits_leaves_schema_3_whole(
    tmp_path: Path, plain_main
) -> None:
    db = tmp_path / "v3" / "slicewise.db"
    shutil.copytree(FIXTURE, db.parent)
    proc = mp.get_context("spawn").Process(target=killed_migration_child, args=(str(db),))
    proc.start()
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    conn = sqlite3.connect(db)  # replays or drops the WAL, as any reader would
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"tags", "tag_overrides", "label_corrections"} <= tables
        assert not tables & {"tag_bases", "tags_v3", "reviewed_examples"}
        assert conn.execute("SELECT COUNT(*) FROM tag_overrides").fetchone()[0] == 8
        assert "dataset_id" in {r[1] for r in conn.execute("PRAGMA table_info(tags)")}
    finally:
        conn.close()
    with Store(db) as s:  # the next open migrates it whole
        assert s.schema_version == len(MIGRATIONS) >= 4
        for did, want in WANT_TAGS.items():
            pd.testing.assert_frame_equal(s.tag_matrix(did), want)
