"""The shared batch code gives the pandas engine's table and errors (core.batches).

Expected values come from an independent path: ``analyze(load_dataset(file))``, the
pandas engine, on the same file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.batches.count import analyze_source, co_membership, same_members
from slicewise.core.batches.frame_source import FrameSource
from slicewise.core.batches.plan import column_format, number_shapes, weighted_quantiles
from slicewise.core.dataset import load_dataset
from slicewise.core.errors import DataError
from slicewise.core.reading import read_table
from slicewise.core.values import NumberFormat, infer_number_format

DEMO = ["demo_data/inspection_predictions.csv", "demo_data/speech_predictions.csv"]
CHUNKS = [(1, False), (7, False), (7, True), (1000, True)]


def _compare(path, chunk, group, *, load=None, analysis=None):
    load, analysis = load or {}, analysis or {}
    expected = analyze(load_dataset(path, **load), **analysis)
    source = FrameSource(read_table(path)[0], path.name, chunk_rows=chunk, group=group)
    got = analyze_source(source, **load, **analysis).table
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, check_exact=False)


@pytest.mark.parametrize(("chunk", "group"), [(7, False), (1000, True), (50, True)])
@pytest.mark.parametrize("name", DEMO)
def test_demo_files_give_the_pandas_table(name, chunk, group, tmp_path):
    from pathlib import Path

    _compare(Path(name), chunk, group)


def _compas(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "label": label,
            "prediction": np.where(rng.random(n) < 0.7, label, 1 - label),
            "race": rng.choice(["a", "b", "c"], n),
            "age": rng.integers(18, 70, n),
            "priors": rng.choice(["0", "1", "2", "3"], n),
        }
    )


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_binary_with_protected_and_numeric_slices(chunk, group, tmp_path):
    path = tmp_path / "compas.csv"
    _compas().to_csv(path, index=False)
    _compare(path, chunk, group, analysis={"slice_by": ["race", "age"], "protected": ["race"]})


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_missing_rows_dropped_and_na_tokens(chunk, group, tmp_path):
    df = _compas(60).astype(object)
    df.loc[[3, 17, 40], "label"] = None
    df.loc[5, "prediction"] = "NA"
    path = tmp_path / "m.csv"
    df.to_csv(path, index=False)
    load = {"missing": "drop", "na_values": ("NA",)}
    _compare(path, chunk, group, load=load, analysis={"slice_by": ["age"]})


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_regression_and_decimal_commas(chunk, group, tmp_path):
    rng = np.random.default_rng(5)
    y = rng.normal(size=80).round(3)
    df = pd.DataFrame(
        {
            "label": y,
            "prediction": (y + rng.normal(size=80) / 10).round(3),
            "size": [f"{v:.2f}".replace(".", ",") for v in rng.random(80)],
        }
    )
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    _compare(path, chunk, group, analysis={"slice_by": ["size"]})


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_leading_zero_classes_and_error_only_tags(chunk, group, tmp_path):
    df = pd.DataFrame(
        {
            "label": ["01", "1", "1", "2", "01", "2"] * 5,
            "prediction": ["01", "1", "2", "2", "1", "01"] * 5,
            "blurry": ["", "", "x", "", "x", "x"] * 5,
        }
    )
    path = tmp_path / "c.csv"
    df.to_csv(path, index=False)
    _compare(path, chunk, group)


@pytest.mark.parametrize("group", [False, True])
def test_repeated_ids_across_chunks_fail_as_in_pandas(group, tmp_path):
    df = _compas(20)
    df.insert(0, "id", [f"r{i}" for i in range(19)] + ["r2"])
    path = tmp_path / "ids.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as expected:
        load_dataset(path)
    source = FrameSource(read_table(path)[0], path.name, chunk_rows=3, group=group)
    with pytest.raises(type(expected.value)) as got:
        analyze_source(source)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("group", [False, True])
def test_bad_score_and_missing_labels_fail_as_in_pandas(group, tmp_path):
    df = _compas(20).astype(object)
    df["score"] = [f"0.{i}" for i in range(20)]
    df.loc[13, "score"] = "high"
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as expected:
        load_dataset(path)
    source = FrameSource(read_table(path)[0], path.name, chunk_rows=4, group=group)
    with pytest.raises(type(expected.value)) as got:
        analyze_source(source)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("n", [1, 2, 5, 11, 1000])
def test_weighted_quantiles_are_numpys(n):
    rng = np.random.default_rng(n)
    column = rng.integers(0, 7, n).astype(float) / 3
    values, weights = np.unique(column, return_counts=True)
    qs = np.linspace(0, 1, 5)
    assert np.array_equal(weighted_quantiles(values, weights, qs), np.nanquantile(column, qs))


def _source(path, chunk, group):
    frame, _, read_warnings = read_table(path)
    return FrameSource(frame, path.name, chunk_rows=chunk, group=group, warnings=read_warnings)


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_warnings_are_the_loaders_unsliced_two_way_column_and_dropped_rows(chunk, group, tmp_path):
    df = _compas(40).astype(object)
    df["weight"] = ["1,234", "2,500", "3,750", "0,125"] * 10  # decimal comma or thousands
    df.loc[[4, 9], "label"] = None
    path = tmp_path / "w.csv"
    df.to_csv(path, index=False)
    expected = load_dataset(path, missing="drop").warnings
    got = analyze_source(_source(path, chunk, group), missing="drop").all_warnings
    assert len(expected) == 2 and got == expected


@pytest.mark.parametrize(("chunk", "group"), CHUNKS)
def test_padded_ids_repeat_as_in_pandas_and_leading_zeros_do_not(chunk, group, tmp_path):
    df = _compas(12)
    df.insert(0, "id", [str(i) for i in range(12)])
    df.loc[11, "id"] = "07"  # "07" and "7" are two ids
    path = tmp_path / "ok.csv"
    df.to_csv(path, index=False)
    _compare(path, chunk, group)
    df.loc[10, "id"] = " 3"  # " 3" and "3" are one id
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    with pytest.raises(DataError) as expected:
        load_dataset(bad)
    with pytest.raises(type(expected.value)) as got:
        analyze_source(_source(bad, chunk, group))
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    ("cells", "fmt"),
    [
        (["0.5", "12.25", "3"], NumberFormat(".")),
        (["1,5", "12,25", "0,75"], NumberFormat(",")),
        (["1.234,5", "12,25"], NumberFormat(",", ".")),
        (["1,234", "2,500"], "ambiguous"),
        (["0,000"], NumberFormat(",")),  # both formats read 0: not ambiguous
        (["007", "1"], None),  # a leading zero is a code
    ],
)
def test_number_format_from_one_cell_per_shape_is_the_whole_columns(cells, fmt):
    # Independent path: the loader's rule on every cell.
    assert infer_number_format(pd.Series(cells)) == fmt
    assert column_format(number_shapes(pd.Series(cells * 3)), decimal=None, thousands=None) == fmt


@pytest.mark.parametrize("cap", [10_000, 5])
def test_errors_reread_the_table_only_below_the_row_cap(cap, tmp_path, monkeypatch):
    import slicewise.core.batches.plan as plan

    monkeypatch.setattr(plan, "RELOAD_ROWS", cap)
    df = _compas(20).astype(object)
    df["score"] = [f"0.{i}" for i in range(20)]
    df.loc[13, "score"] = "high"
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as expected:
        load_dataset(path)
    with pytest.raises(DataError) as got:
        analyze_source(_source(path, 4, True))
    if cap > 20:  # the pandas engine's own error
        assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)
    else:  # the plan's own error: the file, the column and the cell
        assert str(got.value).startswith("s.csv: the column 'score'") and "'high'" in str(got.value)


@pytest.mark.parametrize("k", [0, 1, 4])
def test_same_members_by_hand(k):
    member = np.array([[1, 1, 0, 1], [0, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)[:, :k]
    info = pd.DataFrame({"kind": ["tag"] * k}, index=[f"s{i}" for i in range(k)])
    got = same_members(info, co_membership(member))["same_as"].tolist()
    # By hand: s1 and s3 hold rows 0 and 2, as s0 does; s2 holds row 1 alone.
    assert got == [None, "s0", None, "s0"][:k]
