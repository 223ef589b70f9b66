"""Tag values: hand values set by a person or a rule, and the tag matrix of a dataset."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_bool,
    _check_scope,
    _clean_user,
    _id_strings,
    _locate,
    _now,
)
from slicewise.core.store.files import (
    TAGS_FILE,
    _read_parquet,
    _to_ipc,
)


@dataclass
class _HandPlan:
    """What recording a hand value on examples changes (one entry per wanted id)."""

    ids: np.ndarray  #: the wanted ids as text (object)
    before: np.ndarray  #: int8: each id's stored hand value, -1 where it has none
    changed: np.ndarray  #: bool: its current value differs from the new one
    write: np.ndarray  #: bool: a hand value is recorded (none stored, or a different one)
    found: tuple[np.ndarray, ...]  #: the stored hand values (ids, values, users, ats)
    where: np.ndarray  #: each id's position in ``found``, -1 where it has none

    @property
    def n_changed(self) -> int:
        """How many examples change value."""
        return int(self.changed.sum())

    @property
    def n_write(self) -> int:
        """How many hand values are recorded."""
        return int(self.write.sum())

    def undo_rows(self) -> bytes:
        """Return the recorded ids' previous hand values (Arrow IPC, for the undo log).

        Columns ``example_id``, ``value`` (-1: none), ``user`` and ``at`` (null: none).
        """
        found_ids, _, found_users, found_ats = self.found
        has = self.where >= 0
        taken = np.where(has, self.where, 0)[self.write]
        had = has[self.write]
        return _to_ipc(
            {
                "example_id": pa.array(self.ids[self.write], type=pa.string()),
                "value": pa.array(self.before[self.write], type=pa.int8()),
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


class TagValuesMixin:
    """Set hand values of tags and read a dataset's current tag values."""

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
            raise StoreValueError(f"a rule must be given as text, got {rule!r}")
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
        """Record a tag's hand value on examples; return how many of the dataset changed.

        :meth:`set_tag` (``scope=None``) and :meth:`apply_tag_rule` (a rule's ``scope``,
        widened to the tag's scope before, and its ``rule`` text) in one transaction.
        """
        user = _clean_user(user)
        value = _check_bool(value, "a tag value")
        wanted = _id_strings(example_ids)
        did, frame_ids, pos = self._examples_in_dataset(dataset_id, wanted)
        with self._write():
            action = "set_tag" if scope is None else "apply_tag_rule"
            row = self._dataset_for_write(did, user, action)
            tag_row = self._tag_row(row, tag)
            scope_before = tag_row["scope"]
            if scope is not None:  # a rule widens where the tag is known, never narrows it
                order = ("none", "errors", "auto", "all")
                scope = max(scope, scope_before, key=order.index)
            new_scope = scope is not None and scope != scope_before
            if not len(wanted) and not new_scope:
                return 0
            plan = self._plan_hand_values(did, tag_row, wanted, frame_ids, pos, value)
            if not plan.n_write and not new_scope:
                return 0
            at = _now()
            self._write_hand_values(tag_row["id"], plan, value, scope is not None, user, at)
            if scope is not None:
                self._set_scope(row, tag_row, scope)
            self._record_hand_values(
                row, tag_row, plan, value, (scope_before, scope, rule), user=user, at=at
            )
            return plan.n_changed

    def _plan_hand_values(
        self,
        dataset_id: int,
        tag_row: dict[str, Any],
        wanted: pd.Index,
        frame_ids: pd.Series,
        pos: np.ndarray,
        value: bool,
    ) -> _HandPlan:
        """Read a tag's stored hand values and base values of ``wanted`` (rows ``pos``).

        Returns which examples change value and which get a hand value recorded.
        """
        ids = np.asarray(wanted, dtype=object)
        found = self._hand_values_of(tag_row["id"], ids)
        where = _locate(pd.Series(found[0], dtype=object), ids)
        has = where >= 0
        before = np.full(len(ids), -1, dtype=np.int8)
        before[has] = found[1][where[has]]
        base = self._current(dataset_id, [tag_row], frame_ids, pos, overrides=False)[:, 0]
        current = np.where(has, before == 1, base)
        return _HandPlan(
            ids=ids,
            before=before,
            changed=current != value,
            write=before != int(value),
            found=found,
            where=where,
        )

    def _write_hand_values(
        self, tag_id: int, plan: _HandPlan, value: bool, by_rule: bool, user: str, at: str
    ) -> None:
        """Upsert the planned hand values (``plan.write``) and touch the tag's row."""
        # One statement over a JSON array: much faster than a row-by-row executemany.
        self.db.execute(
            'INSERT INTO tag_overrides (tag_id, example_id, value, "user", at, by_rule) '
            "SELECT ?, j.value, ?, ?, ?, ? FROM json_each(?) AS j WHERE true "
            "ON CONFLICT (tag_id, example_id) DO UPDATE SET value = excluded.value, "
            '"user" = excluded."user", at = excluded.at, by_rule = excluded.by_rule',
            [
                tag_id,
                int(value),
                user,
                at,
                int(by_rule),
                json.dumps(plan.ids[plan.write].tolist(), ensure_ascii=False),
            ],
        )
        self.db.execute(
            "UPDATE tags SET updated_at = ?, updated_by = ? WHERE id = ?",
            [at, user, tag_id],
        )

    def _record_hand_values(
        self,
        dataset: dict[str, Any],
        tag_row: dict[str, Any],
        plan: _HandPlan,
        value: bool,
        rule_scope: tuple[str, str | None, str],
        *,
        user: str,
        at: str,
    ) -> None:
        """Log a hand-value change for :meth:`undo_last` and its event.

        ``rule_scope`` is (scope before, scope after or ``None`` when no rule, rule text):
        a rule's change is a ``tag.rule`` event whose undo restores the scope too; else
        ``tag.set``.
        """
        scope_before, scope, rule = rule_scope
        tag = tag_row["name"]
        n_write, n_changed = plan.n_write, plan.n_changed
        previous: dict[str, Any] = {"value": int(value)}
        verb = "tagged" if value else "untagged"
        what = f"{verb} {n_write:,} example{'s' if n_write != 1 else ''} as {tag!r}"
        detail: dict[str, Any] = {
            "tag": tag,
            "value": value,
            "changed": n_changed,
            "example_ids": list(plan.ids[plan.changed][:20]),
        }
        if n_write != n_changed:
            detail["recorded"] = n_write
        kind = "tag.set"
        if scope is not None:
            previous["scope"] = {
                "dataset_id": dataset["id"],
                "before": scope_before,
                "after": scope,
            }
            what = (
                f"rule {rule!r}: {what} (scope {scope})"
                if rule
                else f"rule: {what} (scope {scope})"
            )
            detail.update(scope=scope, rule=rule)
            kind = "tag.rule"
        rows = plan.undo_rows()
        self._log_change(dataset, kind, tag_row["id"], what, previous, rows, user=user, at=at)
        self._event(
            kind,
            user=user,
            at=at,
            project_id=dataset["project_id"],
            dataset_id=dataset["id"],
            **detail,
        )

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
