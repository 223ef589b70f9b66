"""The long table as integer codes and the sparse count matrix items × classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.agreement.long_table import (
    ANNOTATOR,
    ITEM,
    LABEL,
    DuplicateAnnotationError,
    check_labels,
)
from slicewise.core.errors import InvalidValueError, format_rows


@dataclass(frozen=True)
class Cells:
    """The sparse count matrix items × classes: one entry per (item, class) that occurs.

    Attributes
    ----------
    item, cls, count
        Per non-zero cell: item code, class code and how many annotators gave that class.
        Sorted by item, then class.
    n_items, n_classes
        Size of the matrix (items include those without a label only when built from a
        count table).
    """

    item: np.ndarray
    cls: np.ndarray
    count: np.ndarray
    n_items: int
    n_classes: int

    @property
    def per_item(self) -> np.ndarray:
        """Number of labels of each item (``m``)."""
        return np.bincount(self.item, weights=self.count, minlength=self.n_items)

    def subset(self, items: np.ndarray) -> Cells:
        """Return the cells of the items where the boolean mask ``items`` is true."""
        keep = items[self.item]
        return Cells(
            self.item[keep], self.cls[keep], self.count[keep], self.n_items, self.n_classes
        )


def _group_sum(
    keys: np.ndarray, weights: np.ndarray | None = None, dense_limit: int = 20_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``weights`` (or count) per distinct key: (distinct keys, sums, inverse index)."""
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    top = int(keys.max()) + 1
    if top <= dense_limit:
        sums = np.bincount(keys, weights=weights, minlength=top)
        present = np.bincount(keys, minlength=top) > 0
        uniq = np.flatnonzero(present)
        lookup = np.full(top, -1, dtype=np.int64)
        lookup[uniq] = np.arange(len(uniq))
        return uniq, sums[uniq], lookup[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inv, weights=weights, minlength=len(uniq)), inv


@dataclass(frozen=True)
class LabelCodes:
    """A long table of labels encoded as integer codes, with its count matrix.

    Attributes
    ----------
    items, annotators, classes
        The distinct values, in code order (classes sorted, numerically when numeric).
    item, annotator, label
        Per label row: the codes.
    cell
        Per label row: its entry in :attr:`cells`.
    cells
        The sparse count matrix items × classes.
    numeric
        Whether the classes are numbers (then ordinal and interval alpha apply).
    """

    items: pd.Index
    annotators: pd.Index
    classes: pd.Index
    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    cell: np.ndarray
    cells: Cells
    numeric: bool
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_labels(self) -> int:
        """Number of labels (rows)."""
        return len(self.item)


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed types: compare as text
        codes, uniques = pd.factorize(values.astype(str), sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def encode_labels(labels: pd.DataFrame | LabelCodes) -> LabelCodes:
    """Encode a long table (see the module docstring) once, for every metric to reuse.

    Raises
    ------
    DataError
        Missing columns or blank cells, or an annotator labelling an item twice.
    """
    if isinstance(labels, LabelCodes):
        return labels
    check_labels(labels)
    item, items = _factorize(labels[ITEM])
    annotator, annotators = _factorize(labels[ANNOTATOR])
    lab = labels[LABEL]
    numeric = bool(pd.api.types.is_numeric_dtype(lab) and not pd.api.types.is_bool_dtype(lab))
    label, classes = _factorize(lab)
    n_items, n_ann, n_cls = len(items), len(annotators), len(classes)
    # rows by (item, annotator): repeats are neighbours; the pairwise statistics reuse it
    pair = item * n_ann + annotator
    order = np.argsort(pair, kind="stable")
    pair = pair[order]
    same = pair[1:] == pair[:-1]
    dup = np.zeros(len(pair), dtype=bool)
    dup[order] = np.r_[same, False] | np.r_[False, same]
    if dup.any():
        rows = np.flatnonzero(dup)
        raise DuplicateAnnotationError(
            f"annotator {annotators[annotator[rows[0]]]!r} labelled item "
            f"{items[item[rows[0]]]!r} more than once ({len(rows)} rows repeat an (item, "
            f"annotator) pair: {format_rows(rows)}); keep one label per annotator and item"
        )
    key = item * n_cls + label
    uniq, counts, inv = _group_sum(key)
    cells = Cells(
        (uniq // max(n_cls, 1)).astype(np.int64),
        (uniq % max(n_cls, 1)).astype(np.int64),
        counts.astype(np.int64),
        n_items,
        n_cls,
    )
    cache = {"item_annotator_order": order}
    return LabelCodes(
        items, annotators, classes, item, annotator, label, inv, cells, numeric, cache
    )


def cells_from_counts(counts: pd.DataFrame | np.ndarray) -> Cells:
    """Build :class:`Cells` from a dense count table (rows items, columns classes).

    For data published as per-item counts only, such as CIFAR-10H; the annotator-level
    metrics (Cohen's kappa, per-annotator tables) need the long table.
    """
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise InvalidValueError(f"a count table must be 2-D (items × classes), got {arr.ndim}-D")
    if (arr < 0).any() or not np.all(np.mod(arr, 1) == 0):
        raise InvalidValueError("a count table must hold non-negative whole numbers")
    arr = arr.astype(np.int64)
    rows, cols = np.nonzero(arr)
    return Cells(
        rows.astype(np.int64), cols.astype(np.int64), arr[rows, cols], arr.shape[0], arr.shape[1]
    )


def compute_label_counts(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Return the count matrix: index item, one column per class, annotators per cell."""
    codes = encode_labels(labels)
    c = codes.cells
    dense = np.zeros((c.n_items, c.n_classes), dtype=np.int64)
    dense[c.item, c.cls] = c.count
    return pd.DataFrame(
        dense, index=pd.Index(codes.items, name=ITEM), columns=pd.Index(codes.classes, name=LABEL)
    )
