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

The store is a package with one module per kind of record: each is a mixin of
:class:`Store` (:mod:`~core.store.store`), which composes them, so every method is called
on a :class:`Store` as ``store.x(...)``:

- :mod:`~core.store.connection` opens, checks and migrates the database and runs its
  transactions; :mod:`~core.store.faults` turns faults of the file or the disk into typed
  errors; :mod:`~core.store.schema` and :mod:`~core.store.migrations` hold the schema steps.
- :mod:`~core.store.projects` (projects and their events), :mod:`~core.store.members`
  (roles), :mod:`~core.store.datasets`, :mod:`~core.store.tags`,
  :mod:`~core.store.tag_values`, :mod:`~core.store.tag_settings`,
  :mod:`~core.store.reviews`, :mod:`~core.store.review_samples`, :mod:`~core.store.undo`,
  :mod:`~core.store.corrections`, :mod:`~core.store.reports`,
  :mod:`~core.store.iterations`, :mod:`~core.store.annotation_sets` and
  :mod:`~core.store.review_decisions`.
- :mod:`~core.store.recovery` (with :mod:`~core.store.recovery_scan` and
  :mod:`~core.store.recovery_report`) copies what can be read of a damaged store.
- :mod:`~core.store.common` and :mod:`~core.store.files` hold the checks and file helpers
  they share.
"""

from slicewise.core.store.annotation_sets import ANNOTATION_COLUMNS
from slicewise.core.store.common import (
    DEFAULT_DB_ENV,
    MAX_NAME_CHARS,
    SETTING_RANGE,
    TAG_SCOPES,
    default_db_path,
    files_dir_of,
)
from slicewise.core.store.connection import BUSY_TIMEOUT_MS
from slicewise.core.store.faults import CHECKED_XATTR
from slicewise.core.store.files import (
    ANNOTATIONS_DIR,
    FRAME_FILE,
    STALE_STAGING_SECONDS,
    TAGS_FILE,
)
from slicewise.core.store.members import FIRST_USER_EVENT
from slicewise.core.store.migrations import MIGRATION_USER, MIGRATIONS, Migration
from slicewise.core.store.production import PRODUCTION_DIR
from slicewise.core.store.recovery import RECOVER_USER, recover_store
from slicewise.core.store.recovery_report import RecoveryReport, TableRecovery
from slicewise.core.store.recovery_scan import RECOVER_SEARCH_LIMIT
from slicewise.core.store.store import Store

__all__ = [
    "ANNOTATIONS_DIR",
    "ANNOTATION_COLUMNS",
    "BUSY_TIMEOUT_MS",
    "CHECKED_XATTR",
    "DEFAULT_DB_ENV",
    "FIRST_USER_EVENT",
    "FRAME_FILE",
    "MAX_NAME_CHARS",
    "MIGRATIONS",
    "MIGRATION_USER",
    "PRODUCTION_DIR",
    "RECOVER_SEARCH_LIMIT",
    "RECOVER_USER",
    "SETTING_RANGE",
    "STALE_STAGING_SECONDS",
    "TAGS_FILE",
    "TAG_SCOPES",
    "Migration",
    "RecoveryReport",
    "Store",
    "TableRecovery",
    "default_db_path",
    "files_dir_of",
    "recover_store",
]
