"""The DuckDB engine follows the value contract of :mod:`core.values` as the pandas loader does.

Every test writes a small file, runs ``analyze(load_dataset(path, ...))`` and
``analyze_file_duckdb(path, ...)`` with the same options, and asserts the two tables are
equal (or that both raise the same message); the expected facts that make each case worth
having are counted by hand in the comments and checked on the table.
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("duckdb")

from engines import assert_same, both  # noqa: E402

from slicewise.core.dataset import ColumnMapping, load_dataset  # noqa: E402
from slicewise.core.engine_duckdb import DuckDBFile  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def csv_file(tmp_path, text, name="values.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def parquet_file(tmp_path, columns, name="values.parquet"):
    path = tmp_path / name
    pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()}).to_parquet(
        path, index=False
    )
    return path


# --------------------------------------------------------------------------- missing cells


NA_REGION = {
    "label": ["a", "a", "b", "b", "a"],
    "prediction": ["a", "b", "b", "b", "a"],
    "region": ["NA", "EU", "NA", None, "NA"],
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_na_is_a_region_not_a_missing_cell(tmp_path, fmt):
    path = (
        csv_file(tmp_path, "label,prediction,region\na,a,NA\na,b,EU\nb,b,NA\nb,b,\na,a,NA\n")
        if fmt == "csv"
        else parquet_file(tmp_path, NA_REGION)
    )
    table = assert_same(path, slice_by=["region"])
    # Rows 1, 3 and 5 are in North America, all three correct; the blank cell is missing.
    assert table.loc["region = NA", "n"] == 3
    assert table.loc["region = NA", "accuracy"] == 1.0
    assert table.loc["region = (missing)", "n"] == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_na_values_make_the_listed_texts_missing(tmp_path, fmt):
    path = (
        csv_file(tmp_path, "label,prediction,region\na,a,NA\na,b,EU\nb,b,NA\nb,b,\na,a,NA\n")
        if fmt == "csv"
        else parquet_file(tmp_path, NA_REGION)
    )
    table = assert_same(path, slice_by=["region"], na_values=("NA",))
    # Only EU is left; the three NA cells join the blank one as missing.
    assert set(table.index[table["kind"] == "column"]) == {"region = EU", "region = (missing)"}
    assert table.loc["region = (missing)", "n"] == 4


def test_na_values_in_the_label_give_the_loaders_missing_message_or_are_dropped(tmp_path):
    path = csv_file(tmp_path, "id,label,prediction\n1,a,a\n2, NA ,b\n3,b,b\n4,null,a\n")
    expected, got = both(path, na_values=("NA", "null"))
    # File rows 3 and 5 (the header is row 1) hold " NA " and "null".
    assert "the label column 'label' is missing in 2 of 4 rows (rows 3, 5)" in expected
    assert got == expected
    table = assert_same(path, na_values=("NA", "null"), missing="drop")
    assert table.loc["All data", "n"] == 2
    with DuckDBFile(path, missing="drop", na_values=("NA", "null")) as f:
        assert f.warnings == load_dataset(path, missing="drop", na_values=("NA", "null")).warnings
    # Without na_values they are classes: 4 rows, rows 1 and 3 correct.
    table = assert_same(path)
    assert table.loc["All data", "n"] == 4 and table.loc["All data", "accuracy"] == 0.5


# --------------------------------------------------------------------------- ids


def test_ids_7_07_and_007_are_three_ids(tmp_path):
    path = csv_file(tmp_path, "id,label,prediction\n7,a,a\n07,a,b\n007,b,b\n")
    table = assert_same(path)
    assert table.loc["All data", "n"] == 3


@pytest.mark.parametrize(
    "text, message",
    [
        # " 7 " is trimmed to "7": file rows 2 and 4 share it.
        (
            "id,label,prediction\n7,a,a\n07,a,b\n 7 ,b,b\n",
            "repeats '7' (2 rows share an id: rows 2, 4)",
        ),
        # A cell of spaces is a blank id.
        ("id,label,prediction\n7,a,a\n  ,a,b\n8,b,b\n", "is blank in row 3"),
    ],
)
def test_repeated_or_blank_ids_give_the_loaders_message(tmp_path, text, message):
    expected, got = both(csv_file(tmp_path, text))
    assert message in expected
    assert got == expected


def test_an_na_id_is_a_value_until_na_values_lists_it(tmp_path):
    path = csv_file(tmp_path, "id,label,prediction\nNA,a,a\n7,a,b\n")
    assert assert_same(path).loc["All data", "n"] == 2
    expected, got = both(path, na_values=("NA",))
    assert "the id column 'id' is blank in row 2" in expected
    assert got == expected


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize(
    "label, prediction, accuracy",
    [
        ("1.0", "1", 1.0),  # one class by value
        ("01", "1", 0.0),  # 01 is text (a leading zero): not the class 1
        ("TRUE", "yes", 1.0),  # true and yes both mean 1
        ("yes", "1", 1.0),
        ("false", "0.0", 1.0),
        ("NO", "false", 1.0),
        ("007", "7", 0.0),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_class_spellings_compare_by_class_key(tmp_path, label, prediction, accuracy, fmt):
    labels = [label, label, "b", "b"]
    predictions = [prediction, prediction, "b", "b"]
    path = (
        csv_file(
            tmp_path,
            "label,prediction\n"
            + "".join(f"{y},{p}\n" for y, p in zip(labels, predictions, strict=True)),
        )
        if fmt == "csv"
        else parquet_file(tmp_path, {"label": labels, "prediction": predictions})
    )
    table = assert_same(path, slice_by=["label"])
    # Rows 3 and 4 (b, b) are always correct; rows 1 and 2 as the case says.
    assert table.loc["All data", "accuracy"] == (2 + 2 * accuracy) / 4


def test_a_class_is_shown_under_its_most_frequent_spelling(tmp_path):
    # The class 1 is written "1" twice, "1.0" once, "TRUE" three times and "yes" once over
    # label and prediction: it is shown as "TRUE"; the class 0 ("0" twice, "no" once) as "0".
    path = csv_file(tmp_path, "label,prediction\n1,TRUE\n1.0,TRUE\nTRUE,yes\n0,1\nno,0\n")
    table = assert_same(path, slice_by=["label", "prediction"])
    assert "label = TRUE" in table.index and "label = 0" in table.index
    assert table.loc["label = TRUE", "n"] == 3
    # Binary with the positive class named in another spelling: matched by its class key.
    table = assert_same(path, task=TaskSpec(kind="binary", positive="true"))
    # tp: rows 2-4; fn: none; fp: row 5 (0 predicted 1); tn: row 6.
    assert table.loc["All data", "recall"] == 1.0
    assert table.loc["All data", "precision"] == 0.75


def test_a_human_label_joins_the_spelling_count(tmp_path):
    # "1" twice (labels), "1.0" four times (one prediction, three human labels): "1.0".
    path = csv_file(tmp_path, "label,prediction,human_label\n1,1.0,1.0\n1,b,1.0\nb,b,1.0\n")
    table = assert_same(path, slice_by=["label"])
    assert "label = 1.0" in table.index


# --------------------------------------------------------------------------- numbers


DECIMAL_COMMA = "label;prediction;score;snr\n" + "".join(
    f"{y};{p};0,{s};{d},5\n"
    for y, p, s, d in [
        ("a", "a", 91, 12),
        ("a", "b", 35, 3),
        ("b", "b", 78, 25),
        ("b", "a", 12, 7),
        ("a", "a", 66, 18),
        ("b", "b", 80, 9),
    ]
)


def test_decimal_comma_score_and_metadata(tmp_path):
    path = csv_file(tmp_path, DECIMAL_COMMA)
    table = assert_same(path, slice_by=["snr", "score"], bins=2)
    # snr reads 12.5, 3.5, 25.5, 7.5, 18.5, 9.5: the median 11 splits them 3 and 3.
    assert table.loc["snr in [3.5, 11)", "n"] == 3
    assert table.loc["snr in [11, 25.5]", "n"] == 3
    # score reads 0.91, 0.35...: numbers, in two bins.
    assert sum(name.startswith("score in [") for name in table.index) == 2


def test_numbers_that_read_two_ways(tmp_path):
    # 1,234 and 5,678 are 1.234 and 5.678 with a decimal comma, 1234 and 5678 with a
    # thousands separator.
    text = 'label,prediction,size,score\na,a,"1,234",0.5\nb,a,"5,678",0.25\n'
    path = csv_file(tmp_path, text)
    table = assert_same(path, slice_by=["size"])
    assert "size = 1,234" in table.index  # kept as text, with a warning
    with DuckDBFile(path) as f:
        f.analyze(slice_by=["size"])
        assert f.warnings == load_dataset(path).warnings
        assert "column 'size' holds numbers such as '1,234'" in f.warnings[0]
    table = assert_same(path, slice_by=["size"], thousands=",")
    assert "size = 1234" in table.index
    table = assert_same(path, slice_by=["size"], decimal=",")
    assert "size = 1.234" in table.index
    # A score that reads two ways is refused, with the loader's message.
    bad = csv_file(tmp_path, 'label,prediction,score\na,a,"1,234"\nb,a,"5,678"\n', "s.csv")
    expected, got = both(bad)
    assert "the score column 'score' holds numbers such as '1,234'" in expected
    assert got == expected


@pytest.mark.parametrize(
    "cells, problem",
    [
        (["0.5", "high", "0.1"], "holds 'high' in row 3"),
        (["0.5", "1_000", "nan"], "holds '1_000', 'nan' in rows 3, 4"),  # not numbers to pandas
        (["0.5", " 0,7 ", "0.1"], "(a decimal comma? give --decimal ,)"),
    ],
)
def test_score_cells_that_are_no_numbers(tmp_path, cells, problem):
    path = csv_file(tmp_path, "label,prediction,score\n" + "".join(f'a,b,"{c}"\n' for c in cells))
    expected, got = both(path)
    assert problem in expected
    assert got == expected


@pytest.mark.parametrize(
    "column, names",
    [
        (["1", "2", "3", "4", "5", "6"], {"m = 1", "m = 6"}),  # whole numbers: int64
        (["1", "2", "", "4", "5", "6"], {"m = 1.0", "m = (missing)"}),  # a gap: float64
        (["007", "8", "9", "10", "11", "12"], {"m = 007", "m = 8"}),  # 007 is a code: text
        (["1e3", "-2", "+3", ".5", "5", "6"], {"m = 1000.0", "m = 0.5"}),
        (["1.000,5", "2.000", "3", "4", "5", "6"], {"m = 1000.5", "m = 2000.0"}),  # 1.000,5
    ],
)
def test_numeric_metadata_is_typed_as_the_loader_types_it(tmp_path, column, names):
    labels = ["a", "b"] * 3
    path = csv_file(
        tmp_path,
        "label;prediction;m\n"
        + "".join(f"{y};a;{c}\n" for y, c in zip(labels, column, strict=True)),
    )
    # Six values or fewer, at most 8 bins: one slice per value, named by the loader's dtype.
    table = assert_same(path, ColumnMapping(tag_columns=()), slice_by=["m"], bins=8)
    assert names <= set(table.index)
    assert_same(path, ColumnMapping(tag_columns=()), slice_by=["m"], bins=2)  # quantile bins


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    "options",
    [
        ["--na-values", "NA", "--decimal", ","],
        ["--na-values", "common"],  # the decimal comma inferred; size reads two ways: a warning
        ["--thousands", ","],  # the scores 0,5... are then no numbers: both refuse them
    ],
)
def test_cli_passes_na_values_and_the_number_format_to_the_duckdb_engine(tmp_path, options):
    path = csv_file(
        tmp_path,
        'label;prediction;score;region;size\na;a;0,5;NA;"1,234"\n'
        'b;a;0,25;EU;"5,678"\nb;b;0,75;null;"1,234"\n',
    )

    def run(engine):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "slicewise.core.cli",
                "analyze",
                str(path),
                "--engine",
                engine,
                "--slice-by",
                "region",
                "--slice-by",
                "size",
                "--format",
                "json",
                *options,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        return result.returncode, result.stdout, result.stderr

    pandas_run = run("pandas")
    assert run("duckdb") == pandas_run
    if "--na-values" in options:  # the scores read with a decimal comma, NA is missing
        assert pandas_run[0] == 0 and '"region = (missing)"' in pandas_run[1]
    else:
        assert pandas_run[0] == 2 and "the score column 'score' holds" in pandas_run[2]


# --------------------------------------------------------------------------- past the limit


@pytest.mark.parametrize(
    "labels, problem",
    [
        # The class 1 is written "1" three times and "yes" once: shown as "1", so "yes" is 1.
        (["1", "1", "1", "yes", "2.5", "0"], None),
        # "yes" three times, "1" once: shown as "yes", so the "1" is no number either.
        (
            ["yes", "yes", "yes", "1", "2.5", "0"],
            "the label is not numeric in 4 rows (first: 'yes')",
        ),
        # Ties go to the first in sorted order: "1.0" before "TRUE", "0" before "no"; 01 is
        # a class of its own (a leading zero), read as the number 1.
        (["TRUE", "1.0", "no", "0", "2.5", "01"], None),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_regression_reads_classes_as_the_loader_shows_them(tmp_path, labels, problem, fmt):
    predictions = ["1.5", "0.5", "2", "3", "2", "-1"]  # no spelling of 0 or 1
    path = (
        csv_file(
            tmp_path,
            "label,prediction\n"
            + "".join(f"{y},{p}\n" for y, p in zip(labels, predictions, strict=True)),
        )
        if fmt == "csv"
        else parquet_file(tmp_path, {"label": labels, "prediction": predictions})
    )
    expected, got = both(path, task=TaskSpec(kind="regression"))
    if problem:
        assert problem in expected
        assert got == expected
    else:
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("id,label,prediction\n1,1,1\n2,inf,1\n3,2,2\n4,nan,3\n", {"task": "regression"}),
        ("id,label,prediction\n1,1,1\n2,2,1e400\n3,2,2\n", {"task": "regression"}),
        (
            "id,label,prediction\n1,1,1\n2,,1\n3,-Infinity,2\n",
            {"task": "regression", "missing": "drop"},
        ),
        ("id,label,prediction,score\n1,a,a,0.5\n2,b,a,inf\n3,a,a,0.2\n", {}),
    ],
)
def test_non_finite_numbers_are_refused_alike(tmp_path, text, kwargs):
    path = tmp_path / "f.csv"
    path.write_text(text)
    if "task" in kwargs:
        kwargs = {**kwargs, "task": TaskSpec(kind=kwargs["task"])}
    message = assert_same(path, **kwargs)
    assert isinstance(message, str) and "finite" in message
