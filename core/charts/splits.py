"""Charts of balanced splits: class and tag shares per split (:mod:`core.splits`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from slicewise.core.splits import ALL


def split_shares_chart(shares: pd.DataFrame) -> go.Figure:
    """Draw grouped bars: the share of each class and tag in all data and in every split.

    ``shares`` is :func:`core.splits.compute_split_shares`'s table; shares are drawn as
    percentages, the ``all`` column (the whole data) in grey.
    """
    body = shares[shares["group"] != "examples"]
    splits = [c[len("share_") :] for c in shares.columns if c.startswith("share_")]
    x = [f"{g}: {n}" for g, n in zip(body["group"], body["name"], strict=True)]
    colors = {ALL: "#9ca3af"}
    palette = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#dc2626"]
    fig = go.Figure()
    for i, split in enumerate(splits):
        fig.add_bar(
            name=split,
            x=x,
            y=100 * body[f"share_{split}"],
            marker_color=colors.get(split, palette[(i - 1) % len(palette)]),
            customdata=body[f"n_{split}"],
            hovertemplate=f"{split}: %{{y:.1f}}% (%{{customdata}})<extra>%{{x}}</extra>",
        )
    fig.update_layout(
        barmode="group",
        yaxis_title="Share of the split's examples (%)",
        title="Class and tag shares per split",
        margin={"t": 60, "b": 40},
        legend={"orientation": "h", "y": 1.1},
    )
    return fig
