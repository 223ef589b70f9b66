"""analyze_source gives the pandas engine's table on the cases engines must agree on.

Expected values come from an independent path, the pandas engine on the same file with the
same options: ``core.analysis.analyze(core.dataset.load_dataset(file, ...), ...)`` (its
errors, warnings and per-class results too), plus a few figures worked by hand. The files
are small so that one-row batches stay quick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.batches.count import analyze_source
from slicewise.core.batches.frame_source import FrameSource
from slicewise.core.dataset import load_dataset
from slicewise.core.errors import DataError
from slicewise.core.metrics.classes import (
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
)
from slicewise.core.reading import read_table
from slicewise.core.task import TaskSpec, TextNormalization

CHUNKS = [(1, False), (7, False), (7, True), (1000, True)]


def _write(tmp_path, columns: dict[str, list], name: str = "t.csv"):
    path = tmp_path / name
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def _source(path, chunk, group):
    frame, _, warnings = read_table(path)
    return FrameSource(frame, path.name, chunk_rows=chunk, group=group, warnings=warnings)


def _both(path, chunk, group, load=None, **analysis):
    """The pandas engine's dataset and table, and analyze_source's result, same options."""
    load = dict(load or {})
    dataset = load_dataset(path, **load)
    expected = analyze(dataset, **analysis)
    if "task" in load:  # the load's task kind is analyze_source's load_task
        load["load_task"] = load.pop("task")
    got = analyze_source(_source(path, chunk, group), **load, **analysis)
    return dataset, expected, got


def _same_table(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, check_exact=False)


def _compare(path, chunk, group, load=None, **analysis):
    dataset, expected, got = _both(path, chunk, group, load, **analysis)
    _same_table(got.table, expected)
    assert got.all_warnings == dataset.warnings
    return dataset, got


LABELS = ["cat", "dog", "cat", "bird", "dog", "cat", "dog", "cat", "bird", "cat"]
PREDS = ["cat", "cat", "cat", "bird", "dog", "dog", "dog", "cat", "cat", "cat"]
COLOR = ["red", "blue", "red", "red", "blue", "green", "red", "blue", "red", "red"]


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
@pytest.mark.parametrize(
    ("column", "cells", "hlp"),
    [
        # By hand: people got 7 of the 10 rows right (rows 2, 4 and 9 wrong).
        pytest.param(
            "human_label",
            ["cat", "dog", "dog", "bird", "cat", "cat", "dog", "cat", "bird", "dog"],
            0.7,
            id="human_labels",
        ),
        # By hand: the mean of the ten accuracies, 7.7 / 10.
        pytest.param(
            "human_accuracy",
            ["0.9", "0.5", "1", "0.75", "0.9", "0.5", "1", "0.25", "0.9", "1"],
            0.77,
            id="human_accuracy",
        ),
    ],
)
def test_human_level_performance_by_hand(tmp_path, chunk, group, column, cells, hlp):
    cols = {"label": LABELS, "prediction": PREDS, column: cells, "color": COLOR}
    _, got = _compare(_write(tmp_path, cols), chunk, group, slice_by=["color"])
    assert got.table.loc["All data", "hlp"] == pytest.approx(hlp)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_one_row(tmp_path, chunk, group):
    path = _write(tmp_path, {"label": ["cat"], "prediction": ["dog"], "color": ["red"]})
    _, got = _compare(path, chunk, group, slice_by=["color"])
    assert got.rows == 1 and got.table.loc["All data", "errors"] == 1


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_all_rows_correct(tmp_path, chunk, group):
    cols = {"label": LABELS, "prediction": LABELS, "color": COLOR, "blurry": ["x", ""] * 5}
    _, got = _compare(_write(tmp_path, cols), chunk, group, slice_by=["color"])
    assert (got.table["errors"] == 0).all() and (got.table["accuracy"] == 1).all()


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_a_slice_column_all_missing(tmp_path, chunk, group):
    cols = {"label": LABELS, "prediction": PREDS, "color": COLOR, "size": [""] * 10}
    _, got = _compare(_write(tmp_path, cols), chunk, group, slice_by=["size", "color"])
    # By hand: every row is in the size column's one slice, "(missing)".
    sized = got.table[got.table.index.str.startswith("size")]
    assert len(sized) == 1 and sized["n"].iloc[0] == 10


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_an_empty_slice(tmp_path, chunk, group):
    # "occluded" is never true (an empty tag slice); "west" is only on a dropped row.
    cols = {
        "label": [*LABELS[:9], ""],
        "prediction": PREDS,
        "occluded": ["no"] * 10,
        "blurry": ["yes", "no"] * 5,
        "region": ["east"] * 9 + ["west"],
    }
    path = _write(tmp_path, cols)
    _compare(path, chunk, group, load={"missing": "drop"}, slice_by=["region"])


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_missing_labels_fail_as_the_pandas_engine_fails(tmp_path, chunk, group):
    cols = {"label": [*LABELS[:3], "", *LABELS[4:8], "", "cat"], "prediction": PREDS}
    path = _write(tmp_path, cols)
    with pytest.raises(DataError) as expected:
        load_dataset(path, missing="fail")
    with pytest.raises(DataError) as got:
        analyze_source(_source(path, chunk, group), missing="fail")
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_missing_labels_dropped(tmp_path, chunk, group):
    cols = {"label": [*LABELS[:3], "", *LABELS[4:8], "", "cat"], "prediction": PREDS}
    cols["color"] = COLOR
    dataset, got = _compare(
        _write(tmp_path, cols), chunk, group, load={"missing": "drop"}, slice_by=["color"]
    )
    # By hand: rows 3 and 8 are left out (file lines 5 and 10), 8 rows kept.
    assert len(dataset.frame) == 8 and got.table.loc["All data", "n"] == 8
    assert any("left out 2 of 10 rows" in w for w in got.warnings)


YES_NO = ["yes", "no", "no", "yes", "yes", "no", "yes", "no", "no", "yes"]


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_binary_with_a_positive_class(tmp_path, chunk, group):
    pred = ["yes", "yes", "no", "no", "yes", "no", "yes", "yes", "no", "yes"]
    cols = {"label": YES_NO, "prediction": pred, "color": COLOR}
    task = TaskSpec(kind="binary", positive="yes")
    _, got = _compare(
        _write(tmp_path, cols), chunk, group, load={"positive": "yes"}, task=task,
        slice_by=["color"],
    )  # fmt: skip
    # By hand: 5 positives, 4 found (row 3 missed); 6 predicted positive, 4 right.
    assert got.table.loc["All data", "recall"] == pytest.approx(0.8)
    assert got.table.loc["All data", "precision"] == pytest.approx(4 / 6)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_binary_from_a_score_threshold(tmp_path, chunk, group):
    score = ["0.9", "0.6", "0.1", "0.4", "0.5", "0.2", "0.8", "0.7", "0.3", "0.55"]
    cols = {"label": YES_NO, "score": score, "color": COLOR}
    load = {"positive": "yes", "threshold": 0.5}
    task = TaskSpec(kind="binary", positive="yes", threshold=0.5)
    _, got = _compare(
        _write(tmp_path, cols), chunk, group, load=load, task=task, slice_by=["color"]
    )
    # By hand: score >= 0.5 predicts yes on rows 0, 1, 4, 6, 7, 9; rows 1, 3 and 7 wrong.
    assert got.table.loc["All data", "errors"] == 3


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_per_class_pairs_are_the_pandas_engines(tmp_path, chunk, group):
    labels = ["2", "10", "b", "2", "10", "10", "a", "b", "2", "a", "10", "2"]
    preds = ["2", "2", "b", "10", "10", "2", "b", "a", "2", "a", "10", "b"]
    dataset, got = _compare(_write(tmp_path, {"label": labels, "prediction": preds}), chunk, group)
    expected = compute_confusion_pairs(dataset.frame)
    pd.testing.assert_frame_equal(got.pairs, expected, check_dtype=False)
    pd.testing.assert_frame_equal(
        compute_class_report(pairs=got.pairs), compute_class_report(dataset.frame)
    )
    pd.testing.assert_frame_equal(
        compute_confusion_matrix(pairs=got.pairs), compute_confusion_matrix(dataset.frame)
    )
    # By hand: "10" predicted as "2" twice (rows 1 and 5); 6 of 12 rows right.
    pairs = got.pairs.set_index(["label", "prediction"])["count"]
    assert pairs[("10", "2")] == 2 and int(pairs.sum()) == 12
    assert sum(c for (a, b), c in pairs.items() if a == b) == 6


@pytest.mark.parametrize(
    "normalization",
    [
        TextNormalization(),
        TextNormalization(lowercase=False, strip_punctuation=False),
        TextNormalization(replacements=(("umm", "um"),), whole_words=True),
    ],
)
@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_text_with_empty_transcripts_and_normalisation(tmp_path, chunk, group, normalization):
    labels = ["Hello there", "", "umm yes", "good morning all", "", "see you", "ok then", "no"]
    preds = ["hello there!", "", "um yes", "good morning", "noise", "", "OK then", "No."]
    cols = {"label": labels, "prediction": preds, "speaker": ["a", "b"] * 4}
    task = TaskSpec(kind="text", normalization=normalization)
    dataset, got = _compare(
        _write(tmp_path, cols), chunk, group, load={"task": "text"}, task=task,
        slice_by=["speaker"],
    )  # fmt: skip
    assert got.table.loc["All data", "n"] == 8 == len(dataset.frame)  # empty is no missing


@pytest.mark.parametrize("tolerance", [None, 0.25])
@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_regression_with_a_tolerance(tmp_path, chunk, group, tolerance):
    label = [1.0, 2.5, 3.0, 4.2, 5.0, 6.1, 7.0, 8.4, 9.0, 10.5, 11.0, 12.25]
    pred = [1.1, 2.0, 3.0, 4.0, 5.5, 6.1, 7.3, 8.0, 9.1, 10.0, 11.2, 12.0]
    cols = {"label": label, "prediction": pred, "size": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]}
    task = TaskSpec(kind="regression", tolerance=tolerance)
    _, got = _compare(_write(tmp_path, cols), chunk, group, task=task, slice_by=["size"], bins=3)
    # By hand: |error| over 0.25 on rows 1, 4, 6, 7, 9 (0.5, 0.5, 0.3, 0.4, 0.5).
    if tolerance is not None:
        assert got.table.loc["All data", "errors"] == 5
    mae = np.mean(np.abs(np.array(label) - np.array(pred)))
    assert got.table.loc["All data", "mae"] == pytest.approx(mae)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_tags_only_on_errors(tmp_path, chunk, group):
    # 16 rows, 4 errors (rows 1, 5, 8 and 11); only errors carry a blurry or dark mark.
    blurry = [""] * 16
    dark = [""] * 16
    for r in (1, 5, 8, 11):
        blurry[r] = "x"
    for r in (5, 8):
        dark[r] = "x"
    cols = {
        "label": [*LABELS, "cat", "dog", "bird", "cat", "dog", "cat"],
        "prediction": [*PREDS, "cat", "cat", "bird", "cat", "dog", "cat"],
        "blurry": blurry,
        "dark": dark,
        "color": [*COLOR, "red", "blue", "red", "blue", "red", "red"],
    }
    _, got = _compare(_write(tmp_path, cols), chunk, group, slice_by=["color"])
    # By hand (core.tag_scope's rule, chance below 0.01 at a 25% error rate): every one of
    # 4 errors (0.25 ** 4 = 0.004) is filled on errors; 2 of them (0.0625) could be chance.
    scope = got.table.loc[["blurry", "dark"], "scope"].tolist()
    assert scope == ["errors", "all"]
