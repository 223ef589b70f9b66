"""ui/splits.py: split assignments keyed on a digest of their values."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from slicewise.ui import splits


def test_assignment_key_is_the_digest_of_the_split_codes():
    values = pd.Series(["train", "test", "train", "val"])
    # Categories sort: test=0, train=1, val=2 -> codes 1, 0, 1, 2 as int8.
    expected = hashlib.sha256(np.array([1, 0, 1, 2], dtype="int8").tobytes()).hexdigest()[:16]
    assert splits.Assignment.of(values).key == expected
    other = splits.Assignment.of(pd.Series(["train", "train", "test", "val"]))
    assert other.key != expected


def test_worst_difference_in_points():
    table = pd.DataFrame({"max_diff": [0.012, np.nan, 0.05]})
    assert splits.worst_difference(table) == 5.0
    assert np.isnan(splits.worst_difference(pd.DataFrame({"max_diff": [np.nan]})))
