"""Charts of the per-slice error-analysis table: accuracy vs HLP, priorities, confusion.

Inputs are the tables of :func:`core.analysis.analyze` (one row per slice) and
:func:`core.metrics.compute_confusion_matrix`; plain Plotly figures, no Streamlit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from slicewise.core.charts.style import ACCURACY_COLOR, HLP_COLOR, plot_text
from slicewise.core.prioritize import describe_hlp_basis, display_name


def baseline_label(table: pd.DataFrame) -> str:
    """Name the table's baseline (its ``baseline`` column's most common value, else HLP)."""
    if "baseline" in table.columns:
        names = table["baseline"].dropna().astype(str)
        names = names[names != ""]
        if len(names):
            return str(names.mode().iloc[0])
    return "HLP"


def _names(t: pd.DataFrame) -> list[str]:
    """Slice names as the tables show them: tags prettified, column values as written."""
    kinds = t["kind"] if "kind" in t.columns else pd.Series("tag", t.index)
    return [
        plot_text(n if k == "column" else display_name(n))
        for n, k in zip(t.index, kinds, strict=True)
    ]


def _slices(table: pd.DataFrame) -> pd.DataFrame:
    if "kind" in table.columns:
        return table[table["kind"].isin(["tag", "column"])]
    return table


def accuracy_vs_hlp_chart(table: pd.DataFrame) -> go.Figure:
    """Draw grouped bars: accuracy beside HLP for every slice, each with its 95% interval.

    The HLP bar carries the Wilson interval of a measured HLP (none for an entered one); a
    slice with too few human labels (``hlp_source`` ``too_few``) has a hatched, faded HLP
    bar and says so on hover.
    """
    t = _slices(table)
    base = baseline_label(table)
    names = _names(t)
    fig = go.Figure()
    fig.add_bar(
        name="Model accuracy",
        x=names,
        y=100 * t["accuracy"],
        marker_color=ACCURACY_COLOR,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": 100 * (t["accuracy_ci_high"] - t["accuracy"]),
            "arrayminus": 100 * (t["accuracy"] - t["accuracy_ci_low"]),
        },
        hovertemplate="%{x}: %{y:.1f}%<extra>model</extra>",
    )
    nan = pd.Series(float("nan"), index=t.index)
    h_low, h_high = (t[c] if c in t.columns else nan for c in ("hlp_ci_low", "hlp_ci_high"))
    source = t["hlp_source"] if "hlp_source" in t.columns else pd.Series("none", t.index)
    few = (source == "too_few").to_numpy()
    basis = [describe_hlp_basis(r) for r in t.to_dict("records")]
    fig.add_bar(
        name="Human-level performance" if base == "HLP" else plot_text(base.capitalize()),
        x=names,
        y=100 * t["hlp"],
        marker={
            "color": HLP_COLOR,
            "opacity": [0.45 if f else 1.0 for f in few],
            "pattern": {"shape": ["/" if f else "" for f in few]},
        },
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (100 * (h_high - t["hlp"])).fillna(0),
            "arrayminus": (100 * (t["hlp"] - h_low)).fillna(0),
        },
        customdata=basis,
        hovertemplate="%{x}: %{y:.1f}% (%{customdata})<extra>" + plot_text(base) + "</extra>",
    )
    low = 100 * pd.concat([t["accuracy_ci_low"], h_low, t["hlp"]]).min() if len(t) else 0
    fig.update_layout(
        barmode="group",
        yaxis_title="Accuracy (%)",
        yaxis_range=[max(0, (low if low == low else 0) - 5), 100],
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40},
        title=(
            "Accuracy vs human-level performance"
            if base == "HLP"
            else f"Accuracy vs {plot_text(base)}"
        )
        + (" (hatched: too few human labels to compare)" if few.any() else ""),
    )
    return fig


def priority_bubble_chart(table: pd.DataFrame) -> go.Figure:
    """Draw bubbles: share of data (x) against the gap to the baseline (y), size = errors.

    The baseline is the table's ``baseline`` (HLP unless it says otherwise). Without any
    baseline (no slice has a gap), y is the excess error over the rest of the data instead
    (:func:`core.prioritize.add_excess_error`), so the chart is never empty while the table
    has slices. Blue bubbles are worse than the rest (or, without that column, have a
    significant gap); grey ones are not.
    """
    t = _slices(table)
    by_gap = bool(t["gap"].notna().any()) if "gap" in t else False
    base = baseline_label(table)
    column = "gap" if by_gap or "excess_error" not in t else "excess_error"
    t = t[t[column].notna()]
    if "worse_than_rest" in t:
        strong = t["worse_than_rest"].astype(bool).tolist()
        grey = "not worse than the rest"
    else:
        strong = t["significant"].astype(bool).tolist() if "significant" in t else [True] * len(t)
        grey = "gap not significant"
    sizes = t["errors"].clip(lower=1)
    sizeref = 2.0 * float(sizes.max() if len(sizes) else 1) / (60.0**2)
    y_title = f"Gap to {base} (points)" if column == "gap" else "Error rate − the rest's (points)"
    fig = go.Figure(
        go.Scatter(
            x=100 * t["share"],
            y=100 * t[column],
            mode="markers+text",
            text=_names(t),
            textposition="top center",
            marker={
                "size": sizes,
                "sizemode": "area",
                "sizeref": sizeref,
                "sizemin": 6,
                "color": [ACCURACY_COLOR if s else HLP_COLOR for s in strong],
                "line": {"width": 1, "color": "white"},
            },
            customdata=t[["errors"]].to_numpy(),
            hovertemplate=(
                "%{text}<br>share %{x:.1f}%<br>"
                + y_title.split(" (")[0]
                + " %{y:.1f} pts<br>errors %{customdata[0]}<extra></extra>"
            ),
        )
    )
    fig.add_hline(y=0, line_dash="dot", line_color="#6b7280")
    fig.update_layout(
        xaxis_title="Share of data (%)",
        yaxis_title=y_title,
        title=f"Where the room is: bigger bubbles hold more errors (grey: {grey})",
        margin={"t": 50, "b": 40},
    )
    return fig


def confusion_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Draw a heatmap of a confusion matrix (rows: label, columns: prediction)."""
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=[plot_text(c) for c in matrix.columns],
            y=[plot_text(i) for i in matrix.index],
            colorscale="Blues",
            texttemplate="%{z}",
            hovertemplate="label %{y}<br>predicted %{x}<br>%{z} examples<extra></extra>",
        )
    )
    # Class names such as 0 and 1 are names, not numbers: category axes.
    fig.update_layout(
        xaxis_title="Prediction",
        yaxis_title="Label",
        xaxis_type="category",
        yaxis_type="category",
        yaxis_autorange="reversed",
        title="Confusion matrix",
        margin={"t": 40, "b": 40},
    )
    return fig
