"""Comparisons of two iterations shaped for the *Compare iterations* page.

Pure functions over the tables of :mod:`core.compare` (:func:`core.compare.compare_tables`,
:func:`core.compare.compare_slice_metrics`, :func:`core.compare.compare_classes`): each view
returns the table to show and its Streamlit column config. Changes are shown in points for
rates (100 × the change of a share).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core.compare import METRICS, ClassComparison, review_order
from slicewise.ui.text import md
from slicewise.ui.views import slice_label

TEST_NAMES = {
    "mcnemar": "McNemar (paired)",
    "two-proportion": "two-proportion z",
    "fisher": "Fisher's exact",
    "randomization": "randomization",
    "welch": "Welch's t",
    "none": "—",
}


def _verdicts(t: pd.DataFrame) -> list[str]:
    return [
        "⚠ worse (significant)"
        if bad
        else "better (significant)"
        if good
        else "—"
        if test == "none"
        else "no significant change"
        for bad, good, test in zip(t["regression"], t["improvement"], t["test"], strict=True)
    ]


def metric_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One metric's comparison per slice for display (worst change first after all data)."""
    spec = METRICS[str(table["metric"].iloc[0])] if len(table) else METRICS["accuracy"]
    scale = 100 if spec.percent else 1
    rest = table[~table["kind"].isin(["overall", "untagged"])].sort_values(
        "worse_by", ascending=False, kind="stable", na_position="last"
    )
    t = pd.concat([table[table["kind"] == "overall"], rest, table[table["kind"] == "untagged"]])
    label = spec.label[0].upper() + spec.label[1:]
    value_format = "%.1f%%" if spec.percent else "%.4g"
    change_format = "%+.1f pts" if spec.percent else "%+.4g"
    view = pd.DataFrame(
        {
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "n before": t["n_before"].to_numpy(),
            "n after": t["n_after"].to_numpy(),
            "before": scale * t["before"].to_numpy(dtype=float),
            "after": scale * t["after"].to_numpy(dtype=float),
            "change": scale * t["delta"].to_numpy(dtype=float),
            "p-value": t["p_value"].to_numpy(dtype=float),
            "test": t["test"].map(TEST_NAMES).to_numpy(),
            "verdict": _verdicts(t),
        }
    )
    config: dict[str, Any] = {
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "n before": st.column_config.NumberColumn(
            "n before",
            format="localized",
            width="small",
            help=f"Examples {spec.label} counts in the slice",
        ),
        "n after": st.column_config.NumberColumn("n after", format="localized", width="small"),
        "before": st.column_config.NumberColumn(
            "Before", format=value_format, help=f"{label} before"
        ),
        "after": st.column_config.NumberColumn("After", format=value_format, help=f"{label} after"),
        "change": st.column_config.NumberColumn(
            "Change",
            format=change_format,
            help="After − before; "
            + ("higher is better" if spec.higher_is_better else "lower is better"),
        ),
        "p-value": st.column_config.NumberColumn("p-value", format="%.3g"),
        "test": st.column_config.TextColumn("Test"),
        "verdict": st.column_config.TextColumn("Verdict"),
    }
    return view, config


def class_view(result: ClassComparison) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-class precision, recall and F1 before and after, with the p-value of each change."""
    t = result.table
    view = pd.DataFrame(
        {
            "class": [str(i) for i in t.index],
            "n before": t["support_before"].to_numpy(),
            "n after": t["support_after"].to_numpy(),
        }
    )
    config: dict[str, Any] = {
        "class": st.column_config.TextColumn("Class", pinned=True),
        "n before": st.column_config.NumberColumn(
            "n before", format="localized", help="Examples labelled with the class"
        ),
        "n after": st.column_config.NumberColumn("n after", format="localized"),
    }
    for metric in ("precision", "recall", "f1"):
        label = METRICS[metric].label
        title = label[0].upper() + label[1:]
        for part in ("before", "after", "delta"):
            view[f"{metric} {part}"] = 100 * t[f"{metric}_{part}"].to_numpy(dtype=float)
        view[f"{metric} p"] = t[f"{metric}_p_value"].to_numpy(dtype=float)
        config[f"{metric} before"] = st.column_config.NumberColumn(
            f"{title} before", format="%.1f%%"
        )
        config[f"{metric} after"] = st.column_config.NumberColumn(f"{title} after", format="%.1f%%")
        config[f"{metric} delta"] = st.column_config.NumberColumn(
            f"{title} change", format="%+.1f pts"
        )
        config[f"{metric} p"] = st.column_config.NumberColumn(
            f"{title} p", format="%.3g", help=CLASS_TESTS[metric]
        )
    return view, config


#: How each per-class change is tested, for the table's help.
CLASS_TESTS = {
    "precision": "McNemar where the examples predicted as the class are the same in both "
    "iterations, else the pooled two-proportion z-test (Fisher's exact test "
    "for small counts)",
    "recall": "McNemar on the examples of the class where they are in both iterations, else "
    "the pooled two-proportion z-test (Fisher's exact test for small counts)",
    "f1": "Approximate randomization (seeded), paired where the examples are the same",
}


def comparison_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the comparison for display, in review order (what got worse first)."""
    t = review_order(table)
    flags = []
    for row in t.itertuples():
        if row.worse_while_overall_better and row.significant:
            flags.append("⚠ worse (significant)")
        elif row.worse_while_overall_better:
            flags.append("worse, could be chance")
        elif row.regression:
            flags.append("⚠ worse (significant)")
        elif row.improvement:
            flags.append("better (significant)")
        elif row.test == "none":
            flags.append("—")
        else:
            flags.append("no significant change")
    view = pd.DataFrame(
        {
            "slice": [slice_label(n, k) for n, k in zip(t.index, t["kind"], strict=True)],
            "n before": t["n_before"].to_numpy(),
            "n after": t["n_after"].to_numpy(),
            "accuracy before": 100 * t["accuracy_before"].to_numpy(dtype=float),
            "accuracy after": 100 * t["accuracy_after"].to_numpy(dtype=float),
            "change": 100 * t["delta"].to_numpy(dtype=float),
            "p-value": t["p_value"].to_numpy(dtype=float),
            "test": t["test"].map(TEST_NAMES).to_numpy(),
            "verdict": flags,
            "gap before": 100 * t["gap_before"].to_numpy(dtype=float),
            "gap after": 100 * t["gap_after"].to_numpy(dtype=float),
        }
    )
    config: dict[str, Any] = {
        "slice": st.column_config.TextColumn("Slice", pinned=True, width="medium"),
        "n before": st.column_config.NumberColumn("n before", format="localized", width="small"),
        "n after": st.column_config.NumberColumn("n after", format="localized", width="small"),
        "accuracy before": st.column_config.NumberColumn(
            "Before", format="%.1f%%", help="Accuracy before"
        ),
        "accuracy after": st.column_config.NumberColumn(
            "After", format="%.1f%%", help="Accuracy after"
        ),
        "change": st.column_config.NumberColumn("Change", format="%+.1f pts"),
        "gap before": st.column_config.NumberColumn(
            "Gap before", format="%+.1f pts", help="Gap to HLP before: HLP − accuracy"
        ),
        "gap after": st.column_config.NumberColumn(
            "Gap after", format="%+.1f pts", help="Gap to HLP after: HLP − accuracy"
        ),
        "verdict": st.column_config.TextColumn("Verdict"),
        "test": st.column_config.TextColumn(
            "Test",
            help="McNemar's exact test where the slice holds the same examples in "
            "both iterations; else the pooled two-proportion z-test, or Fisher's exact test "
            "for small counts",
        ),
        "p-value": st.column_config.NumberColumn("p-value", format="%.3g"),
    }
    return view, config


def callouts(table: pd.DataFrame) -> list[str]:
    """Sentences for the slices that got worse while all data improved, worst first."""
    out = []
    worse = table[table["worse_while_overall_better"]].sort_values("delta", kind="stable")
    for name, row in worse.iterrows():
        label = slice_label(str(name), str(row["kind"]))
        sure = "significant" if row["significant"] else "not significant: it could be chance"
        out.append(
            f"**{md(label)}** got worse while all data improved: "
            f"{100 * row['accuracy_before']:.1f}% → {100 * row['accuracy_after']:.1f}% "
            f"({100 * row['delta']:+.1f} pts; {TEST_NAMES[row['test']]} "
            f"p = {row['p_value']:.2g}, {sure})"
        )
    return out


#: The columns of :func:`history_view`, in order.
HISTORY_COLUMNS = (
    "iteration",
    "dataset_name",
    "source_name",
    "row_count",
    "content_hash",
    "notes",
    "created_by",
    "created_at",
)


def history_view(
    iterations: pd.DataFrame, labels: list[str] | tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every saved iteration of a project, for display.

    Parameters
    ----------
    iterations
        ``Store.list_iterations``: one row per iteration, oldest first, with a ``notes``
        column of dicts and a SHA-256 ``content_hash`` of the file.
    labels
        One label per row of ``iterations`` (:func:`ui.compare.iteration_label`).

    Returns
    -------
    (pandas.DataFrame, dict)
        The columns of :data:`HISTORY_COLUMNS`, the notes written ``name=value, ...`` and the
        hash cut to its first 12 characters; and the Streamlit column config.

    Raises
    ------
    ValueError
        ``labels`` is not as long as ``iterations``.
    """
    shown = iterations.assign(
        notes=[", ".join(f"{k}={v}" for k, v in n.items()) for n in iterations["notes"]],
        iteration=list(labels),
    )[list(HISTORY_COLUMNS)]
    shown["content_hash"] = shown["content_hash"].str[:12]
    config: dict[str, Any] = {
        "iteration": st.column_config.TextColumn("Iteration"),
        "dataset_name": st.column_config.TextColumn("Dataset"),
        "source_name": st.column_config.TextColumn("File"),
        "row_count": st.column_config.NumberColumn("Rows", format="localized"),
        "content_hash": st.column_config.TextColumn("File hash", help="SHA-256 of the file"),
        "notes": st.column_config.TextColumn("Notes", width="large"),
        "created_by": st.column_config.TextColumn("Saved by"),
        "created_at": st.column_config.TextColumn("Saved at (UTC)"),
    }
    return shown, config
