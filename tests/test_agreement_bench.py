"""benchmarks/bench_agreement.py: the generated long file and the core comparison's rows."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_agreement as bench  # noqa: E402


@pytest.mark.parametrize(("items", "per_item"), [(2000, 20), (1000, 51)])
def test_long_labels_look_like_cifar10h(items, per_item):
    labels = bench.make_long_labels(items, per_item)
    assert not labels.duplicated(["item", "annotator"]).any()
    per = labels.groupby("item").size()
    assert len(per) == items and per.min() >= 2
    assert per.mean() == pytest.approx(per_item, rel=0.1)
    per_annotator = labels.groupby("annotator").size().mean()
    assert per_annotator == pytest.approx(bench.LABELS_PER_ANNOTATOR, rel=0.1)
    assert set(labels["label"]) <= set(bench.CLASSES)


def test_reliability_matrix_holds_each_label_once():
    labels = bench.make_long_labels(200, 6)
    matrix = bench.reliability_matrix(labels)
    assert np.count_nonzero(~np.isnan(matrix)) == len(labels)
    assert matrix.shape == (labels["annotator"].nunique(), labels["item"].nunique())


def test_core_row_has_per_pair_ratios():
    labels = bench.make_long_labels(300, 8)
    row = bench.bench_core(labels, repeats=2)
    assert row["target"] == 2.0 and len(row["ratios"]) == 2
    assert row["seconds"] > 0 and row["peer_seconds"] > 0
    assert row["ratio"] == pytest.approx(np.median(row["ratios"]), abs=0.01)
