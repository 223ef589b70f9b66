"""`slicewise recover`: every row still readable in a damaged store reaches a new store.

Real damage only (issue 15): pages of a real store (the demo project plus members, a tag
with 3,000 hand values, 150 undo steps, reviews, a correction and a report) zeroed with
the file's header intact, as ``tests/faults.py`` does. What is still readable is found
independently of the recovery: every row the store held before the damage is looked up
alone, by its rowid (or its primary key), in the damaged file with plain sqlite3.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from faults import damage, files, integrity_ok, small_disk

from slicewise.core.cli import DEMO_DIR, main
from slicewise.core.demo import DEMO_PROJECT, DEMO_USER, create_demo_project
from slicewise.core.errors import DiskFull, StoreDamaged, StoreError
from slicewise.core.store import MIGRATIONS, Store, recover_store

USER = "ana"
V4_STORE = Path(__file__).resolve().parent / "data" / "store_v4" / "slicewise.db"
#: Tables whose rows belong to a dataset (``ON DELETE CASCADE``): they go with it.
OF_A_DATASET = ("tag_bases", "reports", "review_samples")


# ------------------------------------------------------------------------ plain sqlite3


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


def _key_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """``["rowid"]``, or the primary key's columns of a ``WITHOUT ROWID`` table."""
    if not conn.execute("SELECT wr FROM pragma_table_list WHERE name = ?", [table]).fetchone()[0]:
        return ["rowid"]
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]


def snapshot(db: Path) -> dict[str, dict[tuple, tuple]]:
    """Every row of every table by its key, read from a healthy file."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for t in _tables(conn):
            keys = _key_columns(conn, t)
            rows = conn.execute(f'SELECT {", ".join(keys)}, * FROM "{t}"').fetchall()
            out[t] = {r[: len(keys)]: r[len(keys) :] for r in rows}
        return out
    finally:
        conn.close()


def readable(db: Path, before: dict[str, dict[tuple, tuple]]) -> dict[str, dict[tuple, tuple]]:
    """The rows of ``before`` that a lookup by key still reads in the damaged file."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    out: dict[str, dict[tuple, tuple]] = {}
    try:
        for t, rows in before.items():
            keys = _key_columns(conn, t)
            where = " AND ".join(f"{k} = ?" for k in keys)
            out[t] = {}
            for key in rows:
                try:
                    got = conn.execute(f'SELECT * FROM "{t}" WHERE {where}', key).fetchall()
                except sqlite3.DatabaseError:
                    continue
                if got:
                    out[t][key] = got[0]
        return out
    finally:
        conn.close()


def rows_of(db: Path) -> dict[str, set[tuple]]:
    conn = sqlite3.connect(db)
    try:
        return {t: set(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in _tables(conn)}
    finally:
        conn.close()


def sequences(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    finally:
        conn.close()


def foreign_key_problems(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()


def leaves(db: Path, table: str) -> list[int]:
    """The leaf pages of a table's b-tree, in key order (SQLite's dbstat)."""
    conn = sqlite3.connect(db)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
                [table],
            )
        ]
    finally:
        conn.close()


def zero_leaves(db: Path, table: str, which: tuple[int, ...]) -> None:
    """Zero some leaf pages of a table (by their place in key order); keep the header."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    pages = leaves(db, table)
    assert len(pages) > max(which) + 1, (table, len(pages))
    header = db.read_bytes()[:100]
    with open(db, "r+b") as f:
        for i in which:
            f.seek((pages[i] - 1) * size)
            f.write(b"\0" * size)
    assert db.read_bytes()[:100] == header


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    """A store with the demo project and every kind of record, in several pages each."""
    db = tmp_path_factory.mktemp("original") / "sw.db"
    with Store(db) as store:
        create_demo_project(store, DEMO_DIR)
        pid = int(store.list_projects()["id"].iloc[0])
        did = int(store.list_datasets()["id"].iloc[0])
        ids = store.load_dataset(did).frame["id"].astype(str).tolist()
        assert len(ids) >= 3000
        store.create_tag(did, "wobbly", user=USER)
        for k in range(150):  # 150 events and undo steps
            store.set_tag(did, ids[3 * k : 3 * k + 3], "wobbly", True, user=USER)
        store.set_tag(did, ids[:3000], "wobbly", False, user=USER)  # 3,000 hand values
        store.mark_reviewed(did, ids[:40], user=USER)
        store.correct_label(
            did, ids[5], store.load_dataset(did).frame["label"].iloc[0], user=USER, reason="typo"
        )
        store.save_report(did, "md", "findings.md", "# what we found\n", user=USER)
        store.set_member(pid, USER, "owner", user=USER)
        store.set_member(pid, "bo", "annotator", user=USER)
    return db


@pytest.fixture
def old(tmp_path, original) -> Path:
    """A copy of the original store (database and files) for one test to damage."""
    db = tmp_path / "old" / "sw.db"
    db.parent.mkdir()
    shutil.copy2(original, db)
    shutil.copytree(original.parent / "sw_files", db.parent / "sw_files")
    return db


def assert_new_store_works(new: Path) -> None:
    """The recovered store passes the checks, opens writable and takes a write."""
    assert integrity_ok(new)
    assert foreign_key_problems(new) == []
    with Store(new) as store:
        assert not store.read_only and not store.damaged
        assert store.schema_version == len(MIGRATIONS)
        store.get_or_create_project("after the recovery", user=USER)


# ------------------------------------------------------------------------ healthy


def test_a_healthy_store_recovers_completely(old, tmp_path):
    before, listing = snapshot(old), tree(old.parent / "sw_files")
    new = tmp_path / "new" / "sw.db"
    report = recover_store(old, new)
    assert report.complete and report.lost_tables == [] and report.warnings == []
    assert {t: r.copied for t, r in report.tables.items()} == {
        t: len(rows) for t, rows in before.items()
    }
    assert rows_of(new) == {t: set(rows.values()) for t, rows in before.items()}
    assert sequences(new) == sequences(old)  # no id of the old store is given again
    assert tree(new.parent / "sw_files") == listing
    assert report.datasets_copied == sorted(
        int(d) for d in os.listdir(old.parent / "sw_files") if d.isdigit()
    )
    assert_new_store_works(new)
    with Store(old) as a, Store(new) as b:
        for did in a.list_datasets()["id"]:
            assert b.load_dataset(int(did)).frame.equals(a.load_dataset(int(did)).frame)
            assert b.tag_matrix(int(did)).equals(a.tag_matrix(int(did)))


# ------------------------------------------------------------------------ damaged


def _roots(db: Path) -> None:
    damage(db, ("datasets", "events"))  # as tests/test_store_faults.py


#: case: (how the file is damaged, the tables that lose rows, the tables that change).
DAMAGE = {
    "datasets and events root pages": (
        _roots,
        {"datasets", "events", "tag_bases", "reports"},
        {"datasets", "events", *OF_A_DATASET, "annotation_sets"},
    ),
    "two events leaves": (lambda db: zero_leaves(db, "events", (1, 3)), {"events"}, {"events"}),
    "two hand-value leaves": (
        lambda db: zero_leaves(db, "tag_overrides", (5, 7)),
        {"tag_overrides"},
        {"tag_overrides"},
    ),
    "projects root page": (lambda db: damage(db, ("projects",)), {"projects"}, set()),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_every_readable_row_reaches_the_new_store(old, tmp_path, case):
    spoil, lost_tables, changed = DAMAGE[case]
    before, listing = snapshot(old), tree(old.parent / "sw_files")
    spoil(old)
    assert not integrity_ok(old)
    damaged_sha = sha(old)
    new = tmp_path / "new.db"

    report = recover_store(old, new)

    assert sha(old) == damaged_sha and tree(old.parent / "sw_files") == listing
    assert sorted(p.name for p in old.parent.iterdir()) == ["sw.db", "sw_files"]  # no -shm
    still = readable(old, before)
    got = rows_of(new)
    damaged = {t for t in before if len(still[t]) < len(before[t])}
    assert damaged and damaged <= lost_tables
    assert set(report.lost_tables) == lost_tables
    for t, rows in before.items():
        made = len(report.tables[t].stand_ins)
        assert report.tables[t].copied + made == len(got[t]), t
        if t in damaged and _key_columns_of(old, t) != ["rowid"]:
            # a WITHOUT ROWID table keeps whole rows in its interior pages too: a scan
            # reads a few a lookup by key does not (it goes down to the damaged leaf)
            assert set(still[t].values()) <= got[t] <= set(rows.values()), t
        elif t in damaged:
            read = {r for r in got[t] if r[0] not in report.tables[t].stand_ins}
            assert read == set(still[t].values()), t
            assert report.tables[t].unreadable_ids == len(rows) - len(still[t]), t
        elif t not in changed:
            assert got[t] == set(rows.values()), t  # undamaged: identical
    assert_new_store_works(new)
    surviving = {r[0] for r in got["datasets"]}
    assert report.datasets_copied == sorted(surviving)
    assert report.datasets_lost == sorted({r[0] for r in before["datasets"].values()} - surviving)
    for did in report.datasets_copied:
        assert tree(new.parent / "new_files" / str(did)) == tree(old.parent / "sw_files" / str(did))


def _key_columns_of(db: Path, table: str) -> list[str]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _key_columns(conn, table)
    finally:
        conn.close()


def test_rows_of_lost_datasets_go_as_deleting_the_dataset_would_take_them(old, tmp_path):
    before = snapshot(old)
    _roots(old)
    report = recover_store(old, tmp_path / "new.db")
    got = rows_of(tmp_path / "new.db")
    assert got["datasets"] == set() and got["events"] == set()
    for t in OF_A_DATASET:  # ON DELETE CASCADE
        assert got[t] == set(), t
        assert report.tables[t].dropped == len(before[t])
    linked = [r for r in before["annotation_sets"].values()]
    assert len(linked) == 1 and linked[0][6] is not None  # ON DELETE SET NULL
    assert got["annotation_sets"] == {(*linked[0][:6], None, *linked[0][7:])}
    assert report.tables["annotation_sets"].unlinked == 1
    for t in (
        "tags",
        "tag_overrides",
        "label_corrections",
        "reviewed_examples",
        "tag_changes",
        "iterations",
        "members",
        "projects",
    ):
        assert got[t] == set(before[t].values()), t  # a project's rows stay
    assert report.datasets_copied == [] and report.datasets_lost == [1, 2, 3]
    assert sequences(tmp_path / "new.db")["datasets"] == sequences(old)["datasets"]


def test_a_lost_project_gets_a_stand_in_named_by_its_creation_event(old, tmp_path):
    before = snapshot(old)
    damage(old, ("projects",))
    report = recover_store(old, tmp_path / "new.db")
    got = rows_of(tmp_path / "new.db")
    assert report.tables["projects"].damaged and report.tables["projects"].stand_ins == [1]
    # the project.create event gives its name, time and creator: the row as it was
    assert got["projects"] == set(before["projects"].values())
    ((_, name, _, creator),) = got["projects"]
    assert (name, creator) == (DEMO_PROJECT, DEMO_USER)
    assert all(got[t] == set(rows.values()) for t, rows in before.items() if t != "projects")


def test_rows_on_a_readable_page_between_two_damaged_ones_are_found(old, tmp_path):
    before = snapshot(old)
    zero_leaves(old, "events", (1, 3))
    report = recover_store(old, tmp_path / "new.db")
    ids = sorted(r[0] for r in rows_of(tmp_path / "new.db")["events"])
    lost = sorted(set(k[0] for k in before["events"]) - set(ids))
    gaps = [i for i in range(lost[0], lost[-1] + 1) if i in ids]
    assert gaps, "a readable page lies between the damaged ones"
    ranges = report.tables["events"].unreadable
    assert len(ranges) == 2 and all(r.startswith("id ") for r in ranges)
    assert ranges[0] == f"id {lost[0]} to {gaps[0] - 1}"
    assert ranges[1] == f"id {gaps[-1] + 1} to {lost[-1]}"


def test_changes_still_in_the_wal_file_are_recovered(old, tmp_path):
    # a writer killed before SQLite copied its last change from sw.db-wal into sw.db
    crashed = tmp_path / "crashed" / "sw.db"
    crashed.parent.mkdir()
    shutil.copytree(old.parent / "sw_files", crashed.parent / "sw_files")
    with Store(old) as store:
        rid = store.save_report(1, "md", "late.md", "only in the wal", user=USER)
        for suffix in ("", "-wal"):
            shutil.copy2(f"{old}{suffix}", f"{crashed}{suffix}")
    assert Path(f"{crashed}-wal").stat().st_size > 0
    report = recover_store(crashed, tmp_path / "new.db")
    assert report.complete
    with Store(tmp_path / "new.db") as store:
        assert store.report_content(rid) == b"only in the wal"


def test_a_damaged_store_of_an_older_schema_is_recovered_and_migrated(tmp_path):
    db = tmp_path / "old" / "slicewise.db"
    shutil.copytree(V4_STORE.parent, db.parent)
    before = snapshot(db)
    damage(db, ("reports",))
    report = recover_store(db, tmp_path / "new.db")
    assert report.schema_version == 4 and report.lost_tables == ["reports"]
    got = rows_of(tmp_path / "new.db")
    assert got["members"] == set()  # schema 5's table, added by the migration
    assert all(got[t] == set(rows.values()) for t, rows in before.items() if t != "reports")
    assert_new_store_works(tmp_path / "new.db")


# ------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("taken", ["database", "files folder"])
def test_recovering_over_an_existing_store_is_refused(old, tmp_path, taken):
    new = tmp_path / "new.db"
    there = new if taken == "database" else tmp_path / "new_files"
    if taken == "database":
        there.write_bytes(b"keep me")
    else:
        there.mkdir()
        (there / "keep.txt").write_text("keep me")
    before = sha(old)
    with pytest.raises(StoreError, match="already exists") as caught:
        recover_store(old, new)
    assert str(there) in str(caught.value)
    assert sha(old) == before
    assert (
        there.read_bytes() if taken == "database" else (there / "keep.txt").read_bytes()
    ) == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["old", there.name])
    assert files(there) == ([] if taken == "database" else ["keep.txt"])


@pytest.mark.parametrize("size", ["256k", "900k"], ids=["database", "files"])
def test_a_full_disk_under_the_new_store_leaves_nothing_of_it(old, tmp_path, size):
    # 256 kB: the database does not fit; 900 kB: it does, the datasets' files do not
    before = sha(old)
    with small_disk(tmp_path / "disk", size) as disk:
        with pytest.raises(DiskFull, match="is full"):
            recover_store(old, disk / "new.db")
        assert list(disk.iterdir()) == []
    assert sha(old) == before


def test_a_file_whose_schema_cannot_be_read_is_refused(tmp_path):
    db = tmp_path / "sw.db"
    db.write_text("id,label\n1,cat\n")
    with pytest.raises(StoreDamaged, match="not a Slicewise database"):
        recover_store(db, tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


# ------------------------------------------------------------------------ command


def test_the_damaged_store_message_names_the_command(old):
    _roots(old)
    with Store(old) as store:
        reason = store.read_only_reason
    assert f"slicewise recover --db {old} --to" in reason
    assert ".recover" in reason  # sqlite3's, as the alternative


@pytest.mark.parametrize("state, code", [("healthy", 0), ("damaged", 1), ("taken", 2)])
def test_the_command_exits_0_when_all_is_copied_1_when_rows_were_lost_2_on_errors(
    old, tmp_path, state, code
):
    new = tmp_path / "new.db"
    if state == "damaged":
        _roots(old)
    if state == "taken":
        new.write_bytes(b"")
    result = CliRunner().invoke(main, ["recover", "--db", str(old), "--to", str(new)])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if state == "taken":
        assert result.stderr.strip().splitlines() == [
            f"slicewise: error: {new} already exists: recovering never overwrites a store; "
            "choose a new path with --to, or move it away"
        ]
        return
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"recovered {old} into {new}")
    tables = snapshot(new)
    by_table = {line.split()[0]: line.split()[1] for line in lines[2 : 2 + len(tables)]}
    assert set(by_table) == set(tables)
    if state == "healthy":
        assert "every row and file was copied" in result.stdout
    else:
        assert "rows were lost in datasets, reports, events, tag_bases" in result.stdout
        assert by_table["datasets"] == "0" and "unreadable: id 1 to 3 (3 ids)" in result.stdout
        assert (
            f"datasets 1, 2, 3: their rows were lost; their files stay in "
            f"{old.parent / 'sw_files'}" in result.stdout
        )


def test_the_command_prints_the_report_as_json(old, tmp_path):
    zero_leaves(old, "events", (1, 3))
    result = CliRunner().invoke(
        main, ["recover", "--db", str(old), "--to", str(tmp_path / "new.db"), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["complete"] is False and report["lost_tables"] == ["events"]
    assert report["tables"]["events"]["damaged"] is True
    assert report["tables"]["events"]["copied"] == len(rows_of(tmp_path / "new.db")["events"])
