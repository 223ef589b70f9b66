"""Review decisions on annotation sets' items, and HLP taken from them."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_setting,
    _check_text,
    _clean_user,
    _id_strings,
    _now,
    _python_scalar,
)
from slicewise.core.store.files import (
    _read_parquet,
)

#: Kinds of events that decide where a tag's HLP came from (:meth:`Store.hlp_sources`).
_HLP_EVENT_KINDS = ("tag.settings", "tag.rename", "tag.delete", "tag.merge", "annotation_set.hlp")


def _clean_decision(decision: Any) -> str | None:
    decision = _python_scalar(decision)
    if decision is None:
        return None
    if isinstance(decision, bool) or not isinstance(decision, (str, numbers.Real)):
        raise StoreValueError(
            f"a review decision must be a label (text) or 'borderline', got {decision!r}"
        )
    if isinstance(decision, float) and decision.is_integer():
        decision = int(decision)
    text = str(decision).strip()
    return text or None


class ReviewDecisionsMixin:
    """Record and read reviewers' decisions; set tags' HLP from an annotation set."""

    def save_review_decision(
        self, set_id: int, item: Any, *, decision: Any, note: str = "", user: str
    ) -> bool:
        """Record a reviewer's decision on one item of an annotation set.

        Every decision is kept; the latest per item counts (:meth:`review_decisions`).

        Parameters
        ----------
        set_id
            The annotation set.
        item
            One of its items (compared as text).
        decision
            The right label, ``"borderline"`` (ambiguous: a borderline case), or ``None``
            for no decision (a note alone; with no note either, the item's review is
            withdrawn).
        note
            A note, e.g. for the labelling instructions.
        user
            Who decides.

        Returns
        -------
        bool
            Whether anything was recorded (nothing when it repeats the item's latest
            decision and note).

        Raises
        ------
        StoreError
            Unknown annotation set or item, or a decision that is not a label.
        """
        user = _clean_user(user)
        decision = _clean_decision(decision)
        note = _check_text("" if note is None else note, "a review note")
        key = _id_strings([item])[0]
        sid = self._check_item(set_id, key)
        with self._write():
            row = self._annotation_row(sid)
            self._require(row["project_id"], user, "save_review_decision")
            current = self._latest_decision(sid, key)
            if current == (decision, note):
                return False
            self._add_review_decision(row, key, decision, note, current[0], user=user)
            return True

    def _add_review_decision(
        self,
        annotation_set: dict[str, Any],
        key: str,
        decision: str | None,
        note: str,
        previous: str | None,
        *,
        user: str,
    ) -> None:
        """Write a decision on item ``key`` and its ``review.decide`` event.

        Inside :meth:`save_review_decision`'s transaction; ``previous`` is the item's
        decision before.
        """
        at = _now()
        self.db["review_decisions"].insert(
            {
                "annotation_set_id": annotation_set["id"],
                "item": key,
                "decision": decision,
                "note": note,
                "user": user,
                "at": at,
            }
        )
        self._event(
            "review.decide",
            user=user,
            at=at,
            project_id=annotation_set["project_id"],
            annotation_set_id=annotation_set["id"],
            item=key,
            decision=decision,
            note=note,
            previous=previous,
        )

    def _check_item(self, set_id: Any, key: str) -> int:
        """Return the id of an annotation set that has the item ``key`` (text).

        Raises
        ------
        NotFoundError
            Unknown annotation set, or it has no such item.
        """
        row = self._annotation_row(set_id)
        sid = row["id"]
        items = _read_parquet(self._annotation_path(sid), ["item"])["item"].astype(str)
        if not (items == key).any():
            raise NotFoundError(f"annotation set {sid} ({row['name']!r}) has no item {key!r}")
        return sid

    def _latest_decision(self, set_id: int, key: str) -> tuple[str | None, str]:
        """Return an item's latest (decision, note); ``(None, "")`` when it has none."""
        last = self._rows(
            "SELECT decision, note FROM review_decisions WHERE id = ("
            "SELECT MAX(id) FROM review_decisions WHERE annotation_set_id = ? "
            "AND item = ?)",
            [set_id, key],
        )
        return (last[0]["decision"], last[0]["note"]) if last else (None, "")

    def review_decisions(self, set_id: int, *, history: bool = False) -> pd.DataFrame:
        """Return an annotation set's review decisions: the latest per item, oldest first.

        Parameters
        ----------
        set_id
            The annotation set.
        history
            Every decision ever recorded instead (withdrawals included), oldest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``item`` (text), ``decision`` (a label as text, ``"borderline"``, or
            ``None`` for a note alone), ``note``, ``user``, ``at`` (UTC ISO-8601). Items
            whose latest row has neither a decision nor a note are left out.
        """
        sid = self._annotation_row(set_id)["id"]
        cols = ["item", "decision", "note", "user", "at"]
        select = 'SELECT item, decision, note, "user", at FROM review_decisions '
        if history:
            sql, params = select + "WHERE annotation_set_id = ? ORDER BY id", [sid]
        else:
            sql = (
                select + "WHERE id IN (SELECT MAX(id) FROM review_decisions "
                "WHERE annotation_set_id = ? GROUP BY item) "
                "AND (decision IS NOT NULL OR note != '') ORDER BY id"
            )
            params = [sid]
        out = self._frame(sql, params, cols)
        decisions = np.empty(len(out), dtype=object)
        decisions[:] = [d if isinstance(d, str) else None for d in out["decision"]]
        out["decision"] = pd.Series(decisions, index=out.index, dtype=object)
        return out

    def apply_annotation_hlp(
        self, set_id: int, dataset_id: int, hlp: dict[str, float], *, user: str
    ) -> None:
        """Save an annotation set's per-tag HLP as the HLP of a dataset's tags.

        One transaction: :meth:`set_tag_settings` for every tag, then an
        ``annotation_set.hlp`` event naming the set (what :meth:`hlp_sources` reads).

        Parameters
        ----------
        set_id
            The annotation set the values were measured on.
        dataset_id
            The dataset whose tags get the values (usually the set's linked dataset).
        hlp
            ``{tag: accuracy from 0 to 1}``; every tag must exist in the dataset.
        user
            Who applies them.

        Raises
        ------
        StoreError
            Unknown set, dataset or tag, no value, or a value out of range (nothing is
            saved).
        """
        user = _clean_user(user)
        if not isinstance(hlp, dict) or not hlp:
            raise StoreValueError("give the HLP to save as a non-empty {tag: value} dict")
        values = {str(t): _check_setting("hlp", v) for t, v in hlp.items()}
        with self._write():
            info = self._annotation_row(set_id)
            row = self._dataset_for_write(dataset_id, user, "apply_annotation_hlp")
            for tag, value in values.items():
                self.set_tag_settings(row["id"], tag, hlp=value, user=user)
            self._event(
                "annotation_set.hlp",
                user=user,
                at=_now(),
                project_id=row["project_id"],
                dataset_id=row["id"],
                annotation_set_id=info["id"],
                name=info["name"],
                hlp=values,
            )

    def hlp_sources(self, dataset_id: int) -> dict[str, dict[str, Any]]:
        """Return the tags whose current HLP was saved from an annotation set.

        Read from the events of the dataset's project (tags and their settings belong to
        it): a later HLP typed in or cleared, a rename, a merge or a delete ends the link.

        Returns
        -------
        dict
            ``{tag: {"annotation_set_id", "name", "hlp", "user", "at"}}``, only tags that
            still have that HLP.
        """
        row = self._dataset_row(dataset_id)
        did = row["id"]
        marks = ", ".join("?" * len(_HLP_EVENT_KINDS))
        rows = self._rows(
            f'SELECT kind, detail, "user", at FROM events WHERE project_id = ? '
            f"AND kind IN ({marks}) ORDER BY id",
            [row["project_id"], *_HLP_EVENT_KINDS],
        )
        found: dict[str, dict[str, Any]] = {}
        for r in rows:
            detail = json.loads(r["detail"])
            kind = r["kind"]
            if kind == "annotation_set.hlp":
                for tag, value in detail.get("hlp", {}).items():
                    found[tag] = {
                        "annotation_set_id": detail.get("annotation_set_id"),
                        "name": detail.get("name"),
                        "hlp": value,
                        "user": r["user"],
                        "at": r["at"],
                    }
            elif kind == "tag.settings" and "hlp" in detail:
                found.pop(detail.get("tag"), None)
            elif kind == "tag.rename" and detail.get("old") in found:
                found[detail["new"]] = found.pop(detail["old"])
            elif kind == "tag.delete":
                found.pop(detail.get("tag"), None)
            elif kind == "tag.merge":
                for tag in [*detail.get("removed", []), detail.get("target")]:
                    found.pop(tag, None)
        current = self.tag_settings(did)["hlp"]
        return {
            t: v
            for t, v in found.items()
            if t in current and math.isclose(float(current[t]), float(v["hlp"]))
        }
