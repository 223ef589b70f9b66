"""Load, validate and map a predictions table: the :class:`Dataset` and the ways to get one.

The data contract: one row per example, from CSV, TSV, Parquet or an Excel .xlsx sheet
(also compressed or zipped, see :mod:`core.formats`), with a label and a prediction column
(auto-detected from common names, always overridable), and optionally an id, one
human-label column, a score column, tag columns and metadata of any type.

Entry points: :func:`load_dataset` (a file), :func:`dataset_from_frame` (a DataFrame) and
:func:`prepare` (a table read by :func:`read_table`). The work is done in rooms of its own:
reading a file into a raw table (:mod:`core.reading`, with :mod:`core.decoding` and
:mod:`core.table_shape`), mapping columns to roles (:mod:`core.column_roles`), reading the
cells of each role (:mod:`core.column_parsing`) and the steps of :func:`prepare`
(:mod:`core.prepare_steps`). Their public names are re-exported here.

Every problem is raised as a :class:`core.errors.DataError` subclass whose message names
the file, the column and example rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from slicewise.core import formats
from slicewise.core.column_parsing import (
    FALSE_TOKENS,
    TRUE_TOKENS,
    parse_boolean_column,
    parse_human_accuracy,
    parse_tags_column,
    says_no,
    writes_no,
)
from slicewise.core.column_roles import (
    NO_COLUMN,
    OUTCOME_PREFIXES,
    OUTCOME_WORDS,
    RESERVED,
    ROLE_NAMES,
    TAG_WORDS,
    ColumnMapping,
    check_nested_roles,
    detect_mapping,
    find_role_candidates,
    is_tag_name,
    name_words,
    resolve_mapping,
)
from slicewise.core.decoding import check_file_path
from slicewise.core.errors import RowNumbers
from slicewise.core.prepare_steps import (
    MissingPolicy,
    attach_numbering,
    build_frame,
    check_table,
    check_threshold,
    checked_ids,
    drop_rows,
    human_column,
    missing_rows,
    prepare_options,
    read_roles,
)
from slicewise.core.reading import NA_VALUES, NESTED_ATTR, read_source, read_table
from slicewise.core.table_shape import DELIMITERS

__all__ = [
    "DELIMITERS",
    "FALSE_TOKENS",
    "NA_VALUES",
    "NO_COLUMN",
    "OUTCOME_PREFIXES",
    "OUTCOME_WORDS",
    "RESERVED",
    "ROLE_NAMES",
    "TAG_WORDS",
    "TRUE_TOKENS",
    "ColumnMapping",
    "Dataset",
    "MissingPolicy",
    "check_file_path",
    "check_nested_roles",
    "dataset_from_frame",
    "detect_mapping",
    "find_role_candidates",
    "is_tag_name",
    "load_dataset",
    "name_words",
    "parse_boolean_column",
    "parse_human_accuracy",
    "parse_tags_column",
    "prepare",
    "read_table",
    "resolve_mapping",
    "says_no",
    "writes_no",
]


@dataclass
class Dataset:
    """A validated predictions table.

    Attributes
    ----------
    frame
        One row per example with canonical columns ``id``, ``label``, ``prediction`` and,
        when present, ``human`` and ``score``; then the metadata columns under their own
        names. Index is a RangeIndex.
    tags
        Boolean DataFrame aligned with ``frame``: one column per tag, ``True`` where the
        example carries the tag (tags overlap).
    mapping
        The resolved :class:`ColumnMapping`.
    source_name
        The file name used in messages.
    content_hash
        SHA-256 of the file's bytes (or of the table, when built from a DataFrame). May be
        given as a callable (:class:`core.reading.FileDigest`): it is then computed the
        first time it is read (``analyze`` never reads it; the store and caches do).
    warnings
        Legal but notable facts (rows dropped, encoding detected...).
    options
        The :func:`prepare` options that shaped the table (``missing``, ``positive``,
        ``threshold``); part of the fingerprint.
    blank_tags
        Tags whose file writes "no" as a blank cell (an ``x``/blank column, a tags column):
        a blank there may mean "not reviewed", so a tag only errors carry is read as
        filled on errors only (:mod:`core.tag_scope`).
    """

    frame: pd.DataFrame
    tags: pd.DataFrame
    mapping: ColumnMapping
    source_name: str = "table"
    content_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    blank_tags: tuple[str, ...] = ()

    @property
    def metadata_columns(self) -> list[str]:
        """Columns of ``frame`` that are not a role."""
        return [c for c in self.frame.columns if c not in RESERVED]

    @property
    def has_human(self) -> bool:
        """Whether a human-label column is present."""
        return "human" in self.frame.columns

    @property
    def has_human_accuracy(self) -> bool:
        """Whether a per-example human-accuracy column is present (see :mod:`core.baselines`)."""
        return "human_accuracy" in self.frame.columns

    @property
    def n(self) -> int:
        """Number of examples."""
        return len(self.frame)

    def fingerprint(self) -> str:
        """Return a short stable key for caches: content hash, mapping and options."""
        key = self.content_hash + repr(self.mapping) + repr(sorted(self.options.items()))
        h = hashlib.sha256(key.encode())
        return h.hexdigest()[:16]


def _get_content_hash(self: Dataset) -> str:
    value = self.__dict__.get("_content_hash", "")
    if callable(value):  # a lazy digest: hash the file now, once
        value = self.__dict__["_content_hash"] = value()
    return value


def _set_content_hash(self: Dataset, value: str | Callable[[], str]) -> None:
    self.__dict__["_content_hash"] = value


# After @dataclass has taken the field (and its default ""): reads go through the property.
Dataset.content_hash = property(_get_content_hash, _set_content_hash)  # type: ignore[assignment]


def prepare(
    df: pd.DataFrame,
    mapping: ColumnMapping | None = None,
    *,
    source_name: str = "table",
    content_hash: str | Callable[[], str] = "",
    missing: MissingPolicy = "fail",
    positive: str | None = None,
    threshold: float | None = None,
    warnings: list[str] | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
) -> Dataset:
    """Validate a raw table and return a :class:`Dataset` in canonical form.

    The value contract (missing cells, ids, classes, numbers) is :mod:`core.values`'s.

    Parameters
    ----------
    df
        The raw table, as read by :func:`read_table`.
    mapping
        Explicit roles; unset roles are detected, roles set to ``""`` are switched off.
    missing
        ``"fail"`` raises when labels or predictions are missing; ``"drop"`` drops those rows
        and records a warning with their number.
    positive, threshold
        With a score column: the prediction is ``positive`` where ``score >= threshold`` and
        the other class elsewhere. A detected prediction column is then kept as metadata;
        an explicitly mapped one is an error.
    na_values
        Cell texts read as missing besides blank cells (e.g. ``("NA", "N/A")``); by default
        ``NA``, ``null``, ``None``... are values.
    decimal, thousands
        The number format of the score and numeric metadata columns (e.g. ``","`` and
        ``"."``); ``None`` infers it per column where unambiguous.
    task
        The task kind when known. ``"text"``: a blank label or prediction is an empty
        transcript (``""``), not missing, and transcripts keep their spelling (they are
        normalised when compared).

    Raises
    ------
    DataError
        Any problem with the table, naming the file, the column and the rows: numbered as
        the file numbers them, as the reader recorded (:class:`~core.errors.RowNumbers` in
        ``df.attrs``: CSV lines with the header as line 1, sheet rows, Parquet rows from 1),
        else as a CSV file's.
    """
    file = source_name
    numbering = RowNumbers.of_frame(df)
    warnings = list(warnings or [])
    text_task = task == "text"
    df, na_values = check_table(df, file, missing=missing, na_values=na_values)
    threshold = check_threshold(threshold, mapping, file)
    distinct: dict[str, list[Any]] = {}
    mapping = resolve_mapping(
        df, mapping, file=file, require_prediction=threshold is None, distinct=distinct
    )
    check_nested_roles(df.attrs.get(NESTED_ATTR, ()), mapping, file=file)
    where = {"file": file, "numbering": numbering}
    rows, mapping, pred_col, ids_distinct = read_roles(
        df, mapping, threshold=threshold, positive=positive, text_task=text_task,
        number_format=(decimal, thousands), distinct=distinct, warnings=warnings, **where,
    )  # fmt: skip
    drop, problems = missing_rows(
        rows, mapping, pred_col, missing=missing, text_task=text_task, **where
    )
    rows.human = human_column(df, mapping, text_task)
    rows = drop_rows(rows, drop, problems, warnings=warnings, **where)
    ids = checked_ids(rows, ids_distinct, mapping.id, **where)
    frame = build_frame(
        rows, ids, mapping, file=file, text_task=text_task,
        number_format=(decimal, thousands), warnings=warnings,
    )  # fmt: skip
    attach_numbering(frame, numbering, rows.positions, n_rows=len(df))
    options = prepare_options(
        missing=missing, positive=positive, threshold=threshold, na_values=na_values,
        number_format=(decimal, thousands), text_task=text_task,
    )  # fmt: skip
    return Dataset(
        frame=frame,
        tags=rows.tags,
        mapping=mapping,
        source_name=file,
        content_hash=content_hash,
        warnings=warnings,
        options=options,
        blank_tags=tuple(str(t) for t in rows.tags.columns if t in rows.blank_tags),
    )


def load_dataset(
    source: str | Path | IO[bytes] | bytes,
    mapping: ColumnMapping | None = None,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    missing: MissingPolicy = "fail",
    positive: str | None = None,
    threshold: float | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
    sheet: str | None = None,
) -> Dataset:
    """Read and validate a predictions file in one call.

    See :func:`read_table` for ``name``, ``encoding``, ``sep`` and ``sheet`` and
    :func:`prepare` for the rest. Every problem is raised as a
    :class:`~core.errors.DataError` subclass.
    """
    df, digest, warnings, file = read_source(
        source, name=name, encoding=encoding, sep=sep, sheet=sheet, lazy_hash=True
    )
    return prepare(
        df,
        mapping,
        source_name=file,
        content_hash=digest,
        missing=missing,
        positive=positive,
        threshold=threshold,
        warnings=warnings,
        na_values=na_values,
        decimal=decimal,
        thousands=thousands,
        task=task,
    )


def dataset_from_frame(
    df: pd.DataFrame, mapping: ColumnMapping | None = None, *, name: str = "table", **kwargs: Any
) -> Dataset:
    """Validate an in-memory DataFrame, hashing its content for the fingerprint.

    Dicts, lists, tuples, arrays and sets in its cells (and Arrow list, struct or map columns) are
    turned into JSON text first, with a warning naming the columns, as for a Parquet file
    (see :func:`core.formats.nested_cells_to_text`); such a column cannot be a role.
    """
    df, nested = formats.nested_cells_to_text(df)
    if nested:
        df.attrs[NESTED_ATTR] = tuple(map(str, nested))
        kwargs["warnings"] = [*(kwargs.get("warnings") or []), formats.nested_warning(name, nested)]
    try:
        hashed = pd.util.hash_pandas_object(df, index=False)
    except (TypeError, ValueError):  # cells pandas cannot hash (objects of other kinds)
        hashed = pd.util.hash_pandas_object(df.astype(str), index=False)
    digest = hashlib.sha256(
        hashed.to_numpy().tobytes() + "|".join(map(str, df.columns)).encode()
    ).hexdigest()
    return prepare(df, mapping, source_name=name, content_hash=digest, **kwargs)
