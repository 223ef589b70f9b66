"""Tests for core.compare.significance: randomization tests against hand-worked p-values."""

from __future__ import annotations

import numpy as np

from slicewise.core.compare.significance import (
    _relabellings,
    paired_randomization_p,
    two_proportion_p,
    unpaired_randomization_p,
)


def test_exact_relabellings_enumerate_every_swap_once():
    (block,) = list(_relabellings(3, draws=99, seed=0))
    assert block.shape == (8, 3)
    assert len({tuple(row) for row in block}) == 8


def test_drawn_relabellings_give_the_number_of_draws():
    blocks = list(_relabellings(20, draws=99, seed=0))
    assert sum(len(b) for b in blocks) == 99


def test_paired_randomization_of_two_flipped_examples():
    # Two examples right before, wrong after: accuracy 1 -> 0, observed -1. Of the four
    # relabellings, none swapped (-1) and both swapped (+1) are as extreme; one swap gives
    # 0.5 - 0.5 = 0. p = 2/4, as McNemar's exact test (b = 2, c = 0) gives.
    p = paired_randomization_p([1.0, 1.0, 1.0], [1.0] * 3, [0.0, 0.0, 1.0], [1.0] * 3)
    assert p == 0.5


def test_unpaired_randomization_is_nan_for_an_empty_side():
    assert np.isnan(unpaired_randomization_p([1.0], [1.0], [], []))


def test_two_proportion_test_by_hand():
    # 40/100 vs 60/100: pooled 0.5, se = sqrt(0.25 * 0.02) = 0.0707, z = 2.828,
    # two-sided p = erfc(2.828 / sqrt 2) = 0.004678.
    p, test = two_proportion_p([40], [100], [60], [100])
    assert test.tolist() == ["two-proportion"]
    assert abs(p[0] - 0.004678) < 1e-5
