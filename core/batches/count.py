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
    LoadPlan,
    build_plan,
    guarded,
    numbering_of,
    prepare_batch,
    slice_codes,
)
from slicewise.core.batches.source import Batch, BatchSource, Progress
from slicewise.core.errors import RowNumbers
from slicewise.core.metrics import compute_outcomes, compute_slice_counts
from slicewise.core.metrics.counts import COUNT_COLUMNS


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
        Rows per (label, prediction) pair as text (classification tasks; else empty).
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
            pd.concat([self.pairs, other.pairs]).groupby(level=[0, 1]).sum()
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


def count_batch(batch: Batch, plan: LoadPlan, numbering: RowNumbers | None = None) -> Partial:
    """Count one batch: the loader's code, the outcomes, the plan's slices, weighted sums.

    Parameters
    ----------
    batch
        Rows of the plan's ``columns`` (cells as the pandas reader holds them) and weights.
    plan
        :func:`core.batches.plan.build_plan`'s decisions.
    numbering
        How the file numbers the batch's rows in messages (default: a CSV file's).

    Returns
    -------
    Partial

    Raises
    ------
    DataError
        A value the loader or the task refuses (named by the batch's rows; an engine
        re-raises it as the pandas engine does with :func:`core.batches.plan.guarded`).
    """
    weights = np.ones(len(batch.rows)) if batch.weights is None else batch.weights
    dataset, _ = prepare_batch(batch.rows, plan.load, numbering or RowNumbers())
    frame = dataset.frame
    w = np.asarray(weights, dtype=float)[frame["id"].to_numpy(dtype=np.int64)]
    outcomes = compute_outcomes(frame, plan.task, source=plan.source_name)
    member = membership(dataset.tags, frame, plan)
    counts = compute_slice_counts(
        pd.DataFrame(member, columns=list(plan.info.index), copy=False),
        outcomes,
        tag_columns=[plan.info.index[i] for i in range(len(plan.tags))],
        weights=w,
    )
    together = (member.T * w) @ member if member.shape[1] else np.zeros((0, 0))
    pairs = pd.Series(dtype=float)
    if plan.task.kind in ("classification", "binary") and len(frame):
        key = [frame["label"].astype(str), frame["prediction"].astype(str)]
        pairs = pd.Series(w).groupby(key).sum()
    return Partial(
        counts.to_numpy(), np.asarray(together, float), pairs, int(weights.sum()), int(w.sum())
    )


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
        The task, the load's warnings, the file name, the rows of the table.
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
        progress=progress, **load,
    )  # fmt: skip
    options = {**load, "task": load_task, "spec": plan.task, "slice_by": slice_by, "bins": bins}
    total = guarded(source, options, lambda: _count_all(source, plan, progress))
    table = table_of(
        plan, total, hlp=hlp, importance=importance, ease=ease, tag_scopes=tag_scopes,
        protected=protected, rank_by=rank_by, baseline=baseline,
    )  # fmt: skip
    return SourceAnalysis(
        table, plan.task, list(plan.warnings), plan.source_name, plan.rows, pairs_table(total)
    )


def _count_all(source: BatchSource, plan: LoadPlan, progress: Progress | None) -> Partial:
    """Sum :func:`count_batch` over every batch of ``source``."""
    total = None
    numbering = numbering_of(source)
    for batch in source.batches(plan.columns, group=True, progress=progress):
        if len(batch.rows):
            part = count_batch(batch, plan, numbering)
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

    Slices ``a`` and ``b`` have the same members iff ``n_a == n_b == n_ab`` (> 0).
    """
    out = info.copy()
    out["same_as"] = pd.Series(None, index=out.index, dtype=object)
    names = list(out.index)
    size = np.diag(together) if len(names) else np.zeros(0)
    for j in range(len(names)):
        if size[j] <= 0:
            continue
        for i in range(j):
            if size[i] == size[j] == together[i, j] and out.iloc[i]["same_as"] is None:
                out.loc[names[j], "same_as"] = names[i]
                break
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
