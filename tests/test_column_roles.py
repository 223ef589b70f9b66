"""Mapping columns to roles (core.column_roles): detection, checks, errors naming columns."""

from __future__ import annotations

import pandas as pd
import pytest

from slicewise.core.column_roles import (
    NO_COLUMN,
    ColumnMapping,
    check_nested_roles,
    detect_mapping,
    is_tag_name,
    metadata_names,
    name_words,
    resolve_mapping,
)
from slicewise.core.errors import AmbiguousColumnError, InvalidValueError, MissingColumnError


def frame(**columns):
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


def test_roles_are_detected_from_common_names_and_boolean_tags():
    df = frame(
        example_id="ab",
        y_true="xy",
        y_pred="xx",
        confidence=["0.9", "0.1"],
        night=["x", None],
        is_fraud=["1", "0"],
    )
    m = detect_mapping(df)
    assert (m.id, m.label, m.prediction, m.score) == (
        "example_id",
        "y_true",
        "y_pred",
        "confidence",
    )
    assert m.tag_columns == ("night",)  # is_fraud reads as an outcome, not a tag


def test_a_missing_column_is_named_with_the_file_columns():
    df = frame(label="a", prediction="a")
    with pytest.raises(MissingColumnError, match=r"column 'lbl' \(given as the label\)"):
        resolve_mapping(df, ColumnMapping(label="lbl"), file="f.csv")


def test_two_candidate_labels_are_ambiguous():
    df = frame(y_true="a", target="a", prediction="a")
    with pytest.raises(AmbiguousColumnError, match="could be the label: 'y_true', 'target'"):
        resolve_mapping(df, None, file="f.csv")


def test_one_column_cannot_take_two_roles():
    df = frame(a="x", b="y")
    with pytest.raises(InvalidValueError, match="'a' cannot be both the label and the prediction"):
        resolve_mapping(df, ColumnMapping(label="a", prediction="a"), file="f.csv")


def test_a_role_switched_off_is_not_detected_but_the_label_cannot_be():
    df = frame(label="a", prediction="a", score=["0.5"])
    assert resolve_mapping(df, ColumnMapping(score=NO_COLUMN), file="f.csv").score is None
    assert resolve_mapping(df, None, file="f.csv").score == "score"
    with pytest.raises(InvalidValueError, match="the label column cannot be switched off"):
        resolve_mapping(df, ColumnMapping(label=NO_COLUMN), file="f.csv")


def test_a_human_label_named_majority_is_an_aggregate():
    df = frame(label="a", prediction="a", human_majority="a")
    assert resolve_mapping(df, None, file="f.csv").human_kind == "majority"


def test_a_nested_column_cannot_be_a_role():
    with pytest.raises(InvalidValueError, match="the label column 'meta' holds lists"):
        check_nested_roles({"meta"}, ColumnMapping(label="meta"), file="f.parquet")


def test_tag_names_and_their_words():
    assert name_words("isRecid") == ["is", "recid"]
    assert [is_tag_name(n) for n in ("car_noise", "is_recid", "target", "risk_flag")] == [
        True,
        False,
        False,
        True,
    ]


def test_mapping_round_trips_through_a_dict():
    m = ColumnMapping(label="y", prediction="p", tag_columns=("night", "rain"))
    assert m.to_dict()["tag_columns"] == ["night", "rain"]
    assert ColumnMapping.from_dict({**m.to_dict(), "unknown": 1}) == m


def test_metadata_named_like_a_role_gets_a_suffix():
    taken = {"id", "label", "prediction"}
    assert metadata_names(["label", "x", "score"], taken) == ["label_meta", "x", "score_meta"]
