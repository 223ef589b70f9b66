"""The steps of preparing a table (core.prepare_steps), and prepare calling them in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.column_roles import ColumnMapping
from slicewise.core.dataset import prepare
from slicewise.core.errors import DuplicateIdError, InvalidValueError, MissingValuesError
from slicewise.core.prepare_steps import check_table, check_threshold
from slicewise.core.score_threshold import prediction_from_score
from slicewise.core.values import class_key


def table(**columns):
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


def test_the_threshold_is_a_number_and_excludes_a_prediction_column():
    assert check_threshold("0.5", None, "f.csv") == 0.5
    assert check_threshold(None, ColumnMapping(prediction="p"), "f.csv") is None
    with pytest.raises(InvalidValueError, match="the threshold must be a number, not 'high'"):
        check_threshold("high", None, "f.csv")
    with pytest.raises(InvalidValueError, match="not NaN"):
        check_threshold(float("nan"), None, "f.csv")
    with pytest.raises(InvalidValueError, match=r"give either a prediction column \('p'\)"):
        check_threshold(0.5, ColumnMapping(prediction="p"), "f.csv")


def test_check_table_refuses_an_unknown_policy_and_blanks_declared_missing_cells():
    with pytest.raises(InvalidValueError, match="missing must be 'fail' or 'drop', not 'keep'"):
        check_table(table(a="x"), "f.csv", missing="keep", na_values=())
    df, na = check_table(table(a=["NA", "x"]), "f.csv", missing="fail", na_values=[" NA ", ""])
    assert na == ("NA",) and df["a"].isna().tolist() == [True, False]


def test_prediction_from_score_uses_the_labels_spelling():
    score = pd.Series([0.9, 0.2, 0.5, np.nan])
    label = pd.Series(["Yes", "no", "Yes", "no"])
    pred = prediction_from_score(score, label, "yes", 0.5, file="f.csv", label_col="y")
    assert pred.tolist() == ["Yes", "no", "Yes", None]  # 0.5 >= 0.5; NaN: no prediction
    with pytest.raises(InvalidValueError, match="the positive class 'maybe' never occurs"):
        prediction_from_score(score, label, "maybe", 0.5, file="f.csv", label_col="y")


def test_prepare_drops_rows_missing_a_label_and_names_them_by_file_line():
    df = table(label=["a", "b", None, "a"], prediction=["a", "a", "b", "b"])
    ds = prepare(df, source_name="f.csv", missing="drop")
    assert ds.n == 3 and ds.frame["id"].tolist() == [0, 1, 3]
    # Position 2 is line 4 of a CSV file (header on line 1).
    assert ds.warnings == ["f.csv: left out 1 of 4 rows with a missing label or prediction (row 4)"]
    with pytest.raises(MissingValuesError, match=r"missing in 1 of 4 rows \(row 4\)"):
        prepare(df, source_name="f.csv")


def test_prepare_keeps_ids_as_text_and_refuses_repeats():
    df = table(id=["007", "7"], label="ab", prediction="ab")
    assert prepare(df, source_name="f.csv").frame["id"].tolist() == ["007", "7"]
    df = table(id=["7", "8", "7"], label="abc", prediction="abc")
    with pytest.raises(DuplicateIdError, match=r"repeats '7' \(2 rows share an id: rows 2, 4\)"):
        prepare(df, source_name="f.csv")


def test_prepare_from_a_score_threshold_with_decimal_comma_metadata():
    df = table(
        label=["pos", "neg", "pos"],
        score=["0,9", "0,1", "0,4"],
        amount=["1,5", "2,25", "3"],
        prediction=["pos", "pos", "pos"],
    )
    ds = prepare(df, source_name="f.csv", positive="pos", threshold=0.5)
    assert ds.frame["prediction"].tolist() == ["pos", "neg", "neg"]
    assert ds.frame["score"].tolist() == [0.9, 0.1, 0.4]
    assert ds.frame["amount"].tolist() == [1.5, 2.25, 3.0]
    assert ds.frame["prediction_meta"].tolist() == ["pos", "pos", "pos"]
    assert ds.options == {"missing": "fail", "positive": "pos", "threshold": 0.5}
    assert "predictions come from 'score' >= 0.5" in ds.warnings[0]


def test_prepare_tags_and_which_tags_write_no_as_a_blank():
    df = table(label="ab", prediction="ab", night=["x", None], rain=["yes", "no"])
    ds = prepare(df, source_name="f.csv")
    assert ds.tags.to_dict("list") == {"night": [True, False], "rain": [True, False]}
    assert ds.blank_tags == ("night",)


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["yes", "yes"], ["yes", "no", None]),  # a part holding only the positive class
        (["no", "no"], ["yes", "no", None]),  # only the other class
        (["Yes", "no"], ["Yes", "no", None]),  # the part's own spelling comes first
    ],
)
def test_a_part_of_a_table_predicts_with_the_whole_tables_classes(labels, expected):
    score = pd.Series([0.9, 0.1, np.nan])
    label = pd.Series([*labels, None], dtype=object)
    # class key -> a spelling, over the whole table
    classes = {class_key("yes"): "yes", class_key("no"): "no"}
    pred = prediction_from_score(
        score, label, "yes", 0.5, file="f.csv", label_col="y", classes=classes
    )
    assert pred.tolist() == expected
    if len(set(labels)) == 1:  # without the whole table's classes the part is refused
        with pytest.raises(InvalidValueError, match="never occurs|exactly two classes"):
            prediction_from_score(score, label, "yes", 0.5, file="f.csv", label_col="y")
