"""How far a production sample's distribution of one feature lies from the reference's.

Three distances, each between two discrete distributions (shares that sum to 1):

- **L-infinity** (Chebyshev) distance for categorical features, TensorFlow Data Validation's
  ``infinity_norm`` drift comparator: ``max_i |p_i - q_i|`` over the union of categories,
  where ``p`` and ``q`` are the two normalised value counts; a category one side never has
  counts with share 0 there. It lies in [0, 1]: 0.25 means some category's share moved by
  25 percentage points.
- **Jensen-Shannon divergence** for numeric features (Lin 1991, "Divergence measures based on
  the Shannon entropy", IEEE Trans. Inf. Theory 37(1)): with ``m = (p + q) / 2``,
  ``JS = KL(p || m) / 2 + KL(q || m) / 2`` in **log base 2**, so it lies in [0, 1]. It is the
  square of :func:`scipy.spatial.distance.jensenshannon` with ``base=2``. The values are
  binned first by the reference's quantiles (:func:`numeric_bin_edges`, :func:`bin_index`):
  by default at 0, 0.1, ..., 1 (``numpy.quantile``, linear interpolation) with duplicates
  merged; each distinct quantile is a bin of its own and so is each open interval between
  and beyond them, so values outside the reference's range count, in open-ended outer
  bins.
- **Population stability index** (PSI; Siddiqi 2006, "Credit Risk Scorecards", ch. 8):
  ``sum_i (q_i - p_i) * ln(q_i / p_i)`` with ``p`` the reference and ``q`` the production
  shares, over the same categories or bins. A share of 0 makes the logarithm infinite, so,
  as is common practice, every share is floored at :data:`EMPTY_SHARE_EPSILON` (1e-4)
  before the sum. PSI is a symmetrised Kullback-Leibler divergence in nats and has no upper
  bound; the usual reading is < 0.1 stable, 0.1-0.25 some shift, > 0.25 a large shift.

Missing values (``None``, ``NaN``, blank text) are left out before the shares are taken; the
share of missing cells is reported beside the distances (:mod:`core.drift.features`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.values import as_text

#: The floor of a share in :func:`psi`: an empty category or bin counts as this share, so that
#: ``ln(q / p)`` stays finite (common practice; 1e-4 is one row in ten thousand).
EMPTY_SHARE_EPSILON = 1e-4
#: Bins of a numeric feature, by default (:func:`numeric_bin_edges`): deciles of the reference.
DEFAULT_BINS = 10


# --------------------------------------------------------------------------- on shares


def linf_of_shares(p: np.ndarray, q: np.ndarray) -> float:
    """L-infinity (Chebyshev) distance ``max_i |p_i - q_i|`` of two aligned share vectors.

    TFDV's ``infinity_norm`` comparator. Returns NaN when the vectors are empty.

    Examples
    --------
    >>> linf_of_shares(np.array([0.5, 0.5, 0.0]), np.array([0.2, 0.6, 0.2]))
    0.3
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if not p.size:
        return float("nan")
    return float(np.max(np.abs(p - q)))


def js_of_shares(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence of two aligned share vectors, log base 2, in [0, 1].

    ``JS = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2`` (Lin 1991); terms where
    a share is 0 contribute 0. Returns NaN when the vectors are empty.

    Examples
    --------
    >>> js_of_shares(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    1.0
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if not p.size:
        return float("nan")
    m = (p + q) / 2
    from scipy.special import rel_entr  # here: scipy.special costs every command 0.15 s

    nats = 0.5 * rel_entr(p, m).sum() + 0.5 * rel_entr(q, m).sum()
    return float(min(max(nats / np.log(2), 0.0), 1.0))


def psi_of_shares(p: np.ndarray, q: np.ndarray, *, epsilon: float = EMPTY_SHARE_EPSILON) -> float:
    """Return the population stability index ``sum_i (q_i - p_i) ln(q_i / p_i)`` of shares.

    ``p`` is the reference, ``q`` the production; each share is first floored at ``epsilon``
    (:data:`EMPTY_SHARE_EPSILON`), so an empty bin counts as that share. Returns NaN when
    the vectors are empty.

    Examples
    --------
    >>> round(psi_of_shares(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 6)
    0.274653
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if not p.size:
        return float("nan")
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


# --------------------------------------------------------------------------- categories


def category_shares_table(reference: pd.Series, production: pd.Series) -> pd.DataFrame:
    """Count each category in the reference and in production, and their shares.

    Cells are compared as trimmed text (:func:`core.values.as_text`); missing and blank cells
    are left out, so each share column sums to 1 (or is all 0 for a side with no values).

    Returns
    -------
    pandas.DataFrame
        One row per category of either side, the reference's most common first and the
        categories the reference never has (``new``) last: ``category`` (str),
        ``reference_count``, ``production_count`` (int), ``reference_share``,
        ``production_share`` (float in [0, 1]), ``new`` (bool: absent from the reference).
    """
    ref = as_text(reference).dropna().value_counts(sort=False)
    prod = as_text(production).dropna().value_counts(sort=False)
    cats = ref.index.union(prod.index, sort=False)
    ref_n = ref.reindex(cats, fill_value=0).astype(np.int64)
    prod_n = prod.reindex(cats, fill_value=0).astype(np.int64)
    table = pd.DataFrame(
        {
            "category": cats.astype(str),
            "reference_count": ref_n.to_numpy(),
            "production_count": prod_n.to_numpy(),
            "reference_share": _shares(ref_n.to_numpy()),
            "production_share": _shares(prod_n.to_numpy()),
            "new": (ref_n == 0).to_numpy(),
        }
    )
    table = table.sort_values(
        ["new", "reference_count", "production_count", "category"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    return table.reset_index(drop=True)


def linf_distance(reference: pd.Series, production: pd.Series) -> float:
    """TFDV's L-infinity distance between two samples of a categorical feature.

    The largest absolute difference between the two normalised value counts over the union
    of categories (TensorFlow Data Validation, ``drift_comparator.infinity_norm``; the
    Chebyshev distance ``max_i |p_i - q_i|``). A category the reference never has counts
    with reference share 0 (:func:`category_shares_table` lists them as ``new``). Missing
    cells are left out. NaN when either side has no value.

    Examples
    --------
    >>> linf_distance(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "b", "c"]))
    0.25
    """
    table = category_shares_table(reference, production)
    if not table["reference_count"].sum() or not table["production_count"].sum():
        return float("nan")
    return linf_of_shares(table["reference_share"], table["production_share"])


# --------------------------------------------------------------------------- numbers


def numeric_bin_edges(reference: np.ndarray, *, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Return the cut points of a numeric feature's bins: the reference's distinct quantiles.

    The cut points are ``numpy.quantile(reference, linspace(0, 1, bins + 1))`` (numpy's
    default linear interpolation) with duplicates removed, so they run from the reference's
    smallest to its largest value; :func:`bin_index` turns them into bins. Missing values
    (NaN) are left out. An empty array when the reference has no value.

    Examples
    --------
    >>> numeric_bin_edges(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), bins=4)
    array([1., 2., 3., 4., 5.])
    >>> numeric_bin_edges(np.array([0.0, 0.0, 0.0, 0.0, 1.0]), bins=4)
    array([0., 1.])
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    values = _finite(reference)
    if not values.size:
        return np.array([], dtype=float)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Return each value's bin among the ``2 k + 1`` bins that ``k`` cut points make.

    With cut points ``e_1 < ... < e_k`` the bins are, in order: ``(-inf, e_1)``, ``{e_1}``,
    ``(e_1, e_2)``, ``{e_2}``, ..., ``{e_k}``, ``(e_k, inf)``: each cut point is a bin of its
    own and so is each open interval between and beyond them. The outer bins are
    open-ended, so production values outside the reference's range still count; a value
    the reference holds often (``0`` of a count, each score of a 1-10 scale) is a quantile
    and gets its own bin instead of sharing one with its neighbour; on continuous data the
    point bins hold almost nothing and the intervals are the reference's quantile bins.
    Missing values (NaN) get -1.

    Examples
    --------
    >>> bin_index(np.array([0.0, 1.0, 1.5, 3.0, 9.0]), np.array([1.0, 2.0, 3.0])).tolist()
    [0, 1, 2, 5, 6]
    """
    x = np.asarray(values, dtype=float)
    idx = np.searchsorted(edges, x, side="left") + np.searchsorted(edges, x, side="right")
    idx = idx.astype(np.int64)
    idx[np.isnan(x)] = -1
    return idx


def bin_shares_table(
    reference: np.ndarray, production: np.ndarray, *, bins: int = DEFAULT_BINS
) -> pd.DataFrame:
    """Bin a numeric feature by the reference's quantiles and count both sides per bin.

    Bins as :func:`numeric_bin_edges` and :func:`bin_index` make them (each distinct
    quantile of the reference a bin, each open interval between and beyond them a bin); bins
    empty on both sides are left out (they add nothing to any distance here). NaN values
    are left out.

    Returns
    -------
    pandas.DataFrame
        One row per bin, lowest first: ``bin`` (str: ``"< 1"``, ``"= 1"``, ``"(1, 2)"``,
        ``"> 9"``), ``lower``, ``upper`` (float; -inf and inf for the outer bins, equal for
        a point), ``reference_count``, ``production_count`` (int), ``reference_share``,
        ``production_share`` (float). Empty when the reference has no value.
    """
    edges = numeric_bin_edges(reference, bins=bins)
    n_bins = 2 * len(edges) + 1
    bounds = np.concatenate([[-np.inf], np.repeat(edges, 2), [np.inf]])
    lower, upper = bounds[:-1], bounds[1:]
    ref_idx = bin_index(reference, edges)
    prod_idx = bin_index(production, edges)
    ref_n = np.bincount(ref_idx[ref_idx >= 0], minlength=n_bins)
    prod_n = np.bincount(prod_idx[prod_idx >= 0], minlength=n_bins)
    if not edges.size:
        ref_n = prod_n = np.zeros(1, dtype=np.int64)
    table = pd.DataFrame(
        {
            "bin": [_bin_label(lo, hi) for lo, hi in zip(lower, upper, strict=True)],
            "lower": lower,
            "upper": upper,
            "reference_count": ref_n.astype(np.int64),
            "production_count": prod_n.astype(np.int64),
            "reference_share": _shares(ref_n),
            "production_share": _shares(prod_n),
        }
    )
    if not edges.size:
        return table.iloc[:0]
    kept = (table["reference_count"] > 0) | (table["production_count"] > 0)
    return table[kept].reset_index(drop=True)


def js_divergence(
    reference: np.ndarray, production: np.ndarray, *, bins: int = DEFAULT_BINS
) -> float:
    """Jensen-Shannon divergence (log base 2, in [0, 1]) of a numeric feature's two samples.

    Both samples are binned by the reference's quantiles (:func:`bin_shares_table`: the
    ``bins + 1`` quantiles at ``linspace(0, 1, bins + 1)`` by numpy's linear interpolation,
    duplicates merged; each a bin of its own and each open interval between and beyond them
    a bin, the outer two open-ended); then
    ``JS = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2`` in bits (Lin 1991),
    which is ``scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2``. NaN values are
    left out; NaN when either side has no value.
    """
    table = bin_shares_table(reference, production, bins=bins)
    if not len(table) or not table["production_count"].sum():
        return float("nan")
    return js_of_shares(table["reference_share"], table["production_share"])


def psi(
    reference: pd.Series | np.ndarray,
    production: pd.Series | np.ndarray,
    *,
    numeric: bool,
    bins: int = DEFAULT_BINS,
    epsilon: float = EMPTY_SHARE_EPSILON,
) -> float:
    """Return the population stability index of one feature's two samples.

    ``sum_i (q_i - p_i) ln(q_i / p_i)`` (Siddiqi 2006) over the categories
    (:func:`category_shares_table`, ``numeric=False``) or the reference's quantile bins
    (:func:`bin_shares_table`, ``numeric=True``), every share floored at ``epsilon``
    (:data:`EMPTY_SHARE_EPSILON`). NaN when either side has no value.

    Examples
    --------
    >>> round(psi(pd.Series(["a", "b"]), pd.Series(["a", "b", "b", "b"]), numeric=False), 6)
    0.274653
    """
    if numeric:
        table = bin_shares_table(reference, production, bins=bins)  # type: ignore[arg-type]
    else:
        table = category_shares_table(pd.Series(reference), pd.Series(production))
    if not table["reference_count"].sum() or not table["production_count"].sum():
        return float("nan")
    return psi_of_shares(table["reference_share"], table["production_share"], epsilon=epsilon)


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts)


def _finite(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]


def _bin_label(lower: float, upper: float) -> str:
    if lower == upper:
        return f"= {lower:g}"
    if np.isinf(lower) and np.isinf(upper):
        return "any"
    if np.isinf(lower):
        return f"< {upper:g}"
    if np.isinf(upper):
        return f"> {lower:g}"
    return f"({lower:g}, {upper:g})"
