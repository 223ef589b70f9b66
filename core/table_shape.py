"""The shape of a text table: its delimiter, its header's names, its rows' field counts.

Checks run before (or instead of) handing CSV/TSV text to a parser, so that a problem is
reported naming the file, the line and a fix: a header that is data, blank or repeated
column names, rows with more or fewer fields than the header, a wrong delimiter. Used by
:mod:`core.reading` and by the DuckDB engine (:mod:`core.engine_duckdb`).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from slicewise.core.errors import (
    DuplicateColumnError,
    EmptyFileError,
    FileFormatError,
    InvalidValueError,
)

DELIMITERS = (",", "\t", ";", "|")
_SEP_ALIASES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def sniff_delimiter(header: str) -> str:
    """Return the delimiter of :data:`DELIMITERS` found most often outside quotes in ``header``.

    A comma when none is found (a one-column file).
    """
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _count_outside_quotes(line: str, ch: str) -> int:
    """Count ``ch`` in ``line`` outside double quotes."""
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def normalize_sep(sep: str | None, name: str) -> str | None:
    """Return the delimiter the user gave as one character (``"tab"`` means a tab).

    ``None`` when none was given (empty or ``None``): the reader then detects it.

    Raises
    ------
    InvalidValueError
        Not one character, or a quote, a line break, a letter or a digit.
    """
    if sep is None or sep == "":
        return None
    sep = _SEP_ALIASES.get(sep.lower() if len(sep) > 1 else sep, sep)
    if len(sep) != 1 or sep in '"\r\n' or sep.isalnum():
        raise InvalidValueError(
            f"{name}: {sep!r} cannot be a delimiter; use one character such as ',', ';', '|' "
            "or a tab, or leave it empty to detect it"
        )
    return sep


def sep_name(sep: str) -> str:
    """Return the delimiter's name in messages: ``comma``, ``tab``, ``semicolon``, ``pipe``."""
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(sep, repr(sep))


def read_header(text: str, name: str, sep: str | None) -> tuple[str, list[str]]:
    """Check the first line of ``text`` and return the delimiter and the column names."""
    if not re.search(r"\S", text):
        raise EmptyFileError(
            f"{name}: the file is empty; it needs a header row (e.g. "
            "id,label,prediction) and one row per example"
        )
    first_line = re.match(r"[^\r\n]*", text).group()
    if not first_line.strip():
        raise EmptyFileError(
            f"{name}: the first line is blank; it must hold the column names "
            "(delete the blank lines above the header)"
        )
    if sep is None:
        tsv = name.lower().endswith((".tsv", ".tab"))
        sep = "\t" if tsv else sniff_delimiter(first_line)
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=sep), [])]
    if len(header) == 1:
        others = [d for d in DELIMITERS if d != sep and d in first_line]
        if others:
            raise FileFormatError(
                f"{name}: the header is one single column when split on {sep_name(sep)}s, but "
                f"it contains {sep_name(others[0])}s; the file is probably "
                f"{sep_name(others[0])}-delimited: give that delimiter (CLI: --sep "
                f"{others[0]!r}) or leave it empty to detect it"
            )
    check_header_is_names(header, name)
    check_names(header, name, allow_nameless=True)  # decided once their values are read
    return sep, header


def check_field_counts(text: str, sep: str, name: str, *, lines_before: int = 0) -> None:
    """Raise when a row has more or fewer fields than the header (pandas pads short rows).

    Vectorised over the bytes: a delimiter or line break counts when an even number of
    quote characters precede it. Stray quotes can fool that count, so a mismatch found in a
    file with quotes is confirmed with the ``csv`` module before it is reported.
    ``lines_before``: lines of the file before ``text``, added to the line numbers shown.
    Lines holding only whitespace are skipped by the parser: they are not rows.

    Raises
    ------
    FileFormatError
        Naming the file, the header's field count, up to three lines at fault with theirs,
        and a fix (a delimiter used in the rows but not the header, a title line).
    """
    if len(sep) != 1 or ord(sep) > 127:
        return
    raw = text.encode("utf-8")
    counted = _count_fields(raw, sep)
    if counted is None:
        return  # an unclosed quote: pandas reports it
    b, starts, ends, counts, all_breaks = counted
    n_fields = int(counts[0])
    cand = np.flatnonzero(counts != n_fields)
    if len(cand) == 0:
        return
    cand = cand[~_blank_lines(b, sep, starts[cand], ends[cand])]
    if len(cand) == 0:
        return
    hint = "check for a missing or extra delimiter, and quote values that contain one"
    if b'"' in raw:
        confirmed = _confirm_field_counts(text, sep)
        if confirmed is None or not len(confirmed[0]):
            return
        lines, found = confirmed
    else:
        lines = np.searchsorted(np.flatnonzero(all_breaks), starts[cand]) + 1
        found = counts[cand]
        header_text = raw[: ends[0]].decode("utf-8", errors="replace")
        row_text = raw[starts[cand[0]] : ends[cand[0]]].decode("utf-8", errors="replace")
        others = [d for d in DELIMITERS if d != sep and d in row_text and d not in header_text]
        if int(found[0]) == 1 and others:
            hint = (
                f"the rows look {sep_name(others[0])}-delimited while the header is "
                f"{sep_name(sep)}-delimited; use one delimiter throughout"
            )
    raise FileFormatError(field_count_message(name, n_fields, lines, found, hint, lines_before))


def _count_fields(
    raw: bytes, sep: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Count the fields of every line of ``raw``, delimiters inside quotes not counted.

    Returns ``(bytes, line starts, line ends, field counts, every line break)`` (arrays;
    starts and ends are byte offsets, the breaks a mask over the bytes, quoted ones
    included), or ``None`` when a quote is never closed.
    """
    b = np.frombuffer(raw, dtype=np.uint8)
    quoted = b'"' in raw
    if quoted:
        inside = (np.cumsum(b == 34, dtype=np.uint8) & 1).astype(bool)
        if inside[-1]:
            return None
        outside = ~inside
    breaks = b == 10
    if b"\r" in raw:  # a lone CR ends a line too (pandas reads old Mac files)
        breaks |= (b == 13) & np.append(b[1:] != 10, True)
    all_breaks = breaks
    if quoted:
        breaks = breaks & outside
    seps = b == ord(sep)
    if quoted:
        seps &= outside
    ends = np.flatnonzero(breaks)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(b)]))
    sep_pos = np.flatnonzero(seps)
    counts = np.searchsorted(sep_pos, ends) - np.searchsorted(sep_pos, starts) + 1
    return b, starts, ends, counts, all_breaks


def _blank_lines(b: np.ndarray, sep: str, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Mask over the lines ``b[s:e]``: True where a line holds only whitespace (or nothing)."""
    ws = (b == 32) | (b == 13)
    if sep != "\t":
        ws |= b == 9
    nonempty = s < e
    blank = ~nonempty
    if nonempty.any():
        idx = np.empty(2 * int(nonempty.sum()), dtype=np.int64)
        idx[0::2], idx[1::2] = s[nonempty], e[nonempty]
        blank[nonempty] = np.logical_and.reduceat(np.append(ws, True), idx)[0::2]
    return blank


def field_count_message(
    name: str,
    n_fields: int,
    lines: np.ndarray,
    found: np.ndarray,
    hint: str,
    lines_before: int,
) -> str:
    """Return the message for rows whose field counts (``found``) differ from the header's.

    ``lines``: the file lines at fault (1-based, ascending), ``found``: their field counts.
    """
    if len(lines) > 1 and int(lines[0]) == 2 and len(set(found[:3].tolist())) == 1:
        hint += "; if line 1 is a title or a note, delete it: the first line must be the header"
    shown = ", ".join(
        f"line {int(ln) + lines_before} has {int(k)}"
        for ln, k in zip(lines[:3], found[:3], strict=True)
    )
    more = f" ({len(lines)} rows in all)" if len(lines) > 3 else ""
    return (
        f"{name}: the header has {n_fields} {'field' if n_fields == 1 else 'fields'} but "
        f"{shown}{more}; {hint}"
    )


def _confirm_field_counts(text: str, sep: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact (slow) field counts with the ``csv`` module; only run once a mismatch is suspected.

    Returns the first line of each row whose field count differs from the header's, and
    that count; ``None`` when the ``csv`` module cannot read the text either.
    """
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(max(old, len(text) + 1))
        reader = csv.reader(io.StringIO(text, newline=None), delimiter=sep)
        n_fields = len(next(reader, []))
        lines, found = [], []
        start = reader.line_num + 1
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()) and len(row) != n_fields:
                lines.append(start)
                found.append(len(row))
            start = reader.line_num + 1
    except csv.Error:
        return None
    finally:
        csv.field_size_limit(old)
    return np.asarray(lines, dtype=np.int64), np.asarray(found, dtype=np.int64)


def short_parser_message(exc: Exception, lines_before: int = 0) -> str:
    """Turn a pandas parser error into one short sentence naming the file's line.

    ``lines_before``: lines of the file before the parsed text (Excel's ``sep=`` line).
    """
    msg = (str(exc).strip().splitlines() or [""])[-1]
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return (
            f"line {int(m.group(2)) + lines_before} has {m.group(3)} fields where the "
            f"header has {m.group(1)}; "
            "check for a stray delimiter, and quote values that contain one"
        )
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        return (
            f"a quoted value starting on line {int(m.group(1)) + 1 + lines_before} is "
            "never closed; "
            'remove the stray " or close the quote'
        )
    return msg[:200]


def is_nameless(name: str) -> bool:
    """Whether a header field is blank (pandas names a blank one ``Unnamed: 3``)."""
    return not name.strip() or name.startswith("Unnamed: ")


def check_names(names: list[str], file: str, *, allow_nameless: bool = False) -> None:
    """Raise when a header field is blank or two fields share a name.

    ``allow_nameless``: blank fields pass (the reader decides once it has read their
    values, see :func:`_leave_out_blank_shapes`); named fields must still differ.

    Raises
    ------
    DuplicateColumnError
        Naming the file and the columns (1-based).
    """
    blanks = [i + 1 for i, n in enumerate(names) if is_nameless(str(n))]
    if blanks and not allow_nameless:
        raise nameless_error(blanks, file)
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if allow_nameless and i + 1 in blanks:
            continue
        if n in seen:
            raise DuplicateColumnError(
                f"{file}: column name {n!r} appears twice (columns {seen[n] + 1} and {i + 1}); "
                "rename one of them"
            )
        seen[n] = i


def nameless_error(
    columns: list[int], file: str, *, with_values: bool = False
) -> DuplicateColumnError:
    """Return the error for header fields with no name (``columns``: 1-based positions)."""
    one = len(columns) == 1
    where = ", ".join(map(str, columns[:5])) + (
        f" and {len(columns) - 5} more" if len(columns) > 5 else ""
    )
    what = "has no name" if one else "have no name"
    if with_values:
        what += " but holds values" if one else " but hold values"
    hint = (
        " (a table saved by pandas with its index has a blank first column: save it "
        "with index=False)"
        if columns[0] == 1
        else " (the first line must be the header: delete any title or notes above it)"
        if with_values
        else ""
    )
    return DuplicateColumnError(
        f"{file}: {'column' if one else 'columns'} {where} of the header "
        f"{what}; give every column a name{hint}"
    )


def check_header_is_names(header: list[str], file: str) -> None:
    """Raise when most fields of the first line are numbers: it is data, not a header.

    Raises
    ------
    EmptyFileError
        Naming the file and the first fields of that line.
    """

    def numeric(s: str) -> bool:
        try:
            float(s)
            return True
        except ValueError:
            return False

    if sum(numeric(h) for h in header) * 2 > len(header):
        raise EmptyFileError(
            f"{file}: the first line ({', '.join(header[:4])}{'...' if len(header) > 4 else ''})"
            " looks like data, not column names; add a header row such as label,prediction"
        )
