"""Recover a damaged store: copy what can still be read into a new one."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from slicewise.core.errors import (
    DataError,
    NameTakenError,
    NotFoundError,
    StoreDamaged,
    StoreError,
    StoreReadOnly,
    UnusableDatabaseError,
)
from slicewise.core.store import migrations
from slicewise.core.store.common import (
    _now,
    files_dir_of,
)
from slicewise.core.store.faults import (
    _NO_ROOM,
    _NOT_ALLOWED,
    _SQLITE_CANTOPEN,
    _SQLITE_CORRUPT,
    _SQLITE_FULL,
    _SQLITE_NOTADB,
    _SQLITE_READONLY,
    _no_room,
    _sqlite_code,
    _wal_in_use,
    _whoami,
)
from slicewise.core.store.files import (
    ANNOTATIONS_DIR,
    FRAME_FILE,
    PRODUCTION_DIR,
    TAGS_FILE,
)
from slicewise.core.store.recovery_report import RecoveryReport, TableRecovery
from slicewise.core.store.recovery_scan import (
    _UNREADABLE,
    _copy_table,
    _quote,
    _table_shape,
)
from slicewise.core.store.store import Store

#: Who the stand-in rows :func:`recover_store` makes for lost projects name as creator.
RECOVER_USER = "slicewise recover"


def _open_damaged(path: Path) -> sqlite3.Connection:
    """Open a database for reading only, creating no file beside it where possible.

    SQLite's ``immutable=1`` (no locks, no ``-wal`` or ``-shm`` file) while no ``-wal``
    file holds changes not yet copied into the database (a damaged store takes no writes
    from Slicewise); else ``mode=ro``, which reads them (and makes ``-shm``).
    """
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    for query in ("mode=ro",) if _wal_in_use(path) else ("immutable=1",):
        conn = None
        try:
            conn = sqlite3.connect(f"{uri}?{query}", uri=True, isolation_level=None)
            conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            last = exc
    code = _sqlite_code(last)
    if code == _SQLITE_NOTADB:
        raise StoreDamaged(
            f"{path} is not a Slicewise database ({last}): it is another kind "
            "of file, or its first page is damaged, so nothing can be read "
            "from it; restore a backup"
        ) from last
    if code == _SQLITE_CORRUPT:
        raise StoreDamaged(
            f"the schema of {path} (its first pages) is damaged ({last}), so "
            "no table can be read from it; restore a backup, or try sqlite3's "
            '".recover" (it needs an sqlite3 built with the dbpage '
            "extension)"
        ) from last
    raise UnusableDatabaseError(
        f"cannot read {path} ({last}); give {_whoami()} read access to it and its folder"
    ) from last


def _recover_fault(exc: BaseException, where: Path) -> DataError | None:
    """Return the typed error of a full or read-only disk met writing ``where``."""
    code = _sqlite_code(exc) if isinstance(exc, sqlite3.Error) else None
    if code == _SQLITE_FULL or getattr(exc, "errno", None) in _NO_ROOM:
        return _no_room(where, exc)
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN) or getattr(exc, "errno", None) in _NOT_ALLOWED:
        return StoreReadOnly(
            f"cannot write {where} ({exc}): nothing was recovered; choose "
            f"a folder {_whoami()} may write with --to"
        )
    return None


def _stand_in_projects(dst: sqlite3.Connection, ids: list[int], at: str) -> None:
    """Make a projects row for each lost project that other rows belong to.

    Named, dated and credited as its ``project.create`` event says, when that survived.
    """
    for pid in ids:
        event = dst.execute(
            'SELECT detail, "user", at FROM events WHERE project_id = ? '
            "AND kind = 'project.create' ORDER BY id LIMIT 1",
            [pid],
        ).fetchone()
        name, user, when = f"recovered project {pid}", RECOVER_USER, at
        if event is not None:
            try:
                name = str(json.loads(event[0]).get("name") or name)
            except (ValueError, AttributeError):
                pass
            user, when = event[1], event[2]
        if dst.execute("SELECT 1 FROM projects WHERE name = ?", [name]).fetchone():
            name = f"{name} (recovered project {pid})"
        dst.execute(
            "INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
            [pid, name, when, user],
        )


def _few_ids(values: list[Any], limit: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _settle_links(
    dst: sqlite3.Connection, tables: list[str], results: dict[str, TableRecovery]
) -> None:
    """Make every foreign key hold again after rows were lost, as the schema says.

    A row whose ``ON DELETE CASCADE`` parent was lost is left out (deleting the parent
    would have removed it), a ``SET NULL`` link is cleared, a lost project that rows
    belong to gets a stand-in row, and any other row pointing at a lost row is left out.
    Repeated until nothing changes (a row left out may leave others without a parent).
    """
    links = []
    for child in tables:
        groups: dict[int, list[tuple]] = {}
        for fk in dst.execute(f"PRAGMA foreign_key_list({_quote(child)})").fetchall():
            groups.setdefault(int(fk[0]), []).append(fk)
        for rows in groups.values():
            parent, on_delete = str(rows[0][2]), str(rows[0][6]).upper()
            pairs = [(str(r[3]), str(r[4]) if r[4] else "id") for r in rows]
            links.append((child, parent, on_delete, pairs))
    at = _now()
    changed = True
    while changed:
        changed = False
        for child, parent, on_delete, pairs in links:
            c = _quote(child)
            orphan = " AND ".join(f"{c}.{_quote(a)} IS NOT NULL" for a, _ in pairs) + (
                f" AND NOT EXISTS (SELECT 1 FROM {_quote(parent)} p WHERE "
                + " AND ".join(f"p.{_quote(b)} = {c}.{_quote(a)}" for a, b in pairs)
                + ")"
            )
            missing = [
                r[0]
                for r in dst.execute(
                    f"SELECT DISTINCT {c}.{_quote(pairs[0][0])} FROM {c} WHERE {orphan} ORDER BY 1"
                ).fetchall()
            ]
            if not missing:
                continue
            changed = True
            result = results[child]
            if (
                parent == "projects"
                and on_delete not in ("CASCADE", "SET NULL")
                and len(pairs) == 1
                and all(isinstance(m, int) for m in missing)
            ):
                _stand_in_projects(dst, [int(m) for m in missing], at)
                results[parent].stand_ins.extend(int(m) for m in missing)
                continue
            if on_delete == "SET NULL":
                sets = ", ".join(f"{_quote(a)} = NULL" for a, _ in pairs)
                result.unlinked += dst.execute(f"UPDATE {c} SET {sets} WHERE {orphan}").rowcount
                continue
            dropped = dst.execute(f"DELETE FROM {c} WHERE {orphan}").rowcount
            result.dropped += dropped
            result.copied -= dropped
            reason = f"their {parent} rows were lost ({pairs[0][0]} {_few_ids(missing)})"
            result.dropped_because = "; ".join(filter(None, [result.dropped_because, reason]))


def _id_columns(table: str) -> set[str]:
    """Column names that hold ids of ``table``'s rows besides declared foreign keys.

    E.g. ``dataset_id`` for ``datasets`` (in events, iterations...) and ``sample_id`` for
    ``review_samples``.
    """
    one = table[:-1] if table.endswith("s") else table
    return {f"{one}_id", f"{one.rsplit('_', 1)[-1]}_id"}


def _used_ids(dst: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    """Return, per table, the largest id other rows of the new database refer to."""
    out: dict[str, int] = {}
    for child in tables:
        columns = [str(r[1]) for r in dst.execute(f"PRAGMA table_info({_quote(child)})")]
        targets = {
            str(fk[3]): str(fk[2])
            for fk in dst.execute(f"PRAGMA foreign_key_list({_quote(child)})")
        }
        for table in tables:
            for column in columns:
                if targets.get(column) != table and column not in _id_columns(table):
                    continue
                found = dst.execute(
                    f"SELECT max({_quote(column)}) FROM {_quote(child)} "
                    f"WHERE typeof({_quote(column)}) = 'integer'"
                ).fetchone()
                if found[0] is not None:
                    out[table] = max(out.get(table, 0), int(found[0]))
    return out


def _numbered(folder: Path, suffix: str = "") -> list[int]:
    """Ids named by the entries of ``folder`` (``3`` or ``3.parquet``), sorted."""
    if not folder.is_dir():
        return []
    ids = []
    for entry in folder.iterdir():
        name = entry.name
        if suffix:
            if not (name.endswith(suffix) and entry.is_file()):
                continue
            name = name[: -len(suffix)]
        elif not entry.is_dir():
            continue
        if name.isdigit():
            ids.append(int(name))
    return sorted(ids)


def _copy_owned(source: Path, target: Path, dst_files: Path) -> bool:
    """Copy a file, or a folder's files, from the damaged store's folder to the new one's.

    Returns False (leaving nothing of it) when the source cannot be read; a full or
    read-only disk under ``dst_files`` raises :class:`DiskFull` or :class:`StoreReadOnly`.
    """
    try:
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            return True
        for path in sorted(source.rglob("*")):
            into = target / path.relative_to(source)
            if path.is_dir():
                into.mkdir(parents=True, exist_ok=True)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)
        return True
    except OSError as exc:
        writing = Path(str(exc.filename or "")).is_relative_to(dst_files)
        if exc.errno in _NO_ROOM or (writing and exc.errno in _NOT_ALLOWED):
            raise _recover_fault(exc, dst_files) or exc from exc
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
        return False  # e.g. a bad sector under the damaged store's file


#: Folders of one ``<id>.parquet`` per row: folder, table, report list of files missing.
PER_ROW_FILES = (
    (ANNOTATIONS_DIR, "annotation_sets", "annotation_files_missing"),
    (PRODUCTION_DIR, "production_samples", "production_files_missing"),
)


def _row_ids(conn: sqlite3.Connection, table: str) -> list[int]:
    """Return the ids of ``table``'s rows; none when it is absent (an older schema)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone() is None:
        return []
    return [int(r[0]) for r in conn.execute(f"SELECT id FROM {_quote(table)} ORDER BY id")]


def _copy_store_files(src_files: Path, dst_files: Path, dst: Path, report: RecoveryReport) -> None:
    """Copy the datasets', annotation sets' and production samples' files the new rows own."""
    conn = sqlite3.connect(dst)
    try:
        datasets = _row_ids(conn, "datasets")
        per_row = {table: _row_ids(conn, table) for _, table, _ in PER_ROW_FILES}
    finally:
        conn.close()
    for did in datasets:
        source = src_files / str(did)
        if all((source / name).is_file() for name in (FRAME_FILE, TAGS_FILE)) and _copy_owned(
            source, dst_files / str(did), dst_files
        ):
            report.datasets_copied.append(did)
        else:
            report.dataset_files_missing.append(did)
    report.datasets_lost = [d for d in _numbered(src_files) if d not in set(datasets)]
    for folder, table, missing in PER_ROW_FILES:
        for row_id in per_row[table]:
            name = Path(folder) / f"{row_id}.parquet"
            if not (
                (src_files / name).is_file()
                and _copy_owned(src_files / name, dst_files / name, dst_files)
            ):
                getattr(report, missing).append(row_id)


def _read_schema(
    src: sqlite3.Connection, source: Path
) -> tuple[int, list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Read the damaged database's schema version, schema rows and tables; check them.

    Returns
    -------
    tuple
        The ``user_version``; every ``sqlite_master`` row with SQL as ``(type, name, sql)``
        in creation order; the tables (SQLite's own left out) as ``(name, sql)``.

    Raises
    ------
    UnusableDatabaseError
        A schema version newer than this Slicewise knows, or no Slicewise database (no
        ``projects`` table, or version 0).
    """
    version = int(src.execute("PRAGMA user_version").fetchone()[0])
    schema = src.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    tables = [
        (str(n), str(s)) for t, n, s in schema if t == "table" and not str(n).startswith("sqlite_")
    ]
    if version > len(migrations.MIGRATIONS):
        raise UnusableDatabaseError(
            f"{source} has schema version {version}, newer than this Slicewise "
            f"understands ({len(migrations.MIGRATIONS)}); recover it with a newer Slicewise"
        )
    if version < 1 or "projects" not in {n for n, _ in tables}:
        raise UnusableDatabaseError(
            f"{source} is not a Slicewise database (it has no projects table at "
            f"schema version {version}); give the damaged store with --db"
        )
    return version, schema, tables


def _read_sequences(src: sqlite3.Connection) -> dict[str, int]:
    """Return the damaged database's id sequences (``sqlite_sequence``), per table.

    Empty when that table is damaged: the ids read (and the files) then stand in.
    """
    try:
        return {
            str(n): int(s)
            for n, s in src.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        }
    except sqlite3.DatabaseError as exc:
        if _sqlite_code(exc) not in _UNREADABLE:
            raise
        return {}


def _copy_rows(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    tables: list[tuple[str, str]],
    sequences: dict[str, int],
    report: RecoveryReport,
) -> dict[str, int]:
    """Copy every table's readable rows in one read snapshot of ``src``.

    Returns the largest id copied per table (tables with an integer key only); each
    table's counts go to ``report.tables`` (see :func:`_copy_table`).
    """
    largest: dict[str, int] = {}
    src.execute("BEGIN")  # one snapshot of the damaged file
    try:
        for name, sql in tables:
            auto = "AUTOINCREMENT" in sql.upper()
            shape = _table_shape(src, name, sequences.get(name, 0) if auto and sequences else None)
            top = _copy_table(src, dst, shape, report.tables[name])
            if top is not None:
                largest[name] = top
    finally:
        if src.in_transaction:
            src.execute("ROLLBACK")  # it only read
    return largest


def _ids_in_use(dst: sqlite3.Connection, names: list[str], src_files: Path) -> dict[str, int]:
    """Return, per table, the largest id the new rows or the damaged store's files name.

    Rows of other tables (:func:`_used_ids`), dataset folders, annotation set and
    production sample files in ``src_files`` all name ids a new row must not be given.
    """
    used = _used_ids(dst, names)
    used["datasets"] = max([used.get("datasets", 0), *_numbered(src_files)])
    for folder, table, _ in PER_ROW_FILES:
        used[table] = max([used.get(table, 0), *_numbered(src_files / folder, ".parquet")])
    return used


def _write_sequences(
    dst: sqlite3.Connection, tables: list[tuple[str, str]], *tops: dict[str, int]
) -> None:
    """Set each ``AUTOINCREMENT`` table's sequence to the largest of ``tops``' ids for it.

    So no id of a lost row is given to a new one.
    """
    dst.execute("DELETE FROM sqlite_sequence")
    for name, sql in tables:
        if "AUTOINCREMENT" in sql.upper():
            seq = max(top.get(name, 0) for top in tops)
            if seq > 0:
                dst.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [name, seq])


def _check_links(dst: sqlite3.Connection, source: Path) -> None:
    """Refuse a recovered database where a foreign key still fails (a bug).

    Raises
    ------
    StoreError
        ``PRAGMA foreign_key_check`` finds rows: nothing is kept.
    """
    broken = dst.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StoreError(
            f"recovering {source} left rows pointing at lost rows ({broken[:3]}); "
            "nothing was kept: report this as a bug"
        )


def _build_recovered(
    src: sqlite3.Connection, dst: sqlite3.Connection, source: Path, target: Path
) -> RecoveryReport:
    """Create the schema in ``dst`` and copy every readable row of ``src`` into it.

    In one transaction of ``dst``: the tables, their rows (:func:`_copy_rows`), the links
    lost rows broke settled (:func:`_settle_links`), the indexes, views and triggers once
    the rows are in, the id sequences (:func:`_write_sequences`), a foreign key check and
    the schema version. A damaged table's pages are compacted afterwards (``VACUUM``).
    """
    version, schema, tables = _read_schema(src, source)
    sequences = _read_sequences(src)
    report = RecoveryReport(
        source, target, version, {name: TableRecovery(name) for name, _ in tables}
    )
    dst.execute("BEGIN")
    for _, sql in tables:
        dst.execute(sql)
    largest = _copy_rows(src, dst, tables, sequences, report)
    names = [n for n, _ in tables]
    used = _ids_in_use(dst, names, files_dir_of(source))
    _settle_links(dst, names, report.tables)
    for t, _, sql in schema:
        if t in ("index", "view", "trigger"):
            dst.execute(sql)
    _write_sequences(dst, tables, sequences, largest, used)
    _check_links(dst, source)
    dst.execute(f"PRAGMA user_version = {version}")
    dst.execute("COMMIT")
    if any(t.damaged for t in report.tables.values()):
        dst.execute("VACUUM")  # ranges read out of order leave pages half full
    return report


def _check_paths(source: Path, target: Path, dst_files: Path) -> None:
    """Refuse a missing damaged file, or a new store (or its files folder) that exists.

    Raises
    ------
    NotFoundError
        ``source`` is no file.
    NameTakenError
        ``target`` or ``dst_files`` exists: recovering never overwrites.
    """
    if not source.is_file():
        raise NotFoundError(f"{source} does not exist: give the damaged database with --db")
    for path in (target, dst_files):
        if path.exists():
            raise NameTakenError(
                f"{path} already exists: recovering never overwrites a store; "
                "choose a new path with --to, or move it away"
            )


def _write_recovered(src: sqlite3.Connection, source: Path, target: Path) -> RecoveryReport:
    """Create the database ``target`` from ``src``'s readable rows (:func:`_build_recovered`)."""
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        return _build_recovered(src, dst, source, target)
    finally:
        dst.close()


def _open_recovered(target: Path, report: RecoveryReport) -> None:
    """Open the new store once: it migrates to the newest schema and checks the file.

    Adds a warning to ``report`` when the store lets anyone write although its members
    or events (which tell whether it had roles) were damaged.

    Raises
    ------
    StoreError
        The recovered store opens read-only.
    """
    with Store(target) as store:
        if store.read_only:
            raise StoreError(
                f"the recovered store {target} opens read-only: {store.read_only_reason}"
            )
        if not store.roles_enforced() and any(
            report.tables[t].damaged for t in ("members", "events") if t in report.tables
        ):
            report.warnings.append(
                "the recovered store has no members and no record of a sign-in, so "
                "anyone may write to it; its members or events were damaged, so it may "
                "have had roles: give owners their role with slicewise members set"
            )


def _remove(paths: list[Path]) -> None:
    """Remove the files and folders a failed recovery made (those present)."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def recover_store(damaged: str | Path, new: str | Path) -> RecoveryReport:
    """Copy every row still readable in a damaged store, and its files, into a new store.

    The way out of a store that failed ``PRAGMA quick_check`` (:class:`StoreDamaged`)
    that works with any SQLite (Debian's 3.40 ``sqlite3`` lacks the dbpage extension that
    its ``.recover`` needs). The damaged file is opened read-only and never changed. The
    new database gets the damaged one's schema, every table's readable rows with their
    ids and keys (around a damaged page, the rest of the table is searched by key ranges:
    see :func:`_copy_table`), the id sequences (no id of a lost row is reused) and then the
    newest schema (:class:`Store` migrates it); rows whose parent was lost are settled as
    deleting the parent would have (``ON DELETE``), and lost projects that rows belong to
    get stand-in rows. Each surviving dataset's folder, annotation set's and production
    sample's file is copied from ``<damaged stem>_files/`` to ``<new stem>_files/``
    (:func:`files_dir_of`).

    Parameters
    ----------
    damaged
        The damaged database file (read, never written).
    new
        The database file to create; it and its files folder must not exist.

    Returns
    -------
    RecoveryReport
        Per table the rows copied and lost, the datasets copied and lost.

    Raises
    ------
    StoreError
        ``damaged`` does not exist or is not a Slicewise database (or is newer than this
        Slicewise), or ``new`` or its files folder exists already.
    StoreDamaged
        ``damaged``'s first pages (its schema) are damaged: nothing can be read.
    DiskFull, StoreReadOnly
        The new store could not be written; nothing of it is left behind.
    """
    source = Path(damaged).expanduser()
    target = Path(new).expanduser()
    src_files, dst_files = files_dir_of(source), files_dir_of(target)
    _check_paths(source, target, dst_files)
    src = _open_damaged(source)
    made: list[Path] = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sidecars = (target.with_name(target.name + s) for s in ("-journal", "-wal", "-shm"))
        made = [target, *sidecars, dst_files]
        report = _write_recovered(src, source, target)
        _copy_store_files(src_files, dst_files, target, report)
        _open_recovered(target, report)  # migrates to the newest schema; checks the file
    except BaseException as exc:
        _remove(made)
        fault = _recover_fault(exc, target) if not isinstance(exc, DataError) else None
        if fault is not None:
            raise fault from exc
        raise
    finally:
        src.close()
    return report
