"""Counting passes merge the rows of one bin: the same bins, the same table.

:func:`core.batches.frame_source.bin_keys` and the streaming engine's
:func:`core.engine_stream.source.bin_sql` key cells alike (checked by hand and against each
other), the plan offers bins only where the loader reads plain numbers, and the pandas engine's
table (:mod:`engines`) is what binned counting gives, edges hit exactly included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

import duckdb  # noqa: E402
from engines import assert_same  # noqa: E402

from slicewise.core.batches.count import analyze_source  # noqa: E402
from slicewise.core.batches.frame_source import FrameSource, bin_keys  # noqa: E402
from slicewise.core.batches.plan import build_plan  # noqa: E402
from slicewise.core.engine_stream.source import bin_sql, open_source  # noqa: E402
from slicewise.core.reading import read_table  # noqa: E402

EDGES = (0.0, 2.0, 4.0, 8.0)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # By hand: inner edges 2 and 4; a cell on an edge, blank or spelled otherwise stays.
        (["1.5", "2.5", "abc", None, "4.25", "+1", "2", " 3"], [0, 1, -1, -1, 2, -1, -1, -1]),
        ([1.5, 2.5, np.nan, 4.0, 7.0, -3.0, 8.5], [0, 1, -1, -1, 2, 0, 2]),
    ],
)
def test_bin_keys_by_hand(cells, expected):
    got = bin_keys(pd.Series(cells, dtype=object if isinstance(cells[0], str) else float), EDGES)
    assert got.tolist() == expected


@pytest.mark.parametrize("text", [True, False])
def test_sql_and_python_keys_agree(text):
    rng = np.random.default_rng(7)
    values = np.round(rng.uniform(-1, 9, 500), 2)
    values[:5] = EDGES + (np.nan,) if not text else EDGES + (1.0,)
    cells = pd.Series([f"{v:.2f}" for v in values]) if text else pd.Series(values)
    expected = bin_keys(cells, EDGES)
    con = duckdb.connect()
    con.register("c", pd.DataFrame({"v": cells}))
    inside, code = bin_sql('"v"', EDGES, text=text)
    got = con.sql(f"SELECT CASE WHEN {inside} THEN {code} END FROM c").fetchall()
    assert [-1 if g is None else g for (g,) in got] == expected.tolist()
    assert (expected >= 0).sum() > 400  # most cells are binned


def _table(n: int = 3_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(["a", "b", "c"], n)
    return pd.DataFrame(
        {
            "label": label,
            "prediction": np.where(rng.random(n) < 0.7, label, rng.choice(["a", "b", "c"], n)),
            "score": np.round(rng.random(n), 4),
            "site": rng.choice(["x", "y"], n),
            # Few values: quantile edges fall on values, which must count in the right bin.
            "snr": np.where(rng.random(n) < 0.05, np.nan, rng.integers(0, 12, n) / 4),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_binned_counting_gives_the_pandas_table(tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    df = _table()
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path, index=False)
    table = assert_same(path, None, slice_by=["site", "snr"])
    assert isinstance(table, pd.DataFrame)
    # Independent: the "All data" size is the file's rows; the site slices split them.
    assert int(table.loc["All data", "n"]) == len(df) if "n" in table.columns else True
    with open_source(path) as source:
        plan = build_plan(source, slice_by=["site", "snr"])
        assert [c for c, _ in plan.bins] == ["snr"]
        assert plan.apart == ("score",) and "score" not in plan.count_columns


@pytest.mark.parametrize("group", [True, False])
def test_frame_source_with_bins_gives_the_same_table(tmp_path, group):
    path = tmp_path / "t.csv"
    _table(800, 4).to_csv(path, index=False)
    raw = read_table(path)[0]
    plain = analyze_source(FrameSource(raw, path.name, chunk_rows=300), slice_by=["snr"])
    grouped = analyze_source(
        FrameSource(raw, path.name, chunk_rows=300, group=group), slice_by=["snr"]
    )
    pd.testing.assert_frame_equal(plain.table, grouped.table)


@pytest.mark.parametrize(
    ("options", "binned"),
    [({}, True), ({"na_values": ["-1"]}, False), ({"decimal": "."}, False)],
)
def test_bins_only_where_cells_read_as_plain_numbers(tmp_path, options, binned):
    path = tmp_path / "t.csv"
    _table(400).to_csv(path, index=False)
    raw = read_table(path)[0]
    plan = build_plan(FrameSource(raw, path.name), slice_by=["snr"], **options)
    assert bool(plan.bins) is binned


@pytest.mark.parametrize(
    "extra",
    [["1,000", "0,000", "x00y010", "00"], ["1,000", "٣0", "x00"], ["a\x000", "a0", "-0.05"]],
)
def test_number_shapes_keep_the_regex_rule(extra):
    from slicewise.core.batches.plan import number_shapes

    cells = pd.Series([f"{v:.3f}" for v in np.random.default_rng(3).random(2_000)] + extra)
    # Independent: the rule written as regexes (a 0 after a digit, any digit 1-9, is 1).
    shape = cells.str.replace(r"[1-9]", "1", regex=True).str.replace(r"(?<=\d)0", "1", regex=True)
    expected = cells.groupby(shape.to_numpy(), sort=False).max()
    assert list(number_shapes(cells)) == list(expected)
    assert "1,000" not in extra or "1,000" in list(number_shapes(cells))
