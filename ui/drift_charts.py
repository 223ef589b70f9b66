"""Plotly figures of production drift, drawn from :mod:`core.drift`'s tables (no analysis here).

- :func:`shares_chart`: one feature's reference and production shares side by side
  (:func:`core.drift.category_shares`);
- :func:`windows_chart`: each feature's drift per window with its threshold and the
  crossings marked (:func:`core.drift.drift_windows`);
- :func:`accuracy_chart`: the accuracy measured per window, when production is labelled.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from slicewise.core.charts.style import ACCURACY_COLOR, HLP_COLOR, tidy_chart

#: Colour of threshold lines and crossed points.
ALARM_COLOR = "#dc2626"
METRIC_NAMES = {"linf": "L-infinity distance", "js": "Jensen-Shannon divergence (bits)"}


def shares_chart(shares: pd.DataFrame, feature: str) -> go.Figure:
    """Bars of ``reference_share`` and ``production_share`` per ``category`` of ``feature``.

    ``shares`` has :func:`core.drift.category_shares`' columns; categories the reference
    never holds are labelled "(new)".
    """
    labels = [
        f"{c} (new)" if new else str(c)
        for c, new in zip(shares["category"], shares["new"], strict=True)
    ]
    fig = go.Figure(
        [
            go.Bar(name="Reference (test set)", x=labels, y=shares["reference_share"],
                   marker_color=HLP_COLOR),
            go.Bar(name="Production", x=labels, y=shares["production_share"],
                   marker_color=ACCURACY_COLOR),
        ]
    )  # fmt: skip
    fig.update_layout(
        barmode="group",
        title=f"Share of each value of {feature}",
        yaxis={"title": "share of rows", "tickformat": ".0%"},
        xaxis={"title": feature, "type": "category"},
    )
    return tidy_chart(fig)


def windows_chart(windows: pd.DataFrame, feature: str) -> go.Figure:
    """Line of one feature's drift per window, its threshold dashed, crossings in red.

    ``windows`` has :func:`core.drift.drift_windows`' columns.
    """
    rows = windows[windows["feature"] == feature]
    metric = str(rows["metric"].iloc[0]) if len(rows) else ""
    crossed = rows[rows["crossed"].fillna(False).astype(bool)]
    fig = go.Figure(
        [
            go.Scatter(name=METRIC_NAMES.get(metric, metric), x=rows["window"], y=rows["value"],
                       mode="lines+markers", line={"color": ACCURACY_COLOR}),
            go.Scatter(name="threshold", x=rows["window"], y=rows["threshold"], mode="lines",
                       line={"color": ALARM_COLOR, "dash": "dash"}),
            go.Scatter(name="crossed", x=crossed["window"], y=crossed["value"], mode="markers",
                       marker={"color": ALARM_COLOR, "size": 12, "symbol": "x"}),
        ]
    )  # fmt: skip
    fig.update_layout(
        title=f"Drift of {feature} per window",
        xaxis={"title": "window", "type": "category"},
        yaxis={"title": METRIC_NAMES.get(metric, "drift"), "rangemode": "tozero"},
    )
    return tidy_chart(fig)


def accuracy_chart(windows: pd.DataFrame) -> go.Figure:
    """Line of the accuracy measured on each window's labelled production rows."""
    per_window = windows.drop_duplicates("window")
    fig = go.Figure(
        go.Scatter(name="accuracy", x=per_window["window"], y=per_window["accuracy"],
                   mode="lines+markers", line={"color": ACCURACY_COLOR})
    )  # fmt: skip
    fig.update_layout(
        title="Accuracy measured per window (labelled production rows)",
        xaxis={"title": "window", "type": "category"},
        yaxis={"title": "accuracy", "tickformat": ".0%", "range": [0, 1]},
    )
    return tidy_chart(fig)
