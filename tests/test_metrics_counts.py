"""Tests for core.metrics.counts: per-slice sums and the one ratio of counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

import slicewise.core.metrics as metrics
from slicewise.core.metrics.counts import (
    COUNT_COLUMNS,
    compute_slice_counts,
    exact_counts,
    ratio,
)
from slicewise.core.slice_names import OVERALL, UNTAGGED


def test_ratio_is_nan_where_the_denominator_is_zero():
    got = ratio([1.0, 2.0, 3.0, 1.0], [2.0, 0.0, 4.0, -1.0])
    np.testing.assert_allclose(got, [0.5, np.nan, 0.75, np.nan])


def test_exact_counts_round_float_sums_and_read_nan_as_zero():
    assert exact_counts(np.array([2.9999999, np.nan, 4.2])).tolist() == [3, 0, 4]


def test_slice_counts_sum_each_slice_and_the_untagged_rows():
    membership = pd.DataFrame({"a": [True, False, True]})
    outcomes = pd.DataFrame({"correct": [1.0, 0.0, 1.0], "abs_error": [0.1, 0.2, 0.3]})
    counts = compute_slice_counts(membership, outcomes, tag_columns=["a"])
    assert list(counts.index) == [OVERALL, "a", UNTAGGED]
    assert list(counts.columns) == list(COUNT_COLUMNS)
    # By hand: all data 3 examples, 2 correct, |error| 0.6; the tag 2, 2, 0.4; no tag 1, 0, 0.2.
    assert counts["n"].tolist() == [3, 2, 1]
    assert counts["correct"].tolist() == [2, 2, 0]
    np.testing.assert_allclose(counts["abs_error"], [0.6, 0.4, 0.2], rtol=1e-12)
    assert counts["tp"].tolist() == [0, 0, 0]  # a column the task does not produce


def test_the_package_re_exports_the_rooms_names():
    assert metrics.compute_slice_counts is compute_slice_counts
    assert metrics.COUNT_COLUMNS is COUNT_COLUMNS
