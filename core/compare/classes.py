"""Two iterations compared class by class: one-against-the-rest metrics and confusion matrices.

How it scales
-------------
All classes are scored at once (:func:`_class_metric_change`): the counts come from
``np.bincount`` over the (example, class) pairs where the class is a label or
prediction, the exact tests run on arrays, and Fisher's test once per distinct table.
F1's randomization keeps its definition and seed: a paired class swaps only the
examples whose contribution to it changed (enumerated up to
:data:`core.compare.significance.EXACT_PAIRED_LIMIT`, else the seeded draws, shared by
every class with the same number of them); an unpaired class deals its few distinct
contributions, once per distinct set of counts. Each class gets the p-value
``paired_randomization_p`` or ``unpaired_randomization_p`` (:mod:`core.compare.significance`)
gives it; 10,000 classes take about a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.analysis import default_task
from slicewise.core.compare.metric_specs import (
    DEFAULT_CLASS_METRICS,
    METRICS,
    Metric,
    _counts,
    _finish_change,
    _intervals,
    _parts,
    check_metric,
)
from slicewise.core.compare.pairing import _labels_from, _Union, _union, label_differences
from slicewise.core.compare.significance import (
    RANDOMIZATION_DRAWS,
    RANDOMIZATION_SEED,
    _dealt_p,
    _paired_randomization_many,
    _two_proportion_once,
)
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import (
    DEFAULT_MATRIX_CLASSES,
    compute_class_report,
    fold_classes,
    folded_matrix,
    mcnemar_exact_p,
)
from slicewise.core.metrics.counts import ratio as _ratio
from slicewise.core.task import TaskSpec
from slicewise.core.values import class_keys


@dataclass(frozen=True)
class ClassComparison:
    """Per-class results of two iterations (:func:`compare_classes`).

    Attributes
    ----------
    table
        One row per class (index ``class``, rare classes first): ``support_before``,
        ``support_after`` (examples labelled with it), then for each metric ``m`` asked
        for ``m_before``, ``m_after``, ``m_delta``, ``m_test``, ``m_p_value``,
        ``m_significant``.
    changes
        Per metric, a DataFrame indexed by class with :data:`CHANGE_COLUMNS` (``kind``
        ``class``), the form :func:`find_regressions` reads.
    confusion_before, confusion_after
        Confusion matrices (rows: label, columns: prediction) over the classes of both
        sides, in sorted order; each side's labels as scored (AFTER's label for an example
        both hold). Both have the same rows and columns: with more than
        :data:`core.metrics.DEFAULT_MATRIX_CLASSES` classes, the most frequent over both
        sides and an ``(other)`` row and column summing the rest
        (:func:`core.metrics.fold_classes`), so their size is bounded.
    """

    table: pd.DataFrame
    changes: dict[str, pd.DataFrame]
    confusion_before: pd.DataFrame
    confusion_after: pd.DataFrame


def _class_codes(union: _Union, before: Dataset, after: Dataset) -> tuple[list[str], dict]:
    """Give the classes of both sides (matched by class key) numbers on the union's rows.

    Returns the class names (AFTER's spelling first) and, per side, ``(label, prediction)``
    code arrays on the union's rows (-1 where the side lacks the example).
    """
    cells = {
        (side, role): data.frame[role].reset_index(drop=True).astype(object)
        for side, data in (("after", after), ("before", before))
        for role in ("label", "prediction")
    }
    spelled = pd.concat(list(cells.values()), ignore_index=True)
    keys = class_keys(spelled)
    first = pd.DataFrame({"key": keys, "text": spelled.map(str)}).dropna().drop_duplicates("key")
    order = first.sort_values("text", kind="stable")
    names = order["text"].tolist()
    code_of = pd.Index(order["key"].to_numpy(dtype=object))
    n = len(union.dataset.frame)
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    start = 0
    for side in ("after", "before"):
        pos = union.pos_after if side == "after" else union.pos_before
        pair = []
        for role in ("label", "prediction"):
            size = len(cells[(side, role)])
            arr = np.full(n, -1, dtype=np.int64)
            arr[pos] = code_of.get_indexer(keys.iloc[start : start + size])
            start += size
            pair.append(arr)
        codes[side] = (pair[0], pair[1])
    return names, codes


@dataclass(frozen=True)
class _ClassCells:
    """The outcomes of every class, one against the rest, without an examples x classes matrix.

    An example enters the one-against-the-rest counts of class ``c`` as TP, FP or FN only
    when ``c`` is its label or prediction on a side, so at most four classes per example;
    for every other class it is a true negative on each side that has it. The pairs
    (example, class) of the first kind are listed (``cls`` with per-side ``columns``); the
    rest is kept as counts per class (``rest``), which is all the sums and the tests need.
    """

    k: int  # classes
    cls: np.ndarray  # class of each listed pair
    columns: dict[str, dict[str, np.ndarray]]  # side -> tp, fp, fn, tn of each pair (0/1)
    live: dict[str, np.ndarray]  # side -> whether the pair's example is in that side
    in_both: np.ndarray  # whether the pair's example is in both sides
    rest: dict[str, np.ndarray]  # before, after, both -> per class, examples not listed


def _class_cells(
    codes: Mapping[str, tuple[np.ndarray, np.ndarray]],
    present: Mapping[str, np.ndarray],
    in_both: np.ndarray,
    k: int,
) -> _ClassCells:
    """List the (example, class) pairs where the class is a label or prediction of the example."""
    n = len(in_both)
    every = np.concatenate([codes[side][role] for side in ("before", "after") for role in (0, 1)])
    rows = np.tile(np.arange(n, dtype=np.int64), 4)
    keep = every >= 0
    row, cls = np.divmod(np.unique(rows[keep] * max(k, 1) + every[keep]), max(k, 1))
    columns, live, rest = {}, {}, {}
    for side in ("before", "after"):
        y, p = codes[side][0][row] == cls, codes[side][1][row] == cls
        live[side] = present[side][row]
        columns[side] = {
            "tp": y & p,
            "fp": live[side] & ~y & p,
            "fn": y & ~p,
            "tn": live[side] & ~y & ~p,
        }
        rest[side] = int(present[side].sum()) - np.bincount(cls[live[side]], minlength=k)
    rest["both"] = int(in_both.sum()) - np.bincount(cls[in_both[row]], minlength=k)
    return _ClassCells(k, cls, columns, live, in_both[row], rest)


def _class_randomization(
    cells: _ClassCells,
    parts: Mapping[str, tuple[np.ndarray, ...]],
    rest: Mapping[str, tuple[float, ...]],
    both: np.ndarray,
    sums: np.ndarray,
    paired: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomization p-values of a ratio metric (F1) for every class, as ``_metric_change``.

    Paired classes: only the examples whose contribution to the class changed can be
    swapped, so the exact or drawn relabellings are applied to those alone, for all the
    classes with the same number of them at once (:func:`_paired_randomization_many`).
    Unpaired classes: the pooled contributions take at most a few distinct values per
    class, counted without building per-example arrays; classes with the same counts and
    observed difference share one p-value (:func:`_dealt_p`). Either way each class gets
    the p-value :func:`paired_randomization_p` or :func:`unpaired_randomization_p` gives it.
    """
    k = cells.k
    big_nb, big_db, big_na, big_da, n_a, n_b = sums.T
    observed = _ratio(big_na, big_da) - _ratio(big_nb, big_db)
    defined = ~np.isnan(observed)
    p = np.full(k, np.nan)
    test = np.full(k, "none", dtype=object)
    todo = defined & paired
    _paired_class_p(p, todo, cells, parts, both, sums, observed, draws=draws, seed=seed)
    test[todo] = "randomization"
    todo = defined & ~paired & (n_b > 0) & (n_a > 0)
    if todo.any():
        _unpaired_class_p(p, todo, cells, parts, rest, n_a, observed, draws=draws, seed=seed)
        test[todo] = "randomization"
    return p, test


def _paired_class_p(
    p: np.ndarray,
    todo: np.ndarray,
    cells: _ClassCells,
    parts: Mapping[str, tuple[np.ndarray, ...]],
    both: np.ndarray,
    sums: np.ndarray,
    observed: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> None:
    """Set ``p`` of the paired classes ``todo``, grouped by their number of moved examples."""
    k = cells.k
    (num_b, den_b, _), (num_a, den_a, _) = parts["before"], parts["after"]
    big_nb, big_db, big_na, big_da = sums[:, :4].T
    moved = (both > 0) & ((num_b != num_a) | (den_b != den_a)) & todo[cells.cls]
    c, dn, dd = cells.cls[moved], (num_b - num_a)[moved], (den_b - den_a)[moved]
    order = np.lexsort((dd, dn, c))
    c, dn, dd = c[order], dn[order], dd[order]
    m = np.bincount(c, minlength=k)
    offset = np.concatenate([[0], np.cumsum(m)[:-1]]).astype(np.int64)
    for size in np.unique(m[todo]):
        group = np.flatnonzero(todo & (m == size))
        at = offset[group][:, None] + np.arange(size)
        delta = np.stack([dn[at], dd[at]], axis=-1).reshape(len(group), size, 2)
        totals = np.column_stack([big_nb[group], big_db[group], big_na[group], big_da[group]])
        p[group] = _paired_randomization_many(
            delta, totals, observed[group], draws=draws, seed=seed
        )


def _unpaired_class_p(
    p: np.ndarray,
    todo: np.ndarray,
    cells: _ClassCells,
    parts: Mapping[str, tuple[np.ndarray, ...]],
    rest: Mapping[str, tuple[float, ...]],
    n_a: np.ndarray,
    observed: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> None:
    """Set ``p`` of the unpaired classes ``todo``; equal deals share one p-value."""
    cls, values, counts = _pooled_contributions(cells, parts, rest, todo)
    bounds = np.searchsorted(cls, np.arange(cells.k + 1))
    seen: dict[tuple, float] = {}
    for j in np.flatnonzero(todo):
        lo, hi = bounds[j], bounds[j + 1]
        key = (values[lo:hi].tobytes(), counts[lo:hi].tobytes(), int(n_a[j]), float(observed[j]))
        if key not in seen:
            seen[key] = _dealt_p(
                values[lo:hi],
                counts[lo:hi],
                int(n_a[j]),
                float(observed[j]),
                draws=draws,
                seed=seed,
            )
        p[j] = seen[key]


def _pooled_contributions(
    cells: _ClassCells,
    parts: Mapping[str, tuple[np.ndarray, ...]],
    rest: Mapping[str, tuple[float, ...]],
    todo: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the distinct pooled ``(num, den)`` contributions of each class in ``todo``.

    The listed (example, class) pairs of both sides, plus each side's true negatives not
    listed (``rest``: one contribution, ``cells.rest`` times). Returns the class of each
    distinct contribution (sorted by class), the ``(num, den)`` values and their counts.
    """
    k = cells.k
    pooled = [
        (cells.cls[use > 0], num[use > 0], den[use > 0], np.ones(int((use > 0).sum())))
        for num, den, use in (parts["before"], parts["after"])
    ]
    pooled += [
        (
            np.arange(k),
            np.full(k, side_rest[0]),
            np.full(k, side_rest[1]),
            cells.rest[side].astype(float),
        )
        for side, side_rest in rest.items()
        if side_rest[2] > 0
    ]
    cls, vn, vd, weight = (np.concatenate(column) for column in zip(*pooled, strict=True))
    keep = todo[cls] & (weight > 0)
    cls, vn, vd, weight = cls[keep], vn[keep], vd[keep], weight[keep]
    order = np.lexsort((vd, vn, cls))
    cls, vn, vd, weight = cls[order], vn[order], vd[order], weight[order]
    start = np.flatnonzero(
        np.r_[True, (np.diff(cls) != 0) | (np.diff(vn) != 0) | (np.diff(vd) != 0)]
    )
    counts = (
        np.rint(np.add.reduceat(weight, start)).astype(np.int64)
        if len(start)
        else np.zeros(0, dtype=np.int64)
    )
    return cls[start], np.column_stack([vn[start], vd[start]]), counts


def _class_metric_change(
    cells: _ClassCells, spec: Metric, *, draws: int, seed: int
) -> pd.DataFrame:
    """Compare one metric for every class at once: ``_metric_change`` on all data, per class.

    The per-class sums are ``np.bincount`` over the listed (example, class) pairs plus the
    contribution of the examples that are a true negative of the class on a side (the same
    for all of them: :func:`_parts` of one such example, times their count). The tests are
    those of ``_metric_change``, run on arrays: McNemar's exact test where the class's
    counted examples are the same on both sides, else the two-proportion or Fisher's test,
    and randomization for F1 (:func:`_class_randomization`).
    """
    k = cells.k
    k = cells.k
    parts, rest = _class_parts(cells, spec)
    (num_b, _, use_b), (num_a, _, use_a) = parts["before"], parts["after"]
    (nb0, _, ub0), (na0, _, ua0) = rest["before"], rest["after"]
    both = (cells.in_both & (use_b > 0) & (use_a > 0)).astype(float)
    both0 = float(ub0 > 0 and ua0 > 0)
    big_nb, big_db, n_b = (
        _class_total(cells, v, r, cells.rest["before"])
        for v, r in zip(parts["before"], rest["before"], strict=True)
    )
    big_na, big_da, n_a = (
        _class_total(cells, v, r, cells.rest["after"])
        for v, r in zip(parts["after"], rest["after"], strict=True)
    )
    n_p = _class_total(cells, both, both0, cells.rest["both"])
    value_b, value_a = _ratio(big_nb, big_db), _ratio(big_na, big_da)
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    if spec.proportion:
        p = np.full(k, np.nan)
        test = np.full(k, "none", dtype=object)
        b = _class_total(
            cells, both * num_b * (1 - num_a), both0 * nb0 * (1 - na0), cells.rest["both"]
        )
        c = _class_total(
            cells, both * (1 - num_b) * num_a, both0 * (1 - nb0) * na0, cells.rest["both"]
        )
        p[paired] = mcnemar_exact_p(b[paired], c[paired])
        test[paired] = "mcnemar"
        p[~paired], test[~paired] = _two_proportion_once(
            big_nb[~paired], big_db[~paired], big_na[~paired], big_da[~paired]
        )
    else:
        sums = np.column_stack([big_nb, big_db, big_na, big_da, n_a, n_b])
        p, test = _class_randomization(
            cells, parts, rest, both, sums, paired, draws=draws, seed=seed
        )
    return pd.DataFrame(
        {
            "n_before": _counts(n_b),
            "n_after": _counts(n_a),
            "n_paired": _counts(n_p),
            "before": value_b,
            "after": value_a,
            "delta": value_a - value_b,
            "test": test,
            "p_value": p,
        }
    )


def _class_parts(
    cells: _ClassCells, spec: Metric
) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[str, tuple[float, ...]]]:
    """:func:`_parts` of each listed pair per side, and of one true negative not listed."""
    tn_only = {name: np.array([1.0 if name == "tn" else 0.0]) for name in ("tp", "fp", "fn", "tn")}
    parts, rest = {}, {}
    for side in ("before", "after"):
        parts[side] = tuple(
            np.asarray(v, dtype=float)
            for v in _parts(spec.name, cells.columns[side], cells.live[side])
        )
        rest[side] = tuple(float(v[0]) for v in _parts(spec.name, tn_only, np.ones(1)))
    return parts, rest


def _class_total(
    cells: _ClassCells, values: np.ndarray, each: float, count: np.ndarray
) -> np.ndarray:
    """Sum ``values`` of the listed pairs per class, plus ``each`` for ``count`` others."""
    return np.bincount(cells.cls, weights=values, minlength=cells.k) + each * count


def compare_classes(
    before: Dataset,
    after: Dataset,
    *,
    metrics: Sequence[str] = DEFAULT_CLASS_METRICS,
    task: TaskSpec | None = None,
    alpha: float = 0.05,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> ClassComparison:
    """Compare two iterations class by class: precision, recall, F1 and the confusion matrices.

    Each class is scored one against the rest (TP: labelled and predicted it; FP: predicted
    it, labelled another; FN: labelled it, predicted another), on all examples, with the
    examples matched and relabelled examples scored as in :func:`compare_datasets`. Classes
    are matched across the files by :func:`core.values.class_keys` (``1`` and ``1.0`` are
    one class). The tests are those of :func:`compare_slice_metrics`: recall (the class's
    accuracy) and FNR get McNemar's exact test on the examples of the class where those
    examples are in both files, else the two-proportion (or Fisher's) test; FPR the same on
    the examples of the other classes; precision, counted on the examples predicted as the
    class, is paired only where those are the same examples; F1 approximate randomization.

    Parameters
    ----------
    before, after
        The two iterations' predictions (a binary or multiclass task).
    metrics
        Names from :data:`CLASS_METRICS` (``accuracy`` is the class's recall).
    task
        The task (default: inferred from AFTER's labels).
    alpha
        Significance level.
    draws, seed
        Random relabellings of the randomization tests and their seed.

    Returns
    -------
    ClassComparison

    Raises
    ------
    core.errors.InvalidValueError
        A task without classes (text, regression), a metric a class does not have, or
        ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    task = task or default_task(after)
    specs = [check_metric(m, task.kind, per_class=True) for m in dict.fromkeys(metrics)]
    before = _labels_from(before, after, label_differences(before, after))
    union = _union(before, after, ())
    names, codes = _class_codes(union, before, after)
    present = {side: union.present(side) for side in ("before", "after")}
    k = len(names)
    # Each side's labelled and predicted codes, on the examples it has.
    sides = {
        side: (codes[side][0][present[side]], codes[side][1][present[side]]) for side in present
    }
    support = {side: np.bincount(sides[side][0], minlength=k) for side in sides}
    order = np.argsort(support["after"], kind="stable")  # rare classes first
    # All classes at once (_class_metric_change): a loop over classes costs seconds at 10,000.
    cells = _class_cells(codes, present, union.in_both(), k)
    intervals = _keyed_reports(names, before, after)
    changes = {
        spec.name: _class_change(
            cells, spec, names, intervals, alpha=alpha, draws=draws, seed=seed
        ).iloc[order]
        for spec in specs
    }
    table = _class_table(names, support, changes)
    matrices = _class_matrices(names, sides)
    return ClassComparison(table.iloc[order], changes, matrices[0], matrices[1])


def _keyed_reports(
    names: Sequence[str], before: Dataset, after: Dataset
) -> dict[str, pd.DataFrame]:
    """Each side's :func:`core.metrics.compute_class_report`, on the rows of ``names``.

    Classes are matched by :func:`core.values.class_keys` (``1`` and ``1.0`` are one).
    """
    keyed = pd.Index(class_keys(pd.Series(names, dtype=object)).to_numpy(dtype=object))
    out = {}
    for side, data in (("before", before), ("after", after)):
        report = compute_class_report(data.frame)
        keys = class_keys(pd.Series(report.index.map(str), dtype=object)).to_numpy(dtype=object)
        out[side] = report.set_axis(pd.Index(keys)).reindex(keyed)
    return out


def _class_change(
    cells: _ClassCells,
    spec: Metric,
    names: Sequence[str],
    reports: Mapping[str, pd.DataFrame],
    *,
    alpha: float,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Build one metric's change table for every class (a class's accuracy is its recall)."""
    metric = "recall" if spec.name == "accuracy" else spec.name
    t = _class_metric_change(cells, METRICS[metric], draws=draws, seed=seed)
    t.index = pd.Index(names, dtype=object, name="class")
    t.insert(0, "kind", "class")
    t["scope"] = "all"
    for side, report in reports.items():
        for column, values in _intervals(report, metric, side).items():
            t[column] = values.to_numpy()
    return _finish_change(t, spec, alpha)


def _class_table(
    names: Sequence[str], support: Mapping[str, np.ndarray], changes: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Build the wide per-class table: supports, then each metric's values, change and test."""
    index = pd.Index(names, dtype=object, name="class")
    table = pd.DataFrame(
        {"support_before": support["before"], "support_after": support["after"]}, index=index
    )
    for name, change in changes.items():
        t = change.reindex(index)
        for column in ("before", "after", "delta", "test", "p_value", "significant"):
            table[f"{name}_{column}"] = t[column].to_numpy()
    return table


def _class_matrices(
    names: Sequence[str], sides: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> list[pd.DataFrame]:
    """Both sides' confusion matrices on the same classes, at most DEFAULT_MATRIX_CLASSES.

    The most frequent over both sides keep a row and column; the others are summed in
    ``(other)`` (:func:`core.metrics.fold_classes`).
    """
    k = len(names)
    totals = sum(np.bincount(v, minlength=k) for pair in sides.values() for v in pair)
    slot, shown = fold_classes(names, np.asarray(totals), max_classes=DEFAULT_MATRIX_CLASSES)
    return [folded_matrix(slot, shown, y, p) for y, p in sides.values()]
