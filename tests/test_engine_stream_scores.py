"""A numeric score column is checked by one count of its infinite cells, as the loader rules.

The loader refuses a score that is not finite and reads NaN as blank
(:func:`core.column_parsing.parse_score`); the streaming engine counts the infinite cells
and falls back to reading the cells only when there is one, so its verdict and message are
the pandas engine's (re-reading of small files switched off, so the stream's own path runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from engines import both  # noqa: E402

from slicewise.core.engine_stream import StreamSource  # noqa: E402


def _table(score: np.ndarray) -> pd.DataFrame:
    n = len(score)
    return pd.DataFrame(
        {
            "label": np.where(np.arange(n) % 3 == 0, "cat", "dog"),
            "prediction": np.where(np.arange(n) % 4 == 0, "cat", "dog"),
            "score": score,
        }
    )


CASES = {
    "finite": (np.linspace(0, 1, 40), 0),
    "one inf": (np.r_[np.linspace(0, 1, 39), np.inf], 1),
    "minus inf early": (np.r_[-np.inf, np.linspace(0, 1, 39)], 1),
    "nan is blank": (np.r_[np.nan, np.linspace(0, 1, 39)], 0),
}


@pytest.mark.parametrize(("score", "infinite"), CASES.values(), ids=CASES.keys())
def test_stream_scores_are_refused_exactly_as_the_loader_refuses(
    score, infinite, tmp_path, monkeypatch
):
    import slicewise.core.batches.refusals as refusals

    monkeypatch.setattr(refusals, "RELOAD_ROWS", 0)
    path = tmp_path / "s.parquet"
    _table(score).to_parquet(path, index=False)
    with StreamSource(path) as source:
        assert source.count_infinite("score") == infinite  # counted by hand above
    expected, got = both(path)
    if isinstance(expected, str):
        assert infinite and "score" in expected
        assert got == expected
    else:
        assert not infinite
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9)


def test_only_numeric_columns_are_counted(tmp_path):
    path = tmp_path / "s.parquet"
    df = _table(np.linspace(0, 1, 10)).assign(flag=[True, False] * 5, n=np.arange(10))
    df.to_parquet(path, index=False)
    with StreamSource(path) as source:
        assert source.count_infinite("label") is None
        assert source.count_infinite("flag") is None  # true/false: the loader's own refusal
        assert source.count_infinite("n") == 0  # whole numbers are finite
