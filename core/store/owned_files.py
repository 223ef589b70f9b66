"""Rows that own one Parquet file: finding, loading and deleting the row and its file.

Annotation sets (:mod:`core.store.annotation_sets`) and production samples
(:mod:`core.store.production`) each keep their cells in ``files_dir/<folder>/<id>.parquet``,
written when the row is added. Looking such a row up, loading its file and deleting both
follow one flow, kept here; each kind is described by an :class:`OwnedFile`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.store.common import _clean_user, _now, _row_by_id
from slicewise.core.store.files import _read_parquet


@dataclass(frozen=True)
class OwnedFile:
    """A kind of row that owns the file ``files_dir / folder / f"{id}.parquet"``.

    Attributes
    ----------
    table
        The table of its rows, e.g. ``"production_samples"``; each row has ``id``,
        ``project_id`` and ``name``.
    folder
        The folder of its files inside ``files_dir``.
    what
        How messages name one row, e.g. ``"production sample"`` (``no production sample
        with id 7``).
    event
        The prefix of its events and their id key: ``"production_sample"`` gives the
        ``production_sample.delete`` event with a ``production_sample_id``.
    columns
        The columns of its info (:meth:`OwnedFilesMixin._owned_info`).
    dependents
        ``(table, column)`` pairs of rows that refer to it and are deleted with it.
    """

    table: str
    folder: str
    what: str
    event: str
    columns: tuple[str, ...]
    dependents: tuple[tuple[str, str], ...] = ()


class OwnedFilesMixin:
    """Find, load and delete rows that own one Parquet file (:class:`OwnedFile`)."""

    def _owned_path(self, kind: OwnedFile, row_id: int) -> Path:
        """Return where row ``row_id`` of ``kind`` keeps its file (it may be missing)."""
        return self.files_dir / kind.folder / f"{int(row_id)}.parquet"

    def _owned_row(self, kind: OwnedFile, row_id: Any) -> dict[str, Any]:
        """Return the row of ``kind`` with id ``row_id``.

        Raises
        ------
        StoreValueError
            ``row_id`` is not an integer.
        NotFoundError
            No row has that id (``no production sample with id 7``).
        """
        return _row_by_id(self, kind.table, row_id, kind.what)

    def _owned_info(self, kind: OwnedFile, row_id: Any) -> dict[str, Any]:
        """Return ``kind.columns`` of a row, as ``{column: value}``.

        Raises
        ------
        StoreError
            Unknown row (:meth:`_owned_row`).
        """
        row = self._owned_row(kind, row_id)
        return {c: row[c] for c in kind.columns}

    def _load_owned(self, kind: OwnedFile, row_id: Any) -> pd.DataFrame:
        """Return the table a row's file holds, as it was saved.

        Raises
        ------
        StoreError
            Unknown row, or its file is missing.
        """
        rid = self._owned_row(kind, row_id)["id"]
        return _read_parquet(self._owned_path(kind, rid))

    def _remove_owned_files(self, kind: OwnedFile, row_ids: Iterable[int]) -> None:
        """Remove the files of rows that are gone for good (missing files skipped).

        A crash before this leaves files no row owns: the next ``Store()`` removes them.
        """
        for rid in row_ids:
            self._owned_path(kind, rid).unlink(missing_ok=True)

    def _delete_owned(self, kind: OwnedFile, row_id: Any, *, user: str, action: str) -> None:
        """Delete a row, the rows that refer to it, and its file; write its delete event.

        In one transaction, in order: the row looked up, ``user``'s role for ``action``
        checked, the ``kind.dependents`` rows and the row deleted, the
        ``<kind.event>.delete`` event (``project_id``, ``<kind.event>_id``, ``name``)
        written, and last the file renamed to ``.deleted-<uuid>.parquet`` beside it, so a
        failure before the rename rolls the rows back and leaves the file where it was.
        When the commit itself fails after the rename, the file is renamed back. The
        renamed file is unlinked once the transaction has committed.

        Raises
        ------
        StoreError
            Unknown row (:meth:`_owned_row`).
        PermissionDenied
            ``user`` may not do ``action`` in the row's project.
        """
        user = _clean_user(user)
        path: Path | None = None
        trash: Path | None = None
        try:
            with self._write():
                row = self._owned_row(kind, row_id)
                self._require(row["project_id"], user, action)
                rid = row["id"]
                for table, column in kind.dependents:
                    self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", [rid])
                self.db.execute(f"DELETE FROM {kind.table} WHERE id = ?", [rid])
                self._event(
                    f"{kind.event}.delete",
                    user=user,
                    at=_now(),
                    project_id=row["project_id"],
                    **{f"{kind.event}_id": rid},
                    name=row["name"],
                )
                path = self._owned_path(kind, rid)
                if path.exists():  # moved last: a failure before this rolls the rows back
                    trash = path.with_name(f".deleted-{uuid.uuid4().hex}.parquet")
                    os.replace(path, trash)
        except BaseException:
            if trash is not None and path is not None:  # the commit failed: the rows stay
                with contextlib.suppress(OSError):
                    os.replace(trash, path)
            raise
        if trash is not None:
            trash.unlink(missing_ok=True)
