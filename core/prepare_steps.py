"""The steps of :func:`core.dataset.prepare`: from a raw table to a dataset's columns.

In the order ``prepare`` runs them: check the table and the options
(:func:`check_table`, :func:`check_threshold`), read the role columns (:func:`read_roles`:
ids, score, human accuracy, label, prediction, tags, human label), find the rows missing a
label or prediction (:func:`missing_rows`) and leave them out or refuse them
(:func:`drop_rows`), check the ids (:func:`checked_ids`), then build the canonical frame
(:func:`build_frame`) numbered as the file numbers its rows (:func:`attach_numbering`).
Each step raises a :class:`~core.errors.DataError` subclass naming the file, the column and
the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from slicewise.core.column_parsing import (
    all_distinct,
    example_values,
    id_text,
    mask_na_tokens,
    missing_mask,
    parse_boolean_column,
    parse_human_accuracy,
    parse_score,
    parse_tags_column,
    says_no,
    typed_metadata,
)
from slicewise.core.column_roles import ColumnMapping, metadata_names
from slicewise.core.errors import (
    DuplicateIdError,
    EmptyFileError,
    InvalidValueError,
    MissingColumnError,
    MissingValuesError,
    RowNumbers,
    format_rows,
)
from slicewise.core.score_threshold import prediction_from_score
from slicewise.core.table_shape import check_names
from slicewise.core.values import as_text, canonical_classes

MissingPolicy = Literal["fail", "drop"]


@dataclass
class Rows:
    """The columns of a table being prepared, row-aligned (one entry per row kept so far).

    Attributes
    ----------
    table
        The file's table (its other columns become metadata).
    label, prediction
        The label and prediction cells as read (a prediction from a score threshold is made).
    human, score, human_accuracy
        The optional roles (``None`` when absent); score and human accuracy as floats.
    ids
        The ids as trimmed text, ``None`` without an id column.
    tags
        Boolean DataFrame, one column per tag.
    positions
        Each row's 0-based position in the file's table (``int`` array), for messages.
    blank_tags
        The tags whose file writes "no" as a blank cell (see :func:`read_tags`).
    """

    table: pd.DataFrame
    label: pd.Series
    prediction: pd.Series
    human: pd.Series | None
    score: pd.Series | None
    human_accuracy: pd.Series | None
    ids: pd.Series | None
    tags: pd.DataFrame
    positions: np.ndarray
    blank_tags: set[str] = field(default_factory=set)

    def keep(self, keep: np.ndarray) -> Rows:
        """Return the rows where the boolean mask ``keep`` holds, each index reset."""

        def kept(values: Any) -> Any:
            return None if values is None else values[keep].reset_index(drop=True)

        return Rows(
            table=kept(self.table),
            label=kept(self.label),
            prediction=kept(self.prediction),
            human=kept(self.human),
            score=kept(self.score),
            human_accuracy=kept(self.human_accuracy),
            ids=kept(self.ids),
            tags=kept(self.tags),
            positions=self.positions[keep],
            blank_tags=self.blank_tags,
        )


def check_table(
    df: pd.DataFrame, file: str, *, missing: str, na_values: Iterable[str]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Check the options and the header, and blank out the cells declared missing.

    Returns
    -------
    (table with string column names and a RangeIndex, the missing-cell texts, stripped)

    Raises
    ------
    InvalidValueError
        ``missing`` is neither ``"fail"`` nor ``"drop"``.
    DuplicateColumnError
        Blank or repeated column names.
    EmptyFileError
        No rows.
    """
    if missing not in ("fail", "drop"):
        raise InvalidValueError(f"{file}: missing must be 'fail' or 'drop', not {missing!r}")
    na_values = tuple(str(v).strip() for v in na_values if str(v).strip())
    names = [str(c) for c in df.columns]
    check_names(names, file)
    df = df.set_axis(names, axis=1).reset_index(drop=True)
    if df.empty:
        raise EmptyFileError(f"{file}: has no data rows; add one row per example")
    return mask_na_tokens(df, na_values), na_values


def check_threshold(threshold: Any, mapping: ColumnMapping | None, file: str) -> float | None:
    """Return the score threshold as a float (``None``: predictions come from a column).

    Raises
    ------
    InvalidValueError
        Not a number, NaN, or given with an explicit prediction column.
    """
    if threshold is None:
        return None
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"{file}: the threshold must be a number, not {threshold!r}"
        ) from None
    if np.isnan(threshold):
        raise InvalidValueError(f"{file}: the threshold must be a number, not NaN")
    if mapping is not None and mapping.prediction:
        raise InvalidValueError(
            f"{file}: give either a prediction column ({mapping.prediction!r}) or a score "
            "threshold, not both"
        )
    return threshold


def read_roles(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    *,
    file: str,
    threshold: float | None,
    positive: Any,
    text_task: bool,
    number_format: tuple[str | None, str | None],
    distinct: dict[str, list[Any]],
    numbering: RowNumbers,
    warnings: list[str],
    label_classes: dict[str, str] | None = None,
) -> tuple[Rows, ColumnMapping, str | None, Future | None]:
    """Read every role column of ``df`` on every row (so messages name the file's rows).

    ``number_format``: ``(decimal, thousands)`` of the score and human accuracy;
    ``distinct``: the distinct values of tag columns already found by
    :func:`core.column_roles.resolve_mapping`. With a ``threshold`` the prediction is made
    from the score (a mapped prediction column then becomes metadata, with a warning);
    ``label_classes`` the label's classes of the whole table when ``df`` is a part of it.

    Returns
    -------
    (rows, mapping, the column the prediction comes from, a future telling whether the ids
    are all distinct, ``None`` without ids)
    """
    ids = id_text(df[mapping.id]) if mapping.id is not None else None
    # Whether the ids are unique is found on a thread (a sort that releases the GIL) while
    # the tags and labels are parsed; unique over all rows means unique over the rows kept.
    ids_distinct = in_background(all_distinct, ids) if ids is not None else None
    decimal, thousands = number_format
    numbers = {"file": file, "decimal": decimal, "thousands": thousands, "numbering": numbering}
    score = None
    if mapping.score is not None:
        score = parse_score(df[mapping.score], column=mapping.score, **numbers)
    human_accuracy = None
    if mapping.human_accuracy is not None:
        col = mapping.human_accuracy
        human_accuracy = parse_human_accuracy(df[col], column=col, **numbers)
    label, prediction, mapping, pred_col = _label_and_prediction(
        df, mapping, score, file=file, threshold=threshold, positive=positive,
        text_task=text_task, warnings=warnings, label_classes=label_classes,
    )  # fmt: skip
    tags, blank_tags = read_tags(df, mapping, distinct, file=file, numbering=numbering)
    positions = np.arange(len(df))
    rows = Rows(
        df, label, prediction, None, score, human_accuracy, ids, tags, positions, blank_tags
    )
    return rows, mapping, pred_col, ids_distinct


def _label_and_prediction(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    score: pd.Series | None,
    *,
    file: str,
    threshold: float | None,
    positive: Any,
    text_task: bool,
    warnings: list[str],
    label_classes: dict[str, str] | None = None,
) -> tuple[pd.Series, pd.Series, ColumnMapping, str | None]:
    """Return the label, the prediction, the mapping and the prediction's column.

    With a threshold the prediction comes from the score (:func:`prediction_from_score`).

    Classes keep the file's cells until :func:`core.values.canonical_classes` reads them; in
    a text task a blank cell is an empty transcript.

    Raises
    ------
    MissingColumnError
        A threshold without a score column.
    InvalidValueError
        From :func:`prediction_from_score`.
    """
    label = as_text(df[mapping.label], keep_blank=True) if text_task else df[mapping.label]
    if threshold is None:
        prediction = (
            as_text(df[mapping.prediction], keep_blank=True)
            if text_task
            else df[mapping.prediction]
        )
        return label, prediction, mapping, mapping.prediction
    if score is None:
        raise MissingColumnError(
            f"{file}: a threshold needs a score column; name it 'score' (or confidence, "
            "probability) or choose it (CLI: --score COLUMN)"
        )
    if mapping.prediction is not None:
        warnings.append(
            f"{file}: predictions come from {mapping.score!r} >= {threshold:g}; "
            f"column {mapping.prediction!r} is kept as metadata"
        )
        mapping = replace(mapping, prediction=None)
    prediction = prediction_from_score(
        score, label, positive, threshold, file=file, label_col=mapping.label, classes=label_classes
    )
    return label, prediction, mapping, mapping.score


def read_tags(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    distinct: dict[str, list[Any]],
    *,
    file: str,
    numbering: RowNumbers,
) -> tuple[pd.DataFrame, set[str]]:
    """Return the boolean tags (one column per tag) and the tags whose "no" is a blank cell.

    Tags come from the delimited tags column and the true/false tag columns (a tag in both is
    the union). A tags column lists the tags present, so its "no" is a blank cell; so is an
    ``x``/blank column's (:func:`core.column_parsing.says_no`).

    Raises
    ------
    InvalidValueError
        A tag column holds values that are not true/false-like, naming them and their rows.
    """
    n_rows = len(df)
    if mapping.tags_column is not None:
        tags = parse_tags_column(df[mapping.tags_column], mapping.tag_delimiter)
    else:
        tags = pd.DataFrame(index=range(n_rows))
    tag_data = {c: tags[c].to_numpy() for c in tags.columns}
    blank_tags = set(tag_data)  # a tags-column lists the tags present: "no" is a blank cell
    for c in mapping.tag_columns or ():
        values = parse_boolean_column(
            df[c], file=file, name=c, distinct=distinct.get(c), numbering=numbering
        ).to_numpy()
        tag_data[c] = tag_data[c] | values if c in tag_data else values
        if says_no(df[c], distinct.get(c)):
            blank_tags.discard(c)
        else:
            blank_tags.add(c)
    return pd.DataFrame(tag_data, index=range(n_rows), copy=False), blank_tags


def human_column(df: pd.DataFrame, mapping: ColumnMapping, text_task: bool) -> pd.Series | None:
    """Return the human-label column (``None`` without one); a blank transcript is missing.

    In a text task a blank human transcript means "not transcribed", unlike a blank
    prediction (an empty transcript).
    """
    human = df[mapping.human] if mapping.human else None
    if human is not None and text_task:
        human = as_text(human)  # a blank human transcript: not transcribed, so missing
    return human


def missing_rows(
    rows: Rows,
    mapping: ColumnMapping,
    pred_col: str | None,
    *,
    file: str,
    missing: MissingPolicy,
    text_task: bool,
    numbering: RowNumbers,
) -> tuple[np.ndarray, list[str]]:
    """Find the rows missing a label or a prediction (``pred_col``: the prediction's column).

    In a text task only a missing cell is missing (``""`` is an empty transcript).

    Returns
    -------
    (boolean mask of the rows to drop, one sentence per role saying which rows miss it)

    Raises
    ------
    MissingValuesError
        A role is missing in every row, or in some rows when ``missing`` is ``"fail"``.
    """
    n_rows = len(rows.positions)
    drop = np.zeros(n_rows, dtype=bool)
    problems = []
    for role, colname, values in (
        ("label", mapping.label, rows.label),
        ("prediction", pred_col, rows.prediction),
    ):
        miss = values.isna().to_numpy(dtype=bool) if text_task else missing_mask(values)
        what = (
            f"the {role} column {colname!r}"
            if colname != mapping.score or role == "label"
            else f"the score column {colname!r} (standing in for the prediction)"
        )
        if miss.all():
            raise MissingValuesError(
                f"{file}: {what} is empty in every row; check that the right column is chosen "
                f"(CLI: --{role} COLUMN)"
            )
        if miss.any():
            found = np.flatnonzero(miss)
            problems.append(
                f"{what} is missing in {len(found)} of {n_rows} rows "
                f"({format_rows(found, numbering=numbering)})"
            )
            drop |= miss
    if problems and missing == "fail":
        hint = (
            ""
            if text_task
            else "; if these are transcripts, an empty cell is an empty "
            "transcript: choose the text task (CLI: --task text)"
        )
        raise MissingValuesError(
            f"{file}: {' and '.join(problems)}; fill them in, or load with missing='drop' "
            f"(CLI: --drop-missing) to leave those rows out{hint}"
        )
    return drop, problems


def drop_rows(
    rows: Rows,
    drop: np.ndarray,
    problems: list[str],
    *,
    file: str,
    numbering: RowNumbers,
    warnings: list[str],
) -> Rows:
    """Leave out the rows marked in ``drop``, with a warning naming them.

    Raises
    ------
    MissingValuesError
        Every row would be left out (``problems``: :func:`missing_rows`' sentences).
    """
    if not drop.any():
        return rows
    keep = ~drop
    if not keep.any():
        raise MissingValuesError(
            f"{file}: every row misses a label or a prediction ({' and '.join(problems)}); "
            "nothing is left to analyse: check the column choice"
        )
    dropped = np.flatnonzero(drop)
    warnings.append(
        f"{file}: left out {len(dropped)} of {len(drop)} rows with a missing label or "
        f"prediction ({format_rows(dropped, numbering=numbering)})"
    )
    return rows.keep(keep)


def checked_ids(
    rows: Rows,
    ids_distinct: Future | None,
    id_col: str | None,
    *,
    file: str,
    numbering: RowNumbers,
) -> pd.Series:
    """Return the ids: the id column's text, compared exactly (``007`` and ``7`` are two ids).

    Without an id column the rows are numbered by their position in the file's table.
    ``ids_distinct``: :func:`read_roles`' future telling whether all ids differ.

    Raises
    ------
    MissingValuesError
        An id is blank.
    DuplicateIdError
        Ids repeat, naming them and their rows.
    InvalidValueError
        Ids are lists or other compound values.
    """
    ids, positions = rows.ids, rows.positions
    if ids is None:
        return pd.Series(positions, name="id", copy=False)
    blank = missing_mask(ids)
    if blank.any():
        found = positions[np.flatnonzero(blank)]
        raise MissingValuesError(
            f"{file}: the id column {id_col!r} is blank in "
            f"{format_rows(found, numbering=numbering)}; give "
            "every row an id, or choose no id column to number the rows"
        )
    try:
        dup = (
            np.zeros(len(ids), dtype=bool)
            if ids_distinct.result()  # cheaper when clean
            else ids.duplicated(keep=False).to_numpy(dtype=bool)
        )
    except TypeError:
        raise InvalidValueError(
            f"{file}: the id column {id_col!r} holds lists or other "
            "compound values; ids must be text or numbers"
        ) from None
    if dup.any():
        found = positions[np.flatnonzero(dup)]
        values = example_values(ids, np.flatnonzero(dup))
        raise DuplicateIdError(
            f"{file}: the id column {id_col!r} repeats {values} ({int(dup.sum())} rows "
            f"share an id: {format_rows(found, numbering=numbering)}); ids must be unique: "
            "fix them, or choose no "
            "id column to number the rows"
        )
    return ids


def build_frame(
    rows: Rows,
    ids: pd.Series,
    mapping: ColumnMapping,
    *,
    file: str,
    text_task: bool,
    number_format: tuple[str | None, str | None],
    warnings: list[str],
) -> pd.DataFrame:
    """Return the canonical frame: the role columns, then the metadata columns.

    Columns ``id``, ``label``, ``prediction``, the optional ``human``, ``score`` and
    ``human_accuracy``, then the metadata (numbers where they hold only numbers).

    Classes are made canonical (:func:`core.values.canonical_classes`) except in a text
    task; metadata named like a role gets a ``_meta`` suffix (:func:`metadata_names`).
    ``number_format``: ``(decimal, thousands)`` of the numeric metadata.
    """
    roles = {
        "label": rows.label.reset_index(drop=True),
        "prediction": rows.prediction.reset_index(drop=True),
    }
    if rows.human is not None:
        roles["human"] = rows.human.reset_index(drop=True)
    if not text_task:
        roles = canonical_classes(roles)
    columns: dict[str, Any] = {"id": ids, **roles}
    if rows.score is not None:
        columns["score"] = rows.score
    if rows.human_accuracy is not None:
        columns["human_accuracy"] = rows.human_accuracy
    role_cols = {
        mapping.label,
        mapping.prediction,
        mapping.id,
        mapping.human,
        mapping.score,
        mapping.tags_column,
        mapping.human_accuracy,
        *(mapping.tag_columns or ()),
    }
    df = rows.table
    meta = [c for c in df.columns if c not in role_cols]
    decimal, thousands = number_format
    for name, c in zip(metadata_names(meta, set(columns)), meta, strict=True):
        columns[name] = typed_metadata(
            df[c], file=file, decimal=decimal, thousands=thousands, warnings=warnings
        )
    # copy=False: the columns are new arrays or copy-on-write views of the file's table.
    return pd.DataFrame(columns, copy=False)


def attach_numbering(
    frame: pd.DataFrame, numbering: RowNumbers, positions: np.ndarray, n_rows: int
) -> None:
    """Record in ``frame.attrs`` how the file numbers its rows, the rows left out skipped.

    Later messages (e.g. a regression task's) then name the file's rows. ``positions``: the
    kept rows' positions among the ``n_rows`` of the file's table.
    """
    # A mask, not np.setdiff1d: numpy 2.4's hash-based unique took 7.8 s at 1,000,000 rows.
    left_out = np.ones(n_rows, dtype=bool)
    left_out[positions] = False
    dropped = np.flatnonzero(left_out)
    replace(
        numbering, skipped=tuple(sorted({*numbering.skipped, *numbering.of(dropped.tolist())}))
    ).attach(frame)


def prepare_options(
    *,
    missing: MissingPolicy,
    positive: Any,
    threshold: float | None,
    na_values: tuple[str, ...],
    number_format: tuple[str | None, str | None],
    text_task: bool,
) -> dict[str, Any]:
    """Return the options that shaped the table, as :attr:`core.dataset.Dataset.options`."""
    options: dict[str, Any] = {"missing": missing, "positive": positive, "threshold": threshold}
    if na_values:
        options["na_values"] = na_values
    if number_format[0] or number_format[1]:
        options["number_format"] = number_format
    if text_task:
        options["task"] = "text"
    return options


def in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """Start ``fn(*args)`` on a thread of its own; its result (or error) waits in the future."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)
