"""The DuckDB engine's file: :class:`DuckDBFile` and :func:`analyze_file_duckdb`."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core import limits
from slicewise.core.analysis import finish_table
from slicewise.core.baselines import Baseline
from slicewise.core.column_roles import ColumnMapping
from slicewise.core.engine_duckdb.classes import _Classes
from slicewise.core.engine_duckdb.counts import _Counting, _same_members
from slicewise.core.engine_duckdb.ids import _Ids
from slicewise.core.engine_duckdb.numbers import _Numbers
from slicewise.core.engine_duckdb.opening import _Opening
from slicewise.core.engine_duckdb.profile import _Profiling
from slicewise.core.engine_duckdb.slices import _Slicing
from slicewise.core.engine_duckdb.sql import (
    _first_line,
    _lit,
    _Slice,
)
from slicewise.core.engine_duckdb.tags import _Tags
from slicewise.core.errors import (
    DataError,
    FileFormatError,
    InvalidValueError,
)
from slicewise.core.metrics import (
    DEFAULT_MATRIX_CLASSES,
    PAIR_COLUMNS,
    compute_confusion_matrix,
    compute_slice_metrics,
)
from slicewise.core.slice_names import (
    slice_info,
    tag_slice_names,
    unique_name,
)
from slicewise.core.task import TaskSpec

TEXT_TASK_MESSAGE = (
    "--engine duckdb supports classification, binary and regression tasks; "
    "use the pandas engine for text"
)


class DuckDBFile(_Opening, _Profiling, _Ids, _Numbers, _Tags, _Classes, _Slicing, _Counting):
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
