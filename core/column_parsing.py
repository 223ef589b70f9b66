"""Read the cells of a column: booleans, tag lists, numbers, ids, missing cells.

What :func:`core.dataset.prepare` does to each role's column once the roles are known:
true/false-like tag columns to booleans, a delimited tags column to boolean columns, a
score or human accuracy to floats, numeric metadata to numbers, ids to trimmed text, the
cells the user declared missing to missing. The value contract (what is missing, how
numbers and classes are read) is :mod:`core.values`'s; messages name the file, the column
and the rows (:class:`~core.errors.RowNumbers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError, RowNumbers, format_rows
from slicewise.core.values import (
    _FORMATS,
    NumberFormat,
    as_text,
    head_says_text,
    likely_number_cause,
    read_numbers,
    to_numbers,
)

TRUE_TOKENS = frozenset({"true", "t", "1", "1.0", "yes", "y", "x", "✓", "✔"})
FALSE_TOKENS = frozenset({"false", "f", "0", "0.0", "no", "n", ""})


def _is_missing_scalar(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def distinct_present(col: pd.Series, limit: int | None = None) -> list[Any] | None:
    """Return the distinct non-missing values of ``col``; ``None`` when more than ``limit``.

    A column's head is looked at first, so a column of many values (ids, scores) is rejected
    without hashing a million cells. Raises ``TypeError`` for unhashable cells.
    """
    if limit is not None and len(col) > 4096:
        head = col.iloc[:4096].unique()
        if len(head) > limit + 1:  # + 1: a missing value may be among them
            return None
    uniques = [v for v in col.unique() if not _is_missing_scalar(v)]
    if limit is not None and len(uniques) > limit:
        return None
    return uniques


def arrow_strings(values: pd.Series) -> Any:
    """Return the pyarrow ChunkedArray behind a pyarrow-backed string Series, else ``None``."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return values.array.__arrow_array__()
    return None


def missing_mask(values: pd.Series) -> np.ndarray:
    """Return a mask that is True where a value is missing or a blank string."""
    miss = values.isna().to_numpy(dtype=bool)
    arrow = arrow_strings(values)
    if arrow is not None:  # one pass over the bytes, no stripped copy of every string
        import pyarrow.compute as pc

        blank = pc.or_kleene(pc.utf8_is_space(arrow), pc.equal(arrow, ""))
        return miss | pc.fill_null(blank, False).to_numpy(zero_copy_only=False)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        # A string dtype strips in place (pyarrow compute); converting it would copy 1M
        # Python strings.
        text = values if values.dtype != object else values.astype("string")
        blank = text.str.strip().eq("").fillna(False)
        miss = miss | blank.to_numpy(dtype=bool)
    return miss


def example_values(values: pd.Series, rows: np.ndarray, limit: int = 3) -> str:
    """Up to ``limit`` distinct offending values, quoted, e.g. ``"'high', 'n/a'"``."""
    shown = pd.unique(values.iloc[rows[:1000]].astype(str).to_numpy(dtype=object))[:limit]
    return ", ".join(repr(v) for v in shown)


def is_number(v: pd.Series) -> bool:
    """Whether ``v`` has a numeric dtype (booleans are not numbers here)."""
    return pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)


def is_text(v: pd.Series) -> bool:
    """Whether ``v`` holds text (object or string dtype; a categorical is not text).

    pandas calls a categorical of strings a string dtype, but its cells are codes with no
    Arrow text behind them; it is kept as the reader typed it, like other typed columns.
    """
    if isinstance(v.dtype, pd.CategoricalDtype):
        return False
    return v.dtype == object or pd.api.types.is_string_dtype(v)


def mask_na_tokens(df: pd.DataFrame, na_values: tuple[str, ...]) -> pd.DataFrame:
    """Blank out the cells (of text columns) that the user declared missing."""
    if not na_values:
        return df
    numbers = pd.to_numeric(pd.Series(na_values, dtype=object), errors="coerce").dropna()
    out = {}
    for c in df.columns:
        col = df[c]
        if is_text(col):
            hit = col.astype("string").str.strip().isin(na_values).fillna(False)
        elif is_number(col) and len(numbers):  # typed cells (Parquet, xlsx): -999 is -999.0
            hit = col.isin(numbers.tolist())
        else:
            continue
        if hit.any():
            col = col.mask(hit.to_numpy(dtype=bool))
        out[c] = col
    return df.assign(**out) if out else df


def trim_text(text: pd.Series, coded: Any = None) -> pd.Series:
    """Return Arrow-backed text without surrounding spaces, blank cells missing.

    Checked on the distinct cells first: a clean column (the common case) is returned as it
    is, without a pass over every row. ``coded``: the column's Arrow dictionary encoding
    (:func:`dictionary_coded`) when the caller has it: its dictionary is the distinct cells.
    """
    import pyarrow.compute as pc

    cells = coded.dictionary if coded is not None else pc.unique(text.array.__arrow_array__())
    if clean_cells(cells):
        return text
    out = text.str.strip()
    return out.mask(out.eq("").fillna(False).to_numpy(dtype=bool))


def clean_cells(cells: Any) -> bool:
    """Whether no Arrow string in ``cells`` is blank or has surrounding spaces."""
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(cells)
    return (
        pc.all(pc.equal(trimmed, cells)).as_py() is not False
        and not pc.any(pc.equal(cells, "")).as_py()
    )


def dictionary_coded(text: pd.Series) -> Any:
    """Return the Arrow dictionary encoding (one chunk) of Arrow-backed text, else ``None``.

    One hash pass over the rows gives both the distinct cells (to check and parse once
    each: :func:`trim_text`, :func:`core.values.read_numbers`) and each row's code.
    """
    arr = arrow_strings(text)
    if arr is None or arr.null_count == len(arr):
        return None
    import pyarrow.compute as pc

    return pc.dictionary_encode(arr).combine_chunks()


def id_text(ids: pd.Series) -> pd.Series:
    """Ids as trimmed text (see :mod:`core.values`); text columns stay in their fast dtype."""
    if pd.api.types.is_string_dtype(ids) and ids.dtype != object:
        return ids.str.strip().reset_index(drop=True)
    return as_text(ids).reset_index(drop=True)


def all_distinct(values: pd.Series) -> bool:
    """Whether no value repeats.

    Arrow strings are hashed to 64 bits straight from their buffers, the hashes sorted, and
    only the rows whose hashes repeat compared exactly (``pyarrow.compute.unique``): a hash
    table of 10M strings thrashes the caches (5.4 s at 10M ids against 0.31 s at 1M), a
    sort of integers does not. Other columns go through pandas' hash table (``is_unique``).
    ``False`` when a value is missing: the caller then checks the rows it keeps exactly.
    """
    if len(values) < 2:
        return True
    if values.isna().any():
        return False
    arr = arrow_strings(values)
    if arr is None:
        return bool(values.is_unique)
    import pyarrow.compute as pc

    hashes = _text_hashes(arr)
    if hashes is None:  # long strings: hashing words would cost more than the hash table
        return len(pc.unique(arr)) == len(arr)
    order = np.sort(hashes)
    repeated = order[1:][order[1:] == order[:-1]]
    if not len(repeated):
        return True  # equal strings have equal hashes
    suspects = arr.take(np.flatnonzero(np.isin(hashes, repeated)))
    return len(pc.unique(suspects)) == len(suspects)


def _text_hashes(arr: Any, max_bytes: int = 64) -> np.ndarray | None:
    """64-bit hashes of Arrow (large_)strings without nulls, read from their buffers.

    Each string's bytes are read as little-endian 64-bit words (unaligned windows on the
    data buffer, bytes past the string masked off) and mixed with its length, in as many
    rounds for every string of ``arr`` (so equal strings in two chunks hash alike); ``None``
    when a string is longer than ``max_bytes`` (one pass per word).
    """
    import pyarrow as pa

    parts = []
    for chunk in arr.chunks:
        wide = pa.types.is_large_string(chunk.type)
        if not (wide or pa.types.is_string(chunk.type)):
            return None
        _, off_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
        data = np.zeros(int(offsets[-1]) + 8, dtype=np.uint8)  # 8 spare bytes: last window
        if data_buf is not None and offsets[-1]:
            data[: offsets[-1]] = np.frombuffer(data_buf, dtype=np.uint8)[: offsets[-1]]
        parts.append((offsets[:-1], np.diff(offsets), data))
    longest = max((int(length.max()) for _, length, _ in parts if len(length)), default=0)
    if longest > max_bytes:
        return None
    out = [np.zeros(0, dtype=np.uint64)]
    for start, length, data in parts:
        windows = np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
        h = length.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        for k in range(-(-longest // 8)):
            kept = np.clip(length - 8 * k, 0, 8).astype(np.uint64) * np.uint64(8)
            word = windows[np.minimum(start + 8 * k, len(windows) - 1)]
            # Keep the string's own bytes (shifting by 64 is undefined: two shifts of half).
            h ^= word & ~((np.uint64(0xFFFFFFFFFFFFFFFF) << (kept >> 1)) << (kept - (kept >> 1)))
            h *= np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
        out.append(h)
    return np.concatenate(out)


def says_no(col: pd.Series, distinct: list[Any] | None = None) -> bool:
    """Whether a tag column writes "no" explicitly (false, 0, no...), not as a blank cell.

    A column of ``x`` and blanks (the lecture's spreadsheet) says nothing about the rows
    left blank: they may not have been reviewed (see :mod:`core.tag_scope`). Boolean
    columns always say no.
    """
    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        present = distinct if distinct is not None else distinct_present(col)
    except TypeError:
        return True
    return writes_no(present or ())


def writes_no(values: Iterable[Any]) -> bool:
    """Whether some of a tag column's distinct values is an explicit "no" (not a blank)."""
    return any(str(v).strip().lower() in FALSE_TOKENS - {""} for v in values)


def parse_boolean_column(
    col: pd.Series,
    *,
    file: str,
    name: str,
    distinct: list[Any] | None = None,
    numbering: RowNumbers | None = None,
) -> pd.Series:
    """Turn true/false, 1/0, yes/no or x/blank values into booleans.

    Vectorised over the distinct values (``distinct``, when already known: the column's
    distinct non-missing values), so a million rows cost one pass. ``numbering``: how the
    file numbers the rows, for messages (default: a CSV file's).

    Raises
    ------
    InvalidValueError
        Some values are none of those; the message names them and their rows.
    """
    if pd.api.types.is_bool_dtype(col):
        return pd.Series(col.fillna(False).to_numpy(dtype=bool), index=col.index, name=col.name)
    present = distinct
    if present is None:
        try:
            present = distinct_present(col)
        except TypeError:
            present = None
    if present is not None:
        tokens = [str(v).strip().lower() for v in present]
        if all(t in TRUE_TOKENS or t in FALSE_TOKENS for t in tokens):
            # The common case: every value is valid, so one pass over the rows marks the
            # true ones (every present value true, as in x/blank columns: the non-missing).
            truthy = [v for v, t in zip(present, tokens, strict=True) if t in TRUE_TOKENS]
            mask = col.notna() if len(truthy) == len(present) else col.isin(truthy)
            return pd.Series(mask.to_numpy(dtype=bool), index=col.index, name=col.name, copy=False)
    try:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
    except TypeError:
        raise InvalidValueError(
            f"{file}: tag column {name!r} holds lists or other compound "
            "values; tag columns take true/false, 1/0, yes/no or "
            "x/blank"
        ) from None
    tokens = pd.Index(uniques, dtype=object).astype(str).str.strip().str.lower()
    truthy_u = np.append(tokens.isin(TRUE_TOKENS), False)  # code -1 (missing) is False
    valid_u = np.append(tokens.isin(TRUE_TOKENS | FALSE_TOKENS), True)
    bad = ~valid_u[codes]
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = example_values(col, rows)
        raise InvalidValueError(
            f"{file}: tag column {name!r} holds {examples} in "
            f"{format_rows(rows, numbering=numbering)}; tag columns "
            "take true/false, 1/0, yes/no or x/blank (fix those cells, or choose the tag "
            "columns yourself)"
        )
    return pd.Series(truthy_u[codes], index=col.index, name=col.name)


def parse_tags_column(col: pd.Series, delimiter: str | None = None) -> pd.DataFrame:
    """Split a delimited tags column (``;`` or ``|``) into boolean tag columns.

    Blank cells carry no tag; names are stripped of surrounding spaces and blank names
    (``a;;b``) are ignored. Columns are sorted by tag name; the index is a RangeIndex.
    """
    s = col.reset_index(drop=True).astype("string")
    n = len(s)
    if delimiter is None:
        delimiter = "|" if s.str.contains("|", regex=False).any() else ";"
    parts = s.str.split(delimiter, regex=False).explode()
    parts = parts.astype("string").str.strip()
    keep = (parts.notna() & parts.ne("")).to_numpy(dtype=bool)
    rows = parts.index.to_numpy()[keep]
    codes, names = pd.factorize(parts[keep], sort=True)
    mat = np.zeros((n, len(names)), dtype=bool)
    mat[rows, codes] = True
    return pd.DataFrame(mat, columns=[str(t) for t in names])


def _in_format(text: pd.Series, fmt: NumberFormat) -> np.ndarray:
    """Read ``text`` as plain dot numbers, or in ``fmt`` where that reads more cells.

    The column fits neither wholly (else the format was inferred): the reading that reads
    more cells wins (plain on a tie, as before), so the cells left NaN, named by the caller,
    are the ones at fault (``N/A`` among decimal commas, not every comma).
    """
    plain = to_numbers(text, NumberFormat("."))
    if fmt not in _FORMATS or fmt == NumberFormat("."):
        return plain
    fits = text.astype("string").str.strip().str.fullmatch(_FORMATS[fmt].pattern)
    given = np.where(fits.fillna(False).to_numpy(dtype=bool), to_numbers(text, fmt), np.nan)
    return given if np.isfinite(given).sum() > np.isfinite(plain).sum() else plain


def parse_score(
    raw: pd.Series,
    *,
    file: str,
    column: str,
    decimal: str | None = None,
    thousands: str | None = None,
    numbering: RowNumbers | None = None,
    role: str = "score",
    values_are: str = "scores",
) -> pd.Series:
    """Return the score column as floats (NaN where blank); text that is not a number fails.

    The number format is inferred as for metadata (a decimal comma such as ``0,85`` is read
    when every cell fits it), or given by ``decimal``/``thousands``. ``numbering``: how the
    file numbers the rows, for messages. A score that is not finite (``inf``,
    ``-Infinity``, ``1e400``, an infinite float in a Parquet file) fails too: no threshold
    can rank it. A NaN float in a typed column is a blank cell. ``role`` and ``values_are``
    name the column and its values in messages (another numeric role is read the same way).

    Raises
    ------
    InvalidValueError
        Naming the file, the column, the rows and the values that are no (finite) numbers,
        or a column of true/false values, or numbers whose format is ambiguous.
    """
    where = f"{file}: the {role} column {column!r}"
    finite = {"raw": raw, "where": where, "numbering": numbering, "role": role}
    if is_number(raw):
        return _finite(raw.to_numpy(dtype=float, na_value=np.nan), values_are, **finite)
    if pd.api.types.is_bool_dtype(raw):
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds true/false "
            f"values; {values_are} must be numbers (choose another {role} "
            "column)"
        )
    # Trimmed, blank cells missing; a clean column (checked on its distinct cells) as it is.
    coded = dictionary_coded(raw)
    if raw.dtype == object:
        text = as_text(raw)
    elif arrow_strings(raw) is not None:
        text = trim_text(raw, coded)
    else:
        text = raw.str.strip().mask(missing_mask(raw))
    fmt, values = read_numbers(
        text, decimal=decimal, thousands=thousands, coded=coded if text is raw else None
    )
    if fmt == "ambiguous":
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds numbers such as "
            f"{text.dropna().iloc[0]!r} that read differently with a decimal comma and with a "
            "thousands separator; give the format (CLI: --decimal , or --thousands ,)"
        )
    if values is None:  # in the format given (else plain): the cells it cannot read are named
        values = _in_format(text, NumberFormat(decimal or ".", thousands))
    bad = np.isnan(values) & text.notna().to_numpy(dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = example_values(raw, rows)
        sample = str(raw.iloc[rows[0]])
        cause = likely_number_cause(sample)
        raise InvalidValueError(
            f"{file}: the {role} column {column!r} holds {examples} in "
            f"{format_rows(rows, numbering=numbering)}{cause}; "
            f"{values_are} must be numbers: fix those cells or choose another {role} column"
        )
    return _finite(values, values_are, **finite)


def _finite(
    values: np.ndarray,
    values_are: str,
    *,
    raw: pd.Series,
    where: str,
    numbering: RowNumbers | None,
    role: str,
) -> pd.Series:
    """Return ``values`` as a Series, refusing infinite ones (``raw``: the cells as read).

    Raises
    ------
    InvalidValueError
        Naming the column (``where``), the rows and their values as the file writes them.
    """
    infinite = np.isinf(values)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        raise InvalidValueError(
            f"{where} holds {example_values(raw, rows)} in "
            f"{format_rows(rows, numbering=numbering)}; {values_are} must be finite "
            f"numbers: fix those cells or choose another {role} column"
        )
    return pd.Series(values, copy=False)


def parse_human_accuracy(
    raw: pd.Series,
    *,
    file: str,
    column: str,
    decimal: str | None = None,
    thousands: str | None = None,
    numbering: RowNumbers | None = None,
) -> pd.Series:
    """Read the human-accuracy column: per example, a probability in [0, 1] (NaN where blank).

    Numbers are read as the score's are (:func:`parse_score`: a decimal comma is inferred
    where unambiguous); a value that is no number, not finite, or outside [0, 1] (``95``
    meant as a percent) is refused. ``numbering``: how the file numbers the rows.

    Raises
    ------
    InvalidValueError
        Naming the file, the column, the rows and the values.
    """
    values = parse_score(
        raw,
        file=file,
        column=column,
        decimal=decimal,
        thousands=thousands,
        numbering=numbering,
        role="human accuracy",
        values_are="human accuracies",
    )
    arr = values.to_numpy(dtype=float)
    outside = ~np.isnan(arr) & ((arr < 0) | (arr > 1))
    if outside.any():
        rows = np.flatnonzero(outside)
        raise InvalidValueError(
            f"{file}: the human accuracy column {column!r} holds {example_values(raw, rows)} in "
            f"{format_rows(rows, numbering=numbering)}; a human accuracy is the probability "
            "that one person labels the example right, a number between 0 and 1 (write 95% "
            "as 0.95): fix those cells or choose another column (CLI: --human-accuracy COLUMN)"
        )
    return values


def typed_metadata(
    col: pd.Series, *, file: str, decimal: str | None, thousands: str | None, warnings: list[str]
) -> pd.Series:
    """Turn a text metadata column that holds only numbers into numbers (int64 or float64).

    The number format (decimal comma, thousands separators) is inferred per column when
    unambiguous (see :func:`core.values.infer_number_format`); an ambiguous column stays text
    with a warning. Columns typed by the reader (Parquet) are kept as they are.
    """
    if not is_text(col) or not col.notna().any():
        return col
    name = col.name
    # Text is trimmed and a blank cell is missing, as for every role (core.values).
    # One hash pass serves the trim check and the numbers, for a column that may hold
    # numbers; a text column (its head says so) only needs its distinct cells.
    maybe_numbers = not head_says_text(col, decimal=decimal, thousands=thousands)
    coded = dictionary_coded(col) if col.dtype != object and maybe_numbers else None
    text = as_text(col).rename(name) if col.dtype == object else trim_text(col, coded)
    fmt, values = read_numbers(
        text, decimal=decimal, thousands=thousands, coded=coded if text is col else None
    )
    col = text
    if fmt == "ambiguous":
        warnings.append(
            f"{file}: column {name!r} holds numbers such as {col.dropna().iloc[0]!r} that "
            "read differently with a decimal comma and with a thousands separator; it is kept "
            "as text: give the format (CLI: --decimal , or --thousands ,)"
        )
        return col
    if values is None:
        return col
    if (
        not np.isnan(values).any()
        and np.all(np.mod(values, 1) == 0)
        and np.all(np.abs(values) < 2**63)
    ):
        return pd.Series(values.astype(np.int64), index=col.index, name=col.name, copy=False)
    return pd.Series(values, index=col.index, name=col.name, copy=False)
