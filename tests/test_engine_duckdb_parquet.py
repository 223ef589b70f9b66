"""Parquet files in the DuckDB engine (core/engine_duckdb/parquet.py).

Column order and names are checked against ``pd.read_parquet`` (pandas reading the same
file), and the metadata helpers on hand-written pandas metadata.
"""

import pandas as pd
import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from slicewise.core.engine_duckdb import DuckDBFile  # noqa: E402
from slicewise.core.engine_duckdb.parquet import (  # noqa: E402
    _pandas_extension_columns,
    _pandas_order,
)
from slicewise.core.errors import EmptyFileError, FileFormatError  # noqa: E402

DESCRIBED = [("label", "VARCHAR"), ("key", "BIGINT"), ("__index_level_0__", "BIGINT")]


def test_an_unnamed_saved_index_is_dropped():
    meta = {"index_columns": ["__index_level_0__"]}
    assert _pandas_order(DESCRIBED, meta) == [("label", "VARCHAR"), ("key", "BIGINT")]


def test_a_named_saved_index_comes_first():
    meta = {"index_columns": ["key"]}
    assert [r[0] for r in _pandas_order(DESCRIBED, meta)] == [
        "key",
        "label",
        "__index_level_0__",
    ]
    # A RangeIndex is saved as a dict (no column): the order is the file's.
    assert _pandas_order(DESCRIBED, {"index_columns": [{"kind": "range"}]}) == DESCRIBED


def test_pandas_extension_dtypes_are_named():
    meta = {
        "columns": [
            {"name": "c", "pandas_type": "categorical", "numpy_type": "int8"},
            {"name": "n", "pandas_type": "int64", "numpy_type": "Int64"},
            {"name": "b", "pandas_type": "bool", "numpy_type": "boolean"},
            {"name": "f", "pandas_type": "float64", "numpy_type": "float64"},
        ]
    }
    assert _pandas_extension_columns(meta) == {
        "c": "a pandas categorical",
        "n": "a pandas Int64 column",
        "b": "a pandas boolean column",
    }
    assert _pandas_extension_columns({}) == {}


def test_columns_in_pandas_order_with_names_trimmed(tmp_path):
    df = pd.DataFrame(
        {" label ": ["a", "b", "a"], "prediction": ["a", "a", "b"]},
        index=pd.Index([10, 11, 12], name="key"),
    )
    path = tmp_path / "preds.parquet"
    df.to_parquet(path)
    expected = [str(c).strip() for c in pd.read_parquet(path).reset_index().columns]
    assert expected == ["key", "label", "prediction"]
    with DuckDBFile(path) as f:
        assert list(f.columns) == expected
        assert f.n_rows == 3


def test_a_damaged_parquet_file_is_refused(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    with pytest.raises(FileFormatError, match="is not a readable Parquet file"):
        DuckDBFile(path)


def test_a_parquet_file_without_rows_is_refused(tmp_path):
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"label": pd.Series([], dtype=str), "prediction": []}).to_parquet(path)
    with pytest.raises(EmptyFileError, match="the Parquet file has no rows"):
        DuckDBFile(path)
