"""Read label files, long or wide, into a validated long table (:class:`Annotations`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from slicewise.core.agreement.long_table import (
    ANNOTATOR,
    COMMENT,
    ITEM,
    LABEL,
    TIME,
    DuplicateAnnotationError,
    _as_text,
    clean_label_values,
)
from slicewise.core.dataset import read_table
from slicewise.core.errors import (
    AmbiguousColumnError,
    EmptyFileError,
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
    format_rows,
)

Layout = Literal["auto", "long", "wide"]


#: Names each column role is recognised by (compared lower-cased, spaces and hyphens as _).
ANNOTATION_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    ITEM: (
        "item",
        "item_id",
        "id",
        "example_id",
        "example",
        "image",
        "image_id",
        "sample_id",
        "uid",
        "key",
        "row_id",
        "unit",
        "subject",
        "utterance",
        "utt_id",
        "document",
        "doc_id",
    ),
    ANNOTATOR: (
        "annotator",
        "annotator_id",
        "annotator_name",
        "rater",
        "rater_id",
        "labeler",
        "labeller",
        "labeler_id",
        "labeller_id",
        "worker",
        "worker_id",
        "coder",
        "judge",
        "user",
        "user_id",
        "inspector",
        "transcriber",
        "observer",
    ),
    LABEL: (
        "label",
        "labels",
        "annotation",
        "chosen_label",
        "rating",
        "class",
        "category",
        "value",
        "answer",
        "response",
        "transcript",
        "transcription",
        "code",
        "judgement",
        "judgment",
        "y",
    ),
    TIME: (
        "time",
        "duration",
        "reaction_time",
        "rt",
        "seconds",
        "time_s",
        "time_spent",
        "timestamp",
        "labelled_at",
        "labeled_at",
        "created_at",
    ),
    COMMENT: ("comment", "comments", "note", "notes", "remark", "remarks"),
}


@dataclass
class Annotations:
    """A validated long table of multi-annotator labels.

    Attributes
    ----------
    labels
        One row per (item, annotator): columns ``item`` and ``annotator`` (text),
        ``label`` (text or numbers) and, when the file has them, ``time`` and ``comment``.
        RangeIndex.
    source_name
        The file name used in messages.
    content_hash
        SHA-256 of the file's bytes (or of the table).
    layout
        ``"long"`` or ``"wide"``: how the file was laid out.
    columns
        Which file column filled each role (``annotators`` lists the wide form's columns).
    warnings
        Legal but notable facts (items with one label, rows without a label...).
    """

    labels: pd.DataFrame
    source_name: str = "table"
    content_hash: str = ""
    layout: str = "long"
    columns: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Return a short stable key for caches."""
        key = self.content_hash + repr(sorted(self.columns.items())) + self.layout
        return hashlib.sha256(key.encode()).hexdigest()[:16]


def _norm(name: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _find_role(
    columns: Sequence[str], role: str, *, file: str, exclude: set[str], cli_flag: str
) -> str | None:
    """Return the column filling ``role`` (matched by name), or ``None`` when none does."""
    names = ANNOTATION_ROLE_NAMES[role]
    found = [c for c in columns if c not in exclude and _norm(c) in names]
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    exact = [c for c in found if _norm(c) == names[0]]
    if len(exact) == 1:
        return exact[0]
    raise AmbiguousColumnError(
        f"{file}: columns {', '.join(repr(c) for c in found)} could each be the {role} column; "
        f"choose one (CLI: {cli_flag} COLUMN)"
    )


def _check_given(df: pd.DataFrame, column: str | None, role: str, file: str) -> None:
    if column is not None and column not in df.columns:
        raise MissingColumnError(
            f"{file}: there is no column {column!r} for the {role}; the columns are "
            f"{', '.join(repr(c) for c in df.columns[:12])}"
            f"{' …' if len(df.columns) > 12 else ''}"
        )


def _blank(values: pd.Series) -> np.ndarray:
    miss = values.isna().to_numpy(dtype=bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        blank = values.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool)
        miss = miss | blank
    return miss


def _tighten(values: pd.Series) -> pd.Series:
    """Whole-number floats without missing values become int64; anything else is unchanged."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        if len(arr) and not np.isnan(arr).any() and (np.mod(arr, 1) == 0).all():
            return pd.Series(arr.astype(np.int64), index=values.index, name=values.name)
    return values


def annotations_from_frame(
    df: pd.DataFrame,
    *,
    item: str | None = None,
    annotator: str | None = None,
    label: str | None = None,
    time: str | None = None,
    comment: str | None = None,
    annotators: Sequence[str] | None = None,
    layout: Layout = "auto",
    duplicates: Literal["fail", "last"] = "fail",
    source_name: str = "table",
    content_hash: str = "",
    warnings: list[str] | None = None,
) -> Annotations:
    """Validate a table of labels, in long or wide form, and return :class:`Annotations`.

    Parameters
    ----------
    df
        Long form: one row per (item, annotator) with an item, an annotator and a label
        column (optionally time and comment). Wide form: one row per item, an item column
        and one column per annotator holding that annotator's label (blank: not labelled).
    item, annotator, label, time, comment
        Column names; ``None`` detects them by name (``item``/``id``, ``annotator``/
        ``rater``/``worker``, ``label``/``rating``/``class``, ...).
    annotators
        Wide form: the annotator columns (default: every column but the item column).
    layout
        ``"auto"`` reads the long form when an annotator column is found or given.
    duplicates
        ``"fail"`` raises when an annotator labelled an item twice; ``"last"`` keeps the
        last row and records a warning.

    Raises
    ------
    DataError
        Missing or ambiguous columns, an empty table, blank items or annotators, an
        annotator labelling an item twice.
    """
    file = source_name
    given = {"item": item, "annotator": annotator, "label": label, "time": time}
    df = _checked_frame(df, file, layout, duplicates, {**given, "comment": comment}, annotators)
    cols = list(df.columns)
    if layout != "wide" and not annotators:
        annotator = annotator or _find_role(
            cols, ANNOTATOR, file=file, exclude=set(), cli_flag="--annotator"
        )
    kept = {"file": file, "content_hash": content_hash, "warnings": list(warnings or [])}
    if layout == "long" or (layout == "auto" and annotator is not None and not annotators):
        roles = _long_roles(cols, file, {**given, "annotator": annotator, "comment": comment})
        return _from_long(df, **roles, duplicates=duplicates, **kept)
    item, wide_cols = _wide_roles(cols, file, item, annotators)
    return _from_wide(df, item=item, annotators=wide_cols, **kept)


def _checked_frame(
    df: pd.DataFrame,
    file: str,
    layout: str,
    duplicates: str,
    given: dict[str, str | None],
    annotators: Sequence[str] | None,
) -> pd.DataFrame:
    """Check the options and the given column names; return ``df`` with text column names."""
    if layout not in ("auto", "long", "wide"):
        raise InvalidValueError(f"{file}: layout must be 'auto', 'long' or 'wide', not {layout!r}")
    if duplicates not in ("fail", "last"):
        raise InvalidValueError(f"{file}: duplicates must be 'fail' or 'last', not {duplicates!r}")
    df = df.set_axis([str(c) for c in df.columns], axis=1).reset_index(drop=True)
    if df.empty:
        raise EmptyFileError(
            f"{file}: has no data rows; add one row per label (item, annotator, label)"
        )
    for role, col in given.items():
        _check_given(df, col, role, file)
    for col in annotators or ():
        _check_given(df, col, "annotator (wide form)", file)
    return df


def _long_roles(cols: list[str], file: str, given: dict[str, str | None]) -> dict[str, Any]:
    """Return the long form's columns: the given ones, the others found by name."""
    annotator = given["annotator"]
    if annotator is None:
        raise MissingColumnError(
            f"{file}: no annotator column found (looked for {', '.join(ANNOTATION_ROLE_NAMES[ANNOTATOR][:6])}…); "  # noqa: E501
            "name it 'annotator' or choose it (CLI: --annotator COLUMN), or give one "
            "column per annotator (wide form)"
        )
    taken = {annotator}
    item = given["item"] or _find_role(cols, ITEM, file=file, exclude=taken, cli_flag="--item")
    if item is None:
        raise MissingColumnError(
            f"{file}: no item column found (looked for item, item_id, id, example_id…); "
            "name it 'item' or choose it (CLI: --item COLUMN)"
        )
    taken.add(item)
    label = given["label"] or _find_role(cols, LABEL, file=file, exclude=taken, cli_flag="--label")
    if label is None:
        others = [c for c in cols if c not in taken]
        if len(others) != 1:
            raise MissingColumnError(
                f"{file}: no label column found (looked for label, rating, class, "
                "annotation…); name it 'label' or choose it (CLI: --label COLUMN)"
            )
        label = others[0]
    taken.add(label)
    time = given["time"] or _find_role(cols, TIME, file=file, exclude=taken, cli_flag="--time")
    if time:
        taken.add(time)
    comment = given["comment"] or _find_role(
        cols, COMMENT, file=file, exclude=taken, cli_flag="--comment"
    )
    return {"item": item, "annotator": annotator, "label": label, "time": time, "comment": comment}


def _wide_roles(
    cols: list[str], file: str, item: str | None, annotators: Sequence[str] | None
) -> tuple[str, list[str]]:
    """Return the wide form's item column and its annotator columns (at least two)."""
    item = item or _find_role(cols, ITEM, file=file, exclude=set(), cli_flag="--item")
    if item is None:
        raise MissingColumnError(
            f"{file}: found neither an annotator column (long form: item, annotator, label) "
            "nor an item column (wide form: item plus one column per annotator); name the "
            "columns so, or choose them (CLI: --item, --annotator, --label)"
        )
    wide_cols = list(annotators) if annotators else [c for c in cols if c != item]
    if len(wide_cols) < 2:
        raise MissingColumnError(
            f"{file}: the wide form needs one column per annotator, at least two, besides the "
            f"item column {item!r}; found {len(wide_cols)}. For the long form name the "
            "columns item, annotator, label"
        )
    return item, wide_cols


def _from_long(
    df: pd.DataFrame,
    *,
    item: str,
    annotator: str,
    label: str,
    time: str | None,
    comment: str | None,
    duplicates: str,
    file: str,
    content_hash: str,
    warnings: list[str],
) -> Annotations:
    """Return the long form as the long table: ids as text, rows without a label left out."""
    n_rows = len(df)
    for col, role in ((item, "item"), (annotator, "annotator")):
        _check_filled(df[col], col, role, file)
    labels = clean_label_values(df[label])
    no_label = labels.isna().to_numpy(dtype=bool)
    if no_label.all():
        raise MissingValuesError(
            f"{file}: the label column {label!r} is empty in every row; "
            "check the column choice (CLI: --label COLUMN)"
        )
    out = pd.DataFrame(
        {ITEM: _as_text(df[item]), ANNOTATOR: _as_text(df[annotator]), LABEL: labels}
    )
    if time:
        out[TIME] = df[time].reset_index(drop=True)
    if comment:
        out[COMMENT] = df[comment].reset_index(drop=True)
    positions = np.arange(n_rows)
    if no_label.any():
        rows = np.flatnonzero(no_label)
        warnings.append(
            f"{file}: {len(rows)} of {n_rows} rows have no label "
            f"({format_rows(rows)}); they are left out as not labelled"
        )
        out = out[~no_label].reset_index(drop=True)
        out[LABEL] = _tighten(out[LABEL])
        positions = positions[~no_label]
    out = _one_label_per_pair(out, positions, duplicates, file, warnings)
    warnings.extend(_label_warnings(out, file))
    columns = {"item": item, "annotator": annotator, "label": label}
    columns.update({"time": time, "comment": comment})
    return Annotations(
        out,
        source_name=file,
        content_hash=content_hash,
        layout="long",
        columns=columns,
        warnings=warnings,
    )


def _check_filled(values: pd.Series, col: str, role: str, file: str) -> None:
    """Raise when the item or annotator column is blank in any row."""
    miss = _blank(values)
    if miss.all():
        raise MissingValuesError(
            f"{file}: the {role} column {col!r} is empty in every row; "
            f"check the column choice (CLI: --{role} COLUMN)"
        )
    if miss.any():
        rows = np.flatnonzero(miss)
        raise MissingValuesError(
            f"{file}: the {role} column {col!r} is blank in {len(rows)} of {len(values)} rows "
            f"({format_rows(rows)}); every label needs an {role}"
        )


def _one_label_per_pair(
    out: pd.DataFrame, positions: np.ndarray, duplicates: str, file: str, warnings: list[str]
) -> pd.DataFrame:
    """Raise on a repeated (item, annotator) pair, or keep its last row (``"last"``).

    ``positions`` are the file rows of ``out``'s rows, for the messages.
    """
    dup = out.duplicated([ITEM, ANNOTATOR], keep=False).to_numpy(dtype=bool)
    if not dup.any():
        return out
    rows = positions[np.flatnonzero(dup)]
    first = out[dup].iloc[0]
    same = out[dup].groupby([ITEM, ANNOTATOR], sort=False)[LABEL].nunique().max() == 1
    what = "the same label" if same else "different labels"
    if duplicates == "fail":
        raise DuplicateAnnotationError(
            f"{file}: annotator {first[ANNOTATOR]!r} labelled item {first[ITEM]!r} more "
            f"than once ({int(dup.sum())} rows repeat an (item, annotator) pair, with "
            f"{what}: {format_rows(rows)}); keep one label per annotator and item, or "
            "load with duplicates='last' (CLI: --keep-last) to keep the last one"
        )
    keep = ~out.duplicated([ITEM, ANNOTATOR], keep="last").to_numpy(dtype=bool)
    warnings.append(
        f"{file}: {int((~keep).sum())} repeated (item, annotator) rows were "
        f"replaced by the last one ({format_rows(positions[~keep])})"
    )
    return out[keep].reset_index(drop=True)


def _from_wide(
    df: pd.DataFrame,
    *,
    item: str,
    annotators: list[str],
    file: str,
    content_hash: str,
    warnings: list[str],
) -> Annotations:
    miss = _blank(df[item])
    if miss.any():
        rows = np.flatnonzero(miss)
        raise MissingValuesError(
            f"{file}: the item column {item!r} is blank in "
            f"{format_rows(rows)}; every row needs an item id"
        )
    ids = _as_text(df[item])
    dup = ids.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        rows = np.flatnonzero(dup)
        raise DuplicateAnnotationError(
            f"{file}: item {ids[dup].iloc[0]!r} appears on more than one row "
            f"({format_rows(rows)}); in the wide form each item has one row and each "
            "annotator one column: merge those rows"
        )
    parts = []
    for col in annotators:
        values = clean_label_values(df[col])
        keep = values.notna().to_numpy(dtype=bool)
        parts.append(
            pd.DataFrame(
                {ITEM: ids[keep].to_numpy(), ANNOTATOR: str(col), LABEL: values[keep].to_numpy()}
            )
        )
    out = pd.concat(parts, ignore_index=True)
    if out.empty:
        shown = ", ".join(map(repr, annotators[:5])) + ("…" if len(annotators) > 5 else "")
        raise EmptyFileError(
            f"{file}: every annotator column ({shown}) is blank; nothing to analyse"
        )
    numeric = [pd.api.types.is_numeric_dtype(p[LABEL]) for p in parts if len(p)]
    if numeric and not all(numeric):
        out[LABEL] = clean_label_values(out[LABEL].astype(str))
    else:
        out[LABEL] = _tighten(out[LABEL])
    warnings.extend(_label_warnings(out, file))
    return Annotations(
        out,
        source_name=file,
        content_hash=content_hash,
        layout="wide",
        columns={"item": item, "annotators": list(annotators)},
        warnings=warnings,
    )


def _label_warnings(labels: pd.DataFrame, file: str) -> list[str]:
    out = []
    per_item = labels.groupby(ITEM, sort=False).size()
    single = per_item[per_item < 2]
    if len(single):
        examples = ", ".join(repr(str(i)) for i in single.index[:3])
        if len(single) == len(per_item):
            out.append(
                f"{file}: no item has 2 or more labels, so agreement cannot be measured; "
                "have at least two annotators label the same items"
            )
        else:
            out.append(
                f"{file}: {len(single)} of {len(per_item)} items have a single label "
                f"(e.g. {examples}); they count for class shares but not for agreement"
            )
    if labels[ANNOTATOR].nunique() < 2:
        out.append(f"{file}: only one annotator; agreement needs at least two")
    if labels[LABEL].nunique() < 2:
        out.append(
            f"{file}: every label is {labels[LABEL].iloc[0]!r}; kappa and alpha are "
            "undefined with a single class"
        )
    return out


def load_annotations(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    **options: Any,
) -> Annotations:
    """Read and validate a label file (CSV, TSV or Parquet) in one call.

    ``name``, ``encoding`` and ``sep`` are as in :func:`core.dataset.read_table`; the other
    options as in :func:`annotations_from_frame`.
    """
    if name is None:
        if isinstance(source, (str, Path)):
            name = Path(source).name or str(source)
        else:
            raw = getattr(source, "name", None)
            name = Path(raw).name if isinstance(raw, str) and raw else "upload"
    df, digest, warnings = read_table(source, name=name, encoding=encoding, sep=sep)
    return annotations_from_frame(
        df, source_name=name, content_hash=digest, warnings=warnings, **options
    )
