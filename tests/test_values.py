"""Tests for core.values: the rules for missing cells, ids, classes and numbers."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slicewise.core.dataset import dataset_from_frame, load_dataset
from slicewise.core.values import (
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


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1", "1.0"),
        ("1", "+1"),
        ("1", "1e0"),
        ("1.5", "1.50"),
        ("0", "-0"),
        ("0", "0.0"),
        ("100", "1e2"),
        (".5", "0.5"),
        ("true", "TRUE"),
        ("True", "1"),
        ("yes", "1"),
        ("no", "false"),
        ("No", "0"),
        (" cat ", "cat"),
    ],
)
def test_cells_naming_one_class_share_a_key(a, b):
    assert class_key(a) == class_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("01", "1"),
        ("007", "7"),
        ("07", "007"),
        ("Cat", "cat"),
        ("NA", ""),
        ("1.5", "1.5.0"),
        ("0x1", "1"),
        ("1,5", "1.5"),
        ("9007199254740993", "9007199254740992"),
        ("y", "yes"),
    ],
)
def test_cells_naming_different_classes_have_different_keys(a, b):
    assert class_key(a) != class_key(b)


def test_missing_keys_stay_missing():
    assert class_keys(pd.Series(["a", None], dtype=object)).tolist() == ["a", None]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7, "7"),
        (7.0, "7"),
        (0.1, "0.1"),
        (True, "true"),
        (np.int64(3), "3"),
        ("007", "007"),
        (" a ", "a"),
        ("NA", "NA"),
        (float("nan"), None),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
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
TOKENS = [
    "1",
    "01",
    "1.0",
    "+1",
    "true",
    "TRUE",
    "yes",
    "no",
    "0",
    "0.0",
    "NA",
    "None",
    "cat",
    "Cat",
    "007",
    "7",
    "1e0",
    "-0",
    "nan",
    " x",
    "x",
]


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(TOKENS)), min_size=1, max_size=6),
    st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(TOKENS)), max_size=6),
)
def test_adding_unrelated_rows_never_changes_whether_a_row_is_correct(rows, others):
    def correct(pairs):
        frame = pd.DataFrame(pairs, columns=["label", "prediction"], dtype=object)
        ds = dataset_from_frame(frame)
        return (ds.frame["label"] == ds.frame["prediction"]).tolist()

    alone = correct(rows)
    assert correct(rows + others)[: len(rows)] == alone
    assert correct(others + rows)[len(others) :] == alone
    # and the rule is the documented one: equal class keys
    assert alone == [class_key(a) == class_key(b) for a, b in rows]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["0.5", "1", "-2.25"], [0.5, 1, -2.25]),
        (["0,85", "1", "2,5"], [0.85, 1, 2.5]),
        (["1.234,5", "12,25", "999"], [1234.5, 12.25, 999]),
        (["1,234.5", "12.25"], [1234.5, 12.25]),
        (["1 234,5", "12,5"], [1234.5, 12.5]),
        (["1\u00a0234,5", "12,5"], [1234.5, 12.5]),
    ],
)
def test_infer_number_format_reads_each_regional_spelling(cells, expected):
    fmt = infer_number_format(pd.Series(cells))
    assert isinstance(fmt, NumberFormat)
    assert to_numbers(pd.Series(cells), fmt).tolist() == expected


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1,234", "2,000"], "ambiguous"),  # 1234 or 1.234
        (["007", "12"], None),  # a leading zero: codes, not numbers
        (["a", "1"], None),
        (["1,5", "x"], None),
    ],
)
def test_infer_number_format_declines_text_and_ambiguity(cells, expected):
    assert infer_number_format(pd.Series(cells)) == expected


def test_given_number_format_reads_what_inference_calls_ambiguous():
    cells = pd.Series(["1,234", "2,000"])
    fmt = infer_number_format(cells, thousands=",")
    assert to_numbers(cells, fmt).tolist() == [1234.0, 2000.0]
    fmt = infer_number_format(cells, decimal=",")
    assert to_numbers(cells, fmt).tolist() == [1.234, 2.0]


@pytest.mark.parametrize(
    ("spec", "tokens"),
    [
        (None, ()),
        ("", ()),
        ("NA", ("NA",)),
        ("NA, N/A ,", ("NA", "N/A")),
        ("common", COMMON_NA_TOKENS),
    ],
)
def test_parse_na_values(spec, tokens):
    assert parse_na_values(spec) == tokens


def test_score_with_decimal_comma_is_read_in_a_semicolon_file():
    data = b"label;prediction;score\na;a;0,9\nb;a;0,25\n"
    ds = load_dataset(data, name="eu.csv")
    assert ds.frame["score"].tolist() == [0.9, 0.25]


NUMBER_TOKENS = [
    "1",
    "-2",
    "+3",
    "0",
    "-0",
    "0.5",
    ".5",
    "5.",
    "1e3",
    "1E-3",
    "-.5e2",
    "007",
    "00.5",
    "1_000",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "0x1f",
    " 1",
    "1 ",
    "",
    None,
    "1,5",
    "1.000,5",
    "١٢",
    "1e",
    "e1",
    "+",
    "-",
    ".",
    "1.2.3",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NUMBER_TOKENS), min_size=1, max_size=6))
def test_fast_number_path_agrees_with_the_full_rules(cells):
    # The Arrow fast path (str dtype) must decide and parse exactly as the rules do.
    fast = read_numbers(pd.Series(cells, dtype="str"))
    slow_fmt = infer_number_format(pd.Series([c for c in cells if c is not None], dtype=object))
    assert fast[0] == slow_fmt
    if isinstance(slow_fmt, NumberFormat):
        expected = to_numbers(pd.Series(cells, dtype=object), slow_fmt)
        np.testing.assert_array_equal(fast[1], expected)


@pytest.mark.parametrize("cells", [[None, None], ["", "  "], []])
def test_canonical_classes_of_columns_with_no_class(cells):
    out = canonical_classes({"label": pd.Series(cells, dtype=object)})
    assert out["label"].tolist() == [None] * len(cells)


# --------------------------------------------------------------------------- exact class keys
# Class numbers are compared by exact value (decimal.Decimal is the oracle), never via float.


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("12345678901234567.0", "12345678901234567"),  # 17 digits: float would be right by luck
        ("100e-2", "1"),
        ("1e0", "1"),
        ("1.000", "1"),
        ("1e23", "100000000000000000000000"),  # float(1e23) is 99999999999999991611392
        ("1" + "0" * 50, "1e50"),  # integers longer than the plain window
        ("1e400", "10e399"),
        ("-1.5e-400", "-0.15e-399"),  # beyond float64
        ("-0.0", "0"),
        ("0e999999", "0"),
        ("-.0e-5", "0"),
        ("0.1", "1e-1"),
        (".5", "0.50"),
        ("0.00001", "1e-05"),
    ],
)
def test_numbers_with_one_exact_value_share_a_key(a, b):
    assert Decimal(a) == Decimal(b)  # the oracle agrees with the expectation
    assert class_key(a) == class_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("12345678901234567.0", "12345678901234568"),  # one float64, two numbers
        ("12345678901234567", "12345678901234568"),
        ("0.1", "0.10000000000000001"),  # one float64, two numbers
        ("1e400", "2e400"),  # both inf as floats
        ("1e-400", "0"),  # 0.0 as a float
        ("5e-324", "4e-324"),  # one subnormal float
        ("1e400", "-1e400"),
        ("1e39", "1e40"),  # either side of the plain window's edge
    ],
)
def test_numbers_with_different_exact_values_have_different_keys(a, b):
    assert Decimal(a) != Decimal(b)
    assert class_key(a) != class_key(b)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1.0", "1"),
        ("+1.50", "1.5"),
        ("-.5", "-0.5"),
        ("100e-2", "1"),
        ("1e3", "1000"),
        ("12345678901234567.0", "12345678901234567"),
        ("1e400", "1e+400"),
        ("-1.50e-400", "-1.5e-400"),
        ("1e39", "1" + "0" * 39),
        ("1e40", "1e+40"),
        ("0." + "0" * 38 + "1", "0." + "0" * 38 + "1"),
        ("1e-40", "1e-40"),
    ],
)
def test_a_number_key_is_its_value_written_out(text, key):
    # Written out in full while the leading digit's power of ten is within (-40, 40).
    assert class_key(text) == key


_PLAIN_DECIMAL = re.compile(
    r"[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
    r"|[+-]?\.[0-9]+(?:[eE][+-]?[0-9]+)?"
)
# Digit strings whose neighbours share a float64, and plain ones; exponents around float64's
# limits (1e308, subnormals below 2.2e-308, 5e-324) and the plain window (+-40).
_CORES = [
    "1",
    "5",
    "25",
    "1000",
    "12345678901234567",
    "12345678901234568",
    "9007199254740993",
    "9007199254740992",
    "10000000000000001",
    "100000000000000000000001",
    "3",
]
_EXPONENTS = [
    -420,
    -400,
    -325,
    -324,
    -323,
    -309,
    -308,
    -60,
    -41,
    -40,
    -39,
    -20,
    -17,
    -5,
    -1,
    0,
    1,
    2,
    15,
    16,
    17,
    22,
    39,
    40,
    41,
    60,
    308,
    309,
    400,
]


@st.composite
def _number_texts(draw: st.DrawFn) -> str:
    """One spelling of ``sign core × 10**power``: point moved, exponent, zeros, sign, case."""
    core = draw(
        st.one_of(
            st.sampled_from(_CORES),
            st.from_regex(r"[1-9][0-9]{0,20}", fullmatch=True),
            st.just("0"),
        )
    )
    power = draw(st.one_of(st.sampled_from(_EXPONENTS), st.integers(-45, 45)))
    written = draw(st.one_of(st.just(0), st.integers(-45, 45), st.sampled_from(_EXPONENTS)))
    shift = power - written  # the mantissa is core × 10**shift
    if shift >= 0:
        mantissa = core + "0" * shift if core != "0" else "0"
    else:
        m = -shift
        mantissa = (
            f"{core[:-m]}.{core[-m:]}"
            if m < len(core)
            else draw(st.sampled_from(["0", ""])) + "." + "0" * (m - len(core)) + core
        )
    if "." in mantissa:
        mantissa += "0" * draw(st.integers(0, 3))
    sign = draw(st.sampled_from(["", "", "-", "+"]))
    if written == 0 and draw(st.booleans()):
        return sign + mantissa
    exp = (
        draw(st.sampled_from(["e", "E"]))
        + ("-" if written < 0 else draw(st.sampled_from(["", "+"])))
        + "0" * draw(st.integers(0, 2))
        + str(abs(written))
    )
    return sign + mantissa + exp


@settings(max_examples=300, deadline=None)
@given(st.lists(_number_texts(), min_size=2, max_size=12))
def test_number_keys_are_equal_exactly_when_the_decimal_values_are(texts):
    assert all(_PLAIN_DECIMAL.fullmatch(t) for t in texts)
    keys = class_keys(pd.Series(texts, dtype=object)).tolist()
    # Vectorised keys equal one-at-a-time keys (the Arrow and the per-cell paths agree).
    assert keys == [class_key(t) for t in texts]
    for a, ka in zip(texts, keys, strict=True):
        for b, kb in zip(texts, keys, strict=True):
            assert (ka == kb) == (Decimal(a) == Decimal(b)), (a, b, ka, kb)


# ------------------------------------------------------------------- Unicode in class keys


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("caf\u00e9", "cafe\u0301"),  # composed / decomposed e-acute
        ("\u212b", "\u00c5"),  # ANGSTROM SIGN is A-ring in NFC
        (" cafe\u0301 ", "caf\u00e9"),
    ],
)
def test_class_keys_compare_after_nfc(a, b):
    assert unicodedata.normalize("NFC", a.strip()) == unicodedata.normalize("NFC", b.strip())
    assert class_key(a) == class_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Caf\u00e9", "caf\u00e9"),  # case is not folded
        ("\ufb01", "fi"),  # a ligature is NFKC's business, not NFC's
        ("\uff11", "1"),  # FULLWIDTH DIGIT ONE is text, not the number 1
        ("\u0661", "1"),  # ARABIC-INDIC DIGIT ONE: numbers are ASCII digits
    ],
)
def test_class_keys_do_not_fold_case_or_compatibility_forms(a, b):
    assert class_key(a) != class_key(b)


def test_nfc_spellings_are_one_class_shown_as_most_often_written():
    nfd, nfc = "cafe\u0301", "caf\u00e9"
    label = pd.Series([nfd, nfd, nfc, "tea"], dtype=object)
    pred = pd.Series([nfc, nfd, nfd, "tea"], dtype=object)
    out = canonical_classes({"label": label, "prediction": pred})
    # NFD written 4 times, NFC twice -> every cell of the class shows the NFD spelling as is
    assert out["label"].tolist() == [nfd, nfd, nfd, "tea"]
    assert out["prediction"].tolist() == [nfd, nfd, nfd, "tea"]


EXACT_TOKENS = [
    "caf\u00e9",
    "cafe\u0301",
    "Caf\u00e9",
    "12345678901234567",
    "12345678901234567.0",
    "12345678901234568",
    "1e400",
    "2e400",
    "1e-400",
    "0",
    "1.0",
    "1",
]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(EXACT_TOKENS), st.sampled_from(EXACT_TOKENS)),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.tuples(st.sampled_from(EXACT_TOKENS), st.sampled_from(EXACT_TOKENS)), max_size=5),
)
def test_exact_and_nfc_rows_are_judged_on_their_own_cells(rows, others):
    def correct(pairs):
        frame = pd.DataFrame(pairs, columns=["label", "prediction"], dtype=object)
        ds = dataset_from_frame(frame)
        return (ds.frame["label"] == ds.frame["prediction"]).tolist()

    def same(a, b):  # the documented rule, written independently of core.values
        if _PLAIN_DECIMAL.fullmatch(a) and _PLAIN_DECIMAL.fullmatch(b):
            return Decimal(a) == Decimal(b)
        return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)

    alone = correct(rows)
    assert correct(others + rows)[len(others) :] == alone
    assert alone == [same(a, b) for a, b in rows]


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        (["no", "yes"], "'no', 'yes'"),
        (["a\nb", "c"], "'a\\nb', 'c'"),  # the line break shows escaped: one line
        (["a, b", "c "], "'a, b', 'c '"),
        ([str(i) for i in range(12)], ", ".join(f"'{i}'" for i in range(10))),
    ],
)
def test_classes_text_quotes_each_class_on_one_line(classes, expected):
    from slicewise.core.values import classes_text

    assert classes_text(classes) == expected
    assert "\n" not in classes_text(classes)


def test_positive_class_message_stays_on_one_line_with_a_line_break_in_a_class():
    from slicewise.core.errors import DataError
    from slicewise.core.metrics import compute_outcomes
    from slicewise.core.task import TaskSpec

    frame = pd.DataFrame({"label": ["a\nb", "c"], "prediction": ["c", "c"]})
    with pytest.raises(DataError) as err:
        compute_outcomes(frame, TaskSpec(kind="binary", positive="zzz"))
    assert "\n" not in str(err.value) and "'a\\nb'" in str(err.value)


@pytest.mark.parametrize(
    "cells",
    [
        ["b", "a", None, "b", "c"],
        [None, None, "x"],
        ["x", "y"],
        [None, None],  # no class: pandas' own path
    ],
)
def test_factorize_of_arrow_text_is_pandas_factorize(cells):
    import pyarrow as pa

    from slicewise.core.values import _factorize

    chunks = pa.chunked_array([cells[:1], cells[1:]], type=pa.large_string())
    values = pd.Series(pd.arrays.ArrowStringArray(chunks))
    codes, uniques = _factorize(values)
    # Independent: what each code stands for, against the cells themselves.
    assert [uniques[c] if c >= 0 else None for c in codes] == cells
    assert sorted(uniques) == sorted({c for c in cells if c is not None})
    assert codes.dtype == np.intp
