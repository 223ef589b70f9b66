"""Exact tests of counts: McNemar's paired test and the binomial test against a rate.

Both read per-slice counts (:mod:`core.metrics.counts`) and give arrays of p-values, one
per slice, through the exact binomial distribution of :mod:`core.binomial`.
"""

from __future__ import annotations

import numpy as np

from slicewise.core.binomial import binom_cdf, binom_sf
from slicewise.core.metrics.counts import exact_counts as _ints


def mcnemar_exact_p(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Compute the two-sided exact McNemar p-value from discordant pair counts ``b`` and ``c``.

    ``p = min(1, 2 · P[Binomial(b + c, 1/2) <= min(b, c)])``; 1 where there are no
    discordant pairs.
    """
    b = np.asarray(b, dtype=float)
    c = np.asarray(c, dtype=float)
    m = b + c
    with np.errstate(invalid="ignore"):
        # P[Binomial(m, 1/2) <= min(b, c)]
        p = 2 * binom_cdf(_ints(np.minimum(b, c)), _ints(m), 0.5)
    return np.where(m > 0, np.minimum(1.0, p), 1.0)


def binomial_test_p(k: np.ndarray, n: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """Compute the two-sided exact binomial test of ``k`` successes in ``n`` against rate ``p0``.

    Doubles the smaller tail: ``min(1, 2 · min(P[X <= k], P[X >= k]))``; NaN where ``n == 0``
    or ``p0`` is missing.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p0 = np.clip(np.asarray(p0, dtype=float), 0.0, 1.0)
    with np.errstate(invalid="ignore"):
        lower = binom_cdf(_ints(k), _ints(n), p0)  # P[X <= k]
        upper = np.where(
            k > 0, binom_sf(_ints(np.maximum(k - 1, 0)), _ints(n), p0), 1.0
        )  # P[X >= k]
    p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    return np.where((n > 0) & ~np.isnan(p0), p, np.nan)
