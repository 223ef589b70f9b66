"""Tag scopes in the per-slice table (core.tag_scope.table), on hand-built count tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, prepare
from slicewise.core.slice_names import UNTAGGED
from slicewise.core.tag_scope.table import count_figures, infer_row_scopes


def _table(n_tag: int, errors_tag: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    # 100 examples, 16 errors; the tag row and the No tag row.
    table = pd.DataFrame(
        {"n": [100, n_tag, 50], "errors": [16, errors_tag, 10]},
        index=["All data", "t", UNTAGGED],
    )
    info = pd.DataFrame({"kind": ["all", "tag", "untagged"], "source": [None, "t", None]})
    info.index = table.index
    return table, info


@pytest.mark.parametrize(
    ("n", "blank", "expected"),
    [
        (3, True, "errors"),  # 0.16 ** 3 = 0.0041 < 1%: not by chance
        (2, True, "all"),  # 0.16 ** 2 = 0.0256: could be chance
        (3, False, "all"),  # "no" written out: known everywhere
    ],
)
def test_auto_reads_a_blank_tag_carried_by_errors_only_beyond_chance(n, blank, expected):
    table, info = _table(n, n)
    scopes = infer_row_scopes(table, info, blank_tags=["t"] if blank else [])
    assert scopes == {"t": expected, UNTAGGED: expected}


def test_count_figures_of_an_errors_scope_row():
    table, _ = _table(3, 3)
    row = count_figures(table, {"t": "errors"}).loc["t"]
    assert row["scope"] == "errors"
    assert row["error_share"] == pytest.approx(3 / 16)
    assert row["max_gain"] == pytest.approx(3 / 100)
    assert np.isnan(row["accuracy"])


def test_a_human_label_baseline_is_dropped_from_a_tag_known_on_errors_only():
    correct = [0, 0, 1, 1] * 5
    frame = pd.DataFrame(
        {
            "id": range(20),
            "label": "a",
            "prediction": ["a" if c else "b" for c in correct],
            "human": "a",
            "t": ["x", "x", "", ""] * 5,
        }
    )
    table = analyze(prepare(frame, ColumnMapping(tag_columns=("t",))), tag_scopes="errors")
    row = table.loc["t"]
    assert row["scope"] == "errors"
    assert row["accuracy"] is None or np.isnan(row["accuracy"])
    assert row["hlp_source"] == "none"
    assert row["hlp"] is None or np.isnan(row["hlp"])
