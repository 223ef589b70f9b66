"""Strata of a slice mix: the post-stratified accuracy and the L-infinity distance of shares.

:func:`strata_codes` numbers each row by its combination of slice memberships (a stratum);
:func:`expected_accuracy` weights each stratum's reference accuracy by its production share
(Cochran, *Sampling Techniques*, 3rd ed., 1977, ch. 5 and §12.2); :func:`mix_linf_distance`
is TFDV's L-infinity distance over the strata. :func:`core.drift.mix.slice_mix` uses all three.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.intervals import Z_95

__all__ = ["expected_accuracy", "mix_linf_distance", "strata_codes"]


def strata_codes(
    reference: np.ndarray, production: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Code each row by its combination of slice memberships (a stratum).

    Returns ``(reference codes, production codes, number of strata)``; strata are numbered
    by the reference's combinations, and a production row whose combination the reference
    never holds gets ``-1``.
    """
    both = np.concatenate([reference, production]).astype(bool)
    packed = np.packbits(both, axis=1) if both.shape[1] else np.zeros((len(both), 1), np.uint8)
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ref_codes, prod_codes = inverse[: len(reference)], inverse[len(reference) :]
    kept, ref_codes = np.unique(ref_codes, return_inverse=True)
    lookup = np.full(int(inverse.max()) + 1 if len(inverse) else 0, -1, dtype=np.int64)
    lookup[kept] = np.arange(len(kept))
    return ref_codes.reshape(-1), lookup[prod_codes], len(kept)


def expected_accuracy(
    correct: np.ndarray,
    reference_strata: np.ndarray,
    production_strata: np.ndarray,
    *,
    z: float = Z_95,
) -> pd.Series:
    """Estimate the accuracy on production rows by post-stratifying the reference's.

    With ``n_h`` reference rows of stratum ``h``, ``p_h`` of them correct, and ``q_h`` the
    share of the covered production rows (``m`` of them) in ``h``::

        estimate = sum_h q_h p_h
        var      = sum_h q_h**2 p_h (1 - p_h) / n_h  +  sum_h q_h (p_h - estimate)**2 / m

    The first term is the variance of the stratified mean with known weights (Cochran,
    *Sampling Techniques*, 3rd ed., 1977, eq. 5.7 with the plug-in ``p_h (1 - p_h)`` and
    no finite-population correction); the second is that of the weights, estimated from
    ``m`` production rows (the multinomial term of double sampling for stratification,
    Cochran §12.2, eq. 12.16, first order). The interval is the normal one,
    ``estimate ± z sqrt(var)``, clipped to [0, 1]; it is too narrow when strata are small
    and their accuracies near 0 or 1 (a stratum at 0 or 1 adds no variance).

    Parameters
    ----------
    correct
        Bool, shape (n_reference,): whether the reference row is predicted correctly.
    reference_strata, production_strata
        Stratum codes (any hashable values), shapes (n_reference,) and (n_production,).
    z
        The normal quantile of the interval (1.96 for 95%).

    Returns
    -------
    pandas.Series
        ``estimate``, ``se``, ``low``, ``high`` (NaN without covered production rows),
        ``covered_n`` and ``uncovered_n``: production rows whose stratum the reference
        holds / never holds (the latter are left out).
    """
    ref_codes, strata = pd.factorize(pd.Series(reference_strata), sort=False)
    prod_codes = pd.Index(strata).get_indexer(pd.Series(production_strata))
    n_h = np.bincount(ref_codes, minlength=len(strata)).astype(float)
    p_h = np.bincount(ref_codes, weights=np.asarray(correct, dtype=float), minlength=len(strata))
    p_h = p_h.astype(float)  # numpy counts no rows as integers
    p_h = np.divide(p_h, n_h, out=np.zeros_like(p_h), where=n_h > 0)
    covered = prod_codes >= 0
    m = int(covered.sum())
    out = {"estimate": np.nan, "se": np.nan, "low": np.nan, "high": np.nan}
    if m:
        q_h = np.bincount(prod_codes[covered], minlength=len(strata)) / m
        est = float(q_h @ p_h)
        var = float(np.sum(q_h**2 * p_h * (1 - p_h) / n_h) + q_h @ (p_h - est) ** 2 / m)
        se = float(np.sqrt(max(var, 0.0)))
        out = {"estimate": est, "se": se, "low": max(0.0, est - z * se)}
        out["high"] = min(1.0, est + z * se)
    return pd.Series({**out, "covered_n": m, "uncovered_n": int((~covered).sum())}, dtype=object)


def mix_linf_distance(reference_strata: np.ndarray, production_strata: np.ndarray) -> float:
    """TFDV's L-infinity distance applied to the shares of the parts of a partition.

    ``max_h |q_h - r_h|`` over the parts ``h``, where ``r_h`` and ``q_h`` are the shares of
    the reference and production rows in part ``h`` (TensorFlow Data Validation's
    ``linf`` comparator: the largest absolute difference of the two normalised value
    counts). A part only production holds has reference share 0, as TFDV counts a
    category the reference never holds; the production rows of no known part (code ``-1``)
    count as one such part.

    Parameters
    ----------
    reference_strata, production_strata
        Integer part codes >= 0, shapes (n_reference >= 1,) and (n_production >= 1,);
        production codes may be ``-1``.

    Returns
    -------
    float
        In [0, 1]; NaN when either table is empty. E.g.:

    >>> mix_linf_distance(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    0.25
    """
    ref = np.asarray(reference_strata, dtype=np.int64).reshape(-1)
    prod = np.asarray(production_strata, dtype=np.int64).reshape(-1)
    if not len(ref) or not len(prod):
        return float("nan")
    size = max(int(ref.max()), int(prod.max())) + 1
    r = np.bincount(ref, minlength=size) / len(ref)
    placed = prod >= 0
    q = np.bincount(prod[placed], minlength=size) / len(prod)
    unplaced = float((~placed).mean())
    return float(max(np.abs(q - r).max(), unplaced))
