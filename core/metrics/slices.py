"""Slices: which examples each tag and each value of a slice-by column holds.

:func:`build_slices` makes the boolean membership matrix (one column per slice) that
:func:`core.metrics.counts.compute_slice_counts` multiplies by the outcomes; numeric columns
are cut into quantile bins. Slices are named by :mod:`core.slice_names`
(:func:`~core.slice_names.value_slice_name`, :func:`~core.slice_names.missing_slice_name`,
:func:`~core.slice_names.bin_slice_names`), as the DuckDB engine names them;
:func:`format_edges` is re-exported from there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core import limits
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.slice_names import (
    bin_slice_names,
    format_edges,
    missing_slice_name,
    resolve_slice_column,
    slice_by_choices,
    slice_info,
    tag_slice_names,
    unique_name,
    value_slice_name,
)

__all__ = ["bin_codes", "build_slices", "format_edges", "infinite_ends", "quantile_edges"]

#: A slice before the membership block is filled: a tag's column, or ``(codes, k)`` for
#: the examples whose code in a slice-by column is ``k``.
_Source = np.ndarray | tuple[np.ndarray, int]


def build_slices(
    dataset: Dataset,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    max_slices: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the membership matrix: the tags, then one slice per value of each column.

    Numeric ``slice_by`` columns with more than ``bins`` distinct values are cut into
    ``bins`` quantile bins (fewer when quantiles coincide). Missing values form a
    ``"<col> = (missing)"`` slice. A ``slice_by`` name is a metadata column, or the label,
    prediction, human-label or score column under its file name (or its canonical name):
    slicing by the label gives one row per class, ``true_category = cat``
    (:func:`core.slice_names.resolve_slice_column`).

    Slice names are unique and never ``All data`` or ``No tag``: a tag named like one of
    those rows is ``<tag> (tag)``, any other clash gets `` (2)``, `` (3)``...
    (:mod:`core.slice_names`).

    The slice-by columns together make at most ``max_slices`` slices (:func:`core.limits.
    max_slices`: default :data:`core.limits.MAX_SLICES`); each column's values are counted
    before any slice is built.

    Returns
    -------
    (membership, info)
        ``membership``: boolean DataFrame, one column per slice, aligned with the data.
        ``info``: one row per slice (same order, indexed by slice name), object columns
        ``kind`` (``tag`` or ``column``) and ``source`` (the tag, or the column as the
        user named it). Both have no slice columns/rows when there are no tags and no
        ``slice_by``.

    Raises
    ------
    InvalidValueError
        A ``slice_by`` column the table does not have.
    TooManySlicesError
        The slice-by columns make more than ``max_slices`` slices (:mod:`core.limits`).
    """
    cap = limits.max_slices(max_slices)
    made = 0  # slices of the slice-by columns so far
    # Each slice is a tag's column or (codes, k) for one value of a slice-by column; the
    # membership block is filled once from these (no per-column frames to consolidate).
    cols: dict[str, _Source] = {}
    kinds, sources = [], []
    names = tag_slice_names(dataset.tags.columns)
    for tag in dataset.tags.columns:
        cols[names[str(tag)]] = dataset.tags[tag].to_numpy(dtype=bool)
        kinds.append("tag")
        sources.append(str(tag))
    # A column given twice is sliced once; names are stripped like the file's header.
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
        codes, cats = _column_slices(dataset, col, bins=bins, cap=cap, before=made)
        made += len(cats)
        for k, name in enumerate(cats):
            # Names can clash: a tag called "device = ios", or 1 and "1" in one column
            # ("All data" and "No tag" cannot: a column slice's name holds " = " or " in [").
            cols[unique_name(name, cols)] = (codes, k)
            kinds.append("column")
            sources.append(col)
    return _membership(cols, dataset.frame.index), slice_info(list(cols), kinds, sources)


def _column_slices(
    dataset: Dataset, col: str, *, bins: int, cap: int, before: int
) -> tuple[np.ndarray, list[str]]:
    """Return the slice code of each example for slice-by column ``col``, and the slice names.

    Numeric columns with more than ``bins`` values are cut into quantile bins; other
    columns get one slice per value (counted before any is named), and missing values a
    last ``"<col> = (missing)"`` slice. ``before`` slices were made by earlier columns.

    Raises
    ------
    InvalidValueError
        ``dataset`` has no column ``col``.
    TooManySlicesError
        The slices so far would pass ``cap`` (:func:`core.limits.check_slice_count`).
    """
    column = resolve_slice_column(col, columns=dataset.frame.columns, mapping=dataset.mapping)
    if column is None:
        choices = slice_by_choices(
            dataset.metadata_columns, columns=dataset.frame.columns, mapping=dataset.mapping
        )
        raise InvalidValueError(
            f"{dataset.source_name}: cannot slice by {col!r}: no such column; columns: "
            f"{', '.join(map(repr, choices))}"
        )
    values = dataset.frame[column]
    edges = quantile_edges(values, bins)
    if edges is not None:
        codes, cats = bin_codes(values, edges), bin_slice_names(col, edges)
    else:
        # Count first (one hash of the column): no per-value sort, name or slice yet.
        limits.check_slice_count(
            int(values.nunique()) + int(values.isna().any()),
            column=col,
            source=dataset.source_name,
            cap=cap,
            before=before,
        )
        codes, uniques = pd.factorize(values, sort=True)
        cats = [value_slice_name(col, u) for u in uniques]
    if (codes < 0).any():
        cats = [*cats, missing_slice_name(col)]
        codes = np.where(codes < 0, len(cats) - 1, codes)
    limits.check_slice_count(
        len(cats), column=col, source=dataset.source_name, cap=cap, before=before
    )  # bins (a caller's bins may be many)
    return codes, cats


def _membership(cols: dict[str, _Source], index: pd.Index) -> pd.DataFrame:
    """Fill the boolean membership frame (examples x slices) from each slice's source."""
    block = np.empty((len(cols), len(index)), dtype=bool)
    for row, source in zip(block, cols.values(), strict=True):
        if isinstance(source, tuple):
            np.equal(source[0], source[1], out=row)
        else:
            row[:] = source
    return pd.DataFrame(
        block.T, index=index, columns=pd.Index(list(cols), dtype=object), copy=False
    )


def quantile_edges(values: pd.Series, bins: int) -> np.ndarray | None:
    """Return the edges :func:`build_slices` cuts a slice-by column at, ``None`` if it is not cut.

    A numeric (not boolean) column with more than ``bins`` distinct values is cut at its
    ``bins + 1`` quantiles (:func:`numpy.nanquantile`, linear interpolation) of its finite
    values, duplicates merged, so there may be fewer bins; -inf and +inf widen the outer
    edges (:func:`infinite_ends`); any other column takes one slice per value.

    Returns
    -------
    numpy.ndarray or None
        The distinct edges, ascending, in the column's units (shape ``(k + 1,)`` for ``k``
        bins), or ``None``.
    """
    if not (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and (values.iloc[:4096].nunique() > bins or values.nunique() > bins)
    ):
        return None
    arr = values.to_numpy(dtype=float)
    finite = arr[np.isfinite(arr)]
    qs = np.linspace(0, 1, bins + 1)
    edges = np.nanquantile(finite, qs) if len(finite) else np.array([np.nan])
    return infinite_ends(np.unique(edges), arr)


def infinite_ends(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Widen the outer ``edges`` to -inf/+inf where ``values`` hold them.

    Quantiles are taken over the finite values (an infinite one would make ``inf - inf``
    of the interpolation); an infinite value then falls in the lowest or highest bin, whose
    name shows it (``[75.3, inf]``).
    """
    edges = np.asarray(edges, dtype=float)
    if not len(edges) or np.isnan(edges).all():
        present = values[~np.isnan(values)]
        return np.unique(present[np.isinf(present)]) if len(present) else edges
    if (values == -np.inf).any():
        edges = np.r_[-np.inf, edges[1:]] if len(edges) > 1 else np.r_[-np.inf, edges]
    if (values == np.inf).any():
        edges = np.r_[edges[:-1], np.inf] if len(edges) > 1 else np.r_[edges, np.inf]
    return edges


def bin_codes(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Return each value's bin among those cut at ``edges`` (``-1`` for a missing value).

    Bins are closed on the left and the last on both sides; only the interior edges cut,
    so a value below the first edge falls in the first bin and one above the last edge in
    the last (what matters when ``edges`` come from another table, e.g. a reference).

    Returns
    -------
    numpy.ndarray
        ``int64`` codes, shape ``(len(values),)``, in ``0 .. len(edges) - 2`` or ``-1``.
    """
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    codes = np.searchsorted(edges[1:-1], arr, side="right").astype(np.int64)
    codes[np.isnan(arr)] = -1
    return codes
