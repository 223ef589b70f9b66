"""The stratified estimator of core.tag_scope.figures, on hand-worked per-stratum counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from slicewise.core.tag_scope.figures import (
    FIGURE_COLUMNS,
    draw_review_sample,
    figures_from_counts,
    sample_figures,
)


def _one(n_e, n_c, k_e, k_c, x_e, x_c, **kwargs) -> pd.Series:
    out = figures_from_counts(n_e, n_c, [k_e], [k_c], [x_e], [x_c], index=["t"], **kwargs)
    assert tuple(out.columns) == FIGURE_COLUMNS
    return out.loc["t"]


def test_a_fully_known_tag_gets_its_exact_counts_as_points():
    # 10 errors and 90 correct examples, all known; 4 errors and 6 correct ones carry it.
    row = _one(10, 90, 10, 90, 4, 6)
    assert row["scope"] == "all"
    assert row["errors_est"] == pytest.approx(4)
    assert row["error_share"] == pytest.approx(0.4)
    assert row["max_gain"] == pytest.approx(4 / 100)
    assert row["share"] == pytest.approx(10 / 100)
    assert row["accuracy"] == pytest.approx(6 / 10)
    for col in ("error_share", "share", "accuracy"):
        assert row[f"{col}_ci_low"] == row[f"{col}_ci_high"] == pytest.approx(row[col])


def test_a_tag_known_on_errors_only_has_no_share_nor_accuracy():
    row = _one(10, 90, 10, 0, 4, 0)
    assert row["scope"] == "errors"
    assert row["error_share"] == pytest.approx(0.4)
    assert row["max_gain"] == pytest.approx(0.04)
    for col in ("share", "share_ci_low", "accuracy", "accuracy_ci_high"):
        assert np.isnan(row[col])


def test_a_sample_weights_each_stratum_by_its_size():
    # 100 errors (20 known, 5 tagged) and 900 correct (50 known, 10 tagged):
    # T_e = 100 * 5/20 = 25, T_c = 900 * 10/50 = 180.
    row = _one(100, 900, 20, 50, 5, 10, seed=3, draws=2000)
    assert row["scope"] == "sample"
    assert row["errors_est"] == pytest.approx(25)
    assert row["share"] == pytest.approx(205 / 1000)
    assert row["accuracy"] == pytest.approx(180 / 205)
    assert row["max_gain"] == pytest.approx(25 / 1000)
    low, high = proportion_confint(5, 20, method="wilson")
    assert (row["error_share_ci_low"], row["error_share_ci_high"]) == pytest.approx((low, high))
    for col in ("share", "accuracy"):
        assert row[f"{col}_ci_low"] < row[col] < row[f"{col}_ci_high"]
    again = _one(100, 900, 20, 50, 5, 10, seed=3, draws=2000)
    pd.testing.assert_series_equal(row, again)  # seeded


def test_nothing_known_is_scope_none_with_every_figure_nan():
    row = _one(10, 90, 0, 0, 0, 0)
    assert row["scope"] == "none"
    figures = [
        c for c in FIGURE_COLUMNS if c not in ("scope",) and not c.startswith(("rev", "tag"))
    ]
    assert all(np.isnan(row[c]) for c in figures)


def test_an_empty_stratum_counts_as_known():
    # No errors at all: knowing the correct examples is knowing everything.
    row = _one(0, 50, 0, 50, 0, 20)
    assert row["scope"] == "all"
    assert row["share"] == pytest.approx(0.4) and row["accuracy"] == pytest.approx(1.0)


def test_sample_figures_rest_on_the_drawn_examples_only():
    correct = np.array([False] * 4 + [True] * 6)
    tags = pd.DataFrame({"t": [True, False, False, False, True, False, False, False, False, False]})
    drawn = draw_review_sample(correct, {"errors": 4, "correct": 6}, seed=0)
    positions = np.concatenate([drawn["errors"], drawn["correct"]])
    row = sample_figures(correct, tags, positions).loc["t"]
    assert row["scope"] == "all"  # every example drawn
    assert row["error_share"] == pytest.approx(1 / 4) and row["accuracy"] == pytest.approx(0.5)
