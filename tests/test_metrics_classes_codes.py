"""Class codes of the per-class results (core.metrics.classes): each column hashed once.

The expected classes and codes are the definition written out: every cell as text
(``astype(str)``, missing cells NaN), both columns together, sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.metrics.classes import _class_codes, compute_confusion_pairs


def _by_definition(frame: pd.DataFrame) -> tuple[list[str], list[int], list[int]]:
    y = frame["label"].astype(str).to_numpy(dtype=object)
    p = frame["prediction"].astype(str).to_numpy(dtype=object)
    codes, classes = pd.factorize(np.concatenate([y, p]), sort=True, use_na_sentinel=False)
    return [str(c) for c in classes], codes[: len(y)].tolist(), codes[len(y) :].tolist()


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"label": ["b", "a", "b"], "prediction": ["a", "c", "b"]}),
        pd.DataFrame({"label": ["a", None, "b", 1, "1"], "prediction": ["b", "a", None, "1", 2.5]}),
        pd.DataFrame({"label": [1.0, 2.0, np.nan, 1.0], "prediction": [1, 2, 3, 1]}),
        pd.DataFrame({"label": [True, False, True], "prediction": ["True", "False", "true"]}),
        pd.DataFrame(
            {
                "label": pd.Series(["x", "y", None, "x"], dtype="str"),
                "prediction": pd.Series(["x", pd.NA, "y", "z"], dtype="string"),
            }
        ),
        pd.DataFrame({"label": pd.Categorical(["b", "a", "b"]), "prediction": ["a", "c", "b"]}),
        pd.DataFrame({"label": ["nan", "None"], "prediction": [None, np.nan]}),
    ],
)
def test_class_codes_are_every_cell_as_text_sorted(frame):
    classes, y, p, weights = _class_codes(frame, None)
    assert weights is None  # one row per example
    assert ([str(c) for c in classes], y.tolist(), p.tolist()) == _by_definition(frame)


def test_confusion_pairs_of_a_large_frame_count_every_row():
    rng = np.random.default_rng(3)
    names = np.array(["cat", "dog", "7", "07"], dtype=object)
    frame = pd.DataFrame({"label": names[rng.integers(0, 4, 5000)]})
    frame["prediction"] = names[rng.integers(0, 4, 5000)]
    pairs = compute_confusion_pairs(frame)
    expected = frame.value_counts(["label", "prediction"])  # an independent count
    got = pairs.set_index(["label", "prediction"])["count"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()


@pytest.mark.parametrize("n_classes", [3, 200, 300])
def test_confusion_pairs_count_every_cell_however_many_classes(n_classes):
    # 3 and 200 classes (40,000 cells): a count per cell; 300 (90,000 cells): the sort.
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, n_classes, 2000)
    p = np.where(rng.random(2000) < 0.7, y, rng.integers(0, n_classes, 2000))
    frame = pd.DataFrame({"label": [f"c{v}" for v in y], "prediction": [f"c{v}" for v in p]})
    pairs = compute_confusion_pairs(frame)
    # Independent: a Counter of the (label, prediction) pairs.
    from collections import Counter

    expected = Counter(zip(frame["label"], frame["prediction"], strict=True))
    cells = zip(pairs["label"], pairs["prediction"], strict=True)
    got = dict(zip(cells, pairs["count"], strict=True))
    assert got == dict(expected)
    order = sorted(expected, key=lambda c: (-expected[c], c))
    assert list(zip(pairs["label"], pairs["prediction"], strict=True)) == order
