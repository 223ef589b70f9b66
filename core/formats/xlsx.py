"""Excel ``.xlsx`` workbooks: one sheet read into a frame typed as the CSV reader types it.

Read with python-calamine; the first visible sheet unless another is named. Every problem
is a :class:`~core.errors.DataError` whose message names the file and sheet.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    DuplicateColumnError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
    RowNumbers,
)
from slicewise.core.formats.notes import blank_rows_note, column_letter, nameless_columns_note


def read_sheet(
    data: bytes, name: str, *, sheet: str | None = None, na_values: Iterable[str] = ()
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read one sheet of an Excel workbook into a frame typed as the CSV reader types it.

    The first row holds the column names (text, whole numbers written without ``.0``);
    the columns are typed from their cells:

    - number cells only: ``int64`` when every cell is a whole number, else ``float64``
      with NaN for blanks;
    - true/false cells only: ``bool``, or with blanks True/False/None objects (as a
      Parquet boolean column reads);
    - anything else (one text cell is enough): text. Text cells keep their spelling
      (``"007"`` stays ``"007"``, ``"01"`` is not ``1``), numbers are written as a person
      types them (``7``, not ``7.0``; ``7.5``), dates and times as ISO 8601 text
      (``2024-01-03``, ``2024-01-03 14:05:00``), true/false as ``TRUE``/``FALSE``. Which
      of these texts are numbers is left to the loader's rules (:mod:`core.values`), as for
      a CSV file: no cell changes how another is read.

    Blank cells, cells in error (``#DIV/0!``) and text cells in ``na_values`` are missing.
    Rows where every cell is blank are skipped and columns with neither a name nor a value
    left out, each with a warning; the frame's rows keep the sheet's row numbers for
    messages (:class:`~core.errors.RowNumbers`, recorded in ``frame.attrs``).

    Returns
    -------
    (frame, label, warnings)
        The header's names are not checked here (:func:`core.dataset.read_table` checks
        them as a CSV header's); ``label`` names the file and sheet for its messages
        (``"book.xlsx, sheet 'preds'"``).

    Raises
    ------
    FileFormatError
        The workbook cannot be read (damaged, password-protected) or has no worksheet.
    InvalidValueError
        ``sheet`` is not one of its sheets.
    EmptyFileError
        The sheet is empty, its first row is blank, or it has no data rows.
    DuplicateColumnError
        A column holds values but has no name in row 1 (e.g. a title row above the header).
    """
    import python_calamine as calamine

    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 (calamine raises its own types and ValueError)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise FileFormatError(
            f"{name}: is an Excel workbook that cannot be read ({reason}); "
            "save it again as .xlsx, or export the sheet as CSV"
        ) from None
    with book:
        return _read_book(book, name, sheet, frozenset(na_values))


def _read_book(
    book: Any, name: str, sheet: str | None, na: frozenset[str]
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read the chosen sheet of an open calamine workbook (see :func:`read_sheet`)."""
    import python_calamine as calamine

    metas = list(book.sheets_metadata)
    sheets = [m.name for m in metas if m.typ == calamine.SheetTypeEnum.WorkSheet]
    chosen, warnings = _choose_sheet(metas, sheets, name, sheet)
    label = f"{name}, sheet {chosen!r}"
    try:
        rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise FileFormatError(
            f"{label}: cannot be read ({reason}); save the workbook again, "
            "or export the sheet as CSV"
        ) from None
    try:
        frame, notes = _sheet_frame(rows, label, na)
    except EmptyFileError as exc:
        others = [s for s in sheets if s != chosen]
        if sheet is not None or not others:
            raise
        raise EmptyFileError(
            f"{exc}; or read another sheet of the workbook: "
            f"{', '.join(map(repr, others))} (CLI: --sheet NAME)"
        ) from None
    return frame, label, [*warnings, *notes]


def _choose_sheet(
    metas: list[Any], sheets: list[str], name: str, sheet: str | None
) -> tuple[str, list[str]]:
    """Return the sheet to read (``sheet``, else the first visible worksheet) and a note.

    ``metas`` are calamine's sheet metadata, ``sheets`` the names of the worksheets among
    them. The note names the other sheets when the workbook has several.
    """
    import python_calamine as calamine

    names = [m.name for m in metas]
    warnings = []
    if sheet is not None:
        if sheet not in names:
            raise InvalidValueError(
                f"{name}: has no sheet {sheet!r}; its sheets are "
                f"{', '.join(map(repr, names))} (CLI: --sheet NAME)"
            )
        chosen = sheet
    else:
        visible = [
            m.name
            for m in metas
            if m.typ == calamine.SheetTypeEnum.WorkSheet
            and m.visible == calamine.SheetVisibleEnum.Visible
        ]
        if not (visible or sheets):
            raise FileFormatError(
                f"{name}: the workbook has no worksheet (only charts?); export the table as CSV"
            )
        chosen = (visible or sheets)[0]
        if len(sheets) > 1:
            warnings.append(
                f"{name}: read the sheet {chosen!r}; the workbook also has "
                f"{', '.join(repr(s) for s in sheets if s != chosen)} (CLI: "
                "--sheet NAME to read another)"
            )
    return chosen, warnings


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _check_header_row(rows: list[list[Any]], label: str) -> None:
    """Refuse a sheet that is empty or whose first row (the header) is blank."""
    if not rows or all(_blank(v) for row in rows for v in row):
        raise EmptyFileError(
            f"{label}: the sheet is empty; it needs a header row (e.g. "
            "id, label, prediction) and one row per example"
        )
    if all(_blank(v) for v in rows[0]):
        raise EmptyFileError(
            f"{label}: row 1 is blank; it must hold the column names (delete "
            "the blank rows above the header)"
        )


def _grid(rows: list[list[Any]], na: frozenset[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return the header's names, the body's cells (rows × width, object) and which are blank.

    Short rows are padded with blank cells to the widest row's width.
    """
    width = max(len(r) for r in rows)
    header = [_cell_text(v) if not _blank(v) else "" for v in rows[0]]
    header += [""] * (width - len(header))
    body = [r if len(r) == width else [*r, *[""] * (width - len(r))] for r in rows[1:]]
    cells = np.empty((len(body), width), dtype=object)
    if body:
        cells[:] = body
    missing = np.zeros(cells.shape, dtype=bool)
    for j in range(width):
        missing[:, j] = _missing_cells(cells[:, j], na)
    return header, cells, missing


def _refuse_values_without_name(label: str, holding: list[int]) -> None:
    """Refuse columns (0-based ``holding``) that hold values but have no name in row 1."""
    if not holding:
        return
    where = ", ".join(f"{j + 1} ({column_letter(j + 1)})" for j in holding[:5]) + (
        f" and {len(holding) - 5} more" if len(holding) > 5 else ""
    )
    one = len(holding) == 1
    raise DuplicateColumnError(
        f"{label}: {'column' if one else 'columns'} {where} {'holds' if one else 'hold'} "
        f"values but {'has' if one else 'have'} no name in row 1; the first row of the "
        "sheet must be the header (delete any title or notes above it) and every column "
        "needs a name"
    )


def _sheet_frame(
    rows: list[list[Any]], label: str, na: frozenset[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Build the sheet's frame and its warnings: header from the first row, blank rows skipped."""
    _check_header_row(rows, label)
    header, cells, missing = _grid(rows, na)
    width = len(header)
    nameless = [j for j in range(width) if not header[j].strip()]
    _refuse_values_without_name(label, [j for j in nameless if not missing[:, j].all()])
    blank_rows = missing.all(axis=1)
    if blank_rows.all():
        raise EmptyFileError(f"{label}: has a header but no data rows; add one row per example")
    notes = []
    if nameless:
        notes.append(nameless_columns_note(label, [j + 1 for j in nameless], letters=True))
    numbering = RowNumbers(first=2)
    if blank_rows.any():
        skipped = np.flatnonzero(blank_rows)
        notes.append(blank_rows_note(label, skipped, numbering))
        last = np.flatnonzero(~blank_rows)[-1]
        numbering = RowNumbers(first=2, skipped=tuple(numbering.of(skipped[skipped < last])))
        cells, missing = cells[~blank_rows], missing[~blank_rows]
    keep = [j for j in range(width) if header[j].strip()]
    data = {j: _sheet_column(cells[:, j], missing[:, j]) for j in keep}
    frame = pd.DataFrame(data, copy=False)
    frame.columns = [header[j].strip() for j in keep]  # stripped like a CSV header
    numbering.attach(frame)
    return frame, notes


def _missing_cells(values: np.ndarray, na: frozenset[str]) -> np.ndarray:
    """Blank cells (``""``, ``None``: empty or in error) and text cells in ``na``."""
    s = pd.Series(values, dtype=object, copy=False)
    return (s.isna() | s.isin(na | {""})).to_numpy(dtype=bool)


def _sheet_column(values: np.ndarray, missing: np.ndarray) -> pd.Series:
    """Type one column's cells (see :func:`read_sheet`); ``missing`` marks blank cells.

    Each cell is read by its own kind, never by its neighbours': a column whose cells are
    all numbers is numeric, all booleans boolean; any other column is text, where text
    cells keep their spelling (``007``) and the other cells are written as a person types
    them (:func:`_cell_text`: ``7``, ``7.5``, ``TRUE``). Whether such text holds numbers is
    then decided by the loader's rules, as for a CSV file (:mod:`core.values`).
    """
    present = values[~missing]
    if not len(present):  # as the CSV reader reads a blank column: text, all missing
        return pd.Series(np.full(len(values), np.nan), dtype="str")
    kind = pd.api.types.infer_dtype(present, skipna=False)
    if kind == "boolean":  # as pyarrow reads a boolean column
        if not missing.any():
            return pd.Series(values.astype(bool))
        out = values.copy()
        out[missing] = None
        return pd.Series(out, dtype=object)
    if kind == "string":  # text cells keep their spelling
        out = values.copy()
        out[missing] = np.nan
        return pd.Series(out)
    if kind in ("integer", "floating", "mixed-integer-float"):  # number cells only
        floats = np.full(len(values), np.nan)
        floats[~missing] = [float(v) for v in present]
        finite = floats[~missing]
        if (
            not missing.any()
            and bool(np.all(finite == np.floor(finite)))
            and bool(np.all(np.abs(finite) < 2.0**63))
        ):
            return pd.Series(floats.astype(np.int64))
        return pd.Series(floats)
    out = np.full(len(values), np.nan, dtype=object)
    out[~missing] = [_cell_text(v) for v in present]
    return pd.Series(out)


def _cell_text(v: Any) -> str:
    """Write a cell as text: whole numbers without ``.0``, dates ISO 8601, TRUE/FALSE."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 2.0**63:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)
