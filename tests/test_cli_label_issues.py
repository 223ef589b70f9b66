"""``slicewise label-issues``: the flags of find_label_issues as text, JSON and CSV.

The file is the demo inspection table with prob_<class> columns and planted flips
(``tests/test_label_issues.py``'s fixture), written to a temporary CSV; its
``human_label`` column is the human signal. Expected flags come from calling
:func:`core.label_issues.find_label_issues` on the same file loaded with ``load_dataset``.
"""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from test_label_issues import with_probabilities

from slicewise.core.cli import main
from slicewise.core.dataset import load_dataset
from slicewise.core.label_issues import find_label_issues


def run(*args: object):
    return CliRunner().invoke(main, ["label-issues", *map(str, args)])


@pytest.fixture(scope="module")
def predictions(tmp_path_factory) -> tuple:
    frame, flipped = with_probabilities()
    path = tmp_path_factory.mktemp("label_issues") / "inspection_probs.csv"
    frame.to_csv(path, index=False)
    return path, flipped


@pytest.fixture(scope="module")
def expected(predictions):
    path, _ = predictions
    return find_label_issues(load_dataset(path).frame)


def test_text_lists_the_flags_and_ends_with_the_summary(predictions, expected):
    path, _ = predictions
    result = run(path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[:3] == ["id", "given", "label"]
    for word in ("suggested", "score", "p(given)", "human", "signals"):
        assert word in header
    first = expected.issues.iloc[0]
    assert lines[1].split()[0] == first["id"]
    assert "model, human" in lines[1]
    summary = next(line for line in lines if line.startswith("inspection_probs.csv: "))
    assert summary == f"inspection_probs.csv: {expected.summary()}"
    assert f"{expected.n_issues} of 1,200 examples flagged" in summary
    assert len([line for line in lines if line.startswith("img-")]) == expected.n_issues


def test_json_is_the_flags_in_order_with_signals_as_lists(predictions, expected):
    path, flipped = predictions
    result = run(path, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dataset"] == "inspection_probs.csv"
    assert data["n_checked"] == 1200
    assert data["n_issues"] == expected.n_issues == len(data["issues"])
    assert data["signals"] == ["model", "human"]
    assert (data["n_model_flags"], data["n_confirmed"], data["n_added"]) == (
        expected.n_model_flags,
        expected.n_confirmed,
        expected.n_added,
    )
    assert data["probability_columns"]["pit mark"] == "prob_pit_mark"
    ids = [r["id"] for r in data["issues"]]
    assert ids == expected.issues["id"].tolist()
    first = data["issues"][0]
    assert set(first) == {*expected.issues.columns, "file_row"}
    assert first["signals"] == ["model", "human"]
    assert first["file_row"] == first["row"] + 2  # header on line 1
    assert first["annotator_share"] is None and first["n_annotators"] == 0
    # Most flags are the planted flips (the human label vetoes the model's false alarms).
    assert len(set(ids) & flipped) / len(ids) >= 0.8


def test_csv_has_one_row_per_flag(predictions, expected):
    path, _ = predictions
    result = run(path, "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == [*expected.issues.columns, "file_row"]
    assert table["id"].tolist() == expected.issues["id"].tolist()
    assert table["quality_score"].to_numpy() == pytest.approx(
        expected.issues["quality_score"].to_numpy()
    )


def test_human_none_is_probabilities_only(predictions):
    path, _ = predictions
    result = run(path, "--human", "none", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    alone = find_label_issues(load_dataset(path).frame, use_human=False)
    assert data["signals"] == ["model"]
    assert [r["id"] for r in data["issues"]] == alone.issues["id"].tolist()
    assert all(r["signals"] == ["model"] for r in data["issues"])


def test_annotations_add_votes_and_top_limits_the_list(predictions, tmp_path, expected):
    path, _ = predictions
    # Three annotators confirm the given label of the first flag: it leaves the list.
    first = expected.issues.iloc[0]
    votes = pd.DataFrame(
        {"item": [first["id"]] * 3, "annotator": ["a", "b", "c"], "label": [first["label"]] * 3}
    )
    ann = tmp_path / "votes.csv"
    votes.to_csv(ann, index=False)
    result = run(path, "--annotations", ann, "--format", "json", "--top", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["signals"] == ["model", "human", "annotators"]
    assert len(data["issues"]) == 5
    assert data["n_issues"] == expected.n_issues - 1
    assert first["id"] not in [r["id"] for r in data["issues"]]


def test_output_writes_the_file(predictions, tmp_path):
    path, _ = predictions
    out = tmp_path / "flags.json"
    result = run(path, "--format", "json", "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["n_issues"] > 0


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (
            lambda f: f.drop(columns=[c for c in f.columns if c.startswith("prob_")]),
            [],
            r"no per-class probability columns found: add one column per class named prob_<class>",
        ),
        (lambda f: f, ["--task", "regression"], r"--task regression: label errors"),
        (
            lambda f: f.assign(prob_ok=f["prob_ok"].mask(f.index == 4)),
            [],
            r"missing or not numbers in 1 row \(row 6\)",
        ),
        (lambda f: f, ["--annotations", "VOTES"], r"none of the 1 items of votes\.csv"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, change, args, message):
    frame, _ = with_probabilities()
    path = tmp_path / "preds.csv"
    change(frame).to_csv(path, index=False)
    pd.DataFrame({"item": ["nope"], "annotator": ["a"], "label": ["ok"]}).to_csv(
        tmp_path / "votes.csv", index=False
    )
    args = [str(tmp_path / "votes.csv") if a == "VOTES" else a for a in args]
    result = run(path, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("slicewise: error: ")
    assert re.search(message, lines[-1]), lines[-1]
    if "--task" not in args:  # a problem in a file names the file
        assert "preds.csv" in lines[-1] or "votes.csv" in lines[-1]
