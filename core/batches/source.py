"""What an engine provides to the shared counting code: a :class:`BatchSource`.

Slicewise's per-slice metrics all derive from additive counts, so an engine only has to
(1) answer the few *global* questions that need the whole file (:class:`BatchSource`'s
small aggregates) and (2) hand rows over in batches, which the project's own code turns
into outcomes and per-slice counts (:mod:`core.batches.count`), then sum. The pandas
engine, the streaming engine (:mod:`core.engine_stream`, DuckDB and pyarrow on one
machine) and Spark (:mod:`core.engine_spark`) all give the same table this way.

Every ``DataFrame`` a source returns holds the file's cells *as the pandas reader would
hold them* (:func:`core.reading.read_table`): CSV cells as text (a blank cell missing),
Parquet columns with the file's types; column names as in the file's header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

#: How near an edge (relative) a binned value stays its own cell: readers may differ by an
#: ulp, so a cell that close is not binned by any engine (it groups as itself).
NEAR_EDGE = 1e-9

#: ``progress(done, total)``: rows (or batches) done so far, and the total when known.
Progress = Callable[[int, "int | None"], None]


@dataclass
class Batch:
    """A batch of rows for :func:`core.batches.count.count_batch`.

    Attributes
    ----------
    rows
        The cells, one row per distinct row of the batch, columns as the source reads
        them (see the module docstring); default RangeIndex.
    weights
        How many rows of the file each row stands for (int64, shape ``(len(rows),)``),
        ``None`` when each stands for one. A source may group identical rows.
    first_rows
        The 0-based position in the file of the first row each row stands for (int64,
        shape ``(len(rows),)``), for messages that name rows; ``None`` when unknown.
    """

    rows: pd.DataFrame
    weights: np.ndarray | None = None
    first_rows: np.ndarray | None = None


@runtime_checkable
class BatchSource(Protocol):
    """A table an engine can answer global questions about and stream in batches.

    Attributes
    ----------
    source_name
        The file (or table) name that starts every message.
    columns
        The table's column names, in order.
    first_row_number
        The file row number of position 0 in messages (2 for a CSV with a header line, 1
        for Parquet or a table), as :class:`core.errors.RowNumbers` ``first``.
    """

    source_name: str
    columns: list[str]
    first_row_number: int

    def head(self, n: int) -> pd.DataFrame:
        """Return the first ``n`` rows of the table (all columns), in file order."""
        ...

    def count_rows(self) -> int:
        """Return the number of rows."""
        ...

    def value_counts(self, columns: Sequence[str], limit: int) -> dict[str, pd.Series | None]:
        """Each column's distinct values (missing left out) with their row counts.

        Returns a Series per column (index: the values as the reader holds them; values:
        int64 counts; any order), or ``None`` for a column with more than ``limit``
        distinct values.
        """
        ...

    def repeated(self, column: str, limit: int = 5) -> pd.DataFrame:
        """Values of ``column`` that occur on more than one row.

        Returns at most ``limit`` rows with columns ``value``, ``count`` and
        ``first_rows`` (a list of the 0-based positions of up to 5 of its rows).
        """
        ...

    def missing(self, column: str, limit: int = 5) -> tuple[int, list[int]]:
        """Return how many rows of ``column`` are missing, and where the first are.

        The positions are 0-based, of the first ``limit`` missing rows in file order. A cell
        is missing as the loader reads it (:func:`core.column_parsing.missing_mask`): no
        value, or text that is empty or only whitespace.
        """
        ...

    def batches(
        self, columns: Sequence[str], *, group: bool, progress: Progress | None = None
    ) -> Iterator[Batch]:
        """Stream the ``columns`` of every row in batches of bounded size.

        With ``group`` the source may merge identical rows into one with a weight (and
        keep the first position of each); without it, one row per row of the file.
        """
        ...
