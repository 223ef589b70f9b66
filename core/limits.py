"""The cap on slices: how many slices one slice-by request may ask for.

Slicing by a column gives one slice per value, and every engine holds something per slice
and example: the pandas engine a boolean membership matrix (examples × slices), the DuckDB
engine one aggregate per slice. A column of ids is no grouping, and without a cap it asked
for everything at once: ``--slice-by session`` with 1,000,000 unique values wanted 931 GiB,
``--slice-by label`` on a file of 100,000 classes took 255 s and 19.7 GB before failing.

So each engine counts a column's values first (a hash of the column, or DuckDB's
``approx_count_distinct``), before any per-slice allocation, and refuses a request whose
slice-by columns make more than the cap of slices (:func:`check_slice_count`). The message
names the file, the column, its number of values and the cap, and says how to bin it.

The cap is :data:`MAX_SLICES` unless a caller passes another (``--max-slices`` on the CLI)
or the environment sets :data:`MAX_SLICES_ENV` (how the app is configured):
:func:`max_slices` decides. Numeric columns are cut into quantile bins, so they make few
slices whatever their number of values.
"""

from __future__ import annotations

import os

from slicewise.core.errors import InvalidValueError, TooManySlicesError

#: Most slices one request's slice-by columns may make together (tags not counted). A chart
#: or table of 1,000 slices is already more than anyone reads; the membership matrix of
#: 1,000 slices over 1,000,000 examples is 1 GB.
MAX_SLICES = 1000
#: Environment variable that sets the cap for the app (and the CLI, under ``--max-slices``).
MAX_SLICES_ENV = "SLICEWISE_MAX_SLICES"


def max_slices(cap: int | None = None) -> int:
    """Return the cap on slices that applies to a request.

    ``cap`` when given, else the whole number in :data:`MAX_SLICES_ENV`, else
    :data:`MAX_SLICES`.

    Raises
    ------
    InvalidValueError
        ``cap`` or the environment variable is not a whole number of at least 1.

    Examples
    --------
    >>> max_slices(50)
    50
    """
    if cap is None:
        text = os.environ.get(MAX_SLICES_ENV, "").strip()
        if not text:
            return MAX_SLICES
        try:
            cap = int(text)
        except ValueError:
            raise InvalidValueError(
                f"{MAX_SLICES_ENV}={text!r} is not a whole number; set it "
                f"to the most slices one request may make (default "
                f"{MAX_SLICES:,})"
            ) from None
        if cap < 1:
            raise InvalidValueError(
                f"{MAX_SLICES_ENV}={text!r}: the cap on slices must be at least 1"
            )
        return cap
    if int(cap) < 1:
        raise InvalidValueError(f"the cap on slices must be at least 1, got {cap}")
    return int(cap)


def check_slice_count(
    n_slices: int, *, column: str, source: str, cap: int, before: int = 0, about: bool = False
) -> None:
    """Refuse a slice-by column that would take the slices over the cap.

    Parameters
    ----------
    n_slices
        The slices the column makes: one per distinct value, plus one for missing values.
    column
        The column as the user named it.
    source
        The file name that starts the message.
    cap
        The cap (:func:`max_slices`).
    before
        Slices already made by the earlier slice-by columns of the same request.
    about
        ``n_slices`` is an estimate (DuckDB's ``approx_count_distinct``, within a few %).

    Raises
    ------
    TooManySlicesError
        ``before + n_slices > cap``; the message names the file, the column, its count, the
        cap, and how to bin it or raise the cap.

    Examples
    --------
    >>> check_slice_count(1000, column="device", source="a.csv", cap=1000)
    >>> check_slice_count(1001, column="session", source="a.csv", cap=1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.TooManySlicesError: a.csv: cannot slice by 'session': it has 1,001 different...
    """
    if before + n_slices <= cap:
        return
    count = f"{'about ' if about else ''}{n_slices:,}"
    others = f" together with the {before:,} slices of the columns before it" if before else ""
    raise TooManySlicesError(
        f"{source}: cannot slice by {column!r}: it has {count} different values (one slice "
        f"each), over the cap of {cap:,} slices{others}; bin it into a column with fewer "
        "values first (ranges of a number, a date's month, a prefix of an id), slice by "
        f"another column, or raise the cap with --max-slices ({MAX_SLICES_ENV} for the app)"
    )
