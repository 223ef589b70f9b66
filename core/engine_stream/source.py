"""The streaming engine's :class:`StreamSource`: a file on disk as a ``BatchSource``.

DuckDB answers the global questions (row count, value sets, repeated values, missing cells)
with small aggregates and streams the rows in Arrow record batches, grouping identical
rows (``SELECT cols, count(*), min(row) ... GROUP BY ALL``) when asked; memory stays within
DuckDB's ``memory_limit`` (it spills to a temporary folder beyond it) plus one batch.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.batches.role_classes import CLASS, RoleClasses
from slicewise.core.batches.source import Batch, Progress
from slicewise.core.engine_stream.binning import bin_sql
from slicewise.core.engine_stream.counts import NARROW_VALUES, SAMPLE_FROM, ValueCounts
from slicewise.core.engine_stream.ids import IdChecks
from slicewise.core.engine_stream.opening import USE_PANDAS, blank, ident, lit, open_file
from slicewise.core.errors import DataError, FileFormatError, RowNumbers
from slicewise.core.reading import NESTED_ATTR

#: Rows per batch handed to the counting code (one batch is in memory at a time).
BATCH_ROWS = 250_000
#: Sampled rows from which a sample showing few distinct rows is believed.
SAMPLE_MIN_ROWS = 10_000


class StreamSource(IdChecks, ValueCounts):
    """A CSV/TSV (gzip too) or Parquet file read by DuckDB, as a :class:`BatchSource`.

    Use :func:`open_source` (a context manager) to make one. Cells are what
    :func:`core.reading.read_table` gives: CSV cells as text (a blank cell missing),
    Parquet columns with the file's dtypes.

    Attributes
    ----------
    source_name, columns, first_row_number
        As :class:`core.batches.source.BatchSource`.
    numbering
        The file's row numbers (:class:`core.errors.RowNumbers`, blank rows skipped);
        ``skipped_rows`` is its ``skipped``.
    warnings
        The pandas reader's notes on the file (blank rows, nameless empty columns...).
    parquet
        Whether the file is Parquet.
    """

    #: The counting pass may merge rows by role classes (``batches(roles=...)``).
    merges_roles = True

    def __init__(
        self,
        path: str | Path,
        *,
        sep: str | None = None,
        encoding: str | None = None,
        memory_limit: str | None = None,
    ) -> None:
        import duckdb

        self.path = Path(path)
        self.source_name = self.path.name or str(self.path)
        self._tmp = tempfile.mkdtemp(prefix="slicewise-stream-")
        # In memory; what outgrows memory_limit spills to the temporary folder.
        self._con = duckdb.connect()
        self._rows: int | None = None
        try:
            self._con.execute(f"SET temp_directory = {lit(self._tmp)}")
            self._con.execute("SET preserve_insertion_order = true")
            if memory_limit:
                self._con.execute(f"SET memory_limit = {lit(memory_limit)}")
            opened = open_file(self._con, self.path, self.source_name, sep, encoding)
        except BaseException:
            self.close()
            raise
        self.parquet = opened.parquet
        self.columns = list(opened.columns)
        self.first_row_number = opened.first_row_number
        self.numbering = opened.numbering or RowNumbers(first=opened.first_row_number)
        self.warnings = list(opened.warnings)
        self._dtypes = opened.dtypes
        self._rows = opened.rows
        self._nested = tuple(opened.nested)
        self._head: pd.DataFrame | None = None  # the longest head read so far
        self._head_n = 0
        self._grouping: dict[tuple[str, ...], bool] = {}  # whether grouping pays, by columns
        self._estimates: dict[tuple[str, ...], int] = {}  # distinct rows estimated, by columns
        self._profiles: dict[str, dict[str, Any]] = {}  # id-like columns' one-scan profile
        self._pending: dict[str, tuple] = {}  # id profiles scanning in the background
        # Value counts asked before: column -> (counts or None past the limit, that limit)
        self._counts: dict[str, tuple[pd.Series | None, int]] = {}

    @property
    def skipped_rows(self) -> tuple[int, ...]:
        """File row numbers the positions skip (blank rows left out), for messages."""
        return tuple(self.numbering.skipped)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the DuckDB connection and remove its temporary folder."""
        try:
            self._stop_prefetch()
            self._con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> StreamSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn DuckDB's errors into :class:`DataError` naming the file."""
        import duckdb

        try:
            yield
        except duckdb.OutOfMemoryException as exc:
            raise DataError(
                f"{self.source_name}: DuckDB ran out of memory ({_first_line(exc)}); give it "
                "a larger memory limit"
            ) from None
        except duckdb.Error as exc:
            raise FileFormatError(
                f"{self.source_name}: DuckDB cannot read the file ({_first_line(exc)}); "
                f"{USE_PANDAS}"
            ) from None

    def _fetch(self, query: str) -> list[tuple]:
        with self._errors():
            return self._con.sql(query).fetchall()

    def _arrow(self, query: str) -> Any:
        with self._errors():
            return self._con.sql(query).to_arrow_table()

    def _frame(self, table: Any) -> pd.DataFrame:
        """Return an Arrow result as pandas, each file column with the reader's dtype."""
        from slicewise.core.formats import nested_arrow_to_text

        if self.parquet:
            table, _ = nested_arrow_to_text(table)
        df = table.to_pandas()
        for c, dtype in self._dtypes.items():
            if c in df.columns and df[c].dtype != dtype:
                df[c] = df[c].astype(dtype)
        if self._nested:  # the reader marks them, so that the loader refuses them as roles
            df.attrs[NESTED_ATTR] = self._nested
        return df

    def _check(self, columns: Sequence[str]) -> list[str]:
        """Return ``columns`` as a list, refusing names the file does not have."""
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise DataError(f"{self.source_name}: has no column {unknown[0]!r}")
        return list(columns)

    def _is_float(self, column: str) -> bool:
        dtype = self._dtypes.get(column)
        return dtype is not None and pd.api.types.is_float_dtype(dtype)

    def _missing_sql(self, column: str) -> str:
        """Return SQL true where ``column`` is missing as ``missing_mask`` reads it."""
        c = ident(column)
        if self._is_float(column):
            return f"({c} IS NULL OR isnan({c}))"
        dtype = self._dtypes.get(column)
        if dtype is None or pd.api.types.is_string_dtype(dtype):  # text: blank is missing
            return blank(c)
        return f"({c} IS NULL)"

    # ------------------------------------------------------------ BatchSource

    def head(self, n: int) -> pd.DataFrame:
        """Return the first ``n`` rows (all columns), in file order, default index."""
        n = max(int(n), 0)
        if self._head is None or len(self._head) < n and self._head_n < n:
            cols = ", ".join(map(ident, self.columns))
            # No ORDER BY: the scan keeps the file's order and stops after n rows.
            self._head = self._frame(self._arrow(f"SELECT {cols} FROM t0 LIMIT {n}"))
            self._head_n = n
        return self._head.head(n).reset_index(drop=True).copy()

    def count_rows(self) -> int:
        """Return the number of rows (blank rows of a CSV left out, as the reader does)."""
        if self._rows is None:
            self._rows = int(self._fetch("SELECT count(*) FROM t0")[0][0])
        return self._rows

    def repeated(self, column: str, limit: int = 5) -> pd.DataFrame:
        """Return values of ``column`` that occur on more than one row (missing left out).

        At most ``limit`` rows, in the order of their first occurrence, with columns
        ``value``, ``count`` (int64) and ``first_rows`` (the 0-based positions of up to 5
        of its rows, ascending).
        """
        (column,) = self._check([column])
        c = ident(column)
        if self._profile(column)["unique"]:
            return pd.DataFrame({"value": [], "count": [], "first_rows": []}).astype(
                {"count": np.int64}
            )
        found = self._arrow(
            f"SELECT {c} AS value, count(*)::BIGINT AS count, min(__row) AS __first FROM t "
            f"WHERE {c} IS NOT NULL GROUP BY ALL HAVING count(*) > 1 "
            f"ORDER BY __first LIMIT {int(limit)}"
        )
        df = self._frame(found.rename_columns([column, "count", "__first"]))
        df = df.rename(columns={column: "value"})
        rows: dict[Any, list[int]] = {}
        if len(df):
            self._con.register("__wanted", found.select(["value"]))
            try:
                pairs = self._fetch(
                    f"SELECT w.value, list(t.__row ORDER BY t.__row)[1:5] FROM t JOIN "
                    f"__wanted w ON t.{c} = w.value GROUP BY ALL"
                )
            finally:
                self._con.unregister("__wanted")
            firsts = dict(zip(found["__first"].to_pylist(), range(len(df)), strict=True))
            for _, positions in pairs:
                rows[firsts[min(positions)]] = [int(p) for p in positions]
        df["first_rows"] = [rows.get(i, []) for i in range(len(df))]
        return df[["value", "count", "first_rows"]].reset_index(drop=True)

    def missing(self, column: str, limit: int = 5) -> tuple[int, list[int]]:
        """Return how many cells of ``column`` are missing and the first ``limit`` positions.

        Missing as :func:`core.column_parsing.missing_mask` reads it (the loader's rule): a
        null, NaN, or text that is empty or only white space (a blank id is missing).
        Positions are 0-based, ascending.
        """
        (column,) = self._check([column])
        cond = self._missing_sql(column)
        if column in self._profiles:
            n = self._profiles[column]["missing"]
        else:
            n = int(self._fetch(f"SELECT count(*) FROM t0 WHERE {cond}")[0][0])
        if not n or limit <= 0:
            return n, []
        first = self._fetch(f"SELECT __row FROM t WHERE {cond} ORDER BY __row LIMIT {int(limit)}")
        return n, [int(r[0]) for r in first]

    def batches(
        self,
        columns: Sequence[str],
        *,
        group: bool,
        progress: Progress | None = None,
        bins: Mapping[str, Sequence[float]] | None = None,
        roles: RoleClasses | None = None,
    ) -> Iterator[Batch]:
        """Stream the ``columns`` of every row in batches of at most :data:`BATCH_ROWS`.

        With ``group``, identical rows come as one (``weights``: how many; ``first_rows``:
        the first position), ordered by first position, unless grouping would leave most
        rows (:meth:`_groups_pay`); without it, or then, every row in file order
        (``weights`` ``None``). ``progress(rows_done, total_rows)`` after each batch.
        ``bins`` (``{column: edges}``, ascending): with ``group``, the rows of a column's
        bin merge as one, that bin's first cell standing for them (:func:`bin_sql`).
        ``roles`` (:class:`~core.batches.role_classes.RoleClasses`): with ``group``, rows
        whose role cells are in one class merge as one, the class's representative cells
        standing for them.
        """
        columns = self._check(columns)
        binned = self._binnable(columns, bins) if group else {}
        group = group and self._groups_pay(columns, binned)
        merged = roles if group and roles and set(roles.columns) <= set(columns) else None
        relation, keyed = self._merged(columns, merged)
        cols = ", ".join(map(ident, keyed))
        if group and binned:
            query = self._binned_query(keyed, binned, relation)
        elif group and columns:
            query = (
                f"SELECT {cols}, count(*)::BIGINT AS __w, min(__row) AS __first FROM "
                f"{relation} GROUP BY ALL ORDER BY __first"
            )
        elif group:
            query = "SELECT count(*)::BIGINT AS __w, min(__row) AS __first FROM t"
        else:  # no ORDER BY: the scan keeps the file's order (preserve_insertion_order)
            query = f"SELECT {cols + ', ' if cols else ''}__row AS __first FROM t"
        total = self.count_rows()
        done = 0
        with self._errors():
            reader = self._con.sql(query).to_arrow_reader(BATCH_ROWS)
        for record_batch in _guarded(reader, self._errors):
            if not record_batch.num_rows:
                continue
            df = self._frame(record_batch)
            if merged is not None:
                df = _unmerged(df, merged, columns)
            first = df.pop("__first").to_numpy(dtype=np.int64)
            weights = df.pop("__w").to_numpy(dtype=np.int64) if group else None
            done += int(weights.sum()) if weights is not None else len(df)
            yield Batch(rows=df.reset_index(drop=True), weights=weights, first_rows=first)
            if progress is not None:
                progress(done, total)

    def _binnable(
        self, columns: list[str], bins: Mapping[str, Sequence[float]] | None
    ) -> dict[str, tuple[float, ...]]:
        """Return the ``bins`` of ``columns`` held as numbers or text (not booleans, dates)."""
        out = {}
        for c, edges in (bins or {}).items():
            dtype = self._dtypes.get(c)
            text = dtype is None or pd.api.types.is_string_dtype(dtype)
            number = dtype is not None and pd.api.types.is_numeric_dtype(dtype)
            if c in columns and (text or number) and not pd.api.types.is_bool_dtype(dtype):
                out[c] = tuple(float(e) for e in edges)
        return out

    def _keys(self, columns: list[str], bins: dict[str, tuple[float, ...]]) -> tuple:
        """Return (grouping keys, the key expressions) of ``columns``, bins as codes."""
        keys, made = [], []
        for i, c in enumerate(columns):
            if c not in bins:
                keys.append(ident(c))
                continue
            text = not pd.api.types.is_numeric_dtype(self._dtypes.get(c, object))
            inside, code = bin_sql(ident(c), bins[c], text=text)
            made += [
                f"CASE WHEN {inside} THEN {code} END AS __k{i}",
                f"CASE WHEN {inside} THEN NULL ELSE {ident(c)} END AS __r{i}",
            ]
            keys += [f"__k{i}", f"__r{i}"]
        return keys, made

    def _merged(self, columns: list[str], roles: RoleClasses | None) -> tuple[str, list[str]]:
        """Return the relation to group and its columns: ``t``, or its role cells as a class.

        The class comes from joining ``roles.cells`` on the role cells: plain equality when
        no combination holds a missing cell (then no row does), else null matching null
        (``IS NOT DISTINCT FROM``, a slower join); the class code replaces the role columns.
        """
        if roles is None:
            return "t", columns
        cells = roles.cells[[*roles.columns, CLASS]]
        self._con.register("__roles", cells)
        same = "IS NOT DISTINCT FROM" if cells[list(roles.columns)].isna().any(axis=None) else "="
        on = " AND ".join(f"t.{ident(c)} {same} m.{ident(c)}" for c in roles.columns)
        out = ", ".join(map(ident, roles.columns))
        relation = f"(SELECT t.* EXCLUDE ({out}), m.{CLASS} FROM t JOIN __roles AS m ON {on})"
        return relation, [*(c for c in columns if c not in roles.columns), CLASS]

    def _binned_query(
        self, columns: list[str], bins: dict[str, tuple[float, ...]], relation: str = "t"
    ) -> str:
        """Group identical rows, each bin of a ``bins`` column as one value (its first cell).

        A column held as numbers stands for its bin by its least cell instead (cheaper than
        the first: every cell of a bin is the same slice to the loader).
        """
        keys, made = self._keys(columns, bins)
        outs = [
            f"CASE WHEN __k{i} IS NULL THEN __r{i} ELSE {self._stand_in(c)} END AS {ident(c)}"
            if c in bins
            else ident(c)
            for i, c in enumerate(columns)
        ]
        return (
            f"WITH r AS (SELECT *, {', '.join(made)} FROM {relation}) SELECT {', '.join(outs)}, "
            f"count(*)::BIGINT AS __w, min(__row) AS __first FROM r GROUP BY "
            f"{', '.join(keys)} ORDER BY __first"
        )

    def count_infinite(self, column: str) -> int | None:
        """Return how many cells of a numeric ``column`` are infinite (None: not numbers).

        A numeric score is refused by the loader only for an infinite cell
        (:func:`core.column_parsing.parse_score`); one scan says whether there is one.
        """
        (column,) = self._check([column])
        dtype = self._dtypes.get(column)
        if dtype is None or not pd.api.types.is_numeric_dtype(dtype):
            return None
        if pd.api.types.is_bool_dtype(dtype):
            return None
        if not pd.api.types.is_float_dtype(dtype):
            return 0  # whole numbers are finite
        c = ident(column)
        return int(self._fetch(f"SELECT count(*) FILTER (WHERE isinf({c})) FROM t0")[0][0])

    def _stand_in(self, column: str) -> str:
        """Return the SQL of the cell a bin's rows are counted with (see _binned_query)."""
        number = pd.api.types.is_numeric_dtype(self._dtypes.get(column, object))
        return f"min({ident(column)})" if number else f"arg_min({ident(column)}, __row)"

    def _groups_pay(
        self, columns: list[str], bins: dict[str, tuple[float, ...]] | None = None
    ) -> bool:
        """Whether grouping identical rows of ``columns`` leaves far fewer rows.

        DuckDB's estimate of the distinct rows (one scan of those columns, remembered):
        grouping pays below a quarter of the rows; above it (an id or a score among the
        columns) the rows stream as they are, which costs less than a hash table of them.
        """
        key = (tuple(columns), tuple(sorted((bins or {}).items())))
        if key not in self._grouping:
            rows = self.count_rows()
            if not columns or rows <= BATCH_ROWS or self._all_narrow(columns, bins or {}):
                self._grouping[key] = True
            else:
                keys, made = self._keys(columns, bins or {})
                inner = f"(SELECT *, {', '.join(made)} FROM t) AS r" if made else "t"
                distinct = f"approx_count_distinct(hash({', '.join(keys)}))"
                estimate = self._narrow_sample(distinct, inner, rows)
                if estimate is None:  # not clearly few: the whole table says
                    estimate = int(self._fetch(f"SELECT {distinct} FROM {inner}")[0][0])
                self._grouping[key] = estimate < rows / 4
                self._estimates[key[0]] = estimate
        return self._grouping[key]

    def _narrow_sample(self, distinct: str, inner: str, rows: int) -> int | None:
        """Return a Parquet file's 1% sample's ``distinct`` estimate if clearly few, else None.

        Few: at most :data:`NARROW_VALUES` distinct in a sample of :data:`SAMPLE_MIN_ROWS`
        rows or more (a label, a prediction and a human label, say). A long
        tail the sample misses only makes grouping cost a little more, never a count differ.
        """
        if not self.parquet or rows <= SAMPLE_FROM:
            return None
        n, found = self._fetch(
            f"SELECT count(*), {distinct} FROM {inner} USING SAMPLE 1% (system)"
        )[0]
        return int(found) if n >= SAMPLE_MIN_ROWS and found <= NARROW_VALUES else None

    def _all_narrow(self, columns: list[str], bins: dict[str, tuple[float, ...]]) -> bool:
        """Whether each of ``columns`` is known to hold few values, so grouping them pays.

        Few: binned numbers, a column counted before with at most :data:`NARROW_VALUES`
        values, or one of a set of columns estimated before at as few distinct rows. Their
        groups may still be many, but a hash table of them costs less than streaming every
        row to the counting code; an unknown column (an id, a score, a transcript) asks for
        an estimate.
        """
        grouped = {c for cols, n in self._estimates.items() if n <= NARROW_VALUES for c in cols}
        for c in columns:
            counts = self._counts.get(c, (None, 0))[0]
            few = counts is not None and len(counts) <= NARROW_VALUES
            number = c in bins and pd.api.types.is_numeric_dtype(self._dtypes.get(c, object))
            if not (few or number or c in grouped):
                return False
        return True


def open_source(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    memory_limit: str | None = None,
) -> StreamSource:
    """Open a CSV/TSV (gzip too) or Parquet file for the streaming engine.

    Parameters
    ----------
    path
        The file on disk.
    sep
        CSV delimiter (one character); ``None`` detects it as :func:`core.reading.read_table`.
    encoding
        ``None`` or UTF-8 (a BOM is honoured); other encodings are refused (the pandas
        engine reads them).
    memory_limit
        DuckDB's memory limit (e.g. ``"1GB"``); beyond it DuckDB spills to a temporary
        folder, removed on close.

    Returns
    -------
    StreamSource
        A context manager; close it (or leave the ``with`` block) to free the folder.

    Raises
    ------
    DataError
        Its subclasses for what :func:`core.reading.read_table` refuses (empty file, bad
        header...), and for what the streaming engine cannot read as it does (bzip2, zip,
        .xlsx, encodings other than UTF-8, rows DuckDB cannot parse), naming the pandas
        engine.
    """
    return StreamSource(path, sep=sep, encoding=encoding, memory_limit=memory_limit)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _guarded(reader: Any, errors: Any) -> Iterator[Any]:
    """Yield ``reader``'s batches, reading each inside the ``errors`` context."""
    it = iter(reader)
    while True:
        with errors():
            item = next(it, None)
        if item is None:
            return
        yield item


def _unmerged(df: pd.DataFrame, roles: RoleClasses, columns: list[str]) -> pd.DataFrame:
    """Put each class's representative role cells back in place of its code, in order."""
    at = roles.representatives.index.get_indexer(df.pop(CLASS).to_numpy(dtype=np.int64))
    for c in roles.columns:
        df[c] = roles.representatives[c].take(at).reset_index(drop=True)
    return df[[*columns, *(c for c in df.columns if c.startswith("__"))]]
