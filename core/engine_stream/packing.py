"""Group few-valued text columns on one integer: the same groups, a cheaper hash table.

Grouping on a dozen text columns (tags written ``x`` or left blank) hashes and compares a
dozen strings per row. When the streaming engine already counted a column's values over the
whole table (:meth:`core.engine_stream.counts.ValueCounts.value_counts`), each cell is one of
those values or missing, so it has a code; the codes of several such columns pack into one
integer (mixed radix), a bijection: grouping on it makes exactly the groups the cells make.
After the grouping each code is put back as the cell it stands for, with the reader's dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.engine_stream.opening import ident, lit

#: A column is packed when it holds at most this many values (missing aside).
PACK_VALUES = 16
#: The name of the packed key in a query.
PACKED = "__packed"


@dataclass(frozen=True)
class Pack:
    """One packed column: its code is ``(key // unit) % len(cells)``.

    ``cells``: the column's values as the reader holds them, then a missing cell (the code
    of a NULL), shape ``(n_values + 1,)``.
    """

    column: str
    unit: int
    cells: pd.Series


def packs_of(
    columns: list[str], counts: Mapping[str, tuple[pd.Series | None, int]], dtypes: Mapping
) -> list[Pack]:
    """Return the packs of ``columns`` whose values are known, few and text (two or more).

    ``counts``: the whole table's value counts by column (index: the values, missing left
    out), as the source remembers them; ``dtypes``: the reader's dtype by column.
    """
    out, unit = [], 1
    for c in columns:
        known = counts.get(c, (None, 0))[0]
        dtype = dtypes.get(c)
        text = dtype is not None and pd.api.types.is_string_dtype(dtype)
        if known is None or not text or isinstance(dtype, pd.CategoricalDtype):
            continue
        values = list(known.index)
        if len(values) > PACK_VALUES or not all(isinstance(v, str) for v in values):
            continue
        if unit * (len(values) + 1) >= 1 << 62:
            break
        out.append(Pack(c, unit, pd.Series([*values, None], dtype=dtype)))
        unit *= len(values) + 1
    return out if len(out) > 1 else []


def packed_relation(relation: str, columns: list[str], packs: list[Pack]) -> tuple[str, list[str]]:
    """Return ``relation`` with the packed key added, and the columns to group on."""
    if not packs:
        return relation, columns
    terms = []
    for p in packs:
        c, values = ident(p.column), p.cells.iloc[:-1]
        whens = " ".join(f"WHEN {c} = {lit(v)} THEN {i}" for i, v in enumerate(values))
        terms.append(f"(CASE WHEN {c} IS NULL THEN {len(values)} {whens} END) * {p.unit}")
    key = " + ".join(terms)
    packed = {p.column for p in packs}
    inner = f"(SELECT *, ({key})::BIGINT AS {PACKED} FROM {relation})"
    return inner, [*(c for c in columns if c not in packed), PACKED]


def unpacked(df: pd.DataFrame, packs: list[Pack]) -> pd.DataFrame:
    """Put each packed column back in ``df`` in place of the packed key.

    Raises
    ------
    RuntimeError
        A packed key is missing: a cell was none of its column's counted values.
    """
    if not packs:
        return df
    key = df.pop(PACKED)
    if key.isna().any():
        raise RuntimeError("a packed cell is none of its column's counted values")
    codes = key.to_numpy(dtype=np.int64)
    for p in packs:
        at = (codes // p.unit) % len(p.cells)
        df[p.column] = p.cells.take(at).reset_index(drop=True)
    return df


def in_order(df: pd.DataFrame, columns: list[str], extra: Any = ("__w", "__first")) -> pd.DataFrame:
    """Return ``df`` with ``columns`` first, in order, then the ``extra`` it has."""
    return df[[*columns, *(c for c in extra if c in df.columns)]]
