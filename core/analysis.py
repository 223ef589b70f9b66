"""The whole error-analysis table in one call: outcomes, slices, counts, metrics, ranking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from core.dataset import Dataset
from core.metrics import (
    build_slices,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
)
from core.prioritize import rank_slices
from core.slice_names import OVERALL, UNTAGGED, tag_rows
from core.task import TaskSpec, infer_task_kind


def default_task(dataset: Dataset) -> TaskSpec:
    """Guess the task from the labels (see :func:`core.task.infer_task_kind`)."""
    return TaskSpec(kind=infer_task_kind(dataset.frame["label"]))


def analyze(
    dataset: Dataset,
    *,
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Return the ranked error-analysis table of ``dataset``.

    One row per slice (``kind``: ``overall`` for all data, ``tag``, ``column`` for a
    slice-by value, ``untagged`` for examples without a tag) with the columns of
    :func:`core.metrics.compute_slice_metrics` and :func:`core.prioritize.rank_slices`.
    Rows are named as :func:`core.metrics.build_slices` names them (a tag called
    ``All data`` is the row ``All data (tag)``); ``hlp``, ``importance`` and ``ease`` are
    keyed by those row names.
    """
    task = task or default_task(dataset)
    outcomes = compute_outcomes(dataset.frame, task, source=dataset.source_name)
    membership, info = build_slices(dataset, slice_by=slice_by, bins=bins)
    counts = compute_slice_counts(membership, outcomes, tag_columns=tag_rows(info))
    table = compute_slice_metrics(counts, task=task, hlp=hlp)
    return finish_table(table, info, importance=importance, ease=ease)


def finish_table(
    table: pd.DataFrame,
    info: pd.DataFrame,
    *,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Attach slice kinds to a metrics table and rank it."""
    table = table.copy()
    table.insert(0, "kind", slice_kinds(table.index, info))
    return rank_slices(table, importance=importance, ease=ease)


def slice_kinds(index: pd.Index, info: pd.DataFrame) -> pd.Series:
    """Return the ``kind`` of every row of a per-slice table (object dtype).

    ``overall`` for ``All data``, ``untagged`` for ``No tag``, else the slice's kind in
    ``info`` (:func:`core.metrics.build_slices`). Slice names never take the two reserved
    names (:mod:`core.slice_names`), so the names decide; an empty ``info`` (no tags, no
    slice-by) is fine.
    """
    kind = pd.Series(info["kind"].to_numpy(dtype=object), index=info.index,
                     dtype=object).reindex(index)
    kind[kind.index == OVERALL] = "overall"
    kind[kind.index == UNTAGGED] = "untagged"
    return kind
