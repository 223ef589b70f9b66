"""Tables of the *Label consistency* page shaped for display, and their column formats.

Pure functions over the tables of :mod:`core.agreement` (nothing is computed here beyond
scaling shares to percents and renaming columns); :mod:`ui.agreement_report` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.slice_names import tag_slice_names

#: The metrics shown as headline figures, in order (rows of the agreement summary).
KEY_METRICS = (
    "percent_agreement",
    "mean_pairwise_cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
)
PERCENT = st.column_config.NumberColumn(format="%.1f%%")
SUMMARY_CONFIG = {
    "value": st.column_config.NumberColumn("Value", format="%.3f"),
    "raw agreement": st.column_config.NumberColumn(
        "Raw agreement",
        format="%.3f",
        help="What the metric starts from before correcting for chance",
    ),
    "chance agreement": st.column_config.NumberColumn("Chance agreement", format="%.3f"),
    "definition": st.column_config.TextColumn("Definition", width="large"),
}


def fmt(value: Any, digits: int = 3) -> str:
    """Format a metric value for display (– when undefined)."""
    return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def percent_config(columns: Sequence[str]) -> dict[str, Any]:
    """Column config showing ``columns`` as percents."""
    return {c: PERCENT for c in columns}


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Shape the metrics table: value beside the raw agreement it starts from and chance.

    ``summary``: :func:`core.agreement.compute_agreement_summary` (one row per metric).
    """
    return pd.DataFrame(
        {
            "metric": summary["name"].to_numpy(),
            "value": summary["value"].to_numpy(dtype=float),
            "raw agreement": summary["observed_agreement"].to_numpy(dtype=float),
            "chance agreement": summary["chance_agreement"].to_numpy(dtype=float),
            "items": summary["n_items"].to_numpy(),
            "definition": summary["definition"].to_numpy(),
        }
    )


def annotator_view(stats: pd.DataFrame) -> pd.DataFrame:
    """Per-annotator table for display, agreement in percent.

    ``stats``: :func:`core.agreement.compute_annotator_stats`, one row per annotator; the
    ``accuracy`` column only when some annotator's labels meet a ground truth.
    """
    view = pd.DataFrame(
        {
            "annotator": stats.index.astype(str),
            "labels": stats["n_labels"].to_numpy(),
            "agreement with others": 100 * stats["agreement_with_others"].to_numpy(dtype=float),
            "agreement with consensus": 100
            * stats["agreement_with_consensus"].to_numpy(dtype=float),
            "mean kappa": stats["mean_cohen_kappa"].to_numpy(dtype=float),
        }
    )
    if stats["n_with_truth"].sum() > 0:
        view["accuracy"] = 100 * stats["accuracy"].to_numpy(dtype=float)
    return view


def confused_view(pairs: pd.DataFrame) -> pd.DataFrame:
    """Confused class pairs for display (:func:`core.agreement.find_confused_pairs`)."""
    return pd.DataFrame(
        {
            "classes": [
                f"{a} / {b}" for a, b in zip(pairs["class_a"], pairs["class_b"], strict=True)
            ],
            "items with both": pairs["n_items"].to_numpy(),
            "share of disagreement": 100 * pairs["share_of_disagreement"].to_numpy(dtype=float),
            "observed / chance": pairs["ratio"].to_numpy(dtype=float),
            "alpha if merged": pairs["alpha_if_merged"].to_numpy(dtype=float),
            "alpha change": pairs["alpha_gain"].to_numpy(dtype=float),
        }
    )


def slice_view(table: pd.DataFrame) -> pd.DataFrame:
    """Agreement and HLP per tag for display (:func:`core.agreement.compute_agreement_by_slice`)."""
    return pd.DataFrame(
        {
            "slice": table.index.astype(str),
            "items": table["n"].to_numpy(),
            "percent agreement": 100 * table["percent_agreement"].to_numpy(dtype=float),
            "alpha": table["krippendorff_alpha"].to_numpy(dtype=float),
            "AC1": table["gwet_ac1"].to_numpy(dtype=float),
            "HLP": 100 * table["hlp"].to_numpy(dtype=float),
            "HLP from": table["hlp_source"].map(ag.HLP_SOURCES).to_numpy(),
            "model accuracy": 100 * table["model_accuracy"].to_numpy(dtype=float),
            "model agrees with annotators": 100 * table["model_agreement"].to_numpy(dtype=float),
        }
    )


def hlp_to_apply(by_slice: pd.DataFrame, tags: Sequence[str]) -> dict[str, float]:
    """Per-tag HLP measured on the annotated items, for the tags of the linked dataset.

    Returns {tag: HLP in [0, 1]} for the tags whose row of ``by_slice`` has annotated items
    and a defined HLP (a tag called "All data" is matched by its own row, not all data).
    """
    out = {}
    rows = tag_slice_names(tags)
    for tag in tags:
        if rows[str(tag)] in by_slice.index:
            row = by_slice.loc[rows[str(tag)]]
            if row["n"] > 0 and pd.notna(row["hlp"]):
                out[str(tag)] = float(row["hlp"])
    return out


def set_label(row: Any, projects: dict[int, str]) -> str:
    """Name an annotation set in a picker: ``name (project · N labels)``."""
    return (
        f"{row.name} ({projects.get(int(row.project_id), row.project_id)} · "
        f"{int(row.row_count):,} labels)"
    )
