"""The store's files beside the database: datasets' Parquet files and Arrow IPC blobs."""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from slicewise.core.errors import (
    NotFoundError,
)

FRAME_FILE = "frame.parquet"


TAGS_FILE = "tags.parquet"


ANNOTATIONS_DIR = "annotation_sets"


#: A staging copy this old (seconds) belongs to no live save: opening the store removes it.
STALE_STAGING_SECONDS = 3600


def _mtime(path: Path) -> float:
    """Return the modification time of ``path``; +inf when it is gone (never stale)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically: a temporary file in the same folder, renamed."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _to_ipc(columns: dict[str, pa.Array]) -> bytes:
    """Serialise columns as an Arrow IPC stream (compact, and fast for 100,000 rows)."""
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(blob: bytes) -> pa.Table:
    """Read back what :func:`_to_ipc` wrote."""
    return pa.ipc.open_stream(blob).read_all()


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, restoring ``object`` columns that pandas reads back as ``str``."""
    try:
        table = pq.read_table(path, columns=columns)
    except FileNotFoundError as exc:
        raise NotFoundError(
            f"{path} is missing: the dataset's files were moved or deleted outside Slicewise"
        ) from exc
    frame = table.to_pandas()
    meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}") or b"{}")
    for col in meta.get("columns", []):
        name = col.get("name")
        if col.get("numpy_type") != "object" or name not in frame.columns:
            continue
        if frame[name].dtype == object:
            continue
        arr = table.column(name)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            values = arr.to_numpy(zero_copy_only=False)
        else:
            values = np.empty(len(arr), dtype=object)
            values[:] = arr.to_pylist()
        frame[name] = pd.Series(values, index=frame.index, dtype=object)
    return frame
