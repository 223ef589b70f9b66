"""Annotation sets: multi-annotator label tables (Parquet files) of a project."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from slicewise.core.errors import (
    ConflictError,
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_id,
    _clean_name,
    _clean_text,
    _clean_user,
    _few,
    _now,
)
from slicewise.core.store.files import (
    ANNOTATIONS_DIR,
    _read_parquet,
    _write_parquet,
)

#: The columns an annotation set's long table must have (``time`` and ``comment`` may follow).
ANNOTATION_COLUMNS = ("item", "annotator", "label")


def _check_annotation_labels(name: str, labels: Any) -> pd.DataFrame:
    if not isinstance(labels, pd.DataFrame):
        raise StoreValueError(
            f"annotation set {name!r}: the labels must be a DataFrame, got {type(labels).__name__}"
        )
    bad = [c for c in labels.columns if not isinstance(c, str)]
    if bad:
        raise StoreValueError(
            f"annotation set {name!r}: column names must be text; {_few(bad)} are not"
        )
    missing = [c for c in ANNOTATION_COLUMNS if c not in labels.columns]
    if missing:
        raise StoreValueError(
            f"annotation set {name!r}: the labels lack the column(s) "
            f"{_few(missing)}; a long table needs item, annotator and label"
        )
    if labels.empty:
        raise StoreValueError(f"annotation set {name!r} has no labels")
    blank = [c for c in ANNOTATION_COLUMNS if labels[c].isna().any()]
    if blank:
        raise StoreValueError(
            f"annotation set {name!r}: the column(s) {_few(blank)} have missing values"
        )
    return labels.reset_index(drop=True)


class AnnotationSetsMixin:
    """Save, list, load and delete annotation sets."""

    _ANNOTATION_SET_COLUMNS = [
        "id",
        "project_id",
        "name",
        "source_name",
        "content_hash",
        "row_count",
        "linked_dataset_id",
        "created_at",
        "created_by",
    ]

    def _annotation_path(self, set_id: int) -> Path:
        return self.files_dir / ANNOTATIONS_DIR / f"{int(set_id)}.parquet"

    def _annotation_row(self, set_id: Any) -> dict[str, Any]:
        sid = _check_id(set_id, "annotation set")
        rows = self._rows("SELECT * FROM annotation_sets WHERE id = ?", [sid])
        if not rows:
            raise NotFoundError(f"no annotation set with id {sid}")
        return rows[0]

    def _check_link(self, project_id: int, dataset_id: Any) -> int | None:
        if dataset_id is None:
            return None
        row = self._dataset_row(dataset_id)
        if row["project_id"] != project_id:
            raise ConflictError(
                f"dataset {row['id']} belongs to project {row['project_id']}, not "
                f"{project_id}: an annotation set links to a dataset of its own "
                "project"
            )
        return int(row["id"])

    def save_annotation_set(
        self,
        project_id: int,
        name: str,
        labels: pd.DataFrame,
        *,
        source_name: str,
        content_hash: str,
        user: str,
        linked_dataset_id: int | None = None,
    ) -> int:
        """Store a multi-annotator label table as an annotation set of a project.

        The table is written to Parquet (atomically: a staging file renamed inside the
        transaction that adds the row), so either both the row and the file exist or neither.

        Parameters
        ----------
        project_id
            The owning project.
        name
            The set's name, unique within the project.
        labels
            The long table of :class:`core.agreement.Annotations`: ``item``, ``annotator``
            and ``label`` columns (no missing values), optionally ``time`` and ``comment``.
        source_name, content_hash
            The file it came from and the hash of its bytes.
        user
            Who saves it.
        linked_dataset_id
            The dataset of the same project whose example ids the items are (its ground
            truth, predictions and tags), or ``None``.

        Returns
        -------
        int
            The annotation set id.

        Raises
        ------
        StoreError
            Unknown project or dataset, a dataset of another project, a name already used
            in the project, or labels that are not a long table or cannot be stored.
        """
        name = _clean_name(name, "annotation set name")
        user = _clean_user(user)
        source_name = _clean_name(source_name, "source name", limit=None)
        content_hash = _clean_text(content_hash, "content hash")
        pid = self._project_row(project_id)["id"]
        self._require(pid, user, "save_annotation_set")  # again inside the transaction
        self._check_free_name(pid, name, table="annotation_sets")
        self._check_link(pid, linked_dataset_id)
        labels = _check_annotation_labels(name, labels)
        folder = self.files_dir / ANNOTATIONS_DIR
        self._writable_dir(folder)
        staging = folder / f".staging-{uuid.uuid4().hex}.parquet"
        final: Path | None = None
        try:
            try:
                _write_parquet(labels, staging)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise StoreValueError(
                    f"annotation set {name!r} cannot be stored as Parquet: {exc}"
                ) from exc
            with self._write():
                self._require(pid, user, "save_annotation_set")
                self._check_free_name(pid, name, table="annotation_sets")
                linked = self._check_link(pid, linked_dataset_id)
                at = _now()
                sid = int(
                    self.db["annotation_sets"]
                    .insert(
                        {
                            "project_id": pid,
                            "name": name,
                            "source_name": source_name,
                            "content_hash": content_hash,
                            "row_count": len(labels),
                            "linked_dataset_id": linked,
                            "created_at": at,
                            "created_by": user,
                        }
                    )
                    .last_pk
                )
                os.replace(staging, self._annotation_path(sid))
                final = self._annotation_path(sid)
                self._event(
                    "annotation_set.save",
                    user=user,
                    at=at,
                    project_id=pid,
                    annotation_set_id=sid,
                    name=name,
                    source_name=source_name,
                    row_count=len(labels),
                    linked_dataset_id=linked,
                )
            return sid
        except BaseException as exc:
            (final if final is not None else staging).unlink(missing_ok=True)
            self._raise_os_fault(exc, folder)  # a full disk: DiskFull
            raise

    def list_annotation_sets(self, project_id: int | None = None) -> pd.DataFrame:
        """Return the stored annotation sets, newest first.

        Parameters
        ----------
        project_id
            Only this project's sets; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``name``, ``source_name``, ``content_hash``,
            ``row_count`` (labels), ``linked_dataset_id`` (nullable Int64: ``<NA>`` when not
            linked or the dataset was deleted), ``created_at``, ``created_by``.
        """
        out = self._list_in_project("annotation_sets", self._ANNOTATION_SET_COLUMNS, project_id)
        out["linked_dataset_id"] = out["linked_dataset_id"].astype("Int64")
        return out

    def annotation_set_info(self, set_id: int) -> dict[str, Any]:
        """Return one annotation set's row (the columns of :meth:`list_annotation_sets`).

        Raises
        ------
        StoreError
            Unknown annotation set.
        """
        row = self._annotation_row(set_id)
        return {c: row[c] for c in self._ANNOTATION_SET_COLUMNS}

    def load_annotation_set(self, set_id: int) -> pd.DataFrame:
        """Return an annotation set's long label table as it was saved.

        Raises
        ------
        StoreError
            Unknown annotation set, or its file is missing.
        """
        sid = self._annotation_row(set_id)["id"]
        return _read_parquet(self._annotation_path(sid))

    def delete_annotation_set(self, set_id: int, *, user: str) -> None:
        """Delete an annotation set, its review decisions and its file (the events stay).

        Raises
        ------
        StoreError
            Unknown annotation set.
        """
        user = _clean_user(user)
        trash: Path | None = None
        with self._write():
            row = self._annotation_row(set_id)
            self._require(row["project_id"], user, "delete_annotation_set")
            sid = row["id"]
            self.db.execute("DELETE FROM review_decisions WHERE annotation_set_id = ?", [sid])
            self.db.execute("DELETE FROM annotation_sets WHERE id = ?", [sid])
            self._event(
                "annotation_set.delete",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                annotation_set_id=sid,
                name=row["name"],
            )
            path = self._annotation_path(sid)
            if path.exists():  # moved last: a failure before this rolls the rows back
                trash = path.with_name(f".deleted-{uuid.uuid4().hex}.parquet")
                os.replace(path, trash)
        if trash is not None:
            trash.unlink(missing_ok=True)
