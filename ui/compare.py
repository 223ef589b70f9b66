"""Helpers of the *Compare iterations* and *Balanced splits* pages: cached core calls and views.

Every number comes from :mod:`core.compare` and :mod:`core.splits`. Cached functions take big
inputs as ``_`` arguments beside an explicit key (dataset ids, frame and tag fingerprints)
and never read ``st.session_state``. Iterations are immutable once saved, so their ids are
enough to key anything built from their stored tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
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
    review_order,
    slice_metric_names,
    union_tag_names,
)
from slicewise.core.dataset import Dataset
from slicewise.core.errors import DataError, InvalidValueError
from slicewise.core.report import to_safe_csv
from slicewise.core.slice_names import OVERALL, settings_by_row
from slicewise.core.splits import compute_split_shares, split_dataset, splits_frame
from slicewise.core.task import TaskSpec
from slicewise.ui import data, state
from slicewise.ui.data import Loaded
from slicewise.ui.text import md
from slicewise.ui.views import slice_label

TEST_NAMES = {
    "mcnemar": "McNemar (paired)",
    "two-proportion": "two-proportion z",
    "fisher": "Fisher's exact",
    "randomization": "randomization",
    "welch": "Welch's t",
    "none": "—",
}


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


@st.cache_data(max_entries=16, show_spinner="Comparing the iterations…")
def _compare(
    db: str,
    key_before: tuple,
    key_after: tuple,
    task_key: str,
    hlp: tuple,
    alpha: float,
    slice_by: tuple[str, ...] = (),
    *,
    _before: Dataset,
    _after: Dataset,
    _task: TaskSpec,
) -> tuple[pd.DataFrame, str]:
    table = compare_datasets(
        _before, _after, task=_task, hlp=dict(hlp), alpha=alpha, slice_by=slice_by
    )
    return table, describe_pairing(_before, _after).describe()


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
    table, how = _compare(
        ctx.db,
        b.key,
        a.key,
        repr(a.task),
        hlp_key,
        alpha,
        tuple(slice_by),
        _before=b.dataset,
        _after=a.dataset,
        _task=a.task,
    )
    return Comparison(table, how, True, b, a, tuple(slice_by))


@st.cache_data(max_entries=16, show_spinner="Comparing the metric…")
def _metric_changes(
    db: str,
    key_before: tuple,
    key_after: tuple,
    task_key: str,
    metric: str,
    alpha: float,
    slice_by: tuple[str, ...],
    *,
    _before: Dataset,
    _after: Dataset,
    _task: TaskSpec,
) -> pd.DataFrame:
    return compare_slice_metrics(
        _before, _after, metrics=[metric], task=_task, alpha=alpha, slice_by=slice_by
    )[metric]


@st.cache_data(max_entries=16, show_spinner="Comparing the classes…")
def _class_changes(
    db: str,
    key_before: tuple,
    key_after: tuple,
    task_key: str,
    alpha: float,
    *,
    _before: Dataset,
    _after: Dataset,
    _task: TaskSpec,
) -> ClassComparison:
    return compare_classes(_before, _after, task=_task, alpha=alpha)


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
    return _metric_changes(
        b.db,
        b.key,
        a.key,
        repr(a.task),
        metric,
        alpha,
        comparison.slice_by,
        _before=b.dataset,
        _after=a.dataset,
        _task=a.task,
    )


def class_changes(comparison: Comparison, *, alpha: float = 0.05) -> ClassComparison | None:
    """Per-class results (:func:`core.compare.compare_classes`); None without classes."""
    b, a = comparison.before, comparison.after
    if b is None or a is None or a.task.kind not in ("binary", "classification"):
        return None
    return _class_changes(
        b.db, b.key, a.key, repr(a.task), alpha, _before=b.dataset, _after=a.dataset, _task=a.task
    )


def _verdicts(t: pd.DataFrame) -> list[str]:
    return [
        "⚠ worse (significant)"
        if bad
        else "better (significant)"
        if good
        else "—"
        if test == "none"
        else "no significant change"
        for bad, good, test in zip(t["regression"], t["improvement"], t["test"], strict=True)
    ]


def metric_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One metric's comparison per slice for display (worst change first after all data)."""
    spec = METRICS[str(table["metric"].iloc[0])] if len(table) else METRICS["accuracy"]
    scale = 100 if spec.percent else 1
    rest = table[~table["kind"].isin(["overall", "untagged"])].sort_values(
        "worse_by", ascending=False, kind="stable", na_position="last"
    )
    t = pd.concat([table[table["kind"] == "overall"], rest, table[table["kind"] == "untagged"]])
    label = spec.label[0].upper() + spec.label[1:]
    value_format = "%.1f%%" if spec.percent else "%.4g"
    change_format = "%+.1f pts" if spec.percent else "%+.4g"
    view = pd.DataFrame(
        {
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "n before": t["n_before"].to_numpy(),
            "n after": t["n_after"].to_numpy(),
            "before": scale * t["before"].to_numpy(dtype=float),
            "after": scale * t["after"].to_numpy(dtype=float),
            "change": scale * t["delta"].to_numpy(dtype=float),
            "p-value": t["p_value"].to_numpy(dtype=float),
            "test": t["test"].map(TEST_NAMES).to_numpy(),
            "verdict": _verdicts(t),
        }
    )
    config: dict[str, Any] = {
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "n before": st.column_config.NumberColumn(
            "n before",
            format="localized",
            width="small",
            help=f"Examples {spec.label} counts in the slice",
        ),
        "n after": st.column_config.NumberColumn("n after", format="localized", width="small"),
        "before": st.column_config.NumberColumn(
            "Before", format=value_format, help=f"{label} before"
        ),
        "after": st.column_config.NumberColumn("After", format=value_format, help=f"{label} after"),
        "change": st.column_config.NumberColumn(
            "Change",
            format=change_format,
            help="After − before; "
            + ("higher is better" if spec.higher_is_better else "lower is better"),
        ),
        "p-value": st.column_config.NumberColumn("p-value", format="%.3g"),
        "test": st.column_config.TextColumn("Test"),
        "verdict": st.column_config.TextColumn("Verdict"),
    }
    return view, config


def class_view(result: ClassComparison) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-class precision, recall and F1 before and after, with the p-value of each change."""
    t = result.table
    view = pd.DataFrame(
        {
            "class": [str(i) for i in t.index],
            "n before": t["support_before"].to_numpy(),
            "n after": t["support_after"].to_numpy(),
        }
    )
    config: dict[str, Any] = {
        "class": st.column_config.TextColumn("Class", pinned=True),
        "n before": st.column_config.NumberColumn(
            "n before", format="localized", help="Examples labelled with the class"
        ),
        "n after": st.column_config.NumberColumn("n after", format="localized"),
    }
    for metric in ("precision", "recall", "f1"):
        label = METRICS[metric].label
        title = label[0].upper() + label[1:]
        for part in ("before", "after", "delta"):
            view[f"{metric} {part}"] = 100 * t[f"{metric}_{part}"].to_numpy(dtype=float)
        view[f"{metric} p"] = t[f"{metric}_p_value"].to_numpy(dtype=float)
        config[f"{metric} before"] = st.column_config.NumberColumn(
            f"{title} before", format="%.1f%%"
        )
        config[f"{metric} after"] = st.column_config.NumberColumn(f"{title} after", format="%.1f%%")
        config[f"{metric} delta"] = st.column_config.NumberColumn(
            f"{title} change", format="%+.1f pts"
        )
        config[f"{metric} p"] = st.column_config.NumberColumn(
            f"{title} p", format="%.3g", help=CLASS_TESTS[metric]
        )
    return view, config


#: How each per-class change is tested, for the table's help.
CLASS_TESTS = {
    "precision": "McNemar where the examples predicted as the class are the same in both "
    "iterations, else the pooled two-proportion z-test (Fisher's exact test "
    "for small counts)",
    "recall": "McNemar on the examples of the class where they are in both iterations, else "
    "the pooled two-proportion z-test (Fisher's exact test for small counts)",
    "f1": "Approximate randomization (seeded), paired where the examples are the same",
}


@st.cache_data(max_entries=8, show_spinner=False)
def history(db: str, ids: tuple[int, ...], labels: tuple[str, ...]) -> pd.DataFrame:
    """Long table of every iteration's slices (:func:`core.compare.iteration_history`)."""
    store = state.get_store()
    return iteration_history(
        [(label, store.iteration_table(i)) for i, label in zip(ids, labels, strict=True)]
    )


def comparison_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the comparison for display, in review order (what got worse first)."""
    t = review_order(table)
    flags = []
    for row in t.itertuples():
        if row.worse_while_overall_better and row.significant:
            flags.append("⚠ worse (significant)")
        elif row.worse_while_overall_better:
            flags.append("worse, could be chance")
        elif row.regression:
            flags.append("⚠ worse (significant)")
        elif row.improvement:
            flags.append("better (significant)")
        elif row.test == "none":
            flags.append("—")
        else:
            flags.append("no significant change")
    view = pd.DataFrame(
        {
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "n before": t["n_before"].to_numpy(),
            "n after": t["n_after"].to_numpy(),
            "accuracy before": 100 * t["accuracy_before"].to_numpy(dtype=float),
            "accuracy after": 100 * t["accuracy_after"].to_numpy(dtype=float),
            "change": 100 * t["delta"].to_numpy(dtype=float),
            "p-value": t["p_value"].to_numpy(dtype=float),
            "test": t["test"].map(TEST_NAMES).to_numpy(),
            "verdict": flags,
            "gap before": 100 * t["gap_before"].to_numpy(dtype=float),
            "gap after": 100 * t["gap_after"].to_numpy(dtype=float),
        }
    )
    config: dict[str, Any] = {
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "n before": st.column_config.NumberColumn("n before", format="localized", width="small"),
        "n after": st.column_config.NumberColumn("n after", format="localized", width="small"),
        "accuracy before": st.column_config.NumberColumn(
            "Before", format="%.1f%%", help="Accuracy before"
        ),
        "accuracy after": st.column_config.NumberColumn(
            "After", format="%.1f%%", help="Accuracy after"
        ),
        "change": st.column_config.NumberColumn("Change", format="%+.1f pts"),
        "gap before": st.column_config.NumberColumn(
            "Gap before", format="%+.1f pts", help="Gap to HLP before: HLP − accuracy"
        ),
        "gap after": st.column_config.NumberColumn(
            "Gap after", format="%+.1f pts", help="Gap to HLP after: HLP − accuracy"
        ),
        "verdict": st.column_config.TextColumn("Verdict"),
        "test": st.column_config.TextColumn(
            "Test",
            help="McNemar's exact test where the slice holds the same examples in "
            "both iterations; else the pooled two-proportion z-test, or Fisher's exact test "
            "for small counts",
        ),
        "p-value": st.column_config.NumberColumn("p-value", format="%.3g"),
    }
    return view, config


def callouts(table: pd.DataFrame) -> list[str]:
    """Sentences for the slices that got worse while all data improved, worst first."""
    out = []
    worse = table[table["worse_while_overall_better"]].sort_values("delta", kind="stable")
    for name, row in worse.iterrows():
        label = slice_label(str(name), str(row["kind"]))
        sure = "significant" if row["significant"] else "not significant: it could be chance"
        out.append(
            f"**{md(label)}** got worse while all data improved: "
            f"{100 * row['accuracy_before']:.1f}% → {100 * row['accuracy_after']:.1f}% "
            f"({100 * row['delta']:+.1f} pts; {TEST_NAMES[row['test']]} "
            f"p = {row['p_value']:.2g}, {sure})"
        )
    return out


def overall_row(table: pd.DataFrame) -> pd.Series:
    """Return the ``All data`` row of a comparison."""
    return table.loc[OVERALL]


# --------------------------------------------------------------------------- splits


@st.cache_data(max_entries=16, show_spinner="Splitting…")
def _splits(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    fractions: tuple[tuple[str, float], ...],
    seed: int,
    by_label: bool,
    tags: tuple[str, ...],
    *,
    _dataset: Dataset,
) -> pd.Series:
    return split_dataset(
        _dataset, fractions=dict(fractions), seed=seed, by_label=by_label, tags=list(tags)
    )


def make_splits(
    loaded: Loaded, fractions: dict[str, float], *, seed: int, by_label: bool, tags: list[str]
) -> pd.Series:
    """Balanced splits of the loaded dataset (cached per option values)."""
    return _splits(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        tuple(fractions.items()),
        int(seed),
        bool(by_label),
        tuple(tags),
        _dataset=loaded.dataset,
    )


def random_splits(loaded: Loaded, fractions: dict[str, float], *, seed: int) -> pd.Series:
    """Return a plain random split of the same sizes, for comparison."""
    return _splits(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        tuple(fractions.items()),
        int(seed),
        False,
        (),
        _dataset=loaded.dataset,
    )


def _key(splits: pd.Series) -> str:
    codes = pd.Categorical(splits.astype(str)).codes.astype("int8")
    return hashlib.sha256(codes.tobytes()).hexdigest()[:16]


@st.cache_data(max_entries=16, show_spinner=False)
def _shares(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    splits_key: str,
    with_classes: bool,
    *,
    _splits: pd.Series,
    _dataset: Dataset,
) -> pd.DataFrame:
    labels = _dataset.frame["label"] if with_classes else None
    return compute_split_shares(_splits, labels, _dataset.tags)


def shares(loaded: Loaded, splits: pd.Series, *, with_classes: bool) -> pd.DataFrame:
    """Class and tag shares per split (cached on the split assignment)."""
    return _shares(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        _key(splits),
        with_classes,
        _splits=splits,
        _dataset=loaded.dataset,
    )


def shares_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Shares side by side: one column per split (percent), the count in its help."""
    splits = [c[len("share_") :] for c in table.columns if c.startswith("share_")]
    names = [
        slice_label(n, "tag") if g == "tag" else n
        for g, n in zip(table["group"], table["name"], strict=True)
    ]
    view = pd.DataFrame({"group": table["group"].to_numpy(), "name": names})
    config: dict[str, Any] = {
        "group": st.column_config.TextColumn("", width="small"),
        "name": st.column_config.TextColumn("Class or tag"),
    }
    for split in splits:
        view[split] = 100 * table[f"share_{split}"].to_numpy(dtype=float)
        view[f"n {split}"] = table[f"n_{split}"].to_numpy()
        title = "All data" if split == "all" else split
        config[split] = st.column_config.NumberColumn(title, format="%.1f%%")
        config[f"n {split}"] = st.column_config.NumberColumn(f"n {title}", format="localized")
    view["max diff"] = 100 * table["max_diff"].to_numpy(dtype=float)
    config["max diff"] = st.column_config.NumberColumn(
        "Largest difference",
        format="%.1f pts",
        help="Largest gap between a split's share and the share in all data",
    )
    return view, config


def worst_difference(table: pd.DataFrame) -> float:
    """Largest share difference of any class or tag in any split, in points."""
    values = table["max_diff"].to_numpy(dtype=float)
    return float(100 * np.nanmax(values)) if np.isfinite(values).any() else float("nan")


@st.cache_data(max_entries=4, show_spinner=False)
def _csv(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    splits_key: str,
    *,
    _dataset: Dataset,
    _splits: pd.Series,
) -> bytes:
    return to_safe_csv(splits_frame(_dataset, _splits)).encode("utf-8")


def splits_csv(loaded: Loaded, splits: pd.Series) -> bytes:
    """Return the dataset with its tags and a ``split`` column as CSV bytes (cached)."""
    return _csv(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        _key(splits),
        _dataset=loaded.dataset,
        _splits=splits,
    )
