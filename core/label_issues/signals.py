"""The signals about an example's given label, each read into arrays.

- the model's class probabilities, from one column per class (:func:`find_probability_columns`,
  :func:`probabilities`);
- the human-label column, as one vote per example (:func:`human_votes`);
- annotator votes, a multi-annotator label set matched to the examples by id
  (:func:`annotator_votes`).

Classes are compared by :func:`core.values.class_keys` (``"1"`` and ``1`` are one class).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError, RowNumbers, count_of, format_rows
from slicewise.core.values import as_text, class_keys

if TYPE_CHECKING:
    from slicewise.core.agreement import Annotations

PREFIXES: tuple[str, ...] = ("prob_", "proba_", "probability_", "score_", "p_")
SUFFIXES: tuple[str, ...] = ("_prob", "_proba", "_probability", "_score")


def _norm(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _classes(frame: pd.DataFrame) -> list[str]:
    classes: dict[str, None] = {}
    for col in ("label", "prediction"):
        if col in frame.columns:
            classes.update(dict.fromkeys(frame[col].dropna().astype(str).unique()))
    return sorted(classes)


def find_probability_columns(
    frame: pd.DataFrame, classes: list[str] | None = None
) -> dict[str, str]:
    """Detect one probability/score column per class.

    Parameters
    ----------
    frame
        A dataset frame (``label`` and ``prediction`` give the classes) or any table.
    classes
        Class names (default: the values of ``label`` and ``prediction``, as text).

    Returns
    -------
    dict
        ``{class: column}`` for the naming pattern (one prefix or suffix) matching the most
        classes, compared case-insensitively with spaces and hyphens read as ``_`` (class
        ``pit mark`` matches ``prob_pit_mark``). Empty when fewer than two classes match;
        it may miss some classes (:func:`find_label_issues` then names them).
    """
    classes = _classes(frame) if classes is None else [str(c) for c in classes]
    if len(classes) < 2:
        return {}
    numeric = {
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    by_name = {_norm(c): c for c in frame.columns if c in numeric}
    best: dict[str, str] = {}
    for pattern in [(p, "") for p in PREFIXES] + [("", s) for s in SUFFIXES]:
        found = {
            c: by_name[f"{pattern[0]}{_norm(c)}{pattern[1]}"]
            for c in classes
            if f"{pattern[0]}{_norm(c)}{pattern[1]}" in by_name
        }
        if len(found) > len(best):
            best = found
    return best if len(best) >= 2 else {}


def probabilities(frame: pd.DataFrame, columns: Mapping[str, str], notes: list[str]) -> np.ndarray:
    """Return the model's class probabilities, ``len(frame) × len(columns)``, rows summing to 1.

    Scores outside 0-1 are turned into probabilities by a softmax per row, and rows that do
    not sum to 1 are divided by their sum, each with a note in ``notes``.

    Raises
    ------
    InvalidValueError
        A probability is missing or not a number, or a row's probabilities are all 0.
    """
    cols = list(columns.values())
    raw = frame[cols].apply(pd.to_numeric, errors="coerce")
    p = raw.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidValueError(
            f"the probability columns ({', '.join(map(repr, cols))}) are missing or not "
            f"numbers in {count_of(len(rows), 'row')} "
            f"({format_rows(rows, numbering=RowNumbers.of_frame(frame))}); fill them in or "
            "leave those "
            "rows out"
        )
    if (p < 0).any() or (p > 1).any():
        notes.append(
            "the class scores are not probabilities (outside 0-1): turned into "
            "probabilities with a softmax per row"
        )
        z = np.exp(p - p.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    total = p.sum(axis=1)
    if (total <= 0).any():
        rows = np.flatnonzero(total <= 0)
        raise InvalidValueError(
            f"the class probabilities are all 0 in "
            f"{format_rows(rows, numbering=RowNumbers.of_frame(frame))}; every row needs some "
            "probability"
        )
    if np.abs(total - 1).max() > 0.01:
        notes.append("the class probabilities do not sum to 1 in every row: divided by their sum")
    return p / total[:, None]


def class_index(classes: list[str]) -> dict[str, int]:
    """Return ``{comparison key: position}`` of the classes (:func:`core.values.class_keys`).

    A key shared by several classes maps to the first of them.
    """
    keys = class_keys(pd.Series(classes, dtype=object)).tolist()
    return {k: j for j, k in reversed(list(enumerate(keys)))}


def human_votes(
    frame: pd.DataFrame,
    rows: np.ndarray,
    label_keys: np.ndarray,
    index: dict[str, int],
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the human-label column as one vote per example.

    Returns the votes per model class (rows × classes), whether each example has a human
    label, and whether it equals the given label (compared by class key).
    """
    keys = class_keys(as_text(frame["human"])).iloc[rows]
    present = keys.notna().to_numpy(dtype=bool)
    votes = np.zeros((len(rows), n_classes))
    col = keys.map(index).fillna(-1).to_numpy(dtype=np.int64)
    keys = keys.to_numpy(dtype=object)
    ok = col >= 0
    votes[np.flatnonzero(ok), col[ok]] = 1.0
    return votes, present, present & (keys == label_keys)


def _item_positions(
    items: np.ndarray, frame: pd.DataFrame, name: str, notes: list[str]
) -> np.ndarray:
    """Return each annotated item's row in ``frame`` (float; NaN for an item that is no id).

    Items are matched to ``id`` as text (to the row number without an ``id`` column); the
    first row of a repeated id is used. Notes the unmatched items; raises
    :class:`InvalidValueError` when none matches.
    """
    ids = (
        as_text(frame["id"])
        if "id" in frame.columns
        else pd.Series(np.arange(len(frame)).astype(str), dtype=object)
    )
    position = pd.Series(np.arange(len(frame)), index=ids.to_numpy(dtype=object))
    position = position[~position.index.duplicated()]
    where = position.reindex(items).to_numpy(dtype=float)
    found = ~np.isnan(where)
    if not found.any():
        shown = ", ".join(map(repr, items[:3]))
        raise InvalidValueError(
            f"none of the {len(items):,} items of {name} (e.g. {shown}) is an id of the "
            f"table (its ids look like {', '.join(map(repr, ids.iloc[:3]))}); the item "
            "column must hold the predictions' ids"
        )
    if not found.all():
        notes.append(
            f"{int((~found).sum()):,} of {len(items):,} items of {name} are not ids "
            f"of the table (e.g. {', '.join(map(repr, items[~found][:3]))}): their "
            "votes were left out"
        )
    return where


def annotator_votes(
    annotations: pd.DataFrame | Annotations,
    frame: pd.DataFrame,
    rows: np.ndarray,
    label_keys: np.ndarray,
    index: dict[str, int],
    n_classes: int,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the annotators' labels of each example (items matched to ``id`` as text).

    Returns the votes per model class (rows × classes), the number of annotators per
    example and how many of them chose the given label (compared by class key).
    """
    from slicewise.core.agreement import Annotations, encode_labels

    if isinstance(annotations, Annotations):
        table, name = annotations.labels, annotations.source_name
    else:
        table, name = annotations, "the annotations"
    codes = encode_labels(table)
    items = as_text(pd.Series(codes.items, dtype=object)).to_numpy(dtype=object)
    where = _item_positions(items, frame, name, notes)
    found = ~np.isnan(where)
    to_row = np.full(len(frame), -1, dtype=np.int64)
    to_row[rows] = np.arange(len(rows))
    cells = codes.cells
    frame_pos = np.where(found, np.nan_to_num(where, nan=0), 0).astype(np.int64)[cells.item]
    r = np.where(found[cells.item], to_row[frame_pos], -1)
    class_keys_ = class_keys(as_text(pd.Series(codes.classes, dtype=object))).to_numpy(
        dtype=object
    )[cells.cls]
    col = pd.Series(class_keys_, dtype=object).map(index).fillna(-1).to_numpy(dtype=np.int64)
    inside = r >= 0
    votes = np.zeros((len(rows), n_classes))
    hit = inside & (col >= 0)
    np.add.at(votes, (r[hit], col[hit]), cells.count[hit])
    total = np.bincount(r[inside], weights=cells.count[inside], minlength=len(rows))
    same = inside.copy()
    same[inside] = class_keys_[inside] == label_keys[r[inside]]
    agree = np.bincount(r[same], weights=cells.count[same], minlength=len(rows))
    return votes, total.astype(np.int64), agree.astype(np.int64)
