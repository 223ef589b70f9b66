"""Per-slice drift in the production slice mix: each slice's share change, the slices that
moved most first, and the L-infinity distance of the whole mix (TFDV's definition applied to
the shares of a partition's parts). Every expected value is worked out by hand below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.dataset import dataset_from_frame
from slicewise.core.drift.mix import mix_linf_distance, slice_mix


def _frame(rows: list[tuple[str, str]], *, labelled: bool = True) -> pd.DataFrame:
    """A table of ``(device, site)`` rows; every prediction right."""
    frame = pd.DataFrame(rows, columns=["device", "site"])
    frame["site"] = frame["site"].map({"x": "north", "y": "south"})
    frame["prediction"] = ["cat", "dog"] * (len(rows) // 2) + ["cat"] * (len(rows) % 2)
    if labelled:
        frame["label"] = frame["prediction"]
    return frame


def _devices(text: str) -> list[tuple[str, str]]:
    return [(d, "x") for d in text]


#: (reference devices, production devices, expected order of the slices, share changes
#: in that order, L-infinity): worked by hand. "d" is a device the reference never holds.
CASES = {
    # ref a .5 b .3 c .2; prod a .2 b .3 c .4, d .1 -> changes -.3, +.2, 0; L-inf .3.
    "a fell most": ("aaaaabbbcc", "aabbbccccd", ["a", "c", "b"], [-0.3, 0.2, 0.0], 0.3),
    # ref a .5 b .5; prod a .4 b .1, d .5 -> changes -.4 (b), -.1 (a); L-inf: new part .5.
    "a new category moved most": ("aaaaabbbbb", "aaaabddddd", ["b", "a"], [-0.4, -0.1], 0.5),
    # ref a .25 b .75; prod a .75 b .25 -> changes +.5, -.5: a tie keeps the slices' order.
    "a tie": ("abbb", "aaab", ["a", "b"], [0.5, -0.5], 0.5),
    # the same mix: nothing moved.
    "no change": ("aabb", "abab", ["a", "b"], [0.0, 0.0], 0.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_slices_are_listed_by_their_share_change_biggest_first(case):
    ref, prod, order, changes, linf = CASES[case]
    mix = slice_mix(
        dataset_from_frame(_frame(_devices(ref))),
        _frame(_devices(prod), labelled=False),
        slice_by=["device"],
    )
    assert list(mix.index) == ["All data", *[f"device = {d}" for d in order]]
    assert mix["share_change"].tolist() == pytest.approx([0.0, *changes], abs=1e-12)
    assert mix["share_change"].to_numpy() == pytest.approx(
        (mix["production_share"] - mix["reference_share"]).to_numpy(), abs=1e-12
    )
    assert mix.attrs["linf"] == pytest.approx(linf, abs=1e-12)


def test_two_slice_by_columns_take_the_linf_over_their_combinations():
    # ref (a,x) (a,x) (a,y) (b,y): combinations ax .5, ay .25, by .25;
    # prod (a,x) (b,y) (b,y) (b,y): ax .25, ay 0, by .75 -> L-inf max(.25, .25, .5) = .5.
    ref = _frame([("a", "x"), ("a", "x"), ("a", "y"), ("b", "y")])
    prod = _frame([("a", "x"), ("b", "y"), ("b", "y"), ("b", "y")], labelled=False)
    mix = slice_mix(dataset_from_frame(ref), prod, slice_by=["device", "site"])
    # device a .75 -> .25 (-.5), b .25 -> .75 (+.5), site x .5 -> .25 (-.25), y .5 -> .75.
    assert list(mix.index) == [
        "All data",
        "device = a",
        "device = b",
        "site = north",
        "site = south",
    ]
    assert mix["share_change"].tolist() == pytest.approx([0, -0.5, 0.5, -0.25, 0.25])
    assert mix.attrs["linf"] == pytest.approx(0.5)
    assert "combinations" in mix.attrs["linf_partition"]


@pytest.mark.parametrize(
    ("reference", "production", "expected"),
    [
        ([0, 0, 1, 1], [0, 1, 1, 1], 0.25),  # |.25 - .5| on both parts
        ([0, 0, 0, 1], [0, 0, 0, 1], 0.0),
        ([0, 1], [-1, -1, 0, 1], 0.5),  # half the rows in no part: a new part of .5
        ([0, 1, 1, 1], [2, 2, 2, 1], 0.75),  # part 2 only in production: |.75 - 0|
        ([0, 0, 0, 0, 1], [1, 1, 1, 1, -1], 0.8),  # part 0: |0 - .8|; part 1 .8 - .2
    ],
    ids=["both move", "identical", "unplaced rows", "new part", "all moved"],
)
def test_mix_linf_distance_by_hand(reference, production, expected):
    got = mix_linf_distance(np.array(reference), np.array(production))
    assert got == pytest.approx(expected, abs=1e-12)


def test_mix_linf_distance_of_an_empty_table_is_nan():
    assert np.isnan(mix_linf_distance(np.array([0, 1]), np.array([], dtype=int)))


def test_a_slice_without_reference_rows_is_listed_not_an_error():
    # Every reference row holds a tag, so "No tag" has no reference row; production has 2
    # of 4 untagged: share 0 -> .5 (+.5), blurry 1 -> .5 (-.5); combinations: blurry
    # 1 -> .5, none 0 -> .5 (a combination the reference never holds): L-inf .5.
    ref = pd.DataFrame({"label": list("xyxy"), "prediction": list("xyxy"), "blurry": [True] * 4})
    prod = pd.DataFrame({"prediction": list("xyxy"), "blurry": [True, True, False, False]})
    mix = slice_mix(dataset_from_frame(ref), prod)
    assert mix.loc["No tag", "reference_n"] == 0
    assert mix.loc["No tag", "share_change"] == pytest.approx(0.5)
    assert mix.loc["blurry", "share_change"] == pytest.approx(-0.5)
    assert np.isnan(mix.loc["No tag", "expected_accuracy"])
    assert mix.attrs["linf"] == pytest.approx(0.5)
