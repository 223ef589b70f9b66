import numpy as np
import pandas as pd
import pytest

from slicewise.core.errors import InvalidValueError
from slicewise.core.prioritize import describe_priorities, display_name, rank_slices


@pytest.fixture
def lecture_table():
    """The lecture's prioritisation table (accuracy, HLP, share) with significance set."""
    t = pd.DataFrame(
        {
            "kind": ["overall", "tag", "tag", "tag", "tag"],
            "accuracy": [0.9, 0.94, 0.89, 0.87, 0.70],
            "hlp": [0.92, 0.95, 0.93, 0.89, 0.70],
            "share": [1.0, 0.60, 0.40, 0.30, 0.06],
            "significant": [True, True, True, False, False],
            "p_value": [0.01, 0.01, 0.001, 0.2, 1.0],
        },
        index=["All data", "clean_speech", "car_noise", "people_noise", "low_bandwidth"],
    )
    t["gap"] = t["hlp"] - t["accuracy"]
    t["potential_gain"] = t["gap"] * t["share"]
    return t


def test_lecture_ranking_puts_car_noise_first(lecture_table):
    ranked = rank_slices(lecture_table)
    assert list(ranked.index[:4]) == [
        "car_noise",
        "clean_speech",
        "people_noise",
        "low_bandwidth",
    ] or list(ranked.index[:2]) == ["car_noise", "people_noise"]
    assert ranked.loc["car_noise", "rank"] == 1
    assert pd.isna(ranked.loc["All data", "rank"])
    assert ranked.loc["car_noise", "priority"] == pytest.approx(0.04 * 0.40)


def test_importance_and_ease_reweight_the_ranking(lecture_table):
    ranked = rank_slices(lecture_table, importance={"people_noise": 5}, ease={"car_noise": 1})
    # people: 0.006 * 5/3 = 0.01; car: 0.016 * 1/3 = 0.0053; clean 0.006
    assert ranked.index[0] == "people_noise"
    assert ranked.loc["people_noise", "priority"] == pytest.approx(0.02 * 0.30 * 5 / 3)


@pytest.mark.parametrize("bad", [0, 6, -1])
def test_weights_outside_1_to_5_are_rejected(lecture_table, bad):
    with pytest.raises(InvalidValueError, match="use 1 to 5"):
        rank_slices(lecture_table, importance={"car_noise": bad})


def test_summary_names_the_top_slice_in_plain_words(lecture_table):
    lines = describe_priorities(rank_slices(lecture_table))
    assert lines[0].startswith("Car noise: 4.0 points below HLP on 40% of the data")
    assert any("not statistically significant" in s for s in lines)
    assert any(
        s.startswith("Low bandwidth") and "within 0.5 points of HLP or above it" in s for s in lines
    )


def test_display_name():
    assert display_name("car_noise") == "Car noise"


def test_rank_is_a_permutation(lecture_table):
    ranked = rank_slices(lecture_table)
    ranks = ranked["rank"].dropna().astype(int).to_numpy()
    assert sorted(ranks) == list(np.arange(1, 5))
