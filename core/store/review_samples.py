"""Review samples: a drawn sample of a dataset's examples to review, with its seed."""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    NotFoundError,
    StoreValueError,
)
from slicewise.core.store.common import (
    _check_id,
    _clean_name,
    _clean_user,
    _few,
    _id_strings,
    _now,
)


class ReviewSamplesMixin:
    """Save and read review samples."""

    def save_review_sample(
        self,
        dataset_id: int,
        *,
        seed: int | None,
        sizes: Mapping[str, int],
        example_ids: Mapping[str, Sequence],
        population: Mapping[str, int],
        user: str,
    ) -> int:
        """Store a drawn review sample (e.g. 100 errors and 100 correct examples).

        The drawing is done elsewhere (pure code in ``core``); the store keeps what was
        drawn, so the review can be resumed and reported. Mark its examples reviewed with
        ``mark_reviewed(..., sample_id=...)``.

        Parameters
        ----------
        dataset_id
            The dataset it was drawn from.
        seed
            The random seed of the draw (``None`` if none).
        sizes
            ``{stratum: size asked for}``, e.g. ``{"errors": 100, "correct": 100}``.
        example_ids
            ``{stratum: ids drawn}`` (no id in two strata; each in the dataset).
        population
            ``{stratum: examples it was drawn from}``.
        user
            Who drew it.

        Returns
        -------
        int
            The sample id.

        Raises
        ------
        StoreError
            Unknown dataset, strata that differ between the three mappings, sizes or
            populations that are not whole numbers from 0, more ids than asked for or than
            the population, repeated ids, or ids not in the dataset.
        """
        user = _clean_user(user)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise StoreValueError(f"a sample's seed must be a whole number or None, got {seed!r}")
        for what, value in (
            ("sizes", sizes),
            ("example_ids", example_ids),
            ("population", population),
        ):
            if not isinstance(value, Mapping) or not value:
                raise StoreValueError(
                    f"a review sample's {what} must be a non-empty {{stratum: ...}} dict"
                )
        strata = [_clean_name(k, "a stratum name", limit=None) for k in sizes]
        for what, value in (("example_ids", example_ids), ("population", population)):
            if sorted(str(k).strip() for k in value) != sorted(strata):
                raise StoreValueError(
                    f"a review sample's {what} has the strata {_few(list(value))} "
                    f"but its sizes have {_few(strata)}"
                )
        sizes_ = {str(k).strip(): v for k, v in sizes.items()}
        population_ = {str(k).strip(): v for k, v in population.items()}
        drawn: dict[str, list[str]] = {}
        for key, ids in example_ids.items():
            stratum = str(key).strip()
            if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
                raise StoreValueError(
                    f"stratum {stratum!r}: give the drawn ids as a list, got {ids!r}"
                )
            given = list(ids)
            drawn[stratum] = list(_id_strings(given))
            if len(drawn[stratum]) != len(given):
                raise StoreValueError(f"stratum {stratum!r} repeats example ids")
        for stratum in strata:
            for what, number in (("size", sizes_[stratum]), ("population", population_[stratum])):
                if (
                    isinstance(number, bool)
                    or not isinstance(number, numbers.Integral)
                    or number < 0
                ):
                    raise StoreValueError(
                        f"stratum {stratum!r}: the {what} must be a whole number "
                        f"from 0, got {number!r}"
                    )
            n = len(drawn[stratum])
            if n > sizes_[stratum] or n > population_[stratum]:
                raise StoreValueError(
                    f"stratum {stratum!r} holds {n} ids, more than its size "
                    f"({sizes_[stratum]}) or population ({population_[stratum]})"
                )
        every = [e for ids in drawn.values() for e in ids]
        twice = pd.Index(every)[pd.Index(every).duplicated()].unique()
        if len(twice):
            raise StoreValueError(f"a review sample has ids in two strata: {_few(list(twice))}")
        did = self._dataset_row(dataset_id)["id"]
        self._locate_examples(did, self._read_ids(did), pd.Index(every, dtype=object))
        with self._write():
            row = self._dataset_row(did)
            self._require(row["project_id"], user, "save_review_sample")
            at = _now()
            sid = int(
                self.db["review_samples"]
                .insert(
                    {
                        "project_id": row["project_id"],
                        "dataset_id": did,
                        "seed": None if seed is None else int(seed),
                        "sizes": json.dumps({k: int(v) for k, v in sizes_.items()}),
                        "population": json.dumps({k: int(v) for k, v in population_.items()}),
                        "example_ids": json.dumps(drawn, ensure_ascii=False),
                        "created_at": at,
                        "created_by": user,
                    }
                )
                .last_pk
            )
            self._event(
                "review.sample",
                user=user,
                at=at,
                project_id=row["project_id"],
                dataset_id=did,
                sample_id=sid,
                seed=seed,
                sizes={k: int(v) for k, v in sizes_.items()},
                population={k: int(v) for k, v in population_.items()},
            )
            return sid

    def _sample_row(self, sample_id: Any) -> dict[str, Any]:
        sid = _check_id(sample_id, "review sample")
        rows = self._rows("SELECT * FROM review_samples WHERE id = ?", [sid])
        if not rows:
            raise NotFoundError(f"no review sample with id {sid}")
        return rows[0]

    def review_samples(self, dataset_id: int) -> pd.DataFrame:
        """Return the review samples drawn from a dataset, newest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``id``, ``created_at``, ``created_by``, ``seed`` (nullable Int64),
            ``sizes`` and ``population`` (JSON text ``{stratum: n}``), ``n_examples``
            (ids drawn) and ``n_reviewed`` (of those, marked reviewed in the sample).
        """
        did = self._dataset_row(dataset_id)["id"]
        cols = ["id", "created_at", "created_by", "seed", "sizes", "population", "example_ids"]
        out = self._frame(
            f"SELECT {', '.join(cols)} FROM review_samples WHERE dataset_id = ? "
            "ORDER BY created_at DESC, id DESC",
            [did],
            cols,
        )
        out["n_examples"] = [
            sum(len(v) for v in json.loads(x).values()) for x in out.pop("example_ids")
        ]
        counts = dict(
            self.db.execute(
                "SELECT sample_id, COUNT(*) FROM reviewed_examples WHERE sample_id IN "
                "(SELECT id FROM review_samples WHERE dataset_id = ?) GROUP BY sample_id",
                [did],
            ).fetchall()
        )
        out["n_reviewed"] = [int(counts.get(int(i), 0)) for i in out["id"]]
        out["seed"] = out["seed"].astype("Int64")
        return out

    def review_sample(self, sample_id: int) -> dict[str, Any]:
        """Return one review sample with its examples and their review status.

        Returns
        -------
        dict
            ``id``, ``project_id``, ``dataset_id``, ``seed``, ``sizes`` and ``population``
            (dicts), ``created_at``, ``created_by``, ``example_ids`` (``{stratum: [ids]}``
            in drawn order) and ``examples``: a DataFrame with columns ``stratum``,
            ``example_id``, ``reviewed`` (marked reviewed in this sample), ``reviewed_by``
            and ``reviewed_at`` (``None`` when not reviewed).

        Raises
        ------
        StoreError
            Unknown sample.
        """
        with self._read():
            row = self._sample_row(sample_id)
            marks = {
                r["example_id"]: r
                for r in self._rows(
                    'SELECT example_id, "user", at FROM reviewed_examples WHERE project_id = ? '
                    "AND sample_id = ?",
                    [row["project_id"], row["id"]],
                )
            }
        drawn = json.loads(row.pop("example_ids"))
        records = [
            (stratum, e, e in marks, marks.get(e, {}).get("user"), marks.get(e, {}).get("at"))
            for stratum, ids in drawn.items()
            for e in ids
        ]
        examples = pd.DataFrame.from_records(
            records, columns=["stratum", "example_id", "reviewed", "reviewed_by", "reviewed_at"]
        )
        examples["reviewed"] = examples["reviewed"].astype(bool)
        for col in ("reviewed_by", "reviewed_at"):
            values = np.empty(len(records), dtype=object)
            values[:] = [r[3 if col == "reviewed_by" else 4] for r in records]
            examples[col] = pd.Series(values, index=examples.index, dtype=object)
        return {
            **row,
            "sizes": json.loads(row["sizes"]),
            "population": json.loads(row["population"]),
            "example_ids": drawn,
            "examples": examples,
        }
