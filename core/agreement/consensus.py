"""One label per item by (optionally quality-weighted) majority vote, ties flagged."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from slicewise.core.agreement.annotators import compute_annotator_weights
from slicewise.core.agreement.encoding import Cells, LabelCodes, encode_labels
from slicewise.core.agreement.long_table import ITEM
from slicewise.core.errors import InvalidValueError


def _item_top(
    c: Cells, score: np.ndarray, rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the winning cell (highest score, then best rank), its score, number tied."""
    order = np.lexsort((rank[c.cls], -score, c.item))
    items_sorted = c.item[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = items_sorted[1:] != items_sorted[:-1]
    win = np.full(c.n_items, -1, dtype=np.int64)
    win[items_sorted[first]] = order[first]
    best = np.full(c.n_items, np.nan)
    has = win >= 0
    best[has] = score[win[has]]
    tied = np.bincount(c.item, weights=np.isclose(score, best[c.item]), minlength=c.n_items)
    return win, best, tied.astype(np.int64)


def _class_rank(c: Cells) -> np.ndarray:
    """Tie-break order of classes: most labels overall first, then class order."""
    total = np.bincount(c.cls, weights=c.count, minlength=c.n_classes)
    rank = np.empty(c.n_classes, dtype=np.int64)
    rank[np.lexsort((np.arange(c.n_classes), -total))] = np.arange(c.n_classes)
    return rank


def compute_consensus(
    labels: pd.DataFrame | LabelCodes,
    *,
    weights: pd.Series | Mapping[str, float] | str | None = None,
) -> pd.DataFrame:
    """Majority vote per item, with ties flagged.

    Parameters
    ----------
    labels
        The long table (or its codes).
    weights
        ``None``: one vote per label. ``"agreement"``: quality-weighted, each annotator's
        vote weighs their agreement with the others' majority
        (:func:`compute_annotator_weights`). A Series/mapping annotator -> weight: those
        weights (missing annotators weigh 0).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``item``: ``consensus`` (the label with most votes; a tie goes to the
        class with most labels overall), ``n_labels``, ``votes`` (votes for the consensus;
        weighted votes when weighted), ``vote_share`` (votes / all votes), ``tie`` (another
        label has as many votes), ``tied_labels`` (the tied labels, ``" | "``-joined,
        empty when no tie), ``n_classes`` (distinct labels given), ``unanimous`` and
        ``entropy`` (vote entropy in bits, 0 when unanimous).
    """
    codes = encode_labels(labels)
    c = codes.cells
    score = _vote_scores(codes, weights)
    win, best, tied = _item_top(c, score, _class_rank(c))
    m = c.per_item
    total = np.bincount(c.item, weights=score, minlength=c.n_items)
    n_cls = np.bincount(c.item, minlength=c.n_items)
    p = c.count / m[c.item]
    entropy = np.bincount(c.item, weights=-p * np.log2(p), minlength=c.n_items)
    has = win >= 0
    consensus = np.empty(c.n_items, dtype=object)
    consensus[has] = codes.classes.to_numpy()[c.cls[win[has]]]
    tie = tied > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        share = best / total
    out = pd.DataFrame(
        {
            "consensus": consensus,
            "n_labels": m.astype(np.int64),
            "votes": best,
            "vote_share": share,
            "tie": tie,
            "tied_labels": _tied_labels(codes, score, best, tie),
            "n_classes": n_cls.astype(np.int64),
            "unanimous": n_cls == 1,
            "entropy": np.abs(entropy),
        },
        index=pd.Index(codes.items, name=ITEM),
    )
    if weights is None:
        out["votes"] = out["votes"].astype(np.int64)
    return out


def _vote_scores(
    codes: LabelCodes, weights: pd.Series | Mapping[str, float] | str | None
) -> np.ndarray:
    """Per cell of the count matrix: its votes, weighted by annotator when asked."""
    c = codes.cells
    if weights is None:
        return c.count.astype(float)
    if isinstance(weights, str):
        if weights != "agreement":
            raise InvalidValueError(
                f"weights must be None, 'agreement' or a mapping, not {weights!r}"
            )
        w = compute_annotator_weights(codes)
    else:
        w = pd.Series(weights, dtype=float)
    per_ann = w.reindex(codes.annotators).fillna(0.0).clip(lower=0).to_numpy(dtype=float)
    return np.bincount(codes.cell, weights=per_ann[codes.annotator], minlength=len(c.item))


def _tied_labels(
    codes: LabelCodes, score: np.ndarray, best: np.ndarray, tie: np.ndarray
) -> np.ndarray:
    """Per item: the labels tied at the top vote, ``" | "``-joined (empty without a tie)."""
    c = codes.cells
    tied_labels = np.full(c.n_items, "", dtype=object)
    if tie.any():
        tcell = np.isclose(score, best[c.item]) & tie[c.item]
        names = codes.classes.astype(str).to_numpy()
        joined = pd.Series(names[c.cls[tcell]]).groupby(c.item[tcell]).agg(" | ".join)
        tied_labels[joined.index.to_numpy()] = joined.to_numpy()
    return tied_labels
