"""Tests for core.charts.style and core.charts.agreement: plain Plotly, names shown literally."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from slicewise import core
from slicewise.core.charts import kappa_heatmap, tidy_chart
from slicewise.core.charts.style import ACCURACY_COLOR, HLP_COLOR


def test_tidy_chart_puts_the_legend_above_the_plot_and_returns_the_same_figure():
    fig = go.Figure(go.Bar(x=["a"], y=[1]))
    out = tidy_chart(fig)
    assert out is fig
    legend = fig.layout.legend
    assert (legend.orientation, legend.yanchor, legend.xanchor) == ("h", "bottom", "right")
    assert legend.y == 1.02 and legend.x == 1  # just above the plot area, right-aligned
    assert fig.layout.margin.t == 80


def test_colours_are_hex_colours():
    for colour in (ACCURACY_COLOR, HLP_COLOR):
        assert colour.startswith("#") and len(colour) == 7
        int(colour[1:], 16)


def test_kappa_heatmap_shows_two_decimals_and_a_dash_where_undefined():
    names = ["ann", "<b>bob</b>"]
    matrix = pd.DataFrame([[1.0, 0.3333], [0.3333, np.nan]], index=names, columns=names)
    fig = kappa_heatmap(matrix)
    trace = fig.data[0]
    assert trace.type == "heatmap"
    # hand-worked: 0.3333 -> "0.33", 1 -> "1.00", NaN -> "–"
    assert [list(row) for row in trace.text] == [["1.00", "0.33"], ["0.33", "–"]]
    assert list(trace.x) == ["ann", "&lt;b&gt;bob&lt;/b&gt;"]  # markup shown literally
    assert list(trace.y) == list(trace.x)
    assert (trace.zmin, trace.zmax) == (-0.2, 1)
    assert math.isnan(trace.z[1][1])
    assert fig.layout.yaxis.autorange == "reversed"  # the first annotator on top


def test_charts_do_not_import_streamlit():
    import importlib
    import sys

    for name in ("style", "slices", "agreement"):
        module = importlib.import_module(f"slicewise.core.charts.{name}")
        assert "streamlit" not in vars(module)
    assert core is sys.modules["slicewise.core"]
