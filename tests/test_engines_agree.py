"""The pandas and streaming engines give the same whole table on the same files.

Each case runs ``analyze(load_dataset(path, ...))`` (``--engine pandas``) and
``analyze_file_duckdb(path, ...)`` (``--engine stream``, whose old name is duckdb: the
streaming engine's source through :func:`core.batches.count.analyze_source`) through
:mod:`engines` and compares
the tables whole: every row in order, every column with its dtype, values to a relative
tolerance of 1e-9 (sums of floating-point errors agree to rounding). Where an input is
refused, both engines must refuse it with the same message. A few values are also worked out
by hand, so that two engines agreeing on a wrong answer would fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from engines import assert_same, both  # noqa: E402

from slicewise.core.dataset import ColumnMapping  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "demo_data"


def write(df: pd.DataFrame, tmp_path: Path, name: str, fmt: str = "csv") -> Path:
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def table_of(path, mapping=None, **kwargs) -> pd.DataFrame:
    """Assert both engines agree and give a table; return it."""
    table = assert_same(path, mapping, **kwargs)
    assert isinstance(table, pd.DataFrame), table
    return table


# --------------------------------------------------------------------------- demo files


def test_the_inspection_demo_file(tmp_path):
    path = DEMO / "inspection_predictions.csv"
    table = table_of(path, slice_by=["factory", "line", "camera"])
    demo = pd.read_csv(path)
    # Hand count: the overall accuracy is the share of rows whose prediction is the label.
    assert table.loc["All data", "n"] == len(demo)
    assert table.loc["All data", "accuracy"] == pytest.approx(
        (demo["label"] == demo["prediction"]).mean()
    )
    table_of(path, slice_by=["label"])  # one row per class, with the human labels' HLP


def test_the_speech_demo_file_as_classification(tmp_path):
    # Transcripts compared exactly: classification, which both engines run.
    path = DEMO / "speech_predictions.csv"
    table = table_of(path, task=TaskSpec(kind="classification"), slice_by=["device", "snr_db"])
    demo = pd.read_csv(path)
    ios = demo[demo["device"] == "ios"]
    assert table.loc["device = ios", "n"] == len(ios)
    assert table.loc["device = ios", "accuracy"] == pytest.approx(
        (ios["label"] == ios["prediction"]).mean()
    )


def test_the_speech_demo_file_as_a_text_task():
    path = DEMO / "speech_predictions.csv"
    table = table_of(path, slice_by=["device"])  # the task is inferred: text
    assert "wer" in table.columns
    table_of(path, task=TaskSpec(kind="text"), slice_by=["device"])


# --------------------------------------------------------------------------- task kinds


def compas_like(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """A COMPAS-like file: recidivism 0/1, a risk score, demographics and counts."""
    rng = np.random.default_rng(seed)
    score = rng.integers(1, 11, n)
    label = (rng.random(n) < score / 12).astype(int)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "two_year_recid": label,
            "predicted": (score >= 5).astype(int),
            "decile_score": score / 10,
            "race": rng.choice(["African-American", "Caucasian", "Hispanic", "Other"], n),
            "sex": rng.choice(["Male", "Female"], n, p=[0.8, 0.2]),
            "age": rng.integers(18, 70, n),
            "priors_count": rng.poisson(3, n),
            "juvenile": rng.choice(["x", ""], n, p=[0.1, 0.9]),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_compas_like_binary_file(tmp_path, fmt):
    df = compas_like()
    path = write(df, tmp_path, "compas", fmt)
    mapping = ColumnMapping(label="two_year_recid", prediction="predicted", score="decile_score")
    table = table_of(
        path,
        mapping,
        task=TaskSpec(kind="binary", positive="1"),
        slice_by=["race", "sex", "age", "priors_count"],
    )
    # Hand count of the recall (TP / (TP + FN)) over all rows.
    tp = ((df["two_year_recid"] == 1) & (df["predicted"] == 1)).sum()
    fn = ((df["two_year_recid"] == 1) & (df["predicted"] == 0)).sum()
    assert table.loc["All data", "recall"] == pytest.approx(tp / (tp + fn))
    assert "juvenile" in table.index  # the x/blank column is a tag


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_regression_file(tmp_path, fmt):
    rng = np.random.default_rng(5)
    n = 400
    y = np.round(rng.normal(50, 10, n), 2)
    df = pd.DataFrame(
        {
            "label": y,
            "prediction": np.round(y + rng.normal(0, 3, n), 2),
            "human_label": np.where(
                rng.random(n) < 0.3, np.round(y + rng.normal(0, 1, n), 2), None
            ),
            "region": rng.choice(["north", "south", "east"], n),
            "temperature": np.round(rng.uniform(-5, 35, n), 1),
        }
    )
    path = write(df, tmp_path, "regression", fmt)
    table = table_of(path, task=TaskSpec(kind="regression"), slice_by=["region", "temperature"])
    assert table.loc["All data", "mae"] == pytest.approx(np.mean(np.abs(df.prediction - df.label)))
    table_of(path, task=TaskSpec(kind="regression", tolerance=2.5), slice_by=["region"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_multiclass_file_with_tags_and_human_labels(tmp_path, fmt):
    rng = np.random.default_rng(9)
    n = 500
    classes = ["cat", "dog", "bird", "fish", "horse"]
    y = rng.choice(classes, n)
    p = np.where(rng.random(n) < 0.7, y, rng.choice(classes, n))
    df = pd.DataFrame(
        {
            "id": [f"ex-{i}" for i in range(n)],
            "label": y,
            "prediction": p,
            "human": np.where(rng.random(n) < 0.5, np.where(rng.random(n) < 0.9, y, "cat"), None),
            "tags": rng.choice(["", "blurry", "dark|blurry", "dark"], n),
            "camera": rng.choice(["a", "b"], n),
        }
    )
    path = write(df, tmp_path, "multiclass", fmt)
    table = table_of(path, slice_by=["camera", "label"])
    assert table.loc["label = dog", "n"] == (y == "dog").sum()
    assert {"blurry", "dark", "No tag"} <= set(table.index)


# --------------------------------------------------------------------------- names and edges


def test_a_tag_named_like_a_slice_by_value(tmp_path):
    df = pd.DataFrame(
        {
            "label": list("aabbaabb"),
            "prediction": list("abbbaaba"),
            "device": ["ios", "android"] * 4,
            "device = ios": ["yes", "no", "", "yes", "no", "yes", "", "no"],
        }
    )
    table = table_of(write(df, tmp_path, "clash"), slice_by=["device"])
    # The tag keeps its name; the later column value gets " (2)".
    assert table.loc["device = ios", ["kind", "n"]].tolist() == ["tag", 3]
    assert table.loc["device = ios (2)", ["kind", "n"]].tolist() == ["column", 4]


def test_empty_tag_cells(tmp_path):
    df = pd.DataFrame(
        {"label": list("abab"), "prediction": list("abba"), "noisy": ["", "", "", ""]}
    )
    table_of(write(df, tmp_path, "blank_tags"))
    df["noisy"] = ["x", "", "", ""]
    table = table_of(write(df, tmp_path, "one_tag"))
    assert table.loc["noisy", "n"] == 1


@pytest.mark.parametrize("missing", ["fail", "drop"])
def test_na_labels(tmp_path, missing):
    df = pd.DataFrame(
        {"label": ["a", None, "b", "a", "NA"], "prediction": ["a", "b", "b", None, "a"]}
    )
    path = write(df, tmp_path, "na_labels")
    expected, got = both(path, missing=missing, na_values=["NA"])
    if missing == "fail":
        assert isinstance(expected, str) and got == expected
        assert "the label column 'label' is missing in 2 of 5 rows" in expected
    else:
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
        assert expected.loc["All data", "n"] == 2  # rows 1 and 3 are left


def test_a_single_row(tmp_path):
    df = pd.DataFrame({"label": ["a"], "prediction": ["b"], "region": ["eu"], "age": [31]})
    table = table_of(write(df, tmp_path, "one_row"), slice_by=["region", "age"])
    assert table.loc["All data", ["n", "accuracy"]].tolist() == [1, 0.0]


def test_a_slice_by_column_with_one_value(tmp_path):
    df = pd.DataFrame(
        {"label": list("abab"), "prediction": list("abbb"), "site": ["north"] * 4, "v": [2.5] * 4}
    )
    table = table_of(write(df, tmp_path, "one_value"), slice_by=["site", "v"])
    assert table.loc["site = north", "n"] == 4
    # Both slices hold every row: the second is named in the first's same_as, not repeated.
    assert table.index.tolist() == ["All data", "site = north"]
    assert table.loc["site = north", "same_as"] == "v = 2.5"


# --------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_slice_and_an_all_missing_slice_column(tmp_path, fmt):
    df = pd.DataFrame(
        {
            "label": list("aabbab"),
            "prediction": list("abbbaa"),
            "site": [None] * 6,  # every cell missing
            "night": ["", "", "", "", "", ""],  # a tag nobody carries: an empty slice
            "region": ["eu", "us", "eu", "us", "eu", "us"],
        }
    )
    table = table_of(write(df, tmp_path, "gaps", fmt), slice_by=["site", "region"])
    assert table.loc["region = eu", "n"] == 3  # rows 0, 2, 4


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_na_tokens_listed_as_missing(tmp_path, fmt):
    df = pd.DataFrame(
        {
            "label": ["a", "NA", "b", "a", "b", "null"],
            "prediction": ["a", "a", "b", "b", "NA", "b"],
            "region": ["NA", "eu", "NA", "eu", "N/A", "eu"],
        }
    )
    path = write(df, tmp_path, "tokens", fmt)
    table_of(path, slice_by=["region"])  # NA is a value (North America) by default
    table = table_of(path, missing="drop", na_values=["NA", "null"], slice_by=["region"])
    assert table.loc["All data", "n"] == 3  # rows 0, 2, 3 keep a label and a prediction


def test_decimal_commas_and_leading_zeros(tmp_path):
    text = (
        "id;label;prediction;score;zip\n"
        "001;a;a;0,91;01234\n"
        "002;b;a;0,35;01234\n"
        "003;a;b;0,12;00777\n"
        "004;b;b;0,88;00777\n"
        "005;a;a;0,5;01234\n"
    )
    path = tmp_path / "commas.csv"
    path.write_text(text, encoding="utf-8")
    table = table_of(path, slice_by=["zip", "score"])
    # The zip codes keep their leading zeros (text, as the pandas reader reads them).
    assert table.loc["zip = 01234", "n"] == 3
    assert table.loc["zip = 00777", "n"] == 2


def test_a_gzip_file_with_blank_rows_and_a_bom(tmp_path):
    import gzip

    text = "\ufefflabel,prediction,region\na,a,eu\n,,\nb,a,us\n\na,b,eu\n"
    path = tmp_path / "rows.csv.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    table = table_of(path, slice_by=["region"])
    assert table.loc["All data", "n"] == 3  # the blank rows are left out, as pandas does
