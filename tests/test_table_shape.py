"""Header, delimiter and field-count checks of text tables (core.table_shape)."""

from __future__ import annotations

import pytest

from slicewise.core.errors import (
    DuplicateColumnError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
)
from slicewise.core.table_shape import (
    check_field_counts,
    check_header_is_names,
    check_names,
    normalize_sep,
    read_header,
    sniff_delimiter,
)


def test_the_delimiter_is_the_one_found_most_outside_quotes():
    assert sniff_delimiter("id;label;prediction") == ";"
    # Two commas inside the quotes, one semicolon outside: the semicolon.
    assert sniff_delimiter('"a,b,c";d') == ";"
    assert sniff_delimiter("label") == ","  # one column: nothing to find


def test_delimiters_given_by_name_or_refused():
    assert normalize_sep("tab", "f") == "\t"
    assert normalize_sep("semicolon", "f") == ";"
    assert normalize_sep("", "f") is None
    with pytest.raises(InvalidValueError, match="'ab' cannot be a delimiter"):
        normalize_sep("ab", "f")


def test_a_short_row_is_reported_with_its_line():
    # Header: 3 fields; line 3 holds 2 (one comma).
    with pytest.raises(FileFormatError, match="the header has 3 fields but line 3 has 2"):
        check_field_counts("a,b,c\n1,2,3\n1,2\n", ",", "f.csv")


def test_quoted_delimiters_and_blank_lines_are_no_extra_fields():
    check_field_counts('a,b\n"1,5",2\n   \n3,4\n', ",", "f.csv")


def test_rows_with_another_delimiter_get_a_hint():
    with pytest.raises(FileFormatError, match="the rows look semicolon-delimited"):
        check_field_counts("a,b\n1;2\n", ",", "f.csv")


def test_names_blank_or_repeated_are_refused_by_position():
    with pytest.raises(DuplicateColumnError, match=r"'a' appears twice \(columns 1 and 3\)"):
        check_names(["a", "b", "a"], "f.csv")
    with pytest.raises(DuplicateColumnError, match="column 2 of the header has no name"):
        check_names(["a", " ", "c"], "f.csv")
    check_names(["a", "", "c"], "f.csv", allow_nameless=True)


def test_a_first_line_of_numbers_is_data_not_a_header():
    with pytest.raises(EmptyFileError, match="looks like data, not column names"):
        check_header_is_names(["1", "0.5", "x"], "f.csv")
    check_header_is_names(["1", "label", "x"], "f.csv")


def test_read_header_of_a_tsv_file_splits_on_tabs():
    assert read_header("id\tlabel, long\n1\ta\n", "f.tsv", None) == ("\t", ["id", "label, long"])
