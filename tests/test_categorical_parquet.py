"""Parquet files with categorical (dictionary-encoded) columns load and analyse on every engine.

pandas writes a ``Categorical`` as an Arrow dictionary column; pandas calls such a column a
string dtype, but it has no Arrow text behind it, so the loader keeps it typed as read.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.batches.count import analyze_source
from slicewise.core.dataset import load_dataset
from slicewise.core.engine_stream import open_source

LABELS = ["a", "b", "a", "b", "a", "a"]
PREDICTIONS = ["a", "a", "a", "b", "b", "a"]
DEVICES = ["ios", "web", "ios", "web", "web", "ios"]


def _pandas_categorical(path):
    pd.DataFrame(
        {"label": LABELS, "prediction": PREDICTIONS, "device": pd.Categorical(DEVICES)}
    ).to_parquet(path)


def _arrow_dictionary(path):
    table = pa.table(
        {
            "label": pa.array(LABELS).dictionary_encode(),
            "prediction": pa.array(PREDICTIONS).dictionary_encode(),
            "device": pa.array(DEVICES).dictionary_encode(),
        }
    )
    pq.write_table(table, path)


@pytest.mark.parametrize("write", [_pandas_categorical, _arrow_dictionary])
def test_a_categorical_slice_column_gives_hand_worked_accuracies(tmp_path, write):
    path = tmp_path / "cat.parquet"
    write(path)
    table = analyze(load_dataset(path), slice_by=["device"])
    # ios rows 0, 2, 5: all correct; web rows 1, 3, 4: only row 3 correct.
    assert table.loc["device = ios", "accuracy"] == pytest.approx(1.0)
    assert table.loc["device = web", "accuracy"] == pytest.approx(1 / 3)
    assert table.loc["All data", "accuracy"] == pytest.approx(4 / 6)


@pytest.mark.parametrize("write", [_pandas_categorical, _arrow_dictionary])
def test_the_streaming_engine_gives_the_same_table(tmp_path, write):
    path = tmp_path / "cat.parquet"
    write(path)
    expected = analyze(load_dataset(path), slice_by=["device"])
    with open_source(path) as source:
        got = analyze_source(source, slice_by=["device"]).table
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12)
