"""Reading the cells of a column (core.column_parsing): booleans, tags, numbers, missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.column_parsing import (
    _text_hashes,
    all_distinct,
    dictionary_coded,
    mask_na_tokens,
    missing_mask,
    parse_boolean_column,
    parse_human_accuracy,
    parse_score,
    parse_tags_column,
    says_no,
    trim_text,
    typed_metadata,
    writes_no,
)
from slicewise.core.errors import InvalidValueError
from slicewise.core.values import read_numbers


def test_x_and_blank_read_as_true_and_false():
    col = pd.Series(["x", None, "x", ""], name="night")
    out = parse_boolean_column(col, file="f.csv", name="night")
    assert out.tolist() == [True, False, True, False]


def test_a_value_that_is_no_boolean_is_named_with_its_row():
    col = pd.Series(["yes", "maybe", "no"], name="night")
    # Position 1 is CSV line 3 (the header is line 1).
    with pytest.raises(InvalidValueError, match=r"tag column 'night' holds 'maybe' in row 3"):
        parse_boolean_column(col, file="f.csv", name="night")


def test_a_tags_column_becomes_one_boolean_column_per_tag():
    tags = parse_tags_column(pd.Series(["rain; night", None, "rain"]))
    assert list(tags.columns) == ["night", "rain"]
    assert tags.to_numpy().tolist() == [[True, True], [False, False], [False, True]]


def test_only_explicit_no_values_say_no():
    assert writes_no(["yes", "no"]) and not writes_no(["x"])
    assert says_no(pd.Series(["x", None])) is False
    assert says_no(pd.Series([True, False])) is True


def test_a_decimal_comma_score_is_read_when_every_cell_fits_it():
    out = parse_score(pd.Series(["0,85", "0,5", None]), file="f.csv", column="score")
    np.testing.assert_array_equal(out.to_numpy(), [0.85, 0.5, np.nan])


def test_an_infinite_score_is_refused():
    with pytest.raises(InvalidValueError, match="scores must be finite numbers"):
        parse_score(pd.Series(["0.5", "inf"]), file="f.csv", column="score")


def test_a_human_accuracy_above_one_is_refused_as_a_percent():
    with pytest.raises(InvalidValueError, match=r"holds '95' in row 2.*write 95% as 0.95"):
        parse_human_accuracy(pd.Series(["95"]), file="f.csv", column="acc")


def test_declared_missing_texts_are_blanked_only_where_declared():
    df = pd.DataFrame({"a": ["NA", "x", " NA "], "n": [-999.0, 1.0, 2.0]})
    out = mask_na_tokens(df, ("NA", "-999"))
    assert out["a"].isna().tolist() == [True, False, True]
    assert out["n"].isna().tolist() == [True, False, False]
    assert mask_na_tokens(df, ()) is df


def test_missing_means_missing_or_blank():
    assert missing_mask(pd.Series([" ", "a", None, ""])).tolist() == [True, False, True, True]


def test_numeric_metadata_becomes_numbers_codes_stay_text():
    warnings: list[str] = []
    kw = {"file": "f.csv", "decimal": None, "thousands": None, "warnings": warnings}
    amounts = typed_metadata(pd.Series(["1,5", "2,25"], name="amount"), **kw)
    assert amounts.tolist() == [1.5, 2.25]
    counts = typed_metadata(pd.Series(["3", "40"], name="n"), **kw)
    assert counts.dtype == np.int64 and counts.tolist() == [3, 40]
    codes = typed_metadata(pd.Series(["007", "010"], name="zip"), **kw)
    assert codes.tolist() == ["007", "010"]
    assert warnings == []


@pytest.mark.parametrize(
    ("cells", "dtype"),
    [
        (["ex-1", "ex-2", "ex-10"], "str"),  # Arrow-backed text: Arrow's hash kernel
        (["ex-1", "ex-2", "ex-1"], "str"),
        (["a", "A", "a "], "str"),  # compared exactly: three ids
        (["7", "07", "007", "7"], "str"),
        ([1, 2, 3], "int64"),  # pandas' hash table
        ([1, 2, 1], "int64"),
        (["a", "b", "b"], object),
        (["a", None, "b"], "str"),  # missing: False, the caller checks the kept rows
    ],
)
def test_all_distinct_is_no_value_repeating(cells, dtype):
    values = pd.Series(cells, dtype=dtype)
    # Independent: a Python set of the cells, and no missing cell.
    expected = len(set(cells)) == len(cells) and None not in cells
    assert all_distinct(values) is expected


def test_all_distinct_over_chunked_arrow_text():
    import pyarrow as pa

    chunks = pa.chunked_array([["a", "b"], ["c", "a"]], type=pa.large_string())
    repeated = pd.Series(pd.arrays.ArrowStringArray(chunks))
    assert all_distinct(repeated) is False
    assert all_distinct(repeated.iloc[:3]) is True


@pytest.mark.parametrize(
    "cells",
    [
        ["abcdefgh", "abcdefghi", "abcdefgh"],  # a full word, then a byte more: a repeat
        ["abcdefgh", "abcdefghi", "abcdefg"],
        ["é", "e\u0301", "ü" * 9, "ü" * 9],  # multi-byte letters, 18 bytes: three words
        ["x" * 70, "x" * 71, "x" * 70],  # past 64 bytes: the hash table path
        ["", "a", "a\x00"],  # a NUL byte is part of the id
    ],
)
@pytest.mark.parametrize("kind", ["string", "large_string"])
def test_all_distinct_reads_arrow_buffers(cells, kind):
    import pyarrow as pa

    arr = pa.chunked_array([cells[:1], cells[1:]], type=getattr(pa, kind)())
    # Sliced: the second chunk's offsets start inside its buffers.
    values = pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string()))).iloc[0:]
    expected = len(set(cells)) == len(cells)  # independent: a Python set
    assert all_distinct(values) is expected
    sliced = pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string()).slice(1)))
    assert all_distinct(sliced) is (len(set(cells[1:])) == len(cells[1:]))
    hashes = _text_hashes(arr)  # the file's own type (32-bit offsets for "string")
    if max(map(len, cells)) <= 64:
        assert len(set(hashes.tolist())) == len(set(cells))


@pytest.mark.parametrize("repeat", [False, True])
def test_all_distinct_checks_colliding_hashes_exactly(monkeypatch, repeat):
    # Every hash equal: the answer comes from the exact check of the suspects alone.
    import slicewise.core.column_parsing as cp

    monkeypatch.setattr(cp, "_text_hashes", lambda arr, max_bytes=64: np.zeros(len(arr), "u8"))
    cells = ["a", "b", "c", "a" if repeat else "d"]
    assert cp.all_distinct(pd.Series(cells, dtype="str")) is (not repeat)


def test_text_hashes_differ_exactly_where_strings_do():
    import pyarrow as pa

    cells = [f"ex-{i}" for i in range(5000)] + ["ex-17", "ex-170", "ex-1700"]
    hashes = _text_hashes(pa.chunked_array([cells], type=pa.large_string()))
    # Equal strings, equal hashes; these distinct ones (lengths 4 to 7 bytes) do not collide.
    assert hashes[5000] == hashes[17] and hashes[5001] == hashes[170]
    assert len(set(hashes.tolist())) == 5000


@pytest.mark.parametrize(
    "cells",
    [
        ["0.5", "0.25", "0.5", None],  # clean: returned as it is
        [" 0.5", "0.25 ", "", None],  # spaces and a blank cell: trimmed, blank missing
        ["a", " b", "a"],
    ],
)
def test_trim_text_with_the_dictionary_encoding_matches_without(cells):
    text = pd.Series(cells, dtype="str")
    coded = dictionary_coded(text)
    # Independent: strip every cell, then a blank cell is missing.
    expected = [None if c is None or not c.strip() else c.strip() for c in cells]
    for out in (trim_text(text, coded), trim_text(text)):
        assert [None if pd.isna(v) else v for v in out] == expected


@pytest.mark.parametrize(
    ("cells", "floats"),
    [
        (["0.5", "1e-3", "-2", None, "0.5"], [0.5, 0.001, -2.0, np.nan, 0.5]),
        (["1", "x", "2"], None),  # not numbers: text
    ],
)
def test_read_numbers_reuses_a_given_dictionary_encoding(cells, floats):
    text = pd.Series(cells, dtype="str")
    fmt, values = read_numbers(text, coded=dictionary_coded(text))
    plain_fmt, plain_values = read_numbers(text)
    assert fmt == plain_fmt
    if floats is None:
        assert values is None and plain_values is None
    else:
        np.testing.assert_array_equal(values, floats)
        np.testing.assert_array_equal(plain_values, floats)


@pytest.mark.parametrize("dtype", ["str", object, "string"])
def test_a_score_with_spaces_and_blank_cells_reads_the_same_in_every_text_dtype(dtype):
    raw = pd.Series([" 0.5", "0.25 ", "  ", None, "1"], dtype=dtype)
    out = parse_score(raw, file="f.csv", column="score")
    np.testing.assert_array_equal(out.to_numpy(), [0.5, 0.25, np.nan, np.nan, 1.0])


def test_dictionary_coded_is_none_for_text_it_cannot_encode():
    assert dictionary_coded(pd.Series(["a"], dtype=object)) is None
    assert dictionary_coded(pd.Series([None, None], dtype="str")) is None


@pytest.mark.parametrize(
    ("cells", "fmt", "bad"),
    [
        (["0,5", "0,25", "N/A", "1,0"], {"decimal": ","}, ["'N/A' in row 4"]),
        (["1.234,5", "12,0", "high", "x"], {"decimal": ",", "thousands": "."}, ["'high'", "'x'"]),
        (["0,5", "0,75", "0.25", "n/a"], {"decimal": ","}, ["'0.25', 'n/a' in rows 4, 5"]),
        (["0,5", "0.25"], {"decimal": ","}, ["'0,5' in row 2"]),  # a tie: plain, as before
        (["0,5", "1,25"], {"thousands": ","}, ["'0,5'", "'1,25'"]),  # no thousands grouping
    ],
)
def test_a_score_in_the_format_given_names_only_the_cells_that_format_cannot_read(cells, fmt, bad):
    with pytest.raises(InvalidValueError) as got:
        parse_score(pd.Series(cells, dtype=object), file="f.csv", column="score", **fmt)
    message = str(got.value)
    for part in bad:
        assert part in message
    good = [c for c in cells if all(f"'{c}'" not in p for p in bad)]
    assert not any(f"'{c}'" in message for c in good)  # readable cells are not blamed
