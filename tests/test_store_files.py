"""The store's Parquet files (core.store.files): object text columns read back shared.

A frame's ``object`` text columns (labels, predictions) are read back as Parquet stores them,
dictionary-encoded, and turned into one ``str`` per distinct text: the same cells as
pyarrow's own conversion (the independent path each case is compared with), far fewer
objects. Other ``object`` columns (numbers, dates, bytes with missing cells) keep their
values.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from slicewise.core.store.files import _read_parquet, _text_objects, _write_parquet

CASES = {
    "one chunk": pa.chunked_array([["a", "b", None, "a"]]),
    "new texts in a later chunk": pa.chunked_array([["a", "b", None], ["c", None, "a"]]),
    "large_string": pa.chunked_array([["x", None, "x"]], type=pa.large_string()),
    "all missing": pa.chunked_array([[None, None]], type=pa.string()),
    "empty": pa.chunked_array([], type=pa.string()),
    "dictionary-encoded": pa.chunked_array([pa.array(["b", None, "b", "a"]).dictionary_encode()]),
}


@pytest.mark.parametrize("arr", CASES.values(), ids=CASES.keys())
def test_text_objects_equal_pyarrows_conversion(arr):
    plain = arr.cast(arr.type.value_type) if pa.types.is_dictionary(arr.type) else arr
    expected = plain.to_numpy(zero_copy_only=False)
    got = _text_objects(arr)
    assert got.dtype == object
    assert list(got) == list(expected)


def test_repeated_texts_share_one_object():
    got = _text_objects(pa.chunked_array([["cat", "dog", "cat", "cat"]]))
    assert got[0] is got[2] is got[3]
    assert got[0] == "cat" and got[1] == "dog"


@pytest.mark.parametrize(
    "values",
    [
        ["a", None, "a", "b"],
        [1, None, 3, 4],
        [True, False, None, True],
        [datetime.date(2020, 1, 1), None, datetime.date(2021, 5, 2), datetime.date(2020, 1, 1)],
        [b"x", b"y", None, b"x"],
    ],
    ids=["text", "integers", "booleans", "dates", "bytes"],
)
def test_object_columns_come_back_as_written(tmp_path, values):
    frame = pd.DataFrame(
        {
            "obj": pd.Series(values, dtype=object),
            "text": pd.Series(["p", "q", None, "p"], dtype="str"),
            "n": np.arange(4.0),
        }
    )
    path = tmp_path / "f.parquet"
    _write_parquet(frame, path)
    back = _read_parquet(path)
    assert back["obj"].dtype == object
    assert back["obj"].tolist() == values
    pd.testing.assert_frame_equal(back[["text", "n"]], frame[["text", "n"]])
    # A chosen column only; the object one read alone too.
    assert _read_parquet(path, ["obj"])["obj"].tolist() == values
    assert list(_read_parquet(path, ["n"]).columns) == ["n"]
