"""What a report says, as data: the flattened slice table, the JSON document, per-class results.

:func:`report_dict` is the report's content with machine names (the JSON report);
:func:`report_frame` the slice table's columns in report order (the JSON and CSV reports).
How each format writes it is :mod:`core.report.writers`; the readable sections of the
Markdown and HTML reports are :mod:`core.report.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from slicewise.core.jsonable import json_ready
from slicewise.core.metrics import (
    DEFAULT_MATRIX_CLASSES,
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
)
from slicewise.core.prioritize import advise, rank_rule
from slicewise.core.slice_names import OVERALL

#: Columns of the JSON/CSV report, in order; task columns follow when present.
REPORT_COLUMNS: tuple[str, ...] = (
    "name",
    "kind",
    "n",
    "share",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "hlp",
    "hlp_source",
    "hlp_n",
    "hlp_ci_low",
    "hlp_ci_high",
    "paired_accuracy",
    "gap",
    "error_rate",
    "error_share",
    "error_share_ci_low",
    "error_share_ci_high",
    "max_gain",
    "potential_gain",
    "importance",
    "ease",
    "priority",
    "rank",
    "p_value",
    "significant",
    "scope",
    "reviewed",
    "share_ci_low",
    "share_ci_high",
    "error_rate_rest",
    "lift",
    "excess_error",
    "excess_p_value",
    "excess_q_value",
    "worse_than_rest",
)
TASK_COLUMNS: tuple[str, ...] = ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")


@dataclass(frozen=True)
class ClassResults:
    """The per-class results of a classification or binary task.

    ``per_class``: :func:`core.metrics.compute_class_report` (``support``, ``predicted``,
    ``precision``, ``recall``, ``f1``, with ``<metric>_ci_low``/``_ci_high`` where computed),
    indexed by class; ``confusion``: :func:`core.metrics.compute_confusion_matrix` (rows
    labels, columns predictions; at most :data:`core.metrics.DEFAULT_MATRIX_CLASSES`
    classes, the others summed in ``(other)``); ``pairs``:
    :func:`core.metrics.compute_confusion_pairs` (``label``, ``prediction``, ``count`` of
    every (label, prediction) pair that occurs: the whole matrix, without its empty cells).
    """

    per_class: pd.DataFrame
    confusion: pd.DataFrame
    pairs: pd.DataFrame


def compute_class_results(
    frame: pd.DataFrame | None = None, *, task: str, pairs: pd.DataFrame | None = None
) -> ClassResults | None:
    """Return the per-class table and confusion matrices of a classification task, or None.

    ``frame`` has ``label`` and ``prediction`` columns (a loaded dataset's frame); or give
    ``pairs``, the examples per (label, prediction) pair as
    :func:`core.metrics.compute_confusion_pairs` returns them (the DuckDB engine counts
    them in SQL, :meth:`core.engine_duckdb.DuckDBFile.confusion_pairs`), from which the
    same results are computed. ``task`` is the task kind: only ``classification`` and
    ``binary`` have classes, so text and regression give None. Memory and time grow with
    the examples and the classes, never with the square of the classes.
    """
    if task not in ("classification", "binary"):
        return None
    if pairs is None:
        if frame is None:
            raise ValueError("give a frame or pairs")
        pairs = compute_confusion_pairs(frame)
    return ClassResults(
        compute_class_report(pairs=pairs), compute_confusion_matrix(pairs=pairs), pairs
    )


def report_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Flatten the ranked table: ``name`` first, then the report columns, then the rest.

    The :data:`REPORT_COLUMNS` come first, in their order; then the :data:`TASK_COLUMNS`,
    each followed by its 95% interval (``<metric>_ci_low``, ``<metric>_ci_high``) where the
    table has one; then every other column in the table's own order, so a column the
    analysis adds (``same_as``, ``rank_basis``, a baseline's) reaches the JSON and CSV.
    """
    out = table.copy()
    out.insert(0, "name", out.index.astype(str))
    cols = [c for c in REPORT_COLUMNS if c in out.columns]
    for c in TASK_COLUMNS:
        cols += [k for k in (c, f"{c}_ci_low", f"{c}_ci_high") if k in out.columns]
    taken = set(cols)
    cols += [c for c in out.columns if c not in taken]
    return out[cols].reset_index(drop=True)


def report_dict(
    table: pd.DataFrame,
    *,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Return the report as JSON-ready data, with machine (snake_case) names.

    ``{"dataset", "task", "ranked_by", "overall": {"n", "accuracy", "hlp", ...}, "slices":
    [{"name", "n", "share", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "hlp", "gap",
    "error_rate", "error_share", "potential_gain", "rank", "significant", ...}], "per_class",
    "confusion_matrix", "corrections"}`` with the ``All data`` row (``kind`` ``overall``) as
    ``overall`` and every other row (ranked first) in ``slices``, a tag called ``All data``
    among them (as ``All data (tag)``, see :mod:`core.slice_names`); the columns are
    :func:`report_frame`'s. ``ranked_by`` is the order in words
    (:func:`core.prioritize.rank_rule`).

    ``advice`` lists :func:`core.prioritize.advise`'s findings (``slice``, ``action``: the
    rule that fired, ``text``), the things to do first.

    ``per_class`` is a list of ``{"class", "support", "predicted", "precision", "recall",
    "f1", ...}``, one per class, and ``confusion_matrix`` is, with at most
    :data:`core.metrics.DEFAULT_MATRIX_CLASSES` (50) classes, the dense matrix
    ``{"labels", "predictions", "counts"}`` (row ``i`` of ``counts``: examples labelled
    ``labels[i]``, by prediction); with more classes (where a dense matrix would grow with
    their square) the nonzero cells only, ``{"classes", "cells"}``: ``classes`` all of
    them sorted as text, ``cells`` a list of ``[label, prediction, count]``, most
    frequent first, every pair that occurs (so at most one per example). Both come from
    ``classes`` (:func:`compute_class_results`); ``corrections`` lists the label corrections
    given (``example_id``, ``original``, ``corrected``, ``user``, ``at``, ...). Each is
    ``null`` when not given. Fractions are in [0, 1]; missing values (an empty slice's NaN)
    and any non-finite number are ``null`` (:func:`json_ready`).
    """
    flat = report_frame(table)
    records = [{k: json_ready(v) for k, v in row.items()} for row in flat.to_dict("records")]
    if "kind" in flat.columns:
        is_overall = [r["kind"] == "overall" for r in records]
    else:  # a table without kinds: the overall row by its name
        is_overall = [r["name"] == OVERALL for r in records]
    overall = next((r for r, o in zip(records, is_overall, strict=True) if o), {})
    overall = {k: v for k, v in overall.items() if k not in _NOT_OVERALL}
    slices = [r for r, o in zip(records, is_overall, strict=True) if not o]
    per_class = matrix = None
    if classes is not None:
        per = classes.per_class.reset_index()
        per = per.rename(columns={per.columns[0]: "class"})
        per["class"] = per["class"].astype(str)
        per_class = json_ready(per.to_dict("records"))
        matrix = _matrix_json(classes)
    fixes = None
    if corrections is not None:
        fixes = json_ready(corrections.astype(object).to_dict("records"))
    advice = advise(table).to_dict("records") if "rank" in table.columns else []
    return {
        "dataset": dataset,
        "task": task,
        "ranked_by": rank_rule(table) if "rank" in table.columns else None,
        "advice": advice,
        "overall": overall,
        "slices": slices,
        "per_class": per_class,
        "confusion_matrix": matrix,
        "corrections": fixes,
    }


def _matrix_json(classes: ClassResults) -> dict[str, Any]:
    """Return the confusion matrix for JSON: dense for few classes, else its nonzero cells."""
    if len(classes.per_class) <= DEFAULT_MATRIX_CLASSES:
        cm = compute_confusion_matrix(pairs=classes.pairs)  # every class: no "(other)"
        return {
            "labels": [str(c) for c in cm.index],
            "predictions": [str(c) for c in cm.columns],
            "counts": cm.to_numpy().astype(int).tolist(),
        }
    pairs = classes.pairs
    return {
        "classes": sorted(str(c) for c in classes.per_class.index),
        "cells": [
            [str(a), str(b), int(k)]
            for a, b, k in zip(pairs["label"], pairs["prediction"], pairs["count"], strict=True)
        ],
    }


#: Slice-only columns left out of the report's ``overall``.
_NOT_OVERALL = frozenset(
    {
        "name",
        "kind",
        "rank",
        "importance",
        "ease",
        "priority",
        "rank_basis",
        "same_as",
        "excess_gain",
        "protected",
        "protected_by",
    }
)
