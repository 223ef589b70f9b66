"""Reviewed examples: which examples of a project a person looked at."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from slicewise.core.errors import (
    ConflictError,
    NotFoundError,
)
from slicewise.core.store.common import (
    _check_bool,
    _clean_user,
    _few,
    _id_strings,
    _locate,
    _now,
)
from slicewise.core.store.files import (
    _to_ipc,
)


class ReviewsMixin:
    """Mark examples reviewed and read where they were."""

    def mark_reviewed(
        self,
        dataset_id: int,
        example_ids: Sequence,
        *,
        user: str,
        reviewed: bool = True,
        sample_id: int | None = None,
    ) -> int:
        """Record that a person looked at examples (for every tag), or withdraw it.

        Reviewed examples belong to the project (matched by example id in every dataset).
        :meth:`undo_last` reverts a call.

        Parameters
        ----------
        dataset_id
            The dataset the ids are checked against.
        example_ids
            Ids as in the frame's ``id`` column (compared as text); duplicates are ignored.
        user
            Who reviewed them.
        reviewed
            ``False`` withdraws: without ``sample_id`` every review mark of the examples
            (those made through samples too); with it, only that sample's.
        sample_id
            The review sample (:meth:`save_review_sample`) the examples were reviewed in;
            they must be in it.

        Returns
        -------
        int
            How many examples changed: became reviewed (or reviewed in the sample), or
            stopped being so.

        Raises
        ------
        StoreError
            Unknown dataset or sample, a sample of another dataset, ids not in the dataset
            or not in the sample, or a non-boolean ``reviewed``.
        """
        user = _clean_user(user)
        reviewed = _check_bool(reviewed, "reviewed")
        wanted = _id_strings(example_ids)
        did, _, _ = self._examples_in_dataset(dataset_id, wanted)
        with self._write():
            row = self._dataset_for_write(did, user, "mark_reviewed")
            pid = row["project_id"]
            sid = self._check_review_sample(did, sample_id, wanted)
            if not len(wanted):
                return 0
            ids = np.asarray(wanted, dtype=object)
            marks, present = self._review_marks(pid, sid, ids)
            at = _now()
            if reviewed:
                changed = ids[~present]
                rows = self._add_review_marks(pid, changed, sid, user=user, at=at)
            else:
                changed = ids[present]
                rows = self._drop_review_marks(pid, marks[marks["example_id"].isin(set(changed))])
            if len(changed):
                self._record_review(row, changed, reviewed, sid, rows, user=user, at=at)
            return len(changed)

    def _check_review_sample(self, dataset_id: int, sample_id: Any, wanted: pd.Index) -> int:
        """Return the id of the review sample ``wanted`` were reviewed in (0: none).

        Raises
        ------
        StoreError
            Unknown sample (:class:`~core.errors.NotFoundError`), a sample drawn from
            another dataset (:class:`~core.errors.ConflictError`), or ids not in it.
        """
        if sample_id is None:
            return 0
        sample = self._sample_row(sample_id)
        if sample["dataset_id"] != dataset_id:
            raise ConflictError(
                f"review sample {sample['id']} was drawn from dataset "
                f"{sample['dataset_id']}, not {dataset_id}"
            )
        sid = sample["id"]
        in_sample = {e for ids in json.loads(sample["example_ids"]).values() for e in ids}
        outside = [e for e in wanted if e not in in_sample]
        if outside:
            raise NotFoundError(
                f"review sample {sid} has no example with id "
                f"{_few(outside)} ({len(outside)} of {len(wanted)} ids)"
            )
        return sid

    def _review_marks(
        self, project_id: int, sample_id: int, ids: np.ndarray
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Return a project's review marks and which of ``ids`` have one (a bool per id).

        Only the marks made in the sample ``sample_id`` when it is not 0.
        """
        marks = self._frame(
            'SELECT example_id, sample_id, "user", at FROM '
            "reviewed_examples WHERE project_id = ?" + (" AND sample_id = ?" if sample_id else ""),
            [project_id, sample_id] if sample_id else [project_id],
            ["example_id", "sample_id", "user", "at"],
        )
        present = _locate(pd.Series(marks["example_id"].unique(), dtype=object), ids) >= 0
        return marks, present

    def _add_review_marks(
        self, project_id: int, added: np.ndarray, sample_id: int, *, user: str, at: str
    ) -> bytes:
        """Mark ``added`` (ids without a mark) reviewed; return the undo rows (Arrow IPC)."""
        self.db.execute(
            'INSERT INTO reviewed_examples (project_id, example_id, sample_id, "user", '
            "at) SELECT ?, j.value, ?, ?, ? FROM json_each(?) AS j",
            [project_id, sample_id, user, at, json.dumps(added.tolist(), ensure_ascii=False)],
        )
        return _to_ipc(
            {
                "example_id": pa.array(added, type=pa.string()),
                "sample_id": pa.array(np.full(len(added), sample_id), pa.int64()),
                "user": pa.array([user] * len(added), type=pa.string()),
                "at": pa.array([at] * len(added), type=pa.string()),
            }
        )

    def _drop_review_marks(self, project_id: int, gone: pd.DataFrame) -> bytes:
        """Delete the review marks ``gone``; return them as undo rows (Arrow IPC).

        ``gone`` holds rows of :meth:`_review_marks`.
        """
        self.db.conn.executemany(
            "DELETE FROM reviewed_examples WHERE project_id = ? AND example_id = ? "
            "AND sample_id = ?",
            [
                (project_id, e, int(s))
                for e, s in zip(gone["example_id"], gone["sample_id"], strict=True)
            ],
        )
        return _to_ipc(
            {
                c: pa.array(gone[c].to_numpy(dtype=object), type=t)
                for c, t in (
                    ("example_id", pa.string()),
                    ("sample_id", pa.int64()),
                    ("user", pa.string()),
                    ("at", pa.string()),
                )
            }
        )

    def _record_review(
        self,
        dataset: dict[str, Any],
        changed: np.ndarray,
        reviewed: bool,
        sample_id: int,
        rows: bytes,
        *,
        user: str,
        at: str,
    ) -> None:
        """Log a review change for :meth:`undo_last` and its ``review.mark`` event.

        ``changed`` are the ids that became reviewed (or stopped being so); ``rows`` the
        undo rows of :meth:`_add_review_marks` or :meth:`_drop_review_marks`.
        """
        n = len(changed)
        previous = {"reviewed": reviewed, "sample_id": sample_id}
        plural = "s" if n != 1 else ""
        what = (
            f"marked {n:,} example{plural} reviewed"
            if reviewed
            else f"withdrew the review of {n:,} example{plural}"
        )
        if sample_id:
            what += f" (sample {sample_id})"
        self._log_change(dataset, "review.mark", None, what, previous, rows, user=user, at=at)
        self._event(
            "review.mark",
            user=user,
            at=at,
            project_id=dataset["project_id"],
            dataset_id=dataset["id"],
            reviewed=reviewed,
            sample_id=sample_id or None,
            changed=n,
            example_ids=list(changed[:20]),
        )

    def reviewed_matrix(self, dataset_id: int) -> pd.DataFrame:
        """Return where a person reviewed each tag, aligned with the frame's rows.

        Parameters
        ----------
        dataset_id
            The dataset.

        Returns
        -------
        pandas.DataFrame
            One bool column per tag, in the order of :meth:`tag_matrix`; RangeIndex like
            the frame. True where the example was marked reviewed (:meth:`mark_reviewed`,
            for every tag) or has a hand value a person set for that tag (:meth:`set_tag`;
            values written by a rule, :meth:`apply_tag_rule`, are known through the rule's
            scope instead).
        """
        with self._read():
            row = self._dataset_row(dataset_id)
            frame_ids = self._read_ids(row["id"])
            tags = self._tag_rows(row["project_id"], row["id"])
            marked = [
                r[0]
                for r in self.db.execute(
                    "SELECT DISTINCT example_id FROM reviewed_examples WHERE project_id = ?",
                    [row["project_id"]],
                ).fetchall()
            ]
            hand = self.db.execute(
                "SELECT o.tag_id, o.example_id FROM tag_overrides o JOIN tags t "
                "ON t.id = o.tag_id WHERE t.project_id = ? AND o.by_rule = 0",
                [row["project_id"]],
            ).fetchall()
        names = [t["name"] for t in tags]
        if not names:
            return pd.DataFrame(index=pd.RangeIndex(len(frame_ids)))
        out = np.zeros((len(frame_ids), len(tags)), dtype=bool, order="F")
        if marked:
            rows = _locate(frame_ids, marked)
            out[rows[rows >= 0], :] = True
        if hand:
            tag_ids, example_ids = zip(*hand, strict=True)
            col = pd.Index([t["id"] for t in tags]).get_indexer(np.asarray(tag_ids))
            rows = _locate(frame_ids, example_ids)
            ok = (rows >= 0) & (col >= 0)
            out[rows[ok], col[ok]] = True
        return pd.DataFrame(out, columns=pd.Index(names))

    def reviewed_examples(self, dataset_id: int) -> pd.DataFrame:
        """Return the review marks of a dataset's examples (:meth:`mark_reviewed`).

        Returns
        -------
        pandas.DataFrame
            Columns ``example_id`` (text), ``sample_id`` (nullable Int64: ``<NA>`` when
            marked outside a sample), ``user``, ``at``; oldest first. An example reviewed in
            several samples has a row for each.
        """
        with self._read():
            row = self._dataset_row(dataset_id)
            frame_ids = self._read_ids(row["id"])
            out = self._frame(
                'SELECT example_id, sample_id, "user", at FROM reviewed_examples '
                "WHERE project_id = ? ORDER BY at, example_id",
                [row["project_id"]],
                ["example_id", "sample_id", "user", "at"],
            )
        out = out[_locate(frame_ids, out["example_id"]) >= 0].reset_index(drop=True)
        out["sample_id"] = out["sample_id"].astype("Int64").replace(0, pd.NA)
        return out
