"""Comparing iterations whose files label shared examples differently (core.compare)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.compare import compare_datasets, describe_pairing, label_differences
from core.dataset import ColumnMapping, prepare


def _ds(labels: list[str], predictions: list[str], name: str):
    frame = pd.DataFrame({"id": [f"e{i}" for i in range(len(labels))], "label": labels,
                          "prediction": predictions})
    return prepare(frame, ColumnMapping(), source_name=name)


@pytest.mark.parametrize(("before", "after", "expected"), [
    (["cat", "dog", "cat"], ["cat", "dog", "cat"], []),
    (["cat", "dog", "cat"], ["cat", "cat", "cat"], ["e1"]),
    (["1", "2", "3"], ["1.0", "2", "03"], ["e2"]),  # 1 and 1.0 are one label, 3 and 03 not
    ([" cat", "dog", "cat"], ["cat", "dog", "bird"], ["e2"]),  # spaces around are trimmed
])
def test_label_differences_compare_class_keys(before, after, expected):
    found = label_differences(_ds(before, before, "b.csv"), _ds(after, after, "a.csv"))
    assert list(found["id"]) == expected


def test_relabelled_examples_are_scored_against_one_label_and_said():
    # e1 was relabelled dog -> cat between the files; the model predicts cat both times.
    before = _ds(["cat", "dog", "cat", "dog"], ["cat", "cat", "cat", "dog"], "b.csv")
    after = _ds(["cat", "cat", "cat", "dog"], ["cat", "cat", "cat", "dog"], "a.csv")
    table = compare_datasets(before, after)
    overall = table.loc["All data"]
    # Against AFTER's labels the model was right on all 4 both times: no change at all.
    assert overall["accuracy_before"] == 1.0 and overall["accuracy_after"] == 1.0
    assert overall["right_to_wrong"] == 0 and overall["wrong_to_right"] == 0
    assert table.attrs["labels_changed"] == 1
    text = describe_pairing(before, after).describe()
    assert "1 shared example has a different label" in text
    assert "one label per example" in text


def test_no_relabelling_leaves_the_comparison_as_it_was():
    before = _ds(["a", "b", "a", "b"], ["a", "a", "a", "b"], "b.csv")
    after = _ds(["a", "b", "a", "b"], ["a", "b", "a", "b"], "a.csv")
    table = compare_datasets(before, after)
    assert table.loc["All data", "accuracy_before"] == 0.75
    assert table.loc["All data", "wrong_to_right"] == 1
    assert "different label" not in describe_pairing(before, after).describe()
