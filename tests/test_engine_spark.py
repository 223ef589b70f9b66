"""The Spark engine gives the pandas engine's table, on CSV and Parquet (core.engine_spark).

Expected values come from an independent path: ``analyze(load_dataset(file))``, the
pandas engine, on the same file. Spark runs in local mode (one session for the run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spark_fixture import spark_fixture  # noqa: F401  (the fixture "spark")

from slicewise.core.analysis import analyze
from slicewise.core.batches.count import analyze_source, build_plan, table_of
from slicewise.core.dataset import load_dataset
from slicewise.core.engine_spark import SparkSource
from slicewise.core.errors import DataError

pytestmark = pytest.mark.spark

DEMO = ["demo_data/inspection_predictions.csv", "demo_data/speech_predictions.csv"]
ANALYSIS = dict(
    hlp=None, importance=None, ease=None, tag_scopes="auto", protected=(), rank_by="priority",
    baseline=None,
)  # fmt: skip


def _expected(path, load, analysis):
    return analyze(load_dataset(path, **load), **analysis)


def _same(got, expected):
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, check_exact=False)


def _compare(spark, path, *, load=None, analysis=None, executors=False):
    """Assert Spark's table equals pandas': through the driver's batches or the executors."""
    load, analysis = load or {}, analysis or {}
    expected = _expected(path, load, analysis)
    source = SparkSource(str(path), spark=spark)
    if not executors:
        own = {("load_task" if k == "task" else k): v for k, v in load.items()}
        _same(analyze_source(source, **own, **analysis).table, expected)
        return
    sliced = {k: analysis.get(k, d) for k, d in (("slice_by", ()), ("bins", 4))}
    plan = build_plan(source, spec=None, task=None, max_slices=None, progress=None, **sliced,
                      **load)  # fmt: skip
    total = source.count_partials(plan)
    rest = {k: v for k, v in analysis.items() if k not in sliced}
    _same(table_of(plan, total, **{**ANALYSIS, **rest}), expected)


@pytest.mark.parametrize("executors", [False, True])
@pytest.mark.parametrize("name", DEMO)
def test_demo_files_give_the_pandas_table(spark, name, executors):
    _compare(spark, Path(name), executors=executors)


def _compas(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "label": label,
            "prediction": np.where(rng.random(n) < 0.7, label, 1 - label),
            "race": rng.choice(["African-American", "Caucasian", "Hispanic"], n),
            "age": rng.integers(18, 70, n),
            "priors": rng.choice(["0", "1", "2", "3"], n),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_binary_with_protected_and_numeric_slices(spark, fmt, tmp_path):
    path = tmp_path / f"compas.{fmt}"
    df = _compas()
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
    analysis = {"slice_by": ["race", "age"], "protected": ["race"]}
    _compare(spark, path, analysis=analysis, executors=fmt == "parquet")


def test_regression_with_decimal_commas_and_na_tokens(spark, tmp_path):
    rng = np.random.default_rng(5)
    y = rng.normal(size=80).round(3)
    df = pd.DataFrame(
        {
            "label": y.astype(object),
            "prediction": (y + rng.normal(size=80) / 10).round(3),
            "size": [f"{v:.2f}".replace(".", ",") for v in rng.random(80)],
        }
    )
    df.loc[[4, 9], "label"] = "NA"
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    load = {"missing": "drop", "na_values": ("NA",)}
    _compare(spark, path, load=load, analysis={"slice_by": ["size"]}, executors=True)


def test_text_with_quoted_line_breaks_and_empty_transcripts(spark, tmp_path):
    rows = [
        ("u1", "the cat sat", "the cat sat", "quiet"),
        ("u2", "a dog, barking", "a dog barking", "noisy"),
        ("u3", "two\nlines", "two lines", "noisy"),
        ("u4", "hello there", "", "quiet"),
        ("u5", '"quoted" word', "quoted word", "quiet"),
        ("u6", "Mixed CASE", "mixed case", "noisy"),
    ]
    df = pd.DataFrame(rows, columns=["id", "label", "prediction", "noise"])
    path = tmp_path / "asr.csv"
    df.to_csv(path, index=False)
    _compare(spark, path, load={"task": "text"}, analysis={"slice_by": ["noise"]})


@pytest.mark.parametrize(
    "case",
    ["one_row", "all_correct", "slice_column_all_missing", "empty_slice_value"],
)
def test_degenerate_inputs(spark, case, tmp_path):
    df = pd.DataFrame(
        {
            "label": ["a", "b", "a", "b", "a", "c"],
            "prediction": ["a", "a", "a", "b", "b", "c"],
            "site": ["x", "y", "x", "y", "x", "y"],
            "blurry": ["x", "", "", "x", "", ""],
        }
    )
    if case == "one_row":
        df = df.iloc[:1]
    elif case == "all_correct":
        df["prediction"] = df["label"]
    elif case == "slice_column_all_missing":
        df["site"] = ""
    else:
        df.loc[df["site"] == "y", "blurry"] = ""
    path = tmp_path / f"{case}.csv"
    df.to_csv(path, index=False)
    try:
        expected = _expected(path, {}, {"slice_by": ["site"]})
    except DataError as exc:
        with pytest.raises(type(exc)) as got:
            analyze_source(SparkSource(str(path), spark=spark), slice_by=["site"])
        assert str(got.value) == str(exc)
        return
    got = analyze_source(SparkSource(str(path), spark=spark), slice_by=["site"])
    _same(got.table, expected)


def test_repeated_ids_fail_as_in_pandas(spark, tmp_path):
    df = _compas(20)
    df.loc[19, "id"] = "p2"
    path = tmp_path / "ids.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as expected:
        load_dataset(path)
    with pytest.raises(type(expected.value)) as got:
        analyze_source(SparkSource(str(path), spark=spark))
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("executors", [False, True])
def test_dropped_rows_with_a_sliced_number(spark, fmt, executors, tmp_path):
    # Rows missing a label are left out; the sliced number's kept values come from the
    # source's value counts over the rows unlike them (value_counts_except).
    rng = np.random.default_rng(8)
    n = 400
    label = rng.choice(["cat", "dog", "owl"], n).astype(object)
    label[rng.random(n) < 0.15] = None
    df = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "label": label,
            "prediction": rng.choice(["cat", "dog", "owl"], n),
            "snr_db": rng.normal(10, 5, n).round(1),
            "site": rng.choice(["north", "south"], n),
        }
    )
    df.loc[rng.random(n) < 0.05, "snr_db"] = np.nan
    path = tmp_path / f"dropped.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
    analysis = {"slice_by": ["snr_db", "site"]}
    _compare(spark, path, load={"missing": "drop"}, analysis=analysis, executors=executors)


@pytest.mark.parametrize("batch_rows", [7, 100])
def test_rows_counted_ungrouped_when_grouping_does_not_pay(
    spark, batch_rows, tmp_path, monkeypatch
):
    # Past BATCH_ROWS rows the source judges whether grouping merges rows; ids and
    # numbers never repeat here, so rows go ungrouped (weights 1) and must count alike.
    from slicewise.core.engine_spark import source as spark_source

    monkeypatch.setattr(spark_source, "BATCH_ROWS", batch_rows)
    monkeypatch.setattr(spark_source, "HEAD_ROWS", 50)
    df = _compas(200)
    df["score"] = np.random.default_rng(2).random(200)
    path = tmp_path / "ungrouped.parquet"
    df.to_parquet(path, index=False)
    source = SparkSource(str(path), spark=spark)
    assert not source._groups_pay(["id", "label"])
    analysis = {"slice_by": ["race", "age", "score"]}
    _compare(spark, path, analysis=analysis, executors=True)
