"""Constants and small checks shared by every kind of record in the store.

Names, users and ids a caller passes are checked here (:func:`_clean_name`,
:func:`_clean_user`, :func:`_check_id`); example ids are matched as text (:func:`_id_strings`,
:func:`_locate`).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    StoreValueError,
)

DEFAULT_DB_ENV = "SLICEWISE_DB"


SETTING_RANGE = (1, 5)  # importance and ease


#: Most characters of a name a person gives: a project, dataset, tag, annotation set or model
#: (a member may be as long as a signed-in identity, ``core.auth_config.MAX_IDENTITY_LENGTH``).
MAX_NAME_CHARS = 200


#: Where a tag's status is known from its base values or rule: on every example, on the
#: model's errors only, or nowhere (a hand-made tag: known only where reviewed).
TAG_SCOPES = ("all", "errors", "none", "auto")


def files_dir_of(db: Path) -> Path:
    """Return the folder of a store's dataset files: ``<db stem>_files/`` beside ``db``."""
    return db.parent / f"{db.stem}_files"


def default_db_path() -> Path:
    """Return the database path: ``$SLICEWISE_DB``, else ``~/.slicewise/slicewise.db``."""
    env = os.environ.get(DEFAULT_DB_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".slicewise" / "slicewise.db"


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
        raise StoreValueError(f"{what} must be a non-empty text, got {value!r}")
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
        raise StoreValueError(f"user must name the person making the change, got {user!r}")
    return user.strip()


def _check_id(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StoreValueError(f"{what} id must be an integer, got {value!r}")
    return int(value)


def _row_by_id(store: Any, table: str, value: Any, what: str, columns: str = "*") -> dict[str, Any]:
    """Return ``columns`` of the row of ``table`` whose id is ``value``.

    ``store`` is the :class:`~core.store.store.Store` (its ``_rows``); ``what`` names the
    record in messages, e.g. ``"dataset"``.

    Raises
    ------
    StoreValueError
        ``value`` is not an integer (:func:`_check_id`).
    NotFoundError
        No row has that id (``no dataset with id 7``).
    """
    rid = _check_id(value, what)
    rows = store._rows(f"SELECT {columns} FROM {table} WHERE id = ?", [rid])
    if not rows:
        raise NotFoundError(f"no {what} with id {rid}")
    return rows[0]


def _check_same_project(dataset: dict[str, Any], project_id: int, why: str = "") -> int:
    """Return the dataset's id when its row belongs to ``project_id``.

    Raises
    ------
    ConflictError
        It belongs to another project (the message ends with ``why`` when given).
    """
    if dataset["project_id"] != project_id:
        raise ConflictError(
            f"dataset {dataset['id']} belongs to project {dataset['project_id']}, "
            f"not {project_id}" + (f": {why}" if why else "")
        )
    return int(dataset["id"])


def _check_bool(value: Any, what: str) -> bool:
    """Return ``value`` as a bool; it must be ``True`` or ``False`` (numpy's too).

    Raises
    ------
    StoreValueError
        Anything else, e.g. ``1`` or ``"yes"``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise StoreValueError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def _check_text(value: Any, what: str) -> str:
    """Return ``value`` without surrounding spaces; it must be text (may be empty).

    Raises
    ------
    StoreValueError
        ``value`` is not a ``str``.
    """
    if not isinstance(value, str):
        raise StoreValueError(f"{what} must be text, got {value!r}")
    return value.strip()


def _stamped(record: dict[str, Any], user: str, at: str) -> dict[str, Any]:
    """Return ``record`` with ``created_at``/``created_by`` and ``updated_at``/``updated_by``."""
    return {**record, "created_at": at, "created_by": user, "updated_at": at, "updated_by": user}


def _insert(store: Any, table: str, record: dict[str, Any]) -> int:
    """Insert ``record`` into ``table`` (through ``store.db``); return its new id."""
    return int(store.db[table].insert(record).last_pk)


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


def _check_scope(scope: Any, what: str) -> str:
    if not isinstance(scope, str) or scope not in TAG_SCOPES:
        raise StoreValueError(
            f"{what}: unknown scope {scope!r}; use one of {', '.join(TAG_SCOPES)}"
        )
    return scope


def _check_setting(name: str, value: Any) -> float | int:
    if name == "hlp":
        ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if not ok or not (0.0 <= float(value) <= 1.0):
            raise StoreValueError(
                f"hlp (human-level performance) must be a number from 0 to 1, got {value!r}"
            )
        return float(value)
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    low, high = SETTING_RANGE
    if not ok or not (low <= int(value) <= high):
        raise StoreValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _clean_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a version typed as a number, e.g. 2 or 1.1
    if not isinstance(value, str):
        raise StoreValueError(f"{what} must be text, got {value!r}")
    return value.strip()
