"""View helpers of the *Tag errors* page: filters, order, the grid, selection and media.

Everything is vectorised over the whole dataset (boolean masks), so a million rows stay
fast; only the page of rows shown is ever turned into an editor frame. User text is never
evaluated: rules are :mod:`core.rules` conditions (pandas comparisons and literal or
compiled-regex string matches).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.rules import (
    OPERATORS as OPERATORS,  # re-exported for the page and older callers
)
from slicewise.core.rules import Condition, condition_mask
from slicewise.ui.text import md

AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus", ".aac", ".webm")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
CORRECTED_COLUMN = "corrected"
STATUS_COLUMN = "correct"
# Grid columns that are not tags start with a space: tag names are stripped by the store,
# so no tag can share one of these names (a tag may well be called "score"), and metadata
# columns get a prefix of their own (a file may well have a column called "pick").
SELECT_COLUMN = " pick"
SCORE_COLUMN = " score"
META_PREFIX = " · "

#: Orders of the grid: {key: what the reviewer reads}.
ORDERS: dict[str, str] = {
    "errors": "Errors first",
    "score_asc": "Score, lowest first",
    "score_desc": "Score, highest first",
}


# --------------------------------------------------------------------------- rules


def rule_mask(values: pd.Series, op: str, value: str) -> np.ndarray:
    """Return where ``values <op> value`` holds: one :class:`core.rules.Condition` on a column.

    A thin wrapper for callers holding a single column; the comparison rules are
    :func:`core.rules.condition_mask`'s.

    Raises
    ------
    InvalidValueError
        Unknown operator, a non-number compared with a numeric column, or a bad regex.
    """
    name = str(values.name) if values.name is not None else "the column"
    frame = pd.DataFrame({name: values.reset_index(drop=True)})
    return condition_mask(frame, Condition(name, op, value))


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What the reviewer narrowed the grid to.

    Attributes
    ----------
    errors_only, untagged_only
        Keep only the examples the model gets wrong / that carry no tag.
    tags
        Keep only the examples carrying every one of these tags.
    label, prediction
        Keep only the examples with this label / prediction (as text).
    search
        Keep only the examples whose id, label or prediction contains this text.
    where
        Keep only the examples where every metadata condition holds (:mod:`core.rules`).
    """

    errors_only: bool = False
    untagged_only: bool = False
    tags: tuple[str, ...] = ()
    label: str | None = None
    prediction: str | None = None
    search: str = ""
    where: tuple[Condition, ...] = ()

    @property
    def uses_tags(self) -> bool:
        """Whether the result depends on the tags (and so changes when one is ticked)."""
        return self.untagged_only or bool(self.tags)


def frame_filter_mask(
    frame: pd.DataFrame, correct: np.ndarray, filters: Filters, *, where: np.ndarray | None = None
) -> np.ndarray:
    """Return the rows kept by the filters that read the examples, not the tags.

    ``where`` is the mask of ``filters.where`` (computed and cached by the caller with
    :func:`core.rules.rule_mask`); ``None`` keeps every row.
    """
    mask = np.ones(len(frame), dtype=bool) if where is None else where.copy()
    if filters.errors_only:
        mask &= ~correct
    if filters.label is not None:
        mask &= (
            (frame["label"].astype("string") == filters.label).fillna(False).to_numpy(dtype=bool)
        )
    if filters.prediction is not None:
        mask &= (
            (frame["prediction"].astype("string") == filters.prediction)
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    needle = filters.search.strip()
    if needle:
        hit = np.zeros(len(frame), dtype=bool)
        for col in ("id", "label", "prediction"):
            hit |= (
                frame[col]
                .astype("string")
                .str.contains(needle, case=False, regex=False)
                .fillna(False)
                .to_numpy(dtype=bool)
            )
        mask &= hit
    return mask


def tag_filter_mask(tags: pd.DataFrame, filters: Filters) -> np.ndarray:
    """Return the rows kept by the filters that read the tags (untagged only, with tags)."""
    mask = np.ones(len(tags), dtype=bool)
    if filters.untagged_only and tags.shape[1]:
        mask &= ~tags.to_numpy(dtype=bool).any(axis=1)
    for tag in filters.tags:
        if tag in tags.columns:
            mask &= tags[tag].to_numpy(dtype=bool)
    return mask


def row_order(correct: np.ndarray, score: np.ndarray | None, order: str) -> np.ndarray:
    """Return every row position in the grid's ``order`` (a key of :data:`ORDERS`).

    ``errors``: the errors, then the rest, each in file order. ``score_asc`` /
    ``score_desc``: by score, ties in file order, rows without a score last.

    Raises
    ------
    ValueError
        An unknown order, or a score order without a score.
    """
    if order == "errors":
        return ordered_positions(np.ones(len(correct), dtype=bool), correct)
    if order not in ORDERS or score is None:
        raise ValueError(f"cannot order the rows by {order!r}")
    values = np.asarray(score, dtype=float)
    key = -values if order == "score_desc" else values
    return np.argsort(np.where(np.isnan(key), np.inf, key), kind="stable")


def ordered_positions(mask: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Positions of the kept rows, errors first, each group in file order."""
    idx = np.flatnonzero(mask)
    ok = correct[idx]
    return np.concatenate([idx[~ok], idx[ok]])


def kept_in_order(mask: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Return the positions ``mask`` keeps, in the order of the permutation ``order``."""
    return order[mask[order]]


def page_count(total: int, page_size: int) -> int:
    """Return the number of pages (at least 1)."""
    return max(1, -(-int(total) // int(page_size)))


def page_positions(positions: np.ndarray, page: int, page_size: int) -> np.ndarray:
    """Return the positions on 1-based ``page``."""
    start = (int(page) - 1) * int(page_size)
    return positions[start : start + int(page_size)]


# --------------------------------------------------------------------------- the grid


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("string").to_numpy(dtype=object, na_value="")


def editor_frame(
    frame: pd.DataFrame,
    tags: pd.DataFrame,
    correct: np.ndarray,
    positions: np.ndarray,
    corrected_ids: set[str],
    show_human: bool,
    *,
    columns: Sequence[str] = (),
    thumbnails: Mapping[str, Sequence[Any]] | None = None,
    selected: set[str] | None = None,
) -> pd.DataFrame:
    """Build the grid's rows for ``positions`` only.

    Columns: :data:`SELECT_COLUMN` (whether the row's id is in ``selected``), ``id``,
    ``label``, ``prediction``, the score (:data:`SCORE_COLUMN`, when the frame has one),
    each metadata column of ``columns`` (named ``META_PREFIX + column``; an image column
    shows ``thumbnails[column]`` instead of its text, one value per row), ``human`` (when
    ``show_human``), the marks (:data:`STATUS_COLUMN`, :data:`CORRECTED_COLUMN`) and one
    bool column per tag. Built in one step from arrays: it runs on every tick.
    """
    rows = frame.iloc[positions]
    ids = rows["id"].astype(str).to_numpy(dtype=object)
    out: dict[str, Any] = {
        SELECT_COLUMN: np.isin(ids, list(selected or ())),
        "id": ids,
        "label": _text(rows["label"]),
        "prediction": _text(rows["prediction"]),
    }
    if "score" in rows.columns:
        out[SCORE_COLUMN] = pd.to_numeric(rows["score"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
    for col in columns:
        if thumbnails is not None and col in thumbnails:
            out[META_PREFIX + col] = np.asarray(list(thumbnails[col]), dtype=object)
            continue
        values = rows[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        out[META_PREFIX + col] = (
            values.to_numpy(dtype=float, na_value=np.nan) if numeric else _text(values)
        )
    if show_human and "human" in rows.columns:
        out["human"] = _text(rows["human"])
    out[STATUS_COLUMN] = correct[positions].astype(bool)
    out[CORRECTED_COLUMN] = np.isin(ids, list(corrected_ids))
    for tag in tags.columns:
        out[str(tag)] = tags[tag].to_numpy(dtype=bool)[positions]
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- selection


def selection_edits(
    edited_rows: Mapping[Any, Mapping[str, Any]], ids: Sequence[Any]
) -> dict[str, bool]:
    """Read the ticks of the grid's :data:`SELECT_COLUMN`: {example id: selected}.

    ``ids`` are the ids of the rows the grid showed, in order; other columns and rows out
    of range are ignored.
    """
    out: dict[str, bool] = {}
    for row, cells in edited_rows.items():
        r = int(row)
        if 0 <= r < len(ids) and cells.get(SELECT_COLUMN) is not None:
            out[str(ids[r])] = bool(cells[SELECT_COLUMN])
    return out


def update_selection(
    selected: Sequence[str], focus: str | None, edits: Mapping[str, bool], shown: Sequence[str]
) -> tuple[list[str], str | None]:
    """Apply selection ticks; return the selected ids (in grid order) and the one to show.

    The example shown is the one selected last; when it is unticked, the last selected row
    left (in grid order); ``None`` when nothing is selected. Ids not in ``shown`` (another
    page) are dropped.
    """
    before = set(map(str, selected))
    now = (before | {i for i, on in edits.items() if on}) - {i for i, on in edits.items() if not on}
    order = [str(i) for i in shown if str(i) in now]
    added = [i for i in order if i not in before]
    if added:
        focus = added[-1]
    elif focus not in order:
        focus = order[-1] if order else None
    return order, focus


def unsaved_edits(
    edited_rows: Mapping[Any, Mapping[str, Any]], done: dict[tuple[int, str], Any]
) -> dict[int, dict[str, Any]]:
    """Return the grid's edits not handled yet, and remember them in ``done``.

    A data editor reports every edit made since it was drawn, on every run; ``done`` maps
    each ``(row, column)`` to the value last handled (saved or tried), so an edit is saved
    once however often the page reruns, and a cell ticked, unticked and ticked again is
    saved each time.
    """
    fresh: dict[int, dict[str, Any]] = {}
    for row, cells in edited_rows.items():
        for column, value in cells.items():
            cell = (int(row), str(column))
            if cell not in done or done[cell] != value:
                fresh.setdefault(int(row), {})[str(column)] = value
                done[cell] = value
    return fresh


def edits_to_changes(
    edited_rows: Mapping[Any, Mapping[str, Any]], ids: Sequence[Any], tag_names: Sequence[str]
) -> dict[tuple[str, bool], list[str]]:
    """Turn a data editor's ``edited_rows`` into {(tag, new value): [example ids]}.

    ``ids`` are the example ids of the rows the editor showed, in order; edits of other
    columns, of rows out of range and of tags that no longer exist are ignored.
    """
    out: dict[tuple[str, bool], list[str]] = {}
    known = set(map(str, tag_names))
    for row, cells in edited_rows.items():
        r = int(row)
        if not 0 <= r < len(ids):
            continue
        for tag, value in cells.items():
            if str(tag) in known and value is not None:
                out.setdefault((str(tag), bool(value)), []).append(str(ids[r]))
    return out


def ids_at(frame: pd.DataFrame, positions: np.ndarray) -> list:
    """Return the example ids (Python values, as the store expects) at ``positions``."""
    return frame["id"].iloc[positions].tolist()


# --------------------------------------------------------------------------- diffs


def word_diff(label: str, prediction: str) -> list[tuple[str, str]]:
    """Word-level difference: a list of (``equal`` | ``missing`` | ``extra``, words).

    ``missing`` words are in the label but not the prediction; ``extra`` words were
    predicted but are not in the label.
    """
    a, b = str(label).split(), str(prediction).split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("missing", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("extra", " ".join(b[j1:j2])))
    return out


def word_diff_markdown(label: str, prediction: str) -> str:
    """Render :func:`word_diff` as Markdown: ~~label words missed~~ and **words predicted**."""
    parts = []
    for kind, words in word_diff(label, prediction):
        text = md(words)
        if kind == "missing":
            parts.append(f":red[~~{text}~~]")
        elif kind == "extra":
            parts.append(f":green[**{text}**]")
        else:
            parts.append(text)
    return " ".join(parts) if parts else "_(empty)_"


# --------------------------------------------------------------------------- media


def media_columns(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """Columns holding audio or image paths, URLs or data URIs: {column: "audio" | "image"}.

    A column is media when at least half of its first 50 non-missing values end with a
    media file extension (before any ``?query``) or are ``data:audio/…`` / ``data:image/…``
    URIs.
    """
    out = {}
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        sample = values.dropna().astype(str).head(50).str.lower()
        if sample.empty:
            continue
        path = sample.str.split("?").str[0]
        if (
            path.str.endswith(AUDIO_EXTENSIONS) | sample.str.startswith("data:audio/")
        ).mean() >= 0.5:
            out[str(col)] = "audio"
        elif (
            path.str.endswith(IMAGE_EXTENSIONS) | sample.str.startswith("data:image/")
        ).mean() >= 0.5:
            out[str(col)] = "image"
    return out


def is_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL."""
    return str(value).lower().startswith(("http://", "https://"))


def is_data_uri(value: str) -> bool:
    """Whether ``value`` is a ``data:`` URI (the bytes inline, e.g. ``data:image/png;base64,…``)."""
    return str(value)[:5].lower() == "data:"


def resolve_media(value: str, roots: Sequence[Path]) -> Path | None:
    """Find a media file: the path as given, else relative to one of ``roots``; else ``None``."""
    path = Path(str(value)).expanduser()
    candidates = [path] if path.is_absolute() else [path, *(r / path for r in roots)]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    return None
