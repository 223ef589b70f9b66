"""Label consistency: load multi-annotator labels, measure agreement, find a consensus, clean.

The long table
--------------
Every function works on one *long table* of labels, one row per (item, annotator):

``item``
    The item's id as text (an ``id`` of the predictions dataset when one is linked).
``annotator``
    Who labelled it, as text.
``label``
    The label: text, or numbers (then Krippendorff's alpha is also given at the ordinal and
    interval levels).
``time``, ``comment``
    Optional: seconds spent (or a timestamp) and a free-text comment, carried along.

An item may be labelled by any subset of the annotators: every metric handles missing
ratings. Items with a single label count towards the class shares (Fleiss, AC1) but cannot
show agreement or disagreement.

Speed
-----
Everything derives from the sparse *count matrix* items × classes (how many annotators gave
each class to each item), built once with :func:`numpy.bincount` and held in
:class:`LabelCodes`; percent agreement, Fleiss' kappa, Krippendorff's alpha (nominal) and
Gwet's AC1 are sums over it. Pairwise Cohen's kappa uses one pass per label-position
offset within items. Pass a :class:`LabelCodes` (from :func:`encode_labels`) instead of the
DataFrame to reuse the encoding across calls. 100,000 items × 5 annotators take well under a
second for the whole summary. scikit-learn (Cohen), statsmodels (Fleiss) and the
``krippendorff`` package are the independent checks in the tests; the ``krippendorff``
package computes alpha at the ordinal, interval and ratio levels here.

Every input problem is a :class:`core.errors.DataError` subclass naming the file, the
column, the rows and the fix.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from slicewise.core.dataset import Dataset, read_table
from slicewise.core.errors import (
    AmbiguousColumnError,
    DuplicateIdError,
    EmptyFileError,
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
    format_rows,
)
from slicewise.core.metrics import OVERALL
from slicewise.core.report import to_safe_csv
from slicewise.core.slice_names import tag_slice_names
from slicewise.core.values import canonical_classes, class_keys

ITEM, ANNOTATOR, LABEL, TIME, COMMENT = "item", "annotator", "label", "time", "comment"
LONG_COLUMNS = (ITEM, ANNOTATOR, LABEL)
BORDERLINE = "borderline"
Layout = Literal["auto", "long", "wide"]
Level = Literal["nominal", "ordinal", "interval", "ratio"]

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

#: Display name and one-line definition of every summary metric.
METRICS: dict[str, tuple[str, str]] = {
    "percent_agreement": (
        "Percent agreement",
        "mean over items (with 2+ labels) of the share of annotator pairs giving the same "
        "label: the chance that two random annotators agree",
    ),
    "mean_pairwise_cohen_kappa": (
        "Cohen's kappa (mean of pairs)",
        "Cohen's kappa of every pair of annotators on the items both labelled, averaged over "
        "the pairs (Light's kappa)",
    ),
    "fleiss_kappa": (
        "Fleiss' kappa",
        "(P̄ − P̄e) / (1 − P̄e): P̄ the percent agreement, P̄e the sum of squared mean class "
        "shares (Fleiss 1971; Gwet 2014 for varying numbers of labels)",
    ),
    "krippendorff_alpha": (
        "Krippendorff's alpha",
        "1 − observed / expected disagreement, from the coincidence matrix of pairable "
        "labels (nominal; Krippendorff 2011)",
    ),
    "krippendorff_alpha_ordinal": (
        "Krippendorff's alpha (ordinal)",
        "alpha with ordinal distances: disagreements between far-apart ranks weigh more",
    ),
    "krippendorff_alpha_interval": (
        "Krippendorff's alpha (interval)",
        "alpha with squared numeric differences as distances",
    ),
    "gwet_ac1": (
        "Gwet's AC1",
        "(P̄ − Pe) / (1 − Pe) with Pe = Σ π(1 − π) / (q − 1): chance agreement that stays low "
        "when one class dominates (Gwet 2008)",
    ),
}


class DuplicateAnnotationError(DuplicateIdError):
    """An annotator labelled the same item more than once."""


# --------------------------------------------------------------------------- loading


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


def _as_text(values: pd.Series) -> pd.Series:
    """Ids as stripped text; whole-number floats lose their ``.0`` (so 12.0 matches "12")."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(arr)
        if ok.any() and (np.mod(arr[ok], 1) == 0).all():
            values = values.astype("Int64")
    return values.astype("string").str.strip().astype(object)


def clean_label_values(values: pd.Series) -> pd.Series:
    """Return labels as text, one spelling per class (the contract of :mod:`core.values`).

    Cells naming one class by :func:`core.values.class_keys` (``1`` and ``1.0``; ``true``,
    ``TRUE`` and ``yes``) take that class's most frequent spelling; ``007`` stays ``007``.
    Missing and blank values are ``None``.
    """
    values = values.reset_index(drop=True)
    return canonical_classes({"label": values})["label"]


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
    warnings = list(warnings or [])
    if layout not in ("auto", "long", "wide"):
        raise InvalidValueError(f"{file}: layout must be 'auto', 'long' or 'wide', not {layout!r}")
    if duplicates not in ("fail", "last"):
        raise InvalidValueError(f"{file}: duplicates must be 'fail' or 'last', not {duplicates!r}")
    df = df.set_axis([str(c) for c in df.columns], axis=1).reset_index(drop=True)
    if df.empty:
        raise EmptyFileError(
            f"{file}: has no data rows; add one row per label (item, annotator, label)"
        )
    for col, role in (
        (item, "item"),
        (annotator, "annotator"),
        (label, "label"),
        (time, "time"),
        (comment, "comment"),
    ):
        _check_given(df, col, role, file)
    for col in annotators or ():
        _check_given(df, col, "annotator (wide form)", file)

    cols = list(df.columns)
    if layout != "wide" and not annotators:
        annotator = annotator or _find_role(
            cols, ANNOTATOR, file=file, exclude=set(), cli_flag="--annotator"
        )
    if layout == "long" or (layout == "auto" and annotator is not None and not annotators):
        if annotator is None:
            raise MissingColumnError(
                f"{file}: no annotator column found (looked for {', '.join(ANNOTATION_ROLE_NAMES[ANNOTATOR][:6])}…); "  # noqa: E501
                "name it 'annotator' or choose it (CLI: --annotator COLUMN), or give one "
                "column per annotator (wide form)"
            )
        taken = {annotator}
        item = item or _find_role(cols, ITEM, file=file, exclude=taken, cli_flag="--item")
        if item is None:
            raise MissingColumnError(
                f"{file}: no item column found (looked for item, item_id, id, example_id…); "
                "name it 'item' or choose it (CLI: --item COLUMN)"
            )
        taken.add(item)
        label = label or _find_role(cols, LABEL, file=file, exclude=taken, cli_flag="--label")
        if label is None:
            others = [c for c in cols if c not in taken]
            if len(others) == 1:
                label = others[0]
            else:
                raise MissingColumnError(
                    f"{file}: no label column found (looked for label, rating, class, "
                    "annotation…); name it 'label' or choose it (CLI: --label COLUMN)"
                )
        taken.add(label)
        time = time or _find_role(cols, TIME, file=file, exclude=taken, cli_flag="--time")
        if time:
            taken.add(time)
        comment = comment or _find_role(
            cols, COMMENT, file=file, exclude=taken, cli_flag="--comment"
        )
        return _from_long(
            df,
            item=item,
            annotator=annotator,
            label=label,
            time=time,
            comment=comment,
            duplicates=duplicates,
            file=file,
            content_hash=content_hash,
            warnings=warnings,
        )

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
    return _from_wide(
        df, item=item, annotators=wide_cols, file=file, content_hash=content_hash, warnings=warnings
    )


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
    n_rows = len(df)
    for col, role in ((item, "item"), (annotator, "annotator")):
        miss = _blank(df[col])
        if miss.all():
            raise MissingValuesError(
                f"{file}: the {role} column {col!r} is empty in every row; "
                f"check the column choice (CLI: --{role} COLUMN)"
            )
        if miss.any():
            rows = np.flatnonzero(miss)
            raise MissingValuesError(
                f"{file}: the {role} column {col!r} is blank in {len(rows)} of {n_rows} rows "
                f"({format_rows(rows)}); every label needs an {role}"
            )
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
    dup = out.duplicated([ITEM, ANNOTATOR], keep=False).to_numpy(dtype=bool)
    if dup.any():
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
        out = out[keep].reset_index(drop=True)
    warnings.extend(_label_warnings(out, file))
    return Annotations(
        out,
        source_name=file,
        content_hash=content_hash,
        layout="long",
        columns={
            "item": item,
            "annotator": annotator,
            "label": label,
            "time": time,
            "comment": comment,
        },
        warnings=warnings,
    )


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


def check_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """Check a long table has the columns item, annotator, label and no blank cell in them."""
    if not isinstance(labels, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of labels, got {type(labels).__name__}")
    missing = [c for c in LONG_COLUMNS if c not in labels.columns]
    if missing:
        raise MissingColumnError(
            f"the label table lacks the column(s) {', '.join(map(repr, missing))}; it needs "
            "item, annotator and label (load files with load_annotations)"
        )
    if labels.empty:
        raise EmptyFileError("the label table has no rows")
    for col in LONG_COLUMNS:
        miss = labels[col].isna().to_numpy(dtype=bool)
        if miss.any():
            rows = np.flatnonzero(miss)
            raise MissingValuesError(
                f"the {col} column is missing in {format_rows(rows)}; "
                "drop those rows or fill them in"
            )
    return labels


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class Cells:
    """The sparse count matrix items × classes: one entry per (item, class) that occurs.

    Attributes
    ----------
    item, cls, count
        Per non-zero cell: item code, class code and how many annotators gave that class.
        Sorted by item, then class.
    n_items, n_classes
        Size of the matrix (items include those without a label only when built from a
        count table).
    """

    item: np.ndarray
    cls: np.ndarray
    count: np.ndarray
    n_items: int
    n_classes: int

    @property
    def per_item(self) -> np.ndarray:
        """Number of labels of each item (``m``)."""
        return np.bincount(self.item, weights=self.count, minlength=self.n_items)

    def subset(self, items: np.ndarray) -> Cells:
        """Return the cells of the items where the boolean mask ``items`` is true."""
        keep = items[self.item]
        return Cells(
            self.item[keep], self.cls[keep], self.count[keep], self.n_items, self.n_classes
        )


def _group_sum(
    keys: np.ndarray, weights: np.ndarray | None = None, dense_limit: int = 20_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum ``weights`` (or count) per distinct key: (distinct keys, sums, inverse index)."""
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    top = int(keys.max()) + 1
    if top <= dense_limit:
        sums = np.bincount(keys, weights=weights, minlength=top)
        present = np.bincount(keys, minlength=top) > 0
        uniq = np.flatnonzero(present)
        lookup = np.full(top, -1, dtype=np.int64)
        lookup[uniq] = np.arange(len(uniq))
        return uniq, sums[uniq], lookup[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inv, weights=weights, minlength=len(uniq)), inv


@dataclass(frozen=True)
class LabelCodes:
    """A long table of labels encoded as integer codes, with its count matrix.

    Attributes
    ----------
    items, annotators, classes
        The distinct values, in code order (classes sorted, numerically when numeric).
    item, annotator, label
        Per label row: the codes.
    cell
        Per label row: its entry in :attr:`cells`.
    cells
        The sparse count matrix items × classes.
    numeric
        Whether the classes are numbers (then ordinal and interval alpha apply).
    """

    items: pd.Index
    annotators: pd.Index
    classes: pd.Index
    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    cell: np.ndarray
    cells: Cells
    numeric: bool
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_labels(self) -> int:
        """Number of labels (rows)."""
        return len(self.item)


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed types: compare as text
        codes, uniques = pd.factorize(values.astype(str), sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def encode_labels(labels: pd.DataFrame | LabelCodes) -> LabelCodes:
    """Encode a long table (see the module docstring) once, for every metric to reuse.

    Raises
    ------
    DataError
        Missing columns or blank cells, or an annotator labelling an item twice.
    """
    if isinstance(labels, LabelCodes):
        return labels
    check_labels(labels)
    item, items = _factorize(labels[ITEM])
    annotator, annotators = _factorize(labels[ANNOTATOR])
    lab = labels[LABEL]
    numeric = bool(pd.api.types.is_numeric_dtype(lab) and not pd.api.types.is_bool_dtype(lab))
    label, classes = _factorize(lab)
    n_items, n_ann, n_cls = len(items), len(annotators), len(classes)
    pair = item * n_ann + annotator
    if n_items * n_ann <= 50_000_000:
        seen = np.bincount(pair, minlength=n_items * n_ann)
        dup = seen[pair] > 1
    else:
        dup = pd.Series(pair).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        raise DuplicateAnnotationError(
            f"annotator {annotators[annotator[rows[0]]]!r} labelled item "
            f"{items[item[rows[0]]]!r} more than once ({len(rows)} rows repeat an (item, "
            f"annotator) pair: {format_rows(rows)}); keep one label per annotator and item"
        )
    key = item * n_cls + label
    uniq, counts, inv = _group_sum(key)
    cells = Cells(
        (uniq // max(n_cls, 1)).astype(np.int64),
        (uniq % max(n_cls, 1)).astype(np.int64),
        counts.astype(np.int64),
        n_items,
        n_cls,
    )
    return LabelCodes(items, annotators, classes, item, annotator, label, inv, cells, numeric)


def cells_from_counts(counts: pd.DataFrame | np.ndarray) -> Cells:
    """Build :class:`Cells` from a dense count table (rows items, columns classes).

    For data published as per-item counts only, such as CIFAR-10H; the annotator-level
    metrics (Cohen's kappa, per-annotator tables) need the long table.
    """
    arr = np.asarray(counts)
    if arr.ndim != 2:
        raise InvalidValueError(f"a count table must be 2-D (items × classes), got {arr.ndim}-D")
    if (arr < 0).any() or not np.all(np.mod(arr, 1) == 0):
        raise InvalidValueError("a count table must hold non-negative whole numbers")
    arr = arr.astype(np.int64)
    rows, cols = np.nonzero(arr)
    return Cells(
        rows.astype(np.int64), cols.astype(np.int64), arr[rows, cols], arr.shape[0], arr.shape[1]
    )


def compute_label_counts(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Return the count matrix: index item, one column per class, annotators per cell."""
    codes = encode_labels(labels)
    c = codes.cells
    dense = np.zeros((c.n_items, c.n_classes), dtype=np.int64)
    dense[c.item, c.cls] = c.count
    return pd.DataFrame(
        dense, index=pd.Index(codes.items, name=ITEM), columns=pd.Index(codes.classes, name=LABEL)
    )


# --------------------------------------------------------------------------- count metrics


def _item_stats(c: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: number of labels m, agreeing ordered pairs Σ n(n−1), and whether m ≥ 1."""
    m = c.per_item
    agree = np.bincount(c.item, weights=c.count * (c.count - 1.0), minlength=c.n_items)
    return m, agree, m > 0


def _percent_agreement(c: Cells) -> tuple[float, int]:
    """Mean over items with 2+ labels of Σ_k n_ik(n_ik − 1) / (m_i(m_i − 1))."""
    m, agree, _ = _item_stats(c)
    pairable = m >= 2
    if not pairable.any():
        return np.nan, 0
    return float(np.mean(agree[pairable] / (m[pairable] * (m[pairable] - 1)))), int(pairable.sum())


def _class_shares(c: Cells) -> np.ndarray:
    """π_k: mean over items with a label of the share of the item's labels in class k."""
    m, _, labelled = _item_stats(c)
    n = int(labelled.sum())
    if n == 0:
        return np.full(c.n_classes, np.nan)
    return np.bincount(c.cls, weights=c.count / m[c.item], minlength=c.n_classes) / n


def _fleiss(c: Cells) -> tuple[float, float, float]:
    """Fleiss' kappa as (kappa, P̄, P̄e); Gwet's (2014) form for varying labels per item."""
    pa, _ = _percent_agreement(c)
    pi = _class_shares(c)
    pe = float(np.sum(pi**2))
    return _chance_corrected(pa, pe), pa, pe


def _gwet_ac1(c: Cells, n_classes: int | None = None) -> tuple[float, float, float]:
    """Gwet's AC1 as (ac1, Pa, Pe) with Pe = Σ π_k(1 − π_k)/(q − 1)."""
    pa, _ = _percent_agreement(c)
    pi = _class_shares(c)
    q = n_classes if n_classes is not None else int(np.count_nonzero(pi > 0))
    if q < 2:
        return np.nan, pa, np.nan
    pe = float(np.sum(pi * (1 - pi)) / (q - 1))
    return _chance_corrected(pa, pe), pa, pe


def _chance_corrected(po: float, pe: float) -> float:
    if np.isnan(po) or np.isnan(pe) or np.isclose(pe, 1.0):
        return np.nan
    return float((po - pe) / (1 - pe))


def _coincidence_diagonal(c: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's o_cc (diagonal of the coincidence matrix) and n_c, pairable items only."""
    m = c.per_item
    pm = m[c.item]
    ok = pm >= 2
    w = np.zeros(len(pm))
    w[ok] = 1.0 / (pm[ok] - 1)
    o_cc = np.bincount(
        c.cls[ok], weights=(c.count * (c.count - 1.0) * w)[ok], minlength=c.n_classes
    )
    n_c = np.bincount(c.cls[ok], weights=c.count[ok].astype(float), minlength=c.n_classes)
    return o_cc, n_c


def _alpha_nominal(c: Cells) -> tuple[float, float, float]:
    """Krippendorff's nominal alpha as (alpha, 1 − D_o, 1 − D_e)."""
    o_cc, n_c = _coincidence_diagonal(c)
    n = n_c.sum()
    if n < 2:
        return np.nan, np.nan, np.nan
    do = (n - o_cc.sum()) / n
    de = (n * n - np.sum(n_c**2)) / (n * (n - 1))
    if de == 0:
        return np.nan, 1 - do, 1 - de
    return float(1 - do / de), float(1 - do), float(1 - de)


def compute_coincidence_matrix(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Return Krippendorff's coincidence matrix (classes × classes).

    ``o_ck = Σ_u n_uc · n_uk / (m_u − 1)`` over items ``u`` with ``m_u ≥ 2`` labels (with
    ``n_uc(n_uc − 1)`` on the diagonal): how often, across all pairs of labels on one item,
    one label is ``c`` and the other ``k``. Rows sum to ``n_c``, the pairable labels of
    class ``c``. Symmetric.
    """
    codes = encode_labels(labels)
    return pd.DataFrame(
        _coincidences(codes.cells),
        index=pd.Index(codes.classes, name=LABEL),
        columns=pd.Index(codes.classes, name=LABEL),
    )


def _alpha_metric(c: Cells, values: np.ndarray, level: str) -> float:
    """Krippendorff's alpha at ``level`` with the ``krippendorff`` package (from counts)."""
    import krippendorff

    m = c.per_item
    keep_items = m >= 2
    if keep_items.sum() == 0 or len(values) < 2:
        return np.nan
    sub = c.subset(keep_items)
    rows = np.cumsum(keep_items) - 1
    dense = np.zeros((int(keep_items.sum()), c.n_classes), dtype=np.int64)
    dense[rows[sub.item], sub.cls] = sub.count
    used = dense.sum(axis=0) > 0
    if used.sum() < 2:
        return np.nan
    return float(
        krippendorff.alpha(
            value_counts=dense[:, used],
            value_domain=np.asarray(values, dtype=float)[used],
            level_of_measurement=level,
        )
    )


# --------------------------------------------------------------------------- pairwise


def _pair_confusions(codes: LabelCodes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All pairs of labels on the same item, grouped by (annotator pair, label pair).

    Returns arrays (pair id = low annotator × A + high annotator, low annotator's label,
    high annotator's label, count).
    """
    n_ann, n_cls = len(codes.annotators), max(len(codes.classes), 1)
    order = np.argsort(codes.item, kind="stable")  # counting sort would not be faster here
    item = codes.item[order]
    ann = codes.annotator[order]
    lab = codes.label[order]
    keys = []
    cand = np.arange(len(item) - 1)
    d = 1
    while len(cand):
        cand = cand[cand + d < len(item)]
        cand = cand[item[cand + d] == item[cand]]
        if not len(cand):
            break
        a1, a2 = ann[cand], ann[cand + d]
        l1, l2 = lab[cand], lab[cand + d]
        swap = a1 > a2
        lo = np.where(swap, a2, a1)
        hi = np.where(swap, a1, a2)
        llo = np.where(swap, l2, l1)
        lhi = np.where(swap, l1, l2)
        keys.append(((lo * n_ann + hi) * n_cls + llo) * n_cls + lhi)
        d += 1
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    uniq, counts, _ = _group_sum(np.concatenate(keys))
    pair = uniq // (n_cls * n_cls)
    llo = (uniq // n_cls) % n_cls
    lhi = uniq % n_cls
    return pair, llo, lhi, counts


def compute_pairwise_agreement(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators, on the items both labelled.

    Returns
    -------
    pandas.DataFrame
        One row per pair that shares at least one item: ``annotator_a``, ``annotator_b``
        (``a < b``), ``n_items`` (items both labelled), ``agreement`` (share of those items
        with the same label, ``p_o``), ``chance_agreement`` (``p_e = Σ_k p_a(k) p_b(k)``
        from each annotator's own class shares on those items) and ``cohen_kappa``
        ``= (p_o − p_e) / (1 − p_e)`` (NaN when ``p_e = 1``). Same values as
        :func:`sklearn.metrics.cohen_kappa_score` on each pair.
    """
    codes = encode_labels(labels)
    if "pairs" not in codes.cache:
        codes.cache["pairs"] = _pairwise(codes)
    return codes.cache["pairs"].copy()


def _pairwise(codes: LabelCodes) -> pd.DataFrame:
    n_ann, n_cls = len(codes.annotators), max(len(codes.classes), 1)
    pair, llo, lhi, counts = _pair_confusions(codes)
    cols = ["annotator_a", "annotator_b", "n_items", "agreement", "chance_agreement", "cohen_kappa"]
    if not len(pair):
        return pd.DataFrame(columns=cols)
    pairs, n, inv = _group_sum(pair, counts)
    agree = np.bincount(inv, weights=counts * (llo == lhi), minlength=len(pairs))
    # marginals per (pair, class) for each side, then Σ_k m_a(k) m_b(k) per pair
    ka, ma, _ = _group_sum(inv * n_cls + llo, counts)
    kb, mb, _ = _group_sum(inv * n_cls + lhi, counts)
    common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    prod = np.bincount(common // n_cls, weights=ma[ia] * mb[ib], minlength=len(pairs))
    po = agree / n
    pe = prod / (n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(np.isclose(pe, 1.0), np.nan, (po - pe) / (1 - pe))
    return pd.DataFrame(
        {
            "annotator_a": codes.annotators[pairs // n_ann].to_numpy(),
            "annotator_b": codes.annotators[pairs % n_ann].to_numpy(),
            "n_items": n.astype(np.int64),
            "agreement": po,
            "chance_agreement": pe,
            "cohen_kappa": kappa,
        },
        columns=cols,
    )


def compute_cohen_kappa_matrix(
    labels: pd.DataFrame | LabelCodes, *, min_items: int = 1
) -> pd.DataFrame:
    """Return the annotators × annotators matrix of pairwise Cohen's kappa.

    Symmetric, 1 on the diagonal, NaN for pairs sharing fewer than ``min_items`` items (see
    :func:`compute_pairwise_agreement` for the definition).
    """
    codes = encode_labels(labels)
    names = list(codes.annotators)
    mat = pd.DataFrame(
        np.nan, index=pd.Index(names, name="annotator"), columns=pd.Index(names, name="annotator")
    )
    pairs = compute_pairwise_agreement(codes)
    pairs = pairs[pairs["n_items"] >= min_items]
    for a, b, k in zip(
        pairs["annotator_a"], pairs["annotator_b"], pairs["cohen_kappa"], strict=True
    ):
        mat.loc[a, b] = k
        mat.loc[b, a] = k
    for a in names:
        mat.loc[a, a] = 1.0
    return mat


def _mean_kappa(pairs: pd.DataFrame, min_items: int) -> tuple[float, float, float, int]:
    use = pairs[(pairs["n_items"] >= min_items) & pairs["cohen_kappa"].notna()]
    if use.empty:
        return np.nan, np.nan, np.nan, 0
    return (
        float(use["cohen_kappa"].mean()),
        float(use["agreement"].mean()),
        float(use["chance_agreement"].mean()),
        len(use),
    )


# --------------------------------------------------------------------------- summary

SUMMARY_COLUMNS = [
    "name",
    "value",
    "observed_agreement",
    "chance_agreement",
    "n_items",
    "n_labels",
    "definition",
]


def _summary_rows(
    c: Cells, *, codes: LabelCodes | None, min_pair_items: int, pairs: pd.DataFrame | None = None
) -> dict[str, dict[str, Any]]:
    m = c.per_item
    pairable = m >= 2
    n_items = int(pairable.sum())
    n_labels = int(m[pairable].sum())
    pa, _ = _percent_agreement(c)
    fk, fpo, fpe = _fleiss(c)
    q = int(np.count_nonzero(np.bincount(c.cls, weights=c.count, minlength=c.n_classes)))
    ac1, apo, ape = _gwet_ac1(c, q)
    al, alo, ale = _alpha_nominal(c)
    rows: dict[str, dict[str, Any]] = {
        "percent_agreement": {"value": pa, "observed_agreement": pa, "chance_agreement": np.nan},
    }
    if codes is not None:
        if pairs is None:
            pairs = compute_pairwise_agreement(codes)
        k, kpo, kpe, n_pairs = _mean_kappa(pairs, min_pair_items)
        rows["mean_pairwise_cohen_kappa"] = {
            "value": k,
            "observed_agreement": kpo,
            "chance_agreement": kpe,
            "n_pairs": n_pairs,
        }
    rows["fleiss_kappa"] = {"value": fk, "observed_agreement": fpo, "chance_agreement": fpe}
    rows["krippendorff_alpha"] = {"value": al, "observed_agreement": alo, "chance_agreement": ale}
    if codes is not None and codes.numeric and len(codes.classes) >= 2:
        values = codes.classes.to_numpy(dtype=float)
        for level in ("ordinal", "interval"):
            rows[f"krippendorff_alpha_{level}"] = {
                "value": _alpha_metric(c, values, level),
                "observed_agreement": np.nan,
                "chance_agreement": np.nan,
            }
    rows["gwet_ac1"] = {"value": ac1, "observed_agreement": apo, "chance_agreement": ape}
    for r in rows.values():
        r["n_items"] = n_items
        r["n_labels"] = n_labels
    return rows


def _summary_frame(rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["name"] = [METRICS[k][0] for k in out.index]
    out["definition"] = [METRICS[k][1] for k in out.index]
    out.index.name = "metric"
    extra = [c for c in out.columns if c not in SUMMARY_COLUMNS]
    return out[SUMMARY_COLUMNS + extra]


def compute_agreement_summary(
    labels: pd.DataFrame | LabelCodes, *, min_pair_items: int = 5
) -> pd.DataFrame:
    """Every agreement metric, side by side with the raw agreement it corrects.

    Parameters
    ----------
    labels
        The long table (or its :class:`LabelCodes`).
    min_pair_items
        Pairs of annotators sharing fewer items are left out of the mean Cohen's kappa.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric`` (``percent_agreement``, ``mean_pairwise_cohen_kappa``,
        ``fleiss_kappa``, ``krippendorff_alpha``, with numeric labels also
        ``krippendorff_alpha_ordinal`` and ``krippendorff_alpha_interval``, and
        ``gwet_ac1``); columns ``name`` (for display), ``value``, ``observed_agreement``
        (the raw agreement the metric starts from: P̄ for Fleiss and AC1, 1 − D_o for alpha,
        the mean pairwise ``p_o`` for Cohen), ``chance_agreement`` (what it expects by
        chance), ``n_items`` and ``n_labels`` (items with 2+ labels and their labels),
        ``definition`` and, for Cohen's kappa, ``n_pairs``. Each metric's definition is in
        :data:`METRICS`. NaN where a metric is undefined (a single class, no item with two
        labels).
    """
    codes = encode_labels(labels)
    return _summary_frame(_summary_rows(codes.cells, codes=codes, min_pair_items=min_pair_items))


def compute_agreement_from_counts(counts: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """Return the summary of :func:`compute_agreement_summary` from a count table.

    Percent agreement, Fleiss' kappa, Krippendorff's nominal alpha and Gwet's AC1 depend
    only on how many annotators chose each class for each item, so they are exact from
    counts; Cohen's kappa needs annotator ids and is left out.
    """
    cells = cells_from_counts(counts)
    return _summary_frame(_summary_rows(cells, codes=None, min_pair_items=1))


def agreement_caution(summary: pd.DataFrame, *, high: float = 0.8, low: float = 0.6) -> str | None:
    """One line when raw agreement is high but kappa/alpha are low (class imbalance); else None."""
    get = summary["value"].get
    pa = get("percent_agreement", np.nan)
    corrected = [get(k, np.nan) for k in ("fleiss_kappa", "krippendorff_alpha")]
    corrected = [v for v in corrected if pd.notna(v)]
    if pd.isna(pa) or not corrected or pa < high or min(corrected) >= low:
        return None
    ac1 = get("gwet_ac1", np.nan)
    return (
        f"Raw agreement is high ({pa:.0%}) but kappa/alpha are low ({min(corrected):.2f}): "
        "when one class dominates, chance agreement is high and kappa is pulled down; "
        f"Gwet's AC1 ({ac1:.2f}) is less sensitive to that."
    )


# --------------------------------------------------------------------------- consensus


def _item_top(
    c: Cells, score: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the winning cell (highest score, then best rank), its score, number tied."""
    order = np.lexsort((rank[c.cls], -score, c.item))
    items_sorted = c.item[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = items_sorted[1:] != items_sorted[:-1]
    win = np.full(c.n_items, -1, dtype=np.int64)
    win[items_sorted[first]] = order[first]
    best = np.full(c.n_items, np.nan)
    has = win >= 0
    best[has] = score[win[has]]
    tied = np.bincount(c.item, weights=np.isclose(score, best[c.item]), minlength=c.n_items)
    return win, best, tied.astype(np.int64)


def _class_rank(c: Cells) -> np.ndarray:
    """Tie-break order of classes: most labels overall first, then class order."""
    total = np.bincount(c.cls, weights=c.count, minlength=c.n_classes)
    rank = np.empty(c.n_classes, dtype=np.int64)
    rank[np.lexsort((np.arange(c.n_classes), -total))] = np.arange(c.n_classes)
    return rank


def compute_annotator_weights(labels: pd.DataFrame | LabelCodes) -> pd.Series:
    """Quality weights: each annotator's agreement with the majority of the others.

    Returns
    -------
    pandas.Series
        Indexed by annotator: the share of their labels equal to the other annotators'
        majority label, over items where the others have a unique majority (see
        :func:`compute_annotator_stats`, column ``agreement_with_consensus``). NaN for an
        annotator never compared.
    """
    stats = compute_annotator_stats(labels)
    return stats["agreement_with_consensus"].rename("weight")


def compute_consensus(
    labels: pd.DataFrame | LabelCodes,
    *,
    weights: pd.Series | Mapping[str, float] | str | None = None,
) -> pd.DataFrame:
    """Majority vote per item, with ties flagged.

    Parameters
    ----------
    labels
        The long table (or its codes).
    weights
        ``None``: one vote per label. ``"agreement"``: quality-weighted, each annotator's
        vote weighs their agreement with the others' majority
        (:func:`compute_annotator_weights`). A Series/mapping annotator -> weight: those
        weights (missing annotators weigh 0).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``item``: ``consensus`` (the label with most votes; a tie goes to the
        class with most labels overall), ``n_labels``, ``votes`` (votes for the consensus;
        weighted votes when weighted), ``vote_share`` (votes / all votes), ``tie`` (another
        label has as many votes), ``tied_labels`` (the tied labels, ``" | "``-joined,
        empty when no tie), ``n_classes`` (distinct labels given), ``unanimous`` and
        ``entropy`` (vote entropy in bits, 0 when unanimous).
    """
    codes = encode_labels(labels)
    c = codes.cells
    if weights is None:
        score = c.count.astype(float)
    else:
        if isinstance(weights, str):
            if weights != "agreement":
                raise InvalidValueError(
                    f"weights must be None, 'agreement' or a mapping, not {weights!r}"
                )
            w = compute_annotator_weights(codes)
        else:
            w = pd.Series(weights, dtype=float)
        per_ann = w.reindex(codes.annotators).fillna(0.0).clip(lower=0).to_numpy(dtype=float)
        score = np.bincount(codes.cell, weights=per_ann[codes.annotator], minlength=len(c.item))
    rank = _class_rank(c)
    win, best, tied = _item_top(c, score, rank)
    m = c.per_item
    total = np.bincount(c.item, weights=score, minlength=c.n_items)
    n_cls = np.bincount(c.item, minlength=c.n_items)
    p = c.count / m[c.item]
    entropy = np.bincount(c.item, weights=-p * np.log2(p), minlength=c.n_items)
    has = win >= 0
    consensus = np.empty(c.n_items, dtype=object)
    consensus[has] = codes.classes.to_numpy()[c.cls[win[has]]]
    tie = tied > 1
    tied_labels = np.full(c.n_items, "", dtype=object)
    if tie.any():
        tcell = np.isclose(score, best[c.item]) & tie[c.item]
        names = codes.classes.astype(str).to_numpy()
        joined = pd.Series(names[c.cls[tcell]]).groupby(c.item[tcell]).agg(" | ".join)
        tied_labels[joined.index.to_numpy()] = joined.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = best / total
    out = pd.DataFrame(
        {
            "consensus": consensus,
            "n_labels": m.astype(np.int64),
            "votes": best,
            "vote_share": share,
            "tie": tie,
            "tied_labels": tied_labels,
            "n_classes": n_cls.astype(np.int64),
            "unanimous": n_cls == 1,
            "entropy": np.abs(entropy),
        },
        index=pd.Index(codes.items, name=ITEM),
    )
    if weights is None:
        out["votes"] = out["votes"].astype(np.int64)
    return out


# --------------------------------------------------------------------------- per annotator


def _max_per_item(item: np.ndarray, values: np.ndarray, n_items: int) -> np.ndarray:
    """Maximum of ``values`` per item (0 for items without cells); ``item`` must be sorted."""
    out = np.zeros(n_items)
    if len(item):
        starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
        out[item[starts]] = np.maximum.reduceat(values, starts)
    return out


def _truth_codes(codes: LabelCodes, truth: pd.Series | None) -> np.ndarray | None:
    """Per item, the class code of the ground truth (−1: unknown or a class never used)."""
    if truth is None:
        return None
    t = pd.Series(truth)
    t.index = t.index.astype(str)
    t = t[~t.index.duplicated()].reindex(codes.items.astype(str))
    values = clean_label_values(t.reset_index(drop=True))
    lookup = {(str(k) if not codes.numeric else k): i for i, k in enumerate(codes.classes)}
    if codes.numeric:
        num = pd.to_numeric(values, errors="coerce")
        out = np.array([lookup.get(v, -1) if pd.notna(v) else -2 for v in num], dtype=np.int64)
    else:
        out = np.array(
            [lookup.get(str(v), -1) if v is not None and v == v else -2 for v in values],
            dtype=np.int64,
        )
    return out


def compute_annotator_stats(
    labels: pd.DataFrame | LabelCodes, *, truth: pd.Series | None = None, min_pair_items: int = 5
) -> pd.DataFrame:
    """Per annotator: how often they agree with the others, the consensus and the truth.

    Parameters
    ----------
    truth
        Optional ground truth, a Series indexed by item id.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``: ``n_labels``; ``agreement_with_others`` (over their labels
        on items with 2+ labels, the mean share of the *other* annotators giving the same
        label); ``agreement_with_consensus`` (share of their labels equal to the others'
        majority, over ``n_consensus_items`` items where the others have a unique majority;
        leaving the annotator out avoids counting their own vote); ``mean_cohen_kappa``
        (mean over pairs with at least ``min_pair_items`` shared items); ``accuracy`` (share
        of labels equal to the ground truth, over ``n_with_truth`` labelled items with a
        known truth; NaN without truth). Sorted by ``agreement_with_consensus``, lowest
        first, so the annotator to talk to first is on top.
    """
    codes = encode_labels(labels)
    c = codes.cells
    n_ann = len(codes.annotators)
    m = c.per_item[codes.item]
    own = c.count[codes.cell]
    pairable = m >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        with_others = np.where(pairable, (own - 1) / (m - 1), np.nan)
    n_labels = np.bincount(codes.annotator, minlength=n_ann)
    n_pairable = np.bincount(codes.annotator, weights=pairable, minlength=n_ann)
    sum_others = np.bincount(codes.annotator, weights=np.nan_to_num(with_others), minlength=n_ann)

    # Leave-one-out majority: per item the top count t1, how many classes share it, and the
    # largest count below t1.
    t1 = _max_per_item(c.item, c.count, c.n_items)
    at_top = c.count == t1[c.item]
    n_top = np.bincount(c.item, weights=at_top, minlength=c.n_items)
    t2 = _max_per_item(c.item, np.where(at_top, 0, c.count), c.n_items)
    i = codes.item
    lab_top = at_top[codes.cell]
    # the annotator's class is the unique top: the others' majority is it iff t1 − 1 > t2
    agree = lab_top & (n_top[i] == 1) & (t1[i] - 1 > t2[i])
    compared = np.where(
        lab_top & (n_top[i] == 1),
        t1[i] - 1 > t2[i],
        np.where(lab_top, n_top[i] == 2, n_top[i] == 1),
    )
    compared &= pairable
    agree &= compared
    n_cons = np.bincount(codes.annotator, weights=compared, minlength=n_ann)
    n_agree = np.bincount(codes.annotator, weights=agree, minlength=n_ann)

    pairs = compute_pairwise_agreement(codes)
    use = pairs[(pairs["n_items"] >= min_pair_items) & pairs["cohen_kappa"].notna()]
    both = pd.concat(
        [
            use[["annotator_a", "cohen_kappa"]].set_axis(["annotator", "k"], axis=1),
            use[["annotator_b", "cohen_kappa"]].set_axis(["annotator", "k"], axis=1),
        ]
    )
    kappa = both.groupby("annotator")["k"].mean().reindex(codes.annotators)

    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "n_labels": n_labels.astype(np.int64),
                "agreement_with_others": np.where(n_pairable > 0, sum_others / n_pairable, np.nan),
                "agreement_with_consensus": np.where(n_cons > 0, n_agree / n_cons, np.nan),
                "n_consensus_items": n_cons.astype(np.int64),
                "mean_cohen_kappa": kappa.to_numpy(dtype=float),
            },
            index=pd.Index(codes.annotators, name=ANNOTATOR),
        )
        tcodes = _truth_codes(codes, truth)
        if tcodes is not None:
            known = tcodes[codes.item] != -2
            right = known & (tcodes[codes.item] == codes.label)
            n_truth = np.bincount(codes.annotator, weights=known, minlength=n_ann)
            n_right = np.bincount(codes.annotator, weights=right, minlength=n_ann)
            out["accuracy"] = np.where(n_truth > 0, n_right / n_truth, np.nan)
            out["n_with_truth"] = n_truth.astype(np.int64)
        else:
            out["accuracy"] = np.nan
            out["n_with_truth"] = 0
    return out.sort_values(
        ["agreement_with_consensus", "n_labels"],
        ascending=[True, False],
        na_position="last",
        kind="stable",
    )


# --------------------------------------------------------------------------- per class


def _alpha_of(c: Cells) -> float:
    return _alpha_nominal(c)[0]


def _pairable_products(c: Cells) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the coincidence matrix O, W and the number of items with 2+ labels.

    ``W = Σ_u n_uc n_uk / (m_u(m_u − 1))`` (off-diagonal) gives the percent agreement after
    merging two classes.
    """
    from scipy import sparse

    m = c.per_item
    ok = (m >= 2)[c.item]
    mat = sparse.csr_matrix(
        (c.count[ok].astype(float), (c.item[ok], c.cls[ok])), shape=(c.n_items, c.n_classes)
    )
    w1 = np.zeros(c.n_items)
    w2 = np.zeros(c.n_items)
    big = m >= 2
    w1[big] = 1.0 / (m[big] - 1)
    w2[big] = 1.0 / (m[big] * (m[big] - 1))
    left1 = sparse.diags(w1) @ mat
    o = (left1.T @ mat).toarray()
    o[np.diag_indices_from(o)] -= np.asarray(left1.sum(axis=0)).ravel()
    w = ((sparse.diags(w2) @ mat).T @ mat).toarray()
    return o, w, int(big.sum())


def _coincidences(c: Cells) -> np.ndarray:
    return _pairable_products(c)[0]


def _alpha_from_o(o: np.ndarray) -> float:
    n_c = o.sum(axis=1)
    n = n_c.sum()
    de = n * n - np.sum(n_c**2)
    if n < 2 or de <= 0:
        return np.nan
    return float(1 - (n - 1) * (n - np.trace(o)) / de)


def compute_class_agreement(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Per class: how consistently annotators use it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``label``: ``n_labels`` (labels of this class), ``share`` (of all
        labels), ``n_items`` (items where at least one annotator chose it),
        ``specific_agreement`` (``o_cc / n_c``: given one annotator chose the class on an
        item with 2+ labels, the chance another annotator of that item chose it too) and
        ``alpha_vs_rest`` (Krippendorff's alpha with every other class merged into one,
        ``1 − (n − 1)(n_c − o_cc) / (n_c (n − n_c))``: how reliably this class is told
        apart). Sorted by ``specific_agreement``, lowest first.
    """
    codes = encode_labels(labels)
    c = codes.cells
    k = c.n_classes
    n_labels = np.bincount(c.cls, weights=c.count, minlength=k)
    n_items = np.bincount(c.cls, minlength=k)
    o, _, _ = _pairable_products(c)
    o_cc = np.diag(o)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.where(
            (n_c > 0) & (n_c < n), 1 - (n - 1) * (n_c - o_cc) / (n_c * (n - n_c)), np.nan
        )
        out = pd.DataFrame(
            {
                "n_labels": n_labels.astype(np.int64),
                "share": n_labels / n_labels.sum(),
                "n_items": n_items.astype(np.int64),
                "specific_agreement": np.where(n_c > 0, o_cc / n_c, np.nan),
                "alpha_vs_rest": rest,
            },
            index=pd.Index(codes.classes, name=LABEL),
        )
    return out.sort_values("specific_agreement", na_position="last", kind="stable")


def _items_with_both(c: Cells, a_idx: np.ndarray, b_idx: np.ndarray) -> np.ndarray:
    """For each class pair (a < b), the number of items given both classes."""
    k = max(c.n_classes, 1)
    keys = []
    cand = np.arange(len(c.item) - 1)
    d = 1
    while len(cand):
        cand = cand[cand + d < len(c.item)]
        cand = cand[c.item[cand + d] == c.item[cand]]
        if not len(cand):
            break
        keys.append(c.cls[cand] * k + c.cls[cand + d])  # cells are sorted: class a < b
        d += 1
    if not keys:
        return np.zeros(len(a_idx), dtype=np.int64)
    uniq, sums, _ = _group_sum(np.concatenate(keys))
    found = pd.Series(sums, index=uniq)
    return found.reindex(a_idx * k + b_idx).fillna(0).to_numpy(dtype=np.int64)


def find_confused_pairs(
    labels: pd.DataFrame | LabelCodes, *, min_coincidences: float = 0.0
) -> pd.DataFrame:
    """Pairs of classes annotators confuse: candidates to merge or to define better.

    From the coincidence matrix (:func:`compute_coincidence_matrix`): for classes ``a`` and
    ``b``, ``o_ab`` counts the pairs of labels on one item where one annotator said ``a``
    and the other ``b`` (each pair weighted ``1 / (m_u − 1)`` as in Krippendorff 2011).

    Returns
    -------
    pandas.DataFrame
        One row per pair of classes that co-occur on an item (``o_ab > min_coincidences``),
        most confused first: ``class_a``, ``class_b``, ``coincidences`` (``o_ab``),
        ``expected`` (``n_a n_b / (n − 1)``, the coincidences if labels were given at
        random with the same class shares), ``ratio`` (observed / expected; near or above 1
        means annotators cannot tell the two apart), ``share_of_disagreement`` (``o_ab`` /
        all off-diagonal coincidences of one triangle), ``n_items`` (items labelled both
        ``a`` and ``b``), ``alpha_if_merged`` (nominal alpha with ``a`` and ``b`` as one
        class), ``alpha_gain`` (its change) and ``percent_agreement_if_merged``.
    """
    codes = encode_labels(labels)
    c = codes.cells
    cols = [
        "class_a",
        "class_b",
        "coincidences",
        "expected",
        "ratio",
        "share_of_disagreement",
        "n_items",
        "alpha_if_merged",
        "alpha_gain",
        "percent_agreement_if_merged",
    ]
    o, w, n_pairable = _pairable_products(c)
    k = c.n_classes
    iu = np.triu_indices(k, 1)
    vals = o[iu]
    keep = vals > min_coincidences
    if not keep.any():
        return pd.DataFrame(columns=cols)
    a_idx, b_idx, vals = iu[0][keep], iu[1][keep], vals[keep]
    n_c = o.sum(axis=1)
    n = n_c.sum()
    expected = n_c[a_idx] * n_c[b_idx] / (n - 1)
    total_dis = o[iu].sum()
    base = _alpha_from_o(o)
    # Merging a and b moves o_ab + o_ba onto the diagonal and n_a n_b twice into Σ n_c².
    de = n * n - np.sum(n_c**2) - 2 * n_c[a_idx] * n_c[b_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        merged_alpha = np.where(de > 0, 1 - (n - 1) * (n - np.trace(o) - 2 * vals) / de, np.nan)
    pa, _ = _percent_agreement(c)
    merged_pa = pa + 2 * w[a_idx, b_idx] / n_pairable if n_pairable else np.full(len(vals), np.nan)
    names = codes.classes.to_numpy()
    out = pd.DataFrame(
        {
            "class_a": names[a_idx],
            "class_b": names[b_idx],
            "coincidences": vals,
            "expected": expected,
            "ratio": vals / np.where(expected > 0, expected, np.nan),
            "share_of_disagreement": vals / total_dis if total_dis else np.nan,
            "n_items": _items_with_both(c, a_idx, b_idx),
            "alpha_if_merged": merged_alpha,
            "alpha_gain": merged_alpha - base,
            "percent_agreement_if_merged": merged_pa,
        },
        columns=cols,
    )
    return out.sort_values(["coincidences", "ratio"], ascending=False, kind="stable").reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- linking


@dataclass
class LinkedItems:
    """The annotated items joined to a predictions dataset by item id.

    Attributes
    ----------
    info
        Indexed by ``item`` (every annotated item): ``in_dataset`` and, for items found,
        ``truth`` (the dataset's label) and ``prediction`` (the model's).
    tags
        Indexed by ``item``: one boolean column per tag of the dataset (False for items not
        in it).
    warnings
        Items not found in the dataset, and similar facts.
    """

    info: pd.DataFrame
    tags: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def link_predictions(labels: pd.DataFrame | LabelCodes, dataset: Dataset) -> LinkedItems:
    """Join the annotated items to ``dataset`` by id (compared as text).

    Raises
    ------
    InvalidValueError
        No annotated item is an id of the dataset.
    """
    codes = encode_labels(labels)
    items = pd.Index(codes.items.astype(str), name=ITEM)
    frame = dataset.frame
    ids = _as_text(frame["id"])
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    pos = pos[~pos.index.duplicated()]
    where = pos.reindex(items)
    found = where.notna().to_numpy()
    if not found.any():
        raise InvalidValueError(
            f"none of the {len(items)} annotated items (e.g. {', '.join(map(repr, items[:3]))}) "
            f"is an id of {dataset.source_name} (its ids look like "
            f"{', '.join(map(repr, ids.iloc[:3]))}); check that the item column holds the "
            "dataset's ids"
        )
    rows = where.to_numpy(dtype=float)
    idx = np.where(found, np.nan_to_num(rows, nan=0), 0).astype(np.int64)
    info = pd.DataFrame({"in_dataset": found}, index=items)
    for col, name in (("label", "truth"), ("prediction", "prediction")):
        if col in frame.columns:
            values = frame[col].to_numpy(dtype=object)[idx]
            values[~found] = None
            info[name] = values
    tag_arr = (
        dataset.tags.to_numpy(dtype=bool)[idx]
        if len(dataset.tags.columns)
        else np.zeros((len(items), 0), dtype=bool)
    )
    tag_arr[~found] = False
    tags = pd.DataFrame(tag_arr, index=items, columns=[str(t) for t in dataset.tags.columns])
    warnings = []
    if not found.all():
        missing = items[~found]
        warnings.append(
            f"{int((~found).sum())} of {len(items)} annotated items are not in "
            f"{dataset.source_name} (e.g. {', '.join(map(repr, missing[:3]))}); "
            "they have no ground truth, prediction or tags"
        )
    return LinkedItems(info, tags, warnings)


# --------------------------------------------------------------------------- HLP and slices

HLP_SOURCES = {"truth": "accuracy vs ground truth", "agreement": "two random annotators agree"}


def compute_agreement_by_slice(
    labels: pd.DataFrame | LabelCodes,
    *,
    membership: pd.DataFrame | None = None,
    truth: pd.Series | None = None,
    prediction: pd.Series | None = None,
    truth_is_human: bool = False,
) -> pd.DataFrame:
    """Agreement and human-level performance overall and per slice (tag).

    Parameters
    ----------
    membership
        Boolean DataFrame indexed by item, one column per slice (e.g.
        ``LinkedItems.tags``); items not in it belong to no slice.
    truth, prediction
        Optional ground truth and model prediction per item (Series indexed by item).
    truth_is_human
        The ground truth is itself one human's label: HLP is then the chance that two
        random annotators agree (the lecture's definition), not accuracy against it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``slice`` (``"All data"`` first, then the slices in column order), with
        ``n`` (labelled items), ``n_labels``, ``n_pairable`` (items with 2+ labels),
        ``percent_agreement``, ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``,
        ``annotator_accuracy`` (mean over items with a known truth of the share of the
        item's labels equal to it; NaN without truth), ``hlp`` and ``hlp_source`` (accuracy
        vs ground truth when there is one and it is not a human label, else the two-annotator
        agreement), ``model_accuracy`` (prediction = truth, same items) and
        ``model_agreement`` (mean share of annotators agreeing with the prediction: "ML
        agrees with humans"). Empty slices have ``n = 0`` and NaN metrics.
    """
    codes = encode_labels(labels)
    c = codes.cells
    items = codes.items.astype(str)
    masks = {OVERALL: np.ones(c.n_items, dtype=bool)}
    if membership is not None:
        mem = membership.copy()
        mem.index = mem.index.astype(str)
        mem = mem[~mem.index.duplicated()].reindex(items).fillna(False).astype(bool)
        # A slice called "All data" is the row "All data (tag)" (core.slice_names).
        names = tag_slice_names(mem.columns)
        for col in mem.columns:
            masks[names[str(col)]] = mem[col].to_numpy(dtype=bool)
    tcodes = _truth_codes(codes, truth)
    pcodes = _truth_codes(codes, prediction)
    m = c.per_item
    # per item: labels equal to truth / to prediction
    right = agree_pred = None
    if tcodes is not None:
        right = np.bincount(
            c.item, weights=c.count * (c.cls == tcodes[c.item]), minlength=c.n_items
        ) / np.where(m > 0, m, 1)
    if pcodes is not None:
        agree_pred = np.bincount(
            c.item, weights=c.count * (c.cls == pcodes[c.item]), minlength=c.n_items
        ) / np.where(m > 0, m, 1)
    pred_ok = (
        prediction_matches(codes, truth, prediction)
        if tcodes is not None and pcodes is not None
        else None
    )
    rows = []
    for name, mask in masks.items():
        sub = c.subset(mask)
        sm = sub.per_item
        labelled = mask & (m > 0)
        pa, n_pair = _percent_agreement(sub)
        row = {
            "slice": name,
            "n": int(labelled.sum()),
            "n_labels": int(sm.sum()),
            "n_pairable": n_pair,
            "percent_agreement": pa,
            "fleiss_kappa": _fleiss(sub)[0] if n_pair else np.nan,
            "krippendorff_alpha": _alpha_of(sub) if n_pair else np.nan,
            "gwet_ac1": _gwet_ac1(sub)[0] if n_pair else np.nan,
            "annotator_accuracy": np.nan,
            "model_accuracy": np.nan,
            "model_agreement": np.nan,
        }
        if right is not None:
            known = labelled & (tcodes != -2)
            if known.any():
                row["annotator_accuracy"] = float(right[known].mean())
        if pcodes is not None:
            known_p = labelled & (pcodes != -2)
            if known_p.any():
                row["model_agreement"] = float(agree_pred[known_p].mean())
            if tcodes is not None:
                both = known_p & (tcodes != -2)
                if both.any():
                    row["model_accuracy"] = float(pred_ok[both].mean())
        use_truth = (
            tcodes is not None and not truth_is_human and pd.notna(row["annotator_accuracy"])
        )
        row["hlp"] = row["annotator_accuracy"] if use_truth else pa
        row["hlp_source"] = "truth" if use_truth else "agreement"
        rows.append(row)
    return pd.DataFrame(rows).set_index("slice")


def prediction_matches(codes: LabelCodes, truth: pd.Series, prediction: pd.Series) -> np.ndarray:
    """Per item (code order): whether the prediction equals the ground truth (as text)."""
    items = codes.items.astype(str)

    def aligned(s: pd.Series) -> pd.Series:
        s = pd.Series(s)
        s.index = s.index.astype(str)
        s = s[~s.index.duplicated()].reindex(items)
        return clean_label_values(s.reset_index(drop=True))

    t, p = aligned(truth), aligned(prediction)
    # Same class by the two cells alone (core.values), whatever each column's spelling.
    return (
        class_keys(t).to_numpy(dtype=object) == class_keys(p).to_numpy(dtype=object)
    ) & t.notna().to_numpy(dtype=bool)


# --------------------------------------------------------------------------- review queue


def find_disagreements(
    labels: pd.DataFrame | LabelCodes,
    *,
    linked: LinkedItems | None = None,
    weights: pd.Series | Mapping[str, float] | str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Return the review queue: items whose annotators disagree, most contested first.

    Returns
    -------
    pandas.DataFrame
        One row per item with 2+ distinct labels, sorted by vote ``entropy`` (bits),
        then ties first, then more labels first: ``item``, ``entropy``, ``n_labels``,
        ``n_classes``, ``consensus``, ``vote_share``, ``tie``, ``tied_labels``, one column
        per annotator holding their label (None where they did not label the item) and,
        with ``linked``, ``truth`` and ``prediction``. At most ``limit`` rows.
    """
    codes = encode_labels(labels)
    cons = compute_consensus(codes, weights=weights)
    dis = cons[~cons["unanimous"]]
    dis = dis.sort_values(["entropy", "tie", "n_labels"], ascending=False, kind="stable")
    if limit is not None:
        dis = dis.iloc[:limit]
    out = dis[
        ["entropy", "n_labels", "n_classes", "consensus", "vote_share", "tie", "tied_labels"]
    ].copy()
    if len(out):
        pos = pd.Series(np.arange(len(codes.items)), index=codes.items)[out.index].to_numpy()
        sel = np.isin(codes.item, pos)
        wide = pd.DataFrame(
            {
                "item": codes.items[codes.item[sel]],
                "annotator": codes.annotators[codes.annotator[sel]],
                "label": codes.classes[codes.label[sel]],
            }
        )
        wide = wide.pivot(index="item", columns="annotator", values="label")
        wide = wide.reindex(index=out.index, columns=codes.annotators)
        wide = wide.astype(object).where(wide.notna(), None)
        out = out.join(wide)
    else:
        for a in codes.annotators:
            out[a] = pd.Series(dtype=object)
    if linked is not None:
        info = linked.info.reindex(out.index.astype(str))
        for col in ("truth", "prediction"):
            if col in info.columns:
                out[col] = info[col].to_numpy()
    out.index.name = ITEM
    return out.reset_index()


# --------------------------------------------------------------------------- standardisation

CHANGELOG_COLUMNS = [ITEM, ANNOTATOR, "before", "after", "rule"]


@dataclass(frozen=True)
class MergeClasses:
    """Merge classes: every label in ``sources`` becomes ``target`` (``A, B -> C``).

    Labels are compared as text, so the rule works on numeric labels too.
    """

    sources: tuple[str, ...]
    target: str

    def __post_init__(self) -> None:
        sources = tuple(str(s).strip() for s in self.sources if str(s).strip())
        if not sources:
            raise InvalidValueError("a merge rule needs at least one class to merge")
        if not str(self.target).strip():
            raise InvalidValueError("a merge rule needs the name of the merged class")
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "target", str(self.target).strip())

    @property
    def name(self) -> str:
        """The rule as written in the change log."""
        return f"merge {', '.join(self.sources)} -> {self.target}"

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` with the source classes replaced by the target."""
        hit = values.astype(str).isin(self.sources).to_numpy(dtype=bool)
        if not hit.any():
            return values
        target: Any = self.target
        if pd.api.types.is_numeric_dtype(values):
            try:
                num = float(target)
                target = int(num) if num.is_integer() else num
            except ValueError:
                values = values.astype(object)
        out = values.copy()
        out[hit] = target
        return out


_PUNCT = re.compile(f"[{re.escape(string.punctuation)}‘’“”…–—]")


@dataclass(frozen=True)
class NormalizeText:
    """Normalise transcripts: user replacements, then case, punctuation and spaces.

    Attributes
    ----------
    replacements
        ``(before, after)`` pairs applied first, as whole words/phrases (``"Umm," ->
        "Um,"``; ``"[unintelligible]" -> "[inaudible]"``), case-insensitively unless
        ``match_case``.
    lowercase, strip_punctuation, collapse_whitespace
        Then lower-case, drop punctuation (keeping ``[`` ``]`` tags), collapse spaces.
    """

    replacements: tuple[tuple[str, str], ...] = ()
    lowercase: bool = False
    strip_punctuation: bool = False
    collapse_whitespace: bool = True
    match_case: bool = False

    @property
    def name(self) -> str:
        """The rule as written in the change log."""
        parts = [f"{a!r} -> {b!r}" for a, b in self.replacements]
        if self.lowercase:
            parts.append("lower-case")
        if self.strip_punctuation:
            parts.append("no punctuation")
        if self.collapse_whitespace:
            parts.append("single spaces")
        return "normalise: " + ", ".join(parts) if parts else "normalise"

    def transform(self, text: str) -> str:
        """Apply the rule to one string."""
        flags = 0 if self.match_case else re.IGNORECASE
        for before, after in self.replacements:
            if not before:
                continue
            pattern = (
                (r"(?<!\w)" if before[0].isalnum() else "")
                + re.escape(before)
                + (r"(?!\w)" if before[-1].isalnum() else "")
            )
            text = re.sub(pattern, after.replace("\\", "\\\\"), text, flags=flags)
        if self.lowercase:
            text = text.lower()
        if self.strip_punctuation:
            text = _PUNCT.sub(lambda m: m.group() if m.group() in "[]" else "", text)
        if self.collapse_whitespace:
            text = " ".join(text.split())
        return text

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` normalised (numbers are left alone)."""
        if pd.api.types.is_numeric_dtype(values):
            return values
        uniques = pd.unique(values)
        mapping = {u: (self.transform(u) if isinstance(u, str) else u) for u in uniques}
        return values.map(mapping)


Rule = MergeClasses | NormalizeText


def apply_rules(labels: pd.DataFrame, rules: Iterable[Rule]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply standardisation rules in order: a pure function on the long table.

    Returns
    -------
    (cleaned, changelog)
        ``cleaned``: ``labels`` with the ``label`` column rewritten (other columns kept).
        ``changelog``: one row per label a rule changed, columns ``item``, ``annotator``,
        ``before``, ``after``, ``rule``, in rule order.
    """
    check_labels(labels)
    current = labels[LABEL].reset_index(drop=True)
    logs = []
    for rule in rules:
        new = rule.apply(current)
        changed = (new.astype(str) != current.astype(str)).to_numpy(dtype=bool)
        if changed.any():
            logs.append(
                pd.DataFrame(
                    {
                        ITEM: labels[ITEM].to_numpy()[changed],
                        ANNOTATOR: labels[ANNOTATOR].to_numpy()[changed],
                        "before": current.to_numpy(dtype=object)[changed],
                        "after": new.to_numpy(dtype=object)[changed],
                        "rule": rule.name,
                    }
                )
            )
        current = new
    cleaned = labels.copy()
    cleaned[LABEL] = current.to_numpy()
    if cleaned[LABEL].dtype == object:
        cleaned[LABEL] = clean_label_values(cleaned[LABEL]).to_numpy()
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=CHANGELOG_COLUMNS)
    return cleaned, log


def preview_rules(
    labels: pd.DataFrame, rules: Iterable[Rule], *, min_pair_items: int = 5
) -> pd.DataFrame:
    """How every agreement metric changes when the rules are applied ("raising HLP").

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric`` (the summary's metrics, then ``n_disagreements`` and
        ``n_classes``): ``name``, ``before``, ``after`` and ``change`` (after − before).
    """
    rules = list(rules)
    cleaned, _ = apply_rules(labels, rules)
    frames = []
    for table in (labels, cleaned):
        codes = encode_labels(table)
        summary = compute_agreement_summary(codes, min_pair_items=min_pair_items)
        cons = compute_consensus(codes)
        extra = pd.DataFrame(
            {
                "name": ["Items with disagreement", "Classes"],
                "value": [
                    float(((~cons["unanimous"]) & (cons["n_labels"] >= 2)).sum()),
                    float(len(codes.classes)),
                ],
            },
            index=pd.Index(["n_disagreements", "n_classes"], name="metric"),
        )
        frames.append(pd.concat([summary[["name", "value"]], extra]))
    before, after = frames
    out = pd.DataFrame(
        {
            "name": before["name"].combine_first(after["name"]),
            "before": before["value"],
            "after": after["value"],
        }
    )
    out = out.reindex(list(before.index) + [i for i in after.index if i not in before.index])
    out["name"] = out["name"].fillna(after["name"])
    out["change"] = out["after"] - out["before"]
    out.index.name = "metric"
    return out


def changelog_csv(cleaned: pd.DataFrame, changelog: pd.DataFrame) -> tuple[str, str]:
    """Return (cleaned labels CSV, change log CSV) as text, safe to open in a spreadsheet."""
    return to_safe_csv(cleaned), to_safe_csv(changelog.reindex(columns=CHANGELOG_COLUMNS))


#: How :func:`compute_final_labels` decided an item's final label.
BY_DECISION, BY_MAJORITY, BY_TIE = "review decision", "majority vote", "tie — needs review"
FINAL_LABEL_COLUMNS = (
    "item",
    "final_label",
    "decided_by",
    "n_votes",
    "agreement",
    "tied_labels",
    "reviewer",
    "note",
)
REVIEW_COLUMNS = ("item", "decision", "note", "user")


def compute_final_labels(
    labels: pd.DataFrame | LabelCodes, decisions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One final label per item: the reviewer's decision, else the annotators' majority vote.

    Parameters
    ----------
    labels
        The long table (or its codes).
    decisions
        Review decisions as :meth:`core.store.Store.review_decisions` returns them: columns
        ``item``, ``decision`` (a label, ``"borderline"``, or missing for a note alone),
        ``note`` and ``user``; when an item has several rows the last one counts. Rows
        without a decision and items not in ``labels`` are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per item of ``labels``, in item order, columns:

        ``item``
            The item id, as text.
        ``final_label``
            The decision when the item has one (``"borderline"`` included: the reviewer
            found the item ambiguous), otherwise the label with the most votes; missing
            when the top votes are tied and nobody decided.
        ``decided_by``
            ``"review decision"``, ``"majority vote"`` or ``"tie — needs review"``.
        ``n_votes``
            Number of labels the item received.
        ``agreement``
            Share of those labels equal to ``final_label``; for an undecided tie, the share
            of one of the tied labels. A decision that overrides the majority has a low
            (possibly zero) agreement.
        ``tied_labels``
            The tied labels, ``" | "``-joined, for an item whose majority vote is tied
            (kept when a decision resolved it); empty otherwise.
        ``reviewer``, ``note``
            Who made the decision and their note; empty for a majority vote.

    Raises
    ------
    MissingColumnError
        ``decisions`` lacks one of ``item``, ``decision``, ``note``, ``user``.

    Examples
    --------
    Item ``a``: 2 votes for cat, 1 for dog → majority cat, agreement 2/3. Item ``b``: cat
    and dog once each → a tie. Item ``c``: dog, dog, cat, but a reviewer decided cat →
    cat, agreement 1/3.

    >>> labels = pd.DataFrame({"item": list("aaabbccc"), "annotator": list("xyzxyxyz"),
    ...                        "label": ["cat", "cat", "dog", "cat", "dog", "dog", "dog",
    ...                                  "cat"]})
    >>> made = pd.DataFrame({"item": ["c"], "decision": ["cat"], "note": [""],
    ...                      "user": ["Ana"]})
    >>> compute_final_labels(labels, made)[["item", "final_label", "decided_by"]]
      item final_label          decided_by
    0    a         cat       majority vote
    1    b         NaN  tie — needs review
    2    c         cat     review decision
    """
    codes = encode_labels(labels)
    cons = compute_consensus(codes)
    items = codes.items.astype(str)
    n_votes = cons["n_labels"].to_numpy(dtype=np.int64)
    tie = cons["tie"].to_numpy(dtype=bool)
    final = np.array([None if v is None else str(v) for v in cons["consensus"]], dtype=object)
    final[tie] = None
    decided_by = np.where(tie, BY_TIE, BY_MAJORITY).astype(object)
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = cons["votes"].to_numpy(dtype=float) / n_votes
    reviewer = np.full(len(items), "", dtype=object)
    note = np.full(len(items), "", dtype=object)
    if decisions is not None and len(decisions):
        missing = [c for c in REVIEW_COLUMNS if c not in decisions.columns]
        if missing:
            raise MissingColumnError(
                f"the review decisions have no column {', '.join(map(repr, missing))}; "
                f"expected {', '.join(REVIEW_COLUMNS)} (as Store.review_decisions returns)"
            )
        made = decisions[decisions["decision"].notna()]
        made = made.assign(item=made["item"].astype(str)).drop_duplicates("item", keep="last")
        pos = pd.Series(np.arange(len(items)), index=items)
        made = made[made["item"].isin(pos.index)]
        if len(made):
            c = codes.cells
            votes = pd.Series(
                c.count,
                index=pd.MultiIndex.from_arrays([items[c.item], codes.classes.astype(str)[c.cls]]),
            )
            where = pos[made["item"]].to_numpy()
            chosen = made["decision"].astype(str).to_numpy()
            final[where] = chosen
            decided_by[where] = BY_DECISION
            agreement[where] = [
                votes.get((i, d), 0) / n_votes[w]
                for i, d, w in zip(made["item"], chosen, where, strict=True)
            ]
            reviewer[where] = made["user"].fillna("").astype(str).to_numpy()
            note[where] = made["note"].fillna("").astype(str).to_numpy()
    return pd.DataFrame(
        {
            "item": items.to_numpy(dtype=object),
            "final_label": final,
            "decided_by": decided_by,
            "n_votes": n_votes,
            "agreement": agreement,
            "tied_labels": cons["tied_labels"].to_numpy(dtype=object),
            "reviewer": reviewer,
            "note": note,
        },
        columns=list(FINAL_LABEL_COLUMNS),
    )


def final_labels_csv(
    labels: pd.DataFrame | LabelCodes, decisions: pd.DataFrame | None = None
) -> str:
    """Return :func:`compute_final_labels` as CSV text, safe to open in a spreadsheet."""
    return to_safe_csv(compute_final_labels(labels, decisions))


# --------------------------------------------------------------------------- one call


def summarize_annotations(
    labels: pd.DataFrame | LabelCodes, *, min_pair_items: int = 5
) -> dict[str, Any]:
    """Return the headline figures as a flat dict (``slicewise agreement --format json``).

    Keys: ``items``, ``annotators``, ``labels_total``, ``classes``, ``percent_agreement``,
    ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``, ``mean_pairwise_cohen_kappa``,
    ``n_disagreements`` (items with 2+ labels that are not unanimous), ``n_ties``
    (disagreed items whose majority vote is tied) and, with numeric labels,
    ``krippendorff_alpha_ordinal`` and ``krippendorff_alpha_interval``. NaN becomes None.
    """
    codes = encode_labels(labels)
    summary = compute_agreement_summary(codes, min_pair_items=min_pair_items)
    cons = compute_consensus(codes)
    pairable = cons["n_labels"] >= 2
    out: dict[str, Any] = {
        "items": len(codes.items),
        "annotators": len(codes.annotators),
        "labels_total": codes.n_labels,
        "classes": len(codes.classes),
    }
    for key in summary.index:
        v = summary.at[key, "value"]
        out[key] = None if pd.isna(v) else float(v)
    out["n_disagreements"] = int(((~cons["unanimous"]) & pairable).sum())
    out["n_ties"] = int((cons["tie"] & pairable).sum())
    return out
