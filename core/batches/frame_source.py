"""A :class:`~core.batches.source.BatchSource` over a table in memory: the reference engine.

:class:`FrameSource` hands over a raw table (as :func:`core.reading.read_table` returns it)
in chunks, optionally merging identical rows of a chunk into one with a weight. It is the
executor the shared counting code is tested with, and the contract other engines
(streaming, Spark) are tested against.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.batches.source import NEAR_EDGE, Batch, Progress
from slicewise.core.column_parsing import is_text, missing_mask
from slicewise.core.errors import RowNumbers


class FrameSource:
    """Serve ``frame`` in batches of ``chunk_rows`` rows (file order), grouped or not.

    Parameters
    ----------
    frame
        The raw table: cells as the pandas reader holds them, the reader's numbering in
        ``frame.attrs`` (:class:`core.errors.RowNumbers`).
    source_name
        The file name messages start with.
    chunk_rows
        Rows per batch (>= 1).
    group
        Merge identical rows of a batch (when the caller allows it).
    warnings
        The reader's warnings (:func:`core.reading.read_table`'s third item).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        source_name: str = "table",
        chunk_rows: int = 100_000,
        group: bool = False,
        warnings: list[str] | None = None,
    ) -> None:
        self.frame = frame.reset_index(drop=True)
        self.source_name = source_name
        self.columns = [str(c) for c in frame.columns]
        numbering = RowNumbers.of_frame(frame)
        self.first_row_number = numbering.first
        self.skipped_rows = numbering.skipped
        self.chunk_rows = max(int(chunk_rows), 1)
        self.group = group
        self.warnings = list(warnings or [])

    def head(self, n: int) -> pd.DataFrame:
        """Return the first ``n`` rows (all columns), in file order."""
        return self.frame.iloc[:n].reset_index(drop=True)

    def count_rows(self) -> int:
        """Return the number of rows."""
        return len(self.frame)

    def value_counts(self, columns: Sequence[str], limit: int) -> dict[str, pd.Series | None]:
        """Each column's distinct present values with their row counts (``None`` past ``limit``)."""
        out: dict[str, pd.Series | None] = {}
        for c in columns:
            counts = self.frame[c].value_counts(dropna=True)
            out[c] = None if len(counts) > limit else counts.astype(np.int64)
        return out

    def value_counts_except(
        self, columns: Sequence[str], *, like: Sequence[str], positions: np.ndarray
    ) -> dict[str, pd.Series]:
        """Each column's value counts over the rows unlike the rows at ``positions``.

        A row is left out when its cells in ``like`` equal (missing equal to missing) those
        of a row at one of the 0-based ``positions``.
        """
        group = self.frame.groupby(list(like), dropna=False, sort=False).ngroup().to_numpy()
        unlike = ~np.isin(group, group[np.asarray(positions, dtype=np.int64)])
        rows = self.frame.loc[unlike]
        return {c: rows[c].value_counts(dropna=True).astype(np.int64) for c in columns}

    def approx_distinct(self, column: str) -> int:
        """Return the number of distinct present values of ``column`` (exact here)."""
        return int(self.frame[column].nunique(dropna=True))

    def repeated(self, column: str, limit: int = 5) -> pd.DataFrame:
        """Values of ``column`` on more than one row: ``value``, ``count``, ``first_rows``."""
        col = self.frame[column]
        dup = col.duplicated(keep=False) & col.notna()
        rows = []
        for value, positions in col[dup].groupby(col[dup], sort=False).groups.items():
            pos = np.sort(np.asarray(positions))
            rows.append({"value": value, "count": len(pos), "first_rows": pos[:5].tolist()})
            if len(rows) >= limit:
                break
        return pd.DataFrame(rows, columns=["value", "count", "first_rows"])

    def missing(self, column: str, limit: int = 5) -> tuple[int, list[int]]:
        """How many cells of ``column`` are missing, and the positions of the first ``limit``.

        Missing as the loader reads a cell (:func:`core.column_parsing.missing_mask`): no
        value, or text that is empty or only whitespace.
        """
        found = np.flatnonzero(missing_mask(self.frame[column]))
        return len(found), found[:limit].tolist()

    def batches(
        self,
        columns: Sequence[str],
        *,
        group: bool,
        progress: Progress | None = None,
        bins: Mapping[str, Sequence[float]] | None = None,
    ) -> Iterator[Batch]:
        """Yield the ``columns`` in chunks; identical rows merged when both sides allow it.

        ``bins`` (``{column: edges}``): when merging, the cells of one bin of a column count
        as one value, the first standing for them (:func:`bin_keys`' rule).
        """
        n = len(self.frame)
        for lo in range(0, n, self.chunk_rows):
            rows = self.frame.iloc[lo : lo + self.chunk_rows][list(columns)]
            if group and self.group:
                yield _grouped(rows, lo, bins or {})
            else:
                first = np.arange(lo, lo + len(rows), dtype=np.int64)
                yield Batch(rows.reset_index(drop=True), None, first)
            if progress is not None:
                progress(min(lo + self.chunk_rows, n), n)


def bin_keys(cells: pd.Series, edges: Sequence[float]) -> np.ndarray:
    """Each cell's bin code when it is binned, else -1 (int64, shape ``(len(cells),)``).

    Binned: a finite number (text: plain dot numbers only, ``-12.5``) not within
    :data:`NEAR_EDGE` (relative) of an edge, where readers differing by an ulp could bin it
    apart; the code is ``np.searchsorted(edges[1:-1], v, "right")`` (``slice_codes``').
    """
    if pd.api.types.is_bool_dtype(cells) or not (
        is_text(cells) or pd.api.types.is_numeric_dtype(cells)
    ):
        return np.full(len(cells), -1, dtype=np.int64)
    if is_text(cells):
        text = cells.astype("string")
        plain = text.str.fullmatch(r"-?[0-9]+(\.[0-9]+)?").fillna(False).to_numpy(dtype=bool)
        values = pd.to_numeric(text.where(plain), errors="coerce").to_numpy(dtype=float)
    else:
        values = cells.to_numpy(dtype=float, na_value=np.nan)
    e = np.asarray(edges, dtype=float)
    with np.errstate(invalid="ignore"):
        near = (np.abs(values[:, None] - e[None, :]) <= NEAR_EDGE * np.abs(e)[None, :]).any(1)
        inside = np.isfinite(values) & ~near
    codes = np.searchsorted(e[1:-1], values, side="right").astype(np.int64)
    return np.where(inside, codes, -1)


def _grouped(
    rows: pd.DataFrame, offset: int, bins: Mapping[str, Sequence[float]] | None = None
) -> Batch:
    """Merge identical rows (missing cells equal), keeping each group's first position."""
    if not len(rows.columns):
        return Batch(
            rows.iloc[:1].reset_index(drop=True), np.array([len(rows)]), np.array([offset])
        )
    keyed = rows.copy(deep=False)
    for c, edges in (bins or {}).items():
        if c in keyed.columns:  # a binned cell's key is its code, another cell's itself
            codes = bin_keys(rows[c], edges)
            keyed[c] = rows[c].astype(object).where(codes < 0, None)
            keyed[f"{c}\0bin"] = codes
    codes = keyed.groupby(list(keyed.columns), dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(rows)), dtype=np.int64).groupby(codes, sort=False).min()
    weights = np.bincount(codes)[first.index.to_numpy()]
    picked = first.to_numpy()
    order = np.argsort(picked, kind="stable")
    picked, weights = picked[order], weights[order]
    return Batch(
        rows.iloc[picked].reset_index(drop=True),
        weights.astype(np.int64),
        (picked + offset).astype(np.int64),
    )
