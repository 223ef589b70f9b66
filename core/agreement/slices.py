"""Annotated items joined to a predictions dataset; agreement and HLP per slice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.agreement.annotators import _truth_codes
from slicewise.core.agreement.encoding import Cells, LabelCodes, encode_labels
from slicewise.core.agreement.long_table import ITEM, _as_text, clean_label_values
from slicewise.core.agreement.measures import _alpha_of, _fleiss, _gwet_ac1, _percent_agreement
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import OVERALL
from slicewise.core.slice_names import tag_slice_names
from slicewise.core.values import class_keys


@dataclass
class LinkedItems:
    """The annotated items joined to a predictions dataset by item id.

    Attributes
    ----------
    info
        Indexed by ``item`` (every annotated item): ``in_dataset`` and, for items found,
        ``truth`` (the dataset's label) and ``prediction`` (the model's).
    tags
        Indexed by ``item``: one boolean column per tag of the dataset (False for items not
        in it).
    warnings
        Items not found in the dataset, and similar facts.
    """

    info: pd.DataFrame
    tags: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def link_predictions(labels: pd.DataFrame | LabelCodes, dataset: Dataset) -> LinkedItems:
    """Join the annotated items to ``dataset`` by id (compared as text).

    Raises
    ------
    InvalidValueError
        No annotated item is an id of the dataset.
    """
    codes = encode_labels(labels)
    items = pd.Index(codes.items.astype(str), name=ITEM)
    frame = dataset.frame
    ids = _as_text(frame["id"])
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    pos = pos[~pos.index.duplicated()]
    where = pos.reindex(items)
    found = where.notna().to_numpy()
    if not found.any():
        raise InvalidValueError(
            f"none of the {len(items)} annotated items (e.g. {', '.join(map(repr, items[:3]))}) "
            f"is an id of {dataset.source_name} (its ids look like "
            f"{', '.join(map(repr, ids.iloc[:3]))}); check that the item column holds the "
            "dataset's ids"
        )
    rows = where.to_numpy(dtype=float)
    idx = np.where(found, np.nan_to_num(rows, nan=0), 0).astype(np.int64)
    info = pd.DataFrame({"in_dataset": found}, index=items)
    for col, name in (("label", "truth"), ("prediction", "prediction")):
        if col in frame.columns:
            values = frame[col].to_numpy(dtype=object)[idx]
            values[~found] = None
            info[name] = values
    tag_arr = (
        dataset.tags.to_numpy(dtype=bool)[idx]
        if len(dataset.tags.columns)
        else np.zeros((len(items), 0), dtype=bool)
    )
    tag_arr[~found] = False
    tags = pd.DataFrame(tag_arr, index=items, columns=[str(t) for t in dataset.tags.columns])
    warnings = []
    if not found.all():
        missing = items[~found]
        warnings.append(
            f"{int((~found).sum())} of {len(items)} annotated items are not in "
            f"{dataset.source_name} (e.g. {', '.join(map(repr, missing[:3]))}); "
            "they have no ground truth, prediction or tags"
        )
    return LinkedItems(info, tags, warnings)


HLP_SOURCES = {"truth": "accuracy vs ground truth", "agreement": "two random annotators agree"}


def compute_agreement_by_slice(
    labels: pd.DataFrame | LabelCodes,
    *,
    membership: pd.DataFrame | None = None,
    truth: pd.Series | None = None,
    prediction: pd.Series | None = None,
    truth_is_human: bool = False,
) -> pd.DataFrame:
    """Agreement and human-level performance overall and per slice (tag).

    Parameters
    ----------
    membership
        Boolean DataFrame indexed by item, one column per slice (e.g.
        ``LinkedItems.tags``); items not in it belong to no slice.
    truth, prediction
        Optional ground truth and model prediction per item (Series indexed by item).
    truth_is_human
        The ground truth is itself one human's label: HLP is then the chance that two
        random annotators agree (the lecture's definition), not accuracy against it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``slice`` (``"All data"`` first, then the slices in column order), with
        ``n`` (labelled items), ``n_labels``, ``n_pairable`` (items with 2+ labels),
        ``percent_agreement``, ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``,
        ``annotator_accuracy`` (mean over items with a known truth of the share of the
        item's labels equal to it; NaN without truth), ``hlp`` and ``hlp_source`` (accuracy
        vs ground truth when there is one and it is not a human label, else the two-annotator
        agreement), ``model_accuracy`` (prediction = truth, same items) and
        ``model_agreement`` (mean share of annotators agreeing with the prediction: "ML
        agrees with humans"). Empty slices have ``n = 0`` and NaN metrics.
    """
    codes = encode_labels(labels)
    per_item = _ItemFacts.of(codes, truth, prediction)
    rows = []
    for name, mask in _slice_masks(codes, membership).items():
        row = _slice_row(codes.cells.subset(mask), mask, per_item)
        use_truth = (
            per_item.truth is not None
            and not truth_is_human
            and pd.notna(row["annotator_accuracy"])
        )
        row["hlp"] = row["annotator_accuracy"] if use_truth else row["percent_agreement"]
        row["hlp_source"] = "truth" if use_truth else "agreement"
        rows.append({"slice": name, **row})
    return pd.DataFrame(rows).set_index("slice")


def _slice_masks(codes: LabelCodes, membership: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per slice name (``"All data"`` first): which items (code order) it holds."""
    items = codes.items.astype(str)
    masks = {OVERALL: np.ones(codes.cells.n_items, dtype=bool)}
    if membership is not None:
        mem = membership.copy()
        mem.index = mem.index.astype(str)
        mem = mem[~mem.index.duplicated()].reindex(items).fillna(False).astype(bool)
        # A slice called "All data" is the row "All data (tag)" (core.slice_names).
        names = tag_slice_names(mem.columns)
        for col in mem.columns:
            masks[names[str(col)]] = mem[col].to_numpy(dtype=bool)
    return masks


@dataclass(frozen=True)
class _ItemFacts:
    """Per item (code order): labels, truth and prediction codes, and the shares they get.

    ``right``: share of the item's labels equal to the truth; ``agree_pred``: share equal
    to the prediction; ``pred_ok``: the prediction equals the truth. ``None`` without
    truth (prediction).
    """

    m: np.ndarray
    truth: np.ndarray | None
    pred: np.ndarray | None
    right: np.ndarray | None
    agree_pred: np.ndarray | None
    pred_ok: np.ndarray | None

    @classmethod
    def of(
        cls, codes: LabelCodes, truth: pd.Series | None, prediction: pd.Series | None
    ) -> _ItemFacts:
        c = codes.cells
        m = c.per_item
        tcodes = _truth_codes(codes, truth)
        pcodes = _truth_codes(codes, prediction)

        def share_equal(target: np.ndarray | None) -> np.ndarray | None:
            if target is None:
                return None
            hits = np.bincount(
                c.item, weights=c.count * (c.cls == target[c.item]), minlength=c.n_items
            )
            return hits / np.where(m > 0, m, 1)

        both = tcodes is not None and pcodes is not None
        pred_ok = prediction_matches(codes, truth, prediction) if both else None
        return cls(m, tcodes, pcodes, share_equal(tcodes), share_equal(pcodes), pred_ok)


def _slice_row(sub: Cells, mask: np.ndarray, f: _ItemFacts) -> dict[str, Any]:
    """One slice's agreement, annotator accuracy and model figures (before HLP)."""
    labelled = mask & (f.m > 0)
    pa, n_pair = _percent_agreement(sub)
    row = {
        "n": int(labelled.sum()),
        "n_labels": int(sub.per_item.sum()),
        "n_pairable": n_pair,
        "percent_agreement": pa,
        "fleiss_kappa": _fleiss(sub)[0] if n_pair else np.nan,
        "krippendorff_alpha": _alpha_of(sub) if n_pair else np.nan,
        "gwet_ac1": _gwet_ac1(sub)[0] if n_pair else np.nan,
        "annotator_accuracy": np.nan,
        "model_accuracy": np.nan,
        "model_agreement": np.nan,
    }
    if f.right is not None:
        known = labelled & (f.truth != -2)
        if known.any():
            row["annotator_accuracy"] = float(f.right[known].mean())
    if f.agree_pred is not None:
        known_p = labelled & (f.pred != -2)
        if known_p.any():
            row["model_agreement"] = float(f.agree_pred[known_p].mean())
        if f.pred_ok is not None:
            both = known_p & (f.truth != -2)
            if both.any():
                row["model_accuracy"] = float(f.pred_ok[both].mean())
    return row


def prediction_matches(codes: LabelCodes, truth: pd.Series, prediction: pd.Series) -> np.ndarray:
    """Per item (code order): whether the prediction equals the ground truth (as text)."""
    items = codes.items.astype(str)

    def aligned(s: pd.Series) -> pd.Series:
        s = pd.Series(s)
        s.index = s.index.astype(str)
        s = s[~s.index.duplicated()].reindex(items)
        return clean_label_values(s.reset_index(drop=True))

    t, p = aligned(truth), aligned(prediction)
    # Same class by the two cells alone (core.values), whatever each column's spelling.
    return (
        class_keys(t).to_numpy(dtype=object) == class_keys(p).to_numpy(dtype=object)
    ) & t.notna().to_numpy(dtype=bool)
