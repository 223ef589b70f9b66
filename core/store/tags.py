"""Tags of a project: list, create, rename, merge and delete.

A tag belongs to a project; every dataset of the project lists it. Its value on an
example of dataset d is the example's hand value (tag_overrides, keyed by example id,
shared by every dataset of the project) if a person set one, else the OR of the
tags.parquet columns seeding it in d (tag_bases; none: False).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    NameTakenError,
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _clean_name,
    _clean_user,
    _few,
    _insert,
    _locate,
    _now,
    _stamped,
)
from slicewise.core.store.files import (
    TAGS_FILE,
    _read_parquet,
)


def _check_merge(sources: Any, target: Any, user: Any) -> tuple[list[str], str, str]:
    """Return a merge's sources (a list without repeats), target and user, checked.

    Raises
    ------
    StoreValueError
        No source, a blank target or user.
    InvalidValueError
        A target name too long (:func:`_clean_name`).
    """
    if isinstance(sources, str):
        sources = [sources]
    sources = list(dict.fromkeys(sources))
    if not sources:
        raise StoreValueError("merging tags needs at least one source tag")
    return sources, _clean_name(target, "tag name"), _clean_user(user)


def _merged_bases(
    bases: dict[int, dict[int, dict[str, Any]]], tag_ids: list[int]
) -> list[tuple[int, str, str]]:
    """Return the merged tag's base in each dataset: (dataset id, columns JSON, scope).

    The columns are every merged tag's base columns, in ``tag_ids`` order without repeats;
    the scope is the narrowest of theirs (``none`` < ``errors`` < ``auto`` < ``all``; a tag
    without a base in the dataset counts as ``none``).
    """
    rank = {s: i for i, s in enumerate(("none", "errors", "auto", "all"))}
    new_bases = []
    for d, per_tag in bases.items():
        columns = list(
            dict.fromkeys(c for t in tag_ids for c in per_tag.get(t, {}).get("base_columns", []))
        )
        scope = min(
            (per_tag[t]["scope"] if t in per_tag else "none" for t in tag_ids),
            key=rank.__getitem__,
        )
        new_bases.append((d, json.dumps(columns), scope))
    return new_bases


class TagsMixin:
    """The tags of a project and their base columns in each dataset."""

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
        raise NotFoundError(f"dataset {dataset['id']} has no tag {name!r}; {known}")

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
            row = self._dataset_for_write(dataset_id, user, "create_tag")
            self._check_free_tag(row["project_id"], name)
            at = _now()
            _insert(
                self, "tags", _stamped({"project_id": row["project_id"], "name": name}, user, at)
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
            raise NameTakenError(f"project {project_id} already has a tag named {name!r}")

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
            row = self._dataset_for_write(dataset_id, user, "rename_tag")
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
        sources, target, user = _check_merge(sources, target, user)
        with self._write():
            row = self._dataset_for_write(dataset_id, user, "merge_tags")
            involved, keep = self._merge_involved(row, sources, target)
            if keep is not None and len(involved) == 1:
                return  # merging a tag into itself
            ids = [t["id"] for t in involved]
            bases, hand = self._merge_inputs(ids)
            merged = self._merged_hand_values(row["project_id"], ids, bases, hand)
            new_bases = _merged_bases(bases, ids)
            at = _now()
            removed = [t for t in involved if t is not keep]
            target_id = self._replace_merged(
                row["project_id"], ids, removed, keep, target, user=user, at=at
            )
            self._write_merged(target_id, new_bases, merged, user=user, at=at)
            self._event(
                "tag.merge",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=row["id"],
                sources=sources,
                target=target,
                removed=[t["name"] for t in removed],
            )

    def _merge_involved(
        self, dataset: dict[str, Any], sources: list[str], target: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Return the tag rows a merge involves and the existing target tag (or ``None``).

        The involved tags are the sources in order, then the target when it exists and is
        not a source (merge *into* it).

        Raises
        ------
        NotFoundError
            A source is not a tag of the dataset's project.
        """
        by_name = {t["name"]: t for t in self._tag_rows(dataset["project_id"], dataset["id"])}
        missing = [s for s in sources if s not in by_name]
        if missing:
            raise NotFoundError(
                f"dataset {dataset['id']} has no tag {_few(missing)}; its tags are "
                f"{_few(list(by_name), 12) or 'none'}"
            )
        involved = [by_name[s] for s in sources]
        keep = by_name.get(target)
        if keep is not None and keep not in involved:
            involved.append(keep)
        return involved, keep

    def _merge_inputs(
        self, tag_ids: list[int]
    ) -> tuple[dict[int, dict[int, dict[str, Any]]], list[dict[str, Any]]]:
        """Return the merged tags' bases (dataset -> tag -> base row) and hand values."""
        marks = ", ".join("?" * len(tag_ids))
        bases: dict[int, dict[int, dict[str, Any]]] = {}  # dataset -> tag -> base row
        for b in self._rows(
            f"SELECT tag_id, dataset_id, base_columns, scope FROM "
            f"tag_bases WHERE tag_id IN ({marks})",
            tag_ids,
        ):
            b["base_columns"] = json.loads(b["base_columns"])
            bases.setdefault(b["dataset_id"], {})[b["tag_id"]] = b
        hand = self._rows(
            f"SELECT tag_id, example_id, value FROM tag_overrides WHERE tag_id IN ({marks})",
            tag_ids,
        )
        return bases, hand

    def _replace_merged(
        self,
        project_id: int,
        tag_ids: list[int],
        removed: list[dict[str, Any]],
        keep: dict[str, Any] | None,
        target: str,
        *,
        user: str,
        at: str,
    ) -> int:
        """Delete the merged tags' hand values, bases and ``removed`` tags; return the target.

        The target is ``keep`` (its ``updated_at``/``updated_by`` touched) or, when no tag
        is called ``target``, a new tag added last.
        """
        marks = ", ".join("?" * len(tag_ids))
        self.db.execute(f"DELETE FROM tag_overrides WHERE tag_id IN ({marks})", tag_ids)
        self.db.execute(f"DELETE FROM tag_bases WHERE tag_id IN ({marks})", tag_ids)
        for t in removed:
            self.db.execute("DELETE FROM tags WHERE id = ?", [t["id"]])
        if keep is None:
            record = {"project_id": project_id, "name": target}
            return _insert(self, "tags", _stamped(record, user, at))
        self.db.execute(
            "UPDATE tags SET updated_at = ?, updated_by = ? WHERE id = ?",
            [at, user, keep["id"]],
        )
        return keep["id"]

    def _write_merged(
        self,
        target_id: int,
        new_bases: list[tuple[int, str, str]],
        merged: dict[str, bool],
        *,
        user: str,
        at: str,
    ) -> None:
        """Give the merged tag its bases (:func:`_merged_bases`) and hand values."""
        self.db.conn.executemany(
            "INSERT INTO tag_bases (tag_id, dataset_id, base_columns, scope) VALUES (?, ?, ?, ?)",
            [(target_id, d, c, sc) for d, c, sc in new_bases],
        )
        self.db.conn.executemany(
            'INSERT INTO tag_overrides (tag_id, example_id, value, "user", at) '
            "VALUES (?, ?, ?, ?, ?)",
            [(target_id, e, int(v), user, at) for e, v in merged.items()],
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
            row = self._dataset_for_write(dataset_id, user, "delete_tag")
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
