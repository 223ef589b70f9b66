"""Reading a CSV/TSV file, a Parquet file or folder, or a table into a Spark DataFrame.

Cells are those :func:`core.reading.read_table` gives: a CSV is read with every column as
text (a blank cell missing, quotes doubled as pandas writes them, a quoted line break kept
when the file has one), named by the header as :mod:`core.table_shape` reads it; Parquet
and tables keep their types. Columns are renamed ``c0, c1, ...`` inside Spark (any name
is then safe in an expression) and get back their names in the pandas frames handed out.

Each row carries ``_mid`` (Spark's ``monotonically_increasing_id``: the partition in the
upper bits, the row within it in the lower 33), taken on the scan itself, so it is the
same in every query of one :class:`Opened` table; :class:`Positions` turns it into the
row's 0-based position.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from slicewise.core.errors import DataError, EmptyFileError, FileFormatError
from slicewise.core.table_shape import check_names, is_nameless, read_header, sep_name

#: The column Spark writes a malformed CSV line into (too many or too few fields).
BAD = "_bad"
MID = "_mid"
_PART_BITS = 33
_HEAD_BYTES = 1 << 16
_SCAN_CHUNK = 1 << 23
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass
class Opened:
    """A table opened in Spark.

    Attributes
    ----------
    frame
        The Spark DataFrame: columns ``c0..`` and :data:`MID` (blank CSV rows left in).
    names
        The column names, in order (``names[i]`` is ``c{i}``).
    kind
        ``"csv"``, ``"parquet"`` or ``"table"``.
    source_name
        The file, folder or table name that starts messages.
    first_row_number
        2 for a CSV (line 1 is the header), 1 for Parquet and tables.
    warnings
        The reader's notes (nameless empty columns left out).
    sep
        A CSV's delimiter.
    """

    frame: Any
    names: list[str]
    kind: str
    source_name: str
    first_row_number: int
    warnings: list[str] = field(default_factory=list)
    sep: str = ","


def is_path(target: str) -> bool:
    """Whether ``target`` names a file or folder (a URL, or an existing local path)."""
    return bool(_REMOTE.match(target)) or os.path.exists(target) or "/" in target


def open_frame(spark: Any, target: str, sep: str | None) -> Opened:
    """Open ``target`` (a path, a URL such as ``s3a://bucket/preds/`` or a table name).

    Raises
    ------
    DataError
        No such file or table; EmptyFileError, FileFormatError as the pandas reader raises
        them for the header and the format.
    """
    from pyspark.sql import functions as F

    if not is_path(target):
        return _open_table(spark, target)
    name = Path(target.rstrip("/")).name or target
    local = not _REMOTE.match(target)
    if local and not os.path.exists(target):
        raise DataError(f"{name}: no such file or folder; check the path")
    if _is_parquet(target, local):
        try:
            frame = spark.read.parquet(target)
        except Exception as exc:  # Spark raises AnalysisException and Java errors
            raise FileFormatError(
                f"{name}: is not a readable Parquet file ({_reason(exc)})"
            ) from None
        names = [str(n).strip() for n in frame.columns]
        check_names(names, name)
        frame = frame.toDF(*[f"c{i}" for i in range(len(names))])
        frame = _nested_as_json(frame)
        return Opened(
            frame.withColumn(MID, F.monotonically_increasing_id()), names, "parquet", name, 1
        )
    return _open_csv(spark, target, name, sep, local)


def _open_table(spark: Any, table: str) -> Opened:
    """Open a table the session knows (its catalog, or a temporary view)."""
    from pyspark.sql import functions as F

    try:
        frame = spark.table(table)
    except Exception as exc:
        raise DataError(
            f"{table}: no such file, and no such table in the Spark session ({_reason(exc)}); "
            "give a path, or a table name the catalog knows"
        ) from None
    names = [str(n).strip() for n in frame.columns]
    check_names(names, table)
    frame = _nested_as_json(frame.toDF(*[f"c{i}" for i in range(len(names))]))
    return Opened(frame.withColumn(MID, F.monotonically_increasing_id()), names, "table", table, 1)


def _open_csv(spark: Any, target: str, name: str, sep: str | None, local: bool) -> Opened:
    """Open CSV/TSV text: the header as the pandas reader reads it, every column as text."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    head = _head_text(spark, target, name, local)
    if re.match(r"(\ufeff)?sep=", head):
        raise FileFormatError(
            f"{name}: starts with Excel's 'sep=' line; --engine spark reads plain CSV: delete "
            "that line, or use --engine pandas"
        )
    sep, header = read_header(head.lstrip("\ufeff"), name, sep)
    schema = T.StructType(
        [T.StructField(f"c{i}", T.StringType()) for i in range(len(header))]
        + [T.StructField(BAD, T.StringType())]
    )
    reader = (
        spark.read.option("header", True)
        .option("sep", sep)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", BAD)
        .option("multiLine", local and _quoted_line_breaks(target))
        .option("encoding", "UTF-8")
    )
    frame = reader.schema(schema).csv(target)
    # A quoted blank ("") is a blank cell, missing as in the pandas reader.
    frame = frame.select(
        *[F.when(F.col(f"c{i}") != "", F.col(f"c{i}")).alias(f"c{i}") for i in range(len(header))],
        BAD,
    ).withColumn(MID, F.monotonically_increasing_id())
    opened = Opened(frame, header, "csv", name, 2, sep=sep)
    _leave_out_nameless(opened, sep)
    return opened


def _leave_out_nameless(opened: Opened, sep: str) -> None:
    """Leave out nameless columns without values (trailing delimiters), as the reader does.

    Raises
    ------
    DuplicateColumnError
        A nameless column holds values (the reader's message).
    """
    from pyspark.sql import functions as F

    from slicewise.core import formats
    from slicewise.core.table_shape import nameless_error

    nameless = [i for i, n in enumerate(opened.names) if is_nameless(n)]
    if not nameless:
        return
    held = opened.frame.select(
        *[F.count(F.when(F.trim(F.col(f"c{i}")) != "", 1)).alias(f"c{i}") for i in nameless]
    ).first()
    holding = [i for i in nameless if held[f"c{i}"]]
    if holding:
        raise nameless_error([i + 1 for i in holding], opened.source_name, with_values=True)
    keep = [i for i in range(len(opened.names)) if i not in nameless]
    opened.frame = opened.frame.select(
        *[F.col(f"c{i}").alias(f"c{k}") for k, i in enumerate(keep)], BAD, MID
    )
    opened.names = [opened.names[i] for i in keep]
    opened.warnings.append(
        formats.nameless_columns_note(opened.source_name, [i + 1 for i in nameless])
    )


def _is_parquet(target: str, local: bool) -> bool:
    """Whether ``target`` is Parquet: by its signature (a local file) or its name."""
    lower = target.lower().rstrip("/")
    if local and os.path.isfile(target):
        with open(target, "rb") as fh:
            return fh.read(4) == b"PAR1"
    if local and os.path.isdir(target):
        parts = [f for f in os.listdir(target) if not f.startswith(("_", "."))]
        return any(f.lower().endswith((".parquet", ".pq")) for f in parts)
    return lower.endswith((".parquet", ".pq")) or not lower.endswith(
        (".csv", ".tsv", ".tab", ".txt", ".csv.gz", ".tsv.gz")
    )


def _head_text(spark: Any, target: str, name: str, local: bool) -> str:
    """Return the first lines of the (first) file as UTF-8 text.

    Raises
    ------
    EmptyFileError
        The file holds only blank space.
    FileFormatError
        It is not UTF-8.
    """
    if local and os.path.isfile(target):
        with open(target, "rb") as fh:
            data = fh.read(_HEAD_BYTES)
        if data.startswith(b"\x1f\x8b"):
            import gzip

            with gzip.open(target, "rb") as fh:
                data = fh.read(_HEAD_BYTES)
        end = data.rfind(b"\n") + 1 if len(data) == _HEAD_BYTES else len(data)
        try:
            text = data[: end or len(data)].decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError(
                f"{name}: is not UTF-8 text; --engine spark reads UTF-8: save it as CSV "
                "(UTF-8), or use --engine pandas (it detects the encoding)"
            ) from None
    else:
        rows = spark.read.text(target).limit(1).collect()
        text = rows[0][0] if rows else ""
    if not re.search(r"\S", text):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. "
            "id,label,prediction) and one row per example"
        )
    return text


def _quoted_line_breaks(path: str) -> bool:
    """Whether a line break of the local file at ``path`` falls inside double quotes.

    Such a file must be read whole by one task (Spark's ``multiLine``); any other is read
    in parallel splits. Scans the bytes in chunks, carrying the quote parity.
    """
    if not os.path.isfile(path):
        return False
    odd = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            if b'"' not in chunk:
                if odd and (b"\n" in chunk or b"\r" in chunk):
                    return True
                continue
            b = np.frombuffer(chunk, dtype=np.uint8)
            parity = (np.cumsum(b == 34, dtype=np.int64) + odd) % 2
            if parity[(b == 10) | (b == 13)].any():
                return True
            odd = int(parity[-1])
    return False


def _nested_as_json(frame: Any) -> Any:
    """Return lists, structs and maps as JSON text, as the pandas reader holds them."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    nested = (T.ArrayType, T.StructType, T.MapType)
    return frame.select(
        *[
            F.to_json(F.col(f.name)).alias(f.name) if isinstance(f.dataType, nested) else f.name
            for f in frame.schema.fields
        ]
    )


def _reason(exc: Exception) -> str:
    """Return the first line of a Spark error, short."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@dataclass
class Positions:
    """Turns ``_mid`` values into 0-based row positions (blank CSV rows not counted).

    Attributes
    ----------
    offsets
        Row position of each Spark partition's first row (index: partition id).
    blank_mids
        Sorted ``_mid`` of the rows left out (every cell blank).
    """

    offsets: np.ndarray
    blank_mids: np.ndarray

    def of(self, mids: np.ndarray) -> np.ndarray:
        """Return the positions (int64) of the rows with these ``_mid`` values."""
        mids = np.asarray(mids, dtype=np.int64)
        part = mids >> _PART_BITS
        within = mids & ((1 << _PART_BITS) - 1)
        return self.offsets[part] + within - np.searchsorted(self.blank_mids, mids)

    def mids(self, positions: np.ndarray) -> np.ndarray:
        """Return the ``_mid`` values (int64) of the rows at these 0-based positions.

        The inverse of :meth:`of`: the partition whose first kept row is at or before the
        position, then the row within it, stepping over the blank rows before it.
        """
        p = np.asarray(positions, dtype=np.int64)
        starts = np.arange(len(self.offsets), dtype=np.int64) << _PART_BITS
        kept_offsets = self.offsets - np.searchsorted(self.blank_mids, starts)
        part = np.searchsorted(kept_offsets, p, side="right") - 1
        base = part << _PART_BITS
        wanted = p - kept_offsets[part]
        within = wanted.copy()
        while True:  # within = wanted + the blank rows of the partition before it
            blank = np.searchsorted(self.blank_mids, base + within + 1) - np.searchsorted(
                self.blank_mids, base
            )
            # A blank row at the guess itself counts too (+1 above): step past it.
            moved = wanted + blank
            if np.array_equal(moved, within):
                return base + within
            within = moved


def field_count_error(name: str, header: int, lines: list[tuple[int, str]], sep: str) -> str:
    """Return the message for CSV lines whose field count differs from the header's."""
    shown = "; ".join(f"line {n}: {text[:60]!r}" for n, text in lines[:3])
    return (
        f"{name}: some rows do not have the header's {header} fields ({sep_name(sep)}-"
        f"separated): {shown}; fix those rows (a {sep_name(sep)} inside a value needs quotes)"
    )
