"""Schema migrations: step ``i`` takes ``PRAGMA user_version`` from ``i`` to ``i + 1``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

from slicewise.core.store.common import (
    _now,
)
from slicewise.core.store.schema import (
    _DROP_V3,
    _SCHEMA_V1,
    _SCHEMA_V2,
    _SCHEMA_V3,
    _SCHEMA_V4,
    _SCHEMA_V5,
    _SCHEMA_V6,
)

#: Who the migration's events name.
MIGRATION_USER = "slicewise (schema 4)"


#: At most this many conflicting examples are listed in a migration event (all are counted).
_MIGRATION_LISTED = 200


def _query(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _migration_1_initial_schema(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


def _migration_2_iterations(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V2:
        db.execute(statement)


def _migration_3_annotation_sets(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V3:
        db.execute(statement)


class _Notes:
    """What the migration to schema 4 reports, per project (one ``schema.migrate`` event each)."""

    def __init__(self) -> None:
        self.report: dict[int, dict[str, Any]] = {}

    def __call__(self, pid: int, key: str | None = None, item: Any = None) -> None:
        """Count project ``pid`` in; with ``key``, add ``item`` to its list (or conflicts)."""
        entry = self.report.setdefault(
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
    note = _Notes()
    new_id, names, project_of = _move_v3_tags(db, note)
    _move_v3_hand_values(db, note, new_id, names, project_of)
    _move_v3_corrections(db, note)
    for statement in _DROP_V3:
        db.execute(statement)
    for pid, detail in note.report.items():
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


def _move_v3_tags(
    db: sqlite_utils.Database, note: _Notes
) -> tuple[dict[int, int], dict[int, str], dict[int, int]]:
    """Merge the schema-3 tags of one name in a project into one project tag.

    Returns each old tag id's new id, and each new tag's name and project.
    """
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
        _move_v3_tag(db, note, pid, name, rows)
        first = rows[0]
        project_of[first["id"]] = pid
        names[first["id"]] = name
        for r in rows:
            new_id[r["id"]] = first["id"]
    return new_id, names, project_of


def _move_v3_tag(
    db: sqlite_utils.Database, note: _Notes, pid: int, name: str, rows: list[dict]
) -> None:
    """Insert the project tag of the schema-3 tags ``rows`` (one name in one project)."""
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
    for r in rows:
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


def _move_v3_hand_values(
    db: sqlite_utils.Database,
    note: _Notes,
    new_id: dict[int, int],
    names: dict[int, str],
    project_of: dict[int, int],
) -> None:
    """Union the schema-3 hand values per project tag; the latest ``at`` wins a conflict."""
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


def _move_v3_corrections(db: sqlite_utils.Database, note: _Notes) -> None:
    """Copy the corrections (keeping their ids); note examples whose datasets disagreed."""
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


#: The schema version that has the members table.
_MEMBERS_SCHEMA = 5


def _migration_5_members(db: sqlite_utils.Database) -> None:
    """Add project members (none: the store stays open, as before)."""
    for statement in _SCHEMA_V5:
        db.execute(statement)


def _migration_6_production_samples(db: sqlite_utils.Database) -> None:
    """Add production samples and per-feature drift thresholds."""
    for statement in _SCHEMA_V6:
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
    _migration_6_production_samples,
]
