"""Slice names, written once in core.slice_names and used by both engines.

The names below are worked out by hand. The engine test's file (12 rows):

    row  age  floors  device   device = ios (a tag)
    1    1    1       ios      yes
    2    2    2       android  yes
    3    3    1       (blank)  no
    4    4    2       ios      no
    5    5    1       android  no
    6    6    2       ios      no
    7    7    1       android  no
    8    8    2       ios      no
    9    9    1       (blank)  no
    10   10   2       android  no
    11   11   1       ios      no
    12   12   2       ios      no

``age`` has 12 values > 4 bins: numpy's linear quantiles of 1..12 at 0, 1/4, 1/2, 3/4, 1 sit at
positions 11·q = 0, 2.75, 5.5, 8.25, 11, so the edges are 1, 3.75, 6.5, 9.25, 12 and the bins
hold rows 1-3, 4-6, 7-9, 10-12 (the last closed on both sides, so 12 is in it). ``floors`` has
2 values (one slice each); ``device`` has android (rows 2, 5, 7, 10), ios (1, 4, 6, 8, 11, 12)
and two blank cells (3, 9). The tag ``device = ios`` (rows 1, 2) keeps its name, so the value
slice ``device = ios`` becomes ``device = ios (2)``; the 10 rows without the tag are ``No tag``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core import metrics
from slicewise.core.dataset import load_dataset
from slicewise.core.metrics import build_slices
from slicewise.core.slice_names import (
    MISSING,
    bin_slice_names,
    format_edges,
    missing_slice_name,
    tag_slice_names,
    unique_name,
    value_slice_name,
)

# --------------------------------------------------------------------------- the forms


def test_a_value_slice_is_column_equals_value_as_python_writes_it():
    assert value_slice_name("device", "ios") == "device = ios"
    assert value_slice_name("floors", 3) == "floors = 3"
    assert value_slice_name("floors", np.int64(3)) == "floors = 3"
    assert value_slice_name("ratio", 2.5) == "ratio = 2.5"
    assert value_slice_name("ratio", 3.0) == "ratio = 3.0"
    assert value_slice_name("vip", True) == "vip = True"
    assert value_slice_name("my col", "a = b") == "my col = a = b"


def test_a_missing_slice_is_column_equals_missing():
    assert MISSING == "(missing)"
    assert missing_slice_name("device") == "device = (missing)"
    # A text value "(missing)" reads the same; unique_name tells them apart.
    assert value_slice_name("device", "(missing)") == missing_slice_name("device")
    assert unique_name(missing_slice_name("device"), {"device = (missing)"}) == (
        "device = (missing) (2)"
    )


def test_bins_are_closed_on_the_left_and_the_last_on_both_sides():
    assert bin_slice_names("age", [0.0, 10.0, 20.0, 30.0]) == [
        "age in [0, 10)",
        "age in [10, 20)",
        "age in [20, 30]",
    ]
    assert bin_slice_names("age", np.array([1.0, 3.75, 6.5])) == [
        "age in [1, 3.75)",
        "age in [3.75, 6.5]",
    ]
    assert bin_slice_names("age", [1.0, 2.0]) == ["age in [1, 2]"]
    assert bin_slice_names("age", [5.0]) == []  # one edge: no bin
    assert bin_slice_names("age", []) == []


def test_edges_are_written_as_short_as_keeps_them_distinct():
    assert format_edges([2019.0, 2020.0]) == ["2019", "2020"]
    assert format_edges([1.7e9, 1.8e9]) == ["1700000000", "1800000000"]
    assert format_edges([0.0, 1 / 3, 2 / 3]) == ["0", "0.333", "0.667"]  # 3 digits at least
    assert format_edges([1.0001, 1.0002]) == ["1.0001", "1.0002"]  # 5 digits to differ
    assert format_edges([-2.5, 0.125]) == ["-2.5", "0.125"]
    assert format_edges([]) == []


def test_format_edges_is_still_importable_from_core_metrics():
    assert metrics.format_edges is format_edges


def test_tag_names_and_unique_name_are_still_here():
    names = tag_slice_names(["All data", "noisy"])
    assert names == {"All data": "All data (tag)", "noisy": "noisy"}
    assert unique_name("a", {"a", "a (2)"}) == "a (3)"


# --------------------------------------------------------------------------- both engines


def _file(tmp_path):
    n = 12
    device = ["ios", "android", "", "ios", "android", "ios", "android", "ios", "", "android"]
    df = pd.DataFrame(
        {
            "label": list("abab" * 3),
            "prediction": list("aabb" * 3),
            "age": range(1, n + 1),
            "floors": [1, 2] * 6,
            "device": device + ["ios", "ios"],
            "device = ios": ["yes", "yes"] + ["no"] * (n - 2),
        }
    )
    path = tmp_path / "names.csv"
    df.to_csv(path, index=False)
    return path


EXPECTED = {  # name: (kind, n)
    "device = ios": ("tag", 2),
    "age in [1, 3.75)": ("column", 3),
    "age in [3.75, 6.5)": ("column", 3),
    "age in [6.5, 9.25)": ("column", 3),
    "age in [9.25, 12]": ("column", 3),
    "floors = 1": ("column", 6),
    "floors = 2": ("column", 6),
    "device = android": ("column", 4),
    "device = ios (2)": ("column", 6),
    "device = (missing)": ("column", 2),
}
SLICE_BY = ["age", "floors", "device"]


def test_build_slices_names_the_slices_by_hand(tmp_path):
    membership, info = build_slices(load_dataset(_file(tmp_path)), slice_by=SLICE_BY, bins=4)
    assert info.index.tolist() == list(EXPECTED)  # tags, then each column's values in order
    assert info["kind"].tolist() == [kind for kind, _ in EXPECTED.values()]
    assert membership.sum().to_dict() == {name: n for name, (_, n) in EXPECTED.items()}


def test_both_engines_give_the_same_slice_names(tmp_path):
    pytest.importorskip("duckdb")
    from engines import assert_same

    table = assert_same(_file(tmp_path), slice_by=SLICE_BY, bins=4)
    assert isinstance(table, pd.DataFrame), table
    assert set(table.index) == {"All data", "No tag", *EXPECTED}
    for name, (kind, n) in EXPECTED.items():
        assert table.loc[name, ["kind", "n"]].tolist() == [kind, n], name
    assert table.loc["No tag", "n"] == 10
