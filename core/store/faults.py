"""Faults of the file or the disk as typed errors, and the read-only state of a store.

A damaged page, a full disk or a file this process may not write raises a
:class:`core.errors.DataError` (:class:`~core.errors.StoreDamaged`,
:class:`~core.errors.DiskFull`, :class:`~core.errors.StoreReadOnly`) rather than a raw
:mod:`sqlite3` error: :class:`_Connection` routes every statement's fault through
:meth:`FaultsMixin._fault`.
"""

from __future__ import annotations

import errno
import functools
import os
import shlex
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slicewise.core.errors import (
    DataError,
    DiskFull,
    StoreDamaged,
    StoreError,
    StoreReadOnly,
)

# SQLite's primary result codes (the low byte of an extended code) that are faults of the
# file or of the disk rather than of a request (https://www.sqlite.org/rescode.html).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 8, 10, 11


_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26


#: OS error numbers of a write that found no room: no space, quota exceeded, file too large.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


#: OS error numbers of a write that is not allowed (permissions, a read-only file system).
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


#: The extended attribute of the database file holding ``size:mtime_ns:inode`` of the file
#: as a store left it after passing ``PRAGMA quick_check``: an unchanged file is not read
#: through again on the next open (see :meth:`Store._check_integrity`).
CHECKED_XATTR = "user.slicewise.quick_check"


def _sqlite_code(exc: BaseException) -> int | None:
    """Return the primary SQLite result code of an error (``None`` when it has none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _no_room(where: Path | str, exc: BaseException) -> DiskFull:
    """Return the :class:`DiskFull` error of a write to ``where`` that found no room."""
    if getattr(exc, "errno", None) == errno.EFBIG:
        return DiskFull(
            f"{where} would grow past the largest file this process may write "
            f"({exc}): nothing was saved; raise the file size limit (ulimit -f) "
            "and try again"
        )
    return DiskFull(
        f"the disk holding {where} is full ({exc}): nothing was saved; free "
        "space on it and try again"
    )


def _signature(path: Path) -> str | None:
    """Return ``size:mtime_ns:inode`` of a file (``None`` when it cannot be read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def _wal_in_use(path: Path) -> bool:
    """Whether the database's ``-wal`` file holds frames (a writer has it open, or crashed)."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


def _whoami() -> str:
    """Return the user this process runs as, e.g. ``"user nobody"`` (else by number)."""
    try:
        import pwd

        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (ImportError, KeyError, OSError):
        return f"user {os.geteuid()}" if hasattr(os, "geteuid") else "this user"


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a cursor or connection method: faults of the file raise the store's errors."""

    @functools.wraps(method)
    def call(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            fault = self._fault(exc)
            if fault is None:
                raise
            if isinstance(self, sqlite3.Cursor):
                # finalize its statement now: the error's traceback keeps the cursor alive,
                # and SQLite keeps the files open until every statement is finalized
                self.close()
            raise fault from exc

    return call


class _Cursor(sqlite3.Cursor):
    """A cursor whose faults of the file raise typed errors (see :class:`_Connection`)."""

    execute = _translating(sqlite3.Cursor.execute)
    executemany = _translating(sqlite3.Cursor.executemany)
    fetchone = _translating(sqlite3.Cursor.fetchone)
    fetchmany = _translating(sqlite3.Cursor.fetchmany)
    fetchall = _translating(sqlite3.Cursor.fetchall)
    __next__ = _translating(sqlite3.Cursor.__next__)

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        return self.connection._fault(exc)


class _Connection(sqlite3.Connection):
    """A connection on which faults of the file raise the store's typed errors.

    A damaged page, a full disk or a read-only file raises the
    :class:`core.errors.DataError` that ``fault`` (set by the store) chooses instead of a
    raw :class:`sqlite3.DatabaseError`, wherever the statement or the fetch is.
    """

    fault: Callable[[sqlite3.DatabaseError], DataError | None] | None = None

    def cursor(self, factory: type[sqlite3.Cursor] = _Cursor) -> sqlite3.Cursor:  # noqa: D102
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # noqa: D102
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # noqa: D102
        return self.cursor().executemany(sql, parameters)

    commit = _translating(sqlite3.Connection.commit)
    rollback = _translating(sqlite3.Connection.rollback)

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        return self.fault(exc) if self.fault is not None else None


class FaultsMixin:
    """The store's read-only state and the typed errors of its faults."""

    @property
    def read_only(self) -> bool:
        """Whether the store is open for reading only (see :attr:`read_only_reason`)."""
        return self._why_read_only is not None

    @property
    def damaged(self) -> bool:
        """Whether the database failed ``PRAGMA quick_check`` or a read hit a bad page."""
        return self._damaged

    @property
    def read_only_reason(self) -> str | None:
        """Why the store is read-only and what to do, in a sentence or two; ``None`` if not.

        E.g. ``"/srv/sw.db is open read-only: nobody may not write …; nothing can be saved.
        To make changes, …"``, or for a damaged file the ``quick_check`` finding and how to
        recover it (``slicewise recover --db DB --to NEW``, a backup, or sqlite3's ``.recover``).
        """
        if self._why_read_only is None:
            return None
        return f"{self.path} is open read-only: {self._why_read_only}. {self._fix}"

    @property
    def read_only_advice(self) -> str | None:
        """What to do about the store being read-only: the end of :attr:`read_only_reason`.

        Every :class:`StoreReadOnly` (:class:`StoreDamaged`) message ends with it too, so a
        page that already showed the reason can leave it out of later messages. ``None``
        when the store is writable.
        """
        return self._fix if self._why_read_only is not None else None

    def _refuse_if_read_only(self) -> None:
        """Raise :class:`StoreReadOnly` (:class:`StoreDamaged`) when writes are refused."""
        if self._why_read_only is not None:
            error = StoreDamaged if self._damaged else StoreReadOnly
            raise error(
                f"{self.path} is open read-only: {self._why_read_only}; nothing was "
                f"saved. {self._fix}"
            )

    def _read_only_because(self, why: str, fix: str) -> None:
        self._why_read_only, self._fix = why, fix

    def _copy_advice(self) -> str:
        return (
            f"or copy {self.path.name} and {self.files_dir.name}/ to a folder {_whoami()} "
            "can write and point --db or $SLICEWISE_DB at the copy"
        )

    def _recovery_hint(self) -> str:
        """Say how to recover a damaged database (the dataset files beside it are kept)."""
        db, files = self.path, self.files_dir
        bak = db.with_name(db.name + ".bak")
        new = db.with_name(f"{db.stem}-recovered{db.suffix}")
        q = shlex.quote
        return (
            f"To recover: copy every row that can still be read, and the datasets' "
            f"files, into a new store with slicewise recover --db {q(str(db))} --to "
            f"{q(str(new))} (it says what was lost and leaves {db.name} as it is), then "
            "restart Slicewise with --db or $SLICEWISE_DB pointing at the new store. "
            f"Or stop Slicewise, put the database and its datasets' files aside (cp -a "
            f"{q(str(db))} {q(str(bak))}; cp -a {q(str(files))} {q(str(files))}.bak) "
            f"and restore a backup of {db.name}, or copy what can still be read with sqlite3 "
            f'{q(str(bak))} ".recover" | sqlite3 {q(str(new))} (this needs an sqlite3 '
            "built with the dbpage extension; Debian's 3.40 lacks it and answers \"SQL "
            f'logic error"), check it (sqlite3 {q(str(new))} "PRAGMA integrity_check") '
            f"and put it in place (mv {q(str(new))} {q(str(db))})."
        )

    def _mark_damaged(self, detail: str) -> None:
        if not self._damaged:
            self._damaged = True
            self._read_only_because(f"it is damaged ({detail})", self._recovery_hint())

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        """Return the typed error of a fault of the file or the disk (``None``: not one).

        Installed on the connection (:class:`_Connection`), so it applies to every
        statement and fetch. A damaged page also makes the store read-only from then on.
        """
        code = _sqlite_code(exc)
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            self._mark_damaged(str(exc))
            return StoreDamaged(
                f"{self.path} is damaged ({exc}): this cannot be read from "
                f"it, and nothing can be saved to it. {self._fix}"
            )
        if code == _SQLITE_FULL:
            return _no_room(self.path, exc)
        if code == _SQLITE_READONLY:
            if self.read_only:
                return StoreReadOnly(
                    f"{self.path} is open read-only: {self._why_read_only}; "
                    f"nothing was saved. {self._fix}"
                )
            return StoreReadOnly(
                f"{self.path} cannot be written ({exc}): nothing was saved; "
                f"give {_whoami()} write access to it and its folder, "
                f"{self._copy_advice()}"
            )
        if code == _SQLITE_IOERR:
            return StoreError(
                f"reading or writing {self.path} failed ({exc}): a change that "
                "failed was not saved; check the disk holding it (its free "
                "space, the system log) and try again"
            )
        return None

    def _os_fault(self, exc: BaseException, where: Path) -> DataError | None:
        """Return the typed error of an OS error writing ``where``'s files (else ``None``)."""
        if not isinstance(exc, OSError):
            return None
        target = exc.filename or where
        if exc.errno in _NO_ROOM:
            return _no_room(target, exc)
        if exc.errno in _NOT_ALLOWED:
            return StoreReadOnly(
                f"cannot write {target} ({exc.strerror}): nothing was saved; "
                f"give {_whoami()} write access to it, {self._copy_advice()}"
            )
        return None

    def _raise_os_fault(self, exc: BaseException, where: Path) -> None:
        """Raise the typed error of a full or read-only disk (from ``exc``); else return."""
        fault = self._os_fault(exc, where)
        if fault is not None:
            raise fault from exc

    def _writable_dir(self, folder: Path) -> None:
        """Refuse when read-only, else create ``folder`` (typed errors for disk faults)."""
        self._refuse_if_read_only()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._raise_os_fault(exc, folder)
            raise

    def _not_writable(self) -> str | None:
        """Say why this process may not write the store; ``None`` when it may.

        Checked: the database file, its folder (SQLite creates ``-wal`` and ``-shm`` files
        there), those files when present and ``files_dir`` (the datasets' Parquet files);
        for a new store, the nearest existing folder. A read-only file system counts.
        """
        me = _whoami()
        name = self.path.name
        if self.path.exists():
            targets = [
                (self.path, "the file", ""),
                (
                    self.path.parent,
                    "its folder",
                    f" (SQLite keeps {name}-wal and {name}-shm there)",
                ),
            ]
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(name + suffix)
                if side.exists():
                    targets.append((side, "the file", ""))
            if self.files_dir.exists():
                targets.append((self.files_dir, "the folder of its datasets' files", ""))
        else:
            folder = self.path.parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            targets = [(folder, "the folder", "")]
        for target, what, note in targets:
            try:
                if os.statvfs(target).f_flag & os.ST_RDONLY:
                    return f"{target} is on a read-only file system"
            except (AttributeError, OSError):
                pass
            mode = os.W_OK | (os.X_OK if target.is_dir() else 0)
            effective = os.access in getattr(os, "supports_effective_ids", ())
            if not os.access(target, mode, effective_ids=effective):
                return f"{what} {target} is not writable by {me}{note}"
        return None
