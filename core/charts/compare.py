"""Charts of a comparison of iterations: each slice across iterations, and before → after.

Inputs are :func:`core.compare.iteration_history` (:func:`history_chart`) and the tables
of :func:`core.compare.compare_datasets` or :func:`core.compare.compare_slice_metrics`
(:func:`change_chart`); plain Plotly figures, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from slicewise.core.charts.style import plot_text
from slicewise.core.compare.metric_specs import METRICS
from slicewise.core.prioritize import display_name
from slicewise.core.slice_names import OVERALL, UNTAGGED

#: Line colours of :func:`history_chart`, in turn: all data first (dark), then the tags.
HISTORY_PALETTE: tuple[str, ...] = (
    "#111827",
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#9ca3af",
)


def history_chart(history: pd.DataFrame, *, slices: Sequence[str] | None = None) -> go.Figure:
    """Draw each slice's accuracy (top) and gap to HLP (bottom) across iterations.

    Parameters
    ----------
    history
        :func:`core.compare.iteration_history`'s output.
    slices
        The slices drawn, in order (default: all data, drawn thick and dark, then every
        tag); a name without rows is skipped.

    Returns
    -------
    plotly.graph_objects.Figure
        Two stacked panels sharing the iteration axis (in step order): accuracy in %, and
        the gap in points with a dotted zero line.
    """
    from plotly.subplots import make_subplots

    h = history
    if slices is None:  # all data first (drawn thick and dark), then every tag
        slices = list(dict.fromkeys(h.loc[h["kind"] == "overall", "slice"]))
        slices += list(dict.fromkeys(h.loc[h["kind"] == "tag", "slice"]))
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Accuracy (%)", "Gap to HLP (points)"),
    )
    order = list(dict.fromkeys(h.sort_values("step")["iteration"]))
    for k, name in enumerate(slices):
        part = h[h["slice"] == name].sort_values("step")
        if not part.empty:
            _add_slice_lines(fig, part, name, HISTORY_PALETTE[k % len(HISTORY_PALETTE)])
    fig.add_hline(y=0, line_dash="dot", line_color="#6b7280", row=2, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    fig.update_layout(
        title="Each slice across the project's iterations",
        height=560,
        margin={"t": 70, "b": 40},
        hovermode="x unified",
    )
    return fig


def _add_slice_lines(fig: go.Figure, part: pd.DataFrame, name: str, color: str) -> None:
    """Add one slice's accuracy line (top panel) and dotted gap line (bottom panel)."""
    label = plot_text(name if name in (OVERALL, UNTAGGED) else display_name(name))
    width = 3 if name == OVERALL else 2
    fig.add_scatter(
        x=part["iteration"],
        y=100 * part["accuracy"],
        mode="lines+markers",
        name=label,
        legendgroup=label,
        line={"color": color, "width": width},
        hovertemplate=f"{label}<br>%{{x}}: %{{y:.1f}}%<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=part["iteration"],
        y=100 * part["gap"],
        mode="lines+markers",
        name=label,
        legendgroup=label,
        showlegend=False,
        line={"color": color, "width": width, "dash": "dot"},
        hovertemplate=f"{label}<br>%{{x}}: %{{y:+.1f}} pts<extra></extra>",
        row=2,
        col=1,
    )


def change_chart(comparison: pd.DataFrame) -> go.Figure:
    """Draw each slice's metric before and after as a dumbbell (red where it got worse).

    ``comparison`` is a table of :func:`core.compare.compare_datasets` (accuracy) or one
    metric's table of :func:`core.compare.compare_slice_metrics` (FPR, FNR, WER...: red
    where it rose).
    """
    c = comparison[comparison["kind"] != "untagged"]
    if "metric" in c.columns:
        spec = METRICS[str(c["metric"].iloc[0])] if len(c) else METRICS["accuracy"]
        before, after = c["before"], c["after"]
        worse = c["worse_by"].to_numpy(dtype=float) > 0
    else:
        spec = METRICS["accuracy"]
        before, after = c["accuracy_before"], c["accuracy_after"]
        worse = c["delta"].to_numpy(dtype=float) < 0
    scale, unit = (100, "%") if spec.percent else (1, "")
    names = [plot_text(n if n == OVERALL else display_name(n)) for n in c.index]
    fig = go.Figure()
    for name, b, a, bad in zip(names, before, after, worse, strict=True):
        color = "#dc2626" if bad else "#16a34a"
        fig.add_scatter(
            x=[scale * b, scale * a],
            y=[name, name],
            mode="lines",
            line={"color": color, "width": 3},
            showlegend=False,
            hoverinfo="skip",
        )
    fig.add_scatter(
        x=scale * before,
        y=names,
        mode="markers",
        name="Before",
        marker={"color": "#9ca3af", "size": 11},
        hovertemplate=f"%{{y}}: %{{x:.{1 if spec.percent else 3}f}}{unit}<extra>before</extra>",
    )
    fig.add_scatter(
        x=scale * after,
        y=names,
        mode="markers",
        name="After",
        marker={"color": "#2563eb", "size": 11},
        hovertemplate=f"%{{y}}: %{{x:.{1 if spec.percent else 3}f}}{unit}<extra>after</extra>",
    )
    label = spec.label[0].upper() + spec.label[1:]
    fig.update_layout(
        title=f"{label} before → after",
        xaxis_title=f"{label} (%)" if spec.percent else label,
        yaxis_autorange="reversed",
        height=120 + 40 * len(c),
        margin={"t": 60, "b": 40},
    )
    return fig
