"""ui.views: the display tables of *Slices vs HLP* and *Prioritise*, from a hand-made dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, prepare
from slicewise.core.task import TaskSpec
from slicewise.ui import views


@pytest.fixture
def table() -> pd.DataFrame:
    # 8 examples, 2 errors (the 2nd and 7th); "noisy" on 4 of them, both errors among them.
    frame = pd.DataFrame(
        {
            "label": list("aaaabbbb"),
            "prediction": list("abaabbab"),
            "noisy": ["x", "x", "", "", "", "x", "x", ""],
        }
    )
    mapping = ColumnMapping(label="label", prediction="prediction", tag_columns=("noisy",))
    dataset = prepare(frame, mapping, source_name="t.csv")
    return analyze(dataset, task=TaskSpec())


def test_slice_view_puts_all_data_first_in_points(table):
    view, config = views.slice_view(table, "classification")
    assert view["slice"].iloc[0] == "All data"
    assert view["n"].iloc[0] == 8
    # accuracy 6/8 = 75 points overall; noisy: 2 of 4 right = 50 points, share 50%
    assert view["accuracy"].iloc[0] == pytest.approx(75.0)
    noisy = view[view["kind"] == "tag"].iloc[0]
    assert noisy["accuracy"] == pytest.approx(50.0) and noisy["share"] == pytest.approx(50.0)
    assert noisy["share of errors"] == pytest.approx(100.0)
    # no HLP: nothing to compare, and the empty gap interval is left out
    assert noisy["HLP source"] == "—" and "gap interval" not in view.columns
    assert list(view.columns[:3]) == ["slice", "kind", "n"]  # "known on": all exact, dropped
    assert config["accuracy"]["label"] == "Accuracy"


def test_priority_view_shows_only_slices_with_ranked_columns_first(table):
    view, config = views.priority_view(table)
    assert set(view["slice"]) <= {"Noisy", "noisy"}  # tag and column slices only
    assert list(view.columns[:3]) == ["rank", "slice", "accuracy"]
    assert config["HLP"]["label"] == views.baseline_name(table)
