r"""Containers around a table, and cells no table operation can hash.

:func:`core.dataset.read_table` reads CSV, TSV and Parquet. This module opens what people
wrap those in, recognised by their leading bytes rather than by their names:

- gzip (``1f 8b``) and bzip2 (``BZh``) streams, e.g. ``preds.csv.gz`` or ``preds.tsv.bz2``;
- a zip archive (``PK\x03\x04``) holding exactly one table;
- an Excel ``.xlsx`` workbook (a zip archive holding ``xl/workbook.xml``), read with
  python-calamine: one sheet, the first visible one unless another is named.

Decompression streams and stops at :data:`MAX_DECOMPRESSED_BYTES`, so a small file that
expands without end (a "decompression bomb") is refused with a clear message instead of
filling the server's memory.

It also turns nested values (Arrow lists, structs and maps; dicts, lists and arrays in
object columns) into compact JSON text, so that slicing, grouping and exporting see one
hashable value per cell (:func:`nested_arrow_to_text`, :func:`nested_cells_to_text`).

Every problem is a :class:`~core.errors.DataError` whose message names the file.
"""

from __future__ import annotations

import bz2
import datetime as dt
import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    DataError,
    DuplicateColumnError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
    RowNumbers,
    count_of,
    format_rows,
)

#: The most bytes a compressed file or a zip member may expand to (2 GiB). The server has
#: 24 GB; the table read from a file takes several times the file's size, so a larger
#: file belongs to the CLI's DuckDB engine (``--engine duckdb``), which streams.
MAX_DECOMPRESSED_BYTES = 2 * 1024**3

#: How many containers may be nested (a ``.csv.gz`` inside a ``.zip`` is two).
MAX_NESTING = 2

_CHUNK = 1 << 24  # bytes of output per decompression step

#: Names of archive members that are not tables (macOS and Windows leave these behind).
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)

_SUFFIXES = {"gzip": (".gz", ".gzip"), "bzip2": (".bz2", ".bzip2", ".bz")}


def container_kind(head: bytes) -> str | None:
    r"""Return ``"gzip"``, ``"bzip2"`` or ``"zip"`` from a file's leading bytes, else ``None``.

    The signatures are those of RFC 1952 (gzip: ``1f 8b``), bzip2 (``BZh``, the block size
    digit, then the block or end-of-stream magic) and PKWARE's APPNOTE (a local file header
    ``PK\x03\x04``, or ``PK\x05\x06`` for an empty archive).

    Examples
    --------
    >>> container_kind(b"\x1f\x8b\x08\x00")
    'gzip'
    >>> container_kind(b"label,prediction") is None
    True
    """
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if (
        head[:3] == b"BZh"
        and head[3:4] in b"123456789"
        and len(head) >= 10
        and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")
    ):
        return "bzip2"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    return None


def unpack(
    data: bytes, name: str, *, sheet: str | None = None, na_values: Iterable[str] = ()
) -> tuple[bytes | pd.DataFrame, str, list[str]]:
    """Open the containers around a table.

    Parameters
    ----------
    data
        The file's bytes.
    name
        The file's name, used in messages and, once containers are opened, to tell the
        inner format (``preds.tsv.gz`` holds ``preds.tsv``).
    sheet
        The sheet of a workbook to read (default: the first visible one).
    na_values
        Text cells of a workbook read as missing (the CSV reader's list).

    Returns
    -------
    (table, inner_name, warnings)
        ``table`` is the bytes of the CSV, TSV or Parquet file inside (bytes that are no
        container come back as they are) and ``inner_name`` the name that tells their
        format; or, for a workbook, the sheet as a DataFrame whose header is still to be
        checked (:func:`read_sheet`) and ``inner_name`` the name of the file and sheet for
        messages (``"book.xlsx, sheet 'preds'"``).

    Raises
    ------
    FileFormatError
        A damaged or truncated container, a zip archive holding no table or several, a
        password, or more than :data:`MAX_DECOMPRESSED_BYTES` once decompressed.
    EmptyFileError
        The chosen sheet is empty or has a header but no rows.
    InvalidValueError
        ``sheet`` is given for a file that is no workbook, or names no sheet of it.
    """
    inner = name
    for _ in range(MAX_NESTING + 1):
        kind = container_kind(data[:16])
        if kind is None:
            break
        if kind == "zip":
            with _open_zip(data, name) as archive:
                if _is_workbook(archive, name):
                    _check_declared_sizes(archive, name)
                    frame, label, note = read_sheet(data, name, sheet=sheet, na_values=na_values)
                    return frame, label, note
                data, inner = _only_member(archive, name)
        else:
            data = _decompress(data, name, kind)
            inner = _strip_suffix(inner, _SUFFIXES[kind])
    else:
        raise FileFormatError(
            f"{name}: holds archives or compressed files nested more than "
            f"{MAX_NESTING} deep; extract the table and read it directly"
        )
    if sheet is not None:
        raise InvalidValueError(
            f"{name}: a sheet ({sheet!r}) can be chosen in an Excel .xlsx "
            "workbook only; this file is not one"
        )
    return data, inner, []


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for s in suffixes:
        if name.lower().endswith(s):
            return name[: -len(s)]
    return name


# --------------------------------------------------------------------------- gzip, bzip2


def _too_big(name: str, what: str) -> FileFormatError:
    limit = MAX_DECOMPRESSED_BYTES
    shown = f"{limit / 2**30:g} GiB" if limit >= 2**30 else f"{limit:,} bytes"
    return FileFormatError(
        f"{name}: expands to more than {shown} once {what} (the most Slicewise decompresses; "
        "a very small file that expands this far may be a decompression bomb); decompress it "
        "yourself and analyse the table with `slicewise analyze FILE --engine duckdb`"
    )


def _damaged(name: str, what: str, reason: str) -> FileFormatError:
    return FileFormatError(
        f"{name}: is {what} but cannot be decompressed ({reason}); the file "
        "may be truncated or damaged: compress it again, or save the table "
        "as CSV"
    )


def _decompress(data: bytes, name: str, kind: str) -> bytes:
    """Decompress every stream of a gzip or bzip2 file, at most :data:`MAX_DECOMPRESSED_BYTES`.

    Several streams one after the other (``cat a.gz b.gz``) are one file, as for ``gunzip``;
    bytes after the last stream that start no other (zero padding) are ignored.
    """
    what = {"gzip": "gzip-compressed", "bzip2": "bzip2-compressed"}[kind]
    step = _gunzip_stream if kind == "gzip" else _bunzip_stream
    magic = b"\x1f\x8b" if kind == "gzip" else b"BZh"
    chunks: list[bytes] = []
    rest = data
    try:
        while rest.startswith(magic):
            rest = step(rest, chunks, name, what)
    except DataError:
        raise
    except (zlib.error, OSError, EOFError, ValueError) as exc:
        raise _damaged(name, what, str(exc) or type(exc).__name__) from None
    return b"".join(chunks)


def _emit(chunks: list[bytes], out: bytes, name: str) -> None:
    """Append ``out`` to ``chunks``, refusing past :data:`MAX_DECOMPRESSED_BYTES` in all."""
    if sum(map(len, chunks)) + len(out) > MAX_DECOMPRESSED_BYTES:
        raise _too_big(name, "decompressed")
    chunks.append(out)


def _gunzip_stream(data: bytes, chunks: list[bytes], name: str, what: str) -> bytes:
    """Decompress one gzip member of ``data`` into ``chunks``; return the bytes after it."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    buf = data
    while not d.eof:
        out = d.decompress(buf, _CHUNK)
        before, buf = len(buf), d.unconsumed_tail
        if out:
            _emit(chunks, out, name)
        elif not d.eof and (not buf or len(buf) == before):  # at eof: a complete (empty) file
            raise _damaged(name, what, "the compressed data ends early")
    return d.unused_data


def _bunzip_stream(data: bytes, chunks: list[bytes], name: str, what: str) -> bytes:
    """Decompress one bzip2 stream of ``data`` into ``chunks``; return the bytes after it."""
    d = bz2.BZ2Decompressor()
    buf = data
    while not d.eof:
        if d.needs_input and not buf:
            raise _damaged(name, what, "the compressed data ends early")
        out = d.decompress(buf, _CHUNK)
        buf = b""
        if out:
            _emit(chunks, out, name)
    return d.unused_data


# --------------------------------------------------------------------------- zip


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileFormatError(
            f"{name}: starts like a zip archive (or an Excel .xlsx workbook) but cannot be "
            f"opened ({exc}); it may be truncated or damaged: save it again, or export the "
            "sheet as CSV"
        ) from None


def _is_workbook(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether the archive is an Excel .xlsx (or .xlsm) workbook."""
    names = set(archive.namelist())
    if "xl/workbook.bin" in names:
        raise FileFormatError(
            f"{name}: is an Excel binary workbook (.xlsb); save it as .xlsx or CSV"
        )
    return "xl/workbook.xml" in names


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in archive.infolist() if not i.is_dir() and not _JUNK.search(i.filename)]


def _check_declared_sizes(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse an archive whose members say they expand past the limit (read by others)."""
    if sum(i.file_size for i in archive.infolist()) > MAX_DECOMPRESSED_BYTES:
        raise _too_big(name, "unzipped")


def _only_member(archive: zipfile.ZipFile, name: str) -> tuple[bytes, str]:
    """Return the bytes and name of the one table in ``archive``."""
    names = set(archive.namelist())
    if "mimetype" in names and "content.xml" in names:
        raise FileFormatError(
            f"{name}: is an OpenDocument file (.ods); save the sheet as .xlsx or CSV"
        )
    members = _members(archive)
    if not members:
        raise FileFormatError(
            f"{name}: is a zip archive with no file in it; put one CSV, TSV "
            "or Parquet file in it, or read that file directly"
        )
    if len(members) > 1:
        shown = ", ".join(repr(i.filename) for i in members[:5])
        more = f" and {len(members) - 5} more" if len(members) > 5 else ""
        raise FileFormatError(
            f"{name}: is a zip archive holding {len(members)} files ({shown}{more}); Slicewise "
            "reads one table at a time: extract the one you mean and read it, or zip it alone"
        )
    info = members[0]
    member = PurePosixPath(info.filename).name
    label = f"{name} ({info.filename})"
    if info.flag_bits & 0x1:
        raise FileFormatError(
            f"{label}: the zip archive is password-protected; extract the file and read it directly"
        )
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > MAX_DECOMPRESSED_BYTES:
                    raise _too_big(name, "unzipped")
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise _damaged(label, "a zip archive", str(exc) or type(exc).__name__) from None
    except NotImplementedError as exc:  # e.g. deflate64 or an unknown compression method
        raise FileFormatError(
            f"{label}: the zip archive uses a compression method Python "
            f"cannot read ({exc}); zip it again with the usual method "
            "(deflate)"
        ) from None
    return b"".join(chunks), member


# --------------------------------------------------------------------------- xlsx


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
    names = [m.name for m in metas]
    sheets = [m.name for m in metas if m.typ == calamine.SheetTypeEnum.WorkSheet]
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


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _sheet_frame(
    rows: list[list[Any]], label: str, na: frozenset[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Build the sheet's frame and its warnings: header from the first row, blank rows skipped."""
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
    nameless = [j for j in range(width) if not header[j].strip()]
    holding = [j for j in nameless if not missing[:, j].all()]
    if holding:
        where = ", ".join(f"{j + 1} ({_column_letter(j + 1)})" for j in holding[:5]) + (
            f" and {len(holding) - 5} more" if len(holding) > 5 else ""
        )
        one = len(holding) == 1
        raise DuplicateColumnError(
            f"{label}: {'column' if one else 'columns'} {where} {'holds' if one else 'hold'} "
            f"values but {'has' if one else 'have'} no name in row 1; the first row of the "
            "sheet must be the header (delete any title or notes above it) and every column "
            "needs a name"
        )
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


def _column_letter(number: int) -> str:
    """Return a spreadsheet's name of the 1-based column ``number`` (1: A, 27: AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def nameless_columns_note(file: str, columns: Sequence[int], *, letters: bool = False) -> str:
    """Return the warning for columns left out because they have no name and no value.

    ``columns`` are 1-based positions in the header; ``letters`` adds a spreadsheet's
    column letters (``4 (D)``).
    """
    shown = [f"{c} ({_column_letter(c)})" if letters else str(c) for c in columns[:5]]
    more = f" and {len(columns) - 5} more" if len(columns) > 5 else ""
    one = len(columns) == 1
    return (
        f"{file}: left out {'column' if one else 'columns'} {', '.join(shown)}{more}: "
        f"{'it has' if one else 'they have'} no name in the header and no value in any "
        "row (trailing delimiters, or empty columns of a spreadsheet)"
    )


def blank_rows_note(file: str, positions: Sequence[int], numbering: RowNumbers) -> str:
    """Return the warning for rows skipped because every cell is blank.

    ``positions`` are the 0-based positions of those rows among the data rows, numbered
    for the message by ``numbering``.
    """
    n = len(positions)
    return (
        f"{file}: skipped {count_of(n, 'row')} where every cell is blank "
        f"({format_rows(positions, numbering=numbering)})"
    )


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


# --------------------------------------------------------------------------- nested values


def json_text(value: Any) -> str | None:
    """Return ``value`` (a list, dict, array...) as compact JSON with sorted keys.

    Equal values give equal text: keys are sorted, NaN becomes ``null``, dates ISO 8601
    text, bytes UTF-8 text (else hexadecimal), NumPy scalars plain numbers. A missing
    value gives ``None``.

    Examples
    --------
    >>> json_text({"b": [1, 2.5], "a": None})
    '{"a":null,"b":[1,2.5]}'
    """
    if _missing(value):
        return None
    return json.dumps(
        _plain(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    )


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _plain(v: Any) -> Any:
    """``v`` with only JSON's types (see :func:`json_text`)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, np.generic):
        return _plain(v.item())
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, Mapping):
        return {_key(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (set, frozenset)):
        return sorted((_plain(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return b.hex()
    if isinstance(v, Decimal):
        return float(v) if v.is_finite() else None
    return str(v)


def _key(k: Any) -> str:
    p = _plain(k)
    return p if isinstance(p, str) else json.dumps(p, sort_keys=True)


def nested_arrow_to_text(table: Any) -> tuple[Any, list[str]]:
    """Turn the list, struct, map and union columns of a pyarrow Table into JSON text.

    Returns
    -------
    (table, names)
        The table with those columns as strings (:func:`json_text` of each cell, nulls kept)
        and their names. The pandas metadata of those columns is reset to plain text so
        that ``to_pandas`` does not try to restore a list dtype.
    """
    import pyarrow as pa

    names = []
    for i, f in enumerate(table.schema):
        if not pa.types.is_nested(f.type):
            continue
        values = _arrow_pylist(table.column(i))
        texts = pa.array([json_text(v) for v in values], type=pa.string())
        table = table.set_column(i, f.name, texts)
        names.append(f.name)
    if names and table.schema.metadata and b"pandas" in table.schema.metadata:
        meta = json.loads(table.schema.metadata[b"pandas"])
        for col in meta.get("columns", []):
            if col.get("field_name") in names:
                col.update(pandas_type="unicode", numpy_type="object", metadata=None)
        table = table.replace_schema_metadata(
            {**table.schema.metadata, b"pandas": json.dumps(meta).encode()}
        )
    return table, names


def _arrow_pylist(column: Any) -> list[Any]:
    """Python values of an Arrow column; maps as dicts (pairs when a key repeats)."""
    try:
        return column.to_pylist(maps_as_pydicts="strict")
    except (TypeError, ValueError, KeyError):
        return column.to_pylist()


def nested_cells_to_text(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Turn the compound cells of ``df`` (dicts, lists, tuples, arrays, sets) into JSON text.

    Looks at object columns whose cells pandas finds of mixed kinds and at Arrow-backed
    nested columns (``pd.ArrowDtype`` of a list, struct or map); other columns are not
    touched, nor copied.

    Returns
    -------
    (frame, names)
        A new frame when some column changed (else ``df`` itself) and the changed columns.
    """
    import pyarrow as pa

    changed: dict[Any, pd.Series] = {}
    for pos, (_, s) in enumerate(df.items()):
        dtype = s.dtype
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_nested(dtype.pyarrow_dtype):
            values = _arrow_pylist(s.array.__arrow_array__())
            changed[pos] = pd.Series([json_text(v) for v in values], index=s.index, dtype=object)
        elif pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(
            s, skipna=True
        ).startswith("mixed"):
            values = s.to_numpy()
            bad = [i for i, v in enumerate(values) if _compound(v)]
            if bad:
                out = values.copy()
                for i in bad:
                    out[i] = json_text(out[i])
                changed[pos] = pd.Series(out, index=s.index, dtype=object)
    if not changed:
        return df, []
    out = df.copy(deep=False)
    for pos, series in changed.items():
        out.isetitem(pos, series)
    return out, [str(df.columns[pos]) for pos in changed]


def _compound(v: Any) -> bool:
    """Whether a cell holds several values (tuples too: Parquet stores them as lists)."""
    if isinstance(v, (list, tuple, dict, set, frozenset, np.ndarray, Mapping)):
        return True
    try:
        hash(v)
    except TypeError:
        return True
    return False


def nested_warning(file: str, names: list[str]) -> str:
    """Return the note that says which columns were read as JSON text."""
    shown = ", ".join(repr(n) for n in names)
    word = "column" if len(names) == 1 else "columns"
    return (
        f"{file}: {word} {shown} hold lists, structs or maps; read as JSON text (slice by "
        "it to get one slice per distinct value); such a column cannot be the label, "
        "prediction, id, human label, score or tags"
    )
