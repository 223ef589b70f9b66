"""Charts of annotator agreement (*Label consistency*): plain Plotly, no Streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from slicewise.core.charts.style import plot_text


def _two_digits(value: float) -> str:
    """Format a kappa with two decimals, or "–" when it is undefined (NaN)."""
    return "–" if pd.isna(value) else f"{float(value):.2f}"


def kappa_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Draw a heatmap of pairwise Cohen's kappa (annotators × annotators).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square, annotators × annotators, kappa on the items both labelled
        (:func:`core.agreement.compute_cohen_kappa_matrix`); NaN where a pair shares
        no item or kappa is undefined (shown as "–").

    Returns
    -------
    plotly.graph_objects.Figure
        Colours from -0.2 (red) to 1 (green); the first annotator on top.
    """
    z = matrix.to_numpy(dtype=float)
    text = [[_two_digits(v) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[plot_text(c) for c in matrix.columns],
            y=[plot_text(i) for i in matrix.index],
            zmin=-0.2,
            zmax=1,
            colorscale="RdYlGn",
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}: kappa %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Cohen's kappa between annotators (items both labelled)",
        yaxis_autorange="reversed",
        margin={"t": 50, "b": 40},
    )
    return fig
