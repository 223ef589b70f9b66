"""Spark's id check decides as the loader does (trimmed text, missing-value texts as missing).

The cases are the streaming engine's (tests/test_engine_stream_ids.py); the planner's
re-read of a small file is switched off so Spark's own answer decides.
"""

from __future__ import annotations

import pandas as pd
import pytest
from spark_fixture import spark_fixture  # noqa: F401  (the fixture "spark")
from test_engine_stream_ids import _cases, _table

from slicewise.core.analysis import analyze
from slicewise.core.batches.count import analyze_source
from slicewise.core.dataset import load_dataset
from slicewise.core.engine_spark import SparkSource
from slicewise.core.errors import DataError

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(("cells", "repeats"), _cases())
def test_spark_ids_repeat_exactly_when_the_loader_says(
    spark, cells, repeats, kind, tmp_path, monkeypatch
):
    import slicewise.core.batches.refusals as refusals

    monkeypatch.setattr(refusals, "RELOAD_ROWS", 0)
    path = tmp_path / f"ids.{kind}"
    df = _table(cells)
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    try:
        expected = analyze(load_dataset(path, na_values=("NA",)))
    except DataError as exc:
        expected = exc
    assert isinstance(expected, DataError) == repeats  # the loader's verdict, as the case says
    source = SparkSource(str(path), spark=spark)
    if repeats:
        with pytest.raises(DataError, match="repeats ids|missing"):
            analyze_source(source, na_values=("NA",))
    else:
        got = analyze_source(source, na_values=("NA",)).table
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
