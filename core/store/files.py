"""The store's files beside the database: datasets' Parquet files and Arrow IPC blobs."""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from slicewise.core.errors import (
    NotFoundError,
    StoreValueError,
)

FRAME_FILE = "frame.parquet"


TAGS_FILE = "tags.parquet"


ANNOTATIONS_DIR = "annotation_sets"


#: The folder of ``files_dir`` holding the production samples' Parquet files.
PRODUCTION_DIR = "production_samples"


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


def _stage_parquet(frame: pd.DataFrame, path: Path, what: str) -> None:
    """Write ``frame`` to ``path`` (:func:`_write_parquet`) for a save of ``what``.

    Raises
    ------
    StoreValueError
        The frame cannot be stored as Parquet (e.g. a column mixing numbers and text); the
        message starts with ``what``, e.g. ``dataset 'pets' cannot be stored as Parquet``.
    """
    try:
        _write_parquet(frame, path)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise StoreValueError(f"{what} cannot be stored as Parquet: {exc}") from exc


class _Staging:
    """A file or folder written beside its final place, moved there inside a transaction.

    ``path`` is where it is written; ``final`` is where it went once moved
    (:meth:`move_to`): what :meth:`remove` deletes when the save fails after the move.
    ``tree``: a folder (removed with its files) rather than a file.
    """

    def __init__(self, path: Path, *, tree: bool) -> None:
        self.path = path
        self.tree = tree
        self.final: Path | None = None

    def move_to(self, target: Path) -> None:
        """Rename the staged copy to ``target`` (one atomic ``os.replace``)."""
        os.replace(self.path, target)
        self.final = target

    def remove(self) -> None:
        """Delete what the failed save left: the moved copy, else the staging one."""
        where = self.final if self.final is not None else self.path
        if self.tree:
            shutil.rmtree(where, ignore_errors=True)
        else:
            where.unlink(missing_ok=True)


@contextmanager
def _staged(store: Any, path: Path, *, tree: bool) -> Iterator[_Staging]:
    """Stage a save's file or folder at ``path``; on any failure remove it and re-raise.

    Either both the database rows and the files exist, or neither: the block writes the
    staged copy and moves it into place (:meth:`_Staging.move_to`) inside the transaction
    that adds the rows; when anything fails, what was staged or moved is removed.

    Raises
    ------
    DiskFull, StoreReadOnly
        The failure was a full or read-only disk in ``path``'s folder
        (``store._raise_os_fault``); else the block's own error is re-raised.
    """
    staging = _Staging(path, tree=tree)
    try:
        yield staging
    except BaseException as exc:
        staging.remove()
        store._raise_os_fault(exc, path.parent)  # a full disk: DiskFull
        raise


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
    """Read a Parquet file, restoring ``object`` columns that pandas reads back as ``str``.

    Text columns that were ``object`` in the frame written (labels, predictions) are read
    as Parquet stored them, dictionary-encoded: no ``str`` per row is made twice
    (:func:`_text_objects`).

    Raises
    ------
    NotFoundError
        The file is missing (moved or deleted outside Slicewise).
    """
    try:
        meta = json.loads((pq.read_schema(path).metadata or {}).get(b"pandas", b"{}") or b"{}")
        objects = [
            c.get("name") for c in meta.get("columns", []) if c.get("numpy_type") == "object"
        ]
        wanted = [c for c in objects if columns is None or c in columns]
        table = pq.read_table(path, columns=columns, read_dictionary=wanted or None)
    except FileNotFoundError as exc:
        raise NotFoundError(
            f"{path} is missing: the dataset's files were moved or deleted outside Slicewise"
        ) from exc
    frame = table.to_pandas()
    for name in objects:
        if name not in frame.columns or frame[name].dtype == object:
            continue
        arr = table.column(name)
        if _is_text(arr.type) or (
            pa.types.is_dictionary(arr.type) and _is_text(arr.type.value_type)
        ):
            values = _text_objects(arr)
        else:
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            values = np.empty(len(arr), dtype=object)
            values[:] = arr.to_pylist()
        frame[name] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _text_objects(arr: pa.ChunkedArray) -> np.ndarray:
    """Return a text column as an ``object`` array: ``str`` cells, ``None`` where missing.

    ``arr`` holds text, or text dictionary-encoded. In each chunk, each distinct text becomes
    one ``str`` that every row holding it shares (labels repeat a few classes: 5M rows of 8
    classes make a few objects, not 5M: ~0.3 GB less per column); equal cell by cell to
    ``arr.to_numpy(zero_copy_only=False)``.
    """
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    parts = [np.empty(0, dtype=object)]
    for chunk in arr.chunks:
        distinct = chunk.dictionary.to_numpy(zero_copy_only=False)
        # The missing cells point one past the distinct texts, at None.
        lookup = np.empty(len(distinct) + 1, dtype=object)
        lookup[: len(distinct)] = distinct
        codes = chunk.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
        parts.append(lookup[codes])
    return np.concatenate(parts)
