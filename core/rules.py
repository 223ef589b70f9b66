"""Rules on metadata: rows where every condition ``column <op> value`` holds.

A rule is a conjunction (AND) of :class:`Condition` rows typed by a user, as in a
spreadsheet's filter: ``device == car_kit`` and ``snr_db < 5``. The value is the text the
user typed; it is compared with the column's values, never evaluated (``contains`` is a
literal substring test, ``regex`` a compiled regular expression of bounded length).

Comparison rules (:func:`condition_mask`):

- A numeric column compares as numbers; the value must parse as one.
- Any other column compares as text with surrounding spaces stripped; for ``<``, ``<=``,
  ``>``, ``>=`` both sides are compared as numbers when the value and some cells parse
  as numbers (text order is rarely what is meant), cells that do not parse never match.
- ``contains`` and ``regex`` are case-insensitive and read every column as text.
- A missing cell matches only ``is missing``: it is neither equal nor unequal to a value.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InvalidValueError, MissingColumnError

#: Operators that compare a column with the condition's value.
VALUE_OPERATORS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "contains", "regex")
#: Operators that test for a missing cell and ignore the value.
MISSING_OPERATORS: tuple[str, ...] = ("is missing", "is not missing")
OPERATORS: tuple[str, ...] = VALUE_OPERATORS + MISSING_OPERATORS
#: Longest regular expression accepted (a bound on what a user can make the server do).
MAX_REGEX_LENGTH = 200


@dataclass(frozen=True)
class Condition:
    """One row of a rule: ``column <op> value``.

    Attributes
    ----------
    column
        A column of the examples table (metadata, ``label``, ``prediction``, ``score``...).
    op
        One of :data:`OPERATORS`.
    value
        The text typed by the user; ignored by ``is missing`` and ``is not missing``.

    Examples
    --------
    >>> Condition("snr_db", "<", "5").text
    'snr_db < 5'
    >>> Condition("note", "is missing").text
    'note is missing'
    """

    column: str
    op: str
    value: str = ""

    @property
    def text(self) -> str:
        """The condition as a user reads it, e.g. ``device == car_kit``."""
        if self.op in MISSING_OPERATORS:
            return f"{self.column} {self.op}"
        return f"{self.column} {self.op} {self.value}"

    @property
    def complete(self) -> bool:
        """Whether it can be applied: a column, and a value unless the operator needs none."""
        return bool(self.column) and (self.op in MISSING_OPERATORS or bool(str(self.value)
                                                                          .strip()))


def describe_rule(conditions: Sequence[Condition]) -> str:
    """Return a rule as one line, ``a == 1 AND b > 2`` (``all examples`` when empty).

    Examples
    --------
    >>> describe_rule([Condition("a", "==", "1"), Condition("b", ">", "2")])
    'a == 1 AND b > 2'
    """
    return " AND ".join(c.text for c in conditions) or "all examples"


def _as_number(value: str) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if np.isnan(number) else number


def _at(source: str) -> str:
    return f"{source}: " if source else ""


def condition_mask(frame: pd.DataFrame, condition: Condition, *,
                   source: str = "") -> np.ndarray:
    """Return where one condition holds in ``frame``, as a boolean array.

    Parameters
    ----------
    frame
        The examples table.
    condition
        The condition; see the module docstring for how values compare.
    source
        The file name that starts error messages (``Dataset.source_name``).

    Returns
    -------
    numpy.ndarray
        ``bool``, one entry per row of ``frame``; missing cells are ``False`` except for
        ``is missing``.

    Raises
    ------
    MissingColumnError
        The column is not in ``frame``.
    InvalidValueError
        An unknown operator, a value that is not a number for a numeric column, or a
        regular expression that does not compile or is over :data:`MAX_REGEX_LENGTH`
        characters. Every message names the column.

    Examples
    --------
    >>> df = pd.DataFrame({"snr": [1.0, 7.0, None], "device": ["ios", " car_kit", None]})
    >>> condition_mask(df, Condition("snr", "<", "5")).tolist()
    [True, False, False]
    >>> condition_mask(df, Condition("device", "!=", "car_kit")).tolist()
    [True, False, False]
    """
    at, col, op, value = _at(source), str(condition.column), condition.op, condition.value
    if col not in frame.columns:
        known = ", ".join(map(repr, frame.columns[:20]))
        raise MissingColumnError(f"{at}the rule names column {col!r}, which the data does not "
                                 f"have; choose one of {known}")
    if op not in OPERATORS:
        raise InvalidValueError(f"{at}column {col!r}: unknown operator {op!r}; use one of "
                                f"{', '.join(OPERATORS)}")
    values = frame[col]
    if op in MISSING_OPERATORS:
        missing = values.isna().to_numpy(dtype=bool)
        return missing if op == "is missing" else ~missing
    if op in ("contains", "regex"):
        text = values.astype("string")
        if op == "contains":
            hit = text.str.contains(str(value), case=False, regex=False)
        else:
            pattern = str(value)
            if len(pattern) > MAX_REGEX_LENGTH:
                raise InvalidValueError(f"{at}column {col!r}: the regex is longer than "
                                        f"{MAX_REGEX_LENGTH} characters; shorten it")
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise InvalidValueError(f"{at}column {col!r}: {pattern!r} is not a valid "
                                        f"regex: {exc}") from None
            with warnings.catch_warnings():  # groups are fine: we only test for a match
                warnings.filterwarnings("ignore", "This pattern is interpreted", UserWarning)
                hit = text.str.contains(compiled, regex=True)
        return hit.fillna(False).to_numpy(dtype=bool)
    numeric = (pd.api.types.is_numeric_dtype(values)
               and not pd.api.types.is_bool_dtype(values))
    left: pd.Series
    right: float | str
    if numeric:
        number = _as_number(value)
        if number is None:
            raise InvalidValueError(f"{at}column {col!r} holds numbers; {value!r} is not a "
                                    "number (type one such as 5 or 0.25)")
        left = pd.Series(values.to_numpy(dtype=float, na_value=np.nan))
        right = number
    else:
        left = values.astype("string").str.strip().reset_index(drop=True)
        right = str(value).strip()
        if op in ("<", "<=", ">", ">="):
            number = _as_number(value)
            as_num = pd.to_numeric(values, errors="coerce")
            if number is not None and as_num.notna().any():
                left = pd.Series(as_num.to_numpy(dtype=float, na_value=np.nan))
                right = number
    compare = {"==": left.eq, "!=": left.ne, "<": left.lt, "<=": left.le, ">": left.gt,
               ">=": left.ge}[op]
    result = compare(right).astype("boolean").fillna(False).to_numpy(dtype=bool)
    return result & left.notna().to_numpy(dtype=bool)


def rule_mask(frame: pd.DataFrame, conditions: Sequence[Condition], *,
              source: str = "") -> np.ndarray:
    """Return where every condition holds (AND), as a boolean array aligned with ``frame``.

    An empty rule keeps every row. Each condition is computed by :func:`condition_mask`.

    Raises
    ------
    MissingColumnError, InvalidValueError
        As :func:`condition_mask`, for the first bad condition.

    Examples
    --------
    >>> df = pd.DataFrame({"device": ["ios", "car_kit", "car_kit"], "snr": [3, 2, 9]})
    >>> rule_mask(df, [Condition("device", "==", "car_kit"), Condition("snr", "<", "5")])
    array([False,  True, False])
    """
    mask = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        mask &= condition_mask(frame, condition, source=source)
    return mask
