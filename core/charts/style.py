"""What every Slicewise chart shares: colours, literal text and the legend layout.

Plain Plotly, no Streamlit: the app's pages hand the figures to ``st.plotly_chart``.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

ACCURACY_COLOR = "#2563eb"
HLP_COLOR = "#9ca3af"


def plot_text(value: Any) -> str:
    """Return ``value`` as Plotly text that shows literally.

    Plotly reads a subset of HTML in labels (``<a href>``, ``<b>``, ``<span style>``...), so a
    slice named from a user's file could add a link or restyle a chart; with ``<``, ``>`` and
    ``&`` written as entities (which Plotly decodes) it is shown as written.
    """
    return html.escape(str(value), quote=False)


def tidy_chart(fig: go.Figure) -> go.Figure:
    """Put a chart's legend above its plot area, right-aligned, clear of the title.

    Streamlit draws charts narrower than the report does; a legend inside the plot area
    would cover bars or the title there.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Any figure; changed in place (legend and top margin, 80 px).

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig`` itself.
    """
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        margin={"t": 80},
    )
    return fig
