"""The streaming engine's value counts are exact whatever its estimate guarding them says.

Past ``SAMPLE_FROM`` rows the distinct-value estimate reads a 1% sample of the file; the
sample only decides which columns are grouped, so the counts (checked against pandas'
``value_counts``) and the ``None`` for a column past the limit do not depend on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from slicewise.core.engine_stream import counts  # noqa: E402
from slicewise.core.engine_stream.source import open_source  # noqa: E402


def _table(n: int = 30_000) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    late = np.full(n, "", dtype=object)
    late[-3_000:] = [f"v{i}" for i in range(3_000)]  # many values, all in the last rows
    return pd.DataFrame(
        {
            "tag": np.where(rng.random(n) < 0.05, "x", ""),
            "region": rng.choice(["north", "south", "east"], n),
            "clip": [f"c{i}" for i in range(n)],
            "late": late,
        }
    )


@pytest.mark.parametrize("sample_from", [0, 10**9], ids=["sampled estimate", "whole scan"])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("limit", [5, 4_000])
def test_value_counts_equal_pandas_whatever_the_estimate_reads(
    sample_from, kind, limit, tmp_path, monkeypatch
):
    monkeypatch.setattr(counts, "SAMPLE_FROM", sample_from)
    df = _table()
    path = tmp_path / f"t.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    with open_source(path) as source:
        got = source.value_counts(list(df.columns), limit=limit)
    for column in df.columns:
        # A CSV's empty cell is read as missing; Parquet keeps the empty text.
        cells = df[column].replace("", np.nan) if kind == "csv" else df[column]
        expected = cells.value_counts()
        if len(expected) > limit:
            assert got[column] is None, column
        else:
            mine = got[column]
            assert dict(zip(mine.index.astype(str), mine.to_numpy(), strict=True)) == {
                str(k): int(v) for k, v in expected.items()
            }, column
