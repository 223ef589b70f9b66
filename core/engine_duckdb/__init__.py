"""``--engine duckdb``: the old name of the streaming engine, kept for callers of its API.

The DuckDB engine once re-created the loader in SQL. It is now the streaming engine
(:mod:`core.engine_stream`: DuckDB answers the global questions and streams the rows)
running the code every engine runs (:func:`core.batches.count.analyze_source`), so its
table is the pandas engine's by construction, text tasks included. :class:`DuckDBFile` and
:func:`analyze_file_duckdb` keep their signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.baselines import Baseline
from slicewise.core.column_roles import ColumnMapping
from slicewise.core.engine_stream import open_source
from slicewise.core.metrics import DEFAULT_MATRIX_CLASSES, compute_confusion_matrix
from slicewise.core.task import TaskSpec

__all__ = ["DuckDBFile", "analyze_file_duckdb"]


class DuckDBFile:
    """A predictions file opened on the streaming engine, its roles resolved and checked.

    Parameters
    ----------
    path
        A CSV/TSV (gzip too) or Parquet file.
    mapping
        Explicit roles; unset roles are detected as by :func:`core.dataset.load_dataset`.
    sep, memory_limit
        As :func:`core.engine_stream.open_source`.
    missing, na_values, decimal, thousands
        As :func:`core.dataset.load_dataset`.

    Attributes
    ----------
    mapping
        The resolved roles (tags detected on the whole file).
    n_rows, n_kept
        The file's rows, and those kept (not missing a label or prediction).
    warnings
        The reader's and the loader's warnings, as ``load_dataset(...).warnings``.

    Raises
    ------
    DataError
        What the pandas loader raises for the same file, with the same message; what the
        streaming engine cannot read (see :func:`core.engine_stream.open_source`).
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
        from slicewise.core.batches.plan import build_plan

        self._load: dict[str, Any] = dict(
            mapping=mapping,
            missing=missing,
            na_values=tuple(na_values),
            decimal=decimal,
            thousands=thousands,
        )
        self._source = open_source(path, sep=sep, memory_limit=memory_limit)
        try:
            plan = build_plan(self._source, **self._load)
        except BaseException:
            self._source.close()
            raise
        self.source_name = self._source.source_name
        self.mapping = plan.mapping
        self.n_rows, self.n_kept = plan.rows, plan.kept
        self.warnings = [*self._source.warnings, *plan.warnings]
        self._pairs: pd.DataFrame | None = None

    def close(self) -> None:
        """Close the file (and DuckDB's temporary folder)."""
        self._source.close()

    def __enter__(self) -> DuckDBFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def analyze(self, *, task: TaskSpec | None = None, **options: Any) -> pd.DataFrame:
        """Return the ranked table, as :func:`core.analysis.analyze` of the loaded file.

        ``options``: :func:`core.analysis.analyze`'s (``slice_by``, ``bins``, ``hlp``,
        ``importance``, ``ease``, ``tag_scopes``, ``protected``, ``rank_by``, ``baseline``,
        ``max_slices``).
        """
        from slicewise.core.batches.count import analyze_source

        found = analyze_source(self._source, task=task, **options, **self._load)
        self._pairs = found.pairs
        return found.table

    def confusion_pairs(self) -> pd.DataFrame:
        """Rows per (label, prediction) pair of the last :meth:`analyze` (classification).

        The table :func:`core.metrics.compute_confusion_pairs` gives for the loaded frame.

        Raises
        ------
        ValueError
            :meth:`analyze` has not run on a classification or binary task.
        """
        if self._pairs is None:
            raise ValueError("confusion_pairs() needs analyze() of a classification task first")
        return self._pairs

    def confusion_matrix(self, *, max_classes: int = DEFAULT_MATRIX_CLASSES) -> pd.DataFrame:
        """Return :func:`core.metrics.compute_confusion_matrix` of :meth:`confusion_pairs`."""
        return compute_confusion_matrix(pairs=self.confusion_pairs(), max_classes=max_classes)


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
    """Return the error-analysis table of a CSV/TSV or Parquet file, streamed.

    Equals ``core.analysis.analyze(load_dataset(path, mapping, sep=sep, missing=missing,
    na_values=na_values, decimal=decimal, thousands=thousands), task=task, ...)``; memory
    stays within ``memory_limit`` (DuckDB spills to a temporary folder beyond it) plus a
    batch (:data:`core.engine_stream.BATCH_ROWS` rows).

    Raises
    ------
    DataError
        What the pandas engine raises for the same file, with the same message; what the
        streaming engine cannot read (see :func:`core.engine_stream.open_source`).
    """
    from slicewise.core.batches.count import analyze_source

    with open_source(path, sep=sep, memory_limit=memory_limit) as source:
        return analyze_source(
            source,
            task=task,
            slice_by=slice_by,
            bins=bins,
            hlp=hlp,
            importance=importance,
            ease=ease,
            baseline=baseline,
            max_slices=max_slices,
            mapping=mapping,
            missing=missing,
            na_values=tuple(na_values),
            decimal=decimal,
            thousands=thousands,
        ).table
