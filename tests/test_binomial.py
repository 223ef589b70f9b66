"""Tests for core.binomial: exact binomial tails against hand sums and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from slicewise.core.binomial import binom_cdf, binom_sf, regularized_beta


def exact_cdf(k: int, n: int, p: float) -> float:
    """P[X <= k] by summing the probability mass function with exact binomial coefficients."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize(
    "k, n, p",
    [
        (2, 10, 0.5),
        (0, 1, 0.3),
        (7, 20, 0.93),
        (19, 20, 0.93),
        (3, 50, 0.02),
        (25, 50, 0.5),
        (0, 30, 0.999),
        (89, 100, 0.93),
    ],
)
def test_cdf_and_sf_match_the_summed_probability_mass(k, n, p):
    want = exact_cdf(k, n, p)
    assert binom_cdf(k, n, p) == pytest.approx(want, rel=1e-12, abs=1e-300)
    assert binom_sf(k, n, p) == pytest.approx(1 - want, rel=1e-9, abs=1e-15)


def test_hand_worked_fair_coin_tails():
    # Ten fair coins: P[X <= 2] = (1 + 10 + 45) / 1024; P[X > 8] = (10 + 1) / 1024.
    assert binom_cdf(2, 10, 0.5) == pytest.approx(56 / 1024, rel=1e-13)
    assert binom_sf(8, 10, 0.5) == pytest.approx(11 / 1024, rel=1e-13)


@pytest.mark.parametrize("n", [1, 5, 37, 1_000, 5_000, 100_000, 1_000_000])
@pytest.mark.parametrize("p", [0.5, 0.93, 0.3, 0.01, 0.999])
def test_tails_match_scipy_bdtr_and_bdtrc(n, p):
    rng = np.random.default_rng(n)
    k = np.concatenate([rng.integers(0, n + 1, 200), [0, n - 1, n, n // 2]]).astype(float)
    for ours, ref in (
        (binom_cdf(k, n, p), special.bdtr(k.astype(int), n, p)),
        (binom_sf(k, n, p), special.bdtrc(k.astype(int), n, p)),
    ):
        shown = ref > 1e-290  # both underflow towards 0 in the far tail
        np.testing.assert_allclose(ours[shown], ref[shown], rtol=1e-8)
        assert (ours[~shown] < 1e-280).all()


def test_ten_million_trials_at_the_mean_agree_with_the_pmf():
    # P[X <= n/2] = 1/2 + P[X = n/2] / 2 for a fair coin and even n. (scipy.special.bdtr gives
    # 0.50148 here, off in the third decimal, which is why it is not the oracle at this size.)
    # log-gamma of 10**7 carries ~1e-8 of rounding, hence the tolerance.
    n = 10_000_000
    pmf = math.exp(math.lgamma(n + 1) - 2 * math.lgamma(n / 2 + 1) - n * math.log(2))
    assert binom_cdf(n // 2, n, 0.5) == pytest.approx(0.5 + pmf / 2, rel=1e-7)
    assert binom_cdf(n // 2, n, 0.5) - 0.5 == pytest.approx(pmf / 2, rel=1e-3)


def test_regularized_beta_matches_scipy_betainc():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 5_000, 400)
    b = rng.uniform(0.5, 5_000, 400)
    x = rng.uniform(0, 1, 400)
    ref = special.betainc(a, b, x)
    shown = ref > 1e-290
    np.testing.assert_allclose(regularized_beta(a, b, x)[shown], ref[shown], rtol=1e-8)


@pytest.mark.parametrize(
    "k, n, p, cdf",
    [
        (-1, 10, 0.5, 0.0),  # below the support
        (10, 10, 0.5, 1.0),  # at the top of the support
        (12, 10, 0.5, 1.0),
        (3, 10, 0.0, 1.0),  # p = 0: X is always 0
        (3, 10, 1.0, 0.0),  # p = 1: X is always n
        (0, 0, 0.5, 1.0),  # no trials
    ],
)
def test_edges_of_the_support(k, n, p, cdf):
    assert binom_cdf(k, n, p) == cdf
    assert binom_sf(k, n, p) == pytest.approx(1 - cdf)


def test_missing_inputs_give_nan_and_shapes_broadcast():
    out = binom_cdf(np.array([1.0, np.nan, 2.0]), 10, np.array([0.5, 0.5, np.nan]))
    assert out.shape == (3,)
    assert not np.isnan(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
    grid = binom_sf(np.arange(5.0)[:, None], np.array([[4.0, 8.0]]), 0.5)
    assert grid.shape == (5, 2)
    np.testing.assert_allclose(grid + binom_cdf(np.arange(5.0)[:, None], [[4.0, 8.0]], 0.5), 1)
