"""core.drift.features: one row per feature, thresholds, ordering, reading numbers, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from slicewise.core.drift import (
    DEFAULT_THRESHOLDS,
    DRIFT_COLUMNS,
    category_shares,
    default_features,
    feature_drift,
)
from slicewise.core.errors import EmptyFileError, InvalidValueError, MissingColumnError
from slicewise.core.reading import read_table


def _frames():
    # colour: red 1/2, blue 1/2 -> red 1/4, blue 1/2, green 1/4 (L-infinity 0.25)
    # size: the same shares on both sides (L-infinity 0)
    reference = pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4"],
            "label": ["y", "n", "y", "n"],
            "prediction": ["y", "y", "y", "n"],
            "colour": ["red", "red", "blue", "blue"],
            "size": ["S", "L", "S", "L"],
        }
    )
    production = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "label": ["y", "y", "y", "n"],
            "prediction": ["n", "n", "y", "n"],
            "colour": ["red", "blue", "blue", "green"],
            "size": ["L", "S", "L", "S"],
        }
    )
    return reference, production


def test_one_row_per_feature_with_the_documented_columns():
    reference, production = _frames()
    table = feature_drift(reference, production, min_rows=1)
    assert tuple(table.columns) == DRIFT_COLUMNS
    assert table["feature"].tolist() == ["colour", "size"]  # most moved first
    colour = table.iloc[0]
    assert colour["kind"] == "categorical" and colour["metric"] == "linf"
    assert colour["value"] == pytest.approx(0.25)
    assert colour["threshold"] == DEFAULT_THRESHOLDS["linf"] == 0.1
    assert bool(colour["crossed"]) is True
    assert colour["new_categories"] == ["green"]
    assert colour["n_reference"] == 4 and colour["n_production"] == 4
    assert "never seen in the reference" in colour["note"]
    size = table.iloc[1]
    assert size["value"] == pytest.approx(0.0) and bool(size["crossed"]) is False


def test_default_features_leave_out_ids_labels_predictions_and_excluded_columns():
    reference, production = _frames()
    assert default_features(reference, production) == ["colour", "size"]
    assert default_features(reference, production, exclude=["size"]) == ["colour"]
    scored = reference.assign(score=[0.1, 0.2, 0.3, 0.4], y_true=["y"] * 4)
    assert default_features(scored, scored) == ["colour", "size"]


@pytest.mark.parametrize(
    ("thresholds", "crossed"),
    [
        ({}, {"colour": True, "size": False}),
        ({"colour": 0.25}, {"colour": False, "size": False}),  # crossed means value > threshold
        ({"colour": 0.2499}, {"colour": True, "size": False}),
        ({"size": 0.0, "colour": 0.5}, {"colour": False, "size": False}),
    ],
    ids=["defaults", "equal-is-not-crossed", "just-below", "zero"],
)
def test_thresholds_per_feature_override_the_default(thresholds, crossed):
    reference, production = _frames()
    table = feature_drift(reference, production, thresholds=thresholds, min_rows=1).set_index(
        "feature"
    )
    assert table["crossed"].to_dict() == crossed
    for name, value in thresholds.items():
        assert table.loc[name, "threshold"] == value


def test_features_are_sorted_by_value_over_threshold():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.choice(list("xy"), 400), "b": rng.choice(list("xy"), 400)})
    production = pd.DataFrame({"a": ["x"] * 300 + ["y"] * 100, "b": ["x"] * 100 + ["y"] * 300})
    plain = feature_drift(reference, production)
    values = plain.set_index("feature")["value"]
    # with equal thresholds the larger value comes first; a small threshold on the other
    # feature can put it first
    assert plain["feature"].iloc[0] == values.idxmax()
    other = values.idxmin()
    flipped = feature_drift(reference, production, thresholds={other: values[other] / 10})
    assert flipped["feature"].iloc[0] == other


def test_numeric_feature_uses_js_over_reference_quantile_bins():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=600)
    prod = rng.normal(loc=0.8, size=400)
    table = feature_drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": prod}))
    row = table.iloc[0]
    assert row["kind"] == "numeric" and row["metric"] == "js"
    # independent binning: cut points at the reference's deciles, each cut point a bin and
    # each open interval between and beyond them a bin
    cuts = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
    bounds = [-np.inf, *cuts, np.inf]

    def shares(x):
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            out.append(np.mean((x > lo) & (x < hi)))
            if hi != np.inf:
                out.append(np.mean(x == hi))
        return np.array(out)

    expected = jensenshannon(shares(ref), shares(prod), base=2) ** 2
    assert row["value"] == pytest.approx(expected, abs=1e-12)
    assert row["threshold"] == DEFAULT_THRESHOLDS["js"]


@pytest.mark.parametrize(
    ("ref_cells", "prod_cells", "ref_numbers", "prod_numbers"),
    [
        (["1,5", "2,25", "3,0", "4,75"], ["1,5", "5,5"], [1.5, 2.25, 3.0, 4.75], [1.5, 5.5]),
        (["1.5", "2.25", "3", "4.75"], ["1,5", "5,5"], [1.5, 2.25, 3.0, 4.75], [1.5, 5.5]),
        (["1 000", "2 500", "3 000", "1 250"], ["9 000"], [1000, 2500, 3000, 1250], [9000]),
    ],
    ids=["decimal-comma", "dot-then-comma", "thousands-space"],
)
def test_numbers_written_as_text_are_read_as_the_loader_reads_them(
    tmp_path, ref_cells, prod_cells, ref_numbers, prod_numbers
):
    (tmp_path / "ref.csv").write_text("x\n" + "\n".join(f'"{c}"' for c in ref_cells) + "\n")
    (tmp_path / "prod.csv").write_text("x\n" + "\n".join(f'"{c}"' for c in prod_cells) + "\n")
    ref, _, _ = read_table(tmp_path / "ref.csv")
    prod, _, _ = read_table(tmp_path / "prod.csv")
    got = feature_drift(ref, prod).iloc[0]
    want = feature_drift(
        pd.DataFrame({"x": np.array(ref_numbers, float)}),
        pd.DataFrame({"x": np.array(prod_numbers, float)}),
    ).iloc[0]
    assert got["kind"] == "numeric"
    assert got["value"] == pytest.approx(want["value"], abs=1e-12)


def test_missing_shares_are_reported_and_missing_cells_left_out():
    reference = pd.DataFrame({"c": ["a", "b", None, "a"]})
    production = pd.DataFrame({"c": ["a", None, None, " "]})
    row = feature_drift(reference, production).iloc[0]
    assert row["missing_reference"] == pytest.approx(0.25)
    assert row["missing_production"] == pytest.approx(0.75)
    # reference a 2/3, b 1/3; production a 1: L-infinity 1/3
    assert row["value"] == pytest.approx(1 / 3)
    assert row["n_reference"] == 3 and row["n_production"] == 1


@pytest.mark.parametrize("cells", [["a", "b"], [1.5, 2.5], ["1,5", "2,5"]])
def test_a_feature_with_no_production_value_is_nan_not_crossed(cells):
    reference = pd.DataFrame({"c": cells, "d": ["x", "y"]})
    production = pd.DataFrame({"c": [None, " "], "d": ["x", "x"]}, dtype=object)
    table = feature_drift(reference, production).set_index("feature")
    assert math.isnan(table.loc["c", "value"]) and not table.loc["c", "crossed"]
    assert "no value in production" in table.loc["c", "note"]
    assert table.index[-1] == "c"  # NaN last


def test_boolean_columns_are_categories():
    reference = pd.DataFrame({"flag": [True, False, False, False]})
    production = pd.DataFrame({"flag": [True, True, False, False]})
    row = feature_drift(reference, production).iloc[0]
    assert row["kind"] == "categorical" and row["value"] == pytest.approx(0.25)


def test_category_shares_gives_both_shares_per_category():
    reference, production = _frames()
    shares = category_shares(reference, production, "colour")
    assert shares.columns.tolist() == ["category", "reference_share", "production_share", "new"]
    got = shares.set_index("category")
    assert got["reference_share"].to_dict() == pytest.approx({"red": 0.5, "blue": 0.5, "green": 0})
    assert got["production_share"].to_dict() == pytest.approx(
        {"red": 0.25, "blue": 0.5, "green": 0.25}
    )
    assert got.loc["green", "new"]


def test_category_shares_of_a_numeric_feature_are_per_bin():
    shares = category_shares(pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [3.0]}), "x")
    assert shares["production_share"].sum() == pytest.approx(1)
    assert shares.loc[shares["new"], "category"].tolist() == ["> 2"]


@pytest.mark.parametrize(
    ("production", "kwargs", "error", "words"),
    [
        (
            pd.DataFrame({"colour": ["red"]}),
            {},
            MissingColumnError,
            ["prod.csv", "lacks the column 'size'", "ref.csv", "--exclude"],
        ),
        (
            pd.DataFrame({"other": ["red"]}),
            {"exclude": ["colour", "size"]},
            MissingColumnError,
            ["share no feature column", "--feature"],
        ),
        (
            pd.DataFrame({"colour": [], "size": []}),
            {},
            EmptyFileError,
            ["prod.csv", "no rows"],
        ),
        (
            pd.DataFrame({"colour": ["red"], "size": ["S"]}),
            {"features": ["weight"]},
            MissingColumnError,
            ["ref.csv", "no column 'weight'"],
        ),
        (
            pd.DataFrame({"colour": ["red"], "size": ["S"]}),
            {"thresholds": {"colur": 0.2}},
            InvalidValueError,
            ["'colur'", "no such feature"],
        ),
        (
            pd.DataFrame({"colour": ["red"], "size": ["S"]}),
            {"thresholds": {"colour": -1}},
            InvalidValueError,
            ["'colour'", "outside 0 to 1"],
        ),
    ],
    ids=["lacks-column", "no-shared", "empty", "unknown-feature", "threshold-typo", "negative"],
)
def test_bad_input_is_a_typed_error_naming_file_and_column(production, kwargs, error, words):
    reference = pd.DataFrame({"colour": ["red", "blue"], "size": ["S", "L"]})
    with pytest.raises(error) as info:
        feature_drift(
            reference, production, reference_name="ref.csv", production_name="prod.csv", **kwargs
        )
    for word in words:
        assert word in str(info.value)


def test_text_in_a_numeric_production_column_names_the_rows(tmp_path):
    (tmp_path / "prod.csv").write_text("x\n1.5\nhigh\n2\nn/a\n")
    prod, _, _ = read_table(tmp_path / "prod.csv")
    with pytest.raises(InvalidValueError) as info:
        feature_drift(pd.DataFrame({"x": [1.0, 2.0]}), prod, production_name="prod.csv")
    message = str(info.value)
    assert "prod.csv" in message and "'x'" in message
    assert "rows 3, 5" in message and "'high'" in message
