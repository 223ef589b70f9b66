"""Any metric of :data:`core.compare.metric_specs.METRICS`, compared slice by slice.

:func:`compare_slice_metrics` follows FPR and FNR by race, WER by accent, MAE by
region... on the slices, matched examples and relabelled examples of
:func:`core.compare.compare_datasets`. Each metric is a ratio of per-example sums (see
:class:`core.compare.metric_specs.Metric`) counted on its own examples: FPR among the
examples labelled negative, FNR and recall among those labelled positive, precision among
those predicted positive.

Which test
----------
- Proportions (accuracy, recall, precision, FPR, FNR): where the slice's counted
  examples are the same on both sides (matched by id) McNemar's exact test on them,
  e.g. for FPR the negatives flagged before but not after (and the reverse); otherwise
  the pooled two-proportion z-test, or Fisher's exact test for small counts
  (:func:`core.compare.significance.two_proportion_p`). Precision counts the examples
  predicted positive, which a new model changes, so its test is usually unpaired.
- F1 and WER: approximate randomization (``paired_randomization_p`` on the same
  examples, else ``unpaired_randomization_p``, :mod:`core.compare.significance`), seeded.
- MAE: paired randomization on the same examples, else Welch's t-test (``welch_p``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.analysis import default_task, slice_kinds
from slicewise.core.compare.metric_specs import (
    Metric,
    _counts,
    _finish_change,
    _intervals,
    _parts,
    check_metric,
)
from slicewise.core.compare.pairing import _prepare, _Prepared
from slicewise.core.compare.significance import (
    RANDOMIZATION_DRAWS,
    RANDOMIZATION_SEED,
    paired_randomization_p,
    two_proportion_p,
    unpaired_randomization_p,
    welch_p,
)
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import mcnemar_exact_p, sum_by_slice
from slicewise.core.metrics.counts import ratio as _ratio
from slicewise.core.task import TaskSpec


def compare_slice_metrics(
    before: Dataset,
    after: Dataset,
    *,
    metrics: Sequence[str],
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    alpha: float = 0.05,
    tag_scopes: str | Mapping[str, str] = "auto",
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
    max_slices: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Compare any metric of :data:`METRICS` slice by slice (FPR and FNR by race, WER...).

    The slices, the matching of examples and the relabelled examples are those of
    :func:`compare_datasets`. Each metric is a ratio of per-example sums (see
    :class:`Metric`) counted on its own examples: FPR among the examples labelled negative,
    FNR and recall among those labelled positive, precision among those predicted positive.
    The tests per metric are in the module notes (:mod:`core.compare.slice_change`).

    Parameters
    ----------
    before, after
        The two iterations' predictions; examples are matched by id (as text).
    metrics
        Names from :data:`METRICS` that the task's slices have (:func:`check_metric`).
    task, slice_by, bins, alpha, tag_scopes, max_slices
        As :func:`compare_datasets` takes them.
    draws, seed
        Random relabellings of the randomization tests and their seed.

    Returns
    -------
    dict
        One DataFrame per metric, indexed by slice like :func:`compare_datasets`, with
        columns :data:`CHANGE_COLUMNS` (described in :mod:`core.compare.metric_specs`).

    Raises
    ------
    core.errors.InvalidValueError
        ``alpha`` outside (0, 1), or a metric the task does not have.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    task = task or default_task(after)
    specs = [check_metric(m, task.kind) for m in dict.fromkeys(metrics)]
    prep = _prepare(
        before, after, task=task, slice_by=slice_by, bins=bins, alpha=alpha, max_slices=max_slices
    )
    names = prep.sides["after"].index
    kinds = slice_kinds(names, prep.info)
    unknown = names.isin(list(prep.rows_on_errors(tag_scopes)))
    present = {side: prep.present(side) for side in ("before", "after")}
    return {
        spec.name: _slice_change(
            prep, spec, kinds, unknown, present, alpha=alpha, draws=draws, seed=seed
        )
        for spec in specs
    }


def _slice_change(
    prep: _Prepared,
    spec: Metric,
    kinds: pd.Series,
    unknown: np.ndarray,
    present: Mapping[str, np.ndarray],
    *,
    alpha: float,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Compare one metric on every slice of ``prep``; rows known only on errors are blank."""
    names = prep.sides["after"].index
    parts = {}
    for side in ("before", "after"):
        columns = {
            c: prep.on_union(side, prep.outcomes[side][c]) for c in prep.outcomes[side].columns
        }
        parts[side] = _parts(spec.name, columns, present[side])
    t = _metric_change(
        prep.membership,
        prep.tag_positions,
        prep.in_both,
        parts["before"],
        parts["after"],
        spec=spec,
        draws=draws,
        seed=seed,
    )
    t.index = names
    t.insert(0, "kind", kinds.to_numpy(dtype=object))
    t["scope"] = np.where(unknown, "errors", "all").astype(object)
    for side in ("before", "after"):
        for column, values in _intervals(prep.sides[side], spec.name, side).items():
            t[column] = values.to_numpy()
    hidden = ["before", "after", "delta", "p_value"] + [
        c for c in t.columns if c.endswith(("_ci_low", "_ci_high"))
    ]
    t.loc[unknown, hidden] = np.nan
    t.loc[unknown, "test"] = "none"
    return _finish_change(t, spec, alpha)


def _metric_change(
    membership: np.ndarray,
    tag_positions: Sequence[int],
    in_both: np.ndarray,
    before: tuple[np.ndarray, ...],
    after: tuple[np.ndarray, ...],
    *,
    spec: Metric,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Compare one metric on all data, each slice and (with tags) the untagged examples.

    ``before`` and ``after`` are :func:`_parts` on the union's rows (0 where a side lacks
    the example). A slice is paired when the examples the metric counts (``use``) are the
    same on both sides; then a proportion gets McNemar's exact test on those examples and
    another metric paired randomization; otherwise the two-proportion (or Fisher's) test,
    Welch's t-test for MAE and unpaired randomization for the rest.
    """
    num_b, den_b, use_b = before
    num_a, den_a, use_a = after
    both = (in_both & (use_b > 0) & (use_a > 0)).astype(float)
    columns = [use_b, num_b, den_b, use_a, num_a, den_a, both]
    if spec.proportion:  # McNemar's discordant pairs
        columns += [both * num_b * (1 - num_a), both * (1 - num_b) * num_a]
    sums = sum_by_slice(
        membership, [np.asarray(c, dtype=np.float64) for c in columns], tag_positions=tag_positions
    )[:, 1:]
    n_b, big_nb, big_db, n_a, big_na, big_da, n_p = sums[:, :7].T
    value_b, value_a = _ratio(big_nb, big_db), _ratio(big_na, big_da)
    if spec.name == "wer":  # as compute_slice_metrics: no reference words -> the insertions
        value_b = np.where((big_db == 0) & (n_b > 0), big_nb, value_b)
        value_a = np.where((big_da == 0) & (n_a > 0), big_na, value_a)
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    if spec.proportion:
        p_unpaired, test_unpaired = two_proportion_p(big_nb, big_db, big_na, big_da)
        p = np.where(paired, mcnemar_exact_p(sums[:, 7], sums[:, 8]), p_unpaired)
        test = np.where(paired, "mcnemar", test_unpaired).astype(object)
    else:
        p, test = _ratio_tests(
            membership,
            tag_positions,
            before,
            after,
            both,
            np.isnan(value_b) | np.isnan(value_a),
            paired,
            spec=spec,
            draws=draws,
            seed=seed,
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


def _ratio_tests(
    membership: np.ndarray,
    tag_positions: Sequence[int],
    before: tuple[np.ndarray, ...],
    after: tuple[np.ndarray, ...],
    both: np.ndarray,
    undefined: np.ndarray,
    paired: np.ndarray,
    *,
    spec: Metric,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Test a ratio metric (F1, WER, MAE) on all data, each slice and the untagged rows.

    A paired slice gets paired randomization on the examples both sides count; another,
    Welch's t-test (MAE) or unpaired randomization. Slices where the metric is
    ``undefined`` on a side get NaN and ``none``. Returns ``(p_value, test)``.
    """
    num_b, den_b, use_b = before
    num_a, den_a, use_a = after
    p = np.full(len(paired), np.nan)
    test = np.full(len(paired), "none", dtype=object)
    n, k = membership.shape
    untagged = ~membership[:, list(tag_positions)].any(axis=1) if len(tag_positions) else None
    for j in range(len(paired)):
        if undefined[j]:
            continue
        mask = np.ones(n, dtype=bool) if j == 0 else membership[:, j - 1] if j <= k else untagged
        if paired[j]:
            rows = mask & (both > 0)
            p[j] = paired_randomization_p(
                num_b[rows], den_b[rows], num_a[rows], den_a[rows], draws=draws, seed=seed
            )
            test[j] = "randomization"
            continue
        rows_b, rows_a = mask & (use_b > 0), mask & (use_a > 0)
        if spec.name == "mae":
            p[j] = welch_p(num_b[rows_b], num_a[rows_a])
            test[j] = "welch"
        else:
            p[j] = unpaired_randomization_p(
                num_b[rows_b], den_b[rows_b], num_a[rows_a], den_a[rows_a], draws=draws, seed=seed
            )
            test[j] = "randomization"
        if np.isnan(p[j]):
            test[j] = "none"
    return p, test
