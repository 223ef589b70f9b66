"""Warnings of a table reader: columns left out for having no name, rows left blank.

Shared by the CSV reader (:mod:`core.reading`) and the sheet reader (:mod:`.xlsx`), so a
file says the same thing whatever its format.
"""

from __future__ import annotations

from collections.abc import Sequence

from slicewise.core.errors import RowNumbers, count_of, format_rows


def column_letter(number: int) -> str:
    """Return a spreadsheet's name of the 1-based column ``number`` (1: A, 27: AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def nameless_columns_note(file: str, columns: Sequence[int], *, letters: bool = False) -> str:
    """Return the warning for columns left out because they have no name and no value.

    ``columns`` are 1-based positions in the header; ``letters`` adds a spreadsheet's
    column letters (``4 (D)``).
    """
    shown = [f"{c} ({column_letter(c)})" if letters else str(c) for c in columns[:5]]
    more = f" and {len(columns) - 5} more" if len(columns) > 5 else ""
    one = len(columns) == 1
    return (
        f"{file}: left out {'column' if one else 'columns'} {', '.join(shown)}{more}: "
        f"{'it has' if one else 'they have'} no name in the header and no value in any "
        "row (trailing delimiters, or empty columns of a spreadsheet)"
    )


def blank_rows_note(file: str, positions: Sequence[int], numbering: RowNumbers) -> str:
    """Return the warning for rows skipped because every cell is blank.

    ``positions`` are the 0-based positions of those rows among the data rows, numbered
    for the message by ``numbering``.
    """
    n = len(positions)
    return (
        f"{file}: skipped {count_of(n, 'row')} where every cell is blank "
        f"({format_rows(positions, numbering=numbering)})"
    )
