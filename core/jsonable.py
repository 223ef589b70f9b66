"""The one JSON encoder: numpy, pandas and non-finite values to strict RFC 8259 JSON.

Every JSON document Slicewise writes (reports, the CLI's ``--format json``, lineage, the
store's JSON columns) goes through :func:`json_ready`; :func:`dumps_json` adds
``allow_nan=False`` so a ``NaN`` that slipped past it is an error rather than an invalid
document (RFC 8259 has no ``NaN`` or ``Infinity``, which Python's :mod:`json` writes by
default and strict parsers such as JavaScript's ``JSON.parse`` and ``jq`` refuse).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd


def plain_value(value: Any) -> Any:
    """Return one scalar as plain Python: numpy scalars unboxed, missing values ``None``.

    ``NaN``, ``None``, ``pd.NA`` and ``pd.NaT`` become ``None``; dates and times become
    ISO 8601 text; anything else is returned unchanged. ``inf`` stays a float (see
    :func:`json_ready`).
    """
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if value is pd.NA or value is None or value is pd.NaT:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def json_ready(value: Any) -> Any:
    """Return ``value`` as plain Python data that strict JSON can hold.

    Dicts, lists and tuples are walked; numpy scalars become Python ones; ``NaN``,
    ``inf``, ``-inf``, ``None`` and ``pd.NA`` become ``None`` (JSON ``null``).

    Examples
    --------
    >>> json_ready({"a": [np.float64("nan"), np.int64(2)], "b": float("inf")})
    {'a': [None, 2], 'b': None}
    """
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    value = plain_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps_json(
    data: Any,
    *,
    ensure_ascii: bool = False,
    indent: int | None = 2,
    sort_keys: bool = False,
    clean: bool = True,
) -> str:
    """Return ``data`` as strict JSON text: non-finite numbers are ``null``.

    ``indent=None`` gives the compact one-line form (``","`` and ``":"`` separators) used
    for stored JSON columns and stable keys; ``sort_keys=True`` makes equal data give equal
    text. ``clean=False`` skips :func:`json_ready` for data the caller has already made plain
    (a second walk costs time on large nested columns); a ``NaN`` in it then raises
    ``ValueError`` instead of becoming ``null``.

    Raises
    ------
    ValueError
        ``clean=False`` and the data holds ``NaN`` or ``inf``.
    TypeError
        The data holds a value JSON cannot represent (e.g. a set or bytes).
    """
    separators = (",", ":") if indent is None else None
    return json.dumps(
        json_ready(data) if clean else data,
        indent=indent,
        ensure_ascii=ensure_ascii,
        allow_nan=False,
        sort_keys=sort_keys,
        separators=separators,
    )
