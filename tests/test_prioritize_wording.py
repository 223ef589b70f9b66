"""core.prioritize.wording: how slices, rates and baselines are written."""

from __future__ import annotations

import pandas as pd

from slicewise.core.prioritize.wording import (
    baseline_name,
    display_name,
    overall_row,
    pct,
    slice_label,
)


def test_names_and_percentages():
    assert display_name("car_noise") == "Car noise"
    assert slice_label("car_noise", {"kind": "tag"}) == "Car noise"
    assert slice_label("device = old", {"kind": "column"}) == "device = old"
    assert pct(0.1234) == "12.3%" and pct(1) == "100.0%"


def test_the_baseline_is_hlp_unless_the_row_names_another():
    assert baseline_name({}) == "HLP"
    assert baseline_name({"baseline": ""}) == "HLP"
    assert baseline_name({"baseline": "target"}) == "target"


def test_overall_row_is_the_all_data_row_or_nothing():
    table = pd.DataFrame({"kind": ["tag", "overall"], "n": [5, 100]}, index=["noise", "All data"])
    row = overall_row(table)
    assert row.name == "All data" and row["n"] == 100
    assert overall_row(table.iloc[:1]) == {}
    assert overall_row(pd.DataFrame({"n": [3]})) == {}  # no kind: every row is a tag
