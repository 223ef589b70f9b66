"""Multiple-testing correction shared by the slice search and the prioritisation."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN.

    ``q_(i) = min_{j >= i} p_(j) · m / j`` over the ``m`` p-values present, sorted
    ascending, capped at 1 (Benjamini & Hochberg, 1995); the same values as statsmodels'
    ``multipletests(method="fdr_bh")`` and SciPy's ``false_discovery_control`` (checked in
    tests/test_multiple_testing.py). Written with numpy rather than calling SciPy: every
    ``slicewise analyze`` ranks its slices with it, and loading ``scipy.stats`` for one
    running minimum costs about a second and 50 MB per command.

    Parameters
    ----------
    p_values : array of shape (m,)
        p-values in [0, 1]; NaN marks a test that was not run.

    Returns
    -------
    numpy.ndarray of shape (m,), float
        The q-values, NaN where the p-value is NaN.
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    if not len(present):
        return q
    order = present[np.argsort(p[present], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q
