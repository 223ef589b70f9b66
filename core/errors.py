"""Typed input errors.

Every problem with a user's file or options is raised as a subclass of
:class:`DataError`. The CLI turns it into one line on stderr and exit code 2;
a page turns it into ``st.error``. Messages name the file, the column and
example rows, and say how to fix the problem: rows are numbered as the file
numbers them (:class:`RowNumbers`, :func:`format_rows`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import pandas as pd


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


class UnsupportedRegexError(InvalidValueError):
    """A rule's regex uses a construct the linear-time engine (RE2) cannot run."""


class TooManySlicesError(InvalidValueError):
    """A slice-by column has more values than the cap on slices (``core.limits``)."""


class StoreError(DataError):
    """A request to the store names something that does not exist or clashes.

    The store raises one of its subclasses where one fits (modelled on sqlite-utils'
    ``NotFoundError``): :class:`NotFoundError`, :class:`NameTakenError`,
    :class:`ConflictError`, :class:`StoreValueError`, :class:`UnusableDatabaseError`.
    ``except StoreError`` catches them all.
    """


class NotFoundError(StoreError):
    """No row (or file) has the id, name or example id given: ``"no dataset with id 7"``."""


class NameTakenError(StoreError):
    """A name is already used: a dataset, tag or annotation set's in its project, or a path.

    E.g. ``"project 1 already has a dataset named 'pets' (id 3); choose another name"``.
    """


class ConflictError(StoreError):
    """The request clashes with what the store holds now.

    E.g. demoting a project's last owner, linking a dataset of another project, a review
    sample of another dataset, or a database another writer holds (busy).
    """


class StoreValueError(StoreError):
    """A value given to the store has the wrong type or is out of range.

    E.g. an ``hlp`` of 2, a tag value that is not True or False, a blank user, or a
    dataset frame that cannot be stored.
    """


class UnusableDatabaseError(StoreError):
    """The database file cannot be used.

    It cannot be opened, is not a Slicewise database, or its schema is newer than this
    Slicewise understands.
    """


class PermissionDenied(DataError):
    """The user's role in the project does not allow the write (see :mod:`core.access`).

    The message names the user, their role, the project, the role the action needs and
    whom to ask (the project's owners, on the Team page or with ``slicewise members``).
    Nothing was written.
    """


class StoreReadOnly(DataError):
    """The store is open for reading only (its file, folder or disk cannot be written).

    Raised by every write, which writes nothing; the message names the database, why it
    cannot be written and what to do (see :attr:`core.store.Store.read_only`).
    """


class StoreDamaged(StoreReadOnly):
    """The database file is damaged: ``PRAGMA quick_check`` failed or a read hit a bad page.

    The store is then open read-only (what can still be read is), so every write raises it
    too; the message says how to recover (``slicewise recover --db DB --to NEW``, a backup,
    or ``sqlite3 DB ".recover"``).
    """


class DiskFull(DataError):
    """A write found no room on the disk holding the store: nothing of it was saved.

    SQLite's ``SQLITE_FULL`` or an ``ENOSPC``/``EDQUOT``/``EFBIG`` while writing the
    dataset files: the transaction was rolled back and files written before were removed.
    """


@dataclass(frozen=True)
class RowNumbers:
    """How the rows of a table are numbered in messages: as the file numbers them.

    Attributes
    ----------
    first
        The number of the table's first row: 2 when row 1 of the file is the header (a CSV
        line or a sheet row), 3 after Excel's ``sep=;`` line, 1 for Parquet (no header row).
    skipped
        File row numbers the reader left out (rows where every cell is blank), in increasing
        order; the rows after them count past them.

    Examples
    --------
    >>> RowNumbers(first=2, skipped=(4,)).of([0, 1, 2])
    [2, 3, 5]
    """

    first: int = 2
    skipped: tuple[int, ...] = ()

    #: The ``DataFrame.attrs`` key under which a reader leaves a table's numbering for
    #: :func:`core.dataset.prepare` (as a plain ``(first, skipped)`` tuple).
    ATTR: ClassVar[str] = "slicewise_row_numbers"

    def attach(self, frame: pd.DataFrame) -> None:
        """Record this numbering on ``frame`` (read back by :meth:`of_frame`)."""
        frame.attrs[self.ATTR] = (int(self.first), tuple(int(r) for r in self.skipped))

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> RowNumbers:
        """Return the numbering a reader recorded on ``frame``, else a CSV file's."""
        first, skipped = frame.attrs.get(cls.ATTR, (2, ()))
        return cls(int(first), tuple(skipped))

    def of(self, positions: Sequence[int]) -> list[int]:
        """Return the file row numbers of 0-based positions in the table."""
        out = []
        for p in positions:
            number, counted = self.first + int(p), 0
            while True:  # count the skipped rows up to the number, which moves past them
                k = bisect.bisect_right(self.skipped, number)
                if k == counted:
                    break
                number, counted = number + k - counted, k
            out.append(number)
        return out


def format_rows(rows: Sequence[int], *, numbering: RowNumbers | None = None, limit: int = 5) -> str:
    """Return a short human list of file row numbers, e.g. ``"rows 3, 7 and 2 more"``.

    ``rows`` are 0-based positions in the table; ``numbering`` says how the file numbers
    them (default: a CSV file with the header on line 1, so position 0 is row 2).

    Examples
    --------
    >>> format_rows([0])
    'row 2'
    >>> format_rows([0, 1, 2], numbering=RowNumbers(first=1))
    'rows 1, 2, 3'
    """
    shown = [str(n) for n in (numbering or RowNumbers()).of(list(rows)[:limit])]
    more = len(rows) - len(shown)
    word = "row" if len(rows) == 1 else "rows"
    text = f"{word} {', '.join(shown)}"
    if more > 0:
        text += f" and {more} more"
    return text


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """Return ``n`` and ``noun`` in the right number, e.g. ``"1 row"``, ``"1,200 rows"``.

    Examples
    --------
    >>> count_of(1, "example"), count_of(3, "row"), count_of(2, "class", "classes")
    ('1 example', '3 rows', '2 classes')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
