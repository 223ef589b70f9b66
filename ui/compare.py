"""Helpers of the *Compare iterations* and *Balanced splits* pages: cached core calls and views.

Every number comes from :mod:`core.compare` and :mod:`core.splits`. Cached functions take big
inputs as ``_`` arguments beside an explicit key (dataset ids, frame and tag fingerprints)
and never read ``st.session_state``. Iterations are immutable once saved, so their ids are
enough to key anything built from their stored tables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.compare import (
    compare_datasets,
    compare_tables,
    describe_pairing,
    iteration_history,
    review_order,
    union_tag_names,
)
from core.dataset import Dataset
from core.errors import DataError, InvalidValueError
from core.report import to_safe_csv
from core.slice_names import OVERALL, settings_by_row
from core.splits import compute_split_shares, split_dataset, splits_frame
from core.task import TaskSpec
from ui import data, state
from ui.data import Loaded
from ui.text import md
from ui.views import slice_label

TEST_NAMES = {"mcnemar": "McNemar (paired)", "two-proportion": "two-proportion z",
              "fisher": "Fisher's exact", "none": "—"}


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
            raise InvalidValueError(f"notes, line {number}: write it as name = value, e.g. "
                                    "learning_rate = 0.001")
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


def save_iteration(ctx: state.Context, loaded: Loaded, *, model_name: str, model_version: str,
                   data_version: str, notes_text: str) -> bool:
    """Save the loaded dataset's current table as an iteration; flash the outcome."""
    try:
        notes = parse_notes(notes_text)
        table = data.analysis_table(loaded)
    except DataError as exc:
        state.flash(str(exc), "error")
        return False
    return state.run_write(
        ctx.store.save_iteration, ctx.project_id, loaded.dataset_id, model_name=model_name,
        model_version=model_version, data_version=data_version, notes=notes, table=table,
        user=ctx.user,
        success=lambda i: f"Saved iteration #{i}: {model_name} {model_version}".strip())


@dataclass(frozen=True)
class Comparison:
    """A comparison of two iterations and how it was made."""

    table: pd.DataFrame
    how: str  # one sentence: how examples were matched and which tests were used
    paired_data: bool  # computed from the examples (False: from the stored tables)


@st.cache_data(max_entries=16, show_spinner="Comparing the iterations…")
def _compare(db: str, key_before: tuple, key_after: tuple, task_key: str, hlp: tuple,
             alpha: float, *, _before: Dataset, _after: Dataset,
             _task: TaskSpec) -> tuple[pd.DataFrame, str]:
    table = compare_datasets(_before, _after, task=_task, hlp=dict(hlp), alpha=alpha)
    return table, describe_pairing(_before, _after).describe()


@st.cache_data(max_entries=16, show_spinner=False)
def _compare_stored(db: str, before_id: int, after_id: int, alpha: float) -> pd.DataFrame:
    store = state.get_store()
    return compare_tables(store.iteration_table(before_id), store.iteration_table(after_id),
                          alpha=alpha)


def _load(ctx: state.Context, dataset_id: int | None) -> Loaded | None:
    if dataset_id is None or pd.isna(dataset_id):
        return None
    try:
        return data.load_current(replace(ctx, dataset_id=int(dataset_id)))
    except DataError:
        return None  # deleted since the iteration was saved


def compare_iterations(ctx: state.Context, before: dict, after: dict, *,
                       alpha: float = 0.05) -> Comparison:
    """Compare two iterations: from their examples when both datasets still exist.

    With both datasets, the comparison uses their current examples, tags and HLP settings
    (paired tests where the examples match); without, it uses the per-slice tables saved with
    the iterations (unpaired tests only).
    """
    b, a = _load(ctx, before["dataset_id"]), _load(ctx, after["dataset_id"])
    if b is None or a is None:
        table = _compare_stored(ctx.db, int(before["id"]), int(after["id"]), alpha)
        return Comparison(table, "a dataset of these iterations was deleted, so the tables "
                                 "saved with them are compared: unpaired tests only", False)
    if b.task.kind != a.task.kind:
        raise InvalidValueError(f"{b.name} is a {b.task.kind} task and {a.name} a "
                                f"{a.task.kind} task; compare iterations of one task")
    hlp = {**b.settings.get("hlp", {}), **a.settings.get("hlp", {})}
    hlp = settings_by_row(hlp, union_tag_names(b.dataset, a.dataset))  # per tag -> per row
    hlp_key = tuple(sorted((str(k), float(v)) for k, v in hlp.items()))
    table, how = _compare(ctx.db, b.key, a.key, repr(a.task), hlp_key, alpha,
                          _before=b.dataset, _after=a.dataset, _task=a.task)
    return Comparison(table, how, True)


@st.cache_data(max_entries=8, show_spinner=False)
def history(db: str, ids: tuple[int, ...], labels: tuple[str, ...]) -> pd.DataFrame:
    """Long table of every iteration's slices (:func:`core.compare.iteration_history`)."""
    store = state.get_store()
    return iteration_history([(label, store.iteration_table(i))
                              for i, label in zip(ids, labels, strict=True)])


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
    view = pd.DataFrame({
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
    })
    config: dict[str, Any] = {
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "n before": st.column_config.NumberColumn("n before", format="localized",
                                                  width="small"),
        "n after": st.column_config.NumberColumn("n after", format="localized", width="small"),
        "accuracy before": st.column_config.NumberColumn("Before", format="%.1f%%",
                                                         help="Accuracy before"),
        "accuracy after": st.column_config.NumberColumn("After", format="%.1f%%",
                                                        help="Accuracy after"),
        "change": st.column_config.NumberColumn("Change", format="%+.1f pts"),
        "gap before": st.column_config.NumberColumn(
            "Gap before", format="%+.1f pts", help="Gap to HLP before: HLP − accuracy"),
        "gap after": st.column_config.NumberColumn(
            "Gap after", format="%+.1f pts", help="Gap to HLP after: HLP − accuracy"),
        "verdict": st.column_config.TextColumn("Verdict"),
        "test": st.column_config.TextColumn(
            "Test", help="McNemar's exact test where the slice holds the same examples in "
            "both iterations; else the pooled two-proportion z-test, or Fisher's exact test "
            "for small counts"),
        "p-value": st.column_config.NumberColumn("p-value", format="%.3g"),
    }
    return view, config


def callouts(table: pd.DataFrame) -> list[str]:
    """Sentences for the slices that got worse while all data improved, worst first."""
    out = []
    worse = table[table["worse_while_overall_better"]].sort_values("delta", kind="stable")
    for name, row in worse.iterrows():
        label = slice_label(str(name), str(row["kind"]))
        sure = ("significant" if row["significant"]
                else "not significant: it could be chance")
        out.append(f"**{md(label)}** got worse while all data improved: "
                   f"{100 * row['accuracy_before']:.1f}% → {100 * row['accuracy_after']:.1f}% "
                   f"({100 * row['delta']:+.1f} pts; {TEST_NAMES[row['test']]} "
                   f"p = {row['p_value']:.2g}, {sure})")
    return out


def overall_row(table: pd.DataFrame) -> pd.Series:
    """Return the ``All data`` row of a comparison."""
    return table.loc[OVERALL]


# --------------------------------------------------------------------------- splits


@st.cache_data(max_entries=16, show_spinner="Splitting…")
def _splits(db: str, dataset_id: int, frame_key: str, tags_key: str,
            fractions: tuple[tuple[str, float], ...], seed: int, by_label: bool,
            tags: tuple[str, ...], *, _dataset: Dataset) -> pd.Series:
    return split_dataset(_dataset, fractions=dict(fractions), seed=seed, by_label=by_label,
                         tags=list(tags))


def make_splits(loaded: Loaded, fractions: dict[str, float], *, seed: int, by_label: bool,
                tags: list[str]) -> pd.Series:
    """Balanced splits of the loaded dataset (cached per option values)."""
    return _splits(loaded.db, loaded.dataset_id, loaded.frame_key, loaded.tags_key,
                   tuple(fractions.items()), int(seed), bool(by_label), tuple(tags),
                   _dataset=loaded.dataset)


def random_splits(loaded: Loaded, fractions: dict[str, float], *, seed: int) -> pd.Series:
    """Return a plain random split of the same sizes, for comparison."""
    return _splits(loaded.db, loaded.dataset_id, loaded.frame_key, loaded.tags_key,
                   tuple(fractions.items()), int(seed), False, (), _dataset=loaded.dataset)


def _key(splits: pd.Series) -> str:
    codes = pd.Categorical(splits.astype(str)).codes.astype("int8")
    return hashlib.sha256(codes.tobytes()).hexdigest()[:16]


@st.cache_data(max_entries=16, show_spinner=False)
def _shares(db: str, dataset_id: int, frame_key: str, tags_key: str, splits_key: str,
            with_classes: bool, *, _splits: pd.Series, _dataset: Dataset) -> pd.DataFrame:
    labels = _dataset.frame["label"] if with_classes else None
    return compute_split_shares(_splits, labels, _dataset.tags)


def shares(loaded: Loaded, splits: pd.Series, *, with_classes: bool) -> pd.DataFrame:
    """Class and tag shares per split (cached on the split assignment)."""
    return _shares(loaded.db, loaded.dataset_id, loaded.frame_key, loaded.tags_key, _key(splits),
                   with_classes, _splits=splits, _dataset=loaded.dataset)


def shares_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Shares side by side: one column per split (percent), the count in its help."""
    splits = [c[len("share_"):] for c in table.columns if c.startswith("share_")]
    names = [slice_label(n, "tag") if g == "tag" else n
             for g, n in zip(table["group"], table["name"], strict=True)]
    view = pd.DataFrame({"group": table["group"].to_numpy(), "name": names})
    config: dict[str, Any] = {"group": st.column_config.TextColumn("", width="small"),
                              "name": st.column_config.TextColumn("Class or tag")}
    for split in splits:
        view[split] = 100 * table[f"share_{split}"].to_numpy(dtype=float)
        view[f"n {split}"] = table[f"n_{split}"].to_numpy()
        title = "All data" if split == "all" else split
        config[split] = st.column_config.NumberColumn(title, format="%.1f%%")
        config[f"n {split}"] = st.column_config.NumberColumn(f"n {title}", format="localized")
    view["max diff"] = 100 * table["max_diff"].to_numpy(dtype=float)
    config["max diff"] = st.column_config.NumberColumn(
        "Largest difference", format="%.1f pts",
        help="Largest gap between a split's share and the share in all data")
    return view, config


def worst_difference(table: pd.DataFrame) -> float:
    """Largest share difference of any class or tag in any split, in points."""
    values = table["max_diff"].to_numpy(dtype=float)
    return float(100 * np.nanmax(values)) if np.isfinite(values).any() else float("nan")


@st.cache_data(max_entries=4, show_spinner=False)
def _csv(db: str, dataset_id: int, frame_key: str, tags_key: str, splits_key: str, *,
         _dataset: Dataset, _splits: pd.Series) -> bytes:
    return to_safe_csv(splits_frame(_dataset, _splits)).encode("utf-8")


def splits_csv(loaded: Loaded, splits: pd.Series) -> bytes:
    """Return the dataset with its tags and a ``split`` column as CSV bytes (cached)."""
    return _csv(loaded.db, loaded.dataset_id, loaded.frame_key, loaded.tags_key, _key(splits),
                _dataset=loaded.dataset, _splits=splits)
