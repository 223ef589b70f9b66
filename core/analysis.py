"""The error-analysis pipeline: outcomes, slices, counts, metrics, ranking, as named steps.

:func:`analyze` runs the whole pipeline in one call. Each step is a function of its own so
that callers which keep intermediate results (the app caches each step separately,
:mod:`ui.data`; the DuckDB engine counts in SQL and joins at :func:`measure_slices`) run the
same code:

1. :func:`score_examples`: one outcome row per example (``correct``, ...);
2. :func:`find_slices`: the membership matrix and slice info, repeats marked;
3. :func:`count_slices`: per-slice sufficient statistics;
4. :func:`measure_slices`: per-slice metrics against the baseline;
5. :func:`reviewed_figures` (optional) and :func:`finish_table`: tag scopes, kinds, ranking.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.baselines import Baseline, dataset_baseline
from slicewise.core.batches.count import Partial, co_membership, count_scored, same_members
from slicewise.core.dataset import Dataset
from slicewise.core.metrics import build_slices, compute_outcomes, compute_slice_metrics
from slicewise.core.metrics.counts import COUNT_COLUMNS
from slicewise.core.prioritize import rank_slices
from slicewise.core.slice_names import OVERALL, UNTAGGED, tag_rows, tag_slice_names
from slicewise.core.tag_scope import (
    apply_tag_figures,
    count_figures,
    infer_row_scopes,
    known_matrix,
    table_figures,
)
from slicewise.core.task import TaskSpec, infer_task_kind


def default_task(dataset: Dataset) -> TaskSpec:
    """Guess the task from the labels (see :func:`core.task.infer_task_kind`)."""
    return TaskSpec(kind=infer_task_kind(dataset.frame["label"]))


def score_examples(frame: pd.DataFrame, task: TaskSpec, *, source: str = "") -> pd.DataFrame:
    """Step 1: score every example (:func:`core.metrics.compute_outcomes`).

    Parameters
    ----------
    frame : pandas.DataFrame
        A loaded dataset's frame (``label``, ``prediction`` and the other role columns),
        shape (n_examples, n_columns).
    task : core.task.TaskSpec
        How a prediction is judged correct.
    source : str
        The file name that starts error messages.

    Returns
    -------
    pandas.DataFrame
        One row per example, aligned with ``frame``: ``correct`` (bool) and the task's
        per-example figures.

    Raises
    ------
    core.errors.DataError
        The labels or predictions cannot be judged under ``task``.
    """
    return compute_outcomes(frame, task, source=source)


def correct_mask(frame: pd.DataFrame, task: TaskSpec, *, source: str = "") -> np.ndarray:
    """Return whether each example is predicted correctly: bool array of shape (n_examples,).

    :func:`score_examples`'s ``correct`` column as numpy (raises as it does).
    """
    return score_examples(frame, task, source=source)["correct"].to_numpy(dtype=bool)


def find_slices(
    dataset: Dataset,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    max_slices: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 2: build the slices (:func:`core.metrics.build_slices`), repeats marked.

    Returns
    -------
    membership : pandas.DataFrame
        Bool, shape (n_examples, n_slices): which examples each slice holds.
    info : pandas.DataFrame
        One row per slice (``kind``, ``source``, ...) with ``same_as``
        (:func:`mark_same_members`).

    Raises
    ------
    core.errors.TooManySlicesError
        The ``slice_by`` columns make more than ``max_slices`` slices.
    core.errors.DataError
        A ``slice_by`` column is not in the data.
    """
    membership, info = build_slices(dataset, slice_by=slice_by, bins=bins, max_slices=max_slices)
    return membership, mark_same_members(membership, info)


def count_slices(
    membership: pd.DataFrame, outcomes: pd.DataFrame, info: pd.DataFrame
) -> pd.DataFrame:
    """Step 3: per-slice sufficient statistics (:func:`core.metrics.compute_slice_counts`).

    ``membership`` and ``info`` from :func:`find_slices`, ``outcomes`` from
    :func:`score_examples`; returns one row per slice plus ``All data`` (and ``No tag``
    when there are tags).
    """
    part = count_scored(outcomes, membership.to_numpy(dtype=bool), tags=len(tag_rows(info)))
    return slice_counts_frame(part, info)


def slice_counts_frame(part: Partial, info: pd.DataFrame) -> pd.DataFrame:
    """Name the rows of summed counts: ``All data``, each slice of ``info``, ``No tag``.

    ``part``: :class:`core.batches.count.Partial` over the slices of ``info``; returns
    shape ``(1 + n_slices (+ 1 with tags), len(COUNT_COLUMNS))``, float64 sums.
    """
    names = [OVERALL, *map(str, info.index)] + ([UNTAGGED] if tag_rows(info) else [])
    return pd.DataFrame(part.counts, index=names, columns=list(COUNT_COLUMNS))


def measure_slices(
    counts: pd.DataFrame,
    *,
    task: TaskSpec,
    hlp: Mapping[str, float] | None = None,
    baseline: Baseline | None = None,
) -> pd.DataFrame:
    """Step 4: per-slice metrics from the counts (:func:`core.metrics.compute_slice_metrics`).

    ``counts`` from :func:`count_slices` (or an engine counting the same columns in SQL);
    ``hlp`` entered HLP (fractions in [0, 1]) by row name; ``baseline`` what the slices are
    compared with (see :func:`core.baselines.dataset_baseline` for a loaded dataset's).
    Returns the unranked table, one row per row of ``counts``.
    """
    return compute_slice_metrics(counts, task=task, hlp=hlp, baseline=baseline)


def analyze(
    dataset: Dataset,
    *,
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    tag_scopes: str | Mapping[str, str] = "auto",
    reviewed: pd.DataFrame | None = None,
    protected: Collection[str] = (),
    rank_by: str = "priority",
    baseline: Baseline | None = None,
    max_slices: int | None = None,
) -> pd.DataFrame:
    """Return the ranked error-analysis table of ``dataset``.

    One row per slice (``kind``: ``overall`` for all data, ``tag``, ``column`` for a
    slice-by value, ``untagged`` for examples without a tag) with the columns of
    :func:`core.metrics.compute_slice_metrics` and :func:`core.prioritize.rank_slices`.
    Rows are named as :func:`core.metrics.build_slices` names them (a tag called
    ``All data`` is the row ``All data (tag)``); ``hlp``, ``importance`` and ``ease`` are
    keyed by those row names.

    Tags are honest about where they are known (:mod:`core.tag_scope`): ``tag_scopes``
    says per tag (or for all) whether its values hold on every example (``all``), on the
    model's errors only (``errors``), nowhere but the ``reviewed`` examples (``none``), or
    ``auto`` (a tag only errors carry was filled on errors). Rows of tags not known on every
    example carry estimates (``scope`` ``errors``: error share and ceiling, no accuracy;
    ``sample``: stratified estimates with intervals).

    Slices with the same members are shown once (:func:`mark_same_members`); the slices of
    a ``protected`` column (a sensitive attribute such as race) are marked so the advice
    speaks of fairness; ``rank_by`` is :func:`core.prioritize.rank_slices`'s.

    ``baseline`` (:class:`core.baselines.Baseline`) says what the slices are compared with;
    by default HLP as the dataset's mapping describes it (:func:`core.baselines.dataset_baseline`).

    ``max_slices`` caps the slices of the ``slice_by`` columns (:func:`core.limits.max_slices`;
    default 1,000 or ``SLICEWISE_MAX_SLICES``); a column over it raises
    :class:`core.errors.TooManySlicesError` before any slice is built.
    """
    task = task or default_task(dataset)
    outcomes = score_examples(dataset.frame, task, source=dataset.source_name)
    membership, info = build_slices(dataset, slice_by=slice_by, bins=bins, max_slices=max_slices)
    # The engines' counting step (core.batches.count), on the whole frame: one definition.
    part = count_scored(outcomes, membership.to_numpy(dtype=bool), tags=len(tag_rows(info)))
    info = same_members(info, part.together)
    counts = slice_counts_frame(part, info)
    table = measure_slices(
        counts, task=task, hlp=hlp, baseline=baseline or dataset_baseline(dataset)
    )
    scoped = dict(tag_scopes=tag_scopes, blank_tags=dataset.blank_tags)
    figures = None
    if reviewed is not None:
        correct = outcomes["correct"].to_numpy(dtype=bool)
        figures = reviewed_figures(table, info, correct, dataset.tags, reviewed, **scoped)
    return finish_table(
        table,
        info,
        importance=importance,
        ease=ease,
        figures=figures,
        protected=protected,
        rank_by=rank_by,
        **scoped,
    )


def mark_same_members(membership: pd.DataFrame, info: pd.DataFrame) -> pd.DataFrame:
    """Mark slices whose members are exactly those of an earlier slice.

    ``membership`` and ``info`` as :func:`core.metrics.build_slices` returns them. Returns
    a copy of ``info`` with a ``same_as`` column: the name of the first slice (in table
    order: tags, then column values) with identical members, or None. Empty slices are
    never merged (they say nothing and their names say why they exist).
    """
    member = membership.to_numpy(dtype=bool)
    return same_members(info, co_membership(member))


def file_tag_scopes(dataset: Dataset, task: TaskSpec | None = None) -> dict[str, str]:
    """Say where each tag of a loaded file is known: ``all`` or ``errors`` (auto rule).

    The rule of :func:`core.tag_scope.infer_row_scopes` on the file's own counts, keyed by
    tag: what to store with a dataset so that the app reads its tags as ``analyze`` does.
    """
    if not dataset.tags.shape[1]:
        return {}
    task = task or default_task(dataset)
    outcomes = score_examples(dataset.frame, task, source=dataset.source_name)
    membership, info = build_slices(dataset)
    table = measure_slices(count_slices(membership, outcomes, info), task=task)
    by_row = infer_row_scopes(table, info, blank_tags=dataset.blank_tags)
    return {str(src): by_row[str(row)] for row, src in zip(info.index, info["source"], strict=True)}


def reviewed_figures(
    table: pd.DataFrame,
    info: pd.DataFrame,
    correct: np.ndarray,
    tags: pd.DataFrame,
    reviewed: pd.DataFrame,
    *,
    tag_scopes: str | Mapping[str, str] = "auto",
    blank_tags: Collection[str] = (),
) -> pd.DataFrame:
    """Estimate the tag rows from examples reviewed by hand (:mod:`core.tag_scope`).

    A tag is known where its scope says (``all``, ``errors``; ``none`` for a hand-made tag)
    and on the examples ``reviewed`` marks for it (bool, one column per tag, aligned with
    ``tags``). Returns the figures keyed by row name, for :func:`finish_table`.
    """
    # Hand-made tags ("none") are known only where reviewed; the rest as counts decide.
    hand: dict[str, str] = {}
    base: str | Mapping[str, str] = tag_scopes
    if not isinstance(tag_scopes, str):
        hand = {t: s for t, s in tag_scopes.items() if s == "none"}
        base = {t: s for t, s in tag_scopes.items() if s != "none"}
    by_row = infer_row_scopes(table, info, base, blank_tags=blank_tags)
    sources = dict(zip(info.index, info["source"], strict=True)) if len(info) else {}
    scopes = {str(sources[r]): s for r, s in by_row.items() if r in sources}
    scopes.update(hand)
    known = known_matrix(correct, tags, scopes, reviewed=reviewed)
    untagged = UNTAGGED if UNTAGGED in table.index else None
    return table_figures(correct, tags, known, tag_slice_names(tags.columns), untagged_row=untagged)


def finish_table(
    table: pd.DataFrame,
    info: pd.DataFrame,
    *,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    tag_scopes: str | Mapping[str, str] = "auto",
    blank_tags: Collection[str] = (),
    figures: pd.DataFrame | None = None,
    protected: Collection[str] = (),
    rank_by: str = "priority",
) -> pd.DataFrame:
    """Give tag rows the figures their known examples support, attach kinds, and rank.

    Without ``figures`` (from :func:`reviewed_figures`), each tag's scope comes from
    ``tag_scopes`` and the counts (:func:`core.tag_scope.infer_row_scopes`), so every
    engine that counts gives the same table.

    Slices ``info`` marks as the same as an earlier one (``same_as``, see
    :func:`mark_same_members`) are dropped; the kept slice lists their names in
    ``same_as`` ("" when none). Slices of a ``protected`` column get ``protected`` True and
    ``protected_by`` the column.
    """
    if figures is None:
        figures = count_figures(
            table, infer_row_scopes(table, info, tag_scopes, blank_tags=blank_tags)
        )
    table = apply_tag_figures(table, figures)
    table.insert(0, "kind", slice_kinds(table.index, info))
    dupes = info["same_as"].dropna() if "same_as" in info.columns else pd.Series(dtype=object)
    table = table.drop(index=[d for d in dupes.index if d in table.index])
    also = dupes.groupby(dupes.to_numpy()).agg(lambda names: "; ".join(map(str, names.index)))
    table["same_as"] = [also.get(name, "") for name in table.index]
    if protected:
        wanted = {str(c).strip() for c in protected}
        source = (
            info["source"].reindex(table.index)
            if len(info)
            else pd.Series(None, index=table.index, dtype=object)
        )
        hit = (table["kind"] == "column") & source.isin(wanted)
        table["protected"] = hit.to_numpy()
        table["protected_by"] = source.where(hit, None).astype(object)
    return rank_slices(table, importance=importance, ease=ease, rank_by=rank_by)


def slice_kinds(index: pd.Index, info: pd.DataFrame) -> pd.Series:
    """Return the ``kind`` of every row of a per-slice table (object dtype).

    ``overall`` for ``All data``, ``untagged`` for ``No tag``, else the slice's kind in
    ``info`` (:func:`core.metrics.build_slices`). Slice names never take the two reserved
    names (:mod:`core.slice_names`), so the names decide; an empty ``info`` (no tags, no
    slice-by) is fine.
    """
    kind = pd.Series(info["kind"].to_numpy(dtype=object), index=info.index, dtype=object).reindex(
        index
    )
    kind[kind.index == OVERALL] = "overall"
    kind[kind.index == UNTAGGED] = "untagged"
    return kind
