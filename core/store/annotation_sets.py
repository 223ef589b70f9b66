"""Annotation sets: multi-annotator label tables (Parquet files) of a project."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_same_project,
    _clean_name,
    _clean_text,
    _clean_user,
    _few,
    _insert,
    _now,
)
from slicewise.core.store.files import (
    ANNOTATIONS_DIR,
    _stage_parquet,
    _staged,
    _Staging,
)
from slicewise.core.store.owned_files import OwnedFile, OwnedFilesMixin

#: Annotation sets as rows owning ``files_dir/annotation_sets/<id>.parquet``; their review
#: decisions go with them.
ANNOTATION_SET_FILE = OwnedFile(
    table="annotation_sets",
    folder=ANNOTATIONS_DIR,
    what="annotation set",
    event="annotation_set",
    columns=(
        "id",
        "project_id",
        "name",
        "source_name",
        "content_hash",
        "row_count",
        "linked_dataset_id",
        "created_at",
        "created_by",
    ),
    dependents=(("review_decisions", "annotation_set_id"),),
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


class AnnotationSetsMixin(OwnedFilesMixin):
    """Save, list, load and delete annotation sets."""

    _ANNOTATION_SET_COLUMNS = list(ANNOTATION_SET_FILE.columns)

    def _annotation_path(self, set_id: int) -> Path:
        return self._owned_path(ANNOTATION_SET_FILE, set_id)

    def _annotation_row(self, set_id: Any) -> dict[str, Any]:
        return self._owned_row(ANNOTATION_SET_FILE, set_id)

    def _check_link(self, project_id: int, dataset_id: Any) -> int | None:
        if dataset_id is None:
            return None
        return _check_same_project(
            self._dataset_row(dataset_id),
            project_id,
            "an annotation set links to a dataset of its own project",
        )

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
        labels = self._check_new_annotation_set(pid, name, labels, user, linked_dataset_id)
        folder = self.files_dir / ANNOTATIONS_DIR
        self._writable_dir(folder)
        staging_file = folder / f".staging-{uuid.uuid4().hex}.parquet"
        with _staged(self, staging_file, tree=False) as staging:
            _stage_parquet(labels, staging.path, f"annotation set {name!r}")
            record = {
                "project_id": pid,
                "name": name,
                "source_name": source_name,
                "content_hash": content_hash,
                "row_count": len(labels),
            }
            with self._write():
                sid = self._add_annotation_set(record, linked_dataset_id, staging, user=user)
        return sid

    def _check_new_annotation_set(
        self, project_id: int, name: str, labels: Any, user: str, linked_dataset_id: Any
    ) -> pd.DataFrame:
        """Validate a :meth:`save_annotation_set` before its file is written.

        Returns the labels with a RangeIndex (:func:`_check_annotation_labels`).

        Raises
        ------
        StoreError
            A name taken in the project, an unknown linked dataset or one of another
            project, or labels that are not a long table.
        PermissionDenied
            ``user`` may not save annotation sets in the project.
        """
        self._require(project_id, user, "save_annotation_set")  # again inside the transaction
        self._check_free_name(project_id, name, table="annotation_sets")
        self._check_link(project_id, linked_dataset_id)
        return _check_annotation_labels(name, labels)

    def _add_annotation_set(
        self, record: dict[str, Any], linked_dataset_id: Any, staging: _Staging, *, user: str
    ) -> int:
        """Write a new annotation set inside its save's transaction; return its id.

        ``record`` holds its ``project_id``, ``name``, ``source_name``, ``content_hash`` and
        ``row_count``. In order: the role, name and link checks again, the
        ``annotation_sets`` row, the staged file moved to its place, the event.
        """
        pid, name = record["project_id"], record["name"]
        self._require(pid, user, "save_annotation_set")
        self._check_free_name(pid, name, table="annotation_sets")
        linked = self._check_link(pid, linked_dataset_id)
        at = _now()
        row = {**record, "linked_dataset_id": linked, "created_at": at, "created_by": user}
        sid = _insert(self, "annotation_sets", row)
        staging.move_to(self._annotation_path(sid))
        self._event(
            "annotation_set.save",
            user=user,
            at=at,
            project_id=pid,
            annotation_set_id=sid,
            name=name,
            source_name=record["source_name"],
            row_count=record["row_count"],
            linked_dataset_id=linked,
        )
        return sid

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
        return self._owned_info(ANNOTATION_SET_FILE, set_id)

    def load_annotation_set(self, set_id: int) -> pd.DataFrame:
        """Return an annotation set's long label table as it was saved.

        Raises
        ------
        StoreError
            Unknown annotation set, or its file is missing.
        """
        return self._load_owned(ANNOTATION_SET_FILE, set_id)

    def delete_annotation_set(self, set_id: int, *, user: str) -> None:
        """Delete an annotation set, its review decisions and its file (the events stay).

        Raises
        ------
        StoreError
            Unknown annotation set.
        PermissionDenied
            ``user`` may not delete annotation sets in the project.
        """
        self._delete_owned(ANNOTATION_SET_FILE, set_id, user=user, action="delete_annotation_set")
