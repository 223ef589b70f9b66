"""SparkSource answers the protocol's questions as the pandas reader's table does.

The reference is :class:`core.batches.frame_source.FrameSource` over
:func:`core.reading.read_table`'s table of the same file (an independent reader: pandas
or pyarrow, not Spark).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spark_fixture import spark_fixture  # noqa: F401  (the fixture "spark")

from slicewise.core.batches.frame_source import FrameSource
from slicewise.core.engine_spark import SparkSource
from slicewise.core.errors import DataError, EmptyFileError, FileFormatError
from slicewise.core.reading import read_table

pytestmark = pytest.mark.spark

AWKWARD_CSV = (
    'id,label,text,\n1,a,"x, y",\n2,,"",\n,,,\n3,b,"two\nlines",\n'
    '1, a ,"q""q",\n007,b,plain,\n,,,\n'
)


def _files(tmp_path):
    csv = tmp_path / "awkward.csv"
    csv.write_text(AWKWARD_CSV)
    parquet = tmp_path / "typed.parquet"
    pd.DataFrame(
        {
            "id": [1, 2, 2, None, 5],
            "label": ["a", None, "b", "b", "a"],
            "x": [1.5, np.nan, 2.0, 2.0, 0.25],
            "ok": [True, False, True, True, False],
        }
    ).to_parquet(parquet, index=False)
    return {"csv": csv, "parquet": parquet}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_questions_match_the_pandas_reader(spark, kind, tmp_path):
    path = _files(tmp_path)[kind]
    frame, _, warnings = read_table(path)
    expected = FrameSource(frame, path.name)
    got = SparkSource(str(path), spark=spark)
    assert got.columns == expected.columns
    assert got.warnings == warnings
    assert got.skipped_rows == expected.skipped_rows
    assert got.first_row_number == expected.first_row_number
    assert got.count_rows() == expected.count_rows()
    pd.testing.assert_frame_equal(got.head(3), expected.head(3))
    counts, reference = got.value_counts(got.columns, 3), expected.value_counts(got.columns, 3)
    for column in got.columns:
        assert (counts[column] is None) == (reference[column] is None), column
        if counts[column] is not None:
            assert counts[column].to_dict() == reference[column].to_dict(), column
    for column in ("id", "label"):
        pd.testing.assert_frame_equal(got.repeated(column), expected.repeated(column))
        assert got.missing(column) == expected.missing(column)


@pytest.mark.parametrize("group", [False, True])
def test_batches_hold_every_row(spark, group, tmp_path):
    path = _files(tmp_path)["csv"]
    frame = read_table(path)[0]
    got = list(SparkSource(str(path), spark=spark).batches(["id", "text"], group=group))
    rows = pd.concat([b.rows for b in got], ignore_index=True)
    weights = np.concatenate([b.weights if group else np.ones(len(b.rows)) for b in got])
    first = np.concatenate([b.first_rows for b in got])
    # Each row stands for its weight of the file's rows, the first of them at first_rows.
    expanded = rows.loc[rows.index.repeat(weights.astype(int))].reset_index(drop=True)
    want = frame[["id", "text"]]
    key = list(want.columns)
    assert sorted(map(tuple, expanded.fillna("<NA>").to_numpy())) == sorted(
        map(tuple, want.fillna("<NA>").to_numpy())
    )
    for i, position in enumerate(first):
        row = want.iloc[int(position)]
        assert row.fillna("<NA>").tolist() == rows.iloc[i][key].fillna("<NA>").tolist()


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("a,b\n1,2\n3\n4,5\n", FileFormatError, ["bad.csv", "line 3", "2 fields"]),
        ("a,b\n1,2\n3,4,5\n", FileFormatError, ["bad.csv", "line 3", "'3,4,5'"]),
        ("a,b\n,\n , \n", EmptyFileError, ["bad.csv", "no data rows"]),
        ("  \n", EmptyFileError, ["bad.csv", "empty"]),
        ("a,,b\n1,2,3\n", DataError, ["bad.csv", "column 2"]),
    ],
)
def test_bad_files_give_clear_messages(spark, text, error, words, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(error) as got:
        SparkSource(str(path), spark=spark)
    for word in words:
        assert word in str(got.value)


def test_unknown_table_and_missing_path(spark, tmp_path):
    with pytest.raises(DataError, match="no such table"):
        SparkSource("no_such_table_here", spark=spark)
    with pytest.raises(DataError, match="no such file"):
        SparkSource(str(tmp_path / "gone.csv"), spark=spark)


def test_a_table_of_the_session(spark, tmp_path):
    path = _files(tmp_path)["parquet"]
    spark.read.parquet(str(path)).createOrReplaceTempView("typed_view")
    got = SparkSource("typed_view", spark=spark)
    assert got.columns == ["id", "label", "x", "ok"]
    assert got.count_rows() == 5
    assert got.missing("x") == (1, [1])


def _with_lost_rows(n: int = 60) -> pd.DataFrame:
    """Rows whose label is sometimes missing, a float metadata column with NaN and gaps."""
    rng = np.random.default_rng(11)
    label = rng.choice(["a", "b", "c"], n).astype(object)
    label[rng.random(n) < 0.2] = None
    snr = rng.choice([1.5, 2.0, 7.25, np.nan], n)
    return pd.DataFrame(
        {
            "label": label,
            "prediction": rng.choice(["a", "b"], n),
            "snr": snr,
            "site": rng.choice(["x", "y", None], n),
        }
    )


@pytest.mark.parametrize(
    ("kind", "like"),
    [
        ("parquet", ["label", "prediction"]),
        ("parquet", ["label"]),
        ("csv", ["label", "prediction"]),
        ("csv", []),
    ],
)
def test_value_counts_except_leaves_out_rows_like_the_positions(spark, kind, like, tmp_path):
    df = _with_lost_rows()
    path = tmp_path / f"lost.{kind}"
    if kind == "csv":  # blank lines shift the positions away from Spark's row order
        text = df.to_csv(index=False).splitlines()
        text[5:5] = [",,,", ",,,"]
        path.write_text("\n".join(text) + "\n")
    else:
        df.to_parquet(path, index=False)
    frame = read_table(path)[0]
    positions = np.flatnonzero(frame["label"].isna().to_numpy())[:3]
    got = SparkSource(str(path), spark=spark).value_counts_except(
        ["snr", "site"], like=like, positions=positions
    )
    # Expected by hand: the rows whose `like` cells equal a lost row's (missing alike).
    keep = pd.Series(False, index=frame.index)  # no cells to tell rows apart: all alike
    if like:
        key = frame[like].astype(object).where(frame[like].notna(), "<NA>").apply(tuple, axis=1)
        keep = ~key.isin(set(key.iloc[positions]))
    for column in ("snr", "site"):
        want = frame.loc[keep, column].value_counts(dropna=True)
        assert got[column].to_dict() == want.to_dict(), column


@pytest.mark.parametrize("blank_at", [[], [0], [3, 4], [0, 1, 9]])
def test_mids_invert_positions_over_blank_rows(spark, blank_at, tmp_path):
    lines = [f"{i},{i % 3}" for i in range(12)]
    for at in sorted(blank_at, reverse=True):
        lines.insert(at, ",")
    path = tmp_path / "b.csv"
    path.write_text("id,label\n" + "\n".join(lines) + "\n")
    source = SparkSource(str(path), spark=spark)
    positions = np.arange(source.count_rows())
    assert source._positions.of(source._positions.mids(positions)).tolist() == positions.tolist()


def _binnable_frame() -> pd.DataFrame:
    """Numbers by bin, and cells that must stay themselves: near an edge, not finite, text."""
    rng = np.random.default_rng(4)
    n = 300
    x = rng.uniform(-5, 5, n).round(2)
    x[:8] = [np.nan, np.inf, -np.inf, 0.0, 2.5, 2.5 * (1 + 1e-12), -1.0, 5.0]
    text = np.array([f"{v:.1f}" for v in rng.uniform(0, 10, n)], dtype=object)
    text[:7] = ["1e3", " 4.0", "", None, "7", "-0.5", "abc"]
    return pd.DataFrame(
        {
            "x": x,
            "t": text,
            "k": rng.integers(0, 20, n),
            "label": rng.choice(["a", "b"], n),
        }
    )


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_grouped_batches_merge_each_bin_as_the_frame_source(spark, kind, tmp_path):
    df = _binnable_frame()
    path = tmp_path / f"bins.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    bins = {"x": (-5.0, -1.0, 0.0, 2.5, 5.0), "t": (0.0, 3.3, 6.6, 10.0), "k": (0.0, 7.0, 19.0)}
    columns = ["x", "t", "k", "label"]
    frame = read_table(path)[0]
    (want,) = FrameSource(frame, chunk_rows=len(frame), group=True).batches(
        columns, group=True, bins=bins
    )
    got = list(SparkSource(str(path), spark=spark).batches(columns, group=True, bins=bins))
    rows = pd.concat([b.rows for b in got], ignore_index=True)
    firsts = np.concatenate([b.first_rows for b in got])
    weights = np.concatenate([b.weights for b in got])
    order = np.argsort(firsts)
    assert len(want.rows) < len(frame) / 2  # the bins merged rows (the case proves something)
    assert firsts[order].tolist() == want.first_rows.tolist()
    assert weights[order].tolist() == want.weights.tolist()
    pd.testing.assert_frame_equal(rows.iloc[order].reset_index(drop=True), want.rows)
