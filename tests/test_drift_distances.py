"""core.drift.distances: L-infinity, Jensen-Shannon and PSI against hand-worked values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from slicewise.core.drift import (
    EMPTY_SHARE_EPSILON,
    bin_shares_table,
    category_shares_table,
    js_divergence,
    js_of_shares,
    linf_distance,
    linf_of_shares,
    numeric_bin_edges,
    psi,
    psi_of_shares,
)

# --------------------------------------------------------------------------- L-infinity


@pytest.mark.parametrize(
    ("reference", "production", "expected"),
    [
        # a: 0.5 -> 0.25, b: 0.5 -> 0.5, c: 0 -> 0.25
        (["a", "a", "b", "b"], ["a", "b", "b", "c"], 0.25),
        (["a", "b"], ["b", "a"], 0.0),  # same shares, other order
        (["a"], ["b"], 1.0),  # disjoint supports
        (["a", "a"], ["a", "c"], 0.5),  # a new category: reference share 0
        (["x"] * 3, ["x"] * 7, 0.0),  # all the same value on both sides
        # missing and blank cells are left out: reference a 1/2, b 1/2; production a 1
        (["a", None, "b", " "], ["a", np.nan], 0.5),
        ([" a", "b "], ["a", "a"], 0.5),  # cells are trimmed: " a" is "a"
        # 3 categories: shares (.6, .3, .1) vs (.2, .3, .5): largest change .4
        (["p"] * 6 + ["q"] * 3 + ["r"], ["p"] * 2 + ["q"] * 3 + ["r"] * 5, 0.4),
    ],
    ids=["hand", "same", "disjoint", "new", "all-same", "missing", "trimmed", "three"],
)
def test_linf_distance_is_the_largest_share_change(reference, production, expected):
    got = linf_distance(pd.Series(reference, dtype=object), pd.Series(production, dtype=object))
    assert got == pytest.approx(expected, abs=1e-12)


def test_linf_distance_matches_value_counts_on_random_categories():
    rng = np.random.default_rng(1)
    ref = pd.Series(rng.choice(list("abcde"), 500, p=[0.4, 0.3, 0.2, 0.05, 0.05]))
    prod = pd.Series(rng.choice(list("abcdef"), 300))
    p = ref.value_counts(normalize=True)
    q = prod.value_counts(normalize=True)
    expected = (p.reindex(q.index.union(p.index), fill_value=0) - q).abs().max()
    expected = max(expected, (q.reindex(p.index, fill_value=0) - p).abs().max())
    assert linf_distance(ref, prod) == pytest.approx(expected, abs=1e-12)


def test_linf_distance_without_values_on_one_side_is_nan():
    assert math.isnan(linf_distance(pd.Series(["a"]), pd.Series([None], dtype=object)))


def test_category_shares_table_lists_new_categories_last_with_reference_share_zero():
    table = category_shares_table(pd.Series(["a", "a", "b"]), pd.Series(["z", "a", "b", "y"]))
    assert table["category"].tolist() == ["a", "b", "y", "z"]
    assert table["new"].tolist() == [False, False, True, True]
    assert table["reference_share"].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0])
    assert table["production_share"].tolist() == pytest.approx([0.25] * 4)
    assert table["production_count"].tolist() == [1, 1, 1, 1]


def test_linf_of_shares_on_aligned_vectors():
    assert linf_of_shares(np.array([0.5, 0.5, 0.0]), np.array([0.2, 0.6, 0.2])) == pytest.approx(
        0.3
    )


# --------------------------------------------------------------------------- bins


def test_bins_are_the_reference_quantiles_with_points_and_open_outer_bins():
    # Quantiles of 1..5 at 0, .25, .5, .75, 1 are 1..5: bins <1, =1, (1,2), =2, ..., =5, >5.
    ref = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    prod = np.array([0.0, 2.5, 5.0, 6.0])
    table = bin_shares_table(ref, prod, bins=4)
    shown = dict(zip(table["bin"], table["production_count"], strict=True))
    assert shown == {
        "< 1": 1,
        "= 1": 0,
        "= 2": 0,
        "(2, 3)": 1,
        "= 3": 0,
        "= 4": 0,
        "= 5": 1,
        "> 5": 1,
    }
    assert table["reference_share"].sum() == pytest.approx(1)
    assert table["production_share"].sum() == pytest.approx(1)


def test_bin_edges_use_numpy_linear_quantiles():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=1000)
    expected = np.quantile(ref, [i / 10 for i in range(11)])
    assert numeric_bin_edges(ref, bins=10) == pytest.approx(expected)


def test_binary_reference_keeps_zero_and_one_apart():
    table = bin_shares_table(np.array([0.0, 0.0, 0.0, 1.0]), np.array([1.0, 1.0]))
    assert table.set_index("bin")["reference_share"].to_dict() == {"= 0": 0.75, "= 1": 0.25}
    assert table.set_index("bin")["production_share"].to_dict() == {"= 0": 0.0, "= 1": 1.0}


# --------------------------------------------------------------------------- Jensen-Shannon


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_js_of_shares_is_scipy_jensenshannon_base_2_squared(seed):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(8)), rng.dirichlet(np.ones(8))
    p[seed] = 0  # an empty bin on one side
    p = p / p.sum()
    assert js_of_shares(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-12)


@pytest.mark.parametrize(
    ("reference", "production", "p", "q"),
    [
        # bins of 1..5 (4 quantile bins): <1, =1, (1,2), =2, (2,3), =3, (3,4), =4, (4,5), =5, >5
        (
            [1, 2, 3, 4, 5],
            [0, 2.5, 5, 6],
            [0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0],
            [0.25, 0, 0, 0, 0.25, 0, 0, 0, 0, 0.25, 0.25],
        ),
        # all the same value: bins <5, =5, >5
        ([5, 5, 5], [5, 6], [0, 1, 0], [0, 0.5, 0.5]),
        # disjoint supports: every production value above the reference's range
        (
            [1, 2, 3, 4, 5],
            [10, 11],
            [0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        # missing values are left out on both sides
        (
            [1, 2, np.nan, 3, 4, 5],
            [np.nan, 3, 3],
            [0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0, 0.2, 0],
            [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        ),
    ],
    ids=["hand", "all-same", "disjoint", "missing"],
)
def test_js_divergence_bins_by_reference_quantiles_then_matches_scipy(reference, production, p, q):
    got = js_divergence(np.array(reference, float), np.array(production, float), bins=4)
    assert got == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-12)


def test_js_divergence_of_disjoint_supports_is_one_and_of_equal_samples_zero():
    ref = np.arange(100, dtype=float)
    assert js_divergence(ref, ref + 1000) == pytest.approx(1.0)
    assert js_divergence(ref, ref.copy()) == pytest.approx(0.0, abs=1e-12)


def test_js_divergence_without_production_values_is_nan():
    assert math.isnan(js_divergence(np.array([1.0, 2.0]), np.array([np.nan])))


# --------------------------------------------------------------------------- PSI


def test_psi_by_hand():
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi_of_shares(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected)


def test_psi_floors_an_empty_bin_at_the_documented_epsilon():
    assert EMPTY_SHARE_EPSILON == 1e-4
    e = 1e-4
    expected = (0.5 - 1) * math.log(0.5 / 1) + (0.5 - e) * math.log(0.5 / e)
    assert psi_of_shares(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("reference", "production", "expected"),
    [
        (["a", "b"], ["a", "b", "b", "b"], 0.25 * math.log(2) + 0.25 * math.log(1.5)),
        (["a", "b"], ["b", "a"], 0.0),
        # a new category c: reference share floored at 1e-4
        (["a", "a"], ["a", "c"], (0.5 - 1) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)),
    ],
    ids=["shift", "same", "new"],
)
def test_psi_of_categories_by_hand(reference, production, expected):
    got = psi(pd.Series(reference), pd.Series(production), numeric=False)
    assert got == pytest.approx(expected)


def test_psi_of_numbers_uses_the_same_bins_as_js():
    # bins <5, =5, >5: p = (0, 1, 0), q = (0, .5, .5); the empty <5 bin adds 0
    e = 1e-4
    expected = (0.5 - 1) * math.log(0.5) + (0.5 - e) * math.log(0.5 / e)
    got = psi(np.array([5.0, 5.0, 5.0]), np.array([5.0, 6.0]), numeric=True)
    assert got == pytest.approx(expected)
