"""core.multiple_testing: Benjamini–Hochberg by hand and against statsmodels, NaN kept."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from slicewise.core.multiple_testing import benjamini_hochberg


def test_benjamini_hochberg_by_hand():
    # sorted: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    assert np.allclose(q, [0.02, 0.04, 0.04, 0.02])


def test_running_minimum_from_the_largest_p_value_down():
    # 0.02·2/1 = 0.04 but 0.021·2/2 = 0.021 is smaller: the smaller q wins for both
    assert np.allclose(benjamini_hochberg(np.array([0.02, 0.021])), [0.021, 0.021])


@pytest.mark.parametrize("seed", range(5))
def test_missing_p_values_stay_missing_and_the_rest_match_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 0.2, 30)
    p[rng.choice(30, 7, replace=False)] = np.nan
    q = benjamini_hochberg(p)
    present = ~np.isnan(p)
    assert np.array_equal(np.isnan(q), ~present)
    assert np.allclose(q[present], multipletests(p[present], method="fdr_bh")[1])


@pytest.mark.parametrize("p", [np.array([]), np.array([np.nan, np.nan])])
def test_nothing_to_adjust(p):
    q = benjamini_hochberg(p)
    assert q.shape == p.shape and np.isnan(q).all()


@pytest.mark.parametrize("seed", range(3))
def test_same_q_values_as_scipy(seed):
    from scipy import stats

    p = np.random.default_rng(seed).uniform(0, 1, 200)
    assert np.allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"))


def test_importing_does_not_load_scipy_stats():
    import subprocess
    import sys

    code = "import sys, slicewise.core.multiple_testing; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
