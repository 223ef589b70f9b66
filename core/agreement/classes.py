"""Per class: how consistently it is used, and which classes annotators confuse."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.agreement.encoding import Cells, LabelCodes, _group_sum, encode_labels
from slicewise.core.agreement.long_table import LABEL
from slicewise.core.agreement.measures import _alpha_from_o, _pairable_products, _percent_agreement


def compute_class_agreement(labels: pd.DataFrame | LabelCodes) -> pd.DataFrame:
    """Per class: how consistently annotators use it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``label``: ``n_labels`` (labels of this class), ``share`` (of all
        labels), ``n_items`` (items where at least one annotator chose it),
        ``specific_agreement`` (``o_cc / n_c``: given one annotator chose the class on an
        item with 2+ labels, the chance another annotator of that item chose it too) and
        ``alpha_vs_rest`` (Krippendorff's alpha with every other class merged into one,
        ``1 − (n − 1)(n_c − o_cc) / (n_c (n − n_c))``: how reliably this class is told
        apart). Sorted by ``specific_agreement``, lowest first.
    """
    codes = encode_labels(labels)
    c = codes.cells
    k = c.n_classes
    n_labels = np.bincount(c.cls, weights=c.count, minlength=k)
    n_items = np.bincount(c.cls, minlength=k)
    o, _, _ = _pairable_products(c)
    o_cc = np.diag(o)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.where(
            (n_c > 0) & (n_c < n), 1 - (n - 1) * (n_c - o_cc) / (n_c * (n - n_c)), np.nan
        )
        out = pd.DataFrame(
            {
                "n_labels": n_labels.astype(np.int64),
                "share": n_labels / n_labels.sum(),
                "n_items": n_items.astype(np.int64),
                "specific_agreement": np.where(n_c > 0, o_cc / n_c, np.nan),
                "alpha_vs_rest": rest,
            },
            index=pd.Index(codes.classes, name=LABEL),
        )
    return out.sort_values("specific_agreement", na_position="last", kind="stable")


def _items_with_both(c: Cells, a_idx: np.ndarray, b_idx: np.ndarray) -> np.ndarray:
    """For each class pair (a < b), the number of items given both classes."""
    k = max(c.n_classes, 1)
    keys = []
    cand = np.arange(len(c.item) - 1)
    d = 1
    while len(cand):
        cand = cand[cand + d < len(c.item)]
        cand = cand[c.item[cand + d] == c.item[cand]]
        if not len(cand):
            break
        keys.append(c.cls[cand] * k + c.cls[cand + d])  # cells are sorted: class a < b
        d += 1
    if not keys:
        return np.zeros(len(a_idx), dtype=np.int64)
    uniq, sums, _ = _group_sum(np.concatenate(keys))
    found = pd.Series(sums, index=uniq)
    return found.reindex(a_idx * k + b_idx).fillna(0).to_numpy(dtype=np.int64)


CONFUSED_PAIR_COLUMNS = [
    "class_a",
    "class_b",
    "coincidences",
    "expected",
    "ratio",
    "share_of_disagreement",
    "n_items",
    "alpha_if_merged",
    "alpha_gain",
    "percent_agreement_if_merged",
]


def find_confused_pairs(
    labels: pd.DataFrame | LabelCodes, *, min_coincidences: float = 0.0
) -> pd.DataFrame:
    """Pairs of classes annotators confuse: candidates to merge or to define better.

    From the coincidence matrix (:func:`compute_coincidence_matrix`): for classes ``a`` and
    ``b``, ``o_ab`` counts the pairs of labels on one item where one annotator said ``a``
    and the other ``b`` (each pair weighted ``1 / (m_u − 1)`` as in Krippendorff 2011).

    Returns
    -------
    pandas.DataFrame
        One row per pair of classes that co-occur on an item (``o_ab > min_coincidences``),
        most confused first: ``class_a``, ``class_b``, ``coincidences`` (``o_ab``),
        ``expected`` (``n_a n_b / (n − 1)``, the coincidences if labels were given at
        random with the same class shares), ``ratio`` (observed / expected; near or above 1
        means annotators cannot tell the two apart), ``share_of_disagreement`` (``o_ab`` /
        all off-diagonal coincidences of one triangle), ``n_items`` (items labelled both
        ``a`` and ``b``), ``alpha_if_merged`` (nominal alpha with ``a`` and ``b`` as one
        class), ``alpha_gain`` (its change) and ``percent_agreement_if_merged``.
    """
    codes = encode_labels(labels)
    c = codes.cells
    o, w, n_pairable = _pairable_products(c)
    iu = np.triu_indices(c.n_classes, 1)
    keep = o[iu] > min_coincidences
    if not keep.any():
        return pd.DataFrame(columns=CONFUSED_PAIR_COLUMNS)
    a_idx, b_idx, vals = iu[0][keep], iu[1][keep], o[iu][keep]
    n_c = o.sum(axis=1)
    n = n_c.sum()
    expected = n_c[a_idx] * n_c[b_idx] / (n - 1)
    total_dis = o[iu].sum()
    merged_alpha = _alpha_if_merged(o, a_idx, b_idx, vals)
    pa, _ = _percent_agreement(c)
    merged_pa = pa + 2 * w[a_idx, b_idx] / n_pairable if n_pairable else np.full(len(vals), np.nan)
    names = codes.classes.to_numpy()
    out = pd.DataFrame(
        {
            "class_a": names[a_idx],
            "class_b": names[b_idx],
            "coincidences": vals,
            "expected": expected,
            "ratio": vals / np.where(expected > 0, expected, np.nan),
            "share_of_disagreement": vals / total_dis if total_dis else np.nan,
            "n_items": _items_with_both(c, a_idx, b_idx),
            "alpha_if_merged": merged_alpha,
            "alpha_gain": merged_alpha - _alpha_from_o(o),
            "percent_agreement_if_merged": merged_pa,
        },
        columns=CONFUSED_PAIR_COLUMNS,
    )
    return out.sort_values(["coincidences", "ratio"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _alpha_if_merged(
    o: np.ndarray, a_idx: np.ndarray, b_idx: np.ndarray, o_ab: np.ndarray
) -> np.ndarray:
    """Nominal alpha of each pair's merge, from the coincidence matrix ``o`` alone.

    Merging a and b moves o_ab + o_ba onto the diagonal and n_a n_b twice into Σ n_c².
    """
    n_c = o.sum(axis=1)
    n = n_c.sum()
    de = n * n - np.sum(n_c**2) - 2 * n_c[a_idx] * n_c[b_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(de > 0, 1 - (n - 1) * (n - np.trace(o) - 2 * o_ab) / de, np.nan)
