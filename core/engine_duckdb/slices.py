"""Slices in SQL: the slice-by columns' values and quantile bins, as build_slices makes them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from slicewise.core import limits
from slicewise.core.engine_duckdb.sql import (
    _TRIM,
    _Column,
    _dbl,
    _lit,
    _Slice,
)
from slicewise.core.errors import (
    InvalidValueError,
)
from slicewise.core.prepare_steps import metadata_names
from slicewise.core.slice_names import (
    SLICEABLE_ROLES,
    bin_slice_names,
    missing_slice_name,
    slice_by_choices,
    value_slice_name,
)

#: Numeric slice-by columns with fewer distinct values than this are read as a histogram.
_MAX_HISTOGRAM = 1000


class _Slicing:
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
        for c, frame_name in zip(meta, metadata_names(meta, set(taken)), strict=True):
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
        InvalidValueError
            A ``slice_by`` name the file does not have, the id column, or a column type the
            loader reads differently.
        TooManySlicesError
            The columns make more than ``cap`` slices (:func:`core.limits.check_slice_count`).
        """
        if not slice_by:
            return []
        values = self._slice_values(slice_by)
        stats = self._value_counts(values, cap)
        numeric = {n for n, (_, kind) in values.items() if kind in ("int", "float")}
        small = {
            name: (
                f"histogram({expr})"
                if name in numeric
                else f"array_agg(DISTINCT {expr}) FILTER (WHERE {expr} IS NOT NULL)"
            )
            for name, (expr, _) in values.items()
            if name not in numeric or stats[f"approx:{name}"] <= _MAX_HISTOGRAM
        }
        fetched = self._aggregate(small, self.keep)
        order_stats = self._order_statistics(
            {n: (values[n][0], int(stats[f"n:{n}"])) for n in values if n not in small}, bins
        )
        out: list[_Slice] = []
        for name, (expr, kind) in values.items():
            made = len(out)  # slices of the columns before this one
            n_values = int(stats[f"n:{name}"])
            hist = (fetched.get(name) or {}) if name in numeric else {}
            distinct = sorted(hist) if name in numeric else sorted(fetched.get(name) or [])
            if name in numeric and (name not in small or len(distinct) > bins):
                pick = _histogram_pick(hist) if name in small else order_stats[name]
                edges = np.unique(nanquantile_linear(n_values, bins, pick))
                out += _bin_slices(name, f"CAST({expr} AS DOUBLE)", edges)
            else:
                out += _value_slices(name, expr, kind, distinct)
            if n_values < self.n_kept:
                out.append(_Slice(missing_slice_name(name), "column", name, f"{expr} IS NULL"))
            limits.check_slice_count(
                len(out) - made, column=name, source=self.source_name, cap=cap, before=made
            )  # exact, before any is counted
        return out

    def _slice_values(self, slice_by: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Map each slice-by name to the SQL of its value and its loader dtype (``kind``).

        Metadata columns get the loader's dtype first (:meth:`_type_metadata`); text values
        are trimmed, a blank one missing (:func:`core.column_parsing.typed_metadata`).

        Raises
        ------
        InvalidValueError
            No such column (the message lists the choices), the id column, or a column type
            the loader reads differently.
        """
        frame = self._frame_columns()
        plan: dict[str, tuple[str, str, _Column | None]] = {}  # name -> (value SQL, kind)
        to_profile = []
        for name in slice_by:
            if name not in frame:
                if name == "id":
                    raise InvalidValueError(
                        f"{self.source_name}: --engine duckdb cannot slice "
                        "by the id column; use the pandas engine"
                    )
                meta = [n for n, (_, k) in frame.items() if k == "meta"]
                choices = slice_by_choices(meta, columns=frame, mapping=self.mapping)
                raise InvalidValueError(
                    f"{self.source_name}: cannot slice by {name!r}: no such column; columns: "
                    f"{', '.join(map(repr, choices))}"
                )
            expr, kind = frame[name]
            if kind != "meta":
                plan[name] = (expr, kind, None)
                continue
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
        if to_profile:  # the loader's dtypes of metadata columns (numbers read from text)
            self._type_metadata(to_profile)
        values: dict[str, tuple[str, str]] = {}
        for name, (expr, kind, col) in plan.items():
            if col is not None:
                expr, kind = col.value, col.kind
                if kind == "str":  # trimmed, blank missing: core.column_parsing.typed_metadata
                    expr = f"NULLIF(regexp_replace({expr}, {_lit(_TRIM)}, '', 'g'), '')"
            values[name] = (expr, kind)
        return values

    def _value_counts(self, values: Mapping[str, tuple[str, str]], cap: int) -> dict[str, Any]:
        """Count each column's values and estimate its distinct ones over the kept rows.

        The estimate is HyperLogLog (constant memory, a few % off), so a column of ids is
        refused before its values are fetched: numbers are cut into bins, other values are
        one slice each, and well over the cap the estimate's error cannot explain it.

        Raises
        ------
        TooManySlicesError
            A non-numeric column with about more than ``cap`` values.
        """
        aggs = {}
        for name, (expr, _) in values.items():
            aggs[f"n:{name}"] = f"count({expr})"
            aggs[f"approx:{name}"] = f"approx_count_distinct({expr})"
        stats = self._aggregate(aggs, self.keep)
        for name, (_, kind) in values.items():
            about = int(stats[f"approx:{name}"]) + int(stats[f"n:{name}"] < self.n_kept)
            if kind not in ("int", "float") and about > 1.1 * cap:
                limits.check_slice_count(
                    about, column=name, source=self.source_name, cap=cap, about=True
                )
        return stats

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


# ------------------------------------------------------------ slice conditions, quantiles


def _histogram_pick(hist: Mapping[Any, int]) -> Callable[[np.ndarray], np.ndarray]:
    """Return the order-statistic lookup of a column given as value -> rows (a histogram)."""
    keys = np.array(sorted(hist), dtype=float) if hist else np.array([])
    cum = np.cumsum([hist[k] for k in sorted(hist)])

    def pick(idx: np.ndarray) -> np.ndarray:
        return keys[np.searchsorted(cum, idx, side="right")]

    return pick


def _bin_slices(name: str, value: str, edges: np.ndarray) -> list[_Slice]:
    """Slices of the quantile bins ``edges`` of the DOUBLE ``value``, closed on the left.

    Cut as :func:`core.metrics.build_slices` cuts them (interior edges split the values, the
    last bin is closed on both sides) and named by :func:`core.slice_names.bin_slice_names`.
    """
    out = []
    last = len(edges) - 2
    for k, label in enumerate(bin_slice_names(name, edges)):
        cond = [f"{value} IS NOT NULL"]
        if k > 0:
            cond.append(f"{value} >= {_dbl(edges[k])}")
        if k < last:
            cond.append(f"{value} < {_dbl(edges[k + 1])}")
        out.append(_Slice(label, "column", name, " AND ".join(cond)))
    return out


def _value_slices(name: str, expr: str, kind: str, distinct: Sequence[Any]) -> list[_Slice]:
    """One slice per distinct value, in sorted order, named ``<name> = <value>``.

    Named by :func:`core.slice_names.value_slice_name`, as :func:`core.metrics.build_slices`
    names them.
    """
    pyval = {"int": int, "float": float, "bool": bool, "boolobj": bool}.get(kind)
    numeric = f"CAST({expr} AS DOUBLE)" if kind in ("int", "float") else expr
    out = []
    for u in sorted(pyval(x) for x in distinct) if pyval else distinct:
        if isinstance(u, bool):
            cond = expr if u else f"NOT {expr}"
        elif isinstance(u, float):
            cond = f"{numeric} = {_dbl(u)}"
        elif isinstance(u, int):
            cond = f"{expr} = {u}"
        else:
            cond = f"{expr} = {_lit(u)}"
        out.append(_Slice(value_slice_name(name, u), "column", name, cond))
    return out


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
    edges are the same floats as :func:`core.metrics.build_slices` computes.
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
