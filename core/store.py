"""The only module that touches the database: projects, datasets, tags, corrections, reports.

Tags, hand tag values, reviewed examples and label corrections belong to a project and are
keyed by example id, so every dataset of the project (e.g. the next model's predictions for
the same examples) shares them; what a dataset's own file says (its tag columns) stays per
dataset.

One :class:`Store` wraps one SQLite file through :class:`sqlite_utils.Database`. Example rows
are never copied into SQLite: :meth:`Store.save_dataset` writes them to Parquet files beside
the database (``<db stem>_files/<dataset id>/frame.parquet`` and ``tags.parquet``), which are
never modified afterwards. The database is the index of those files plus everything that
changes later:

- ``tags`` lists the tags of a *project* in creation order with their settings: every
  dataset of the project lists them (schema 4; before, tags belonged to one dataset).
- ``tag_bases`` holds, per (tag, dataset), the ``tags.parquet`` columns OR-ed together to
  give the tag's base values in that dataset (``base_columns``, a JSON list: one column for
  a tag from the file, several after a merge; no row: none, so all False) and its
  ``scope``, where the tag's status is known from that base or a rule (:data:`TAG_SCOPES`).
- ``tag_overrides`` holds the hand values: (tag, example id) -> value, set by a person or a
  rule. A hand value applies to every dataset of the project holding the example, so a
  new model's predictions for the same examples keep them.
- ``reviewed_examples`` lists the examples of a project a person looked at (for every tag),
  optionally within a ``review_samples`` row (a drawn sample, e.g. 100 errors and 100
  correct examples, with its seed, sizes and population).
- ``tag_changes`` is the undo log of hand values and review marks (:meth:`Store.undo_last`).
- ``label_corrections`` keeps every correction of a project's examples beside the original
  label, with who, when, why and on which dataset; a revert marks corrections as reverted
  instead of deleting them. A correction applies to every dataset holding the example.
- ``iterations`` snapshots an analysed dataset as one step of a project's history: model
  name and version, data version, free notes, the dataset's hash and fingerprint, and its
  per-slice table as JSON (kept after the dataset is deleted).
- ``annotation_sets`` indexes multi-annotator label tables (the long table of item,
  annotator, label is a Parquet file, ``files_dir/annotation_sets/<id>.parquet``), each
  optionally linked to the dataset whose ids its items are.
- ``review_decisions`` keeps every decision a reviewer made on an annotation set's item (a
  label, ``borderline`` or only a note), with who and when; the latest per item counts.
- ``events`` is an append-only log (triggers refuse updates and deletes) of every write,
  written in the same transaction as the write itself, with who made it.
- ``members`` gives people roles in a project (:mod:`core.access`: viewer, annotator,
  owner; schema 5). Once a store has members, every write checks the user's role in the
  same transaction and raises :class:`core.errors.PermissionDenied` when it is not enough;
  a store without members is open (local single-user mode: everyone is an owner). The
  first user who signs in (:meth:`Store.sign_in`) becomes the owner of every project.

Example ids are stored as text and matched against ``frame["id"].astype(str)``, so integer
and string ids both work. Every write runs in one ``BEGIN IMMEDIATE`` transaction, so a
failure leaves nothing half-written and concurrent writers wait for each other (WAL mode,
30 s busy timeout). Problems a user can cause (unknown ids or names, clashes, invalid values)
raise :class:`core.errors.StoreError` with a message naming the thing.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import numbers
import os
import shlex
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlite_utils

from slicewise.core import access
from slicewise.core.auth_config import MAX_IDENTITY_LENGTH
from slicewise.core.dataset import ColumnMapping, Dataset
from slicewise.core.errors import (
    DataError,
    DiskFull,
    InvalidValueError,
    PermissionDenied,
    StoreDamaged,
    StoreError,
    StoreReadOnly,
)
from slicewise.core.task import TaskSpec, TextNormalization
from slicewise.core.values import class_key, class_keys

DEFAULT_DB_ENV = "SLICEWISE_DB"
FRAME_FILE = "frame.parquet"
TAGS_FILE = "tags.parquet"
BUSY_TIMEOUT_MS = 30_000
#: A staging copy this old (seconds) belongs to no live save: opening the store removes it.
STALE_STAGING_SECONDS = 3600
SETTING_RANGE = (1, 5)  # importance and ease
#: Most characters of a name a person gives: a project, dataset, tag, annotation set or model
#: (a member may be as long as a signed-in identity, ``core.auth_config.MAX_IDENTITY_LENGTH``).
MAX_NAME_CHARS = 200

#: Where a tag's status is known from its base values or rule: on every example, on the
#: model's errors only, or nowhere (a hand-made tag: known only where reviewed).
TAG_SCOPES = ("all", "errors", "none", "auto")

#: The event recording that a store stopped being open (:meth:`Store.sign_in`): from it on,
#: writes check roles even before the store has a member.
FIRST_USER_EVENT = "store.first_user"

# The latest correction of each example of a project that has not been reverted (params:
# project id, project id).
_ACTIVE_CORRECTIONS = (
    'SELECT dataset_id, example_id, original, corrected, reason, "user", at '
    "FROM label_corrections WHERE id IN (SELECT MAX(id) FROM label_corrections "
    "WHERE project_id = ? AND reverted_at IS NULL GROUP BY example_id) AND project_id = ?"
)

# Events about one dataset's own things, which do not change the figures of the other
# datasets of its project (every other event of a project may: tags, hand values, reviews
# and corrections belong to the project).
_DATASET_OWN_KINDS = (
    "dataset.rename",
    "dataset.delete",
    "report.save",
    "iteration.save",
    "iteration.delete",
    "annotation_set.save",
    "annotation_set.delete",
    "review.decide",
)


def files_dir_of(db: Path) -> Path:
    """Return the folder of a store's dataset files: ``<db stem>_files/`` beside ``db``."""
    return db.parent / f"{db.stem}_files"


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


# Tags, hand values and label corrections belong to the project, keyed by example id (issue
# 13): the next model's predictions for the same examples, saved as another dataset of the
# project, keep every hand tag and correction. What stays per dataset is what its file says:
# the tags.parquet columns seeding a tag (tag_bases). Also new: where each tag's status is
# known (tag_bases.scope), the examples a person reviewed, review samples, and the log that
# undo reads (tag_changes).
_SCHEMA_V4 = [
    "ALTER TABLE tags RENAME TO tags_v3",
    "ALTER TABLE tag_overrides RENAME TO tag_overrides_v3",
    "ALTER TABLE label_corrections RENAME TO label_corrections_v3",
    "DROP INDEX label_corrections_example",
    """CREATE TABLE tags (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        hlp REAL CHECK (hlp IS NULL OR (hlp >= 0 AND hlp <= 1)),
        importance INTEGER CHECK (importance IS NULL OR importance BETWEEN 1 AND 5),
        ease INTEGER CHECK (ease IS NULL OR ease BETWEEN 1 AND 5),
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        UNIQUE (project_id, name)
    )""",
    # A (tag, dataset) pair without a row has no base columns and scope 'none'.
    """CREATE TABLE tag_bases (
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        base_columns TEXT NOT NULL DEFAULT '[]',
        scope TEXT NOT NULL CHECK (scope IN ('all', 'errors', 'none', 'auto')),
        PRIMARY KEY (tag_id, dataset_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX tag_bases_dataset ON tag_bases (dataset_id)",
    # by_rule: the value was written by a rule, not by a person looking at the example, so
    # it does not make the example "reviewed" (a rule's scope says where it looked).
    """CREATE TABLE tag_overrides (
        tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        example_id TEXT NOT NULL,
        value INTEGER NOT NULL CHECK (value IN (0, 1)),
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        by_rule INTEGER NOT NULL DEFAULT 0 CHECK (by_rule IN (0, 1)),
        PRIMARY KEY (tag_id, example_id)
    ) WITHOUT ROWID""",
    # dataset_id: where the correction was made (no foreign key: it outlives the dataset).
    """CREATE TABLE label_corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        dataset_id INTEGER,
        example_id TEXT NOT NULL,
        original,
        corrected NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        reverted_at TEXT,
        reverted_by TEXT
    )""",
    "CREATE INDEX label_corrections_example ON label_corrections (project_id, example_id)",
    # sample_id 0: marked outside any review sample.
    """CREATE TABLE reviewed_examples (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        example_id TEXT NOT NULL,
        sample_id INTEGER NOT NULL DEFAULT 0,
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (project_id, example_id, sample_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX reviewed_examples_sample ON reviewed_examples (sample_id)",
    """CREATE TABLE review_samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        seed INTEGER,
        sizes TEXT NOT NULL,
        population TEXT NOT NULL,
        example_ids TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    )""",
    "CREATE INDEX review_samples_dataset ON review_samples (dataset_id)",
    # What undo needs: per change, what it did (JSON) and, per example, the hand value or
    # review mark it replaced (an Arrow IPC stream: a 100,000-example rule writes fast).
    """CREATE TABLE tag_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        dataset_id INTEGER,
        kind TEXT NOT NULL,
        tag_id INTEGER,
        description TEXT NOT NULL,
        previous TEXT NOT NULL,
        rows BLOB,
        "user" TEXT NOT NULL,
        at TEXT NOT NULL,
        undone_at TEXT,
        undone_by TEXT
    )""",
    'CREATE INDEX tag_changes_user ON tag_changes (project_id, "user")',
    "CREATE INDEX events_project ON events (project_id)",
]
_DROP_V3 = ["DROP TABLE tag_overrides_v3", "DROP TABLE tags_v3", "DROP TABLE label_corrections_v3"]
#: Who the migration's events name.
MIGRATION_USER = "slicewise (schema 4)"
#: At most this many conflicting examples are listed in a migration event (all are counted).
_MIGRATION_LISTED = 200


def _query(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _migration_4_project_tags(db: sqlite_utils.Database) -> None:
    """Move tags, hand values and corrections from the dataset to the project.

    Tags of one name in datasets of one project become one project tag (its id is the
    oldest one's, so creation order stays): each setting (hlp, importance, ease) comes from
    the most recently updated of them that has it set. Each old tag's base columns seed the
    new tag in its own dataset, with scope ``all``; a tag without base columns (made in the
    app) has scope ``none`` and is known where it has hand values. Hand values are unioned;
    where two datasets' values for one example disagree, the latest ``at`` wins. Corrections
    keep their ids (the latest one per example counts, as before). One ``schema.migrate``
    event per project with tags or corrections lists the tags merged (with the settings
    kept and those that differed) and the conflicting hand values and corrections (up to
    :data:`_MIGRATION_LISTED` examples each, all counted). A hand value now also applies to
    the project's other datasets holding the example, over their file values.
    """
    for statement in _SCHEMA_V4:
        db.execute(statement)
    at = _now()
    report: dict[int, dict[str, Any]] = {}

    def note(pid: int, key: str | None = None, item: Any = None) -> None:
        entry = report.setdefault(
            pid,
            {
                "merged_tags": [],
                "value_conflicts": 0,
                "values": [],
                "correction_conflicts": 0,
                "corrections": [],
            },
        )
        if key is None:
            return
        if key in ("values", "corrections"):
            entry["value_conflicts" if key == "values" else "correction_conflicts"] += 1
            if len(entry[key]) < _MIGRATION_LISTED:
                entry[key].append(item)
        else:
            entry[key].append(item)

    old = _query(
        db,
        "SELECT t.*, d.project_id FROM tags_v3 t JOIN datasets d "
        "ON d.id = t.dataset_id ORDER BY t.id",
    )
    groups: dict[tuple[int, str], list[dict]] = {}
    for r in old:
        groups.setdefault((r["project_id"], r["name"]), []).append(r)
    new_id: dict[int, int] = {}
    names: dict[int, str] = {}
    project_of: dict[int, int] = {}
    for (pid, name), rows in groups.items():
        note(pid)
        first = rows[0]
        by_update = sorted(rows, key=lambda r: (r["updated_at"], r["id"]))
        settings: dict[str, Any] = {}
        differing: dict[str, list] = {}
        for key in ("hlp", "importance", "ease"):
            have = [r for r in by_update if r[key] is not None]
            settings[key] = have[-1][key] if have else None
            if len({r[key] for r in have}) > 1:
                differing[key] = [{"dataset_id": r["dataset_id"], key: r[key]} for r in have]
        created = min(rows, key=lambda r: (r["created_at"], r["id"]))
        db.execute(
            "INSERT INTO tags (id, project_id, name, hlp, importance, ease, created_at, "
            "created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                first["id"],
                pid,
                name,
                settings["hlp"],
                settings["importance"],
                settings["ease"],
                created["created_at"],
                created["created_by"],
                by_update[-1]["updated_at"],
                by_update[-1]["updated_by"],
            ],
        )
        project_of[first["id"]] = pid
        names[first["id"]] = name
        for r in rows:
            new_id[r["id"]] = first["id"]
            if json.loads(r["base_columns"]):
                db.execute(
                    "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) "
                    "VALUES (?, ?, ?, 'auto')",
                    [first["id"], r["dataset_id"], r["base_columns"]],
                )
        if len(rows) > 1:
            note(
                pid,
                "merged_tags",
                {
                    "tag": name,
                    "datasets": [r["dataset_id"] for r in rows],
                    "settings_kept": settings,
                    "settings_differed": differing,
                },
            )

    chosen: dict[tuple[int, str], dict] = {}
    disagree: dict[tuple[int, str], list[dict]] = {}
    for o in _query(
        db,
        'SELECT tag_id, dataset_id, example_id, value, "user", at '
        "FROM tag_overrides_v3 ORDER BY at, dataset_id",
    ):
        tag_id = new_id.get(o["tag_id"])
        if tag_id is None:
            continue
        key = (tag_id, o["example_id"])
        kept = chosen.get(key)
        if kept is not None and kept["value"] != o["value"]:
            disagree.setdefault(key, [kept]).append(o)
        elif key in disagree:
            disagree[key].append(o)
        chosen[key] = o  # ordered by at: the latest wins
    db.conn.executemany(
        'INSERT INTO tag_overrides (tag_id, example_id, value, "user", at) VALUES (?, ?, ?, ?, ?)',
        [(k[0], k[1], o["value"], o["user"], o["at"]) for k, o in chosen.items()],
    )
    for (tag_id, example_id), seen in disagree.items():
        note(
            project_of[tag_id],
            "values",
            {
                "tag": names[tag_id],
                "example_id": example_id,
                "kept": bool(seen[-1]["value"]),
                "values": [
                    {
                        "dataset_id": o["dataset_id"],
                        "value": bool(o["value"]),
                        "user": o["user"],
                        "at": o["at"],
                    }
                    for o in seen
                ],
            },
        )

    db.execute(
        "INSERT INTO label_corrections (id, project_id, dataset_id, example_id, original, "
        'corrected, reason, "user", at, reverted_at, reverted_by) '
        "SELECT c.id, d.project_id, c.dataset_id, c.example_id, c.original, c.corrected, "
        'c.reason, c."user", c.at, c.reverted_at, c.reverted_by '
        "FROM label_corrections_v3 c JOIN datasets d ON d.id = c.dataset_id ORDER BY c.id"
    )
    active = _query(
        db,
        "SELECT d.project_id, c.dataset_id, c.example_id, c.corrected, c.id "
        "FROM label_corrections_v3 c JOIN datasets d ON d.id = c.dataset_id "
        "WHERE c.id IN (SELECT MAX(id) FROM label_corrections_v3 "
        "WHERE reverted_at IS NULL GROUP BY dataset_id, example_id) ORDER BY c.id",
    )
    by_example: dict[tuple[int, str], list[dict]] = {}
    for c in active:
        note(c["project_id"])
        by_example.setdefault((c["project_id"], c["example_id"]), []).append(c)
    for (pid, example_id), found in by_example.items():
        if len({json.dumps(c["corrected"]) for c in found}) > 1:
            note(
                pid,
                "corrections",
                {
                    "example_id": example_id,
                    "kept": found[-1]["corrected"],
                    "values": [
                        {"dataset_id": c["dataset_id"], "corrected": c["corrected"]} for c in found
                    ],
                },
            )

    for statement in _DROP_V3:
        db.execute(statement)
    for pid, detail in report.items():
        db["events"].insert(
            {
                "project_id": pid,
                "dataset_id": None,
                "kind": "schema.migrate",
                "detail": json.dumps({"schema": 4, **detail}, default=str, ensure_ascii=False),
                "user": MIGRATION_USER,
                "at": at,
            }
        )


# Who may do what in a project (core.access): one row per (project, member), the role and
# who gave it when. A store with no row is open (local single-user mode: everyone may write).
# events_kind: finding the first sign-in (FIRST_USER_EVENT) and the HLP events quickly.
_SCHEMA_V5 = [
    """CREATE TABLE members (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        member TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'annotator', 'owner')),
        added_by TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (project_id, member)
    ) WITHOUT ROWID""",
    "CREATE INDEX members_member ON members (member)",
    "CREATE INDEX events_kind ON events (kind)",
]


#: The schema version that has the members table.
_MEMBERS_SCHEMA = 5


def _migration_5_members(db: sqlite_utils.Database) -> None:
    """Add project members (none: the store stays open, as before)."""
    for statement in _SCHEMA_V5:
        db.execute(statement)


Migration = Callable[[sqlite_utils.Database], None]

#: Schema steps, applied in order: step ``i`` takes ``PRAGMA user_version`` from ``i`` to
#: ``i + 1`` inside one transaction. Append new steps; never edit a released one.
MIGRATIONS: list[Migration] = [
    _migration_1_initial_schema,
    _migration_2_iterations,
    _migration_3_annotation_sets,
    _migration_4_project_tags,
    _migration_5_members,
]


# --------------------------------------------------------------------------- helpers


def _mtime(path: Path) -> float:
    """Return the modification time of ``path``; +inf when it is gone (never stale)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _clean_name(value: Any, what: str, *, limit: int | None = MAX_NAME_CHARS) -> str:
    """Return ``value`` without surrounding spaces: a non-empty text of at most ``limit`` chars.

    ``limit=None`` for what is not a name a person types (file names, data values).

    Raises
    ------
    StoreError
        ``value`` is not a text, or is blank.
    InvalidValueError
        ``value`` is longer than ``limit`` characters (after stripping).
    """
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty text, got {value!r}")
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise InvalidValueError(
            f"{what} {value[:40] + '…'!r} is {len(value):,} characters "
            f"long; the most allowed is {limit}: choose a shorter one"
        )
    return value


def _member_key(name: Any) -> str:
    """Return how a member's name is matched: spaces around and letter case ignored.

    ``OLIVIA@Example.org`` is ``olivia@example.org`` (:meth:`str.casefold`, so for every
    alphabet): identity providers and people write e-mail addresses in either case. The
    name is stored and shown as first given.
    """
    return str(name).strip().casefold()


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
    return TaskSpec(
        **{k: v for k, v in d.items() if k in known}, normalization=TextNormalization(**norm)
    )


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
        raise StoreError(
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
            raise StoreError(
                f"dataset {dataset_id}: labels are numbers; {value!r} is not a finite number"
            )
        if pd.api.types.is_integer_dtype(dtype):
            if isinstance(number, float) and not number.is_integer():
                raise StoreError(
                    f"dataset {dataset_id}: labels are whole numbers; {value!r} is not one"
                )
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
            raise StoreError(
                f"hlp (human-level performance) must be a number from 0 to 1, got {value!r}"
            )
        return float(value)
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    low, high = SETTING_RANGE
    if not ok or not (low <= int(value) <= high):
        raise StoreError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _check_scope(scope: Any, what: str) -> str:
    if not isinstance(scope, str) or scope not in TAG_SCOPES:
        raise StoreError(f"{what}: unknown scope {scope!r}; use one of {', '.join(TAG_SCOPES)}")
    return scope


def _check_file_scopes(
    name: str, columns: pd.Index, given: Mapping[str, str] | None
) -> dict[str, str]:
    """Return ``{tag column: scope}`` for a dataset being saved (``"auto"`` unless given)."""
    given = dict(given or {})
    unknown = [t for t in given if t not in columns]
    if unknown:
        raise StoreError(
            f"dataset {name!r}: tag_scopes names {_few(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not among its tag columns "
            f"({_few(list(columns), 12) or 'none'})"
        )
    return {
        str(t): _check_scope(given.get(t, "auto"), f"dataset {name!r}, tag {t!r}") for t in columns
    }


def _table_to_json(table: Any) -> str:
    """Serialise a per-slice table (index, columns, dtypes and values) as JSON text."""
    if not isinstance(table, pd.DataFrame):
        raise StoreError(f"an iteration's table must be a DataFrame, got {type(table)}")
    if table.empty:
        raise StoreError(
            "an iteration's table is empty; give the per-slice table of the "
            "dataset (core.analysis.analyze)"
        )
    bad = [c for c in table.columns if not isinstance(c, str)]
    if bad:
        raise StoreError(f"an iteration's table needs text column names; {_few(bad)} are not")
    if not table.index.is_unique:
        raise StoreError(
            f"an iteration's table repeats the slices "
            f"{_few(table.index[table.index.duplicated()].unique())}"
        )
    data = [[_python_scalar(v) for v in row] for row in table.itertuples(index=False)]
    payload = {
        "index_name": table.index.name,
        "index": [str(i) for i in table.index],
        "columns": list(table.columns),
        "dtypes": [str(t) for t in table.dtypes],
        "data": data,
    }
    try:
        return json.dumps(payload, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"an iteration's table holds values that cannot be stored: {exc}") from exc


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
                dtype == "bool" and values.notna().all()
            ):
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
        return json.dumps(
            {k.strip(): v for k, v in notes.items()}, allow_nan=False, ensure_ascii=False
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"notes must hold JSON values (text, numbers, true/false, lists, dicts): {exc}"
        ) from exc


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
_HLP_EVENT_KINDS = ("tag.settings", "tag.rename", "tag.delete", "tag.merge", "annotation_set.hlp")


def _check_annotation_labels(name: str, labels: Any) -> pd.DataFrame:
    if not isinstance(labels, pd.DataFrame):
        raise StoreError(
            f"annotation set {name!r}: the labels must be a DataFrame, got {type(labels).__name__}"
        )
    bad = [c for c in labels.columns if not isinstance(c, str)]
    if bad:
        raise StoreError(f"annotation set {name!r}: column names must be text; {_few(bad)} are not")
    missing = [c for c in ANNOTATION_COLUMNS if c not in labels.columns]
    if missing:
        raise StoreError(
            f"annotation set {name!r}: the labels lack the column(s) "
            f"{_few(missing)}; a long table needs item, annotator and label"
        )
    if labels.empty:
        raise StoreError(f"annotation set {name!r} has no labels")
    blank = [c for c in ANNOTATION_COLUMNS if labels[c].isna().any()]
    if blank:
        raise StoreError(
            f"annotation set {name!r}: the column(s) {_few(blank)} have missing values"
        )
    return labels.reset_index(drop=True)


def _clean_decision(decision: Any) -> str | None:
    decision = _python_scalar(decision)
    if decision is None:
        return None
    if isinstance(decision, bool) or not isinstance(decision, (str, numbers.Real)):
        raise StoreError(
            f"a review decision must be a label (text) or 'borderline', got {decision!r}"
        )
    if isinstance(decision, float) and decision.is_integer():
        decision = int(decision)
    text = str(decision).strip()
    return text or None


# --------------------------------------------------------------------------- faults

# SQLite's primary result codes (the low byte of an extended code) that are faults of the
# file or of the disk rather than of a request (https://www.sqlite.org/rescode.html).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26
#: OS error numbers of a write that found no room: no space, quota exceeded, file too large.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: OS error numbers of a write that is not allowed (permissions, a read-only file system).
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
#: The extended attribute of the database file holding ``size:mtime_ns:inode`` of the file
#: as a store left it after passing ``PRAGMA quick_check``: an unchanged file is not read
#: through again on the next open (see :meth:`Store._check_integrity`).
CHECKED_XATTR = "user.slicewise.quick_check"


def _sqlite_code(exc: BaseException) -> int | None:
    """Return the primary SQLite result code of an error (``None`` when it has none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _no_room(where: Path | str, exc: BaseException) -> DiskFull:
    """Return the :class:`DiskFull` error of a write to ``where`` that found no room."""
    if getattr(exc, "errno", None) == errno.EFBIG:
        return DiskFull(
            f"{where} would grow past the largest file this process may write "
            f"({exc}): nothing was saved; raise the file size limit (ulimit -f) "
            "and try again"
        )
    return DiskFull(
        f"the disk holding {where} is full ({exc}): nothing was saved; free "
        "space on it and try again"
    )


def _signature(path: Path) -> str | None:
    """Return ``size:mtime_ns:inode`` of a file (``None`` when it cannot be read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def _wal_in_use(path: Path) -> bool:
    """Whether the database's ``-wal`` file holds frames (a writer has it open, or crashed)."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


def _whoami() -> str:
    """Return the user this process runs as, e.g. ``"user nobody"`` (else by number)."""
    try:
        import pwd

        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (ImportError, KeyError, OSError):
        return f"user {os.geteuid()}" if hasattr(os, "geteuid") else "this user"


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a cursor or connection method: faults of the file raise the store's errors."""

    @functools.wraps(method)
    def call(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            fault = self._fault(exc)
            if fault is None:
                raise
            if isinstance(self, sqlite3.Cursor):
                # finalize its statement now: the error's traceback keeps the cursor alive,
                # and SQLite keeps the files open until every statement is finalized
                self.close()
            raise fault from exc

    return call


class _Cursor(sqlite3.Cursor):
    """A cursor whose faults of the file raise typed errors (see :class:`_Connection`)."""

    execute = _translating(sqlite3.Cursor.execute)
    executemany = _translating(sqlite3.Cursor.executemany)
    fetchone = _translating(sqlite3.Cursor.fetchone)
    fetchmany = _translating(sqlite3.Cursor.fetchmany)
    fetchall = _translating(sqlite3.Cursor.fetchall)
    __next__ = _translating(sqlite3.Cursor.__next__)

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        return self.connection._fault(exc)


class _Connection(sqlite3.Connection):
    """A connection on which faults of the file raise the store's typed errors.

    A damaged page, a full disk or a read-only file raises the
    :class:`core.errors.DataError` that ``fault`` (set by the store) chooses instead of a
    raw :class:`sqlite3.DatabaseError`, wherever the statement or the fetch is.
    """

    fault: Callable[[sqlite3.DatabaseError], DataError | None] | None = None

    def cursor(self, factory: type[sqlite3.Cursor] = _Cursor) -> sqlite3.Cursor:  # noqa: D102
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # noqa: D102
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # noqa: D102
        return self.cursor().executemany(sql, parameters)

    commit = _translating(sqlite3.Connection.commit)
    rollback = _translating(sqlite3.Connection.rollback)

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        return self.fault(exc) if self.fault is not None else None


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

    Every method taking ``user=`` that writes checks ``user``'s role in the project first,
    in its transaction (the role each needs: :data:`core.access.ACTIONS`), and raises
    :class:`core.errors.PermissionDenied` when it is not enough, writing nothing. A store
    without members is open (:meth:`roles_enforced`). Members' names match regardless of
    letter case (``OLIVIA`` is ``olivia``) and are shown as first given.

    A name a person gives (a project, dataset, tag, annotation set or model) longer than
    :data:`MAX_NAME_CHARS` characters, or a member's longer than an identity may be
    (:data:`core.auth_config.MAX_IDENTITY_LENGTH`), raises
    :class:`core.errors.InvalidValueError`, writing nothing.

    Faults of the file or the disk never surface as raw :mod:`sqlite3` errors. A database
    this process may not write (the file, its folder, the ``-wal``/``-shm`` files or
    ``files_dir``; or a read-only file system) opens read-only (SQLite ``mode=ro``, or
    ``immutable=1`` when even the ``-shm`` file cannot be made): reads work, and every
    write raises :class:`core.errors.StoreReadOnly` naming the path, why and what to do
    (:attr:`read_only`, :attr:`read_only_reason`). Opening runs ``PRAGMA quick_check``;
    when it fails (or a read later hits a bad page) the store is read-only too: reads of
    undamaged tables work, a read that hits damage raises
    :class:`core.errors.StoreDamaged`, and writes raise it with a recovery hint. A write
    that finds the disk full (SQLite's ``SQLITE_FULL``; ``ENOSPC`` writing the Parquet
    files) raises :class:`core.errors.DiskFull` and leaves nothing of itself behind.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if str(path) == ":memory:":
            raise StoreError(
                "the store needs a database file (it keeps Parquet files beside "
                "it); pass a path, not ':memory:'"
            )
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.files_dir = files_dir_of(self.path)
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _write() blocks in the thread holding the lock
        self._why_read_only: str | None = None  # why writes are refused (None: they are not)
        self._fix = ""  # what to do about it
        self._damaged = False
        self._checked = False  # passed PRAGMA quick_check (or is unchanged since it did)
        conn = self._connect()
        self.db = sqlite_utils.Database(conn)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._check_integrity()
            if not self.read_only:
                self.db.enable_wal()
            self._migrate()
            if not self.read_only:
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
        """Close the database connection.

        When the file passed ``PRAGMA quick_check`` at open, took no damage since and this
        was its last connection (no ``-wal`` frames left), its size, modification time and
        inode are recorded in the :data:`CHECKED_XATTR` extended attribute of the file, so
        that the next open need not read it through again while it is unchanged (a file
        system without user extended attributes just checks at every open).
        """
        self.db.close()
        if self._checked and not self.read_only and not _wal_in_use(self.path):
            signature = _signature(self.path)
            try:
                if signature is not None:
                    os.setxattr(self.path, CHECKED_XATTR, signature.encode())
            except (AttributeError, OSError):  # no xattrs here: the next open checks
                pass

    # ------------------------------------------------------------------ faults

    @property
    def read_only(self) -> bool:
        """Whether the store is open for reading only (see :attr:`read_only_reason`)."""
        return self._why_read_only is not None

    @property
    def damaged(self) -> bool:
        """Whether the database failed ``PRAGMA quick_check`` or a read hit a bad page."""
        return self._damaged

    @property
    def read_only_reason(self) -> str | None:
        """Why the store is read-only and what to do, in a sentence or two; ``None`` if not.

        E.g. ``"/srv/sw.db is open read-only: nobody may not write …; nothing can be saved.
        To make changes, …"``, or for a damaged file the ``quick_check`` finding and how to
        recover it (``slicewise recover --db DB --to NEW``, a backup, or sqlite3's ``.recover``).
        """
        if self._why_read_only is None:
            return None
        return f"{self.path} is open read-only: {self._why_read_only}. {self._fix}"

    @property
    def read_only_advice(self) -> str | None:
        """What to do about the store being read-only: the end of :attr:`read_only_reason`.

        Every :class:`StoreReadOnly` (:class:`StoreDamaged`) message ends with it too, so a
        page that already showed the reason can leave it out of later messages. ``None``
        when the store is writable.
        """
        return self._fix if self._why_read_only is not None else None

    def _refuse_if_read_only(self) -> None:
        """Raise :class:`StoreReadOnly` (:class:`StoreDamaged`) when writes are refused."""
        if self._why_read_only is not None:
            error = StoreDamaged if self._damaged else StoreReadOnly
            raise error(
                f"{self.path} is open read-only: {self._why_read_only}; nothing was "
                f"saved. {self._fix}"
            )

    def _read_only_because(self, why: str, fix: str) -> None:
        self._why_read_only, self._fix = why, fix

    def _copy_advice(self) -> str:
        return (
            f"or copy {self.path.name} and {self.files_dir.name}/ to a folder {_whoami()} "
            "can write and point --db or $SLICEWISE_DB at the copy"
        )

    def _recovery_hint(self) -> str:
        """Say how to recover a damaged database (the dataset files beside it are kept)."""
        db, files = self.path, self.files_dir
        bak = db.with_name(db.name + ".bak")
        new = db.with_name(f"{db.stem}-recovered{db.suffix}")
        q = shlex.quote
        return (
            f"To recover: copy every row that can still be read, and the datasets' "
            f"files, into a new store with slicewise recover --db {q(str(db))} --to "
            f"{q(str(new))} (it says what was lost and leaves {db.name} as it is), then "
            "restart Slicewise with --db or $SLICEWISE_DB pointing at the new store. "
            f"Or stop Slicewise, put the database and its datasets' files aside (cp -a "
            f"{q(str(db))} {q(str(bak))}; cp -a {q(str(files))} {q(str(files))}.bak) "
            f"and restore a backup of {db.name}, or copy what can still be read with sqlite3 "
            f'{q(str(bak))} ".recover" | sqlite3 {q(str(new))} (this needs an sqlite3 '
            "built with the dbpage extension; Debian's 3.40 lacks it and answers \"SQL "
            f'logic error"), check it (sqlite3 {q(str(new))} "PRAGMA integrity_check") '
            f"and put it in place (mv {q(str(new))} {q(str(db))})."
        )

    def _mark_damaged(self, detail: str) -> None:
        if not self._damaged:
            self._damaged = True
            self._read_only_because(f"it is damaged ({detail})", self._recovery_hint())

    def _fault(self, exc: sqlite3.DatabaseError) -> DataError | None:
        """Return the typed error of a fault of the file or the disk (``None``: not one).

        Installed on the connection (:class:`_Connection`), so it applies to every
        statement and fetch. A damaged page also makes the store read-only from then on.
        """
        code = _sqlite_code(exc)
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            self._mark_damaged(str(exc))
            return StoreDamaged(
                f"{self.path} is damaged ({exc}): this cannot be read from "
                f"it, and nothing can be saved to it. {self._fix}"
            )
        if code == _SQLITE_FULL:
            return _no_room(self.path, exc)
        if code == _SQLITE_READONLY:
            if self.read_only:
                return StoreReadOnly(
                    f"{self.path} is open read-only: {self._why_read_only}; "
                    f"nothing was saved. {self._fix}"
                )
            return StoreReadOnly(
                f"{self.path} cannot be written ({exc}): nothing was saved; "
                f"give {_whoami()} write access to it and its folder, "
                f"{self._copy_advice()}"
            )
        if code == _SQLITE_IOERR:
            return StoreError(
                f"reading or writing {self.path} failed ({exc}): a change that "
                "failed was not saved; check the disk holding it (its free "
                "space, the system log) and try again"
            )
        return None

    def _os_fault(self, exc: BaseException, where: Path) -> DataError | None:
        """Return the typed error of an OS error writing ``where``'s files (else ``None``)."""
        if not isinstance(exc, OSError):
            return None
        target = exc.filename or where
        if exc.errno in _NO_ROOM:
            return _no_room(target, exc)
        if exc.errno in _NOT_ALLOWED:
            return StoreReadOnly(
                f"cannot write {target} ({exc.strerror}): nothing was saved; "
                f"give {_whoami()} write access to it, {self._copy_advice()}"
            )
        return None

    def _raise_os_fault(self, exc: BaseException, where: Path) -> None:
        """Raise the typed error of a full or read-only disk (from ``exc``); else return."""
        fault = self._os_fault(exc, where)
        if fault is not None:
            raise fault from exc

    def _writable_dir(self, folder: Path) -> None:
        """Refuse when read-only, else create ``folder`` (typed errors for disk faults)."""
        self._refuse_if_read_only()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._raise_os_fault(exc, folder)
            raise

    def _not_writable(self) -> str | None:
        """Say why this process may not write the store; ``None`` when it may.

        Checked: the database file, its folder (SQLite creates ``-wal`` and ``-shm`` files
        there), those files when present and ``files_dir`` (the datasets' Parquet files);
        for a new store, the nearest existing folder. A read-only file system counts.
        """
        me = _whoami()
        name = self.path.name
        if self.path.exists():
            targets = [
                (self.path, "the file", ""),
                (
                    self.path.parent,
                    "its folder",
                    f" (SQLite keeps {name}-wal and {name}-shm there)",
                ),
            ]
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(name + suffix)
                if side.exists():
                    targets.append((side, "the file", ""))
            if self.files_dir.exists():
                targets.append((self.files_dir, "the folder of its datasets' files", ""))
        else:
            folder = self.path.parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            targets = [(folder, "the folder", "")]
        for target, what, note in targets:
            try:
                if os.statvfs(target).f_flag & os.ST_RDONLY:
                    return f"{target} is on a read-only file system"
            except (AttributeError, OSError):
                pass
            mode = os.W_OK | (os.X_OK if target.is_dir() else 0)
            effective = os.access in getattr(os, "supports_effective_ids", ())
            if not os.access(target, mode, effective_ids=effective):
                return f"{what} {target} is not writable by {me}{note}"
        return None

    def _connect(self) -> sqlite3.Connection:
        """Open the database read-write, or read-only when this process may not write it."""
        why = self._not_writable()
        if why is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False,
                    factory=_Connection,
                )
            except (OSError, sqlite3.Error) as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        elif not self.path.exists():
            raise StoreReadOnly(
                f"cannot create the database {self.path}: {why}; choose a "
                "folder this user may write with --db or $SLICEWISE_DB"
            )
        else:
            self._read_only_because(
                why,
                f"To make changes, give {_whoami()} write access to it (or run Slicewise "
                f"as the user owning {self.path.name}), {self._copy_advice()}.",
            )
            conn = self._connect_read_only()
        conn.fault = self._fault
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open the database for reading: SQLite ``mode=ro``, else ``immutable=1``.

        ``mode=ro`` needs the ``-shm`` file, which SQLite creates beside a database in WAL
        mode: in a folder this process may not write, it cannot, and the file is opened as
        ``immutable`` (no locking, no ``-wal``), which is right only while no ``-wal`` file
        holds changes a writer has not copied into the database yet; otherwise refused.
        """
        uri = self.path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for query in ("mode=ro", "immutable=1"):
            if query == "immutable=1" and _wal_in_use(self.path):
                raise StoreReadOnly(
                    f"cannot read {self.path}: {self._why_read_only}, and its latest changes "
                    f"are in {self.path.name}-wal, which SQLite reads only by writing "
                    f"{self.path.name}-shm beside it. {self._fix}"
                )
            try:
                conn = sqlite3.connect(
                    f"{uri}?{query}",
                    uri=True,
                    check_same_thread=False,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    factory=_Connection,
                )
            except sqlite3.Error as exc:
                last = exc
                continue
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                last = exc
                if _sqlite_code(exc) not in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
                    break
            except sqlite3.DatabaseError:  # damaged: the integrity check says how
                return conn
            else:
                return conn
        raise StoreError(
            f"cannot open the database {self.path} even for reading ({last}); "
            f"give {_whoami()} read access to it and its folder"
        )

    def _recorded_check(self) -> str | None:
        try:
            return os.getxattr(self.path, CHECKED_XATTR).decode()
        except (AttributeError, OSError, UnicodeDecodeError):
            return None

    def _check_integrity(self) -> None:
        """Run ``PRAGMA quick_check``; when it fails, open read-only with a recovery hint.

        The check reads every page (O(size of the database); the datasets' rows are in
        Parquet files, not in it). It is skipped when the file is exactly as a store left
        it after passing the check (:meth:`close`: same size, modification time and inode,
        and no ``-wal`` frames), so reopening an unchanged store costs nothing.

        Raises
        ------
        StoreDamaged
            The file is not an SQLite database at all (or its first page is damaged):
            nothing can be read.
        """
        signature = _signature(self.path)
        if (
            signature is not None
            and not _wal_in_use(self.path)
            and signature == self._recorded_check()
        ):
            self._checked = True
            return
        try:
            with self._lock:
                rows = self.db.conn.execute("PRAGMA quick_check").fetchall()
            problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        except StoreDamaged as exc:
            if _sqlite_code(exc.__cause__) == _SQLITE_NOTADB:
                raise StoreDamaged(
                    f"{self.path} is not a Slicewise database ({exc.__cause__}): it is another "
                    "kind of file, or its first page is damaged. Give the path of a Slicewise "
                    f"database with --db or $SLICEWISE_DB; if it was one: {self._fix}"
                ) from exc.__cause__
            problems = [str(exc.__cause__)]
        if not problems:
            self._checked = True
            return
        shown = "; ".join(problems[:2]) + (
            f" and {len(problems) - 2} more problems" if len(problems) > 2 else ""
        )
        self._damaged = False  # a read may have marked it: say what the check found
        self._mark_damaged(f"PRAGMA quick_check: {shown}")

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
            found = [
                p
                for p in self.files_dir.iterdir()
                if p.is_dir()
                and ((p.name.isdigit() and p.name not in owned) or p.name.startswith(".deleted-"))
            ]
            if annotations.is_dir():
                found += [
                    p
                    for p in annotations.iterdir()
                    if p.is_file() and p.name[:1].isdigit() and p.name not in sets
                ]
            for folder in (self.files_dir, annotations):
                if folder.is_dir():
                    found += [p for p in folder.glob(".staging-*") if _mtime(p) < stale]
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
        if self.read_only:  # an older schema cannot be upgraded: refuse (a newer one too)
            version = self.schema_version
            if version > target:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this "
                    f"Slicewise understands ({target}); upgrade Slicewise"
                )
            error = StoreDamaged if self._damaged else StoreReadOnly
            raise error(
                f"{self.path} has schema version {version} and this Slicewise needs "
                f"{target}: it cannot be upgraded while it is open read-only "
                f"({self._why_read_only}). {self._fix}"
            )
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
        """Run the block in one write transaction (a nested call joins the outer one).

        Refused on a read-only store (:class:`StoreReadOnly`, :class:`StoreDamaged`). A
        failure rolls everything back; a full disk raises :class:`DiskFull` (SQLite's
        ``SQLITE_FULL`` through the connection, ``ENOSPC`` from a file operation here).
        """
        with self._lock:
            conn = self.db.conn
            if self._depth:
                yield
                return
            if conn.in_transaction:  # left open by direct use of ``self.db``
                raise StoreError(
                    "a transaction opened outside the store is still open on "
                    f"{self.path}; commit or roll it back first"
                )
            self._refuse_if_read_only()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(
                    f"the database {self.path} is busy ({exc}); another user is writing, try again"
                ) from exc
            self._depth += 1
            try:
                yield
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except (sqlite3.Error, DataError):  # SQLite rolled back already
                        pass
                # a full disk or a read-only folder met while moving files: typed
                self._raise_os_fault(exc, self.files_dir)
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

    def _event(
        self,
        kind: str,
        *,
        user: str,
        at: str,
        project_id: int | None = None,
        dataset_id: int | None = None,
        **detail: Any,
    ) -> None:
        self.db["events"].insert(
            {
                "project_id": project_id,
                "dataset_id": dataset_id,
                "kind": kind,
                "detail": json.dumps(detail, default=str, ensure_ascii=False),
                "user": user,
                "at": at,
            }
        )

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

    def _tag_rows(self, project_id: int, dataset_id: int | None = None) -> list[dict[str, Any]]:
        """Return a project's tags in creation order, with their base and scope in a dataset.

        ``base_columns`` (a list) and ``scope`` are those of ``dataset_id``: ``[]`` and
        ``"none"`` where the dataset has no row in ``tag_bases`` (or none is given).
        """
        rows = self._rows(
            "SELECT t.*, b.base_columns AS base_columns, b.scope AS scope "
            "FROM tags t LEFT JOIN tag_bases b ON b.tag_id = t.id "
            "AND b.dataset_id = ? WHERE t.project_id = ? ORDER BY t.id",
            [dataset_id, project_id],
        )
        for row in rows:
            row["base_columns"] = json.loads(row["base_columns"] or "[]")
            row["scope"] = row["scope"] or "none"
        return rows

    def _tag_row(self, dataset: dict[str, Any], name: Any) -> dict[str, Any]:
        """Return the tag called ``name`` of a dataset's project (``dataset``: its row)."""
        rows = self._tag_rows(dataset["project_id"], dataset["id"])
        for row in rows:
            if row["name"] == name:
                return row
        names = [r["name"] for r in rows]
        known = f"its tags are {_few(names, 12)}" if names else "it has no tags"
        raise StoreError(f"dataset {dataset['id']} has no tag {name!r}; {known}")

    def _dir(self, dataset_id: int) -> Path:
        return self.files_dir / str(int(dataset_id))

    def _read_ids(self, dataset_id: int) -> pd.Series:
        frame = _read_parquet(self._dir(dataset_id) / FRAME_FILE, ["id"])
        return frame["id"].astype(str)

    def _locate_examples(
        self, dataset_id: int, frame_ids: pd.Series, wanted: pd.Index
    ) -> np.ndarray:
        pos = _locate(frame_ids, wanted)
        if (pos < 0).any():
            missing = list(wanted[pos < 0])
            raise StoreError(
                f"dataset {dataset_id} has no example with id {_few(missing)} "
                f"({len(missing)} of {len(wanted)} ids unknown)"
            )
        return pos

    def _current(
        self,
        dataset_id: int,
        tags: list[dict[str, Any]],
        frame_ids: pd.Series,
        positions: np.ndarray | None = None,
        *,
        overrides: bool = True,
    ) -> np.ndarray:
        """Return the current values of ``tags`` (base columns OR-ed, then hand values).

        ``tags`` are rows of :meth:`_tag_rows` for ``dataset_id``. A bool array with one
        column per tag and a row per example, or per ``positions`` when given;
        ``overrides=False`` gives the base values alone. Hand values are the project's,
        matched by example id (those of examples this dataset lacks are ignored).
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
                f"SELECT tag_id, example_id, value FROM tag_overrides "
                f"WHERE tag_id IN ({', '.join('?' * len(ids))})",
                ids,
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
            pid = (
                self.db["projects"]
                .insert({"name": name, "created_at": at, "created_by": user})
                .last_pk
            )
            self._event("project.create", user=user, at=at, project_id=pid, name=name)
            if self.roles_enforced():  # any user may create a project, and owns it
                self._put_member(
                    int(pid),
                    user,
                    access.OWNER,
                    user=user,
                    at=at,
                    previous=None,
                    why="created the project",
                )
            return int(pid)

    def list_projects(self, user: str | None = None) -> pd.DataFrame:
        """Return every project, or those ``user`` is a member of.

        Parameters
        ----------
        user
            Once roles are enforced (:meth:`roles_enforced`), only the projects this user
            has a role in (the name matched regardless of case, as every member lookup);
            ``None``, or a store without members, lists every project.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``name``, ``created_at``, ``created_by``, ordered by name.
        """
        cols = ["id", "name", "created_at", "created_by"]
        if user is None or not self.roles_enforced():
            return self._frame(
                "SELECT id, name, created_at, created_by FROM projects ORDER BY name", [], cols
            )
        ids = sorted({int(r["project_id"]) for r in self._member_rows(None, user)})
        return self._frame(
            "SELECT id, name, created_at, created_by FROM projects WHERE id IN "
            f"({', '.join('?' * len(ids))}) ORDER BY name",
            ids,
            cols,
        )

    # ------------------------------------------------------------------ members and roles

    def roles_enforced(self) -> bool:
        """Return whether writes check roles: once the store has a member or a sign-in.

        A store nobody signed in to and with no members (local single-user mode) is open:
        everyone may write, as an owner. It stops being open when the first user signs in
        (:meth:`sign_in`) or someone is given a role (:meth:`set_member`), for good.
        """
        with self._lock:
            if self.schema_version < _MEMBERS_SCHEMA:  # older code's schema: no members
                return False
            found = self.db.execute(
                "SELECT EXISTS (SELECT 1 FROM members) OR EXISTS (SELECT 1 FROM events "
                "WHERE kind = ?)",
                [FIRST_USER_EVENT],
            ).fetchone()
        return bool(found[0])

    def sign_in(self, user: str) -> str | None:
        """Record that a signed-in identity arrived: the store's first becomes owner.

        On an open store (:meth:`roles_enforced` is False), ``user`` becomes the owner of
        every project, and the store enforces roles from then on (also when it has no
        project yet: each project created after is owned by its creator). Otherwise, and
        on a read-only store, nothing is written. Call it whenever a signed-in identity
        arrives (each session).

        Parameters
        ----------
        user
            The signed-in identity (e.g. an e-mail address from the identity provider).

        Returns
        -------
        str or None
            What changed, e.g. ``"ana@example.org is the first user of this store and the
            owner of its 2 projects"``; ``None`` when nothing did.

        Raises
        ------
        StoreError
            A blank ``user``.
        """
        user = _clean_user(user)
        if self.roles_enforced() or self.read_only:
            # A read-only store cannot record a first owner; reading must still work.
            return None
        with self._write():
            if self.roles_enforced():  # another session signed in first
                return None
            names = self._claim_open_store(user, _now(), why="the first user who signed in")
        projects = (
            f"its {len(names)} project{'s' if len(names) != 1 else ''}"
            if names
            else "each project they create"
        )
        return f"{user} is the first user of this store and the owner of {projects}"

    def _claim_open_store(self, user: str, at: str, *, why: str) -> list[str]:
        """Make ``user`` owner of every project of an open store; return the projects' names.

        Runs inside a write transaction; records one ``member.set`` event per project and a
        :data:`FIRST_USER_EVENT`, which keeps roles enforced even with no project yet.
        """
        projects = self._rows("SELECT id, name FROM projects ORDER BY id")
        for p in projects:
            self._put_member(
                int(p["id"]), user, access.OWNER, user=user, at=at, previous=None, why=why
            )
        self._event(
            FIRST_USER_EVENT, user=user, at=at, why=why, projects=[p["name"] for p in projects]
        )
        return [str(p["name"]) for p in projects]

    def _put_member(
        self,
        project_id: int,
        member: str,
        role: str,
        *,
        user: str,
        at: str,
        previous: str | None,
        why: str = "",
    ) -> None:
        self.db.execute(
            "INSERT INTO members (project_id, member, role, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, member) DO UPDATE SET "
            "role = excluded.role, added_by = excluded.added_by, "
            "added_at = excluded.added_at",
            [project_id, member, role, user, at],
        )
        self._event(
            "member.set",
            user=user,
            at=at,
            project_id=project_id,
            member=member,
            role=role,
            previous=previous,
            **({"why": why} if why else {}),
        )

    def _member_rows(self, project_id: int | None, member: str) -> list[dict[str, Any]]:
        """Return ``member``'s rows (``project_id``, ``member``, ``role``) in a project or all.

        Names match regardless of case (:func:`_member_key`); a row spelled exactly as
        ``member`` comes first (a store written before may hold two spellings).
        """
        key, given = _member_key(member), str(member).strip()
        where, params = (
            ("WHERE project_id = ?", [project_id]) if project_id is not None else ("", [])
        )
        rows = [
            r
            for r in self._rows(
                f"SELECT project_id, member, role FROM members {where} ORDER BY added_at", params
            )
            if _member_key(r["member"]) == key
        ]
        return sorted(rows, key=lambda r: r["member"] != given)

    def _member_role(self, project_id: int, member: str | None) -> str | None:
        if member is None:
            return None
        rows = self._member_rows(project_id, member)
        return rows[0]["role"] if rows else None

    def _stored_member(self, project_id: int, member: str) -> str:
        """Return the name ``member`` is stored under in the project (else ``member``)."""
        rows = self._member_rows(project_id, member)
        return str(rows[0]["member"]) if rows else member

    def role(self, project_id: int, user: str | None) -> str | None:
        """Return ``user``'s role in a project (one of :data:`core.access.ROLES`).

        Parameters
        ----------
        project_id
            The project.
        user
            Who asks (``None``: nobody signed in).

        Returns
        -------
        str or None
            ``"owner"`` for everyone while the store is open (:meth:`roles_enforced` is
            False); once roles are enforced, the member's role, or ``None`` for someone who
            is not a member (or ``None`` as ``user``).

        Raises
        ------
        StoreError
            Unknown project.
        """
        pid = self._project_row(project_id)["id"]
        if not self.roles_enforced():
            return access.OWNER
        return self._member_role(pid, user)

    def _require(self, project_id: int, user: str | None, action: str) -> None:
        """Refuse ``action`` (a :data:`core.access.ACTIONS` key) unless the role allows it.

        Called first thing inside the write's transaction, so a refused write changes
        nothing.

        Raises
        ------
        PermissionDenied
            Roles are enforced and ``user``'s role in the project is below what
            ``action`` needs (or they are not a member).
        """
        if not self.roles_enforced():
            return
        role = self._member_role(project_id, user)
        if access.allows(role, access.needed(action)):
            return
        project = self._project_row(project_id)
        owners = [
            r["member"]
            for r in self._rows(
                "SELECT member FROM members WHERE project_id = ? AND role = ? ORDER BY added_at",
                [project["id"], access.OWNER],
            )
        ]
        raise PermissionDenied(
            access.refusal(action, user=user, role=role, project=project["name"], owners=owners)
        )

    def set_member(self, project_id: int, member: str, role: str, *, user: str) -> None:
        """Give ``member`` a role in a project (adding them, or changing their role).

        Needs owner. On an open store, ``user`` first becomes the owner of every project
        (as the first user who signs in would), so the store never locks everyone out.

        Parameters
        ----------
        project_id
            The project.
        member
            The identity to give the role (as they sign in, e.g. an e-mail address).
        role
            ``"viewer"``, ``"annotator"`` or ``"owner"`` (case ignored).
        user
            Who gives it (an owner of the project).

        Raises
        ------
        PermissionDenied
            ``user`` is not an owner of the project.
        InvalidValueError
            ``role`` is not a role.
        StoreError
            Unknown project, a blank member, or the change would leave the project without
            an owner (the last owner cannot be demoted).
        """
        member = _clean_name(member, "member", limit=MAX_IDENTITY_LENGTH)
        role = access.check_role(role)
        user = _clean_user(user)
        with self._write():
            project = self._project_row(project_id)
            pid = project["id"]
            at = _now()
            if not self.roles_enforced():
                self._claim_open_store(user, at, why="the first user who managed members")
            self._require(pid, user, "set_member")
            member = self._stored_member(pid, member)  # "OLIVIA" changes olivia's role
            previous = self._member_role(pid, member)
            if previous == role:
                return
            if previous == access.OWNER:
                self._check_other_owner(project, member)
            self._put_member(pid, member, role, user=user, at=at, previous=previous)

    def remove_member(self, project_id: int, member: str, *, user: str) -> None:
        """Take ``member``'s role in a project away. Needs owner.

        Raises
        ------
        PermissionDenied
            ``user`` is not an owner of the project.
        StoreError
            Unknown project, ``member`` is not a member, or they are its last owner.
        """
        member = _clean_name(member, "member", limit=MAX_IDENTITY_LENGTH)
        user = _clean_user(user)
        with self._write():
            project = self._project_row(project_id)
            pid = project["id"]
            self._require(pid, user, "remove_member")
            member = self._stored_member(pid, member)
            previous = self._member_role(pid, member)
            if previous is None:
                known = [
                    r["member"]
                    for r in self._rows(
                        "SELECT member FROM members WHERE project_id = ? ORDER BY member", [pid]
                    )
                ]
                raise StoreError(
                    f"{member!r} is not a member of project {project['name']!r}; "
                    f"its members are {_few(known, 12) or 'none'}"
                )
            if previous == access.OWNER:
                self._check_other_owner(project, member)
            self.db.execute(
                "DELETE FROM members WHERE project_id = ? AND member = ?", [pid, member]
            )
            self._event(
                "member.remove",
                user=user,
                at=_now(),
                project_id=pid,
                member=member,
                previous=previous,
            )

    def _check_other_owner(self, project: dict[str, Any], member: str) -> None:
        others = [
            r
            for r in self._rows(
                "SELECT member FROM members WHERE project_id = ? AND role = ?",
                [project["id"], access.OWNER],
            )
            if _member_key(r["member"]) != _member_key(member)
        ]
        if not others:
            raise StoreError(
                f"{member} is the last owner of project {project['name']!r}, "
                "which must keep one: make someone else an owner first"
            )

    def members(self, project_id: int) -> pd.DataFrame:
        """Return a project's members, owners first, then annotators, then viewers.

        Parameters
        ----------
        project_id
            The project.

        Returns
        -------
        pandas.DataFrame
            Columns ``member``, ``role`` (:data:`core.access.ROLES`), ``added_by`` and
            ``added_at`` (who gave the current role, UTC ISO-8601); by role, then member.
            Empty on an open store.

        Raises
        ------
        StoreError
            Unknown project.
        """
        pid = self._project_row(project_id)["id"]
        cols = ["member", "role", "added_by", "added_at"]
        return self._frame(
            "SELECT member, role, added_by, added_at FROM members "
            "WHERE project_id = ? ORDER BY CASE role WHEN 'owner' THEN 0 "
            "WHEN 'annotator' THEN 1 ELSE 2 END, member",
            [pid],
            cols,
        )

    # ------------------------------------------------------------------ datasets

    def save_dataset(
        self,
        project_id: int,
        name: str,
        dataset: Dataset,
        *,
        task: TaskSpec,
        user: str,
        tag_scopes: Mapping[str, str] | None = None,
    ) -> int:
        """Store a validated dataset and its tags; return the new dataset id.

        The frame and tags are written to Parquet in a staging folder, which is renamed to
        ``files_dir/<id>`` inside the transaction that adds the database rows, so either
        both the rows and the files exist or neither does. Each tag column seeds the
        project's tag of the same name (created, after the existing ones, when the project
        has none) for this dataset only; the project's other tags are listed too, with no
        base values here (only their hand values apply).

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
        tag_scopes
            ``{tag column: scope}`` for columns not filled on every example: ``"errors"``
            when the file's column was filled on the model's errors only, ``"none"`` when
            it says nothing beyond the examples it tags. Columns left out get ``"auto"``:
            the analysis decides from the data as ``slicewise analyze`` does
            (:func:`core.tag_scope.infer_row_scopes`; see :meth:`tag_scopes`).

        Returns
        -------
        int
            The dataset id.

        Raises
        ------
        StoreError
            Unknown project, a name already used in the project, a frame that cannot be
            stored (duplicate ids, non-text column names, mixed-type columns), or a
            ``tag_scopes`` entry naming no tag column or an unknown scope.
        """
        name = _clean_name(name, "dataset name")
        user = _clean_user(user)
        if not isinstance(dataset, Dataset):
            raise StoreError(f"save_dataset needs a core.dataset.Dataset, got {type(dataset)}")
        if not isinstance(task, TaskSpec):
            raise StoreError(f"save_dataset needs a core.task.TaskSpec, got {type(task)}")
        project = self._project_row(project_id)
        # Both again inside the transaction: refused before any file is written.
        self._require(project["id"], user, "save_dataset")
        self._check_free_name(project["id"], name)
        frame = dataset.frame.reset_index(drop=True)
        tags = dataset.tags.reset_index(drop=True)
        self._check_dataset(name, frame, tags)
        scopes = _check_file_scopes(name, tags.columns, tag_scopes)

        self._writable_dir(self.files_dir)
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
                self._require(project["id"], user, "save_dataset")
                self._check_free_name(project["id"], name)
                at = _now()
                did = int(
                    self.db["datasets"]
                    .insert(
                        {
                            "project_id": project["id"],
                            "name": name,
                            "source_name": dataset.source_name,
                            "content_hash": dataset.content_hash,
                            "row_count": len(frame),
                            "task_kind": task.kind,
                            "mapping": json.dumps(dataset.mapping.to_dict()),
                            "task": _task_to_json(task),
                            "warnings": json.dumps(list(dataset.warnings)),
                            "created_at": at,
                            "created_by": user,
                            "updated_at": at,
                            "updated_by": user,
                        }
                    )
                    .last_pk
                )
                new_tags = self._seed_tags(project["id"], did, scopes, user=user, at=at)
                target = self._dir(did)
                if target.exists():  # left by a save that crashed before committing
                    shutil.rmtree(target)
                os.replace(staging, target)
                final = target
                self._event(
                    "dataset.save",
                    user=user,
                    at=at,
                    project_id=project["id"],
                    dataset_id=did,
                    name=name,
                    source_name=dataset.source_name,
                    row_count=len(frame),
                    tags=list(tags.columns),
                    new_tags=new_tags,
                    **({"tag_scopes": scopes} if set(scopes.values()) - {"all", "auto"} else {}),
                )
            return did
        except BaseException as exc:
            shutil.rmtree(final if final is not None else staging, ignore_errors=True)
            self._raise_os_fault(exc, self.files_dir)  # a full disk: DiskFull
            raise

    def _seed_tags(
        self, project_id: int, dataset_id: int, scopes: dict[str, str], *, user: str, at: str
    ) -> list[str]:
        """Let each tag column seed its project tag in a new dataset; return the new tags."""
        existing = {
            r["name"]: r["id"]
            for r in self._rows("SELECT id, name FROM tags WHERE project_id = ?", [project_id])
        }
        created = []
        for column, scope in scopes.items():
            tag_id = existing.get(column)
            if tag_id is None:
                tag_id = (
                    self.db["tags"]
                    .insert(
                        {
                            "project_id": project_id,
                            "name": column,
                            "created_at": at,
                            "created_by": user,
                            "updated_at": at,
                            "updated_by": user,
                        }
                    )
                    .last_pk
                )
                created.append(column)
            self.db.execute(
                "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) "
                "VALUES (?, ?, ?, ?)",
                [tag_id, dataset_id, json.dumps([column]), scope],
            )
        return created

    def _check_dataset(self, name: str, frame: pd.DataFrame, tags: pd.DataFrame) -> None:
        for what, cols in (("frame", frame.columns), ("tags", tags.columns)):
            bad = [c for c in cols if not isinstance(c, str)]
            if bad:
                raise StoreError(
                    f"dataset {name!r}: {what} column names must be text; {_few(bad)} are not"
                )
            if cols.duplicated().any():
                raise StoreError(
                    f"dataset {name!r}: {what} repeats the column name(s) "
                    f"{_few(cols[cols.duplicated()].unique())}"
                )
        for col in ("id", "label"):
            if col not in frame.columns:
                raise StoreError(f"dataset {name!r}: the frame has no {col!r} column")
        if len(tags) != len(frame):
            raise StoreError(
                f"dataset {name!r}: tags have {len(tags)} rows but the frame has {len(frame)}"
            )
        not_bool = [c for c in tags.columns if not pd.api.types.is_bool_dtype(tags[c])]
        if not_bool:
            raise StoreError(
                f"dataset {name!r}: tag columns must be boolean; {_few(not_bool)} are not"
            )
        blank = [c for c in tags.columns if not c.strip() or c != c.strip()]
        if blank:
            raise StoreError(
                f"dataset {name!r}: tag names must be non-blank without "
                f"surrounding spaces: {_few(blank)}"
            )
        ids = frame["id"].astype(str)
        dup = ids.duplicated()
        if dup.any():
            raise StoreError(
                f"dataset {name!r}: example ids must be unique as text; "
                f"{_few(ids[dup].unique())} repeat"
            )

    def _check_free_name(
        self, project_id: int, name: str, *, ignore: int | None = None, table: str = "datasets"
    ) -> None:
        """Raise when ``table`` (datasets or annotation sets) has ``name`` in the project."""
        rows = self._rows(
            f"SELECT id FROM {table} WHERE project_id = ? AND name = ?", [project_id, name]
        )
        if rows and rows[0]["id"] != ignore:
            what = "a dataset" if table == "datasets" else "an annotation set"
            raise StoreError(
                f"project {project_id} already has {what} named {name!r} "
                f"(id {rows[0]['id']}); choose another name"
            )

    def _list_in_project(self, table: str, cols: list[str], project_id: int | None) -> pd.DataFrame:
        """Return ``cols`` of ``table``'s rows (of one project, or all), newest first."""
        where, params = "", []
        if project_id is not None:
            where, params = "WHERE project_id = ?", [self._project_row(project_id)["id"]]
        return self._frame(
            f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY created_at DESC, id DESC",
            params,
            cols,
        )

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
        cols = [
            "id",
            "project_id",
            "name",
            "source_name",
            "content_hash",
            "row_count",
            "task_kind",
            "created_at",
            "created_by",
        ]
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

        The frame is read back with its dtypes; ``label`` carries the project's active label
        corrections of its examples (originals stay in :meth:`corrections`); ``tags`` is
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
            tags = self._tag_matrix(info, frame_ids)
            fixes, pos = self._active_corrections(info, frame_ids)
        if fixes:
            labels = frame["label"].copy()
            # A correction made on another dataset of the project takes this one's spelling.
            values = pd.array(
                [
                    f["corrected"]
                    if f["dataset_id"] == did
                    else _coerce_label(f["corrected"], labels, did)
                    for f in fixes
                ],
                dtype=labels.dtype,
            )
            labels.iloc[pos] = values
            frame["label"] = labels
        return Dataset(
            frame=frame,
            tags=tags,
            mapping=info["mapping"],
            source_name=info["source_name"],
            content_hash=info["content_hash"],
            warnings=info["warnings"],
        )

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
            self._require(row["project_id"], user, "rename_dataset")
            if row["name"] == new_name:
                return
            self._check_free_name(row["project_id"], new_name, ignore=row["id"])
            at = _now()
            self.db.execute(
                "UPDATE datasets SET name = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                [new_name, at, user, row["id"]],
            )
            self._event(
                "dataset.rename",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                old=row["name"],
                new=new_name,
            )

    def delete_dataset(self, dataset_id: int, *, user: str) -> None:
        """Delete a dataset: its rows (tag bases and scopes, review samples, reports) and files.

        What belongs to the project stays: its tags and their settings, hand values, label
        corrections and reviewed examples, and the events about the dataset.

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
            self._require(row["project_id"], user, "delete_dataset")
            did = row["id"]
            for table in ("tag_bases", "review_samples", "reports"):
                self.db.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [did])
            self.db.execute("DELETE FROM datasets WHERE id = ?", [did])
            self._event(
                "dataset.delete",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=did,
                name=row["name"],
            )
        # The files go once the rows are gone for good: a crash before this leaves files no
        # row owns (removed by the next Store()), never a row without its files.
        trash = self.files_dir / f".deleted-{uuid.uuid4().hex}"
        try:
            os.replace(self._dir(did), trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ tags
    #
    # A tag belongs to a project; every dataset of the project lists it. Its value on an
    # example of dataset d is the example's hand value (tag_overrides, keyed by example id,
    # shared by every dataset of the project) if a person set one, else the OR of the
    # tags.parquet columns seeding it in d (tag_bases; none: False).

    def list_tags(self, dataset_id: int) -> pd.DataFrame:
        """Return the tags of a dataset's project in creation order with their settings.

        Parameters
        ----------
        dataset_id
            The dataset (every dataset of a project lists the same tags).

        Returns
        -------
        pandas.DataFrame
            Columns ``name``, ``hlp`` (float, NaN when unset), ``importance`` and ``ease``
            (nullable Int64), ``created_by``, ``created_at``, ``updated_by``, ``updated_at``.
        """
        pid = self._dataset_row(dataset_id)["project_id"]
        cols = [
            "name",
            "hlp",
            "importance",
            "ease",
            "created_by",
            "created_at",
            "updated_by",
            "updated_at",
        ]
        out = self._frame(
            f"SELECT {', '.join(cols)} FROM tags WHERE project_id = ? ORDER BY id", [pid], cols
        )
        out["hlp"] = out["hlp"].astype(float)
        out["importance"] = out["importance"].astype("Int64")
        out["ease"] = out["ease"].astype("Int64")
        return out

    def create_tag(self, dataset_id: int, name: str, *, user: str) -> None:
        """Add an empty tag to the dataset's project (no example carries it yet), last.

        Parameters
        ----------
        dataset_id
            A dataset of the project.
        name
            The tag name, unique within the project.
        user
            Who creates it.
        """
        name = _clean_name(name, "tag name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "create_tag")
            self._check_free_tag(row["project_id"], name)
            at = _now()
            self.db["tags"].insert(
                {
                    "project_id": row["project_id"],
                    "name": name,
                    "created_at": at,
                    "created_by": user,
                    "updated_at": at,
                    "updated_by": user,
                }
            )
            self._event(
                "tag.create",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                tag=name,
            )

    def _check_free_tag(self, project_id: int, name: str) -> None:
        if self._rows("SELECT 1 FROM tags WHERE project_id = ? AND name = ?", [project_id, name]):
            raise StoreError(f"project {project_id} already has a tag named {name!r}")

    def rename_tag(self, dataset_id: int, old: str, new: str, *, user: str) -> None:
        """Rename a tag of the dataset's project, keeping its examples, settings and position.

        Parameters
        ----------
        dataset_id
            A dataset of the project.
        old, new
            Current and new name; ``new`` must not be taken in the project.
        user
            Who renames it.
        """
        new = _clean_name(new, "tag name")
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "rename_tag")
            tag = self._tag_row(row, old)
            if new == old:
                return
            self._check_free_tag(row["project_id"], new)
            at = _now()
            self.db.execute(
                "UPDATE tags SET name = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                [new, at, user, tag["id"]],
            )
            self._event(
                "tag.rename",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                old=old,
                new=new,
            )

    def merge_tags(
        self, dataset_id: int, sources: Sequence[str], target: str, *, user: str
    ) -> None:
        """Merge tags of the dataset's project: ``target`` becomes the union of ``sources``.

        The sources are removed. ``target`` may be one of the sources (it keeps its
        position and settings) or a new name (added last, without settings). If ``target``
        is an existing tag not listed in ``sources``, its own examples are kept in the union
        (merge *into* it). In every dataset the merged tag is seeded by all the sources'
        columns, with the narrowest of their scopes (``none`` < ``errors`` < ``all``); an
        example with hand values keeps one holding the union. Rare case: an example whose
        only hand values say False, on sources whose other file columns give it different
        values in different datasets, keeps no hand value (its file values decide).

        Parameters
        ----------
        dataset_id
            A dataset of the project.
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
            did, pid = row["id"], row["project_id"]
            self._require(pid, user, "merge_tags")
            by_name = {t["name"]: t for t in self._tag_rows(pid, did)}
            missing = [s for s in sources if s not in by_name]
            if missing:
                raise StoreError(
                    f"dataset {did} has no tag {_few(missing)}; its tags are "
                    f"{_few(list(by_name), 12) or 'none'}"
                )
            involved = [by_name[s] for s in sources]
            keep = by_name.get(target)
            if keep is not None and keep not in involved:
                involved.append(keep)
            if keep is not None and len(involved) == 1:
                return  # merging a tag into itself
            ids = [t["id"] for t in involved]
            marks = ", ".join("?" * len(ids))
            bases: dict[int, dict[int, dict[str, Any]]] = {}  # dataset -> tag -> base row
            for b in self._rows(
                f"SELECT tag_id, dataset_id, base_columns, scope FROM "
                f"tag_bases WHERE tag_id IN ({marks})",
                ids,
            ):
                b["base_columns"] = json.loads(b["base_columns"])
                bases.setdefault(b["dataset_id"], {})[b["tag_id"]] = b
            hand = self._rows(
                f"SELECT tag_id, example_id, value FROM tag_overrides WHERE tag_id IN ({marks})",
                ids,
            )
            merged = self._merged_hand_values(pid, ids, bases, hand)
            rank = {s: i for i, s in enumerate(("none", "errors", "auto", "all"))}
            new_bases = []
            for d, per_tag in bases.items():
                columns = list(
                    dict.fromkeys(
                        c for t in ids for c in per_tag.get(t, {}).get("base_columns", [])
                    )
                )
                scope = min(
                    (per_tag[t]["scope"] if t in per_tag else "none" for t in ids),
                    key=rank.__getitem__,
                )
                new_bases.append((d, json.dumps(columns), scope))
            at = _now()
            self.db.execute(f"DELETE FROM tag_overrides WHERE tag_id IN ({marks})", ids)
            self.db.execute(f"DELETE FROM tag_bases WHERE tag_id IN ({marks})", ids)
            removed = [t for t in involved if t is not keep]
            for t in removed:
                self.db.execute("DELETE FROM tags WHERE id = ?", [t["id"]])
            if keep is not None:
                target_id = keep["id"]
                self.db.execute(
                    "UPDATE tags SET updated_at = ?, updated_by = ? WHERE id = ?",
                    [at, user, target_id],
                )
            else:
                target_id = (
                    self.db["tags"]
                    .insert(
                        {
                            "project_id": pid,
                            "name": target,
                            "created_at": at,
                            "created_by": user,
                            "updated_at": at,
                            "updated_by": user,
                        }
                    )
                    .last_pk
                )
            self.db.conn.executemany(
                "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) "
                "VALUES (?, ?, ?, ?)",
                [(target_id, d, c, sc) for d, c, sc in new_bases],
            )
            self.db.conn.executemany(
                'INSERT INTO tag_overrides (tag_id, example_id, value, "user", at) '
                "VALUES (?, ?, ?, ?, ?)",
                [(target_id, e, int(v), user, at) for e, v in merged.items()],
            )
            self._event(
                "tag.merge",
                user=user,
                at=at,
                project_id=pid,
                dataset_id=did,
                sources=sources,
                target=target,
                removed=[t["name"] for t in removed],
            )

    def _merged_hand_values(
        self,
        project_id: int,
        tag_ids: list[int],
        bases: dict[int, dict[int, dict[str, Any]]],
        hand: list[dict[str, Any]],
    ) -> dict[str, bool]:
        """Return the merged tag's hand values: the union, where it is the same everywhere.

        An example with a True hand value on any source is True. One whose hand values are
        all False is False when every source has one; otherwise its union is the OR of the
        other sources' base values, read in every dataset of the project holding it, and
        kept only when those datasets agree.
        """
        by_example: dict[str, dict[int, bool]] = {}
        for h in hand:
            by_example.setdefault(h["example_id"], {})[h["tag_id"]] = bool(h["value"])
        out: dict[str, bool] = {}
        open_ids = []
        for example, values in by_example.items():
            if any(values.values()):
                out[example] = True
            elif len(values) == len(tag_ids):
                out[example] = False
            else:
                open_ids.append(example)
        if not open_ids:
            return out
        seen: dict[str, set[bool]] = {e: set() for e in open_ids}
        for d in [
            int(r["id"])
            for r in self._rows("SELECT id FROM datasets WHERE project_id = ?", [project_id])
        ]:
            frame_ids = self._read_ids(d)
            pos = _locate(frame_ids, open_ids)
            here = np.flatnonzero(pos >= 0)
            if not len(here):
                continue
            per_tag = bases.get(d, {})
            columns = list(dict.fromkeys(c for b in per_tag.values() for c in b["base_columns"]))
            base = (
                _read_parquet(self._dir(d) / TAGS_FILE, columns)
                if columns
                else pd.DataFrame(index=pd.RangeIndex(len(frame_ids)))
            )
            for i in here:
                example = open_ids[i]
                union = any(
                    bool(base[c].iloc[pos[i]])
                    for t in tag_ids
                    if t not in by_example[example]
                    for c in per_tag.get(t, {}).get("base_columns", [])
                )
                seen[example].add(union)
        for example, values in seen.items():
            if len(values) <= 1:
                out[example] = values.pop() if values else False
        return out

    def delete_tag(self, dataset_id: int, name: str, *, user: str) -> None:
        """Delete a tag of the dataset's project with its hand values, bases and settings.

        Parameters
        ----------
        dataset_id
            A dataset of the project.
        name
            The tag.
        user
            Who deletes it.
        """
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "delete_tag")
            tag = self._tag_row(row, name)
            for table in ("tag_overrides", "tag_bases"):
                self.db.execute(f"DELETE FROM {table} WHERE tag_id = ?", [tag["id"]])
            self.db.execute("DELETE FROM tags WHERE id = ?", [tag["id"]])
            self._event(
                "tag.delete",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=row["id"],
                tag=name,
            )

    def set_tag(
        self, dataset_id: int, example_ids: Sequence, tag: str, value: bool, *, user: str
    ) -> int:
        """Tag or untag examples by hand, in one transaction.

        The value is recorded as the examples' hand value, which applies to every dataset
        of the project holding them, and counts them as reviewed for the tag
        (:meth:`reviewed_matrix`). It is recorded even where the dataset's file already
        gave that value (the other datasets may not), but not again where the same hand
        value is already recorded. :meth:`undo_last` reverts it.

        Parameters
        ----------
        dataset_id
            The dataset the ids are checked against.
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
            How many examples of this dataset changed value (0 when none did, even if a
            hand value confirming a file value was recorded).

        Raises
        ------
        StoreError
            Unknown dataset or tag, a non-boolean value, or ids not in the dataset (the
            message names a few).
        """
        return self._set_hand_values(dataset_id, example_ids, tag, value, user=user)

    def apply_tag_rule(
        self,
        dataset_id: int,
        example_ids: Sequence,
        tag: str,
        value: bool,
        *,
        scope: str,
        user: str,
        rule: str = "",
    ) -> int:
        """Apply a rule's result: :meth:`set_tag` and :meth:`set_tag_scope` in one change.

        One transaction and one step of :meth:`undo_last` (which restores both the hand
        values and the scope).

        Parameters
        ----------
        dataset_id, example_ids, tag, value, user
            As for :meth:`set_tag`: ``example_ids`` are the examples the rule matched.
        scope
            Where the rule looked: ``"all"`` (every example), ``"errors"`` (the model's
            errors only) or ``"none"``. The tag's scope in this dataset becomes the wider
            of this and its scope before (a rule over errors does not make a tag known
            everywhere a tag known only on errors).
        rule
            The rule as text, for the event log (e.g. ``"device == car_kit"``).

        Returns
        -------
        int
            How many examples of this dataset changed value.

        Raises
        ------
        StoreError
            As :meth:`set_tag`, or an unknown scope.
        """
        scope = _check_scope(scope, f"tag {tag!r}")
        if not isinstance(rule, str):
            raise StoreError(f"a rule must be given as text, got {rule!r}")
        return self._set_hand_values(
            dataset_id, example_ids, tag, value, user=user, scope=scope, rule=rule.strip()
        )

    def _set_hand_values(
        self,
        dataset_id: int,
        example_ids: Any,
        tag: str,
        value: Any,
        *,
        user: str,
        scope: str | None = None,
        rule: str = "",
    ) -> int:
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
            pid = row["project_id"]
            self._require(pid, user, "set_tag" if scope is None else "apply_tag_rule")
            tag_row = self._tag_row(row, tag)
            scope_before = tag_row["scope"]
            if scope is not None:  # a rule widens where the tag is known, never narrows it
                order = ("none", "errors", "auto", "all")
                scope = max(scope, scope_before, key=order.index)
            new_scope = scope is not None and scope != scope_before
            if not len(wanted) and not new_scope:
                return 0
            ids = np.asarray(wanted, dtype=object)
            found_ids, found_values, found_users, found_ats = self._hand_values_of(
                tag_row["id"], ids
            )
            where = _locate(pd.Series(found_ids, dtype=object), ids)
            has = where >= 0
            before = np.full(len(ids), -1, dtype=np.int8)
            before[has] = found_values[where[has]]
            base = self._current(did, [tag_row], frame_ids, pos, overrides=False)[:, 0]
            current = np.where(has, before == 1, base)
            changed = current != value
            write = before != int(value)
            n_changed, n_write = int(changed.sum()), int(write.sum())
            if not n_write and not new_scope:
                return 0
            at = _now()
            # One statement over a JSON array: much faster than a row-by-row executemany.
            self.db.execute(
                'INSERT INTO tag_overrides (tag_id, example_id, value, "user", at, by_rule) '
                "SELECT ?, j.value, ?, ?, ?, ? FROM json_each(?) AS j WHERE true "
                "ON CONFLICT (tag_id, example_id) DO UPDATE SET value = excluded.value, "
                '"user" = excluded."user", at = excluded.at, by_rule = excluded.by_rule',
                [
                    tag_row["id"],
                    int(value),
                    user,
                    at,
                    int(scope is not None),
                    json.dumps(ids[write].tolist(), ensure_ascii=False),
                ],
            )
            self.db.execute(
                "UPDATE tags SET updated_at = ?, updated_by = ? WHERE id = ?",
                [at, user, tag_row["id"]],
            )
            taken = np.where(has, where, 0)[write]
            had = has[write]
            rows = _to_ipc(
                {
                    "example_id": pa.array(ids[write], type=pa.string()),
                    "value": pa.array(before[write], type=pa.int8()),
                    "user": pa.array(
                        np.where(had, found_users[taken] if len(found_ids) else None, None),
                        type=pa.string(),
                        from_pandas=True,
                    ),
                    "at": pa.array(
                        np.where(had, found_ats[taken] if len(found_ids) else None, None),
                        type=pa.string(),
                        from_pandas=True,
                    ),
                }
            )
            previous: dict[str, Any] = {"value": int(value)}
            verb = "tagged" if value else "untagged"
            what = f"{verb} {n_write:,} example{'s' if n_write != 1 else ''} as {tag!r}"
            detail: dict[str, Any] = {
                "tag": tag,
                "value": value,
                "changed": n_changed,
                "example_ids": list(ids[changed][:20]),
            }
            if n_write != n_changed:
                detail["recorded"] = n_write
            kind = "tag.set"
            if scope is not None:
                self._set_scope(row, tag_row, scope)
                previous["scope"] = {"dataset_id": did, "before": scope_before, "after": scope}
                what = (
                    f"rule {rule!r}: {what} (scope {scope})"
                    if rule
                    else f"rule: {what} (scope {scope})"
                )
                detail.update(scope=scope, rule=rule)
                kind = "tag.rule"
            self._log_change(row, kind, tag_row["id"], what, previous, rows, user=user, at=at)
            self._event(kind, user=user, at=at, project_id=pid, dataset_id=did, **detail)
            return n_changed

    def _hand_values_of(self, tag_id: int, ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Return the stored hand values of a tag among ``ids``: ids, values, users, ats.

        Many ids: the tag's every hand value is read (one index range); few: each is looked
        up.
        """
        if len(ids) > 1000:
            sql, params = (
                'SELECT example_id, value, "user", at FROM tag_overrides WHERE tag_id = ?',
                [tag_id],
            )
        else:
            sql = (
                'SELECT o.example_id, o.value, o."user", o.at FROM json_each(?) AS j '
                "CROSS JOIN tag_overrides AS o ON o.tag_id = ? AND o.example_id = j.value"
            )
            params = [json.dumps(ids.tolist(), ensure_ascii=False), tag_id]
        with self._lock:
            found = self.db.execute(sql, params).fetchall()
        if not found:
            empty = np.empty(0, dtype=object)
            return empty, np.empty(0, dtype=np.int8), empty, empty
        example_ids, values, users, ats = (
            np.asarray(c, dtype=object) for c in zip(*found, strict=True)
        )
        return example_ids, values.astype(np.int8), users, ats

    def tag_matrix(self, dataset_id: int) -> pd.DataFrame:
        """Return the current tags as a boolean table aligned with the frame's rows.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            One bool column per tag of the project, in creation order; RangeIndex like the
            frame.
        """
        with self._read():
            row = self._dataset_row(dataset_id)
            return self._tag_matrix(row, self._read_ids(row["id"]))

    def _tag_matrix(self, dataset: dict[str, Any], frame_ids: pd.Series) -> pd.DataFrame:
        tags = self._tag_rows(dataset["project_id"], dataset["id"])
        values = self._current(dataset["id"], tags, frame_ids)
        names = [t["name"] for t in tags]
        if not names:
            return pd.DataFrame(index=pd.RangeIndex(len(frame_ids)))
        return pd.DataFrame(values, columns=pd.Index(names))

    def set_tag_settings(
        self,
        dataset_id: int,
        tag: str,
        *,
        user: str,
        hlp: float | None = None,
        importance: int | None = None,
        ease: int | None = None,
        clear_hlp: bool = False,
        clear_importance: bool = False,
        clear_ease: bool = False,
    ) -> None:
        """Set a tag's human-level performance, importance and ease (for the whole project).

        Parameters
        ----------
        dataset_id
            A dataset of the project.
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
        for name, value, clear in (
            ("hlp", hlp, clear_hlp),
            ("importance", importance, clear_importance),
            ("ease", ease, clear_ease),
        ):
            if clear and value is not None:
                raise StoreError(f"give either a new {name} or clear_{name}=True, not both")
            if clear:
                changes[name] = None
            elif value is not None:
                changes[name] = _check_setting(name, value)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "set_tag_settings")
            tag_row = self._tag_row(row, tag)
            if not changes:
                return
            at = _now()
            sets = ", ".join(f"{k} = ?" for k in changes)
            self.db.execute(
                f"UPDATE tags SET {sets}, updated_at = ?, updated_by = ? WHERE id = ?",
                [*changes.values(), at, user, tag_row["id"]],
            )
            self._event(
                "tag.settings",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                tag=tag,
                **changes,
            )

    def tag_settings(self, dataset_id: int) -> dict[str, dict]:
        """Return the set tag settings, ready for :func:`core.analysis.analyze`.

        Parameters
        ----------
        dataset_id
            The dataset (settings belong to its project's tags).

        Returns
        -------
        dict
            ``{"hlp": {tag: float}, "importance": {tag: int}, "ease": {tag: int}}``
            holding only values that are set.
        """
        pid = self._dataset_row(dataset_id)["project_id"]
        out: dict[str, dict] = {"hlp": {}, "importance": {}, "ease": {}}
        for row in self._rows(
            "SELECT name, hlp, importance, ease FROM tags WHERE project_id = ? ORDER BY id", [pid]
        ):
            for key in out:
                if row[key] is not None:
                    out[key][row["name"]] = row[key]
        return out

    # ------------------------------------------------------------------ scopes and reviews

    def tag_scopes(self, dataset_id: int) -> dict[str, str]:
        """Return where each tag's status is known in a dataset from its base values or rule.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        dict
            ``{tag: scope}`` for every tag of the project, in creation order. Scopes are
            :data:`TAG_SCOPES`: ``"all"`` (every example: a rule applied to all examples,
            or a file column said to be), ``"errors"`` (only the model's errors were
            looked at), ``"auto"`` (a file column saved without saying: the analysis
            decides as ``slicewise analyze`` does) or ``"none"`` (a hand-made tag, or one
            with no column in this dataset's file: known only where reviewed, see
            :meth:`reviewed_matrix`). A tag with no base in this dataset takes the scope of
            a rule applied on another dataset of the project (the same examples by id).
        """
        row = self._dataset_row(dataset_id)
        out = {t["name"]: t["scope"] for t in self._tag_rows(row["project_id"], row["id"])}
        # A rule applied on another dataset of the project looked at its examples by id: a
        # tag with no base here inherits that rule's scope (all before errors), so the next
        # model's dataset of the same examples knows the tag where the rule did.
        inherited = self._rows(
            "SELECT t.name, b.scope FROM tag_bases b JOIN tags t ON t.id = b.tag_id "
            "WHERE t.project_id = ? AND b.dataset_id != ? AND b.base_columns = '[]' "
            "AND b.scope IN ('all', 'errors')",
            [row["project_id"], row["id"]],
        )
        for found in sorted(inherited, key=lambda r: r["scope"] != "all"):
            if out.get(found["name"]) == "none":
                out[found["name"]] = found["scope"]
        return out

    def set_tag_scope(self, dataset_id: int, tag: str, scope: str, *, user: str) -> None:
        """Say where a tag's status is known in a dataset (one of :data:`TAG_SCOPES`).

        Parameters
        ----------
        dataset_id
            The dataset.
        tag
            An existing tag.
        scope
            ``"all"``, ``"errors"`` or ``"none"`` (see :meth:`tag_scopes`).
        user
            Who says so.

        Raises
        ------
        StoreError
            Unknown dataset or tag, or an unknown scope.
        """
        user = _clean_user(user)
        scope = _check_scope(scope, f"tag {tag!r}")
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "set_tag_scope")
            tag_row = self._tag_row(row, tag)
            if tag_row["scope"] == scope:
                return
            self._set_scope(row, tag_row, scope)
            self._event(
                "tag.scope",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=row["id"],
                tag=tag,
                scope=scope,
                previous=tag_row["scope"],
            )

    def _set_scope(self, dataset: dict[str, Any], tag_row: dict[str, Any], scope: str) -> None:
        self.db.execute(
            "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (tag_id, dataset_id) "
            "DO UPDATE SET scope = excluded.scope",
            [tag_row["id"], dataset["id"], json.dumps(tag_row["base_columns"]), scope],
        )

    def mark_reviewed(
        self,
        dataset_id: int,
        example_ids: Sequence,
        *,
        user: str,
        reviewed: bool = True,
        sample_id: int | None = None,
    ) -> int:
        """Record that a person looked at examples (for every tag), or withdraw it.

        Reviewed examples belong to the project (matched by example id in every dataset).
        :meth:`undo_last` reverts a call.

        Parameters
        ----------
        dataset_id
            The dataset the ids are checked against.
        example_ids
            Ids as in the frame's ``id`` column (compared as text); duplicates are ignored.
        user
            Who reviewed them.
        reviewed
            ``False`` withdraws: without ``sample_id`` every review mark of the examples
            (those made through samples too); with it, only that sample's.
        sample_id
            The review sample (:meth:`save_review_sample`) the examples were reviewed in;
            they must be in it.

        Returns
        -------
        int
            How many examples changed: became reviewed (or reviewed in the sample), or
            stopped being so.

        Raises
        ------
        StoreError
            Unknown dataset or sample, a sample of another dataset, ids not in the dataset
            or not in the sample, or a non-boolean ``reviewed``.
        """
        user = _clean_user(user)
        if not isinstance(reviewed, (bool, np.bool_)):
            raise StoreError(f"reviewed must be True or False, got {reviewed!r}")
        reviewed = bool(reviewed)
        wanted = _id_strings(example_ids)
        did = self._dataset_row(dataset_id)["id"]
        self._locate_examples(did, self._read_ids(did), wanted)
        with self._write():
            row = self._dataset_row(did)
            pid = row["project_id"]
            self._require(pid, user, "mark_reviewed")
            sid = 0
            if sample_id is not None:
                sample = self._sample_row(sample_id)
                if sample["dataset_id"] != did:
                    raise StoreError(
                        f"review sample {sample['id']} was drawn from dataset "
                        f"{sample['dataset_id']}, not {did}"
                    )
                sid = sample["id"]
                in_sample = {e for ids in json.loads(sample["example_ids"]).values() for e in ids}
                outside = [e for e in wanted if e not in in_sample]
                if outside:
                    raise StoreError(
                        f"review sample {sid} has no example with id "
                        f"{_few(outside)} ({len(outside)} of {len(wanted)} ids)"
                    )
            if not len(wanted):
                return 0
            marks = self._frame(
                'SELECT example_id, sample_id, "user", at FROM '
                "reviewed_examples WHERE project_id = ?" + (" AND sample_id = ?" if sid else ""),
                [pid, sid] if sid else [pid],
                ["example_id", "sample_id", "user", "at"],
            )
            ids = np.asarray(wanted, dtype=object)
            present = _locate(pd.Series(marks["example_id"].unique(), dtype=object), ids) >= 0
            at = _now()
            if reviewed:
                added = ids[~present]
                self.db.execute(
                    'INSERT INTO reviewed_examples (project_id, example_id, sample_id, "user", '
                    "at) SELECT ?, j.value, ?, ?, ? FROM json_each(?) AS j",
                    [pid, sid, user, at, json.dumps(added.tolist(), ensure_ascii=False)],
                )
                rows = _to_ipc(
                    {
                        "example_id": pa.array(added, type=pa.string()),
                        "sample_id": pa.array(np.full(len(added), sid), pa.int64()),
                        "user": pa.array([user] * len(added), type=pa.string()),
                        "at": pa.array([at] * len(added), type=pa.string()),
                    }
                )
                n = len(added)
            else:
                gone = marks[marks["example_id"].isin(set(ids[present]))]
                self.db.conn.executemany(
                    "DELETE FROM reviewed_examples WHERE project_id = ? AND example_id = ? "
                    "AND sample_id = ?",
                    [
                        (pid, e, int(s))
                        for e, s in zip(gone["example_id"], gone["sample_id"], strict=True)
                    ],
                )
                rows = _to_ipc(
                    {
                        c: pa.array(gone[c].to_numpy(dtype=object), type=t)
                        for c, t in (
                            ("example_id", pa.string()),
                            ("sample_id", pa.int64()),
                            ("user", pa.string()),
                            ("at", pa.string()),
                        )
                    }
                )
                n = int(present.sum())
            if not n:
                return 0
            previous = {"reviewed": reviewed, "sample_id": sid}
            plural = "s" if n != 1 else ""
            what = (
                f"marked {n:,} example{plural} reviewed"
                if reviewed
                else f"withdrew the review of {n:,} example{plural}"
            )
            if sid:
                what += f" (sample {sid})"
            self._log_change(row, "review.mark", None, what, previous, rows, user=user, at=at)
            self._event(
                "review.mark",
                user=user,
                at=at,
                project_id=pid,
                dataset_id=did,
                reviewed=reviewed,
                sample_id=sid or None,
                changed=n,
                example_ids=list(ids[~present if reviewed else present][:20]),
            )
            return n

    def reviewed_matrix(self, dataset_id: int) -> pd.DataFrame:
        """Return where a person reviewed each tag, aligned with the frame's rows.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            One bool column per tag, in the order of :meth:`tag_matrix`; RangeIndex like
            the frame. True where the example was marked reviewed (:meth:`mark_reviewed`,
            for every tag) or has a hand value a person set for that tag (:meth:`set_tag`;
            values written by a rule, :meth:`apply_tag_rule`, are known through the rule's
            scope instead).
        """
        with self._read():
            row = self._dataset_row(dataset_id)
            frame_ids = self._read_ids(row["id"])
            tags = self._tag_rows(row["project_id"], row["id"])
            marked = [
                r[0]
                for r in self.db.execute(
                    "SELECT DISTINCT example_id FROM reviewed_examples WHERE project_id = ?",
                    [row["project_id"]],
                ).fetchall()
            ]
            hand = self.db.execute(
                "SELECT o.tag_id, o.example_id FROM tag_overrides o JOIN tags t "
                "ON t.id = o.tag_id WHERE t.project_id = ? AND o.by_rule = 0",
                [row["project_id"]],
            ).fetchall()
        names = [t["name"] for t in tags]
        if not names:
            return pd.DataFrame(index=pd.RangeIndex(len(frame_ids)))
        out = np.zeros((len(frame_ids), len(tags)), dtype=bool, order="F")
        if marked:
            rows = _locate(frame_ids, marked)
            out[rows[rows >= 0], :] = True
        if hand:
            tag_ids, example_ids = zip(*hand, strict=True)
            col = pd.Index([t["id"] for t in tags]).get_indexer(np.asarray(tag_ids))
            rows = _locate(frame_ids, example_ids)
            ok = (rows >= 0) & (col >= 0)
            out[rows[ok], col[ok]] = True
        return pd.DataFrame(out, columns=pd.Index(names))

    def reviewed_examples(self, dataset_id: int) -> pd.DataFrame:
        """Return the review marks of a dataset's examples (:meth:`mark_reviewed`).

        Returns
        -------
        pandas.DataFrame
            Columns ``example_id`` (text), ``sample_id`` (nullable Int64: ``<NA>`` when
            marked outside a sample), ``user``, ``at``; oldest first. An example reviewed in
            several samples has a row for each.
        """
        with self._read():
            row = self._dataset_row(dataset_id)
            frame_ids = self._read_ids(row["id"])
            out = self._frame(
                'SELECT example_id, sample_id, "user", at FROM reviewed_examples '
                "WHERE project_id = ? ORDER BY at, example_id",
                [row["project_id"]],
                ["example_id", "sample_id", "user", "at"],
            )
        out = out[_locate(frame_ids, out["example_id"]) >= 0].reset_index(drop=True)
        out["sample_id"] = out["sample_id"].astype("Int64").replace(0, pd.NA)
        return out

    # ------------------------------------------------------------------ review samples

    def save_review_sample(
        self,
        dataset_id: int,
        *,
        seed: int | None,
        sizes: Mapping[str, int],
        example_ids: Mapping[str, Sequence],
        population: Mapping[str, int],
        user: str,
    ) -> int:
        """Store a drawn review sample (e.g. 100 errors and 100 correct examples).

        The drawing is done elsewhere (pure code in ``core``); the store keeps what was
        drawn, so the review can be resumed and reported. Mark its examples reviewed with
        ``mark_reviewed(..., sample_id=...)``.

        Parameters
        ----------
        dataset_id
            The dataset it was drawn from.
        seed
            The random seed of the draw (``None`` if none).
        sizes
            ``{stratum: size asked for}``, e.g. ``{"errors": 100, "correct": 100}``.
        example_ids
            ``{stratum: ids drawn}`` (no id in two strata; each in the dataset).
        population
            ``{stratum: examples it was drawn from}``.
        user
            Who drew it.

        Returns
        -------
        int
            The sample id.

        Raises
        ------
        StoreError
            Unknown dataset, strata that differ between the three mappings, sizes or
            populations that are not whole numbers from 0, more ids than asked for or than
            the population, repeated ids, or ids not in the dataset.
        """
        user = _clean_user(user)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise StoreError(f"a sample's seed must be a whole number or None, got {seed!r}")
        for what, value in (
            ("sizes", sizes),
            ("example_ids", example_ids),
            ("population", population),
        ):
            if not isinstance(value, Mapping) or not value:
                raise StoreError(
                    f"a review sample's {what} must be a non-empty {{stratum: ...}} dict"
                )
        strata = [_clean_name(k, "a stratum name", limit=None) for k in sizes]
        for what, value in (("example_ids", example_ids), ("population", population)):
            if sorted(str(k).strip() for k in value) != sorted(strata):
                raise StoreError(
                    f"a review sample's {what} has the strata {_few(list(value))} "
                    f"but its sizes have {_few(strata)}"
                )
        sizes_ = {str(k).strip(): v for k, v in sizes.items()}
        population_ = {str(k).strip(): v for k, v in population.items()}
        drawn: dict[str, list[str]] = {}
        for key, ids in example_ids.items():
            stratum = str(key).strip()
            if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
                raise StoreError(f"stratum {stratum!r}: give the drawn ids as a list, got {ids!r}")
            given = list(ids)
            drawn[stratum] = list(_id_strings(given))
            if len(drawn[stratum]) != len(given):
                raise StoreError(f"stratum {stratum!r} repeats example ids")
        for stratum in strata:
            for what, number in (("size", sizes_[stratum]), ("population", population_[stratum])):
                if (
                    isinstance(number, bool)
                    or not isinstance(number, numbers.Integral)
                    or number < 0
                ):
                    raise StoreError(
                        f"stratum {stratum!r}: the {what} must be a whole number "
                        f"from 0, got {number!r}"
                    )
            n = len(drawn[stratum])
            if n > sizes_[stratum] or n > population_[stratum]:
                raise StoreError(
                    f"stratum {stratum!r} holds {n} ids, more than its size "
                    f"({sizes_[stratum]}) or population ({population_[stratum]})"
                )
        every = [e for ids in drawn.values() for e in ids]
        twice = pd.Index(every)[pd.Index(every).duplicated()].unique()
        if len(twice):
            raise StoreError(f"a review sample has ids in two strata: {_few(list(twice))}")
        did = self._dataset_row(dataset_id)["id"]
        self._locate_examples(did, self._read_ids(did), pd.Index(every, dtype=object))
        with self._write():
            row = self._dataset_row(did)
            self._require(row["project_id"], user, "save_review_sample")
            at = _now()
            sid = int(
                self.db["review_samples"]
                .insert(
                    {
                        "project_id": row["project_id"],
                        "dataset_id": did,
                        "seed": None if seed is None else int(seed),
                        "sizes": json.dumps({k: int(v) for k, v in sizes_.items()}),
                        "population": json.dumps({k: int(v) for k, v in population_.items()}),
                        "example_ids": json.dumps(drawn, ensure_ascii=False),
                        "created_at": at,
                        "created_by": user,
                    }
                )
                .last_pk
            )
            self._event(
                "review.sample",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                sample_id=sid,
                seed=seed,
                sizes={k: int(v) for k, v in sizes_.items()},
                population={k: int(v) for k, v in population_.items()},
            )
            return sid

    def _sample_row(self, sample_id: Any) -> dict[str, Any]:
        sid = _check_id(sample_id, "review sample")
        rows = self._rows("SELECT * FROM review_samples WHERE id = ?", [sid])
        if not rows:
            raise StoreError(f"no review sample with id {sid}")
        return rows[0]

    def review_samples(self, dataset_id: int) -> pd.DataFrame:
        """Return the review samples drawn from a dataset, newest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``created_at``, ``created_by``, ``seed`` (nullable Int64),
            ``sizes`` and ``population`` (JSON text ``{stratum: n}``), ``n_examples``
            (ids drawn) and ``n_reviewed`` (of those, marked reviewed in the sample).
        """
        did = self._dataset_row(dataset_id)["id"]
        cols = ["id", "created_at", "created_by", "seed", "sizes", "population", "example_ids"]
        out = self._frame(
            f"SELECT {', '.join(cols)} FROM review_samples WHERE dataset_id = ? "
            "ORDER BY created_at DESC, id DESC",
            [did],
            cols,
        )
        out["n_examples"] = [
            sum(len(v) for v in json.loads(x).values()) for x in out.pop("example_ids")
        ]
        counts = dict(
            self.db.execute(
                "SELECT sample_id, COUNT(*) FROM reviewed_examples WHERE sample_id IN "
                "(SELECT id FROM review_samples WHERE dataset_id = ?) GROUP BY sample_id",
                [did],
            ).fetchall()
        )
        out["n_reviewed"] = [int(counts.get(int(i), 0)) for i in out["id"]]
        out["seed"] = out["seed"].astype("Int64")
        return out

    def review_sample(self, sample_id: int) -> dict[str, Any]:
        """Return one review sample with its examples and their review status.

        Returns
        -------
        dict
            ``id``, ``project_id``, ``dataset_id``, ``seed``, ``sizes`` and ``population``
            (dicts), ``created_at``, ``created_by``, ``example_ids`` (``{stratum: [ids]}``
            in drawn order) and ``examples``: a DataFrame with columns ``stratum``,
            ``example_id``, ``reviewed`` (marked reviewed in this sample), ``reviewed_by``
            and ``reviewed_at`` (``None`` when not reviewed).

        Raises
        ------
        StoreError
            Unknown sample.
        """
        with self._read():
            row = self._sample_row(sample_id)
            marks = {
                r["example_id"]: r
                for r in self._rows(
                    'SELECT example_id, "user", at FROM reviewed_examples WHERE project_id = ? '
                    "AND sample_id = ?",
                    [row["project_id"], row["id"]],
                )
            }
        drawn = json.loads(row.pop("example_ids"))
        records = [
            (stratum, e, e in marks, marks.get(e, {}).get("user"), marks.get(e, {}).get("at"))
            for stratum, ids in drawn.items()
            for e in ids
        ]
        examples = pd.DataFrame.from_records(
            records, columns=["stratum", "example_id", "reviewed", "reviewed_by", "reviewed_at"]
        )
        examples["reviewed"] = examples["reviewed"].astype(bool)
        for col in ("reviewed_by", "reviewed_at"):
            values = np.empty(len(records), dtype=object)
            values[:] = [r[3 if col == "reviewed_by" else 4] for r in records]
            examples[col] = pd.Series(values, index=examples.index, dtype=object)
        return {
            **row,
            "sizes": json.loads(row["sizes"]),
            "population": json.loads(row["population"]),
            "example_ids": drawn,
            "examples": examples,
        }

    # ------------------------------------------------------------------ undo

    def _log_change(
        self,
        dataset: dict[str, Any],
        kind: str,
        tag_id: int | None,
        description: str,
        previous: dict[str, Any],
        rows: bytes,
        *,
        user: str,
        at: str,
    ) -> None:
        """Record what :meth:`undo_last` needs to revert a change (same transaction).

        ``previous`` (JSON) says what the change did; ``rows`` (:func:`_to_ipc`) holds, per
        example it touched, the hand value or review mark it replaced or added.
        """
        self.db.execute(
            "INSERT INTO tag_changes (project_id, dataset_id, kind, tag_id, description, "
            'previous, rows, "user", at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [
                dataset["project_id"],
                dataset["id"],
                kind,
                tag_id,
                description,
                json.dumps(previous, ensure_ascii=False),
                rows,
                user,
                at,
            ],
        )

    def _last_change(self, project_id: int, user: str) -> dict[str, Any] | None:
        rows = self._rows(
            'SELECT * FROM tag_changes WHERE project_id = ? AND "user" = ? '
            "AND undone_at IS NULL AND (tag_id IS NULL OR tag_id IN "
            "(SELECT id FROM tags WHERE project_id = ?)) ORDER BY id DESC LIMIT 1",
            [project_id, user, project_id],
        )
        return rows[0] if rows else None

    def last_change(self, dataset_id: int, *, user: str) -> str | None:
        """Describe the change :meth:`undo_last` would revert (``None``: nothing to undo)."""
        user = _clean_user(user)
        change = self._last_change(self._dataset_row(dataset_id)["project_id"], user)
        return None if change is None else change["description"]

    def undo_last(self, dataset_id: int, *, user: str) -> str | None:
        """Revert the user's most recent tag change in the dataset's project.

        Undoable: :meth:`set_tag`, :meth:`apply_tag_rule` (its scope too) and
        :meth:`mark_reviewed`; each call undoes the next older one. The hand values (or
        review marks) return to exactly what they were before, except on examples someone
        changed again since (left as they are, and counted in the description). Changes
        to a tag since deleted or merged away are skipped; creating, renaming, merging or
        deleting tags is not undoable.

        Parameters
        ----------
        dataset_id
            A dataset of the project.
        user
            Whose change to revert (the name they worked under).

        Returns
        -------
        str or None
            What was undone, e.g. ``"tagged 3 examples as 'noisy'"``; ``None`` when the
            user has nothing to undo.
        """
        user = _clean_user(user)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "undo_last")
            change = self._last_change(row["project_id"], user)
            if change is None:
                return None
            previous = json.loads(change["previous"])
            if change["kind"] == "review.mark":
                restored, total = self._undo_review(row["project_id"], change, previous)
            else:
                restored, total = self._undo_values(change, previous)
            at = _now()
            self.db.execute(
                "UPDATE tag_changes SET undone_at = ?, undone_by = ? WHERE id = ?",
                [at, user, change["id"]],
            )
            description = change["description"]
            kept = total - restored
            if kept:
                description += (
                    f" ({kept:,} example{'s' if kept != 1 else ''} changed since "
                    "by a later change kept that value)"
                )
            self._event(
                "change.undo",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                change_id=change["id"],
                change=change["kind"],
                description=change["description"],
                restored=restored,
                kept=kept,
            )
            return description

    def _undo_values(self, change: dict[str, Any], previous: dict[str, Any]) -> tuple[int, int]:
        """Restore a tag change's hand values where they are still what it set."""
        rows = _from_ipc(change["rows"])
        ids = np.asarray(rows.column("example_id").to_pylist(), dtype=object)
        before = rows.column("value").to_numpy()
        tag_id, value = change["tag_id"], previous["value"]
        still = (tag_id, value, change["user"], change["at"])
        where = 'WHERE tag_id = ? AND value = ? AND "user" = ? AND at = ?'
        new = before < 0
        restored = self.db.execute(
            f"DELETE FROM tag_overrides {where} AND example_id IN (SELECT value FROM json_each(?))",
            [*still, json.dumps(ids[new].tolist(), ensure_ascii=False)],
        ).rowcount
        old = np.flatnonzero(~new)
        users, ats = rows.column("user").to_pylist(), rows.column("at").to_pylist()
        conn = self.db.conn
        count = conn.total_changes
        conn.executemany(
            f'UPDATE tag_overrides SET value = ?, "user" = ?, at = ? {where} AND example_id = ?',
            [(int(before[i]), users[i], ats[i], *still, ids[i]) for i in old],
        )
        restored += conn.total_changes - count
        scope = previous.get("scope")
        if scope and self._rows("SELECT 1 FROM datasets WHERE id = ?", [scope["dataset_id"]]):
            self.db.execute(
                "UPDATE tag_bases SET scope = ? WHERE tag_id = ? AND dataset_id = ? AND scope = ?",
                [scope["before"], tag_id, scope["dataset_id"], scope["after"]],
            )
        return restored, len(ids)

    def _undo_review(
        self, project_id: int, change: dict[str, Any], previous: dict[str, Any]
    ) -> tuple[int, int]:
        """Remove the review marks a change added, put back those it removed."""
        rows = _from_ipc(change["rows"])
        ids = rows.column("example_id").to_pylist()
        examples = len(set(ids))
        if previous["reviewed"]:
            restored = self.db.execute(
                "DELETE FROM reviewed_examples WHERE project_id = ? AND sample_id = ? "
                'AND "user" = ? AND at = ? AND example_id IN (SELECT value FROM json_each(?))',
                [
                    project_id,
                    previous["sample_id"],
                    change["user"],
                    change["at"],
                    json.dumps(ids, ensure_ascii=False),
                ],
            ).rowcount
            return restored, examples
        conn = self.db.conn
        count = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO reviewed_examples (project_id, example_id, "
            'sample_id, "user", at) VALUES (?, ?, ?, ?, ?)',
            [
                (project_id, e, s, u, a)
                for e, s, u, a in zip(
                    ids,
                    rows.column("sample_id").to_pylist(),
                    rows.column("user").to_pylist(),
                    rows.column("at").to_pylist(),
                    strict=True,
                )
            ],
        )
        restored = conn.total_changes - count
        return min(restored, examples), examples

    # ------------------------------------------------------------------ label corrections

    def _active_corrections(
        self, dataset: dict[str, Any], frame_ids: pd.Series
    ) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Return the project's active corrections of a dataset's examples and their rows."""
        fixes = self._rows(
            _ACTIVE_CORRECTIONS + " ORDER BY id", [dataset["project_id"], dataset["project_id"]]
        )
        if not fixes:
            return [], np.zeros(0, dtype=np.intp)
        pos = _locate(frame_ids, [f["example_id"] for f in fixes])
        keep = np.flatnonzero(pos >= 0)
        return [fixes[i] for i in keep], pos[keep]

    def correct_label(
        self, dataset_id: int, example_id: Any, new_label: Any, *, user: str, reason: str = ""
    ) -> None:
        """Record a corrected label for one example, keeping the original.

        The correction belongs to the project: it applies to the example (matched by id)
        in every dataset of the project.

        Parameters
        ----------
        dataset_id
            The dataset it is made on (its label column gives the original and the type).
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
            self._require(row["project_id"], user, "correct_label")
            at = _now()
            self.db["label_corrections"].insert(
                {
                    "project_id": row["project_id"],
                    "dataset_id": did,
                    "example_id": wanted[0],
                    "original": original,
                    "corrected": corrected,
                    "reason": reason.strip(),
                    "user": user,
                    "at": at,
                }
            )
            self._event(
                "label.correct",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                example_id=wanted[0],
                original=original,
                corrected=corrected,
                reason=reason.strip(),
            )

    def corrections(self, dataset_id: int) -> pd.DataFrame:
        """Return the active label corrections of a dataset's examples, the latest per example.

        Corrections belong to the project: those made on any of its datasets count for
        every dataset holding the example.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            Columns ``example_id`` (text), ``original`` (the label in the dataset the
            correction was made on), ``corrected``, ``reason``, ``user``, ``at``; oldest
            first.
        """
        cols = ["example_id", "original", "corrected", "reason", "user", "at"]
        with self._read():
            row = self._dataset_row(dataset_id)
            fixes, _ = self._active_corrections(row, self._read_ids(row["id"]))
        return pd.DataFrame.from_records([tuple(f[c] for c in cols) for f in fixes], columns=cols)

    def revert_correction(self, dataset_id: int, example_id: Any, *, user: str) -> None:
        """Restore an example's original label; its corrections are kept, marked reverted.

        Parameters
        ----------
        dataset_id
            A dataset of the project (the revert applies to every dataset of it).
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
            self._require(row["project_id"], user, "revert_correction")
            did = row["id"]
            at = _now()
            cursor = self.db.execute(
                "UPDATE label_corrections SET reverted_at = ?, reverted_by = ? "
                "WHERE project_id = ? AND example_id = ? AND reverted_at IS NULL",
                [at, user, row["project_id"], key],
            )
            if cursor.rowcount == 0:
                raise StoreError(
                    f"example {key!r} of dataset {did} has no label correction to revert"
                )
            self._event(
                "label.revert",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                example_id=key,
            )

    # ------------------------------------------------------------------ reports

    def save_report(
        self, dataset_id: int, fmt: str, filename: str, content: str | bytes, *, user: str
    ) -> int:
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
        filename = _clean_name(filename, "report file name", limit=None)
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise StoreError(f"report content must be text or bytes, got {type(content)}")
        content = bytes(content)
        with self._write():
            row = self._dataset_row(dataset_id)
            self._require(row["project_id"], user, "save_report")
            at = _now()
            rid = (
                self.db["reports"]
                .insert(
                    {
                        "dataset_id": row["id"],
                        "fmt": fmt,
                        "filename": filename,
                        "size": len(content),
                        "content": content,
                        "created_at": at,
                        "created_by": user,
                    }
                )
                .last_pk
            )
            self._event(
                "report.save",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                report_id=rid,
                fmt=fmt,
                filename=filename,
                size=len(content),
            )
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
        return self._frame(
            f"SELECT {', '.join(cols)} FROM reports {where} ORDER BY created_at DESC, id DESC",
            params,
            cols,
        )

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

    def save_iteration(
        self,
        project_id: int,
        dataset_id: int,
        *,
        model_name: str,
        model_version: str = "",
        data_version: str = "",
        notes: dict[str, Any] | None = None,
        table: pd.DataFrame,
        user: str,
    ) -> int:
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
            self._require(project["id"], user, "save_iteration")
            row = self._dataset_row(dataset_id)
            if row["project_id"] != project["id"]:
                raise StoreError(
                    f"dataset {row['id']} belongs to project {row['project_id']}, "
                    f"not {project['id']}"
                )
            mapping = ColumnMapping.from_dict(json.loads(row["mapping"]))
            fingerprint = Dataset(
                frame=pd.DataFrame(),
                tags=pd.DataFrame(),
                mapping=mapping,
                content_hash=row["content_hash"],
            ).fingerprint()
            at = _now()
            iid = int(
                self.db["iterations"]
                .insert(
                    {
                        "project_id": project["id"],
                        "dataset_id": row["id"],
                        "dataset_name": row["name"],
                        "source_name": row["source_name"],
                        "content_hash": row["content_hash"],
                        "fingerprint": fingerprint,
                        "revision": self.revision(row["id"]),
                        "row_count": row["row_count"],
                        "model_name": model_name,
                        "model_version": model_version,
                        "data_version": data_version,
                        "notes": notes_json,
                        "slice_table": table_json,
                        "created_at": at,
                        "created_by": user,
                    }
                )
                .last_pk
            )
            self._event(
                "iteration.save",
                user=user,
                at=at,
                project_id=project["id"],
                dataset_id=row["id"],
                iteration_id=iid,
                model_name=model_name,
                model_version=model_version,
                data_version=data_version,
                notes=json.loads(notes_json),
            )
            return iid

    _ITERATION_COLUMNS = [
        "id",
        "project_id",
        "dataset_id",
        "dataset_name",
        "source_name",
        "content_hash",
        "fingerprint",
        "revision",
        "row_count",
        "model_name",
        "model_version",
        "data_version",
        "notes",
        "created_at",
        "created_by",
    ]

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
        out = self._frame(
            f"SELECT {', '.join(cols)} FROM iterations WHERE project_id = ? "
            "ORDER BY created_at, id",
            [pid],
            cols,
        )
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
        rows = self._rows(
            f"SELECT {', '.join(self._ITERATION_COLUMNS)} FROM iterations WHERE id = ?", [iid]
        )
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
            self._require(info["project_id"], user, "delete_iteration")
            self.db.execute("DELETE FROM iterations WHERE id = ?", [info["id"]])
            self._event(
                "iteration.delete",
                user=user,
                at=_now(),
                project_id=info["project_id"],
                dataset_id=info["dataset_id"],
                iteration_id=info["id"],
                model_name=info["model_name"],
                model_version=info["model_version"],
            )

    # ------------------------------------------------------------------ annotation sets

    _ANNOTATION_SET_COLUMNS = [
        "id",
        "project_id",
        "name",
        "source_name",
        "content_hash",
        "row_count",
        "linked_dataset_id",
        "created_at",
        "created_by",
    ]

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
            raise StoreError(
                f"dataset {row['id']} belongs to project {row['project_id']}, not "
                f"{project_id}: an annotation set links to a dataset of its own "
                "project"
            )
        return int(row["id"])

    def save_annotation_set(
        self,
        project_id: int,
        name: str,
        labels: pd.DataFrame,
        *,
        source_name: str,
        content_hash: str,
        user: str,
        linked_dataset_id: int | None = None,
    ) -> int:
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
        source_name = _clean_name(source_name, "source name", limit=None)
        content_hash = _clean_text(content_hash, "content hash")
        pid = self._project_row(project_id)["id"]
        self._require(pid, user, "save_annotation_set")  # again inside the transaction
        self._check_free_name(pid, name, table="annotation_sets")
        self._check_link(pid, linked_dataset_id)
        labels = _check_annotation_labels(name, labels)
        folder = self.files_dir / ANNOTATIONS_DIR
        self._writable_dir(folder)
        staging = folder / f".staging-{uuid.uuid4().hex}.parquet"
        final: Path | None = None
        try:
            try:
                _write_parquet(labels, staging)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise StoreError(
                    f"annotation set {name!r} cannot be stored as Parquet: {exc}"
                ) from exc
            with self._write():
                self._require(pid, user, "save_annotation_set")
                self._check_free_name(pid, name, table="annotation_sets")
                linked = self._check_link(pid, linked_dataset_id)
                at = _now()
                sid = int(
                    self.db["annotation_sets"]
                    .insert(
                        {
                            "project_id": pid,
                            "name": name,
                            "source_name": source_name,
                            "content_hash": content_hash,
                            "row_count": len(labels),
                            "linked_dataset_id": linked,
                            "created_at": at,
                            "created_by": user,
                        }
                    )
                    .last_pk
                )
                os.replace(staging, self._annotation_path(sid))
                final = self._annotation_path(sid)
                self._event(
                    "annotation_set.save",
                    user=user,
                    at=at,
                    project_id=pid,
                    annotation_set_id=sid,
                    name=name,
                    source_name=source_name,
                    row_count=len(labels),
                    linked_dataset_id=linked,
                )
            return sid
        except BaseException as exc:
            (final if final is not None else staging).unlink(missing_ok=True)
            self._raise_os_fault(exc, folder)  # a full disk: DiskFull
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
            self._require(row["project_id"], user, "delete_annotation_set")
            sid = row["id"]
            self.db.execute("DELETE FROM review_decisions WHERE annotation_set_id = ?", [sid])
            self.db.execute("DELETE FROM annotation_sets WHERE id = ?", [sid])
            self._event(
                "annotation_set.delete",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                annotation_set_id=sid,
                name=row["name"],
            )
            path = self._annotation_path(sid)
            if path.exists():  # moved last: a failure before this rolls the rows back
                trash = path.with_name(f".deleted-{uuid.uuid4().hex}.parquet")
                os.replace(path, trash)
        if trash is not None:
            trash.unlink(missing_ok=True)

    def save_review_decision(
        self, set_id: int, item: Any, *, decision: Any, note: str = "", user: str
    ) -> bool:
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
            self._require(row["project_id"], user, "save_review_decision")
            last = self._rows(
                "SELECT decision, note FROM review_decisions WHERE id = ("
                "SELECT MAX(id) FROM review_decisions WHERE annotation_set_id = ? "
                "AND item = ?)",
                [sid, key],
            )
            current = (last[0]["decision"], last[0]["note"]) if last else (None, "")
            if current == (decision, note):
                return False
            at = _now()
            self.db["review_decisions"].insert(
                {
                    "annotation_set_id": sid,
                    "item": key,
                    "decision": decision,
                    "note": note,
                    "user": user,
                    "at": at,
                }
            )
            self._event(
                "review.decide",
                user=user,
                at=at,
                project_id=row["project_id"],
                annotation_set_id=sid,
                item=key,
                decision=decision,
                note=note,
                previous=current[0],
            )
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
            sql = (
                select + "WHERE id IN (SELECT MAX(id) FROM review_decisions "
                "WHERE annotation_set_id = ? GROUP BY item) "
                "AND (decision IS NOT NULL OR note != '') ORDER BY id"
            )
            params = [sid]
        out = self._frame(sql, params, cols)
        decisions = np.empty(len(out), dtype=object)
        decisions[:] = [d if isinstance(d, str) else None for d in out["decision"]]
        out["decision"] = pd.Series(decisions, index=out.index, dtype=object)
        return out

    def apply_annotation_hlp(
        self, set_id: int, dataset_id: int, hlp: dict[str, float], *, user: str
    ) -> None:
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
            self._require(row["project_id"], user, "apply_annotation_hlp")
            for tag, value in values.items():
                self.set_tag_settings(row["id"], tag, hlp=value, user=user)
            self._event(
                "annotation_set.hlp",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=row["id"],
                annotation_set_id=info["id"],
                name=info["name"],
                hlp=values,
            )

    def hlp_sources(self, dataset_id: int) -> dict[str, dict[str, Any]]:
        """Return the tags whose current HLP was saved from an annotation set.

        Read from the events of the dataset's project (tags and their settings belong to
        it): a later HLP typed in or cleared, a rename, a merge or a delete ends the link.

        Returns
        -------
        dict
            ``{tag: {"annotation_set_id", "name", "hlp", "user", "at"}}``, only tags that
            still have that HLP.
        """
        row = self._dataset_row(dataset_id)
        did = row["id"]
        marks = ", ".join("?" * len(_HLP_EVENT_KINDS))
        rows = self._rows(
            f'SELECT kind, detail, "user", at FROM events WHERE project_id = ? '
            f"AND kind IN ({marks}) ORDER BY id",
            [row["project_id"], *_HLP_EVENT_KINDS],
        )
        found: dict[str, dict[str, Any]] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            kind = r["kind"]
            if kind == "annotation_set.hlp":
                for tag, value in detail.get("hlp", {}).items():
                    found[tag] = {
                        "annotation_set_id": detail.get("annotation_set_id"),
                        "name": detail.get("name"),
                        "hlp": value,
                        "user": r["user"],
                        "at": r["at"],
                    }
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
        return {
            t: v
            for t, v in found.items()
            if t in current and math.isclose(float(current[t]), float(v["hlp"]))
        }

    # ------------------------------------------------------------------ history

    def revision(self, dataset_id: int) -> int:
        """Return the id of the newest event that may change a dataset's state (0 if none).

        That is every event about the dataset, and every event of its project but those
        about another dataset's own things (its name, deletion, reports, iterations, and
        annotation sets and their decisions): tags, hand values, reviews and corrections
        belong to the project, so a tag set through one dataset changes every dataset of
        it. It grows with every such write, so it is a cheap cache key for anything derived
        from the dataset's current state. A deleted dataset's revision is its own newest
        event's id. See :meth:`last_event_id` for the writes about the dataset alone.
        """
        did = int(dataset_id)
        with self._lock:
            found = self.db.execute(
                "SELECT project_id FROM datasets WHERE id = ?", [did]
            ).fetchone()
            if found is None:
                return self.last_event_id(did)
            marks = ", ".join("?" * len(_DATASET_OWN_KINDS))
            row = self.db.execute(
                f"SELECT max(id) FROM events WHERE dataset_id = ? OR (project_id = ? "
                f"AND (dataset_id IS NULL OR kind NOT IN ({marks})))",
                [did, found[0], *_DATASET_OWN_KINDS],
            ).fetchone()
        return int(row[0] or 0)

    def last_event_id(self, dataset_id: int) -> int:
        """Return the id of the newest event about the dataset itself (0 if none).

        Unlike :meth:`revision`, writes made through another dataset of the project do
        not count: it says which dataset a person worked on last.
        """
        with self._lock:
            row = self.db.execute(
                "SELECT max(id) FROM events WHERE dataset_id = ?", [int(dataset_id)]
            ).fetchone()
        return int(row[0] or 0)

    def events(
        self, dataset_id: int | None = None, *, project_id: int | None = None
    ) -> pd.DataFrame:
        """Return the append-only log of writes, oldest first.

        Parameters
        ----------
        dataset_id
            Only events about this dataset (also after it was deleted); ``None`` for all.
        project_id
            Only events of this project (its datasets' and its own: tags, members...).

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``project_id``, ``dataset_id``, ``kind`` (e.g. ``tag.set``),
            ``detail`` (JSON text), ``user``, ``at`` (UTC ISO-8601).
        """
        cols = ["id", "project_id", "dataset_id", "kind", "detail", "user", "at"]
        conditions, params = [], []
        if dataset_id is not None:
            conditions.append("dataset_id = ?")
            params.append(_check_id(dataset_id, "dataset"))
        if project_id is not None:
            conditions.append("project_id = ?")
            params.append(_check_id(project_id, "project"))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        frame = self._frame(
            f'SELECT id, project_id, dataset_id, kind, detail, "user", at '
            f"FROM events {where} ORDER BY id",
            params,
            cols,
        )
        for col in ("project_id", "dataset_id"):
            frame[col] = frame[col].astype("Int64")
        return frame


# --------------------------------------------------------------------------- recovery

#: Who the stand-in rows :func:`recover_store` makes for lost projects name as creator.
RECOVER_USER = "slicewise recover"
#: At most this many key ranges of one table are searched around its damaged pages by
#: :func:`recover_store`; ranges left unsearched are reported unreadable.
RECOVER_SEARCH_LIMIT = 20_000
#: A range of keys none of whose rows could be read is split in halves at most this many
#: times in a row before it is given up as unreadable: integer ids up to 1,024 apart are
#: searched one by one, and a readable page between damaged ones is found unless it holds
#: under 1/1,024 of the range (1/64 for text keys, whose halves are rougher).
_BLIND_SPLITS = {"int": 10, "text": 6}
#: Rows copied per ``executemany``.
_RECOVER_BATCH = 500
#: SQLite result codes of a read that hit a damaged page or a bad sector.
_UNREADABLE = frozenset({_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_IOERR})
_MAX_ID = (1 << 63) - 1


class _Infinity:
    """The lowest (``-1``) or highest (``+1``) value a key column can be compared with."""

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return "-inf" if self.sign < 0 else "+inf"


_LOWEST, _HIGHEST = _Infinity(-1), _Infinity(1)


@dataclass
class TableRecovery:
    """What :func:`recover_store` copied of one table.

    Attributes
    ----------
    name
        The table.
    copied
        Rows read and put in the new store (ids and keys unchanged), less ``dropped``;
        ``stand_ins`` come on top.
    damaged
        Whether reading the table hit a damaged page: the rows on it could not be read.
    unreadable
        The key ranges that could not be read, e.g. ``["id 21 to 37"]``.
    unreadable_ids
        For a table keyed by one integer id: how many ids lie in those ranges (at most
        that many rows were lost; some may have been deleted before). ``None`` when the
        keys are not integers or the range is open-ended (the count is unknown).
    rejected
        Rows read but refused by the table's constraints (their bytes were garbled).
    dropped
        Rows left out because the row they belong to (``ON DELETE CASCADE``) was lost, as
        deleting it would have removed them; ``dropped_because`` says which.
    dropped_because
        E.g. ``"their datasets rows were lost (dataset_id 1, 2)"``.
    unlinked
        Links to lost rows that were cleared (``ON DELETE SET NULL``), e.g. an annotation
        set's link to a lost dataset.
    stand_ins
        Ids of the stand-in rows made for lost projects that other rows belong to (named as
        their ``project.create`` event says, else ``"recovered project <id>"``).
    search_stopped
        Whether the search around damaged pages stopped at :data:`RECOVER_SEARCH_LIMIT`.
    """

    name: str
    copied: int = 0
    damaged: bool = False
    unreadable: list[str] = field(default_factory=list)
    unreadable_ids: int | None = 0
    rejected: int = 0
    dropped: int = 0
    dropped_because: str = ""
    unlinked: int = 0
    stand_ins: list[int] = field(default_factory=list)
    search_stopped: bool = False

    @property
    def lost(self) -> bool:
        """Whether rows of the table did not reach the new store (unreadable or left out)."""
        return self.damaged or self.rejected > 0 or self.dropped > 0


@dataclass
class RecoveryReport:
    """What :func:`recover_store` copied from a damaged store into a new one.

    Attributes
    ----------
    source, target
        The damaged database (not changed) and the new one.
    schema_version
        The damaged database's schema version (the new store is migrated to the newest).
    tables
        Per table (in the damaged file's order), what was copied and lost.
    datasets_copied
        Ids of the datasets whose rows and files were copied.
    datasets_lost
        Ids of datasets whose files are in the damaged store's folder but whose rows were
        lost: their files stay there.
    dataset_files_missing
        Ids of datasets whose rows were copied but whose files are missing or unreadable
        in the damaged store's folder (loading them fails).
    annotation_files_missing
        Ids of annotation sets whose rows were copied but whose label file is missing.
    warnings
        Other things to act on, e.g. that the new store is open to every user.
    """

    source: Path
    target: Path
    schema_version: int
    tables: dict[str, TableRecovery]
    datasets_copied: list[int] = field(default_factory=list)
    datasets_lost: list[int] = field(default_factory=list)
    dataset_files_missing: list[int] = field(default_factory=list)
    annotation_files_missing: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def lost_tables(self) -> list[str]:
        """The tables some of whose rows did not reach the new store."""
        return [name for name, t in self.tables.items() if t.lost]

    @property
    def complete(self) -> bool:
        """Whether every row and every dataset's files reached the new store."""
        return not (
            self.lost_tables
            or self.datasets_lost
            or self.dataset_files_missing
            or self.annotation_files_missing
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values (paths as text)."""
        out = asdict(self)
        out["source"], out["target"] = str(self.source), str(self.target)
        out["lost_tables"], out["complete"] = self.lost_tables, self.complete
        return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mid_text(a: str | None, b: str | None) -> str | None:
    """Return a string strictly between ``a`` and ``b`` in SQLite's BINARY order, or None.

    ``None`` stands for the lowest (``a``) or highest (``b``) end; ``a < b``. Strings
    compare as their UTF-8 bytes, which is code point order, so the result is built from
    code points (never a surrogate, which UTF-8 cannot hold).

    Examples
    --------
    >>> _mid_text("e0099", "e0151"), _mid_text("cat", "dog"), _mid_text(None, "")
    ('e01', 'd', None)
    """
    if a is None:
        return "" if b is None or b != "" else None
    i = 0
    while b is not None and i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    lo = ord(a[i]) if i < len(a) else -1
    hi = ord(b[i]) if b is not None else 0x110000
    c = (lo + hi) // 2
    if 0xD800 <= c <= 0xDFFF:
        c = 0xD7FF if 0xD7FF > lo else 0xE000
    if lo < c < hi:
        return a[:i] + chr(c)
    if b is not None and len(b) > i + 1:  # b's start: above a at i, and below b
        return b[: i + 1]
    if lo == -1:  # b is a + one character, the lowest above a's end: nothing between
        return None
    return a[: i + 1] + str(_mid_text(a[i + 1 :], None))  # above a, still below b at i


def _mid_value(a: Any, b: Any, kind: str | None, hint: tuple[int, int]) -> Any:
    """Return a value strictly between ``a`` and ``b`` (either may be infinite), or None."""
    if kind == "int":
        lo = hint[0] - 1 if a is _LOWEST else a
        hi = hint[1] + 1 if b is _HIGHEST else b
        if not (isinstance(lo, int) and isinstance(hi, int)) or hi - lo < 2:
            return None
        return (lo + hi) // 2
    if kind == "text":
        lo = None if a is _LOWEST else a
        hi = None if b is _HIGHEST else b
        if not (lo is None or isinstance(lo, str)) or not (hi is None or isinstance(hi, str)):
            return None
        return _mid_text(lo, hi)
    return None


@dataclass
class _Bound:
    """One end of a range of keys: a full key or a prefix of one (the first columns)."""

    values: tuple
    inclusive: bool = False  # a lower end: keys >= values (else >)


@dataclass
class _TableShape:
    """How to read and write one table: its columns and the key it is ordered by."""

    name: str
    columns: list[str]  # as selected; "_rowid_" first for a rowid table without an alias
    keys: list[int]  # positions in columns of the key, in key order
    kinds: list[str | None]  # "int", "text" or None per key column (how to split ranges)
    hint: tuple[int, int]  # lowest and highest id of a table with an integer id

    def key_names(self) -> list[str]:
        return [self.columns[i] for i in self.keys]

    def sql_columns(self) -> str:
        return ", ".join(c if c == "_rowid_" else _quote(c) for c in self.columns)

    def sql_keys(self, n: int | None = None) -> list[str]:
        return [c if c == "_rowid_" else _quote(c) for c in self.key_names()[:n]]


def _table_shape(src: sqlite3.Connection, name: str, seq: int | None) -> _TableShape:
    info = src.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
    listed = src.execute(
        "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", [name]
    ).fetchone()
    names = [str(r[1]) for r in info]
    pk = [i for _, i in sorted((int(r[5]), i) for i, r in enumerate(info) if r[5])]
    types = [str(r[2] or "").upper() for r in info]
    if listed is not None and listed[0]:  # WITHOUT ROWID: ordered by its primary key
        columns, keys = names, pk
    elif len(pk) == 1 and types[pk[0]] == "INTEGER":  # the id is the rowid
        columns, keys = names, pk
    else:
        columns, keys, types = ["_rowid_", *names], [0], ["INTEGER", *types]

    def kind(declared: str) -> str | None:
        if "INT" in declared:
            return "int"
        if any(t in declared for t in ("CHAR", "CLOB", "TEXT")):
            return "text"
        return None

    kinds = [kind(types[i]) for i in keys]
    hint = (1, seq) if seq is not None else (-_MAX_ID, _MAX_ID)
    return _TableShape(name, columns, keys, kinds, hint)


class _Copier:
    """Buffers the rows read from one table and inserts them into the new database."""

    def __init__(self, dst: sqlite3.Connection, shape: _TableShape, result: TableRecovery):
        self.dst, self.shape, self.result = dst, shape, result
        marks = ", ".join("?" * len(shape.columns))
        self.sql = f"INSERT INTO {_quote(shape.name)} ({shape.sql_columns()}) VALUES ({marks})"
        self.buffer: list[tuple] = []
        self.max_id: int | None = None

    def add(self, row: tuple) -> None:
        self.buffer.append(row)
        if len(self.shape.keys) == 1:
            key = row[self.shape.keys[0]]
            if isinstance(key, int) and (self.max_id is None or key > self.max_id):
                self.max_id = key
        if len(self.buffer) >= _RECOVER_BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.buffer = self.buffer, []
        if not rows:
            return
        self.dst.execute("SAVEPOINT batch")
        try:
            self.dst.executemany(self.sql, rows)
            self.result.copied += len(rows)
        except sqlite3.IntegrityError:  # a garbled row breaks a constraint: one at a time
            self.dst.execute("ROLLBACK TO batch")
            for row in rows:
                try:
                    self.dst.execute(self.sql, row)
                    self.result.copied += 1
                except sqlite3.IntegrityError:
                    self.result.rejected += 1
        self.dst.execute("RELEASE batch")


def _where(shape: _TableShape, lower: _Bound | None, upper: _Bound | None) -> tuple[str, list[Any]]:
    parts, params = [], []
    for bound, op in ((lower, ">=" if lower and lower.inclusive else ">"), (upper, "<")):
        if bound is not None:
            cols = shape.sql_keys(len(bound.values))
            marks = ", ".join("?" * len(bound.values))
            parts.append(f"({', '.join(cols)}) {op} ({marks})")
            params.extend(bound.values)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params


def _scan(
    src: sqlite3.Connection,
    shape: _TableShape,
    lower: _Bound | None,
    upper: _Bound | None,
    *,
    descending: bool,
    copier: _Copier,
) -> tuple[tuple | None, bool]:
    """Copy the rows between two ends in key order until the end or a damaged page.

    Returns the key of the last row read (``None``: none) and whether the range was read
    to its end. Python's cursor reads a row ahead and drops the row it holds when that
    read fails, so after a failure the next row is asked for alone (``LIMIT 1`` reads no
    further); when it is there, the scan goes on after it.
    """
    order = ", ".join(f"{k}{' DESC' if descending else ''}" for k in shape.sql_keys())
    last: tuple | None = None
    alone = False
    while True:
        after = None if last is None else _Bound(last)
        where, params = _where(
            shape,
            lower if descending or after is None else after,
            after if descending and after is not None else upper,
        )
        sql = (
            f"SELECT {shape.sql_columns()} FROM {_quote(shape.name)} {where} "
            f"ORDER BY {order}{' LIMIT 1' if alone else ''}"
        )
        read, failed = 0, False
        try:
            cursor = src.execute(sql, params)
        except sqlite3.DatabaseError as exc:  # its first row: none was dropped
            if _sqlite_code(exc) not in _UNREADABLE:
                raise
            return last, False
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.DatabaseError as exc:
                if _sqlite_code(exc) not in _UNREADABLE:
                    raise
                cursor.close()
                failed = True
                break
            if row is None:
                break
            copier.add(row)  # outside the try: a fault of the new database is not damage
            last, read = tuple(row[i] for i in shape.keys), read + 1
        if failed and alone:  # the next row itself is on a damaged page
            return last, False
        if not failed and not (alone and read):  # read to the end
            return last, True
        alone = failed  # after a failure, the next row alone; after it, a scan again


def _mid_key(
    shape: _TableShape, lower: _Bound | None, upper: _Bound | None
) -> tuple[tuple, str | None] | None:
    """Return a key (or its first columns) strictly inside the range and the kind split."""
    n = len(shape.keys)
    lo = list(lower.values) if lower else []
    lo += [_LOWEST] * (n - len(lo))
    hi = list(upper.values) if upper else [_HIGHEST]
    hi += [_LOWEST] * (n - len(hi))
    for i in range(n):
        if lo[i] is hi[i] or (type(lo[i]) is type(hi[i]) and lo[i] == hi[i]):
            continue
        hint = shape.hint if i == 0 else (0, _MAX_ID)
        mid = _mid_value(lo[i], hi[i], shape.kinds[i], hint)
        if mid is not None:
            return (*lo[:i], mid), shape.kinds[i]
        if lo[i] is _LOWEST:
            return None
        for j in range(i + 1, n):  # nothing between at i: keys above lower that share it
            mid = _mid_value(lo[j], _HIGHEST, shape.kinds[j], (0, _MAX_ID))
            if mid is not None:
                return (*lo[:j], mid), shape.kinds[j]
        return None
    return None


def _nearest(dst: sqlite3.Connection, shape: _TableShape, bound: _Bound | None, below: bool) -> str:
    """Return the key of the copied row nearest below (above) a range's lower (upper) end."""
    if bound is None:
        return "the start" if below else "the end"
    cols = ", ".join(shape.sql_keys(len(bound.values)))
    op = ("<" if bound.inclusive else "<=") if below else ">="
    order = ", ".join(f"{k}{' DESC' if below else ''}" for k in shape.sql_keys())
    row = dst.execute(
        f"SELECT {', '.join(shape.sql_keys())} FROM {_quote(shape.name)} "
        f"WHERE ({cols}) {op} ({', '.join('?' * len(bound.values))}) "
        f"ORDER BY {order} LIMIT 1",
        list(bound.values),
    ).fetchone()
    if row is None:
        return "the start" if below else "the end"
    return repr(row[0]) if len(row) == 1 else repr(tuple(row))


def _describe_ranges(
    dst: sqlite3.Connection,
    shape: _TableShape,
    ranges: list[tuple[_Bound | None, _Bound | None]],
    result: TableRecovery,
) -> None:
    """Merge the unreadable ranges that touch and describe them in the result.

    A range of integer ids reads ``"id 21 to 37"``; any other, by the copied rows around
    it: ``"(tag_id, example_id) between (9, 'e0329') and (9, 'e0397')"``.
    """

    def start(r: tuple[_Bound | None, _Bound | None]) -> tuple:
        return (0,) if r[0] is None else (1, r[0].values, r[0].inclusive)

    merged: list[list[_Bound | None]] = []
    for lower, upper in sorted(ranges, key=start):
        if (
            merged
            and merged[-1][1] is not None
            and lower is not None
            and lower.inclusive
            and merged[-1][1].values == lower.values
        ):
            merged[-1][1] = upper
        else:
            merged.append([lower, upper])
    single_int = len(shape.keys) == 1 and shape.kinds[0] == "int"
    name = "id" if shape.columns[shape.keys[0]] == "_rowid_" else shape.columns[shape.keys[0]]
    count: int | None = 0 if single_int else None
    for lower, upper in merged:
        if not single_int or not all(
            b is None or isinstance(b.values[0], int) for b in (lower, upper)
        ):
            count = None
            keys = shape.key_names()
            result.unreadable.append(
                f"{keys[0] if len(keys) == 1 else '(' + ', '.join(keys) + ')'} between "
                f"{_nearest(dst, shape, lower, True)} and {_nearest(dst, shape, upper, False)}"
            )
            continue
        first = shape.hint[0] if lower is None else lower.values[0] + (0 if lower.inclusive else 1)
        last = shape.hint[1] if upper is None else upper.values[0] - 1
        if first > last:
            continue
        known = (lower is not None or first > -_MAX_ID) and (upper is not None or last < _MAX_ID)
        if count is not None:
            count = count + last - first + 1 if known else None
        shown_first = first if lower is not None or first > -_MAX_ID else "the start"
        shown_last = last if upper is not None or last < _MAX_ID else "the end"
        result.unreadable.append(
            f"{name} {first}" if first == last else f"{name} {shown_first} to {shown_last}"
        )
    result.unreadable_ids = count


def _copy_table(
    src: sqlite3.Connection, dst: sqlite3.Connection, shape: _TableShape, result: TableRecovery
) -> int | None:
    """Copy every readable row of one table; return the largest integer id read.

    Reads the table in key order; where a read hits a damaged page, reads the rest of the
    range backwards from its end, then splits what lies between the last keys read into
    halves and searches each the same way (keys are ``rowid`` values or the primary key of
    a ``WITHOUT ROWID`` table), so rows on readable pages between damaged ones are found.
    """
    copier = _Copier(dst, shape, result)
    pending: list[tuple[_Bound | None, _Bound | None, int]] = [(None, None, 0)]  # blind
    lost: list[tuple[_Bound | None, _Bound | None]] = []
    searches = 0
    while pending:
        lower, upper, blind = pending.pop()
        if searches >= RECOVER_SEARCH_LIMIT:
            result.search_stopped = True
            lost.append((lower, upper))
            continue
        searches += 1
        first, done = _scan(src, shape, lower, upper, descending=False, copier=copier)
        if done:
            continue
        result.damaged = True
        if first is not None:
            lower = _Bound(first)
        last, done = _scan(src, shape, lower, upper, descending=True, copier=copier)
        if done:
            continue
        if last is not None:
            upper = _Bound(last)
        blind = 0 if first is not None or last is not None else blind + 1
        mid = _mid_key(shape, lower, upper)
        if mid is None or blind > _BLIND_SPLITS.get(str(mid[1]), 0):
            lost.append((lower, upper))
            continue
        pending.append((_Bound(mid[0], inclusive=True), upper, blind))
        pending.append((lower, _Bound(mid[0]), blind))
    copier.flush()
    _describe_ranges(dst, shape, lost, result)
    return copier.max_id


def _open_damaged(path: Path) -> sqlite3.Connection:
    """Open a database for reading only, creating no file beside it where possible.

    SQLite's ``immutable=1`` (no locks, no ``-wal`` or ``-shm`` file) while no ``-wal``
    file holds changes not yet copied into the database (a damaged store takes no writes
    from Slicewise); else ``mode=ro``, which reads them (and makes ``-shm``).
    """
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    for query in ("mode=ro",) if _wal_in_use(path) else ("immutable=1",):
        conn = None
        try:
            conn = sqlite3.connect(f"{uri}?{query}", uri=True, isolation_level=None)
            conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            last = exc
    code = _sqlite_code(last)
    if code == _SQLITE_NOTADB:
        raise StoreDamaged(
            f"{path} is not a Slicewise database ({last}): it is another kind "
            "of file, or its first page is damaged, so nothing can be read "
            "from it; restore a backup"
        ) from last
    if code == _SQLITE_CORRUPT:
        raise StoreDamaged(
            f"the schema of {path} (its first pages) is damaged ({last}), so "
            "no table can be read from it; restore a backup, or try sqlite3's "
            '".recover" (it needs an sqlite3 built with the dbpage '
            "extension)"
        ) from last
    raise StoreError(
        f"cannot read {path} ({last}); give {_whoami()} read access to it and its folder"
    ) from last


def _recover_fault(exc: BaseException, where: Path) -> DataError | None:
    """Return the typed error of a full or read-only disk met writing ``where``."""
    code = _sqlite_code(exc) if isinstance(exc, sqlite3.Error) else None
    if code == _SQLITE_FULL or getattr(exc, "errno", None) in _NO_ROOM:
        return _no_room(where, exc)
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN) or getattr(exc, "errno", None) in _NOT_ALLOWED:
        return StoreReadOnly(
            f"cannot write {where} ({exc}): nothing was recovered; choose "
            f"a folder {_whoami()} may write with --to"
        )
    return None


def _stand_in_projects(dst: sqlite3.Connection, ids: list[int], at: str) -> None:
    """Make a projects row for each lost project that other rows belong to.

    Named, dated and credited as its ``project.create`` event says, when that survived.
    """
    for pid in ids:
        event = dst.execute(
            'SELECT detail, "user", at FROM events WHERE project_id = ? '
            "AND kind = 'project.create' ORDER BY id LIMIT 1",
            [pid],
        ).fetchone()
        name, user, when = f"recovered project {pid}", RECOVER_USER, at
        if event is not None:
            try:
                name = str(json.loads(event[0]).get("name") or name)
            except (ValueError, AttributeError):
                pass
            user, when = event[1], event[2]
        if dst.execute("SELECT 1 FROM projects WHERE name = ?", [name]).fetchone():
            name = f"{name} (recovered project {pid})"
        dst.execute(
            "INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
            [pid, name, when, user],
        )


def _few_ids(values: list[Any], limit: int = 10) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _settle_links(
    dst: sqlite3.Connection, tables: list[str], results: dict[str, TableRecovery]
) -> None:
    """Make every foreign key hold again after rows were lost, as the schema says.

    A row whose ``ON DELETE CASCADE`` parent was lost is left out (deleting the parent
    would have removed it), a ``SET NULL`` link is cleared, a lost project that rows
    belong to gets a stand-in row, and any other row pointing at a lost row is left out.
    Repeated until nothing changes (a row left out may leave others without a parent).
    """
    links = []
    for child in tables:
        groups: dict[int, list[tuple]] = {}
        for fk in dst.execute(f"PRAGMA foreign_key_list({_quote(child)})").fetchall():
            groups.setdefault(int(fk[0]), []).append(fk)
        for rows in groups.values():
            parent, on_delete = str(rows[0][2]), str(rows[0][6]).upper()
            pairs = [(str(r[3]), str(r[4]) if r[4] else "id") for r in rows]
            links.append((child, parent, on_delete, pairs))
    at = _now()
    changed = True
    while changed:
        changed = False
        for child, parent, on_delete, pairs in links:
            c = _quote(child)
            orphan = " AND ".join(f"{c}.{_quote(a)} IS NOT NULL" for a, _ in pairs) + (
                f" AND NOT EXISTS (SELECT 1 FROM {_quote(parent)} p WHERE "
                + " AND ".join(f"p.{_quote(b)} = {c}.{_quote(a)}" for a, b in pairs)
                + ")"
            )
            missing = [
                r[0]
                for r in dst.execute(
                    f"SELECT DISTINCT {c}.{_quote(pairs[0][0])} FROM {c} WHERE {orphan} ORDER BY 1"
                ).fetchall()
            ]
            if not missing:
                continue
            changed = True
            result = results[child]
            if (
                parent == "projects"
                and on_delete not in ("CASCADE", "SET NULL")
                and len(pairs) == 1
                and all(isinstance(m, int) for m in missing)
            ):
                _stand_in_projects(dst, [int(m) for m in missing], at)
                results[parent].stand_ins.extend(int(m) for m in missing)
                continue
            if on_delete == "SET NULL":
                sets = ", ".join(f"{_quote(a)} = NULL" for a, _ in pairs)
                result.unlinked += dst.execute(f"UPDATE {c} SET {sets} WHERE {orphan}").rowcount
                continue
            dropped = dst.execute(f"DELETE FROM {c} WHERE {orphan}").rowcount
            result.dropped += dropped
            result.copied -= dropped
            reason = f"their {parent} rows were lost ({pairs[0][0]} {_few_ids(missing)})"
            result.dropped_because = "; ".join(filter(None, [result.dropped_because, reason]))


def _id_columns(table: str) -> set[str]:
    """Column names that hold ids of ``table``'s rows besides declared foreign keys.

    E.g. ``dataset_id`` for ``datasets`` (in events, iterations...) and ``sample_id`` for
    ``review_samples``.
    """
    one = table[:-1] if table.endswith("s") else table
    return {f"{one}_id", f"{one.rsplit('_', 1)[-1]}_id"}


def _used_ids(dst: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    """Return, per table, the largest id other rows of the new database refer to."""
    out: dict[str, int] = {}
    for child in tables:
        columns = [str(r[1]) for r in dst.execute(f"PRAGMA table_info({_quote(child)})")]
        targets = {
            str(fk[3]): str(fk[2])
            for fk in dst.execute(f"PRAGMA foreign_key_list({_quote(child)})")
        }
        for table in tables:
            for column in columns:
                if targets.get(column) != table and column not in _id_columns(table):
                    continue
                found = dst.execute(
                    f"SELECT max({_quote(column)}) FROM {_quote(child)} "
                    f"WHERE typeof({_quote(column)}) = 'integer'"
                ).fetchone()
                if found[0] is not None:
                    out[table] = max(out.get(table, 0), int(found[0]))
    return out


def _numbered(folder: Path, suffix: str = "") -> list[int]:
    """Ids named by the entries of ``folder`` (``3`` or ``3.parquet``), sorted."""
    if not folder.is_dir():
        return []
    ids = []
    for entry in folder.iterdir():
        name = entry.name
        if suffix:
            if not (name.endswith(suffix) and entry.is_file()):
                continue
            name = name[: -len(suffix)]
        elif not entry.is_dir():
            continue
        if name.isdigit():
            ids.append(int(name))
    return sorted(ids)


def _copy_owned(source: Path, target: Path, dst_files: Path) -> bool:
    """Copy a file, or a folder's files, from the damaged store's folder to the new one's.

    Returns False (leaving nothing of it) when the source cannot be read; a full or
    read-only disk under ``dst_files`` raises :class:`DiskFull` or :class:`StoreReadOnly`.
    """
    try:
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            return True
        for path in sorted(source.rglob("*")):
            into = target / path.relative_to(source)
            if path.is_dir():
                into.mkdir(parents=True, exist_ok=True)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)
        return True
    except OSError as exc:
        writing = Path(str(exc.filename or "")).is_relative_to(dst_files)
        if exc.errno in _NO_ROOM or (writing and exc.errno in _NOT_ALLOWED):
            raise _recover_fault(exc, dst_files) or exc from exc
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
        return False  # e.g. a bad sector under the damaged store's file


def _copy_store_files(src_files: Path, dst_files: Path, dst: Path, report: RecoveryReport) -> None:
    """Copy the datasets' and annotation sets' files the new store's rows own."""
    conn = sqlite3.connect(dst)
    try:
        datasets = [int(r[0]) for r in conn.execute("SELECT id FROM datasets ORDER BY id")]
        sets = [int(r[0]) for r in conn.execute("SELECT id FROM annotation_sets ORDER BY id")]
    finally:
        conn.close()
    for did in datasets:
        source = src_files / str(did)
        if all((source / name).is_file() for name in (FRAME_FILE, TAGS_FILE)) and _copy_owned(
            source, dst_files / str(did), dst_files
        ):
            report.datasets_copied.append(did)
        else:
            report.dataset_files_missing.append(did)
    report.datasets_lost = [d for d in _numbered(src_files) if d not in set(datasets)]
    for set_id in sets:
        name = Path(ANNOTATIONS_DIR) / f"{set_id}.parquet"
        if not (
            (src_files / name).is_file()
            and _copy_owned(src_files / name, dst_files / name, dst_files)
        ):
            report.annotation_files_missing.append(set_id)


def _build_recovered(
    src: sqlite3.Connection, dst: sqlite3.Connection, source: Path, target: Path
) -> RecoveryReport:
    """Create the schema in ``dst`` and copy every readable row of ``src`` into it."""
    version = int(src.execute("PRAGMA user_version").fetchone()[0])
    schema = src.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    tables = [
        (str(n), str(s)) for t, n, s in schema if t == "table" and not str(n).startswith("sqlite_")
    ]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"{source} has schema version {version}, newer than this Slicewise "
            f"understands ({len(MIGRATIONS)}); recover it with a newer Slicewise"
        )
    if version < 1 or "projects" not in {n for n, _ in tables}:
        raise StoreError(
            f"{source} is not a Slicewise database (it has no projects table at "
            f"schema version {version}); give the damaged store with --db"
        )
    sequences: dict[str, int] = {}
    try:
        sequences = {
            str(n): int(s)
            for n, s in src.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        }
    except sqlite3.DatabaseError as exc:  # damaged: the ids read (and files) stand in
        if _sqlite_code(exc) not in _UNREADABLE:
            raise
    src_files = files_dir_of(source)
    report = RecoveryReport(
        source, target, version, {name: TableRecovery(name) for name, _ in tables}
    )
    dst.execute("BEGIN")
    for _, sql in tables:
        dst.execute(sql)
    largest: dict[str, int] = {}
    src.execute("BEGIN")  # one snapshot of the damaged file
    try:
        for name, sql in tables:
            auto = "AUTOINCREMENT" in sql.upper()
            shape = _table_shape(src, name, sequences.get(name, 0) if auto and sequences else None)
            top = _copy_table(src, dst, shape, report.tables[name])
            if top is not None:
                largest[name] = top
    finally:
        if src.in_transaction:
            src.execute("ROLLBACK")  # it only read
    names = [n for n, _ in tables]
    used = _used_ids(dst, names)
    used["datasets"] = max([used.get("datasets", 0), *_numbered(src_files)])
    used["annotation_sets"] = max(
        [used.get("annotation_sets", 0), *_numbered(src_files / ANNOTATIONS_DIR, ".parquet")]
    )
    _settle_links(dst, names, report.tables)
    for t, _, sql in schema:  # indexes, views and triggers, now that the rows are in
        if t in ("index", "view", "trigger"):
            dst.execute(sql)
    dst.execute("DELETE FROM sqlite_sequence")
    for name, sql in tables:  # no id of a lost row is given to a new one
        if "AUTOINCREMENT" in sql.upper():
            seq = max(sequences.get(name, 0), largest.get(name, 0), used.get(name, 0))
            if seq > 0:
                dst.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [name, seq])
    broken = dst.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StoreError(
            f"recovering {source} left rows pointing at lost rows ({broken[:3]}); "
            "nothing was kept: report this as a bug"
        )
    dst.execute(f"PRAGMA user_version = {version}")
    dst.execute("COMMIT")
    if any(t.damaged for t in report.tables.values()):
        dst.execute("VACUUM")  # ranges read out of order leave pages half full
    return report


def recover_store(damaged: str | Path, new: str | Path) -> RecoveryReport:
    """Copy every row still readable in a damaged store, and its files, into a new store.

    The way out of a store that failed ``PRAGMA quick_check`` (:class:`StoreDamaged`)
    that works with any SQLite (Debian's 3.40 ``sqlite3`` lacks the dbpage extension that
    its ``.recover`` needs). The damaged file is opened read-only and never changed. The
    new database gets the damaged one's schema, every table's readable rows with their
    ids and keys (around a damaged page, the rest of the table is searched by key ranges:
    see :func:`_copy_table`), the id sequences (no id of a lost row is reused) and then the
    newest schema (:class:`Store` migrates it); rows whose parent was lost are settled as
    deleting the parent would have (``ON DELETE``), and lost projects that rows belong to
    get stand-in rows. Each surviving dataset's folder and annotation set's file is copied
    from ``<damaged stem>_files/`` to ``<new stem>_files/`` (:func:`files_dir_of`).

    Parameters
    ----------
    damaged
        The damaged database file (read, never written).
    new
        The database file to create; it and its files folder must not exist.

    Returns
    -------
    RecoveryReport
        Per table the rows copied and lost, the datasets copied and lost.

    Raises
    ------
    StoreError
        ``damaged`` does not exist or is not a Slicewise database (or is newer than this
        Slicewise), or ``new`` or its files folder exists already.
    StoreDamaged
        ``damaged``'s first pages (its schema) are damaged: nothing can be read.
    DiskFull, StoreReadOnly
        The new store could not be written; nothing of it is left behind.
    """
    source = Path(damaged).expanduser()
    target = Path(new).expanduser()
    src_files, dst_files = files_dir_of(source), files_dir_of(target)
    if not source.is_file():
        raise StoreError(f"{source} does not exist: give the damaged database with --db")
    for path in (target, dst_files):
        if path.exists():
            raise StoreError(
                f"{path} already exists: recovering never overwrites a store; "
                "choose a new path with --to, or move it away"
            )
    src = _open_damaged(source)
    made: list[Path] = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        made = [
            target,
            *(target.with_name(target.name + s) for s in ("-journal", "-wal", "-shm")),
            dst_files,
        ]
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            report = _build_recovered(src, dst, source, target)
        finally:
            dst.close()
        _copy_store_files(src_files, dst_files, target, report)
        with Store(target) as store:  # migrates to the newest schema; checks the file
            if store.read_only:
                raise StoreError(
                    f"the recovered store {target} opens read-only: {store.read_only_reason}"
                )
            if not store.roles_enforced() and any(
                report.tables[t].damaged for t in ("members", "events") if t in report.tables
            ):
                report.warnings.append(
                    "the recovered store has no members and no record of a sign-in, so "
                    "anyone may write to it; its members or events were damaged, so it may "
                    "have had roles: give owners their role with slicewise members set"
                )
    except BaseException as exc:
        for path in made:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        fault = _recover_fault(exc, target) if not isinstance(exc, DataError) else None
        if fault is not None:
            raise fault from exc
        raise
    finally:
        src.close()
    return report
