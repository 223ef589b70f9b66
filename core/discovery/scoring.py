"""How bad a slice is: SliceLine's score, its bound over sub-slices, and the significance test.

``score = α · (slice error rate / overall error rate − 1) − (1 − α) · (n / slice size − 1)``
(Sagadeeva & Boehm, SIGMOD 2021) rewards a high error rate and penalises small slices. The
p-value is a one-sided exact binomial test of the slice's errors against the overall rate,
and the q-values adjust a family of them with Benjamini-Hochberg.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from slicewise.core.multiple_testing import benjamini_hochberg  # noqa: F401 (re-exported)

DEFAULT_ALPHA = 0.95


def slice_score(
    size: np.ndarray,
    errors: np.ndarray,
    *,
    n: int,
    overall_rate: float,
    alpha: float = DEFAULT_ALPHA,
) -> np.ndarray:
    """Compute the SliceLine score of slices from their sizes and error counts.

    ``α · (errors / size / overall_rate − 1) − (1 − α) · (n / size − 1)``; ``-inf`` for
    empty slices. ``size`` and ``errors`` are counts of the same shape; ``n`` is the number
    of examples in all and ``overall_rate`` their error rate (a fraction).
    """
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = alpha * (errors / size / overall_rate - 1) - (1 - alpha) * (n / size - 1)
    return np.where(size > 0, sc, -np.inf)


def score_upper_bound(
    size: np.ndarray,
    errors: np.ndarray,
    *,
    n: int,
    overall_rate: float,
    min_support: int,
    alpha: float = DEFAULT_ALPHA,
) -> np.ndarray:
    """Bound the score of every sub-slice of slices with these sizes and error counts.

    A sub-slice has at most ``size`` examples, at least ``min_support`` and at most
    ``min(errors, its size)`` errors (0/1 errors). The score is monotone in the size on
    each side of ``size = errors``, so its maximum is at ``min_support``,
    ``max(errors, min_support)`` or ``size`` (SliceLine, section 3.2).
    """
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    best = np.full(size.shape, -np.inf)
    for sz in (np.full(size.shape, float(min_support)), np.maximum(errors, min_support), size):
        sz = np.minimum(sz, size)
        sc = slice_score(sz, np.minimum(errors, sz), n=n, overall_rate=overall_rate, alpha=alpha)
        best = np.maximum(best, sc)
    return best


def excess_error_p_value(errors: np.ndarray, size: np.ndarray, overall_rate: float) -> np.ndarray:
    """Compute the one-sided exact binomial p-value ``P[X >= errors]``, ``X ~ Bin(size, rate)``."""
    errors = np.asarray(errors, dtype=float)
    size = np.asarray(size, dtype=float)
    return np.clip(stats.binom.sf(errors - 1, size, overall_rate), 0.0, 1.0)
