"""Few-valued text columns grouped on one packed integer make exactly the cells' groups.

Checked against pandas' own grouping of the cells (missing cells a group of their own), with
quotes, blanks, non-ASCII text and missing cells among the values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

duckdb = pytest.importorskip("duckdb")

from slicewise.core.engine_stream.packing import (  # noqa: E402
    PACK_VALUES,
    PACKED,
    in_order,
    packed_relation,
    packs_of,
    unpacked,
)


def _frame(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "tag": rng.choice(["x", "", None], n),
            "quote": rng.choice(["it's", 'say "hi"', "é", None], n),
            "region": rng.choice(["n", "s"], n),
            "wide": [f"v{i % (PACK_VALUES + 5)}" for i in range(n)],  # too many values
            "number": rng.integers(0, 3, n),  # not text
        }
    ).astype({c: "string" for c in ("tag", "quote", "region", "wide")})


def _counts(df: pd.DataFrame) -> dict:
    return {c: (df[c].value_counts(dropna=True), len(df)) for c in df.columns}


def test_packs_are_the_few_valued_text_columns_counted_before():
    df = _frame()
    packs = packs_of(list(df.columns), _counts(df), dict(df.dtypes))
    assert [p.column for p in packs] == ["tag", "quote", "region"]
    assert [p.unit for p in packs] == [1, 3, 3 * 4]  # mixed radix: values + missing
    assert packs_of(["tag", "wide"], _counts(df), dict(df.dtypes)) == []  # one alone: no gain
    assert packs_of(["tag", "quote"], {}, dict(df.dtypes)) == []  # values not counted


def test_grouping_the_packed_key_makes_the_cells_groups():
    df = _frame()
    columns = ["tag", "quote", "region", "number"]
    packs = packs_of(columns, _counts(df), dict(df.dtypes))
    con = duckdb.connect()
    con.register("t", df.reset_index().rename(columns={"index": "__row"}))
    relation, keyed = packed_relation("t", columns, packs)
    assert keyed == ["number", PACKED]
    query = (
        f"SELECT {', '.join(keyed)}, count(*)::BIGINT AS __w, min(__row) AS __first "
        f"FROM {relation} GROUP BY ALL ORDER BY __first"
    )
    got = in_order(unpacked(con.sql(query).df(), packs), columns)
    expected = (
        df.reset_index()
        .groupby(columns, dropna=False, sort=False)
        .agg(__w=("index", "size"), __first=("index", "min"))
        .reset_index()
        .sort_values("__first", ignore_index=True)
    )
    assert list(got.columns) == [*columns, "__w", "__first"]
    assert got["__w"].tolist() == expected["__w"].tolist()
    assert got["__first"].tolist() == expected["__first"].tolist()
    for c in ("tag", "quote", "region"):
        assert got[c].dtype == df[c].dtype
        assert got[c].fillna("<NA>").tolist() == expected[c].fillna("<NA>").tolist()


def test_a_cell_outside_the_counted_values_is_refused_not_merged():
    df = _frame(50)
    packs = packs_of(["tag", "region"], _counts(df), dict(df.dtypes))
    broken = pd.DataFrame({PACKED: pd.array([0, None], dtype="Int64")})
    with pytest.raises(RuntimeError, match="none of its column's counted values"):
        unpacked(broken, packs)
