"""The streaming engine's value counts: each column's distinct values and their rows.

:class:`ValueCounts` is a part of :class:`core.engine_stream.source.StreamSource`: the
planner asks a source for the values of the columns that may be tags or slices
(:meth:`value_counts`), and for a sliced column's values over the rows the loader keeps
(:meth:`value_counts_except`). A cheap estimate first keeps columns of millions of values
from being grouped; one scan with a grouping set per column counts the rest exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.engine_stream.opening import ident

#: A column counted with at most this many values groups cheaply (:meth:`_all_narrow`).
NARROW_VALUES = 1_000
#: Rows past which the distinct-value estimate guarding a grouping reads a 1% sample.
SAMPLE_FROM = 1_000_000
#: Estimated value patterns (of all the columns asked) up to which the few-valued ones are
#: counted in one grouping; a long tail the estimate misses only adds groups.
PATTERN_GROUPS = 5_000


class ValueCounts:
    """Value counts of a :class:`~core.engine_stream.source.StreamSource`.

    They use its plumbing: ``_check``, ``_fetch``, ``_arrow``, ``_frame``, ``_con``,
    ``_dtypes``, ``parquet``, ``count_rows`` and the cache ``_counts``.
    """

    _counts: dict[str, tuple[pd.Series | None, int]]
    _dtypes: dict[str, Any]
    _con: Any
    parquet: bool

    def value_counts(self, columns: Sequence[str], limit: int) -> dict[str, pd.Series | None]:
        """Return each column's distinct values (missing left out) with their row counts.

        A Series per column (index: the values as the reader holds them, most frequent
        first; values: int64 counts), or ``None`` for a column with more than ``limit``
        distinct values. One scan estimates every column's distinct count (DuckDB's
        ``approx_count_distinct``), so that no column far over ``limit`` is grouped; one
        more counts the others exactly (grouping sets). Missing: NULL (and NaN).
        """
        columns = self._check(columns)
        out: dict[str, pd.Series | None] = {}
        asked = []
        for c in columns:  # answered from an earlier count where it can be
            known, was = self._counts.get(c, (None, -1))
            if known is not None:
                out[c] = known if len(known) <= limit else None
            elif was >= limit:
                out[c] = None
            else:
                asked.append(c)
        if not asked:
            return out
        small, counted = asked, dict.fromkeys(asked)  # the limit is the rows: no estimate
        few = False
        if limit < self.count_rows():
            small, single, few = self._estimate(asked, limit)
            counted.update(single)
        counted.update(self._patterns(small, limit) if few else self._counted(small, "t0", limit))
        for c, got in counted.items():
            self._counts[c] = (got, limit)
        out.update(counted)
        return {c: out[c] for c in columns}

    def _estimate(
        self, columns: list[str], limit: int
    ) -> tuple[list[str], dict[str, pd.Series], bool]:
        """Return the columns worth grouping, the columns of one value counted, and how.

        How: whether the first are so few-valued that grouping them all together pays.

        Parquet first: each text column's least and greatest cell and present cells, which
        DuckDB reads from the file's statistics; a column whose least cell is its greatest
        holds that one value (a tag written ``x`` or left empty) and is counted so. Of the
        rest one scan estimates the distinct values (of a 1% sample past
        :data:`SAMPLE_FROM` rows: fewer than the whole holds, so a column may be grouped
        that then proves past ``limit``): those near ``limit`` or below are returned to be
        grouped. When the same scan estimates at most :data:`PATTERN_GROUPS` patterns of
        values over them all, one grouping of them all counts them (:meth:`_patterns`).
        """
        single: dict[str, pd.Series] = {}
        text = [c for c in columns if pd.api.types.is_string_dtype(self._dtypes.get(c, object))]
        if self.parquet and text:
            parts = [
                f"min({ident(c)}) AS {ident(c)}, max({ident(c)}) AS __hi{i}, "
                f"count({ident(c)})::BIGINT AS __n{i}"
                for i, c in enumerate(text)
            ]
            found = self._arrow(f"SELECT {', '.join(parts)} FROM t0")
            typed = self._frame(found.select(text))
            for i, c in enumerate(text):
                n = found[f"__n{i}"][0].as_py()
                if n and found[c][0].as_py() == found[f"__hi{i}"][0].as_py():
                    index = pd.Index(typed[c])
                    single[c] = pd.Series([n], index=index, dtype=np.int64, name="count")
        rest = [c for c in columns if c not in single]
        if not rest:
            return [], single, False
        # Only a guard against grouping a column of millions of values (the grouping then
        # counts exactly): past SAMPLE_FROM rows a 1% sample of the file's vectors says so.
        # No seed: a repeatable sample is drawn on one thread.
        sample = " USING SAMPLE 1% (system)" if self.count_rows() > SAMPLE_FROM else ""
        each = ", ".join(f"approx_count_distinct({ident(c)})" for c in rest)
        together = f"approx_count_distinct(hash({', '.join(ident(c) for c in rest)}))"
        *approx, patterns = self._fetch(f"SELECT {each}, {together} FROM t0{sample}")[0]
        small = [c for c, e in zip(rest, approx, strict=True) if e <= 1.2 * limit + 100]
        return small, single, len(small) > 1 and patterns <= PATTERN_GROUPS

    def _patterns(self, columns: list[str], limit: int) -> dict[str, pd.Series | None]:
        """Count each column's present values from one grouping of them all (few values).

        Each column's counts are the sums over the groups of its values: as exact as a
        grouping set per column, in one hash table of the value patterns.
        """
        out: dict[str, pd.Series | None] = dict.fromkeys(columns)
        cols = ", ".join(ident(c) for c in columns)
        found = self._frame(
            self._arrow(f"SELECT {cols}, count(*)::BIGINT AS __n FROM t0 GROUP BY ALL")
        )
        for c in columns:
            got = found.groupby(c, dropna=True, sort=False)["__n"].sum()
            if len(got) > limit:
                continue
            got = got.sort_values(ascending=False, kind="stable")
            out[c] = pd.Series(got.to_numpy(dtype=np.int64), index=got.index, name="count")
        return out

    def value_counts_except(
        self, columns: Sequence[str], *, like: Sequence[str], positions: np.ndarray
    ) -> dict[str, pd.Series]:
        """Each column's value counts over the rows unlike the rows at ``positions``.

        A row is left out when its cells in ``like`` equal (a missing cell equal to a
        missing one) those of a row at one of the 0-based ``positions``: the rows the
        loader left out, found by a grouped pass over ``like``. Series as
        :meth:`value_counts` gives them, every value kept. One scan: an anti join on
        ``like`` (``IS NOT DISTINCT FROM``), then a grouping set per column.
        """
        columns = self._check(columns)
        like = self._check(like)
        import pyarrow as pa

        wanted = pa.table({"__p": pa.array(np.unique(positions), pa.int64())})
        on = " AND ".join(f"t0.{ident(c)} IS NOT DISTINCT FROM lost.{ident(c)}" for c in like)
        keys = ", ".join(ident(c) for c in like)
        rows = (
            f"(SELECT t0.* FROM t0 ANTI JOIN (SELECT DISTINCT {keys} FROM t SEMI JOIN "
            f"__lost ON t.__row = __lost.__p) lost ON {on or 'true'})"
        )
        self._con.register("__lost", wanted)
        try:
            return self._counted(columns, rows, None)
        finally:
            self._con.unregister("__lost")

    def _counted(
        self, columns: list[str], rows: str, limit: int | None
    ) -> dict[str, pd.Series | None]:
        """Count each column's present values over ``rows`` (SQL) in one scan.

        A grouping set per column; ``None`` for a column past ``limit`` distinct values.
        """
        import pyarrow.compute as pc

        out: dict[str, pd.Series | None] = dict.fromkeys(columns)
        if not columns:
            return out
        cols = [ident(c) for c in columns]
        sets = ", ".join(f"({c})" for c in cols)
        flags = ", ".join(f"grouping({c}) AS __g{i}" for i, c in enumerate(cols))
        found = self._arrow(
            f"SELECT {', '.join(cols)}, {flags}, count(*)::BIGINT AS __n FROM {rows} "
            f"GROUP BY GROUPING SETS ({sets})"
        )
        for i, c in enumerate(columns):
            # Each column's own rows (the others' rows hold NULL in it), then its dtype.
            mine = found.filter(pc.equal(found[f"__g{i}"], 0)).select([c, "__n"])
            got = self._frame(mine)
            got = got[got[c].notna()]
            if limit is not None and len(got) > limit:
                continue
            got = got.sort_values("__n", ascending=False, kind="stable")
            out[c] = pd.Series(
                got["__n"].to_numpy(dtype=np.int64), index=pd.Index(got[c]), name="count"
            )
        return out

    def approx_distinct(self, column: str) -> int:
        """Return DuckDB's estimate of the distinct present values of ``column`` (a few %)."""
        (column,) = self._check([column])
        return int(self._fetch(f"SELECT approx_count_distinct({ident(column)}) FROM t0")[0][0])
