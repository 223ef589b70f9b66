"""Typed input errors.

Every problem with a user's file or options is raised as a subclass of
:class:`DataError`. The CLI turns it into one line on stderr and exit code 2;
a page turns it into ``st.error``. Messages name the file, the column and
example rows, and say how to fix the problem.
"""

from __future__ import annotations

from collections.abc import Sequence


class DataError(ValueError):
    """Base class of every input problem Slicewise reports to a user."""


class EmptyFileError(DataError):
    """The file has no bytes, no header or no data rows."""


class FileFormatError(DataError):
    """The file cannot be parsed (binary data, wrong delimiter, bad encoding)."""


class EncodingError(FileFormatError):
    """The text is not in the encoding given or detected."""


class MissingColumnError(DataError):
    """A required column is absent or cannot be detected."""


class AmbiguousColumnError(DataError):
    """Several columns could fill one role; the user must choose."""


class DuplicateColumnError(DataError):
    """Two columns share a name (or a name is blank)."""


class DuplicateIdError(DataError):
    """The id column holds the same id on more than one row."""


class MissingValuesError(DataError):
    """Labels or predictions are missing in some rows."""


class InvalidValueError(DataError):
    """A value or option is not allowed (e.g. a positive class that never occurs)."""


class StoreError(DataError):
    """A request to the store names something that does not exist or clashes."""


def format_rows(rows: Sequence[int], *, limit: int = 5) -> str:
    """Return a short human list of 1-based file row numbers, e.g. ``"rows 3, 7 and 2 more"``.

    ``rows`` are 0-based positions in the data; the file row is position + 2
    because line 1 is the header.
    """
    shown = [str(int(r) + 2) for r in list(rows)[:limit]]
    more = len(rows) - len(shown)
    word = "row" if len(rows) == 1 else "rows"
    text = f"{word} {', '.join(shown)}"
    if more > 0:
        text += f" and {more} more"
    return text
