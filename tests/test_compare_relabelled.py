"""Comparing iterations whose files label shared examples differently (core.compare)."""

from __future__ import annotations

import pandas as pd
import pytest

from slicewise.core.compare import compare_datasets, describe_pairing, label_differences
from slicewise.core.dataset import ColumnMapping, prepare


def _ds(labels: list[str], predictions: list[str], name: str):
    frame = pd.DataFrame(
        {"id": [f"e{i}" for i in range(len(labels))], "label": labels, "prediction": predictions}
    )
    return prepare(frame, ColumnMapping(), source_name=name)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (["cat", "dog", "cat"], ["cat", "dog", "cat"], []),
        (["cat", "dog", "cat"], ["cat", "cat", "cat"], ["e1"]),
        (["1", "2", "3"], ["1.0", "2", "03"], ["e2"]),  # 1 and 1.0 are one label, 3 and 03 not
        ([" cat", "dog", "cat"], ["cat", "dog", "bird"], ["e2"]),  # spaces around are trimmed
    ],
)
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


def test_a_tag_only_errors_carry_is_not_compared_as_zero_percent():
    # 40 examples; the model errs on every fourth before and every eighth after; an x/blank
    # tag marks the errors of camera c3 only (filled on errors, as the lecture does).
    n = 40
    ids = [f"e{i:02d}" for i in range(n)]
    label = ["a"] * n
    wrong_b = [i % 4 == 0 for i in range(n)]
    wrong_a = [i % 8 == 0 for i in range(n)]

    def side(wrong, name):
        frame = pd.DataFrame(
            {
                "id": ids,
                "label": label,
                "prediction": ["b" if w else "a" for w in wrong],
                "c3_err": ["x" if w else "" for w in wrong],
            }
        )
        return prepare(frame, ColumnMapping(tag_columns=("c3_err",)), source_name=name)

    table = compare_datasets(side(wrong_b, "b.csv"), side(wrong_a, "a.csv"))
    row = table.loc["c3_err"]
    assert row["scope"] == "errors" and row["test"] == "none"
    assert pd.isna(row["accuracy_before"]) and pd.isna(row["delta"])
    assert not row["significant"] and not row["regression"]
    assert table.loc["All data", "scope"] == "all"
    assert table.loc["All data", "accuracy_before"] == pytest.approx(30 / 40)
