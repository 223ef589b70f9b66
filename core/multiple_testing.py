"""Multiple-testing correction shared by the slice search and the prioritisation."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN.

    ``q_(i) = min_{j >= i} p_(j) · m / j`` over the ``m`` p-values present, sorted
    ascending, capped at 1 (Benjamini & Hochberg, 1995), computed by SciPy's
    ``scipy.stats.false_discovery_control(method="bh")`` on the non-missing values; the
    same values as statsmodels' ``multipletests(method="fdr_bh")``.

    Parameters
    ----------
    p_values : array of shape (m,)
        p-values in [0, 1]; NaN marks a test that was not run.

    Returns
    -------
    numpy.ndarray of shape (m,), float
        The q-values, NaN where the p-value is NaN.
    """
    from scipy import stats  # here, not at import: scipy.stats costs ~1 s and ~50 MB to load

    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        q[present] = stats.false_discovery_control(p[present], method="bh")
    return q
