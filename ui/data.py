"""Cached analysis of the loaded dataset, split so a widget change recomputes only what it affects.

Every cached function takes the :class:`~ui.dataset_cache.Loaded` dataset itself and is
keyed, through Streamlit's ``hash_funcs``, on the parts of it that it reads
(:data:`BY_FRAME`, :data:`BY_TASK`, :data:`BY_TAGS`, :data:`BY_DATA`): the dataset is never
hashed cell by cell, and ticking a tag (a new ``tags_key``) leaves outcomes, masks and row
orders cached.

**Shared, read-only.** Everything with a row per example — the outcomes, the slice
membership, the masks and row orders of *Tag errors* — is an ``st.cache_resource``: one
object every session uses, its arrays read-only (:func:`ui.dataset_cache.frozen`) and its
frames handed out as copy-on-write copies (:func:`ui.dataset_cache.shared`). Small results
(per-slice tables, profiles, the class report) are ``st.cache_data``: a copy each.

Chain: :func:`example_outcomes` (frame, task) → :func:`slices` (frame, tags, slice_by) →
:func:`counts` → :func:`metrics` (hlp) → :func:`ranking` (importance, ease). Loading the
dataset (:func:`load_current`, :func:`require_dataset`) lives in :mod:`ui.dataset_cache` and
is re-exported here. No function here reads ``st.session_state``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core import limits
from slicewise.core.analysis import (
    count_slices,
    find_slices,
    finish_table,
    measure_slices,
    reviewed_figures,
    score_examples,
)
from slicewise.core.baselines import dataset_baseline
from slicewise.core.metrics import (
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
    compute_tag_coverage,
)
from slicewise.core.report import ClassResults, compute_class_results
from slicewise.core.rules import Condition, condition_mask
from slicewise.core.slice_names import (
    resolve_slice_column,
    settings_by_row,
    slice_by_choices,
    tag_slice_names,
)
from slicewise.ui.dataset_cache import Loaded, frozen, reviewed_matrix, shared
from slicewise.ui.dataset_cache import _load_frame as _load_frame  # re-exported (tests)
from slicewise.ui.dataset_cache import get_store_for as get_store_for  # re-exported
from slicewise.ui.dataset_cache import load_current as load_current  # re-exported
from slicewise.ui.dataset_cache import require_dataset as require_dataset  # re-exported
from slicewise.ui.dataset_cache import revision as revision  # re-exported
from slicewise.ui.tagging import (
    Filters,
    frame_filter_mask,
    kept_in_order,
    media_columns,
    row_order,
    tag_filter_mask,
)

Items = tuple[tuple[str, float], ...]


def _items(mapping: Mapping[str, Any] | None) -> Items:
    """Turn a {name: value} mapping into a sorted hashable tuple, dropping missing values."""
    out = []
    for k, v in (mapping or {}).items():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        out.append((str(k), float(v)))
    return tuple(sorted(out))


# --------------------------------------------------------------------------- cache keys
# Each cached function below takes the Loaded dataset itself; Streamlit hashes it with the
# function's ``hash_funcs``, which name the parts of it the function reads. A tick moves
# only ``tags_key``, so what reads no tag (outcomes, masks, orders, profiles) is reused.


def _frame_key(loaded: Loaded) -> tuple[str, int, str]:
    """Key of what reads only the examples: database, dataset id, frame key."""
    return (loaded.db, loaded.dataset_id, loaded.frame_key)


def _task_key(loaded: Loaded) -> tuple[str, int, str, str]:
    """Key of what reads the examples and the task (outcomes, masks, row orders)."""
    return (*_frame_key(loaded), repr(loaded.task))


def _tags_key(loaded: Loaded) -> tuple[str, int, str, str]:
    """Key of what reads the examples and the tag matrix (slice membership)."""
    return (*_frame_key(loaded), loaded.tags_key)


def _data_key(loaded: Loaded) -> tuple[str, int, str, str, str]:
    """Key of what reads the examples, the tags and the task (per-slice tables)."""
    return (*_task_key(loaded), loaded.tags_key)


#: ``hash_funcs`` of the cached functions, by what of the loaded dataset they read.
BY_FRAME = {Loaded: _frame_key}
BY_TASK = {Loaded: _task_key}
BY_TAGS = {Loaded: _tags_key}
BY_DATA = {Loaded: _data_key}
KEYS = {"frame": BY_FRAME, "task": BY_TASK, "tags": BY_TAGS, "data": BY_DATA}


# --------------------------------------------------------------------------- analysis


@st.cache_resource(max_entries=8, show_spinner="Scoring every example…", hash_funcs=BY_TASK)
def _outcomes(loaded: Loaded) -> pd.DataFrame:
    """Per-example outcomes (:func:`core.analysis.score_examples`), shared: read only."""
    ds = loaded.dataset
    return score_examples(ds.frame, loaded.task, source=ds.source_name)


def example_outcomes(loaded: Loaded) -> pd.DataFrame:
    """Per-example outcomes of the loaded dataset (cached, shared; a copy-on-write copy).

    Raises
    ------
    DataError
        The task does not fit the data (:func:`core.metrics.compute_outcomes`); the
        message starts with the dataset's file name.
    """
    return shared(_outcomes(loaded))


@st.cache_resource(max_entries=8, show_spinner=False, hash_funcs=BY_TAGS)
def slices(
    loaded: Loaded, slice_by: tuple[str, ...], bins: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the membership matrix and slice info (:func:`core.analysis.find_slices`).

    Slices that repeat an earlier one are marked. Shared by every session: read only.
    """
    return find_slices(loaded.dataset, slice_by=slice_by, bins=bins)


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_DATA)
def counts(
    loaded: Loaded, slice_by: tuple[str, ...], bins: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-slice sufficient statistics (:func:`core.analysis.count_slices`), slice info."""
    membership, info = slices(loaded, slice_by, bins)
    return count_slices(membership, _outcomes(loaded), info), info


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=BY_DATA)
def metrics(
    loaded: Loaded, slice_by: tuple[str, ...], bins: int, hlp: Items
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-slice metrics table, unranked (:func:`core.analysis.measure_slices`), info."""
    table, info = counts(loaded, slice_by, bins)
    baseline = dataset_baseline(loaded.dataset)
    return measure_slices(table, task=loaded.task, hlp=dict(hlp), baseline=baseline), info


def _unseen_tags(loaded: Loaded, scopes: dict[str, str], reviewed: pd.DataFrame) -> list[str]:
    """Project tags never given nor reviewed on this dataset (made on another dataset).

    They say nothing here: left out, so that they do not make "No tag" unknown.
    """
    tags = loaded.dataset.tags
    return [
        t
        for t, v in scopes.items()
        if v == "none"
        and t in tags.columns
        and not tags[t].any()
        and not (t in reviewed.columns and reviewed[t].any())
    ]


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=BY_DATA)
def ranking(
    loaded: Loaded,
    slice_by: tuple[str, ...],
    bins: int,
    weights: tuple[Items, Items, Items],
    scopes: tuple[tuple[str, str], ...],
    reviewed_rev: int,
    protected: tuple[str, ...] = (),
    rank_by: str = "priority",
) -> pd.DataFrame:
    """Return the ranked error-analysis table (what :func:`core.analysis.analyze` returns).

    ``weights`` is (hlp, importance, ease) per slice row. Tags are scoped as stored
    (:attr:`Loaded.scopes`): a tag not known on every example is estimated from the examples
    reviewed for it (:func:`core.analysis.reviewed_figures`); ``reviewed_rev`` is the
    revision those reviews were read at (0 when every tag is known everywhere, so the table
    is not recomputed for unrelated writes).
    """
    hlp, importance, ease = weights
    table, info = metrics(loaded, slice_by, bins, hlp)
    given = dict(scopes)
    # A file column stored without a scope ("auto") is read as `analyze` reads an x/blank
    # column: filled on errors when only errors carry it and that is unlikely by chance.
    auto = [t for t, v in given.items() if v == "auto"]
    figures = None
    unseen: list[str] = []
    if reviewed_rev:
        correct = example_outcomes(loaded)["correct"].to_numpy(dtype=bool)
        reviewed = reviewed_matrix(loaded)
        if len(reviewed) == len(correct):
            unseen = _unseen_tags(loaded, given, reviewed)
            given.update(dict.fromkeys(unseen, "all"))
            figures = reviewed_figures(
                table,
                info,
                correct,
                loaded.dataset.tags,
                reviewed,
                tag_scopes=given,
                blank_tags=auto,
            )
    names = tag_slice_names(loaded.dataset.tags.columns)
    drop = [names[t] for t in unseen if names.get(t) in table.index]
    return finish_table(
        table.drop(index=drop),
        info.drop(index=drop, errors="ignore"),
        importance=dict(importance),
        ease=dict(ease),
        tag_scopes=given,
        blank_tags=auto,
        figures=figures if figures is None else figures.drop(index=drop, errors="ignore"),
        protected=protected,
        rank_by=rank_by,
    )


def analysis_table(
    loaded: Loaded,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    protected: Sequence[str] = (),
    rank_by: str = "priority",
) -> pd.DataFrame:
    """Return the ranked table of the loaded dataset, using the stored settings by default.

    Settings are keyed by tag, as stored; they apply to the tag's row (a tag called
    ``All data`` is the row ``All data (tag)``, see :func:`core.slice_names.settings_by_row`).
    Cached per data, slicing, weights, scopes and ranking (:func:`ranking`).

    Raises
    ------
    DataError
        The task does not fit the data, or a slice-by column is unknown.
    """
    s = loaded.settings
    tags = loaded.tag_names

    def rows(given: Mapping[str, float] | None, stored: str) -> Items:
        return _items(settings_by_row(s.get(stored) if given is None else given, tags))

    scopes = tuple(sorted((t, v) for t, v in loaded.scopes.items() if t in tags))
    return ranking(
        loaded,
        tuple(slice_by),
        int(bins),
        (rows(hlp, "hlp"), rows(importance, "importance"), rows(ease, "ease")),
        scopes,
        loaded.rev if any(v != "all" for v in loaded.scopes.values()) else 0,
        tuple(sorted(protected)),
        rank_by,
    )


#: Most classes of the confusion matrix :func:`class_views` returns (the most frequent; the
#: others summed in one "(other)" row and column): a heatmap stays readable and small.
HEATMAP_CLASSES = 40


@st.cache_resource(max_entries=8, show_spinner=False, hash_funcs=BY_FRAME)
def _pairs(loaded: Loaded) -> pd.DataFrame:
    return compute_confusion_pairs(loaded.dataset.frame)


def confusion_pairs(loaded: Loaded) -> pd.DataFrame:
    """Examples per (label, prediction) pair (:func:`core.metrics.compute_confusion_pairs`).

    Cached and shared per frame: the per-class views and every report are computed from it,
    so the labels of a million rows are read once, not once per view and per format.
    """
    return shared(_pairs(loaded))


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_FRAME)
def class_views(loaded: Loaded) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class report and confusion matrix of the loaded dataset (cached per frame).

    The matrix holds every class up to :data:`HEATMAP_CLASSES`; with more, the most
    frequent ones and an "(other)" row and column
    (:func:`core.metrics.compute_confusion_matrix`), so it has at most 41 × 41 cells.
    """
    pairs = confusion_pairs(loaded)
    return (
        compute_class_report(pairs=pairs),
        compute_confusion_matrix(pairs=pairs, max_classes=HEATMAP_CLASSES),
    )


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_FRAME)
def _class_results(loaded: Loaded, kind: str) -> ClassResults | None:
    if kind not in ("classification", "binary"):  # no classes: no pairs to count
        return None
    return compute_class_results(task=kind, pairs=confusion_pairs(loaded))


def class_results(loaded: Loaded) -> ClassResults | None:
    """Return the reports' per-class results (:func:`core.report.compute_class_results`).

    Cached per frame and task kind; None for a task without classes (text, regression).
    """
    return _class_results(loaded, loaded.task.kind)


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_FRAME)
def column_profile(loaded: Loaded) -> pd.DataFrame:
    """Per column of the frame: whether it is numeric and how many slices it makes.

    ``distinct`` counts the missing cells as one value (the ``(missing)`` slice), so a column
    holding one value and blanks (``EU`` and blank, or ``NA`` read as missing) can be sliced.
    Cached per frame; indexed by column name, columns ``numeric`` (bool), ``distinct`` (int).
    """
    frame = loaded.dataset.frame
    rows = []
    for col in frame.columns:
        values = frame[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        # missing cells count as one value: slicing gives them their own (missing) slice
        rows.append(
            {"column": str(col), "numeric": numeric, "distinct": int(values.nunique(dropna=False))}
        )
    return pd.DataFrame(rows, columns=["column", "numeric", "distinct"]).set_index("column")


def slice_column(loaded: Loaded, name: str) -> str | None:
    """Return the frame column a slice-by name means (a role's file name is the role)."""
    ds = loaded.dataset
    return resolve_slice_column(name, columns=ds.frame.columns, mapping=ds.mapping)


#: Most values a column may have to be offered for slicing in the app (a chart of more slices
#: is unreadable); never more than the cap on slices (:func:`core.limits.max_slices`).
APP_SLICE_VALUES = 50


def slice_value_limit(max_values: int = APP_SLICE_VALUES) -> int:
    """Most values a non-numeric column may have to be offered for slicing in the app.

    ``max_values``, or the server's cap on slices (``SLICEWISE_MAX_SLICES``) when lower.

    Raises
    ------
    DataError
        ``SLICEWISE_MAX_SLICES`` is set to something other than a whole number >= 1.
    """
    return min(int(max_values), limits.max_slices())


def _slice_choices(loaded: Loaded) -> list[tuple[str, bool, int]]:
    """(slice-by name, numeric, distinct values with missing as one) of every choice."""
    ds = loaded.dataset
    prof = column_profile(loaded)
    out = []
    for name in slice_by_choices(ds.metadata_columns, columns=ds.frame.columns, mapping=ds.mapping):
        col = slice_column(loaded, name)
        if col in prof.index:
            out.append((name, bool(prof.loc[col, "numeric"]), int(prof.loc[col, "distinct"])))
    return out


def sliceable_columns(loaded: Loaded, *, max_values: int = APP_SLICE_VALUES) -> list[str]:
    """Columns worth slicing by: numeric (binned) or with few distinct values.

    The label, prediction, human-label and score columns come first, under their file names
    (slicing by the label gives per-class rows), then the metadata columns. A column with more
    values than :func:`slice_value_limit` is left out (:func:`unsliceable_columns` lists them).
    """
    limit = slice_value_limit(max_values)
    return [
        name
        for name, numeric, distinct in _slice_choices(loaded)
        if numeric or 1 < distinct <= limit
    ]


def unsliceable_columns(loaded: Loaded, *, max_values: int = APP_SLICE_VALUES) -> dict[str, int]:
    """List the columns :func:`sliceable_columns` leaves out for having too many values.

    Returns
    -------
    dict
        Slice-by name -> its number of distinct values (missing counted as one), in the
        order the choices are offered.
    """
    limit = slice_value_limit(max_values)
    return {
        name: distinct
        for name, numeric, distinct in _slice_choices(loaded)
        if not numeric and distinct > limit
    }


# --------------------------------------------------------------------------- tagging views


# Each piece is cached on what it reads, so a tick (a new tags_key) recomputes only the
# pieces that read the tags: the rule and metadata masks, the order and the filters on the
# examples are reused as they are.


@st.cache_resource(max_entries=8, show_spinner=False, hash_funcs=BY_TASK)
def example_correct(loaded: Loaded) -> np.ndarray:
    """Whether the model gets each example right, as a bool array (cached, shared, read-only).

    Raises
    ------
    DataError
        The task does not fit the data (see :func:`core.metrics.compute_outcomes`).
    """
    return frozen(example_outcomes(loaded)["correct"].to_numpy(dtype=bool))


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_DATA)
def tag_coverage(loaded: Loaded) -> tuple[int, int]:
    """(errors with a tag, errors) of the loaded dataset (cached per tags and task)."""
    return compute_tag_coverage(example_correct(loaded), loaded.dataset.tags)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_FRAME)
def _condition(loaded: Loaded, condition: Condition) -> np.ndarray:
    ds = loaded.dataset
    return frozen(np.asarray(condition_mask(ds.frame, condition, source=ds.source_name)))


def rule_matches(loaded: Loaded, conditions: Sequence[Condition]) -> np.ndarray:
    """Where every condition holds (AND; :func:`core.rules.rule_mask`), each one cached.

    Adding a condition computes only the new one. Returns a bool array, one per row.

    Raises
    ------
    DataError
        A bad condition (the message names the file and the column).
    """
    mask = np.ones(len(loaded.dataset.frame), dtype=bool)
    for condition in conditions:
        mask &= _condition(loaded, condition)
    return mask


@st.cache_resource(max_entries=16, show_spinner=False, hash_funcs=BY_TASK)
def _frame_filtered(loaded: Loaded, filters: Filters) -> np.ndarray:
    """Where the filters that read no tag keep a row (bool per row; shared, read-only)."""
    where = rule_matches(loaded, filters.where) if filters.where else None
    return frozen(
        frame_filter_mask(loaded.dataset.frame, example_correct(loaded), filters, where=where)
    )


@st.cache_resource(max_entries=8, show_spinner=False, hash_funcs=BY_TASK)
def _order(loaded: Loaded, order: str) -> np.ndarray:
    """Row positions in ``order`` (:func:`ui.tagging.row_order`; shared, read-only)."""
    frame = loaded.dataset.frame
    score = (
        pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if "score" in frame.columns
        else None
    )
    return frozen(row_order(example_correct(loaded), score, order))


@st.cache_resource(max_entries=16, show_spinner=False, hash_funcs=BY_TASK)
def _kept(loaded: Loaded, filters: Filters, order: str) -> np.ndarray:
    """Positions kept by filters that read no tag, in ``order`` (a tick keeps this entry)."""
    return frozen(kept_in_order(_frame_filtered(loaded, filters), _order(loaded, order)))


@st.cache_resource(max_entries=16, show_spinner=False, hash_funcs=BY_DATA)
def _kept_by_tags(loaded: Loaded, filters: Filters, order: str) -> np.ndarray:
    """Positions kept by filters that read the tags, in ``order`` (keyed by the tags too)."""
    mask = _frame_filtered(loaded, filters) & tag_filter_mask(loaded.dataset.tags, filters)
    return frozen(kept_in_order(mask, _order(loaded, order)))


def filtered_positions(loaded: Loaded, filters: Filters, *, order: str = "errors") -> np.ndarray:
    """Positions of the rows the filters keep, in ``order`` (see :data:`ui.tagging.ORDERS`).

    Cached per filter values (shared by every session: a read-only int array); the tags are
    part of the key only when a filter reads them, so ticking a tag does not recompute an
    unfiltered list.

    Raises
    ------
    DataError
        A bad metadata condition in ``filters.where``, or a task that does not fit the data.
    """
    kept = _kept_by_tags if filters.uses_tags else _kept
    return kept(loaded, filters, order)


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_FRAME)
def media_kinds(loaded: Loaded) -> dict[str, str]:
    """Metadata columns holding audio or images: {column: kind} (cached per frame)."""
    ds = loaded.dataset
    return media_columns(ds.frame, tuple(ds.metadata_columns))


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_FRAME)
def distinct_values(loaded: Loaded, column: str, *, limit: int = 200) -> list[str] | None:
    """Sorted distinct values of a column as text, or ``None`` when there are over ``limit``."""
    uniques = loaded.dataset.frame[column].dropna().astype(str).unique()
    if len(uniques) > limit:
        return None
    return sorted(map(str, uniques))
