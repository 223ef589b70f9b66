"""Metadata columns as disjoint conditions, one-hot encoded for the slice search.

A categorical column gives one condition per value (``device = android``), a numeric one
per quantile bin (``snr_db < 7.2``, ``snr_db in [7.2, 10)``, ``snr_db >= 13``), and a
column with missing values one more, ``col is missing``. Every example meets exactly one
condition per column, so the one-hot matrix has one 1 per used column in each row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from slicewise.core.errors import InvalidValueError

DEFAULT_BINS = 4
DEFAULT_MAX_VALUES = 50

Op = Literal["=", "<", ">=", "in", "is missing"]


def fmt_number(x: float) -> str:
    """Write a threshold as in a condition: four significant digits (``7.2``, ``1e+04``)."""
    return f"{x:.4g}"


@dataclass(frozen=True)
class Predicate:
    """One condition on one metadata column.

    Attributes
    ----------
    column
        The metadata column.
    op
        ``=`` (the value), ``<`` / ``>=`` (numeric), ``in`` (``low <= x < high``; ``value``
        is ``(low, high)``) or ``is missing``.
    value
        The compared value; ``None`` for ``is missing``.
    """

    column: str
    op: Op
    value: Any = None

    @property
    def text(self) -> str:
        """The condition as ``"col op value"``, e.g. ``"device = android"``."""
        if self.op == "is missing":
            return f"{self.column} is missing"
        if self.op == "in":
            low, high = self.value
            return f"{self.column} in [{fmt_number(low)}, {fmt_number(high)})"
        if self.op in ("<", ">="):
            return f"{self.column} {self.op} {fmt_number(self.value)}"
        return f"{self.column} = {self.value}"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Return where the condition holds in ``frame`` (missing values never match)."""
        values = frame[self.column]
        if self.op == "is missing":
            return values.isna().to_numpy(dtype=bool)
        if self.op in ("<", ">=", "in"):
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if self.op == "<":
                    return x < self.value
                if self.op == ">=":
                    return x >= self.value
                low, high = self.value
                return (x >= low) & (x < high)
        return values.eq(self.value).fillna(False).to_numpy(dtype=bool)


def slice_mask(frame: pd.DataFrame, predicates: Sequence[Predicate]) -> np.ndarray:
    """Return where every predicate holds (all rows for an empty conjunction).

    Returns
    -------
    numpy.ndarray
        Boolean, one value per row of ``frame``.
    """
    mask = np.ones(len(frame), dtype=bool)
    for p in predicates:
        mask &= p.mask(frame)
    return mask


@dataclass
class Conditions:
    """The metadata one-hot encoded into conditions.

    Attributes
    ----------
    matrix
        Sparse CSR ``n × m`` matrix of 0/1 (float64): ``matrix[i, j] = 1`` when example
        ``i`` meets condition ``j``.
    predicates
        The ``m`` conditions, grouped by column.
    feature
        For each condition, the index of its column in ``columns``.
    codes
        ``n × len(columns)`` int array: which condition of each column (0-based within the
        column) each example meets.
    columns
        The columns used, in order.
    skipped
        Columns left out, with the reason.
    """

    matrix: sparse.csr_matrix
    predicates: list[Predicate]
    feature: np.ndarray
    codes: np.ndarray
    columns: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def offsets(self) -> np.ndarray:
        """Index of each column's first condition."""
        return np.searchsorted(self.feature, np.arange(len(self.columns)))

    @property
    def cardinality(self) -> np.ndarray:
        """Number of conditions per column."""
        return np.bincount(self.feature, minlength=len(self.columns))


def is_numeric(values: pd.Series) -> bool:
    """Whether ``values`` are numbers (booleans are not)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _bin_predicates(column: str, edges: np.ndarray) -> list[Predicate]:
    """Return the conditions of the quantile bins between ``edges`` (first ``<``, last ``>=``)."""
    k = len(edges) - 1
    preds: list[Predicate] = []
    for b in range(k):
        if k == 1:
            preds.append(Predicate(column, "in", (float(edges[0]), float(np.inf))))
        elif b == 0:
            preds.append(Predicate(column, "<", float(edges[1])))
        elif b == k - 1:
            preds.append(Predicate(column, ">=", float(edges[b])))
        else:
            preds.append(Predicate(column, "in", (float(edges[b]), float(edges[b + 1]))))
    return preds


def _numeric_bins(
    values: pd.Series, column: str, bins: int, missing: np.ndarray
) -> tuple[np.ndarray, list[Predicate], np.ndarray] | str:
    """Codes, conditions and missing mask of a numeric column cut into quantile bins.

    Infinite values count as missing. Returns the reason instead when the quantiles all
    coincide.
    """
    x = values.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(x) | np.isnan(x)
    if not finite.all():
        x = np.where(finite, x, np.nan)
        missing = np.isnan(x)
    edges = np.unique(np.nanquantile(x, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return "a single value"
    codes = np.searchsorted(edges[1:-1], x, side="right").astype(np.int64)
    return codes, _bin_predicates(column, edges), missing


def _categories(
    values: pd.Series, column: str, max_values: int
) -> tuple[np.ndarray, list[Predicate]] | str:
    """Codes and ``col = value`` conditions of a categorical column, or why it is unusable."""
    try:
        codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    except TypeError:
        return "holds lists or other compound values"
    if len(uniques) > max_values:
        return (
            f"{len(uniques):,} distinct values (over {max_values}): an id or free text; "
            "group its values into fewer categories to use it"
        )
    preds = [Predicate(column, "=", u.item() if isinstance(u, np.generic) else u) for u in uniques]
    return codes.astype(np.int64), preds


def _encode_column(
    values: pd.Series, column: str, *, bins: int, max_values: int
) -> tuple[np.ndarray, list[Predicate]] | str:
    """Codes and conditions of one column, or the reason it cannot be used."""
    missing = values.isna().to_numpy(dtype=bool)
    if missing.all():
        return "every value is missing"
    if is_numeric(values) and values.nunique() > bins:
        out = _numeric_bins(values, column, bins, missing)
        if isinstance(out, str):
            return out
        codes, preds, missing = out
    else:
        found = _categories(values, column, max_values)
        if isinstance(found, str):
            return found
        codes, preds = found
    if missing.any():
        codes = np.where(missing, len(preds), codes)
        preds.append(Predicate(column, "is missing"))
    if len(preds) < 2:
        return "a single value"
    return codes, preds


def _one_hot(codes: np.ndarray, feature: np.ndarray, n_conditions: int) -> sparse.csr_matrix:
    """Return the ``n × n_conditions`` 0/1 matrix of per-column codes (one 1 per row and column)."""
    n, f = codes.shape
    offsets = np.searchsorted(feature, np.arange(f))
    indices = (codes + offsets[None, :]).ravel()
    indptr = np.arange(n + 1, dtype=np.int64) * f
    return sparse.csr_matrix((np.ones(n * f), indices, indptr), shape=(n, n_conditions))


def encode_conditions(
    metadata: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_values: int = DEFAULT_MAX_VALUES,
) -> Conditions:
    """One-hot encode metadata columns into disjoint conditions.

    Parameters
    ----------
    metadata
        One row per example.
    columns
        Columns to use (default: all). A numeric column with more than ``bins`` distinct
        values is cut into ``bins`` quantile bins (fewer when quantiles coincide); any other
        column gives one condition per value, unless it has more than ``max_values``
        distinct values (ids, paths, free text), when it is skipped. Missing values form a
        ``col is missing`` condition. Constant columns are skipped.

    Returns
    -------
    Conditions
        The ``n × m`` matrix, with the ``m`` conditions and the columns used and skipped.

    Raises
    ------
    InvalidValueError
        A named column does not exist.
    """
    if columns is None:
        columns = [str(c) for c in metadata.columns]
    missing_cols = [c for c in columns if c not in metadata.columns]
    if missing_cols:
        raise InvalidValueError(
            f"cannot suggest slices on {', '.join(map(repr, missing_cols))}: no such column; "
            f"columns: {', '.join(map(repr, map(str, metadata.columns)))}"
        )
    n = len(metadata)
    used, skipped, all_codes, preds, feature = [], {}, [], [], []
    for col in dict.fromkeys(columns):
        out = _encode_column(metadata[col], str(col), bins=bins, max_values=max_values)
        if isinstance(out, str):
            skipped[str(col)] = out
            continue
        codes, col_preds = out
        feature.extend([len(used)] * len(col_preds))
        used.append(str(col))
        all_codes.append(codes)
        preds.extend(col_preds)
    codes = np.column_stack(all_codes) if all_codes else np.zeros((n, 0), dtype=np.int64)
    feature_arr = np.asarray(feature, dtype=np.int64)
    matrix = _one_hot(codes, feature_arr, len(preds))
    return Conditions(matrix, preds, feature_arr, codes, used, skipped)
