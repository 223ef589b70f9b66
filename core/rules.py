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
- ``regex`` is searched for anywhere in the text (as :func:`re.search`), by RE2: Google's
  engine answers in time linear in the text whatever the pattern, so no rule typed in the app
  can hold the server (Python's :mod:`re` backtracks: ``(a|a)+(?!a)c`` on 25 ``a`` and ``!``
  took 45 s). RE2 has no lookarounds and no back-references; a pattern with one is refused
  with a message saying what to write instead (:func:`compile_user_regex`).
- A missing cell matches only ``is missing``: it is neither equal nor unequal to a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import re2

from slicewise.core.errors import InvalidValueError, MissingColumnError, UnsupportedRegexError

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
        return bool(self.column) and (self.op in MISSING_OPERATORS or bool(str(self.value).strip()))


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


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    return options


_OPTIONS = _re2_options()

#: What RE2 reports for a construct it does not run -> (what the user wrote, what to
#: write instead). Matched on the start of RE2's message; back-references \1-\9 below.
_UNSUPPORTED: tuple[tuple[str, str, str], ...] = (
    (
        "invalid perl operator: (?=",
        "a lookahead (?=...)",
        "write the text that follows as part of the match ('cat(?=s)' as 'cats')",
    ),
    (
        "invalid perl operator: (?!",
        "a negative lookahead (?!...)",
        "name what may follow with a character class or an anchor ('cat[^s]' or 'cat$'), "
        "or add a second condition",
    ),
    (
        "invalid perl operator: (?<=",
        "a lookbehind (?<=...)",
        "write the text that comes before as part of the match ('(?<=big )cat' as 'big cat')",
    ),
    (
        "invalid perl operator: (?<!",
        "a negative lookbehind (?<!...)",
        "name what may come before with a character class or an anchor ('[^x]cat' or "
        "'^cat'), or add a second condition",
    ),
    (
        "invalid perl operator: (?P",
        "a named back-reference (?P=name)",
        "write the repeated text out",
    ),
    ("invalid perl operator: (?>", "an atomic group (?>...)", "use a plain group (...)"),
    ("bad repetition operator: ++", "a possessive quantifier ++", "use + alone"),
    ("bad repetition operator: *+", "a possessive quantifier *+", "use * alone"),
    ("bad repetition operator: ?+", "a possessive quantifier ?+", "use ? alone"),
    (
        "invalid escape sequence: \\k",
        "a named back-reference \\k<name>",
        "write the repeated text out",
    ),
    ("invalid escape sequence: \\Z", "\\Z", "use $ (end of the text)"),
    (
        "invalid repetition size",
        "a counted repetition over 1000 (or one nested in another)",
        "use + or *, or a smaller count",
    ),
    (
        "pattern too large",
        "too large a pattern (counted repetitions multiply)",
        "use + or * instead of large counts",
    ),
)


def _unsupported(reason: str) -> tuple[str, str] | None:
    """Return (construct, what to write instead) when RE2's ``reason`` is a known gap."""
    for start, what, instead in _UNSUPPORTED:
        if reason.startswith(start):
            return what, instead
    for digit in "123456789":
        if reason.startswith(f"invalid escape sequence: \\{digit}"):
            return (
                f"a back-reference \\{digit}",
                f"write the repeated text out ('(ab)\\{digit}' as '(ab)(ab)'), or match "
                "any text there ('.*')",
            )
    return None


def compile_user_regex(pattern: str, *, column: str, source: str = "") -> Any:
    r"""Compile a regex a user typed, case-insensitively, with RE2 (linear-time matching).

    Every regex a user supplies goes through here (the ``regex`` operator of a rule, in the
    app and ``slicewise tag --rule``). RE2 (google-re2) matches in time linear in the text
    for any pattern, so no pattern can hold the server; it has no lookarounds and no
    back-references, which are refused with a message saying what to write instead. RE2's
    own complaints are not printed to stderr (``log_errors`` off).

    Parameters
    ----------
    pattern
        The regex as typed; at most :data:`MAX_REGEX_LENGTH` characters.
    column
        The column the rule reads (named in error messages).
    source
        The file name that starts error messages.

    Returns
    -------
    re2 compiled pattern
        ``.search(text)`` finds a match anywhere, as :func:`re.search` does.

    Raises
    ------
    UnsupportedRegexError
        A construct RE2 does not run (lookahead, lookbehind, back-reference, atomic group,
        possessive quantifier, ``\Z``, counted repetition over 1000); the message names
        the column, the pattern, the construct and what to write instead.
    InvalidValueError
        A pattern longer than :data:`MAX_REGEX_LENGTH` or one that is no regex at all.

    Examples
    --------
    >>> bool(compile_user_regex("^LOUD", column="note").search("loud music"))
    True
    >>> compile_user_regex("cat(?=s)", column="note")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    slicewise.core.errors.UnsupportedRegexError: column 'note': ... uses a lookahead...
    """
    at, pattern = _at(source), str(pattern)
    if len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidValueError(
            f"{at}column {column!r}: the regex is longer than "
            f"{MAX_REGEX_LENGTH} characters; shorten it"
        )
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    gap = _unsupported(reason)
    if gap is not None:
        what, instead = gap
        raise UnsupportedRegexError(
            f"{at}column {column!r}: the regex {pattern!r} uses {what}, which Slicewise's "
            f"regex engine (RE2, linear time) does not run; {instead}"
        )
    raise InvalidValueError(f"{at}column {column!r}: {pattern!r} is not a valid regex: {reason}")


def regex_mask(values: pd.Series, pattern: str, *, column: str, source: str = "") -> np.ndarray:
    """Return where ``pattern`` is found in ``values`` read as text, case-insensitively.

    The pattern is checked by :func:`compile_user_regex`, then searched in every value at
    once by Apache Arrow's ``match_substring_regex``, which runs the same RE2 engine over the
    whole column without holding Python's lock (0.5 s for 1,000,000 short notes).

    Returns
    -------
    numpy.ndarray
        ``bool``, one entry per value; missing values are ``False``.

    Raises
    ------
    UnsupportedRegexError, InvalidValueError
        As :func:`compile_user_regex`.

    Examples
    --------
    >>> regex_mask(pd.Series(["Loud car", None, "quiet"]), "^(loud|quiet)", column="note")
    array([ True, False,  True])
    """
    compile_user_regex(pattern, column=column, source=source)
    text = pa.array(values.astype("string"))
    try:
        hit = pc.match_substring_regex(text, str(pattern), ignore_case=True)
    except pa.ArrowInvalid as exc:  # both are RE2; a release that differs still says why
        raise InvalidValueError(
            f"{_at(source)}column {column!r}: {pattern!r} cannot be searched: {exc}"
        ) from None
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def condition_mask(frame: pd.DataFrame, condition: Condition, *, source: str = "") -> np.ndarray:
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
    UnsupportedRegexError
        A regex with a construct RE2 does not run (:func:`compile_user_regex`).

    Examples
    --------
    >>> df = pd.DataFrame({"snr": [1.0, 7.0, None], "device": ["ios", " car_kit", None]})
    >>> condition_mask(df, Condition("snr", "<", "5")).tolist()
    [True, False, False]
    >>> condition_mask(df, Condition("device", "!=", "car_kit")).tolist()
    [True, False, False]
    """
    col, op, value = str(condition.column), condition.op, condition.value
    _check_condition(frame, col, op, source=source)
    values = frame[col]
    if op in MISSING_OPERATORS:
        missing = values.isna().to_numpy(dtype=bool)
        return missing if op == "is missing" else ~missing
    if op == "regex":
        return regex_mask(values, str(value), column=col, source=source)
    if op == "contains":
        hit = values.astype("string").str.contains(str(value), case=False, regex=False)
        return hit.fillna(False).to_numpy(dtype=bool)
    left, right = _compared_sides(values, op, value, column=col, source=source)
    compare = {
        "==": left.eq,
        "!=": left.ne,
        "<": left.lt,
        "<=": left.le,
        ">": left.gt,
        ">=": left.ge,
    }[op]
    result = compare(right).astype("boolean").fillna(False).to_numpy(dtype=bool)
    return result & left.notna().to_numpy(dtype=bool)


def _check_condition(frame: pd.DataFrame, column: str, op: str, *, source: str) -> None:
    """Refuse a column ``frame`` lacks or an operator not in :data:`OPERATORS`.

    Raises
    ------
    MissingColumnError
        The column is not in ``frame`` (the message lists up to 20 that are).
    InvalidValueError
        An unknown operator.
    """
    at = _at(source)
    if column not in frame.columns:
        known = ", ".join(map(repr, frame.columns[:20]))
        raise MissingColumnError(
            f"{at}the rule names column {column!r}, which the data does not "
            f"have; choose one of {known}"
        )
    if op not in OPERATORS:
        raise InvalidValueError(
            f"{at}column {column!r}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}"
        )


def _compared_sides(
    values: pd.Series, op: str, value: str, *, column: str, source: str
) -> tuple[pd.Series, float | str]:
    """Return (cells, typed value) as compared by ``==``, ``!=``, ``<``... (module docstring).

    A numeric column compares as floats and the value must be a number; any other column
    as stripped text, or as numbers for an order operator when the value and some cells
    parse as numbers (cells that do not become NaN and never match). The cells come back
    with a fresh 0..N-1 index.

    Raises
    ------
    InvalidValueError
        A value that is not a number for a numeric column.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        number = _as_number(value)
        if number is None:
            raise InvalidValueError(
                f"{_at(source)}column {column!r} holds numbers; {value!r} is not a "
                "number (type one such as 5 or 0.25)"
            )
        return pd.Series(values.to_numpy(dtype=float, na_value=np.nan)), number
    if op in ("<", "<=", ">", ">="):
        number = _as_number(value)
        as_num = pd.to_numeric(values, errors="coerce")
        if number is not None and as_num.notna().any():
            return pd.Series(as_num.to_numpy(dtype=float, na_value=np.nan)), number
    return values.astype("string").str.strip().reset_index(drop=True), str(value).strip()


def rule_mask(
    frame: pd.DataFrame, conditions: Sequence[Condition], *, source: str = ""
) -> np.ndarray:
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
