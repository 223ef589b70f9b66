"""The error-analysis table of a file larger than memory: per-slice counts from DuckDB.

Every metric of the table derives from per-slice counts (:data:`core.metrics.COUNT_COLUMNS`),
so the counts can come from an engine instead of pandas. This module computes them with SQL
over a CSV, TSV or Parquet file that DuckDB streams, then hands them to
:func:`core.metrics.compute_slice_metrics` and :func:`core.analysis.finish_table`: the table
is the one :func:`core.analysis.analyze` returns for ``load_dataset(path)`` (same rows,
order, columns, dtypes and values; sums of floating-point errors agree to rounding).

How the pandas loader's rules are followed:

- Roles and tag columns: detected from the first 10,000 rows (read by pandas or pyarrow as
  the loader reads them) with :func:`core.dataset.resolve_mapping`; whether a column holds
  only boolean-like values (a tag) is then decided on the distinct values of the whole file,
  with the loader's own test.
- Column types: Parquet types are the file's; for CSV, DuckDB's inferred types are checked
  against pandas' on the sample (``007`` is a number to pandas, text to DuckDB; ``0x1`` the
  other way) and forced to pandas' where they differ, and True/False columns are recognised
  with pandas' spellings on the whole file.
- Label, prediction and human label follow :func:`core.dataset._canonical_values`: when one
  is numeric and the others numeric or boolean they compare as numbers; otherwise as
  strings stripped of surrounding whitespace, with whole floats written without ``.0``
  (``1.0`` is ``"1"``), booleans as ``true``/``false``, a blank string missing and, beside a
  numeric column, ``"1.0"`` read as ``"1"``.
- Validation over the whole file: missing labels or predictions (counted in SQL, the same
  message as the loader's, or dropped with ``missing="drop"``), blank or repeated ids, score
  values that are not numbers, tag values that are not true/false, 1/0, yes/no or x/blank.
- Numeric ``slice_by`` columns: the loader's quantile bins, edges computed by numpy's linear
  rule from order statistics that DuckDB selects (``quantile_disc``), so they are the same
  floats; other columns: one slice per distinct value.

Not supported (a :class:`~core.errors.DataError` says so): text tasks (normalisation and
word error rate need Python), predictions from a score threshold, regression on columns
that are not numbers, and column types the loader would read differently (dates, decimals,
lists, pandas categoricals or nullable integers stored in a Parquet file).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.analysis import finish_table
from core.dataset import (
    _MAGIC,
    FALSE_TOKENS,
    NA_VALUES,
    TRUE_TOKENS,
    ColumnMapping,
    _check_header_is_names,
    _check_names,
    _class_strings,
    _is_boolean_like,
    _metadata_names,
    _normalize_sep,
    _sniff_delimiter,
    check_file_path,
    find_role_candidates,
    resolve_mapping,
)
from core.errors import (
    DataError,
    DuplicateIdError,
    EmptyFileError,
    EncodingError,
    FileFormatError,
    InvalidValueError,
    MissingValuesError,
)
from core.formats import container_kind
from core.metrics import COUNT_COLUMNS, _fmt_edge, compute_slice_metrics
from core.slice_names import (
    OVERALL,
    SLICEABLE_ROLES,
    UNTAGGED,
    slice_by_choices,
    slice_info,
    tag_slice_names,
    unique_name,
)
from core.task import TaskSpec, infer_task_kind

SAMPLE_ROWS = 10_000
TEXT_TASK_MESSAGE = ("--engine duckdb supports classification, binary and regression tasks; "
                     "use the pandas engine for text")
#: Characters ``str.strip`` removes (Python's ``str.isspace``), as an RE2 class.
_WS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
       "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WSC = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _WS) + "]"
#: Cells pandas' CSV reader turns into booleans.
_PANDAS_TRUE = ("True", "TRUE", "true")
_PANDAS_FALSE = ("False", "FALSE", "false")
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
              "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
#: A tag column holds at most a few spellings; more distinct values than this cannot be one.
_MAX_TAG_VALUES = 1000
#: Numeric slice-by columns with fewer distinct values than this are read as a histogram.
_MAX_HISTOGRAM = 1000
#: Text label columns with at most this many distinct values are canonicalised in Python.
_MAX_CLASSES = 10_000


# --------------------------------------------------------------------------- SQL helpers


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _dbl(x: float) -> str:
    """Write ``x`` as an exact DOUBLE literal (``repr`` round-trips; DuckDB rounds correctly)."""
    return f"CAST({_lit(repr(float(x)))} AS DOUBLE)"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _strip(expr: str) -> str:
    """``str.strip()``: surrounding Unicode whitespace removed (the regex only where needed)."""
    return (f"(CASE WHEN regexp_matches({expr}, '^{_WSC}|{_WSC}$') "
            f"THEN regexp_replace({expr}, '^{_WSC}+|{_WSC}+$', '', 'g') ELSE {expr} END)")


def _whole_float_text(expr: str) -> str:
    """``"12.0"`` -> ``"12"`` (the loader's rule for non-whole float columns)."""
    return f"regexp_replace({expr}, '^([+-]?[0-9]+)\\.0$', '\\1')"


def _numeric_peer_text(expr: str) -> str:
    """``"12.00"`` -> ``"12"`` (the loader's rule for strings beside a numeric column)."""
    return f"regexp_replace({expr}, '^([+-]?[0-9]+)\\.0*$', '\\1')"


def _format_rows(first: Sequence[int], total: int, limit: int = 5) -> str:
    """:func:`core.errors.format_rows` from the first positions and the total count."""
    shown = [str(int(r) + 2) for r in list(first)[:limit]]
    more = total - len(shown)
    text = f"{'row' if total == 1 else 'rows'} {', '.join(shown)}"
    return text + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- columns


class _Resniff(Exception):
    """DuckDB guessed a CSV column's type from a sample and a later row contradicts it."""


@dataclass
class _Column:
    """A file column as DuckDB sees it, and the dtype the pandas loader would give it."""

    name: str  # as the loader names it (stripped)
    ident: str  # quoted DuckDB identifier
    duck: str  # DuckDB type
    unsupported: str | None = None  # why the loader would read it differently
    kind: str = ""  # pandas dtype: int, float, bool, boolobj, str, other (after profiling)
    nulls: int = 0
    nonnull: int = 0
    histogram: dict[str, int] | None = None  # value -> rows, for low-cardinality text

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
        """SQL for the value pandas holds: NaN is missing; pandas-boolean text is a BOOLEAN."""
        g = self.group
        if g == "float":
            return f"(CASE WHEN isnan({self.ident}) THEN NULL ELSE {self.ident} END)"
        if g == "text" and self.kind in ("bool", "boolobj"):
            return (f"(CASE WHEN {self.ident} IN {_in(_PANDAS_TRUE)} THEN true "
                    f"WHEN {self.ident} IN {_in(_PANDAS_FALSE)} THEN false END)")
        if g == "text" and self.kind == "float":  # a CSV column with no value: all NaN
            return "CAST(NULL AS DOUBLE)"
        return self.ident

    @property
    def missing(self) -> str:
        """SQL true where :func:`core.dataset._missing_mask` is: missing, or blank text."""
        x = self.ident
        if self.group != "text":
            return f"({self.value} IS NULL)"
        if self.histogram is not None:
            blanks = [v for v in self.histogram if not v.strip()]
            return f"({x} IS NULL OR {x} IN {_in(blanks)})" if blanks else f"({x} IS NULL)"
        # The anchored test fails at the first character of almost every value.
        return (f"({x} IS NULL OR {x} = '' OR (regexp_matches({x}, '^{_WSC}') AND "
                f"regexp_full_match({x}, '{_WSC}+')))")

    def python(self, v: Any) -> Any:
        """Convert a DuckDB value to what the loader's frame holds (ints with gaps are floats)."""
        if v is None:
            return None
        if self.kind == "float":
            return float(v)
        if self.kind == "int":
            return int(v)
        if self.kind in ("bool", "boolobj"):
            return v in _PANDAS_TRUE if isinstance(v, str) else bool(v)
        return v


@dataclass
class _Role:
    """Canonical SQL of label, prediction or human label (see ``_canonical_values``)."""

    expr: str  # the canonical value
    ctype: str  # int, float or str
    text: str  # as ``Series.astype(str)`` writes it (binary tasks)


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
    memory_limit
        DuckDB's memory limit (e.g. ``"1GB"``); beyond it DuckDB spills to a temporary folder.

    Raises
    ------
    DataError
        The problems the pandas loader reports, with the same kind of message.
    """

    def __init__(self, path: str | Path, mapping: ColumnMapping | None = None, *,
                 sep: str | None = None, missing: str = "fail",
                 memory_limit: str | None = None) -> None:
        import duckdb

        self._duckdb = duckdb
        self.path = Path(path)
        self.source_name = self.path.name or str(self.path)
        self.warnings: list[str] = []
        if missing not in ("fail", "drop"):
            raise InvalidValueError(f"{self.source_name}: missing must be 'fail' or 'drop', "
                                    f"not {missing!r}")
        self._missing_policy = missing
        self._inputs = (mapping, sep)
        self._sniff_all = False  # CSV types from DuckDB's sample; the whole file on a retry
        self._tmp = tempfile.mkdtemp(prefix="slicewise-duckdb-")
        self._con = duckdb.connect(config={"temp_directory": self._tmp})
        try:
            if memory_limit:
                self._con.execute(f"SET memory_limit = {_lit(memory_limit)}")
            try:
                self._open(*self._inputs)
            except _Resniff:
                self._reopen()
        except BaseException:
            self.close()
            raise

    def _reopen(self) -> None:
        """Open again, CSV types inferred from the whole file (a row contradicted the sample)."""
        self._sniff_all = True
        self.warnings = []
        self._open(*self._inputs)

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
            raise DataError(f"{self.source_name}: DuckDB ran out of memory "
                            f"({_first_line(exc)}); give it a larger memory limit") from None
        except (duckdb.ConversionException, duckdb.InvalidInputException,
                duckdb.IOException) as exc:
            if isinstance(exc, duckdb.ConversionException) and not (
                    self.parquet or self._sniff_all):
                raise _Resniff from None
            raise FileFormatError(
                f"{self.source_name}: DuckDB cannot read the file ({_first_line(exc)}); fix "
                "the file, or use the pandas engine (--engine pandas)") from None

    def _aggregate(self, exprs: Mapping[str, str], where: str = "true") -> dict[str, Any]:
        """Run one scan computing every aggregate in ``exprs``; return them by name."""
        if not exprs:
            return {}
        names = list(exprs)
        select = ", ".join(f"{exprs[k]} AS a{i}" for i, k in enumerate(names))
        row = self._fetch(f"SELECT {select} FROM src WHERE {where}")[0]
        return dict(zip(names, row, strict=True))

    def _first_positions(self, cond: str, limit: int = 5) -> list[int]:
        """0-based file positions of the first rows where ``cond`` holds (error messages)."""
        rows = self._fetch(
            f"SELECT __slicewise_rn FROM (SELECT row_number() OVER () - 1 AS __slicewise_rn, * "
            f"FROM src) WHERE {cond} ORDER BY __slicewise_rn LIMIT {limit}")
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
            raise DataError(f"{name}: cannot be opened ({exc.strerror or exc}); check the path "
                            "and the file's permissions") from None
        if not re.search(rb"\S", head):
            raise EmptyFileError(f"{name}: the file is empty; it needs a header row (e.g. "
                                 "id,label,prediction) and one row per example")
        self.parquet = head[:4] == b"PAR1"
        if self.parquet and self.gzip:
            raise FileFormatError(f"{name}: is a gzip-compressed Parquet file, which the duckdb "
                                  "engine does not read; decompress it, or use the pandas "
                                  "engine (--engine pandas)")
        if self.parquet:
            sample = self._open_parquet()
        else:
            if _inner_name(name, self.gzip).lower().endswith((".parquet", ".pq")):
                raise FileFormatError(f"{name}: is named like a Parquet file but is not one (no "
                                      "Parquet signature); save it again as Parquet, or rename "
                                      "it to .csv if it is text")
            sample = self._open_csv(head, sep)

        detect_tags = mapping is None or (mapping.tag_columns is None
                                          and mapping.tags_column is None)
        m = resolve_mapping(sample, mapping, file=name)
        roles = {m.label, m.prediction, m.id, m.human, m.score, m.tags_column}
        possible: list[str] = []
        if detect_tags and m.tags_column is None:
            # Detected on the sample; decided below on the whole file's distinct values.
            m = replace(m, tag_columns=())
            cands = find_role_candidates(sample)
            named_like_role = {c for role, cs in cands.items() if role != "tags_column"
                               for c in cs}
            possible = [c for c in sample.columns if c not in roles
                        and c not in named_like_role and _possibly_boolean(sample[c])]
        self.mapping = m
        self._profile(possible)

    def _open_parquet(self) -> pd.DataFrame:
        import pyarrow.parquet as pq

        name = self.source_name
        try:
            pf = pq.ParquetFile(self.path)
            meta = pf.schema_arrow.pandas_metadata or {}
        except Exception:  # pyarrow raises many types for corrupt files
            raise FileFormatError(f"{name}: is not a readable Parquet file (truncated or "
                                  "damaged?); save it again as Parquet or CSV") from None
        self._con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet({_lit(self.path)})")
        described = self._fetch("DESCRIBE SELECT * FROM raw")
        # pandas: an unnamed saved index is dropped, a named one becomes the first column.
        index_cols = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        dropped = {c for c in index_cols if re.fullmatch(r"__index_level_\d+__", c)}
        front = [c for c in index_cols if c not in dropped]
        order = [r for r in described if r[0] in front] + [
            r for r in described if r[0] not in front and r[0] not in dropped]
        names = [str(r[0]).strip() for r in order]
        _check_names(names, name)
        special = {}
        for col in meta.get("columns", []):
            ptype, ntype = col.get("pandas_type"), str(col.get("numpy_type"))
            if ptype == "categorical":
                special[col.get("name")] = "a pandas categorical"
            elif ntype in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
                           "UInt64", "Float32", "Float64", "boolean"):
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
            raise EmptyFileError(f"{name}: the Parquet file has no rows; add one row per "
                                 "example") from None
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
            raise EncodingError(f"{name}: is not UTF-8 text (UTF-16 or binary data); the "
                                "duckdb engine reads UTF-8: save the file as UTF-8, or use the "
                                "pandas engine (--engine pandas)")
        cut = head.rfind(b"\n") if len(head) == 1 << 20 else len(head)
        try:
            text = head[: cut if cut > 0 else len(head)].decode("utf-8")
        except UnicodeDecodeError:
            raise EncodingError(f"{name}: is not UTF-8; the duckdb engine reads UTF-8 files: "
                                "save it as UTF-8, or use the pandas engine (--engine pandas), "
                                "which detects the encoding") from None
        first_line = re.match(r"[^\r\n]*", text).group()
        if not first_line.strip():
            raise EmptyFileError(f"{name}: the first line is blank; it must hold the column "
                                 "names (delete the blank lines above the header)")
        sep = _normalize_sep(sep, name)
        if sep is None:
            tsv = _inner_name(name, self.gzip).lower().endswith((".tsv", ".tab"))
            sep = "\t" if tsv else _sniff_delimiter(first_line)
        header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep), [])]
        _check_header_is_names(header, name)
        _check_names(header, name)
        try:
            sample = pd.read_csv(
                io.StringIO(text), sep=sep, nrows=SAMPLE_ROWS, skipinitialspace=False,
                low_memory=False, keep_default_na=False, na_values=list(NA_VALUES),
                skip_blank_lines=True)
        except Exception as exc:  # pandas raises many types
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
            raise FileFormatError(f"{name}: cannot be read as a CSV, TSV or Parquet table "
                                  f"({reason}); check that it is a text table with one header "
                                  "row, or save it again as CSV (UTF-8)") from None
        sample.columns = [str(c).strip() for c in sample.columns]
        if sample.empty:
            raise EmptyFileError(f"{name}: has a header but no data rows; add one row per "
                                 "example")

        def reader(types: Mapping[str, str]) -> str:
            opts = [f"delim = {_lit(sep)}", "header = true", "quote = '\"'", "escape = '\"'",
                    f"nullstr = [{', '.join(_lit(v) for v in NA_VALUES)}]",
                    "auto_type_candidates = ['BIGINT', 'DOUBLE', 'VARCHAR']"]
            if self.gzip:
                opts.append("compression = 'gzip'")
            if self._sniff_all:
                opts.append("sample_size = -1")
            if types:
                opts.append("types = {" + ", ".join(f"{_lit(k)}: {_lit(v)}"
                                                     for k, v in types.items()) + "}")
            return f"read_csv({_lit(self.path)}, {', '.join(opts)})"

        self._con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader({})}")
        described = self._fetch("DESCRIBE SELECT * FROM raw")
        if len(described) != len(header):
            raise FileFormatError(f"{name}: DuckDB reads {len(described)} columns where the "
                                  f"header has {len(header)}; check the delimiter, or use the "
                                  "pandas engine (--engine pandas)")
        # Where DuckDB's type family differs from pandas' on the sample, take pandas'.
        types = {}
        unsupported = {}
        for (raw, duck, *_), stripped in zip(described, header, strict=True):
            s = sample[stripped]
            group = _Column(stripped, "", str(duck)).group
            if pd.api.types.is_bool_dtype(s) or (s.dtype == object and s.dropna().map(
                    lambda v: isinstance(v, bool)).all()):
                continue  # True/False text: recognised on the whole file by the profile
            if s.dtype == object:
                unsupported[stripped] = "values pandas reads as Python objects"
            elif pd.api.types.is_numeric_dtype(s) and s.notna().any() and group == "text":
                target = "BIGINT" if pd.api.types.is_integer_dtype(s) else "DOUBLE"
                if self._sniff_all:  # DuckDB saw the whole file: force only what casts
                    bad = self._fetch(f"SELECT count_if({_ident(raw)} IS NOT NULL AND TRY_CAST("
                                      f"{_ident(raw)} AS {target}) IS NULL) FROM raw")[0][0]
                    if bad:
                        continue
                types[raw] = target
            elif pd.api.types.is_string_dtype(s) and group in ("int", "float"):
                types[raw] = "VARCHAR"
        if types:
            self._con.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM {reader(types)}")
            described = self._fetch("DESCRIBE SELECT * FROM raw")
        select = ", ".join(f"{_ident(r[0])} AS {_ident(h)}"
                           for r, h in zip(described, header, strict=True))
        self._con.execute(f"CREATE OR REPLACE VIEW src AS SELECT {select} FROM raw")
        self.columns = {}
        for (_, duck, *_), stripped in zip(described, header, strict=True):
            col = _Column(stripped, _ident(stripped), str(duck))
            col.unsupported = unsupported.get(stripped)
            self.columns[stripped] = col
        return sample

    # ----------------------------------------------------------------- validation

    def _profile(self, possible_tags: Sequence[str]) -> None:
        """Check the whole file as the loader does, in its order, in three scans.

        1. Types, gaps and distinct-value estimates; 2. distinct values of tag columns and
        of text label columns with few classes; 3. facts about the kept rows (whole
        numbers, gaps in the human label, ids).
        """
        m = self.mapping
        name = self.source_name
        cols = self.columns
        possible_tags = [c for c in possible_tags
                         if cols[c].group != "other" and not cols[c].unsupported]
        self._possible_tags = possible_tags
        used = [c for c in (m.label, m.prediction, m.human, m.id, m.score, m.tags_column,
                            *(m.tag_columns or ()), *possible_tags) if c is not None]
        for c in dict.fromkeys(used):
            col = cols[c]
            if c != m.id and (col.group == "other" or col.unsupported):
                why = col.unsupported or f"values of DuckDB type {col.duck}"
                raise InvalidValueError(
                    f"{name}: column {c!r} holds {why}, which the duckdb engine does not read "
                    "as the pandas loader does; use the pandas engine (--engine pandas)")

        aggs: dict[str, str] = {"rows": "count(*)"}
        for c in dict.fromkeys(used):
            col = cols[c]
            aggs[f"nonnull:{c}"] = f"count({col.value})"
            if col.group == "text" and not self.parquet:
                aggs[f"notbool:{c}"] = (f"count_if({col.ident} IS NOT NULL AND {col.ident} "
                                        f"NOT IN {_in(_PANDAS_TRUE + _PANDAS_FALSE)})")
        text_roles = [c for c in dict.fromkeys((m.label, m.prediction, m.human))
                      if c is not None and cols[c].group == "text"]
        for c in text_roles:
            aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].ident})"
        if m.tags_column is not None:
            aggs["pipe"] = f"bool_or(contains({cols[m.tags_column].ident}, '|'))"
        for c in (*(m.tag_columns or ()), *possible_tags):
            if cols[c].group != "bool":
                aggs[f"approx:{c}"] = f"approx_count_distinct({cols[c].ident})"
        if m.score is not None and cols[m.score].group == "text":
            s = _strip(cols[m.score].ident)
            aggs["badscore"] = (f"count_if({s} <> '' AND TRY_CAST({s} AS DOUBLE) IS NULL)")
        stats = self._aggregate(aggs)
        self.n_rows = int(stats["rows"])
        if self.n_rows == 0:
            raise EmptyFileError(
                f"{name}: the Parquet file has no rows; add one row per example" if self.parquet
                else f"{name}: has a header but no data rows; add one row per example")
        for c in dict.fromkeys(used):
            col = cols[c]
            col.nonnull = int(stats[f"nonnull:{c}"])
            col.nulls = self.n_rows - col.nonnull
            col.kind = self._pandas_kind(col, stats.get(f"notbool:{c}"))
        self._tag_stats = stats

        # Second scan: distinct values of tag columns and of text label columns with few
        # classes (canonicalised in Python by the loader's own function), missing counts.
        tags = [c for c in (*(m.tag_columns or ()), *possible_tags)
                if cols[c].group == "bool" or stats[f"approx:{c}"] <= (
                    _MAX_TAG_VALUES if c in (m.tag_columns or ()) else 100)]
        distinct = {f"tag:{c}": f"array_agg(DISTINCT {cols[c].raw}) FILTER (WHERE "
                                f"{cols[c].raw} IS NOT NULL)" for c in tags}
        for c in text_roles:
            if stats[f"approx:{c}"] <= _MAX_CLASSES:
                distinct[f"hist:{c}"] = f"histogram({cols[c].ident})"
        for role in ("label", "prediction"):
            c = getattr(m, role)
            if cols[c].group == "text" and f"hist:{c}" not in distinct:
                distinct[f"missing:{role}"] = f"count_if({cols[c].missing})"
        got = self._aggregate(distinct)
        self._tag_values = {c: list(got[f"tag:{c}"] or []) for c in tags}
        for c in text_roles:
            if f"hist:{c}" in got:
                cols[c].histogram = {str(k): int(v) for k, v in (got[f"hist:{c}"] or {}).items()}
        for role in ("label", "prediction"):
            col = cols[getattr(m, role)]
            if col.histogram is not None:
                stats[f"missing:{role}"] = col.nulls + sum(
                    k for v, k in col.histogram.items() if not v.strip())
            elif col.group == "text":
                stats[f"missing:{role}"] = got[f"missing:{role}"]
            else:
                stats[f"missing:{role}"] = col.nulls

        # Score column (parsed before anything is dropped).
        if m.score is not None:
            sc = cols[m.score]
            if sc.kind in ("bool", "boolobj"):
                raise InvalidValueError(
                    f"{name}: the score column {m.score!r} holds true/false values; scores "
                    "must be numbers (choose another score column)")
            if stats.get("badscore"):
                s = _strip(sc.ident)
                cond = f"({s} <> '' AND TRY_CAST({s} AS DOUBLE) IS NULL)"
                bad = int(stats["badscore"])
                examples = self._examples(sc, cond)
                rows = _format_rows(self._first_positions(cond), bad)
                raise InvalidValueError(
                    f"{name}: the score column {m.score!r} holds {examples} in {rows}; scores "
                    "must be numbers: fix those cells or choose another score column")

        self._resolve_tags()  # tag values are checked before labels, as by the loader

        # Missing labels or predictions.
        problems, conds = [], []
        for role in ("label", "prediction"):
            col = cols[getattr(m, role)]
            k = int(stats[f"missing:{role}"])
            what = f"the {role} column {col.name!r}"
            if k == self.n_rows:
                raise MissingValuesError(
                    f"{name}: {what} is empty in every row; check that the right column is "
                    f"chosen (CLI: --{role} COLUMN)")
            if k:
                rows = _format_rows(self._first_positions(col.missing), k)
                problems.append(f"{what} is missing in {k} of {self.n_rows} rows ({rows})")
                conds.append(col.missing)
        self.keep = "true"
        self.n_kept = self.n_rows
        if problems and self._missing_policy == "fail":
            raise MissingValuesError(
                f"{name}: {' and '.join(problems)}; fill them in, or load with missing='drop' "
                "(CLI: --drop-missing) to leave those rows out")
        if problems:
            dropped = " OR ".join(conds)
            self.keep = f"NOT ({dropped})"
            n_drop = int(self._aggregate({"n": f"count_if({dropped})"})["n"])
            self.n_kept = self.n_rows - n_drop
            if self.n_kept == 0:
                raise MissingValuesError(
                    f"{name}: every row misses a label or a prediction "
                    f"({' and '.join(problems)}); nothing is left to analyse: check the column "
                    "choice")
            rows = _format_rows(self._first_positions(dropped), n_drop)
            self.warnings.append(f"{name}: left out {n_drop} of {self.n_rows} rows with a "
                                 f"missing label or prediction ({rows})")

        # Facts about the kept rows: gaps and whole numbers (see _canonical_values), ids.
        kept: dict[str, str] = {}
        for role in ("label", "prediction", "human"):
            c = getattr(m, role)
            if c is None:
                continue
            v = cols[c].value
            kept[f"na:{role}"] = f"count_if({v} IS NULL)"
            if cols[c].kind == "float":
                kept[f"whole:{role}"] = (f"coalesce(bool_and(isfinite({v}) AND {v} = trunc({v})) "
                                         f"FILTER (WHERE {v} IS NOT NULL), true)")
        if m.id is not None:
            idc = cols[m.id]
            kept["id_blank"] = f"count_if({idc.missing})"
            kept["id_distinct"] = f"count(DISTINCT {idc.value})"
            kept["id_count"] = f"count({idc.value})"
        self._kept_stats = self._aggregate(kept, self.keep)
        if m.id is not None:
            ks = self._kept_stats
            idc = cols[m.id]
            if ks["id_blank"]:
                rows = _format_rows(self._first_positions(f"{self.keep} AND {idc.missing}"),
                                    int(ks["id_blank"]))
                raise MissingValuesError(
                    f"{name}: the id column {m.id!r} is blank in {rows}; give every row an id, "
                    "or choose no id column to number the rows")
            if ks["id_distinct"] != ks["id_count"]:
                dup = (f"{idc.value} IN (SELECT {idc.value} FROM src WHERE {self.keep} "
                       f"GROUP BY ALL HAVING count(*) > 1)")
                n_dup = int(self._aggregate({"n": f"count_if({dup})"}, self.keep)["n"])
                examples = self._examples(idc, f"{self.keep} AND {dup}")
                rows = _format_rows(self._first_positions(f"{self.keep} AND {dup}"), n_dup)
                raise DuplicateIdError(
                    f"{name}: the id column {m.id!r} repeats {examples} ({n_dup} rows share an "
                    f"id: {rows}); ids must be unique: fix them, or choose no id column to "
                    "number the rows")
        self.roles = self._canonical_roles()

    @staticmethod
    def _pandas_kind(col: _Column, notbool: int | None) -> str:
        g = col.group
        if col.unsupported or g == "other":
            return "other"
        if g == "int":
            return "int" if col.nulls == 0 else "float"  # pandas: integers with gaps are floats
        if g == "float":
            return "float"
        if g == "bool":
            return "bool" if col.nulls == 0 else "boolobj"
        if notbool is not None:  # CSV text
            if col.nonnull == 0:
                return "float"  # pandas reads a column with no value as all-NaN floats
            if notbool == 0:
                return "bool" if col.nulls == 0 else "boolobj"
        return "str"

    def _examples(self, col: _Column, cond: str, limit: int = 3) -> str:
        rows = self._fetch(f"SELECT DISTINCT {col.ident} FROM (SELECT * FROM src WHERE {cond} "
                           f"LIMIT 1000) LIMIT {limit}")
        return ", ".join(repr(str(r[0])) for r in rows)

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
                    "tag columns yourself)")
        candidates = [c for c in possible if c in self._tag_values]
        delim = None
        if m.tags_column is not None:
            tc = cols[m.tags_column]
            if tc.kind != "str":
                raise InvalidValueError(f"{name}: the tags column {m.tags_column!r} does not "
                                        "hold text; the duckdb engine splits text tags only")
            delim = m.tag_delimiter or ("|" if stats.get("pipe") else ";")
            norm = self._tag_list(tc.ident, delim)
            names = self._fetch(f"SELECT DISTINCT t FROM (SELECT unnest(string_split({norm}, "
                                f"{_lit(delim)})) AS t FROM src) WHERE t <> ''")
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
        if m.tags_column is not None:
            norm = self._tag_list(cols[m.tags_column].ident, delim)
            for t in split_tags:
                conds[t] = (f"coalesce(list_contains(string_split({norm}, {_lit(delim)}), "
                            f"{_lit(t)}), false)")
        for c in tag_columns:
            col = cols[c]
            cond = self._tag_condition(col, values.get(c, []))
            conds[c] = f"({conds[c]} OR {cond})" if c in conds else cond
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
        tokens = {v: str(col.python(v) if col.kind == "float" else v).strip().lower()
                  for v in values}
        bad = [v for v, t in tokens.items() if t not in TRUE_TOKENS | FALSE_TOKENS]
        if bad:
            cond = f"{col.ident} IN ({', '.join(self._sql_value(col, v) for v in bad)})"
            n_bad = int(self._aggregate({"n": f"count_if({cond})"})["n"])
            examples = ", ".join(repr(str(v)) for v in sorted(map(str, bad))[:3])
            rows = _format_rows(self._first_positions(cond), n_bad)
            raise InvalidValueError(
                f"{self.source_name}: tag column {col.name!r} holds {examples} in {rows}; tag "
                "columns take true/false, 1/0, yes/no or x/blank (fix those cells, or choose the "
                "tag columns yourself)")
        truthy = [v for v, t in tokens.items() if t in TRUE_TOKENS]
        if not truthy:
            return "false"
        return (f"coalesce({col.ident} IN ({', '.join(self._sql_value(col, v) for v in truthy)})"
                ", false)")

    @staticmethod
    def _sql_value(col: _Column, v: Any) -> str:
        if col.group == "float" or isinstance(v, float):
            return _dbl(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return _lit(v)

    # ----------------------------------------------------------------- canonical values

    def _canonical_roles(self) -> dict[str, _Role]:
        """Write :func:`core.dataset._canonical_values` as SQL for label, prediction, human."""
        m = self.mapping
        ks = self._kept_stats
        present = {r: self.columns[getattr(m, r)] for r in ("label", "prediction", "human")
                   if getattr(m, r) is not None}
        numeric = {r: c.kind in ("int", "float") for r, c in present.items()}
        boolean = {r: c.kind == "bool" for r, c in present.items()}
        for r, c in present.items():
            if c.kind == "other":
                raise InvalidValueError(
                    f"{self.source_name}: the {r} column {c.name!r} holds values the duckdb "
                    "engine cannot compare as the pandas loader does; use the pandas engine")
        out = {}
        if any(numeric.values()) and all(numeric[r] or boolean[r] for r in present):
            self.numeric_roles = True
            for r, c in present.items():
                v = c.value
                has_na = bool(ks[f"na:{r}"])
                if c.kind == "bool":
                    expr, ctype = f"CAST({v} AS BIGINT)", "int"
                elif c.kind == "int":
                    expr, ctype = v, "int"
                elif not has_na and ks.get(f"whole:{r}", True):
                    expr, ctype = f"CAST({v} AS BIGINT)", "int"
                else:
                    expr, ctype = f"CAST({v} AS DOUBLE)", "float"
                out[r] = _Role(expr, ctype, f"CAST({expr} AS VARCHAR)")
            return out
        self.numeric_roles = False
        peer = any(numeric.values())
        for r, c in present.items():
            v = c.value
            if c.kind == "bool":
                expr = f"(CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END)"
            elif c.kind == "float" and ks.get(f"whole:{r}", True):
                expr = f"CAST(CAST({v} AS BIGINT) AS VARCHAR)"
            elif c.kind == "float":
                expr = _whole_float_text(f"CAST({v} AS VARCHAR)")
            elif c.kind == "str" and c.histogram is not None and len(
                    changed := self._changed_classes(c, peer)) <= _MAX_HISTOGRAM:
                # The loader's own function on the distinct values; SQL maps the changed ones.
                whens = " ".join(f"WHEN {_lit(raw)} THEN {'NULL' if new is None else _lit(new)}"
                                 for raw, new in changed.items())
                expr = f"(CASE {v} {whens} ELSE {v} END)" if changed else v
            else:
                if c.kind == "boolobj":
                    s = f"(CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END)"
                elif c.kind == "int":
                    s = f"CAST({v} AS VARCHAR)"
                else:
                    s = _strip(v)
                if peer:
                    s = _numeric_peer_text(s)
                expr = f"NULLIF({s}, '')"
            out[r] = _Role(expr, "str", expr)
        return out

    @staticmethod
    def _changed_classes(col: _Column, peer: bool) -> dict[str, str | None]:
        """Distinct values that :func:`core.dataset._class_strings` changes, and into what."""
        raw = list(col.histogram or {})
        new = _class_strings(pd.Series(raw, dtype="str"), numeric_peer=peer).tolist()
        return {r: n for r, n in zip(raw, new, strict=True) if n != r}

    def infer_task_kind(self) -> str:
        """:func:`core.task.infer_task_kind` on the canonical labels of the whole file."""
        y = self.roles["label"]
        if y.ctype == "int":
            return "classification"
        if y.ctype == "float":
            stats = self._aggregate({
                "n": f"count(DISTINCT {y.expr})",
                "whole": f"coalesce(bool_and({y.expr} = trunc({y.expr})) "
                         f"FILTER (WHERE isfinite({y.expr})), true)"}, self.keep)
            return "regression" if stats["n"] > 20 and not stats["whole"] else "classification"
        rows = self._fetch(f"SELECT {y.expr} FROM src WHERE {self.keep} AND {y.expr} IS NOT NULL"
                           " LIMIT 2000")
        return infer_task_kind(pd.Series([r[0] for r in rows], dtype=object))

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
    ) -> pd.DataFrame:
        """Return the ranked error-analysis table (see :func:`core.analysis.analyze`)."""
        args = dict(task=task, slice_by=slice_by, bins=bins, hlp=hlp, importance=importance,
                    ease=ease)
        try:
            return self._analyze(**args)
        except _Resniff:
            self._reopen()
            return self._analyze(**args)

    def _analyze(
        self,
        *,
        task: TaskSpec | None,
        slice_by: Sequence[str],
        bins: int,
        hlp: Mapping[str, float] | None,
        importance: Mapping[str, float] | None,
        ease: Mapping[str, float] | None,
    ) -> pd.DataFrame:
        task = task or TaskSpec(kind=self.infer_task_kind())  # type: ignore[arg-type]
        if task.kind == "text":
            raise DataError(TEXT_TASK_MESSAGE)
        if task.kind == "regression" and not self.numeric_roles:
            raise InvalidValueError(
                f"{self.source_name}: --engine duckdb runs a regression task on numeric label, "
                "prediction and human-label columns only; use the pandas engine")
        if task.kind == "binary" and task.positive is None:
            raise InvalidValueError("a binary task needs a positive class (CLI: --positive "
                                    f"CLASS); classes: {', '.join(self._classes()[:10])}")
        # Named as build_slices names them: tags first, then column values made unique.
        names = tag_slice_names(self.tags)
        slices = [_Slice(names[t], "tag", t, c) for t, c in self.tags.items()]
        taken = {s.name for s in slices}
        for s in self._column_slices(slice_by, bins):
            s.name = unique_name(s.name, taken)
            taken.add(s.name)
            slices.append(s)
        counts = self._counts(task, slices)
        if task.kind == "binary" and counts.loc[OVERALL, "tp"] + counts.loc[OVERALL, "fn"] == 0:
            raise InvalidValueError(f"positive class {task.positive!r} never occurs in the "
                                    f"labels; classes: {', '.join(self._classes()[:10])}")
        info = slice_info([s.name for s in slices], [s.kind for s in slices],
                          [s.source for s in slices])
        table = compute_slice_metrics(counts, task=task, hlp=hlp)
        return finish_table(table, info, importance=importance, ease=ease)

    def _classes(self) -> list[str]:
        """List the first 10 classes of the labels in order of appearance (error messages)."""
        y = self.roles["label"]
        rows = self._fetch(
            f"SELECT t FROM (SELECT {y.text} AS t, row_number() OVER () AS __slicewise_rn FROM "
            f"src WHERE {self.keep}) WHERE t IS NOT NULL GROUP BY t ORDER BY min(__slicewise_rn) "
            "LIMIT 10")
        return [str(r[0]) for r in rows]

    def _frame_columns(self) -> dict[str, tuple[str, str]]:
        """Map each name a slice-by can give to its (SQL value, kind).

        The loader's frame columns, then the roles' file names, which win a tie as in
        :func:`core.slice_names.resolve_slice_column`.
        """
        m = self.mapping
        out: dict[str, tuple[str, str]] = {}
        for r in ("label", "prediction", "human"):
            if r in self.roles:
                role = self.roles[r]
                out[r] = (role.expr, {"str": "str"}.get(role.ctype, role.ctype))
        if m.score is not None:
            sc = self.columns[m.score]
            v = f"TRY_CAST({_strip(sc.ident)} AS DOUBLE)" if sc.group == "text" else \
                f"CAST({sc.value} AS DOUBLE)"
            out["score"] = (v, "float")
        taken = {"id", "label", "prediction", *(["human"] if m.human else []),
                 *(["score"] if m.score else [])}
        role_cols = {m.label, m.prediction, m.id, m.human, m.score, m.tags_column,
                     *(m.tag_columns or ())}
        meta = [c for c in self.columns if c not in role_cols]
        for c, frame_name in zip(meta, _metadata_names(meta, set(taken)), strict=True):
            out[frame_name] = (c, "meta")
        # A role's file name means the role, even where a frame column has that name.
        for role in SLICEABLE_ROLES:
            file_name = getattr(m, role)
            if file_name is not None and role in out:
                out[file_name] = out[role]
        return out

    def _column_slices(self, slice_by: Sequence[str], bins: int) -> list[_Slice]:
        """Build the slices of :func:`core.metrics.build_slices` for ``slice_by`` columns."""
        if not slice_by:
            return []
        frame = self._frame_columns()
        plan: dict[str, tuple[str, str, _Column | None]] = {}  # name -> (value SQL, kind)
        to_profile = []
        for name in slice_by:
            if name not in frame:
                meta = [n for n, (_, k) in frame.items() if k == "meta"]
                if name == "id":
                    raise InvalidValueError(f"{self.source_name}: --engine duckdb cannot slice "
                                            "by the id column; use the pandas engine")
                choices = slice_by_choices(meta, columns=frame, mapping=self.mapping)
                raise InvalidValueError(
                    f"{self.source_name}: cannot slice by {name!r}: no such column; columns: "
                    f"{', '.join(map(repr, choices))}")
            expr, kind = frame[name]
            if kind == "meta":
                col = self.columns[expr]
                if col.unsupported or col.group == "other":
                    raise InvalidValueError(
                        f"{self.source_name}: column {name!r} holds "
                        f"{col.unsupported or 'DuckDB type ' + col.duck}, which the duckdb "
                        "engine does not slice as the pandas loader does; use the pandas engine")
                plan[name] = ("", "", col)
                if not col.kind:
                    to_profile.append(col)
            else:
                plan[name] = (expr, kind, None)
        if to_profile:  # type facts of metadata columns, over the whole file
            aggs = {}
            for col in to_profile:
                aggs[f"nonnull:{col.name}"] = f"count({col.value})"
                if col.group == "text" and not self.parquet:
                    aggs[f"notbool:{col.name}"] = (
                        f"count_if({col.ident} IS NOT NULL AND {col.ident} NOT IN "
                        f"{_in(_PANDAS_TRUE + _PANDAS_FALSE)})")
            stats = self._aggregate(aggs)
            for col in to_profile:
                col.nonnull = int(stats[f"nonnull:{col.name}"])
                col.nulls = self.n_rows - col.nonnull
                col.kind = self._pandas_kind(col, stats.get(f"notbool:{col.name}"))
        values: dict[str, tuple[str, str]] = {}
        for name, (expr, kind, col) in plan.items():
            if col is not None:
                expr, kind = col.value, col.kind
                if kind == "int":
                    expr = col.ident
            values[name] = (expr, kind)

        # Facts over the kept rows: how many values, how many distinct (numeric columns).
        aggs = {}
        for name, (expr, kind) in values.items():
            aggs[f"n:{name}"] = f"count({expr})"
            if kind in ("int", "float"):
                aggs[f"approx:{name}"] = f"approx_count_distinct({expr})"
        stats = self._aggregate(aggs, self.keep)
        small = {name: (f"histogram({expr})" if kind in ("int", "float") else
                        f"array_agg(DISTINCT {expr}) FILTER (WHERE {expr} IS NOT NULL)")
                 for name, (expr, kind) in values.items()
                 if kind not in ("int", "float") or stats[f"approx:{name}"] <= _MAX_HISTOGRAM}
        fetched = self._aggregate(small, self.keep)
        quantile_cols = [n for n in values if n not in small]
        order_stats = self._order_statistics(
            {n: (values[n][0], int(stats[f"n:{n}"])) for n in quantile_cols}, bins)

        out: list[_Slice] = []
        for name, (expr, kind) in values.items():
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
                for k in range(len(edges) - 1):
                    cond = [f"{v} IS NOT NULL"]
                    if k > 0:
                        cond.append(f"{v} >= {_dbl(edges[k])}")
                    if k < last:
                        cond.append(f"{v} < {_dbl(edges[k + 1])}")
                    close = "]" if k == last else ")"
                    label = f"{name} in [{_fmt_edge(edges[k])}, {_fmt_edge(edges[k + 1])}{close}"
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
        return out

    def _order_statistics(self, cols: Mapping[str, tuple[str, int]],
                          bins: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
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
            yv, pv = f"CAST({y.expr} AS DOUBLE)", f"CAST({p.expr} AS DOUBLE)"
            tol = _dbl(task.tolerance if task.tolerance is not None else 0.0)
            correct = f"coalesce(abs({pv} - {yv}) <= {tol}, false)"
            human = f"coalesce(abs(CAST({h.expr} AS DOUBLE) - {yv}) <= {tol}, false)" if h else ""
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
            pos = _lit(str(task.positive))
            yp, pp = f"coalesce({y.text} = {pos}, false)", f"coalesce({p.text} = {pos}, false)"
            row["tp"] = f"({yp} AND {pp})"
            row["fp"] = f"(NOT {yp} AND {pp})"
            row["fn"] = f"({yp} AND NOT {pp})"
            row["tn"] = f"(NOT {yp} AND NOT {pp})"
        if task.kind == "regression":
            row["abs_error"] = f"abs({pv} - {yv})"
            row["sq_error"] = f"(({pv} - {yv}) * ({pv} - {yv}))"
        summed = {"abs_error", "sq_error"}
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
                raise InvalidValueError(f"{self.source_name}: two slices are named {n!r} (a tag "
                                        "and a column value?); rename one of them")
            seen.add(n)

        def agg(stat: str, cond: str | None) -> str:
            if stat == "n":
                return f"count_if({cond})" if cond else "count(*)"
            if stat in summed:
                return f"sum(CASE WHEN {cond} THEN st_{stat} END)" if cond else f"sum(st_{stat})"
            return f"count_if({cond} AND st_{stat})" if cond else f"count_if(st_{stat})"

        groups = [None, *conds]
        aggs = [agg(stat, cond) for cond in groups for stat in ("n", *stats)]
        inner = ", ".join([*(f"{e} AS st_{k}" for k, e in row.items()),
                           *(f"coalesce({c}, false) AS {k}" for k, c in conds.items())])
        values = self._fetch(f"SELECT {', '.join(aggs)} FROM (SELECT {inner} FROM src "
                             f"WHERE {self.keep})")[0]
        out = np.zeros((len(groups), len(COUNT_COLUMNS)))
        cols = [COUNT_COLUMNS.index(k) for k in ("n", *stats)]
        width = len(cols)
        for g in range(len(groups)):
            chunk = values[g * width:(g + 1) * width]
            out[g, cols] = [0.0 if v is None else float(v) for v in chunk]
        return pd.DataFrame(out, index=names, columns=list(COUNT_COLUMNS))


# --------------------------------------------------------------------------- quantiles


def _needed_positions(n: int, bins: int) -> np.ndarray:
    """Sorted positions :func:`nanquantile_linear` reads for ``n`` values and ``bins``."""
    seen: list[int] = []

    def record(idx: np.ndarray) -> np.ndarray:
        seen.extend(int(i) for i in np.ravel(idx))
        return np.zeros(np.shape(idx))

    nanquantile_linear(n, bins, record)
    return np.array(sorted(set(seen)), dtype=np.int64)


def nanquantile_linear(n: int, bins: int,
                       order_stat: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
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
    raise FileFormatError(f"{name}: is {what[kind]}; the duckdb engine reads CSV and TSV files "
                          "(also gzip-compressed) and Parquet files: use the pandas engine "
                          "(--engine pandas), or save the table as CSV or Parquet")


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
        raise FileFormatError(f"{name}: is gzip-compressed but cannot be decompressed ({exc}); "
                              "the file may be truncated or damaged") from None
    return out


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
) -> pd.DataFrame:
    """Return the error-analysis table of a CSV, TSV or Parquet file, counted by DuckDB.

    The table equals ``core.analysis.analyze(load_dataset(path, mapping, sep=sep,
    missing=missing), task=task, slice_by=slice_by, ...)``, but the file is streamed: memory
    stays within ``memory_limit`` (DuckDB spills to a temporary folder beyond it).

    Raises
    ------
    DataError
        The loader's problems (missing labels, repeated ids, bad tag values...), a text task
        (:data:`TEXT_TASK_MESSAGE`) and inputs the SQL path cannot read as the loader does.
    """
    if task is not None and task.kind == "text":
        raise DataError(TEXT_TASK_MESSAGE)
    with DuckDBFile(path, mapping, sep=sep, missing=missing, memory_limit=memory_limit) as f:
        return f.analyze(task=task, slice_by=slice_by, bins=bins, hlp=hlp,
                         importance=importance, ease=ease)

