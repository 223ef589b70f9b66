"""Opening a file for the streaming engine: what it is, its header, the DuckDB views.

A CSV/TSV file (gzip too) or a Parquet file is queried where it lies (nothing is copied:
opening a CSV costs one scan, which checks that DuckDB reads every row and counts blank
rows). Either way the view ``t0`` holds one column per file column, under the names the
pandas reader gives them, and ``t`` adds ``__row``, the 0-based position of the row as
:func:`core.reading.read_table` numbers it. What DuckDB cannot read as the pandas reader does
(bzip2, zip, .xlsx, other encodings, ragged rows) is refused with a message naming the
pandas engine.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core import formats
from slicewise.core.decoding import MAGIC, check_file_path
from slicewise.core.errors import (
    DataError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    RowNumbers,
)
from slicewise.core.formats import container_kind
from slicewise.core.reading import _EXCEL_SEP_LINE, NA_VALUES, NESTED_ATTR
from slicewise.core.table_shape import (
    check_names,
    field_count_message,
    is_nameless,
    nameless_error,
    normalize_sep,
    read_header,
)

#: The way on, in every refusal of a file the streaming engine cannot read as pandas does.
USE_PANDAS = "use the pandas engine (--engine pandas)"
#: Encodings DuckDB's CSV reader decodes as Python does (anything else: the pandas engine).
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8"}
#: What ``str.strip()`` (and so a blank cell, :func:`core.column_parsing.missing_mask`) removes.
_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
_SPACE += "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@dataclass
class Opened:
    """What opening found: the format, the column names and how the rows are numbered.

    Attributes
    ----------
    parquet
        Whether the file is Parquet (else CSV/TSV text).
    columns
        The column names as the pandas reader gives them, in order.
    first_row_number
        The file row number of position 0 (2 after a header line, 3 after Excel's ``sep=``
        line, 1 for Parquet).
    warnings
        The pandas reader's notes (nameless empty columns, blank rows).
    dtypes
        For Parquet, the dtype :func:`core.reading.read_table` gives each column.
    numbering
        The file's row numbers (:class:`core.errors.RowNumbers`, blank rows skipped).
    rows
        The number of rows, when opening counted them.
    nested
        Parquet columns of lists, structs or maps (read as JSON text).
    """

    parquet: bool
    columns: list[str]
    first_row_number: int
    warnings: list[str] = field(default_factory=list)
    dtypes: dict[str, Any] = field(default_factory=dict)
    numbering: RowNumbers | None = None
    rows: int | None = None
    nested: tuple[str, ...] = ()


def ident(name: str) -> str:
    """Quote ``name`` as a DuckDB identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: Any) -> str:
    """Quote ``value`` as a DuckDB string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def blank(expr: str) -> str:
    """Return SQL that is true where the text ``expr`` is missing or only white space."""
    # CASE evaluates the trim only where the first character is white space: 5x faster.
    space = lit(_SPACE)
    return (
        f"CASE WHEN {expr} IS NULL THEN true WHEN contains({space}, left({expr}, 1)) "
        f"THEN trim({expr}, {space}) = '' ELSE false END"
    )


def every_blank(exprs: list[str]) -> str:
    """Return SQL that is true where every one of the texts ``exprs`` is blank."""
    if not exprs:
        return "true"
    first = exprs[0]
    # Most rows fill their first cell: decided by one cheap test.
    return (
        f"CASE WHEN {first} IS NOT NULL AND NOT contains({lit(_SPACE)}, left({first}, 1)) "
        f"THEN false ELSE ({' AND '.join(blank(e) for e in exprs)}) END"
    )


def open_file(con: Any, path: Path, name: str, sep: str | None, encoding: str | None) -> Opened:
    """Recognise the file at ``path`` and define the view ``t`` over it on ``con``.

    Raises
    ------
    DataError
        The file cannot be opened; its subclasses for an empty file, another format or
        container than CSV/TSV (gzip too) or Parquet, another encoding than UTF-8, a header
        the pandas reader refuses, or rows DuckDB cannot read.
    """
    head, gzip = _read_head(path, name)
    if head[:4] == b"PAR1":
        if gzip:
            raise FileFormatError(
                f"{name}: is a gzip-compressed Parquet file, which the streaming engine does "
                f"not read; decompress it, or {USE_PANDAS}"
            )
        return _open_parquet(con, path, name)
    inner = name[: name.rfind(".")] if gzip and name.lower().endswith((".gz", ".gzip")) else name
    if inner.lower().endswith((".parquet", ".pq")):
        raise FileFormatError(
            f"{name}: is named like a Parquet file but is not one (no Parquet signature); save "
            "it again as Parquet, or rename it to .csv if it is text"
        )
    return _open_csv(con, path, name, inner, head, gzip, sep, encoding)


def _read_head(path: Path, name: str) -> tuple[bytes, bool]:
    """Return the first MiB of the file's text and whether it is gzip-compressed.

    Raises
    ------
    DataError
        The file cannot be opened; its subclasses for an empty file or another container.
    """
    try:
        check_file_path(path)
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
            kind = container_kind(head[:16])
            if kind not in (None, "gzip"):
                what = {"bzip2": "bzip2-compressed", "zip": "a zip archive (or an Excel .xlsx)"}
                raise FileFormatError(
                    f"{name}: is {what.get(kind, kind)}; the streaming engine reads CSV and "
                    f"TSV files (also gzip-compressed) and Parquet files: {USE_PANDAS}, or "
                    "save the table as CSV or Parquet"
                )
            if kind == "gzip":
                fh.seek(0)
                head = _gzip_head(fh, name)
    except OSError as exc:
        raise DataError(
            f"{name}: cannot be opened ({exc.strerror or exc}); check the path and the "
            "file's permissions"
        ) from None
    if not re.search(rb"\S", head):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. id,label,prediction) "
            "and one row per example"
        )
    return head, kind == "gzip"


def _gzip_head(fh: Any, name: str, size: int = 1 << 20) -> bytes:
    """Return the first ``size`` bytes of the text in the gzip file ``fh``."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = b""
    try:
        while len(out) < size and not d.eof:
            chunk = d.unconsumed_tail or fh.read(1 << 16)
            if not chunk:
                break
            out += d.decompress(chunk, size - len(out))
    except zlib.error as exc:
        raise FileFormatError(
            f"{name}: is gzip-compressed but cannot be decompressed ({exc}); the file may "
            "be truncated or damaged"
        ) from None
    return out


def _head_text(head: bytes, name: str, encoding: str | None) -> str:
    """Decode the head as UTF-8 (a BOM left out), refusing what the pandas engine decodes.

    Raises
    ------
    EncodingError
        Another encoding was asked for, or the head is not UTF-8 text.
    """
    if encoding and encoding.lower().replace("_", "-") not in _ENCODINGS:
        raise EncodingError(
            f"{name}: the streaming engine reads UTF-8 files, not {encoding}; save the file "
            f"as UTF-8, or {USE_PANDAS}"
        )
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise FileFormatError(f"{name}: is {what}; Slicewise reads CSV, TSV or Parquet")
    head = head.removeprefix(b"\xef\xbb\xbf")
    cut = head.rfind(b"\n") if len(head) >= 1 << 20 else len(head)
    try:
        if b"\x00" in head[:8192]:
            raise UnicodeDecodeError("utf-8", head, 0, 1, "NUL")
        return head[: cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError(
            f"{name}: is not UTF-8 text; the streaming engine reads UTF-8: save the file as "
            f"UTF-8, or {USE_PANDAS}, which detects the encoding"
        ) from None


def _open_csv(
    con: Any,
    path: Path,
    name: str,
    inner: str,
    head: bytes,
    gzip: bool,
    sep: str | None,
    encoding: str | None,
) -> Opened:
    """Define the views ``__csv`` (the text, columns ``c0``...) and ``t`` over a CSV/TSV file."""
    sep, header, first = _csv_header(head, name, inner, sep, encoding)
    con.execute(f"CREATE VIEW __csv AS SELECT * FROM {_reader(path, sep, gzip, first - 2, header)}")
    opened = Opened(parquet=False, columns=[], first_row_number=first)
    # Blank names as pandas names them; nameless columns with no value are left out.
    names = [f"Unnamed: {i}" if is_nameless(h) else h for i, h in enumerate(header)]
    nameless = [j for j, h in enumerate(header) if is_nameless(h)]
    keep = [j for j in range(len(header)) if j not in nameless]
    all_blank = every_blank([f"c{j}" for j in keep])
    # One scan checks that DuckDB reads every row, and counts rows, blank rows and the
    # values of nameless columns.
    counts = _scan(
        con,
        ["count(*)", f"count(*) FILTER ({all_blank})"]
        + [f"count(*) FILTER (NOT {blank(f'c{j}')})" for j in nameless],
        name,
        rejects=(
            _reader(path, sep, gzip, first - 2, header, rejects=True),
            len(header),
            path,
            gzip,
        ),
    )
    holding = [j for j, n in zip(nameless, counts[2:], strict=True) if n]
    if holding:
        raise nameless_error([j + 1 for j in holding], name, with_values=True)
    if nameless:
        opened.warnings.append(formats.nameless_columns_note(name, [j + 1 for j in nameless]))
    total, blanks = counts[0], counts[1]
    if blanks == total:
        raise EmptyFileError(f"{name}: has a header but no data rows; add one row per example")
    opened.columns = [names[j] for j in keep]
    opened.rows = total - blanks
    opened.numbering = RowNumbers(first=first)
    where = ""
    if blanks:
        _blank_rows_note(con, all_blank, name, opened)
        where = f" WHERE NOT ({all_blank})"
    select = ", ".join(f"c{j} AS {ident(names[j])}" for j in keep)
    # Positions as the pandas reader numbers its rows: blank rows left out first.
    con.execute(f"CREATE VIEW t0 AS SELECT {select} FROM __csv{where}")
    con.execute("CREATE VIEW t AS SELECT (row_number() OVER () - 1)::BIGINT AS __row, * FROM t0")
    return opened


def _csv_header(
    head: bytes, name: str, inner: str, sep: str | None, encoding: str | None
) -> tuple[str, list[str], int]:
    """Return the delimiter, the header's names and the file line of the first data row."""
    text = _head_text(head, name, encoding)
    sep = normalize_sep(sep, name)
    first = 2
    excel = _EXCEL_SEP_LINE.match(head)
    if excel:  # Excel's "sep=;" line gives the delimiter; the header is line 2
        sep = sep or normalize_sep(excel.group(2).decode("latin-1"), name)
        text = text[text.index("\n") + 1 :] if "\n" in text else ""
        first = 3
    if sep is None and inner.lower().endswith((".tsv", ".tab")):
        sep = "\t"
    sep, header = read_header(text, name, sep)
    if len(sep) != 1:
        raise FileFormatError(f"{name}: the streaming engine reads one-character delimiters")
    return sep, header, first


def _reader(
    path: Path, sep: str, gzip: bool, skip: int, header: list[str], *, rejects: bool = False
) -> str:
    """Return DuckDB's reader of the text: columns ``c0``, ``c1``..., every cell text.

    Only a blank cell is missing, quotes are doubled inside quoted cells, as the pandas
    reader of :func:`core.reading.read_table`; nothing is sniffed.
    """
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    options = [
        f"delim = {lit(sep)}",
        "header = true",
        "auto_detect = false",
        f"columns = {{{columns}}}",
        "quote = '\"'",
        "escape = '\"'",
        f"nullstr = [{', '.join(lit(v) for v in NA_VALUES)}]",
        f"skip = {skip}",
        "max_line_size = 1073741824",
        f"compression = {lit('gzip' if gzip else 'none')}",
    ]
    if rejects:  # rows DuckDB cannot read go to its reject_errors table, with their lines
        options.append("store_rejects = true")
    return f"read_csv({lit(path)}, {', '.join(options)})"


def _scan(con: Any, aggregates: list[str], name: str, rejects: tuple | None = None) -> list[int]:
    """Compute ``aggregates`` over the whole text in one scan.

    ``rejects``: the reader storing the rows it cannot read, the header's field count, the
    path and whether it is gzip; rows with another field count are then named by line, as
    the pandas reader names them.

    Raises
    ------
    FileFormatError
        DuckDB cannot read the rows (ragged rows, stray quotes, bad UTF-8...).
    """
    try:
        return list(con.execute(f"SELECT {', '.join(aggregates)} FROM __csv").fetchone())
    except Exception as exc:  # duckdb raises several types (IO, Invalid input, Conversion)
        if type(exc).__name__ == "OutOfMemoryException":
            raise
        if rejects is not None:
            _raise_ragged(rejects[0], rejects[1], name, *rejects[2:])
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise FileFormatError(
            f"{name}: the streaming engine cannot read the file as the pandas reader does "
            f"({reason}); {USE_PANDAS}, whose messages name the rows at fault"
        ) from None


def _raise_ragged(reader: str, n_fields: int, name: str, path: Path, gzip: bool) -> None:
    """Raise the pandas reader's message when rows have another field count than the header.

    DuckDB reads the file again, storing the rows it rejects with the byte where each
    starts; their lines are counted from the bytes (a quoted value may hold line breaks).
    Returns when no rejected row is a field-count error (the caller reports DuckDB's own
    reason).
    """
    import duckdb

    fresh = duckdb.connect()  # the failed connection's scans store no rejects
    try:
        # Every cell read (a bare count, taken from the scan's own tally, stores none).
        cells = " OR ".join(f"c{j} IS NOT NULL" for j in range(n_fields))
        fresh.execute(f"SELECT count(*) FROM {reader} WHERE {cells}").fetchall()  # to the end
        found = fresh.execute(
            "SELECT line_byte_position, error_message FROM reject_errors WHERE error_type IN "
            "('TOO MANY COLUMNS', 'MISSING COLUMNS') ORDER BY line_byte_position"
        ).fetchall()
    except Exception:  # noqa: BLE001 - the first error is reported instead
        return
    finally:
        fresh.close()
    rows = [(int(at), re.search(r"Found: (\d+)", str(m))) for at, m in found]
    rows = [(at, int(c.group(1))) for at, c in rows if c]
    if rows:
        starts, fields = np.array(rows, dtype=np.int64).T
        lines = _line_numbers(path, gzip, starts[:3])
        hint = "check for a missing or extra delimiter, and quote values that contain one"
        message = field_count_message(name, n_fields, lines, fields[:3], hint, 0)
        more = f" ({len(rows)} rows in all)" if len(rows) > 3 else ""
        raise FileFormatError(message.replace("; check", f"{more}; check", 1))


def _line_numbers(path: Path, gzip: bool, starts: np.ndarray) -> np.ndarray:
    """Return the 1-based file lines of the (ascending) byte offsets ``starts``."""
    import gzip as gz

    lines, before, done = [], 0, 0
    with gz.open(path, "rb") if gzip else open(path, "rb") as f:
        for at in starts.tolist():
            chunk = f.read(at - done)
            before += chunk.count(b"\n")
            done = at
            lines.append(before + 1)
    return np.array(lines, dtype=np.int64)


def _blank_rows_note(con: Any, all_blank: str, name: str, opened: Opened) -> None:
    """Note the rows whose every cell is blank (left out) and skip them in the numbering."""
    numbered = f"SELECT row_number() OVER () - 1 AS r, {all_blank} AS b FROM __csv"
    positions = np.array(
        [r[0] for r in con.execute(f"SELECT r FROM ({numbered}) WHERE b ORDER BY r").fetchall()],
        dtype=np.int64,
    )
    numbering = opened.numbering
    opened.warnings.append(formats.blank_rows_note(name, positions, numbering))
    last = con.execute(f"SELECT max(r) FROM ({numbered}) WHERE NOT b").fetchone()[0]
    opened.numbering = replace(numbering, skipped=tuple(numbering.of(positions[positions < last])))


def _open_parquet(con: Any, path: Path, name: str) -> Opened:
    """Define ``t`` over a Parquet file; columns in the order and with the dtypes of pandas.

    A named saved index comes first (pandas' ``reset_index``), an unnamed one is left out;
    names are stripped of the space around them.

    Raises
    ------
    FileFormatError
        pyarrow cannot read the file, or the loader refuses its column names.
    EmptyFileError
        The file has no rows.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except Exception:  # pyarrow raises many types for corrupt files
        raise FileFormatError(
            f"{name}: is not a readable Parquet file (truncated or damaged?); save it again "
            "as Parquet or CSV"
        ) from None
    if pf.metadata.num_rows == 0:
        raise EmptyFileError(f"{name}: the Parquet file has no rows; add one row per example")
    empty = reference_frame(schema.empty_table())
    raw = {str(n).strip(): ident(n) for n in schema.names}
    # A named RangeIndex is saved as metadata only: the reader makes it the first column.
    ranges = [
        r
        for r in (schema.pandas_metadata or {}).get("index_columns", [])
        if isinstance(r, dict) and r.get("kind") == "range" and r.get("name") is not None
    ]
    for r in ranges[:1]:
        key = str(r["name"]).strip()
        raw[key] = f"({int(r['start'])} + {int(r['step'])} * file_row_number)::BIGINT"
        empty.insert(0, key, pd.Series([], dtype="int64"))
    names = [str(c) for c in empty.columns]
    check_names(names, name)
    select = ", ".join(f"{raw[n]} AS {ident(n)}" for n in names)
    reader = f"read_parquet({lit(path)}, file_row_number = true)"
    con.execute(f"CREATE VIEW t0 AS SELECT {select} FROM {reader}")
    con.execute(f"CREATE VIEW t AS SELECT file_row_number AS __row, {select} FROM {reader}")
    dtypes = {c: empty[c].dtype for c in names}
    _with_nulls(con, pf, dtypes, raw)
    for c, dtype in dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):  # the categories are in the data, not
            # the schema: read them as the reader does (one column's dictionary codes)
            column = [n for n in schema.names if str(n).strip() == c]
            dtypes[c] = pq.read_table(path, columns=column).column(0).to_pandas().dtype
    opened = Opened(parquet=True, columns=names, first_row_number=1, dtypes=dtypes)
    opened.rows = pf.metadata.num_rows
    opened.numbering = RowNumbers(first=1)
    nested = empty.attrs.get(NESTED_ATTR)
    opened.nested = tuple(nested or ())
    if nested:
        opened.warnings.append(formats.nested_warning(name, list(nested)))
    return opened


def _with_nulls(con: Any, pf: Any, dtypes: dict[str, Any], raw: dict[str, str]) -> None:
    """Give integer and boolean columns holding a null the dtype the reader gives them.

    pyarrow reads such a column as float64 (integers) or object (booleans) when any cell
    of the whole file is null, whatever the batch: null counts from the file's statistics,
    else counted by DuckDB.
    """
    plain = [
        c
        for c, d in dtypes.items()
        if pd.api.types.is_integer_dtype(d) or pd.api.types.is_bool_dtype(d)
        if not isinstance(d, pd.api.extensions.ExtensionDtype)
    ]
    if not plain:
        return
    meta = pf.metadata
    where = {meta.schema.column(j).name: j for j in range(meta.num_columns)}
    unknown = []
    for c in plain:
        j = where.get(raw[c][1:-1].replace('""', '"') if raw[c].startswith('"') else None)
        if j is None:  # not a column of the file (a RangeIndex): never null
            continue
        stats = [meta.row_group(g).column(j).statistics for g in range(meta.num_row_groups)]
        if any(st is None or not st.has_null_count for st in stats):
            unknown.append(c)
        elif sum(st.null_count for st in stats):
            _nullable(dtypes, c)
    if unknown:
        counts = ", ".join(f"count(*) FILTER ({ident(c)} IS NULL)" for c in unknown)
        found = con.execute(f"SELECT {counts} FROM t0").fetchone()
        for c, n in zip(unknown, found, strict=True):
            if n:
                _nullable(dtypes, c)


def _nullable(dtypes: dict[str, Any], column: str) -> None:
    bool_ = pd.api.types.is_bool_dtype(dtypes[column])
    dtypes[column] = np.dtype(object) if bool_ else np.dtype("float64")


def reference_frame(table: Any) -> pd.DataFrame:
    """Return the Arrow ``table`` as :func:`core.reading.read_table` turns a Parquet file's.

    Lists, structs and maps become JSON text; a named saved index becomes the first column;
    names are stripped.
    """
    table, nested = formats.nested_arrow_to_text(table)
    df = table.to_pandas()
    if any(n is not None for n in df.index.names):
        df = df.reset_index()
    df.columns = [str(c).strip() for c in df.columns]
    df = df.reset_index(drop=True)
    if nested:
        df.attrs[NESTED_ATTR] = tuple(str(n).strip() for n in nested)
    return df
