"""The undo log of hand values and review marks (``tag_changes``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from slicewise.core.store.common import (
    _clean_user,
    _now,
)
from slicewise.core.store.files import (
    _from_ipc,
)


class UndoMixin:
    """Log changes to hand values and review marks, and undo a user's last one."""

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
            row = self._dataset_for_write(dataset_id, user, "undo_last")
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
