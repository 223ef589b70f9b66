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


def _source(path, chunk, group):
    frame, _, read_warnings = read_table(path)
    return FrameSource(frame, path.name, chunk_rows=chunk, group=group, warnings=read_warnings)


def _compare(path, chunk, group, *, load=None, analysis=None):
    load, analysis = load or {}, analysis or {}
    expected = analyze(load_dataset(path, **load), **analysis)
    got = analyze_source(_source(path, chunk, group), **load, **analysis).table
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, check_exact=False)


def _fails_as_in_pandas(path, chunk, group, **load) -> DataError:
    """Assert analyze_source raises the loader's error (same type, same message); return it."""
    with pytest.raises(DataError) as expected:
        load_dataset(path, **load)
    with pytest.raises(DataError) as got:
        analyze_source(_source(path, chunk, group), **load)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)
    return expected.value


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
    _fails_as_in_pandas(path, 3, group)


@pytest.mark.parametrize("group", [False, True])
def test_bad_score_and_missing_labels_fail_as_in_pandas(group, tmp_path):
    df = _compas(20).astype(object)
    df["score"] = [f"0.{i}" for i in range(20)]
    df.loc[13, "score"] = "high"
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    _fails_as_in_pandas(path, 4, group)


@pytest.mark.parametrize("n", [1, 2, 5, 11, 1000])
def test_weighted_quantiles_are_numpys(n):
    rng = np.random.default_rng(n)
    column = rng.integers(0, 7, n).astype(float) / 3
    values, weights = np.unique(column, return_counts=True)
    qs = np.linspace(0, 1, 5)
    assert np.array_equal(weighted_quantiles(values, weights, qs), np.nanquantile(column, qs))


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
    _fails_as_in_pandas(bad, chunk, group)


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
    import slicewise.core.batches.refusals as refusals

    monkeypatch.setattr(refusals, "RELOAD_ROWS", cap)
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
    else:  # the batch's error, not re-read: the file, the column, the cell and its file row
        assert str(got.value).startswith("s.csv: the score column 'score'")
        assert "'high' in row 15" in str(got.value)


@pytest.mark.parametrize("k", [0, 1, 4])
def test_same_members_by_hand(k):
    member = np.array([[1, 1, 0, 1], [0, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)[:, :k]
    info = pd.DataFrame({"kind": ["tag"] * k}, index=[f"s{i}" for i in range(k)])
    got = same_members(info, co_membership(member))["same_as"].tolist()
    # By hand: s1 and s3 hold rows 0 and 2, as s0 does; s2 holds row 1 alone.
    assert got == [None, "s0", None, "s0"][:k]


# Siblings of the streaming engine's cases (tests/test_engine_duckdb*.py), pinned on the
# shared code: every plan decision must be the loader's on the whole table.
SIBLINGS = [(1, False), (7, False), (7, True)]


@pytest.mark.parametrize(("chunk", "group"), SIBLINGS)
@pytest.mark.parametrize(
    ("cells", "bins"),
    [([1, 2, 3, 4, 5, 6], 8), ([1, 2, 3, 4, 5, 6], 2), ([1.5, 2, 3, 4, 5, 6], 8), ([1, 2], 8)],
)
def test_whole_number_metadata_is_sliced_as_integers(chunk, group, cells, bins, tmp_path):
    path = tmp_path / "m.csv"
    labels = ["a", "b"] * 3
    rows = [f"{y};a;{c}" for y, c in zip(labels, cells * 3, strict=False)]
    path.write_text("label;prediction;m\n" + "\n".join(rows) + "\n")
    from slicewise.core.column_roles import ColumnMapping

    load = {"mapping": ColumnMapping(tag_columns=())}
    _compare(path, chunk, group, load=load, analysis={"slice_by": ["m"], "bins": bins})


@pytest.mark.parametrize(("chunk", "group"), SIBLINGS)
@pytest.mark.parametrize(
    ("label", "prediction"),
    [
        (["True", "False", "True"], ["true", "false", "true"]),  # "true" is the most frequent
        (["1", "0", "2"], ["1.0", "0", "2.0"]),  # the spelling of 1 and 2 is "1.0", "2.0"
        (["1", "0", "2"], ["1", "0.0", "2"]),
    ],
)
def test_sliced_classes_are_spelled_as_the_whole_file_spells_them(
    chunk, group, label, prediction, tmp_path
):
    path = tmp_path / "c.csv"
    rows = [f"{y},{p}" for y, p in zip(label * 3, prediction * 3 + prediction[:1], strict=False)]
    rows += [f"{label[0]},{prediction[0]}", f"{prediction[1]},{prediction[1]}"]
    path.write_text("label,prediction\n" + "\n".join(rows) + "\n")
    _compare(path, chunk, group, analysis={"slice_by": ["label", "prediction"]})


@pytest.mark.parametrize(("chunk", "group"), [(997, False), (997, True), (4000, True)])
def test_tag_columns_of_every_kind_are_detected_on_the_whole_file(chunk, group, tmp_path):
    rng = np.random.default_rng(5)
    n = 12_000  # beyond the 10,000-row head
    df = pd.DataFrame({"label": rng.choice(["a", "b"], n), "prediction": rng.choice(["a", "b"], n)})
    df["t_int"] = rng.integers(0, 2, n)
    df["t_bool"] = rng.choice([True, False], n)
    df["t_gaps"] = rng.choice([1.0, 0.0, np.nan], n)
    df["t_upper"] = rng.choice(["X", "", None], n)
    df["never"] = rng.choice(["no", None], n)  # no true value: not a tag
    df["late_bad"] = np.where(np.arange(n) < 11_000, rng.choice(["x", ""], n), "zzz")
    df["late_tag"] = np.where(np.arange(n) < 11_000, "", rng.choice(["x", ""], n))
    for name in ("tags.csv", "tags.parquet"):
        path = tmp_path / name
        df.to_csv(path, index=False) if name.endswith("csv") else df.to_parquet(path)
        _compare(path, chunk, group, analysis={"slice_by": ["late_bad"]})


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("scores", [["0.5", "0.25"], ["0.5", "1,5"]])
def test_a_score_that_fits_no_given_format_is_read_as_the_loader_reads_it(group, scores, tmp_path):
    # With --decimal , the loader reads 0.5 as a plain number (and refuses 1,5 then).
    path = tmp_path / "s.csv"
    rows = [f'a,{"ab"[i % 2]},"{scores[i % 2]}"' for i in range(6)]
    path.write_text("label,prediction,score\n" + "\n".join(rows) + "\n")
    for chunk in (1, 7):
        try:
            expected = analyze(load_dataset(path, decimal=","))
        except DataError as error:
            with pytest.raises(DataError) as got:
                analyze_source(_source(path, chunk, group), decimal=",")
            assert str(got.value) == str(error)
            continue
        got = analyze_source(_source(path, chunk, group), decimal=",").table
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("n", [1, 3, 50])
def test_class_pairs_are_the_pairs_that_occur(n):
    from slicewise.core.batches.count import class_pairs

    label = pd.Series([f"c{i}" for i in range(n)] * 2)
    prediction = pd.Series([f"c{i}" for i in range(n)] + [f"c{(i + 1) % n}" for i in range(n)])
    pairs = class_pairs(label, prediction, np.full(2 * n, 2.0))
    # By hand: each class right once and wrong once (as the next class); one class alone
    # is right twice.
    expected = {(f"c{i}", f"c{i}"): 2.0 for i in range(n)}
    for i in range(n):
        key = (f"c{i}", f"c{(i + 1) % n}")
        expected[key] = expected.get(key, 0.0) + 2.0
    assert pairs.to_dict() == expected


@pytest.mark.parametrize(("cap", "refused"), [(40, False), (39, True), (5, True)])
def test_too_many_values_are_refused_before_any_pass(cap, refused, tmp_path, monkeypatch):
    path = tmp_path / "sessions.csv"
    rows = [f"{'ab'[i % 2]},a,s{i:03d}" for i in range(40)]
    path.write_text("label,prediction,session\n" + "\n".join(rows) + "\n")
    source = _source(path, 7, True)
    streamed = []
    real = source.batches
    monkeypatch.setattr(source, "batches", lambda *a, **k: streamed.append(1) or real(*a, **k))
    monkeypatch.setattr("slicewise.core.batches.refusals.EXACT_REFUSAL_ROWS", 0)
    if not refused:
        analyze_source(source, slice_by=["session"], max_slices=cap)
        return
    with pytest.raises(DataError, match=f"'session': it has about 40 .* cap of {cap} "):
        analyze_source(source, slice_by=["session"], max_slices=cap)
    assert not streamed  # refused from the value counts: no row was streamed


@pytest.mark.parametrize("role", ["prediction", "label", "id"])
@pytest.mark.parametrize(("chunk", "group"), [(1, False), (2, True)])
def test_a_nested_role_is_refused_as_the_loader_refuses_it(role, chunk, group, tmp_path):
    df = pd.DataFrame({"id": [1, 2, 3], "label": ["a", "b", "a"], "prediction": ["a", "a", "b"]})
    df[role] = [[1], [2], [3]]
    path = tmp_path / "nested.parquet"
    df.to_parquet(path)
    assert "holds lists, structs or maps" in str(_fails_as_in_pandas(path, chunk, group))


@pytest.mark.parametrize(("chunk", "group"), SIBLINGS)
@pytest.mark.parametrize(
    ("last", "kept"),
    [("a,,y", 3), ("a,y,y", None), (" a ,y,y", None), ("7,,x", 3), ("8,y,y", 4)],
)
def test_ids_repeat_only_over_the_rows_kept(chunk, group, last, kept, tmp_path):
    # By hand: a row without a label is left out, so its id repeats no kept id.
    path = tmp_path / "ids.csv"
    path.write_text(f"id,label,prediction\n007,x,x\n7,y,x\na,x,y\n{last}\n")
    if kept is None:
        _fails_as_in_pandas(path, chunk, group, missing="drop")
        return
    got = analyze_source(_source(path, chunk, group), missing="drop").table
    assert got.loc["All data", "n"] == kept
    pd.testing.assert_frame_equal(got, analyze(load_dataset(path, missing="drop")))


@pytest.mark.parametrize("k", [1, 3, 64, 65, 200])  # dense up to 64 slices, sparse beyond
@pytest.mark.parametrize("weighted", [False, True])
def test_co_membership_counts_rows_in_both_slices(k, weighted):
    rng = np.random.default_rng(k)
    member = rng.random((70_000, k)) < 0.2  # more rows than one dense chunk
    weights = rng.integers(1, 50, len(member)) if weighted else None
    w = np.ones(len(member)) if weights is None else weights
    # Independently: for each pair of slices, the weighted rows in both, by a loop over pairs.
    expected = np.array(
        [[np.sum(w * (member[:, i] & member[:, j])) for j in range(k)] for i in range(k)]
    )
    np.testing.assert_array_equal(co_membership(member, weights), expected)
