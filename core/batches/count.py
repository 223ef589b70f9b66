"""Count a batch with the project's own code, and analyse a whole source: one definition.

:func:`count_batch` prepares a batch with the loader's code and the plan's decisions pinned
(:mod:`core.batches.pins`), scores it (:func:`core.metrics.compute_outcomes`), finds its
slices from the plan and sums the outcomes per slice with the rows' weights
(:func:`core.metrics.compute_slice_counts`): a :class:`Partial`, additive. Engines sum the
partials of their batches; :func:`analyze_source` runs the whole analysis on any
:class:`~core.batches.source.BatchSource` and returns the pandas engine's table.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.batches.plan import (
    BatchRowNumbers,
    LoadPlan,
    build_plan,
    numbering_of,
    prepare_batch,
    slice_codes,
)
from slicewise.core.batches.refusals import guarded
from slicewise.core.batches.role_classes import RoleClasses
from slicewise.core.batches.source import Batch, BatchSource, Progress
from slicewise.core.errors import DataError, RowNumbers
from slicewise.core.metrics import compute_outcomes, compute_slice_counts
from slicewise.core.metrics.counts import COUNT_COLUMNS
from slicewise.core.task import TaskSpec


@dataclass
class Partial:
    """Additive counts of some rows of a table (``a + b`` counts both).

    Attributes
    ----------
    counts
        float64, shape ``(1 + n_slices (+ 1 with tags), len(COUNT_COLUMNS))``: the sums of
        :func:`core.metrics.compute_slice_counts` (all data, each slice, no tag).
    together
        float64, shape ``(n_slices, n_slices)``: rows in both slice ``i`` and slice ``j``
        (the diagonal: each slice's size), to find slices with the same members.
    pairs
        Rows per (label, prediction) pair as text (classification tasks; else empty), the
        labels in the order the rows first hold them (batches come in file order).
    rows, kept
        Rows counted, and rows kept (not missing a label or prediction).
    """

    counts: np.ndarray
    together: np.ndarray
    pairs: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    rows: int = 0
    kept: int = 0

    def __add__(self, other: Partial) -> Partial:
        """Return the counts of both."""
        pairs = (
            pd.concat([self.pairs, other.pairs]).groupby(level=[0, 1], sort=False).sum()
            if (len(self.pairs) and len(other.pairs))
            else (self.pairs if len(self.pairs) else other.pairs)
        )
        return Partial(
            self.counts + other.counts,
            self.together + other.together,
            pairs,
            self.rows + other.rows,
            self.kept + other.kept,
        )


def count_batch(
    batch: Batch, plan: LoadPlan, numbering: RowNumbers | None = None, *, pairs: bool = True
) -> Partial:
    """Count one batch: the loader's code, the outcomes, the plan's slices, weighted sums.

    Parameters
    ----------
    batch
        Rows of the plan's ``count_columns`` (cells as the pandas reader holds them) and weights.
    plan
        :func:`core.batches.plan.build_plan`'s decisions.
    numbering
        How the file numbers the batch's rows in messages (default: a CSV file's).
    pairs
        Count rows per (label, prediction) pair (off when the batch's role cells stand for
        classes of them: :mod:`core.batches.role_classes` counts the pairs).

    Returns
    -------
    Partial

    Raises
    ------
    DataError
        A value the loader or the task refuses (named by the batch's rows; an engine
        re-raises it as the pandas engine does with :func:`core.batches.refusals.guarded`).
    """
    weights = np.ones(len(batch.rows)) if batch.weights is None else batch.weights
    if batch.first_rows is not None:
        base = numbering or RowNumbers()
        numbering = BatchRowNumbers(base.first, base.skipped, np.asarray(batch.first_rows))
    dataset, _ = prepare_batch(batch.rows, plan.count_load, numbering or RowNumbers())
    frame = dataset.frame
    w = np.asarray(weights, dtype=float)[frame["id"].to_numpy(dtype=np.int64)]
    part = count_typed(
        frame, membership(dataset.tags, frame, plan), plan.task, tags=len(plan.tags),
        weights=w, source=plan.source_name, pairs=pairs, part=True,
    )  # fmt: skip
    part.rows = int(np.sum(weights))
    return part


def count_typed(
    frame: pd.DataFrame,
    member: np.ndarray,
    task: TaskSpec,
    *,
    tags: int,
    weights: np.ndarray | None = None,
    source: str = "",
    pairs: bool = True,
    part: bool = False,
) -> Partial:
    """Count a loaded frame: outcomes, per-slice sums, co-membership, class pairs.

    The one counting step of every engine: the pandas engine (:func:`core.analysis.analyze`)
    runs it on the whole loaded frame, engines on each prepared batch
    (:func:`count_batch`).

    Parameters
    ----------
    frame
        A loaded frame (:attr:`core.dataset.Dataset.frame`), shape ``(n_rows, n_columns)``.
    member
        Slice membership, bool, shape ``(n_rows, n_slices)``: the ``tags`` tag slices first.
    task
        How a prediction is judged (:func:`core.metrics.compute_outcomes`).
    tags
        How many leading columns of ``member`` are tags (for the ``No tag`` row).
    weights
        Rows each row of ``frame`` stands for (shape ``(n_rows,)``), ``None`` for one each.
    source
        The file name that starts error messages.
    pairs
        Also count rows per (label, prediction) pair (classification and binary tasks).
    part
        ``frame`` is a batch of a larger table: a binary task's positive class may be absent
        from it (:func:`check_positive_class` checks the whole table's pairs instead).

    Returns
    -------
    Partial
        ``rows`` and ``kept`` both the rows counted (weighted).

    Raises
    ------
    DataError
        The labels or predictions cannot be judged under ``task``.
    """
    outcomes = compute_outcomes(frame, task, source=source, part=part)
    return count_scored(
        outcomes, member, tags=tags, weights=weights,
        labels=frame if pairs and task.kind in ("classification", "binary") else None,
    )  # fmt: skip


def count_scored(
    outcomes: pd.DataFrame,
    member: np.ndarray,
    *,
    tags: int,
    weights: np.ndarray | None = None,
    labels: pd.DataFrame | None = None,
) -> Partial:
    """Sum scored rows per slice (:func:`core.metrics.compute_slice_counts`), pairs and all.

    ``outcomes`` from :func:`core.metrics.compute_outcomes` (shape ``(n_rows, ...)``),
    ``member``, ``tags`` and ``weights`` as :func:`count_typed` takes them; ``labels`` the
    frame whose ``label`` and ``prediction`` pairs are counted, ``None`` for none.
    """
    n = len(outcomes)
    names = [str(i) for i in range(member.shape[1])]
    counts = compute_slice_counts(
        pd.DataFrame(member, columns=names, copy=False),
        outcomes,
        tag_columns=names[:tags],
        weights=None if weights is None else np.asarray(weights, dtype=float),
    )
    kept = float(n if weights is None else np.sum(weights))
    pair_counts = pd.Series(dtype=float)
    if labels is not None and n:
        pair_counts = class_pairs(labels["label"], labels["prediction"], weights)
    return Partial(
        counts.to_numpy(), co_membership(member, weights), pair_counts, round(kept), round(kept)
    )


_DENSE_SLICES = 64  # up to this many slices co_membership multiplies dense chunks
_CHUNK_ROWS = 1 << 16  # rows per dense chunk (64 slices: 32 MB of float64)


def co_membership(member: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows in both slice ``i`` and slice ``j`` (float64, shape ``(n_slices, n_slices)``).

    Few slices: a dense product per chunk of rows (BLAS; no copy of the whole matrix).
    Many: a sparse product, whose cost grows with the rows times the slices a row is in,
    squared (not with the number of slices), so a column cut into 1,000 values stays cheap.
    Sums of 0/1 times integer weights are exact in float64.
    """
    k = member.shape[1]
    if not k:
        return np.zeros((0, 0))
    if k <= _DENSE_SLICES:
        out = np.zeros((k, k))
        for lo in range(0, member.shape[0], _CHUNK_ROWS):
            m = member[lo : lo + _CHUNK_ROWS].astype(np.float64)
            mw = m if weights is None else m * np.asarray(weights[lo : lo + _CHUNK_ROWS])[:, None]
            out += m.T @ mw
        return out
    from scipy import sparse

    m = sparse.csc_matrix(member, dtype=np.float64)
    mw = m if weights is None else m.multiply(np.asarray(weights, dtype=float)[:, None])
    return np.asarray((m.T @ sparse.csc_matrix(mw)).toarray(), dtype=float)


def class_pairs(
    label: pd.Series, prediction: pd.Series, weights: np.ndarray | None = None
) -> pd.Series:
    """Rows per (label, prediction) pair as text (float64, indexed by the two texts).

    Labels in the order the rows first hold them (as ``pd.unique`` lists a loaded frame's
    labels in messages), each label's predictions likewise.
    """
    lc, lu = pd.factorize(label.astype(str), sort=False)
    pc, pu = pd.factorize(prediction.astype(str), sort=False)
    key = lc.astype(np.int64) * len(pu) + pc
    w = None if weights is None else np.asarray(weights, dtype=float)
    cells = len(lu) * len(pu)
    if cells <= max(len(key), 1 << 16):  # a count per possible pair: no sort
        present = np.flatnonzero(np.bincount(key, minlength=cells))
        sums = np.bincount(key, weights=w, minlength=cells)[present].astype(float)
    else:  # only the pairs that occur: 100,000 classes would make 10^10 possible pairs
        present, at = np.unique(key, return_inverse=True)
        sums = np.bincount(at.ravel(), weights=w, minlength=len(present)).astype(float)
    index = pd.MultiIndex.from_arrays(
        [np.asarray(lu)[present // len(pu)], np.asarray(pu)[present % len(pu)]]
    )
    return pd.Series(sums, index=index)


def membership(tags: pd.DataFrame, frame: pd.DataFrame, plan: LoadPlan) -> np.ndarray:
    """Return the slice membership (bool, rows x slices): the plan's tags, then slices."""
    parts = [tags[list(plan.tags)].to_numpy(dtype=bool)] if plan.tags else []
    for spec in plan.slices:
        codes = slice_codes(frame[spec.field], spec)
        parts.append(codes[:, None] == np.arange(len(spec.names))[None, :])
    if not parts:
        return np.zeros((len(frame), 0), dtype=bool)
    return np.concatenate(parts, axis=1)


@dataclass
class SourceAnalysis:
    """What :func:`analyze_source` found: the table as the pandas engine ranks it, and more.

    Attributes
    ----------
    table
        As ``core.analysis.analyze(core.dataset.load_dataset(file), ...)`` returns it.
    task, warnings, source_name, rows
        The task, the load's warnings (not the reader's), the file name, the rows.
    pairs
        Rows per (label, prediction) pair (:func:`core.metrics.compute_confusion_pairs`'
        table) for per-class results; ``None`` for text and regression.
    """

    table: pd.DataFrame
    task: Any
    warnings: list[str]
    source_name: str
    rows: int
    pairs: pd.DataFrame | None = None
    read_warnings: list[str] = field(default_factory=list)

    @property
    def all_warnings(self) -> list[str]:
        """The reader's and the load's warnings: ``load_dataset(file).warnings``."""
        return [*self.read_warnings, *self.warnings]


def analyze_source(
    source: BatchSource,
    *,
    task: Any = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    ease: Mapping[str, float] | None = None,
    tag_scopes: str | Mapping[str, str] = "auto",
    protected: Collection[str] = (),
    rank_by: str = "priority",
    baseline: Any = None,
    max_slices: int | None = None,
    progress: Progress | None = None,
    **load: Any,
) -> SourceAnalysis:
    """Analyse ``source`` batch by batch: the pandas engine's table, counted by engines.

    ``task`` is :func:`core.analysis.analyze`'s :class:`~core.task.TaskSpec` (inferred when
    ``None``); ``load`` takes :func:`core.dataset.load_dataset`'s options (``mapping``,
    ``missing``, ``positive``, ``threshold``, ``na_values``, ``decimal``, ``thousands``,
    ``task`` as ``load_task``). The rest are ``analyze``'s. ``progress(rows, total)``.

    Raises
    ------
    DataError
        As the pandas engine raises for the same table.
    """
    load_task = load.pop("load_task", None)
    plan = build_plan(
        source, spec=task, task=load_task, slice_by=slice_by, bins=bins, max_slices=max_slices,
        progress=progress, defer_ids=True, **load,
    )  # fmt: skip
    options = {**load, "task": load_task, "spec": plan.task, "slice_by": slice_by, "bins": bins}
    total = guarded(source, options, lambda: _count_checked(source, plan, progress))
    try:
        check_positive_class(plan, total)
        table = table_of(
            plan, total, hlp=hlp, importance=importance, ease=ease, tag_scopes=tag_scopes,
            protected=protected, rank_by=rank_by, baseline=baseline,
        )  # fmt: skip
    except DataError as error:  # the table loaded: its notes come before the analysis' error
        error.load_warnings = list(plan.warnings)  # type: ignore[attr-defined]
        raise
    return SourceAnalysis(
        table, plan.task, list(plan.warnings), plan.source_name, plan.rows, pairs_table(total),
        list(getattr(source, "warnings", ())),
    )  # fmt: skip


def _count_checked(source: BatchSource, plan: LoadPlan, progress: Progress | None) -> Partial:
    """:func:`_count_all`, then the id checks the plan left for later.

    An error of the counting pass comes first: the loader reads the roles and tags (what
    the pass refuses) before it checks the ids.
    """
    from slicewise.core.batches.planning import check_plan_ids

    total = _count_all(source, plan, progress)
    check_plan_ids(source, plan)
    return total


def _count_all(source: BatchSource, plan: LoadPlan, progress: Progress | None) -> Partial:
    """Sum :func:`count_batch` over every batch of ``source``.

    A source that can count where its data lives (``count_partials(plan, progress)``, e.g.
    Spark's executors) runs the same :func:`count_batch` there and returns the sum.
    """
    count_there = getattr(source, "count_partials", None)
    if count_there is not None:
        return count_there(plan, progress)
    roles = plan.roles if getattr(source, "merges_roles", False) else None
    total = _count_batches(source, plan, progress, roles)
    if roles is None:
        return total
    if total is None or total.rows != plan.rows:  # a class lost rows: count them plainly
        return _count_batches(source, plan, progress, None)
    total.pairs = roles.pairs
    return total


def _count_batches(
    source: BatchSource, plan: LoadPlan, progress: Progress | None, roles: RoleClasses | None
) -> Partial | None:
    """Sum :func:`count_batch` over the batches (role cells merged by ``roles``' classes)."""
    total = None
    numbering = numbering_of(source)
    merge = {"bins": dict(plan.bins)} if plan.bins else {}
    if roles is not None:
        merge["roles"] = roles
    for batch in source.batches(plan.count_columns, group=True, progress=progress, **merge):
        if len(batch.rows):
            part = count_batch(batch, plan, numbering, pairs=roles is None)
            total = part if total is None else total + part
    return total


def table_of(plan: LoadPlan, total: Partial, **analysis: Any) -> pd.DataFrame:
    """Rank the summed counts as :func:`core.analysis.analyze` does."""
    from slicewise.core.analysis import finish_table, measure_slices
    from slicewise.core.baselines import HUMAN_KINDS, Baseline
    from slicewise.core.slice_names import OVERALL, UNTAGGED

    names = [OVERALL, *map(str, plan.info.index)] + ([UNTAGGED] if plan.tags else [])
    counts = pd.DataFrame(total.counts, index=names, columns=list(COUNT_COLUMNS))
    info = same_members(plan.info, total.together)
    kind = plan.mapping.human_kind or "single"
    baseline = analysis.pop("baseline") or Baseline(
        human_kind=kind if kind in HUMAN_KINDS else "single"
    )
    table = measure_slices(counts, task=plan.task, hlp=analysis.pop("hlp"), baseline=baseline)
    return finish_table(table, info, blank_tags=plan.blank_tags, **analysis)


def same_members(info: pd.DataFrame, together: np.ndarray) -> pd.DataFrame:
    """``info`` with ``same_as`` (:func:`core.analysis.mark_same_members`' rule) from counts.

    Slices ``a`` and ``b`` have the same members iff ``n_a == n_b == n_ab`` (> 0); a slice
    is marked the same as the first such slice before it (``together`` as
    :func:`co_membership` gives it, shape ``(n_slices, n_slices)``).
    """
    out = info.copy()
    out["same_as"] = pd.Series(None, index=out.index, dtype=object)
    k = len(out)
    if not k:
        return out
    size = np.diag(together)
    same = (size[:, None] == size[None, :]) & (together == size[None, :]) & (size > 0)[None, :]
    same &= np.tri(k, k, -1, dtype=bool).T  # only i < j: an earlier slice
    has = same.any(axis=0)
    first = same.argmax(axis=0)
    names = np.asarray(out.index, dtype=object)
    same_as = np.full(k, None, dtype=object)
    same_as[has] = names[first[has]]
    out["same_as"] = pd.Series(same_as, index=out.index, dtype=object)
    return out


def pairs_table(total: Partial | None) -> pd.DataFrame | None:
    """Return the summed pair counts as :func:`compute_confusion_pairs` lists them."""
    if total is None or not len(total.pairs):
        return None
    p = total.pairs.rename("count").reset_index()
    p.columns = ["label", "prediction", "count"]
    p["count"] = p["count"].round().astype(np.int64)
    p = p.sort_values(["label", "prediction"]).sort_values("count", ascending=False, kind="stable")
    return p.reset_index(drop=True)


def check_positive_class(plan: LoadPlan, total: Partial | None) -> None:
    """Refuse a binary task's positive class that no label or prediction of the table holds.

    Batches may lack it (:func:`count_typed`'s ``part``); the whole table's (label,
    prediction) pairs are checked as :func:`core.metrics.compute_outcomes` checks a frame.

    Raises
    ------
    InvalidValueError
        The loader's message: the positive class never occurs, naming the classes.
    """
    if plan.task.kind != "binary" or total is None or not len(total.pairs):
        return
    from slicewise.core.metrics.outcomes import check_positive

    index = total.pairs.index
    labels = pd.Series(pd.unique(index.get_level_values(0)), dtype=object)
    predictions = pd.Series(pd.unique(index.get_level_values(1)), dtype=object)
    at = f"{plan.source_name}: " if plan.source_name else ""
    check_positive(labels, plan.task.positive, predictions=predictions, at=at)
