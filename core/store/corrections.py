"""Label corrections of a project's examples, kept beside the original labels."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_text,
    _clean_user,
    _id_strings,
    _locate,
    _now,
    _python_scalar,
)
from slicewise.core.store.files import (
    FRAME_FILE,
    _read_parquet,
)
from slicewise.core.values import class_key, class_keys

# The latest correction of each example of a project that has not been reverted (params:
# project id, project id).
_ACTIVE_CORRECTIONS = (
    'SELECT dataset_id, example_id, original, corrected, reason, "user", at '
    "FROM label_corrections WHERE id IN (SELECT MAX(id) FROM label_corrections "
    "WHERE project_id = ? AND reverted_at IS NULL GROUP BY example_id) AND project_id = ?"
)


def _coerce_label(value: Any, labels: pd.Series, dataset_id: int) -> Any:
    """Return ``value`` as a Python scalar of the label column's type, or raise."""
    value = _python_scalar(value)
    if value is None:
        raise StoreValueError(f"dataset {dataset_id}: a corrected label cannot be missing")
    dtype = labels.dtype
    if pd.api.types.is_bool_dtype(dtype):
        if isinstance(value, bool):
            return value
        raise StoreValueError(f"dataset {dataset_id}: labels are true/false; {value!r} is not")
    if pd.api.types.is_numeric_dtype(dtype):
        number = _as_number(value)
        if number is None or not math.isfinite(number):
            raise StoreValueError(
                f"dataset {dataset_id}: labels are numbers; {value!r} is not a finite number"
            )
        if pd.api.types.is_integer_dtype(dtype):
            if isinstance(number, float) and not number.is_integer():
                raise StoreValueError(
                    f"dataset {dataset_id}: labels are whole numbers; {value!r} is not one"
                )
            return int(number)
        return float(number)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # as core.dataset writes whole-number classes
        text = str(value).strip()
        if not text:
            raise StoreValueError(f"dataset {dataset_id}: a corrected label cannot be blank")
        # The class's spelling in the dataset when one matches (core.values' contract:
        # "2.0" or "yes" name the classes shown as "2" or "TRUE").
        classes = pd.Series(labels.dropna().unique(), dtype=object)
        same = classes[class_keys(classes).to_numpy() == class_key(text)]
        return str(same.iloc[0]) if len(same) else text
    raise StoreValueError(f"dataset {dataset_id}: labels of type {dtype} cannot be corrected")


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    return None


class CorrectionsMixin:
    """Correct labels, list corrections and revert them."""

    def _active_corrections(
        self, dataset: dict[str, Any], frame_ids: pd.Series
    ) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Return the project's active corrections of a dataset's examples and their rows."""
        fixes = self._rows(
            _ACTIVE_CORRECTIONS + " ORDER BY id", [dataset["project_id"], dataset["project_id"]]
        )
        if not fixes:
            return [], np.zeros(0, dtype=np.intp)
        pos = _locate(frame_ids, [f["example_id"] for f in fixes])
        keep = np.flatnonzero(pos >= 0)
        return [fixes[i] for i in keep], pos[keep]

    def correct_label(
        self, dataset_id: int, example_id: Any, new_label: Any, *, user: str, reason: str = ""
    ) -> None:
        """Record a corrected label for one example, keeping the original.

        The correction belongs to the project: it applies to the example (matched by id)
        in every dataset of the project.

        Parameters
        ----------
        dataset_id
            The dataset it is made on (its label column gives the original and the type).
        example_id
            The example, as in the frame's ``id`` column (compared as text).
        new_label
            The correct label, converted to the label column's type (a number for numeric
            labels, text otherwise).
        user
            Who corrects it.
        reason
            Why (free text).

        Raises
        ------
        StoreError
            Unknown dataset or example, or a label that does not fit the column.
        """
        user = _clean_user(user)
        reason = _check_text(reason, "reason")
        did = self._dataset_row(dataset_id)["id"]
        wanted = _id_strings([example_id])
        original, corrected = self._check_correction(did, wanted, new_label)
        with self._write():
            row = self._dataset_for_write(did, user, "correct_label")
            at = _now()
            record = {
                "project_id": row["project_id"],
                "dataset_id": did,
                "example_id": wanted[0],
                "original": original,
                "corrected": corrected,
                "reason": reason,
                "user": user,
                "at": at,
            }
            self.db["label_corrections"].insert(record)
            self._event(
                "label.correct",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                example_id=wanted[0],
                original=original,
                corrected=corrected,
                reason=reason,
            )

    def _check_correction(
        self, dataset_id: int, wanted: pd.Index, new_label: Any
    ) -> tuple[Any, Any]:
        """Return an example's label in a dataset and ``new_label`` in the label's type.

        ``wanted`` holds the example's id as text (:func:`_id_strings`).

        Raises
        ------
        NotFoundError
            The dataset has no example with that id.
        StoreValueError
            ``new_label`` does not fit the label column (:func:`_coerce_label`).
        """
        frame = _read_parquet(self._dir(dataset_id) / FRAME_FILE, ["id", "label"])
        pos = self._locate_examples(dataset_id, frame["id"].astype(str), wanted)[0]
        original = _python_scalar(frame["label"].iloc[pos])
        return original, _coerce_label(new_label, frame["label"], dataset_id)

    def corrections(self, dataset_id: int) -> pd.DataFrame:
        """Return the active label corrections of a dataset's examples, the latest per example.

        Corrections belong to the project: those made on any of its datasets count for
        every dataset holding the example.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            Columns ``example_id`` (text), ``original`` (the label in the dataset the
            correction was made on), ``corrected``, ``reason``, ``user``, ``at``; oldest
            first.
        """
        cols = ["example_id", "original", "corrected", "reason", "user", "at"]
        with self._read():
            row = self._dataset_row(dataset_id)
            fixes, _ = self._active_corrections(row, self._read_ids(row["id"]))
        return pd.DataFrame.from_records([tuple(f[c] for c in cols) for f in fixes], columns=cols)

    def revert_correction(self, dataset_id: int, example_id: Any, *, user: str) -> None:
        """Restore an example's original label; its corrections are kept, marked reverted.

        Parameters
        ----------
        dataset_id
            A dataset of the project (the revert applies to every dataset of it).
        example_id
            The example (compared as text).
        user
            Who reverts it.

        Raises
        ------
        StoreError
            Unknown dataset, or the example has no active correction.
        """
        user = _clean_user(user)
        key = _id_strings([example_id])[0]
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "revert_correction")
            did = row["id"]
            at = _now()
            cursor = self.db.execute(
                "UPDATE label_corrections SET reverted_at = ?, reverted_by = ? "
                "WHERE project_id = ? AND example_id = ? AND reverted_at IS NULL",
                [at, user, row["project_id"], key],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(
                    f"example {key!r} of dataset {did} has no label correction to revert"
                )
            self._event(
                "label.revert",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                example_id=key,
            )
