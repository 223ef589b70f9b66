"""Cached loading and analysis, split so a widget change recomputes only what it affects.

Cache keys are plain values: the database path, the dataset id, a *frame key* that changes
when the examples change (a label correction) and a *tags fingerprint* that changes when the
tag matrix changes. The store's revision (the newest event id that may change the dataset:
its own, or a change to its project's tags, reviews and corrections made through any of the
project's datasets) decides when the small things (tags, settings, scopes, reviews,
corrections) are read again; a write by one user moves it for every session.

**Shared, read-only.** Everything with a row per example — the examples, the tag and
reviewed matrices, the outcomes, the slice membership, the masks and row orders of *Tag
errors* — is an ``st.cache_resource``: one object in memory that every session uses
(``st.cache_data`` would unpickle a copy per call, per session, per rerun, and hold one per
session running). Their numpy arrays are made read-only
(:func:`_frozen`) and frames are handed out as shallow copies (pandas' copy-on-write), so
one session can neither write into another's data nor add a column to it. Small results
(per-slice tables, profiles, the class report) stay ``st.cache_data``: a copy each.

Chain: ``outcomes(frame, task)`` → ``slices(frame, tags, slice_by)`` → ``counts`` →
``metrics(hlp)`` → ``ranking(importance, ease)``. Large inputs are passed as ``_``
arguments, never hashed; no function here reads ``st.session_state``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core import limits
from slicewise.core.analysis import finish_table, mark_same_members, reviewed_figures
from slicewise.core.baselines import dataset_baseline
from slicewise.core.dataset import Dataset
from slicewise.core.errors import DataError
from slicewise.core.metrics import (
    build_slices,
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
    compute_tag_coverage,
)
from slicewise.core.report import ClassResults, compute_class_results
from slicewise.core.rules import Condition, condition_mask
from slicewise.core.slice_names import (
    resolve_slice_column,
    settings_by_row,
    slice_by_choices,
    tag_rows,
    tag_slice_names,
)
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.state import Context, empty_state, get_store, show_error
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


def _hash_frame(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "empty:" + "|".join(map(str, frame.columns))
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("|".join(map(str, frame.columns)).encode())
    return h.hexdigest()[:16]


def _frozen(value: Any) -> Any:
    """Make the numpy arrays in ``value`` read-only (also inside tuples); return ``value``.

    For an ``st.cache_resource`` result shared by every session: writing into it raises
    ``ValueError: assignment destination is read-only`` instead of changing another
    session's data. Frames are protected by handing them out with :func:`_shared`.
    """
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            _frozen(item)
    return value


def _shared(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a shallow copy of a shared frame: its data is shared, not copied.

    With pandas' copy-on-write, a change made to the copy (a cell, a new column) stays in
    the copy; the shared frame never sees it.
    """
    return frame.copy(deep=False)


def revision(store: Store, dataset_id: int) -> int:
    """Return the dataset's revision: it changes after any write that may change it."""
    return store.revision(dataset_id)


# --------------------------------------------------------------------------- loading


@st.cache_data(max_entries=8, show_spinner=False)
def _small_state(db: str, dataset_id: int, rev: int) -> dict[str, Any]:
    """Read what is cheap and changes often: info, tag list, settings, scopes, corrections.

    ``rev`` is :meth:`core.store.Store.revision`, which a change made through any dataset of
    the project moves (tags, reviews and corrections belong to the project).
    """
    store = get_store_for(db)
    info = store.dataset_info(dataset_id)
    corrections = store.corrections(dataset_id)
    key_part = (
        _hash_frame(corrections[["example_id", "corrected"]].astype(str))
        if len(corrections)
        else "none"
    )
    return {
        "info": info,
        "tags": store.list_tags(dataset_id),
        "settings": store.tag_settings(dataset_id),
        "scopes": store.tag_scopes(dataset_id),
        "corrections": corrections,
        "frame_key": f"{dataset_id}:{info.get('content_hash', '')}:{key_part}",
    }


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _load_frame(db: str, dataset_id: int, frame_key: str) -> Dataset:
    """Load the dataset (label corrections applied); re-read only when ``frame_key`` changes.

    A resource, not ``cache_data``: ``cache_data`` unpickles a fresh copy on every run,
    which costs ~0.7 s per rerun for a million transcripts. One object shared by every
    session: :func:`load_current` hands its frame out as a shallow copy (:func:`_shared`).
    """
    return get_store_for(db).load_dataset(dataset_id)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_tags(db: str, dataset_id: int, rev: int) -> tuple[pd.DataFrame, str]:
    """Read the tag matrix and fingerprint it (so unchanged tags keep downstream caches)."""
    tags = get_store_for(db).tag_matrix(dataset_id).astype(bool).reset_index(drop=True)
    return tags, _hash_frame(tags)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_reviewed(db: str, dataset_id: int, rev: int) -> pd.DataFrame:
    """Read where each tag was reviewed by hand (:meth:`core.store.Store.reviewed_matrix`)."""
    return get_store_for(db).reviewed_matrix(dataset_id).astype(bool).reset_index(drop=True)


def reviewed_matrix(loaded: Loaded) -> pd.DataFrame:
    """Where a person reviewed each tag of the loaded dataset (bool, aligned with its rows).

    True where the example was marked reviewed or has a hand value for the tag; cached per
    revision. With :attr:`Loaded.scopes` it says where each tag's status is known
    (:func:`core.tag_scope.known_matrix`).
    """
    return _shared(_load_reviewed(loaded.db, loaded.dataset_id, loaded.rev))


def get_store_for(db: str) -> Store:
    """Return the shared store of ``db`` (the argument keys the caller's cache)."""
    del db  # the store is keyed on $SLICEWISE_DB by get_store; kept for cache keys
    return get_store()


@dataclass(frozen=True)
class Loaded:
    """The dataset in use with everything the pages need about it."""

    db: str
    dataset_id: int
    rev: int
    dataset: Dataset
    task: TaskSpec
    info: dict[str, Any]
    tag_list: pd.DataFrame
    settings: dict[str, dict[str, float]]
    corrections: pd.DataFrame
    frame_key: str
    tags_key: str
    #: Where each tag's status is known in this dataset: tag -> "all" | "errors" | "none"
    #: (:meth:`core.store.Store.tag_scopes`).
    scopes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The dataset's name in the store."""
        return str(self.info.get("name", f"dataset {self.dataset_id}"))

    @property
    def tag_names(self) -> list[str]:
        """Tags in matrix order."""
        return [str(c) for c in self.dataset.tags.columns]

    @property
    def key(self) -> tuple[str, int, str, str]:
        """Cache key of the data (frame and tags)."""
        return (self.db, self.dataset_id, self.frame_key, self.tags_key)


def load_current(ctx: Context) -> Loaded:
    """Load the selected dataset (cached) with its tags, settings and corrections."""
    assert ctx.dataset_id is not None
    rev = revision(ctx.store, ctx.dataset_id)
    small = _small_state(ctx.db, ctx.dataset_id, rev)
    base = _load_frame(ctx.db, ctx.dataset_id, small["frame_key"])
    tags, tags_key = _load_tags(ctx.db, ctx.dataset_id, rev)
    if len(tags) != len(base.frame):  # defensive: the matrix must align with the rows
        tags = base.tags
        tags_key = _hash_frame(tags)
    # Shallow copies of the shared frames: a change a page makes stays in its own copy.
    dataset = replace(base, frame=_shared(base.frame), tags=_shared(tags))
    info = small["info"]
    task = info.get("task") or TaskSpec()
    return Loaded(
        ctx.db,
        ctx.dataset_id,
        rev,
        dataset,
        task,
        info,
        small["tags"],
        small["settings"],
        small["corrections"],
        small["frame_key"],
        tags_key,
        small["scopes"],
    )


# --------------------------------------------------------------------------- analysis


@st.cache_resource(max_entries=8, show_spinner="Scoring every example…")
def outcomes(
    db: str,
    dataset_id: int,
    frame_key: str,
    task_key: str,
    *,
    _frame: pd.DataFrame,
    _task: TaskSpec,
    _source: str = "",
) -> pd.DataFrame:
    """Per-example outcome columns (:func:`core.metrics.compute_outcomes`), shared: read only.

    ``_source`` (the dataset's file name, which its id already keys) starts error messages.
    Pages use :func:`example_outcomes` (a copy-on-write copy).
    """
    return compute_outcomes(_frame, _task, source=_source)


@st.cache_resource(max_entries=8, show_spinner=False)
def slices(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    slice_by: tuple[str, ...],
    bins: int,
    *,
    _dataset: Dataset,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the membership matrix and slice info (:func:`core.metrics.build_slices`).

    Slices that repeat an earlier one are marked (:func:`core.analysis.mark_same_members`).
    Shared by every session: read only.
    """
    membership, info = build_slices(_dataset, slice_by=slice_by, bins=bins)
    return membership, mark_same_members(membership, info)


@st.cache_data(max_entries=16, show_spinner=False)
def counts(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    task_key: str,
    slice_by: tuple[str, ...],
    bins: int,
    *,
    _loaded: Loaded,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-slice sufficient statistics and slice info."""
    ds, task = _loaded.dataset, _loaded.task
    out = outcomes(
        db, dataset_id, frame_key, task_key, _frame=ds.frame, _task=task, _source=ds.source_name
    )
    membership, info = slices(db, dataset_id, frame_key, tags_key, slice_by, bins, _dataset=ds)
    table = compute_slice_counts(membership, out, tag_columns=tag_rows(info))
    return table, info


@st.cache_data(max_entries=32, show_spinner=False)
def metrics(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    task_key: str,
    slice_by: tuple[str, ...],
    bins: int,
    hlp: Items,
    *,
    _loaded: Loaded,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-slice metrics table (unranked) and slice info."""
    table, info = counts(
        db, dataset_id, frame_key, tags_key, task_key, slice_by, bins, _loaded=_loaded
    )
    return compute_slice_metrics(
        table, task=_loaded.task, hlp=dict(hlp), baseline=dataset_baseline(_loaded.dataset)
    ), info


@st.cache_data(max_entries=32, show_spinner=False)
def ranking(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    task_key: str,
    slice_by: tuple[str, ...],
    bins: int,
    hlp: Items,
    importance: Items,
    ease: Items,
    scopes: tuple[tuple[str, str], ...],
    reviewed_rev: int,
    protected: tuple[str, ...] = (),
    rank_by: str = "priority",
    *,
    _loaded: Loaded,
) -> pd.DataFrame:
    """Return the ranked error-analysis table (what :func:`core.analysis.analyze` returns).

    Tags are scoped as stored (:attr:`Loaded.scopes`): a tag not known on every example is
    estimated from the examples reviewed for it (:func:`core.analysis.reviewed_figures`);
    ``reviewed_rev`` is the revision those reviews were read at (0 when every tag is known
    everywhere, so the table is not recomputed for unrelated writes).
    """
    table, info = metrics(
        db, dataset_id, frame_key, tags_key, task_key, slice_by, bins, hlp, _loaded=_loaded
    )
    given = dict(scopes)
    # A file column stored without a scope ("auto") is read as `analyze` reads an x/blank
    # column: filled on errors when only errors carry it and that is unlikely by chance.
    auto = [t for t, v in given.items() if v == "auto"]
    figures = None
    unseen: list[str] = []
    if reviewed_rev:
        correct = example_outcomes(_loaded)["correct"].to_numpy(dtype=bool)
        reviewed = reviewed_matrix(_loaded)
        if len(reviewed) == len(correct):
            # A project tag never given nor reviewed on this dataset's examples (made on
            # another dataset) says nothing here: left out, so that it does not make "No tag"
            # unknown.
            tags = _loaded.dataset.tags
            unseen = [
                t
                for t, v in given.items()
                if v == "none"
                and t in tags.columns
                and not tags[t].any()
                and not (t in reviewed.columns and reviewed[t].any())
            ]
            given.update(dict.fromkeys(unseen, "all"))
            figures = reviewed_figures(
                table, info, correct, tags, reviewed, tag_scopes=given, blank_tags=auto
            )
    names = tag_slice_names(_loaded.dataset.tags.columns)
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
    """
    s = loaded.settings
    tags = loaded.tag_names

    def rows(values: Mapping[str, float] | None) -> Items:
        return _items(settings_by_row(values, tags))

    return ranking(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        repr(loaded.task),
        tuple(slice_by),
        int(bins),
        rows(s.get("hlp") if hlp is None else hlp),
        rows(s.get("importance") if importance is None else importance),
        rows(s.get("ease") if ease is None else ease),
        tuple(sorted((t, v) for t, v in loaded.scopes.items() if t in tags)),
        loaded.rev if any(v != "all" for v in loaded.scopes.values()) else 0,
        tuple(sorted(protected)),
        rank_by,
        _loaded=loaded,
    )


def example_outcomes(loaded: Loaded) -> pd.DataFrame:
    """Per-example outcomes of the loaded dataset (cached, shared; a copy-on-write copy)."""
    return _shared(
        outcomes(
            loaded.db,
            loaded.dataset_id,
            loaded.frame_key,
            repr(loaded.task),
            _frame=loaded.dataset.frame,
            _task=loaded.task,
            _source=loaded.dataset.source_name,
        )
    )


#: Most classes of the confusion matrix :func:`class_views` returns (the most frequent; the
#: others summed in one "(other)" row and column): a heatmap stays readable and small.
HEATMAP_CLASSES = 40


@st.cache_resource(max_entries=8, show_spinner=False)
def _pairs(db: str, dataset_id: int, frame_key: str, *, _frame: pd.DataFrame) -> pd.DataFrame:
    return compute_confusion_pairs(_frame)


def confusion_pairs(loaded: Loaded) -> pd.DataFrame:
    """Examples per (label, prediction) pair (:func:`core.metrics.compute_confusion_pairs`).

    Cached and shared per frame: the per-class views and every report are computed from it,
    so the labels of a million rows are read once, not once per view and per format.
    """
    return _shared(
        _pairs(loaded.db, loaded.dataset_id, loaded.frame_key, _frame=loaded.dataset.frame)
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _class_views(
    db: str, dataset_id: int, frame_key: str, *, _loaded: Loaded
) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs = confusion_pairs(_loaded)
    return (
        compute_class_report(pairs=pairs),
        compute_confusion_matrix(pairs=pairs, max_classes=HEATMAP_CLASSES),
    )


def class_views(loaded: Loaded) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class report and confusion matrix of the loaded dataset (cached).

    The matrix holds every class up to :data:`HEATMAP_CLASSES`; with more, the most
    frequent ones and an "(other)" row and column
    (:func:`core.metrics.compute_confusion_matrix`), so it has at most 41 × 41 cells.
    """
    return _class_views(loaded.db, loaded.dataset_id, loaded.frame_key, _loaded=loaded)


@st.cache_data(max_entries=8, show_spinner=False)
def _class_results(
    db: str, dataset_id: int, frame_key: str, kind: str, *, _loaded: Loaded
) -> ClassResults | None:
    if kind not in ("classification", "binary"):  # no classes: no pairs to count
        return None
    return compute_class_results(task=kind, pairs=confusion_pairs(_loaded))


def class_results(loaded: Loaded) -> ClassResults | None:
    """Return the reports' per-class results (:func:`core.report.compute_class_results`).

    Cached per frame and task; None for a task without classes (text, regression).
    """
    return _class_results(
        loaded.db, loaded.dataset_id, loaded.frame_key, loaded.task.kind, _loaded=loaded
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _column_profile(
    db: str, dataset_id: int, frame_key: str, *, _frame: pd.DataFrame
) -> pd.DataFrame:
    rows = []
    for col in _frame.columns:
        values = _frame[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        # missing cells count as one value: slicing gives them their own (missing) slice
        rows.append(
            {"column": str(col), "numeric": numeric, "distinct": int(values.nunique(dropna=False))}
        )
    return pd.DataFrame(rows, columns=["column", "numeric", "distinct"]).set_index("column")


def column_profile(loaded: Loaded) -> pd.DataFrame:
    """Per column of the frame: whether it is numeric and how many slices it makes.

    ``distinct`` counts the missing cells as one value (the ``(missing)`` slice), so a column
    holding one value and blanks (``EU`` and blank, or ``NA`` read as missing) can be sliced.
    """
    return _column_profile(
        loaded.db, loaded.dataset_id, loaded.frame_key, _frame=loaded.dataset.frame
    )


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


# --------------------------------------------------------------------------- guard


def require_dataset(ctx: Context) -> Loaded:
    """Load the selected dataset, or show an empty state / the error and stop (data guard)."""
    if ctx.dataset_id is None:
        empty_state("No dataset is selected.")
        st.stop()
    try:
        return load_current(ctx)
    except DataError as exc:
        show_error(exc, "The dataset cannot be opened: ")
        st.stop()
        raise  # unreachable: st.stop() raises


# --------------------------------------------------------------------------- tagging views


# Each piece is cached on what it reads, so a tick (a new tags_key) recomputes only the
# pieces that read the tags: the rule and metadata masks, the order and the filters on the
# examples are reused as they are.


@st.cache_resource(max_entries=8, show_spinner=False)
def _correct(
    db: str, dataset_id: int, frame_key: str, task_key: str, *, _loaded: Loaded
) -> np.ndarray:
    return _frozen(example_outcomes(_loaded)["correct"].to_numpy(dtype=bool))


def example_correct(loaded: Loaded) -> np.ndarray:
    """Whether the model gets each example right, as a bool array (cached, shared, read-only).

    Raises
    ------
    DataError
        The task does not fit the data (see :func:`core.metrics.compute_outcomes`).
    """
    return _correct(
        loaded.db, loaded.dataset_id, loaded.frame_key, repr(loaded.task), _loaded=loaded
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _coverage(
    db: str, dataset_id: int, frame_key: str, tags_key: str, task_key: str, *, _loaded: Loaded
) -> tuple[int, int]:
    return compute_tag_coverage(example_correct(_loaded), _loaded.dataset.tags)


def tag_coverage(loaded: Loaded) -> tuple[int, int]:
    """(errors with a tag, errors) of the loaded dataset (cached per tags and task)."""
    return _coverage(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        repr(loaded.task),
        _loaded=loaded,
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def _condition(
    db: str,
    dataset_id: int,
    frame_key: str,
    condition: Condition,
    *,
    _frame: pd.DataFrame,
    _source: str,
) -> np.ndarray:
    return _frozen(np.asarray(condition_mask(_frame, condition, source=_source)))


def rule_matches(loaded: Loaded, conditions: Sequence[Condition]) -> np.ndarray:
    """Where every condition holds (AND; :func:`core.rules.rule_mask`), each one cached.

    Adding a condition computes only the new one.

    Raises
    ------
    DataError
        A bad condition (the message names the file and the column).
    """
    ds = loaded.dataset
    mask = np.ones(len(ds.frame), dtype=bool)
    for condition in conditions:
        mask &= _condition(
            loaded.db,
            loaded.dataset_id,
            loaded.frame_key,
            condition,
            _frame=ds.frame,
            _source=ds.source_name,
        )
    return mask


@st.cache_resource(max_entries=16, show_spinner=False)
def _frame_filtered(
    db: str, dataset_id: int, frame_key: str, task_key: str, filters: Filters, *, _loaded: Loaded
) -> np.ndarray:
    where = rule_matches(_loaded, filters.where) if filters.where else None
    return _frozen(
        frame_filter_mask(_loaded.dataset.frame, example_correct(_loaded), filters, where=where)
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _order(
    db: str, dataset_id: int, frame_key: str, task_key: str, order: str, *, _loaded: Loaded
) -> np.ndarray:
    frame = _loaded.dataset.frame
    score = (
        pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if "score" in frame.columns
        else None
    )
    return _frozen(row_order(example_correct(_loaded), score, order))


@st.cache_resource(max_entries=16, show_spinner=False)
def _filtered(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    task_key: str,
    filters: Filters,
    order: str,
    *,
    _loaded: Loaded,
) -> np.ndarray:
    mask = _frame_filtered(db, dataset_id, frame_key, task_key, filters, _loaded=_loaded)
    if filters.uses_tags:
        mask = mask & tag_filter_mask(_loaded.dataset.tags, filters)
    return _frozen(
        kept_in_order(mask, _order(db, dataset_id, frame_key, task_key, order, _loaded=_loaded))
    )


def filtered_positions(loaded: Loaded, filters: Filters, *, order: str = "errors") -> np.ndarray:
    """Positions of the rows the filters keep, in ``order`` (see :data:`ui.tagging.ORDERS`).

    Cached per filter values (shared by every session: a read-only array); the tags are part
    of the key only when a filter reads them, so ticking a tag does not recompute an
    unfiltered list.

    Raises
    ------
    DataError
        A bad metadata condition in ``filters.where``, or a task that does not fit the data.
    """
    tags_key = loaded.tags_key if filters.uses_tags else ""
    return _filtered(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        tags_key,
        repr(loaded.task),
        filters,
        order,
        _loaded=loaded,
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _media(
    db: str, dataset_id: int, frame_key: str, *, _frame: pd.DataFrame, _columns: tuple[str, ...]
) -> dict[str, str]:
    return media_columns(_frame, _columns)


def media_kinds(loaded: Loaded) -> dict[str, str]:
    """Metadata columns holding audio or images: {column: kind} (cached per frame)."""
    ds = loaded.dataset
    return _media(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        _frame=ds.frame,
        _columns=tuple(ds.metadata_columns),
    )


@st.cache_data(max_entries=16, show_spinner=False)
def _distinct(
    db: str, dataset_id: int, frame_key: str, column: str, limit: int, *, _frame: pd.DataFrame
) -> list[str] | None:
    values = _frame[column].dropna().astype(str)
    uniques = values.unique()
    if len(uniques) > limit:
        return None
    return sorted(map(str, uniques))


def distinct_values(loaded: Loaded, column: str, *, limit: int = 200) -> list[str] | None:
    """Sorted distinct values of a column as text, or ``None`` when there are over ``limit``."""
    return _distinct(
        loaded.db, loaded.dataset_id, loaded.frame_key, column, limit, _frame=loaded.dataset.frame
    )
