"""The long table of labels: its columns, the label values, its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    DuplicateIdError,
    EmptyFileError,
    MissingColumnError,
    MissingValuesError,
    format_rows,
)
from slicewise.core.values import canonical_classes

ITEM, ANNOTATOR, LABEL, TIME, COMMENT = "item", "annotator", "label", "time", "comment"


LONG_COLUMNS = (ITEM, ANNOTATOR, LABEL)


class DuplicateAnnotationError(DuplicateIdError):
    """An annotator labelled the same item more than once."""


def _as_text(values: pd.Series) -> pd.Series:
    """Ids as stripped text; whole-number floats lose their ``.0`` (so 12.0 matches "12")."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(arr)
        if ok.any() and (np.mod(arr[ok], 1) == 0).all():
            values = values.astype("Int64")
    return values.astype("string").str.strip().astype(object)


def clean_label_values(values: pd.Series) -> pd.Series:
    """Return labels as text, one spelling per class (the contract of :mod:`core.values`).

    Cells naming one class by :func:`core.values.class_keys` (``1`` and ``1.0``; ``true``,
    ``TRUE`` and ``yes``) take that class's most frequent spelling; ``007`` stays ``007``.
    Missing and blank values are ``None``.
    """
    values = values.reset_index(drop=True)
    return canonical_classes({"label": values})["label"]


def check_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """Check a long table has the columns item, annotator, label and no blank cell in them."""
    if not isinstance(labels, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of labels, got {type(labels).__name__}")
    missing = [c for c in LONG_COLUMNS if c not in labels.columns]
    if missing:
        raise MissingColumnError(
            f"the label table lacks the column(s) {', '.join(map(repr, missing))}; it needs "
            "item, annotator and label (load files with load_annotations)"
        )
    if labels.empty:
        raise EmptyFileError("the label table has no rows")
    for col in LONG_COLUMNS:
        miss = labels[col].isna().to_numpy(dtype=bool)
        if miss.any():
            rows = np.flatnonzero(miss)
            raise MissingValuesError(
                f"the {col} column is missing in {format_rows(rows)}; "
                "drop those rows or fill them in"
            )
    return labels
