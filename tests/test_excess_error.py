"""Each slice's excess error over the rest of the data, and advice that follows it.

Expected values come from statsmodels (z-test, Benjamini–Hochberg) and scipy (Fisher), not
from the module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.prioritize import benjamini_hochberg, describe_priorities

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_matches_statsmodels(seed):
    p = np.random.default_rng(seed).random(30) ** 3
    p[[3, 7]] = np.nan  # left out, and stay NaN
    q = benjamini_hochberg(p)
    present = ~np.isnan(p)
    expected = multipletests(p[present], method="fdr_bh")[1]
    np.testing.assert_allclose(q[present], expected)
    assert np.isnan(q[~present]).all()


def _frame(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    # east errs at 40%, elsewhere at 10%
    wrong = rng.random(n) < np.where(region == "east", 0.4, 0.1)
    return pd.DataFrame(
        {
            "id": range(n),
            "label": "ok",
            "prediction": np.where(wrong, "bad", "ok"),
            "region": region,
            "human_label": "ok",
        }
    )


def test_excess_error_lift_and_test_match_independent_computations():
    frame = _frame()
    table = analyze(dataset_from_frame(frame, ColumnMapping()), slice_by=["region"])
    wrong = frame["prediction"] != frame["label"]
    rows = [f"region = {r}" for r in ("east", "north", "south")]
    p_expected = []
    for value, row in zip(("east", "north", "south"), rows, strict=True):
        inside = frame["region"] == value
        e_in, n_in = wrong[inside].sum(), inside.sum()
        e_out, n_out = wrong[~inside].sum(), (~inside).sum()
        got = table.loc[row]
        assert got["error_rate_rest"] == pytest.approx(e_out / n_out)
        assert got["excess_error"] == pytest.approx(e_in / n_in - e_out / n_out)
        assert got["lift"] == pytest.approx((e_in / n_in) / (e_out / n_out))
        expected = proportions_ztest([e_out, e_in], [n_out, n_in])[1]
        assert got["excess_p_value"] == pytest.approx(expected, rel=1e-6)
        p_expected.append(expected)
    q = multipletests(p_expected, method="fdr_bh")[1]
    np.testing.assert_allclose(table.loc[rows, "excess_q_value"], q, rtol=1e-6)
    assert table.loc["region = east", "worse_than_rest"]
    assert not table.loc["region = north", "worse_than_rest"]  # better than the rest


def test_small_slices_use_fishers_exact_test():
    frame = pd.DataFrame(
        {
            "id": range(40),
            "label": "a",
            "prediction": ["b", "b", "a"] + ["a"] * 34 + ["b"] * 3,
            "site": ["tiny"] * 3 + ["big"] * 37,
        }
    )
    table = analyze(dataset_from_frame(frame, ColumnMapping()), slice_by=["site"])
    # tiny: 2 errors of 3; big: 3 of 37
    expected = fisher_exact([[3, 34], [2, 1]]).pvalue
    assert table.loc["site = tiny", "excess_p_value"] == pytest.approx(expected)


def test_the_issues_case_a_better_than_average_phone_model_is_not_advised():
    dataset = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    table = analyze(dataset, slice_by=["phone_model"])
    nova = table.loc["phone_model = Nova 5"]
    assert nova["excess_error"] < 0 and not nova["worse_than_rest"]
    lines = describe_priorities(table, top=10)
    assert not any("collect more examples where phone_model" in line for line in lines)
    assert any(
        line.startswith("phone_model = Nova 5") and "errs no more than the rest" in line
        for line in lines
    )
    # the tags that are worse than the rest keep their advice
    assert any(line.startswith("Reflection") and "collect more" in line for line in lines)


def test_a_random_column_is_not_worse_than_the_rest():
    frame = _frame(2000)
    frame["batch"] = np.random.default_rng(9).integers(0, 8, len(frame)).astype(str)
    table = analyze(dataset_from_frame(frame, ColumnMapping()), slice_by=["batch"])
    batches = table[table.index.str.startswith("batch = ")]
    assert not batches["worse_than_rest"].any()
    assert (batches["excess_q_value"] >= 0.05).all()
