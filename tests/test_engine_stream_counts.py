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


def test_grouping_decided_from_a_sample_still_gives_the_pandas_table(tmp_path, monkeypatch):
    from engines import assert_same

    from slicewise.core.engine_stream import source as stream

    monkeypatch.setattr(stream, "SAMPLE_FROM", 0)
    monkeypatch.setattr(stream, "SAMPLE_MIN_ROWS", 0)
    monkeypatch.setattr(stream, "BATCH_ROWS", 5_000)  # else so few rows need no estimate
    rng = np.random.default_rng(8)
    n = 40_000
    label = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "label": label,
            "prediction": np.where(rng.random(n) < 0.8, label, "b"),
            "score": rng.random(n),
            "night": np.where(rng.random(n) < 0.1, "x", ""),
        }
    )
    path = tmp_path / "t.parquet"
    df.to_parquet(path, index=False)
    answers = []
    real = stream.StreamSource._narrow_sample

    def spy(self, *args):
        answers.append(real(self, *args))
        return answers[-1]

    monkeypatch.setattr(stream.StreamSource, "_narrow_sample", spy)
    assert_same(path)  # the counts are exact whichever way the grouping was decided
    assert any(a is not None for a in answers)  # and a sample did decide one


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_few_valued_columns_counted_together_equal_a_count_per_column(kind, tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    n = 5_000
    df = pd.DataFrame(
        {
            "tag": np.where(rng.random(n) < 0.05, "x", ""),
            "night": rng.choice(["yes", "no", None], n),
            "region": rng.choice(["north", "south", "east"], n),
            "level": rng.integers(0, 4, n),
        }
    )
    path = tmp_path / f"t.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    used = []
    real = counts.ValueCounts._patterns

    def spy(self, *args):
        used.append(args[0])
        return real(self, *args)

    monkeypatch.setattr(counts.ValueCounts, "_patterns", spy)
    with open_source(path) as source:
        together = source.value_counts(list(df.columns), limit=10)
    assert used  # the columns were counted in one grouping
    monkeypatch.setattr(counts, "PATTERN_GROUPS", 0)  # a grouping set per column instead
    with open_source(path) as source:
        apart = source.value_counts(list(df.columns), limit=10)
    for column in df.columns:
        pd.testing.assert_series_equal(together[column].sort_index(), apart[column].sort_index())
        cells = df[column].replace("", np.nan) if kind == "csv" else df[column]
        assert together[column].sum() == cells.notna().sum()  # missing left out
