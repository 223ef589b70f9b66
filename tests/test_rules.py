"""Rules on metadata (core.rules): each operator on each kind of column, AND of conditions,
missing cells, and typed errors that name the column.

Expected masks are worked out by hand from the six-row table below (comments show how).
"""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from slicewise.core import rules
from slicewise.core.errors import DataError, InvalidValueError, MissingColumnError
from slicewise.core.rules import Condition, condition_mask, describe_rule, rule_mask


@pytest.fixture
def frame() -> pd.DataFrame:
    #            row:   0          1          2        3        4          5
    return pd.DataFrame(
        {
            "device": ["car_kit", " car_kit ", "ios", "Android", None, "car_kit"],
            "snr_db": [2.5, 7.0, 4.0, np.nan, 12.0, 5.0],
            "count": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
            "note": ["x", "", None, "loud car", "Car horn", "quiet"],
            "code": ["10", "9", "abc", "100", None, "9"],  # text that mostly parses as numbers
            "flag": [True, False, True, False, True, False],
        }
    )


def _rows(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


@pytest.mark.parametrize(
    ("condition", "rows"),
    [
        # text: spaces stripped, case kept, missing never equal nor unequal
        (Condition("device", "==", "car_kit"), [0, 1, 5]),
        (Condition("device", "==", " car_kit"), [0, 1, 5]),
        (Condition("device", "!=", "car_kit"), [2, 3]),  # row 4 (missing) excluded
        (Condition("device", "==", "android"), []),  # == is case-sensitive
        # numbers: NaN never matches
        (Condition("snr_db", "<", "5"), [0, 2]),  # 2.5, 4.0
        (Condition("snr_db", "<=", "5"), [0, 2, 5]),  # + 5.0
        (Condition("snr_db", ">", "5"), [1, 4]),  # 7.0, 12.0
        (Condition("snr_db", ">=", "7"), [1, 4]),
        (Condition("snr_db", "==", "5.0"), [5]),
        (Condition("snr_db", "!=", "5"), [0, 1, 2, 4]),  # row 3 (NaN) excluded
        (Condition("count", ">", "3"), [3, 4, 5]),  # nullable ints, row 2 missing
        (Condition("count", "==", " 2 "), [1]),
        # text that parses as numbers compares as numbers for order; non-numbers never match
        (Condition("code", ">", "9"), [0, 3]),  # 10, 100 (text order: "9" > "10")
        (Condition("code", "<=", "9"), [1, 5]),
        (Condition("code", "==", "9"), [1, 5]),  # equality stays textual
        # contains / regex: case-insensitive, any column as text
        (Condition("note", "contains", "car"), [3, 4]),
        (Condition("note", "contains", "."), []),  # literal, not a regex
        (Condition("note", "regex", "^(loud|quiet)"), [3, 5]),
        (Condition("snr_db", "contains", "2"), [0, 4]),  # "2.5", "12.0"
        # booleans compare as text
        (Condition("flag", "==", "True"), [0, 2, 4]),
        # missing cells: blank text is a value, None/NaN is missing
        (Condition("note", "is missing"), [2]),
        (Condition("note", "is not missing"), [0, 1, 3, 4, 5]),
        (Condition("snr_db", "is missing", "ignored"), [3]),
    ],
)
def test_each_operator_matches_the_hand_worked_rows(frame, condition, rows):
    assert _rows(condition_mask(frame, condition)) == rows


@pytest.mark.parametrize(
    ("conditions", "rows"),
    [
        ([], [0, 1, 2, 3, 4, 5]),  # no rule
        ([Condition("device", "==", "car_kit")], [0, 1, 5]),
        # car_kit rows 0, 1, 5 with snr 2.5, 7.0, 5.0: below 6 → rows 0 and 5
        ([Condition("device", "==", "car_kit"), Condition("snr_db", "<", "6")], [0, 5]),
        # and a note that is not missing: row 0 "x", row 5 "quiet" → both stay
        (
            [
                Condition("device", "==", "car_kit"),
                Condition("snr_db", "<", "6"),
                Condition("note", "is not missing"),
            ],
            [0, 5],
        ),
        # order does not matter
        ([Condition("snr_db", "<", "6"), Condition("device", "==", "car_kit")], [0, 5]),
        # contradictory conditions keep nothing
        ([Condition("device", "==", "ios"), Condition("device", "==", "car_kit")], []),
    ],
)
def test_conditions_combine_with_and(frame, conditions, rows):
    mask = rule_mask(frame, conditions)
    assert mask.dtype == bool and len(mask) == len(frame)
    assert _rows(mask) == rows
    expected = np.ones(len(frame), dtype=bool)  # the same AND computed one mask at a time
    for c in conditions:
        expected &= condition_mask(frame, c)
    assert (mask == expected).all()


@pytest.mark.parametrize(
    ("condition", "error", "message"),
    [
        (Condition("snr_db", ">", "loud"), InvalidValueError, "column 'snr_db' holds numbers"),
        (Condition("count", "==", "two"), InvalidValueError, "column 'count' holds numbers"),
        (Condition("snr_db", ">", "nan"), InvalidValueError, "'nan' is not a number"),
        (Condition("note", "regex", "(["), InvalidValueError, "column 'note': '([' is not a valid"),
        (Condition("note", "regex", "a" * 201), InvalidValueError, "longer than 200"),
        (Condition("note", "like", "x"), InvalidValueError, "unknown operator 'like'"),
        (Condition("colour", "==", "red"), MissingColumnError, "names column 'colour'"),
    ],
)
def test_a_bad_condition_is_a_typed_error_naming_the_file_and_column(
    frame, condition, error, message
):
    with pytest.raises(error) as info:
        rule_mask(frame, [Condition("device", "==", "ios"), condition], source="speech.csv")
    assert isinstance(info.value, DataError)
    assert str(info.value).startswith("speech.csv: ")
    assert message in str(info.value)


def test_user_text_is_never_evaluated(frame):
    # a value that would run code if evaluated is compared as text and matches nothing
    payload = "__import__('os').system('echo hacked')"
    assert not rule_mask(frame, [Condition("note", "==", payload)]).any()
    assert not rule_mask(frame, [Condition("note", "contains", payload)]).any()


@pytest.mark.parametrize(
    ("condition", "complete"),
    [
        (Condition("device", "==", "ios"), True),
        (Condition("device", "==", "  "), False),
        (Condition("device", "is missing"), True),
        (Condition("", "==", "x"), False),
    ],
)
def test_a_condition_is_complete_when_it_has_what_its_operator_needs(condition, complete):
    assert condition.complete is complete


def test_describe_rule_and_the_docstring_examples():
    assert describe_rule([]) == "all examples"
    assert describe_rule([Condition("a", "==", "1"), Condition("b", "is missing")]) == (
        "a == 1 AND b is missing"
    )
    assert doctest.testmod(rules).failed == 0
