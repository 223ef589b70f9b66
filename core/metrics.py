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

from slicewise.core import limits
from slicewise.core.baselines import (
    BASIS_ENTERED,
    BASIS_HUMAN_ACCURACY,
    BASIS_MAJORITY,
    BASIS_SINGLE,
    BASIS_TARGET,
    Baseline,
    paired_mean_difference,
)
from slicewise.core.binomial import binom_cdf, binom_sf
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError, RowNumbers, count_of, format_rows
from slicewise.core.intervals import (
    N_BOOT,
    add_metric_intervals,
    bootstrap_f1_interval,
    paired_difference_interval,
    wilson_interval,
)
from slicewise.core.intervals import Z_95 as Z_95  # re-exported: the 95% normal quantile
from slicewise.core.slice_names import (
    OVERALL,
    UNTAGGED,
    resolve_slice_column,
    slice_by_choices,
    slice_info,
    tag_slice_names,
    unique_name,
)
from slicewise.core.task import TaskSpec
from slicewise.core.values import class_key, class_keys

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


# --------------------------------------------------------------------------- outcomes


#: Columns of :func:`compute_word_errors`.
WORD_ERROR_COLUMNS: tuple[str, ...] = (
    "substitutions",
    "deletions",
    "insertions",
    "word_errors",
    "ref_words",
)


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
                    row[j] += (
                        chunk.hyp_end_idx - chunk.hyp_start_idx
                        if j == 2
                        else chunk.ref_end_idx - chunk.ref_start_idx
                    )
        block[:, 4] = [len(words) for words in result.references]
    counts[:, 3] = counts[:, :3].sum(axis=1)
    return pd.DataFrame(counts, columns=list(WORD_ERROR_COLUMNS))


def compute_outcomes(frame: pd.DataFrame, task: TaskSpec, *, source: str = "") -> pd.DataFrame:
    """Compute per-example outcome columns for ``task``; one row per row of ``frame``.

    ``source`` is the file name the error messages start with (``Dataset.source_name``).

    Returns
    -------
    DataFrame with float columns ``correct``, ``human_n``, ``human_correct``,
    ``model_only``, ``human_only`` (with a human label), ``tp, fp, fn, tn`` (binary),
    ``word_errors, ref_words, word_errors_sq, ref_words_sq, word_errors_x_ref`` (text: the
    counts, their squares and product, for the WER interval), ``abs_error, sq_error``
    (regression) and, with a ``human_accuracy`` column (a per-example probability ``a``
    that one person is right, see :mod:`core.baselines`), ``hacc_n`` (1 where ``a`` is
    given), ``hacc_sum`` (``a``), ``hacc_sq`` (``a²``), ``hacc_model`` (model correct
    there) and ``hacc_cross`` (``a`` × model correct), 0 where ``a`` is missing.

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
        human_correct = (
            np.abs(_numeric(h, "human", at, numbering=rows) - yv) <= tol if h is not None else None
        )
    elif task.kind == "text":
        norm = task.normalization
        # Compare and score on codes of the normalised strings: each distinct string and
        # each distinct (label, prediction) pair is handled once. "" (or a transcript that
        # normalises to "") is an empty transcript, scored like any other; a missing value
        # (code -1) is not correct and adds nothing to the word counts.
        n = len(frame)
        parts = [norm.apply(y), norm.apply(p)] + ([norm.apply(h)] if h is not None else [])
        codes, uniques = pd.factorize(pd.concat(parts, ignore_index=True), use_na_sentinel=True)
        cy, cp = codes[:n], codes[n : 2 * n]
        correct = (cy == cp) & (cy >= 0)
        word_errors = np.zeros(n)
        ref_words = np.zeros(n)
        scored = np.flatnonzero((cy >= 0) & (cp >= 0))
        if len(scored):
            k = np.int64(len(uniques))
            pairs, inverse = np.unique(
                cy[scored].astype(np.int64) * k + cp[scored], return_inverse=True
            )
            texts = np.asarray(uniques, dtype=object)
            counts = compute_word_errors(texts[pairs // k], texts[pairs % k])
            word_errors[scored] = counts["word_errors"].to_numpy(dtype=float)[inverse]
            ref_words[scored] = counts["ref_words"].to_numpy(dtype=float)[inverse]
        out["word_errors"] = word_errors
        out["ref_words"] = ref_words
        out["word_errors_sq"] = word_errors**2
        out["ref_words_sq"] = ref_words**2
        out["word_errors_x_ref"] = word_errors * ref_words
        human_correct = None
        if h is not None:
            ch = codes[2 * n :]
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
    if "human_accuracy" in frame.columns:
        a = pd.to_numeric(frame["human_accuracy"], errors="coerce").to_numpy(dtype=float)
        has_a = ~np.isnan(a)
        a0 = np.where(has_a, a, 0.0)
        m = np.asarray(correct, dtype=bool) & has_a
        columns["hacc_n"] = has_a.astype(float)
        columns["hacc_sum"] = a0
        columns["hacc_sq"] = a0 * a0
        columns["hacc_model"] = m.astype(float)
        columns["hacc_cross"] = np.where(m, a0, 0.0)
    return pd.DataFrame(columns, index=frame.index, copy=False)  # the arrays are new


def _numeric(
    values: pd.Series, role: str, at: str = "", *, numbering: RowNumbers | None = None
) -> np.ndarray:
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
        spelled_nan[unread] = (
            values.iloc[unread]
            .astype(str)
            .str.strip()
            .str.fullmatch(r"[+-]?nan", case=False)
            .to_numpy(dtype=bool)
        )
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


def _check_positive(
    labels: pd.Series, positive: str | None, *, predictions: pd.Series | None = None, at: str = ""
) -> str:
    """Return the data's spelling of the ``positive`` class.

    Matched by :func:`core.values.class_key`, so ``--positive true`` finds the class written
    ``1``, ``TRUE`` or ``yes`` (the contract of :mod:`core.values`). The labels are looked at
    first, then the predictions: a batch whose labels hold one class (no defect at all) is
    legal, and a positive the model predicted there is its false alarms. A positive found in
    neither is refused (most likely a typo). ``at`` starts the messages (the file name).
    """
    classes = pd.unique(labels.dropna().astype(str))
    if positive is None:
        raise InvalidValueError(
            f"{at}a binary task needs a positive class (CLI: --positive "
            f"CLASS); classes: {', '.join(map(str, classes[:10]))}"
        )
    predicted = (
        pd.unique(predictions.dropna().astype(str))
        if predictions is not None
        else np.array([], dtype=object)
    )
    for found in (classes, predicted):
        if str(positive) in set(found):
            return str(positive)
        keys = class_keys(pd.Series(found, dtype=object))
        match = [c for c, k in zip(found, keys, strict=True) if k == class_key(positive)]
        if match:
            return str(match[0])
    where = "the labels or the predictions" if predictions is not None else "the labels"
    raise InvalidValueError(
        f"{at}positive class {positive!r} never occurs in {where}; "
        f"classes: {', '.join(map(str, classes[:10]))}"
    )


# --------------------------------------------------------------------------- slices


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
    cols: dict[str, np.ndarray | tuple[np.ndarray, int]] = {}
    kinds, sources = [], []
    names = tag_slice_names(dataset.tags.columns)
    for tag in dataset.tags.columns:
        cols[names[str(tag)]] = dataset.tags[tag].to_numpy(dtype=bool)
        kinds.append("tag")
        sources.append(str(tag))
    # A column given twice is sliced once; names are stripped like the file's header.
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
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
        if (
            pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_bool_dtype(values)
            and (values.iloc[:4096].nunique() > bins or values.nunique() > bins)
        ):
            codes, cats = _quantile_bins(values, bins, col)
        else:
            # Count first (one hash of the column): no per-value sort, name or slice yet.
            limits.check_slice_count(
                int(values.nunique()) + int(values.isna().any()),
                column=col,
                source=dataset.source_name,
                cap=cap,
                before=made,
            )
            codes_, uniques = pd.factorize(values, sort=True)
            codes = codes_
            cats = [f"{col} = {u}" for u in uniques]
        if (codes < 0).any():
            cats = [*cats, f"{col} = (missing)"]
            codes = np.where(codes < 0, len(cats) - 1, codes)
        limits.check_slice_count(
            len(cats), column=col, source=dataset.source_name, cap=cap, before=made
        )  # bins (a caller's bins may be many)
        made += len(cats)
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
    membership = pd.DataFrame(
        block.T, index=dataset.frame.index, columns=pd.Index(list(cols), dtype=object), copy=False
    )
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
    exact32 = not (
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
        & set(present)
    )
    dtype = np.float32 if exact32 else np.float64
    names = [OVERALL, *map(str, membership.columns)]
    tags = [membership.columns.get_loc(c) for c in tag_columns]
    if tags:
        names.append(UNTAGGED)
    sums = sum_by_slice(
        membership.to_numpy(dtype=bool),  # one boolean block: a view
        [outcomes[c].to_numpy(dtype=dtype) for c in present],
        tag_positions=tags,
    )
    out = np.zeros((len(names), len(COUNT_COLUMNS)))
    out[:, [0, *(COUNT_COLUMNS.index(c) for c in present)]] = sums
    return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


def sum_by_slice(
    membership: np.ndarray, columns: Sequence[np.ndarray], *, tag_positions: Sequence[int] = ()
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
        mc[:, 1 : 1 + k] = membership[lo:hi]
        if len(tag_positions):
            mc[:, -1] = ~membership[lo:hi, list(tag_positions)].any(axis=1)
        xc = np.empty((hi - lo, 1 + len(columns)), dtype=dtype)
        xc[:, 0] = 1
        for j, v in enumerate(columns, start=1):
            xc[:, j] = v[lo:hi]
        sums += mc.T @ xc
    return sums


# --------------------------------------------------------------------------- metrics


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
        upper = np.where(
            k > 0, binom_sf(_ints(np.maximum(k - 1, 0)), _ints(n), p0), 1.0
        )  # P[X >= k]
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
    baseline: Baseline | None = None,
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
    baseline
        What the slices are compared with (:class:`core.baselines.Baseline`; default HLP
        from single human labels): ``hlp`` measures HLP from per-example human accuracy
        when the counts have any (``hacc_n``; it then takes precedence over the human-label
        column), else from the human-label column (``human_kind`` ``majority``: an upper
        bound on one person); ``older_system`` reads the human-label counts as an older
        system's predictions; ``target`` gives every slice the same typed value. ``hlp``
        values typed per slice win over all of them.

    Returns
    -------
    DataFrame indexed by slice name with columns:

    - ``n``: examples; ``share``: n / all examples.
    - ``accuracy``: correct / n (exact match; within tolerance for regression);
      ``accuracy_ci_low``, ``accuracy_ci_high``: 95% Wilson interval.
    - ``errors``; ``error_rate`` = errors / n; ``error_share`` = errors / all errors (the
      lecture's "what fraction of errors has that tag").
    - ``hlp``: the baseline's accuracy (human-level performance unless ``baseline`` says
      otherwise): the user's value where given; the target; the mean per-example human
      accuracy hacc_sum / hacc_n; or human_correct / human_n (agreement of the human-label
      column, or of the older system, with the label, on the examples that have one).
      Shown even when too few examples back it.
    - ``hlp_source``, why the slice has (or lacks) a usable baseline: ``user`` (given;
      wins over everything), ``target``, ``human_accuracy`` (mean per-example human
      accuracy), ``human_label`` or ``older_system`` (measured on at least
      ``min_human_labels`` examples), ``too_few`` (measured on 1 to ``min_human_labels``
      − 1: ``hlp`` is shown but not compared) or ``none`` (no value).
    - ``hlp_basis``, how it was measured, in words: ``single human label``, ``majority
      label — an upper bound on one person``, ``mean single-annotator accuracy``,
      ``older system NAME``, ``entered``, ``target``; None without a value.
    - ``baseline``, which baseline the row uses: ``HLP``, ``older system: NAME`` or
      ``target 95%`` (:attr:`core.baselines.Baseline.label`); None without a value.
    - ``hlp_n``: examples behind a measured ``hlp`` (``human_n`` or ``hacc_n``); 0 for a
      typed HLP or target (not measured on these examples) and where there is none.
    - ``hlp_ci_low``, ``hlp_ci_high``: 95% interval of a measured ``hlp``: Wilson for a
      share of human labels (or older predictions), Student t for a mean human accuracy
      (:func:`core.baselines.paired_mean_difference`); NaN for a typed value and where
      there is none.
    - ``paired_accuracy``: the model's accuracy on the same ``hlp_n`` examples,
      (human_correct − human_only + model_only) / human_n, or hacc_model / hacc_n; NaN
      where ``hlp_n`` is 0. ``accuracy`` stays the accuracy on all examples of the slice.
    - ``gap``: HLP minus the model's accuracy on the same examples, positive where the
      model trails humans. With human labels (``human_label``) it is hlp −
      paired_accuracy = (human_only − model_only) / human_n, so that a slice where only
      some examples have a human label compares model and human on those examples only;
      with a mean human accuracy it is the mean of (human accuracy − model correct) over
      the examples that have one; with a user-given HLP or a target it is hlp − accuracy.
      NaN for ``too_few`` and ``none``.
      ``potential_gain`` = gap × share (accuracy points on all data if the gap closed).
    - ``p_value``, ``significant``: whether the gap differs from zero. With human labels (or
      an older system) the test is McNemar's exact test on the paired examples; with a mean
      human accuracy, the paired t-test on the per-example differences; with a user-given
      HLP or a target, a two-sided exact binomial test of the slice's correct count against
      rate ``hlp``. NaN and False for ``too_few`` and ``none``.
    - binary: ``precision``, ``recall``, ``f1``, ``fpr``, ``fnr``, ``negatives`` (FP + TN),
      ``positives`` (TP + FN); text: ``wer`` = word edit operations / reference words
      (jiwer's corpus WER; as in jiwer, a slice whose references are all empty has WER = its
      insertions); regression: ``mae``, ``rmse``.
    - 95% intervals ``<m>_ci_low``, ``<m>_ci_high`` (:func:`core.intervals.add_metric_intervals`,
      from the counts alone): binary ``precision``, ``recall``, ``fpr``, ``fnr`` (Wilson,
      1927) and ``f1`` (seeded multinomial bootstrap of the confusion counts); text ``wer``
      (delta-method interval of a ratio); regression ``mae`` (Student t); none for RMSE.
      ``gap_ci_low``, ``gap_ci_high``: with human labels Newcombe's (1998) paired interval
      of (human_only − model_only) / human_n; with a user-given HLP (no sampling error)
      [hlp − accuracy_ci_high, hlp − accuracy_ci_low]; the same for an older system and
      a target; the Student t interval of the mean difference for a mean human accuracy;
      NaN for ``too_few`` and ``none``.
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

    base = baseline or Baseline()
    human_hlp = _div(c["human_correct"], c["human_n"])
    user = pd.Series(hlp or {}, dtype=float).reindex(c.index)
    if user.notna().any() and ((user.dropna() < 0) | (user.dropna() > 1)).any():
        bad = user[(user < 0) | (user > 1)]
        raise InvalidValueError(
            f"HLP for {bad.index[0]!r} is {bad.iloc[0]}; give a fraction between 0 and 1"
        )
    use_user = user.notna().to_numpy()
    use_target = ~use_user & (base.kind == "target")
    typed = use_user | use_target
    typed_value = np.where(
        use_user, user.to_numpy(), base.target if base.kind == "target" else np.nan
    )

    def count(name: str) -> np.ndarray:  # counts computed before a column existed are 0
        return c[name].to_numpy(dtype=float) if name in c.columns else np.zeros(len(c))

    human_n = count("human_n")
    model_only, human_only = count("model_only"), count("human_only")
    hacc_n = count("hacc_n")
    # Per-example human accuracy, when the file has it, is the HLP (over a human label).
    by_accuracy = base.kind == "hlp" and bool((hacc_n > 0).any())
    k = hacc_n if by_accuracy else human_n
    measured = ~typed & (k > 0) & (base.kind != "target")
    usable = measured & (k >= min_human_labels)
    source = (
        "human_accuracy"
        if by_accuracy
        else "older_system"
        if base.kind == "older_system"
        else "human_label"
    )
    if by_accuracy:
        acc = paired_mean_difference(
            hacc_n,
            count("hacc_sum"),
            count("hacc_sq"),
            count("hacc_model"),
            count("hacc_model"),
            count("hacc_cross"),
        )
        measured_hlp = acc["mean_a"]
        h_low, h_high = acc["a_ci_low"], acc["a_ci_high"]
        paired_accuracy = acc["mean_b"]
        measured_gap = acc["mean_d"]
        p_measured = acc["p_value"]
        gap_low, gap_high = acc["d_ci_low"], acc["d_ci_high"]
        basis = BASIS_HUMAN_ACCURACY
    else:
        measured_hlp = human_hlp
        h_low, h_high = wilson_interval(count("human_correct"), human_n)
        # Model correct on the human-labelled examples = both correct + model only.
        paired_accuracy = _div(count("human_correct") - human_only + model_only, human_n)
        measured_gap = _div(human_only - model_only, human_n)
        p_measured = mcnemar_exact_p(model_only, human_only)
        gap_low, gap_high = paired_difference_interval(
            human_only, model_only, human_n, a=count("human_correct") - human_only
        )
        basis = (
            f"older system {base.name}"
            if base.kind == "older_system"
            else BASIS_MAJORITY
            if base.human_kind == "majority"
            else BASIS_SINGLE
        )
    out["hlp"] = np.where(typed, typed_value, measured_hlp)
    out["hlp_source"] = np.select(
        [use_user, use_target, usable, measured], ["user", "target", source, "too_few"], "none"
    ).astype(object)
    out["hlp_basis"] = np.select(
        [use_user, use_target, measured], [BASIS_ENTERED, BASIS_TARGET, basis], None
    ).astype(object)
    out["baseline"] = np.select([use_user, typed | measured], ["HLP", base.label], None).astype(
        object
    )
    out["hlp_n"] = np.where(measured, _ints(k), 0)
    out["hlp_ci_low"] = np.where(measured, h_low, np.nan)
    out["hlp_ci_high"] = np.where(measured, h_high, np.nan)
    out["paired_accuracy"] = np.where(measured, paired_accuracy, np.nan)
    out["gap"] = np.where(
        typed, out["hlp"] - out["accuracy"], np.where(usable, measured_gap, np.nan)
    )
    # The gap's interval where core.intervals.add_metric_intervals (which keeps these
    # values) does not set one: a mean human accuracy, an older system, a target.
    mine = usable & (source != "human_label")
    acc_low = out["accuracy_ci_low"].to_numpy(dtype=float)
    acc_high = out["accuracy_ci_high"].to_numpy(dtype=float)
    out["gap_ci_low"] = np.where(
        mine, gap_low, np.where(use_target, typed_value - acc_high, np.nan)
    )
    out["gap_ci_high"] = np.where(
        mine, gap_high, np.where(use_target, typed_value - acc_low, np.nan)
    )
    out["potential_gain"] = out["gap"] * out["share"]
    p_typed = binomial_test_p(c["correct"].to_numpy(), n, typed_value)
    p = np.where(typed, p_typed, np.where(usable, p_measured, np.nan))
    out["p_value"] = p
    out["significant"] = np.where(np.isnan(p), False, p < alpha)

    if task.kind == "binary":
        tp, fp, fn, tn = (c[k].to_numpy() for k in ("tp", "fp", "fn", "tn"))
        out["precision"] = _div(tp, tp + fp)
        out["recall"] = _div(tp, tp + fn)
        out["f1"] = _div(2 * tp, 2 * tp + fp + fn)
        out["fpr"] = _div(fp, fp + tn)
        out["fnr"] = _div(fn, fn + tp)
        # Denominators of FPR and FNR, so rates can be set against the rest of the data.
        out["negatives"] = _ints(fp + tn)
        out["positives"] = _ints(tp + fn)
    elif task.kind == "text":
        ref_words = c["ref_words"].to_numpy(dtype=float)
        out["wer"] = np.where(
            ref_words > 0,
            _div(c["word_errors"], ref_words),
            np.where(n > 0, c["word_errors"], np.nan),
        )
    elif task.kind == "regression":
        out["mae"] = _div(c["abs_error"], n)
        out["rmse"] = np.sqrt(_div(c["sq_error"], n))
    return add_metric_intervals(out, c, kind=task.kind)


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
    y = rows["label"].astype(str).to_numpy(dtype=object)
    p = rows["prediction"].astype(str).to_numpy(dtype=object)
    codes, classes = pd.factorize(np.concatenate([y, p]), sort=True, use_na_sentinel=False)
    weights = None if pairs is None else pairs["count"].to_numpy(dtype=np.int64)
    return (
        pd.Index(list(classes)),
        codes[: len(y)].astype(np.int64),
        codes[len(y) :].astype(np.int64),
        weights,
    )


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
    cells, counts = np.unique(y * k + p, return_counts=True)
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
    m = len(names)
    flat = _tally(slot[y] * m + slot[p], weights, m * m)
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
