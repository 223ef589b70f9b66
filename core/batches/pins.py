"""Decisions the loader takes from a :class:`~core.batches.plan.LoadPlan` instead of a batch.

:func:`core.dataset.prepare` decides some things from the whole table: the spelling each
class is shown in, the number format of a column, whether a metadata column holds numbers
(and whole numbers), the tags a tags column lists. A batch of rows would decide them from
its own rows and could decide otherwise, so a batch is prepared with these :class:`Pins`
(``prepare(..., pins=...)``); every other rule is the loader's own, run on the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slicewise.core.column_parsing import is_text, parse_human_accuracy, trim_text, typed_metadata
from slicewise.core.column_roles import ROLES, ColumnMapping, resolve_mapping
from slicewise.core.errors import MissingValuesError, RowNumbers
from slicewise.core.prepare_steps import (
    Rows,
    build_frame,
    check_table,
    check_threshold,
    checked_ids,
    human_column,
    missing_rows,
    read_roles,
)
from slicewise.core.values import as_text, class_keys

if TYPE_CHECKING:
    from slicewise.core.dataset import Dataset

#: What a metadata column holds, as the whole file decides it: ``text`` (trimmed text),
#: ``int`` or ``float`` (numbers, in the pinned format), ``keep`` (typed by the reader).
MetadataKind = str


@dataclass(frozen=True)
class Pins:
    """The loader's whole-table decisions, pinned for a batch (picklable).

    Attributes
    ----------
    formats
        Column -> ``(decimal, thousands)`` to read its numbers with; ``(None, None)`` lets
        the loader infer (the plain dot format, which every batch then infers too).
    metadata
        Metadata column -> :data:`MetadataKind`. Columns not listed are read as the loader
        reads them from the batch.
    spellings
        Class key (:func:`core.values.class_keys`) -> the spelling shown; ``None`` keeps the
        cells as read (the pass that counts spellings).
    tags
        The tags a tags column lists over the whole file (sorted), ``None`` for as found.
    label_classes
        With a score threshold: the label's classes over the whole file (class key -> a
        spelling), so a batch holding one class predicts the other
        (:func:`core.score_threshold.prediction_from_score`).
    """

    formats: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    metadata: dict[str, MetadataKind] = field(default_factory=dict)
    spellings: dict[str, str] | None = None
    tags: tuple[str, ...] | None = None
    label_classes: dict[str, str] | None = None

    def numbers(self, column: str, default: tuple[str | None, str | None]) -> dict[str, str | None]:
        """Return the ``decimal`` and ``thousands`` to read ``column``'s numbers with."""
        decimal, thousands = self.formats.get(column, default)
        return {"decimal": decimal, "thousands": thousands}


def pinned_classes(columns: dict[str, pd.Series], pins: Pins) -> dict[str, pd.Series]:
    """Spell each class cell as the whole file does (:func:`core.values.canonical_classes`).

    ``pins.spellings`` maps class keys to spellings; a key it lacks keeps the cell's text.
    With ``pins.spellings`` ``None`` the cells are left as read. Work is per distinct cell.
    """
    if pins.spellings is None:
        return columns
    out = {}
    for name, values in columns.items():
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        text = as_text(pd.Series(uniques, dtype=object))
        keys = class_keys(text)
        shown = [
            pins.spellings.get(k, t) if k is not None else None
            for k, t in zip(keys.tolist(), text.tolist(), strict=True)
        ]
        mapped = np.array([*shown, None], dtype=object)
        out[name] = pd.Series(mapped[codes], index=values.index, dtype=object, copy=False)
    return out


def pinned_tags(tags: pd.DataFrame, pins: Pins) -> pd.DataFrame:
    """Give a batch the tags-column tags of the whole table, in its order (sorted first).

    ``tags`` as :func:`core.prepare_steps.read_tags` returns them for the batch; unchanged
    when ``pins.tags`` is ``None``.
    """
    if pins.tags is None:
        return tags
    listed = [t for t in pins.tags if t not in tags.columns]
    if listed:
        tags = pd.concat([tags, pd.DataFrame(False, index=tags.index, columns=listed)], axis=1)
    return tags[[*pins.tags, *(c for c in tags.columns if c not in pins.tags)]]


def pinned_metadata(
    col: pd.Series,
    kind: MetadataKind,
    *,
    file: str,
    decimal: str | None,
    thousands: str | None,
) -> pd.Series:
    """Read a metadata column as the whole file decided (:func:`typed_metadata`'s rules).

    ``text``: trimmed text, blank cells missing; ``int``/``float``: numbers in
    ``decimal``/``thousands`` (int64 when the whole column is whole numbers without a
    gap); ``keep``: the reader's types. The whole table's warnings are the plan's.
    """
    if kind == "keep" or not is_text(col):
        return col
    if kind == "text":
        name = col.name
        return as_text(col).rename(name) if col.dtype == object else trim_text(col)
    typed = typed_metadata(col, file=file, decimal=decimal, thousands=thousands, warnings=[])
    if kind == "int":
        return typed.astype(np.int64)
    return typed.astype(np.float64)


def prepare_pinned(
    df: pd.DataFrame,
    mapping: ColumnMapping,
    *,
    pins: Pins,
    source_name: str = "table",
    missing: str = "fail",
    positive: Any = None,
    threshold: float | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
    numbering: RowNumbers | None = None,
) -> tuple[Dataset, Rows]:
    """Run :func:`core.dataset.prepare`'s steps on a batch, the whole table's decisions pinned.

    The steps are the loader's (:mod:`core.prepare_steps`), in its order; what differs is
    what a batch cannot decide alone: number formats, tags-column tags, metadata types and
    class spellings come from ``pins``, and a batch may lose every row (the whole table's
    check is :mod:`core.batches.plan`'s). ``mapping`` must have every role decided (the id
    switched off: the frame's ``id`` is then each kept row's position in the batch).

    ``numbering``: how messages number the rows (default: as ``df.attrs`` says).

    Returns
    -------
    (the batch's dataset, its rows as read, kept rows only: the class cells before spelling)

    Raises
    ------
    DataError
        As the loader's steps raise, rows numbered as ``df.attrs`` says.
    """
    file, text_task = source_name, task == "text"
    numbering = numbering or RowNumbers.of_frame(df)
    df, na_values = check_table(df, file, missing=missing, na_values=na_values)
    threshold = check_threshold(threshold, mapping, file)
    mapping = resolve_mapping(df, mapping, file=file, require_prediction=threshold is None)
    where = {"file": file, "numbering": numbering}
    own = (decimal, thousands)
    fmt = pins.formats.get(mapping.score, own) if mapping.score else own
    rows, mapping, pred_col, _ = read_roles(
        df, mapping, threshold=threshold, positive=positive, text_task=text_task,
        number_format=fmt, distinct={}, warnings=[], label_classes=pins.label_classes, **where,
    )  # fmt: skip
    accuracy = mapping.human_accuracy
    if accuracy is not None and pins.formats.get(accuracy, own) != fmt:
        numbers = pins.numbers(accuracy, own)
        rows.human_accuracy = parse_human_accuracy(
            df[accuracy], column=accuracy, **numbers, **where
        )
    rows.tags = pinned_tags(rows.tags, pins)
    try:
        drop, _ = missing_rows(
            rows, mapping, pred_col, missing=missing, text_task=text_task, **where
        )  # type: ignore[arg-type]
    except MissingValuesError:
        if missing == "fail":
            raise
        drop = np.ones(len(rows.positions), dtype=bool)  # a role missing in every row
    rows.human = human_column(df, mapping, text_task)
    rows = rows.keep(~drop) if drop.any() else rows
    ids = checked_ids(rows, None, None, **where)
    frame = _frame(rows, ids, mapping, pins, file=file, text_task=text_task, own=own)
    from slicewise.core.dataset import Dataset

    return Dataset(frame=frame, tags=rows.tags, mapping=mapping, source_name=file), rows


def _frame_names(table: pd.DataFrame, mapping: ColumnMapping, frame: pd.DataFrame) -> dict:
    """Map each metadata column of ``table`` to its name in ``frame`` (they come last)."""
    roles = {getattr(mapping, r) for r in ROLES} | set(mapping.tag_columns or ())
    meta = [c for c in table.columns if c not in roles]
    return dict(zip(meta, frame.columns[len(frame.columns) - len(meta) :], strict=True))


def _frame(
    rows: Rows,
    ids: pd.Series,
    mapping: ColumnMapping,
    pins: Pins,
    *,
    file: str,
    text_task: bool,
    own: tuple[str | None, str | None],
) -> pd.DataFrame:
    """Build the batch's frame (:func:`core.prepare_steps.build_frame`), pinned.

    Metadata types and class spellings as ``pins`` says.
    """
    typed = {
        c: pinned_metadata(rows.table[c], kind, file=file, **pins.numbers(c, own))
        for c, kind in pins.metadata.items()
        if c in rows.table.columns
    }
    # Placeholders (numbers, which build_frame keeps) hold the typed columns' places.
    rows.table = rows.table.assign(**{c: np.zeros(len(v), np.int8) for c, v in typed.items()})
    frame = build_frame(
        rows, ids, mapping, file=file, text_task=text_task, number_format=own, warnings=[]
    )
    names = _frame_names(rows.table, mapping, frame)
    frame = frame.assign(**{names[c]: v.to_numpy() for c, v in typed.items()})
    if not text_task:
        classes = [c for c in ("label", "prediction", "human") if c in frame.columns]
        frame = frame.assign(**pinned_classes({c: frame[c] for c in classes}, pins))
    return frame
