"""Tests for core.charts: names from users' files are shown literally in every chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.charts import (
    accuracy_vs_hlp_chart,
    confusion_heatmap,
    plot_text,
    priority_bubble_chart,
)
from slicewise.core.charts.compare import change_chart, history_chart
from slicewise.core.charts.discovery import error_tree_chart
from slicewise.core.compare import compare_datasets, iteration_history
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.discovery import compute_error_tree

EVIL = '<a href="https://evil.invalid">x</a> & <b>'


@pytest.mark.parametrize(
    "value, shown",
    [
        (EVIL, '&lt;a href="https://evil.invalid"&gt;x&lt;/a&gt; &amp; &lt;b&gt;'),
        ("car noise", "car noise"),
        (3, "3"),
    ],
)
def test_plot_text_writes_markup_as_entities(value, shown):
    assert plot_text(value) == shown


def hostile_dataset(flip: int = 0):
    rng = np.random.default_rng(flip)
    n = 200
    label = rng.choice([EVIL, "ok"], n)
    wrong = rng.random(n) < 0.2 + 0.1 * flip
    frame = pd.DataFrame(
        {
            "id": range(n),
            "label": label,
            "prediction": np.where(wrong, np.where(label == "ok", EVIL, "ok"), label),
            "human_label": label,
            EVIL: np.where(rng.random(n) < 0.4, "x", ""),
            "device": rng.choice([EVIL, "web", "ios"], n),
        }
    )
    return dataset_from_frame(frame, ColumnMapping(id="id", human="human_label"))


def all_text(fig) -> str:
    """Every string a figure carries (categories, labels, legend names)."""
    return fig.to_json()


def test_no_chart_carries_raw_markup_from_a_name():
    before, after = hostile_dataset(0), hostile_dataset(1)
    table = analyze(before, slice_by=["device"])
    comparison = compare_datasets(before, after, slice_by=["device"])
    history = iteration_history([("v1", table), ("v2", analyze(after, slice_by=["device"]))])
    errors = (before.frame["device"] == EVIL).to_numpy()  # so the tree splits on it
    tree = compute_error_tree(before.frame[["device"]], errors, min_samples_leaf=5)
    confusion = pd.crosstab(before.frame["label"], before.frame["prediction"])
    figures = [
        accuracy_vs_hlp_chart(table),
        priority_bubble_chart(table),
        confusion_heatmap(confusion),
        change_chart(comparison),
        history_chart(history),
        error_tree_chart(tree),
    ]
    for fig in figures:
        text = all_text(fig)
        assert "<a href" not in text and "\\u003ca href" not in text, fig.layout.title.text
        assert "&lt;a href" in text or "\\u0026lt;a href" in text, fig.layout.title.text
