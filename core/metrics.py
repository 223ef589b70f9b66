"""Per-slice counts and the metrics derived from them.

The error-analysis table is computed in three vectorised steps:

1. :func:`compute_outcomes` turns each example into indicator and error columns
   (correct, human correct, true/false positives, word errors...).
2. :func:`compute_slice_counts` multiplies the slice-membership matrix by those columns:
   one matrix product gives the sufficient statistics of every slice at once.
3. :func:`compute_slice_metrics` derives every metric from the counts alone, so the same
   code serves counts computed by pandas or by a SQL engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jiwer
import numpy as np
import pandas as pd

from core.binomial import binom_cdf, binom_sf
from core.dataset import Dataset
from core.errors import InvalidValueError, RowNumbers, count_of, format_rows
from core.slice_names import (
    OVERALL,
    UNTAGGED,
    resolve_slice_column,
    slice_by_choices,
    slice_info,
    tag_slice_names,
    unique_name,
)
from core.task import TaskSpec
from core.values import class_key, class_keys

Z_95 = 1.959963984540054
_CHUNK = 1 << 16  # rows per matrix product in compute_slice_counts (a few MB per chunk)
_JIWER_BLOCK = 1 << 13  # (reference, hypothesis) pairs per jiwer call in compute_word_errors

#: Fewest human-labelled examples a slice needs before its HLP is compared with the model.
#: Below it the 95% Wilson interval of the HLP is too wide to rank on: at p = 0.5 its
#: half-width is ±16.8 points at n = 30, ±17.1 at n = 29, ±20.1 at n = 20 and ±26.3 at
#: n = 10, and one correct label gives 20.7–100%. Such a slice keeps its raw ``hlp`` and
#: ``hlp_n`` but gets no gap, potential gain or significance (``hlp_source`` ``too_few``).
MIN_HUMAN_LABELS = 30

#: Count columns produced by :func:`compute_slice_counts` (all sums over the slice).
COUNT_COLUMNS: tuple[str, ...] = (
    "n",  # examples
    "correct",  # model correct
    "human_n",  # examples with a human label
    "human_correct",  # human label equals the label
    "model_only",  # model correct, human wrong (paired discordant)
    "human_only",  # human correct, model wrong (paired discordant)
    "tp", "fp", "fn", "tn",  # binary tasks
    "word_errors", "ref_words",  # text tasks (word-level edit distance, reference length)
    "abs_error", "sq_error",  # regression tasks
)


# --------------------------------------------------------------------------- outcomes


#: Columns of :func:`compute_word_errors`.
WORD_ERROR_COLUMNS: tuple[str, ...] = (
    "substitutions", "deletions", "insertions", "word_errors", "ref_words")


def compute_word_errors(references: Sequence[str], hypotheses: Sequence[str]) -> pd.DataFrame:
    """Count the word edits of each (reference, hypothesis) pair with jiwer, in few calls.

    Words are the maximal runs of non-whitespace (``str.split``); each string is handed to
    ``jiwer.process_words`` with its words joined by single spaces, so jiwer's default
    transform sees the same words. The counts follow jiwer 4 (a word-level Levenshtein
    alignment by rapidfuzz), including its empty transcripts: ``""`` against ``""`` is no
    error and 0 reference words; ``""`` against ``"okay"`` is 1 insertion; ``"what time is
    it"`` against ``""`` is 4 deletions (jiwer 4.0's ``process_words`` docstring still says
    empty references raise ``ValueError``; its code scores them as above, and the tests pin
    that). The word error rate of a set of pairs is ``word_errors.sum() / ref_words.sum()``
    (jiwer's corpus WER), which is why the counts, not per-pair rates, are returned. Pairs
    go to jiwer in blocks of :data:`_JIWER_BLOCK`, one call per block.

    Parameters
    ----------
    references, hypotheses
        Transcripts, already normalised (see :class:`core.task.TextNormalization`), of the
        same length; ``""`` is an empty transcript. Missing values are the caller's to
        leave out.

    Returns
    -------
    DataFrame with one row per pair (default index) and int64 columns ``substitutions``,
    ``deletions``, ``insertions``, ``word_errors`` (their sum) and ``ref_words`` (words in
    the reference: hits + substitutions + deletions).

    Raises
    ------
    ValueError
        When ``references`` and ``hypotheses`` differ in length.

    Examples
    --------
    >>> compute_word_errors(["what time is it", "", ""], ["what time", "", "okay"])
       substitutions  deletions  insertions  word_errors  ref_words
    0              0          2           0            2          4
    1              0          0           0            0          0
    2              0          0           1            1          0
    """
    refs = [" ".join(str(r).split()) for r in references]
    hyps = [" ".join(str(h).split()) for h in hypotheses]
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    counts = np.zeros((len(refs), len(WORD_ERROR_COLUMNS)), dtype=np.int64)
    column = {"substitute": 0, "delete": 1, "insert": 2}  # "equal" chunks are hits
    # One jiwer call per block of pairs: its per-pair alignments are Python objects (about
    # 400 MB for 65k pairs of 30 words), so a block keeps them to tens of MB.
    for lo in range(0, len(refs), _JIWER_BLOCK):
        hi = lo + _JIWER_BLOCK
        result = jiwer.process_words(refs[lo:hi], hyps[lo:hi])
        block = counts[lo:hi]
        for row, chunks in zip(block, result.alignments, strict=True):
            for chunk in chunks:
                j = column.get(chunk.type)
                if j is not None:
                    row[j] += (chunk.hyp_end_idx - chunk.hyp_start_idx if j == 2
                               else chunk.ref_end_idx - chunk.ref_start_idx)
        block[:, 4] = [len(words) for words in result.references]
    counts[:, 3] = counts[:, :3].sum(axis=1)
    return pd.DataFrame(counts, columns=list(WORD_ERROR_COLUMNS))


def compute_outcomes(frame: pd.DataFrame, task: TaskSpec, *, source: str = "") -> pd.DataFrame:
    """Compute per-example outcome columns for ``task``; one row per row of ``frame``.

    ``source`` is the file name the error messages start with (``Dataset.source_name``).

    Returns
    -------
    DataFrame with float columns ``correct``, ``human_n``, ``human_correct``,
    ``model_only``, ``human_only`` (always), ``tp, fp, fn, tn`` (binary), ``word_errors,
    ref_words`` (text) and ``abs_error, sq_error`` (regression).

    Text tasks compare the transcripts after ``task.normalization``: ``correct`` is an exact
    match of the normalised strings, and ``word_errors`` (substitutions + deletions +
    insertions) and ``ref_words`` come from jiwer (:func:`compute_word_errors`), so a slice's
    WER ``sum(word_errors) / sum(ref_words)`` is jiwer's corpus WER. An empty string, or one
    that normalises to ``""``, is an empty transcript (a silent clip, a model that said
    nothing): ``""`` vs ``""`` is correct with 0 words and 0 errors. A missing label or
    prediction (None/NaN) is not a transcript: the row is not correct and adds 0 to both
    word counts (the loader refuses or drops such rows; a missing human label is masked).

    Raises
    ------
    InvalidValueError
        Binary: no positive class, or one found in neither the labels nor the predictions.
        Regression: a label, prediction or human label that is not a number, or is not
        finite (``inf``); the message names ``source``, the role and the rows.
    """
    at = f"{source}: " if source else ""
    y, p = frame["label"], frame["prediction"]
    h = frame["human"] if "human" in frame.columns else None
    out: dict[str, np.ndarray] = {}
    if task.kind == "regression":
        rows = RowNumbers.of_frame(frame)  # as the file numbers its rows, when recorded
        yv = _numeric(y, "label", at, numbering=rows)
        pv = _numeric(p, "prediction", at, numbering=rows)
        err = pv - yv
        out["abs_error"] = np.abs(err)
        out["sq_error"] = err**2
        tol = task.tolerance if task.tolerance is not None else 0.0
        correct = np.abs(err) <= tol
        human_correct = (np.abs(_numeric(h, "human", at, numbering=rows) - yv) <= tol
                         if h is not None else None)
    elif task.kind == "text":
        norm = task.normalization
        # Compare and score on codes of the normalised strings: each distinct string and
        # each distinct (label, prediction) pair is handled once. "" (or a transcript that
        # normalises to "") is an empty transcript, scored like any other; a missing value
        # (code -1) is not correct and adds nothing to the word counts.
        n = len(frame)
        parts = [norm.apply(y), norm.apply(p)] + ([norm.apply(h)] if h is not None else [])
        codes, uniques = pd.factorize(pd.concat(parts, ignore_index=True), use_na_sentinel=True)
        cy, cp = codes[:n], codes[n:2 * n]
        correct = (cy == cp) & (cy >= 0)
        word_errors = np.zeros(n)
        ref_words = np.zeros(n)
        scored = np.flatnonzero((cy >= 0) & (cp >= 0))
        if len(scored):
            k = np.int64(len(uniques))
            pairs, inverse = np.unique(cy[scored].astype(np.int64) * k + cp[scored],
                                       return_inverse=True)
            texts = np.asarray(uniques, dtype=object)
            counts = compute_word_errors(texts[pairs // k], texts[pairs % k])
            word_errors[scored] = counts["word_errors"].to_numpy(dtype=float)[inverse]
            ref_words[scored] = counts["ref_words"].to_numpy(dtype=float)[inverse]
        out["word_errors"] = word_errors
        out["ref_words"] = ref_words
        human_correct = None
        if h is not None:
            ch = codes[2 * n:]
            human_correct = (ch == cy) & (cy >= 0)
    else:
        # Plain numpy comparisons: labels and predictions are never missing (validated on
        # load), and a missing human label is masked out below.
        yv = y.to_numpy()
        correct = np.asarray(yv == p.to_numpy(), dtype=bool)
        human_correct = np.asarray(h.to_numpy() == yv, dtype=bool) if h is not None else None
        if task.kind == "binary":
            pos = _check_positive(y, task.positive, predictions=p, at=at)
            yp = (y.astype(str) == pos).to_numpy()
            pp = (p.astype(str) == pos).to_numpy()
            out["tp"] = (yp & pp).astype(float)
            out["fp"] = (~yp & pp).astype(float)
            out["fn"] = (yp & ~pp).astype(float)
            out["tn"] = (~yp & ~pp).astype(float)
    columns = {"correct": np.asarray(correct, dtype=float), **out}
    if h is not None:
        has_h = h.notna().to_numpy()
        hc = np.asarray(human_correct, dtype=bool) & has_h
        mc = np.asarray(correct, dtype=bool)
        columns["human_n"] = has_h.astype(float)
        columns["human_correct"] = hc.astype(float)
        columns["model_only"] = (mc & ~hc & has_h).astype(float)
        columns["human_only"] = (~mc & hc).astype(float)
    return pd.DataFrame(columns, index=frame.index, copy=False)  # the arrays are new


def _numeric(values: pd.Series, role: str, at: str = "", *,
             numbering: RowNumbers | None = None) -> np.ndarray:
    """Read a regression role (label, prediction, human label) as finite floats.

    Missing cells stay NaN (a missing human label is masked out; labels and predictions
    are never missing after loading). ``at`` starts the messages (the file name); rows
    are positions in the frame, named as the file numbers them (``numbering``, see
    :func:`core.errors.format_rows`).

    Raises
    ------
    InvalidValueError
        A cell that is not a number (``nan`` written out is none), or a number that is not
        finite (``inf``, ``-Infinity``, ``1e400``): its error would make the slice's MAE
        and RMSE infinite and the JSON report invalid.
    """
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    unread = np.flatnonzero(np.isnan(arr) & values.notna().to_numpy(dtype=bool))
    spelled_nan = np.zeros(len(arr), dtype=bool)  # "nan" written as a number, not a blank
    if len(unread):
        spelled_nan[unread] = (values.iloc[unread].astype(str).str.strip()
                               .str.fullmatch(r"[+-]?nan", case=False).to_numpy(dtype=bool))
    not_finite = np.isinf(arr) | spelled_nan
    if not_finite.any():
        rows = np.flatnonzero(not_finite)
        shown = pd.unique(values.iloc[rows[:1000]].astype(str).to_numpy(dtype=object))[:3]
        raise InvalidValueError(
            f"{at}a regression task needs finite numbers; the {role} is not finite in "
            f"{format_rows(rows, numbering=numbering)} ({', '.join(map(repr, shown))}); fix "
            "those cells or leave those rows out"
        )
    if len(unread):
        raise InvalidValueError(
            f"{at}a regression task needs numbers; the {role} is not numeric in "
            f"{count_of(len(unread), 'row')} (first: {values.iat[unread[0]]!r})"
        )
    return arr


def _check_positive(labels: pd.Series, positive: str | None, *,
                    predictions: pd.Series | None = None, at: str = "") -> str:
    """Return the data's spelling of the ``positive`` class.

    Matched by :func:`core.values.class_key`, so ``--positive true`` finds the class written
    ``1``, ``TRUE`` or ``yes`` (the contract of :mod:`core.values`). The labels are looked at
    first, then the predictions: a batch whose labels hold one class (no defect at all) is
    legal, and a positive the model predicted there is its false alarms. A positive found in
    neither is refused (most likely a typo). ``at`` starts the messages (the file name).
    """
    classes = pd.unique(labels.dropna().astype(str))
    if positive is None:
        raise InvalidValueError(f"{at}a binary task needs a positive class (CLI: --positive "
                                f"CLASS); classes: {', '.join(map(str, classes[:10]))}")
    predicted = (pd.unique(predictions.dropna().astype(str)) if predictions is not None
                 else np.array([], dtype=object))
    for found in (classes, predicted):
        if str(positive) in set(found):
            return str(positive)
        keys = class_keys(pd.Series(found, dtype=object))
        match = [c for c, k in zip(found, keys, strict=True) if k == class_key(positive)]
        if match:
            return str(match[0])
    where = "the labels or the predictions" if predictions is not None else "the labels"
    raise InvalidValueError(f"{at}positive class {positive!r} never occurs in {where}; "
                            f"classes: {', '.join(map(str, classes[:10]))}")


# --------------------------------------------------------------------------- slices


def build_slices(
    dataset: Dataset,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
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
    """
    # Each slice is a tag's column or (codes, k) for one value of a slice-by column; the
    # membership block is filled once from these (no per-column frames to consolidate).
    cols: dict[str, np.ndarray | tuple[np.ndarray, int]] = {}
    kinds, sources = [], []
    names = tag_slice_names(dataset.tags.columns)
    for tag in dataset.tags.columns:
        cols[names[str(tag)]] = dataset.tags[tag].to_numpy(dtype=bool)
        kinds.append("tag")
        sources.append(str(tag))
    # A column given twice is sliced once; names are stripped like the file's header.
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
        column = resolve_slice_column(col, columns=dataset.frame.columns,
                                      mapping=dataset.mapping)
        if column is None:
            choices = slice_by_choices(dataset.metadata_columns,
                                       columns=dataset.frame.columns, mapping=dataset.mapping)
            raise InvalidValueError(
                f"{dataset.source_name}: cannot slice by {col!r}: no such column; columns: "
                f"{', '.join(map(repr, choices))}")
        values = dataset.frame[column]
        if (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
                and (values.iloc[:4096].nunique() > bins or values.nunique() > bins)):
            codes, cats = _quantile_bins(values, bins, col)
        else:
            codes_, uniques = pd.factorize(values, sort=True)
            codes = codes_
            cats = [f"{col} = {u}" for u in uniques]
        if (codes < 0).any():
            cats = [*cats, f"{col} = (missing)"]
            codes = np.where(codes < 0, len(cats) - 1, codes)
        for k, name in enumerate(cats):
            # Names can clash: a tag called "device = ios", or 1 and "1" in one column
            # ("All data" and "No tag" cannot: a column slice's name holds " = " or " in [").
            cols[unique_name(name, cols)] = (codes, k)
            kinds.append("column")
            sources.append(col)
    block = np.empty((len(cols), len(dataset.frame)), dtype=bool)
    for row, source in zip(block, cols.values(), strict=True):
        if isinstance(source, tuple):
            np.equal(source[0], source[1], out=row)
        else:
            row[:] = source
    membership = pd.DataFrame(block.T, index=dataset.frame.index,
                              columns=pd.Index(list(cols), dtype=object), copy=False)
    return membership, slice_info(list(cols), kinds, sources)


def format_edges(edges: Sequence[float]) -> list[str]:
    """Write bin edges as short as they can be while every edge stays distinct.

    Whole numbers are written in full (``2019``, ``1700000000``, not ``2.02e+03``); other
    edges with the fewest significant digits (3 at least, 15 at most) that tell them apart.
    """
    def fmt(x: float, digits: int) -> str:
        if float(x).is_integer() and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.{digits}g}"

    for digits in range(3, 16):
        names = [fmt(x, digits) for x in edges]
        if len(set(names)) == len(names):
            return names
    return names


def _quantile_bins(values: pd.Series, bins: int, col: str) -> tuple[np.ndarray, list[str]]:
    """Return codes (-1 for missing) and names of ``bins`` quantile bins, closed on the left."""
    arr = values.to_numpy(dtype=float)
    edges = np.unique(np.nanquantile(arr, np.linspace(0, 1, bins + 1)))
    # Interior edges split the data; the last bin is closed on both sides.
    codes = np.searchsorted(edges[1:-1], arr, side="right").astype(np.int64)
    codes[np.isnan(arr)] = -1
    names = []
    shown = format_edges(edges)
    for k in range(len(edges) - 1):
        close = "]" if k == len(edges) - 2 else ")"
        names.append(f"{col} in [{shown[k]}, {shown[k + 1]}{close}")
    return codes, names


def compute_slice_counts(
    membership: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    tag_columns: Sequence[str] = (),
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

    Returns
    -------
    DataFrame indexed ``All data``, each slice in order, then ``No tag``; columns
    :data:`COUNT_COLUMNS` (sums over the slice; 0 where the task does not produce one).
    """
    present = [c for c in COUNT_COLUMNS[1:] if c in outcomes.columns]
    # 0/1 columns sum exactly in float32 within a chunk; error sums (regression, WER) keep
    # float64.
    exact32 = not ({"abs_error", "sq_error", "word_errors", "ref_words"} & set(present))
    dtype = np.float32 if exact32 else np.float64
    names = [OVERALL, *map(str, membership.columns)]
    tags = [membership.columns.get_loc(c) for c in tag_columns]
    if tags:
        names.append(UNTAGGED)
    sums = sum_by_slice(membership.to_numpy(dtype=bool),  # one boolean block: a view
                        [outcomes[c].to_numpy(dtype=dtype) for c in present],
                        tag_positions=tags)
    out = np.zeros((len(names), len(COUNT_COLUMNS)))
    out[:, [0, *(COUNT_COLUMNS.index(c) for c in present)]] = sums
    return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


def sum_by_slice(membership: np.ndarray, columns: Sequence[np.ndarray], *,
                 tag_positions: Sequence[int] = ()) -> np.ndarray:
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

    Returns
    -------
    float64 array: rows ``[all data, slice 1, ..., untagged]``, columns ``[count, *columns]``.
    One matrix product per chunk of rows, so the membership is never copied to floats
    whole (80 MB at 1M rows x 20 slices).
    """
    n, k = membership.shape
    dtype = columns[0].dtype if len(columns) else np.float32
    width = 1 + k + (1 if len(tag_positions) else 0)
    sums = np.zeros((width, 1 + len(columns)))
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        mc = np.empty((hi - lo, width), dtype=dtype)
        mc[:, 0] = 1
        mc[:, 1:1 + k] = membership[lo:hi]
        if len(tag_positions):
            mc[:, -1] = ~membership[lo:hi, list(tag_positions)].any(axis=1)
        xc = np.empty((hi - lo, 1 + len(columns)), dtype=dtype)
        xc[:, 0] = 1
        for j, v in enumerate(columns, start=1):
            xc[:, j] = v[lo:hi]
        sums += mc.T @ xc
    return sums


# --------------------------------------------------------------------------- metrics


def wilson_interval(k: np.ndarray | float, n: np.ndarray | float,
                    *, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Compute the Wilson score interval for a binomial proportion ``k / n`` (default 95%).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``; NaN where ``n == 0``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def _ints(x: np.ndarray) -> np.ndarray:
    """Turn counts held as floats (from the matrix product) into exact integers."""
    return np.rint(np.nan_to_num(np.asarray(x, dtype=float))).astype(np.int64)


def mcnemar_exact_p(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Compute the two-sided exact McNemar p-value from discordant pair counts ``b`` and ``c``.

    ``p = min(1, 2 · P[Binomial(b + c, 1/2) <= min(b, c)])``; 1 where there are no
    discordant pairs.
    """
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    m = b + c
    with np.errstate(invalid="ignore"):
        # P[Binomial(m, 1/2) <= min(b, c)]
        p = 2 * binom_cdf(_ints(np.minimum(b, c)), _ints(m), 0.5)
    return np.where(m > 0, np.minimum(1.0, p), 1.0)


def binomial_test_p(k: np.ndarray, n: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Compute the two-sided exact binomial test of ``k`` successes in ``n`` against rate ``p0``.

    Doubles the smaller tail: ``min(1, 2 · min(P[X <= k], P[X >= k]))``; NaN where ``n == 0``
    or ``p0`` is missing.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p0 = np.clip(np.asarray(p0, dtype=float), 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        lower = binom_cdf(_ints(k), _ints(n), p0)  # P[X <= k]
        upper = np.where(k > 0, binom_sf(_ints(np.maximum(k - 1, 0)), _ints(n), p0),
                         1.0)  # P[X >= k]
    p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    return np.where((n > 0) & ~np.isnan(p0), p, np.nan)


def _div(a: np.ndarray | pd.Series, b: np.ndarray | pd.Series) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def compute_slice_metrics(
    counts: pd.DataFrame,
    *,
    task: TaskSpec,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    min_human_labels: int = MIN_HUMAN_LABELS,
) -> pd.DataFrame:
    """Derive every metric of the error-analysis table, derived from per-slice counts alone.

    Parameters
    ----------
    counts
        Output of :func:`compute_slice_counts` (first row is all data).
    task
        Decides which task metrics are added.
    hlp
        Human-level performance given by the user per slice name (fractions in [0, 1]); it
        takes precedence over the human-label column for those slices.
    alpha
        Significance level for the gap test.
    min_human_labels
        Fewest human-labelled examples a slice needs for its measured HLP to be compared
        with the model (default :data:`MIN_HUMAN_LABELS`, which gives the reason).

    Returns
    -------
    DataFrame indexed by slice name with columns:

    - ``n``: examples; ``share``: n / all examples.
    - ``accuracy``: correct / n (exact match; within tolerance for regression);
      ``accuracy_ci_low``, ``accuracy_ci_high``: 95% Wilson interval.
    - ``errors``; ``error_rate`` = errors / n; ``error_share`` = errors / all errors (the
      lecture's "what fraction of errors has that tag").
    - ``hlp``: human-level accuracy: the user's value where given, else human_correct /
      human_n (agreement of the human-label column with the label, on the examples that
      have a human label). Shown even when too few examples back it.
    - ``hlp_source``, why the slice has (or lacks) a usable HLP: ``user`` (given; wins
      over human labels), ``human_label`` (measured on at least ``min_human_labels``
      human-labelled examples), ``too_few`` (measured on 1 to ``min_human_labels`` − 1:
      ``hlp`` is shown but not compared) or ``none`` (no value and no human label).
    - ``hlp_n``: human-labelled examples behind a measured ``hlp`` (``human_n``); 0 for a
      user-given HLP (not measured on these examples) and where there is none.
    - ``hlp_ci_low``, ``hlp_ci_high``: 95% Wilson interval of a measured ``hlp``
      (``human_label`` and ``too_few``); NaN for a user-given HLP and where there is none.
    - ``paired_accuracy``: the model's accuracy on the same ``hlp_n`` human-labelled
      examples, (human_correct − human_only + model_only) / human_n; NaN where ``hlp_n``
      is 0. ``accuracy`` stays the accuracy on all examples of the slice.
    - ``gap``: HLP minus the model's accuracy on the same examples, positive where the
      model trails humans. With human labels (``human_label``) it is hlp −
      paired_accuracy = (human_only − model_only) / human_n, so that a slice where only
      some examples have a human label compares model and human on those examples only;
      with a user-given HLP it is hlp − accuracy. NaN for ``too_few`` and ``none``.
      ``potential_gain`` = gap × share (accuracy points on all data if the gap closed).
    - ``p_value``, ``significant``: whether the gap differs from zero. With human labels the
      test is McNemar's exact test on the paired examples; with a user-given HLP, a
      two-sided exact binomial test of the slice's correct count against rate ``hlp``.
      NaN and False for ``too_few`` and ``none``.
    - binary: ``precision``, ``recall``, ``f1``, ``fpr``, ``fnr``; text: ``wer`` = word edit
      operations / reference words (jiwer's corpus WER; as in jiwer, a slice whose
      references are all empty has WER = its insertions); regression: ``mae``, ``rmse``.
    """
    c = counts
    n = c["n"].to_numpy(dtype=float)
    total_n = n[0]
    errors = n - c["correct"].to_numpy()
    total_errors = errors[0]
    out = pd.DataFrame(index=c.index)
    out["n"] = n.astype(np.int64)
    out["share"] = _div(n, np.full_like(n, total_n))
    out["accuracy"] = _div(c["correct"], n)
    low, high = wilson_interval(c["correct"].to_numpy(), n)
    out["accuracy_ci_low"] = low
    out["accuracy_ci_high"] = high
    out["errors"] = errors.astype(np.int64)
    out["error_rate"] = _div(errors, n)
    out["error_share"] = _div(errors, np.full_like(errors, total_errors))

    human_hlp = _div(c["human_correct"], c["human_n"])
    user = pd.Series(hlp or {}, dtype=float).reindex(c.index)
    if user.notna().any() and ((user.dropna() < 0) | (user.dropna() > 1)).any():
        bad = user[(user < 0) | (user > 1)]
        raise InvalidValueError(f"HLP for {bad.index[0]!r} is {bad.iloc[0]}; give a fraction "
                                "between 0 and 1")
    use_user = user.notna().to_numpy()
    human_n = c["human_n"].to_numpy(dtype=float)
    model_only, human_only = c["model_only"].to_numpy(), c["human_only"].to_numpy()
    measured = ~use_user & (human_n > 0)
    usable = measured & (human_n >= min_human_labels)
    out["hlp"] = np.where(use_user, user.to_numpy(), human_hlp)
    out["hlp_source"] = np.select([use_user, usable, measured], ["user", "human_label", "too_few"],
                                  "none").astype(object)
    out["hlp_n"] = np.where(measured, _ints(human_n), 0)
    h_low, h_high = wilson_interval(c["human_correct"].to_numpy(), human_n)
    out["hlp_ci_low"] = np.where(measured, h_low, np.nan)
    out["hlp_ci_high"] = np.where(measured, h_high, np.nan)
    # Model correct on the human-labelled examples = both correct + model only.
    model_on_human = c["human_correct"].to_numpy() - human_only + model_only
    out["paired_accuracy"] = np.where(measured, _div(model_on_human, human_n), np.nan)
    out["gap"] = np.where(use_user, out["hlp"] - out["accuracy"],
                          np.where(usable, _div(human_only - model_only, human_n), np.nan))
    out["potential_gain"] = out["gap"] * out["share"]
    p_paired = mcnemar_exact_p(model_only, human_only)
    p_user = binomial_test_p(c["correct"].to_numpy(), n, user.to_numpy())
    p = np.where(use_user, p_user, np.where(usable, p_paired, np.nan))
    out["p_value"] = p
    out["significant"] = np.where(np.isnan(p), False, p < alpha)

    if task.kind == "binary":
        tp, fp, fn, tn = (c[k].to_numpy() for k in ("tp", "fp", "fn", "tn"))
        out["precision"] = _div(tp, tp + fp)
        out["recall"] = _div(tp, tp + fn)
        out["f1"] = _div(2 * tp, 2 * tp + fp + fn)
        out["fpr"] = _div(fp, fp + tn)
        out["fnr"] = _div(fn, fn + tp)
    elif task.kind == "text":
        ref_words = c["ref_words"].to_numpy(dtype=float)
        out["wer"] = np.where(ref_words > 0, _div(c["word_errors"], ref_words),
                              np.where(n > 0, c["word_errors"], np.nan))
    elif task.kind == "regression":
        out["mae"] = _div(c["abs_error"], n)
        out["rmse"] = np.sqrt(_div(c["sq_error"], n))
    return out


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


# --------------------------------------------------------------------------- per class


def compute_confusion_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Count (label, prediction) pairs: rows are labels, columns predictions.

    Both axes hold the union of classes seen in either column, sorted as strings.
    """
    y = frame["label"].astype(str)
    p = frame["prediction"].astype(str)
    classes = sorted(set(pd.unique(y)) | set(pd.unique(p)))
    codes_y = pd.Categorical(y, categories=classes).codes
    codes_p = pd.Categorical(p, categories=classes).codes
    k = len(classes)
    flat = np.bincount(codes_y.astype(np.int64) * k + codes_p, minlength=k * k)
    return pd.DataFrame(flat.reshape(k, k), index=pd.Index(classes, name="label"),
                        columns=pd.Index(classes, name="prediction"))


def compute_class_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Compute per-class precision, recall, F1 and support, from the confusion matrix.

    Returns
    -------
    DataFrame indexed by class with ``support`` (examples with that label), ``predicted``
    (examples predicted as it), ``precision`` = TP / predicted, ``recall`` = TP / support
    (the class's accuracy, the lecture's "accuracy on rare classes"), ``f1`` = 2TP /
    (support + predicted); NaN where a denominator is 0. Sorted by support ascending so the
    rare classes come first.
    """
    cm = compute_confusion_matrix(frame)
    tp = np.diag(cm.to_numpy()).astype(float)
    support = cm.sum(axis=1).to_numpy(dtype=float)
    predicted = cm.sum(axis=0).to_numpy(dtype=float)
    out = pd.DataFrame({
        "support": support.astype(np.int64),
        "predicted": predicted.astype(np.int64),
        "precision": _div(tp, predicted),
        "recall": _div(tp, support),
        "f1": _div(2 * tp, support + predicted),
    }, index=cm.index)
    out.index.name = "class"
    return out.sort_values("support", kind="stable")
