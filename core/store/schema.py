"""The SQL of each schema version of the store (applied by :mod:`core.store.migrations`)."""

from __future__ import annotations

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


# Production samples (issue 18): a table of predictions from the traffic a model now serves,
# stored with the labelled dataset it was uploaded against (its reference, dataset_id: the
# sample is read with that dataset's column roles, so it belongs to it and goes with it) as a
# Parquet file (files_dir/production_samples/<id>.parquet), with who uploaded it and when;
# and the drift alarm threshold of each feature, per project (a feature without a row: the
# default).
_SCHEMA_V6 = [
    """CREATE TABLE production_samples (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source_name TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        row_count INTEGER NOT NULL,
        time_column TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        UNIQUE (dataset_id, name)
    )""",
    "CREATE INDEX production_samples_project ON production_samples (project_id)",
    """CREATE TABLE drift_thresholds (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        feature TEXT NOT NULL,
        threshold REAL NOT NULL CHECK (threshold >= 0),
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (project_id, feature)
    ) WITHOUT ROWID""",
]
