"""Datasets: their rows in ``datasets`` and their Parquet files beside the database."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.dataset import ColumnMapping, Dataset
from slicewise.core.errors import (
    NameTakenError,
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_scope,
    _clean_name,
    _clean_user,
    _few,
    _insert,
    _locate,
    _now,
    _row_by_id,
    _stamped,
)
from slicewise.core.store.corrections import (
    _coerce_label,
)
from slicewise.core.store.files import (
    FRAME_FILE,
    TAGS_FILE,
    _read_parquet,
    _stage_parquet,
    _staged,
    _Staging,
)
from slicewise.core.task import TaskSpec, TextNormalization


def _task_to_json(task: TaskSpec) -> str:
    return json.dumps(asdict(task))


def _task_from_json(text: str) -> TaskSpec:
    d = json.loads(text)
    norm = d.pop("normalization", None) or {}
    norm = {k: v for k, v in norm.items() if k in {f.name for f in fields(TextNormalization)}}
    norm["replacements"] = tuple(tuple(pair) for pair in norm.get("replacements", ()))
    known = {f.name for f in fields(TaskSpec)}
    return TaskSpec(
        **{k: v for k, v in d.items() if k in known}, normalization=TextNormalization(**norm)
    )


def _check_file_scopes(
    name: str, columns: pd.Index, given: Mapping[str, str] | None
) -> dict[str, str]:
    """Return ``{tag column: scope}`` for a dataset being saved (``"auto"`` unless given)."""
    given = dict(given or {})
    unknown = [t for t in given if t not in columns]
    if unknown:
        raise StoreValueError(
            f"dataset {name!r}: tag_scopes names {_few(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not among its tag columns "
            f"({_few(list(columns), 12) or 'none'})"
        )
    return {
        str(t): _check_scope(given.get(t, "auto"), f"dataset {name!r}, tag {t!r}") for t in columns
    }


class DatasetsMixin:
    """Save, list, load, rename and delete datasets."""

    def _dataset_row(self, dataset_id: Any) -> dict[str, Any]:
        return _row_by_id(self, "datasets", dataset_id, "dataset")

    def _dataset_for_write(self, dataset_id: Any, user: str, action: str) -> dict[str, Any]:
        """Return a dataset's row once ``user`` may do ``action`` in its project.

        Called first inside a write's transaction, so a refused write changes nothing.

        Raises
        ------
        StoreError
            Unknown dataset (:class:`~core.errors.NotFoundError`) or an id that is not an
            integer.
        PermissionDenied
            ``user``'s role does not allow ``action`` (:meth:`_require`).
        """
        row = self._dataset_row(dataset_id)
        self._require(row["project_id"], user, action)
        return row

    def _dir(self, dataset_id: int) -> Path:
        return self.files_dir / str(int(dataset_id))

    def _read_ids(self, dataset_id: int) -> pd.Series:
        frame = _read_parquet(self._dir(dataset_id) / FRAME_FILE, ["id"])
        return frame["id"].astype(str)

    def _locate_examples(
        self, dataset_id: int, frame_ids: pd.Series, wanted: pd.Index
    ) -> np.ndarray:
        pos = _locate(frame_ids, wanted)
        if (pos < 0).any():
            missing = list(wanted[pos < 0])
            raise NotFoundError(
                f"dataset {dataset_id} has no example with id {_few(missing)} "
                f"({len(missing)} of {len(wanted)} ids unknown)"
            )
        return pos

    def _examples_in_dataset(
        self, dataset_id: Any, wanted: pd.Index
    ) -> tuple[int, pd.Series, np.ndarray]:
        """Check that a dataset holds every id of ``wanted`` (text ids), before a write.

        Returns
        -------
        tuple
            The dataset id, its frame's ids as text (one per row) and the row of each
            wanted id (``wanted``'s order).

        Raises
        ------
        NotFoundError
            Unknown dataset, or ids it does not hold (the message names a few).
        """
        did = self._dataset_row(dataset_id)["id"]
        frame_ids = self._read_ids(did)
        return did, frame_ids, self._locate_examples(did, frame_ids, wanted)

    def save_dataset(
        self,
        project_id: int,
        name: str,
        dataset: Dataset,
        *,
        task: TaskSpec,
        user: str,
        tag_scopes: Mapping[str, str] | None = None,
    ) -> int:
        """Store a validated dataset and its tags; return the new dataset id.

        The frame and tags are written to Parquet in a staging folder, which is renamed to
        ``files_dir/<id>`` inside the transaction that adds the database rows, so either
        both the rows and the files exist or neither does. Each tag column seeds the
        project's tag of the same name (created, after the existing ones, when the project
        has none) for this dataset only; the project's other tags are listed too, with no
        base values here (only their hand values apply).

        Parameters
        ----------
        project_id
            The owning project.
        name
            Dataset name, unique within the project.
        dataset
            A :class:`core.dataset.Dataset` (frame with a unique ``id`` column and a
            ``label`` column; boolean tags aligned with it).
        task
            How predictions are judged; stored with its text normalization.
        user
            Who saves it.
        tag_scopes
            ``{tag column: scope}`` for columns not filled on every example: ``"errors"``
            when the file's column was filled on the model's errors only, ``"none"`` when
            it says nothing beyond the examples it tags. Columns left out get ``"auto"``:
            the analysis decides from the data as ``slicewise analyze`` does
            (:func:`core.tag_scope.infer_row_scopes`; see :meth:`tag_scopes`).

        Returns
        -------
        int
            The dataset id.

        Raises
        ------
        StoreError
            Unknown project, a name already used in the project, a frame that cannot be
            stored (duplicate ids, non-text column names, mixed-type columns), or a
            ``tag_scopes`` entry naming no tag column or an unknown scope.
        """
        name = _clean_name(name, "dataset name")
        user = _clean_user(user)
        pid, frame, tags, scopes = self._check_new_dataset(
            project_id, name, dataset, task, user=user, tag_scopes=tag_scopes
        )
        self._writable_dir(self.files_dir)
        staging_dir = self.files_dir / f".staging-{uuid.uuid4().hex}"
        with _staged(self, staging_dir, tree=True) as staging:
            staging.path.mkdir()
            _stage_parquet(frame, staging.path / FRAME_FILE, f"dataset {name!r}")
            _stage_parquet(tags, staging.path / TAGS_FILE, f"dataset {name!r}")
            with self._write():
                did = self._add_dataset(pid, name, dataset, task, scopes, staging, user=user)
        return did

    def _check_new_dataset(
        self,
        project_id: Any,
        name: str,
        dataset: Any,
        task: Any,
        *,
        user: str,
        tag_scopes: Mapping[str, str] | None,
    ) -> tuple[int, pd.DataFrame, pd.DataFrame, dict[str, str]]:
        """Validate a :meth:`save_dataset` before any file is written.

        Returns
        -------
        tuple
            The project id, the frame and tags (with a RangeIndex) and ``{tag column:
            scope}`` (:func:`_check_file_scopes`).

        Raises
        ------
        StoreError
            Not a Dataset or TaskSpec, unknown project, a name taken in the project, a
            frame or tags that cannot be stored (:meth:`_check_dataset`), bad scopes.
        PermissionDenied
            ``user`` may not save datasets in the project.
        """
        if not isinstance(dataset, Dataset):
            raise StoreValueError(f"save_dataset needs a core.dataset.Dataset, got {type(dataset)}")
        if not isinstance(task, TaskSpec):
            raise StoreValueError(f"save_dataset needs a core.task.TaskSpec, got {type(task)}")
        project = self._project_row(project_id)
        # Both again inside the transaction: refused before any file is written.
        self._require(project["id"], user, "save_dataset")
        self._check_free_name(project["id"], name)
        frame = dataset.frame.reset_index(drop=True)
        tags = dataset.tags.reset_index(drop=True)
        self._check_dataset(name, frame, tags)
        scopes = _check_file_scopes(name, tags.columns, tag_scopes)
        return project["id"], frame, tags, scopes

    def _add_dataset(
        self,
        project_id: int,
        name: str,
        dataset: Dataset,
        task: TaskSpec,
        scopes: dict[str, str],
        staging: _Staging,
        *,
        user: str,
    ) -> int:
        """Write a new dataset inside :meth:`save_dataset`'s transaction; return its id.

        In order: the role and name checks again, the ``datasets`` row, the tags its tag
        columns seed (:meth:`_seed_tags`), the staged folder moved to ``files_dir/<id>``,
        then the ``dataset.save`` event.
        """
        self._require(project_id, user, "save_dataset")
        self._check_free_name(project_id, name)
        at = _now()
        record = {
            "project_id": project_id,
            "name": name,
            "source_name": dataset.source_name,
            "content_hash": dataset.content_hash,
            "row_count": len(dataset.frame),
            "task_kind": task.kind,
            "mapping": json.dumps(dataset.mapping.to_dict()),
            "task": _task_to_json(task),
            "warnings": json.dumps(list(dataset.warnings)),
        }
        did = _insert(self, "datasets", _stamped(record, user, at))
        new_tags = self._seed_tags(project_id, did, scopes, user=user, at=at)
        target = self._dir(did)
        if target.exists():  # left by a save that crashed before committing
            shutil.rmtree(target)
        staging.move_to(target)
        self._event(
            "dataset.save",
            user=user,
            at=at,
            project_id=project_id,
            dataset_id=did,
            name=name,
            source_name=dataset.source_name,
            row_count=len(dataset.frame),
            tags=list(dataset.tags.columns),
            new_tags=new_tags,
            **({"tag_scopes": scopes} if set(scopes.values()) - {"all", "auto"} else {}),
        )
        return did

    def _seed_tags(
        self, project_id: int, dataset_id: int, scopes: dict[str, str], *, user: str, at: str
    ) -> list[str]:
        """Let each tag column seed its project tag in a new dataset; return the new tags."""
        existing = {
            r["name"]: r["id"]
            for r in self._rows("SELECT id, name FROM tags WHERE project_id = ?", [project_id])
        }
        created = []
        for column, scope in scopes.items():
            tag_id = existing.get(column)
            if tag_id is None:
                record = {"project_id": project_id, "name": column}
                tag_id = _insert(self, "tags", _stamped(record, user, at))
                created.append(column)
            self.db.execute(
                "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) "
                "VALUES (?, ?, ?, ?)",
                [tag_id, dataset_id, json.dumps([column]), scope],
            )
        return created

    def _check_dataset(self, name: str, frame: pd.DataFrame, tags: pd.DataFrame) -> None:
        for what, cols in (("frame", frame.columns), ("tags", tags.columns)):
            bad = [c for c in cols if not isinstance(c, str)]
            if bad:
                raise StoreValueError(
                    f"dataset {name!r}: {what} column names must be text; {_few(bad)} are not"
                )
            if cols.duplicated().any():
                raise StoreValueError(
                    f"dataset {name!r}: {what} repeats the column name(s) "
                    f"{_few(cols[cols.duplicated()].unique())}"
                )
        for col in ("id", "label"):
            if col not in frame.columns:
                raise StoreValueError(f"dataset {name!r}: the frame has no {col!r} column")
        if len(tags) != len(frame):
            raise StoreValueError(
                f"dataset {name!r}: tags have {len(tags)} rows but the frame has {len(frame)}"
            )
        not_bool = [c for c in tags.columns if not pd.api.types.is_bool_dtype(tags[c])]
        if not_bool:
            raise StoreValueError(
                f"dataset {name!r}: tag columns must be boolean; {_few(not_bool)} are not"
            )
        blank = [c for c in tags.columns if not c.strip() or c != c.strip()]
        if blank:
            raise StoreValueError(
                f"dataset {name!r}: tag names must be non-blank without "
                f"surrounding spaces: {_few(blank)}"
            )
        ids = frame["id"].astype(str)
        if ids.is_unique:  # one hash pass; which ids repeat is looked for only when some do
            return
        dup = ids.duplicated()
        if dup.any():
            raise StoreValueError(
                f"dataset {name!r}: example ids must be unique as text; "
                f"{_few(ids[dup].unique())} repeat"
            )

    def _check_free_name(
        self, project_id: int, name: str, *, ignore: int | None = None, table: str = "datasets"
    ) -> None:
        """Raise when ``table`` (datasets or annotation sets) has ``name`` in the project."""
        rows = self._rows(
            f"SELECT id FROM {table} WHERE project_id = ? AND name = ?", [project_id, name]
        )
        if rows and rows[0]["id"] != ignore:
            what = "a dataset" if table == "datasets" else "an annotation set"
            raise NameTakenError(
                f"project {project_id} already has {what} named {name!r} "
                f"(id {rows[0]['id']}); choose another name"
            )

    def _list_in_project(self, table: str, cols: list[str], project_id: int | None) -> pd.DataFrame:
        """Return ``cols`` of ``table``'s rows (of one project, or all), newest first."""
        where, params = "", []
        if project_id is not None:
            where, params = "WHERE project_id = ?", [self._project_row(project_id)["id"]]
        return self._frame(
            f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY created_at DESC, id DESC",
            params,
            cols,
        )

    def list_datasets(self, project_id: int | None = None) -> pd.DataFrame:
        """Return the stored datasets, newest first.

        Parameters
        ----------
        project_id
            Only this project's datasets; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``name``, ``source_name``, ``content_hash``,
            ``row_count``, ``task_kind``, ``created_at``, ``created_by``.
        """
        cols = [
            "id",
            "project_id",
            "name",
            "source_name",
            "content_hash",
            "row_count",
            "task_kind",
            "created_at",
            "created_by",
        ]
        return self._list_in_project("datasets", cols, project_id)

    def dataset_info(self, dataset_id: int) -> dict:
        """Return a dataset's row with its mapping, task and warnings decoded.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        dict
            The columns of :meth:`list_datasets` plus ``updated_at``, ``updated_by``,
            ``mapping`` (:class:`core.dataset.ColumnMapping`), ``task``
            (:class:`core.task.TaskSpec`) and ``warnings`` (list of text).
        """
        row = self._dataset_row(dataset_id)
        row["mapping"] = ColumnMapping.from_dict(json.loads(row["mapping"]))
        row["task"] = _task_from_json(row["task"])
        row["warnings"] = json.loads(row["warnings"])
        return row

    def load_dataset(self, dataset_id: int) -> Dataset:
        """Return a stored dataset as it stands now.

        The frame is read back with its dtypes; ``label`` carries the project's active label
        corrections of its examples (originals stay in :meth:`corrections`); ``tags`` is
        :meth:`tag_matrix`.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        core.dataset.Dataset
        """
        with self._read():
            info = self.dataset_info(dataset_id)
            did = info["id"]
            frame = _read_parquet(self._dir(did) / FRAME_FILE)
            frame_ids = frame["id"].astype(str)
            tags = self._tag_matrix(info, frame_ids)
            fixes, pos = self._active_corrections(info, frame_ids)
        if fixes:
            labels = frame["label"].copy()
            # A correction made on another dataset of the project takes this one's spelling.
            values = pd.array(
                [
                    f["corrected"]
                    if f["dataset_id"] == did
                    else _coerce_label(f["corrected"], labels, did)
                    for f in fixes
                ],
                dtype=labels.dtype,
            )
            labels.iloc[pos] = values
            frame["label"] = labels
        return Dataset(
            frame=frame,
            tags=tags,
            mapping=info["mapping"],
            source_name=info["source_name"],
            content_hash=info["content_hash"],
            warnings=info["warnings"],
        )

    def rename_dataset(self, dataset_id: int, new_name: str, *, user: str) -> None:
        """Rename a dataset.

        Parameters
        ----------
        dataset_id
            The dataset.
        new_name
            Its new name, unique within its project.
        user
            Who renames it.

        Raises
        ------
        StoreError
            Unknown dataset, or the name is taken in the project.
        """
        new_name = _clean_name(new_name, "dataset name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "rename_dataset")
            if row["name"] == new_name:
                return
            self._check_free_name(row["project_id"], new_name, ignore=row["id"])
            at = _now()
            self.db.execute(
                "UPDATE datasets SET name = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                [new_name, at, user, row["id"]],
            )
            self._event(
                "dataset.rename",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                old=row["name"],
                new=new_name,
            )

    def delete_dataset(self, dataset_id: int, *, user: str) -> None:
        """Delete a dataset: its rows (tag bases and scopes, review samples, reports) and files.

        Its production samples go too (rows and files): they were read with its columns.
        What belongs to the project stays: its tags and their settings, hand values, label
        corrections and reviewed examples, and the events about the dataset.

        Parameters
        ----------
        dataset_id
            The dataset.
        user
            Who deletes it.
        """
        user = _clean_user(user)
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "delete_dataset")
            did = row["id"]
            samples = self._production_ids_of(did)
            for table in ("tag_bases", "review_samples", "reports", "production_samples"):
                self.db.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [did])
            self.db.execute("DELETE FROM datasets WHERE id = ?", [did])
            self._event(
                "dataset.delete",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=did,
                name=row["name"],
            )
        # The files go once the rows are gone for good: a crash before this leaves files no
        # row owns (removed by the next Store()), never a row without its files.
        self._remove_production_files(samples)
        trash = self.files_dir / f".deleted-{uuid.uuid4().hex}"
        try:
            os.replace(self._dir(did), trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)
