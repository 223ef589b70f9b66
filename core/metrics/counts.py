"""Per-slice counts: the sufficient statistics every metric of a slice derives from.

:func:`compute_slice_counts` multiplies the slice-membership matrix by the outcome
columns (:mod:`core.metrics.outcomes`): one matrix product per chunk of rows gives the
sums of every slice at once, the second of the three steps of :mod:`core.metrics`. Counts
are additive, so the same sums can come from a SQL engine (:mod:`core.engine_duckdb`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core.slice_names import OVERALL, UNTAGGED

_CHUNK = 1 << 16  # rows per matrix product in compute_slice_counts (a few MB per chunk)

#: Count columns produced by :func:`compute_slice_counts` (all sums over the slice).
COUNT_COLUMNS: tuple[str, ...] = (
    "n",  # examples
    "correct",  # model correct
    "human_n",  # examples with a human label
    "human_correct",  # human label equals the label
    "model_only",  # model correct, human wrong (paired discordant)
    "human_only",  # human correct, model wrong (paired discordant)
    "tp",
    "fp",
    "fn",
    "tn",  # binary tasks
    "word_errors",
    "ref_words",  # text tasks (word-level edit distance, reference length)
    "abs_error",
    "sq_error",  # regression tasks
    # text tasks, for the WER interval (core.intervals.wer_interval): Σe², Σr², Σe·r
    "word_errors_sq",
    "ref_words_sq",
    "word_errors_x_ref",
    # Per-example human accuracy a (probability one person is right; core.baselines), on
    # the examples that have one: how many, Σa, Σa², model correct m, Σa·m.
    "hacc_n",
    "hacc_sum",
    "hacc_sq",
    "hacc_model",
    "hacc_cross",
)

#: Count columns whose sums need float64 (error sums); the others are 0/1 indicators,
#: which sum exactly in float32 within a chunk of :data:`_CHUNK` rows.
_FLOAT64_COLUMNS = frozenset(
    {
        "abs_error",
        "sq_error",
        "word_errors",
        "ref_words",
        "word_errors_sq",
        "ref_words_sq",
        "word_errors_x_ref",
        "hacc_sum",
        "hacc_sq",
        "hacc_cross",
    }
)


def compute_slice_counts(
    membership: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    tag_columns: Sequence[str] = (),
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Compute the sufficient statistics of every slice: one matrix product per row chunk.

    Parameters
    ----------
    membership
        Boolean DataFrame, one column per slice (see :func:`build_slices`).
    outcomes
        Output of :func:`compute_outcomes`.
    tag_columns
        The membership columns that are tags; when given, a ``No tag`` row counts the
        examples that carry none of them.
    weights
        How many examples each row stands for (shape ``(n_rows,)``; rows grouped by an
        engine, :mod:`core.batches`), ``None`` for one each.

    Returns
    -------
    DataFrame indexed ``All data``, each slice in order, then ``No tag``; columns
    :data:`COUNT_COLUMNS` (sums over the slice; 0 where the task does not produce one).
    """
    present = [c for c in COUNT_COLUMNS[1:] if c in outcomes.columns]
    exact64 = weights is not None or _FLOAT64_COLUMNS & set(present)
    dtype = np.float64 if exact64 else np.float32
    names = [OVERALL, *map(str, membership.columns)]
    tags = [membership.columns.get_loc(c) for c in tag_columns]
    if tags:
        names.append(UNTAGGED)
    sums = sum_by_slice(
        membership.to_numpy(dtype=bool),  # one boolean block: a view
        [outcomes[c].to_numpy(dtype=dtype) for c in present],
        tag_positions=tags,
        weights=weights,
    )
    out = np.zeros((len(names), len(COUNT_COLUMNS)))
    out[:, [0, *(COUNT_COLUMNS.index(c) for c in present)]] = sums
    return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


def sum_by_slice(
    membership: np.ndarray,
    columns: Sequence[np.ndarray],
    *,
    tag_positions: Sequence[int] = (),
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum ``columns`` over all data, each slice and (with tags) the untagged examples.

    Parameters
    ----------
    membership
        Boolean matrix, one row per example and one column per slice.
    columns
        Per-example values, all of one dtype: float32 for 0/1 indicators (exact within a
        chunk of :data:`_CHUNK` rows), float64 for error sums.
    tag_positions
        The membership columns that are tags; when given, a last row sums the examples
        carrying none of them.
    weights
        How many examples each row stands for (shape ``(n_rows,)``), ``None`` for one each;
        give float64 ``columns`` with weights (float32 sums of weights are not exact).

    Returns
    -------
    float64 array: rows ``[all data, slice 1, ..., untagged]``, columns ``[count, *columns]``.
    One matrix product per chunk of rows, so the membership is never copied to floats
    whole (80 MB at 1M rows x 20 slices).
    """
    n, k = membership.shape
    dtype = columns[0].dtype if len(columns) else np.dtype(np.float32 if weights is None else float)
    width = 1 + k + (1 if len(tag_positions) else 0)
    sums = np.zeros((width, 1 + len(columns)))
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        mc = np.empty((hi - lo, width), dtype=dtype)
        mc[:, 0] = 1
        mc[:, 1 : 1 + k] = membership[lo:hi]
        if len(tag_positions):
            mc[:, -1] = ~membership[lo:hi, list(tag_positions)].any(axis=1)
        xc = np.empty((hi - lo, 1 + len(columns)), dtype=dtype)
        xc[:, 0] = 1
        for j, v in enumerate(columns, start=1):
            xc[:, j] = v[lo:hi]
        if weights is not None:
            xc *= weights[lo:hi, None]
        sums += mc.T @ xc
    return sums


def compute_tag_coverage(correct: np.ndarray, tags: pd.DataFrame) -> tuple[int, int]:
    """Return (errors carrying at least one tag, all errors): the tagging coverage meter.

    ``correct`` is the per-example correctness (see :func:`compute_outcomes`), ``tags`` the
    boolean tag matrix aligned with it.
    """
    errors = ~np.asarray(correct, dtype=bool)
    if tags.shape[1] == 0:
        return 0, int(errors.sum())
    tagged = tags.to_numpy(dtype=bool).any(axis=1)
    return int((errors & tagged).sum()), int(errors.sum())


def exact_counts(x: np.ndarray) -> np.ndarray:
    """Turn counts held as floats (from the matrix product) into exact integers (NaN: 0)."""
    return np.rint(np.nan_to_num(np.asarray(x, dtype=float))).astype(np.int64)


def ratio(num: np.ndarray | pd.Series | float, den: np.ndarray | pd.Series | float) -> np.ndarray:
    """Divide elementwise where ``den > 0``; NaN where the denominator is 0 (or missing).

    The one ratio of counts of the package: a metric of a slice without examples (or a
    rate without a denominator) is undefined, not 0 or infinite.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
