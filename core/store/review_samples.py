"""Review samples: a drawn sample of a dataset's examples to review, with its seed."""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    StoreValueError,
)
from slicewise.core.store.common import (
    _clean_name,
    _clean_user,
    _few,
    _id_strings,
    _insert,
    _now,
    _row_by_id,
)


def _check_sample(
    seed: Any, sizes: Any, example_ids: Any, population: Any
) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    """Validate a review sample (:meth:`ReviewSamplesMixin.save_review_sample`).

    Returns
    -------
    tuple
        ``seed``, then ``{stratum: size}``, ``{stratum: population}`` and ``{stratum: ids
        drawn as text}`` keyed by the stripped stratum names.

    Raises
    ------
    StoreValueError
        A seed that is not a whole number, empty or differing strata, ids not given as a
        list or repeated, sizes or populations that are not whole numbers from 0, more ids
        than a stratum's size or population, or an id in two strata.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise StoreValueError(f"a sample's seed must be a whole number or None, got {seed!r}")
    strata = _check_strata(sizes, example_ids, population)
    sizes_ = {str(k).strip(): v for k, v in sizes.items()}
    population_ = {str(k).strip(): v for k, v in population.items()}
    drawn = _drawn_ids(example_ids)
    for stratum in strata:
        _check_stratum_counts(stratum, sizes_[stratum], population_[stratum], len(drawn[stratum]))
    every = [e for ids in drawn.values() for e in ids]
    twice = pd.Index(every)[pd.Index(every).duplicated()].unique()
    if len(twice):
        raise StoreValueError(f"a review sample has ids in two strata: {_few(list(twice))}")
    return seed, sizes_, population_, drawn


def _check_strata(sizes: Any, example_ids: Any, population: Any) -> list[str]:
    """Return the strata (``sizes``' keys, stripped) once the three mappings agree on them.

    Raises
    ------
    StoreValueError
        A mapping that is not a non-empty dict, or strata that differ from ``sizes``'.
    """
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
    return strata


def _drawn_ids(example_ids: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Return ``{stratum: ids as text}``; each stratum's ids must be a list without repeats.

    Raises
    ------
    StoreValueError
        Ids not given as a list (e.g. one text), or repeated within a stratum.
    """
    drawn: dict[str, list[str]] = {}
    for key, ids in example_ids.items():
        stratum = str(key).strip()
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise StoreValueError(f"stratum {stratum!r}: give the drawn ids as a list, got {ids!r}")
        given = list(ids)
        drawn[stratum] = list(_id_strings(given))
        if len(drawn[stratum]) != len(given):
            raise StoreValueError(f"stratum {stratum!r} repeats example ids")
    return drawn


def _check_stratum_counts(stratum: str, size: Any, population: Any, n: int) -> None:
    """Check a stratum's size and population (whole numbers from 0) hold its ``n`` ids.

    Raises
    ------
    StoreValueError
        A size or population that is not a whole number from 0, or fewer than ``n``.
    """
    for what, number in (("size", size), ("population", population)):
        if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 0:
            raise StoreValueError(
                f"stratum {stratum!r}: the {what} must be a whole number from 0, got {number!r}"
            )
    if n > size or n > population:
        raise StoreValueError(
            f"stratum {stratum!r} holds {n} ids, more than its size "
            f"({size}) or population ({population})"
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
        seed, sizes_, population_, drawn = _check_sample(seed, sizes, example_ids, population)
        every = pd.Index([e for ids in drawn.values() for e in ids], dtype=object)
        did, _, _ = self._examples_in_dataset(dataset_id, every)
        with self._write():
            row = self._dataset_for_write(did, user, "save_review_sample")
            return self._add_review_sample(row, seed, sizes_, population_, drawn, user=user)

    def _add_review_sample(
        self,
        dataset: dict[str, Any],
        seed: Any,
        sizes: dict[str, Any],
        population: dict[str, Any],
        drawn: dict[str, list[str]],
        *,
        user: str,
    ) -> int:
        """Write a review sample inside :meth:`save_review_sample`'s transaction.

        The ``review_samples`` row of ``dataset`` (its row), then the ``review.sample``
        event; returns the sample id. The arguments are those of :func:`_check_sample`.
        """
        at = _now()
        record = {
            "project_id": dataset["project_id"],
            "dataset_id": dataset["id"],
            "seed": None if seed is None else int(seed),
            "sizes": json.dumps({k: int(v) for k, v in sizes.items()}),
            "population": json.dumps({k: int(v) for k, v in population.items()}),
            "example_ids": json.dumps(drawn, ensure_ascii=False),
            "created_at": at,
            "created_by": user,
        }
        sid = _insert(self, "review_samples", record)
        self._event(
            "review.sample",
            user=user,
            at=at,
            project_id=dataset["project_id"],
            dataset_id=dataset["id"],
            sample_id=sid,
            seed=seed,
            sizes={k: int(v) for k, v in sizes.items()},
            population={k: int(v) for k, v in population.items()},
        )
        return sid

    def _sample_row(self, sample_id: Any) -> dict[str, Any]:
        return _row_by_id(self, "review_samples", sample_id, "review sample")

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
