"""Non-finite numbers (inf, -inf, Infinity, nan, 1e400) never reach a metric or a JSON file.

Regression labels, predictions and human labels, scores and ``--tolerance`` refuse them
with a typed error naming the file and the rows; every JSON output writes ``null`` for a
NaN (an empty slice's accuracy) and never the ``NaN``/``Infinity`` tokens that strict JSON
parsers refuse.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.dataset import dataset_from_frame, load_dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.jsonable import dumps_json, json_ready
from slicewise.core.metrics import compute_outcomes
from slicewise.core.report import to_json
from slicewise.core.task import TaskSpec

NON_FINITE = ["inf", "-inf", "Infinity", "-Infinity", "INF", "1e400", "-1e999", "nan", "NaN"]


def strict_json(text: str) -> object:
    """Parse ``text`` as RFC 8259 JSON: the ``NaN``/``Infinity`` tokens are an error."""

    def refuse(token: str) -> object:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def cli(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


# --------------------------------------------------------------------------- regression


def _regression_csv(role: str, cell: str) -> bytes:
    rows = [["1.5", "1.0", "1.5"], ["2.0", "2.5", "2.0"], ["3.0", "3.0", "3.5"]]
    col = {"label": 0, "prediction": 1, "human": 2}[role]
    rows[1][col] = cell  # position 1: file line 3 (line 1 is the header)
    return ("label,prediction,human\n" + "".join(",".join(r) + "\n" for r in rows)).encode()


@pytest.mark.parametrize("cell", NON_FINITE)
@pytest.mark.parametrize("role", ["label", "prediction", "human"])
def test_regression_refuses_a_non_finite_value_naming_file_role_and_row(role, cell):
    ds = load_dataset(_regression_csv(role, cell), name="reg.csv", task="regression")
    with pytest.raises(InvalidValueError) as err:
        analyze(ds, task=TaskSpec(kind="regression"))
    message = str(err.value)
    assert message.startswith("reg.csv: a regression task needs finite numbers; ")
    assert f"the {role} is not finite in row 3 ({cell!r})" in message


def test_compute_outcomes_names_every_row_with_an_infinite_label():
    frame = pd.DataFrame({"label": ["1", "inf", "2", "-inf"], "prediction": ["1", "1", "2", "2"]})
    with pytest.raises(
        InvalidValueError,
        match=r"^x\.csv: .*the label is not finite in rows 3, 5 "
        r"\('inf', '-inf'\)",
    ):
        compute_outcomes(frame, TaskSpec(kind="regression"), source="x.csv")


def test_typed_infinite_label_is_refused_too():
    frame = pd.DataFrame({"label": [1.0, np.inf, 2.0], "prediction": [1.0, 1.0, 2.0]})
    ds = dataset_from_frame(frame)
    with pytest.raises(InvalidValueError, match="not finite in row 3"):
        analyze(ds, task=TaskSpec(kind="regression"))


def test_a_missing_human_label_is_still_masked_not_refused():
    frame = pd.DataFrame(
        {"label": [1.0, 2.0, 3.0], "prediction": [1.0, 2.5, 3.0], "human": [1.0, np.nan, 3.5]}
    )
    out = compute_outcomes(frame, TaskSpec(kind="regression", tolerance=0.25))
    # human: row 0 exact, row 1 missing, row 2 off by 0.5 > 0.25
    assert out["human_n"].tolist() == [1.0, 0.0, 1.0]
    assert out["human_correct"].tolist() == [1.0, 0.0, 0.0]


def test_cli_regression_with_inf_exits_2_with_one_line(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_bytes(_regression_csv("label", "inf"))
    result = cli("analyze", path, "--task", "regression", "--format", "json")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slicewise: error: reg.csv: ")
    assert "Infinity" not in result.stdout


# --------------------------------------------------------------------------- scores


@pytest.mark.parametrize("cell", NON_FINITE)
def test_a_non_finite_score_is_an_error_naming_the_row(cell):
    data = f"label,prediction,score\na,a,0.9\nb,a,{cell}\nb,b,0.2\n".encode()
    with pytest.raises(InvalidValueError) as err:
        load_dataset(data, name="s.csv")
    message = str(err.value)
    assert message.startswith("s.csv: the score column 'score' holds")
    assert f"{cell!r} in row 3" in message  # position 1 is file line 3


def test_a_typed_infinite_score_is_an_error_and_nan_is_blank():
    frame = pd.DataFrame(
        {"label": ["a", "b", "b"], "prediction": ["a", "a", "b"], "score": [0.9, np.nan, 0.2]}
    )
    assert dataset_from_frame(frame).frame["score"].isna().tolist() == [False, True, False]
    frame["score"] = [0.9, -np.inf, 0.2]
    with pytest.raises(InvalidValueError, match="finite numbers"):
        dataset_from_frame(frame)


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize("tolerance", [-1, -0.5, math.inf, -math.inf, math.nan, "a lot"])
def test_tolerance_must_be_a_finite_number_at_least_zero(tolerance):
    with pytest.raises(InvalidValueError, match="tolerance must be a finite number >= 0"):
        TaskSpec(kind="regression", tolerance=tolerance)


@pytest.mark.parametrize("tolerance", [None, 0, 0.0, 0.25, 10])
def test_tolerance_of_zero_or_more_is_accepted(tolerance):
    assert TaskSpec(kind="regression", tolerance=tolerance).tolerance == tolerance


@pytest.mark.parametrize("value", ["-1", "inf", "nan"])
def test_cli_refuses_a_bad_tolerance_with_exit_2(tmp_path, value):
    path = tmp_path / "reg.csv"
    path.write_bytes(_regression_csv("label", "2.0"))
    result = cli("analyze", path, "--task", "regression", f"--tolerance={value}")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tolerance must be a finite number >= 0" in lines[0]


def test_tolerance_zero_counts_exact_matches_as_correct():
    frame = pd.DataFrame({"label": [1.0, 2.0, 3.0], "prediction": [1.0, 2.0, 3.5]})
    out = compute_outcomes(frame, TaskSpec(kind="regression", tolerance=0))
    assert out["correct"].tolist() == [1.0, 1.0, 0.0]  # |0|, |0| <= 0; |0.5| > 0


# --------------------------------------------------------------------------- JSON output


def test_json_ready_turns_every_non_finite_number_into_none():
    data = {
        "a": np.float64("nan"),
        "b": [np.inf, -np.inf, 1.5],
        "c": (np.int64(3), pd.NA),
        "d": {"e": float("nan"), "f": np.bool_(True)},
    }
    assert json_ready(data) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": [3, None],
        "d": {"e": None, "f": True},
    }
    assert strict_json(dumps_json(data))["b"] == [None, None, 1.5]


def test_report_json_writes_null_for_an_empty_slice_and_an_infinite_value():
    table = pd.DataFrame(
        {
            "kind": ["overall", "tag"],
            "n": [4, 0],
            "accuracy": [0.75, np.nan],
            "mae": [np.inf, np.nan],
            "significant": [False, False],
        },
        index=pd.Index(["All data", "empty"]),
    )
    data = strict_json(to_json(table, dataset="d.csv", task="regression"))
    assert data["overall"]["mae"] is None
    assert data["slices"][0]["accuracy"] is None and data["slices"][0]["mae"] is None


@pytest.fixture
def files(tmp_path):
    """Inputs whose outputs hold NaN: slices empty in one file, undefined metrics."""
    (tmp_path / "t.csv").write_text(  # the "No tag" slice has no predicted positive
        "id,label,prediction,human,noisy\n1,a,a,a,yes\n2,a,b,a,no\n3,b,b,,yes\n4,b,b,b,no\n"
    )
    (tmp_path / "before.csv").write_text(  # region US is empty before
        "id,label,prediction,region\n1,a,a,EU\n2,a,b,EU\n3,b,b,EU\n4,b,b,EU\n"
    )
    (tmp_path / "after.csv").write_text(
        "id,label,prediction,region\n1,a,a,US\n2,a,a,EU\n3,b,a,EU\n4,b,b,EU\n"
    )
    (tmp_path / "ann.csv").write_text(  # one class: kappa and alpha are undefined
        "item,annotator,label\n1,x,a\n1,y,a\n2,x,a\n2,y,a\n"
    )
    (tmp_path / "some.csv").write_text(
        "label,prediction,color\na,a,red\na,b,red\nb,b,blue\nb,a,blue\na,a,blue\nb,b,red\n"
        "a,b,red\nb,b,blue\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("args", "has_null"),
    [
        (["analyze", "t.csv", "--positive", "a", "--format", "json"], True),
        (["analyze", "t.csv", "--format", "json"], True),
        (["compare", "before.csv", "after.csv", "--slice-by", "region", "--format", "json"], True),
        (["agreement", "ann.csv", "--format", "json"], True),
        (["suggest", "some.csv", "--min-support", "1", "--format", "json"], False),
    ],
)
def test_every_json_output_is_strict_json(files, args, has_null):
    result = cli(*[files / a if a.endswith(".csv") else a for a in args])
    assert result.exit_code == 0, result.stderr
    strict_json(result.stdout)  # raises on NaN / Infinity
    if has_null:  # the input did produce NaN, written as null
        assert "null" in result.stdout
