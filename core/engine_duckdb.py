"""The error-analysis table of a file larger than memory: per-slice counts from DuckDB.

Every metric of the table derives from per-slice counts (:data:`core.metrics.COUNT_COLUMNS`),
so the counts can come from an engine instead of pandas. This module computes them with SQL
over a CSV, TSV or Parquet file that DuckDB streams, then hands them to
:func:`core.metrics.compute_slice_metrics` and :func:`core.analysis.finish_table`: the table
is the one :func:`core.analysis.analyze` returns for ``load_dataset(path)`` (same rows,
order, columns, dtypes and values; sums of floating-point errors agree to rounding).

How the pandas loader's rules (:mod:`core.values`) are followed:

- Reading: every CSV cell is read as text (DuckDB's ``all_varchar``) and only a blank cell
  is missing (``nullstr``); text cells whose trimmed text is one of the user's
  ``na_values`` are missing too (masked in the view every query reads). Parquet columns
  keep the file's types.
- Roles and tag columns: detected from the first 10,000 rows (read as the loader reads
  them, ``na_values`` masked) with :func:`core.dataset.resolve_mapping`; whether a column
  holds only boolean-like values (a tag) is then decided on the distinct values of the
  whole file, with the loader's own test.
- Classes (label, prediction, human label): DuckDB lists each column's distinct values
  with their row counts (at most :data:`_MAX_CLASSES`); Python turns them into the
  loader's text (:func:`core.values.as_text`), groups them by
  :func:`core.values.class_keys` (``1``, ``1.0`` and ``true`` are one class, ``01`` is
  another) and shows each class under its most frequent spelling over the kept rows of all
  three columns; SQL reads every row's class by a join with that small table. Regression
  reads the shown classes as numbers, as the loader does; a column with more distinct
  values than :data:`_MAX_CLASSES` can only be read that way (numbers parsed in SQL).
- Ids: trimmed text compared exactly (``7``, ``07`` and ``007`` are three ids); blank and
  repeated ids are found in SQL and reported with the loader's messages.
- Numbers (the score, numeric slice-by metadata): a text column's number format is
  :func:`core.values.infer_number_format` of one cell of each *shape* (the cell with its
  digits written as ``1``, a leading zero kept), since a cell fits a format exactly when
  every cell of its shape does; the cells are then parsed in SQL (separators removed,
  ``TRY_CAST``). A metadata column that reads two ways stays text with the loader's
  warning (metadata columns are typed when they are sliced by).
- Validation over the whole file: missing labels or predictions (counted in SQL, the same
  message as the loader's, or dropped with ``missing="drop"``), blank or repeated ids, score
  values that are not numbers, tag values that are not true/false, 1/0, yes/no or x/blank.
- Numeric ``slice_by`` columns: the loader's quantile bins, edges computed by numpy's linear
  rule from order statistics that DuckDB selects (``quantile_disc``), so they are the same
  floats; other columns: one slice per distinct value.

Not supported (a :class:`~core.errors.DataError` says so): text tasks (normalisation and
word error rate need Python), predictions from a score threshold, classification on a
label, prediction or human-label column with more than :data:`_MAX_CLASSES` distinct
values, and column types the loader would read differently (dates, decimals, lists, pandas
categoricals or nullable integers stored in a Parquet file).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core import limits
from slicewise.core.analysis import finish_table
from slicewise.core.baselines import Baseline
from slicewise.core.dataset import (
    _MAGIC,
    FALSE_TOKENS,
    NA_VALUES,
    TRUE_TOKENS,
    ColumnMapping,
    _check_header_is_names,
    _check_names,
    _is_boolean_like,
    _mask_na_tokens,
    _metadata_names,
    _normalize_sep,
    _sniff_delimiter,
    check_file_path,
    check_nested_roles,
    find_role_candidates,
    is_tag_name,
    resolve_mapping,
    writes_no,
)
from slicewise.core.errors import (
    DataError,
    DuplicateIdError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    InvalidValueError,
    MissingValuesError,
    RowNumbers,
    count_of,
)
from slicewise.core.formats import container_kind
from slicewise.core.metrics import (
    COUNT_COLUMNS,
    DEFAULT_MATRIX_CLASSES,
    PAIR_COLUMNS,
    compute_confusion_matrix,
    compute_slice_metrics,
    format_edges,
)
from slicewise.core.slice_names import (
    OVERALL,
    SLICEABLE_ROLES,
    UNTAGGED,
    slice_by_choices,
    slice_info,
    tag_slice_names,
    unique_name,
)
from slicewise.core.task import TaskSpec, infer_task_kind
from slicewise.core.values import (
    NumberFormat,
    as_text,
    class_key,
    class_keys,
    infer_number_format,
    likely_number_cause,
)

SAMPLE_ROWS = 10_000
TEXT_TASK_MESSAGE = (
    "--engine duckdb supports classification, binary and regression tasks; "
    "use the pandas engine for text"
)
#: Characters ``str.strip`` removes (Python's ``str.isspace``), as an RE2 class.
_WS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WSC = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _WS) + "]"
_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
#: A tag column holds at most a few spellings; more distinct values than this cannot be one.
_MAX_TAG_VALUES = 1000
#: Numeric slice-by columns with fewer distinct values than this are read as a histogram.
_MAX_HISTOGRAM = 1000
#: Label, prediction and human-label columns with at most about this many distinct values
#: (DuckDB's estimate) get a class table; beyond it only a regression task runs.
_MAX_CLASSES = 100_000
#: A text column of numbers has few shapes (see :func:`_shape`); more than this is refused.
_MAX_SHAPES = 100_000
#: The characters the number formats of :mod:`core.values` write (digits, signs, decimal
#: marks, exponents, thousands separators), as an RE2 class body: a trimmed cell holding
#: another character is no number in any of them.
_NUMBER_CHARS = "0-9+\\-.,eE \\x{a0}\\x{202f}"
#: The first rows :func:`core.task.infer_task_kind` looks at.
_TASK_ROWS = 50_000


# --------------------------------------------------------------------------- SQL helpers


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Surrounding whitespace, ASCII and Unicode (what pandas' str.strip removes).
_TRIM = r"^[\s\pZ\x0b\x1c-\x1f\x85]+|[\s\pZ\x0b\x1c-\x1f\x85]+$"


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _dbl(x: float) -> str:
    """Write ``x`` as an exact DOUBLE literal (``repr`` round-trips; DuckDB rounds correctly)."""
    return f"CAST({_lit(repr(float(x)))} AS DOUBLE)"


def _not_finite_text(text: str) -> bool:
    """Whether a class cell is a number that is not finite (``inf``, ``1e400``, ``nan``)."""
    if re.fullmatch(r"\s*[+-]?nan\s*", text, flags=re.IGNORECASE):
        return True
    number = pd.to_numeric(pd.Series([text]), errors="coerce").iloc[0]
    return bool(pd.notna(number) and np.isinf(number))


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _strip(expr: str) -> str:
    """``str.strip()``: surrounding Unicode whitespace removed (the regex only where needed)."""
    return (
        f"(CASE WHEN regexp_matches({expr}, '^{_WSC}|{_WSC}$') "
        f"THEN regexp_replace({expr}, '^{_WSC}+|{_WSC}+$', '', 'g') ELSE {expr} END)"
    )


def _to_number(text: str, fmt: NumberFormat) -> str:
    """Write :func:`core.values.to_numbers` in SQL: trimmed ``text`` in ``fmt`` as a DOUBLE.

    NULL where the text is no number to pandas' ``to_numeric`` (``nan`` included; DuckDB
    also reads ``1_000``, pandas does not).
    """
    x = text
    if fmt.thousands == " ":
        x = f"regexp_replace({x}, '[ \\x{{a0}}\\x{{202f}}]', '', 'g')"
    elif fmt.thousands:
        x = f"replace({x}, {_lit(fmt.thousands)}, '')"
    if fmt.decimal != ".":
        x = f"replace({x}, {_lit(fmt.decimal)}, '.')"
    return (
        f"(CASE WHEN NOT contains({x}, '_') THEN "
        f"nullif(TRY_CAST({x} AS DOUBLE), CAST('nan' AS DOUBLE)) END)"
    )


def _shape(text: str) -> str:
    """Write a trimmed cell's shape in SQL: digits ``1``, leading zeros ``Z``, a lone ``0`` ``Y``.

    Whether a cell fits a number format of :mod:`core.values` depends only on its other
    characters, the length of each run of digits and whether the run starts with a zero
    (``0``, ``007``), which the shape keeps: a column of numbers has few shapes. (A lone zero
    is replaced twice: a match takes the character after it, which the next one needs.)
    """
    lead = f"regexp_replace({text}, '(^|[^0-9])0([0-9])', '\\1Z\\2', 'g')"
    lone = "'(^|[^0-9])0($|[^0-9])', '\\1Y\\2', 'g'"
    return (
        f"regexp_replace(regexp_replace(regexp_replace({lead}, {lone}), {lone}), '[0-9]', '1', 'g')"
    )


def _format_rows(
    first: Sequence[int], total: int, limit: int = 5, *, numbering: RowNumbers | None = None
) -> str:
    """:func:`core.errors.format_rows` from the first positions and the total count."""
    shown = [str(r) for r in (numbering or RowNumbers()).of(list(first)[:limit])]
    more = total - len(shown)
    text = f"{'row' if total == 1 else 'rows'} {', '.join(shown)}"
    return text + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- columns


@dataclass
class _Column:
    """A file column as DuckDB reads it, and the dtype the pandas loader gives it."""

    name: str  # as the loader names it (stripped)
    ident: str  # quoted DuckDB identifier
    duck: str  # DuckDB type
    unsupported: str | None = None  # why the loader would read it differently
    kind: str = ""  # pandas dtype: int, float, bool, boolobj, str, other (after profiling)
    nulls: int = 0
    nonnull: int = 0
    number: str | None = None  # SQL of a text column read as numbers (see _type_metadata)
    typed: bool = False  # whether _type_metadata has given it the loader's dtype
    histogram: dict[str, int] | None = None  # class columns: key -> rows, over the file
    texts: dict[str, str | None] | None = None  # class columns: key -> the loader's text

    @property
    def group(self) -> str:
        """The DuckDB type family: int, float, bool, text or other."""
        if self.duck in _INT_TYPES:
            return "int"
        if self.duck in _FLOAT_TYPES:
            return "float"
        if self.duck == "BOOLEAN":
            return "bool"
        if self.duck == "VARCHAR":
            return "text"
        return "other"

    @property
    def raw(self) -> str:
        """SQL for the value as stored, NaN read as missing."""
        if self.group == "float":
            return f"(CASE WHEN isnan({self.ident}) THEN NULL ELSE {self.ident} END)"
        return self.ident

    @property
    def value(self) -> str:
        """SQL for the value the loader's frame holds: NaN missing, numbers parsed from text."""
        return self.number if self.number is not None else self.raw

    def key_of(self, ident: str) -> str:
        """Write the cell ``ident`` as SQL text, one per distinct value: a class table's key.

        Floats are written as DOUBLE (which round-trips), so that :meth:`value_of` gives
        back the float the loader reads.
        """
        if self.group == "text":
            return ident
        if self.group == "float":
            return f"CAST(CAST({ident} AS DOUBLE) AS VARCHAR)"
        return f"CAST({ident} AS VARCHAR)"

    @property
    def key(self) -> str:
        """SQL of :meth:`key_of` this column."""
        return self.key_of(self.ident)

    def value_of(self, key: str) -> Any:
        """Return the value behind a :attr:`key` as the loader's reader holds it."""
        if self.group == "float":
            return float(key)
        if self.group == "int":
            return int(key)
        if self.group == "bool":
            return key == "true"
        return key

    @property
    def missing(self) -> str:
        """SQL true where the loader's text of the cell is missing: blank, NaN or masked."""
        x = self.ident
        if self.texts is not None:
            blanks = [k for k, t in self.texts.items() if t is None]
            return f"({x} IS NULL OR {self.key} IN {_in(blanks)})" if blanks else f"({x} IS NULL)"
        if self.group != "text":
            return f"({self.raw} IS NULL)"
        # The anchored test fails at the first character of almost every value.
        return (
            f"({x} IS NULL OR {x} = '' OR (regexp_matches({x}, '^{_WSC}') AND "
            f"regexp_full_match({x}, '{_WSC}+')))"
        )

    def python(self, v: Any) -> Any:
        """Convert a DuckDB value to what the loader's frame holds (ints with gaps are floats)."""
        if v is None:
            return None
        if self.kind == "float":
            return float(v)
        if self.kind == "int":
            return int(v)
        if self.kind in ("bool", "boolobj"):
            return bool(v)
        return v


@dataclass
class _Role:
    """Label, prediction or human label in SQL, by the rules of :mod:`core.values`."""

    column: _Column
    expr: str  # the class under its shown spelling (VARCHAR); NULL where missing
    num: str  # the shown class read as a number (regression); NULL where it is none
    shown: dict[str, str | None] | None = None  # key -> shown class; None: no class table
    counts: dict[str, int] | None = None  # key -> kept rows (with a class table)


@dataclass
class _Slice:
    name: str
    kind: str  # tag or column
    source: str
    cond: str  # SQL boolean


# --------------------------------------------------------------------------- the file


class DuckDBFile:
    """A predictions file opened for the DuckDB engine: roles resolved, contents validated.

    Parameters
    ----------
    path
        A CSV, TSV or Parquet file; CSV and TSV may be gzip-compressed (DuckDB decompresses
        while it streams). bzip2, zip and .xlsx files are refused with a message: the pandas
        engine reads them.
    mapping
        Explicit roles; unset roles are detected as by :func:`core.dataset.load_dataset`.
    sep
        CSV delimiter; ``None`` detects it as the loader does.
    missing
        ``"fail"`` raises when labels or predictions are missing; ``"drop"`` leaves those
        rows out (a warning says how many).
    na_values
        Cell texts read as missing besides blank cells (e.g. ``("NA",)``), as by
        :func:`core.dataset.prepare`; by default ``NA``, ``null``, ``None``... are values.
    decimal, thousands
        The number format of the score and numeric metadata columns; ``None`` infers it
        per column where unambiguous (see :func:`core.values.infer_number_format`).
    memory_limit
        DuckDB's memory limit (e.g. ``"1GB"``); beyond it DuckDB spills to a temporary folder.

    Raises
    ------
    DataError
        The problems the pandas loader reports, with the same kind of message.
    """

    def __init__(
        self,
        path: str | Path,
        mapping: ColumnMapping | None = None,
        *,
        sep: str | None = None,
        missing: str = "fail",
        na_values: Iterable[str] = (),
        decimal: str | None = None,
        thousands: str | None = None,
        memory_limit: str | None = None,
    ) -> None:
        import duckdb

        self._duckdb = duckdb
        self.path = Path(path)
        self.source_name = self.path.name or str(self.path)
        self.warnings: list[str] = []
        if missing not in ("fail", "drop"):
            raise InvalidValueError(
                f"{self.source_name}: missing must be 'fail' or 'drop', not {missing!r}"
            )
        self._missing_policy = missing
        self.na_values = tuple(dict.fromkeys(str(v).strip() for v in na_values if str(v).strip()))
        self.decimal, self.thousands = decimal or None, thousands or None
        self._rows = "src"  # the view the analysis reads: src, or src with computed columns
        self._view_columns: dict[str, str] = {}  # quoted name -> SQL (classes, numbers)
        self._joins: list[str] = []  # the class tables' joins of that view
        self._class_tables: dict[str, pd.DataFrame] = {}
        self._zero_one: dict[str, str] = {}  # see _zero_one_spellings
        self._tmp = tempfile.mkdtemp(prefix="slicewise-duckdb-")
        self._con = duckdb.connect(config={"temp_directory": self._tmp})
        try:
            if memory_limit:
                self._con.execute(f"SET memory_limit = {_lit(memory_limit)}")
            self._open(mapping, sep)
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Close the DuckDB connection and remove its spill folder."""
        try:
            self._con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> DuckDBFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fetch(self, sql: str) -> list[tuple]:
        duckdb = self._duckdb
        try:
            return self._con.execute(sql).fetchall()
        except duckdb.OutOfMemoryException as exc:
            raise DataError(
                f"{self.source_name}: DuckDB ran out of memory "
                f"({_first_line(exc)}); give it a larger memory limit"
            ) from None
        except (
            duckdb.ConversionException,
            duckdb.InvalidInputException,
            duckdb.IOException,
        ) as exc:
            raise FileFormatError(
                f"{self.source_name}: DuckDB cannot read the file ({_first_line(exc)}); fix "
                "the file, or use the pandas engine (--engine pandas)"
            ) from None

    def _aggregate(self, exprs: Mapping[str, str], where: str = "true") -> dict[str, Any]:
        """Run one scan computing every aggregate in ``exprs``; return them by name."""
        if not exprs:
            return {}
        names = list(exprs)
        select = ", ".join(f"{exprs[k]} AS a{i}" for i, k in enumerate(names))
        row = self._fetch(f"SELECT {select} FROM {self._rows} WHERE {where}")[0]
        return dict(zip(names, row, strict=True))

    def _first_positions(self, cond: str, limit: int = 5) -> list[int]:
        """0-based file positions of the first rows where ``cond`` holds (error messages)."""
        rows = self._fetch(
            f"SELECT __slicewise_rn FROM (SELECT row_number() OVER () - 1 AS __slicewise_rn, * "
            f"FROM src) WHERE {cond} ORDER BY __slicewise_rn LIMIT {limit}"
        )
        return [int(r[0]) for r in rows]

    # ----------------------------------------------------------------- opening

    def _open(self, mapping: ColumnMapping | None, sep: str | None) -> None:
        name = self.source_name
        path = self.path
        try:
            check_file_path(path)
            with path.open("rb") as fh:
                head = fh.read(1 << 20)
                self.gzip = _container(head, name) == "gzip"
                if self.gzip:  # DuckDB streams gzip itself; the sample is the text's head
                    fh.seek(0)
                    head = _gzip_head(fh, name)
        except OSError as exc:
            raise DataError(
                f"{name}: cannot be opened ({exc.strerror or exc}); check the path "
                "and the file's permissions"
            ) from None
        if not re.search(rb"\S", head):
            raise EmptyFileError(
                f"{name}: the file is empty; it needs a header row (e.g. "
                "id,label,prediction) and one row per example"
            )
        self.parquet = head[:4] == b"PAR1"
        # Rows as the pandas engine numbers them: Parquet's from 1, CSV lines (header: 1).
        self.numbering = RowNumbers(first=1 if self.parquet else 2)
        if self.parquet and self.gzip:
            raise FileFormatError(
                f"{name}: is a gzip-compressed Parquet file, which the duckdb "
                "engine does not read; decompress it, or use the pandas "
                "engine (--engine pandas)"
            )
        if self.parquet:
            sample = self._open_parquet()
        else:
            if _inner_name(name, self.gzip).lower().endswith((".parquet", ".pq")):
                raise FileFormatError(
                    f"{name}: is named like a Parquet file but is not one (no "
                    "Parquet signature); save it again as Parquet, or rename "
                    "it to .csv if it is text"
                )
            sample = self._open_csv(head, sep)
        if self.na_values:
            sample = _mask_na_tokens(sample, self.na_values)
            self._mask_na_cells()

        detect_tags = mapping is None or (
            mapping.tag_columns is None and mapping.tags_column is None
        )
        m = resolve_mapping(sample, mapping, file=name)
        check_nested_roles(
            [c.name for c in self.columns.values() if _nested_type(c.duck)], m, file=name
        )
        roles = {m.label, m.prediction, m.id, m.human, m.score, m.tags_column, m.human_accuracy}
        possible: list[str] = []
        if detect_tags and m.tags_column is None:
            # Detected on the sample; decided below on the whole file's distinct values.
            m = replace(m, tag_columns=())
            cands = find_role_candidates(sample)
            named_like_role = {c for role, cs in cands.items() if role != "tags_column" for c in cs}
            possible = [
                c
                for c in sample.columns
                if c not in roles
                and c not in named_like_role
                and is_tag_name(c)
                and _possibly_boolean(sample[c])
            ]
        self.mapping = m
        self._profile(possible)

    def _mask_na_cells(self) -> None:
        """Define ``src`` again with the text cells whose trimmed text is an NA token missing.

        The rule of :func:`core.dataset.prepare` (``na_values``): typed Parquet columns keep
        their values.
        """
        select = []
        for c in self.columns.values():
            if c.group == "text":
                select.append(
                    f"CASE WHEN {_strip(c.ident)} IN {_in(self.na_values)} THEN NULL "
                    f"ELSE {c.ident} END AS {c.ident}"
                )
            else:
                select.append(c.ident)
        self._con.execute("ALTER VIEW src RENAME TO __slicewise_unmasked")
        self._con.execute(
            f"CREATE VIEW src AS SELECT {', '.join(select)} FROM __slicewise_unmasked"
        )

    def _open_parquet(self) -> pd.DataFrame:
        import pyarrow.parquet as pq

        name = self.source_name
        try:
            pf = pq.ParquetFile(self.path)
            meta = pf.schema_arrow.pandas_metadata or {}
        except Exception:  # pyarrow raises many types for corrupt files
            raise FileFormatError(
                f"{name}: is not a readable Parquet file (truncated or "
                "damaged?); save it again as Parquet or CSV"
            ) from None
        self._con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet({_lit(self.path)})")
        described = self._fetch("DESCRIBE SELECT * FROM raw")
        # pandas: an unnamed saved index is dropped, a named one becomes the first column.
        index_cols = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        dropped = {c for c in index_cols if re.fullmatch(r"__index_level_\d+__", c)}
        front = [c for c in index_cols if c not in dropped]
        order = [r for r in described if r[0] in front] + [
            r for r in described if r[0] not in front and r[0] not in dropped
        ]
        names = [str(r[0]).strip() for r in order]
        _check_names(names, name)
        special = {}
        for col in meta.get("columns", []):
            ptype, ntype = col.get("pandas_type"), str(col.get("numpy_type"))
            if ptype == "categorical":
                special[col.get("name")] = "a pandas categorical"
            elif ntype in (
                "Int8",
                "Int16",
                "Int32",
                "Int64",
                "UInt8",
                "UInt16",
                "UInt32",
                "UInt64",
                "Float32",
                "Float64",
                "boolean",
            ):
                special[col.get("name")] = f"a pandas {ntype} column"
        self.columns = {}
        for (raw, duck, *_), stripped in zip(order, names, strict=True):
            col = _Column(stripped, _ident(raw), str(duck))
            col.unsupported = special.get(raw)
            self.columns[stripped] = col
        select = ", ".join(f"{c.ident} AS {_ident(c.name)}" for c in self.columns.values())
        self._con.execute(f"CREATE VIEW src AS SELECT {select} FROM raw")
        for c in self.columns.values():
            c.ident = _ident(c.name)
        batches = pf.iter_batches(batch_size=SAMPLE_ROWS)
        try:
            sample = next(batches).to_pandas()
        except StopIteration:
            raise EmptyFileError(
                f"{name}: the Parquet file has no rows; add one row per example"
            ) from None
        if any(n is not None for n in sample.index.names):
            sample = sample.reset_index()
        sample.columns = [str(c).strip() for c in sample.columns]
        return sample.reset_index(drop=True)[names]

    def _open_csv(self, head: bytes, sep: str | None) -> pd.DataFrame:
        name = self.source_name
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise FileFormatError(f"{name}: is {what}; Slicewise reads CSV, TSV or Parquet")
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if b"\x00" in head[:8192]:
            raise EncodingError(
                f"{name}: is not UTF-8 text (UTF-16 or binary data); the "
                "duckdb engine reads UTF-8: save the file as UTF-8, or use the "
                "pandas engine (--engine pandas)"
            )
        cut = head.rfind(b"\n") if len(head) == 1 << 20 else len(head)
        try:
            text = head[: cut if cut > 0 else len(head)].decode("utf-8")
        except UnicodeDecodeError:
            raise EncodingError(
                f"{name}: is not UTF-8; the duckdb engine reads UTF-8 files: "
                "save it as UTF-8, or use the pandas engine (--engine pandas), "
                "which detects the encoding"
            ) from None
        first_line = re.match(r"[^\r\n]*", text).group()
        if not first_line.strip():
            raise EmptyFileError(
                f"{name}: the first line is blank; it must hold the column "
                "names (delete the blank lines above the header)"
            )
        sep = _normalize_sep(sep, name)
        if sep is None:
            tsv = _inner_name(name, self.gzip).lower().endswith((".tsv", ".tab"))
            sep = "\t" if tsv else _sniff_delimiter(first_line)
        header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep), [])]
        _check_header_is_names(header, name)
        _check_names(header, name)
        try:
            sample = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                nrows=SAMPLE_ROWS,
                skipinitialspace=False,
                low_memory=False,
                keep_default_na=False,
                na_values=list(NA_VALUES),
                skip_blank_lines=True,
                dtype=str,
            )
        except Exception as exc:  # pandas raises many types
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
            raise FileFormatError(
                f"{name}: cannot be read as a CSV, TSV or Parquet table "
                f"({reason}); check that it is a text table with one header "
                "row, or save it again as CSV (UTF-8)"
            ) from None
        sample.columns = [str(c).strip() for c in sample.columns]
        if sample.empty:
            raise EmptyFileError(f"{name}: has a header but no data rows; add one row per example")

        def reader() -> str:
            # Every cell is text, only a blank one missing, as the loader reads it.
            opts = [
                f"delim = {_lit(sep)}",
                "header = true",
                "quote = '\"'",
                "escape = '\"'",
                f"nullstr = [{', '.join(_lit(v) for v in NA_VALUES)}]",
                "all_varchar = true",
            ]
            if self.gzip:
                opts.append("compression = 'gzip'")
            return f"read_csv({_lit(self.path)}, {', '.join(opts)})"

        self._con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader()}")
        described = self._fetch("DESCRIBE SELECT * FROM raw")
        if len(described) != len(header):
            raise FileFormatError(
                f"{name}: DuckDB reads {len(described)} columns where the "
                f"header has {len(header)}; check the delimiter, or use the "
                "pandas engine (--engine pandas)"
            )
        select = ", ".join(
            f"{_ident(r[0])} AS {_ident(h)}" for r, h in zip(described, header, strict=True)
        )
        self._con.execute(f"CREATE OR REPLACE VIEW src AS SELECT {select} FROM raw")
        self.columns = {
            h: _Column(h, _ident(h), str(r[1])) for r, h in zip(described, header, strict=True)
        }
        return sample

    # ----------------------------------------------------------------- validation

    def _profile(self, possible_tags: Sequence[str]) -> None:
        """Check the whole file as :func:`core.dataset.prepare` does, in its order.

        One scan counts rows, values and distinct-value estimates; a second lists the
        distinct values of the tag columns and of label, prediction and human label (with
        their rows). Then the score is parsed, the tags decided, missing labels and
        predictions counted, the ids checked over the kept rows and the class tables built.
        """
        m = self.mapping
        name = self.source_name
        cols = self.columns
        possible_tags = [
            c for c in possible_tags if cols[c].group != "other" and not cols[c].unsupported
        ]
        self._possible_tags = possible_tags
        used = [
            c
            for c in (
                m.label,
                m.prediction,
                m.human,
                m.id,
                m.score,
                m.tags_column,
                m.human_accuracy,
                *(m.tag_columns or ()),
                *possible_tags,
            )
            if c is not None
        ]
        for c in dict.fromkeys(used):
            col = cols[c]
            if c != m.id and (col.group == "other" or col.unsupported):
                why = col.unsupported or f"values of DuckDB type {col.duck}"
                raise InvalidValueError(
                    f"{name}: column {c!r} holds {why}, which the duckdb engine does not read "
                    "as the pandas loader does; use the pandas engine (--engine pandas)"
                )

        class_cols = [c for c in (m.label, m.prediction, m.human) if c is not None]
        aggs: dict[str, str] = {"rows": "count(*)"}
        for c in dict.fromkeys(used):
            aggs[f"nonnull:{c}"] = f"count({cols[c].raw})"
        for c in class_cols:
            aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].key})"
        if m.tags_column is not None:
            aggs["pipe"] = f"bool_or(contains({cols[m.tags_column].ident}, '|'))"
        for c in (*(m.tag_columns or ()), *possible_tags):
            if cols[c].group != "bool":
                aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].ident})"
        stats = self._aggregate(aggs)
        self.n_rows = int(stats["rows"])
        if self.n_rows == 0:
            raise EmptyFileError(
                f"{name}: the Parquet file has no rows; add one row per example"
                if self.parquet
                else f"{name}: has a header but no data rows; add one row per example"
            )
        for c in dict.fromkeys(used):
            col = cols[c]
            col.nonnull = int(stats[f"nonnull:{c}"])
            col.nulls = self.n_rows - col.nonnull
            col.kind = self._pandas_kind(col)
        self._tag_stats = stats

        # Second scan: distinct values of the tag columns, and of the class columns with
        # their rows (turned into the loader's text in Python); missing counts of the others.
        tags = [
            c
            for c in (*(m.tag_columns or ()), *possible_tags)
            if cols[c].group == "bool"
            or stats[f"approx:{c}"] <= (_MAX_TAG_VALUES if c in (m.tag_columns or ()) else 100)
        ]
        distinct = {
            f"tag:{c}": f"array_agg(DISTINCT {cols[c].raw}) FILTER (WHERE "
            f"{cols[c].raw} IS NOT NULL)"
            for c in tags
        }
        for c in class_cols:
            if stats[f"approx:{c}"] <= _MAX_CLASSES:
                distinct[f"hist:{c}"] = f"histogram({cols[c].key})"
            elif c in (m.label, m.prediction):
                distinct[f"missing:{c}"] = f"count_if({cols[c].missing})"
        score = self._score_facts()
        ids = self._id_facts()
        got = self._aggregate({**distinct, **score, **ids})
        self._score_stats = {k: got[k] for k in score}
        self._id_stats = {k: got[k] for k in ids}  # over every row: kept ones if none drop
        self._tag_values = {c: list(got[f"tag:{c}"] or []) for c in tags}
        missing: dict[str, int] = {}
        for c in class_cols:
            col = cols[c]
            hist = {str(k): int(v) for k, v in (got.get(f"hist:{c}") or {}).items()}
            if f"hist:{c}" in got and len(hist) <= _MAX_CLASSES:
                col.histogram = hist
                texts = as_text(pd.Series([col.value_of(k) for k in hist], dtype=object))
                col.texts = dict(zip(hist, texts.tolist(), strict=True))
                missing[c] = col.nulls + sum(n for k, n in hist.items() if col.texts[k] is None)
            elif f"missing:{c}" in got:
                missing[c] = int(got[f"missing:{c}"])
        late = {
            c: f"count_if({cols[c].missing})" for c in (m.label, m.prediction) if c not in missing
        }  # more values than DuckDB's estimate said
        missing.update({c: int(n) for c, n in self._aggregate(late).items()})

        self._check_score()  # parsed before anything is dropped, as by the loader
        self._resolve_tags()  # tag values are checked before labels, as by the loader

        # Missing labels or predictions.
        problems, conds = [], []
        for role in ("label", "prediction"):
            col = cols[getattr(m, role)]
            k = missing[col.name]
            what = f"the {role} column {col.name!r}"
            if k == self.n_rows:
                raise MissingValuesError(
                    f"{name}: {what} is empty in every row; check that the right column is "
                    f"chosen (CLI: --{role} COLUMN)"
                )
            if k:
                rows = _format_rows(self._first_positions(col.missing), k, numbering=self.numbering)
                problems.append(f"{what} is missing in {k} of {self.n_rows} rows ({rows})")
                conds.append(col.missing)
        self.keep = "true"
        self.n_kept = self.n_rows
        if problems and self._missing_policy == "fail":
            raise MissingValuesError(
                f"{name}: {' and '.join(problems)}; fill them in, or load with missing='drop' "
                "(CLI: --drop-missing) to leave those rows out; if these are transcripts, an "
                "empty cell is an empty transcript: choose the text task (CLI: --task text)"
            )
        if problems:
            dropped = " OR ".join(conds)
            self.keep = f"NOT ({dropped})"
            n_drop = int(self._aggregate({"n": f"count_if({dropped})"})["n"])
            self.n_kept = self.n_rows - n_drop
            if self.n_kept == 0:
                raise MissingValuesError(
                    f"{name}: every row misses a label or a prediction "
                    f"({' and '.join(problems)}); nothing is left to analyse: check the column "
                    "choice"
                )
            rows = _format_rows(self._first_positions(dropped), n_drop, numbering=self.numbering)
            self.warnings.append(
                f"{name}: left out {n_drop} of {self.n_rows} rows with a "
                f"missing label or prediction ({rows})"
            )
        if m.id is not None:
            self._check_ids()
        self.roles = self._class_roles()

    #: The numeric roles read as :func:`core.dataset._parse_score` reads the score: the
    #: mapping field, the view column of the parsed value, the role and its values in messages.
    _NUMBER_ROLES = {
        "score": ("__slicewise_score", "score", "scores"),
        "human_accuracy": ("__slicewise_human_accuracy", "human accuracy", "human accuracies"),
    }

    def _score_facts(self) -> dict[str, str]:
        """Decide the number formats of the score and the human accuracy; return their checks.

        The format is the loader's (:func:`core.dataset._parse_score`): inferred over the
        present cells, ``.`` when they hold other text; the SQL of the parsed score goes
        in ``_score``, that of the human accuracy in ``_human_accuracy``.
        """
        self._numbers: dict[str, dict[str, Any]] = {}
        aggs: dict[str, str] = {}
        for role, (view, _, _) in self._NUMBER_ROLES.items():
            column = getattr(self.mapping, role)
            if column is None:
                continue
            sc = self.columns[column]
            info: dict[str, Any] = {"column": column, "sql": None, "format": None, "bad": None}
            self._numbers[role] = info
            if sc.group != "text":
                if sc.kind not in ("bool", "boolobj"):
                    info["sql"] = self._row_column(view, f"CAST({sc.raw} AS DOUBLE)")
                continue
            fmt = info["format"] = self._number_format(sc)
            if fmt == "ambiguous":
                continue
            text = _strip(sc.ident)
            num = _to_number(text, fmt if isinstance(fmt, NumberFormat) else NumberFormat("."))
            info["sql"] = self._row_column(view, num)
            info["bad"] = f"({text} <> '' AND {num} IS NULL)"
            aggs[f"{role}_bad"] = f"count_if({info['bad']})"
        self._score = self._numbers.get("score", {}).get("sql")
        self._human_accuracy = self._numbers.get("human_accuracy", {}).get("sql")
        return aggs

    def _check_finite_score(self, role: str = "score") -> None:
        """Refuse infinite values (``inf``, ``1e400``) as :func:`core.dataset._parse_score`."""
        info = self._numbers.get(role)
        if info is None or info["sql"] is None:
            return
        _, what, values_are = self._NUMBER_ROLES[role]
        sc = self.columns[info["column"]]
        fmt = info["format"]
        value = (
            f"CAST({sc.raw} AS DOUBLE)"
            if sc.group != "text"
            else _to_number(
                _strip(sc.ident), fmt if isinstance(fmt, NumberFormat) else NumberFormat(".")
            )
        )
        self._refuse_cells(
            sc,
            f"isinf({value})",
            (
                f"{values_are} must be finite numbers: fix those cells or choose another {what} "
                "column"
            ),
            what=what,
        )
        if role == "human_accuracy":  # core.dataset.parse_human_accuracy's range
            self._refuse_cells(
                sc,
                f"({value} < 0 OR {value} > 1)",
                (
                    "a human accuracy is the probability that one person labels the example "
                    "right, a number between 0 and 1 (write 95% as 0.95): fix those cells or "
                    "choose another column (CLI: --human-accuracy COLUMN)"
                ),
                what="human accuracy",
            )

    def _refuse_cells(self, sc: _Column, bad: str, why: str, *, what: str) -> None:
        """Raise :class:`InvalidValueError` naming the cells of ``sc`` where ``bad`` holds."""
        n = int(self._aggregate({"n": f"count_if({bad})"}, "true")["n"])
        if n:
            positions = self._first_positions(bad)
            raise InvalidValueError(
                f"{self.source_name}: the {what} column {sc.name!r} holds "
                f"{self._examples(sc.ident, bad, as_loader_text=True)} in "
                f"{_format_rows(positions, n, numbering=self.numbering)}; {why}"
            )

    def _check_score(self) -> None:
        """Refuse the score and human-accuracy cells :func:`core.dataset.prepare` refuses.

        With the loader's messages (:func:`core.dataset._parse_score`,
        :func:`core.dataset.parse_human_accuracy`), the score first.

        Raises
        ------
        InvalidValueError
            True/false values, numbers that read two ways, cells that are no number, values
            that are not finite, human accuracies outside [0, 1].
        """
        name = self.source_name
        for role, info in self._numbers.items():
            _, what, values_are = self._NUMBER_ROLES[role]
            sc = self.columns[info["column"]]
            if sc.kind in ("bool", "boolobj"):
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds true/false values; "
                    f"{values_are} must be numbers (choose another {what} column)"
                )
            if info["format"] == "ambiguous":
                text = _strip(sc.ident)
                first = self._fetch(f"SELECT {text} FROM src WHERE {text} <> '' LIMIT 1")[0][0]
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds numbers such as {first!r} "
                    "that read differently with a decimal comma and with a thousands "
                    "separator; give the format (CLI: --decimal , or --thousands ,)"
                )
            n_bad = int(self._score_stats.get(f"{role}_bad") or 0)
            if n_bad:
                bad = info["bad"]
                positions = self._first_positions(bad)
                sample = str(self._fetch(f"SELECT {sc.ident} FROM src WHERE {bad} LIMIT 1")[0][0])
                cause = likely_number_cause(sample)
                raise InvalidValueError(
                    f"{name}: the {what} column {sc.name!r} holds "
                    f"{self._examples(sc.ident, bad)} in "
                    f"{_format_rows(positions, n_bad, numbering=self.numbering)}{cause}; "
                    f"{values_are} must be numbers: fix those cells or choose another {what} "
                    "column"
                )
            self._check_finite_score(role)

    def _number_format(self, col: _Column, where: str = "true") -> NumberFormat | str | None:
        """Return :func:`core.values.infer_number_format` of a text column's present cells.

        A cell fits a number format exactly when every cell of its shape (:func:`_shape`)
        does, so the format is inferred on one distinct cell of each shape: one with a
        non-zero digit where the shape has one, so that two formats that place the decimal
        mark apart give different numbers on it, as they do on the whole column. A cell
        holding a character no number format writes makes the column text at once.

        Raises
        ------
        DataError
            More than :data:`_MAX_SHAPES` shapes (the pandas engine reads such a column).
        """
        extra = "".join(f"\\{c}" for c in sorted({self.decimal, self.thousands} - {None}))
        chars = _lit(f"[{_NUMBER_CHARS}{extra}]+")
        rows = self._fetch(
            f"SELECT CASE WHEN regexp_full_match(s, {chars}) THEN {_shape('s')} END AS shape, "
            "arg_max(s, regexp_matches(s, '[1-9]')) FROM (SELECT "
            f"{_strip('v')} AS s FROM (SELECT DISTINCT {col.ident} AS v FROM {self._rows} "
            f"WHERE {where}) WHERE v IS NOT NULL) WHERE s <> '' GROUP BY shape "
            f"LIMIT {_MAX_SHAPES + 2}"
        )
        if not rows or any(shape is None for shape, _ in rows):
            return None  # no value, or a cell that is no number in any format: text
        if len(rows) > _MAX_SHAPES:
            raise DataError(
                f"{self.source_name}: column {col.name!r} holds numbers written in "
                f"more than {_MAX_SHAPES:,} ways; the duckdb engine cannot tell its "
                "number format: use the pandas engine (--engine pandas)"
            )
        return infer_number_format(
            pd.Series([r[1] for r in rows], dtype=object),
            decimal=self.decimal,
            thousands=self.thousands,
        )

    def _row_column(self, name: str, expr: str) -> str:
        """Add ``expr`` as column ``name`` of the view the analysis reads; return its SQL.

        Computed once per row there, however many slice conditions read it.
        """
        ident = _ident(name)
        self._view_columns[ident] = expr
        self._define_rows()
        return ident

    def _define_rows(self) -> None:
        """(Re)define the view of the file's rows with the class and number columns."""
        if not self._view_columns:
            self._rows = "src"
            return
        select = ", ".join(f"{expr} AS {ident}" for ident, expr in self._view_columns.items())
        self._con.execute(
            f"CREATE OR REPLACE VIEW __slicewise_rows AS SELECT src.*, {select} "
            f"FROM src {' '.join(self._joins)}"
        )
        self._rows = "__slicewise_rows"

    def _id_value(self) -> tuple[str, str]:
        """Return the SQL of the id as the loader compares it (trimmed) and of a blank id."""
        idc = self.columns[self.mapping.id]
        if idc.group == "text":
            v = _strip(idc.ident)
            return v, f"({v} IS NULL OR {v} = '')"
        return idc.raw, f"({idc.raw} IS NULL)"

    def _id_facts(self, where: str = "true") -> dict[str, str]:
        """Return aggregates finding blank and repeated ids in the rows where ``where`` holds."""
        if self.mapping.id is None:
            return {}
        v, blank = self._id_value()
        w = "" if where == "true" else f" FILTER (WHERE {where})"
        return {
            "id_blank": f"count_if({blank}){w}",
            "id_distinct": f"count(DISTINCT {v}){w}",
            "id_count": f"count({v}){w}",
        }

    def _check_ids(self) -> None:
        """Refuse blank or repeated ids among the kept rows: trimmed text, compared exactly.

        Raises
        ------
        MissingValuesError, DuplicateIdError
            With the loader's messages.
        """
        m = self.mapping
        name = self.source_name
        v, blank = self._id_value()
        ks = self._id_stats if self.keep == "true" else self._aggregate(self._id_facts(self.keep))
        if ks["id_blank"]:
            rows = _format_rows(
                self._first_positions(f"{self.keep} AND {blank}"),
                int(ks["id_blank"]),
                numbering=self.numbering,
            )
            raise MissingValuesError(
                f"{name}: the id column {m.id!r} is blank in {rows}; give every row an id, "
                "or choose no id column to number the rows"
            )
        if ks["id_distinct"] != ks["id_count"]:
            dup = f"{v} IN (SELECT {v} FROM src WHERE {self.keep} GROUP BY ALL HAVING count(*) > 1)"
            n_dup = int(self._aggregate({"n": f"count_if({dup})"}, self.keep)["n"])
            examples = self._examples(
                v, f"{self.keep} AND {dup}", as_loader_text=self.columns[m.id].group != "text"
            )
            rows = _format_rows(
                self._first_positions(f"{self.keep} AND {dup}"), n_dup, numbering=self.numbering
            )
            raise DuplicateIdError(
                f"{name}: the id column {m.id!r} repeats {examples} ({n_dup} rows share an "
                f"id: {rows}); ids must be unique: fix them, or choose no id column to "
                "number the rows"
            )

    @staticmethod
    def _pandas_kind(col: _Column) -> str:
        """Return the loader reader's dtype of the column (text until typed as numbers)."""
        g = col.group
        if col.unsupported or g == "other":
            return "other"
        if g == "int":
            return "int" if col.nulls == 0 else "float"  # pandas: integers with gaps are floats
        if g == "float":
            return "float"
        if g == "bool":
            return "bool" if col.nulls == 0 else "boolobj"
        return "str"

    def _type_metadata(self, cols: Sequence[_Column]) -> None:
        """Give metadata columns the loader's dtype (:func:`core.dataset._typed_metadata`).

        Over the kept rows, a text column whose every present cell reads as a number in one
        format is int64 when the numbers are whole and none is missing, else float64; one
        that reads two ways stays text, with the loader's warning.
        """
        typed = [c for c in cols if c.group != "text"]
        stats = self._aggregate({c.name: f"count({c.raw})" for c in typed})
        numbers = {}
        for col in cols:
            if col.group != "text":
                col.nonnull = int(stats[col.name])
                col.nulls = self.n_rows - col.nonnull
            col.kind = self._pandas_kind(col)
            col.typed = True
            if col.group != "text":
                continue
            fmt = self._number_format(col, self.keep)
            if fmt == "ambiguous":
                first = self._fetch(
                    f"SELECT {col.ident} FROM src WHERE {self.keep} AND "
                    f"{col.ident} IS NOT NULL LIMIT 1"
                )[0][0]
                self.warnings.append(
                    f"{self.source_name}: column {col.name!r} holds numbers such as {first!r} "
                    "that read differently with a decimal comma and with a thousands separator; "
                    "it is kept as text: give the format (CLI: --decimal , or --thousands ,)"
                )
            elif isinstance(fmt, NumberFormat):
                numbers[col.name] = _to_number(_strip(col.ident), fmt)
        whole = self._aggregate(
            {
                c: (
                    f"count({num}) = count(*) AND coalesce(bool_and(isfinite({num}) AND "
                    f"{num} = trunc({num}) AND abs({num}) < {_dbl(2.0**63)}), true)"
                )
                for c, num in numbers.items()
            },
            self.keep,
        )
        for c, num in numbers.items():
            col = self.columns[c]
            col.kind = "int" if whole[c] else "float"
            col.number = self._row_column(
                f"__slicewise_number_{c}", f"CAST({num} AS BIGINT)" if whole[c] else num
            )

    def _examples(
        self, expr: str, cond: str, *, as_loader_text: bool = False, limit: int = 3
    ) -> str:
        """:func:`core.dataset._examples`: the first distinct values where ``cond`` holds.

        Taken from the first 1000 such rows in file order; ``as_loader_text`` writes typed
        values as the loader's text (:func:`core.values.as_text`).
        """
        rows = self._fetch(
            f"SELECT v FROM (SELECT {expr} AS v, row_number() OVER () AS __slicewise_rn FROM "
            f"src WHERE {cond} LIMIT 1000) GROUP BY v ORDER BY min(__slicewise_rn) "
            f"LIMIT {limit}"
        )
        values = [r[0] for r in rows]
        if as_loader_text:
            values = as_text(pd.Series(values, dtype=object)).tolist()
        return ", ".join(repr(str(v)) for v in values)

    def _resolve_tags(self) -> None:
        """Decide the tag columns on the whole file and build their SQL membership tests."""
        m = self.mapping
        name = self.source_name
        cols = self.columns
        stats = self._tag_stats
        possible = self._possible_tags
        explicit = list(m.tag_columns or ())
        for c in explicit:
            if cols[c].group != "bool" and stats[f"approx:{c}"] > _MAX_TAG_VALUES:
                raise InvalidValueError(
                    f"{name}: tag column {c!r} holds more than {_MAX_TAG_VALUES} different "
                    "values; tag columns take true/false, 1/0, yes/no or x/blank (choose the "
                    "tag columns yourself)"
                )
        candidates = [c for c in possible if c in self._tag_values]
        delim = None
        if m.tags_column is not None:
            tc = cols[m.tags_column]
            if tc.kind != "str":
                raise InvalidValueError(
                    f"{name}: the tags column {m.tags_column!r} does not "
                    "hold text; the duckdb engine splits text tags only"
                )
            delim = m.tag_delimiter or ("|" if stats.get("pipe") else ";")
            norm = self._tag_list(tc.ident, delim)
            names = self._fetch(
                f"SELECT DISTINCT t FROM (SELECT unnest(string_split({norm}, "
                f"{_lit(delim)})) AS t FROM src) WHERE t <> ''"
            )
            split_tags = sorted(str(r[0]) for r in names)
        else:
            split_tags = []
        values = self._tag_values

        def pandas_values(c: str) -> pd.Series:
            col = cols[c]
            vals = [col.python(v) for v in values.get(c, [])]
            if col.kind == "bool":
                return pd.Series([True, False], dtype=bool)
            return pd.Series(vals + ([None] if col.nulls else []), dtype=object)

        detected = [c for c in candidates if _is_boolean_like(pandas_values(c))]
        tag_columns = (*explicit, *detected)  # one of the two is empty
        self.mapping = replace(m, tag_columns=tag_columns)

        # Membership, in the loader's order: split tags (sorted), then boolean columns.
        conds: dict[str, str] = {}
        # Tags whose "no" is a blank cell, as core.dataset.says_no reads them.
        self.blank_tags: set[str] = set(split_tags) if m.tags_column is not None else set()
        if m.tags_column is not None:
            norm = self._tag_list(cols[m.tags_column].ident, delim)
            for t in split_tags:
                conds[t] = (
                    f"coalesce(list_contains(string_split({norm}, {_lit(delim)}), "
                    f"{_lit(t)}), false)"
                )
        for c in tag_columns:
            col = cols[c]
            cond = self._tag_condition(col, values.get(c, []))
            conds[c] = f"({conds[c]} OR {cond})" if c in conds else cond
            # Read as core.dataset.says_no reads the pandas column.
            if col.group == "bool" or writes_no(
                col.python(v) if col.kind == "float" else v for v in values.get(c, [])
            ):
                self.blank_tags.discard(c)
            else:
                self.blank_tags.add(c)
        self.tags = conds

    @staticmethod
    def _tag_list(expr: str, delim: str) -> str:
        """Write the delimited tags cell with the space around every name removed."""
        d = re.escape(delim)
        inner = f"regexp_replace({expr}, '{_WSC}*{d}{_WSC}*', {_lit(delim)}, 'g')"
        return _strip(inner)

    def _tag_condition(self, col: _Column, values: list) -> str:
        """Write ``parse_boolean_column`` as SQL: true where the value is a true token."""
        if col.group == "bool":
            return f"coalesce({col.ident}, false)"
        tokens = {
            v: str(col.python(v) if col.kind == "float" else v).strip().lower() for v in values
        }
        bad = [v for v, t in tokens.items() if t not in TRUE_TOKENS | FALSE_TOKENS]
        if bad:
            cond = f"{col.ident} IN ({', '.join(self._sql_value(col, v) for v in bad)})"
            n_bad = int(self._aggregate({"n": f"count_if({cond})"})["n"])
            examples = ", ".join(repr(str(v)) for v in sorted(map(str, bad))[:3])
            rows = _format_rows(self._first_positions(cond), n_bad, numbering=self.numbering)
            raise InvalidValueError(
                f"{self.source_name}: tag column {col.name!r} holds {examples} in {rows}; tag "
                "columns take true/false, 1/0, yes/no or x/blank (fix those cells, or choose the "
                "tag columns yourself)"
            )
        truthy = [v for v, t in tokens.items() if t in TRUE_TOKENS]
        if not truthy:
            return "false"
        return (
            f"coalesce({col.ident} IN ({', '.join(self._sql_value(col, v) for v in truthy)})"
            ", false)"
        )

    @staticmethod
    def _sql_value(col: _Column, v: Any) -> str:
        if col.group == "float" or isinstance(v, float):
            return _dbl(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return _lit(v)

    # ----------------------------------------------------------------- classes

    def _class_roles(self) -> dict[str, _Role]:
        """Build label, prediction and human label by the class rules of :mod:`core.values`.

        Over the kept rows, each distinct value's text is the loader's
        (:func:`core.values.as_text`) and each class (equal :func:`core.values.class_keys`)
        is shown under its most frequent spelling in the three columns together, as
        :func:`core.values.canonical_classes` shows it. A role whose values all show as
        they are written is read straight from the file; the others through a join with a
        small registered table (key, shown class, that class as a number). Without a table
        for every role (more values than :data:`_MAX_CLASSES`), the roles are read as
        numbers only (see :meth:`_require_class_tables`).
        """
        m = self.mapping
        present = {
            r: self.columns[getattr(m, r)]
            for r in ("label", "prediction", "human")
            if getattr(m, r) is not None
        }
        if not all(c.texts is not None for c in present.values()):
            self._zero_one = self._zero_one_spellings(present)
            return {r: self._numeric_role(c, self._zero_one) for r, c in present.items()}
        if self.keep == "true":
            kept = {r: dict(c.histogram or {}) for r, c in present.items()}
        else:
            got = self._aggregate({r: f"histogram({c.key})" for r, c in present.items()}, self.keep)
            kept = {r: {str(k): int(v) for k, v in (got[r] or {}).items()} for r in present}
        totals: dict[str, int] = {}
        for r, c in present.items():
            for k, n in kept[r].items():
                text = c.texts[k]
                if text is not None:
                    totals[text] = totals.get(text, 0) + n
        shown_of = _shown_spellings(totals)
        roles = {}
        for r, c in present.items():
            shown = {k: None if t is None else shown_of.get(t, t) for k, t in c.texts.items()}
            expr, num = _ident(f"__slicewise_{r}"), _ident(f"__slicewise_{r}_num")
            if c.group == "text" and all(s == k for k, s in shown.items()):
                # Every value shows as written and none is blank: no table needed.
                expr = c.ident
                self._view_columns[num] = _to_number(c.ident, NumberFormat("."))
            else:
                nums = pd.to_numeric(pd.Series(list(shown.values()), dtype=object), errors="coerce")
                table, alias = f"__slicewise_classes_{r}", f"__slicewise_{r}_classes"
                frame = pd.DataFrame(
                    {
                        "k": pd.Series(list(shown), dtype=object),
                        "shown": pd.Series(list(shown.values()), dtype=object),
                        "num": nums.to_numpy(dtype=float, na_value=np.nan),
                    }
                )
                self._class_tables[r] = frame  # DuckDB reads it while the file is open
                self._con.register(table, frame)
                self._joins.append(
                    f"LEFT JOIN {table} AS {alias} ON "
                    f"{c.key_of('src.' + c.ident)} = CAST({alias}.k AS VARCHAR)"
                )
                self._view_columns[expr] = f"CAST({alias}.shown AS VARCHAR)"
                self._view_columns[num] = f"CAST({alias}.num AS DOUBLE)"
            roles[r] = _Role(c, expr, num, shown=shown, counts=kept[r])
        self._define_rows()
        return roles

    @staticmethod
    def _numeric_role(col: _Column, zero_one: Mapping[str, str]) -> _Role:
        """Build a role without a class table: read as a number in SQL (``to_numeric``).

        ``zero_one`` gives the shown spelling of the cells whose class is 0 or 1 (see
        :meth:`_zero_one_spellings`); every other class shows as it is written.
        """
        expr = f"(CASE WHEN {col.missing} THEN NULL ELSE {col.key} END)"
        if col.group == "text":
            num = _to_number(_strip(col.ident), NumberFormat("."))
        elif col.group in ("int", "float"):
            num = f"CAST({col.raw} AS DOUBLE)"
        else:
            num = "CAST(NULL AS DOUBLE)"  # true/false: no number to the loader either
        text = _zero_one_text(col)
        if text is not None and zero_one:
            values = pd.to_numeric(
                pd.Series(list(zero_one.values()), dtype=object), errors="coerce"
            )
            whens = " ".join(
                f"WHEN {_lit(k)} THEN {'NULL' if np.isnan(v) else _dbl(v)}"
                for k, v in zip(zero_one, values, strict=True)
            )
            num = f"(CASE {text} {whens} ELSE {num} END)"
        return _Role(col, expr, num)

    def _zero_one_spellings(self, present: Mapping[str, _Column]) -> dict[str, str]:
        """Map each spelling of the classes 0 and 1 to the one its class is shown under.

        Without class tables the roles are read as numbers, each cell as it is written,
        which is how the loader shows it except where its class is 0 or 1: ``yes``,
        ``TRUE``, ``1`` and ``1.0`` are one class, shown under its most frequent spelling
        over the kept rows (:func:`core.values.canonical_classes`), so ``yes`` is the
        number 1 where ``1`` is the more frequent spelling, and ``1`` no number where
        ``yes`` is. One scan counts those spellings.
        """
        texts = {r: _zero_one_text(c) for r, c in present.items()}
        got = self._aggregate(
            {r: f"histogram({t})" for r, t in texts.items() if t is not None}, self.keep
        )
        totals: dict[str, int] = {}
        for hist in got.values():
            for k, n in (hist or {}).items():
                totals[str(k)] = totals.get(str(k), 0) + int(n)
        shown = _shown_spellings(totals)
        keys = class_keys(pd.Series(list(shown), dtype=object)).tolist()
        return {k: v for (k, v), key in zip(shown.items(), keys, strict=True) if key in ("0", "1")}

    def _require_class_tables(self, task: TaskSpec, slice_by: Sequence[str]) -> None:
        """Refuse what needs classes when a class column has too many values for a table.

        Raises
        ------
        InvalidValueError
            A classification or binary task, or slicing by such a column.
        """
        frame = self._frame_columns()
        for r, role in self.roles.items():
            if role.shown is not None:
                continue
            sliced = [s for s in slice_by if frame.get(s, ("",))[0] == role.expr]
            if task.kind != "regression" or sliced:
                col = self.columns[getattr(self.mapping, r)]
                what = "slice by it" if task.kind == "regression" else "compare its classes"
                raise InvalidValueError(
                    f"{self.source_name}: the {'human-label' if r == 'human' else r} column "
                    f"{col.name!r} holds more than {_MAX_CLASSES:,} different values; --engine "
                    f"duckdb cannot {what} (it keeps a table of the distinct values): use the "
                    "pandas engine (--engine pandas)"
                )

    def _check_numbers(self) -> None:
        """Refuse regression on classes that are no number, as :func:`core.metrics._numeric`.

        Raises
        ------
        InvalidValueError
            The loader's message, naming the role, the rows and the first such value.
        """
        for r, role in self.roles.items():
            col = role.column
            self._check_finite(r, role)
            if role.shown is not None:
                bad = [
                    k
                    for k, s in role.shown.items()
                    if s is not None
                    and role.counts.get(k)
                    and pd.isna(pd.to_numeric(s, errors="coerce"))
                ]
                n = sum(role.counts[k] for k in bad)
                cond = f"{col.key} IN {_in(bad)}" if bad else "false"
            else:
                cond = f"(NOT {col.missing} AND {role.num} IS NULL)"
                n = int(self._aggregate({"n": f"count_if({cond})"}, self.keep)["n"])
            if n:
                key = self._fetch(
                    f"SELECT {col.key} FROM src WHERE {self.keep} AND {cond} LIMIT 1"
                )[0][0]
                if role.shown is not None:
                    first = role.shown[key]
                else:
                    first = as_text(pd.Series([col.value_of(key)], dtype=object)).iloc[0]
                    first = self._zero_one.get(first, first)
                raise InvalidValueError(
                    f"{self.source_name}: a regression task needs numbers; the {r} is not "
                    f"numeric in {count_of(n, 'row')} (first: {first!r})"
                )

    def _check_finite(self, r: str, role: Any) -> None:
        """Refuse ``inf``, ``1e400`` or ``nan`` written as a number, as core.metrics._numeric."""
        col = role.column
        if role.shown is not None:
            worst = [
                k
                for k, s in role.shown.items()
                if s is not None and role.counts.get(k) and _not_finite_text(str(s))
            ]
            cond = f"{col.key} IN {_in(worst)}" if worst else "false"
            n = sum(role.counts[k] for k in worst)
        else:
            text = f"lower(trim(CAST({col.key} AS VARCHAR)))"
            cond = (
                f"(isinf({role.num}) OR (NOT {col.missing} AND {text} IN ('nan', '+nan', '-nan')))"
            )
            n = int(self._aggregate({"n": f"count_if({cond})"}, self.keep)["n"])
        if not n:
            return
        where = f"{self.keep} AND {cond}"
        positions = self._first_positions(where)
        shown = self._examples(col.ident, where, as_loader_text=True)
        raise InvalidValueError(
            f"{self.source_name}: a regression task needs finite numbers; the {r} is not "
            f"finite in {_format_rows(positions, n, numbering=self.numbering)} ({shown}); "
            "fix those cells or leave those rows out"
        )

    def _positive_class(self, positive: Any) -> str:
        """Return the data's spelling of ``positive``, as :func:`core.metrics._check_positive`.

        Matched by :func:`core.values.class_key` in the labels, then in the predictions (a
        class only the model predicted is its false alarms).

        Raises
        ------
        InvalidValueError
            No positive class, or one in neither the labels nor the predictions (the
            loader's messages).
        """
        at = f"{self.source_name}: "
        if positive is None:
            raise InvalidValueError(
                f"{at}a binary task needs a positive class (CLI: --positive "
                f"CLASS); classes: {', '.join(self._classes())}"
            )
        wanted = class_key(positive)
        for role in (self.roles["label"], self.roles["prediction"]):
            classes = {s for k, s in role.shown.items() if s is not None and role.counts.get(k)}
            if str(positive) in classes:
                return str(positive)
            match = [c for c in sorted(classes) if class_key(c) == wanted]
            if match:
                return match[0]  # one spelling per class: the shown one
        raise InvalidValueError(
            f"{at}positive class {positive!r} never occurs in the labels or "
            f"the predictions; classes: {', '.join(self._classes())}"
        )

    def infer_task_kind(self) -> str:
        """:func:`core.task.infer_task_kind` on the loader's labels (their first rows)."""
        y = self.roles["label"]
        col = y.column
        keys = [
            r[0]
            for r in self._fetch(f"SELECT {col.key} FROM src WHERE {self.keep} LIMIT {_TASK_ROWS}")
        ]
        if y.shown is not None:
            labels = pd.Series([y.shown[k] for k in keys], dtype=object)
        else:
            texts = as_text(pd.Series([col.value_of(k) for k in keys], dtype=object))
            labels = pd.Series([self._zero_one.get(t, t) for t in texts], dtype=object)
        return infer_task_kind(labels)

    # ----------------------------------------------------------------- analysis

    def analyze(
        self,
        *,
        task: TaskSpec | None = None,
        slice_by: Sequence[str] = (),
        bins: int = 4,
        hlp: Mapping[str, float] | None = None,
        importance: Mapping[str, float] | None = None,
        ease: Mapping[str, float] | None = None,
        tag_scopes: str | Mapping[str, str] = "auto",
        protected: Sequence[str] = (),
        rank_by: str = "priority",
        baseline: Baseline | None = None,
        max_slices: int | None = None,
    ) -> pd.DataFrame:
        """Return the ranked error-analysis table (see :func:`core.analysis.analyze`).

        A slice-by column over ``max_slices`` slices (:func:`core.limits.max_slices`) is
        refused from DuckDB's ``approx_count_distinct`` before its values are fetched.
        """
        slice_by = list(dict.fromkeys(str(c).strip() for c in slice_by))  # as build_slices
        return self._analyze(
            task=task,
            slice_by=slice_by,
            bins=bins,
            hlp=hlp,
            importance=importance,
            ease=ease,
            tag_scopes=tag_scopes,
            protected=protected,
            rank_by=rank_by,
            baseline=baseline,
            max_slices=max_slices,
        )

    def confusion_pairs(self) -> pd.DataFrame:
        """Count the kept rows of each (label, prediction) pair in one ``GROUP BY``.

        The table :func:`core.metrics.compute_confusion_pairs` gives for the loaded frame
        (``label``, ``prediction`` as text, ``count``; the pairs that occur, most frequent
        first), for a classification or binary task after :meth:`analyze` has resolved
        the classes: one row per pair, never one per example or per cell of a k × k matrix.
        """
        y, p = self.roles["label"].expr, self.roles["prediction"].expr
        rows = self._fetch(
            f"SELECT {y}, {p}, count(*) FROM {self._rows} WHERE {self.keep} GROUP BY ALL"
        )
        # Values that differ in SQL but not as text (1 and '1') are one class: sum them.
        counts = pd.DataFrame(
            {
                "label": [str(r[0]) for r in rows],
                "prediction": [str(r[1]) for r in rows],
                "count": np.array([int(r[2]) for r in rows], dtype=np.int64),
            }
        )
        counts = counts.groupby(["label", "prediction"], sort=True, as_index=False)["count"].sum()
        order = np.argsort(-counts["count"].to_numpy(), kind="stable")
        return counts.iloc[order].reset_index(drop=True)[list(PAIR_COLUMNS)]

    def confusion_matrix(self, *, max_classes: int = DEFAULT_MATRIX_CLASSES) -> pd.DataFrame:
        """Return :func:`core.metrics.compute_confusion_matrix` of :meth:`confusion_pairs`.

        At most ``max_classes`` classes (the most frequent), the others summed in
        ``(other)``.
        """
        return compute_confusion_matrix(pairs=self.confusion_pairs(), max_classes=max_classes)

    def _analyze(
        self,
        *,
        task: TaskSpec | None,
        slice_by: Sequence[str],
        bins: int,
        hlp: Mapping[str, float] | None,
        importance: Mapping[str, float] | None,
        ease: Mapping[str, float] | None,
        tag_scopes: str | Mapping[str, str] = "auto",
        protected: Sequence[str] = (),
        rank_by: str = "priority",
        baseline: Baseline | None = None,
        max_slices: int | None = None,
    ) -> pd.DataFrame:
        task = task or TaskSpec(kind=self.infer_task_kind())  # type: ignore[arg-type]
        if task.kind == "text":
            raise DataError(TEXT_TASK_MESSAGE)
        # The loader's checks of compute_outcomes, before the slices are built.
        self._require_class_tables(task, slice_by)
        if task.kind == "regression":
            self._check_numbers()
        self._positive = self._positive_class(task.positive) if task.kind == "binary" else None
        # Named as build_slices names them: tags first, then column values made unique.
        names = tag_slice_names(self.tags)
        slices = [_Slice(names[t], "tag", t, c) for t, c in self.tags.items()]
        taken = {s.name for s in slices}
        for s in self._column_slices(slice_by, bins, limits.max_slices(max_slices)):
            s.name = unique_name(s.name, taken)
            taken.add(s.name)
            slices.append(s)
        counts = self._counts(task, slices)
        info = slice_info(
            [s.name for s in slices], [s.kind for s in slices], [s.source for s in slices]
        )
        info["same_as"] = _same_members(counts, self._fingerprints)
        baseline = baseline or Baseline(human_kind=self.mapping.human_kind or "single")
        table = compute_slice_metrics(counts, task=task, hlp=hlp, baseline=baseline)
        return finish_table(
            table,
            info,
            importance=importance,
            ease=ease,
            tag_scopes=tag_scopes,
            blank_tags=self.blank_tags,
            protected=protected,
            rank_by=rank_by,
        )

    def _classes(self, limit: int = 10) -> list[str]:
        """List the first classes of the labels in order of appearance (error messages)."""
        y = self.roles["label"]
        rows = self._fetch(
            f"SELECT k FROM (SELECT {y.column.key} AS k, row_number() OVER () AS __slicewise_rn "
            f"FROM src WHERE {self.keep}) WHERE k IS NOT NULL GROUP BY k "
            "ORDER BY min(__slicewise_rn)"
        )
        shown = (y.shown or {}).get
        classes = dict.fromkeys(s for s in (shown(r[0]) for r in rows) if s is not None)
        return list(classes)[:limit]

    def _frame_columns(self) -> dict[str, tuple[str, str]]:
        """Map each name a slice-by can give to its (SQL value, kind).

        The loader's frame columns, then the roles' file names, which win a tie as in
        :func:`core.slice_names.resolve_slice_column`.
        """
        m = self.mapping
        out: dict[str, tuple[str, str]] = {}
        for r in ("label", "prediction", "human"):
            if r in self.roles:
                out[r] = (self.roles[r].expr, "str")  # text, under the shown spelling
        if self._score is not None:
            out["score"] = (self._score, "float")
        if self._human_accuracy is not None:
            out["human_accuracy"] = (self._human_accuracy, "float")
        taken = {
            "id",
            "label",
            "prediction",
            *(["human"] if m.human else []),
            *(["score"] if m.score else []),
            *(["human_accuracy"] if m.human_accuracy else []),
        }
        role_cols = {
            m.label,
            m.prediction,
            m.id,
            m.human,
            m.score,
            m.tags_column,
            m.human_accuracy,
            *(m.tag_columns or ()),
        }
        meta = [c for c in self.columns if c not in role_cols]
        for c, frame_name in zip(meta, _metadata_names(meta, set(taken)), strict=True):
            out[frame_name] = (c, "meta")
        # A role's file name means the role, even where a frame column has that name.
        for role in SLICEABLE_ROLES:
            file_name = getattr(m, role)
            if file_name is not None and role in out:
                out[file_name] = out[role]
        return out

    def _column_slices(
        self, slice_by: Sequence[str], bins: int, cap: int = limits.MAX_SLICES
    ) -> list[_Slice]:
        """Build the slices of :func:`core.metrics.build_slices` for ``slice_by`` columns.

        At most ``cap`` slices in all: a column whose estimated number of values
        (``approx_count_distinct``) is well over what is left of the cap is refused before
        its values are fetched; the exact count decides once they are.

        Raises
        ------
        TooManySlicesError
            The columns make more than ``cap`` slices (:func:`core.limits.check_slice_count`).
        """
        if not slice_by:
            return []
        frame = self._frame_columns()
        plan: dict[str, tuple[str, str, _Column | None]] = {}  # name -> (value SQL, kind)
        to_profile = []
        for name in slice_by:
            if name not in frame:
                meta = [n for n, (_, k) in frame.items() if k == "meta"]
                if name == "id":
                    raise InvalidValueError(
                        f"{self.source_name}: --engine duckdb cannot slice "
                        "by the id column; use the pandas engine"
                    )
                choices = slice_by_choices(meta, columns=frame, mapping=self.mapping)
                raise InvalidValueError(
                    f"{self.source_name}: cannot slice by {name!r}: no such column; columns: "
                    f"{', '.join(map(repr, choices))}"
                )
            expr, kind = frame[name]
            if kind == "meta":
                col = self.columns[expr]
                if col.unsupported or col.group == "other":
                    raise InvalidValueError(
                        f"{self.source_name}: column {name!r} holds "
                        f"{col.unsupported or 'DuckDB type ' + col.duck}, which the duckdb "
                        "engine does not slice as the pandas loader does; use the pandas engine"
                    )
                plan[name] = ("", "", col)
                if not col.typed:
                    to_profile.append(col)
            else:
                plan[name] = (expr, kind, None)
        if to_profile:  # the loader's dtypes of metadata columns (numbers read from text)
            self._type_metadata(to_profile)
        values: dict[str, tuple[str, str]] = {}
        for name, (expr, kind, col) in plan.items():
            if col is not None:
                expr, kind = col.value, col.kind
                if kind == "str":  # trimmed, blank missing: the loader's _typed_metadata
                    expr = f"NULLIF(regexp_replace({expr}, {_lit(_TRIM)}, '', 'g'), '')"
            values[name] = (expr, kind)

        # Facts over the kept rows: how many values, about how many distinct (HyperLogLog:
        # constant memory, a few % off), so a column of ids is refused before it is fetched.
        aggs = {}
        for name, (expr, _) in values.items():
            aggs[f"n:{name}"] = f"count({expr})"
            aggs[f"approx:{name}"] = f"approx_count_distinct({expr})"
        stats = self._aggregate(aggs, self.keep)
        for name, (_, kind) in values.items():
            about = int(stats[f"approx:{name}"]) + int(stats[f"n:{name}"] < self.n_kept)
            # Numbers are cut into bins; other values are one slice each. Well over the cap,
            # the estimate's error (a few %) cannot explain it: refuse before the fetch.
            if kind not in ("int", "float") and about > 1.1 * cap:
                limits.check_slice_count(
                    about, column=name, source=self.source_name, cap=cap, about=True
                )
        small = {
            name: (
                f"histogram({expr})"
                if kind in ("int", "float")
                else f"array_agg(DISTINCT {expr}) FILTER (WHERE {expr} IS NOT NULL)"
            )
            for name, (expr, kind) in values.items()
            if kind not in ("int", "float") or stats[f"approx:{name}"] <= _MAX_HISTOGRAM
        }
        fetched = self._aggregate(small, self.keep)
        quantile_cols = [n for n in values if n not in small]
        order_stats = self._order_statistics(
            {n: (values[n][0], int(stats[f"n:{n}"])) for n in quantile_cols}, bins
        )

        out: list[_Slice] = []
        for name, (expr, kind) in values.items():
            made = len(out)  # slices of the columns before this one
            n_values = int(stats[f"n:{name}"])
            numeric = kind in ("int", "float")
            v = f"CAST({expr} AS DOUBLE)" if numeric else expr
            if numeric and name in small:
                hist = fetched[name] or {}
                keys = np.array(sorted(hist), dtype=float) if hist else np.array([])
                distinct = sorted(hist)
            else:
                distinct = sorted(fetched.get(name) or [])
            if numeric and (name not in small or len(distinct) > bins):
                if name in small:
                    cum = np.cumsum([hist[k] for k in sorted(hist)])

                    def pick(idx: np.ndarray, keys=keys, cum=cum) -> np.ndarray:
                        return keys[np.searchsorted(cum, idx, side="right")]
                else:
                    pick = order_stats[name]
                edges = np.unique(nanquantile_linear(n_values, bins, pick))
                last = len(edges) - 2
                shown = format_edges(edges)
                for k in range(len(edges) - 1):
                    cond = [f"{v} IS NOT NULL"]
                    if k > 0:
                        cond.append(f"{v} >= {_dbl(edges[k])}")
                    if k < last:
                        cond.append(f"{v} < {_dbl(edges[k + 1])}")
                    close = "]" if k == last else ")"
                    label = f"{name} in [{shown[k]}, {shown[k + 1]}{close}"
                    out.append(_Slice(label, "column", name, " AND ".join(cond)))
            else:
                pyval = {"int": int, "float": float, "bool": bool, "boolobj": bool}.get(kind)
                for u in sorted(pyval(x) for x in distinct) if pyval else distinct:
                    if isinstance(u, bool):
                        cond = expr if u else f"NOT {expr}"
                    elif isinstance(u, float):
                        cond = f"{v} = {_dbl(u)}"
                    elif isinstance(u, int):
                        cond = f"{expr} = {u}"
                    else:
                        cond = f"{expr} = {_lit(u)}"
                    out.append(_Slice(f"{name} = {u}", "column", name, cond))
            if n_values < self.n_kept:
                out.append(_Slice(f"{name} = (missing)", "column", name, f"{expr} IS NULL"))
            limits.check_slice_count(
                len(out) - made, column=name, source=self.source_name, cap=cap, before=made
            )  # exact, before any is counted
        return out

    def _order_statistics(
        self, cols: Mapping[str, tuple[str, int]], bins: int
    ) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Exact order statistics for the quantile edges, selected by ``quantile_disc``.

        DuckDB's ``quantile_disc(x, q)`` returns the value at 0-based sorted position
        ``ceil(n·q) - 1``; asking for ``q = (k + 0.5) / n`` selects position ``k``.
        """
        if not cols:
            return {}
        wanted = {}
        for name, (_, n) in cols.items():
            wanted[name] = np.unique(_needed_positions(n, bins))
        aggs = {}
        for name, (expr, n) in cols.items():
            qs = ", ".join(_dbl((k + 0.5) / n) for k in wanted[name])
            aggs[name] = f"quantile_disc(CAST({expr} AS DOUBLE), [{qs}])"
        got = self._aggregate(aggs, self.keep)
        out = {}
        for name in cols:
            table = dict(zip(wanted[name].tolist(), got[name], strict=True))

            def pick(idx: np.ndarray, table=table) -> np.ndarray:
                return np.array([table[int(i)] for i in np.ravel(idx)], dtype=float)

            out[name] = pick
        return out

    def _counts(self, task: TaskSpec, slices: Sequence[_Slice]) -> pd.DataFrame:
        """Every slice's :data:`COUNT_COLUMNS` in one scan of conditional aggregates.

        The inner query computes each row's statistics (``correct``, ``human_correct``...)
        and slice memberships once; the outer one aggregates ``count_if(slice AND stat)`` for
        0/1 statistics and ``sum(CASE WHEN slice THEN stat END)`` for errors.
        """
        r = self.roles
        y, p = r["label"], r["prediction"]
        h = r.get("human")
        row: dict[str, str] = {}
        if task.kind == "regression":
            yv, pv = y.num, p.num
            tol = _dbl(task.tolerance if task.tolerance is not None else 0.0)
            correct = f"coalesce(abs({pv} - {yv}) <= {tol}, false)"
            human = f"coalesce(abs({h.num} - {yv}) <= {tol}, false)" if h else ""
        else:
            correct = f"coalesce({y.expr} = {p.expr}, false)"
            human = f"coalesce({h.expr} = {y.expr}, false)" if h else ""
        row["correct"] = correct
        if h is not None:
            has_h = f"({h.expr} IS NOT NULL)"
            hc = f"({human} AND {has_h})"
            row["human_n"] = has_h
            row["human_correct"] = hc
            row["model_only"] = f"({correct} AND NOT {hc} AND {has_h})"
            row["human_only"] = f"(NOT {correct} AND {hc})"
        if task.kind == "binary":
            pos = _lit(self._positive)  # the labels' spelling of the positive class
            yp, pp = f"coalesce({y.expr} = {pos}, false)", f"coalesce({p.expr} = {pos}, false)"
            row["tp"] = f"({yp} AND {pp})"
            row["fp"] = f"(NOT {yp} AND {pp})"
            row["fn"] = f"({yp} AND NOT {pp})"
            row["tn"] = f"(NOT {yp} AND NOT {pp})"
        if task.kind == "regression":
            row["abs_error"] = f"abs({pv} - {yv})"
            row["sq_error"] = f"(({pv} - {yv}) * ({pv} - {yv}))"
        a = self._human_accuracy  # core.metrics.compute_outcomes' hacc_* columns
        if a is not None:
            row["hacc_n"] = f"({a} IS NOT NULL)"
            row["hacc_sum"] = f"coalesce({a}, 0)"
            row["hacc_sq"] = f"coalesce({a} * {a}, 0)"
            row["hacc_model"] = f"({a} IS NOT NULL AND {correct})"
            row["hacc_cross"] = f"(CASE WHEN {correct} THEN coalesce({a}, 0) ELSE 0 END)"
        summed = {"abs_error", "sq_error", "hacc_sum", "hacc_sq", "hacc_cross"}
        stats = [k for k in COUNT_COLUMNS[1:] if k in row]

        names = [OVERALL, *(s.name for s in slices)]
        conds = {f"s{i}": s.cond for i, s in enumerate(slices)}
        if self.tags:
            tagged = " OR ".join(f"coalesce({c}, false)" for c in self.tags.values())
            conds["untagged"] = f"NOT ({tagged})"
            names.append(UNTAGGED)
        seen = set()
        for n in names:
            if n in seen:
                raise InvalidValueError(
                    f"{self.source_name}: two slices are named {n!r} (a tag "
                    "and a column value?); rename one of them"
                )
            seen.add(n)

        def agg(stat: str, cond: str | None) -> str:
            if stat == "n":
                return f"count_if({cond})" if cond else "count(*)"
            if stat in summed:
                return f"sum(CASE WHEN {cond} THEN st_{stat} END)" if cond else f"sum(st_{stat})"
            return f"count_if({cond} AND st_{stat})" if cond else f"count_if(st_{stat})"

        groups = [None, *conds]
        aggs = [agg(stat, cond) for cond in groups for stat in ("n", *stats)]
        # A fingerprint of each slice's members (XOR of its row numbers' hashes) tells
        # slices with the same members apart from the rest, as mark_same_members does.
        marks = [f"bit_xor(CASE WHEN s{i} THEN __slicewise_h END)" for i in range(len(slices))]
        inner = ", ".join(
            [
                *(f"{e} AS st_{k}" for k, e in row.items()),
                *(f"coalesce({c}, false) AS {k}" for k, c in conds.items()),
                "hash(row_number() OVER ()) AS __slicewise_h",
            ]
        )
        values = self._fetch(
            f"SELECT {', '.join([*aggs, *marks])} FROM (SELECT {inner} FROM "
            f"{self._rows} WHERE {self.keep})"
        )[0]
        self._fingerprints = dict(zip((s.name for s in slices), values[len(aggs) :], strict=True))
        out = np.zeros((len(groups), len(COUNT_COLUMNS)))
        cols = [COUNT_COLUMNS.index(k) for k in ("n", *stats)]
        width = len(cols)
        for g in range(len(groups)):
            chunk = values[g * width : (g + 1) * width]
            out[g, cols] = [0.0 if v is None else float(v) for v in chunk]
        return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


def _same_members(counts: pd.DataFrame, fingerprints: Mapping[str, Any]) -> list[Any]:
    """Name, per slice, the first earlier slice with the same members (else None).

    Members are compared by (count, XOR of the hashes of their row numbers), which differ for
    different sets but with a chance of about 2^-64; empty slices are never merged, as in
    :func:`core.analysis.mark_same_members`.
    """
    first: dict[tuple[int, Any], str] = {}
    out: list[Any] = []
    for name, mark in fingerprints.items():
        n = int(counts.loc[name, "n"])
        key = (n, mark)
        out.append(first.get(key) if n else None)
        if n and key not in first:
            first[key] = name
    return out


# --------------------------------------------------------------------------- quantiles


def _needed_positions(n: int, bins: int) -> np.ndarray:
    """Sorted positions :func:`nanquantile_linear` reads for ``n`` values and ``bins``."""
    seen: list[int] = []

    def record(idx: np.ndarray) -> np.ndarray:
        seen.extend(int(i) for i in np.ravel(idx))
        return np.zeros(np.shape(idx))

    nanquantile_linear(n, bins, record)
    return np.array(sorted(set(seen)), dtype=np.int64)


def nanquantile_linear(
    n: int, bins: int, order_stat: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``np.nanquantile(arr, np.linspace(0, 1, bins + 1))`` from order statistics alone.

    ``n`` is the number of non-NaN values and ``order_stat(positions)`` returns the values at
    those 0-based positions of the sorted array. The arithmetic is numpy's (``linear``
    method: virtual index ``(n - 1)·q``, ``_lerp`` switching formula at ``t >= 0.5``), so the
    edges are the same floats as :func:`core.metrics._quantile_bins` computes.
    """
    q = np.linspace(0, 1, bins + 1)
    if n == 0:
        return np.full(q.shape, np.nan)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    previous = previous.astype(np.intp)
    following = following.astype(np.intp)
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    a = np.asarray(order_stat(np.where(previous < 0, n - 1, previous)), dtype=float)
    b = np.asarray(order_stat(np.where(following < 0, n - 1, following)), dtype=float)
    with np.errstate(invalid="ignore"):  # inf - inf, as in numpy
        diff = b - a
        out = a + diff * gamma
        np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


# --------------------------------------------------------------------------- helpers


def _zero_one_text(col: _Column) -> str | None:
    """Write the loader's text of the cells whose class may be 0 or 1 (else NULL) in SQL.

    A superset (``01`` is read as 1 here, and dropped by its class key in Python); ``None``
    for a column that holds no such cell.
    """
    x = col.ident
    if col.group == "text":
        s = _strip(x)
        return (
            f"(CASE WHEN lower({s}) IN ('true', 'yes', 'false', 'no') OR "
            f"{_to_number(s, NumberFormat('.'))} IN (0, 1) THEN {s} END)"
        )
    if col.group == "int":
        return f"(CASE WHEN {x} IN (0, 1) THEN CAST({x} AS VARCHAR) END)"
    if col.group == "float":
        return f"(CASE WHEN {x} = 0 THEN '0' WHEN {x} = 1 THEN '1' END)"
    if col.group == "bool":
        return f"(CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END)"
    return None


def _shown_spellings(counts: Mapping[str, int]) -> dict[str, str]:
    """Map each class spelling to the one its class is shown under.

    ``counts`` holds the rows of each spelling (the loader's trimmed text). Spellings with
    equal :func:`core.values.class_keys` are one class, shown under the most frequent (ties:
    the first in sorted order): the rule of :func:`core.values.canonical_classes`, here on
    counts that DuckDB gathered.

    Examples
    --------
    >>> _shown_spellings({"1": 3, "1.0": 5, "01": 9, "yes": 5})
    {'1': '1.0', '1.0': '1.0', '01': '01', 'yes': '1.0'}
    """
    spellings = list(counts)
    keys = class_keys(pd.Series(spellings, dtype=object)).tolist()
    best: dict[str, str] = {}
    for spelling, key in zip(spellings, keys, strict=True):
        held = best.get(key)
        if held is None or (-counts[spelling], spelling) < (-counts[held], held):
            best[key] = spelling
    return {s: best[k] for s, k in zip(spellings, keys, strict=True)}


def _possibly_boolean(col: pd.Series) -> bool:
    """Whether the whole column could be boolean-like given this sample of it."""
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        uniques = pd.unique(col.dropna())
    except TypeError:
        return False
    if len(uniques) > 6:
        return False
    tokens = {str(v).strip().lower() for v in uniques}
    tokens = {t[:-2] if t in ("1.0", "0.0") else t for t in tokens}
    truthy, falsy = tokens & TRUE_TOKENS, tokens & FALSE_TOKENS - {""}
    return tokens <= (TRUE_TOKENS | FALSE_TOKENS) and len(truthy) <= 1 and len(falsy) <= 1


def _container(head: bytes, name: str) -> str | None:
    """Return ``"gzip"`` or ``None``; refuse the other containers the pandas loader opens.

    Raises
    ------
    FileFormatError
        For a bzip2 file, a zip archive or an Excel workbook, naming the file and the way on.
    """
    kind = container_kind(head[:16])
    if kind in (None, "gzip"):
        return kind
    what = {"bzip2": "bzip2-compressed", "zip": "a zip archive (or an Excel .xlsx workbook)"}
    raise FileFormatError(
        f"{name}: is {what[kind]}; the duckdb engine reads CSV and TSV files "
        "(also gzip-compressed) and Parquet files: use the pandas engine "
        "(--engine pandas), or save the table as CSV or Parquet"
    )


def _gzip_head(fh: Any, name: str, size: int = 1 << 20) -> bytes:
    """Return the first ``size`` bytes of the text in the gzip file ``fh`` (all if shorter)."""
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = b""
    try:
        while len(out) < size:
            chunk = d.unconsumed_tail or fh.read(1 << 16)
            if d.eof:  # the next member of a multi-member file (``cat a.gz b.gz``)
                chunk = d.unused_data + chunk
                if not chunk.startswith(b"\x1f\x8b"):
                    break
                d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            if not chunk:
                break  # truncated: DuckDB reports it when it reads the file
            out += d.decompress(chunk, size - len(out))
    except zlib.error as exc:
        raise FileFormatError(
            f"{name}: is gzip-compressed but cannot be decompressed ({exc}); "
            "the file may be truncated or damaged"
        ) from None
    return out


def _nested_type(duck: str) -> bool:
    """Whether a DuckDB type holds several values: a list or array, struct, map or union."""
    return duck.endswith("]") or duck.startswith(("STRUCT", "MAP", "UNION"))


def _inner_name(name: str, gzip: bool) -> str:
    """``preds.tsv`` for ``preds.tsv.gz``: the name that tells the compressed file's format."""
    if gzip and name.lower().endswith((".gz", ".gzip")):
        return name[: name.rfind(".")]
    return name


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return "; ".join(lines[:3])[:400] or type(exc).__name__


def analyze_file_duckdb(
    path: str | Path,
    mapping: ColumnMapping | None = None,
    *,
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    memory_limit: str | None = None,
    sep: str | None = None,
    missing: str = "fail",
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    baseline: Baseline | None = None,
    max_slices: int | None = None,
) -> pd.DataFrame:
    """Return the error-analysis table of a CSV, TSV or Parquet file, counted by DuckDB.

    The table equals ``core.analysis.analyze(load_dataset(path, mapping, sep=sep,
    missing=missing, na_values=na_values, decimal=decimal, thousands=thousands), task=task,
    slice_by=slice_by, ...)``, but the file is streamed: memory stays within
    ``memory_limit`` (DuckDB spills to a temporary folder beyond it).

    Raises
    ------
    DataError
        The loader's problems (missing labels, repeated ids, bad tag values...), a text task
        (:data:`TEXT_TASK_MESSAGE`) and inputs the SQL path cannot read as the loader does.
    """
    if task is not None and task.kind == "text":
        raise DataError(TEXT_TASK_MESSAGE)
    with DuckDBFile(
        path,
        mapping,
        sep=sep,
        missing=missing,
        na_values=na_values,
        decimal=decimal,
        thousands=thousands,
        memory_limit=memory_limit,
    ) as f:
        return f.analyze(
            task=task,
            slice_by=slice_by,
            bins=bins,
            hlp=hlp,
            importance=importance,
            ease=ease,
            baseline=baseline,
            max_slices=max_slices,
        )
