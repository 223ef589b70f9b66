"""Tag settings (HLP, importance, ease) and scopes (where a tag's status is known)."""

from __future__ import annotations

import json
from typing import Any

from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_scope,
    _check_setting,
    _clean_user,
    _now,
)


def _check_settings(**given: tuple[Any, bool]) -> dict[str, Any]:
    """Return the settings to change: ``{name: checked value, or None to clear}``.

    ``given`` maps ``hlp``, ``importance`` and ``ease`` (in that order) to (new value or
    ``None``, clear it); settings with neither are left out.

    Raises
    ------
    StoreValueError
        A new value and a clear for the same setting, or a value out of range
        (:func:`_check_setting`).
    """
    changes: dict[str, Any] = {}
    for name, (value, clear) in given.items():
        if clear and value is not None:
            raise StoreValueError(f"give either a new {name} or clear_{name}=True, not both")
        if clear:
            changes[name] = None
        elif value is not None:
            changes[name] = _check_setting(name, value)
    return changes


class TagSettingsMixin:
    """Read and change the settings and scopes of tags."""

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
        changes = _check_settings(
            hlp=(hlp, clear_hlp), importance=(importance, clear_importance), ease=(ease, clear_ease)
        )
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "set_tag_settings")
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
            row = self._dataset_for_write(dataset_id, user, "set_tag_scope")
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
