"""A numeric slice column holding -inf or +inf is cut at its finite values' quantiles.

The infinite cells fall in the lowest or highest bin, whose name shows the infinite edge;
no ``inf - inf`` is computed (warnings fail the tests), and every engine cuts the same
edges (the streaming engine from weighted distinct values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.metrics.slices import quantile_edges

pytest.importorskip("duckdb")

from engines import assert_same  # noqa: E402


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # By hand: the finite values 0..8 have quantiles 0, 2, 4, 6, 8.
        ([*range(9), np.inf], [0, 2, 4, 6, np.inf]),
        ([-np.inf, *range(9)], [-np.inf, 2, 4, 6, 8]),
        ([-np.inf, *range(9), np.inf, np.nan], [-np.inf, 2, 4, 6, np.inf]),
        ([*range(9)], [0, 2, 4, 6, 8]),
    ],
    ids=["plus inf", "minus inf", "both and a NaN", "finite only"],
)
def test_edges_are_the_finite_quantiles_widened_to_the_infinite_ends(cells, expected):
    edges = quantile_edges(pd.Series(cells, dtype=float), 4)
    np.testing.assert_array_equal(edges, np.asarray(expected, dtype=float))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_engines_cut_infinite_values_alike(kind, tmp_path):
    rng = np.random.default_rng(0)
    n = 3_000
    label = rng.choice(list("abc"), n)
    length = rng.random(n) * 100
    length[[3, 10]] = np.inf
    length[7] = -np.inf
    df = pd.DataFrame(
        {
            "label": label,
            "prediction": np.where(rng.random(n) < 0.7, label, rng.choice(list("abc"), n)),
            "length": length,
        }
    )
    path = tmp_path / f"t.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    table = assert_same(path, slice_by=["length"])
    if kind == "parquet":  # a CSV's "inf" is text to the loader: one slice per value
        names = [str(s) for s in table.index if str(s).startswith("length")]
        assert any(s.endswith("inf]") for s in names) and any("[-inf" in s for s in names)
        assert table.loc[[s for s in names if "[-inf" in s][0], "n"] == n // 4
