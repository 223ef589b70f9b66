"""Schema 5 adds project members and keeps every row of a schema-4 store as it was.

The schema-4 database is made by the schema-4 code itself (``core/store.py`` at
:data:`V4_COMMIT`): committed under ``tests/data/store_v4`` (built by :func:`build_v4`), and
built afresh from git history when that commit is available. After the migration every
table of schema 4 holds exactly the rows it held (read with plain sqlite3 before and after),
the members table is empty, so the store stays open (today's behaviour) until someone signs
in.

To rebuild the committed fixture::

    git show 8843f165d029d43d7a05d0e598be2aa15d6c712e:core/store.py > /tmp/store_v4.py
    python -c "import sys; sys.path[:0] = ['/tmp', 'tests']; import store_v4; \\
        from test_store_migration_5 import build_v4; \\
        build_v4(store_v4.Store, 'tests/data/store_v4/slicewise.db')"
"""

from __future__ import annotations

import shutil
import sqlite3
import types
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import PermissionDenied
from slicewise.core.store import MIGRATIONS, Store
from slicewise.core.task import TaskSpec
from tests.historical import load_from_git

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "data" / "store_v4"
#: The last commit whose core/store.py writes schema 4.
V4_COMMIT = "8843f165d029d43d7a05d0e598be2aa15d6c712e"
T, F = True, False


def _dataset(predictions: list[str], **tags: list[bool]):
    frame = pd.DataFrame(
        {
            "id": list("abcd"),
            "label": ["cat", "dog", "cat", "dog"],
            "prediction": predictions,
            **tags,
        }
    )
    return dataset_from_frame(frame, ColumnMapping(tag_columns=tuple(tags)), name="preds.csv")


def build_v4(store_cls: type, path: str | Path) -> None:
    """Fill a schema-4 database through the schema-4 ``Store``: every kind of record."""
    with store_cls(path) as s:
        pets = s.get_or_create_project("pets", user="ann")
        other = s.get_or_create_project("other", user="bob")
        v1 = s.save_dataset(
            pets,
            "v1",
            _dataset(["cat", "cat", "dog", "dog"], noisy=[T, F, T, F]),
            task=TaskSpec(),
            user="ann",
        )
        o = s.save_dataset(
            other, "o", _dataset(["cat"] * 4, night=[F, T, F, F]), task=TaskSpec(), user="bob"
        )
        s.set_tag(v1, ["b"], "noisy", True, user="bob")
        s.create_tag(v1, "blurry", user="bob")
        s.apply_tag_rule(v1, ["d"], "blurry", True, scope="all", user="bob", rule="x == y")
        s.set_tag_settings(v1, "noisy", hlp=0.9, importance=4, user="bob")
        s.mark_reviewed(v1, ["a"], user="cid")
        sample = s.save_review_sample(
            v1,
            seed=3,
            sizes={"errors": 1},
            example_ids={"errors": ["c"]},
            population={"errors": 2},
            user="cid",
        )
        s.mark_reviewed(v1, ["c"], user="cid", sample_id=sample)
        s.correct_label(v1, "c", "dog", user="cid", reason="barks")
        s.save_iteration(pets, v1, model_name="m", table=analyze(s.load_dataset(v1)), user="ann")
        labels = pd.DataFrame(
            {"item": ["a", "a"], "annotator": ["x", "y"], "label": ["cat", "dog"]}
        )
        set_id = s.save_annotation_set(
            pets,
            "round 1",
            labels,
            source_name="l.csv",
            content_hash="h",
            user="ann",
            linked_dataset_id=v1,
        )
        s.save_review_decision(set_id, "a", decision="cat", note="clear", user="cid")
        s.save_report(v1, "csv", "r.csv", "a,b", user="ann")
        s.set_tag(o, ["a"], "night", True, user="bob")
        assert (pets, other, v1, o) == (1, 2, 1, 2)


def _v4_module(folder: Path) -> types.ModuleType:
    return load_from_git(V4_COMMIT, "core/store.py", "store_v4", folder)


def _rows(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read with plain sqlite3 (no Store, no migration)."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }
    finally:
        conn.close()


@pytest.fixture(params=["committed fixture", "built now by the schema-4 code"])
def v4_db(request, tmp_path: Path) -> Path:
    """A schema-4 database (with its Parquet files) in the test's own folder."""
    db = tmp_path / "v4" / "slicewise.db"
    if request.param == "committed fixture":
        shutil.copytree(FIXTURE, db.parent)
    else:
        db.parent.mkdir()
        build_v4(_v4_module(tmp_path).Store, db)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    finally:
        conn.close()
    return db


def test_migration_keeps_every_row_and_adds_no_member(v4_db: Path) -> None:
    before = _rows(v4_db)
    assert len(before["events"]) == 17 and len(before["tag_overrides"]) == 3
    with Store(v4_db) as s:
        assert s.schema_version == len(MIGRATIONS) >= 5
    after = _rows(v4_db)
    assert after.pop("members") == []
    assert after.pop("production_samples") == after.pop("drift_thresholds") == []  # schema 6
    assert after == before
    conn = sqlite3.connect(v4_db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_the_migrated_store_stays_open_until_someone_signs_in(v4_db: Path) -> None:
    with Store(v4_db) as s:
        assert not s.roles_enforced()
        assert s.role(1, "anyone") == "owner"
        assert s.tag_matrix(1).to_dict("list") == {"noisy": [T, T, T, F], "blurry": [F, F, F, T]}
        assert s.corrections(1)["corrected"].tolist() == ["dog"]
        s.set_tag(1, ["a"], "noisy", False, user="dan")  # as before: anyone writes
        assert s.sign_in("ann@example.org") == (
            "ann@example.org is the first user of this store and the owner of its 2 projects"
        )
        with pytest.raises(PermissionDenied, match="dan cannot delete a dataset"):
            s.delete_dataset(1, user="dan")
        s.set_member(1, "dan", "annotator", user="ann@example.org")
        s.set_tag(1, ["a"], "noisy", True, user="dan")
        assert s.list_projects("dan")["name"].tolist() == ["pets"]
