"""The metrics a comparison can follow, and the columns of a metric's change table.

A :class:`Metric` is a ratio of per-example sums, ``Σnum / Σden`` (:func:`_parts` gives an
example's ``num`` and ``den``): accuracy, recall, precision, F1, FPR, FNR, WER, MAE.
:data:`METRICS` names them; :func:`check_metric` checks one fits the task; the change
tables of :mod:`core.compare.slice_change` and :mod:`core.compare.classes` share the
columns :data:`CHANGE_COLUMNS` (finished by :func:`_finish_change`).

Columns of a change table
-------------------------
One row per slice (or class): ``kind``; ``metric``; ``n_before``, ``n_after`` (examples
the metric counts on each side; all the slice's examples for F1, WER and MAE),
``n_paired`` (of those, present on both sides); ``before``, ``after``, ``delta`` = after
− before (fractions; MAE in the label's units); ``worse_by``: how much worse, in
percentage points (MAE: label units), negative when better; ``test`` and ``p_value``;
``significant`` (``p_value < alpha``); ``regression`` and ``improvement`` (significant and
worse, or better); ``scope`` (``errors`` for a row known only on errors: no values, no
test); ``before_ci_low`` ... ``after_ci_high``: the interval of each side's value where
:func:`core.metrics.compute_slice_metrics` (or, per class,
:func:`core.metrics.compute_class_report`) gives one as ``<metric>_ci_low/high``, else NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError


@dataclass(frozen=True)
class Metric:
    """A metric a comparison can follow: a ratio of per-example sums, ``Σnum / Σden``.

    Attributes
    ----------
    name
        Its key (the CLI's ``--metric``).
    label
        Its short name for a reader.
    higher_is_better
        Whether a rise is an improvement (accuracy) or a regression (FPR).
    tasks
        Task kinds whose slices have it (per class: :data:`CLASS_METRICS`).
    proportion
        Each example adds 0 or 1 to both sums, so the exact tests of a proportion apply
        (McNemar, two-proportion, Fisher); else approximate randomization (and Welch's
        t-test for MAE on independent examples).
    percent
        Shown in percent, with changes in percentage points (else in the label's units).
    definition
        What it is, in one line.
    """

    name: str
    label: str
    higher_is_better: bool
    tasks: tuple[str, ...]
    proportion: bool
    percent: bool
    definition: str


_CLASSIFY = ("binary", "classification")
#: The metrics a comparison (and the CLI's regression gate) can follow.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "accuracy",
            "accuracy",
            True,
            (*_CLASSIFY, "text", "regression"),
            True,
            True,
            "correct / examples (a class's accuracy is its recall)",
        ),
        Metric(
            "recall",
            "recall",
            True,
            ("binary",),
            True,
            True,
            "TP / (TP + FN), among examples labelled positive",
        ),
        Metric(
            "precision",
            "precision",
            True,
            ("binary",),
            True,
            True,
            "TP / (TP + FP), among examples predicted positive",
        ),
        Metric("f1", "F1", True, ("binary",), False, True, "2TP / (2TP + FP + FN)"),
        Metric(
            "fpr",
            "FPR",
            False,
            ("binary",),
            True,
            True,
            "false positive rate FP / (FP + TN), among examples labelled negative",
        ),
        Metric(
            "fnr",
            "FNR",
            False,
            ("binary",),
            True,
            True,
            "false negative rate FN / (FN + TP), among examples labelled positive",
        ),
        Metric(
            "wer",
            "WER",
            False,
            ("text",),
            False,
            True,
            "word error rate: word edits / reference words (jiwer's corpus WER)",
        ),
        Metric(
            "mae",
            "MAE",
            False,
            ("regression",),
            False,
            False,
            "mean absolute error, in the label's units",
        ),
    )
}
#: Metrics a class has, one class against the rest (for a class, accuracy is recall).
CLASS_METRICS: tuple[str, ...] = ("accuracy", "recall", "precision", "f1", "fpr", "fnr")
#: The per-class table's metrics unless told otherwise.
DEFAULT_CLASS_METRICS: tuple[str, ...] = ("precision", "recall", "f1")

#: Columns of each table of :func:`compare_slice_metrics` and :func:`compare_classes`.
CHANGE_COLUMNS: tuple[str, ...] = (
    "kind",
    "metric",
    "n_before",
    "n_after",
    "n_paired",
    "before",
    "after",
    "delta",
    "worse_by",
    "test",
    "p_value",
    "significant",
    "regression",
    "improvement",
    "scope",
    "before_ci_low",
    "before_ci_high",
    "after_ci_low",
    "after_ci_high",
)


def check_metric(metric: str, task_kind: str, *, per_class: bool = False) -> Metric:
    """Return the :class:`Metric` called ``metric`` after checking it fits the task.

    Raises
    ------
    core.errors.InvalidValueError
        An unknown metric, one the task's slices do not have (FPR of a text task), or a
        per-class metric of a task without classes.
    """
    if metric not in METRICS:
        raise InvalidValueError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")
    spec = METRICS[metric]
    if per_class:
        if task_kind not in _CLASSIFY:
            raise InvalidValueError(
                f"per-class results need a classification task; this is a {task_kind} task"
            )
        if metric not in CLASS_METRICS:
            raise InvalidValueError(
                f"a class has no {spec.label}; per class: {', '.join(CLASS_METRICS)}"
            )
    elif task_kind not in spec.tasks:
        hint = (
            f"; to follow the {spec.label} of one class name it (CLI: --class NAME), or "
            "make the task binary (CLI: --positive CLASS)"
            if task_kind == "classification" and "binary" in spec.tasks
            else ""
        )
        raise InvalidValueError(
            f"{spec.label} needs a {' or '.join(spec.tasks)} task; this is a {task_kind} task{hint}"
        )
    return spec


def slice_metric_names(task_kind: str) -> list[str]:
    """Return the metrics of :data:`METRICS` that the slices of a ``task_kind`` task have."""
    return [name for name, spec in METRICS.items() if task_kind in spec.tasks]


def _parts(
    metric: str, columns: Mapping[str, np.ndarray], present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-example ``(num, den, use)`` of ``metric``; ``use`` marks the examples it counts."""
    one = np.asarray(present, dtype=float)
    if metric == "accuracy":
        return columns["correct"], one, one
    if metric == "wer":
        return columns["word_errors"], columns["ref_words"], one
    if metric == "mae":
        return columns["abs_error"], one, one
    tp, fp, fn, tn = (np.asarray(columns[k], dtype=float) for k in ("tp", "fp", "fn", "tn"))
    num, den = {
        "recall": (tp, tp + fn),
        "fnr": (fn, tp + fn),
        "fpr": (fp, fp + tn),
        "precision": (tp, tp + fp),
        "f1": (2 * tp, 2 * tp + fp + fn),
    }[metric]
    return num, den, ((den > 0).astype(float) if METRICS[metric].proportion else one)


def _counts(x: np.ndarray) -> np.ndarray:
    return np.rint(x).astype(np.int64)


def _finish_change(out: pd.DataFrame, spec: Metric, alpha: float) -> pd.DataFrame:
    """Add the metric, how much worse, the verdict columns; order as CHANGE_COLUMNS."""
    out["metric"] = spec.name
    worse = (-1 if spec.higher_is_better else 1) * (100 if spec.percent else 1) * out["delta"]
    out["worse_by"] = worse.astype(float) + 0.0  # no -0.0 where nothing changed
    p = out["p_value"].to_numpy(dtype=float)
    significant = ~np.isnan(p) & (p < alpha)
    out["significant"] = significant
    out["regression"] = significant & (out["worse_by"].to_numpy(dtype=float) > 0)
    out["improvement"] = significant & (out["worse_by"].to_numpy(dtype=float) < 0)
    for column in ("before_ci_low", "before_ci_high", "after_ci_low", "after_ci_high"):
        if column not in out.columns:
            out[column] = np.nan
    return out[list(CHANGE_COLUMNS)]


def _intervals(table: pd.DataFrame, metric: str, side: str) -> dict[str, pd.Series]:
    """``<side>_ci_low/high`` from a per-slice table's ``<metric>_ci_low/high``, if it has them."""
    return {
        f"{side}_ci_{end}": table[f"{metric}_ci_{end}"].astype(float)
        for end in ("low", "high")
        if f"{metric}_ci_{end}" in table.columns
    }
