"""Run the pandas and DuckDB engines side by side (shared by the engine parity tests)."""

from __future__ import annotations

import pandas as pd

from slicewise.core.analysis import analyze
from slicewise.core.dataset import load_dataset
from slicewise.core.engine_duckdb import analyze_file_duckdb
from slicewise.core.errors import DataError

#: Options that go to the loader; the rest go to ``analyze``.
LOAD_OPTIONS = ("missing", "na_values", "decimal", "thousands")


def both(path, mapping=None, **kwargs):
    """Run both engines with the same options; return (pandas, duckdb): tables or messages."""
    load = {k: kwargs.pop(k) for k in LOAD_OPTIONS if k in kwargs}
    out = []
    for run in (
        lambda: analyze(load_dataset(path, mapping, **load), **kwargs),
        lambda: analyze_file_duckdb(path, mapping, **load, **kwargs),
    ):
        try:
            out.append(run())
        except DataError as exc:
            out.append(str(exc))
    return out


def assert_same(path, mapping=None, **kwargs):
    """Assert both engines give the same table (or message); return the pandas one."""
    expected, got = both(path, mapping, **kwargs)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
    else:
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    return expected
