"""Significance tests of a change between two iterations: proportions and ratios of sums.

- :func:`two_proportion_p`: the pooled two-proportion z-test, Fisher's exact test where
  an expected cell count is under :data:`MIN_EXPECTED` (independent examples).
- :func:`paired_randomization_p`, :func:`unpaired_randomization_p`: approximate
  randomization of a ratio-of-sums metric (F1, WER, MAE), seeded, exact when few
  examples moved.
- :func:`welch_p`: Welch's t-test of two means (MAE on independent examples).

McNemar's exact test of paired examples is :func:`core.metrics.mcnemar_exact_p`. The
private ``_many``/``_once`` variants run the same tests for many classes at once
(:mod:`core.compare.classes`) and give each the p-value of the one-at-a-time function.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from slicewise.core.metrics.counts import ratio as _ratio

_erfc = np.frompyfunc(math.erfc, 1, 1)

#: Values of the ``test`` column.
TESTS = ("mcnemar", "two-proportion", "fisher", "randomization", "welch", "none")
#: Below this expected cell count the two-proportion z-test gives way to Fisher's exact test.
MIN_EXPECTED = 5.0


def two_proportion_p(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compute two-sided p-values for ``k1/n1`` vs ``k2/n2`` from independent samples.

    Returns
    -------
    (p_value, test)
        The pooled two-proportion z-test where every expected cell count is at least
        :data:`MIN_EXPECTED`, Fisher's exact test elsewhere; ``test`` names the one used
        (``two-proportion`` or ``fisher``; ``none`` with NaN where a side is empty). Where
        both samples are all right (or all wrong) the proportions cannot differ: p = 1.
    """
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k2 / n2 - k1 / n1) / se
        # Two-sided normal tail, 2·Φ(-|z|) = erfc(|z| / √2) (math.erfc: no scipy import).
        p_z = np.where(se > 0, _erfc(np.abs(z) / np.sqrt(2)).astype(float), 1.0)
        expected = np.minimum(np.minimum(n1, n2) * pooled, np.minimum(n1, n2) * (1 - pooled))
    empty = (n1 <= 0) | (n2 <= 0)
    small = ~empty & (expected < MIN_EXPECTED) & (se > 0)
    p = np.where(empty, np.nan, p_z)
    if small.any():
        from scipy import stats
    for i in np.flatnonzero(small):
        table = [[int(k1[i]), int(n1[i] - k1[i])], [int(k2[i]), int(n2[i] - k2[i])]]
        p[i] = stats.fisher_exact(table).pvalue
    test = np.where(empty, "none", np.where(small, "fisher", "two-proportion"))
    return p, test.astype(object)


#: Random relabellings drawn by the approximate randomization tests (seeded, see below).
RANDOMIZATION_DRAWS = 1999
#: Seed of those draws: the same files always give the same p-value.
RANDOMIZATION_SEED = 0
#: Paired randomization enumerates every relabelling (an exact p-value) up to this many
#: examples whose contribution changed (2**12 = 4,096 relabellings).
EXACT_PAIRED_LIMIT = 12
_DRAW_CELLS = 1 << 21  # relabelling matrix cells per block of draws (16 MB of float64)


def _extreme(stat: np.ndarray, observed: float) -> int:
    """Count relabelled statistics at least as far from 0 as the observed one (two-sided)."""
    tol = 1e-9 * max(1.0, abs(observed))  # the identity relabelling must count as a hit
    return int(np.count_nonzero(np.abs(stat) >= abs(observed) - tol))  # NaN never counts


def paired_randomization_p(
    num_before: np.ndarray,
    den_before: np.ndarray,
    num_after: np.ndarray,
    den_after: np.ndarray,
    *,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> float:
    """Compute the two-sided paired approximate randomization p-value of a ratio-of-sums metric.

    Approximate randomization (Noreen, *Computer-Intensive Methods for Testing Hypotheses*,
    1989; Yeh, "More accurate tests for the statistical significance of result
    differences", COLING 2000): under the null hypothesis the two iterations are
    exchangeable on each example, so each example's before and after contributions may be
    swapped. The statistic is ``Σnum_after/Σden_after − Σnum_before/Σden_before`` (F1 =
    2TP / (2TP + FP + FN), corpus WER = word edits / reference words, MAE = |error| sum /
    examples); the p-value is the share of relabellings whose statistic is at least as far
    from 0 as the observed one. Only examples whose contribution differs matter: with at
    most :data:`EXACT_PAIRED_LIMIT` of them every relabelling is enumerated (exact p);
    otherwise ``draws`` relabellings are drawn (seeded, examples in a canonical order so
    the row order of the files does not matter) and ``p = (1 + hits) / (draws + 1)``.

    Parameters
    ----------
    num_before, den_before, num_after, den_after
        Per-example numerator and denominator contributions of the same examples, in the
        same order.
    draws, seed
        Number of random relabellings and their seed.

    Returns
    -------
    float
        The p-value; NaN when the metric is undefined on a side (a zero denominator).
    """
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    big_nb, big_db, big_na, big_da = nb.sum(), db.sum(), na.sum(), da.sum()
    observed = float(_ratio(big_na, big_da) - _ratio(big_nb, big_db))
    if np.isnan(observed):
        return float("nan")
    moved = (nb != na) | (db != da)
    dn, dd = (nb - na)[moved], (db - da)[moved]
    order = np.lexsort((dd, dn))
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    big_nb, big_db, big_na, big_da = nb.sum(), db.sum(), na.sum(), da.sum()
    observed = float(_ratio(big_na, big_da) - _ratio(big_nb, big_db))
    if np.isnan(observed):
        return float("nan")
    moved = (nb != na) | (db != da)
    dn, dd = (nb - na)[moved], (db - da)[moved]
    order = np.lexsort((dd, dn))
    delta = np.column_stack([dn[order], dd[order]])  # swapping example i moves these to AFTER
    m = len(delta)
    found = 0
    for swaps in _relabellings(m, draws, seed):
        moved_n, moved_d = (swaps @ delta).T
        stat = _ratio(big_na + moved_n, big_da + moved_d) - _ratio(
            big_nb - moved_n, big_db - moved_d
        )
        found += _extreme(stat, observed)
    if m <= EXACT_PAIRED_LIMIT:
        return found / 2**m
    return (found + 1) / (draws + 1)


def unpaired_randomization_p(
    num_before: np.ndarray,
    den_before: np.ndarray,
    num_after: np.ndarray,
    den_after: np.ndarray,
    *,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> float:
    """Compute the two-sided unpaired approximate randomization p-value of a ratio-of-sums metric.

    As :func:`paired_randomization_p`, for two independent sets of examples: under the null
    hypothesis every example could have come from either set, so the pooled examples are
    dealt at random into sets of the observed sizes (Noreen, 1989). Examples with the same
    ``(num, den)`` are interchangeable, so a deal is a multivariate hypergeometric draw over
    the distinct contributions (the same distribution as shuffling the examples, at a cost
    that does not grow with the number of examples). ``p = (1 + hits) / (draws + 1)``
    with ``draws`` seeded deals.

    Returns
    -------
    float
        The p-value; NaN when a side is empty or the metric is undefined on a side.
    """
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    observed = float(_ratio(na.sum(), da.sum()) - _ratio(nb.sum(), db.sum()))
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    observed = float(_ratio(na.sum(), da.sum()) - _ratio(nb.sum(), db.sum()))
    if np.isnan(observed) or not len(nb) or not len(na):
        return float("nan")
    pooled = np.column_stack([np.concatenate([nb, na]), np.concatenate([db, da])])
    values, counts = np.unique(pooled, axis=0, return_counts=True)
    total_n, total_d = pooled.sum(axis=0)
    found = _dealt_hits(
        values, counts.astype(np.int64), len(na), (total_n, total_d), observed, draws, seed
    )
    return (found + 1) / (draws + 1)


def _dealt_hits(
    values: np.ndarray,
    counts: np.ndarray,
    n_after: int,
    totals: tuple[float, float],
    observed: float,
    draws: int,
    seed: int,
) -> int:
    """Count the seeded deals of the pooled contributions at least as extreme as observed.

    ``values`` are the distinct pooled ``(num, den)`` contributions and ``counts`` how many
    examples have each; a deal draws ``n_after`` of them for AFTER (multivariate
    hypergeometric), in blocks of :data:`_DRAW_CELLS` cells. ``totals`` are the pooled sums.
    """
    total_n, total_d = totals
    rng = np.random.default_rng(seed)
    found = 0
    block = max(1, _DRAW_CELLS // len(values))
    for start in range(0, draws, block):
        dealt = rng.multivariate_hypergeometric(counts, n_after, size=min(block, draws - start))
        n_a, d_a = (dealt @ values).T
        found += _extreme(_ratio(n_a, d_a) - _ratio(total_n - n_a, total_d - d_a), observed)
    return found


def welch_p(before: np.ndarray, after: np.ndarray) -> float:
    """Compute the two-sided p-value of Welch's unequal-variances t-test of two means.

    Welch (1947), "The generalization of 'Student's' problem when several different
    population variances are involved", as ``scipy.stats.ttest_ind(equal_var=False)``;
    used for MAE (a mean of absolute errors) on two independent sets of examples. NaN
    with fewer than two examples on a side; where both sides have no spread, 1 for equal
    means and 0 otherwise.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if len(b) < 2 or len(a) < 2:
        return float("nan")
    if b.var() == 0 and a.var() == 0:
        return 1.0 if b.mean() == a.mean() else 0.0
    from scipy import stats

    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def _two_proportion_once(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`two_proportion_p`, run once per distinct ``(k1, n1, k2, n2)`` (Fisher is slow)."""
    cells = np.column_stack([k1, n1, k2, n2]).astype(float)
    if not len(cells):
        return np.zeros(0), np.zeros(0, dtype=object)
    unique, inverse = np.unique(cells, axis=0, return_inverse=True)
    p, test = two_proportion_p(*unique.T)
    inverse = inverse.reshape(-1)
    return p[inverse], test[inverse]


def _relabellings(m: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    """Yield, block by block, the relabellings :func:`paired_randomization_p` uses for ``m``."""
    if m <= EXACT_PAIRED_LIMIT:
        yield ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(float)
        return
    rng = np.random.default_rng(seed)
    block = max(1, _DRAW_CELLS // m)
    for start in range(0, draws, block):
        yield (rng.random((min(block, draws - start), m)) < 0.5).astype(float)


def _paired_randomization_many(
    delta: np.ndarray, totals: np.ndarray, observed: np.ndarray, *, draws: int, seed: int
) -> np.ndarray:
    """:func:`paired_randomization_p` for many metrics with the same number of moved examples.

    ``delta`` is ``(metrics, m, 2)``: each metric's moved examples' ``(num_before −
    num_after, den_before − den_after)`` in the canonical order (sorted by those values);
    ``totals`` is ``(metrics, 4)``: ``Σnum_before, Σden_before, Σnum_after, Σden_after``.
    The relabellings depend only on ``m``, ``draws`` and ``seed``, so they are drawn once
    for all the metrics and give each the p-value the one-metric function gives.
    """
    count, m = delta.shape[:2]
    found = np.zeros(count, dtype=np.int64)
    tol = 1e-9 * np.maximum(1.0, np.abs(observed))
    nb, db, na, da = (t[:, None] for t in totals.T)
    relabellings = 0
    for swaps in _relabellings(m, draws, seed):
        relabellings += len(swaps)
        step = max(1, _DRAW_CELLS // max(1, len(swaps)))
        for lo in range(0, count, step):
            part = slice(lo, lo + step)
            moved = np.matmul(swaps, delta[part])  # (metrics, relabellings, 2)
            stat = _ratio(na[part] + moved[..., 0], da[part] + moved[..., 1]) - _ratio(
                nb[part] - moved[..., 0], db[part] - moved[..., 1]
            )
            limit = (np.abs(observed[part]) - tol[part])[:, None]
            found[part] += np.count_nonzero(np.abs(stat) >= limit, axis=1)
    if m <= EXACT_PAIRED_LIMIT:
        return found / relabellings
    return (found + 1) / (draws + 1)


def _dealt_p(
    values: np.ndarray, counts: np.ndarray, n_after: int, observed: float, *, draws: int, seed: int
) -> float:
    """:func:`unpaired_randomization_p` from the distinct pooled contributions and their counts."""
    total_n, total_d = counts @ values
    found = _dealt_hits(values, counts, n_after, (total_n, total_d), observed, draws, seed)
    return (found + 1) / (draws + 1)
