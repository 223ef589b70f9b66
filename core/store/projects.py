"""Projects and their history (the append-only ``events`` log)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slicewise.core import access
from slicewise.core.store.common import (
    _check_id,
    _clean_name,
    _clean_user,
    _now,
    _row_by_id,
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


class ProjectsMixin:
    """Create and list projects; read their history of events."""

    def _project_row(self, project_id: Any) -> dict[str, Any]:
        return _row_by_id(self, "projects", project_id, "project")

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
