"""The DuckDB engine gives the pandas engine's table: same rows, order, columns, dtypes, values.

Every comparison runs ``core.analysis.analyze(load_dataset(path))`` and
``analyze_file_duckdb(path)`` on the same file and asserts the tables are equal (floats to a
relative 1e-9: DuckDB sums errors in another order), or that both raise the same message.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from engines import assert_same, both  # noqa: E402

from slicewise.core.dataset import ColumnMapping, load_dataset  # noqa: E402
from slicewise.core.engine_duckdb import DuckDBFile, analyze_file_duckdb  # noqa: E402
from slicewise.core.errors import MissingValuesError  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import make_predictions  # noqa: E402


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """20,000 generated predictions as CSV and Parquet (12 x/blank tags, metadata)."""
    out = tmp_path_factory.mktemp("generated")
    df = make_predictions(20_000)
    df.to_csv(out / "predictions.csv", index=False)
    df.to_parquet(out / "predictions.parquet", index=False)
    return out


def write(df, tmp_path, name, fmt):
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


FORMATS = ["csv", "parquet"]


# --------------------------------------------------------------------------- generated data


@pytest.mark.parametrize("fmt", FORMATS)
def test_classification_with_tags_and_two_slice_by_columns(generated, fmt):
    table = assert_same(generated / f"predictions.{fmt}", slice_by=["device", "snr_db"])
    assert "night" in table.index and "No tag" in table.index
    assert "device = ios" in table.index
    assert sum(name.startswith("snr_db in [") for name in table.index) == 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_with_a_positive_class(generated, fmt):
    table = assert_same(
        generated / f"predictions.{fmt}",
        slice_by=["region"],
        task=TaskSpec(kind="binary", positive="scratch"),
    )
    assert table["precision"].notna().all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_regression(generated, tmp_path, fmt):
    df = pd.read_parquet(generated / "predictions.parquet").head(5000)
    rng = np.random.default_rng(3)
    df["label"] = df["snr_db"]
    df["prediction"] = np.round(df["snr_db"] + rng.normal(0, 2, len(df)), 2)
    df["human_label"] = np.where(
        rng.random(len(df)) < 0.1, np.nan, np.round(df["snr_db"] + rng.normal(0, 1, len(df)), 2)
    )
    path = write(df, tmp_path, "regression", fmt)
    table = assert_same(path, slice_by=["brightness"])  # inferred: regression
    assert table["mae"].notna().all()
    assert_same(
        path,
        task=TaskSpec(kind="regression", tolerance=1.5),
        bins=3,
        slice_by=["factory", "brightness"],
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_user_hlp_importance_and_ease_are_applied_the_same(generated, fmt):
    table = assert_same(
        generated / f"predictions.{fmt}",
        slice_by=["factory"],
        hlp={"night": 0.99, "factory = B": 0.5, "All data": 0.97},
        importance={"night": 5, "blurry": 1},
        ease={"factory = B": 4},
    )
    assert table.loc["night", "hlp_source"] == "user"
    assert table.loc["night", "importance"] == 5


def test_cli_engine_duckdb_prints_the_pandas_engines_report(generated):
    def run(*args):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "slicewise.core.cli",
                "analyze",
                str(generated / "predictions.parquet"),
                "--slice-by",
                "snr_db",
                "--format",
                "json",
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert run("--engine", "duckdb") == run()


# --------------------------------------------------------------------------- clear errors


def test_a_text_task_gives_the_pandas_engines_table(tmp_path):
    # Text tasks once were refused here; every engine now runs the same outcome code.
    df = pd.DataFrame(
        {
            "label": [f"turn on the light number {i}" for i in range(60)],
            "prediction": [f"turn on the light number {i % 7}" for i in range(60)],
        }
    )
    path = write(df, tmp_path, "speech", "csv")
    table = assert_same(path)  # inferred text, as the pandas engine infers
    assert "wer" in table.columns
    # Hand count: 60 transcripts, those with i % 7 == i (i < 7) are exact.
    assert table.loc["All data", "n"] == 60
    assert table.loc["All data", "accuracy"] == pytest.approx(7 / 60)
    assert_same(path, task=TaskSpec(kind="text"))
    result = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "analyze", str(path), "--engine", "duckdb"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_missing_labels_give_the_loaders_message_or_are_dropped(tmp_path):
    text = "id,label,prediction,night\n1,a,a,x\n2,,b,\n3,b,b,x\n4,a,  ,\n5,,a,\n6,b,a,x\n"
    path = tmp_path / "gaps.csv"
    path.write_text(text)
    with pytest.raises(MissingValuesError) as err:
        analyze_file_duckdb(path)
    message = str(err.value)
    assert "the label column 'label' is missing in 2 of 6 rows (rows 3, 6)" in message
    assert "the prediction column 'prediction' is missing in 1 of 6 rows (row 5)" in message
    with pytest.raises(MissingValuesError) as pandas_err:
        load_dataset(path)
    assert message == str(pandas_err.value)

    with DuckDBFile(path, missing="drop") as f:
        assert f.warnings == load_dataset(path, missing="drop").warnings
    assert_same(path, missing="drop")


@pytest.mark.parametrize(
    "name, df, kwargs",
    [
        (
            "dup_ids",
            pd.DataFrame({"id": [1, 2, 3, 2], "label": list("abab"), "prediction": list("abba")}),
            {},
        ),
        (
            "bad_tag",
            pd.DataFrame(
                {"label": list("abab"), "prediction": list("abba"), "t": ["x", "", "maybe", "x"]}
            ),
            {"mapping": ColumnMapping(tag_columns=("t",))},
        ),
        (
            "bad_score",
            pd.DataFrame(
                {
                    "label": list("abab"),
                    "prediction": list("abba"),
                    "score": ["0.5", "0.7", "high", "0.1"],
                }
            ),
            {},
        ),
        (
            "no_positive",
            pd.DataFrame({"label": list("abab"), "prediction": list("abba")}),
            {"task": TaskSpec(kind="binary", positive="zz")},
        ),
    ],
)
def test_input_errors_carry_the_pandas_engines_message(tmp_path, name, df, kwargs):
    for fmt in FORMATS:
        expected, got = both(write(df, tmp_path, name, fmt), **kwargs)
        assert isinstance(expected, str) and got == expected


def test_a_date_column_is_read_and_sliced_as_pandas_does(tmp_path):
    df = pd.DataFrame(
        {
            "label": list("abab"),
            "prediction": list("abba"),
            "when": pd.date_range("2024-01-01", periods=4),
        }
    )
    path = write(df, tmp_path, "dates", "parquet")
    assert_same(path)  # an unused date column is fine
    assert_same(path, slice_by=["when"])  # the file's types reach the shared code


# --------------------------------------------------------------------------- canonical values


def _frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    return rng, pd.DataFrame(
        {"label": rng.choice(["a", "b", "c"], n), "prediction": rng.choice(["a", "b", "c"], n)}
    )


CASES = {
    # numbers without leading zeros are one class by value: 1 == 1.0 (CSV: "1" and "1.0")
    "int_vs_float": lambda rng, n: {
        "label": rng.integers(0, 3, n),
        "prediction": rng.integers(0, 3, n).astype(float),
    },
    # "2.00" and " 1 " are the classes 2 and 1, shown under their most frequent spelling
    "int_vs_text": lambda rng, n: {
        "label": rng.integers(0, 3, n),
        "prediction": rng.choice(["0.0", "1", "2.00", " 1 "], n),
    },
    # Parquet floats are written as Python's repr, whole ones without ".0"
    "float_vs_text": lambda rng, n: {
        "label": rng.choice([0.5, 1.0, 2.25], n),
        "prediction": rng.choice(["0.5", "1", "2.25", "x"], n),
    },
    # surrounding Unicode whitespace is stripped
    "whitespace": lambda rng, n: {
        "label": rng.choice([" a", "a", "b\u00a0", "\tb"], n),
        "prediction": rng.choice(["a", "b"], n),
    },
    "blank_human": lambda rng, n: {
        "label": rng.choice(["a", "b"], n),
        "prediction": rng.choice(["a", "b"], n),
        "human": rng.choice(["a", " ", "", "\u3000b "], n),
    },
    "booleans": lambda rng, n: {
        "label": rng.random(n) < 0.5,
        "prediction": rng.choice(["true", "false"], n),
    },
    "human_gaps": lambda rng, n: {
        "label": rng.choice(["a", "b"], n),
        "prediction": rng.choice(["a", "b"], n),
        "human": rng.choice(["a", "b", None], n),
    },
    "numeric_human_gaps": lambda rng, n: {
        "label": rng.integers(0, 3, n),
        "prediction": rng.integers(0, 3, n),
        "human": rng.choice([0.0, 1.0, 2.0, np.nan], n),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_label_comparison_follows_the_class_rule(tmp_path, case, fmt):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(CASES[case](rng, 240))
    path = write(df, tmp_path, case, fmt)
    assert_same(path)
    assert_same(path, slice_by=["label"])  # one row per class, under its shown spelling


@pytest.mark.parametrize("fmt", FORMATS)
def test_many_distinct_numbers_read_as_regression(tmp_path, fmt):
    rng = np.random.default_rng(8)
    df = pd.DataFrame(
        {
            "label": np.round(rng.normal(0, 5, 300), 2),
            "prediction": np.round(rng.normal(0, 5, 300), 2),
            "region": rng.choice(["EU", "NA"], 300),
        }
    )
    path = write(df, tmp_path, "numbers", fmt)
    assert_same(path, slice_by=["region"])  # inferred: regression
    assert_same(path, task=TaskSpec(kind="classification"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_positive_matches_numbers_and_booleans_as_pandas_does(tmp_path, fmt):
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {
            "label": rng.choice([0.5, 1.0, 2.25], 200),
            "prediction": rng.choice([0.5, 1.0, 2.25], 200),
        }
    )
    assert_same(write(df, tmp_path, "floats", fmt), task=TaskSpec(kind="binary", positive="1.0"))
    df = pd.DataFrame({"label": rng.random(200) < 0.5, "prediction": rng.random(200) < 0.5})
    assert_same(write(df, tmp_path, "bools", fmt), task=TaskSpec(kind="binary", positive="1"))


@pytest.mark.parametrize(
    "raw",
    [
        "label,prediction\n007,7\n008,8\n1,2\n",  # 007 is text: not the class 7
        "label,prediction,m\n0x1,1,a\n0x2,0x2,b\n",  # 0x1 is text
        "label,prediction,flag\nTrue,True,TRUE\nFalse,True,false\nTrue,False,\n",  # true/false
        "label,prediction,human\n1.0,1,\nb,1.0,\nb,b,\n",  # an empty human column
        "\ufefflabel;prediction;x\na;a;1\nb;a;0\n",  # BOM, semicolons, a 1/0 tag
        'label,prediction,note\n"a, b","a, b","say ""hi"""\nb,a,NA\n',  # quotes, NA is a value
    ],
)
def test_csv_cells_are_read_as_text_as_pandas_reads_them(tmp_path, raw):
    path = tmp_path / "typed.csv"
    path.write_text(raw, encoding="utf-8")
    assert_same(path)
    assert_same(
        path,
        ColumnMapping(tag_columns=()),
        slice_by=[c for c in ("flag", "note", "m") if c in raw.splitlines()[0]],
    )


def test_a_column_of_numbers_with_a_late_text_cell_is_text_in_both_engines(tmp_path):
    rng = np.random.default_rng(4)
    n = 30_000
    df = pd.DataFrame(
        {
            "label": rng.choice(["a", "b"], n),
            "prediction": rng.choice(["a", "b"], n),
            "late_text": np.where(np.arange(n) < 25_000, rng.integers(0, 9, n).astype(str), "oops"),
            "late_float": np.where(np.arange(n) < 25_000, rng.integers(0, 9, n).astype(str), "1.5"),
        }
    )
    assert_same(
        write(df, tmp_path, "late", "csv"),
        ColumnMapping(tag_columns=()),
        slice_by=["late_text", "late_float"],
    )


# --------------------------------------------------------------------------- tags and slices


@pytest.mark.parametrize("fmt", FORMATS)
def test_tag_columns_of_every_kind_are_detected_on_the_whole_file(tmp_path, fmt):
    rng = np.random.default_rng(5)
    n = 12_000  # beyond the 10,000-row sample
    df = pd.DataFrame({"label": rng.choice(["a", "b"], n), "prediction": rng.choice(["a", "b"], n)})
    df["t_int"] = rng.integers(0, 2, n)
    df["t_yes"] = rng.choice(["yes", "no"], n)
    df["t_bool"] = rng.choice([True, False], n)
    df["t_gaps"] = rng.choice([1.0, 0.0, np.nan], n)
    df["t_upper"] = rng.choice(["X", "", None], n)
    df["never"] = rng.choice(["no", None], n)  # no true value: not a tag
    df["late_bad"] = np.where(np.arange(n) < 11_000, rng.choice(["x", ""], n), "zzz")
    df["late_tag"] = np.where(np.arange(n) < 11_000, "", rng.choice(["x", ""], n))
    table = assert_same(write(df, tmp_path, "tags", fmt), slice_by=["late_bad"])
    assert "late_tag" in table.index and "late_bad = zzz" in table.index


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "cells", [["a;b", " a ; c", "", None, "b;;c"], ["a|b", " a | c", "", None, "b"]]
)
def test_a_delimited_tags_column(tmp_path, fmt, cells):
    rng, df = _frame()
    df["tags"] = rng.choice(np.array(cells, dtype=object), len(df))
    assert_same(write(df, tmp_path, "tagged", fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_slice_by_columns_of_every_kind(tmp_path, fmt):
    rng, df = _frame(n=400)
    df["few_int"] = rng.integers(0, 3, len(df))  # <= bins values: one slice per value
    df["int_gaps"] = rng.choice(np.array([1, 2, None], dtype=object), len(df))  # floats to pandas
    df["many_int"] = rng.integers(0, 100, len(df))  # quantile bins from a histogram
    df["flag"] = rng.choice([True, False], len(df))
    df["text"] = rng.choice(np.array(["x1", "y1", None], dtype=object), len(df))
    fl = rng.normal(0, 1, len(df))
    fl[::7] = np.nan
    df["fl"] = fl  # quantile bins from quantile_disc, with a missing slice
    df["const"] = 5
    path = write(df, tmp_path, "slices", fmt)
    cols = ["few_int", "int_gaps", "many_int", "flag", "text", "fl", "const"]
    table = assert_same(path, ColumnMapping(tag_columns=()), slice_by=cols)
    assert "int_gaps = 1.0" in table.index and "fl = (missing)" in table.index
    assert_same(path, ColumnMapping(tag_columns=()), slice_by=["many_int", "fl"], bins=7)
    assert_same(path, slice_by=["label", "prediction"])


def test_role_columns_and_renamed_metadata_can_be_sliced(tmp_path):
    rng = np.random.default_rng(6)
    df = pd.DataFrame(
        {
            "y_true": rng.choice(["a", "b"], 300),
            "pred": rng.choice(["a", "b"], 300),
            "label": rng.choice(["p", "q"], 300),
            "score": rng.random(300),
        }
    )
    assert_same(
        write(df, tmp_path, "roles", "parquet"),
        ColumnMapping(label="y_true", prediction="pred"),
        slice_by=["label_meta", "label", "score"],
    )
