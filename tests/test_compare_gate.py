"""The regression gate of `compare` on any metric, slice or class; per-slice FPR and FNR.

Fixture (by hand): 60 people in two groups, a binary task whose threshold is lowered.

| group | negatives | FP before | FP after | positives | TP before | TP after |
| ----- | --------- | --------- | -------- | --------- | --------- | -------- |
| A     | 20        | 4         | 12       | 10        | 5         | 8        |
| B     | 20        | 2         | 3        | 10        | 6         | 6        |

No prediction goes from positive to negative, so McNemar's discordant pairs are one-sided:
FPR of A 20% -> 60%, b = 0, c = 8, p = 2 * 2**-8 = 0.0078125; FPR of all data 15% -> 37.5%,
c = 9, p = 2 * 2**-9 = 0.00390625; FPR of B 10% -> 15%, c = 1, p = 1. Accuracy of all data
45/60 -> 39/60 with b = 9, c = 3: p = 2 * (1 + 12 + 66 + 220) / 4096 = 0.146, so an accuracy
gate passes the change that the FPR gate fails.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import GATE_METRICS, main
from slicewise.core.compare import (
    METRICS,
    compare_datasets,
    compare_slice_metrics,
    describe_regression,
    find_regressions,
    welch_p,
)
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import InvalidValueError
from slicewise.core.task import TaskSpec

BINARY = TaskSpec(kind="binary", positive="1")
MAPPING = ColumnMapping(label="label", prediction="prediction", id="id")


def people() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    # (group, negatives, FP before, FP after, positives, TP before, TP after)
    for group, neg, fp_b, fp_a, pos, tp_b, tp_a in (
        ("A", 20, 4, 12, 10, 5, 8),
        ("B", 20, 2, 3, 10, 6, 6),
    ):
        for i in range(neg):
            rows.append((group, 0, int(i < fp_b), int(i < fp_a)))
        for i in range(pos):
            rows.append((group, 1, int(i < tp_b), int(i < tp_a)))
    frame = pd.DataFrame(rows, columns=["group", "label", "before", "after"])
    frame.insert(0, "id", [f"x{i}" for i in range(len(frame))])
    base = frame[["id", "group", "label"]]
    return base.assign(prediction=frame["before"]), base.assign(prediction=frame["after"])


@pytest.fixture
def files(tmp_path):
    before, after = people()
    before.to_csv(tmp_path / "before.csv", index=False)
    after.to_csv(tmp_path / "after.csv", index=False)
    return tmp_path / "before.csv", tmp_path / "after.csv"


def cli(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


def ds(frame: pd.DataFrame):
    return dataset_from_frame(frame, MAPPING, name="t.csv")


# --------------------------------------------------------------------------- per-slice rates


@pytest.mark.parametrize(
    ("metric", "row", "before", "after", "p"),
    [
        ("fpr", "All data", 6 / 40, 15 / 40, 2 * 2.0**-9),
        ("fpr", "group = A", 4 / 20, 12 / 20, 2 * 2.0**-8),
        ("fpr", "group = B", 2 / 20, 3 / 20, 1.0),
        ("fnr", "All data", 9 / 20, 6 / 20, 2 * 2.0**-3),  # three positives found, none lost
        ("fnr", "group = A", 5 / 10, 2 / 10, 2 * 2.0**-3),
        ("fnr", "group = B", 4 / 10, 4 / 10, 1.0),
        ("accuracy", "All data", 45 / 60, 39 / 60, 2 * (1 + 12 + 66 + 220) / 4096),
        ("accuracy", "group = A", 21 / 30, 16 / 30, 2 * (1 + 11 + 55 + 165) / 2048),
    ],
)
def test_rates_by_slice_use_mcnemar_on_the_rate_examples(metric, row, before, after, p):
    b, a = people()
    t = compare_slice_metrics(ds(b), ds(a), metrics=[metric], task=BINARY, slice_by=["group"])[
        metric
    ]
    r = t.loc[row]
    assert r["test"] == "mcnemar"
    assert (r["before"], r["after"]) == (pytest.approx(before), pytest.approx(after))
    assert r["p_value"] == pytest.approx(p, rel=1e-9)
    sign = 1 if metric in ("fpr", "fnr") else -1  # a rise of FPR or FNR is worse
    assert r["worse_by"] == pytest.approx(sign * 100 * (after - before))


def test_accuracy_by_slice_matches_compare_datasets():
    b, a = people()
    legacy = compare_datasets(ds(b), ds(a), task=BINARY, slice_by=["group"])
    t = compare_slice_metrics(ds(b), ds(a), metrics=["accuracy"], task=BINARY, slice_by=["group"])[
        "accuracy"
    ]
    assert list(t.index) == list(legacy.index)
    np.testing.assert_allclose(t["p_value"], legacy["p_value"], rtol=1e-12)
    np.testing.assert_allclose(t["before"], legacy["accuracy_before"])
    assert t["test"].tolist() == legacy["test"].tolist()
    assert t["regression"].tolist() == legacy["regression"].tolist()


def test_gate_metrics_of_the_cli_are_the_metrics_of_core():
    assert tuple(METRICS) == GATE_METRICS


# --------------------------------------------------------------------------- the gate


@pytest.mark.parametrize(
    ("args", "code", "messages"),
    [
        (
            ["--metric", "fpr", "--fail-on-regression", "10"],
            1,
            [
                "FPR of group = A rose 40.0 points (20.0% -> 60.0%, mcnemar p=0.00781)",
                "FPR of All data rose 22.5 points (15.0% -> 37.5%, mcnemar p=0.00391)",
            ],
        ),
        (["--metric", "fpr", "--fail-on-regression", "30"], 1, ["FPR of group = A rose 40.0"]),
        (["--metric", "fpr", "--fail-on-regression", "45"], 0, []),
        (["--metric", "fpr", "--fail-on-regression", "10", "--slice", "group = B"], 0, []),
        (
            ["--metric", "fpr", "--fail-on-regression", "10", "--alpha", "0.005"],
            1,
            ["FPR of All data rose 22.5"],
        ),
        (["--metric", "fnr", "--fail-on-regression", "0"], 0, []),  # FNR fell: better
        (["--fail-on-regression", "0"], 0, []),  # accuracy: p = 0.146 and 0.227, not significant
        (
            ["--metric", "recall", "--class", "0", "--fail-on-regression", "10"],
            1,
            ["recall of class 0 fell 22.5 points (85.0% -> 62.5%, mcnemar p=0.00391)"],
        ),
        (
            ["--class", "0", "--fail-on-regression", "10"],
            1,
            ["accuracy of class 0 fell 22.5 points (85.0% -> 62.5%, mcnemar p=0.00391)"],
        ),
        (
            ["--metric", "fpr", "--class", "1.0", "--fail-on-regression", "10"],
            1,
            ["FPR of class 1 rose 22.5 points"],
        ),
        (
            [
                "--metric",
                "fpr",
                "--class",
                "0",
                "--slice",
                "group = A",
                "--fail-on-regression",
                "10",
            ],
            1,
            ["FPR of group = A rose 40.0"],
        ),  # class 0's FPR (positives called 0) fell
    ],
)
def test_gate_on_any_metric_slice_or_class(files, args, code, messages):
    result = cli(*files, "--slice-by", "group", "--positive", "1", *args)
    assert result.exit_code == code, result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith("slicewise: regression:")]
    assert len(lines) == len(messages), result.stderr
    for line, message in zip(lines, messages, strict=True):
        assert line.startswith(f"slicewise: regression: {message}"), line


def test_gate_is_reported_in_json(files):
    result = cli(
        *files,
        "--slice-by",
        "group",
        "--positive",
        "1",
        "--format",
        "json",
        "--metric",
        "fpr",
        "--fail-on-regression",
        "10",
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    gate = data["gate"]
    assert (gate["metric"], gate["points"], gate["passed"]) == ("fpr", 10, False)
    assert [f["name"] for f in gate["failed"]] == ["group = A", "All data"]
    assert gate["failed"][0]["p_value"] == pytest.approx(2 * 2.0**-8)
    assert gate["failed"][0]["worse_by"] == pytest.approx(40)
    fpr = {r["name"]: r for r in data["slice_metrics"]["fpr"]}
    assert fpr["group = A"]["before"] == pytest.approx(0.2)
    assert fpr["group = A"]["after"] == pytest.approx(0.6)
    assert fpr["group = A"]["regression"] is True
    assert {r["name"] for r in data["slice_metrics"]["fnr"]} == {
        "All data",
        "group = A",
        "group = B",
    }


def test_table_output_shows_fpr_and_fnr_by_slice(files):
    result = cli(*files, "--slice-by", "group", "--positive", "1")
    assert result.exit_code == 0, result.output
    assert "FPR by slice" in result.stdout and "FNR by slice" in result.stdout
    line = next(
        x
        for x in result.stdout.split("FPR by slice")[1].splitlines()
        if x.strip().startswith("group = A")
    )
    assert "20.0%" in line and "60.0%" in line and "+40.0" in line and "0.00781" in line


def test_mae_gate_in_label_units(tmp_path):
    # Errors 0 -> 1 on six examples: swapping j of them gives MAE difference (6 - 2j)/6, as
    # extreme only for j = 0 and j = 6: p = 2/64 = 0.03125 (exact enumeration).
    frame = pd.DataFrame({"id": range(6), "label": [0.0, 1, 2, 3, 4, 5]})
    frame.assign(prediction=frame["label"]).to_csv(tmp_path / "b.csv", index=False)
    frame.assign(prediction=frame["label"] + 1).to_csv(tmp_path / "a.csv", index=False)
    args = [tmp_path / "b.csv", tmp_path / "a.csv", "--task", "regression", "--metric", "mae"]
    failed = cli(*args, "--fail-on-regression", "0.5")
    assert failed.exit_code == 1, failed.output
    assert (
        "slicewise: regression: MAE of All data rose 1 (0 -> 1, randomization p=0.0312)"
        in failed.stderr
    )
    assert cli(*args, "--fail-on-regression", "1").exit_code == 0  # not worse by more than 1


def test_wer_gate(tmp_path):
    # Four 4-word references; after, each has one substitution: WER 0 -> 4/16 = 25%.
    # Swapping j utterances: WER difference (4 - 2j)/16, as extreme for j = 0 and 4 only:
    # p = 2/16 = 0.125.
    refs = ["turn on the light", "what time is it", "call my mother now", "play some jazz music"]
    frame = pd.DataFrame({"id": range(4), "label": refs})
    frame.assign(prediction=refs).to_csv(tmp_path / "b.csv", index=False)
    wrong = [r.rsplit(" ", 1)[0] + " xyz" for r in refs]
    frame.assign(prediction=wrong).to_csv(tmp_path / "a.csv", index=False)
    result = cli(
        tmp_path / "b.csv",
        tmp_path / "a.csv",
        "--task",
        "text",
        "--metric",
        "wer",
        "--alpha",
        "0.2",
        "--fail-on-regression",
        "10",
    )
    assert result.exit_code == 1, result.output
    assert (
        "slicewise: regression: WER of All data rose 25.0 points (0.0% -> 25.0%, "
        "randomization p=0.125)"
    ) in result.stderr


def test_unpaired_mae_uses_welchs_test():
    # Welch's t by hand: means 1 and 3, variances 1 and 4 (ddof 1), n = 4 and 5.
    before, after = np.array([0.0, 1, 1, 2]) + [0, 0.5, -0.5, 0], np.array([1.0, 2, 3, 4, 5])
    vb, va = before.var(ddof=1), after.var(ddof=1)
    se2 = vb / 4 + va / 5
    t = (after.mean() - before.mean()) / np.sqrt(se2)
    df = se2**2 / ((vb / 4) ** 2 / 3 + (va / 5) ** 2 / 4)
    from scipy.special import stdtr

    assert welch_p(before, after) == pytest.approx(2 * stdtr(df, -abs(t)), rel=1e-9)
    b = pd.DataFrame({"id": ["b0", "b1", "b2", "b3"], "label": [0.0] * 4, "prediction": before})
    a = pd.DataFrame({"id": [f"a{i}" for i in range(5)], "label": [0.0] * 5, "prediction": after})
    r = compare_slice_metrics(ds(b), ds(a), metrics=["mae"], task=TaskSpec(kind="regression"))[
        "mae"
    ].iloc[0]
    assert r["test"] == "welch"
    assert r["p_value"] == pytest.approx(welch_p(np.abs(before), after), rel=1e-9)


# --------------------------------------------------------------------------- find_regressions


def test_find_regressions_keeps_its_accuracy_behaviour_and_filters_rows():
    b, a = people()
    b.loc[b["group"] == "B", "prediction"] = b.loc[b["group"] == "B", "label"]  # B all right
    legacy = compare_datasets(ds(b), ds(a), task=BINARY, slice_by=["group"])
    # B: 30/30 -> 23/30 (only new errors: b = 7, c = 0, p = 2/128 = 0.0156).
    assert legacy.loc["group = B", "p_value"] == pytest.approx(2 / 128)
    fallen = find_regressions(legacy, points=5)
    assert "group = B" in fallen.index
    assert describe_regression("group = B", fallen.loc["group = B"]).startswith(
        "group = B fell 23.3 points (100.0% -> 76.7%, mcnemar p=0.0156)"
    )
    assert find_regressions(legacy, points=5, names=["group = A"]).empty
    assert find_regressions(legacy, points=25).empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": -1}, "cannot be negative"),
        ({"names": ["group = C"]}, "'group = C' is not a row of the comparison"),
    ],
)
def test_find_regressions_refuses_bad_requests(kwargs, message):
    b, a = people()
    legacy = compare_datasets(ds(b), ds(a), task=BINARY, slice_by=["group"])
    with pytest.raises(InvalidValueError, match=message):
        find_regressions(legacy, **kwargs)


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "wer", "--fail-on-regression", "1"], "WER needs a text task"),
        (["--fail-on-regression", "1", "--slice", "group = C"], "'group = C' is not a row"),
        (["--fail-on-regression", "1", "--class", "7"], "'7' is not a row"),
        (["--metric", "mae", "--class", "1", "--fail-on-regression", "1"], "a class has no MAE"),
    ],
)
def test_bad_gate_requests_are_one_line_and_exit_2(files, args, message):
    result = cli(*files, "--slice-by", "group", "--positive", "1", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slicewise: error:"), result.stderr
    assert message in lines[0]


def test_rates_of_a_multiclass_task_need_a_class(tmp_path):
    frame = pd.DataFrame(
        {"id": range(6), "label": ["a", "b", "c"] * 2, "prediction": ["a", "b", "c", "a", "a", "a"]}
    )
    frame.to_csv(tmp_path / "b.csv", index=False)
    frame.to_csv(tmp_path / "a.csv", index=False)
    result = cli(
        tmp_path / "b.csv", tmp_path / "a.csv", "--metric", "fpr", "--fail-on-regression", "1"
    )
    assert result.exit_code == 2
    assert "FPR needs a binary task; this is a classification task" in result.stderr
    assert "--class NAME" in result.stderr
    ok = cli(
        tmp_path / "b.csv",
        tmp_path / "a.csv",
        "--metric",
        "fpr",
        "--class",
        "a",
        "--fail-on-regression",
        "1",
    )
    assert ok.exit_code == 0, ok.output


def test_gate_options_need_the_gate(files):
    result = cli(*files, "--metric", "fpr")
    assert result.exit_code == 2
    assert "give --fail-on-regression POINTS" in result.output
