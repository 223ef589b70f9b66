"""Opening a Parquet file for the DuckDB engine: the views ``raw`` and ``src``, a sample.

Columns come in the order, under the names and with the dtypes the pandas loader gives
them (``pd.read_parquet``): a named saved index first, an unnamed one dropped, pandas'
extension dtypes marked (DuckDB reads them otherwise).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from slicewise.core.engine_duckdb.sql import SAMPLE_ROWS, _Column, _ident, _lit
from slicewise.core.errors import EmptyFileError, FileFormatError
from slicewise.core.table_shape import check_names


class _ParquetOpening:
    """Parquet reading of :class:`~core.engine_duckdb.opening._Opening` (a mixin).

    Reads ``path``, ``source_name``, ``_con`` and ``_fetch`` of the file; sets ``columns``.
    """

    def _open_parquet(self) -> pd.DataFrame:
        """Define ``raw`` and ``src`` over a Parquet file; return its first rows as pandas reads.

        Columns in pandas' order (a named saved index first, an unnamed one dropped), named
        with the space around each name removed; pandas extension dtypes are marked
        unsupported (read only if they are not used).

        Raises
        ------
        FileFormatError
            An unreadable Parquet file, or column names the loader refuses.
        EmptyFileError
            A Parquet file without rows.
        """
        pf, meta = self._parquet_file()
        self._con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet({_lit(self.path)})")
        order = _pandas_order(self._fetch("DESCRIBE SELECT * FROM raw"), meta)
        names = [str(r[0]).strip() for r in order]
        check_names(names, self.source_name)
        special = _pandas_extension_columns(meta)
        self.columns = {}
        for (raw, duck, *_), stripped in zip(order, names, strict=True):
            col = _Column(stripped, _ident(raw), str(duck))
            col.unsupported = special.get(raw)
            self.columns[stripped] = col
        select = ", ".join(f"{c.ident} AS {_ident(c.name)}" for c in self.columns.values())
        self._con.execute(f"CREATE VIEW src AS SELECT {select} FROM raw")
        for c in self.columns.values():
            c.ident = _ident(c.name)
        return self._parquet_sample(pf, names)

    def _parquet_file(self) -> tuple[Any, dict]:
        """Open the Parquet file with pyarrow; return it and its pandas metadata.

        Raises
        ------
        FileFormatError
            pyarrow cannot read the file (truncated or damaged).
        """
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
            return pf, pf.schema_arrow.pandas_metadata or {}
        except Exception:  # pyarrow raises many types for corrupt files
            raise FileFormatError(
                f"{self.source_name}: is not a readable Parquet file (truncated or "
                "damaged?); save it again as Parquet or CSV"
            ) from None

    def _parquet_sample(self, pf: Any, names: list[str]) -> pd.DataFrame:
        """Return the first :data:`SAMPLE_ROWS` rows as pandas reads them, columns ``names``.

        Raises
        ------
        EmptyFileError
            The file has no rows.
        """
        batches = pf.iter_batches(batch_size=SAMPLE_ROWS)
        try:
            sample = next(batches).to_pandas()
        except StopIteration:
            raise EmptyFileError(
                f"{self.source_name}: the Parquet file has no rows; add one row per example"
            ) from None
        if any(n is not None for n in sample.index.names):
            sample = sample.reset_index()
        sample.columns = [str(c).strip() for c in sample.columns]
        return sample.reset_index(drop=True)[names]


#: The numpy types of pandas' nullable extension dtypes in a Parquet file's metadata.
_PANDAS_NULLABLE = (
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
)


def _pandas_order(described: list[tuple], meta: dict) -> list[tuple]:
    """Order DuckDB's ``DESCRIBE`` rows as pandas orders the columns of a saved frame.

    An unnamed saved index (``__index_level_0__``) is dropped; a named one becomes the
    first column (pandas' ``reset_index``), per the pandas metadata ``meta``.
    """
    index_cols = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    dropped = {c for c in index_cols if re.fullmatch(r"__index_level_\d+__", c)}
    front = [c for c in index_cols if c not in dropped]
    return [r for r in described if r[0] in front] + [
        r for r in described if r[0] not in front and r[0] not in dropped
    ]


def _pandas_extension_columns(meta: dict) -> dict[Any, str]:
    """Map each column saved with a pandas extension dtype to what it holds (messages).

    Categoricals and nullable dtypes (:data:`_PANDAS_NULLABLE`), which DuckDB reads
    otherwise than the loader.
    """
    special = {}
    for col in meta.get("columns", []):
        ptype, ntype = col.get("pandas_type"), str(col.get("numpy_type"))
        if ptype == "categorical":
            special[col.get("name")] = "a pandas categorical"
        elif ntype in _PANDAS_NULLABLE:
            special[col.get("name")] = f"a pandas {ntype} column"
    return special
