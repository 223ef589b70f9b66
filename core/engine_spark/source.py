"""The Spark engine's :class:`SparkSource`: a file, folder or table as a ``BatchSource``.

Spark answers the global questions (row count, value sets, repeated values, missing cells)
with small aggregates; :meth:`SparkSource.batches` hands rows (grouped in Spark when
allowed) to the driver, and :meth:`SparkSource.count_partials` runs the shared counting
code on the executors (``mapInPandas``) and sums what they return.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.batches.source import Batch, Progress
from slicewise.core.engine_spark.grouping import binnable, distinct_estimate, grouped_rows
from slicewise.core.engine_spark.ids import SparkIds
from slicewise.core.engine_spark.reading import (
    BAD,
    MID,
    Opened,
    Positions,
    field_count_error,
    open_frame,
)
from slicewise.core.engine_spark.session import quiet, spark_session
from slicewise.core.errors import EmptyFileError, FileFormatError, RowNumbers

#: Rows per batch handed to the driver by :meth:`SparkSource.batches`.
BATCH_ROWS = 250_000
#: Rows of the head that tell whether grouping rows pays (:meth:`SparkSource._groups_pay`).
HEAD_ROWS = 10_000
_PART_BITS = 33


class SparkSource(SparkIds):
    """A CSV/TSV or Parquet path (file or folder of parts) or a table, read by Spark.

    Use :func:`open_source` (a context manager). Cells are what
    :func:`core.reading.read_table` gives (CSV: text, a blank cell missing; Parquet and
    tables: their types). Row positions are file order for a single file; for a folder or a
    table they are Spark's reading order (part files by size), the same in every query of
    one source but not a row number a user can look up.

    Attributes
    ----------
    source_name, columns, first_row_number
        As :class:`core.batches.source.BatchSource`.
    skipped_rows
        File row numbers of the CSV rows left out (every cell blank), before the last row.
    warnings
        The reader's notes (blank rows and nameless empty columns left out).
    kind
        ``"csv"``, ``"parquet"`` or ``"table"``.
    """

    def __init__(
        self, target: str, *, sep: str | None = None, master: str | None = None, spark: Any = None
    ) -> None:
        self.spark = spark if spark is not None else spark_session(master)
        with quiet():
            opened = open_frame(self.spark, str(target), sep)
            self._open(opened)

    def _open(self, opened: Opened) -> None:
        """Keep the frame and run the one scan every source needs (row counts per partition).

        Raises
        ------
        FileFormatError
            CSV lines with more or fewer fields than the header.
        EmptyFileError
            No row holds a value.
        """
        from pyspark.sql import functions as F

        self.source_name, self.kind = opened.source_name, opened.kind
        self.columns, self.first_row_number = list(opened.names), opened.first_row_number
        self.warnings = list(opened.warnings)
        self._sep = opened.sep
        self._spark_names = {n: f"c{i}" for i, n in enumerate(self.columns)}
        frame, csv = opened.frame, opened.kind == "csv"
        blank = self._blank_expr() if csv else F.lit(False)
        stats = (
            frame.select(
                F.shiftright(F.col(MID), _PART_BITS).alias("p"),
                (F.col(BAD).isNotNull() if csv else F.lit(False)).cast("int").alias("bad"),
                blank.cast("int").alias("blank"),
            )
            .groupBy("p")
            .agg(F.count("*").alias("n"), F.sum("bad").alias("bad"), F.sum("blank").alias("blank"))
            .toPandas()
        )
        parts = int(stats["p"].max()) + 1 if len(stats) else 1
        counts = np.zeros(parts, dtype=np.int64)
        counts[stats["p"].to_numpy(dtype=np.int64)] = stats["n"].to_numpy(dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._positions = Positions(offsets, np.zeros(0, dtype=np.int64))
        if csv and stats["bad"].sum():
            self._refuse_bad_lines(frame)
        total = int(counts.sum())
        n_blank = int(stats["blank"].sum()) if len(stats) else 0
        self.skipped_rows: tuple[int, ...] = ()
        if n_blank:
            self._leave_out_blank(frame, blank, total)
        self._frame = frame.filter(~blank) if n_blank else frame
        self._rows = total - n_blank
        self._head: pd.DataFrame | None = None  # the longest head read so far
        self._head_n = 0
        self._counts: dict[str, pd.Series] = {}  # each column's value counts, once counted
        self._grouping: dict[tuple, bool] = {}  # whether grouping pays, by columns and bins
        if not self._rows:
            what = "has a header but no data rows" if csv else "has no rows"
            raise EmptyFileError(f"{self.source_name}: {what}; add one row per example")

    def _blank_expr(self) -> Any:
        """Return a Spark expression true on rows where every cell is missing or blank."""
        from pyspark.sql import functions as F

        cells = [
            F.coalesce(F.col(c).rlike(r"^\s*$"), F.lit(True)) for c in self._spark_names.values()
        ]
        expr = cells[0]
        for cell in cells[1:]:
            expr = expr & cell
        return expr

    def _refuse_bad_lines(self, frame: Any) -> None:
        """Raise naming the first CSV lines with another field count than the header's."""
        from pyspark.sql import functions as F

        # Every column: Spark finds a row's field count wrong only when it parses them all.
        cells = [*self._spark_names.values(), BAD, MID]
        bad = frame.select(*cells).filter(F.col(BAD).isNotNull()).orderBy(MID).limit(3)
        rows = bad.toPandas()
        lines = self._positions.of(rows[MID].to_numpy()) + self.first_row_number
        shown = [(int(n), str(t)) for n, t in zip(lines, rows[BAD], strict=True)]
        raise FileFormatError(
            field_count_error(self.source_name, len(self.columns), shown, self._sep)
        )

    def _leave_out_blank(self, frame: Any, blank: Any, total: int) -> None:
        """Record the blank rows (left out, with the reader's note) for positions and numbers."""
        from slicewise.core import formats

        mids = frame.filter(blank).select(MID).orderBy(MID).toPandas()[MID].to_numpy(np.int64)
        before = self._positions.of(mids)
        self._positions = Positions(self._positions.offsets, mids)
        if len(mids) == total:
            raise EmptyFileError(
                f"{self.source_name}: has a header but no data rows; add one row per example"
            )
        numbering = RowNumbers(first=self.first_row_number)
        self.warnings.append(formats.blank_rows_note(self.source_name, before, numbering))
        last = _last_position(total, before)
        self.skipped_rows = tuple(numbering.of(before[before < last]))

    # -- the protocol ------------------------------------------------------------------

    def head(self, n: int) -> pd.DataFrame:
        """Return the first ``n`` rows (all columns), in file order (the longest read kept)."""
        n = max(int(n), 0)
        if self._head is None or (len(self._head) < n and self._head_n < n):
            with quiet():
                got = self._frame.limit(n).select(*self._spark_names.values(), MID).toPandas()
            got = got.sort_values(MID, kind="stable").drop(columns=MID)
            self._head, self._head_n = self._as_read(got.reset_index(drop=True)), n
        return self._head.head(n).reset_index(drop=True).copy()

    def count_rows(self) -> int:
        """Return the number of rows (blank CSV rows left out)."""
        return self._rows

    def value_counts(self, columns: Sequence[str], limit: int) -> dict[str, pd.Series | None]:
        """Each column's distinct present values with their row counts (``None`` past ``limit``).

        The head (:data:`HEAD_ROWS` rows, already read) settles a column it shows more than
        ``limit`` values of; a column counted before is answered from memory. A column
        whose head looks like an id (most cells distinct, or near ``limit`` values) is
        first estimated (one pass, HyperLogLog, 5% error) and counted only within twice
        ``limit``; the others are counted exactly, those of one type in one pass.
        """
        from pyspark.sql import functions as F

        head = self.head(HEAD_ROWS)
        whole = len(head) >= self._rows or limit >= self._rows
        todo, unsure = [], []
        for c in dict.fromkeys(columns):
            seen = int(head[c].nunique(dropna=True))
            if c in self._counts or seen > limit:
                continue
            plain = seen <= len(head) / 4 and seen <= limit / 2
            (todo if whole or plain else unsure).append(c)
        if unsure:
            names = [self._spark_names[c] for c in unsure]
            present = {n: self._present(n) for n in names}
            with quiet():
                approx = self._frame.select(
                    *[
                        F.approx_count_distinct(F.when(present[n], F.col(n)), 0.05).alias(n)
                        for n in names
                    ]
                ).first()
            todo += [c for c in unsure if approx[self._spark_names[c]] <= 2 * limit + 10]
        by_type: dict[str, list[str]] = {}
        types = dict(self._frame.dtypes)
        for c in todo:
            by_type.setdefault(types[self._spark_names[c]], []).append(c)
        present = {self._spark_names[c]: self._present(self._spark_names[c]) for c in todo}
        for group in by_type.values():
            self._counts.update(self._exact_counts(group, None, present))
        out: dict[str, pd.Series | None] = {}
        for c in columns:
            counts = self._counts.get(c)
            out[c] = None if counts is None or len(counts) > limit else counts.copy()
        return out

    def value_counts_except(
        self, columns: Sequence[str], *, like: Sequence[str], positions: np.ndarray
    ) -> dict[str, pd.Series]:
        """Each column's value counts over the rows unlike the rows at ``positions``.

        A row is left out when its cells in ``like`` equal (missing equal to missing, NaN
        to NaN) those of a row at one of the 0-based ``positions``. Series as
        :meth:`value_counts` gives them, every value kept. In Spark: the rows at the
        positions (a semi join on their ``_mid``), their distinct ``like`` cells, an anti
        join on those (null-safe), then one counting pass per column type.
        """
        from pyspark.sql import functions as F

        mids = np.unique(self._positions.mids(np.unique(np.asarray(positions, np.int64))))
        keys = [self._spark_names[c] for c in like]
        with quiet():
            wanted = self.spark.createDataFrame(pd.DataFrame({MID: mids}))
            rows = self._frame
            if keys:
                lost = (
                    self._frame.join(F.broadcast(wanted), MID, "left_semi")
                    .select(*[F.col(k).alias(f"l{k}") for k in keys])
                    .distinct()
                )
                same = [F.col(k).eqNullSafe(F.col(f"l{k}")) for k in keys]
                rows = self._frame.join(lost, same, "left_anti")
            elif len(mids):
                rows = self._frame.limit(0)
        names = [self._spark_names[c] for c in columns]
        present = {c: self._present(c) for c in names}
        by_type: dict[str, list[str]] = {}
        types = dict(self._frame.dtypes)
        for c in columns:
            by_type.setdefault(types[self._spark_names[c]], []).append(c)
        out: dict[str, pd.Series] = {}
        for group in by_type.values():
            out.update(self._exact_counts(group, None, present, rows))
        return out

    def _exact_counts(
        self, columns: list[str], limit: int | None, present: dict[str, Any], frame: Any = None
    ) -> dict[str, pd.Series | None]:
        """Count the values of columns of one type in one pass (exploded, then grouped).

        Over ``frame`` (the source's rows when ``None``); ``None`` for a column past
        ``limit`` distinct values (no limit when ``limit`` is ``None``).
        """
        from pyspark.sql import functions as F

        cells = F.explode(
            F.array(
                *[
                    F.struct(
                        F.lit(k).alias("k"),
                        F.when(present[self._spark_names[c]], F.col(self._spark_names[c])).alias(
                            "v"
                        ),
                    )
                    for k, c in enumerate(columns)
                ]
            )
        ).alias("cell")
        with quiet():
            counted = (
                (self._frame if frame is None else frame)
                .select(cells)
                .select("cell.k", "cell.v")
                .filter(F.col("v").isNotNull())
                .groupBy("k", "v")
                .count()
                .toPandas()
            )
        out: dict[str, pd.Series | None] = {}
        for k, c in enumerate(columns):
            part = counted[counted["k"] == k]
            values = self._as_read(pd.DataFrame({c: part["v"].to_numpy()}))[c]
            series = pd.Series(part["count"].to_numpy(np.int64), index=pd.Index(values), name=c)
            out[c] = None if limit is not None and len(series) > limit else series
        return out

    def _present(self, spark_name: str) -> Any:
        """Return a Spark expression true where the cell is present (not null, not NaN)."""
        from pyspark.sql import functions as F

        col = F.col(spark_name)
        kind = dict(self._frame.dtypes)[spark_name]
        if kind in ("double", "float"):
            return col.isNotNull() & ~F.isnan(col)
        return col.isNotNull()

    def repeated(self, column: str, limit: int = 5) -> pd.DataFrame:
        """Values of ``column`` on more than one row: ``value``, ``count``, ``first_rows``.

        In order of first occurrence; ``first_rows`` lists up to 5 positions of each.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        c = self._spark_names[column]
        present = self._frame.filter(self._present(c))
        with quiet():
            # Rows whose cell's 64-bit hash repeats first (a long is cheap to group), then
            # the cells themselves among those few rows only.
            cell = F.col(c)
            if dict(self._frame.dtypes)[c] in ("double", "float"):
                cell = cell + F.lit(0.0)  # -0.0 and 0.0 are one value: one hash
            hashed = present.withColumn("_h", F.xxhash64(cell))
            twice = hashed.groupBy("_h").count().filter(F.col("count") > 1).select("_h")
            present = hashed.join(twice, "_h", "left_semi").drop("_h")
            found = (
                present.groupBy(c)
                .agg(F.count("*").alias("n"), F.min(MID).alias("m"))
                .filter(F.col("n") > 1)
                .orderBy("m")
                .limit(int(limit))
                .toPandas()
            )
            if not len(found):
                return pd.DataFrame(columns=["value", "count", "first_rows"])
            order = Window.partitionBy(c).orderBy(MID)
            firsts = (
                present.filter(F.col(c).isin(found[c].tolist()))
                .select(c, MID, F.row_number().over(order).alias("r"))
                .filter(F.col("r") <= 5)
                .toPandas()
            )
        firsts = firsts.assign(pos=self._positions.of(firsts[MID].to_numpy())).sort_values("pos")
        lists = firsts.groupby(c, sort=False)["pos"].agg(lambda s: [int(v) for v in s])
        values = self._as_read(pd.DataFrame({column: found[c].to_numpy()}))[column]
        return pd.DataFrame(
            {
                "value": values.to_numpy(),
                "count": found["n"].to_numpy(np.int64),
                "first_rows": [lists[v] for v in found[c]],
            }
        )

    def missing(self, column: str, limit: int = 5) -> tuple[int, list[int]]:
        """How many cells of ``column`` are missing, and the positions of the first ``limit``."""
        c = self._spark_names[column]
        absent = self._frame.filter(~self._present(c))
        with quiet():
            n = absent.count()
            mids = absent.select(MID).orderBy(MID).limit(int(limit)).toPandas()[MID]
        return int(n), [int(p) for p in self._positions.of(mids.to_numpy())]

    def batches(
        self,
        columns: Sequence[str],
        *,
        group: bool,
        progress: Progress | None = None,
        bins: Mapping[str, Sequence[float]] | None = None,
    ) -> Iterator[Batch]:
        """Yield the ``columns`` of every row to the driver in batches of :data:`BATCH_ROWS`.

        With ``group``, Spark merges identical rows first (``GROUP BY`` every column, with
        the count and the first position), unless the head shows that grouping would leave
        most rows (:meth:`_groups_pay`); without it, or then, rows come in file order.
        ``bins`` (``{column: edges}``): with ``group``, the rows of one bin of a number
        column merge, the bin's first cell standing for them
        (:func:`core.engine_spark.grouping.grouped_rows`).
        """
        names = [self._spark_names[c] for c in columns]
        binned = self._bins(names, bins) if group else {}
        group = group and self._groups_pay(columns, bins)
        if group:
            frame = grouped_rows(self._frame, names, binned)
        else:
            frame = self._frame.select(*names, MID)
        done, total = 0, self._rows
        for part in _collected(self.spark, frame):
            if not group:
                part = part.sort_values(MID, kind="stable")
            weights = part.pop("_n").to_numpy(np.int64) if group else None
            first = self._positions.of(part.pop(MID).to_numpy())
            rows = self._as_read(part.reset_index(drop=True)).reindex(columns=list(columns))
            done += int(weights.sum()) if weights is not None else len(rows)
            yield Batch(rows, weights, first)
            if progress is not None:
                progress(done, total)

    def _bins(
        self, names: Sequence[str], bins: Mapping[str, Sequence[float]] | None
    ) -> dict[str, tuple[float, ...]]:
        """Return ``bins`` keyed by Spark name, for the ``names`` Spark can bin."""
        own = {self._spark_names[c]: e for c, e in (bins or {}).items() if c in self._spark_names}
        return binnable(dict(self._frame.dtypes), names, own)

    def _groups_pay(
        self, columns: Sequence[str], bins: Mapping[str, Sequence[float]] | None = None
    ) -> bool:
        """Whether grouping identical rows of ``columns`` (binned) leaves far fewer rows.

        Grouping pays below a quarter of the rows (an id among the columns: it does not).
        The head (:data:`HEAD_ROWS` rows, already read) says so when its own rows merge
        that far; otherwise Spark estimates the groups (one pass, remembered).
        """
        from slicewise.core.batches.frame_source import bin_keys

        if not columns or self._rows <= BATCH_ROWS:
            return True
        key = (tuple(columns), tuple(sorted((c, tuple(e)) for c, e in (bins or {}).items())))
        if key not in self._grouping:
            head = self.head(HEAD_ROWS)[list(columns)]
            keyed = head.copy()
            for c, edges in (bins or {}).items():
                if c in keyed.columns:
                    codes = pd.Series(bin_keys(head[c], edges), index=head.index).astype(str)
                    keyed[c] = head[c].astype(object).where(codes == "-1", codes)
            pays = len(keyed.drop_duplicates()) < max(len(head), 1) / 4
            if not pays:
                names = [self._spark_names[c] for c in columns]
                with quiet():
                    groups = distinct_estimate(self._frame, names, self._bins(names, bins))
                pays = groups < self._rows / 4
            self._grouping[key] = pays
        return self._grouping[key]

    def _as_read(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Name the columns as the file does; text as the pandas reader holds it (``str``)."""
        return as_read(frame, {s: n for n, s in self._spark_names.items()}, self.kind)

    def count_partials(self, plan: Any, progress: Progress | None = None) -> Any:
        """Count every row on the executors: the shared counting code, summed on the driver.

        Spark groups identical rows of ``plan.count_columns`` (``GROUP BY``, with each group's
        count and first position; the cells of one bin of a ``plan.bins`` column as one,
        as :meth:`batches` does), unless grouping would leave most rows
        (:meth:`_groups_pay`); each partition of the groups runs
        :func:`core.batches.count.count_batch` on its Arrow batches and returns its
        :class:`~core.batches.count.Partial` (pickled); the driver sums them.

        Returns
        -------
        core.batches.count.Partial or None
            ``None`` when there is no row.

        Raises
        ------
        DataError
            The first error a partition's counting raised (the loader's class and message).
        """
        from pyspark.sql import functions as F

        from slicewise.core.batches.plan import numbering_of

        names = [self._spark_names[c] for c in plan.count_columns]
        bins = dict(getattr(plan, "bins", ()))
        if self._groups_pay(plan.count_columns, bins):
            grouped = grouped_rows(self._frame, names, self._bins(names, bins))
        else:  # mostly distinct rows: a shuffle would cost more than it merges
            grouped = self._frame.select(*names, F.lit(1).cast("long").alias("_n"), MID)
        pair = [self._spark_names[c] for c in (plan.mapping.label, plan.mapping.prediction)
                if c in plan.count_columns]  # fmt: skip
        if plan.task.kind == "text" and pair:
            # Transcripts are compared once per distinct pair of a batch: a pair's rows
            # together (one partition, sorted) make each batch hold few pairs.
            grouped = grouped.repartition(*pair).sortWithinPartitions(*pair)
        run = _partition_counter(
            plan, names, {s: n for n, s in self._spark_names.items()}, self.kind,
            self._positions, numbering_of(self),
        )  # fmt: skip
        with quiet():
            blobs = [r[0] for r in grouped.mapInPandas(run, "blob binary").collect()]
        total = None
        for blob in blobs:
            status, value = pickle.loads(blob)
            if status == "error":
                raise value
            total = value if total is None else total + value
        if progress is not None:
            progress(self._rows, self._rows)
        return total

    def close(self) -> None:
        """Forget the frame (the session stays for later sources in this process)."""
        self._frame = None


def as_read(frame: pd.DataFrame, back: dict[str, str], kind: str) -> pd.DataFrame:
    """Rename Spark's ``c0..`` columns by ``back``; hold text as the pandas reader (``str``)."""
    frame = frame.rename(columns=back)
    for c in frame.columns:
        if frame[c].dtype == object and (kind == "csv" or frame[c].map(_is_text_or_missing).all()):
            frame[c] = frame[c].astype("str")
    return frame


def _partition_counter(
    plan: Any,
    names: list[str],
    back: dict[str, str],
    kind: str,
    positions: Positions,
    numbering: RowNumbers,
) -> Any:
    """Return the ``mapInPandas`` function counting one partition's grouped rows.

    It closes over plain, picklable values only (never the session). Each partition yields
    one row: ``pickle(("ok", Partial))``, or ``pickle(("error", DataError))`` so that the
    driver raises the loader's own error instead of a Python worker's traceback.
    """

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from slicewise.core.batches.count import count_batch
        from slicewise.core.errors import DataError

        total = None
        for frame in batches:
            if not len(frame):
                continue
            rows = as_read(frame[names].reset_index(drop=True), back, kind)
            batch = Batch(
                rows,
                frame["_n"].to_numpy(np.int64),
                positions.of(frame[MID].to_numpy()),
            )
            try:
                part = count_batch(batch, plan, numbering)
            except DataError as exc:
                yield pd.DataFrame({"blob": [pickle.dumps(("error", exc))]})
                return
            total = part if total is None else total + part
        if total is not None:
            yield pd.DataFrame({"blob": [pickle.dumps(("ok", total))]})

    return run


def _collected(spark: Any, frame: Any) -> Iterator[pd.DataFrame]:
    """Bring ``frame``'s rows to the driver in pieces of :data:`BATCH_ROWS`, memory bounded.

    In local mode Spark writes them to a temporary Parquet folder (in parallel) that
    pyarrow reads back piece by piece, part files in partition order; on a cluster, whose
    files the driver may not see, they come through Spark's local iterator.
    """
    import shutil
    import tempfile
    from pathlib import Path

    with quiet():
        local = str(spark.conf.get("spark.master", "")).startswith("local")
        if not local:
            rows = []
            for row in frame.toLocalIterator(prefetchPartitions=True):
                rows.append(tuple(row))
                if len(rows) == BATCH_ROWS:
                    yield pd.DataFrame.from_records(rows, columns=frame.columns)
                    rows = []
            if rows:
                yield pd.DataFrame.from_records(rows, columns=frame.columns)
            return
        import pyarrow.parquet as pq

        folder = tempfile.mkdtemp(prefix="slicewise-spark-")
        try:
            frame.write.mode("overwrite").parquet(folder)
            for part in sorted(Path(folder).glob("part-*.parquet")):
                for piece in pq.ParquetFile(part).iter_batches(BATCH_ROWS):
                    yield piece.to_pandas()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _is_text_or_missing(v: Any) -> bool:
    """Whether ``v`` is a string or missing (a column pandas would read as text)."""
    return v is None or isinstance(v, str) or (isinstance(v, float) and np.isnan(v))


def _last_position(total: int, blank_positions: np.ndarray) -> int:
    """Return the position of the last row that is not blank."""
    last = total - 1
    blank = set(int(p) for p in blank_positions)
    while last in blank:
        last -= 1
    return last
