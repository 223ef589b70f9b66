"""Per-example outcomes: what each example adds to its slices' counts, per task kind.

:func:`compute_outcomes` turns each example into indicator and error columns (correct,
human correct, true/false positives, word errors, absolute and squared errors...), the
first of the three steps of :mod:`core.metrics`; :func:`compute_word_errors` counts the
word edits of text tasks with jiwer.
"""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError, RowNumbers, count_of, format_rows
from slicewise.core.task import TaskSpec
from slicewise.core.values import class_key, class_keys, classes_text

_JIWER_BLOCK = 1 << 13  # (reference, hypothesis) pairs per jiwer call in compute_word_errors

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


def compute_outcomes(
    frame: pd.DataFrame, task: TaskSpec, *, source: str = "", part: bool = False
) -> pd.DataFrame:
    """Compute per-example outcome columns for ``task``; one row per row of ``frame``.

    ``source`` is the file name the error messages start with (``Dataset.source_name``).
    ``part``: ``frame`` is a batch of a table whose classes were checked whole, so a
    positive class it does not hold is not an error (the batch has no positives).

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
    if task.kind == "regression":
        correct, human_correct, out = _regression_outcomes(frame, task, at)
    elif task.kind == "text":
        correct, human_correct, out = _text_outcomes(frame, task)
    else:
        correct, human_correct, out = _class_outcomes(frame, task, at, part=part)
    columns = {"correct": np.asarray(correct, dtype=float), **out}
    if "human" in frame.columns:
        columns.update(_human_columns(frame["human"], correct, human_correct))
    if "human_accuracy" in frame.columns:
        columns.update(_human_accuracy_columns(frame["human_accuracy"], correct))
    return pd.DataFrame(columns, index=frame.index, copy=False)  # the arrays are new


#: What each task kind's outcome step returns: the model's correctness per example, the
#: human label's (None without a ``human`` column) and the task's own columns.
_Outcomes = tuple[np.ndarray, "np.ndarray | None", dict[str, np.ndarray]]


def _regression_outcomes(frame: pd.DataFrame, task: TaskSpec, at: str) -> _Outcomes:
    """Absolute and squared errors; correct within ``task.tolerance`` (default 0)."""
    rows = RowNumbers.of_frame(frame)  # as the file numbers its rows, when recorded
    yv = _numeric(frame["label"], "label", at, numbering=rows)
    pv = _numeric(frame["prediction"], "prediction", at, numbering=rows)
    err = pv - yv
    out = {"abs_error": np.abs(err), "sq_error": err**2}
    tol = task.tolerance if task.tolerance is not None else 0.0
    correct = np.abs(err) <= tol
    human_correct = None
    if "human" in frame.columns:
        human = _numeric(frame["human"], "human", at, numbering=rows)
        human_correct = np.abs(human - yv) <= tol
    return correct, human_correct, out


def _text_outcomes(frame: pd.DataFrame, task: TaskSpec) -> _Outcomes:
    """Exact match of the normalised transcripts, and their word edits (for the WER).

    Compares and scores on codes of the normalised strings: each distinct string and each
    distinct (label, prediction) pair is handled once. ``""`` (or a transcript that
    normalises to ``""``) is an empty transcript, scored like any other; a missing value
    (code -1) is not correct and adds nothing to the word counts.
    """
    norm = task.normalization
    has_h = "human" in frame.columns
    n = len(frame)
    parts = [norm.apply(frame["label"]), norm.apply(frame["prediction"])]
    if has_h:
        parts.append(norm.apply(frame["human"]))
    codes, uniques = pd.factorize(pd.concat(parts, ignore_index=True), use_na_sentinel=True)
    cy, cp = codes[:n], codes[n : 2 * n]
    correct = (cy == cp) & (cy >= 0)
    word_errors = np.zeros(n)
    ref_words = np.zeros(n)
    scored = np.flatnonzero((cy >= 0) & (cp >= 0))
    if len(scored):
        k = np.int64(len(uniques))
        cells = cy[scored].astype(np.int64) * k + cp[scored]
        pairs, inverse = np.unique(cells, return_inverse=True)
        texts = np.asarray(uniques, dtype=object)
        counts = compute_word_errors(texts[pairs // k], texts[pairs % k])
        word_errors[scored] = counts["word_errors"].to_numpy(dtype=float)[inverse]
        ref_words[scored] = counts["ref_words"].to_numpy(dtype=float)[inverse]
    out = {
        "word_errors": word_errors,
        "ref_words": ref_words,
        "word_errors_sq": word_errors**2,
        "ref_words_sq": ref_words**2,
        "word_errors_x_ref": word_errors * ref_words,
    }
    human_correct = ((codes[2 * n :] == cy) & (cy >= 0)) if has_h else None
    return correct, human_correct, out


def _class_outcomes(frame: pd.DataFrame, task: TaskSpec, at: str, *, part: bool) -> _Outcomes:
    """Exact match of the classes; binary tasks add the confusion indicators tp, fp, fn, tn.

    Plain numpy comparisons: labels and predictions are never missing (validated on load),
    and a missing human label is masked out by :func:`_human_columns`.
    """
    y, p = frame["label"], frame["prediction"]
    yv = y.to_numpy()
    correct = np.asarray(yv == p.to_numpy(), dtype=bool)
    human_correct = (
        np.asarray(frame["human"].to_numpy() == yv, dtype=bool)
        if "human" in frame.columns
        else None
    )
    out: dict[str, np.ndarray] = {}
    if task.kind == "binary":
        pos = check_positive(y, task.positive, predictions=p, at=at, required=not part)
        yp = (y.astype(str) == pos).to_numpy()
        pp = (p.astype(str) == pos).to_numpy()
        out["tp"] = (yp & pp).astype(float)
        out["fp"] = (~yp & pp).astype(float)
        out["fn"] = (yp & ~pp).astype(float)
        out["tn"] = (~yp & ~pp).astype(float)
    return correct, human_correct, out


def _human_columns(
    human: pd.Series, correct: np.ndarray, human_correct: np.ndarray | None
) -> dict[str, np.ndarray]:
    """``human_n``, ``human_correct`` and the paired discordant ``model_only``, ``human_only``."""
    has_h = human.notna().to_numpy()
    hc = np.asarray(human_correct, dtype=bool) & has_h
    mc = np.asarray(correct, dtype=bool)
    return {
        "human_n": has_h.astype(float),
        "human_correct": hc.astype(float),
        "model_only": (mc & ~hc & has_h).astype(float),
        "human_only": (~mc & hc).astype(float),
    }


def _human_accuracy_columns(accuracy: pd.Series, correct: np.ndarray) -> dict[str, np.ndarray]:
    """Return the ``hacc_*`` sums of a per-example human accuracy ``a`` (0 where it is missing)."""
    a = pd.to_numeric(accuracy, errors="coerce").to_numpy(dtype=float)
    has_a = ~np.isnan(a)
    a0 = np.where(has_a, a, 0.0)
    m = np.asarray(correct, dtype=bool) & has_a
    return {
        "hacc_n": has_a.astype(float),
        "hacc_sum": a0,
        "hacc_sq": a0 * a0,
        "hacc_model": m.astype(float),
        "hacc_cross": np.where(m, a0, 0.0),
    }


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


def check_positive(
    labels: pd.Series,
    positive: str | None,
    *,
    predictions: pd.Series | None = None,
    at: str = "",
    required: bool = True,
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
            f"CLASS); classes: {classes_text(classes)}"
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
    if not required and positive is not None:
        return str(positive)  # a batch without the positive class: it matches no row
    where = "the labels or the predictions" if predictions is not None else "the labels"
    raise InvalidValueError(
        f"{at}positive class {positive!r} never occurs in {where}; classes: {classes_text(classes)}"
    )
