"""Production samples in store upkeep: orphan files are removed on opening, and
``recover_store`` copies the samples' rows, files and drift thresholds (a real store each).

As annotation sets' files are handled (tests/test_store.py, tests/test_store_recover.py):
what is checked is read back with plain sqlite3 and file hashes, never from the store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pandas.testing as tm
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import (
    PRODUCTION_DIR,
    STALE_STAGING_SECONDS,
    Store,
    files_dir_of,
    recover_store,
)
from slicewise.core.task import TaskSpec

USER = "ann"


def _table(k: int) -> pd.DataFrame:
    return pd.DataFrame({"prediction": ["1", "0", "1"], "site": ["north", "south", f"s{k}"]})


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A store with a dataset, two production samples of it and two thresholds."""
    db = tmp_path / "old" / "sw.db"
    db.parent.mkdir()
    with Store(db) as store:
        pid = store.get_or_create_project("p", user=USER)
        frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "prediction": [0, 1]})
        ds = dataset_from_frame(frame, ColumnMapping(), name="ref.csv")
        did = store.save_dataset(pid, "ref", ds, task=TaskSpec(), user=USER)
        store.save_production_sample(did, "w1", _table(1), source_name="w1.csv", user=USER)
        store.save_production_sample(did, "w2", _table(2), source_name="w2.csv", user=USER)
        store.set_drift_thresholds(pid, {"site": 0.2, "age": 0.05}, user=USER)
    return db


def _rows(db: Path, table: str) -> set[tuple]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute(f'SELECT * FROM "{table}"').fetchall())
    finally:
        conn.close()


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _files_of(db: Path) -> Path:
    return files_dir_of(db)


# ------------------------------------------------------------------------ orphan files


def test_reopening_removes_orphan_and_stale_production_files_but_not_a_live_save(old: Path):
    folder = _files_of(old) / PRODUCTION_DIR
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["1.parquet", "2.parquet"]
    stale = time.time() - STALE_STAGING_SECONDS - 60
    # What killed saves and deletes leave: a file whose row was never committed, one
    # moved aside by a delete, an abandoned staging copy, and one still being written.
    (folder / "3.parquet").write_bytes(b"orphan")
    (folder / ".deleted-abc.parquet").write_bytes(b"trash")
    (folder / ".staging-old.parquet").write_bytes(b"half")
    os.utime(folder / ".staging-old.parquet", (stale, stale))
    (folder / ".staging-live.parquet").write_bytes(b"half")
    with Store(old) as store:
        assert sorted(p.name for p in folder.iterdir()) == [".staging-live.parquet", *kept]
        tm.assert_frame_equal(store.load_production_sample(1), _table(1))


def test_a_file_whose_row_was_deleted_outside_is_removed_on_reopening(old: Path):
    conn = sqlite3.connect(old)
    with conn:
        conn.execute("DELETE FROM production_samples WHERE id = 2")
    conn.close()
    with Store(old):
        pass
    assert sorted(p.name for p in (_files_of(old) / PRODUCTION_DIR).iterdir()) == ["1.parquet"]


# ------------------------------------------------------------------------ recovery


def test_recovery_copies_samples_thresholds_and_their_files(old: Path, tmp_path: Path):
    new = tmp_path / "new" / "sw.db"
    before = {t: _rows(old, t) for t in ("production_samples", "drift_thresholds")}
    assert len(before["production_samples"]) == 2 and len(before["drift_thresholds"]) == 2
    report = recover_store(old, new)
    assert report.complete and report.production_files_missing == []
    assert report.tables["production_samples"].copied == 2
    assert report.tables["drift_thresholds"].copied == 2
    assert {t: _rows(new, t) for t in before} == before
    folder = PRODUCTION_DIR
    assert _hashes(_files_of(new) / folder) == _hashes(_files_of(old) / folder)
    with Store(new) as store:
        pid = int(store.list_projects()["id"].iloc[0])
        assert store.drift_thresholds(pid) == {"age": 0.05, "site": 0.2}
        for sid in (1, 2):
            tm.assert_frame_equal(store.load_production_sample(sid), _table(sid))


def test_a_sample_whose_file_is_missing_is_reported_and_the_store_incomplete(
    old: Path, tmp_path: Path
):
    (_files_of(old) / PRODUCTION_DIR / "2.parquet").unlink()
    report = recover_store(old, tmp_path / "new" / "sw.db")
    assert report.production_files_missing == [2]
    assert not report.complete
    assert report.as_dict()["production_files_missing"] == [2]


def test_the_recover_command_names_the_samples_whose_files_are_missing(old: Path, tmp_path: Path):
    (_files_of(old) / PRODUCTION_DIR / "1.parquet").unlink()
    new = tmp_path / "new" / "sw.db"
    result = CliRunner().invoke(main, ["recover", "--db", str(old), "--to", str(new)])
    assert "production samples 1: their files are missing" in result.output


def test_the_id_of_a_lost_sample_whose_file_survives_is_never_given_again(
    old: Path, tmp_path: Path
):
    # The row of sample 2 is lost and the id sequence with it; its file names the id.
    conn = sqlite3.connect(old)
    with conn:
        conn.execute("DELETE FROM production_samples WHERE id = 2")
        conn.execute("UPDATE sqlite_sequence SET seq = 1 WHERE name = 'production_samples'")
    conn.close()
    new = tmp_path / "new" / "sw.db"
    recover_store(old, new)
    with Store(new) as store:
        did = int(store.list_datasets()["id"].iloc[0])
        sid = store.save_production_sample(did, "w3", _table(3), source_name="w3", user=USER)
    assert sid == 3


def test_a_store_older_than_production_samples_recovers(tmp_path: Path):
    v4 = Path(__file__).resolve().parent / "data" / "store_v4" / "slicewise.db"
    old = tmp_path / "old" / "sw.db"
    old.parent.mkdir()
    shutil.copy2(v4, old)
    if (v4.parent / "slicewise_files").is_dir():
        shutil.copytree(v4.parent / "slicewise_files", _files_of(old))
    report = recover_store(old, tmp_path / "new" / "sw.db")
    assert report.production_files_missing == []
    with Store(tmp_path / "new" / "sw.db") as store:
        assert store.list_production_samples().empty
