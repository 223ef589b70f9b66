"""Nested values (lists, structs, maps, dicts, arrays) as compact JSON text, one per cell.

Slicing, grouping and exporting need one hashable value per cell: :func:`nested_arrow_to_text`
and :func:`nested_cells_to_text` write each compound cell as :func:`json_text`, a canonical
form in which equal values give equal text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.jsonable import dumps_json


def json_text(value: Any) -> str | None:
    """Return ``value`` (a list, dict, array...) as compact JSON with sorted keys.

    Equal values give equal text: keys are sorted, NaN becomes ``null``, dates ISO 8601
    text, bytes UTF-8 text (else hexadecimal), NumPy scalars plain numbers. A missing
    value gives ``None``.

    Examples
    --------
    >>> json_text({"b": [1, 2.5], "a": None})
    '{"a":null,"b":[1,2.5]}'
    """
    if _missing(value):
        return None
    # _plain has already made strict JSON data: no second walk (clean=False).
    return dumps_json(_plain(value), indent=None, sort_keys=True, clean=False)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _plain(v: Any) -> Any:
    """Return ``v`` with only JSON's types (see :func:`json_text`).

    A canonical form of its own rather than :func:`core.jsonable.json_ready`, because cell
    text must stay as it was written before (it is what slices are named by and matched
    on): datetimes with a space (``2024-01-03 14:05:00``, as a sheet's cells are written),
    sets sorted, bytes as UTF-8 text (else hexadecimal), non-text keys as their JSON text,
    arrays, other mappings and Decimals walked, which ``json_ready`` leaves to ``json``.
    """
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, np.generic):
        return _plain(v.item())
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, Mapping):
        return {_key(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (set, frozenset)):
        return sorted((_plain(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return b.hex()
    if isinstance(v, Decimal):
        return float(v) if v.is_finite() else None
    return str(v)


def _key(k: Any) -> str:
    """Return a mapping key as text: itself when text, else its JSON (``json.dumps``' form).

    ``json.dumps``' own separators (``[1, 2]``), not the compact ones, so keys keep the text
    they had; the same form orders a set's members in :func:`_plain`.
    """
    p = _plain(k)
    return p if isinstance(p, str) else json.dumps(p, sort_keys=True)


def nested_arrow_to_text(table: Any) -> tuple[Any, list[str]]:
    """Turn the list, struct, map and union columns of a pyarrow Table into JSON text.

    Returns
    -------
    (table, names)
        The table with those columns as strings (:func:`json_text` of each cell, nulls kept)
        and their names. The pandas metadata of those columns is reset to plain text so
        that ``to_pandas`` does not try to restore a list dtype.
    """
    import pyarrow as pa

    names = []
    for i, f in enumerate(table.schema):
        if not pa.types.is_nested(f.type):
            continue
        values = _arrow_pylist(table.column(i))
        texts = pa.array([json_text(v) for v in values], type=pa.string())
        table = table.set_column(i, f.name, texts)
        names.append(f.name)
    if names and table.schema.metadata and b"pandas" in table.schema.metadata:
        meta = json.loads(table.schema.metadata[b"pandas"])
        for col in meta.get("columns", []):
            if col.get("field_name") in names:
                col.update(pandas_type="unicode", numpy_type="object", metadata=None)
        # Arrow's own pandas metadata, rewritten in the form pyarrow wrote it (not ours).
        table = table.replace_schema_metadata(
            {**table.schema.metadata, b"pandas": json.dumps(meta).encode()}
        )
    return table, names


def _arrow_pylist(column: Any) -> list[Any]:
    """Python values of an Arrow column; maps as dicts (pairs when a key repeats)."""
    try:
        return column.to_pylist(maps_as_pydicts="strict")
    except (TypeError, ValueError, KeyError):
        return column.to_pylist()


def nested_cells_to_text(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Turn the compound cells of ``df`` (dicts, lists, tuples, arrays, sets) into JSON text.

    Looks at object columns whose cells pandas finds of mixed kinds and at Arrow-backed
    nested columns (``pd.ArrowDtype`` of a list, struct or map); other columns are not
    touched, nor copied.

    Returns
    -------
    (frame, names)
        A new frame when some column changed (else ``df`` itself) and the changed columns.
    """
    import pyarrow as pa

    changed: dict[Any, pd.Series] = {}
    for pos, (_, s) in enumerate(df.items()):
        dtype = s.dtype
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_nested(dtype.pyarrow_dtype):
            values = _arrow_pylist(s.array.__arrow_array__())
            changed[pos] = pd.Series([json_text(v) for v in values], index=s.index, dtype=object)
        elif pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(
            s, skipna=True
        ).startswith("mixed"):
            values = s.to_numpy()
            bad = [i for i, v in enumerate(values) if _compound(v)]
            if bad:
                out = values.copy()
                for i in bad:
                    out[i] = json_text(out[i])
                changed[pos] = pd.Series(out, index=s.index, dtype=object)
    if not changed:
        return df, []
    out = df.copy(deep=False)
    for pos, series in changed.items():
        out.isetitem(pos, series)
    return out, [str(df.columns[pos]) for pos in changed]


def _compound(v: Any) -> bool:
    """Whether a cell holds several values (tuples too: Parquet stores them as lists)."""
    if isinstance(v, (list, tuple, dict, set, frozenset, np.ndarray, Mapping)):
        return True
    try:
        hash(v)
    except TypeError:
        return True
    return False


def nested_warning(file: str, names: list[str]) -> str:
    """Return the note that says which columns were read as JSON text."""
    shown = ", ".join(repr(n) for n in names)
    word = "column" if len(names) == 1 else "columns"
    return (
        f"{file}: {word} {shown} hold lists, structs or maps; read as JSON text (slice by "
        "it to get one slice per distinct value); such a column cannot be the label, "
        "prediction, id, human label, score or tags"
    )
