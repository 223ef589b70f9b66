"""Per-class results: confusion matrices and one-against-the-rest precision, recall, F1.

Counts per class are taken without an examples x classes matrix (``np.bincount`` of class
codes), and the confusion matrix is bounded: past :data:`DEFAULT_MATRIX_CLASSES` classes
the rest are summed into one :data:`OTHER_CLASSES` row and column (:func:`fold_classes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.intervals import N_BOOT, bootstrap_f1_interval, wilson_interval
from slicewise.core.metrics.counts import ratio as _div

#: Most classes :func:`compute_confusion_matrix` keeps by default; the others are summed
#: into one :data:`OTHER_CLASSES` row and column, so a matrix has at most 51 × 51 cells
#: whatever the number of classes.
DEFAULT_MATRIX_CLASSES = 50
#: Name of the row and column of a bounded confusion matrix that sum the classes left out.
OTHER_CLASSES = "(other)"
#: Columns of :func:`compute_confusion_pairs`.
PAIR_COLUMNS: tuple[str, ...] = ("label", "prediction", "count")
#: Classes up to which each class's F1 interval in :func:`compute_class_report` gets the
#: full :data:`core.intervals.N_BOOT` bootstrap replicates. Above it each class gets
#: ``N_BOOT × F1_FULL_BOOT_CLASSES / k`` replicates, at least :data:`F1_MIN_BOOT`, so
#: that 10,000 classes with different counts take about a second, not seven.
F1_FULL_BOOT_CLASSES = 500
#: Fewest bootstrap replicates of a class's F1 interval (the 2.5% endpoint then lies
#: between the 5th and 6th smallest of 200 replicates).
F1_MIN_BOOT = 200


def _class_codes(
    frame: pd.DataFrame | None, pairs: pd.DataFrame | None
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the class index (both columns, as text), the two code arrays and the weights.

    The classes are the union of ``label`` and ``prediction``, sorted. From ``frame`` (one row
    per example) the weights are None (each row counts once); from ``pairs``
    (:func:`compute_confusion_pairs`) they are its ``count`` column.
    """
    if (frame is None) == (pairs is None):
        raise ValueError("give either a frame or pairs")
    rows = frame if pairs is None else pairs
    # Each column is hashed once and only its distinct values are written as text and
    # sorted (not 2 x n strings): the same classes and codes as astype(str) on every row.
    y_codes, y_text = _text_codes(rows["label"])
    p_codes, p_text = _text_codes(rows["prediction"])
    codes, classes = pd.factorize(
        np.concatenate([y_text, p_text]), sort=True, use_na_sentinel=False
    )
    weights = None if pairs is None else pairs["count"].to_numpy(dtype=np.int64)
    return (
        pd.Index(list(classes)),
        codes[: len(y_text)][y_codes].astype(np.int64),
        codes[len(y_text) :][p_codes].astype(np.int64),
        weights,
    )


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return codes into a text array such that ``text[codes]`` is ``values.astype(str)``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Index(uniques, dtype=object).astype(str).to_numpy(dtype=object)
    if (codes < 0).any():  # code -1 (a missing cell) takes a last entry: NaN, as astype(str)
        text = np.append(text, np.nan)
    return codes, text


def _tally(codes: np.ndarray, weights: np.ndarray | None, k: int) -> np.ndarray:
    """Examples per class code (weighted by ``weights`` when given), as int64."""
    return np.bincount(codes, weights=weights, minlength=k).astype(np.int64)


def compute_confusion_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Count the examples of each (label, prediction) pair that occurs: a sparse confusion matrix.

    ``frame`` has ``label`` and ``prediction`` columns; classes are compared as text (as
    :func:`compute_confusion_matrix` does). Only the cells that hold examples are listed,
    so the table has at most ``len(frame)`` rows however many classes there are, where a
    dense matrix of k classes has k² cells.

    Returns
    -------
    DataFrame with :data:`PAIR_COLUMNS`: ``label``, ``prediction`` (text) and ``count``
    (examples, > 0), most frequent pair first (ties by label, then prediction, as text).
    Its counts add up to ``len(frame)``; the diagonal cells (label == prediction) are the
    correct examples.
    """
    classes, y, p, _ = _class_codes(frame, None)
    k = max(len(classes), 1)
    cell = y * k + p
    if k * k <= max(len(cell), 1 << 16):  # a count per cell: no sort of every row
        counts = np.bincount(cell, minlength=k * k)
        cells = np.flatnonzero(counts)
        counts = counts[cells]
    else:  # many classes: sort the occupied cells
        cells, counts = np.unique(cell, return_counts=True)
    order = np.argsort(-counts, kind="stable")  # cells are sorted by (label, prediction)
    cells, counts = cells[order], counts[order].astype(np.int64)
    return pd.DataFrame(
        {"label": classes[cells // k], "prediction": classes[cells % k], "count": counts},
        columns=list(PAIR_COLUMNS),
    )


def fold_classes(
    classes: Sequence[str], totals: np.ndarray, *, max_classes: int = DEFAULT_MATRIX_CLASSES
) -> tuple[np.ndarray, list[str]]:
    """Pick the rows and columns of a bounded confusion matrix.

    ``classes`` are the class names in matrix order, ``totals`` their examples (support +
    predicted). With at most ``max_classes`` classes each keeps its place. With more,
    the ``max_classes`` largest totals (ties to the first) keep their order and every
    other class goes to one last :data:`OTHER_CLASSES` slot (parenthesised again while a
    class has that name).

    Returns
    -------
    ``(slot, names)``: the matrix position of each class, and the names of the positions.

    Raises
    ------
    core.errors.InvalidValueError
        ``max_classes`` below 1.
    """
    if max_classes < 1:
        raise InvalidValueError(f"max_classes must be at least 1, got {max_classes}")
    names = [str(c) for c in classes]
    k = len(names)
    if k <= max_classes:
        return np.arange(k), names
    kept = np.sort(np.argsort(-np.asarray(totals), kind="stable")[:max_classes])
    slot = np.full(k, max_classes)
    slot[kept] = np.arange(max_classes)
    other, taken = OTHER_CLASSES, set(names)
    while other in taken:
        other = f"({other})"
    return slot, [names[i] for i in kept] + [other]


def compute_confusion_matrix(
    frame: pd.DataFrame | None = None,
    *,
    pairs: pd.DataFrame | None = None,
    max_classes: int = DEFAULT_MATRIX_CLASSES,
) -> pd.DataFrame:
    """Count (label, prediction) pairs: rows labels, columns predictions, bounded in size.

    At most ``max_classes`` + 1 rows and columns.
    Give ``frame`` (``label`` and ``prediction`` columns, one row per example) or
    ``pairs`` (:func:`compute_confusion_pairs`, or the same counts from SQL). The classes
    are the union of both columns, compared as text. With at most ``max_classes`` classes
    the matrix holds them all, sorted as text. With more, it keeps the ``max_classes``
    most frequent (by support + predicted, ties to the first in text order), sorted as
    text, and sums every other class into a last row and column named
    :data:`OTHER_CLASSES` (``"(other)"``; parenthesised again if a class has that name):
    cell (a, other) counts examples labelled ``a`` predicted as any left-out class, and
    (other, other) also holds left-out examples predicted as another left-out class, so
    every example is counted once and the matrix sums to the number of examples. The
    full table without the bound is :func:`compute_confusion_pairs`.

    Raises
    ------
    core.errors.InvalidValueError
        ``max_classes`` below 1.
    """
    classes, y, p, weights = _class_codes(frame, pairs)
    k = len(classes)
    slot, names = fold_classes(
        list(classes), _tally(y, weights, k) + _tally(p, weights, k), max_classes=max_classes
    )
    return folded_matrix(slot, names, y, p, weights)


def folded_matrix(
    slot: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray,
    predictions: np.ndarray,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Count (label, prediction) pairs into the slots of :func:`fold_classes`.

    Parameters
    ----------
    slot, names
        :func:`fold_classes`' output: the matrix position of each class code, and the
        names of the positions.
    labels, predictions
        Class codes (int, indexing ``slot``) of each example, or of each pair with
        ``weights`` its count.

    Returns
    -------
    DataFrame of int64 counts, ``len(names)`` square: rows ``label``, columns
    ``prediction``; it sums to the examples (or to ``weights.sum()``).
    """
    m = len(names)
    flat = _tally(slot[labels] * m + slot[predictions], weights, m * m)
    return pd.DataFrame(
        flat.reshape(m, m),
        index=pd.Index(names, name="label"),
        columns=pd.Index(names, name="prediction"),
    )


def _f1_replicates(k: int) -> int:
    """Return the bootstrap replicates of each class's F1 interval among ``k`` classes.

    :data:`core.intervals.N_BOOT` up to :data:`F1_FULL_BOOT_CLASSES` classes, then fewer.
    """
    if k <= F1_FULL_BOOT_CLASSES:
        return N_BOOT
    return max(F1_MIN_BOOT, N_BOOT * F1_FULL_BOOT_CLASSES // k)


def compute_class_report(
    frame: pd.DataFrame | None = None, *, pairs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Compute per-class precision, recall, F1 and support from per-class counts.

    Give ``frame`` (``label`` and ``prediction`` columns, one row per example) or
    ``pairs`` (:func:`compute_confusion_pairs`, or the same counts from SQL); both give
    the same table. Each class is scored one against the rest, from three counts taken
    without a k × k matrix: ``support`` (examples labelled with it), ``predicted``
    (examples predicted as it) and TP (both), so memory and time grow with the examples
    and the classes, not with their square.

    Returns
    -------
    DataFrame indexed by class with ``support`` (examples with that label), ``predicted``
    (examples predicted as it), ``precision`` = TP / predicted, ``recall`` = TP / support
    (the class's accuracy, the lecture's "accuracy on rare classes"), ``f1`` = 2TP /
    (support + predicted); NaN where a denominator is 0. Then 95% intervals
    ``precision_ci_low/high`` and ``recall_ci_low/high`` (Wilson, 1927, on TP of predicted
    and of support) and ``f1_ci_low/high`` (:func:`core.intervals.bootstrap_f1_interval` on
    the class's one-vs-rest counts, seed 0; :data:`core.intervals.N_BOOT` replicates per
    class up to :data:`F1_FULL_BOOT_CLASSES` classes, fewer above, never under
    :data:`F1_MIN_BOOT`). Sorted by support ascending so the rare classes come first.
    """
    classes, y, p, weights = _class_codes(frame, pairs)
    k = len(classes)
    right = y == p
    tp = _tally(y[right], None if weights is None else weights[right], k).astype(float)
    support = _tally(y, weights, k).astype(float)
    predicted = _tally(p, weights, k).astype(float)
    n = len(y) if weights is None else int(weights.sum())
    out = pd.DataFrame(
        {
            "support": support.astype(np.int64),
            "predicted": predicted.astype(np.int64),
            "precision": _div(tp, predicted),
            "recall": _div(tp, support),
            "f1": _div(2 * tp, support + predicted),
        },
        index=classes,
    )
    out["precision_ci_low"], out["precision_ci_high"] = wilson_interval(tp, predicted)
    out["recall_ci_low"], out["recall_ci_high"] = wilson_interval(tp, support)
    fp, fn = predicted - tp, support - tp
    out["f1_ci_low"], out["f1_ci_high"] = bootstrap_f1_interval(
        tp, fp, fn, n - tp - fp - fn, n_boot=_f1_replicates(k)
    )
    out.index.name = "class"
    return out.sort_values("support", kind="stable")
