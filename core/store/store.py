"""The :class:`Store`: one SQLite file and the files beside it (see :mod:`core.store`)."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import sqlite_utils

from slicewise.core.errors import (
    StoreValueError,
    UnusableDatabaseError,
)
from slicewise.core.store.annotation_sets import (
    AnnotationSetsMixin,
)
from slicewise.core.store.common import (
    default_db_path,
    files_dir_of,
)
from slicewise.core.store.connection import BUSY_TIMEOUT_MS, ConnectionMixin
from slicewise.core.store.corrections import (
    CorrectionsMixin,
)
from slicewise.core.store.datasets import (
    DatasetsMixin,
)
from slicewise.core.store.faults import (
    CHECKED_XATTR,
    FaultsMixin,
    _signature,
    _wal_in_use,
)
from slicewise.core.store.iterations import (
    IterationsMixin,
)
from slicewise.core.store.members import MembersMixin
from slicewise.core.store.production import ProductionMixin
from slicewise.core.store.projects import ProjectsMixin
from slicewise.core.store.reports import ReportsMixin
from slicewise.core.store.review_decisions import (
    ReviewDecisionsMixin,
)
from slicewise.core.store.review_samples import ReviewSamplesMixin
from slicewise.core.store.reviews import ReviewsMixin
from slicewise.core.store.tag_settings import TagSettingsMixin
from slicewise.core.store.tag_values import TagValuesMixin
from slicewise.core.store.tags import TagsMixin
from slicewise.core.store.undo import UndoMixin


class Store(
    ProjectsMixin,
    MembersMixin,
    DatasetsMixin,
    TagsMixin,
    TagValuesMixin,
    TagSettingsMixin,
    ReviewsMixin,
    ReviewSamplesMixin,
    UndoMixin,
    CorrectionsMixin,
    ReportsMixin,
    IterationsMixin,
    AnnotationSetsMixin,
    ReviewDecisionsMixin,
    ProductionMixin,
    ConnectionMixin,
    FaultsMixin,
):
    """Every table of Slicewise (projects to review decisions) and its history, in SQLite.

    Parameters
    ----------
    path
        The database file; ``None`` uses :func:`default_db_path`. The folder and the
        database are created on first use and the schema is migrated to the newest version.

    Attributes
    ----------
    path
        The database file.
    db
        The :class:`sqlite_utils.Database` (WAL mode, 30 s busy timeout, foreign keys on).
    files_dir
        ``<db stem>_files/`` beside the database; dataset ``i``'s Parquet files are in
        ``files_dir / str(i)``, annotation set ``j``'s labels in
        ``files_dir / "annotation_sets" / f"{j}.parquet"``.

    Notes
    -----
    One object may be shared between threads (e.g. as a Streamlit resource): every
    statement and transaction holds a lock. Several processes may open the same file.

    Every method taking ``user=`` that writes checks ``user``'s role in the project first,
    in its transaction (the role each needs: :data:`core.access.ACTIONS`), and raises
    :class:`core.errors.PermissionDenied` when it is not enough, writing nothing. A store
    without members is open (:meth:`roles_enforced`). Members' names match regardless of
    letter case (``OLIVIA`` is ``olivia``) and are shown as first given.

    A name a person gives (a project, dataset, tag, annotation set or model) longer than
    :data:`MAX_NAME_CHARS` characters, or a member's longer than an identity may be
    (:data:`core.auth_config.MAX_IDENTITY_LENGTH`), raises
    :class:`core.errors.InvalidValueError`, writing nothing.

    Faults of the file or the disk never surface as raw :mod:`sqlite3` errors. A database
    this process may not write (the file, its folder, the ``-wal``/``-shm`` files or
    ``files_dir``; or a read-only file system) opens read-only (SQLite ``mode=ro``, or
    ``immutable=1`` when even the ``-shm`` file cannot be made): reads work, and every
    write raises :class:`core.errors.StoreReadOnly` naming the path, why and what to do
    (:attr:`read_only`, :attr:`read_only_reason`). Opening runs ``PRAGMA quick_check``;
    when it fails (or a read later hits a bad page) the store is read-only too: reads of
    undamaged tables work, a read that hits damage raises
    :class:`core.errors.StoreDamaged`, and writes raise it with a recovery hint. A write
    that finds the disk full (SQLite's ``SQLITE_FULL``; ``ENOSPC`` writing the Parquet
    files) raises :class:`core.errors.DiskFull` and leaves nothing of itself behind.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if str(path) == ":memory:":
            raise StoreValueError(
                "the store needs a database file (it keeps Parquet files beside "
                "it); pass a path, not ':memory:'"
            )
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.files_dir = files_dir_of(self.path)
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _write() blocks in the thread holding the lock
        self._why_read_only: str | None = None  # why writes are refused (None: they are not)
        self._fix = ""  # what to do about it
        self._damaged = False
        self._checked = False  # passed PRAGMA quick_check (or is unchanged since it did)
        conn = self._connect()
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check_integrity()
            if not self.read_only:
                self.db.enable_wal()
            self._migrate()
            if not self.read_only:
                self._remove_orphan_files()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise UnusableDatabaseError(
                f"{self.path} is not a usable Slicewise database: {exc}"
            ) from exc
        except BaseException:
            conn.close()
            raise

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection.

        When the file passed ``PRAGMA quick_check`` at open, took no damage since and this
        was its last connection (no ``-wal`` frames left), its size, modification time and
        inode are recorded in the :data:`CHECKED_XATTR` extended attribute of the file, so
        that the next open need not read it through again while it is unchanged (a file
        system without user extended attributes just checks at every open).
        """
        self.db.close()
        if self._checked and not self.read_only and not _wal_in_use(self.path):
            signature = _signature(self.path)
            try:
                if signature is not None:
                    os.setxattr(self.path, CHECKED_XATTR, signature.encode())
            except (AttributeError, OSError):  # no xattrs here: the next open checks
                pass
