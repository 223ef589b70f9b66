"""Storage faults give typed errors with what to do, and lose nothing (issue 15).

Real faults only (see ``tests/faults.py``): pages of a real store file zeroed with its
header intact; a ``chmod 0444`` file in a ``0555`` folder opened by the user ``nobody``;
a read-only bind mount; SQLite's own ``PRAGMA max_page_count`` filling the database; a
2 MB tmpfs filling the disk under the Parquet files (and ``RLIMIT_FSIZE`` in a child
process, which makes writes past the limit fail with ``EFBIG``, where mounting is not
allowed). Expected contents are read back with a plain SQLite connection, not the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner
from faults import (
    ROOT,
    USER,
    as_nobody,
    build,
    counts,
    damage,
    dataset,
    files,
    integrity_ok,
    read_only_mount,
    shared_tmp,
    small_disk,
)

from slicewise.core.cli import main
from slicewise.core.errors import DiskFull, StoreDamaged, StoreReadOnly
from slicewise.core.store import CHECKED_XATTR, Store
from slicewise.core.task import TaskSpec

HINT = (".recover", "restore a backup", "cp -a")


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_raw_sqlite_error(exc: BaseException) -> None:
    """The error is the store's own type, not one of sqlite3's."""
    assert not isinstance(exc, sqlite3.Error), type(exc)


# ------------------------------------------------------------------------ a damaged store


@pytest.fixture
def damaged(tmp_path):
    db = tmp_path / "sw.db"
    ids = build(db)
    assert integrity_ok(db)
    pages = damage(db)  # the datasets and events tables lose their root pages
    assert not integrity_ok(db)  # what the issue saw: the file is damaged
    return db, ids, pages


def test_a_damaged_store_opens_read_only_and_says_how_to_recover(damaged):
    db, ids, _ = damaged
    with Store(db) as store:
        assert store.read_only and store.damaged
        reason = store.read_only_reason
        assert str(db) in reason and "damaged" in reason and "quick_check" in reason
        assert all(h in reason for h in HINT), reason
        # what is not damaged still reads
        assert store.list_projects()["name"].tolist() == ["faults"]
        assert store.list_reports()["id"].tolist() == [ids["report"]]
        assert store.report_content(ids["report"]) == b"# what we found\n"


@pytest.mark.parametrize(
    "read",
    [
        lambda s, ids: s.list_datasets(),
        lambda s, ids: s.events(),
        lambda s, ids: s.load_dataset(ids["dataset"]),
        lambda s, ids: s.tag_matrix(ids["dataset"]),
    ],
    ids=["list_datasets", "events", "load_dataset", "tag_matrix"],
)
def test_a_read_that_hits_damage_raises_store_damaged(damaged, read):
    db, ids, _ = damaged
    with Store(db) as store, pytest.raises(StoreDamaged) as caught:
        read(store, ids)
    no_raw_sqlite_error(caught.value)
    assert "damaged" in str(caught.value) and all(h in str(caught.value) for h in HINT)


@pytest.mark.parametrize(
    "write",
    [
        lambda s, ids: s.get_or_create_project("another", user=USER),
        lambda s, ids: s.save_report(ids["dataset"], "md", "r.md", "x", user=USER),
        lambda s, ids: s.create_tag(ids["dataset"], "glare", user=USER),
        lambda s, ids: s.save_dataset(
            ids["project"], "again", dataset(seed=1), task=TaskSpec(), user=USER
        ),
    ],
    ids=["project", "report", "tag", "dataset"],
)
def test_writes_to_a_damaged_store_are_refused_and_change_nothing(damaged, write):
    db, ids, _ = damaged
    before, listing = sha(db), files(db.parent / "sw_files")
    with Store(db) as store, pytest.raises(StoreDamaged) as caught:
        write(store, ids)
    no_raw_sqlite_error(caught.value)
    message = str(caught.value)
    assert str(db) in message and all(h in message for h in HINT), message
    assert sha(db) == before and files(db.parent / "sw_files") == listing


@pytest.mark.parametrize(
    "args",
    [
        ["tag", "--rule", "label == cat", "--tag", "cats", "--dataset", "1"],
        ["demo"],
    ],
    ids=["tag", "demo"],
)
def test_the_cli_on_a_damaged_store_says_so_in_one_line(damaged, args):
    db, _, _ = damaged
    result = CliRunner().invoke(main, [*args, "--db", str(db)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slicewise: error: ")
    assert "damaged" in lines[0] and ".recover" in lines[0]
    assert "Traceback" not in result.output and "DatabaseError" not in result.output


@pytest.mark.parametrize("spoil", ["text", "header"])
def test_a_file_that_is_not_a_database_is_refused_at_open(tmp_path, spoil):
    db = tmp_path / "sw.db"
    if spoil == "text":
        db.write_text("id,label\n1,cat\n")
    else:
        build(db)
        data = bytearray(db.read_bytes())
        data[:100] = bytes(100)
        db.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged, match="not a Slicewise database") as caught:
        Store(db)
    no_raw_sqlite_error(caught.value)
    assert str(db) in str(caught.value)


def test_quick_check_runs_again_once_the_file_changed(tmp_path):
    # A store closed after passing the check records the file's state; an unchanged file is
    # not read through again, a changed one is (damage made with dd changes the mtime).
    db = tmp_path / "sw.db"
    build(db)
    try:
        recorded = os.getxattr(db, CHECKED_XATTR).decode()
    except OSError as exc:
        pytest.skip(f"no user extended attributes here: {exc}")
    stat = db.stat()
    assert recorded == f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    damage(db, ("reports",))
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as if unchanged: not re-read
    with Store(db) as store:
        assert not store.damaged
    os.utime(db)  # a change the file's mtime shows: checked again
    with Store(db) as store:
        assert store.damaged and store.read_only


# ------------------------------------------------------------------------ read-only


def test_a_read_only_file_in_a_read_only_folder_reads_and_refuses_writes(tmp_path):
    # Root ignores file modes: the store is opened by the user nobody.
    with shared_tmp() as folder:
        db = folder / "store" / "sw.db"
        ids = build(db)
        expected = counts(db)
        for path in (db, db.parent / "sw_files", db.parent):
            path.chmod(0o444 if path.is_file() else 0o555)
        got = as_nobody(f"""
db = Path({str(db)!r})
out = {{}}
with Store(db) as store:
    out["read_only"], out["reason"] = store.read_only, store.read_only_reason
    out["datasets"] = store.list_datasets()["name"].tolist()
    out["rows"] = len(store.load_dataset({ids["dataset"]}).frame)
    out["tagged"] = int(store.tag_matrix({ids["dataset"]})["blurry"].sum())
    try:
        store.save_report({ids["dataset"]}, "md", "r.md", "x", user="ana")
    except Exception as exc:
        out["write"] = [type(exc).__name__, str(exc)]
cli = CliRunner().invoke(main, ["tag", "--db", str(db), "--dataset", "1",
                                "--rule", "label == cat", "--tag", "cats"])
out["cli"] = [cli.exit_code, cli.stderr]
out["beside"] = sorted(os.listdir(db.parent))
print(json.dumps(out))
""")
        assert got["read_only"] and "not writable by user nobody" in got["reason"]
        assert got["datasets"] == ["pets"] and got["rows"] == 40 and got["tagged"] == 2
        kind, message = got["write"]
        assert kind == "StoreReadOnly" and str(db.parent) in message
        assert "nothing was saved" in message and "--db or $SLICEWISE_DB" in message
        code, stderr = got["cli"]
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and "read-only" in stderr
        assert got["beside"] == ["sw.db", "sw_files"]  # SQLite wrote no -wal or -shm
        for path in (db.parent, db.parent / "sw_files"):
            path.chmod(0o755)
        assert counts(db) == expected


def test_a_store_on_a_read_only_mount_reads_and_refuses_writes(tmp_path):
    source = tmp_path / "disk"
    ids = build(source / "sw.db")
    with read_only_mount(source, tmp_path / "ro") as ro:
        db = ro / "sw.db"
        with Store(db) as store:
            assert store.read_only and not store.damaged
            assert "read-only file system" in store.read_only_reason
            assert store.list_datasets()["name"].tolist() == ["pets"]
            assert len(store.load_dataset(ids["dataset"]).frame) == 40
            with pytest.raises(StoreReadOnly, match="nothing was saved"):
                store.set_tag(ids["dataset"], ["e0003"], "blurry", True, user=USER)
            with pytest.raises(StoreReadOnly, match="nothing was saved"):
                store.save_dataset(
                    ids["project"], "again", dataset(seed=1), task=TaskSpec(), user=USER
                )
        with pytest.raises(StoreReadOnly, match="cannot create the database"):
            Store(ro / "new" / "sw.db")


# ------------------------------------------------------------------------ full


def test_a_full_database_raises_disk_full_and_keeps_everything(tmp_path):
    db = tmp_path / "sw.db"
    ids = build(db)
    expected, listing = counts(db), files(tmp_path / "sw_files")
    with Store(db) as store:
        before = store.list_reports()
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own limit: the file may not grow by a page (SQLITE_FULL, as a full disk)
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        writes = [
            lambda: store.save_report(
                ids["dataset"], "html", "big.html", os.urandom(1 << 20), user=USER
            ),
            # the Parquet files are written first, then the rows do not fit: files removed
            lambda: store.save_dataset(
                ids["project"], "wide", dataset(tags=300, seed=2), task=TaskSpec(), user=USER
            ),
        ]
        for write in writes:
            with pytest.raises(DiskFull, match="is full") as caught:
                write()
            no_raw_sqlite_error(caught.value)
            assert str(db) in str(caught.value) and "nothing was saved" in str(caught.value)
        assert store.list_reports().equals(before)
    assert counts(db) == expected and files(tmp_path / "sw_files") == listing
    with Store(db) as store:  # room again: the store works as before
        assert not store.read_only
        store.save_report(ids["dataset"], "md", "after.md", "ok", user=USER)
    assert counts(db)["reports"] == expected["reports"] + 1


def test_a_full_disk_under_the_files_raises_disk_full_and_keeps_everything(tmp_path):
    with small_disk(tmp_path / "disk", "2m") as disk:
        db = disk / "sw.db"
        ids = build(db)
        expected, listing = counts(db), files(disk / "sw_files")
        with Store(db) as store:
            # 400,000 rows: over 3 MB of Parquet, more than the disk has
            with pytest.raises(DiskFull, match="the disk holding .* is full") as caught:
                store.save_dataset(
                    ids["project"], "big", dataset(400_000, seed=3), task=TaskSpec(), user=USER
                )
            no_raw_sqlite_error(caught.value)
            assert str(disk) in str(caught.value)
            # a report larger than the room left: SQLite's SQLITE_FULL
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            with pytest.raises(DiskFull, match="is full"):
                store.save_report(
                    ids["dataset"], "html", "big.html", os.urandom(free + 4096), user=USER
                )
        assert counts(db) == expected and files(disk / "sw_files") == listing
        with Store(db) as store:
            assert (
                store.save_dataset(
                    ids["project"], "small", dataset(seed=4), task=TaskSpec(), user=USER
                )
                > ids["dataset"]
            )


_FSIZE_CHILD = """
import json, resource, signal, sys
from pathlib import Path
sys.path[:0] = [{root!r}, {tests!r}]
import faults
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
db = Path({db!r})
ids = faults.build(db)
big = faults.dataset(100_000, seed=3)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
with Store(db) as store:
    try:
        store.save_dataset(ids["project"], "big", big, task=TaskSpec(), user="ana")
        out = ["saved", ""]
    except Exception as exc:
        out = [type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def test_a_file_size_limit_raises_disk_full_and_keeps_everything(tmp_path):
    # Where no small disk can be mounted, the kernel's file size limit fails writes alike.
    db = tmp_path / "sw.db"
    script = _FSIZE_CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), db=str(db))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kind, message = json.loads(done.stdout.strip().splitlines()[-1])
    assert kind == "DiskFull" and "nothing was saved" in message, message
    assert "largest file" in message
    assert counts(db)["datasets"] == 1 and files(tmp_path / "sw_files") == [
        "1",
        *[f"1/{f}" for f in ("frame.parquet", "tags.parquet")],
    ]
