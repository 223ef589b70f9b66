"""core.formats.notes: the reader's warnings and spreadsheet column letters, worked by hand."""

from __future__ import annotations

from slicewise.core.errors import RowNumbers
from slicewise.core.formats.notes import blank_rows_note, column_letter, nameless_columns_note


def test_column_letters_count_in_base_26_without_a_zero():
    # A..Z are 1..26; AA = 26 + 1, AZ = 26 + 26, BA = 2·26 + 1, ZZ = 26·26 + 26, AAA = 703.
    assert [column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_nameless_columns_are_named_by_position_and_letter():
    one = nameless_columns_note("book.xlsx", [4], letters=True)
    assert one.startswith("book.xlsx: left out column 4 (D): it has no name")
    many = nameless_columns_note("a.csv", [2, 3, 5, 7, 9, 11, 13])
    assert "left out columns 2, 3, 5, 7, 9 and 2 more: they have no name" in many


def test_blank_rows_are_counted_and_numbered_as_in_the_file():
    # Data rows 0 and 2 under a header on line 1 are the file's rows 2 and 4.
    note = blank_rows_note("a.csv", [0, 2], RowNumbers(first=2))
    assert note == "a.csv: skipped 2 rows where every cell is blank (rows 2, 4)"
