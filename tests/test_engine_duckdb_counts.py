"""The DuckDB engine's outcome definitions are read off core.metrics.compute_outcomes.

The expected fact codes are worked out by hand from the meaning of each outcome column: bit 0
the model is correct, bit 1 a human label is present, bit 2 it agrees with the label, bit 3
the label is the positive class, bit 4 the prediction is, bit 5 a human accuracy is given.
"""

from __future__ import annotations

import pytest

pytest.importorskip("duckdb")

from slicewise.core.engine_duckdb.counts import FACTS, SUMMED, outcome_table  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

CORRECT, HAS_H, H_AGREES, Y_POS, P_POS, HAS_A = (1 << i for i in range(6))


def test_the_fact_bits_are_in_the_documented_order():
    assert FACTS == (
        "correct",
        "has_human",
        "human_agrees",
        "label_positive",
        "predicted_positive",
        "has_accuracy",
    )


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_human_outcomes(kind):
    table = outcome_table(TaskSpec(kind=kind), human=True, accuracy=False)
    # Realisable codes: a human label that agrees needs one to be present.
    assert table["correct"] == {CORRECT, CORRECT | HAS_H, CORRECT | HAS_H | H_AGREES}
    assert table["human_n"] == {
        HAS_H,
        HAS_H | CORRECT,
        HAS_H | H_AGREES,
        HAS_H | H_AGREES | CORRECT,
    }
    assert table["human_correct"] == {HAS_H | H_AGREES, HAS_H | H_AGREES | CORRECT}
    assert table["model_only"] == {CORRECT | HAS_H}  # model right, human present and wrong
    assert table["human_only"] == {HAS_H | H_AGREES}  # human right, model wrong


def test_binary_confusion_cells():
    table = outcome_table(TaskSpec(kind="binary", positive="yes"), human=False, accuracy=False)
    # P/P is correct; N/N correct and N/M wrong are both true negatives.
    assert table["tp"] == {Y_POS | P_POS | CORRECT}
    assert table["fp"] == {P_POS}
    assert table["fn"] == {Y_POS}
    assert table["tn"] == {0, CORRECT}
    assert "human_n" not in table


def test_human_accuracy_outcomes_gate_the_sums():
    table = outcome_table(TaskSpec(kind="classification"), human=False, accuracy=True)
    assert table["hacc_n"] == {HAS_A, HAS_A | CORRECT}
    assert table["hacc_model"] == {HAS_A | CORRECT}
    assert SUMMED["hacc_cross"] == ("a", "hacc_model")  # a counted where the model is right
    assert SUMMED["hacc_sum"] == ("a", "hacc_n")


def test_regression_sums_its_errors_on_every_row():
    table = outcome_table(TaskSpec(kind="regression", tolerance=0.5), human=False, accuracy=False)
    assert list(table) == ["correct", "abs_error", "sq_error"]
    assert SUMMED["abs_error"] == ("abs(err)", None)
    assert SUMMED["sq_error"] == ("err * err", None)
