"""Tests for core.metrics.classes: the bounded confusion matrix and its folding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.metrics.classes import (
    compute_confusion_matrix,
    compute_confusion_pairs,
    fold_classes,
    folded_matrix,
)


def test_folded_matrix_counts_pairs_into_the_kept_slots():
    # Classes a, b, c; b and c folded into "(other)".
    slot = np.array([0, 1, 1])
    labels = np.array([0, 1, 2, 2])
    predictions = np.array([0, 2, 1, 0])
    got = folded_matrix(slot, ["a", "(other)"], labels, predictions)
    # By hand: (a, a) once; b->c and c->b both (other, other); c->a is (other, a).
    assert got.to_numpy().tolist() == [[1, 0], [1, 2]]
    assert got.index.name == "label" and got.columns.name == "prediction"
    weighted = folded_matrix(slot, ["a", "(other)"], labels, predictions, np.array([2, 1, 1, 3]))
    assert weighted.to_numpy().tolist() == [[2, 0], [3, 2]]


def test_confusion_matrix_from_pairs_equals_the_one_from_examples():
    frame = pd.DataFrame({"label": list("aabbcc"), "prediction": list("abbcca")})
    direct = compute_confusion_matrix(frame, max_classes=2)
    from_pairs = compute_confusion_matrix(pairs=compute_confusion_pairs(frame), max_classes=2)
    pd.testing.assert_frame_equal(direct, from_pairs)
    # Totals (support + predicted): a 2+2, b 2+2, c 2+2: ties keep the first two.
    assert list(direct.index) == ["a", "b", "(other)"]
    assert int(direct.to_numpy().sum()) == 6


def test_fold_keeps_every_class_under_the_bound():
    slot, names = fold_classes(["x", "y"], np.array([5, 1]), max_classes=3)
    assert slot.tolist() == [0, 1] and names == ["x", "y"]
