"""core.analysis as named steps: each step's result on a hand-worked table, and analyze() as
their composition (the app caches the steps one by one, so they must add up to analyze)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from slicewise.core.analysis import (
    analyze,
    correct_mask,
    count_slices,
    find_slices,
    finish_table,
    measure_slices,
    score_examples,
)
from slicewise.core.baselines import dataset_baseline
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.task import TaskSpec

# Eight examples; "noisy" tags 4 of them, of which 3 are wrong; device splits 5 / 3.
FRAME = pd.DataFrame(
    {
        "id": [f"e{i}" for i in range(8)],
        "label": ["a", "a", "b", "b", "a", "b", "a", "b"],
        "prediction": ["b", "a", "a", "a", "a", "b", "a", "b"],
        "noisy": [True, True, True, True, False, False, False, False],
        "device": ["x", "x", "x", "y", "x", "y", "x", "y"],
    }
)
#: Correct by hand: label == prediction.
CORRECT = [False, True, False, False, True, True, True, True]
TASK = TaskSpec(kind="classification")


def dataset():
    mapping = ColumnMapping(label="label", prediction="prediction", id="id", tag_columns=("noisy",))
    return dataset_from_frame(FRAME.copy(), mapping, name="t.csv")


def test_score_examples_and_correct_mask_match_the_labels():
    ds = dataset()
    outcomes = score_examples(ds.frame, TASK, source="t.csv")
    assert outcomes["correct"].tolist() == CORRECT
    mask = correct_mask(ds.frame, TASK)
    assert mask.dtype == np.bool_ and mask.tolist() == CORRECT


def test_slices_counts_and_metrics_by_hand():
    ds = dataset()
    membership, info = find_slices(ds, slice_by=["device"])
    assert "same_as" in info.columns
    counts = count_slices(membership, score_examples(ds.frame, TASK), info)
    table = measure_slices(counts, task=TASK, baseline=dataset_baseline(ds))
    # All data: 5 of 8 right; noisy: 1 of 4; device x: e0 e1 e2 e4 e6 -> 3 of 5 right.
    assert table.loc["All data", "n"] == 8
    assert table.loc["All data", "accuracy"] == 5 / 8
    noisy = [name for name in table.index if "noisy" in str(name)][0]
    assert table.loc[noisy, "n"] == 4 and table.loc[noisy, "accuracy"] == 1 / 4
    x = [name for name in table.index if str(name).endswith("x")][0]
    assert table.loc[x, "n"] == 5 and table.loc[x, "accuracy"] == 3 / 5


def test_analyze_is_the_composition_of_the_steps():
    ds = dataset()
    membership, info = find_slices(ds, slice_by=["device"])
    counts = count_slices(membership, score_examples(ds.frame, TASK), info)
    table = measure_slices(counts, task=TASK, baseline=dataset_baseline(ds))
    stepped = finish_table(table, info, blank_tags=ds.blank_tags)
    pdt.assert_frame_equal(stepped, analyze(ds, task=TASK, slice_by=["device"]))
