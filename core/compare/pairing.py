"""Pairing: how the examples of two tables match by id, and both sides on their union.

Examples are matched by id, compared as text. The slices of a comparison are built once
on the union of both tables' examples (AFTER's first, then those only BEFORE has), with
the union of their tags: an example's value for a tag comes from AFTER when AFTER has both
the example and the tag, else from BEFORE (see :mod:`core.compare`). A relabelled example
is scored against AFTER's label on both sides (:func:`label_differences`). Each side is
then scored on the union's slices (:func:`_prepare`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from slicewise.core.analysis import default_task
from slicewise.core.dataset import ColumnMapping, Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import (
    build_slices,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
)
from slicewise.core.slice_names import resolve_slice_column, slice_by_choices, tag_rows
from slicewise.core.tag_scope import infer_row_scopes
from slicewise.core.task import TaskSpec
from slicewise.core.values import class_keys


@dataclass(frozen=True)
class Pairing:
    """How the examples of two tables match by id.

    Attributes
    ----------
    n_before, n_after
        Examples in each table.
    n_matched
        Ids found in both.
    ids_are_row_numbers
        Whether either table has no id column (its ids are row numbers, so rows are
        matched by position).
    labels_changed
        Matched examples whose label differs between the tables
        (:func:`label_differences`); both sides are then scored against AFTER's label.
    """

    n_before: int
    n_after: int
    n_matched: int
    ids_are_row_numbers: bool
    labels_changed: int = 0

    @property
    def paired(self) -> bool:
        """Whether both tables hold exactly the same examples."""
        return self.n_matched == self.n_before == self.n_after

    def describe(self) -> str:
        """One sentence for a reader: how the examples were matched."""
        how = "by row position" if self.ids_are_row_numbers else "by id"
        if self.paired:
            text = (
                f"the same {self.n_matched:,} examples in both (matched {how}): "
                "paired tests (McNemar)"
            )
        elif self.n_matched == 0:
            text = (
                "no example id appears in both: unpaired tests (two-proportion z-test, "
                "Fisher's exact test for small counts)"
            )
        else:
            word = "example" if self.n_matched == 1 else "examples"
            text = (
                f"{self.n_matched:,} {word} in both, {self.n_before - self.n_matched:,} "
                f"only before, {self.n_after - self.n_matched:,} only after: paired tests "
                "where a slice holds the same examples on both sides, unpaired elsewhere"
            )
        if self.ids_are_row_numbers:
            text += "; a file has no id column, so rows were matched by their position"
        if self.labels_changed:
            word = "example has" if self.labels_changed == 1 else "examples have"
            text += (
                f"; {self.labels_changed:,} shared {word} a different label in the two "
                "files: both sides are scored against the after file's label (one label "
                "per example), so the change is the model's, not the labels'"
            )
        return text


def describe_pairing(before: Dataset, after: Dataset) -> Pairing:
    """Count how the examples of ``before`` and ``after`` match by id (compared as text)."""
    # Ids as Python strings: isin on pandas' Arrow-backed "str" dtype loops in Python
    # (5 s at 500,000 ids), on object dtype it hashes (0.2 s).
    ids_b = pd.Index(before.frame["id"].astype(str).astype(object))
    ids_a = pd.Index(after.frame["id"].astype(str).astype(object))
    return Pairing(
        len(ids_b),
        len(ids_a),
        int(ids_b.isin(ids_a).sum()),
        before.mapping.id is None or after.mapping.id is None,
        labels_changed=len(label_differences(before, after)),
    )


def label_differences(before: Dataset, after: Dataset) -> pd.DataFrame:
    """List the examples both tables hold whose label differs (a relabelling between them).

    Labels are compared by their class key (:func:`core.values.class_keys`: ``1`` and
    ``1.0`` are one label, ``01`` and ``1`` are not). Returns a DataFrame with columns
    ``id`` (text), ``label_before``, ``label_after``, in AFTER's row order.
    """
    ids_a = after.frame["id"].astype(str).reset_index(drop=True)
    ids_b = before.frame["id"].astype(str).reset_index(drop=True)
    pos_b = pd.Index(ids_b).get_indexer(ids_a)
    rows_a = np.flatnonzero(pos_b >= 0)
    label_a = after.frame["label"].reset_index(drop=True).iloc[rows_a]
    label_b = before.frame["label"].reset_index(drop=True).iloc[pos_b[rows_a]]
    key_a = class_keys(label_a.astype(object)).to_numpy(dtype=object)
    key_b = class_keys(label_b.astype(object)).to_numpy(dtype=object)
    differ = key_a != key_b
    return pd.DataFrame(
        {
            "id": ids_a.iloc[rows_a[differ]].to_numpy(dtype=object),
            "label_before": label_b.to_numpy(dtype=object)[differ],
            "label_after": label_a.to_numpy(dtype=object)[differ],
        }
    )


def _labels_from(before: Dataset, after: Dataset, changed: pd.DataFrame) -> Dataset:
    """Score BEFORE's shared examples against AFTER's labels: one label per id.

    A relabelled example would otherwise count as a model change on one side and a label
    change on the other, and the paired test would compare two different questions.
    """
    if not len(changed):
        return before
    frame = before.frame.copy()
    pos = pd.Index(frame["id"].astype(str)).get_indexer(changed["id"].astype(str))
    labels = frame["label"].astype(object).to_numpy(copy=True)
    labels[pos] = changed["label_after"].to_numpy(dtype=object)
    frame["label"] = pd.Series(labels, index=frame.index).infer_objects()
    return replace(before, frame=frame)


@dataclass(frozen=True)
class _Union:
    dataset: Dataset  # the union of the examples, with the union of the tags
    pos_before: np.ndarray  # row of each BEFORE example in the union
    pos_after: np.ndarray

    def present(self, side: str) -> np.ndarray:
        """Whether each union example is in ``side`` (``before`` or ``after``)."""
        out = np.zeros(len(self.dataset.frame), dtype=bool)
        out[self.pos_before if side == "before" else self.pos_after] = True
        return out

    def in_both(self) -> np.ndarray:
        """Whether each union example is in both files."""
        return self.present("before") & self.present("after")


def union_tag_names(before: Dataset, after: Dataset) -> list[str]:
    """Return the tags of a comparison: AFTER's, then those only BEFORE has (as text)."""
    return list(dict.fromkeys([*map(str, after.tags.columns), *map(str, before.tags.columns)]))


def _slice_column(dataset: Dataset, name: str) -> pd.Series | None:
    """Return the values ``slice_by=name`` means in ``dataset`` (None: no such column)."""
    column = resolve_slice_column(name, columns=dataset.frame.columns, mapping=dataset.mapping)
    return None if column is None else dataset.frame[column]


def _union(before: Dataset, after: Dataset, slice_by: Sequence[str]) -> _Union:
    """Stack the examples of both tables (AFTER first) with the union of their tags."""
    ids_a = after.frame["id"].astype(str).astype(object).reset_index(drop=True)
    ids_b = before.frame["id"].astype(str).astype(object).reset_index(drop=True)
    only_b = ~ids_b.isin(pd.Index(ids_a)).to_numpy()  # object dtype: see describe_pairing
    union_ids = pd.Index(pd.concat([ids_a, ids_b[only_b]], ignore_index=True))
    n_a = len(ids_a)
    pos_b = union_ids.get_indexer(ids_b)
    names = union_tag_names(before, after)
    tags = _union_tags(before, after, names, pos_b, only_b, len(union_ids))
    # A column given twice is sliced once; names are stripped like the file's header.
    columns = {
        col: _union_column(before, after, col, pos_b, only_b, n_a)
        for col in dict.fromkeys(str(c).strip() for c in slice_by)
    }
    # The ids go in last: a slice-by column may be called "id" without replacing them.
    frame = pd.DataFrame({**columns, "id": pd.Series(union_ids, dtype=object)})
    union = Dataset(
        frame=frame,
        tags=pd.DataFrame(tags, columns=pd.Index(names, dtype=object)),
        mapping=ColumnMapping(),
        source_name=f"{before.source_name} + {after.source_name}",
    )
    return _Union(union, pos_b, np.arange(n_a))


def _union_tags(
    before: Dataset,
    after: Dataset,
    names: Sequence[str],
    pos_b: np.ndarray,
    only_b: np.ndarray,
    n: int,
) -> np.ndarray:
    """Return the union's tag matrix (``n`` examples x ``names``): AFTER's value first.

    ``pos_b`` is the union row of each BEFORE example, ``only_b`` whether AFTER lacks it;
    AFTER's examples are the union's first rows.
    """
    tags_a = after.tags.reset_index(drop=True)
    tags_b = before.tags.reset_index(drop=True)
    n_a = len(tags_a)
    tags = np.zeros((n, len(names)), dtype=bool)
    for j, name in enumerate(names):
        if name in tags_a.columns:
            tags[:n_a, j] = tags_a[name].to_numpy(dtype=bool)
            rows = np.flatnonzero(only_b)  # BEFORE-only examples keep BEFORE's value
        else:
            rows = np.arange(len(pos_b))  # a tag only BEFORE has: BEFORE's value everywhere
        if name in tags_b.columns and len(rows):
            tags[pos_b[rows], j] = tags_b[name].to_numpy(dtype=bool)[rows]
    return tags


def _union_column(
    before: Dataset,
    after: Dataset,
    col: str,
    pos_b: np.ndarray,
    only_b: np.ndarray,
    n_a: int,
) -> pd.Series:
    """Return slice-by column ``col`` on the union's rows: AFTER's value, else BEFORE's.

    Raises
    ------
    InvalidValueError
        Neither table has the column.
    """
    values_a, values_b = _slice_column(after, col), _slice_column(before, col)
    if values_a is None and values_b is None:
        known = [
            *slice_by_choices(
                after.metadata_columns, columns=after.frame.columns, mapping=after.mapping
            ),
            *slice_by_choices(
                before.metadata_columns, columns=before.frame.columns, mapping=before.mapping
            ),
        ]
        raise InvalidValueError(
            f"cannot slice by {col!r}: neither {before.source_name} nor "
            f"{after.source_name} has that column; columns: "
            f"{', '.join(map(repr, dict.fromkeys(known)))}"
        )
    if values_a is not None:
        head = values_a.reset_index(drop=True).astype(object)
    else:  # only BEFORE has it: matched examples take BEFORE's value
        matched_b = np.flatnonzero(~only_b)  # BEFORE rows whose example is also in AFTER
        head = pd.Series([None] * n_a, dtype=object)
        head.iloc[pos_b[matched_b]] = values_b.to_numpy(dtype=object)[matched_b]
    tail = pd.Series([None] * int(only_b.sum()), dtype=object)
    if values_b is not None:
        tail[:] = values_b.to_numpy(dtype=object)[only_b]
    return pd.concat([head, tail], ignore_index=True).infer_objects()


@dataclass(frozen=True)
class _Prepared:
    """Both tables on the union of their examples, with the slices and outcomes of each side."""

    before: Dataset  # scored against AFTER's labels on shared examples (_labels_from)
    after: Dataset
    task: TaskSpec
    union: _Union
    membership: np.ndarray  # union examples x slices (tags first), boolean
    info: pd.DataFrame  # build_slices' description of the slices
    tag_positions: tuple[int, ...]  # membership columns that are tags
    outcomes: dict[str, pd.DataFrame]  # compute_outcomes per side, in that side's row order
    sides: dict[str, pd.DataFrame]  # compute_slice_metrics per side
    in_both: np.ndarray  # union examples present on both sides
    labels_changed: int

    @property
    def n(self) -> int:
        """Examples in the union."""
        return len(self.union.dataset.frame)

    def positions(self, side: str) -> np.ndarray:
        """Row of each of ``side``'s examples in the union."""
        return self.union.pos_before if side == "before" else self.union.pos_after

    def on_union(self, side: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Place one side's per-example numbers on the union's rows (0 where it lacks one)."""
        out = np.zeros(self.n)
        out[self.positions(side)] = np.asarray(values, dtype=float)
        return out

    def present(self, side: str) -> np.ndarray:
        """Whether each union example is in ``side``."""
        return self.union.present(side)

    def rows_on_errors(self, tag_scopes: str | Mapping[str, str]) -> set[str]:
        """Rows known only on errors on either side (read as ``analyze`` reads them)."""
        rows: set[str] = set()
        for side, data in (("before", self.before), ("after", self.after)):
            scopes = infer_row_scopes(
                self.sides[side], self.info, tag_scopes, blank_tags=data.blank_tags
            )
            rows |= {row for row, scope in scopes.items() if scope == "errors"}
        return rows


def _prepare(
    before: Dataset,
    after: Dataset,
    *,
    task: TaskSpec | None,
    slice_by: Sequence[str],
    bins: int,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    max_slices: int | None = None,
) -> _Prepared:
    """Match the examples, build the slices of the union and score each side."""
    task = task or default_task(after)
    changed = label_differences(before, after)
    before = _labels_from(before, after, changed)
    union = _union(before, after, slice_by)
    membership, info = build_slices(
        union.dataset, slice_by=slice_by, bins=bins, max_slices=max_slices
    )
    tag_columns = tag_rows(info)
    m = membership.to_numpy(dtype=bool)
    sides, outcomes = {}, {}
    for side, data, pos in (
        ("before", before, union.pos_before),
        ("after", after, union.pos_after),
    ):
        outcomes[side] = compute_outcomes(
            data.frame.reset_index(drop=True), task, source=data.source_name
        )
        part = pd.DataFrame(m[pos], columns=membership.columns)
        counts = compute_slice_counts(part, outcomes[side], tag_columns=tag_columns)
        sides[side] = compute_slice_metrics(counts, task=task, hlp=hlp, alpha=alpha)
    return _Prepared(
        before,
        after,
        task,
        union,
        m,
        info,
        tuple(membership.columns.get_loc(c) for c in tag_columns),
        outcomes,
        sides,
        union.in_both(),
        len(changed),
    )
