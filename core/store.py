"""The only module that touches the database: projects, datasets, tags, corrections, reports.

One :class:`Store` wraps one SQLite file through :class:`sqlite_utils.Database`. Example rows
are never copied into SQLite: :meth:`Store.save_dataset` writes them to Parquet files beside
the database (``<db stem>_files/<dataset id>/frame.parquet`` and ``tags.parquet``), which are
never modified afterwards. The database is the index of those files plus everything that
changes later, kept sparse:

- ``tags`` lists the current tags of a dataset in creation order. ``base_columns`` (a JSON
  list) names the ``tags.parquet`` columns OR-ed together to give a tag's starting values:
  one column for a tag from the file, none for a tag created in the app, several after a
  merge.
- ``tag_overrides`` holds only the examples whose value differs from that base.
- ``label_corrections`` keeps every correction beside the original label, with who, when
  and why; a revert marks corrections as reverted instead of deleting them.
- ``iterations`` snapshots an analysed dataset as one step of a project's history: model
  name and version, data version, free notes, the dataset's hash and fingerprint, and its
  per-slice table as JSON (kept after the dataset is deleted).
- ``annotation_sets`` indexes multi-annotator label tables (the long table of item,
  annotator, label is a Parquet file, ``files_dir/annotation_sets/<id>.parquet``), each
  optionally linked to the dataset whose ids its items are.
- ``review_decisions`` keeps every decision a reviewer made on an annotation set's item (a
  label, ``borderline`` or only a note), with who and when; the latest per item counts.
- ``events`` is an append-only log (triggers refuse updates and deletes) of every write,
  written in the same transaction as the write itself.

Example ids are stored as text and matched against ``frame["id"].astype(str)``, so integer
and string ids both work. Every write runs in one ``BEGIN IMMEDIATE`` transaction, so a
failure leaves nothing half-written and concurrent writers wait for each other (WAL mode,
30 s busy timeout). Problems a user can cause (unknown ids or names, clashes, invalid values)
raise :class:`core.errors.StoreError` with a message naming the thing.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlite_utils

from core.dataset import ColumnMapping, Dataset
from core.errors import StoreError
from core.task import TaskSpec, TextNormalization
from core.values import class_key, class_keys

DEFAULT_DB_ENV = "SLICEWISE_DB"
FRAME_FILE = "frame.parquet"
TAGS_FILE = "tags.parquet"
BUSY_TIMEOUT_MS = 30_000
#: A staging copy this old (seconds) belongs to no live save: opening the store removes it.
STALE_STAGING_SECONDS = 3600
SETTING_RANGE = (1, 5)  # importance and ease

# The latest correction of each example that has not been reverted (params: id, id).
_ACTIVE_CORRECTIONS = (
    'SELECT example_id, original, corrected, reason, "user", at FROM label_corrections '
    "WHERE id IN (SELECT MAX(id) FROM label_corrections WHERE dataset_id = ? "
    "AND reverted_at IS NULL GROUP BY example_id) AND dataset_id = ?"
)


def default_db_path() -> Path:
    """Return the database path: ``$SLICEWISE_DB``, else ``~/.slicewise/slicewise.db``."""
    env = os.environ.get(DEFAULT_DB_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".slicewise" / "slicewise.db"


# --------------------------------------------------------------------------- migrations

_SCHEMA_V1 = [
    """CREATE TABLE projects (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    """CREATE TABLE datasets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        source_name TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        task_kind TEXT NOT NULL,
        mapping TEXT NOT NULL,
        task TEXT NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        UNIQUE (project_id, name)
    )""",
    """CREATE TABLE tags (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        base_columns TEXT NOT NULL DEFAULT '[]',
        hlp REAL CHECK (hlp IS NULL OR (hlp >= 0 AND hlp <= 1)),
        importance INTEGER CHECK (importance IS NULL OR importance BETWEEN 1 AND 5),
        ease INTEGER CHECK (ease IS NULL OR ease BETWEEN 1 AND 5),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        UNIQUE (dataset_id, name)
    )""",
    """CREATE TABLE tag_overrides (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        example_id TEXT NOT NULL,
        value INTEGER NOT NULL CHECK (value IN (0, 1)),
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (dataset_id, tag_id, example_id)
    ) WITHOUT ROWID""",
    # original and corrected have no declared type, so labels keep their own type.
    """CREATE TABLE label_corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        example_id TEXT NOT NULL,
        original,
        corrected NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        reverted_at TEXT,
        reverted_by TEXT
    )""",
    "CREATE INDEX label_corrections_example ON label_corrections (dataset_id, example_id)",
    """CREATE TABLE reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        fmt TEXT NOT NULL,
        filename TEXT NOT NULL,
        size INTEGER NOT NULL,
        content BLOB NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    "CREATE INDEX reports_dataset ON reports (dataset_id)",
    # No foreign keys: the history of a deleted dataset stays.
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER,
        dataset_id INTEGER,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        "user" TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX events_dataset ON events (dataset_id)",
    """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
]


def _migration_1_initial_schema(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


# An iteration is a snapshot of an analysed dataset: what model and data produced it and its
# per-slice table at that time. No foreign key on dataset_id: like the events, an iteration
# outlives its dataset (its name, hash and table are copied in).
_SCHEMA_V2 = [
    """CREATE TABLE iterations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        dataset_id INTEGER,
        dataset_name TEXT NOT NULL,
        source_name TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        revision INTEGER NOT NULL,
        row_count INTEGER NOT NULL,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        data_version TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '{}',
        slice_table TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    "CREATE INDEX iterations_project ON iterations (project_id)",
]


def _migration_2_iterations(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V2:
        db.execute(statement)


# Multi-annotator label sets and the review of their disagreements. The labels themselves
# are a Parquet file (like a dataset's frame); review_decisions is append-only in use: a new
# decision adds a row and the latest row per item counts (a row with no decision and no note
# withdraws the item's review).
_SCHEMA_V3 = [
    """CREATE TABLE annotation_sets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        source_name TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        linked_dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (project_id, name)
    )""",
    "CREATE INDEX annotation_sets_dataset ON annotation_sets (linked_dataset_id)",
    """CREATE TABLE review_decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        annotation_set_id INTEGER NOT NULL REFERENCES annotation_sets(id) ON DELETE CASCADE,
        item TEXT NOT NULL,
        decision TEXT,
        note TEXT NOT NULL DEFAULT '',
        "user" TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX review_decisions_item ON review_decisions (annotation_set_id, item)",
]


def _migration_3_annotation_sets(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V3:
        db.execute(statement)


Migration = Callable[[sqlite_utils.Database], None]

#: Schema steps, applied in order: step ``i`` takes ``PRAGMA user_version`` from ``i`` to
#: ``i + 1`` inside one transaction. Append new steps; never edit a released one.
MIGRATIONS: list[Migration] = [_migration_1_initial_schema, _migration_2_iterations,
                               _migration_3_annotation_sets]


# --------------------------------------------------------------------------- helpers


def _mtime(path: Path) -> float:
    """Return the modification time of ``path``; +inf when it is gone (never stale)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _clean_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty text, got {value!r}")
    return value.strip()


def _clean_user(user: Any) -> str:
    if not isinstance(user, str) or not user.strip():
        raise StoreError(f"user must name the person making the change, got {user!r}")
    return user.strip()


def _check_id(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StoreError(f"{what} id must be an integer, got {value!r}")
    return int(value)


def _id_strings(example_ids: Any) -> pd.Index:
    """Return example ids as unique text, in first-seen order (``str`` of each value)."""
    if isinstance(example_ids, (str, bytes)) or not isinstance(example_ids, Iterable):
        example_ids = [example_ids]
    example_ids = list(example_ids)
    values = np.empty(len(example_ids), dtype=object)
    values[:] = example_ids
    return pd.Index(pd.Series(values, dtype=object).astype(str).unique())


def _locate(haystack: pd.Series, needles: Any) -> np.ndarray:
    """Position of each needle in ``haystack`` (unique text ids), ``-1`` where absent.

    Hashes the needles and probes with the haystack, which is much faster than hashing a
    large haystack when there are few needles.
    """
    codes, uniques = pd.factorize(np.asarray(needles, dtype=object))
    if len(uniques) == 0:
        return np.full(len(codes), -1, dtype=np.intp)
    hit = pd.Index(uniques, dtype=haystack.dtype).get_indexer(haystack)
    rows = np.flatnonzero(hit >= 0)
    where = np.full(len(uniques), -1, dtype=np.intp)
    where[hit[rows]] = rows
    return where[codes]


def _few(values: Iterable[Any], limit: int = 5) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _python_scalar(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    return value


def _task_to_json(task: TaskSpec) -> str:
    return json.dumps(asdict(task))


def _task_from_json(text: str) -> TaskSpec:
    d = json.loads(text)
    norm = d.pop("normalization", None) or {}
    norm = {k: v for k, v in norm.items() if k in {f.name for f in fields(TextNormalization)}}
    norm["replacements"] = tuple(tuple(pair) for pair in norm.get("replacements", ()))
    known = {f.name for f in fields(TaskSpec)}
    return TaskSpec(**{k: v for k, v in d.items() if k in known},
                    normalization=TextNormalization(**norm))


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically: a temporary file in the same folder, renamed."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, restoring ``object`` columns that pandas reads back as ``str``."""
    try:
        table = pq.read_table(path, columns=columns)
    except FileNotFoundError as exc:
        raise StoreError(f"{path} is missing: the dataset's files were moved or deleted "
                         "outside Slicewise") from exc
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


def _coerce_label(value: Any, labels: pd.Series, dataset_id: int) -> Any:
    """Return ``value`` as a Python scalar of the label column's type, or raise."""
    value = _python_scalar(value)
    if value is None:
        raise StoreError(f"dataset {dataset_id}: a corrected label cannot be missing")
    dtype = labels.dtype
    if pd.api.types.is_bool_dtype(dtype):
        if isinstance(value, bool):
            return value
        raise StoreError(f"dataset {dataset_id}: labels are true/false; {value!r} is not")
    if pd.api.types.is_numeric_dtype(dtype):
        number = _as_number(value)
        if number is None or not math.isfinite(number):
            raise StoreError(f"dataset {dataset_id}: labels are numbers; {value!r} is not a "
                             "finite number")
        if pd.api.types.is_integer_dtype(dtype):
            if isinstance(number, float) and not number.is_integer():
                raise StoreError(f"dataset {dataset_id}: labels are whole numbers; {value!r} "
                                 "is not one")
            return int(number)
        return float(number)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # as core.dataset writes whole-number classes
        text = str(value).strip()
        if not text:
            raise StoreError(f"dataset {dataset_id}: a corrected label cannot be blank")
        # The class's spelling in the dataset when one matches (core.values' contract:
        # "2.0" or "yes" name the classes shown as "2" or "TRUE").
        classes = pd.Series(labels.dropna().unique(), dtype=object)
        same = classes[class_keys(classes).to_numpy() == class_key(text)]
        return str(same.iloc[0]) if len(same) else text
    raise StoreError(f"dataset {dataset_id}: labels of type {dtype} cannot be corrected")


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    return None


def _check_setting(name: str, value: Any) -> float | int:
    if name == "hlp":
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if not ok or not (0.0 <= float(value) <= 1.0):
            raise StoreError(f"hlp (human-level performance) must be a number from 0 to 1, "
                             f"got {value!r}")
        return float(value)
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    low, high = SETTING_RANGE
    if not ok or not (low <= int(value) <= high):
        raise StoreError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _table_to_json(table: Any) -> str:
    """Serialise a per-slice table (index, columns, dtypes and values) as JSON text."""
    if not isinstance(table, pd.DataFrame):
        raise StoreError(f"an iteration's table must be a DataFrame, got {type(table)}")
    if table.empty:
        raise StoreError("an iteration's table is empty; give the per-slice table of the "
                         "dataset (core.analysis.analyze)")
    bad = [c for c in table.columns if not isinstance(c, str)]
    if bad:
        raise StoreError(f"an iteration's table needs text column names; {_few(bad)} are not")
    if not table.index.is_unique:
        raise StoreError(f"an iteration's table repeats the slices "
                         f"{_few(table.index[table.index.duplicated()].unique())}")
    data = [[_python_scalar(v) for v in row] for row in table.itertuples(index=False)]
    payload = {"index_name": table.index.name, "index": [str(i) for i in table.index],
               "columns": list(table.columns), "dtypes": [str(t) for t in table.dtypes],
               "data": data}
    try:
        return json.dumps(payload, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"an iteration's table holds values that cannot be stored: {exc}") \
            from exc


def _table_from_json(text: str) -> pd.DataFrame:
    """Rebuild a table written by :func:`_table_to_json`, restoring the column dtypes."""
    payload = json.loads(text)
    frame = pd.DataFrame.from_records(payload["data"], columns=payload["columns"])
    for col, dtype in zip(payload["columns"], payload["dtypes"], strict=True):
        values = frame[col]
        try:
            if dtype in ("float64", "float32"):
                frame[col] = values.astype(float)
            elif dtype in ("int64", "int32", "Int64", "boolean") or (
                    dtype == "bool" and values.notna().all()):
                frame[col] = values.astype(dtype if dtype != "int32" else "int64")
            elif dtype == "bool":
                frame[col] = values.astype("boolean")
            elif dtype == "object":
                frame[col] = values.astype(object)
        except (TypeError, ValueError):
            pass  # keep what JSON gave
    frame.index = pd.Index(payload["index"], name=payload.get("index_name"))
    return frame


def _clean_notes(notes: Any) -> str:
    if notes is None:
        notes = {}
    if not isinstance(notes, dict):
        raise StoreError(f"notes must be a dict of name -> value, got {type(notes).__name__}")
    bad = [k for k in notes if not isinstance(k, str) or not k.strip()]
    if bad:
        raise StoreError(f"note names must be non-empty text; {_few(bad)} are not")
    try:
        return json.dumps({k.strip(): v for k, v in notes.items()}, allow_nan=False,
                          ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"notes must hold JSON values (text, numbers, true/false, lists, "
                         f"dicts): {exc}") from exc


def _clean_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a version typed as a number, e.g. 2 or 1.1
    if not isinstance(value, str):
        raise StoreError(f"{what} must be text, got {value!r}")
    return value.strip()


ANNOTATIONS_DIR = "annotation_sets"
#: The columns an annotation set's long table must have (``time`` and ``comment`` may follow).
ANNOTATION_COLUMNS = ("item", "annotator", "label")
#: Kinds of events that decide where a tag's HLP came from (:meth:`Store.hlp_sources`).
_HLP_EVENT_KINDS = ("tag.settings", "tag.rename", "tag.delete", "tag.merge",
                    "annotation_set.hlp")


def _check_annotation_labels(name: str, labels: Any) -> pd.DataFrame:
    if not isinstance(labels, pd.DataFrame):
        raise StoreError(f"annotation set {name!r}: the labels must be a DataFrame, got "
                         f"{type(labels).__name__}")
    bad = [c for c in labels.columns if not isinstance(c, str)]
    if bad:
        raise StoreError(f"annotation set {name!r}: column names must be text; {_few(bad)} "
                         "are not")
    missing = [c for c in ANNOTATION_COLUMNS if c not in labels.columns]
    if missing:
        raise StoreError(f"annotation set {name!r}: the labels lack the column(s) "
                         f"{_few(missing)}; a long table needs item, annotator and label")
    if labels.empty:
        raise StoreError(f"annotation set {name!r} has no labels")
    blank = [c for c in ANNOTATION_COLUMNS if labels[c].isna().any()]
    if blank:
        raise StoreError(f"annotation set {name!r}: the column(s) {_few(blank)} have missing "
                         "values")
    return labels.reset_index(drop=True)


def _clean_decision(decision: Any) -> str | None:
    decision = _python_scalar(decision)
    if decision is None:
        return None
    if isinstance(decision, bool) or not isinstance(decision, (str, numbers.Real)):
        raise StoreError(f"a review decision must be a label (text) or 'borderline', got "
                         f"{decision!r}")
    if isinstance(decision, float) and decision.is_integer():
        decision = int(decision)
    text = str(decision).strip()
    return text or None


# --------------------------------------------------------------------------- the store


class Store:
    """Every table of Slicewise (projects to review decisions) and its history, in SQLite.

    Parameters
    ----------
    path
        The database file; ``None`` uses :func:`default_db_path`. The folder and the
        database are created on first use and the schema is migrated to the newest version.

    Attributes
    ----------
    path
        The database file.
    db
        The :class:`sqlite_utils.Database` (WAL mode, 30 s busy timeout, foreign keys on).
    files_dir
        ``<db stem>_files/`` beside the database; dataset ``i``'s Parquet files are in
        ``files_dir / str(i)``, annotation set ``j``'s labels in
        ``files_dir / "annotation_sets" / f"{j}.parquet"``.

    Notes
    -----
    One object may be shared between threads (e.g. as a Streamlit resource): every
    statement and transaction holds a lock. Several processes may open the same file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if str(path) == ":memory:":
            raise StoreError("the store needs a database file (it keeps Parquet files beside "
                             "it); pass a path, not ':memory:'")
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.files_dir = self.path.parent / f"{self.path.stem}_files"
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _write() blocks in the thread holding the lock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.enable_wal()
            self._migrate()
            self._remove_orphan_files()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} is not a usable Slicewise database: {exc}") from exc
        except BaseException:
            conn.close()
            raise

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the database file (``PRAGMA user_version``)."""
        with self._lock:
            return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _remove_orphan_files(self) -> None:
        """Remove files no row owns: of killed saves and deletes, and stale staging copies.

        A process killed between moving a new dataset's folder (or annotation file) into
        place and committing its row, or between deleting a dataset's rows and removing its
        files, leaves them behind; so does one killed while writing its staging copy. They
        are removed under the write lock, when no other save is half-way. A staging copy is
        written before that lock is taken, so only one older than
        :data:`STALE_STAGING_SECONDS` is taken for abandoned (a save takes seconds).
        """
        if not self.files_dir.is_dir():
            return
        annotations = self.files_dir / ANNOTATIONS_DIR

        def leftovers() -> list[Path]:
            owned = {str(r["id"]) for r in self._rows("SELECT id FROM datasets")}
            sets = {f"{r['id']}.parquet" for r in self._rows("SELECT id FROM annotation_sets")}
            stale = time.time() - STALE_STAGING_SECONDS
            found = [p for p in self.files_dir.iterdir() if p.is_dir() and (
                (p.name.isdigit() and p.name not in owned) or p.name.startswith(".deleted-"))]
            if annotations.is_dir():
                found += [p for p in annotations.iterdir() if p.is_file()
                          and p.name[:1].isdigit() and p.name not in sets]
            for folder in (self.files_dir, annotations):
                if folder.is_dir():
                    found += [p for p in folder.glob(".staging-*")
                              if _mtime(p) < stale]
            return found

        if leftovers():
            with self._write():
                for path in leftovers():
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ transactions

    def _migrate(self) -> None:
        target = len(MIGRATIONS)
        if self.schema_version == target:
            return
        while True:
            with self._write():
                version = self.schema_version
                if version > target:
                    raise StoreError(
                        f"{self.path} has schema version {version}, newer than this Slicewise "
                        f"understands ({target}); upgrade Slicewise"
                    )
                if version == target:
                    return
                MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Run the block in one write transaction (a nested call joins the outer one)."""
        with self._lock:
            conn = self.db.conn
            if self._depth:
                yield
                return
            if conn.in_transaction:  # left open by direct use of ``self.db``
                raise StoreError("a transaction opened outside the store is still open on "
                                 f"{self.path}; commit or roll it back first")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"the database {self.path} is busy ({exc}); another user "
                                 "is writing, try again") from exc
            self._depth += 1
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth -= 1

    @contextmanager
    def _read(self) -> Iterator[None]:
        """Run several reads on one consistent snapshot."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield
                return
            conn.execute("BEGIN")
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _frame(self, sql: str, params: Sequence[Any], columns: list[str]) -> pd.DataFrame:
        with self._lock:
            rows = self.db.execute(sql, list(params)).fetchall()
        return pd.DataFrame.from_records(rows, columns=columns)

    def _event(self, kind: str, *, user: str, at: str, project_id: int | None = None,
               dataset_id: int | None = None, **detail: Any) -> None:
        self.db["events"].insert({
            "project_id": project_id, "dataset_id": dataset_id, "kind": kind,
            "detail": json.dumps(detail, default=str, ensure_ascii=False),
            "user": user, "at": at,
        })

    # ------------------------------------------------------------------ lookups

    def _project_row(self, project_id: Any) -> dict[str, Any]:
        pid = _check_id(project_id, "project")
        rows = self._rows("SELECT * FROM projects WHERE id = ?", [pid])
        if not rows:
            raise StoreError(f"no project with id {pid}")
        return rows[0]

    def _dataset_row(self, dataset_id: Any) -> dict[str, Any]:
        did = _check_id(dataset_id, "dataset")
        rows = self._rows("SELECT * FROM datasets WHERE id = ?", [did])
        if not rows:
            raise StoreError(f"no dataset with id {did}")
        return rows[0]

    def _tag_rows(self, dataset_id: int) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM tags WHERE dataset_id = ? ORDER BY id", [dataset_id])
        for row in rows:
            row["base_columns"] = json.loads(row["base_columns"])
        return rows

    def _tag_row(self, dataset_id: int, name: Any) -> dict[str, Any]:
        rows = self._tag_rows(dataset_id)
        for row in rows:
            if row["name"] == name:
                return row
        names = [r["name"] for r in rows]
        known = f"its tags are {_few(names, 12)}" if names else "it has no tags"
        raise StoreError(f"dataset {dataset_id} has no tag {name!r}; {known}")

    def _dir(self, dataset_id: int) -> Path:
        return self.files_dir / str(int(dataset_id))

    def _read_ids(self, dataset_id: int) -> pd.Series:
        frame = _read_parquet(self._dir(dataset_id) / FRAME_FILE, ["id"])
        return frame["id"].astype(str)

    def _locate_examples(self, dataset_id: int, frame_ids: pd.Series,
                         wanted: pd.Index) -> np.ndarray:
        pos = _locate(frame_ids, wanted)
        if (pos < 0).any():
            missing = list(wanted[pos < 0])
            raise StoreError(
                f"dataset {dataset_id} has no example with id {_few(missing)} "
                f"({len(missing)} of {len(wanted)} ids unknown)"
            )
        return pos

    def _current(self, dataset_id: int, tags: list[dict[str, Any]], frame_ids: pd.Series,
                 positions: np.ndarray | None = None, *, overrides: bool = True) -> np.ndarray:
        """Return the current values of ``tags`` (base columns OR-ed, then overrides).

        A bool array with one column per tag and a row per example, or per ``positions``
        when given; ``overrides=False`` gives the base values alone.
        """
        n = len(frame_ids) if positions is None else len(positions)
        out = np.zeros((n, len(tags)), dtype=bool, order="F")
        if not tags:
            return out
        columns = list(dict.fromkeys(c for t in tags for c in t["base_columns"]))
        if columns:
            base = _read_parquet(self._dir(dataset_id) / TAGS_FILE, columns)
            for j, tag in enumerate(tags):
                for c in tag["base_columns"]:
                    values = base[c].to_numpy(dtype=bool)
                    out[:, j] |= values if positions is None else values[positions]
        if not overrides:
            return out
        ids = [t["id"] for t in tags]
        with self._lock:
            found = self.db.execute(
                f"SELECT tag_id, example_id, value FROM tag_overrides WHERE dataset_id = ? "
                f"AND tag_id IN ({', '.join('?' * len(ids))})", [dataset_id, *ids],
            ).fetchall()
        if found:
            tag_ids, example_ids, values = zip(*found, strict=True)
            col = pd.Index(ids).get_indexer(np.asarray(tag_ids))
            haystack = frame_ids if positions is None else frame_ids.iloc[positions]
            row = _locate(haystack, example_ids)
            ok = (row >= 0) & (col >= 0)
            out[row[ok], col[ok]] = np.asarray(values, dtype=bool)[ok]
        return out

    # ------------------------------------------------------------------ projects

    def get_or_create_project(self, name: str, *, user: str) -> int:
        """Return the id of the project called ``name``, creating it if needed.

        Parameters
        ----------
        name
            Project name (surrounding spaces are dropped).
        user
            Who asks; recorded when the project is created.

        Returns
        -------
        int
            The project id.
        """
        name = _clean_name(name, "project name")
        user = _clean_user(user)
        with self._write():
            rows = self._rows("SELECT id FROM projects WHERE name = ?", [name])
            if rows:
                return int(rows[0]["id"])
            at = _now()
            pid = self.db["projects"].insert(
                {"name": name, "created_at": at, "created_by": user}).last_pk
            self._event("project.create", user=user, at=at, project_id=pid, name=name)
            return int(pid)

    def list_projects(self) -> pd.DataFrame:
        """Return every project.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``name``, ``created_at``, ``created_by``, ordered by name.
        """
        return self._frame("SELECT id, name, created_at, created_by FROM projects ORDER BY name",
                           [], ["id", "name", "created_at", "created_by"])

    # ------------------------------------------------------------------ datasets

    def save_dataset(self, project_id: int, name: str, dataset: Dataset, *, task: TaskSpec,
                     user: str) -> int:
        """Store a validated dataset and its tags; return the new dataset id.

        The frame and tags are written to Parquet in a staging folder, which is renamed to
        ``files_dir/<id>`` inside the transaction that adds the database rows, so either
        both the rows and the files exist or neither does.

        Parameters
        ----------
        project_id
            The owning project.
        name
            Dataset name, unique within the project.
        dataset
            A :class:`core.dataset.Dataset` (frame with a unique ``id`` column and a
            ``label`` column; boolean tags aligned with it).
        task
            How predictions are judged; stored with its text normalization.
        user
            Who saves it.

        Returns
        -------
        int
            The dataset id.

        Raises
        ------
        StoreError
            Unknown project, a name already used in the project, or a frame that cannot
            be stored (duplicate ids, non-text column names, mixed-type columns).
        """
        name = _clean_name(name, "dataset name")
        user = _clean_user(user)
        if not isinstance(dataset, Dataset):
            raise StoreError(f"save_dataset needs a core.dataset.Dataset, got {type(dataset)}")
        if not isinstance(task, TaskSpec):
            raise StoreError(f"save_dataset needs a core.task.TaskSpec, got {type(task)}")
        project = self._project_row(project_id)
        self._check_free_name(project["id"], name)  # again inside the transaction
        frame = dataset.frame.reset_index(drop=True)
        tags = dataset.tags.reset_index(drop=True)
        self._check_dataset(name, frame, tags)

        self.files_dir.mkdir(parents=True, exist_ok=True)
        staging = self.files_dir / f".staging-{uuid.uuid4().hex}"
        final: Path | None = None
        try:
            staging.mkdir()
            try:
                _write_parquet(frame, staging / FRAME_FILE)
                _write_parquet(tags, staging / TAGS_FILE)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise StoreError(f"dataset {name!r} cannot be stored as Parquet: {exc}") from exc
            with self._write():
                self._check_free_name(project["id"], name)
                at = _now()
                did = int(self.db["datasets"].insert({
                    "project_id": project["id"], "name": name,
                    "source_name": dataset.source_name, "content_hash": dataset.content_hash,
                    "row_count": len(frame), "task_kind": task.kind,
                    "mapping": json.dumps(dataset.mapping.to_dict()),
                    "task": _task_to_json(task),
                    "warnings": json.dumps(list(dataset.warnings)),
                    "created_at": at, "created_by": user, "updated_at": at, "updated_by": user,
                }).last_pk)
                if len(tags.columns):
                    self.db["tags"].insert_all([
                        {"dataset_id": did, "name": t, "base_columns": json.dumps([t]),
                         "created_at": at, "created_by": user, "updated_at": at,
                         "updated_by": user}
                        for t in tags.columns
                    ])
                target = self._dir(did)
                if target.exists():  # left by a save that crashed before committing
                    shutil.rmtree(target)
                os.replace(staging, target)
                final = target
                self._event("dataset.save", user=user, at=at, project_id=project["id"],
                            dataset_id=did, name=name, source_name=dataset.source_name,
                            row_count=len(frame), tags=list(tags.columns))
            return did
        except BaseException:
            shutil.rmtree(final if final is not None else staging, ignore_errors=True)
            raise

    def _check_dataset(self, name: str, frame: pd.DataFrame, tags: pd.DataFrame) -> None:
        for what, cols in (("frame", frame.columns), ("tags", tags.columns)):
            bad = [c for c in cols if not isinstance(c, str)]
            if bad:
                raise StoreError(f"dataset {name!r}: {what} column names must be text; "
                                 f"{_few(bad)} are not")
            if cols.duplicated().any():
                raise StoreError(f"dataset {name!r}: {what} repeats the column name(s) "
                                 f"{_few(cols[cols.duplicated()].unique())}")
        for col in ("id", "label"):
            if col not in frame.columns:
                raise StoreError(f"dataset {name!r}: the frame has no {col!r} column")
        if len(tags) != len(frame):
            raise StoreError(f"dataset {name!r}: tags have {len(tags)} rows but the frame has "
                             f"{len(frame)}")
        not_bool = [c for c in tags.columns if not pd.api.types.is_bool_dtype(tags[c])]
        if not_bool:
            raise StoreError(f"dataset {name!r}: tag columns must be boolean; "
                             f"{_few(not_bool)} are not")
        blank = [c for c in tags.columns if not c.strip() or c != c.strip()]
        if blank:
            raise StoreError(f"dataset {name!r}: tag names must be non-blank without "
                             f"surrounding spaces: {_few(blank)}")
        ids = frame["id"].astype(str)
        dup = ids.duplicated()
        if dup.any():
            raise StoreError(f"dataset {name!r}: example ids must be unique as text; "
                             f"{_few(ids[dup].unique())} repeat")

    def _check_free_name(self, project_id: int, name: str, *, ignore: int | None = None,
                         table: str = "datasets") -> None:
        """Raise when ``table`` (datasets or annotation sets) has ``name`` in the project."""
        rows = self._rows(f"SELECT id FROM {table} WHERE project_id = ? AND name = ?",
                          [project_id, name])
        if rows and rows[0]["id"] != ignore:
            what = "a dataset" if table == "datasets" else "an annotation set"
            raise StoreError(f"project {project_id} already has {what} named {name!r} "
                             f"(id {rows[0]['id']}); choose another name")

    def _list_in_project(self, table: str, cols: list[str],
                         project_id: int | None) -> pd.DataFrame:
        """Return ``cols`` of ``table``'s rows (of one project, or all), newest first."""
        where, params = "", []
        if project_id is not None:
            where, params = "WHERE project_id = ?", [self._project_row(project_id)["id"]]
        return self._frame(f"SELECT {', '.join(cols)} FROM {table} {where} "
                           "ORDER BY created_at DESC, id DESC", params, cols)

    def list_datasets(self, project_id: int | None = None) -> pd.DataFrame:
        """Return the stored datasets, newest first.

        Parameters
        ----------
        project_id
            Only this project's datasets; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``name``, ``source_name``, ``content_hash``,
            ``row_count``, ``task_kind``, ``created_at``, ``created_by``.
        """
        cols = ["id", "project_id", "name", "source_name", "content_hash", "row_count",
                "task_kind", "created_at", "created_by"]
        return self._list_in_project("datasets", cols, project_id)

    def dataset_info(self, dataset_id: int) -> dict:
        """Return a dataset's row with its mapping, task and warnings decoded.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        dict
            The columns of :meth:`list_datasets` plus ``updated_at``, ``updated_by``,
            ``mapping`` (:class:`core.dataset.ColumnMapping`), ``task``
            (:class:`core.task.TaskSpec`) and ``warnings`` (list of text).
        """
        row = self._dataset_row(dataset_id)
        row["mapping"] = ColumnMapping.from_dict(json.loads(row["mapping"]))
        row["task"] = _task_from_json(row["task"])
        row["warnings"] = json.loads(row["warnings"])
        return row

    def load_dataset(self, dataset_id: int) -> Dataset:
        """Return a stored dataset as it stands now.

        The frame is read back with its dtypes; ``label`` carries the active label
        corrections (originals stay in :meth:`corrections`); ``tags`` is
        :meth:`tag_matrix`.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        core.dataset.Dataset
        """
        with self._read():
            info = self.dataset_info(dataset_id)
            did = info["id"]
            frame = _read_parquet(self._dir(did) / FRAME_FILE)
            frame_ids = frame["id"].astype(str)
            tags = self._tag_matrix(did, frame_ids)
            fixes = self._rows(_ACTIVE_CORRECTIONS + " ORDER BY id", [did, did])
        if fixes:
            pos = _locate(frame_ids, [f["example_id"] for f in fixes])
            ok = pos >= 0
            labels = frame["label"].copy()
            values = pd.array([f["corrected"] for f, keep in zip(fixes, ok, strict=True)
                               if keep], dtype=labels.dtype)
            labels.iloc[pos[ok]] = values
            frame["label"] = labels
        return Dataset(frame=frame, tags=tags, mapping=info["mapping"],
                       source_name=info["source_name"], content_hash=info["content_hash"],
                       warnings=info["warnings"])

    def rename_dataset(self, dataset_id: int, new_name: str, *, user: str) -> None:
        """Rename a dataset.

        Parameters
        ----------
        dataset_id
            The dataset.
        new_name
            Its new name, unique within its project.
        user
            Who renames it.

        Raises
        ------
        StoreError
            Unknown dataset, or the name is taken in the project.
        """
        new_name = _clean_name(new_name, "dataset name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            if row["name"] == new_name:
                return
            self._check_free_name(row["project_id"], new_name, ignore=row["id"])
            at = _now()
            self.db.execute("UPDATE datasets SET name = ?, updated_at = ?, updated_by = ? "
                            "WHERE id = ?", [new_name, at, user, row["id"]])
            self._event("dataset.rename", user=user, at=at, project_id=row["project_id"],
                        dataset_id=row["id"], old=row["name"], new=new_name)

    def delete_dataset(self, dataset_id: int, *, user: str) -> None:
        """Delete a dataset: its rows (tags, overrides, corrections, reports) and its files.

        The events about it stay.

        Parameters
        ----------
        dataset_id
            The dataset.
        user
            Who deletes it.
        """
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            did = row["id"]
            for table in ("tag_overrides", "tags", "label_corrections", "reports"):
                self.db.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [did])
            self.db.execute("DELETE FROM datasets WHERE id = ?", [did])
            self._event("dataset.delete", user=user, at=_now(),
                        project_id=row["project_id"], dataset_id=did, name=row["name"])
        # The files go once the rows are gone for good: a crash before this leaves files no
        # row owns (removed by the next Store()), never a row without its files.
        trash = self.files_dir / f".deleted-{uuid.uuid4().hex}"
        try:
            os.replace(self._dir(did), trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ tags

    def list_tags(self, dataset_id: int) -> pd.DataFrame:
        """Return a dataset's current tags in creation order with their settings.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            Columns ``name``, ``hlp`` (float, NaN when unset), ``importance`` and ``ease``
            (nullable Int64), ``created_by``, ``created_at``, ``updated_by``, ``updated_at``.
        """
        did = self._dataset_row(dataset_id)["id"]
        cols = ["name", "hlp", "importance", "ease", "created_by", "created_at", "updated_by",
                "updated_at"]
        out = self._frame(f"SELECT {', '.join(cols)} FROM tags WHERE dataset_id = ? "
                          "ORDER BY id", [did], cols)
        out["hlp"] = out["hlp"].astype(float)
        out["importance"] = out["importance"].astype("Int64")
        out["ease"] = out["ease"].astype("Int64")
        return out

    def create_tag(self, dataset_id: int, name: str, *, user: str) -> None:
        """Add an empty tag (no example carries it yet) after the existing ones.

        Parameters
        ----------
        dataset_id
            The dataset.
        name
            The tag name, unique within the dataset.
        user
            Who creates it.
        """
        name = _clean_name(name, "tag name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._check_free_tag(row["id"], name)
            at = _now()
            self.db["tags"].insert({"dataset_id": row["id"], "name": name, "base_columns": "[]",
                                    "created_at": at, "created_by": user, "updated_at": at,
                                    "updated_by": user})
            self._event("tag.create", user=user, at=at, project_id=row["project_id"],
                        dataset_id=row["id"], tag=name)

    def _check_free_tag(self, dataset_id: int, name: str) -> None:
        if self._rows("SELECT 1 FROM tags WHERE dataset_id = ? AND name = ?",
                      [dataset_id, name]):
            raise StoreError(f"dataset {dataset_id} already has a tag named {name!r}")

    def rename_tag(self, dataset_id: int, old: str, new: str, *, user: str) -> None:
        """Rename a tag, keeping its examples, settings and position.

        Parameters
        ----------
        dataset_id
            The dataset.
        old, new
            Current and new name; ``new`` must not be taken.
        user
            Who renames it.
        """
        new = _clean_name(new, "tag name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            tag = self._tag_row(row["id"], old)
            if new == old:
                return
            self._check_free_tag(row["id"], new)
            at = _now()
            self.db.execute("UPDATE tags SET name = ?, updated_at = ?, updated_by = ? "
                            "WHERE id = ?", [new, at, user, tag["id"]])
            self._event("tag.rename", user=user, at=at, project_id=row["project_id"],
                        dataset_id=row["id"], old=old, new=new)

    def merge_tags(self, dataset_id: int, sources: Sequence[str], target: str, *,
                   user: str) -> None:
        """Merge tags: ``target`` becomes the union of ``sources``, which are removed.

        ``target`` may be one of the sources (it keeps its position and settings) or a new
        name (added last, without settings). If ``target`` is an existing tag not listed in
        ``sources``, its own examples are kept in the union (merge *into* it).

        Parameters
        ----------
        dataset_id
            The dataset.
        sources
            Names of existing tags.
        target
            Name of the merged tag.
        user
            Who merges them.
        """
        if isinstance(sources, str):
            sources = [sources]
        sources = list(dict.fromkeys(sources))
        if not sources:
            raise StoreError("merging tags needs at least one source tag")
        target = _clean_name(target, "tag name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            did = row["id"]
            by_name = {t["name"]: t for t in self._tag_rows(did)}
            missing = [s for s in sources if s not in by_name]
            if missing:
                raise StoreError(f"dataset {did} has no tag {_few(missing)}; its tags are "
                                 f"{_few(list(by_name), 12) or 'none'}")
            involved = [by_name[s] for s in sources]
            keep = by_name.get(target)
            if keep is not None and keep not in involved:
                involved.append(keep)
            if keep is not None and len(involved) == 1:
                return  # merging a tag into itself
            base_columns = list(dict.fromkeys(c for t in involved for c in t["base_columns"]))
            ids = [t["id"] for t in involved]
            marks = ", ".join("?" * len(ids))
            affected = [r["example_id"] for r in self._rows(
                f"SELECT DISTINCT example_id FROM tag_overrides WHERE dataset_id = ? "
                f"AND tag_id IN ({marks})", [did, *ids])]
            new_overrides: list[tuple[str, bool]] = []
            if affected:
                frame_ids = self._read_ids(did)
                pos = _locate(frame_ids, affected)
                known = pos >= 0
                affected = list(np.asarray(affected, dtype=object)[known])
                pos = pos[known]
                union = self._current(did, involved, frame_ids, pos).any(axis=1)
                base = self._current(did, [{"id": -1, "base_columns": base_columns}],
                                     frame_ids, pos, overrides=False)[:, 0]
                differs = np.flatnonzero(union != base)
                new_overrides = [(affected[i], bool(union[i])) for i in differs]
            at = _now()
            self.db.execute(f"DELETE FROM tag_overrides WHERE dataset_id = ? "
                            f"AND tag_id IN ({marks})", [did, *ids])
            removed = [t for t in involved if t is not keep]
            for t in removed:
                self.db.execute("DELETE FROM tags WHERE id = ?", [t["id"]])
            if keep is not None:
                target_id = keep["id"]
                self.db.execute("UPDATE tags SET base_columns = ?, updated_at = ?, "
                                "updated_by = ? WHERE id = ?",
                                [json.dumps(base_columns), at, user, target_id])
            else:
                target_id = self.db["tags"].insert({
                    "dataset_id": did, "name": target, "base_columns": json.dumps(base_columns),
                    "created_at": at, "created_by": user, "updated_at": at, "updated_by": user,
                }).last_pk
            self.db.conn.executemany(
                'INSERT INTO tag_overrides (dataset_id, tag_id, example_id, value, "user", at) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(did, target_id, e, int(v), user, at) for e, v in new_overrides],
            )
            self._event("tag.merge", user=user, at=at, project_id=row["project_id"],
                        dataset_id=did, sources=sources, target=target,
                        removed=[t["name"] for t in removed])

    def delete_tag(self, dataset_id: int, name: str, *, user: str) -> None:
        """Delete a tag with its examples and settings.

        Parameters
        ----------
        dataset_id
            The dataset.
        name
            The tag.
        user
            Who deletes it.
        """
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            tag = self._tag_row(row["id"], name)
            self.db.execute("DELETE FROM tag_overrides WHERE tag_id = ?", [tag["id"]])
            self.db.execute("DELETE FROM tags WHERE id = ?", [tag["id"]])
            self._event("tag.delete", user=user, at=_now(), project_id=row["project_id"],
                        dataset_id=row["id"], tag=name)

    def set_tag(self, dataset_id: int, example_ids: Sequence, tag: str, value: bool, *,
                user: str) -> int:
        """Tag or untag examples in one transaction.

        Parameters
        ----------
        dataset_id
            The dataset.
        example_ids
            Ids as in the frame's ``id`` column (compared as text, so ``7`` and ``"7"``
            match); duplicates are ignored.
        tag
            An existing tag.
        value
            ``True`` to tag, ``False`` to untag.
        user
            Who changes them.

        Returns
        -------
        int
            How many examples changed value (nothing is recorded when none did).

        Raises
        ------
        StoreError
            Unknown dataset or tag, a non-boolean value, or ids not in the dataset (the
            message names a few).
        """
        user = _clean_user(user)
        if not isinstance(value, (bool, np.bool_)):
            raise StoreError(f"a tag value must be True or False, got {value!r}")
        value = bool(value)
        wanted = _id_strings(example_ids)
        did = self._dataset_row(dataset_id)["id"]
        frame_ids = self._read_ids(did)
        pos = self._locate_examples(did, frame_ids, wanted)
        with self._write():
            row = self._dataset_row(did)
            tag_row = self._tag_row(did, tag)
            if not len(wanted):
                return 0
            base = self._current(did, [tag_row], frame_ids, pos, overrides=False)[:, 0]
            current = self._current(did, [tag_row], frame_ids, pos)[:, 0]
            changed = current != value
            n_changed = int(changed.sum())
            if not n_changed:
                return 0
            ids = np.asarray(wanted, dtype=object)
            at = _now()
            # Keep overrides sparse: a value equal to the base needs no override.
            self.db.conn.executemany(
                "DELETE FROM tag_overrides WHERE dataset_id = ? AND tag_id = ? "
                "AND example_id = ?",
                [(did, tag_row["id"], e) for e in ids[changed & (base == value)]],
            )
            self.db.conn.executemany(
                'INSERT INTO tag_overrides (dataset_id, tag_id, example_id, value, "user", at) '
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dataset_id, tag_id, example_id) "
                'DO UPDATE SET value = excluded.value, "user" = excluded."user", '
                "at = excluded.at",
                [(did, tag_row["id"], e, int(value), user, at)
                 for e in ids[changed & (base != value)]],
            )
            self.db.execute("UPDATE tags SET updated_at = ?, updated_by = ? WHERE id = ?",
                            [at, user, tag_row["id"]])
            self._event("tag.set", user=user, at=at, project_id=row["project_id"],
                        dataset_id=did, tag=tag, value=value, changed=n_changed,
                        example_ids=list(ids[changed][:20]))
            return n_changed

    def tag_matrix(self, dataset_id: int) -> pd.DataFrame:
        """Return the current tags as a boolean table aligned with the frame's rows.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            One bool column per current tag, in creation order; RangeIndex like the frame.
        """
        with self._read():
            did = self._dataset_row(dataset_id)["id"]
            return self._tag_matrix(did, self._read_ids(did))

    def _tag_matrix(self, dataset_id: int, frame_ids: pd.Series) -> pd.DataFrame:
        tags = self._tag_rows(dataset_id)
        values = self._current(dataset_id, tags, frame_ids)
        names = [t["name"] for t in tags]
        if not names:
            return pd.DataFrame(index=pd.RangeIndex(len(frame_ids)))
        return pd.DataFrame(values, columns=pd.Index(names))

    def set_tag_settings(self, dataset_id: int, tag: str, *, user: str,
                         hlp: float | None = None, importance: int | None = None,
                         ease: int | None = None, clear_hlp: bool = False,
                         clear_importance: bool = False, clear_ease: bool = False) -> None:
        """Set a tag's human-level performance, importance and ease.

        Parameters
        ----------
        dataset_id
            The dataset.
        tag
            An existing tag.
        user
            Who sets them.
        hlp
            Human-level performance as an accuracy from 0 to 1; ``None`` leaves it.
        importance, ease
            Whole numbers from 1 to 5; ``None`` leaves them.
        clear_hlp, clear_importance, clear_ease
            Unset the value (cannot be combined with a new value for it).

        Raises
        ------
        StoreError
            Unknown dataset or tag, or a value out of range.
        """
        user = _clean_user(user)
        changes: dict[str, Any] = {}
        for name, value, clear in (("hlp", hlp, clear_hlp),
                                   ("importance", importance, clear_importance),
                                   ("ease", ease, clear_ease)):
            if clear and value is not None:
                raise StoreError(f"give either a new {name} or clear_{name}=True, not both")
            if clear:
                changes[name] = None
            elif value is not None:
                changes[name] = _check_setting(name, value)
        with self._write():
            row = self._dataset_row(dataset_id)
            tag_row = self._tag_row(row["id"], tag)
            if not changes:
                return
            at = _now()
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.db.execute(f"UPDATE tags SET {sets}, updated_at = ?, updated_by = ? "
                            "WHERE id = ?", [*changes.values(), at, user, tag_row["id"]])
            self._event("tag.settings", user=user, at=at, project_id=row["project_id"],
                        dataset_id=row["id"], tag=tag, **changes)

    def tag_settings(self, dataset_id: int) -> dict[str, dict]:
        """Return the set tag settings, ready for :func:`core.analysis.analyze`.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        dict
            ``{"hlp": {tag: float}, "importance": {tag: int}, "ease": {tag: int}}``
            holding only values that are set.
        """
        did = self._dataset_row(dataset_id)["id"]
        out: dict[str, dict] = {"hlp": {}, "importance": {}, "ease": {}}
        for row in self._rows("SELECT name, hlp, importance, ease FROM tags "
                              "WHERE dataset_id = ? ORDER BY id", [did]):
            for key in out:
                if row[key] is not None:
                    out[key][row["name"]] = row[key]
        return out

    # ------------------------------------------------------------------ label corrections

    def correct_label(self, dataset_id: int, example_id: Any, new_label: Any, *, user: str,
                      reason: str = "") -> None:
        """Record a corrected label for one example, keeping the original.

        Parameters
        ----------
        dataset_id
            The dataset.
        example_id
            The example, as in the frame's ``id`` column (compared as text).
        new_label
            The correct label, converted to the label column's type (a number for numeric
            labels, text otherwise).
        user
            Who corrects it.
        reason
            Why (free text).

        Raises
        ------
        StoreError
            Unknown dataset or example, or a label that does not fit the column.
        """
        user = _clean_user(user)
        if not isinstance(reason, str):
            raise StoreError(f"reason must be text, got {reason!r}")
        did = self._dataset_row(dataset_id)["id"]
        wanted = _id_strings([example_id])
        frame = _read_parquet(self._dir(did) / FRAME_FILE, ["id", "label"])
        pos = self._locate_examples(did, frame["id"].astype(str), wanted)[0]
        original = _python_scalar(frame["label"].iloc[pos])
        corrected = _coerce_label(new_label, frame["label"], did)
        with self._write():
            row = self._dataset_row(did)
            at = _now()
            self.db["label_corrections"].insert({
                "dataset_id": did, "example_id": wanted[0], "original": original,
                "corrected": corrected, "reason": reason.strip(), "user": user, "at": at,
            })
            self._event("label.correct", user=user, at=at, project_id=row["project_id"],
                        dataset_id=did, example_id=wanted[0], original=original,
                        corrected=corrected, reason=reason.strip())

    def corrections(self, dataset_id: int) -> pd.DataFrame:
        """Return the active label corrections, the latest one per example.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            Columns ``example_id`` (text), ``original``, ``corrected``, ``reason``,
            ``user``, ``at``; oldest first.
        """
        did = self._dataset_row(dataset_id)["id"]
        cols = ["example_id", "original", "corrected", "reason", "user", "at"]
        return pd.DataFrame.from_records(
            [tuple(r[c] for c in cols)
             for r in self._rows(_ACTIVE_CORRECTIONS + " ORDER BY id", [did, did])],
            columns=cols,
        )

    def revert_correction(self, dataset_id: int, example_id: Any, *, user: str) -> None:
        """Restore an example's original label; its corrections are kept, marked reverted.

        Parameters
        ----------
        dataset_id
            The dataset.
        example_id
            The example (compared as text).
        user
            Who reverts it.

        Raises
        ------
        StoreError
            Unknown dataset, or the example has no active correction.
        """
        user = _clean_user(user)
        key = _id_strings([example_id])[0]
        with self._write():
            row = self._dataset_row(dataset_id)
            did = row["id"]
            at = _now()
            cursor = self.db.execute(
                "UPDATE label_corrections SET reverted_at = ?, reverted_by = ? "
                "WHERE dataset_id = ? AND example_id = ? AND reverted_at IS NULL",
                [at, user, did, key])
            if cursor.rowcount == 0:
                raise StoreError(f"example {key!r} of dataset {did} has no label correction "
                                 "to revert")
            self._event("label.revert", user=user, at=at, project_id=row["project_id"],
                        dataset_id=did, example_id=key)

    # ------------------------------------------------------------------ reports

    def save_report(self, dataset_id: int, fmt: str, filename: str, content: str | bytes, *,
                    user: str) -> int:
        """Store an exported report.

        Parameters
        ----------
        dataset_id
            The dataset it describes.
        fmt
            Its format, e.g. ``"html"``, ``"csv"``, ``"md"`` (lower-cased).
        filename
            The name to download it under (stored as given, never used as a path).
        content
            Text (stored as UTF-8) or bytes.
        user
            Who saves it.

        Returns
        -------
        int
            The report id.
        """
        user = _clean_user(user)
        fmt = _clean_name(fmt, "report format").lower()
        filename = _clean_name(filename, "report file name")
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise StoreError(f"report content must be text or bytes, got {type(content)}")
        content = bytes(content)
        with self._write():
            row = self._dataset_row(dataset_id)
            at = _now()
            rid = self.db["reports"].insert({
                "dataset_id": row["id"], "fmt": fmt, "filename": filename,
                "size": len(content), "content": content, "created_at": at, "created_by": user,
            }).last_pk
            self._event("report.save", user=user, at=at, project_id=row["project_id"],
                        dataset_id=row["id"], report_id=rid, fmt=fmt, filename=filename,
                        size=len(content))
            return int(rid)

    def list_reports(self, dataset_id: int | None = None) -> pd.DataFrame:
        """Return stored reports (without content), newest first.

        Parameters
        ----------
        dataset_id
            Only this dataset's reports; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``dataset_id``, ``fmt``, ``filename``, ``size``, ``created_at``,
            ``created_by``.
        """
        cols = ["id", "dataset_id", "fmt", "filename", "size", "created_at", "created_by"]
        where, params = "", []
        if dataset_id is not None:
            where, params = "WHERE dataset_id = ?", [self._dataset_row(dataset_id)["id"]]
        return self._frame(f"SELECT {', '.join(cols)} FROM reports {where} "
                           "ORDER BY created_at DESC, id DESC", params, cols)

    def report_content(self, report_id: int) -> bytes:
        """Return a report's bytes.

        Parameters
        ----------
        report_id
            The report.

        Returns
        -------
        bytes
        """
        rid = _check_id(report_id, "report")
        rows = self._rows("SELECT content FROM reports WHERE id = ?", [rid])
        if not rows:
            raise StoreError(f"no report with id {rid}")
        return bytes(rows[0]["content"])

    # ------------------------------------------------------------------ iterations

    def save_iteration(self, project_id: int, dataset_id: int, *, model_name: str,
                       model_version: str = "", data_version: str = "",
                       notes: dict[str, Any] | None = None, table: pd.DataFrame,
                       user: str) -> int:
        """Save an analysed dataset as an iteration of its project.

        Parameters
        ----------
        project_id
            The project; it must own the dataset.
        dataset_id
            The analysed dataset. Its name, file name, content hash, fingerprint (as
            :meth:`core.dataset.Dataset.fingerprint` of :meth:`load_dataset`), row count and
            revision (:meth:`revision`: the state of its tags and corrections) are copied
            in, so the iteration stays readable after the dataset is deleted.
        model_name, model_version
            What produced the predictions (``model_name`` is required).
        data_version
            Which version of the data it was trained on, e.g. ``"v2: + car noise"``.
        notes
            Free name -> value notes: hyperparameters, the code commit… (JSON values).
        table
            The per-slice table at this time (:func:`core.analysis.analyze`), indexed by
            slice; stored with its column types.
        user
            Who saves it.

        Returns
        -------
        int
            The iteration id.

        Raises
        ------
        StoreError
            Unknown project or dataset, a dataset of another project, no model name, notes
            that are not JSON, or a table that is not a non-empty DataFrame.
        """
        user = _clean_user(user)
        model_name = _clean_name(model_name, "model name")
        model_version = _clean_text(model_version, "model version")
        data_version = _clean_text(data_version, "data version")
        notes_json = _clean_notes(notes)
        table_json = _table_to_json(table)
        with self._write():
            project = self._project_row(project_id)
            row = self._dataset_row(dataset_id)
            if row["project_id"] != project["id"]:
                raise StoreError(f"dataset {row['id']} belongs to project {row['project_id']}, "
                                 f"not {project['id']}")
            mapping = ColumnMapping.from_dict(json.loads(row["mapping"]))
            fingerprint = Dataset(frame=pd.DataFrame(), tags=pd.DataFrame(), mapping=mapping,
                                  content_hash=row["content_hash"]).fingerprint()
            at = _now()
            iid = int(self.db["iterations"].insert({
                "project_id": project["id"], "dataset_id": row["id"],
                "dataset_name": row["name"], "source_name": row["source_name"],
                "content_hash": row["content_hash"], "fingerprint": fingerprint,
                "revision": self.revision(row["id"]), "row_count": row["row_count"],
                "model_name": model_name, "model_version": model_version,
                "data_version": data_version, "notes": notes_json, "slice_table": table_json,
                "created_at": at, "created_by": user,
            }).last_pk)
            self._event("iteration.save", user=user, at=at, project_id=project["id"],
                        dataset_id=row["id"], iteration_id=iid, model_name=model_name,
                        model_version=model_version, data_version=data_version,
                        notes=json.loads(notes_json))
            return iid

    _ITERATION_COLUMNS = ["id", "project_id", "dataset_id", "dataset_name", "source_name",
                          "content_hash", "fingerprint", "revision", "row_count", "model_name",
                          "model_version", "data_version", "notes", "created_at", "created_by"]

    def list_iterations(self, project_id: int) -> pd.DataFrame:
        """Return a project's iterations, oldest first (its history).

        Parameters
        ----------
        project_id
            The project.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``dataset_id`` (the dataset may have been
            deleted since), ``dataset_name``, ``source_name``, ``content_hash``,
            ``fingerprint``, ``revision``, ``row_count``, ``model_name``, ``model_version``,
            ``data_version``, ``notes`` (a dict per row), ``created_at``, ``created_by``.
        """
        pid = self._project_row(project_id)["id"]
        cols = self._ITERATION_COLUMNS
        out = self._frame(f"SELECT {', '.join(cols)} FROM iterations WHERE project_id = ? "
                          "ORDER BY created_at, id", [pid], cols)
        out["notes"] = [json.loads(n) for n in out["notes"]]
        return out

    def iteration_info(self, iteration_id: int) -> dict[str, Any]:
        """Return one iteration's row (the columns of :meth:`list_iterations`).

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        iid = _check_id(iteration_id, "iteration")
        rows = self._rows(f"SELECT {', '.join(self._ITERATION_COLUMNS)} FROM iterations "
                          "WHERE id = ?", [iid])
        if not rows:
            raise StoreError(f"no iteration with id {iid}")
        rows[0]["notes"] = json.loads(rows[0]["notes"])
        return rows[0]

    def iteration_table(self, iteration_id: int) -> pd.DataFrame:
        """Return the per-slice table saved with an iteration, with its column types.

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        iid = _check_id(iteration_id, "iteration")
        rows = self._rows("SELECT slice_table FROM iterations WHERE id = ?", [iid])
        if not rows:
            raise StoreError(f"no iteration with id {iid}")
        return _table_from_json(rows[0]["slice_table"])

    def delete_iteration(self, iteration_id: int, *, user: str) -> None:
        """Delete an iteration (its event stays in the log).

        Raises
        ------
        StoreError
            Unknown iteration.
        """
        user = _clean_user(user)
        with self._write():
            info = self.iteration_info(iteration_id)
            self.db.execute("DELETE FROM iterations WHERE id = ?", [info["id"]])
            self._event("iteration.delete", user=user, at=_now(),
                        project_id=info["project_id"], dataset_id=info["dataset_id"],
                        iteration_id=info["id"], model_name=info["model_name"],
                        model_version=info["model_version"])

    # ------------------------------------------------------------------ annotation sets

    _ANNOTATION_SET_COLUMNS = ["id", "project_id", "name", "source_name", "content_hash",
                               "row_count", "linked_dataset_id", "created_at", "created_by"]

    def _annotation_path(self, set_id: int) -> Path:
        return self.files_dir / ANNOTATIONS_DIR / f"{int(set_id)}.parquet"

    def _annotation_row(self, set_id: Any) -> dict[str, Any]:
        sid = _check_id(set_id, "annotation set")
        rows = self._rows("SELECT * FROM annotation_sets WHERE id = ?", [sid])
        if not rows:
            raise StoreError(f"no annotation set with id {sid}")
        return rows[0]

    def _check_link(self, project_id: int, dataset_id: Any) -> int | None:
        if dataset_id is None:
            return None
        row = self._dataset_row(dataset_id)
        if row["project_id"] != project_id:
            raise StoreError(f"dataset {row['id']} belongs to project {row['project_id']}, not "
                             f"{project_id}: an annotation set links to a dataset of its own "
                             "project")
        return int(row["id"])

    def save_annotation_set(self, project_id: int, name: str, labels: pd.DataFrame, *,
                            source_name: str, content_hash: str, user: str,
                            linked_dataset_id: int | None = None) -> int:
        """Store a multi-annotator label table as an annotation set of a project.

        The table is written to Parquet (atomically: a staging file renamed inside the
        transaction that adds the row), so either both the row and the file exist or neither.

        Parameters
        ----------
        project_id
            The owning project.
        name
            The set's name, unique within the project.
        labels
            The long table of :class:`core.agreement.Annotations`: ``item``, ``annotator``
            and ``label`` columns (no missing values), optionally ``time`` and ``comment``.
        source_name, content_hash
            The file it came from and the hash of its bytes.
        user
            Who saves it.
        linked_dataset_id
            The dataset of the same project whose example ids the items are (its ground
            truth, predictions and tags), or ``None``.

        Returns
        -------
        int
            The annotation set id.

        Raises
        ------
        StoreError
            Unknown project or dataset, a dataset of another project, a name already used
            in the project, or labels that are not a long table or cannot be stored.
        """
        name = _clean_name(name, "annotation set name")
        user = _clean_user(user)
        source_name = _clean_name(source_name, "source name")
        content_hash = _clean_text(content_hash, "content hash")
        pid = self._project_row(project_id)["id"]
        self._check_free_name(pid, name, table="annotation_sets")
        self._check_link(pid, linked_dataset_id)
        labels = _check_annotation_labels(name, labels)
        folder = self.files_dir / ANNOTATIONS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".staging-{uuid.uuid4().hex}.parquet"
        final: Path | None = None
        try:
            try:
                _write_parquet(labels, staging)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise StoreError(f"annotation set {name!r} cannot be stored as Parquet: "
                                 f"{exc}") from exc
            with self._write():
                self._check_free_name(pid, name, table="annotation_sets")
                linked = self._check_link(pid, linked_dataset_id)
                at = _now()
                sid = int(self.db["annotation_sets"].insert({
                    "project_id": pid, "name": name, "source_name": source_name,
                    "content_hash": content_hash, "row_count": len(labels),
                    "linked_dataset_id": linked, "created_at": at, "created_by": user,
                }).last_pk)
                os.replace(staging, self._annotation_path(sid))
                final = self._annotation_path(sid)
                self._event("annotation_set.save", user=user, at=at, project_id=pid,
                            annotation_set_id=sid, name=name, source_name=source_name,
                            row_count=len(labels), linked_dataset_id=linked)
            return sid
        except BaseException:
            (final if final is not None else staging).unlink(missing_ok=True)
            raise

    def list_annotation_sets(self, project_id: int | None = None) -> pd.DataFrame:
        """Return the stored annotation sets, newest first.

        Parameters
        ----------
        project_id
            Only this project's sets; ``None`` lists all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``name``, ``source_name``, ``content_hash``,
            ``row_count`` (labels), ``linked_dataset_id`` (nullable Int64: ``<NA>`` when not
            linked or the dataset was deleted), ``created_at``, ``created_by``.
        """
        out = self._list_in_project("annotation_sets", self._ANNOTATION_SET_COLUMNS, project_id)
        out["linked_dataset_id"] = out["linked_dataset_id"].astype("Int64")
        return out

    def annotation_set_info(self, set_id: int) -> dict[str, Any]:
        """Return one annotation set's row (the columns of :meth:`list_annotation_sets`).

        Raises
        ------
        StoreError
            Unknown annotation set.
        """
        row = self._annotation_row(set_id)
        return {c: row[c] for c in self._ANNOTATION_SET_COLUMNS}

    def load_annotation_set(self, set_id: int) -> pd.DataFrame:
        """Return an annotation set's long label table as it was saved.

        Raises
        ------
        StoreError
            Unknown annotation set, or its file is missing.
        """
        sid = self._annotation_row(set_id)["id"]
        return _read_parquet(self._annotation_path(sid))

    def delete_annotation_set(self, set_id: int, *, user: str) -> None:
        """Delete an annotation set, its review decisions and its file (the events stay).

        Raises
        ------
        StoreError
            Unknown annotation set.
        """
        user = _clean_user(user)
        trash: Path | None = None
        with self._write():
            row = self._annotation_row(set_id)
            sid = row["id"]
            self.db.execute("DELETE FROM review_decisions WHERE annotation_set_id = ?", [sid])
            self.db.execute("DELETE FROM annotation_sets WHERE id = ?", [sid])
            self._event("annotation_set.delete", user=user, at=_now(),
                        project_id=row["project_id"], annotation_set_id=sid, name=row["name"])
            path = self._annotation_path(sid)
            if path.exists():  # moved last: a failure before this rolls the rows back
                trash = path.with_name(f".deleted-{uuid.uuid4().hex}.parquet")
                os.replace(path, trash)
        if trash is not None:
            trash.unlink(missing_ok=True)

    def save_review_decision(self, set_id: int, item: Any, *, decision: Any, note: str = "",
                             user: str) -> bool:
        """Record a reviewer's decision on one item of an annotation set.

        Every decision is kept; the latest per item counts (:meth:`review_decisions`).

        Parameters
        ----------
        set_id
            The annotation set.
        item
            One of its items (compared as text).
        decision
            The right label, ``"borderline"`` (ambiguous: a borderline case), or ``None``
            for no decision (a note alone; with no note either, the item's review is
            withdrawn).
        note
            A note, e.g. for the labelling instructions.
        user
            Who decides.

        Returns
        -------
        bool
            Whether anything was recorded (nothing when it repeats the item's latest
            decision and note).

        Raises
        ------
        StoreError
            Unknown annotation set or item, or a decision that is not a label.
        """
        user = _clean_user(user)
        decision = _clean_decision(decision)
        if note is None:
            note = ""
        if not isinstance(note, str):
            raise StoreError(f"a review note must be text, got {note!r}")
        note = note.strip()
        key = _id_strings([item])[0]
        row = self._annotation_row(set_id)
        sid = row["id"]
        items = _read_parquet(self._annotation_path(sid), ["item"])["item"].astype(str)
        if not (items == key).any():
            raise StoreError(f"annotation set {sid} ({row['name']!r}) has no item {key!r}")
        with self._write():
            row = self._annotation_row(sid)
            last = self._rows("SELECT decision, note FROM review_decisions WHERE id = ("
                              "SELECT MAX(id) FROM review_decisions WHERE annotation_set_id = ? "
                              "AND item = ?)", [sid, key])
            current = (last[0]["decision"], last[0]["note"]) if last else (None, "")
            if current == (decision, note):
                return False
            at = _now()
            self.db["review_decisions"].insert({
                "annotation_set_id": sid, "item": key, "decision": decision, "note": note,
                "user": user, "at": at,
            })
            self._event("review.decide", user=user, at=at, project_id=row["project_id"],
                        annotation_set_id=sid, item=key, decision=decision, note=note,
                        previous=current[0])
            return True

    def review_decisions(self, set_id: int, *, history: bool = False) -> pd.DataFrame:
        """Return an annotation set's review decisions: the latest per item, oldest first.

        Parameters
        ----------
        set_id
            The annotation set.
        history
            Every decision ever recorded instead (withdrawals included), oldest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``item`` (text), ``decision`` (a label as text, ``"borderline"``, or
            ``None`` for a note alone), ``note``, ``user``, ``at`` (UTC ISO-8601). Items
            whose latest row has neither a decision nor a note are left out.
        """
        sid = self._annotation_row(set_id)["id"]
        cols = ["item", "decision", "note", "user", "at"]
        select = 'SELECT item, decision, note, "user", at FROM review_decisions '
        if history:
            sql, params = select + "WHERE annotation_set_id = ? ORDER BY id", [sid]
        else:
            sql = (select + "WHERE id IN (SELECT MAX(id) FROM review_decisions "
                   "WHERE annotation_set_id = ? GROUP BY item) "
                   "AND (decision IS NOT NULL OR note != '') ORDER BY id")
            params = [sid]
        out = self._frame(sql, params, cols)
        decisions = np.empty(len(out), dtype=object)
        decisions[:] = [d if isinstance(d, str) else None for d in out["decision"]]
        out["decision"] = pd.Series(decisions, index=out.index, dtype=object)
        return out

    def apply_annotation_hlp(self, set_id: int, dataset_id: int, hlp: dict[str, float], *,
                             user: str) -> None:
        """Save an annotation set's per-tag HLP as the HLP of a dataset's tags.

        One transaction: :meth:`set_tag_settings` for every tag, then an
        ``annotation_set.hlp`` event naming the set (what :meth:`hlp_sources` reads).

        Parameters
        ----------
        set_id
            The annotation set the values were measured on.
        dataset_id
            The dataset whose tags get the values (usually the set's linked dataset).
        hlp
            ``{tag: accuracy from 0 to 1}``; every tag must exist in the dataset.
        user
            Who applies them.

        Raises
        ------
        StoreError
            Unknown set, dataset or tag, no value, or a value out of range (nothing is
            saved).
        """
        user = _clean_user(user)
        if not isinstance(hlp, dict) or not hlp:
            raise StoreError("give the HLP to save as a non-empty {tag: value} dict")
        values = {str(t): _check_setting("hlp", v) for t, v in hlp.items()}
        with self._write():
            info = self._annotation_row(set_id)
            row = self._dataset_row(dataset_id)
            for tag, value in values.items():
                self.set_tag_settings(row["id"], tag, hlp=value, user=user)
            self._event("annotation_set.hlp", user=user, at=_now(),
                        project_id=row["project_id"], dataset_id=row["id"],
                        annotation_set_id=info["id"], name=info["name"], hlp=values)

    def hlp_sources(self, dataset_id: int) -> dict[str, dict[str, Any]]:
        """Return the tags whose current HLP was saved from an annotation set.

        Read from the events: a later HLP typed in or cleared, a rename, a merge or a
        delete ends the link.

        Returns
        -------
        dict
            ``{tag: {"annotation_set_id", "name", "hlp", "user", "at"}}``, only tags that
            still have that HLP.
        """
        did = self._dataset_row(dataset_id)["id"]
        marks = ", ".join("?" * len(_HLP_EVENT_KINDS))
        rows = self._rows(f'SELECT kind, detail, "user", at FROM events WHERE dataset_id = ? '
                          f"AND kind IN ({marks}) ORDER BY id", [did, *_HLP_EVENT_KINDS])
        found: dict[str, dict[str, Any]] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            kind = r["kind"]
            if kind == "annotation_set.hlp":
                for tag, value in detail.get("hlp", {}).items():
                    found[tag] = {"annotation_set_id": detail.get("annotation_set_id"),
                                  "name": detail.get("name"), "hlp": value,
                                  "user": r["user"], "at": r["at"]}
            elif kind == "tag.settings" and "hlp" in detail:
                found.pop(detail.get("tag"), None)
            elif kind == "tag.rename" and detail.get("old") in found:
                found[detail["new"]] = found.pop(detail["old"])
            elif kind == "tag.delete":
                found.pop(detail.get("tag"), None)
            elif kind == "tag.merge":
                for tag in [*detail.get("removed", []), detail.get("target")]:
                    found.pop(tag, None)
        current = self.tag_settings(did)["hlp"]
        return {t: v for t, v in found.items()
                if t in current and math.isclose(float(current[t]), float(v["hlp"]))}

    # ------------------------------------------------------------------ history

    def revision(self, dataset_id: int) -> int:
        """Return the id of the newest event of a dataset (0 if none).

        It grows with every write to the dataset, so it is a cheap cache key for anything
        derived from the dataset's current state.
        """
        row = self.db.execute("SELECT max(id) FROM events WHERE dataset_id = ?",
                              [int(dataset_id)]).fetchone()
        return int(row[0] or 0)

    def events(self, dataset_id: int | None = None) -> pd.DataFrame:
        """Return the append-only log of writes, oldest first.

        Parameters
        ----------
        dataset_id
            Only events about this dataset (also after it was deleted); ``None`` for all.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``dataset_id``, ``kind`` (e.g. ``tag.set``),
            ``detail`` (JSON text), ``user``, ``at`` (UTC ISO-8601).
        """
        cols = ["id", "project_id", "dataset_id", "kind", "detail", "user", "at"]
        where, params = "", []
        if dataset_id is not None:
            where, params = "WHERE dataset_id = ?", [_check_id(dataset_id, "dataset")]
        frame = self._frame(f'SELECT id, project_id, dataset_id, kind, detail, "user", at '
                            f"FROM events {where} ORDER BY id", params, cols)
        for col in ("project_id", "dataset_id"):
            frame[col] = frame[col].astype("Int64")
        return frame

