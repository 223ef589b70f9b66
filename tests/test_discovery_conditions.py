"""core.discovery.conditions: conditions of a column and their one-hot matrix, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicewise.core.discovery.conditions import Predicate, encode_conditions, fmt_number


def test_thresholds_are_written_with_four_significant_digits():
    assert fmt_number(7.21456) == "7.215"
    assert fmt_number(10.0) == "10"
    assert fmt_number(12345.0) == "1.234e+04"
    assert Predicate("snr", "in", (7.2, 10.0)).text == "snr in [7.2, 10)"


def test_a_numeric_column_is_cut_at_its_quartiles_and_missing_gets_its_own_condition():
    # 1..8 and a missing value: quartiles of 1..8 are 1, 2.75, 4.5, 6.25, 8.
    df = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8, None]})
    cond = encode_conditions(df, bins=4)
    assert [p.text for p in cond.predicates] == [
        "x < 2.75",
        "x in [2.75, 4.5)",
        "x in [4.5, 6.25)",
        "x >= 6.25",
        "x is missing",
    ]
    assert cond.codes[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    dense = cond.matrix.toarray()
    assert (dense.sum(axis=1) == 1).all()
    assert dense[np.arange(9), cond.codes[:, 0]].tolist() == [1.0] * 9


def test_columns_get_consecutive_condition_blocks():
    df = pd.DataFrame({"a": ["q", "p", "q"], "b": ["u", "u", "v"], "id": ["1", "2", "3"]})
    cond = encode_conditions(df, max_values=2)
    assert cond.columns == ["a", "b"] and "id" in cond.skipped
    assert [p.text for p in cond.predicates] == ["a = p", "a = q", "b = u", "b = v"]
    assert cond.offsets.tolist() == [0, 2] and cond.cardinality.tolist() == [2, 2]
    assert cond.matrix.toarray().tolist() == [[0, 1, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]]
