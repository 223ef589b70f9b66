"""Every agreement measure in one table, and the headline figures in one call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.agreement.consensus import compute_consensus
from slicewise.core.agreement.encoding import Cells, LabelCodes, cells_from_counts, encode_labels
from slicewise.core.agreement.measures import (
    _alpha_metric,
    _alpha_nominal,
    _fleiss,
    _gwet_ac1,
    _mean_kappa,
    _percent_agreement,
    pair_counts,
)

#: Display name and one-line definition of every summary metric.
METRICS: dict[str, tuple[str, str]] = {
    "percent_agreement": (
        "Percent agreement",
        "mean over items (with 2+ labels) of the share of annotator pairs giving the same "
        "label: the chance that two random annotators agree",
    ),
    "mean_pairwise_cohen_kappa": (
        "Cohen's kappa (mean of pairs)",
        "Cohen's kappa of every pair of annotators on the items both labelled, averaged over "
        "the pairs (Light's kappa)",
    ),
    "fleiss_kappa": (
        "Fleiss' kappa",
        "(P̄ − P̄e) / (1 − P̄e): P̄ the percent agreement, P̄e the sum of squared mean class "
        "shares (Fleiss 1971; Gwet 2014 for varying numbers of labels)",
    ),
    "krippendorff_alpha": (
        "Krippendorff's alpha",
        "1 − observed / expected disagreement, from the coincidence matrix of pairable "
        "labels (nominal; Krippendorff 2011)",
    ),
    "krippendorff_alpha_ordinal": (
        "Krippendorff's alpha (ordinal)",
        "alpha with ordinal distances: disagreements between far-apart ranks weigh more",
    ),
    "krippendorff_alpha_interval": (
        "Krippendorff's alpha (interval)",
        "alpha with squared numeric differences as distances",
    ),
    "gwet_ac1": (
        "Gwet's AC1",
        "(P̄ − Pe) / (1 − Pe) with Pe = Σ π(1 − π) / (q − 1): chance agreement that stays low "
        "when one class dominates (Gwet 2008)",
    ),
}


SUMMARY_COLUMNS = [
    "name",
    "value",
    "observed_agreement",
    "chance_agreement",
    "n_items",
    "n_labels",
    "definition",
]


def _summary_rows(
    c: Cells, *, codes: LabelCodes | None, min_pair_items: int
) -> dict[str, dict[str, Any]]:
    m = c.per_item
    pairable = m >= 2
    n_items = int(pairable.sum())
    n_labels = int(m[pairable].sum())
    pa, _ = _percent_agreement(c)
    fk, fpo, fpe = _fleiss(c)
    q = int(np.count_nonzero(np.bincount(c.cls, weights=c.count, minlength=c.n_classes)))
    ac1, apo, ape = _gwet_ac1(c, q)
    al, alo, ale = _alpha_nominal(c)
    rows: dict[str, dict[str, Any]] = {
        "percent_agreement": {"value": pa, "observed_agreement": pa, "chance_agreement": np.nan},
    }
    if codes is not None:
        k, kpo, kpe, n_pairs = _mean_kappa(pair_counts(codes), min_pair_items)
        rows["mean_pairwise_cohen_kappa"] = {
            "value": k,
            "observed_agreement": kpo,
            "chance_agreement": kpe,
            "n_pairs": n_pairs,
        }
    rows["fleiss_kappa"] = {"value": fk, "observed_agreement": fpo, "chance_agreement": fpe}
    rows["krippendorff_alpha"] = {"value": al, "observed_agreement": alo, "chance_agreement": ale}
    if codes is not None and codes.numeric and len(codes.classes) >= 2:
        values = codes.classes.to_numpy(dtype=float)
        for level in ("ordinal", "interval"):
            rows[f"krippendorff_alpha_{level}"] = {
                "value": _alpha_metric(c, values, level),
                "observed_agreement": np.nan,
                "chance_agreement": np.nan,
            }
    rows["gwet_ac1"] = {"value": ac1, "observed_agreement": apo, "chance_agreement": ape}
    for r in rows.values():
        r["n_items"] = n_items
        r["n_labels"] = n_labels
    return rows


def _summary_frame(rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["name"] = [METRICS[k][0] for k in out.index]
    out["definition"] = [METRICS[k][1] for k in out.index]
    out.index.name = "metric"
    extra = [c for c in out.columns if c not in SUMMARY_COLUMNS]
    return out[SUMMARY_COLUMNS + extra]


def compute_agreement_summary(
    labels: pd.DataFrame | LabelCodes, *, min_pair_items: int = 5
) -> pd.DataFrame:
    """Every agreement metric, side by side with the raw agreement it corrects.

    Parameters
    ----------
    labels
        The long table (or its :class:`LabelCodes`).
    min_pair_items
        Pairs of annotators sharing fewer items are left out of the mean Cohen's kappa.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric`` (``percent_agreement``, ``mean_pairwise_cohen_kappa``,
        ``fleiss_kappa``, ``krippendorff_alpha``, with numeric labels also
        ``krippendorff_alpha_ordinal`` and ``krippendorff_alpha_interval``, and
        ``gwet_ac1``); columns ``name`` (for display), ``value``, ``observed_agreement``
        (the raw agreement the metric starts from: P̄ for Fleiss and AC1, 1 − D_o for alpha,
        the mean pairwise ``p_o`` for Cohen), ``chance_agreement`` (what it expects by
        chance), ``n_items`` and ``n_labels`` (items with 2+ labels and their labels),
        ``definition`` and, for Cohen's kappa, ``n_pairs``. Each metric's definition is in
        :data:`METRICS`. NaN where a metric is undefined (a single class, no item with two
        labels).
    """
    codes = encode_labels(labels)
    return _summary_frame(_summary_rows(codes.cells, codes=codes, min_pair_items=min_pair_items))


def compute_agreement_from_counts(counts: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """Return the summary of :func:`compute_agreement_summary` from a count table.

    Percent agreement, Fleiss' kappa, Krippendorff's nominal alpha and Gwet's AC1 depend
    only on how many annotators chose each class for each item, so they are exact from
    counts; Cohen's kappa needs annotator ids and is left out.
    """
    cells = cells_from_counts(counts)
    return _summary_frame(_summary_rows(cells, codes=None, min_pair_items=1))


def agreement_caution(summary: pd.DataFrame, *, high: float = 0.8, low: float = 0.6) -> str | None:
    """One line when raw agreement is high but kappa/alpha are low (class imbalance); else None."""
    get = summary["value"].get
    pa = get("percent_agreement", np.nan)
    corrected = [get(k, np.nan) for k in ("fleiss_kappa", "krippendorff_alpha")]
    corrected = [v for v in corrected if pd.notna(v)]
    if pd.isna(pa) or not corrected or pa < high or min(corrected) >= low:
        return None
    ac1 = get("gwet_ac1", np.nan)
    return (
        f"Raw agreement is high ({pa:.0%}) but kappa/alpha are low ({min(corrected):.2f}): "
        "when one class dominates, chance agreement is high and kappa is pulled down; "
        f"Gwet's AC1 ({ac1:.2f}) is less sensitive to that."
    )


def summarize_annotations(
    labels: pd.DataFrame | LabelCodes, *, min_pair_items: int = 5
) -> dict[str, Any]:
    """Return the headline figures as a flat dict (``slicewise agreement --format json``).

    Keys: ``items``, ``annotators``, ``labels_total``, ``classes``, ``percent_agreement``,
    ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``, ``mean_pairwise_cohen_kappa``,
    ``n_disagreements`` (items with 2+ labels that are not unanimous), ``n_ties``
    (disagreed items whose majority vote is tied) and, with numeric labels,
    ``krippendorff_alpha_ordinal`` and ``krippendorff_alpha_interval``. NaN becomes None.
    """
    codes = encode_labels(labels)
    summary = compute_agreement_summary(codes, min_pair_items=min_pair_items)
    cons = compute_consensus(codes)
    pairable = cons["n_labels"] >= 2
    out: dict[str, Any] = {
        "items": len(codes.items),
        "annotators": len(codes.annotators),
        "labels_total": codes.n_labels,
        "classes": len(codes.classes),
    }
    for key in summary.index:
        v = summary.at[key, "value"]
        out[key] = None if pd.isna(v) else float(v)
    out["n_disagreements"] = int(((~cons["unanimous"]) & pairable).sum())
    out["n_ties"] = int((cons["tie"] & pairable).sum())
    return out
