"""Provenance and lineage of a project as one JSON document.

The lecture asks to keep track of where data comes from (provenance) and the sequence of
steps applied to it (lineage). The store already records both; :func:`export_lineage`
gathers them for one project:

- ``datasets``: every dataset with its source file name, content hash (SHA-256 of the file),
  row count, column mapping, task, who saved it and when, its current tags (who created and
  last changed each, with HLP, importance and ease) and its active label corrections;
- ``annotation_sets``: multi-annotator label files with their review decisions (every
  decision ever made, with who and when);
- ``iterations``: each saved iteration (model name and version, data version, notes, the
  dataset's hash and fingerprint) with its per-slice table;
- ``rules``: every change to tags (created, renamed, merged, deleted, examples tagged or
  untagged by hand or by a rule, HLP and weights set), from the event log;
- ``decisions``: label corrections and reverts, review decisions and HLP taken from
  annotators, from the event log;
- ``events``: the whole append-only log of the project, oldest first.

Every value is plain JSON (missing numbers are ``null``), so :func:`load_lineage` of
``json.dumps(export_lineage(...))`` gives back an equal dict.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.dataset import ColumnMapping
from slicewise.core.errors import FileFormatError, InvalidValueError
from slicewise.core.jsonable import dumps_json, json_ready
from slicewise.core.store import Store

FORMAT = "slicewise-lineage"
VERSION = 1
#: The lists every lineage document holds.
SECTIONS = ("datasets", "annotation_sets", "iterations", "rules", "decisions", "events")
_RULE_PREFIXES = ("tag.",)
_DECISION_PREFIXES = ("label.", "review.", "annotation_set.hlp")


def _plain(value: Any) -> Any:
    """Turn a value into plain JSON: dicts, lists, text, numbers, booleans and ``None``.

    Containers, dataclasses and :class:`core.dataset.ColumnMapping` are walked here; every
    scalar goes through :func:`core.jsonable.json_ready` (numpy unboxed, missing and
    non-finite numbers ``None``, dates ISO 8601); bytes are decoded and anything else is
    written as its text.
    """
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Index, pd.Series)):
        return [_plain(v) for v in list(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, ColumnMapping):
        return _plain(value.to_dict())
    if isinstance(value, np.generic):
        value = value.item()
    value = json_ready(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        _plain(dict(zip(frame.columns, row, strict=True)))
        for row in frame.itertuples(index=False, name=None)
    ]


def _event_record(row: dict[str, Any]) -> dict[str, Any]:
    detail = row.get("detail")
    try:
        row["detail"] = json.loads(detail) if isinstance(detail, str) else detail
    except json.JSONDecodeError:
        pass  # keep the text
    return _plain(row)


def _table(table: pd.DataFrame) -> dict[str, Any]:
    """Return a per-slice table as ``{"columns": [...], "rows": [{"slice": ..., ...}]}``."""
    rows = []
    for name, row in zip(table.index, table.itertuples(index=False, name=None), strict=True):
        rows.append({"slice": str(name), **_plain(dict(zip(table.columns, row, strict=True)))})
    return {"columns": ["slice", *map(str, table.columns)], "rows": rows}


def export_lineage(store: Store, project_id: int) -> dict[str, Any]:
    """Gather the provenance and lineage of one project (see the module notes).

    Parameters
    ----------
    store
        The store.
    project_id
        The project.

    Returns
    -------
    dict
        ``format``, ``version``, ``exported_at``, ``project`` and the lists of
        :data:`SECTIONS`, all plain JSON.

    Raises
    ------
    core.errors.StoreError
        Unknown project.
    """
    projects = store.list_projects()
    row = projects[projects["id"] == project_id]
    store.list_datasets(project_id)  # raises StoreError for an unknown project
    project = _records(row)[0]

    events = _events(store, project_id)
    rules = [
        e for e in events if str(e["kind"]).startswith(_RULE_PREFIXES) or "rule" in str(e["kind"])
    ]
    decisions = [
        e
        for e in events
        if str(e["kind"]).startswith(_DECISION_PREFIXES) or "decision" in str(e["kind"])
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "project": project,
        "datasets": _datasets(store, project_id),
        "annotation_sets": _annotation_sets(store, project_id),
        "iterations": _iterations(store, project_id),
        "rules": rules,
        "decisions": decisions,
        "events": events,
    }


def _datasets(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Return each dataset's information, tags and label corrections, by id."""
    datasets = []
    listed = store.list_datasets(project_id).sort_values("id")
    for did in listed["id"].astype(int):
        info = store.dataset_info(did)
        entry = {k: v for k, v in info.items() if k not in ("mapping", "task")}
        entry["mapping"] = info["mapping"].to_dict()
        entry["task"] = dataclasses.asdict(info["task"])
        entry["tags"] = _records(store.list_tags(did))
        entry["corrections"] = _records(store.corrections(did))
        datasets.append(_plain(entry))
    return datasets


def _annotation_sets(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Return each annotation set's information and review decisions (with history)."""
    annotation_sets = []
    if hasattr(store, "list_annotation_sets"):
        sets = store.list_annotation_sets(project_id).sort_values("id")
        for sid in sets["id"].astype(int):
            entry = store.annotation_set_info(sid)
            entry["review_decisions"] = _records(store.review_decisions(sid, history=True))
            annotation_sets.append(_plain(entry))
    return annotation_sets


def _iterations(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Return the saved iterations, each with its per-slice table."""
    iterations = []
    for record in _records(store.list_iterations(project_id)):
        record["table"] = _table(store.iteration_table(int(record["id"])))
        iterations.append(record)
    return iterations


def _events(store: Store, project_id: int) -> list[dict[str, Any]]:
    """Return the project's events, oldest first, their details parsed."""
    log = store.events()
    log = log[log["project_id"] == project_id]
    return [
        _event_record(dict(zip(log.columns, r, strict=True)))
        for r in log.itertuples(index=False, name=None)
    ]


def lineage_json(lineage: dict[str, Any]) -> str:
    """Return a lineage document as indented JSON text (UTF-8, no NaN): :func:`dumps_json`."""
    return dumps_json(lineage) + "\n"


def load_lineage(source: str | bytes | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a lineage document written by :func:`export_lineage` and check its shape.

    Parameters
    ----------
    source
        JSON text or bytes, a path to a JSON file, or an already parsed dict.

    Returns
    -------
    dict
        The document, equal to what :func:`export_lineage` returned.

    Raises
    ------
    core.errors.FileFormatError
        Not JSON.
    core.errors.InvalidValueError
        JSON, but not a Slicewise lineage document (the message names what is missing).
    """
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise FileFormatError(f"cannot read the lineage file {source}: {exc}") from exc
    if isinstance(source, (str, bytes)):
        try:
            data = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FileFormatError(f"the lineage is not valid JSON: {exc}") from exc
    else:
        data = source
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidValueError(
            f'not a Slicewise lineage document: expected "format": "{FORMAT}" at the top'
        )
    if data.get("version") != VERSION:
        raise InvalidValueError(
            f"lineage version {data.get('version')!r} is not one this Slicewise reads ({VERSION})"
        )
    missing = [k for k in ("project", *SECTIONS) if k not in data]
    if missing:
        raise InvalidValueError(f"the lineage document has no {', '.join(missing)}")
    bad = [k for k in SECTIONS if not isinstance(data[k], list)]
    if bad or not isinstance(data["project"], dict):
        raise InvalidValueError(
            f"in the lineage document, {', '.join(bad) or 'project'} has the wrong type"
        )
    return data


def lineage_summary(lineage: dict[str, Any]) -> pd.DataFrame:
    """Count what a lineage document holds: one row per section with ``items``."""
    return pd.DataFrame(
        {"section": list(SECTIONS), "items": [len(lineage[k]) for k in SECTIONS]}
    ).set_index("section")
