"""Per annotator: agreement with the others, with the consensus and with the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.agreement.encoding import LabelCodes, encode_labels
from slicewise.core.agreement.long_table import ANNOTATOR, clean_label_values
from slicewise.core.agreement.measures import pair_counts


def _max_per_item(item: np.ndarray, values: np.ndarray, n_items: int) -> np.ndarray:
    """Maximum of ``values`` per item (0 for items without cells); ``item`` must be sorted."""
    out = np.zeros(n_items)
    if len(item):
        starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
        out[item[starts]] = np.maximum.reduceat(values, starts)
    return out


def _truth_codes(codes: LabelCodes, truth: pd.Series | None) -> np.ndarray | None:
    """Per item, the class code of the ground truth (−1: unknown or a class never used)."""
    if truth is None:
        return None
    t = pd.Series(truth)
    t.index = t.index.astype(str)
    t = t[~t.index.duplicated()].reindex(codes.items.astype(str))
    values = clean_label_values(t.reset_index(drop=True))
    lookup = {(str(k) if not codes.numeric else k): i for i, k in enumerate(codes.classes)}
    if codes.numeric:
        num = pd.to_numeric(values, errors="coerce")
        out = np.array([lookup.get(v, -1) if pd.notna(v) else -2 for v in num], dtype=np.int64)
    else:
        out = np.array(
            [lookup.get(str(v), -1) if v is not None and v == v else -2 for v in values],
            dtype=np.int64,
        )
    return out


def compute_annotator_stats(
    labels: pd.DataFrame | LabelCodes, *, truth: pd.Series | None = None, min_pair_items: int = 5
) -> pd.DataFrame:
    """Per annotator: how often they agree with the others, the consensus and the truth.

    Parameters
    ----------
    truth
        Optional ground truth, a Series indexed by item id.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``: ``n_labels``; ``agreement_with_others`` (over their labels
        on items with 2+ labels, the mean share of the *other* annotators giving the same
        label); ``agreement_with_consensus`` (share of their labels equal to the others'
        majority, over ``n_consensus_items`` items where the others have a unique majority;
        leaving the annotator out avoids counting their own vote); ``mean_cohen_kappa``
        (mean over pairs with at least ``min_pair_items`` shared items); ``accuracy`` (share
        of labels equal to the ground truth, over ``n_with_truth`` labelled items with a
        known truth; NaN without truth). Sorted by ``agreement_with_consensus``, lowest
        first, so the annotator to talk to first is on top.
    """
    codes = encode_labels(labels)
    n_ann = len(codes.annotators)
    n_labels = np.bincount(codes.annotator, minlength=n_ann)
    n_pairable, sum_others = _agreement_with_others(codes)
    n_cons, n_agree = _agreement_with_majority(codes)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "n_labels": n_labels.astype(np.int64),
                "agreement_with_others": np.where(n_pairable > 0, sum_others / n_pairable, np.nan),
                "agreement_with_consensus": np.where(n_cons > 0, n_agree / n_cons, np.nan),
                "n_consensus_items": n_cons.astype(np.int64),
                "mean_cohen_kappa": _mean_kappa_per_annotator(codes, min_pair_items),
            },
            index=pd.Index(codes.annotators, name=ANNOTATOR),
        )
        out["accuracy"], out["n_with_truth"] = _accuracy_per_annotator(codes, truth)
    return out.sort_values(
        ["agreement_with_consensus", "n_labels"],
        ascending=[True, False],
        na_position="last",
        kind="stable",
    )


def _agreement_with_others(codes: LabelCodes) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator: labels on items with 2+ labels, and Σ of the others' agreeing share."""
    c = codes.cells
    n_ann = len(codes.annotators)
    m = c.per_item[codes.item]
    own = c.count[codes.cell]
    pairable = m >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        with_others = np.where(pairable, (own - 1) / (m - 1), np.nan)
    n_pairable = np.bincount(codes.annotator, weights=pairable, minlength=n_ann)
    sum_others = np.bincount(codes.annotator, weights=np.nan_to_num(with_others), minlength=n_ann)
    return n_pairable, sum_others


def _agreement_with_majority(codes: LabelCodes) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator: items where the others have a unique majority, and labels equal to it.

    Leave-one-out majority: per item the top count t1, how many classes share it, and the
    largest count below t1.
    """
    c = codes.cells
    n_ann = len(codes.annotators)
    pairable = c.per_item[codes.item] >= 2
    t1 = _max_per_item(c.item, c.count, c.n_items)
    at_top = c.count == t1[c.item]
    n_top = np.bincount(c.item, weights=at_top, minlength=c.n_items)
    t2 = _max_per_item(c.item, np.where(at_top, 0, c.count), c.n_items)
    i = codes.item
    lab_top = at_top[codes.cell]
    # the annotator's class is the unique top: the others' majority is it iff t1 − 1 > t2
    agree = lab_top & (n_top[i] == 1) & (t1[i] - 1 > t2[i])
    compared = np.where(
        lab_top & (n_top[i] == 1),
        t1[i] - 1 > t2[i],
        np.where(lab_top, n_top[i] == 2, n_top[i] == 1),
    )
    compared &= pairable
    agree &= compared
    n_cons = np.bincount(codes.annotator, weights=compared, minlength=n_ann)
    n_agree = np.bincount(codes.annotator, weights=agree, minlength=n_ann)
    return n_cons, n_agree


def _mean_kappa_per_annotator(codes: LabelCodes, min_pair_items: int) -> np.ndarray:
    """Per annotator (code order): mean Cohen's kappa over pairs sharing enough items."""
    pc = pair_counts(codes)
    kappa = pc.kappa()[2]
    use = (pc.n >= min_pair_items) & ~np.isnan(kappa)
    k = kappa[use]
    # pandas' grouped mean (compensated sums) over both ends of each pair
    both = pd.Series(np.r_[k, k]).groupby(np.r_[pc.low[use], pc.high[use]]).mean()
    return both.reindex(np.arange(len(codes.annotators))).to_numpy(dtype=float)


def _accuracy_per_annotator(
    codes: LabelCodes, truth: pd.Series | None
) -> tuple[np.ndarray | float, np.ndarray | int]:
    """Per annotator: share of labels equal to the truth, and labels with a known truth."""
    tcodes = _truth_codes(codes, truth)
    if tcodes is None:
        return np.nan, 0
    n_ann = len(codes.annotators)
    known = tcodes[codes.item] != -2
    right = known & (tcodes[codes.item] == codes.label)
    n_truth = np.bincount(codes.annotator, weights=known, minlength=n_ann)
    n_right = np.bincount(codes.annotator, weights=right, minlength=n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(n_truth > 0, n_right / n_truth, np.nan)
    return accuracy, n_truth.astype(np.int64)


def compute_annotator_weights(labels: pd.DataFrame | LabelCodes) -> pd.Series:
    """Quality weights: each annotator's agreement with the majority of the others.

    Returns
    -------
    pandas.Series
        Indexed by annotator: the share of their labels equal to the other annotators'
        majority label, over items where the others have a unique majority (see
        :func:`compute_annotator_stats`, column ``agreement_with_consensus``). NaN for an
        annotator never compared.
    """
    stats = compute_annotator_stats(labels)
    return stats["agreement_with_consensus"].rename("weight")
