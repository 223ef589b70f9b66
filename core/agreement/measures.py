"""Agreement measures: percent agreement, Fleiss, Gwet, Krippendorff, Cohen."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from slicewise.core.agreement.encoding import Cells, LabelCodes, encode_labels
from slicewise.core.agreement.long_table import LABEL
from slicewise.core.agreement.pairs import PairCounts, count_pairs

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def _item_stats(c: Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: number of labels m, agreeing ordered pairs Σ n(n−1), and whether m ≥ 1."""
    m = c.per_item
    agree = np.bincount(c.item, weights=c.count * (c.count - 1.0), minlength=c.n_items)
    return m, agree, m > 0


def _percent_agreement(c: Cells) -> tuple[float, int]:
    """Mean over items with 2+ labels of Σ_k n_ik(n_ik − 1) / (m_i(m_i − 1))."""
    m, agree, _ = _item_stats(c)
    pairable = m >= 2
    if not pairable.any():
        return np.nan, 0
    return float(np.mean(agree[pairable] / (m[pairable] * (m[pairable] - 1)))), int(pairable.sum())


def _class_shares(c: Cells) -> np.ndarray:
    """π_k: mean over items with a label of the share of the item's labels in class k."""
    m, _, labelled = _item_stats(c)
    n = int(labelled.sum())
    if n == 0:
        return np.full(c.n_classes, np.nan)
    return np.bincount(c.cls, weights=c.count / m[c.item], minlength=c.n_classes) / n


def _fleiss(c: Cells) -> tuple[float, float, float]:
    """Fleiss' kappa as (kappa, P̄, P̄e); Gwet's (2014) form for varying labels per item."""
    pa, _ = _percent_agreement(c)
    pi = _class_shares(c)
    pe = float(np.sum(pi**2))
    return _chance_corrected(pa, pe), pa, pe


def _gwet_ac1(c: Cells, n_classes: int | None = None) -> tuple[float, float, float]:
    """Gwet's AC1 as (ac1, Pa, Pe) with Pe = Σ π_k(1 − π_k)/(q − 1)."""
    pa, _ = _percent_agreement(c)
    pi = _class_shares(c)
    q = n_classes if n_classes is not None else int(np.count_nonzero(pi > 0))
    if q < 2:
        return np.nan, pa, np.nan
    pe = float(np.sum(pi * (1 - pi)) / (q - 1))
    return _chance_corrected(pa, pe), pa, pe


def _chance_corrected(po: float, pe: float) -> float:
    if np.isnan(po) or np.isnan(pe) or np.isclose(pe, 1.0):
        return np.nan
    return float((po - pe) / (1 - pe))


def _coincidence_diagonal(c: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's o_cc (diagonal of the coincidence matrix) and n_c, pairable items only."""
    m = c.per_item
    pm = m[c.item]
    ok = pm >= 2
    w = np.zeros(len(pm))
    w[ok] = 1.0 / (pm[ok] - 1)
    o_cc = np.bincount(
        c.cls[ok], weights=(c.count * (c.count - 1.0) * w)[ok], minlength=c.n_classes
    )
    n_c = np.bincount(c.cls[ok], weights=c.count[ok].astype(float), minlength=c.n_classes)
    return o_cc, n_c


def _alpha_nominal(c: Cells) -> tuple[float, float, float]:
    """Krippendorff's nominal alpha as (alpha, 1 − D_o, 1 − D_e)."""
    o_cc, n_c = _coincidence_diagonal(c)
    n = n_c.sum()
    if n < 2:
        return np.nan, np.nan, np.nan
    do = (n - o_cc.sum()) / n
    de = (n * n - np.sum(n_c**2)) / (n * (n - 1))
    if de == 0:
        return np.nan, 1 - do, 1 - de
    return float(1 - do / de), float(1 - do), float(1 - de)


def _alpha_of(c: Cells) -> float:
    return _alpha_nominal(c)[0]


def _pairable_products(c: Cells) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the coincidence matrix O, W and the number of items with 2+ labels.

    ``W = Σ_u n_uc n_uk / (m_u(m_u − 1))`` (off-diagonal) gives the percent agreement after
    merging two classes.
    """
    from scipy import sparse

    m = c.per_item
    ok = (m >= 2)[c.item]
    mat = sparse.csr_matrix(
        (c.count[ok].astype(float), (c.item[ok], c.cls[ok])), shape=(c.n_items, c.n_classes)
    )
    w1 = np.zeros(c.n_items)
    w2 = np.zeros(c.n_items)
    big = m >= 2
    w1[big] = 1.0 / (m[big] - 1)
    w2[big] = 1.0 / (m[big] * (m[big] - 1))
    left1 = sparse.diags(w1) @ mat
    o = (left1.T @ mat).toarray()
    o[np.diag_indices_from(o)] -= np.asarray(left1.sum(axis=0)).ravel()
    w = ((sparse.diags(w2) @ mat).T @ mat).toarray()
    return o, w, int(big.sum())


def _coincidences(c: Cells) -> np.ndarray:
    return _pairable_products(c)[0]


def _alpha_from_o(o: np.ndarray) -> float:
    n_c = o.sum(axis=1)
    n = n_c.sum()
    de = n * n - np.sum(n_c**2)
    if n < 2 or de <= 0:
        return np.nan
    return float(1 - (n - 1) * (n - np.trace(o)) / de)


def compute_coincidence_matrix(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Return Krippendorff's coincidence matrix (classes × classes).

    ``o_ck = Σ_u n_uc · n_uk / (m_u − 1)`` over items ``u`` with ``m_u ≥ 2`` labels (with
    ``n_uc(n_uc − 1)`` on the diagonal): how often, across all pairs of labels on one item,
    one label is ``c`` and the other ``k``. Rows sum to ``n_c``, the pairable labels of
    class ``c``. Symmetric.
    """
    codes = encode_labels(labels)
    return pd.DataFrame(
        _coincidences(codes.cells),
        index=pd.Index(codes.classes, name=LABEL),
        columns=pd.Index(codes.classes, name=LABEL),
    )


def _alpha_metric(c: Cells, values: np.ndarray, level: str) -> float:
    """Krippendorff's alpha at ``level`` with the ``krippendorff`` package (from counts)."""
    import krippendorff

    m = c.per_item
    keep_items = m >= 2
    if keep_items.sum() == 0 or len(values) < 2:
        return np.nan
    sub = c.subset(keep_items)
    rows = np.cumsum(keep_items) - 1
    dense = np.zeros((int(keep_items.sum()), c.n_classes), dtype=np.int64)
    dense[rows[sub.item], sub.cls] = sub.count
    used = dense.sum(axis=0) > 0
    if used.sum() < 2:
        return np.nan
    return float(
        krippendorff.alpha(
            value_counts=dense[:, used],
            value_domain=np.asarray(values, dtype=float)[used],
            level_of_measurement=level,
        )
    )


def pair_counts(codes: LabelCodes) -> PairCounts:
    """Return the per annotator pair sums of :func:`count_pairs`, computed once per encoding."""
    if "pair_counts" not in codes.cache:
        codes.cache["pair_counts"] = count_pairs(codes)
    return codes.cache["pair_counts"]


def compute_pairwise_agreement(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators, on the items both labelled.

    Returns
    -------
    pandas.DataFrame
        One row per pair that shares at least one item: ``annotator_a``, ``annotator_b``
        (``a < b``), ``n_items`` (items both labelled), ``agreement`` (share of those items
        with the same label, ``p_o``), ``chance_agreement`` (``p_e = Σ_k p_a(k) p_b(k)``
        from each annotator's own class shares on those items) and ``cohen_kappa``
        ``= (p_o − p_e) / (1 − p_e)`` (NaN when ``p_e = 1``). Same values as
        :func:`sklearn.metrics.cohen_kappa_score` on each pair.
    """
    codes = encode_labels(labels)
    if "pairs" not in codes.cache:
        codes.cache["pairs"] = _pairwise(codes)
    return codes.cache["pairs"].copy()


def _pairwise(codes: LabelCodes) -> pd.DataFrame:
    pc = pair_counts(codes)
    cols = ["annotator_a", "annotator_b", "n_items", "agreement", "chance_agreement", "cohen_kappa"]
    if not len(pc.n):
        return pd.DataFrame(columns=cols)
    po, pe, kappa = pc.kappa()
    return pd.DataFrame(
        {
            "annotator_a": codes.annotators[pc.low].to_numpy(),
            "annotator_b": codes.annotators[pc.high].to_numpy(),
            "n_items": pc.n.astype(np.int64),
            "agreement": po,
            "chance_agreement": pe,
            "cohen_kappa": kappa,
        },
        columns=cols,
    )


def compute_cohen_kappa_matrix(
    labels: pd.DataFrame | LabelCodes, *, min_items: int = 1
) -> pd.DataFrame:
    """Return the annotators × annotators matrix of pairwise Cohen's kappa.

    Symmetric, 1 on the diagonal, NaN for pairs sharing fewer than ``min_items`` items (see
    :func:`compute_pairwise_agreement` for the definition).
    """
    codes = encode_labels(labels)
    pc = pair_counts(codes)
    kappa = pc.kappa()[2]
    keep = pc.n >= min_items
    n_ann = len(codes.annotators)
    mat = np.full((n_ann, n_ann), np.nan)
    mat[pc.low[keep], pc.high[keep]] = kappa[keep]
    mat[pc.high[keep], pc.low[keep]] = kappa[keep]
    mat[np.diag_indices(n_ann)] = 1.0
    names = pd.Index(list(codes.annotators), name="annotator")
    return pd.DataFrame(mat, index=names, columns=names.copy())


def _mean_kappa(pc: PairCounts, min_items: int) -> tuple[float, float, float, int]:
    """Mean kappa, p_o and p_e over the pairs sharing ``min_items`` items with kappa defined."""
    key = ("mean", min_items)
    if key not in pc._kappa:
        po, pe, kappa = pc.kappa()
        use = (pc.n >= min_items) & ~np.isnan(kappa)
        if not use.any():
            return np.nan, np.nan, np.nan, 0
        means = (float(kappa[use].mean()), float(po[use].mean()), float(pe[use].mean()))
        pc._kappa[key] = (*means, int(use.sum()))
    return pc._kappa[key]
