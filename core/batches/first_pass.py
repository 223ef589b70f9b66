"""The plan's first pass over the rows: what the loader keeps, class spellings, sliced values.

:func:`first_pass` runs the loader's steps on grouped batches of the role and tag columns,
counting with the rows' weights what the whole table decides: the rows kept and left out,
each class key's spellings, and the values of the sliced columns among the kept rows.

A sliced *metadata* column (a number such as ``snr_db``, with thousands of values) is left
out of those batches: with it, identical rows rarely repeat and the pass would see every
row. The loader never leaves a row out for its metadata, so its values among the kept rows
are the source's value counts, over the rows unlike the ones left out
(:meth:`value_counts_except`, an optional method of a source; without it, one more grouped
pass with the column), typed by the loader's own rule on each distinct cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.batches.pins import Pins, pinned_classes, pinned_metadata
from slicewise.core.batches.plan import each_batch
from slicewise.core.batches.role_classes import MAX_COMBINATIONS
from slicewise.core.batches.source import Batch, BatchSource, Progress
from slicewise.core.column_parsing import mask_na_tokens
from slicewise.core.column_roles import NO_COLUMN
from slicewise.core.values import as_text, class_keys

#: Role columns that can be sliced, by the name slicing knows them under.
ROLE_FIELDS = {
    "label": "label",
    "prediction": "prediction",
    "human": "human",
    "score": "score",
    "human_accuracy": "human_accuracy",  # sliceable under its canonical name, as in pandas
}


def first_pass(
    source: BatchSource,
    load_columns: tuple[dict[str, Any], tuple[str, ...]],
    fields: dict[str, tuple[str | None, str]],
    progress: Progress | None,
) -> dict[str, Any]:
    """One grouped pass: weighted class spellings, sliced values, rows kept and left out.

    Parameters
    ----------
    load_columns
        The plan's load options (``pins`` holding the sliced metadata kinds) and the
        columns the loader reads.
    fields
        Each sliced column (as named) -> (its table column, its frame column).

    Returns
    -------
    dict
        ``spellings`` (frames of :func:`spelling_counts`), ``values`` (frame column -> the
        kept rows' values with their counts, missing as NaN; index sorted), ``rows``,
        ``kept``, ``dropped`` (``(first positions, weights)`` of the rows left out, per
        batch) and ``groups`` (the distinct cells of the columns grouped on, their weights
        and first rows, for :func:`core.batches.role_classes.role_classes`; ``None`` when
        the rows were not grouped or more than its ``MAX_COMBINATIONS``).
    """
    load, columns = load_columns
    apart = sliced_metadata(fields, columns)
    load, tagged = without_tags(load)
    passed = tuple(c for c in columns if c not in apart and c not in tagged)
    spellings: list[pd.DataFrame] = []
    values: dict[str, list[pd.Series]] = {f: [] for c, f in fields.values() if c not in apart}
    rows = kept = 0
    dropped: list[tuple[np.ndarray, np.ndarray]] = []
    groups: list[Batch] | None = []  # the distinct role cells, while they are few
    for batch, dataset, kept_rows in each_batch(source, load, passed, progress=progress):
        w = np.ones(len(batch.rows), np.int64) if batch.weights is None else batch.weights
        groups = _kept_groups(groups, batch)
        at = dataset.frame["id"].to_numpy(dtype=np.int64)
        kw = w[at]
        rows, kept = rows + int(w.sum()), kept + int(kw.sum())
        if len(at) < len(w):
            lost = np.ones(len(w), dtype=bool)
            lost[at] = False
            first = batch.first_rows if batch.first_rows is not None else np.zeros(len(w))
            dropped.append((first[lost], w[lost]))
        frame = dataset.frame
        if load.get("task") != "text":
            spellings.append(spelling_counts(kept_rows, kw))
        for f in values:
            values[f].append(pd.Series(kw).groupby(frame[f].to_numpy(), dropna=False).sum())
    merged = {
        f: (pd.concat(v).groupby(level=0, dropna=False).sum() if v else pd.Series(dtype=np.int64))
        for f, v in values.items()
    }
    if apart:
        merged.update(_apart_values(source, load, passed, apart, dropped, kept))
    return {
        "spellings": spellings, "values": merged, "rows": rows, "kept": kept,
        "dropped": dropped, "groups": _joined(groups),
    }  # fmt: skip


def _kept_groups(groups: list[Batch] | None, batch: Batch) -> list[Batch] | None:
    """Add a grouped ``batch`` to ``groups``; ``None`` once ungrouped or too many rows."""
    if groups is None or batch.weights is None or batch.first_rows is None:
        return None
    if sum(len(g.rows) for g in groups) + len(batch.rows) > MAX_COMBINATIONS:
        return None
    return [*groups, batch]


def _joined(groups: list[Batch] | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray] | None:
    """Return the role groups as one frame, their weights and first rows (or ``None``)."""
    if not groups:
        return None
    frame = pd.concat([g.rows for g in groups], ignore_index=True)
    weights = np.concatenate([np.asarray(g.weights, dtype=np.int64) for g in groups])
    first = np.concatenate([np.asarray(g.first_rows, dtype=np.int64) for g in groups])
    return frame, weights, first


def without_tags(load: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Return ``load`` with the tag columns switched off, and those columns.

    Tags decide no row's fate and no class spelling; the counting pass reads them (and
    raises what the loader raises on them), so this pass groups on the roles alone.
    """
    mapping = load["mapping"]
    tagged = set(mapping.tag_columns or ()) | ({mapping.tags_column} - {None, NO_COLUMN})
    off = replace(mapping, tag_columns=(), tags_column=NO_COLUMN)
    return {**load, "mapping": off}, tagged


def sliced_metadata(
    fields: dict[str, tuple[str | None, str]], columns: Sequence[str]
) -> dict[str, str]:
    """Return the sliced metadata columns the loader reads: table column -> frame column."""
    roles = set(ROLE_FIELDS.values())
    return {c: f for c, f in fields.values() if c and c in columns and f not in roles}


def _apart_values(
    source: BatchSource,
    load: dict[str, Any],
    passed: tuple[str, ...],
    apart: dict[str, str],
    dropped: list[tuple[np.ndarray, np.ndarray]],
    kept: int,
) -> dict[str, pd.Series]:
    """Return the ``apart`` columns' values among the kept rows, typed as the loader does."""
    cols = list(apart)
    lost = np.concatenate([f for f, _ in dropped]).astype(np.int64) if dropped else None
    if lost is None or not len(lost):
        counts = source.value_counts(cols, limit=max(source.count_rows(), 1))
    elif hasattr(source, "value_counts_except"):
        counts = source.value_counts_except(cols, like=passed, positions=lost)
    else:
        return _values_by_pass(source, load, (*passed, *cols), apart)
    return {f: typed_counts(counts[c], kept, c, load) for c, f in apart.items()}


def typed_counts(
    counts: pd.Series | None, kept: int, column: str, load: dict[str, Any]
) -> pd.Series:
    """Type a column's cell counts as the batches' frames hold them, and regroup.

    ``counts``: the present cells (index, as the source reads them) and their counts among
    the ``kept`` rows; the rest of those rows are missing. Each distinct cell goes through
    the loader's rules (the missing-cell texts, then :func:`pinned_metadata` with the
    plan's kind and number format), so cells that read alike merge, as in a grouped batch.

    Returns
    -------
    pandas.Series
        int64 counts indexed by the typed values (NaN for missing), sorted.
    """
    counts = pd.Series(dtype=np.int64) if counts is None else counts
    cells = pd.Series(counts.index, dtype=counts.index.dtype, name=column)
    weights = counts.to_numpy(dtype=np.int64)
    absent = kept - int(weights.sum())
    if absent:
        cells = pd.concat([cells, pd.Series([None], dtype=cells.dtype, name=column)])
        weights = np.append(weights, absent)
    cells = cells.reset_index(drop=True)
    if load["na_values"]:
        cells = mask_na_tokens(cells.to_frame(), load["na_values"])[column]
    pins: Pins = load["pins"]
    own = (load["decimal"], load["thousands"])
    typed = pinned_metadata(
        cells, pins.metadata.get(column, "keep"), file=load["source_name"],
        **pins.numbers(column, own),
    )  # fmt: skip
    return pd.Series(weights).groupby(typed.to_numpy(), dropna=False).sum()


def _values_by_pass(
    source: BatchSource, load: dict[str, Any], columns: tuple[str, ...], apart: dict[str, str]
) -> dict[str, pd.Series]:
    """Return the ``apart`` columns' kept values from one more grouped pass that reads them."""
    values: dict[str, list[pd.Series]] = {f: [] for f in apart.values()}
    for batch, dataset, _ in each_batch(source, load, columns):
        w = np.ones(len(batch.rows), np.int64) if batch.weights is None else batch.weights
        kw = w[dataset.frame["id"].to_numpy(dtype=np.int64)]
        for f in values:
            values[f].append(pd.Series(kw).groupby(dataset.frame[f].to_numpy(), dropna=False).sum())
    return {
        f: (pd.concat(v).groupby(level=0, dropna=False).sum() if v else pd.Series(dtype=np.int64))
        for f, v in values.items()
    }


def spelling_counts(rows: Any, weights: np.ndarray) -> pd.DataFrame:
    """(key, spelling, weighted count) of the class cells (:func:`canonical_classes`' rule).

    ``rows``: the batch's kept rows as read (:class:`core.prepare_steps.Rows`).
    """
    parts = []
    for values in (rows.label, rows.prediction, rows.human):
        if values is None:
            continue
        codes, uniques = pd.factorize(values.reset_index(drop=True), use_na_sentinel=True)
        counts = np.bincount(codes[codes >= 0], weights=weights[codes >= 0], minlength=len(uniques))
        text = as_text(pd.Series(uniques, dtype=object))
        parts.append(pd.DataFrame({"key": class_keys(text), "spelling": text, "count": counts}))
    return pd.concat(parts, ignore_index=True).dropna(subset=["key"])


def spellings(parts: list[pd.DataFrame]) -> dict[str, str] | None:
    """Each class key's most frequent spelling (ties: the first in sorted order)."""
    if not parts:
        return None
    table = pd.concat(parts, ignore_index=True)
    totals = table.groupby(["key", "spelling"], sort=False)["count"].sum().reset_index()
    totals = totals.sort_values(
        ["key", "count", "spelling"], ascending=[True, False, True], kind="stable"
    )
    shown = totals.drop_duplicates("key")
    return dict(zip(shown["key"], shown["spelling"], strict=True))


def int_or(col: str, kind: str, values: dict[str, pd.Series], fields: dict[str, Any]) -> str:
    """``int`` for a numeric column of whole numbers with no gap (as typed_metadata)."""
    field = next((f for c, f in fields.values() if c == col), None)
    if kind != "float" or field is None:
        return kind
    arr = values[field].index.to_numpy(dtype=float)
    whole = len(arr) and not np.isnan(arr).any() and np.all(np.mod(arr, 1) == 0)
    return "int" if whole and np.all(np.abs(arr) < 2**63) else "float"


def typed_values(
    values: dict[str, pd.Series], fields: dict[str, tuple[str | None, str]], pins: Pins
) -> dict[str, pd.Series]:
    """Retype the first pass's sliced values as the final pins type them (counts regrouped).

    The first pass reads numbers as floats and class cells as written; the whole table
    then decides whole numbers (``int``) and each class's spelling, which the slices'
    values and names must show as the loader's frame does.
    """
    out = dict(values)
    for col, field in fields.values():
        counts = values[field]
        index = pd.Series(counts.index.to_numpy(), dtype=counts.index.dtype)
        if field in ("label", "prediction", "human"):
            index = pinned_classes({"v": index}, pins)["v"]
        elif pins.metadata.get(col) == "int":
            index = index.astype(np.int64)
        else:
            continue
        out[field] = pd.Series(counts.to_numpy()).groupby(index.to_numpy(), dropna=False).sum()
    return out
