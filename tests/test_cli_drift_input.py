"""``slicewise drift`` on inputs a new user writes: full tags, text tasks, typos, tiny samples."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.cli.drift import share_bars_svg
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.drift.mix import expected_accuracy, slice_mix
from slicewise.core.drift.windows import MIN_WINDOW_ROWS
from slicewise.core.slice_names import UNTAGGED


def run(*args: str):
    return CliRunner().invoke(main, ["drift", *map(str, args)])


def _labelled(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "label": rng.choice(["a", "b"], n),
            "prediction": rng.choice(["a", "b"], n),
            "device": rng.choice(["ios", "web"], n),
        }
    )


@pytest.mark.parametrize("reference_rows", [0, 1])
def test_expected_accuracy_of_a_stratum_without_reference_rows_is_nan_not_a_crash(
    reference_rows,
):
    correct = np.ones(reference_rows, dtype=bool)
    est = expected_accuracy(correct, np.zeros(reference_rows, int), np.array([0, 1, 1]))
    assert int(est["covered_n"]) == reference_rows  # stratum 0 holds one production row
    if reference_rows == 0:
        assert np.isnan(est["estimate"])


def test_slice_mix_of_a_tag_with_no_reference_rows_is_nan_not_a_crash():
    frame = _labelled(40)
    frame["night"] = "no"  # a chosen tag no reference row holds
    frame["noisy"] = ["yes"] * 40
    reference = dataset_from_frame(
        frame, ColumnMapping(label="label", prediction="prediction", tag_columns=("night", "noisy"))
    )
    production = frame.assign(night=["yes"] * 10 + ["no"] * 30, noisy=["no"] * 40)
    mix = slice_mix(reference, production)
    assert mix.loc["night", "reference_n"] == 0 and mix.loc[UNTAGGED, "reference_n"] == 0
    assert mix.loc["night", "production_share"] == pytest.approx(10 / 40)
    assert mix.loc[UNTAGGED, "production_share"] == pytest.approx(30 / 40)
    assert np.isnan(mix.loc["night", "accuracy"]) and np.isnan(
        mix.loc["night", "expected_accuracy"]
    )


@pytest.mark.parametrize("command", ["drift", "analyze"])
@pytest.mark.parametrize("case", ["every-row-tagged", "tags-column-in-every-row"])
def test_no_tag_slice_with_no_reference_rows_does_not_crash(tmp_path, command, case):
    ref = _labelled(100)
    prod = ref.copy()
    if case == "every-row-tagged":  # "No tag" holds no reference row
        ref["noisy_tag"] = "x"
        prod["noisy_tag"] = ["" if i < 21 else "x" for i in range(100)]
    else:  # a delimited tags column listing a tag in every reference row
        ref["tags"] = "noisy|night"
        prod["tags"] = ["" if i < 21 else "noisy" for i in range(100)]
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    if command == "drift":
        result = run(tmp_path / "ref.csv", tmp_path / "prod.csv")
    else:
        result = CliRunner().invoke(
            main, ["analyze", str(tmp_path / "ref.csv"), "--production", str(tmp_path / "prod.csv")]
        )
    assert "internal error" not in result.output, result.output
    assert result.exit_code in (0, 1) if command == "drift" else result.exit_code == 0


def test_an_unexpected_error_in_drift_never_exits_1(tmp_path, monkeypatch):
    import slicewise.core.cli.drift as drift

    def boom(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(drift, "feature_drift", boom)
    ref = _labelled(50)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv")
    assert result.exit_code == 3
    assert "internal error: ZeroDivisionError" in result.output


@pytest.mark.parametrize("explicit", [True, False], ids=["given", "detected"])
def test_window_accuracy_of_a_text_task_is_the_normalised_outcome(tmp_path, explicit):
    n = 120
    ref = pd.DataFrame({"label": [f"please call number {i} at home" for i in range(n)]})
    # Case and punctuation differ from the label in every row; one in four is truly wrong.
    ref["prediction"] = [
        "totally different words" if i % 4 == 3 else ref["label"][i].upper() + "." for i in range(n)
    ]
    ref["device"] = ["ios", "web"] * (n // 2)
    prod = ref.copy()
    prod["date"] = pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M")
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    roles = ["--label", "label", "--prediction", "prediction"] if explicit else []
    result = run(
        tmp_path / "ref.csv", tmp_path / "prod.csv", "--time-column", "date",
        "--window", "30d", "--format", "json", *roles,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    accuracies = [w["accuracy"] for w in data["windows"]]
    # "totally different" is wrong; the other rows match once case and the final "." go.
    assert accuracies == [pytest.approx(90 / 120)] * len(accuracies) and accuracies


def test_x_blank_tag_column_is_compared_as_tagged_or_not(tmp_path):
    n = 200
    ref = _labelled(n)
    prod = _labelled(n, seed=1)
    ref["noisy_tag"] = ["x" if i < 76 else "" for i in range(n)]  # 38%
    prod["noisy_tag"] = ["x" if i < 117 else "" for i in range(n)]  # 58.5%
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", "--format", "json")
    data = json.loads(result.stdout)
    row = next(f for f in data["features"] if f["feature"] == "noisy_tag")
    assert row["value"] == pytest.approx(abs(117 / n - 76 / n))  # 0.205
    assert row["missing_reference"] == 0 and row["crossed"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--slice-by", "nosuch"),
        ("--score", "nosuch"),
        ("--positive", "nosuch"),
        ("--exclude", "nosuch"),
        ("--label", "nosuch"),
    ],
)
def test_typo_in_a_column_option_exits_2_naming_option_and_value(tmp_path, option, value):
    ref = _labelled(60)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", option, value)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and value in line
    assert option in line or option == "--positive" and "positive" in line


@pytest.mark.parametrize("n_prod", [3, MIN_WINDOW_ROWS - 1])
def test_tiny_production_sample_is_too_few_to_judge_not_a_crossing(tmp_path, n_prod):
    ref = pd.DataFrame({"device": ["ios"] * 50 + ["web"] * 50})
    prod = pd.DataFrame({"device": ["web"] * n_prod})  # moved by 0.5: would cross
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["features"][0]
    assert row["value"] == pytest.approx(0.5) and not row["crossed"]
    assert "too few rows to judge" in row["note"]


def test_enough_production_rows_still_cross(tmp_path):
    ref = pd.DataFrame({"device": ["ios"] * 50 + ["web"] * 50})
    prod = pd.DataFrame({"device": ["web"] * MIN_WINDOW_ROWS})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    assert run(tmp_path / "ref.csv", tmp_path / "prod.csv").exit_code == 1


def _shares(k: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": [f"c{i}" for i in range(k)],
            "reference_share": [1 / k] * k,
            "production_share": [1 / k] * k,
            "new": [False] * k,
        }
    )


@pytest.mark.parametrize(("k", "hidden"), [(12, 0), (13, 1), (20, 8)])
def test_categorical_chart_keeps_top_rows_and_says_how_many_more(k, hidden):
    svg = share_bars_svg("colour", _shares(k))
    assert len(re.findall(r">c\d+<title>", svg)) == k - hidden
    assert (f"and {hidden} more" in svg) == bool(hidden)


def test_numeric_chart_draws_every_bin():
    svg = share_bars_svg("size", _shares(20), numeric=True)
    assert len(re.findall(r">c\d+<title>", svg)) == 20 and "more" not in svg


@pytest.mark.parametrize(
    ("given", "words"),
    [("device=2", "outside 0 to 1"), ("device=nan", "not a number"), ("device=-0.1", "0 to 1")],
)
def test_threshold_outside_the_metric_range_exits_2(tmp_path, given, words):
    ref = _labelled(60)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    ref.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", "--threshold", given)
    assert result.exit_code == 2 and words in result.stderr, result.output


@pytest.mark.parametrize(("n", "word"), [(1, "1 feature compared"), (2, "2 features compared")])
def test_verdict_counts_features_in_the_right_number(tmp_path, n, word):
    ref = pd.DataFrame({"a": ["x"] * 50 + ["y"] * 50, "b": ["x"] * 50 + ["y"] * 50})
    prod = pd.DataFrame({"a": ["y"] * 60, "b": ["y"] * 60})
    ref.iloc[:, :n].to_csv(tmp_path / "ref.csv", index=False)
    prod.iloc[:, :n].to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv")
    assert word in result.stdout


@pytest.mark.parametrize(("fmt", "on_stderr"), [("table", False), ("json", True)])
def test_notes_are_written_once(tmp_path, fmt, on_stderr):
    ref = _labelled(100)
    ref["noisy_tag"] = "x"
    prod = ref.copy()
    prod["noisy_tag"] = ["" if i < 21 else "x" for i in range(100)]
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", "--format", fmt)
    text = "21 of 100 rows fall in a combination"
    assert (text in result.stderr) == on_stderr
    assert result.stdout.count(text) == 1


@pytest.mark.parametrize(
    ("fmt", "on_stderr", "in_stdout"),
    [("table", False, 1), ("markdown", False, 1), ("html", False, 1), ("json", True, 1)],
)
def test_window_note_on_undated_rows_is_written_once(tmp_path, fmt, on_stderr, in_stdout):
    ref = pd.DataFrame({"device": ["ios", "web"] * 40})
    prod = ref.copy()
    prod["when"] = ["2024-01-01"] * 77 + [""] * 3
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(
        tmp_path / "ref.csv", tmp_path / "prod.csv", "--time-column", "when", "--format", fmt
    )
    assert result.exit_code == 0, result.output
    text = "3 rows without a timestamp"
    assert (text in result.stderr) == on_stderr
    assert result.stdout.count(text) == in_stdout


@pytest.mark.parametrize(
    ("labels", "predictions", "want"),
    [
        # text (every label distinct): case and a final "." are normalised away
        (
            [f"please call number {i} at home" for i in range(40)],
            [f"PLEASE CALL NUMBER {i} AT HOME." for i in range(39)] + ["something else"],
            [1.0] * 39 + [0.0],
        ),
        # classification: the class written differently is the same class
        (["yes", "no"] * 20, ["Yes", "no"] * 19 + ["no", "no"], [1.0, 1.0] * 19 + [0.0, 1.0]),
    ],
    ids=["text", "classification"],
)
def test_production_correct_uses_the_task_outcome(labels, predictions, want):
    from slicewise.core.drift import production_correct

    frame = pd.DataFrame({"label": labels, "prediction": predictions})
    reference = dataset_from_frame(frame, ColumnMapping(label="label", prediction="prediction"))
    production = frame.copy()
    production.loc[0, "label"] = None  # unlabelled: NaN
    got = production_correct(reference, production)
    assert np.isnan(got[0])
    assert got[1:].tolist() == want[1:]


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "html"])
def test_an_identifier_column_left_out_is_said_in_every_format(tmp_path, fmt):
    ref, prod = _labelled(120, seed=1), _labelled(120, seed=2)
    for df, at in ((ref, "ref"), (prod, "prod")):
        df["clip_path"] = [f"{at}/clip_{i}.wav" for i in range(len(df))]  # one value per row
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(tmp_path / "ref.csv", tmp_path / "prod.csv", "--format", fmt)
    assert result.exit_code in (0, 1), result.output
    text = result.stdout
    if fmt == "json":
        data = json.loads(text)
        assert "clip_path" not in {f["feature"] for f in data["features"]}
        assert any("'clip_path' not compared" in n for n in data["notes"])
    else:
        assert "not compared" in text and ("clip_path" in text or r"clip\_path" in text)


def test_an_identifier_column_named_as_a_feature_is_compared(tmp_path):
    ref, prod = _labelled(120, seed=1), _labelled(120, seed=2)
    for df, at in ((ref, "ref"), (prod, "prod")):
        df["clip_path"] = [f"{at}/clip_{i}.wav" for i in range(len(df))]
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(
        tmp_path / "ref.csv", tmp_path / "prod.csv", "--feature", "clip_path", "--format", "json"
    )
    data = json.loads(result.stdout)
    (row,) = [f for f in data["features"] if f["feature"] == "clip_path"]
    assert row["value"] == pytest.approx(1 / 120)  # every category new: 1/120 apart at most
    assert not any("clip_path" in n for n in data["notes"])


def test_drift_reads_the_production_sample_once(tmp_path, monkeypatch):
    import slicewise.core.cli.drift_model as drift_model
    import slicewise.core.drift.mix as mix
    import slicewise.core.drift.windows as windows

    calls = []
    real = mix.read_production

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    for module in (mix, windows, drift_model):
        monkeypatch.setattr(module, "read_production", counted)
    rng = np.random.default_rng(3)
    ref, prod = _labelled(200, seed=1), _labelled(150, seed=2)
    ref["score"], prod["score"] = rng.random(200), rng.random(150)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    prod.to_csv(tmp_path / "prod.csv", index=False)
    result = run(
        tmp_path / "ref.csv", tmp_path / "prod.csv", "--score", "score", "--positive", "a",
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "cbpe" in json.loads(result.stdout) or "CBPE" in result.output  # the model part ran
    assert len(calls) == 1
