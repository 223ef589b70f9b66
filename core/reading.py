"""Read a predictions file into a raw table of text cells.

CSV/TSV text (any encoding, delimiter detected; large UTF-8 files through pyarrow's
multi-threaded reader), Parquet, and Excel .xlsx sheets, also compressed or zipped (see
:mod:`core.formats`). The raw table is what :func:`core.dataset.prepare` validates and maps;
bytes and encodings are :mod:`core.decoding`'s, header and field-count checks
:mod:`core.table_shape`'s.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from slicewise.core import formats
from slicewise.core.column_parsing import missing_mask
from slicewise.core.decoding import decode_text, source_bytes
from slicewise.core.errors import DataError, EmptyFileError, FileFormatError, RowNumbers
from slicewise.core.table_shape import (
    check_field_counts,
    check_header_is_names,
    check_names,
    is_nameless,
    nameless_error,
    normalize_sep,
    read_header,
    sep_name,
    short_parser_message,
)

# Cells read as missing: only blank ones. "NA", "N/A", "null", "None", "nan" are values
# (North America, a class called "None") unless the user lists them (see core.values).
NA_VALUES = ("",)
# The ``DataFrame.attrs`` key listing the columns read from lists, structs or maps as JSON
# text (set by the Parquet reader and dataset_from_frame, read by prepare).
NESTED_ATTR = "slicewise_nested_columns"
# Excel reads a first line "sep=;" as the delimiter to use, and writes one when asked.
_EXCEL_SEP_LINE = re.compile(rb"(\xef\xbb\xbf)?sep=([^\w\s\"]|\t)(?:\r\n|\n|\r|$)")

_HEAD_BYTES = 1 << 16


def read_table(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, str, list[str]]:
    """Read a CSV, TSV, Parquet or Excel .xlsx file into a DataFrame, checking its shape.

    gzip- and bzip2-compressed files and zip archives holding one such file are read too,
    recognised by their leading bytes (see :mod:`core.formats`). Lists, structs and maps
    in a Parquet file are read as JSON text (one value per cell), with a warning.

    What spreadsheet exports add around a table is left out, with a warning: columns with
    no name and no value (trailing delimiters) and rows where every cell is blank. Excel's
    first line ``sep=;`` gives the delimiter. The frame records how the file numbers its
    rows (:class:`~core.errors.RowNumbers` in ``frame.attrs``), for :func:`prepare`'s
    messages.

    Parameters
    ----------
    source
        A path, raw bytes or a file-like object (e.g. Streamlit's ``UploadedFile``).
    name
        The file name used in messages (defaults to the path's or object's name).
    encoding
        Text encoding; ``None`` honours a BOM, tries UTF-8, then detects.
    sep
        Field delimiter; ``None`` uses tab for ``.tsv`` and otherwise sniffs the header.
    sheet
        The sheet of an .xlsx workbook to read; ``None`` reads the first visible one.

    Returns
    -------
    (frame, content_hash, warnings)

    Raises
    ------
    EmptyFileError, FileFormatError, EncodingError, DuplicateColumnError, InvalidValueError
        Every problem, including whatever pandas, pyarrow or the decompressors would raise,
        is one of these :class:`~core.errors.DataError` subclasses; the message starts with
        the file name (and names the sheet of a workbook). A compressed file expanding past
        :data:`core.formats.MAX_DECOMPRESSED_BYTES` is a FileFormatError.
    """
    df, digest, warnings, _ = read_source(
        source, name=name, encoding=encoding, sep=sep, sheet=sheet
    )
    return df, digest, warnings


def read_source(
    source: str | Path | IO[bytes] | bytes,
    *,
    name: str | None,
    encoding: str | None,
    sep: str | None,
    sheet: str | None = None,
    lazy_hash: bool = False,
) -> tuple[pd.DataFrame, str | FileDigest, list[str], str]:
    """:func:`read_table`, also returning the file name used in messages.

    ``lazy_hash``: for a path, return a :class:`FileDigest` (the SHA-256 computed when first
    asked for) instead of hashing the whole file now: ``analyze`` never needs it, the store
    and the app's caches do (:meth:`core.dataset.Dataset.fingerprint`).
    """
    lazy = FileDigest.of(source) if lazy_hash else None
    data, name = source_bytes(source, name)
    try:
        df, warnings = _parse(data, name, encoding, sep, sheet)
    except DataError:
        raise
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # pandas, pyarrow and csv raise many types
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        raise FileFormatError(
            f"{name}: cannot be read as a CSV, TSV or Parquet table ({reason}); check that it "
            "is a text table with one header row, or save it again as CSV (UTF-8)"
        ) from None
    if lazy is not None and lazy.unchanged():
        return df, lazy, warnings, name
    return df, hashlib.sha256(data).hexdigest(), warnings, name


class FileDigest:
    """The SHA-256 of a file's bytes, computed when first called (then remembered).

    Taken from the file on disk, in 1 MiB blocks; when the file's size or modification
    time changed since it was read, the digest of the new bytes is salted with the time
    of the call, so that it matches no cache entry made for either version.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stat = self._signature()
        self._digest: str | None = None

    @classmethod
    def of(cls, source: object) -> FileDigest | None:
        """Return a digest for a path source (``None`` for bytes, uploads, a missing path)."""
        if not isinstance(source, (str, Path)):
            return None
        try:
            return cls(Path(source))
        except OSError:
            return None  # source_bytes reports it

    def _signature(self) -> tuple[int, int]:
        st = self.path.stat()
        return st.st_size, st.st_mtime_ns

    def unchanged(self) -> bool:
        """Whether the file still has the size and modification time it had when read."""
        try:
            return self._signature() == self._stat
        except OSError:
            return False

    def __call__(self) -> str:
        """Return the hex SHA-256 of the file's bytes (see the class docstring)."""
        if self._digest is None:
            h = hashlib.sha256()
            with self.path.open("rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
            if not self.unchanged():
                h.update(f"changed at {time.time_ns()}".encode())
            self._digest = h.hexdigest()
        return self._digest


def _parse(
    data: bytes, name: str, encoding: str | None, sep: str | None, sheet: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read the table in ``data``: open its containers, then read CSV/TSV text or Parquet."""
    sep = normalize_sep(sep, name)
    if not re.search(rb"\S", data):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. "
            "id,label,prediction) and one row per example"
        )
    table, inner, warnings = formats.unpack(data, name, sheet=sheet, na_values=NA_VALUES)
    if isinstance(table, pd.DataFrame):  # a sheet of a workbook; inner names file and sheet
        header = [str(c) for c in table.columns]
        check_header_is_names(header, inner)
        check_names(header, inner)
        return table, warnings  # rows and columns without values already left out
    if table is not data:  # decompressed or unzipped: the inner name tells the format
        data = table
        if not re.search(rb"\S", data):
            raise EmptyFileError(
                f"{name}: holds an empty file ({inner}); it needs a header "
                "row (e.g. id,label,prediction) and one row per example"
            )
        if sep is None and inner.lower().endswith((".tsv", ".tab")):
            sep = "\t"
    lower = inner.lower()
    if data[:4] == b"PAR1":
        df, notes = _parse_parquet(data, name)
        return df, [*warnings, *notes]
    if lower.endswith((".parquet", ".pq")):
        raise FileFormatError(
            f"{name}: is named like a Parquet file but is not one (no Parquet "
            "signature); save it again as Parquet, or rename it to .csv if "
            "it is text"
        )
    numbering = RowNumbers(first=2)  # line 1 is the header
    excel = _EXCEL_SEP_LINE.match(data)
    if excel:  # Excel's "sep=;" line: it gives the delimiter, the header is line 2
        sep = sep or normalize_sep(excel.group(2).decode("latin-1"), name)
        data = (excel.group(1) or b"") + data[excel.end() :]
        numbering = RowNumbers(first=3)
    df = _parse_utf8_with_arrow(data, name, encoding, sep)
    if df is None:
        df = _parse_text(data, name, encoding, sep, warnings, lines_before=numbering.first - 2)
    df, notes = _leave_out_blank_shapes(df, name, numbering)
    return df, [*warnings, *notes]


def _parse_text(
    data: bytes,
    name: str,
    encoding: str | None,
    sep: str | None,
    warnings: list[str],
    *,
    lines_before: int = 0,
) -> pd.DataFrame:
    """Read CSV/TSV text with pandas (any encoding; checks that name the rows at fault).

    Every cell is text, blank cells missing; a note on the encoding goes to ``warnings``.
    ``lines_before``: lines of the file before ``data`` (Excel's ``sep=`` line), counted in
    the line numbers of messages.
    """
    text, used = decode_text(data, name, encoding)
    if used not in ("utf-8", "utf-8-sig") and encoding is None:
        warnings.append(
            f"{name}: not UTF-8; read as {used} (detected). If letters look "
            "wrong, give the encoding"
        )
    sep, header = read_header(text, name, sep)
    # pandas pads rows that are too short with missing values, and reads the first column as
    # the index when every row has one field too many: check the field counts first.
    checked = _field_counts_balanced(data, sep, len(header)) if used == "utf-8" else False
    if not checked:
        check_field_counts(text, sep, name, lines_before=lines_before)
    # UTF-8 bytes go to the parser as they are (faster than re-encoding the text).
    buffer = io.BytesIO(data) if used == "utf-8" else io.StringIO(text)
    try:
        df = pd.read_csv(
            buffer,
            sep=sep,
            skipinitialspace=False,
            low_memory=False,
            encoding="utf-8",
            keep_default_na=False,
            na_values=list(NA_VALUES),
            skip_blank_lines=True,
            dtype=str,
        )
    except pd.errors.EmptyDataError:
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row and one row per example"
        ) from None
    except pd.errors.ParserError as exc:
        raise FileFormatError(
            f"{name}: cannot be parsed as {sep_name(sep)}-separated text: "
            f"{short_parser_message(exc, lines_before)}"
        ) from None
    if checked and not isinstance(df.index, pd.RangeIndex):  # pandas took a column as the
        check_field_counts(text, sep, name, lines_before=lines_before)  # index: find why
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _leave_out_blank_shapes(
    df: pd.DataFrame, name: str, numbering: RowNumbers
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out what spreadsheet exports add around a table, with a warning for each.

    - a column with no name in the header and no value in any row (trailing delimiters:
      ``id,label,prediction,,,``); a nameless column that holds values is refused;
    - rows where every cell is blank (rows of only delimiters, ``,,``), e.g. at the end.

    The returned frame records ``numbering``, past the skipped rows, in its ``attrs``
    (:class:`~core.errors.RowNumbers`), so that messages name the file's rows.

    Raises
    ------
    DuplicateColumnError
        A column holds values but has no name.
    EmptyFileError
        No row holds a value.
    """
    names = [str(c) for c in df.columns]
    nameless = [j for j, c in enumerate(names) if is_nameless(c)]
    notes = []
    if nameless:
        holding = [j for j in nameless if not missing_mask(df.iloc[:, j]).all()]
        if holding:
            raise nameless_error([j + 1 for j in holding], name, with_values=True)
        df = df.iloc[:, [j for j, c in enumerate(names) if not is_nameless(c)]]
        notes.append(formats.nameless_columns_note(name, [j + 1 for j in nameless]))
    blank = _blank_rows(df)
    if blank.all():
        raise EmptyFileError(f"{name}: has a header but no data rows; add one row per example")
    if blank.any():
        positions = np.flatnonzero(blank)
        notes.append(formats.blank_rows_note(name, positions, numbering))
        last = np.flatnonzero(~blank)[-1]  # skipped rows after it change no row's number
        numbering = replace(numbering, skipped=tuple(numbering.of(positions[positions < last])))
        df = df[~blank].reset_index(drop=True)
    numbering.attach(df)
    return df, notes


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Return a mask: True for rows where every cell is missing or only spaces.

    The first column is checked in full; each next one only on the rows still blank (none,
    in most files), so a million rows cost one pass over one column.
    """
    blank = np.ones(len(df), dtype=bool)
    for j in range(df.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        col = df.iloc[:, j]
        blank[rows] = missing_mask(col if len(rows) == len(df) else col.iloc[rows])
    return blank


def _parse_utf8_with_arrow(
    data: bytes, name: str, encoding: str | None, sep: str | None
) -> pd.DataFrame | None:
    """Read a large UTF-8 file fast: check its head here and let pyarrow read the rest.

    Only the head is decoded here (pyarrow checks that the rest is UTF-8: a column that is
    not comes back as binary and the file takes the full path). ``None`` when the file is
    not plain UTF-8 text that pyarrow reads as pandas would (see :func:`_read_csv_arrow`).
    """
    if encoding not in (None, "utf-8", "utf8", "UTF-8") or len(data) <= _HEAD_BYTES:
        return None
    end = data.rfind(b"\n", 0, _HEAD_BYTES) + 1
    if not end or data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        text, used = decode_text(data[:end], name, encoding)
        if used != "utf-8":
            return None
        sep, _ = read_header(text, name, sep)
    except DataError:
        return None  # the full path finds the same problem and reports it
    first_line = re.match(r"[^\r\n]*", text).group()
    names = next(csv.reader([first_line], delimiter=sep), [])
    return _read_csv_arrow(data, sep, names)


def _read_csv_arrow(data: bytes, sep: str, names: list[str]) -> pd.DataFrame | None:
    """Read well-formed UTF-8 text with pyarrow's multi-threaded CSV reader, or return ``None``.

    The fast path for large files (about 2.5x faster than pandas' C parser on 2 cores). Like
    the pandas path it reads every column as text (``names``: the header's fields as
    written), blank cells as missing, so both yield the same table. pyarrow rejects every
    row whose field count differs from the header's (pandas pads short rows), so a table it
    returns needs no field-count check. Any file it cannot read (ragged rows, invalid UTF-8,
    whitespace-only lines...) returns ``None`` and goes through the pandas path, whose checks
    name the rows at fault.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=b'"' in data)
    convert = pacsv.ConvertOptions(
        null_values=list(NA_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        # large_string: what pandas' str dtype holds, so to_pandas copies nothing.
        column_types={n: pa.large_string() for n in names},
    )
    try:
        table = pacsv.read_csv(pa.py_buffer(data), parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    # Blank names as pandas names them ("Unnamed: 3"), so both paths give the same frame.
    read = [f"Unnamed: {i}" if not str(c).strip() else c for i, c in enumerate(table.column_names)]
    if len(set(read)) != table.num_columns:
        return None  # duplicate names (after quoting rules): the pandas path explains them
    if any(not pa.types.is_large_string(t) for t in table.schema.types):
        return None  # a name that did not match the header as split here
    df = table.rename_columns(read).to_pandas(split_blocks=True, self_destruct=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _field_counts_balanced(data: bytes, sep: str, n_fields: int) -> bool:
    """Cheap proof that no row is short, for plain files (no quotes, no CR, no blank lines).

    When the delimiters in the whole file number exactly ``(n_fields - 1)`` per line, a short
    row would need a long row to balance it, and pandas rejects long rows itself (or, when the
    first row is long, takes a column as the index, which the caller checks). Two ``count``
    calls instead of a per-line count at a million rows.
    """
    if len(sep) != 1 or ord(sep) > 127 or b'"' in data or b"\r" in data or b"\n\n" in data:
        return False
    body = data[:-1] if data.endswith(b"\n") else data
    lines = body.count(b"\n") + 1
    return body.count(sep.encode()) == (n_fields - 1) * lines


def _parse_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Read a Parquet file; list, struct and map columns become JSON text (with a warning).

    Their names are kept in ``frame.attrs`` so that :func:`prepare` refuses them as roles.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        # Names are stripped like a CSV header's: " night " is the tag "night".
        names = [str(n).strip() for n in pf.schema_arrow.names]
    except Exception:  # pyarrow raises many types for corrupt files
        raise FileFormatError(
            f"{name}: is not a readable Parquet file (truncated or damaged?); "
            "save it again as Parquet or CSV"
        ) from None
    check_names(names, name)
    table, nested = formats.nested_arrow_to_text(pf.read())
    df = table.to_pandas()
    if any(n is not None for n in df.index.names):
        df = df.reset_index()  # an index saved with the table (e.g. the ids) becomes a column
        check_names([str(c).strip() for c in df.columns], name)
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise EmptyFileError(f"{name}: the Parquet file has no rows; add one row per example")
    df = df.reset_index(drop=True)
    RowNumbers(first=1).attach(df)  # no header row: the first row of data is row 1
    if not nested:
        return df, []
    nested = [str(n).strip() for n in nested]
    df.attrs[NESTED_ATTR] = tuple(nested)
    return df, [formats.nested_warning(name, nested)]
