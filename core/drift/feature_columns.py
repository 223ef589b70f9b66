"""Which columns of a reference are drift features: not roles, not identifiers.

:func:`default_features` lists the columns :func:`core.drift.features.feature_drift` compares
when the user names none: the columns both tables share, less those whose names mark a role
(id, label, prediction, score...) and those :func:`find_identifier_columns` takes for
identifiers or free text. :func:`read_as_numbers` decides whether a column is numeric.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from slicewise.core.column_parsing import is_number, is_text, missing_mask
from slicewise.core.column_roles import RESERVED, find_role_candidates
from slicewise.core.values import NumberFormat, as_text, read_numbers

__all__ = [
    "IDENTIFIER_DISTINCT_SHARE",
    "IDENTIFIER_MIN_VALUES",
    "default_features",
    "find_identifier_columns",
    "identifier_note",
    "read_as_numbers",
]

#: A column compared as categories is taken for an identifier or free text, and left out of
#: the default features, when the reference holds at least :data:`IDENTIFIER_MIN_VALUES`
#: values of it and more than :data:`IDENTIFIER_DISTINCT_SHARE` of them are distinct (an
#: ``audio_path``, a transcript). Most of its categories then occur once, so nearly every
#: production value is a category the reference never holds and its L-infinity distance
#: (the largest change of one category's share, about 1/n) says nothing about drift.
#: Deepchecks, by contrast, infers a column categorical from a low share of distinct
#: values (its ``Dataset``'s ``max_categorical_ratio``, default 0.01); Slicewise keeps
#: every column up to half, so a feature with many rare categories is still compared.
#: Below 50 values a share of distinct values tells an identifier from a feature poorly,
#: so the column is kept.
IDENTIFIER_MIN_VALUES = 50
IDENTIFIER_DISTINCT_SHARE = 0.5


def default_features(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    *,
    exclude: Iterable[str] = (),
    identifiers: bool = False,
    decimal: str | None = None,
    thousands: str | None = None,
) -> list[str]:
    """Return the columns to watch: those both tables share, minus roles and ``exclude``.

    Columns whose names mark them as an id, label, prediction, human label, score or human
    accuracy (any name :func:`core.column_roles.find_role_candidates` matches to those
    roles: ``id``, ``y_true``, ``pred``, ``confidence``...) are left out: they are not
    inputs of the model. So are columns that look like identifiers or free text
    (:func:`find_identifier_columns`, read with ``decimal``/``thousands``) unless
    ``identifiers`` is True. In the reference's order.
    """
    candidates = find_role_candidates(reference)
    skip = set(exclude) | {c for role in RESERVED for c in candidates.get(role, [])}
    shared = [c for c in reference.columns if c in production.columns and c not in skip]
    if identifiers:
        return shared
    ids = find_identifier_columns(reference, shared, decimal=decimal, thousands=thousands)
    return [c for c in shared if c not in ids.index]


def find_identifier_columns(
    reference: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    reference_name: str = "reference",
    decimal: str | None = None,
    thousands: str | None = None,
) -> pd.DataFrame:
    """Find the columns that look like identifiers or free text, not features.

    A column is one when it would be compared as categories (it does not read as numbers,
    as :func:`core.drift.features.prepare_features` reads it) and the reference holds at least
    :data:`IDENTIFIER_MIN_VALUES` values of it (missing cells left out), more than
    :data:`IDENTIFIER_DISTINCT_SHARE` of them distinct (trimmed text compared).

    Parameters
    ----------
    reference
        The reference table, as read.
    columns
        The columns to look at; default: all of ``reference``'s.
    reference_name
        The file name used in the notes.
    decimal, thousands
        The number format of numeric text columns, when the user gives it.

    Returns
    -------
    pandas.DataFrame
        Indexed by column (in ``columns``' order), one row per column that looks like an
        identifier: ``n_values`` (present cells), ``n_distinct`` (distinct values among
        them) and ``note`` (one sentence: why the column is not compared by default and
        how to compare it anyway). Empty (same columns) when there is none.

    Examples
    --------
    >>> paths = pd.DataFrame({"path": [f"a/{k}.wav" for k in range(60)], "ok": ["y"] * 60})
    >>> find_identifier_columns(paths)[["n_values", "n_distinct"]]
          n_values  n_distinct
    path        60          60
    """
    rows = {}
    for col in reference.columns if columns is None else columns:
        values = as_text(reference[col][~missing_mask(reference[col])])
        n_values, n_distinct = len(values), int(values.nunique())
        if n_values < IDENTIFIER_MIN_VALUES or n_distinct <= IDENTIFIER_DISTINCT_SHARE * n_values:
            continue
        if isinstance(
            read_as_numbers(reference[col], decimal=decimal, thousands=thousands), np.ndarray
        ):
            continue  # numbers: compared over quantile bins, where distinct values are normal
        rows[col] = (
            n_values,
            n_distinct,
            identifier_note(col, n_distinct, n_values, reference_name),
        )
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["n_values", "n_distinct", "note"]
    ).astype({"n_values": "int64", "n_distinct": "int64", "note": object})


def identifier_note(column: str, n_distinct: int, n_values: int, reference_name: str) -> str:
    """Return the note naming a column left out of the default features, and why."""
    return (
        f"{column!r} not compared: {n_distinct:,} distinct values in {n_values:,} rows of "
        f"{reference_name}, more than {IDENTIFIER_DISTINCT_SHARE:.0%}, so it looks like an "
        "identifier or free text, whose production values would nearly all be new "
        f"categories; name it as a feature to compare it anyway (CLI: --feature {column})"
    )


def read_as_numbers(
    col: pd.Series, *, decimal: str | None, thousands: str | None
) -> np.ndarray | str | None:
    """Read a column as numbers, as drift reads a feature.

    Returns floats, shape ``(len(col),)``, NaN where missing, when ``col`` holds numbers
    (a numeric dtype, or text that reads as numbers: :func:`core.values.read_numbers`);
    ``"ambiguous"`` when its text reads differently with a decimal comma and with a
    thousands separator; ``None`` otherwise (text, booleans, categoricals, dates).
    """
    if is_number(col):
        return col.to_numpy(dtype=float, na_value=np.nan)
    if not is_text(col):
        return None  # booleans, categoricals, dates: categories
    text = as_text(col)
    if not text.notna().any():
        return None
    fmt, values = read_numbers(text, decimal=decimal, thousands=thousands)
    if isinstance(fmt, NumberFormat):
        return values
    return fmt
