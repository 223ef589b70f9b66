"""SQL building blocks of the DuckDB engine: quoting, trimming, numbers, and the column model.

Every query of :mod:`core.engine_duckdb` is written from these helpers; :class:`_Column` says
how one file column reads in DuckDB and which dtype the pandas loader gives it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    RowNumbers,
)
from slicewise.core.values import (
    NumberFormat,
)

_WS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WSC = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _WS) + "]"
_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
#: A tag column holds at most a few spellings; more distinct values than this cannot be one.
_MAX_TAG_VALUES = 1000
#: The first rows of a file read with pandas: roles and tag columns are detected on them.
SAMPLE_ROWS = 10_000

# --------------------------------------------------------------------------- SQL helpers


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Surrounding whitespace, ASCII and Unicode (what pandas' str.strip removes).
_TRIM = r"^[\s\pZ\x0b\x1c-\x1f\x85]+|[\s\pZ\x0b\x1c-\x1f\x85]+$"


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _dbl(x: float) -> str:
    """Write ``x`` as an exact DOUBLE literal (``repr`` round-trips; DuckDB rounds correctly)."""
    return f"CAST({_lit(repr(float(x)))} AS DOUBLE)"


def _not_finite_text(text: str) -> bool:
    """Whether a class cell is a number that is not finite (``inf``, ``1e400``, ``nan``)."""
    if re.fullmatch(r"\s*[+-]?nan\s*", text, flags=re.IGNORECASE):
        return True
    number = pd.to_numeric(pd.Series([text]), errors="coerce").iloc[0]
    return bool(pd.notna(number) and np.isinf(number))


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _strip(expr: str) -> str:
    """``str.strip()``: surrounding Unicode whitespace removed (the regex only where needed)."""
    return (
        f"(CASE WHEN regexp_matches({expr}, '^{_WSC}|{_WSC}$') "
        f"THEN regexp_replace({expr}, '^{_WSC}+|{_WSC}+$', '', 'g') ELSE {expr} END)"
    )


def _to_number(text: str, fmt: NumberFormat) -> str:
    """Write :func:`core.values.to_numbers` in SQL: trimmed ``text`` in ``fmt`` as a DOUBLE.

    NULL where the text is no number to pandas' ``to_numeric`` (``nan`` included; DuckDB
    also reads ``1_000``, pandas does not).
    """
    x = text
    if fmt.thousands == " ":
        x = f"regexp_replace({x}, '[ \\x{{a0}}\\x{{202f}}]', '', 'g')"
    elif fmt.thousands:
        x = f"replace({x}, {_lit(fmt.thousands)}, '')"
    if fmt.decimal != ".":
        x = f"replace({x}, {_lit(fmt.decimal)}, '.')"
    return (
        f"(CASE WHEN NOT contains({x}, '_') THEN "
        f"nullif(TRY_CAST({x} AS DOUBLE), CAST('nan' AS DOUBLE)) END)"
    )


def _shape(text: str) -> str:
    """Write a trimmed cell's shape in SQL: digits ``1``, leading zeros ``Z``, a lone ``0`` ``Y``.

    Whether a cell fits a number format of :mod:`core.values` depends only on its other
    characters, the length of each run of digits and whether the run starts with a zero
    (``0``, ``007``), which the shape keeps: a column of numbers has few shapes. (A lone zero
    is replaced twice: a match takes the character after it, which the next one needs.)
    """
    lead = f"regexp_replace({text}, '(^|[^0-9])0([0-9])', '\\1Z\\2', 'g')"
    lone = "'(^|[^0-9])0($|[^0-9])', '\\1Y\\2', 'g'"
    return (
        f"regexp_replace(regexp_replace(regexp_replace({lead}, {lone}), {lone}), '[0-9]', '1', 'g')"
    )


def _format_rows(
    first: Sequence[int], total: int, limit: int = 5, *, numbering: RowNumbers | None = None
) -> str:
    """:func:`core.errors.format_rows` from the first positions and the total count."""
    shown = [str(r) for r in (numbering or RowNumbers()).of(list(first)[:limit])]
    more = total - len(shown)
    text = f"{'row' if total == 1 else 'rows'} {', '.join(shown)}"
    return text + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------- columns


@dataclass
class _Column:
    """A file column as DuckDB reads it, and the dtype the pandas loader gives it."""

    name: str  # as the loader names it (stripped)
    ident: str  # quoted DuckDB identifier
    duck: str  # DuckDB type
    unsupported: str | None = None  # why the loader would read it differently
    kind: str = ""  # pandas dtype: int, float, bool, boolobj, str, other (after profiling)
    nulls: int = 0
    nonnull: int = 0
    number: str | None = None  # SQL of a text column read as numbers (see _type_metadata)
    typed: bool = False  # whether _type_metadata has given it the loader's dtype
    histogram: dict[str, int] | None = None  # class columns: key -> rows, over the file
    texts: dict[str, str | None] | None = None  # class columns: key -> the loader's text

    @property
    def group(self) -> str:
        """The DuckDB type family: int, float, bool, text or other."""
        if self.duck in _INT_TYPES:
            return "int"
        if self.duck in _FLOAT_TYPES:
            return "float"
        if self.duck == "BOOLEAN":
            return "bool"
        if self.duck == "VARCHAR":
            return "text"
        return "other"

    @property
    def raw(self) -> str:
        """SQL for the value as stored, NaN read as missing."""
        if self.group == "float":
            return f"(CASE WHEN isnan({self.ident}) THEN NULL ELSE {self.ident} END)"
        return self.ident

    @property
    def value(self) -> str:
        """SQL for the value the loader's frame holds: NaN missing, numbers parsed from text."""
        return self.number if self.number is not None else self.raw

    def key_of(self, ident: str) -> str:
        """Write the cell ``ident`` as SQL text, one per distinct value: a class table's key.

        Floats are written as DOUBLE (which round-trips), so that :meth:`value_of` gives
        back the float the loader reads.
        """
        if self.group == "text":
            return ident
        if self.group == "float":
            return f"CAST(CAST({ident} AS DOUBLE) AS VARCHAR)"
        return f"CAST({ident} AS VARCHAR)"

    @property
    def key(self) -> str:
        """SQL of :meth:`key_of` this column."""
        return self.key_of(self.ident)

    def value_of(self, key: str) -> Any:
        """Return the value behind a :attr:`key` as the loader's reader holds it."""
        if self.group == "float":
            return float(key)
        if self.group == "int":
            return int(key)
        if self.group == "bool":
            return key == "true"
        return key

    @property
    def missing(self) -> str:
        """SQL true where the loader's text of the cell is missing: blank, NaN or masked."""
        x = self.ident
        if self.texts is not None:
            blanks = [k for k, t in self.texts.items() if t is None]
            return f"({x} IS NULL OR {self.key} IN {_in(blanks)})" if blanks else f"({x} IS NULL)"
        if self.group != "text":
            return f"({self.raw} IS NULL)"
        # The anchored test fails at the first character of almost every value.
        return (
            f"({x} IS NULL OR {x} = '' OR (regexp_matches({x}, '^{_WSC}') AND "
            f"regexp_full_match({x}, '{_WSC}+')))"
        )

    def python(self, v: Any) -> Any:
        """Convert a DuckDB value to what the loader's frame holds (ints with gaps are floats)."""
        if v is None:
            return None
        if self.kind == "float":
            return float(v)
        if self.kind == "int":
            return int(v)
        if self.kind in ("bool", "boolobj"):
            return bool(v)
        return v


@dataclass
class _Role:
    """Label, prediction or human label in SQL, by the rules of :mod:`core.values`."""

    column: _Column
    expr: str  # the class under its shown spelling (VARCHAR); NULL where missing
    num: str  # the shown class read as a number (regression); NULL where it is none
    shown: dict[str, str | None] | None = None  # key -> shown class; None: no class table
    counts: dict[str, int] | None = None  # key -> kept rows (with a class table)


@dataclass
class _Slice:
    name: str
    kind: str  # tag or column
    source: str
    cond: str  # SQL boolean


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return "; ".join(lines[:3])[:400] or type(exc).__name__
