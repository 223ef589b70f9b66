"""Cached comparisons of the *Compare iterations* page: saving, comparing, history.

Every number comes from :mod:`core.compare`. The cached comparisons take the two loaded
datasets themselves, keyed on their examples, tags and task through
:data:`ui.data.BY_DATA`; the stored tables are keyed on the iterations' ids (an iteration is
immutable once saved). Nothing here reads ``st.session_state``. The tables are shaped for
display by :mod:`ui.compare_views` and laid out by :mod:`ui.compare_page`; the Balanced splits
page's steps are in :mod:`ui.splits`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core.compare import (
    METRICS,
    ClassComparison,
    compare_classes,
    compare_datasets,
    compare_slice_metrics,
    compare_tables,
    describe_pairing,
    iteration_history,
    slice_metric_names,
    union_tag_names,
)
from slicewise.core.errors import DataError, InvalidValueError
from slicewise.core.slice_names import settings_by_row
from slicewise.ui import data, state
from slicewise.ui.data import Loaded

# --------------------------------------------------------------------------- iterations


def iteration_label(row: Any) -> str:
    """``#3 speech-asr 1.1 · v2: + car-noise augmentation`` for a row of list_iterations."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    version = f" {get('model_version')}" if get("model_version") else ""
    data_version = f" · {get('data_version')}" if get("data_version") else ""
    return f"#{int(get('id'))} {get('model_name')}{version}{data_version}"


def parse_notes(text: str) -> dict[str, Any]:
    """Parse ``name = value`` lines (or ``name: value``) into a dict; numbers stay numbers.

    Values are read as JSON where they are (``0.001``, ``true``, ``[1, 2]``), else kept as
    text. Blank lines are skipped.

    Raises
    ------
    core.errors.InvalidValueError
        A line without ``=`` or ``:``, or without a name.
    """
    notes: dict[str, Any] = {}
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        sep = "=" if "=" in line else ":" if ":" in line else None
        if sep is None:
            raise InvalidValueError(
                f"notes, line {number}: write it as name = value, e.g. learning_rate = 0.001"
            )
        name, _, raw = line.partition(sep)
        if not name.strip():
            raise InvalidValueError(f"notes, line {number}: the name before {sep!r} is empty")
        raw = raw.strip()
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        notes[name.strip()] = value
    return notes


def save_iteration(
    ctx: state.Context,
    loaded: Loaded,
    *,
    model_name: str,
    model_version: str,
    data_version: str,
    notes_text: str,
) -> bool:
    """Save the loaded dataset's current table as an iteration; flash the outcome."""
    try:
        notes = parse_notes(notes_text)
        table = data.analysis_table(loaded)
    except DataError as exc:
        state.flash(str(exc), "error")
        return False
    return state.run_write(
        ctx.store.save_iteration,
        ctx.project_id,
        loaded.dataset_id,
        model_name=model_name,
        model_version=model_version,
        data_version=data_version,
        notes=notes,
        table=table,
        user=ctx.user,
        success=lambda i: f"Saved iteration #{i}: {model_name} {model_version}".strip(),
    )


@dataclass(frozen=True)
class Comparison:
    """A comparison of two iterations and how it was made."""

    table: pd.DataFrame
    how: str  # one sentence: how examples were matched and which tests were used
    paired_data: bool  # computed from the examples (False: from the stored tables)
    before: Loaded | None = None  # the datasets compared, when both still exist
    after: Loaded | None = None
    slice_by: tuple[str, ...] = ()  # columns sliced by besides the tags


@st.cache_data(max_entries=16, show_spinner="Comparing the iterations…", hash_funcs=data.BY_DATA)
def _compare(
    before: Loaded, after: Loaded, hlp: tuple, alpha: float, slice_by: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str]:
    b, a = before.dataset, after.dataset
    table = compare_datasets(b, a, task=after.task, hlp=dict(hlp), alpha=alpha, slice_by=slice_by)
    return table, describe_pairing(b, a).describe()


@st.cache_data(max_entries=16, show_spinner=False)
def _compare_stored(db: str, before_id: int, after_id: int, alpha: float) -> pd.DataFrame:
    store = state.get_store()
    return compare_tables(
        store.iteration_table(before_id), store.iteration_table(after_id), alpha=alpha
    )


def _load(ctx: state.Context, dataset_id: int | None) -> Loaded | None:
    if dataset_id is None or pd.isna(dataset_id):
        return None
    try:
        return data.load_current(replace(ctx, dataset_id=int(dataset_id)))
    except DataError:
        return None  # deleted since the iteration was saved


def slice_by_options(ctx: state.Context, after: dict) -> list[str]:
    """Columns the AFTER iteration's dataset can be sliced by (none once it is deleted)."""
    loaded = _load(ctx, after["dataset_id"])
    return [] if loaded is None else data.sliceable_columns(loaded)


def unsliceable_options(ctx: state.Context, after: dict) -> dict[str, int]:
    """Columns of the AFTER dataset left out for too many values -> their number of values."""
    loaded = _load(ctx, after["dataset_id"])
    return {} if loaded is None else data.unsliceable_columns(loaded)


def compare_iterations(
    ctx: state.Context,
    before: dict,
    after: dict,
    *,
    alpha: float = 0.05,
    slice_by: Sequence[str] = (),
) -> Comparison:
    """Compare two iterations: from their examples when both datasets still exist.

    With both datasets, the comparison uses their current examples, tags and HLP settings
    (paired tests where the examples match) and slices by ``slice_by`` too; without, it uses
    the per-slice tables saved with the iterations (unpaired tests only, no ``slice_by``).
    """
    b, a = _load(ctx, before["dataset_id"]), _load(ctx, after["dataset_id"])
    if b is None or a is None:
        table = _compare_stored(ctx.db, int(before["id"]), int(after["id"]), alpha)
        return Comparison(
            table,
            "a dataset of these iterations was deleted, so the tables "
            "saved with them are compared: unpaired tests only",
            False,
        )
    if b.task.kind != a.task.kind:
        raise InvalidValueError(
            f"{b.name} is a {b.task.kind} task and {a.name} a "
            f"{a.task.kind} task; compare iterations of one task"
        )
    hlp = {**b.settings.get("hlp", {}), **a.settings.get("hlp", {})}
    hlp = settings_by_row(hlp, union_tag_names(b.dataset, a.dataset))  # per tag -> per row
    hlp_key = tuple(sorted((str(k), float(v)) for k, v in hlp.items()))
    table, how = _compare(b, a, hlp_key, alpha, tuple(slice_by))
    return Comparison(table, how, True, b, a, tuple(slice_by))


@st.cache_data(max_entries=16, show_spinner="Comparing the metric…", hash_funcs=data.BY_DATA)
def _metric_changes(
    before: Loaded, after: Loaded, metric: str, alpha: float, slice_by: tuple[str, ...]
) -> pd.DataFrame:
    return compare_slice_metrics(
        before.dataset,
        after.dataset,
        metrics=[metric],
        task=after.task,
        alpha=alpha,
        slice_by=slice_by,
    )[metric]


@st.cache_data(max_entries=16, show_spinner="Comparing the classes…", hash_funcs=data.BY_DATA)
def _class_changes(before: Loaded, after: Loaded, alpha: float) -> ClassComparison:
    return compare_classes(before.dataset, after.dataset, task=after.task, alpha=alpha)


def metric_options(comparison: Comparison) -> list[str]:
    """Metrics the slice table can follow: accuracy, and the task's others given the examples."""
    if comparison.after is None or comparison.before is None:
        return ["accuracy"]
    return slice_metric_names(comparison.after.task.kind)


def metric_label(metric: str) -> str:
    """``FPR: false positive rate FP / (FP + TN), ...`` for the metric picker."""
    spec = METRICS[metric]
    return f"{spec.label[0].upper()}{spec.label[1:]}: {spec.definition}"


def metric_changes(comparison: Comparison, metric: str, *, alpha: float = 0.05) -> pd.DataFrame:
    """One metric before and after per slice (:func:`core.compare.compare_slice_metrics`)."""
    b, a = comparison.before, comparison.after
    if b is None or a is None:
        raise InvalidValueError(
            f"{METRICS[metric].label} needs both iterations' examples; a "
            "dataset of these iterations was deleted"
        )
    return _metric_changes(b, a, metric, alpha, comparison.slice_by)


def class_changes(comparison: Comparison, *, alpha: float = 0.05) -> ClassComparison | None:
    """Per-class results (:func:`core.compare.compare_classes`); None without classes."""
    b, a = comparison.before, comparison.after
    if b is None or a is None or a.task.kind not in ("binary", "classification"):
        return None
    return _class_changes(b, a, alpha)


@st.cache_data(max_entries=8, show_spinner=False)
def history(db: str, ids: tuple[int, ...], labels: tuple[str, ...]) -> pd.DataFrame:
    """Long table of every iteration's slices (:func:`core.compare.iteration_history`)."""
    store = state.get_store()
    return iteration_history(
        [(label, store.iteration_table(i)) for i, label in zip(ids, labels, strict=True)]
    )
