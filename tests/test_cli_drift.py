"""`slicewise drift`: formats, exit codes (1 when a threshold is crossed), bad input, COMPAS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
COMPAS = REALDATA / "compas" / "compas-scores-two-years.csv"


@pytest.fixture
def files(tmp_path):
    # colour: red 1/2, blue 1/2 -> red 1/4, blue 1/2, "<b>green</b>" 1/4 (L-infinity 0.25)
    # size: same shares (0); weight: numbers with a decimal comma
    reference = pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4"],
            "colour": ["red", "red", "blue", "blue"],
            "size": ["S", "L", "S", "L"],
            "weight": ["1,5", "2,5", "3,5", "4,5"],
        }
    )
    production = pd.DataFrame(
        {
            "id": ["p1", "p2", "p3", "p4"],
            "colour": ["red", "blue", "blue", "<b>green</b>"],
            "size": ["L", "S", "L", "S"],
            "weight": ["1,5", "2,5", "3,5", "4,5"],
            "when": ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08"],
        }
    )
    ref, prod = tmp_path / "ref.csv", tmp_path / "prod.csv"
    # Each row 15 times: 60 rows, 30 per weekly window, enough to judge (MIN_WINDOW_ROWS).
    pd.concat([reference] * 15).to_csv(ref, index=False)
    pd.concat([production] * 15).to_csv(prod, index=False)
    return ref, prod


def _run(*args: object):
    return CliRunner().invoke(main, ["drift", *map(str, args)])


def test_table_names_the_crossed_feature_and_exits_1(files):
    result = _run(*files)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert out.index("colour") < out.index("size")  # most moved first
    assert "crossed overall: colour" in out
    assert "L-infinity" in out and "Jensen-Shannon" in out


def test_no_threshold_crossed_exits_0(files):
    result = _run(*files, "--threshold", "colour=0.3")
    assert result.exit_code == 0, result.output
    assert "No feature crossed its threshold" in result.stdout


def test_json_holds_each_feature_with_value_threshold_and_new_categories(files):
    result = _run(*files, "--format", "json", "--threshold", "size=0.05")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    rows = {r["feature"]: r for r in data["features"]}
    assert set(rows) == {"colour", "size", "weight"}  # the id column is left out
    assert rows["colour"]["value"] == pytest.approx(0.25)
    assert rows["colour"]["new_categories"] == ["<b>green</b>"]
    assert rows["size"]["threshold"] == 0.05 and rows["size"]["value"] == pytest.approx(0)
    assert rows["weight"]["kind"] == "numeric" and rows["weight"]["value"] == pytest.approx(0)
    assert data["crossed"] == ["colour"]
    assert data["n_reference"] == 60 and data["n_production"] == 60


def test_markdown_report_has_the_feature_table(files):
    result = _run(*files, "--format", "markdown")
    assert result.exit_code == 1
    assert "# Slicewise drift report" in result.stdout
    assert "| feature | kind | metric | value |" in result.stdout
    assert "\\<b\\>green\\</b\\>" in result.stdout  # user text escaped


def test_html_report_is_self_contained_and_escapes_user_text(files, tmp_path):
    page = tmp_path / "drift.html"
    result = _run(*files, "--format", "html", "--output", page)
    assert result.exit_code == 1
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    assert "<script" not in text and "http" not in text.replace("http://www.w3", "")
    assert "&lt;b&gt;green&lt;/b&gt;" in text and "<b>green" not in text
    assert 'class="crossed"' in text


def test_windows_per_week_and_their_crossings(files):
    result = _run(*files, "--time-column", "when", "--window", "7d", "--format", "json")
    assert result.exit_code == 1
    windows = json.loads(result.stdout)["windows"]
    colour = [w for w in windows if w["feature"] == "colour"]
    assert [w["window"] for w in colour] == ["2024-01-01", "2024-01-08"]
    # week 1: red, blue (0); week 2: blue, green (blue 1/2 -> 1/2, red 1/2 -> 0: 0.5)
    assert [w["value"] for w in colour] == pytest.approx([0.0, 0.5])
    assert "when" not in {w["feature"] for w in windows}


@pytest.mark.parametrize("kind", ["parquet", "xlsx"])
def test_parquet_and_xlsx_files_are_read_like_csv(files, tmp_path, kind):
    ref, prod = files
    frame = pd.read_csv(prod, dtype=str)
    other = tmp_path / f"prod.{kind}"
    if kind == "parquet":
        frame.to_parquet(other, index=False)
    else:
        frame.to_excel(other, index=False, engine="xlsxwriter")
    want = json.loads(_run(ref, prod, "--format", "json").stdout)["features"]
    got = json.loads(_run(ref, other, "--format", "json").stdout)["features"]
    assert [(r["feature"], r["value"]) for r in got] == [(r["feature"], r["value"]) for r in want]


@pytest.mark.parametrize(
    ("production", "args", "words"),
    [
        ("id,colour,weight\np1,red,1\n", [], ["prod.csv", "lacks the column 'size'"]),
        ("id,colour,size,weight\n", [], ["prod.csv", "no data rows"]),
        (
            "id,colour,size,weight,when\np1,red,S,1,2024-01-01\np2,red,S,1,soon\n",
            ["--time-column", "when"],
            ["prod.csv", "'when'", "row 3", "'soon'"],
        ),
        ("id,colour,size,weight\np1,red,S,heavy\n", [], ["prod.csv", "'weight'", "row 2"]),
        ("id,colour,size,weight\np1,red,S,1\n", ["--threshold", "colour"], ["NAME=VALUE"]),
        ("id,colour,size,weight\np1,red,S,1\n", ["--threshold", "hue=0.2"], ["'hue'"]),
        ("id,colour,size,weight\np1,red,S,1\n", ["--feature", "hue"], ["no column 'hue'"]),
    ],
    ids=[
        "missing-column",
        "empty",
        "bad-timestamp",
        "text-in-numbers",
        "bad-threshold",
        "threshold-typo",
        "unknown-feature",
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(files, production, args, words):
    ref, prod = files
    prod.write_text(production, encoding="utf-8")
    result = _run(ref, prod, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slicewise: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- COMPAS

COMPAS_CATEGORICAL = ["sex", "age_cat", "race", "c_charge_degree", "score_text", "v_score_text"]


@pytest.fixture(scope="module")
def compas_split(tmp_path_factory):
    if not COMPAS.exists():
        pytest.skip(f"real data not found at {COMPAS}")
    source = pd.read_csv(COMPAS)
    year = pd.to_datetime(source["screening_date"]).dt.year
    columns = ["id", *COMPAS_CATEGORICAL, "age", "priors_count", "screening_date"]
    folder = tmp_path_factory.mktemp("compas")
    ref, prod = folder / "compas_2013.csv", folder / "compas_2014.csv"
    source.loc[year == 2013, columns].to_csv(ref, index=False)
    source.loc[year == 2014, columns].to_csv(prod, index=False)
    expected = {}
    for feature in COMPAS_CATEGORICAL:
        p = source.loc[year == 2013, feature].value_counts(normalize=True)
        q = source.loc[year == 2014, feature].value_counts(normalize=True)
        both = p.index.union(q.index)
        expected[feature] = float(
            (p.reindex(both, fill_value=0) - q.reindex(both, fill_value=0)).abs().max()
        )
    return ref, prod, expected


def test_compas_2013_vs_2014_linf_equals_an_independent_computation(compas_split):
    ref, prod, expected = compas_split
    result = _run(ref, prod, "--exclude", "screening_date", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    rows = {r["feature"]: r for r in json.loads(result.stdout)["features"]}
    assert "id" not in rows
    for feature, value in expected.items():
        assert rows[feature]["metric"] == "linf"
        assert rows[feature]["value"] == pytest.approx(value, abs=1e-12), feature
    assert rows["age"]["metric"] == "js" and rows["priors_count"]["metric"] == "js"
    assert "screening_date" not in rows


def test_compas_threshold_below_the_largest_linf_exits_1_and_above_exits_0(compas_split):
    ref, prod, expected = compas_split
    top = max(expected, key=expected.get)
    features = [a for f in COMPAS_CATEGORICAL for a in ("--feature", f)]
    below = _run(ref, prod, *features, "--threshold", f"{top}={expected[top] - 1e-6}")
    assert below.exit_code == 1, below.output
    assert f"crossed overall: {top}." in below.stdout
    above = _run(ref, prod, *features, "--threshold", f"{top}={expected[top] + 0.01}")
    assert above.exit_code == 0, above.output


def test_a_feature_crossing_in_several_windows_is_named_once(files):
    ref, prod = files
    # four days of 30 rows (the fewest a window is judged on): red | blue | red | blue.
    # Overall the shares are the reference's (L-infinity 0); each day is all one colour
    # (L-infinity 0.5)
    rows = ["id,colour,size,weight,when"] + [
        f'p{i},{("red", "blue")[i // 30 % 2]},S,"1,5",2024-01-0{1 + i // 30}' for i in range(120)
    ]
    prod.write_text("\n".join(rows) + "\n")
    result = _run(
        ref,
        prod,
        "--feature",
        "colour",
        "--time-column",
        "when",
        "--window",
        "1d",
        "--format",
        "json",
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["crossed"] == ["colour"]
    assert data["features"][0]["value"] == pytest.approx(0) and not data["features"][0]["crossed"]
    assert (
        "crossed in some window only: colour."
        in _run(ref, prod, "--feature", "colour", "--time-column", "when", "--window", "1d").stdout
    )
    windows = [w for w in data["windows"] if w["feature"] == "colour"]
    assert len(windows) == 4 and all(w["crossed"] for w in windows)


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_windows_with_too_few_rows_are_noted_and_do_not_raise_the_alarm(files, fmt):
    ref, prod = files
    # Two days of 2 rows, each all one colour (L-infinity 0.5): too few rows to judge.
    prod.write_text(
        "id,colour,size,weight,when\n"
        + "".join(
            f'p{i},{colour},S,"1,5",2024-01-0{1 + i // 2}\n'
            for i, colour in enumerate(["red", "red", "blue", "blue"])
        )
    )
    args = ["--feature", "colour", "--time-column", "when", "--window", "1d", "--format", fmt]
    result = _run(ref, prod, *args)
    assert result.exit_code == 0, result.output
    assert "too few rows to judge" in result.stdout
    if fmt == "json":
        windows = json.loads(result.stdout)["windows"]
        assert [w["value"] for w in windows] == pytest.approx([0.5, 0.5])
        assert not any(w["crossed"] for w in windows)
        assert all(w["note"].startswith("too few rows to judge") for w in windows)


def test_an_empty_window_is_listed_with_a_note_not_an_error(files):
    ref, prod = files
    # 30 rows on 2024-01-01 (half red, half blue, as the reference), none in the next
    # week, 30 on 2024-01-15.
    rows = ["id,colour,size,weight,when"] + [
        f'p{i},{("red", "blue")[i % 2]},S,"1,5",{day}'
        for i, day in enumerate(["2024-01-01"] * 30 + ["2024-01-15"] * 30)
    ]
    prod.write_text("\n".join(rows) + "\n")
    args = ["--feature", "colour", "--time-column", "when", "--window", "7d"]
    result = _run(ref, prod, *args)
    assert result.exit_code == 0, result.output
    assert "no rows in this window" in result.stdout
    windows = json.loads(_run(ref, prod, *args, "--format", "json").stdout)["windows"]
    assert [(w["window"], w["n"]) for w in windows] == [
        ("2024-01-01", 30),
        ("2024-01-08", 0),
        ("2024-01-15", 30),
    ]


def test_new_categories_are_listed_not_an_error(files):
    result = _run(*files, "--threshold", "colour=0.5")
    assert result.exit_code == 0, result.output
    assert "* colour:" in result.stdout and "<b>green</b>" in result.stdout


# ------------------------------------------------------------- what it does to the model


@pytest.fixture
def labelled(tmp_path):
    """A labelled reference (region A 8/10 correct, B 4/10) and a production sample
    that holds 3 A rows for 9 B rows, labelled, with scores."""
    rng = np.random.default_rng(7)

    def table(regions: list[str], correct: list[bool]) -> pd.DataFrame:
        score = rng.uniform(0.05, 0.95, len(regions))
        prediction = np.where(score >= 0.5, "yes", "no")
        other = np.where(prediction == "yes", "no", "yes")
        label = np.where(correct, prediction, other)
        return pd.DataFrame(
            {"region": regions, "label": label, "prediction": prediction, "score": score}
        )

    reference = table(["A"] * 10 + ["B"] * 10, [True] * 8 + [False] * 2 + [True] * 4 + [False] * 6)
    production = table(["A"] * 3 + ["B"] * 9, [True, True, False] + [True] * 3 + [False] * 6)
    ref, prod = tmp_path / "ref.csv", tmp_path / "prod.csv"
    reference.to_csv(ref, index=False)
    production.to_csv(prod, index=False)
    return ref, prod, reference, production


def _shares_and_accuracy(reference, production):
    correct = reference["label"] == reference["prediction"]
    out = {}
    for region in ("A", "B"):
        ref_rows, prod_rows = reference["region"] == region, production["region"] == region
        out[region] = (correct[ref_rows].mean(), prod_rows.mean(), ref_rows.mean())
    return out


def test_json_expected_accuracy_is_accuracy_times_production_share(labelled):
    ref, prod, reference, production = labelled
    result = _run(ref, prod, "--slice-by", "region", "--positive", "yes", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    mix = {r["slice"]: r for r in data["slice_mix"]}
    by_region = _shares_and_accuracy(reference, production)
    want = sum(acc * share for acc, share, _ in by_region.values())  # 0.8*0.25 + 0.4*0.75
    assert mix["All data"]["expected_accuracy"] == pytest.approx(want)
    assert want == pytest.approx(0.5)
    assert mix["All data"]["expected_low"] < want < mix["All data"]["expected_high"]
    truth = production["label"] == production["prediction"]
    assert mix["All data"]["production_accuracy"] == pytest.approx(truth.mean())
    for region, (acc, prod_share, test_share) in by_region.items():
        row = mix[f"region = {region}"]
        assert row["production_share"] == pytest.approx(prod_share)
        assert row["reference_share"] == pytest.approx(test_share)
        assert row["accuracy"] == pytest.approx(acc)
    cbpe = {r["slice"]: r for r in data["cbpe"]}
    assert set(cbpe) == set(mix)
    assert 0 <= cbpe["All data"]["estimated_accuracy"] <= 1


@pytest.mark.parametrize(
    ("regions", "order", "changes", "linf"),
    [
        # test A .5 B .5; production A .25 B .75: +-.25, a tie kept in the slices' order.
        (["A"] * 3 + ["B"] * 9, ["A", "B"], [-0.25, 0.25], 0.25),
        # production A 1/12, B 8/12, C (never in the test set) 3/12: B +1/6, A -5/12;
        # L-infinity: A's 5/12 (C's new part is 1/4).
        (["A"] + ["B"] * 8 + ["C"] * 3, ["A", "B"], [-5 / 12, 1 / 6], 5 / 12),
        # production all B: A -.5, B +.5.
        (["B"] * 12, ["A", "B"], [-0.5, 0.5], 0.5),
    ],
    ids=["tie", "a new region", "all B"],
)
def test_slices_are_listed_by_share_change_with_the_mix_linf(
    labelled, regions, order, changes, linf
):
    ref, prod, _, production = labelled
    production.assign(region=regions).to_csv(prod, index=False)
    result = _run(ref, prod, "--slice-by", "region", "--positive", "yes", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    rows = data["slice_mix"]
    assert [r["slice"] for r in rows] == ["All data", *[f"region = {r}" for r in order]]
    assert [r["share_change"] for r in rows] == pytest.approx([0, *changes])
    assert data["slice_mix_linf"] == pytest.approx(linf)
    table = _run(ref, prod, "--slice-by", "region", "--positive", "yes").stdout
    assert "share change" in table
    assert (
        f"L-infinity distance of the slice mix (combinations of slice memberships): {linf:.4f}"
        in table
    )


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("table", ["What it does to the model", "production share", "CBPE accuracy"]),
        ("markdown", ["## What it does to the model", "| slice | test share |"]),
        ("html", ["<h2>What it does to the model</h2>", "<th>expected accuracy</th>"]),
    ],
)
def test_every_format_shows_the_slice_mix(labelled, fmt, words):
    ref, prod, _, _ = labelled
    result = _run(ref, prod, "--slice-by", "region", "--positive", "yes", "--format", fmt)
    assert result.exit_code in (0, 1), result.output
    for word in words:
        assert word in result.stdout


def test_unlabelled_reference_keeps_feature_drift_and_says_why_in_one_line(files):
    result = _run(*files, "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert "slice_mix" not in data and data["features"]
    notes = [line for line in result.stderr.splitlines() if "feature drift only" in line]
    assert len(notes) == 1 and "ref.csv" in notes[0]
