"""Tests for core.charts.compare: the history and before -> after charts of iterations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.charts.compare import HISTORY_PALETTE, change_chart, history_chart
from slicewise.core.compare import iteration_history
from slicewise.core.slice_names import OVERALL


def table(accuracy: float, tag_accuracy: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["overall", "tag"],
            "n": [10, 4],
            "accuracy": [accuracy, tag_accuracy],
            "hlp": [0.9, 0.9],
            "gap": [0.9 - accuracy, 0.9 - tag_accuracy],
        },
        index=[OVERALL, "noisy"],
    )


def test_history_chart_draws_two_lines_per_slice_all_data_first():
    history = iteration_history([("v1", table(0.7, 0.5)), ("v2", table(0.8, 0.6))])
    fig = history_chart(history)
    assert len(fig.data) == 4  # accuracy and gap of all data, then of the tag
    assert fig.data[0].line.color == HISTORY_PALETTE[0] and fig.data[0].line.width == 3
    assert fig.data[2].line.color == HISTORY_PALETTE[1]
    np.testing.assert_allclose(fig.data[0].y, [70.0, 80.0])
    np.testing.assert_allclose(fig.data[1].y, [20.0, 10.0])


def test_change_chart_is_red_where_a_slice_got_worse():
    comparison = pd.DataFrame(
        {
            "kind": ["overall", "tag", "untagged"],
            "accuracy_before": [0.7, 0.6, 0.5],
            "accuracy_after": [0.8, 0.5, 0.5],
            "delta": [0.1, -0.1, 0.0],
        },
        index=[OVERALL, "noisy", "No tag"],
    )
    fig = change_chart(comparison)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.line.color for t in lines] == ["#16a34a", "#dc2626"]  # No tag is left out
    assert list(lines[1].x) == [60.0, 50.0]
