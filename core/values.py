"""The value contract: how cells of a predictions file become text, classes and numbers.

One rule per question, each looking at a cell (or a pair of cells) alone, so that no row of a
file can change how another row is read:

- **Missing**: a cell is missing when it is empty or holds only spaces. ``NA``, ``N/A``,
  ``null``, ``None`` and ``nan`` are values (North America, a class called "None", an "N/A"
  answer) unless the user lists them as missing (``--na-values``; the same choice on *Load
  data*). In text tasks an empty reference or hypothesis is an empty transcript, not missing.
- **Identities** (ids) are text compared exactly after trimming surrounding spaces: ``7``,
  ``07`` and ``007`` are three ids.
- **Classes** (label, prediction, human label) are text; two cells name the same class when
  their :func:`class_keys` are equal: the trimmed text in Unicode normal form NFC (a
  composed ``café`` and one written ``cafe`` plus a combining accent are one class, as in
  the text task), compared exactly otherwise: case, inner spaces and punctuation count
  (``Cat`` and ``cat`` are two classes), except that

  * a plain decimal number in ASCII digits without leading zeros is compared by its exact
    value (``1``, ``1.0``, ``+1``, ``1e0`` and ``100e-2`` are one class;
    ``12345678901234567`` and ``12345678901234568`` are two, and so are ``1e400`` and
    ``2e400``, though a float cannot tell them apart; ``01`` and ``007`` stay text, so
    ``01`` is not ``1``);
  * ``true``/``yes`` and ``false``/``no`` in any case mean ``1`` and ``0`` (so ``True``,
    ``TRUE``, ``1`` and ``yes`` are one class, for the label, the prediction and
    ``--positive`` alike).

  A class is shown under its most frequent spelling in the file (ties: the first in sorted
  order); which spelling is shown never changes which rows are correct.
- **Numbers** (score, numeric metadata): a dot is the decimal mark unless the column is only
  readable with a decimal comma (``0,85``) or with thousands separators (``1.234,5``,
  ``1,234.5``); where a column could be read both ways (every value like ``1,234``) it stays
  text and a warning asks for ``--decimal``/``--thousands``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Tokens that a user may declare missing with one word (``--na-values common``): the
#: spellings spreadsheet and database exports use for "no value".
COMMON_NA_TOKENS: tuple[str, ...] = (
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
    "#N/A",
    "<NA>",
    "-",
)

_INTEGER = r"[+-]?(?:0|[1-9]\d*)"
_DECIMAL = rf"{_INTEGER}(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?\.\d+(?:[eE][+-]?\d+)?"
# Numbers as classes are written in ASCII digits ("١٢" is text, as in the number rules' fast
# path); Python's \d would also take other scripts' digits.
_ASCII_INTEGER = _INTEGER.replace(r"\d", "[0-9]")
_ASCII_DECIMAL = _DECIMAL.replace(r"\d", "[0-9]")
_NUMBER_PARTS = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
#: A class number is written in full (no exponent) when the power of ten of its leading digit
#: lies strictly between -40 and 40: whole numbers of up to 40 digits, fractions down to 1e-39.
_PLAIN_LIMIT = 40
_TRUE_WORDS = ("true", "yes")
_FALSE_WORDS = ("false", "no")


def parse_na_values(spec: str | None) -> tuple[str, ...]:
    """Turn a ``--na-values`` option into tokens: comma-separated, ``common`` for the usual set.

    ``None`` or ``""`` gives ``()`` (only blank cells are missing).
    """
    if not spec:
        return ()
    tokens: list[str] = []
    for part in spec.split(","):
        token = part.strip()
        if token.lower() == "common":
            tokens.extend(COMMON_NA_TOKENS)
        elif token:
            tokens.append(token)
    return tuple(dict.fromkeys(tokens))


def as_text(values: pd.Series, *, keep_blank: bool = False) -> pd.Series:
    """Return ``values`` as trimmed text (object dtype, ``None`` where missing).

    Cells read from text keep their spelling (``007`` stays ``007``). Cells already typed by
    a Parquet or spreadsheet reader are written the way a person would type them: whole
    numbers without ``.0``, other floats in their shortest round-trip form, booleans as
    ``true``/``false``. ``keep_blank``: blank cells become ``""`` (an empty transcript)
    instead of missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([_cell_text(u) for u in uniques] + [None], dtype=object)
    out = text[codes]
    if keep_blank:
        out[out == None] = ""  # noqa: E711 (elementwise on an object array)
    else:
        blank = np.array([t is not None and t == "" for t in text[:-1]] + [False])
        out[blank[codes]] = None
    return pd.Series(out, index=values.index, dtype=object, copy=False)


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if f.is_integer() and abs(f) < 2**63:
            return str(int(f))
        return repr(f)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).strip()


def class_keys(text: pd.Series) -> pd.Series:
    """Return the comparison key of each class cell (see the module docstring); ``None`` stays.

    The key is the trimmed text in Unicode NFC; a plain decimal number's key is its exact
    value written canonically (:func:`_exact_key`): the integer itself when the value is
    whole (``1``, ``1.0``, ``1e0`` and ``100e-2`` give ``1``), the digits with no trailing
    zeros otherwise, with an exponent only beyond 40 digits (``1e+400``).

    Vectorised: each distinct value is keyed once, numbers from their text, never through
    a float (which would make ``12345678901234567`` equal ``12345678901234568`` and
    ``1e400`` equal ``2e400``).

    Examples
    --------
    >>> class_keys(pd.Series(["1.0", "TRUE", "12345678901234567.0", "1e400", "Cat", None])).tolist()
    ['1', '1', '12345678901234567', '1e+400', 'Cat', None]
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    u = pd.Series(uniques, dtype=object).astype("string").str.strip()
    wide = ~u.str.isascii().fillna(True).to_numpy(dtype=bool)  # ASCII is already NFC
    if wide.any():
        u[wide] = u[wide].str.normalize("NFC")
    keys = u.to_numpy(dtype=object, na_value=None)
    low = u.str.lower()
    is_int = u.str.fullmatch(_ASCII_INTEGER).fillna(False).to_numpy(dtype=bool)
    is_num = u.str.fullmatch(_ASCII_DECIMAL).fillna(False).to_numpy(dtype=bool) & ~is_int
    if is_int.any():
        ints = u[is_int].str.lstrip("+").str.replace(r"^-0$", "0", regex=True)
        keys[is_int] = ints.to_numpy(dtype=object)
        # Integers of more than _PLAIN_LIMIT digits are written with an exponent.
        is_num[is_int] = ints.str.lstrip("-").str.len().to_numpy(dtype=int) > _PLAIN_LIMIT
    if is_num.any():
        keys[is_num] = _number_keys(u[is_num])
    keys[low.isin(_TRUE_WORDS).fillna(False).to_numpy(dtype=bool)] = "1"
    keys[low.isin(_FALSE_WORDS).fillna(False).to_numpy(dtype=bool)] = "0"
    table = np.append(keys, None)
    return pd.Series(table[codes], index=text.index, dtype=object, copy=False)


def _number_keys(cells: pd.Series) -> list[str]:
    """Key decimal-number cells (text matching ``_ASCII_DECIMAL``) by their exact value.

    Nearly every cell is written without an exponent in at most :data:`_PLAIN_LIMIT`
    characters, so its value lies in the plain window and its key is its own text less a
    ``+``, the fraction's trailing zeros and a bare point, with ``0`` before a leading
    point (``-0`` is ``0``): a few Arrow passes over all the cells. The others (an
    exponent, a long integer) are written one by one by :func:`_exact_key`, which is the
    definition. Floats are never used: they cannot tell ``12345678901234567`` from
    ``12345678901234568``, and this is faster than parsing and printing them.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(cells.to_numpy(dtype=object), type=pa.large_string())
    key = pc.utf8_ltrim(arr, characters="+")
    key = pc.replace_substring_regex(key, pattern="0+$", replacement="")  # after the point
    key = pc.utf8_rtrim(key, characters=".")
    key = pc.replace_substring_regex(key, pattern=r"^\.", replacement="0.")
    key = pc.replace_substring_regex(key, pattern=r"^-\.", replacement="-0.")
    key = pc.if_else(pc.match_substring_regex(key, r"^-?0?$"), "0", key)
    keys = key.to_pylist()
    other = pc.or_(
        pc.match_substring_regex(arr, "[eE]"), pc.greater(pc.utf8_length(arr), _PLAIN_LIMIT)
    )
    texts = arr.to_pylist() if pc.any(other).as_py() else []
    for i in np.flatnonzero(other.to_numpy(zero_copy_only=False)):
        keys[i] = _exact_key(texts[i])
    return keys


def _exact_key(text: str) -> str:
    """Write the exact value of a decimal-number text canonically.

    The value as ``±core × 10**power`` (``core`` without leading or trailing zeros) is
    written in full when its leading digit's power of ten lies strictly between
    ``-_PLAIN_LIMIT`` and ``_PLAIN_LIMIT``, else as ``d.ddde±n``; ``Decimal(a) ==
    Decimal(b)`` exactly when the keys of ``a`` and ``b`` are equal. An exponent of more
    than 4,000 digits (beyond Python's int parsing and every real file) keeps the text.

    Examples
    --------
    >>> [_exact_key(t) for t in ("100e-2", "-0.0012300", "1.50e+400", "12345678901234567.0")]
    ['1', '-0.00123', '1.5e+400', '12345678901234567']
    """
    sign, whole, frac, exp = _NUMBER_PARTS.fullmatch(text).groups()  # type: ignore[union-attr]
    frac = frac or ""
    digits = (whole + frac).lstrip("0")
    if not digits:
        return "0"
    exp = (exp or "0").lstrip("+")
    if len(exp.lstrip("-0")) > 4000:
        return text
    core = digits.rstrip("0")
    power = int(exp) - len(frac) + len(digits) - len(core)  # of core's last digit
    lead = power + len(core) - 1  # of core's first digit
    if -_PLAIN_LIMIT < lead < _PLAIN_LIMIT:
        if power >= 0:
            body = core + "0" * power
        elif lead >= 0:
            body = f"{core[: lead + 1]}.{core[lead + 1 :]}"
        else:
            body = "0." + "0" * (-lead - 1) + core
    else:
        body = core[0] + (f".{core[1:]}" if len(core) > 1 else "") + f"e{lead:+d}"
    return "-" + body if sign == "-" else body


def classes_text(classes: object, limit: int = 10) -> str:
    """Return up to ``limit`` class names for a message, each quoted by :func:`repr`.

    Quoting keeps a message on one line and unambiguous: a class spelled with a line
    break, a comma or a trailing space shows escaped inside its quotes.

    >>> classes_text(["no", "yes", "a, b"])
    "'no', 'yes', 'a, b'"
    """
    return ", ".join(repr(str(c)) for c in list(classes)[:limit])


def class_key(value: object) -> str | None:
    """Return the comparison key of one value (e.g. ``--positive``); see :func:`class_keys`."""
    return class_keys(pd.Series([_cell_text(value)], dtype=object)).iloc[0]


def canonical_classes(columns: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Give cells of one class one spelling across label, prediction and human label.

    Parameters
    ----------
    columns
        Series of equal length, text or typed (each cell is read by :func:`as_text`).

    Returns
    -------
    The same keys, each Series rewritten (object dtype) so that cells with equal
    :func:`class_keys` hold the same text: the most frequent spelling of that key over all
    the columns (ties: the first in sorted order). Missing and blank cells are ``None``.

    Each column is factorized once; keys and spellings are worked out on the distinct
    values only, so a million rows of a few classes cost three hash passes.
    """
    names = list(columns)
    coded = {k: _factorize(columns[k]) for k in names}
    # Distinct cells of every column, as text, and how often each occurs.
    texts: list[str | None] = []
    counts: list[np.ndarray] = []
    for k in names:
        codes, uniques = coded[k]
        texts.extend(_cell_text(u) for u in uniques)
        counts.append(np.bincount(codes[codes >= 0], minlength=len(uniques)))
    spelling = pd.Series(texts, dtype=object).replace("", None)
    keys = class_keys(spelling).to_numpy(dtype=object)
    table = pd.DataFrame(
        {
            "key": keys,
            "spelling": spelling.to_numpy(dtype=object),
            "count": np.concatenate(counts) if counts else [],
        }
    )
    present = table.dropna(subset=["key"])
    totals = present.groupby(["key", "spelling"], sort=False)["count"].sum().reset_index()
    totals = totals.sort_values(
        ["key", "count", "spelling"], ascending=[True, False, True], kind="stable"
    )
    shown = totals.drop_duplicates("key").set_index("key")["spelling"]
    target = np.array(shown.reindex(keys).to_numpy(dtype=object), dtype=object)  # writable
    target[pd.isna(keys)] = None
    result, start = {}, 0
    for k in names:
        codes, uniques = coded[k]
        mapped = np.append(target[start : start + len(uniques)], None)
        result[k] = pd.Series(mapped[codes], index=columns[k].index, dtype=object, copy=False)
        start += len(uniques)
    return result


def _factorize(values: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values)`` (codes, -1 where missing; distinct values), Arrow text direct.

    Arrow's dictionary encoding of a pyarrow-backed string column skips pandas' wrapping
    (its factorize took 0.4 s of CPU per 10M-row column, the encoding 0.25 s).
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow.compute as pc

        arr = values.array.__arrow_array__()
        if arr.num_chunks and arr.null_count < len(arr):
            coded = pc.dictionary_encode(arr).combine_chunks()
            codes = pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False)
            return codes.astype(np.intp, copy=False), coded.dictionary.to_pylist()
    return pd.factorize(values, use_na_sentinel=True)


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class NumberFormat:
    """How a column writes numbers: its decimal mark and thousands separator (or ``None``)."""

    decimal: str = "."
    thousands: str | None = None


_WHOLE = r"(?:0|[1-9]\d*)"  # no leading zeros: "007" is a code, not a number
_GROUPED = r"(?:0|[1-9]\d{0,2})"
_FORMATS = {
    NumberFormat("."): re.compile(rf"(?:{_DECIMAL})"),
    NumberFormat(","): re.compile(rf"[+-]?{_WHOLE}(?:,\d+)?(?:[eE][+-]?\d+)?"),
    NumberFormat(",", "."): re.compile(rf"[+-]?{_GROUPED}(?:\.\d{{3}})*(?:,\d+)?"),
    NumberFormat(".", ","): re.compile(rf"[+-]?{_GROUPED}(?:,\d{{3}})*(?:\.\d+)?"),
    NumberFormat(",", " "): re.compile(rf"[+-]?{_GROUPED}(?:[ \u00a0\u202f]\d{{3}})*(?:,\d+)?"),
}


def to_numbers(text: pd.Series, fmt: NumberFormat) -> np.ndarray:
    """Parse text written in ``fmt`` into floats (NaN where missing or not a number)."""
    s = text.astype("string").str.strip()
    if fmt.thousands:
        seps = "[ \u00a0\u202f]" if fmt.thousands == " " else re.escape(fmt.thousands)
        s = s.str.replace(seps, "", regex=True)
    if fmt.decimal != ".":
        s = s.str.replace(fmt.decimal, ".", regex=False)
    fast = _arrow_floats(s)
    if fast is not None:
        return fast
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _arrow_floats(s: pd.Series) -> np.ndarray | None:
    """Cast Arrow-backed text to floats in one C++ pass; ``None`` when a cell does not parse.

    About 5x faster than :func:`pandas.to_numeric` on a million strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = s.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    try:
        floats = pc.cast(s.array.__arrow_array__(), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return floats.to_numpy(zero_copy_only=False).astype(float, copy=False)


def infer_number_format(
    text: pd.Series, *, decimal: str | None = None, thousands: str | None = None
) -> NumberFormat | None | str:
    """Find how a text column writes numbers.

    Parameters
    ----------
    text
        Present (non-missing) cells of the column, trimmed.
    decimal, thousands
        The user's choice, when given: then the column is numeric only if every cell reads
        as a number in that format.

    Returns
    -------
    The :class:`NumberFormat` every cell fits; ``None`` when some cell is not a number (the
    column is text); the string ``"ambiguous"`` when the cells fit two formats that give
    different numbers (``1,234`` is 1234 or 1.234).
    """
    s = text.astype("string").str.strip()
    s = s[s.ne("").fillna(False)]
    if s.empty:
        return None
    if decimal is not None or thousands is not None:
        fmt = NumberFormat(decimal or ".", thousands or None)
        pattern = _FORMATS.get(fmt) or _general_pattern(fmt)
        return fmt if s.str.fullmatch(pattern.pattern).all() else None
    head = s.iloc[:2000]
    fits = [f for f, p in _FORMATS.items() if head.str.fullmatch(p.pattern).all()]
    dot = NumberFormat(".")
    if dot in fits and s.str.fullmatch(_FORMATS[dot].pattern).all():
        return dot  # the common case: no other format needs a look
    fits = [f for f in fits if f != dot and s.str.fullmatch(_FORMATS[f].pattern).all()]
    if not fits:
        return None
    values = {f: to_numbers(s, f) for f in fits}
    first = values[fits[0]]
    if all(np.array_equal(first, v, equal_nan=True) for v in values.values()):
        return fits[0]
    return "ambiguous"


# Cells that the fast path must leave to the full rules: anything but digits, dot, exponent
# and sign; a leading zero; a dot with no digit after it; a lone sign.
_NOT_PLAIN = r"[^0-9.eE+-]|^[+-]?0\d|\.$|\.[eE+-]|^[+-]?$|^[+-]?\.?[eE]"


def read_numbers(
    text: pd.Series,
    *,
    decimal: str | None = None,
    thousands: str | None = None,
    coded: object | None = None,
) -> tuple[NumberFormat | str | None, np.ndarray | None]:
    """Decide whether a text column holds numbers and parse them in one go.

    Returns ``(format, floats)`` as :func:`infer_number_format` and :func:`to_numbers` would
    (``floats`` is ``None`` unless the format is a :class:`NumberFormat`). A column of plain
    dot-decimal numbers held by Arrow is checked and cast in two C++ passes; every other
    column takes the full rules. ``coded``: ``text``'s Arrow dictionary encoding (one
    chunk), when the caller already made it (saves a hash pass over the rows).
    """
    if head_says_text(text, decimal=decimal, thousands=thousands):
        return None, None  # text: its first cells already say so
    if decimal is None and thousands is None:
        dtype = text.dtype
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            import pyarrow as pa
            import pyarrow.compute as pc

            arr = text.array.__arrow_array__()
            if arr.null_count < len(arr):
                # Check and cast each distinct cell once, then spread by the codes.
                if coded is None:
                    coded = pc.dictionary_encode(arr).combine_chunks()
                cells = coded.dictionary  # type: ignore[attr-defined]
                if not pc.any(pc.match_substring_regex(cells, _NOT_PLAIN)).as_py():
                    try:
                        floats = pc.cast(cells, pa.float64())
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        floats = None
                    if floats is not None:
                        values = pc.take(floats, coded.indices)  # type: ignore[attr-defined]
                        return (
                            NumberFormat("."),
                            values.to_numpy(zero_copy_only=False).astype(float, copy=False),
                        )
    fmt = infer_number_format(text.dropna(), decimal=decimal, thousands=thousands)
    if isinstance(fmt, NumberFormat):
        return fmt, to_numbers(text, fmt)
    return fmt, None


def head_says_text(
    text: pd.Series, *, decimal: str | None = None, thousands: str | None = None
) -> bool:
    """Whether a column of more than 1,000 cells is text by its first 1,000 (a cheap look).

    ``True`` when some present cell among them is no number (in the given format, else
    in any :func:`infer_number_format` knows); ``False`` says nothing yet.
    """
    head = text.iloc[:1000].dropna()
    return bool(
        len(text) > 1000
        and len(head)
        and infer_number_format(head, decimal=decimal, thousands=thousands) is None
    )


def likely_number_cause(sample: str) -> str:
    """Name the likely cause of a cell that is not a number (for messages), or ``""``.

    ``0,85`` points at a decimal comma, ``1 234`` at a thousands separator.
    """
    if "," in sample:
        return " (a decimal comma? give --decimal ,)"
    if " " in sample.strip():
        return " (a thousands separator? give --thousands)"
    return ""


def _general_pattern(fmt: NumberFormat) -> re.Pattern[str]:
    group = "" if not fmt.thousands else rf"(?:{re.escape(fmt.thousands)}\d{{3}})*"
    head = _GROUPED if fmt.thousands else _WHOLE
    return re.compile(rf"[+-]?{head}{group}(?:{re.escape(fmt.decimal)}\d+)?")
