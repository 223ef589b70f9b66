"""Tests for core.metrics.outcomes: each task kind's outcome columns, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics.outcomes import compute_outcomes
from slicewise.core.task import TaskSpec


def test_regression_outcomes_with_a_tolerance_and_a_missing_human_label():
    frame = pd.DataFrame(
        {"label": [1.0, 2.0, 3.0], "prediction": [1.4, 3.0, 3.0], "human": [1.0, None, 5.0]}
    )
    out = compute_outcomes(frame, TaskSpec(kind="regression", tolerance=0.5))
    np.testing.assert_allclose(out["abs_error"], [0.4, 1.0, 0.0])
    np.testing.assert_allclose(out["sq_error"], [0.16, 1.0, 0.0])
    assert out["correct"].tolist() == [1, 0, 1]
    assert out["human_n"].tolist() == [1, 0, 1]
    assert out["human_correct"].tolist() == [1, 0, 0]  # |5 - 3| > 0.5
    assert out["model_only"].tolist() == [0, 0, 1]
    assert out["human_only"].tolist() == [0, 0, 0]


def test_binary_outcomes_and_per_example_human_accuracy():
    frame = pd.DataFrame(
        {
            "label": ["y", "n", "y", "n"],
            "prediction": ["y", "y", "n", "n"],
            "human_accuracy": [0.8, None, 0.5, 1.0],
        }
    )
    out = compute_outcomes(frame, TaskSpec(kind="binary", positive="y"))
    assert [out[c].tolist() for c in ("tp", "fp", "fn", "tn")] == [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
    ]
    assert out["hacc_n"].tolist() == [1, 0, 1, 1]
    np.testing.assert_allclose(out["hacc_sq"], [0.64, 0.0, 0.25, 1.0])
    assert out["hacc_model"].tolist() == [1, 0, 0, 1]
    np.testing.assert_allclose(out["hacc_cross"], [0.8, 0.0, 0.0, 1.0])


def test_text_outcomes_count_word_edits_of_normalised_transcripts():
    frame = pd.DataFrame({"label": ["turn it on", ""], "prediction": ["turn on", ""]})
    out = compute_outcomes(frame, TaskSpec(kind="text"))
    assert out["correct"].tolist() == [0, 1]
    assert out["word_errors"].tolist() == [1, 0]  # one deletion
    assert out["ref_words"].tolist() == [3, 0]
    assert out["word_errors_x_ref"].tolist() == [3, 0]


def test_a_binary_task_without_its_positive_class_is_refused():
    frame = pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"]})
    with pytest.raises(InvalidValueError, match="never occurs"):
        compute_outcomes(frame, TaskSpec(kind="binary", positive="z"), source="f.csv")
