"""Plotly figures of the app, one module per subject (no Streamlit here).

- :mod:`core.charts.style`: colours, :func:`plot_text` (user names shown literally),
  :func:`tidy_chart` (legend above the plot);
- :mod:`core.charts.slices`: the per-slice table's charts (accuracy vs HLP, priorities,
  confusion matrix);
- :mod:`core.charts.agreement`: annotator agreement (kappa heatmap).

The names below are re-exported so ``from slicewise.core.charts import plot_text`` keeps
working.
"""

from __future__ import annotations

from slicewise.core.charts.agreement import kappa_heatmap
from slicewise.core.charts.slices import (
    accuracy_vs_hlp_chart,
    baseline_label,
    confusion_heatmap,
    priority_bubble_chart,
)
from slicewise.core.charts.style import ACCURACY_COLOR, HLP_COLOR, plot_text, tidy_chart

__all__ = [
    "ACCURACY_COLOR",
    "HLP_COLOR",
    "accuracy_vs_hlp_chart",
    "baseline_label",
    "confusion_heatmap",
    "kappa_heatmap",
    "plot_text",
    "priority_bubble_chart",
    "tidy_chart",
]
