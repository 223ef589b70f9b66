"""Each slice against the rest of the data: excess error, its test, and Benjamini-Hochberg."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.multiple_testing import benjamini_hochberg  # noqa: F401 (re-exported)

#: Columns of :func:`add_excess_error`.
EXCESS_COLUMNS = (
    "error_rate_rest",
    "lift",
    "excess_error",
    "excess_p_value",
    "excess_q_value",
    "worse_than_rest",
)
#: False discovery rate at which a slice counts as worse than the rest.
FDR = 0.05


def add_excess_error(table: pd.DataFrame, *, fdr: float = FDR) -> pd.DataFrame:
    """Add each slice's excess error over the rest of the data, with a test and BH q-value.

    The rest of a slice is every example outside it (its complement; tags overlap, so each
    slice has its own). From the counts alone (``n``, ``errors``, and the ``All data`` row):

    - ``error_rate_rest`` = (E − e) / (N − n); ``lift`` = error rate / error_rate_rest;
      ``excess_error`` = error rate − error_rate_rest (positive: worse than the rest).
    - ``excess_p_value``: two-sided test of association between being in the slice and
      being an error: the pooled two-proportion z-test, Fisher's exact test where an
      expected count is under 5 (:func:`core.compare.two_proportion_p`).
    - ``excess_q_value``: Benjamini–Hochberg over the slices of the table (``tag`` and
      ``column`` rows with both sides non-empty); ``worse_than_rest``: ``excess_error > 0``
      and ``excess_q_value < fdr``.

    Rows whose error rate is not known (a tag known only on errors or on a sample, see
    :mod:`core.tag_scope`), ``All data`` and empty slices get NaN and False.
    """
    from slicewise.core.compare import two_proportion_p  # compare imports this module

    out = table.copy()
    if not len(out) or "errors" not in out.columns:
        return out
    kind = out["kind"] if "kind" in out.columns else pd.Series("tag", index=out.index)
    n = out["n"].to_numpy(dtype=float)
    errors = pd.to_numeric(out["errors"], errors="coerce").to_numpy(dtype=float)
    overall = (kind == "overall").to_numpy()
    n_all = n[overall][0] if overall.any() else n[0]
    e_all = errors[overall][0] if overall.any() else errors[0]
    exact = (
        (out["scope"] == "all").to_numpy() if "scope" in out.columns else np.ones(len(out), bool)
    )
    rest_n, rest_e = n_all - n, e_all - errors
    usable = exact & ~overall & (n > 0) & (rest_n > 0) & ~np.isnan(errors)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(usable, errors / n, np.nan)
        rest = np.where(usable, rest_e / rest_n, np.nan)
        lift = np.where(usable & (rest > 0), rate / rest, np.nan)
    p, _ = two_proportion_p(
        np.where(usable, rest_e, 0),
        np.where(usable, rest_n, 0),
        np.where(usable, errors, 0),
        np.where(usable, n, 0),
    )
    p = np.where(usable, p, np.nan)
    tested = usable & kind.isin(["tag", "column"]).to_numpy()
    q = np.full(len(out), np.nan)
    q[tested] = benjamini_hochberg(p[tested])
    out["error_rate_rest"] = rest
    out["lift"] = lift
    out["excess_error"] = rate - rest
    out["excess_p_value"] = p
    out["excess_q_value"] = q
    out["worse_than_rest"] = tested & (rate - rest > 0) & (q < fdr)
    return out
