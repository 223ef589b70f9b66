"""core.drift.windows: drift and accuracy per time window, empty windows, bad timestamps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from slicewise.core.drift import (
    MIN_WINDOW_ROWS,
    WINDOW_COLUMNS,
    WindowSpec,
    drift_windows,
    parse_timestamps,
)
from slicewise.core.errors import InvalidValueError, MissingColumnError

REFERENCE = pd.DataFrame({"colour": ["red", "red", "blue", "blue"], "label": list("yyyy")})


def _production():
    # day 1: red, red (L-infinity 0.5; accuracy 1/2); day 2: nothing;
    # day 3: red, blue, blue, green (L-infinity 0.25; accuracy 3/3, one label missing)
    return pd.DataFrame(
        {
            "t": [
                "2024-01-03 09:00",
                "2024-01-01 10:00",
                "2024-01-03 11:00",
                "2024-01-01 23:59",
                "2024-01-03 12:00",
                "2024-01-03 18:30",
            ],
            "colour": ["red", "red", "blue", "red", "blue", "green"],
            "label": ["y", "y", "n", "y", None, "y"],
            "prediction": ["y", "y", "n", "n", "y", "y"],
        }
    )


def test_daily_windows_measure_each_day_against_the_reference():
    table = drift_windows(
        REFERENCE,
        _production(),
        time_column="t",
        window="1d",
        label="label",
        prediction="prediction",
        min_rows=1,  # judge even these tiny windows
    )
    assert tuple(table.columns) == WINDOW_COLUMNS
    assert table["window"].tolist() == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert table["feature"].unique().tolist() == ["colour"]  # time, label, prediction left out
    assert table["window_start"].tolist() == [
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-01-02"),
        pd.Timestamp("2024-01-03"),
    ]
    assert table["window_end"].iloc[0] == pd.Timestamp("2024-01-02")
    assert table["n"].tolist() == [2, 0, 4]
    assert table["value"].iloc[0] == pytest.approx(0.5)
    assert table["value"].iloc[2] == pytest.approx(0.25)
    assert table["crossed"].tolist() == [True, False, True]
    assert table["accuracy"].iloc[0] == pytest.approx(0.5)
    assert table["accuracy"].iloc[2] == pytest.approx(1.0)
    assert table["n_labelled"].tolist() == [2, 0, 3]


def test_an_empty_window_is_listed_with_n_zero_and_a_note():
    table = drift_windows(REFERENCE, _production(), time_column="t", window="1d")
    empty = table.iloc[1]
    assert empty["n"] == 0 and empty["note"] == "no rows in this window"
    assert math.isnan(empty["value"]) and not empty["crossed"]
    assert math.isnan(empty["accuracy"])


@pytest.mark.parametrize(
    ("min_rows", "crossed", "too_few"),
    [
        (None, [False, False, False], [True, False, True]),  # the default, 30: none judged
        (4, [False, False, True], [True, False, False]),  # day 3 holds 4 rows: judged
        (3, [False, False, True], [True, False, False]),
        (2, [True, False, True], [False, False, False]),
    ],
    ids=["default", "four", "three", "two"],
)
def test_a_window_with_too_few_rows_gets_a_note_and_never_crosses(min_rows, crossed, too_few):
    options = {} if min_rows is None else {"min_rows": min_rows}
    table = drift_windows(REFERENCE, _production(), time_column="t", window="1d", **options)
    assert MIN_WINDOW_ROWS == 30
    # Day 1 (2 rows) moved 0.5, day 3 (4 rows) 0.25: both past the default 0.1.
    assert table["value"].tolist()[::2] == pytest.approx([0.5, 0.25])
    assert table["crossed"].tolist() == crossed
    notes = table["note"].tolist()
    assert [n.startswith("too few rows to judge") for n in notes] == too_few
    assert notes[1] == "no rows in this window"
    if too_few[0]:
        assert f"fewer than {min_rows or 30}" in notes[0] and "2 with a value" in notes[0]


def test_a_week_window_holds_every_row():
    table = drift_windows(REFERENCE, _production(), time_column="t", window="7d")
    assert table["n"].tolist() == [6]
    # red 3/6, blue 2/6, green 1/6 against red 1/2, blue 1/2: largest change 1/6
    assert table["value"].iloc[0] == pytest.approx(1 / 6)


def test_row_windows_follow_time_order():
    table = drift_windows(REFERENCE, _production(), time_column="t", window="2 rows")
    assert table["window"].tolist() == ["rows 1-2", "rows 3-4", "rows 5-6"]
    # in time order: red, red | red, blue | blue, green
    assert table["value"].tolist() == pytest.approx([0.5, 0.0, 0.5])
    assert table["window_start"].iloc[1] == pd.Timestamp("2024-01-03 09:00")


def test_row_windows_without_a_time_column_follow_file_order():
    table = drift_windows(REFERENCE, _production(), time_column=None, window=4)
    assert table["n"].tolist() == [4, 2]
    # file order: red, red, blue, red (red 3/4) | blue, green
    assert table["value"].tolist() == pytest.approx([0.25, 0.5])
    assert table["window_start"].isna().all()


def test_rows_without_a_timestamp_are_left_out_with_a_note():
    production = _production()
    production.loc[0, "t"] = None
    table = drift_windows(REFERENCE, production, time_column="t", window="7d")
    assert table["n"].tolist() == [5]
    assert "1 row without a timestamp" in table.attrs["notes"][0]


@pytest.mark.parametrize(
    ("cells", "rows"),
    [
        (["2024-01-01", "yesterday", "2024-01-03", "13/45/2024"], "rows 3, 5"),
        (["2024-01-01", "2024-01-02", "2024-02-30"], "row 4"),
        (["2024-01-01", "not a date"], "row 3"),
    ],
    ids=["words-and-impossible", "no-such-day", "one"],
)
def test_a_timestamp_that_does_not_parse_names_file_column_and_rows(cells, rows):
    production = pd.DataFrame({"t": cells, "colour": ["red"] * len(cells)})
    with pytest.raises(InvalidValueError) as info:
        drift_windows(
            REFERENCE, production, time_column="t", window="1d", production_name="prod.csv"
        )
    message = str(info.value)
    assert "prod.csv" in message and "'t'" in message and rows in message


def test_a_time_column_missing_from_production_is_named():
    with pytest.raises(MissingColumnError, match="prod.csv: no time column 'when'"):
        drift_windows(REFERENCE, _production(), time_column="when", production_name="prod.csv")


def test_a_duration_window_needs_a_time_column():
    with pytest.raises(InvalidValueError, match="needs a time column"):
        drift_windows(REFERENCE, _production(), time_column=None, window="7d")


@pytest.mark.parametrize(
    ("text", "duration", "rows"),
    [
        ("7d", pd.Timedelta(days=7), None),
        ("1D", pd.Timedelta(days=1), None),
        ("12h", pd.Timedelta(hours=12), None),
        ("2w", pd.Timedelta(weeks=2), None),
        ("30min", pd.Timedelta(minutes=30), None),
        ("500", None, 500),
        ("500 rows", None, 500),
        (250, None, 250),
    ],
)
def test_window_spec_reads_durations_and_row_counts(text, duration, rows):
    spec = WindowSpec.parse(text)
    assert spec.duration == duration and spec.rows == rows


@pytest.mark.parametrize("text", ["weekly", "0d", "0", "7 parsecs", ""])
def test_window_spec_refuses_anything_else(text):
    with pytest.raises(InvalidValueError, match="window"):
        WindowSpec.parse(text)


def test_hourly_windows_start_at_the_first_hour():
    production = pd.DataFrame(
        {"t": ["2024-01-01 10:15", "2024-01-01 12:40"], "colour": ["red", "blue"]}
    )
    table = drift_windows(REFERENCE, production, time_column="t", window="1h")
    assert table["window"].tolist() == ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 12:00"]
    assert table["n"].tolist() == [1, 0, 1]


def test_parse_timestamps_keeps_typed_datetimes():
    values = pd.Series(pd.to_datetime(["2024-01-01", None]), name="t")
    parsed = parse_timestamps(values)
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01") and pd.isna(parsed.iloc[1])
    assert np.issubdtype(parsed.dtype, np.datetime64)
