"""CSV that is safe to open in a spreadsheet, and CSV that keeps every value exactly.

:func:`to_safe_csv` is for every CSV a person opens (reports, tables offered for
download): formula-like cells get an apostrophe. :func:`to_data_csv` is for data files fed
back to Slicewise: values exactly as they are.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pandas as pd

from slicewise.core.errors import FileFormatError

#: Characters that make a spreadsheet read what follows as a formula (OWASP, "CSV
#: Injection"). Their full-width forms (＝ ＋ － ＠) are left alone: LibreOffice does not
#: evaluate them (tests/test_csv_injection_libreoffice.py shows it).
FORMULA_CHARS = "=+-@"
#: Characters a spreadsheet may split a line into cells at: the common separators (comma;
#: semicolon, the list separator where the decimal mark is a comma; tab; pipe) and line
#: breaks (a reader that takes a quoted cell for unquoted, as a ``;`` reader does with a
#: ``,`` file, starts a row there). Space, which LibreOffice also offers as a separator,
#: is left out: an apostrophe before every ``-`` after a space would mangle plain text.
CELL_BREAKS = ",;\t|\r\n"
#: A place where a cell may begin in some spreadsheet's reading: the start of the text or
#: a cell break, then any spaces (trimmed by the "trim spaces" import option) and double
#: quotes (the CSV quoting, read as text by a reader that split inside a quoted cell),
#: followed by a formula character. Group 1 ends where the apostrophe goes.
_FORMULA_AT = re.compile(
    rf'((?:^|[{re.escape(CELL_BREAKS)}])[\s"]*)(?=[{re.escape(FORMULA_CHARS)}])'
)
#: A cell starting with one of these is prefixed too (OWASP lists tab and carriage return).
_CONTROL_START = ("\t", "\r")
#: A plain decimal number: a sign, ASCII digits grouped or split by ``.`` or ``,`` (either
#: decimal mark, either thousands separator), an exponent (``-1``, ``+2``, ``-3.5``,
#: ``-.5``, ``-1e-3``, ``-1,5``, ``-1,000.5``). A spreadsheet reads it as a number in one
#: locale and as text in another, never as a formula (tests/test_csv_injection_libreoffice.py
#: shows it for each reading).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]+)*[.,]?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What may follow a cell start for it to be left unprefixed: a plain number, then spaces,
#: then the end of the text (a separator after it would begin a cell that other readings
#: join to the number, such as ``-1;x``).
_NUMBER_TO_END = re.compile(rf"{_NUMBER.pattern} *")


def neutralise_formula(value: Any) -> Any:
    r"""Return ``value`` with an apostrophe before everything a spreadsheet could evaluate.

    A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (a tab or a
    carriage return first is risky too); the defence is a leading ``'``, which makes the
    cell text (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection).
    A CSV cell is not always read as one cell, though: a spreadsheet in a locale whose
    separator is ``;`` splits ``x;=1+1`` into ``x`` and ``=1+1``, and one that misreads the
    quoting starts a new row at a line break inside a cell. So the apostrophe goes before
    every formula character that comes at the start of the text or after any of
    :data:`CELL_BREAKS` (``, ; | tab CR LF``), with only spaces or double quotes between;
    and before a leading tab or carriage return. A plain number is not a formula: a
    ``-`` or ``+`` that starts a decimal number running to the end of the text (spaces
    after it allowed: ``-1``, ``+2``, ``-3.5``, `` -.5 ``, ``-1e-3``, ``-1,5``,
    ``x;-1.5``) gets no apostrophe, so a spreadsheet reads the number; ``-1+1``, ``-A1``,
    ``-1;x`` and ``--1`` still get one. Text other than ``str`` (numbers, None) is
    returned as given. Idempotent: a neutralised text is not changed again.

    Examples
    --------
    >>> neutralise_formula("=1+1"), neutralise_formula("x;=1+1"), neutralise_formula(-2)
    ("'=1+1", "x;'=1+1", -2)
    >>> neutralise_formula('a, "@SUM(1)"'), neutralise_formula("\t=1")
    ('a, "\'@SUM(1)"', "'\t'=1")
    >>> neutralise_formula("-3.5"), neutralise_formula("x;-1e-3"), neutralise_formula("-1+1")
    ('-3.5', 'x;-1e-3', "'-1+1")
    """
    if not isinstance(value, str):
        return value
    value = _FORMULA_AT.sub(_apostrophe, value)
    return "'" + value if value.startswith(_CONTROL_START) else value


def _apostrophe(start: re.Match[str]) -> str:
    """Return a cell start found by :data:`_FORMULA_AT`, with ``'`` unless a number follows.

    The number must run to the end of the text (:data:`_NUMBER_TO_END`).
    """
    number = _NUMBER_TO_END.fullmatch(start.string, start.end())
    return start.group(1) if number else start.group(1) + "'"


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with its text cells and column names neutralised.

    Every ``str`` cell of an object, string or categorical column and every ``str`` column
    name goes through :func:`neutralise_formula`. Numbers are left alone, as numbers (a
    spreadsheet reads ``-0.25`` as a number, not a formula). The input is not modified.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(i, col.map(neutralise_formula))
    out.columns = [neutralise_formula(c) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> str:
    r"""Return ``frame`` as CSV text (no index) that is safe to open in a spreadsheet.

    Every CSV Slicewise offers goes through here: the text cells and column names are
    neutralised (:func:`neutralise_frame`), and every field is quoted
    (:data:`csv.QUOTE_ALL`), so a reader splitting at ``,`` keeps a ``;`` or a line break
    inside its cell; numbers are quoted too, and spreadsheets still read them as numbers.
    Lines end in CRLF (RFC 4180). Checked by opening the files in LibreOffice with ``,``
    and ``;`` as separators and formula evaluation on
    (tests/test_csv_injection_libreoffice.py).
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_ALL)


def to_data_csv(frame: pd.DataFrame) -> str:
    r"""Return ``frame`` as CSV text (no index) with every value exactly as it is.

    For a data file the user feeds back to Slicewise, such as ``slicewise tag FILE -o OUT``
    (the file with a tag column), not for a report opened in a spreadsheet (that is
    :func:`to_safe_csv`): no apostrophe is added, so ``-1``, ``=HYPERLINK(...)`` and
    ``007`` come back from :func:`core.dataset.read_table` as they went in. RFC 4180
    quoting where needed (a field holding ``,``, ``"`` or a line break is quoted, ``"``
    doubled); missing values are blank; lines end in CRLF.

    Examples
    --------
    >>> to_data_csv(pd.DataFrame({"id": ["=1+1", "a,b"], "y": ["-1", None]}))
    'id,y\r\n=1+1,-1\r\n"a,b",\r\n'
    """
    return frame.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def make_csv_safe(content: str | bytes, *, name: str = "CSV") -> str:
    """Return CSV text rewritten as :func:`to_safe_csv` writes it, numbers kept as they are.

    For CSV written elsewhere or earlier, such as a report saved in the store before its
    cells were neutralised after separators. ``content`` is parsed as RFC 4180 CSV (bytes
    as UTF-8, undecodable bytes replaced); every cell goes through
    :func:`neutralise_formula` (plain numbers stay as they are); every field is quoted and
    lines end in CRLF.
    Text that :func:`to_safe_csv` wrote comes back unchanged.

    Raises
    ------
    core.errors.FileFormatError
        ``content`` cannot be parsed as CSV (a cell over Python's field size limit, 128 KiB);
        the message starts with ``name``.
    """
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            writer.writerow(neutralise_formula(cell) for cell in row)
    except csv.Error as exc:
        raise FileFormatError(
            f"{name}: cannot be read as CSV to neutralise its formulas ({exc})"
        ) from None
    return out.getvalue()
