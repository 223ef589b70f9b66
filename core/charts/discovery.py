"""Charts of the slice search: the error tree (:func:`core.discovery.compute_error_tree`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from slicewise.core.charts import plot_text


def error_tree_chart(
    tree: pd.DataFrame, *, title: str = "Where the errors are: error tree"
) -> go.Figure:
    """Draw the error tree as an icicle: width = examples, colour = error rate.

    ``tree`` is :func:`core.discovery.compute_error_tree`'s table (an empty table gives an
    empty figure with the title).
    """
    fig = go.Figure()
    if len(tree):
        labels = [
            f"{plot_text(c)}<br>{n:,} · {100 * r:.1f}% errors"
            for c, n, r in zip(tree["condition"], tree["n"], tree["error_rate"], strict=True)
        ]
        fig.add_trace(
            go.Icicle(
                ids=tree["node"].astype(str),
                parents=[("" if p < 0 else str(p)) for p in tree["parent"]],
                labels=labels,
                values=tree["n"],
                branchvalues="total",
                marker={
                    "colors": tree["error_rate"],
                    "colorscale": "Reds",
                    "cmin": 0,
                    "cmax": float(tree["error_rate"].max()),
                    "colorbar": {"title": {"text": "error rate"}, "tickformat": ".0%"},
                    "showscale": True,
                },
                customdata=np.column_stack([tree["errors"], tree["lift"]]),
                hovertemplate=(
                    "%{label}<br>errors: %{customdata[0]:,}<br>"
                    "lift: %{customdata[1]:.2f}×<extra></extra>"
                ),
                tiling={"orientation": "v"},
                root={"color": "white"},
            )
        )
    fig.update_layout(
        title={"text": title}, margin={"t": 50, "l": 10, "r": 10, "b": 10}, height=480
    )
    return fig
