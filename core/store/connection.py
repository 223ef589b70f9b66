"""Opening the database, checking and migrating it, and its transactions."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.errors import (
    ConflictError,
    DataError,
    StoreDamaged,
    StoreReadOnly,
    UnusableDatabaseError,
)
from slicewise.core.store import migrations
from slicewise.core.store.faults import (
    _SQLITE_CANTOPEN,
    _SQLITE_NOTADB,
    _SQLITE_READONLY,
    CHECKED_XATTR,
    _Connection,
    _signature,
    _sqlite_code,
    _wal_in_use,
    _whoami,
)
from slicewise.core.store.files import (
    ANNOTATIONS_DIR,
    PRODUCTION_DIR,
    STALE_STAGING_SECONDS,
    _mtime,
)

BUSY_TIMEOUT_MS = 30_000


class ConnectionMixin:
    """Connect (read-write or read-only), check, migrate; run reads and writes in transactions."""

    def _connect(self) -> sqlite3.Connection:
        """Open the database read-write, or read-only when this process may not write it."""
        why = self._not_writable()
        if why is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False,
                    factory=_Connection,
                )
            except (OSError, sqlite3.Error) as exc:
                raise UnusableDatabaseError(f"cannot open the database {self.path}: {exc}") from exc
        elif not self.path.exists():
            raise StoreReadOnly(
                f"cannot create the database {self.path}: {why}; choose a "
                "folder this user may write with --db or $SLICEWISE_DB"
            )
        else:
            self._read_only_because(
                why,
                f"To make changes, give {_whoami()} write access to it (or run Slicewise "
                f"as the user owning {self.path.name}), {self._copy_advice()}.",
            )
            conn = self._connect_read_only()
        conn.fault = self._fault
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open the database for reading: SQLite ``mode=ro``, else ``immutable=1``.

        ``mode=ro`` needs the ``-shm`` file, which SQLite creates beside a database in WAL
        mode: in a folder this process may not write, it cannot, and the file is opened as
        ``immutable`` (no locking, no ``-wal``), which is right only while no ``-wal`` file
        holds changes a writer has not copied into the database yet; otherwise refused.
        """
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for query in ("mode=ro", "immutable=1"):
            if query == "immutable=1" and _wal_in_use(self.path):
                raise StoreReadOnly(
                    f"cannot read {self.path}: {self._why_read_only}, and its latest changes "
                    f"are in {self.path.name}-wal, which SQLite reads only by writing "
                    f"{self.path.name}-shm beside it. {self._fix}"
                )
            try:
                conn = sqlite3.connect(
                    f"{uri}?{query}",
                    uri=True,
                    check_same_thread=False,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    factory=_Connection,
                )
            except sqlite3.Error as exc:
                last = exc
                continue
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                last = exc
                if _sqlite_code(exc) not in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
                    break
            except sqlite3.DatabaseError:  # damaged: the integrity check says how
                return conn
            else:
                return conn
        raise UnusableDatabaseError(
            f"cannot open the database {self.path} even for reading ({last}); "
            f"give {_whoami()} read access to it and its folder"
        )

    def _recorded_check(self) -> str | None:
        try:
            return os.getxattr(self.path, CHECKED_XATTR).decode()
        except (AttributeError, OSError, UnicodeDecodeError):
            return None

    def _check_integrity(self) -> None:
        """Run ``PRAGMA quick_check``; when it fails, open read-only with a recovery hint.

        The check reads every page (O(size of the database); the datasets' rows are in
        Parquet files, not in it). It is skipped when the file is exactly as a store left
        it after passing the check (:meth:`close`: same size, modification time and inode,
        and no ``-wal`` frames), so reopening an unchanged store costs nothing.

        Raises
        ------
        StoreDamaged
            The file is not an SQLite database at all (or its first page is damaged):
            nothing can be read.
        """
        signature = _signature(self.path)
        if (
            signature is not None
            and not _wal_in_use(self.path)
            and signature == self._recorded_check()
        ):
            self._checked = True
            return
        try:
            with self._lock:
                rows = self.db.conn.execute("PRAGMA quick_check").fetchall()
            problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        except StoreDamaged as exc:
            if _sqlite_code(exc.__cause__) == _SQLITE_NOTADB:
                raise StoreDamaged(
                    f"{self.path} is not a Slicewise database ({exc.__cause__}): it is another "
                    "kind of file, or its first page is damaged. Give the path of a Slicewise "
                    f"database with --db or $SLICEWISE_DB; if it was one: {self._fix}"
                ) from exc.__cause__
            problems = [str(exc.__cause__)]
        if not problems:
            self._checked = True
            return
        shown = "; ".join(problems[:2]) + (
            f" and {len(problems) - 2} more problems" if len(problems) > 2 else ""
        )
        self._damaged = False  # a read may have marked it: say what the check found
        self._mark_damaged(f"PRAGMA quick_check: {shown}")

    @property
    def schema_version(self) -> int:
        """The schema version of the database file (``PRAGMA user_version``)."""
        with self._lock:
            return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _remove_orphan_files(self) -> None:
        """Remove files no row owns: of killed saves and deletes, and stale staging copies.

        A process killed between moving a new dataset's folder (or annotation set's or
        production sample's file) into place and committing its row, or between deleting
        its rows and removing its files, leaves them behind; so does one killed while
        writing its staging copy. They are removed under the write lock, when no other save
        is half-way. A staging copy is written before that lock is taken, so only one older
        than :data:`STALE_STAGING_SECONDS` is taken for abandoned (a save takes seconds).
        """
        if not self.files_dir.is_dir():
            return
        # The folders of one Parquet file per row (``<id>.parquet``), and the table owning them.
        per_row = {
            self.files_dir / ANNOTATIONS_DIR: "annotation_sets",
            self.files_dir / PRODUCTION_DIR: "production_samples",
        }

        def leftovers() -> list[Path]:
            owned = {str(r["id"]) for r in self._rows("SELECT id FROM datasets")}
            stale = time.time() - STALE_STAGING_SECONDS
            found = [
                p
                for p in self.files_dir.iterdir()
                if p.is_dir()
                and ((p.name.isdigit() and p.name not in owned) or p.name.startswith(".deleted-"))
            ]
            for folder, table in per_row.items():
                if not folder.is_dir():
                    continue
                kept = {f"{r['id']}.parquet" for r in self._rows(f"SELECT id FROM {table}")}
                found += [
                    p
                    for p in folder.iterdir()
                    if p.is_file()
                    and (
                        (p.name[:1].isdigit() and p.name not in kept)
                        or p.name.startswith(".deleted-")
                    )
                ]
            for folder in (self.files_dir, *per_row):
                if folder.is_dir():
                    found += [p for p in folder.glob(".staging-*") if _mtime(p) < stale]
            return found

        if leftovers():
            with self._write():
                for path in leftovers():
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)

    def _migrate(self) -> None:
        target = len(migrations.MIGRATIONS)
        if self.schema_version == target:
            return
        if self.read_only:  # an older schema cannot be upgraded: refuse (a newer one too)
            version = self.schema_version
            if version > target:
                raise UnusableDatabaseError(
                    f"{self.path} has schema version {version}, newer than this "
                    f"Slicewise understands ({target}); upgrade Slicewise"
                )
            error = StoreDamaged if self._damaged else StoreReadOnly
            raise error(
                f"{self.path} has schema version {version} and this Slicewise needs "
                f"{target}: it cannot be upgraded while it is open read-only "
                f"({self._why_read_only}). {self._fix}"
            )
        while True:
            with self._write():
                version = self.schema_version
                if version > target:
                    raise UnusableDatabaseError(
                        f"{self.path} has schema version {version}, newer than this Slicewise "
                        f"understands ({target}); upgrade Slicewise"
                    )
                if version == target:
                    return
                migrations.MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Run the block in one write transaction (a nested call joins the outer one).

        Refused on a read-only store (:class:`StoreReadOnly`, :class:`StoreDamaged`). A
        failure rolls everything back; a full disk raises :class:`DiskFull` (SQLite's
        ``SQLITE_FULL`` through the connection, ``ENOSPC`` from a file operation here).
        """
        with self._lock:
            conn = self.db.conn
            if self._depth:
                yield
                return
            if conn.in_transaction:  # left open by direct use of ``self.db``
                raise ConflictError(
                    "a transaction opened outside the store is still open on "
                    f"{self.path}; commit or roll it back first"
                )
            self._refuse_if_read_only()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise ConflictError(
                    f"the database {self.path} is busy ({exc}); another user is writing, try again"
                ) from exc
            self._depth += 1
            try:
                yield
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except (sqlite3.Error, DataError):  # SQLite rolled back already
                        pass
                # a full disk or a read-only folder met while moving files: typed
                self._raise_os_fault(exc, self.files_dir)
                raise
            finally:
                self._depth -= 1

    @contextmanager
    def _read(self) -> Iterator[None]:
        """Run several reads on one consistent snapshot."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield
                return
            conn.execute("BEGIN")
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _frame(self, sql: str, params: Sequence[Any], columns: list[str]) -> pd.DataFrame:
        with self._lock:
            rows = self.db.execute(sql, list(params)).fetchall()
        return pd.DataFrame.from_records(rows, columns=columns)

    def _event(
        self,
        kind: str,
        *,
        user: str,
        at: str,
        project_id: int | None = None,
        dataset_id: int | None = None,
        **detail: Any,
    ) -> None:
        self.db["events"].insert(
            {
                "project_id": project_id,
                "dataset_id": dataset_id,
                "kind": kind,
                "detail": json.dumps(detail, default=str, ensure_ascii=False),
                "user": user,
                "at": at,
            }
        )
