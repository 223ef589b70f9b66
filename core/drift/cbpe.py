"""Confidence-based performance estimation: accuracy on unlabelled production rows.

The method is NannyML's CBPE for binary classification (NannyML documentation, "How it
works: Confidence-based Performance Estimation";
``nannyml.performance_estimation.confidence_based``, version 0.13):

1. The reference's scores (``Dataset.frame["score"]``: the score of the positive class,
   as the loader reads it for a score threshold, :mod:`core.score_threshold`) are
   calibrated into probabilities ``P(label = positive | score)`` with scikit-learn's
   :class:`~sklearn.isotonic.IsotonicRegression` (``out_of_bounds="clip"``), fitted on
   the labelled reference: :func:`fit_calibration`.
2. Each production row's calibrated probability ``c`` gives its expected confusion-matrix
   entries: a predicted positive is a true positive with probability ``c``, a predicted
   negative a true negative with probability ``1 - c``; so the probability that the
   prediction is correct is ``c`` or ``1 - c`` (:func:`correct_probability`).
3. The estimated accuracy of a set of rows is the mean of those probabilities
   (:func:`estimate_accuracy`, overall and per slice of the reference).

Why isotonic regression: it assumes only that a higher score means a higher chance of the
positive class (no sigmoid shape, unlike Platt scaling), keeps the ranking, and is what
NannyML fits, so the two estimates agree. It needs a reference of some thousand rows to
be smooth; with ``method="auto"`` (NannyML's rule, ``nannyml.calibration.
needs_calibration``) the scores are calibrated only when, over 10 stratified 90/10 splits
of the reference, the calibrated scores' expected calibration error (10 equal-count bins)
is below the raw scores'. The estimate assumes the relation between score and label is
the reference's (no concept drift); it cannot see a change of that relation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from slicewise.core.analysis import correct_mask
from slicewise.core.column_roles import quoted_list
from slicewise.core.dataset import Dataset
from slicewise.core.drift.mix import ProductionSample, production_memberships
from slicewise.core.errors import (
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
    RowNumbers,
    format_rows,
)
from slicewise.core.slice_names import OVERALL, UNTAGGED
from slicewise.core.task import TaskSpec
from slicewise.core.values import as_text, class_key, class_keys

__all__ = [
    "CBPE_COLUMNS",
    "SAMPLING_ERROR_RANGE",
    "ScoreCalibration",
    "correct_probability",
    "estimate_accuracy",
    "fit_calibration",
]

#: The half width of the interval in sampling errors (NannyML's ``SAMPLING_ERROR_RANGE``).
SAMPLING_ERROR_RANGE = 3.0

#: The columns of :func:`estimate_accuracy`, in order.
CBPE_COLUMNS = (
    "kind",
    "production_n",
    "estimated_accuracy",
    "sampling_error",
    "estimated_low",
    "estimated_high",
    "reference_accuracy",
    "production_labelled_n",
    "production_accuracy",
)

Method = Literal["auto", "isotonic", "none"]


@dataclass(frozen=True)
class ScoreCalibration:
    """A calibration of a reference's scores (:func:`fit_calibration`).

    Attributes
    ----------
    positive, negative
        The two classes as the reference's labels spell them.
    method
        ``"isotonic"`` or ``"none"`` (the raw scores serve as probabilities).
    regressor
        The fitted isotonic regression, ``None`` for ``"none"``.
    """

    positive: str
    negative: str
    method: str
    regressor: Any = None  # a fitted sklearn.isotonic.IsotonicRegression

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """Return ``P(label = positive)`` for each score, shape ``(n,)``, in [0, 1]."""
        scores = np.asarray(scores, dtype=float)
        if self.regressor is None:
            return np.clip(scores, 0.0, 1.0)
        return np.clip(self.regressor.predict(scores), 0.0, 1.0)


def fit_calibration(
    reference: Dataset, *, positive: str | None = None, method: Method = "auto"
) -> ScoreCalibration:
    """Calibrate the reference's scores into probabilities of the positive class.

    Parameters
    ----------
    reference
        A labelled dataset with a ``score`` column (the positive class's score) and labels
        of exactly two classes.
    positive
        The positive class; default the one the reference was loaded with
        (``reference.options["positive"]``).
    method
        ``"isotonic"``: :class:`~sklearn.isotonic.IsotonicRegression` on the whole
        reference; ``"none"``: the scores as they are (they must lie in [0, 1]);
        ``"auto"``: isotonic only when it lowers the cross-validated expected calibration
        error (NannyML's rule, see the module notes), and always for scores outside [0, 1].

    Returns
    -------
    ScoreCalibration

    Raises
    ------
    MissingColumnError
        The reference has no score column.
    MissingValuesError
        Scores are missing in some rows.
    InvalidValueError
        No positive class, one it never holds, labels not of two classes, scores outside
        [0, 1] with ``method="none"``, or an unknown ``method``.
    """
    file = reference.source_name
    if method not in ("auto", "isotonic", "none"):
        raise InvalidValueError(f"method must be 'auto', 'isotonic' or 'none', not {method!r}")
    if "score" not in reference.frame.columns:
        raise MissingColumnError(
            f"{file}: has no score column; estimating accuracy from confidence needs each "
            "row's score of the positive class (CLI: --score COLUMN)"
        )
    scores = _scores(reference.frame["score"], file, RowNumbers.of_frame(reference.frame))
    (pos, neg), y = _binary_labels(reference, positive)
    outside = bool(((scores < 0) | (scores > 1)).any())
    if method == "none" and outside:
        raise InvalidValueError(
            f"{file}: the scores run from {scores.min():g} to {scores.max():g}, so they are "
            "no probabilities; calibrate them (method 'isotonic' or 'auto')"
        )
    if method == "none" or (method == "auto" and not outside and not _needs_calibration(y, scores)):
        return ScoreCalibration(positive=pos, negative=neg, method="none")
    from sklearn.isotonic import IsotonicRegression  # here: scikit-learn loads in ~1 s

    regressor = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(scores, y)
    return ScoreCalibration(positive=pos, negative=neg, method="isotonic", regressor=regressor)


def _scores(values: pd.Series, file: str, numbering: RowNumbers) -> np.ndarray:
    """Return the scores as floats; raise when some are missing."""
    scores = values.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(scores)
    if missing.any():
        raise MissingValuesError(
            f"{file}: the score column is blank in "
            f"{format_rows(np.flatnonzero(missing), numbering=numbering)}; estimating accuracy "
            "from confidence needs a score on every row"
        )
    return scores


def _binary_labels(reference: Dataset, positive: str | None) -> tuple[tuple[str, str], np.ndarray]:
    """Return the (positive, negative) classes' spellings and the labels as 0/1 (1: positive).

    Raises
    ------
    InvalidValueError
        No positive class, one the labels never hold, or labels not of two classes.
    """
    file = reference.source_name
    labels = as_text(reference.frame["label"])
    keys = class_keys(labels)
    spellings = dict(zip(keys, labels, strict=True))
    classes = sorted(str(spellings[k]) for k in spellings if k is not None)
    if len(classes) != 2:
        raise InvalidValueError(
            f"{file}: estimating accuracy from confidence needs labels of exactly two classes, "
            f"found {len(classes)} ({quoted_list(classes)})"
        )
    positive = positive if positive is not None else reference.options.get("positive")
    if positive is None:
        raise InvalidValueError(
            f"{file}: estimating accuracy from confidence needs the positive class (the one "
            f"the score is for); choose one of {quoted_list(classes)} (CLI: --positive CLASS)"
        )
    pos_key = class_key(positive)
    if pos_key not in spellings:
        raise InvalidValueError(
            f"{file}: the positive class {positive!r} never occurs in the labels (classes: "
            f"{quoted_list(classes)}); choose one of those"
        )
    neg_key = next(k for k in spellings if k is not None and k != pos_key)
    pair = (str(spellings[pos_key]), str(spellings[neg_key]))
    return pair, (keys == pos_key).to_numpy(dtype=int)


def _needs_calibration(y: np.ndarray, scores: np.ndarray, bins: int = 10, splits: int = 10) -> bool:
    """NannyML's rule: whether isotonic calibration lowers the expected calibration error.

    ``nannyml.calibration.needs_calibration`` (0.13): never for one class or an AUROC over
    0.999; else isotonic regressions are fitted on 10 stratified 90/10 splits
    (``random_state=42``) and the expected calibration error of the held-out scores over
    10 equal-count bins compared, raw against calibrated, on all held-out rows together.
    A reference too small to split so (under 20 rows, or a class of one row) is not
    calibrated.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedShuffleSplit

    if len(y) < 20 or np.bincount(y, minlength=2).min() < 2:
        return False
    if roc_auc_score(y, scores) > 0.999:
        return False
    split = StratifiedShuffleSplit(n_splits=splits, test_size=0.1, random_state=42)
    truth, raw, calibrated = [], [], []
    for train, test in split.split(scores, y):
        fitted = IsotonicRegression(out_of_bounds="clip", increasing=True)
        fitted.fit(scores[train], y[train])
        truth.append(y[test])
        raw.append(scores[test])
        calibrated.append(fitted.predict(scores[test]))
    truth_all, raw_all, cal_all = map(np.concatenate, (truth, raw, calibrated))
    n = len(raw_all)
    bins = min(bins, n // 2) if n <= 2 * bins else bins
    width = n // bins
    edges = np.arange(0, n + 1, width)
    edges[-1] = n
    return _ece(truth_all, raw_all, edges) > _ece(truth_all, cal_all, edges)


def _ece(y: np.ndarray, p: np.ndarray, edges: np.ndarray) -> float:
    """Return the expected calibration error over equal-count bins of sorted scores (NannyML's)."""
    order = np.argsort(p)
    y, p = y[order], p[order]
    return float(
        sum(
            (b - a) / len(p) * abs(p[a:b].mean() - y[a:b].mean())
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
    )


def correct_probability(calibration: ScoreCalibration, sample: ProductionSample) -> np.ndarray:
    """Return each production row's probability that its prediction is correct.

    ``c`` (the calibrated probability of the positive class) where the prediction is the
    positive class, ``1 - c`` where it is another class the reference's labels hold; a
    prediction of a class the labels never hold is never correct (0).

    Returns
    -------
    numpy.ndarray
        Float, shape ``(sample.n,)``, in [0, 1].

    Raises
    ------
    MissingColumnError
        The sample has no score column.
    MissingValuesError
        Scores are missing in some rows.
    """
    if "score" not in sample.frame.columns:
        raise MissingColumnError(
            f"{sample.source_name}: has no score column; estimating accuracy from confidence "
            "needs each production row's score, as in the reference"
        )
    scores = _scores(sample.frame["score"], sample.source_name, RowNumbers.of_frame(sample.frame))
    c = calibration.probability(scores)
    keys = class_keys(as_text(sample.frame["prediction"])).to_numpy(dtype=object)
    is_pos = keys == class_key(calibration.positive)
    is_neg = keys == class_key(calibration.negative)
    return np.where(is_pos, c, np.where(is_neg, 1.0 - c, 0.0))


def estimate_accuracy(
    reference: Dataset,
    production: pd.DataFrame | ProductionSample,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    positive: str | None = None,
    method: Method = "auto",
    calibration: ScoreCalibration | None = None,
    max_slices: int | None = None,
    source_name: str = "production",
) -> pd.DataFrame:
    """Estimate the accuracy on production rows from calibrated confidence (CBPE).

    The estimate of a set of ``n`` rows is the mean of :func:`correct_probability`. Its
    sampling error is NannyML's: the standard deviation (``ddof=0``) of the reference's
    correctness over ``sqrt(n)`` (``nannyml.sampling_error.binary_classification.
    accuracy_sampling_error``), taken over the reference rows of the same slice (of the
    whole reference for ``All data``, as NannyML does); the interval is the estimate ±
    :data:`SAMPLING_ERROR_RANGE` (3) sampling errors, clipped to [0, 1]. When the sample
    is labelled, the accuracy measured on its labelled rows stands beside the estimate.

    Parameters
    ----------
    reference
        The labelled reference, with a ``score`` column (see :func:`fit_calibration`).
    production
        The raw production table (:func:`core.drift.mix.read_production`) or a sample read.
    slice_by, bins, max_slices
        The slices, as for :func:`core.drift.mix.production_memberships`.
    positive, method
        As for :func:`fit_calibration` (ignored when ``calibration`` is given).
    calibration
        A calibration already fitted on ``reference`` (e.g. reused for many windows).

    Returns
    -------
    pandas.DataFrame
        Indexed by slice: ``All data``, the reference's slices, ``No tag`` with tags.
        Columns (:data:`CBPE_COLUMNS`): ``kind``; ``production_n``;
        ``estimated_accuracy``, ``sampling_error``, ``estimated_low``,
        ``estimated_high`` (NaN for a slice without production rows);
        ``reference_accuracy``; ``production_labelled_n`` and ``production_accuracy``
        (NaN without labels). ``attrs["calibration"]`` is ``"isotonic"`` or ``"none"``.

    Raises
    ------
    DataError
        From :func:`fit_calibration`, :func:`correct_probability` and
        :func:`core.drift.mix.production_memberships`.
    """
    calibration = calibration or fit_calibration(reference, positive=positive, method=method)
    mem = production_memberships(
        reference, production, slice_by=slice_by, bins=bins, max_slices=max_slices,
        source_name=source_name,
    )  # fmt: skip
    sample = mem.sample
    prob = correct_probability(calibration, sample)
    task = TaskSpec(kind="binary", positive=calibration.positive)
    correct = correct_mask(reference.frame, task, source=reference.source_name)
    labelled = sample.labelled
    measured = np.zeros(sample.n, dtype=bool)
    if labelled.any():
        part = sample.frame.loc[labelled].reset_index(drop=True)
        measured[labelled] = correct_mask(part, task, source=sample.source_name)
    ref_m, prod_m = mem.reference.to_numpy(dtype=bool), mem.production.to_numpy(dtype=bool)
    rows = {OVERALL: ("overall", np.ones(len(ref_m), bool), np.ones(len(prod_m), bool))}
    for k, name in enumerate(mem.info.index):
        rows[name] = (mem.info["kind"].iloc[k], ref_m[:, k], prod_m[:, k])
    is_tag = (mem.info["kind"] == "tag").to_numpy(dtype=bool)
    if is_tag.any():
        rows[UNTAGGED] = ("untagged", ~ref_m[:, is_tag].any(1), ~prod_m[:, is_tag].any(1))
    records = {}
    for name, (kind, r, p) in rows.items():
        n, n_lab = int(p.sum()), int((p & labelled).sum())
        est = prob[p].mean() if n else np.nan
        se = correct[r].std() / np.sqrt(n) if n and r.any() else np.nan
        half = SAMPLING_ERROR_RANGE * se
        records[name] = (
            kind, n, est, se, max(0.0, est - half), min(1.0, est + half),
            correct[r].mean() if r.any() else np.nan,
            n_lab, measured[p & labelled].mean() if n_lab else np.nan,
        )  # fmt: skip
    table = pd.DataFrame.from_dict(records, orient="index", columns=list(CBPE_COLUMNS))
    floats = [c for c in CBPE_COLUMNS if c not in ("kind", "production_n", "production_labelled_n")]
    table = table.astype(dict.fromkeys(floats, float))
    table.attrs["calibration"] = calibration.method
    return table
