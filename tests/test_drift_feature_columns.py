"""core.drift.feature_columns: which columns are features by default, and which look like
identifiers or free text (left out of the default features, named in a note)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.drift import default_features, drift_windows, feature_drift
from slicewise.core.drift.feature_columns import (
    IDENTIFIER_DISTINCT_SHARE,
    IDENTIFIER_MIN_VALUES,
    find_identifier_columns,
)


def _frames(n_ref: int = 60, n_prod: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``audio_path``: a new path on every row; ``colour``: three values, same row count."""
    colours = ["red", "green", "blue"]
    reference = pd.DataFrame(
        {
            "audio_path": [f"clips/ref_{k}.wav" for k in range(n_ref)],
            "colour": [colours[k % 3] for k in range(n_ref)],
        }
    )
    production = pd.DataFrame(
        {
            "audio_path": [f"clips/prod_{k}.wav" for k in range(n_prod)],
            "colour": [colours[k % 3] for k in range(n_prod)],
        }
    )
    return reference, production


def test_the_rule_is_more_than_half_distinct_in_at_least_fifty_values():
    assert (IDENTIFIER_MIN_VALUES, IDENTIFIER_DISTINCT_SHARE) == (50, 0.5)


def test_a_path_column_is_left_out_by_default_with_a_note_naming_it():
    reference, production = _frames()
    table = feature_drift(reference, production, reference_name="ref.csv")
    assert table["feature"].tolist() == ["colour"]
    (note,) = table.attrs["notes"]
    assert note.startswith("'audio_path' not compared: 60 distinct values in 60 rows of ref.csv")
    assert "--feature audio_path" in note


def test_a_path_column_listed_explicitly_is_compared():
    reference, production = _frames()
    table = feature_drift(reference, production, features=["audio_path", "colour"])
    assert sorted(table["feature"]) == ["audio_path", "colour"]
    path = table.set_index("feature").loc["audio_path"]
    # Every reference path has share 1/60 in the reference, 0 in production; every
    # production path 1/40 in production, 0 in the reference: L-infinity = 1/40.
    assert path["kind"] == "categorical"
    assert path["value"] == pytest.approx(1 / 40)
    assert len(path["new_categories"]) == 40
    assert table.attrs["notes"] == []


def test_a_low_cardinality_column_with_the_same_row_count_is_kept():
    reference, production = _frames()
    assert default_features(reference, production) == ["colour"]
    assert default_features(reference, production, identifiers=True) == ["audio_path", "colour"]
    assert list(find_identifier_columns(reference).index) == ["audio_path"]


@pytest.mark.parametrize(
    ("values", "left_out"),
    [
        ([f"p{k}" for k in range(50)], True),  # 50 of 50 distinct: at the minimum
        ([f"p{k}" for k in range(49)], False),  # 49 values: too few to tell
        ([f"p{k}" for k in range(31)] + ["p0"] * 29, True),  # 31 of 60 distinct
        ([f"p{k}" for k in range(30)] + ["p0"] * 30, False),  # 30 of 60: exactly half
        ([f"p{k}" for k in range(40)] + [None] * 20, False),  # 40 present values only
        ([f"p{k}" for k in range(50)] + [None] * 20, True),  # missing cells not counted
        ([str(k) for k in range(60)], False),  # numbers: compared over quantile bins
        (list(np.linspace(0, 1, 60)), False),  # numeric dtype
        ([f"  p{k % 25}" for k in range(60)], False),  # 25 distinct after trimming
    ],
    ids=[
        "50-of-50",
        "49-of-49",
        "31-of-60",
        "30-of-60",
        "40-present",
        "50-present-of-70",
        "numeric-text",
        "floats",
        "trimmed",
    ],
)
def test_identifier_rule_by_distinct_share_and_minimum(values, left_out):
    reference = pd.DataFrame({"x": values})
    found = find_identifier_columns(reference)
    assert ("x" in found.index) is left_out
    if left_out:
        present = [v for v in values if v is not None]
        assert found.loc["x", "n_values"] == len(present)
        assert found.loc["x", "n_distinct"] == len({str(v).strip() for v in present})


def test_a_production_file_without_the_identifier_column_is_not_refused():
    reference, production = _frames()
    table = feature_drift(reference, production.drop(columns="audio_path"))
    assert table["feature"].tolist() == ["colour"]


def test_the_default_features_of_each_window_leave_out_the_identifier_too():
    reference, production = _frames(60, 60)
    windows = drift_windows(reference, production, time_column=None, window="30 rows")
    assert set(windows["feature"]) == {"colour"}
