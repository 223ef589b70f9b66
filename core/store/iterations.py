"""Iterations: snapshots of an analysed dataset as steps of a project's history."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from slicewise.core.dataset import ColumnMapping, Dataset
from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.jsonable import dumps_json
from slicewise.core.store.common import (
    _check_same_project,
    _clean_name,
    _clean_text,
    _clean_user,
    _few,
    _insert,
    _now,
    _python_scalar,
    _row_by_id,
)


def _table_to_json(table: Any) -> str:
    """Serialise a per-slice table (index, columns, dtypes and values) as JSON text."""
    if not isinstance(table, pd.DataFrame):
        raise StoreValueError(f"an iteration's table must be a DataFrame, got {type(table)}")
    if table.empty:
        raise StoreValueError(
            "an iteration's table is empty; give the per-slice table of the "
            "dataset (core.analysis.analyze)"
        )
    bad = [c for c in table.columns if not isinstance(c, str)]
    if bad:
        raise StoreValueError(f"an iteration's table needs text column names; {_few(bad)} are not")
    if not table.index.is_unique:
        raise StoreValueError(
            f"an iteration's table repeats the slices "
            f"{_few(table.index[table.index.duplicated()].unique())}"
        )
    data = [[_python_scalar(v) for v in row] for row in table.itertuples(index=False)]
    payload = {
        "index_name": table.index.name,
        "index": [str(i) for i in table.index],
        "columns": list(table.columns),
        "dtypes": [str(t) for t in table.dtypes],
        "data": data,
    }
    try:
        return dumps_json(payload, indent=None)
    except (TypeError, ValueError) as exc:
        raise StoreValueError(
            f"an iteration's table holds values that cannot be stored: {exc}"
        ) from exc


def _table_from_json(text: str) -> pd.DataFrame:
    """Rebuild a table written by :func:`_table_to_json`, restoring the column dtypes."""
    payload = json.loads(text)
    frame = pd.DataFrame.from_records(payload["data"], columns=payload["columns"])
    for col, dtype in zip(payload["columns"], payload["dtypes"], strict=True):
        values = frame[col]
        try:
            if dtype in ("float64", "float32"):
                frame[col] = values.astype(float)
            elif dtype in ("int64", "int32", "Int64", "boolean") or (
                dtype == "bool" and values.notna().all()
            ):
                frame[col] = values.astype(dtype if dtype != "int32" else "int64")
            elif dtype == "bool":
                frame[col] = values.astype("boolean")
            elif dtype == "object":
                frame[col] = values.astype(object)
        except (TypeError, ValueError):
            pass  # keep what JSON gave
    frame.index = pd.Index(payload["index"], name=payload.get("index_name"))
    return frame


def _clean_notes(notes: Any) -> str:
    if notes is None:
        notes = {}
    if not isinstance(notes, dict):
        raise StoreValueError(f"notes must be a dict of name -> value, got {type(notes).__name__}")
    bad = [k for k in notes if not isinstance(k, str) or not k.strip()]
    if bad:
        raise StoreValueError(f"note names must be non-empty text; {_few(bad)} are not")
    try:
        # Not core.jsonable.dumps_json: a NaN or inf in the notes is refused, not stored as null.
        return json.dumps(
            {k.strip(): v for k, v in notes.items()}, allow_nan=False, ensure_ascii=False
        )
    except (TypeError, ValueError) as exc:
        raise StoreValueError(
            f"notes must hold JSON values (text, numbers, true/false, lists, dicts): {exc}"
        ) from exc


def _check_iteration(
    model_name: Any, model_version: Any, data_version: Any, notes: Any, table: Any
) -> dict[str, str]:
    """Validate what :meth:`IterationsMixin.save_iteration` stores beside the dataset's copy.

    Returns
    -------
    dict
        ``model_name``, ``model_version``, ``data_version`` (stripped text), ``notes``
        (JSON text, :func:`_clean_notes`) and ``slice_table`` (JSON text,
        :func:`_table_to_json`).

    Raises
    ------
    StoreError
        No model name, versions that are not text, notes that are not JSON, or a table
        that is not a non-empty DataFrame.
    """
    return {
        "model_name": _clean_name(model_name, "model name"),
        "model_version": _clean_text(model_version, "model version"),
        "data_version": _clean_text(data_version, "data version"),
        "notes": _clean_notes(notes),
        "slice_table": _table_to_json(table),
    }


class IterationsMixin:
    """Save, list, read and delete iterations."""

    def save_iteration(
        self,
        project_id: int,
        dataset_id: int,
        *,
        model_name: str,
        model_version: str = "",
        data_version: str = "",
        notes: dict[str, Any] | None = None,
        table: pd.DataFrame,
        user: str,
    ) -> int:
        """Save an analysed dataset as an iteration of its project.

        Parameters
        ----------
        project_id
            The project; it must own the dataset.
        dataset_id
            The analysed dataset. Its name, file name, content hash, fingerprint (as
            :meth:`core.dataset.Dataset.fingerprint` of :meth:`load_dataset`), row count and
            revision (:meth:`revision`: the state of its tags and corrections) are copied
            in, so the iteration stays readable after the dataset is deleted.
        model_name, model_version
            What produced the predictions (``model_name`` is required).
        data_version
            Which version of the data it was trained on, e.g. ``"v2: + car noise"``.
        notes
            Free name -> value notes: hyperparameters, the code commit… (JSON values).
        table
            The per-slice table at this time (:func:`core.analysis.analyze`), indexed by
            slice; stored with its column types.
        user
            Who saves it.

        Returns
        -------
        int
            The iteration id.

        Raises
        ------
        StoreError
            Unknown project or dataset, a dataset of another project, no model name, notes
            that are not JSON, or a table that is not a non-empty DataFrame.
        """
        user = _clean_user(user)
        fields = _check_iteration(model_name, model_version, data_version, notes, table)
        with self._write():
            project = self._project_row(project_id)
            self._require(project["id"], user, "save_iteration")
            row = self._dataset_row(dataset_id)
            _check_same_project(row, project["id"])
            return self._add_iteration(project["id"], row, fields, user=user)

    def _add_iteration(
        self, project_id: int, dataset: dict[str, Any], fields: dict[str, str], *, user: str
    ) -> int:
        """Write an iteration inside :meth:`save_iteration`'s transaction; return its id.

        ``dataset`` is the dataset's row, whose name, file, hash, fingerprint,
        :meth:`revision` and row count are copied in; ``fields`` are those of
        :func:`_check_iteration`. Then the ``iteration.save`` event.
        """
        mapping = ColumnMapping.from_dict(json.loads(dataset["mapping"]))
        fingerprint = Dataset(
            frame=pd.DataFrame(),
            tags=pd.DataFrame(),
            mapping=mapping,
            content_hash=dataset["content_hash"],
        ).fingerprint()
        at = _now()
        record = {
            "project_id": project_id,
            "dataset_id": dataset["id"],
            "dataset_name": dataset["name"],
            "source_name": dataset["source_name"],
            "content_hash": dataset["content_hash"],
            "fingerprint": fingerprint,
            "revision": self.revision(dataset["id"]),
            "row_count": dataset["row_count"],
            "model_name": fields["model_name"],
            "model_version": fields["model_version"],
            "data_version": fields["data_version"],
            "notes": fields["notes"],
            "slice_table": fields["slice_table"],
            "created_at": at,
            "created_by": user,
        }
        iid = _insert(self, "iterations", record)
        self._event(
            "iteration.save",
            user=user,
            at=at,
            project_id=project_id,
            dataset_id=dataset["id"],
            iteration_id=iid,
            model_name=fields["model_name"],
            model_version=fields["model_version"],
            data_version=fields["data_version"],
            notes=json.loads(fields["notes"]),
        )
        return iid

    _ITERATION_COLUMNS = [
        "id",
        "project_id",
        "dataset_id",
        "dataset_name",
        "source_name",
        "content_hash",
        "fingerprint",
        "revision",
        "row_count",
        "model_name",
        "model_version",
        "data_version",
        "notes",
        "created_at",
        "created_by",
    ]

    def list_iterations(self, project_id: int) -> pd.DataFrame:
        """Return a project's iterations, oldest first (its history).

        Parameters
        ----------
        project_id
            The project.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``dataset_id`` (the dataset may have been
            deleted since), ``dataset_name``, ``source_name``, ``content_hash``,
            ``fingerprint``, ``revision``, ``row_count``, ``model_name``, ``model_version``,
            ``data_version``, ``notes`` (a dict per row), ``created_at``, ``created_by``.
        """
        pid = self._project_row(project_id)["id"]
        cols = self._ITERATION_COLUMNS
        out = self._frame(
            f"SELECT {', '.join(cols)} FROM iterations WHERE project_id = ? "
            "ORDER BY created_at, id",
            [pid],
            cols,
        )
        out["notes"] = [json.loads(n) for n in out["notes"]]
        return out

    def iteration_info(self, iteration_id: int) -> dict[str, Any]:
        """Return one iteration's row (the columns of :meth:`list_iterations`).

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        cols = ", ".join(self._ITERATION_COLUMNS)
        row = _row_by_id(self, "iterations", iteration_id, "iteration", cols)
        row["notes"] = json.loads(row["notes"])
        return row

    def iteration_table(self, iteration_id: int) -> pd.DataFrame:
        """Return the per-slice table saved with an iteration, with its column types.

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        row = _row_by_id(self, "iterations", iteration_id, "iteration", "slice_table")
        return _table_from_json(row["slice_table"])

    def delete_iteration(self, iteration_id: int, *, user: str) -> None:
        """Delete an iteration (its event stays in the log).

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        user = _clean_user(user)
        with self._write():
            info = self.iteration_info(iteration_id)
            self._require(info["project_id"], user, "delete_iteration")
            self.db.execute("DELETE FROM iterations WHERE id = ?", [info["id"]])
            self._event(
                "iteration.delete",
                user=user,
                at=_now(),
                project_id=info["project_id"],
                dataset_id=info["dataset_id"],
                iteration_id=info["id"],
                model_name=info["model_name"],
                model_version=info["model_version"],
            )
