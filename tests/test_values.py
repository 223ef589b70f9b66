"""Tests for core.values: the rules for missing cells, ids, classes and numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dataset import dataset_from_frame, load_dataset
from core.values import (
    COMMON_NA_TOKENS,
    NumberFormat,
    as_text,
    canonical_classes,
    class_key,
    class_keys,
    infer_number_format,
    parse_na_values,
    read_numbers,
    to_numbers,
)


@pytest.mark.parametrize(("a", "b"), [
    ("1", "1.0"), ("1", "+1"), ("1", "1e0"), ("1.5", "1.50"), ("0", "-0"), ("0", "0.0"),
    ("100", "1e2"), (".5", "0.5"), ("true", "TRUE"), ("True", "1"), ("yes", "1"),
    ("no", "false"), ("No", "0"), (" cat ", "cat"),
])
def test_cells_naming_one_class_share_a_key(a, b):
    assert class_key(a) == class_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("01", "1"), ("007", "7"), ("07", "007"), ("Cat", "cat"), ("NA", ""), ("1.5", "1.5.0"),
    ("0x1", "1"), ("1,5", "1.5"), ("9007199254740993", "9007199254740992"), ("y", "yes"),
])
def test_cells_naming_different_classes_have_different_keys(a, b):
    assert class_key(a) != class_key(b)


def test_missing_keys_stay_missing():
    assert class_keys(pd.Series(["a", None], dtype=object)).tolist() == ["a", None]


@pytest.mark.parametrize(("value", "text"), [
    (7, "7"), (7.0, "7"), (0.1, "0.1"), (True, "true"), (np.int64(3), "3"), ("007", "007"),
    (" a ", "a"), ("NA", "NA"), (float("nan"), None), (None, None), ("", None), ("  ", None),
])
def test_as_text_writes_cells_as_a_person_types_them(value, text):
    assert as_text(pd.Series([value], dtype=object)).iloc[0] == text


def test_as_text_keeps_blank_as_empty_transcript_when_asked():
    out = as_text(pd.Series(["", None, " a"], dtype=object), keep_blank=True)
    assert out.tolist() == ["", "", "a"]


def test_canonical_classes_shows_the_most_frequent_spelling_across_columns():
    label = pd.Series(["1.0", "yes", "0"], dtype=object)
    pred = pd.Series(["1", "1", "false"], dtype=object)
    out = canonical_classes({"label": label, "prediction": pred})
    # key "1": "1" twice, "1.0" once, "yes" once -> "1"; key "0": "0" and "false" tie -> "0"
    assert out["label"].tolist() == ["1", "1", "0"]
    assert out["prediction"].tolist() == ["1", "1", "0"]


# The property the issue asks for: whether a row is correct looks at its two cells only.
TOKENS = ["1", "01", "1.0", "+1", "true", "TRUE", "yes", "no", "0", "0.0", "NA", "None", "cat",
          "Cat", "007", "7", "1e0", "-0", "nan", " x", "x"]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(TOKENS)), min_size=1,
                max_size=6),
       st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(TOKENS)), max_size=6))
def test_adding_unrelated_rows_never_changes_whether_a_row_is_correct(rows, others):
    def correct(pairs):
        frame = pd.DataFrame(pairs, columns=["label", "prediction"], dtype=object)
        ds = dataset_from_frame(frame)
        return (ds.frame["label"] == ds.frame["prediction"]).tolist()

    alone = correct(rows)
    assert correct(rows + others)[:len(rows)] == alone
    assert correct(others + rows)[len(others):] == alone
    # and the rule is the documented one: equal class keys
    assert alone == [class_key(a) == class_key(b) for a, b in rows]


@pytest.mark.parametrize(("cells", "expected"), [
    (["0.5", "1", "-2.25"], [0.5, 1, -2.25]),
    (["0,85", "1", "2,5"], [0.85, 1, 2.5]),
    (["1.234,5", "12,25", "999"], [1234.5, 12.25, 999]),
    (["1,234.5", "12.25"], [1234.5, 12.25]),
    (["1 234,5", "12,5"], [1234.5, 12.5]),
    (["1\u00a0234,5", "12,5"], [1234.5, 12.5]),
])
def test_infer_number_format_reads_each_regional_spelling(cells, expected):
    fmt = infer_number_format(pd.Series(cells))
    assert isinstance(fmt, NumberFormat)
    assert to_numbers(pd.Series(cells), fmt).tolist() == expected


@pytest.mark.parametrize(("cells", "expected"), [
    (["1,234", "2,000"], "ambiguous"),  # 1234 or 1.234
    (["007", "12"], None),  # a leading zero: codes, not numbers
    (["a", "1"], None),
    (["1,5", "x"], None),
])
def test_infer_number_format_declines_text_and_ambiguity(cells, expected):
    assert infer_number_format(pd.Series(cells)) == expected


def test_given_number_format_reads_what_inference_calls_ambiguous():
    cells = pd.Series(["1,234", "2,000"])
    fmt = infer_number_format(cells, thousands=",")
    assert to_numbers(cells, fmt).tolist() == [1234.0, 2000.0]
    fmt = infer_number_format(cells, decimal=",")
    assert to_numbers(cells, fmt).tolist() == [1.234, 2.0]


@pytest.mark.parametrize(("spec", "tokens"), [
    (None, ()), ("", ()), ("NA", ("NA",)), ("NA, N/A ,", ("NA", "N/A")),
    ("common", COMMON_NA_TOKENS),
])
def test_parse_na_values(spec, tokens):
    assert parse_na_values(spec) == tokens


def test_score_with_decimal_comma_is_read_in_a_semicolon_file():
    data = b"label;prediction;score\na;a;0,9\nb;a;0,25\n"
    ds = load_dataset(data, name="eu.csv")
    assert ds.frame["score"].tolist() == [0.9, 0.25]


NUMBER_TOKENS = ["1", "-2", "+3", "0", "-0", "0.5", ".5", "5.", "1e3", "1E-3", "-.5e2", "007",
                 "00.5", "1_000", "nan", "inf", "-inf", "Infinity", "0x1f", " 1", "1 ", "",
                 None, "1,5", "1.000,5", "١٢", "1e", "e1", "+", "-", ".", "1.2.3"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NUMBER_TOKENS), min_size=1, max_size=6))
def test_fast_number_path_agrees_with_the_full_rules(cells):
    # The Arrow fast path (str dtype) must decide and parse exactly as the rules do.
    fast = read_numbers(pd.Series(cells, dtype="str"))
    slow_fmt = infer_number_format(pd.Series([c for c in cells if c is not None],
                                             dtype=object))
    assert fast[0] == slow_fmt
    if isinstance(slow_fmt, NumberFormat):
        expected = to_numbers(pd.Series(cells, dtype=object), slow_fmt)
        np.testing.assert_array_equal(fast[1], expected)


@pytest.mark.parametrize("cells", [[None, None], ["", "  "], []])
def test_canonical_classes_of_columns_with_no_class(cells):
    out = canonical_classes({"label": pd.Series(cells, dtype=object)})
    assert out["label"].tolist() == [None] * len(cells)
