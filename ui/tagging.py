"""View helpers of the *Tag errors* page: filters, rules, paging, word diffs and media.

Everything is vectorised over the whole dataset (boolean masks), so a million rows stay
fast; only the page of rows shown is ever turned into an editor frame. User text is never
evaluated: rules are pandas comparisons and literal or compiled-regex string matches.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidValueError
from ui.text import md

OPERATORS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "contains", "regex")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".m4a", ".opus", ".aac", ".webm")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
MAX_REGEX_LENGTH = 200
CORRECTED_COLUMN = "corrected"
STATUS_COLUMN = "correct"


# --------------------------------------------------------------------------- rules


def _as_number(value: str) -> float | None:
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def rule_mask(values: pd.Series, op: str, value: str) -> np.ndarray:
    """Return where ``values <op> value`` holds, as a boolean array (missing values: False).

    Numeric columns compare as numbers (the value must parse as one); other columns compare
    as text. ``contains`` is a literal, case-insensitive substring test; ``regex`` a
    case-insensitive regular-expression search.

    Raises
    ------
    InvalidValueError
        Unknown operator, a non-number compared with a numeric column, or a bad regex.
    """
    if op not in OPERATORS:
        raise InvalidValueError(f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    name = str(values.name) if values.name is not None else "the column"
    numeric = (pd.api.types.is_numeric_dtype(values)
               and not pd.api.types.is_bool_dtype(values))
    if op in ("contains", "regex"):
        text = values.astype("string")
        if op == "contains":
            hit = text.str.contains(str(value), case=False, regex=False)
        else:
            pattern = str(value)
            if len(pattern) > MAX_REGEX_LENGTH:
                raise InvalidValueError(f"the regex is longer than {MAX_REGEX_LENGTH} characters")
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise InvalidValueError(f"{pattern!r} is not a valid regex: {exc}") from None
            with warnings.catch_warnings():  # groups are fine: we only test for a match
                warnings.filterwarnings("ignore", "This pattern is interpreted", UserWarning)
                hit = text.str.contains(compiled, regex=True)
        return hit.fillna(False).to_numpy(dtype=bool)
    left: pd.Series
    right: float | str
    if numeric:
        number = _as_number(value)
        if number is None:
            raise InvalidValueError(f"column {name!r} holds numbers; {value!r} is not a number")
        left, right = pd.Series(values.to_numpy(dtype=float)), number
    else:
        left, right = values.astype("string").str.strip().reset_index(drop=True), str(value).strip()
        if op in ("<", "<=", ">", ">="):
            # Text order is rarely meant; compare as numbers when both sides parse.
            number = _as_number(value)
            as_num = pd.to_numeric(values, errors="coerce")
            if number is not None and as_num.notna().any():
                left, right = pd.Series(as_num.to_numpy(dtype=float)), number
    compare = {"==": left.eq, "!=": left.ne, "<": left.lt, "<=": left.le, ">": left.gt,
               ">=": left.ge}[op]
    result = compare(right).astype("boolean").fillna(False).to_numpy(dtype=bool)
    return result & left.notna().to_numpy()


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What the reviewer narrowed the table to."""

    errors_only: bool = True
    untagged_only: bool = False
    tags: tuple[str, ...] = ()
    label: str | None = None
    prediction: str | None = None
    search: str = ""


def filter_mask(frame: pd.DataFrame, tags: pd.DataFrame, correct: np.ndarray,
                filters: Filters) -> np.ndarray:
    """Return the rows the filters keep, as a boolean array aligned with ``frame``."""
    mask = np.ones(len(frame), dtype=bool)
    if filters.errors_only:
        mask &= ~correct
    if filters.untagged_only and tags.shape[1]:
        mask &= ~tags.to_numpy(dtype=bool).any(axis=1)
    for tag in filters.tags:
        if tag in tags.columns:
            mask &= tags[tag].to_numpy(dtype=bool)
    if filters.label is not None:
        mask &= (frame["label"].astype("string") == filters.label).fillna(False).to_numpy(
            dtype=bool)
    if filters.prediction is not None:
        mask &= (frame["prediction"].astype("string") == filters.prediction).fillna(
            False).to_numpy(dtype=bool)
    needle = filters.search.strip()
    if needle:
        hit = np.zeros(len(frame), dtype=bool)
        for col in ("id", "label", "prediction"):
            hit |= frame[col].astype("string").str.contains(
                needle, case=False, regex=False).fillna(False).to_numpy(dtype=bool)
        mask &= hit
    return mask


def ordered_positions(mask: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Positions of the kept rows, errors first, each group in file order."""
    idx = np.flatnonzero(mask)
    ok = correct[idx]
    return np.concatenate([idx[~ok], idx[ok]])


def page_count(total: int, page_size: int) -> int:
    """Return the number of pages (at least 1)."""
    return max(1, -(-int(total) // int(page_size)))


def page_positions(positions: np.ndarray, page: int, page_size: int) -> np.ndarray:
    """Return the positions on 1-based ``page``."""
    start = (int(page) - 1) * int(page_size)
    return positions[start:start + int(page_size)]


def editor_frame(frame: pd.DataFrame, tags: pd.DataFrame, correct: np.ndarray,
                 positions: np.ndarray, corrected_ids: set[str],
                 show_human: bool) -> pd.DataFrame:
    """Build the editor's rows for ``positions`` only: id, label, prediction, marks, tags."""
    rows = frame.iloc[positions]
    out = pd.DataFrame({
        "id": rows["id"].astype(str).to_numpy(),
        "label": rows["label"].astype("string").to_numpy(dtype=object, na_value=""),
        "prediction": rows["prediction"].astype("string").to_numpy(dtype=object, na_value=""),
    })
    if show_human and "human" in rows.columns:
        out["human"] = rows["human"].astype("string").to_numpy(dtype=object, na_value="")
    out[STATUS_COLUMN] = correct[positions].astype(bool)
    out[CORRECTED_COLUMN] = out["id"].isin(corrected_ids).to_numpy()
    for tag in tags.columns:
        out[str(tag)] = tags[tag].to_numpy(dtype=bool)[positions]
    return out


def tag_changes(before: pd.DataFrame, after: pd.DataFrame,
                tag_names: Sequence[str]) -> dict[tuple[str, bool], list[str]]:
    """Compare the editor's input and output: {(tag, new value): [example ids]}.

    Only tag columns count; rows are matched by position (the editor has fixed rows).
    """
    out: dict[tuple[str, bool], list[str]] = {}
    if len(before) != len(after):
        return out
    ids = before["id"].astype(str).to_numpy()
    for tag in tag_names:
        if tag not in before.columns or tag not in after.columns:
            continue
        old = before[tag].fillna(False).to_numpy(dtype=bool)
        new = after[tag].fillna(False).to_numpy(dtype=bool)
        for value in (True, False):
            changed = (new != old) & (new == value)
            if changed.any():
                out[(str(tag), value)] = ids[changed].tolist()
    return out


def edits_to_changes(edited_rows: Mapping[Any, Mapping[str, Any]], ids: Sequence[Any],
                     tag_names: Sequence[str]) -> dict[tuple[str, bool], list[str]]:
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
    """Columns holding audio or image paths/URLs: {column: "audio" | "image"}."""
    out = {}
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        sample = values.dropna().astype(str).head(50).str.lower().str.split("?").str[0]
        if sample.empty:
            continue
        if sample.str.endswith(AUDIO_EXTENSIONS).mean() >= 0.5:
            out[str(col)] = "audio"
        elif sample.str.endswith(IMAGE_EXTENSIONS).mean() >= 0.5:
            out[str(col)] = "image"
    return out


def is_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL."""
    return str(value).lower().startswith(("http://", "https://"))


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
