"""Production samples of a dataset (Parquet files) and per-feature drift thresholds.

A production sample is the table of predictions (labels optional) from the traffic a model
now serves, stored as uploaded with the labelled dataset it was uploaded against, its
*reference* (:mod:`core.drift`): it is read with that dataset's column roles, so it belongs
to that dataset, is listed with it and is deleted with it. Its cells are written to
``files_dir/production_samples/<id>.parquet`` (atomically, inside the transaction that adds
its row, as datasets' and annotation sets' files are), with who uploaded it and when. The
drift thresholds are the alarm level of each feature (:func:`core.drift.feature_drift`'s
``thresholds=``), one row per feature changed from its default, per project.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.errors import NameTakenError, StoreValueError
from slicewise.core.store.common import (
    _clean_name,
    _clean_text,
    _clean_user,
    _few,
    _insert,
    _now,
)
from slicewise.core.store.files import (
    PRODUCTION_DIR,
    _stage_parquet,
    _staged,
    _Staging,
)
from slicewise.core.store.owned_files import OwnedFile, OwnedFilesMixin

#: Production samples as rows owning ``files_dir/production_samples/<id>.parquet``.
PRODUCTION_SAMPLE_FILE = OwnedFile(
    table="production_samples",
    folder=PRODUCTION_DIR,
    what="production sample",
    event="production_sample",
    columns=(
        "id",
        "project_id",
        "dataset_id",
        "name",
        "source_name",
        "content_hash",
        "row_count",
        "time_column",
        "created_at",
        "created_by",
    ),
)


def _check_table(name: str, table: Any) -> pd.DataFrame:
    """Return ``table`` with a RangeIndex; refuse what is no table of named columns or empty."""
    if not isinstance(table, pd.DataFrame):
        raise StoreValueError(
            f"production sample {name!r}: the table must be a DataFrame, got {type(table).__name__}"
        )
    bad = [c for c in table.columns if not isinstance(c, str)]
    if bad:
        raise StoreValueError(
            f"production sample {name!r}: column names must be text; {_few(bad)} are not"
        )
    if table.empty:
        raise StoreValueError(f"production sample {name!r} has no rows")
    return table.reset_index(drop=True)


def _check_threshold(feature: str, value: Any) -> float:
    """Return ``value`` as a float >= 0; refuse text, NaN and negatives, naming the feature."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreValueError(
            f"drift threshold of {feature!r}: {value!r} is not a number"
        ) from None
    if math.isnan(number) or number < 0 or math.isinf(number):
        raise StoreValueError(f"drift threshold of {feature!r}: {value!r}; give a number >= 0")
    return number


class ProductionMixin(OwnedFilesMixin):
    """Save, list, load and delete production samples; read and set drift thresholds."""

    _PRODUCTION_COLUMNS = list(PRODUCTION_SAMPLE_FILE.columns)

    def _production_path(self, sample_id: int) -> Path:
        return self._owned_path(PRODUCTION_SAMPLE_FILE, sample_id)

    def _check_production_free(self, dataset_id: int, name: str) -> None:
        rows = self._rows(
            "SELECT id FROM production_samples WHERE dataset_id = ? AND name = ?",
            [dataset_id, name],
        )
        if rows:
            raise NameTakenError(
                f"dataset {dataset_id} already has a production sample named {name!r} "
                f"(id {rows[0]['id']}); choose another name"
            )

    def _production_ids_of(self, dataset_id: int) -> list[int]:
        """Return the ids of the production samples stored with a dataset."""
        rows = self._rows("SELECT id FROM production_samples WHERE dataset_id = ?", [dataset_id])
        return [int(r["id"]) for r in rows]

    def _remove_production_files(self, sample_ids: list[int]) -> None:
        """Remove the files of production samples whose rows are gone (missing ones skipped).

        A crash before this leaves files no row owns: the next ``Store()`` removes them.
        """
        self._remove_owned_files(PRODUCTION_SAMPLE_FILE, sample_ids)

    def save_production_sample(
        self,
        dataset_id: int,
        name: str,
        table: pd.DataFrame,
        *,
        source_name: str,
        user: str,
        content_hash: str = "",
        time_column: str | None = None,
    ) -> int:
        """Store a production sample with the dataset it was uploaded against, as uploaded.

        The table is written to Parquet (a staging file renamed inside the transaction that
        adds the row), so either both the row and the file exist or neither.

        Parameters
        ----------
        dataset_id
            The dataset it is compared with (its reference); the sample belongs to it (and
            to its project) and is deleted with it.
        name
            The sample's name, unique among the dataset's samples.
        table
            The production table as read (:func:`core.reading.read_table`), shape
            (n_rows >= 1, n_columns), text column names.
        source_name, content_hash
            The file it came from and the hash of its bytes ("" when unknown).
        user
            Who uploads it.
        time_column
            The column holding each row's timestamp, or ``None``.

        Returns
        -------
        int
            The production sample's id.

        Raises
        ------
        StoreError
            Unknown dataset, a name the dataset's samples already use, a time column the
            table lacks, or a table that is empty or cannot be stored.
        PermissionDenied
            ``user`` may not upload production samples in the project.
        """
        name = _clean_name(name, "production sample name")
        user = _clean_user(user)
        source_name = _clean_name(source_name, "source name", limit=None)
        content_hash = str(content_hash or "")
        dataset = self._dataset_row(dataset_id)
        did, pid = int(dataset["id"]), int(dataset["project_id"])
        self._require(pid, user, "save_production_sample")  # again inside the transaction
        self._check_production_free(did, name)
        table = _check_table(name, table)
        if time_column is not None:
            time_column = _clean_text(time_column, "time column")
            if time_column not in table.columns:
                raise StoreValueError(
                    f"production sample {name!r}: no time column {time_column!r}; its "
                    f"columns are {_few(table.columns)}"
                )
        folder = self.files_dir / PRODUCTION_DIR
        self._writable_dir(folder)
        staging_file = folder / f".staging-{uuid.uuid4().hex}.parquet"
        with _staged(self, staging_file, tree=False) as staging:
            _stage_parquet(table, staging.path, f"production sample {name!r}")
            record = {
                "project_id": pid,
                "dataset_id": did,
                "name": name,
                "source_name": source_name,
                "content_hash": content_hash,
                "row_count": len(table),
                "time_column": time_column,
            }
            with self._write():
                sid = self._add_production(record, staging, user=user)
        return sid

    def _add_production(self, record: dict[str, Any], staging: _Staging, *, user: str) -> int:
        """Write a new production sample inside its save's transaction; return its id."""
        pid, did, name = record["project_id"], record["dataset_id"], record["name"]
        self._dataset_row(did)  # deleted meanwhile: refused
        self._require(pid, user, "save_production_sample")
        self._check_production_free(did, name)
        at = _now()
        row = {**record, "created_at": at, "created_by": user}
        sid = _insert(self, "production_samples", row)
        staging.move_to(self._production_path(sid))
        self._event(
            "production_sample.save",
            user=user,
            at=at,
            project_id=pid,
            dataset_id=did,
            production_sample_id=sid,
            name=name,
            source_name=record["source_name"],
            row_count=record["row_count"],
        )
        return sid

    def list_production_samples(
        self, project_id: int | None = None, *, dataset_id: int | None = None
    ) -> pd.DataFrame:
        """Return the stored production samples, newest first.

        Parameters
        ----------
        project_id
            Only this project's samples; ``None`` lists all.
        dataset_id
            Only the samples stored with this dataset (uploaded against it); ``None``: all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``dataset_id`` (the reference), ``name``,
            ``source_name``, ``content_hash``, ``row_count``, ``time_column`` (None when
            none), ``created_at`` (ISO time, UTC), ``created_by``.

        Raises
        ------
        StoreError
            Unknown project or dataset.
        """
        out = self._list_in_project("production_samples", self._PRODUCTION_COLUMNS, project_id)
        if dataset_id is not None:
            did = self._dataset_row(dataset_id)["id"]
            out = out[out["dataset_id"] == did].reset_index(drop=True)
        out["dataset_id"] = out["dataset_id"].astype("int64")
        return out

    def production_sample_info(self, sample_id: int) -> dict[str, Any]:
        """Return one production sample's row (the columns of :meth:`list_production_samples`).

        Raises
        ------
        StoreError
            Unknown production sample.
        """
        return self._owned_info(PRODUCTION_SAMPLE_FILE, sample_id)

    def load_production_sample(self, sample_id: int) -> pd.DataFrame:
        """Return a production sample's table as it was saved.

        Raises
        ------
        StoreError
            Unknown production sample, or its file is missing.
        """
        return self._load_owned(PRODUCTION_SAMPLE_FILE, sample_id)

    def delete_production_sample(self, sample_id: int, *, user: str) -> None:
        """Delete a production sample and its file (the events stay).

        Raises
        ------
        StoreError
            Unknown production sample.
        PermissionDenied
            ``user`` may not delete production samples in the project.
        """
        self._delete_owned(
            PRODUCTION_SAMPLE_FILE, sample_id, user=user, action="delete_production_sample"
        )

    def drift_thresholds(self, project_id: int) -> dict[str, float]:
        """Return the project's saved drift thresholds, ``{feature: threshold}``.

        A feature not listed keeps its metric's default
        (:data:`core.drift.DEFAULT_THRESHOLDS`).

        Raises
        ------
        StoreError
            Unknown project.
        """
        pid = self._project_row(project_id)["id"]
        rows = self._rows(
            "SELECT feature, threshold FROM drift_thresholds WHERE project_id = ? ORDER BY feature",
            [pid],
        )
        return {r["feature"]: float(r["threshold"]) for r in rows}

    def set_drift_thresholds(
        self, project_id: int, thresholds: Mapping[str, float | None], *, user: str
    ) -> None:
        """Save drift thresholds of a project's features; ``None`` puts one back to its default.

        All or nothing: one invalid value writes none of them.

        Parameters
        ----------
        thresholds
            ``{feature: threshold >= 0 or None}``.

        Raises
        ------
        StoreError
            Unknown project, an empty feature name, or a threshold that is not a number
            >= 0.
        PermissionDenied
            ``user`` may not change drift thresholds in the project.
        """
        user = _clean_user(user)
        pid = self._project_row(project_id)["id"]
        clean: dict[str, float | None] = {}
        for feature, value in thresholds.items():
            name = _clean_name(feature, "feature name", limit=None)
            clean[name] = None if value is None else _check_threshold(name, value)
        with self._write():
            self._require(pid, user, "set_drift_thresholds")
            at = _now()
            for feature, value in clean.items():
                if value is None:
                    self.db.execute(
                        "DELETE FROM drift_thresholds WHERE project_id = ? AND feature = ?",
                        [pid, feature],
                    )
                    continue
                self.db.execute(
                    "INSERT INTO drift_thresholds (project_id, feature, threshold, updated_at, "
                    "updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, feature) DO "
                    "UPDATE SET threshold = excluded.threshold, updated_at = excluded.updated_at, "
                    "updated_by = excluded.updated_by",
                    [pid, feature, value, at, user],
                )
            self._event("drift_thresholds.set", user=user, at=at, project_id=pid, changes=clean)
