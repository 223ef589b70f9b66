"""`compare` class by class stays quick at 10,000 classes and gives the same results as before.

``compare_classes`` looped over the classes, one ``_metric_change`` per class and metric
(~7 ms each): 80 s and 490 MB for the 10,000-class file of tests/hostile_files.py. It now
counts every class at once. The oracle here is the old loop itself (``slow_changes``, kept
below as the slow reference): on seeded random files (same examples, partly or wholly
different ones, relabelled examples, a binary task) every column of every per-class table
must equal it exactly, randomization p-values of F1 included. The batched randomization
helpers are checked against the one-metric functions, and the 10,000-class file must go
through ``slicewise compare`` in table and JSON form in well under 10 s (bound: 30 s).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hostile_files import many_classes

from slicewise.core.cli import main
from slicewise.core.compare import (
    CLASS_METRICS,
    METRICS,
    compare_classes,
    label_differences,
    paired_randomization_p,
    unpaired_randomization_p,
)
from slicewise.core.compare.classes import _class_codes
from slicewise.core.compare.metric_specs import _parts
from slicewise.core.compare.pairing import _labels_from, _union
from slicewise.core.compare.significance import _dealt_p, _paired_randomization_many
from slicewise.core.compare.slice_change import _metric_change
from slicewise.core.dataset import ColumnMapping, Dataset, dataset_from_frame
from slicewise.core.task import TaskSpec

MAPPING = ColumnMapping(label="label", prediction="prediction", id="id")
MULTI = TaskSpec(kind="classification")
MAX_SECONDS = 30  # about 4 s (table) and 5 s (JSON) here; 80 s before
DRAWS = 199  # fewer draws keep the reference quick; the path is the same as with 1,999


def ds(frame: pd.DataFrame, name: str) -> Dataset:
    return dataset_from_frame(frame, MAPPING, name=name)


def slow_changes(
    before: Dataset, after: Dataset, metric: str, *, draws: int, seed: int = 0
) -> pd.DataFrame:
    """The per-class loop ``compare_classes`` ran before it was vectorised (the reference)."""
    before = _labels_from(before, after, label_differences(before, after))
    union = _union(before, after, ())
    names, codes = _class_codes(union, before, after)
    n = len(union.dataset.frame)
    in_both = np.zeros(n, dtype=bool)
    in_both[union.pos_before[np.isin(union.pos_before, union.pos_after)]] = True
    present = {"before": np.zeros(n, dtype=bool), "after": np.zeros(n, dtype=bool)}
    present["before"][union.pos_before] = True
    present["after"][union.pos_after] = True
    none = np.zeros((n, 0), dtype=bool)
    metric = "recall" if metric == "accuracy" else metric
    rows = []
    for c in range(len(names)):
        parts = {}
        for side in ("before", "after"):
            y, p = codes[side][0] == c, codes[side][1] == c
            live = present[side]
            columns = {"tp": y & p, "fp": live & ~y & p, "fn": y & ~p, "tn": live & ~y & ~p}
            parts[side] = _parts(metric, columns, present[side])
        rows.append(
            _metric_change(
                none,
                (),
                in_both,
                parts["before"],
                parts["after"],
                spec=METRICS[metric],
                draws=draws,
                seed=seed,
            )
        )
    return pd.concat(rows, ignore_index=True).set_axis(pd.Index(names, dtype=object))


def random_pair(seed: int, pairing: str) -> tuple[Dataset, Dataset]:
    """Two seeded iterations of 2-11 classes; AFTER changes ~30% of the predictions."""
    rng = np.random.default_rng(seed)
    k, n = int(rng.integers(2, 12)), int(rng.integers(5, 150))
    classes = np.array([f"c{i}" for i in range(k)])
    labels = rng.choice(classes, n)
    before = np.where(rng.random(n) < rng.random(), labels, rng.choice(classes, n))
    after = np.where(rng.random(n) < 0.3, rng.choice(classes, n), before)
    ids = np.array([f"r{i}" for i in range(n)])
    b = pd.DataFrame({"id": ids, "label": labels, "prediction": before})
    a = pd.DataFrame({"id": ids, "label": labels, "prediction": after})
    if pairing == "partly different":  # a few examples only BEFORE has, shuffled
        a = a.iloc[rng.permutation(n)[: max(2, n - int(rng.integers(1, 5)))]]
    elif pairing == "different":
        a = a.assign(id=[f"x{i}" for i in range(n)])
    elif pairing == "relabelled":  # ~10% of AFTER's labels fixed, rows shuffled
        fixed = np.where(rng.random(n) < 0.1, rng.choice(classes, n), labels)
        a = a.assign(label=fixed).iloc[rng.permutation(n)]
    return ds(b, "before.csv"), ds(a, "after.csv")


def assert_same_as_the_loop(
    before: Dataset, after: Dataset, task: TaskSpec, metrics: tuple[str, ...]
) -> None:
    result = compare_classes(before, after, task=task, metrics=metrics, draws=DRAWS)
    for metric in metrics:
        expected = slow_changes(before, after, metric, draws=DRAWS)
        got = result.changes[metric].reindex(expected.index)[list(expected.columns)]
        pd.testing.assert_frame_equal(
            got, expected, check_exact=True, check_names=False, check_index_type=False
        )


@pytest.mark.parametrize("pairing", ["same", "partly different", "different", "relabelled"])
@pytest.mark.parametrize("seed", range(6))
def test_every_class_metric_equals_the_per_class_loop(seed, pairing):
    before, after = random_pair(seed, pairing)
    assert_same_as_the_loop(before, after, MULTI, CLASS_METRICS)


@pytest.mark.parametrize("pairing", ["same", "different"])
def test_f1_with_many_changed_examples_uses_the_same_draws(pairing):
    # 3 classes, 240 examples, 40% changed: each class has far more than 12 changed
    # examples, so the paired test draws relabellings (the seeded path), not enumerates.
    rng = np.random.default_rng(7)
    labels = rng.choice(["a", "b", "c"], 240)
    before = np.where(rng.random(240) < 0.7, labels, rng.choice(["a", "b", "c"], 240))
    after = np.where(rng.random(240) < 0.4, rng.choice(["a", "b", "c"], 240), before)
    ids = np.arange(240)
    b = ds(pd.DataFrame({"id": ids, "label": labels, "prediction": before}), "b.csv")
    a = ds(
        pd.DataFrame(
            {"id": ids if pairing == "same" else ids + 1000, "label": labels, "prediction": after}
        ),
        "a.csv",
    )
    assert_same_as_the_loop(b, a, MULTI, ("f1", "precision"))


def test_binary_task_equals_the_per_class_loop():
    before, after = random_pair(3, "partly different")
    frames = [
        d.frame.assign(
            label=d.frame["label"].isin(["c0", "c1"]).map({True: "yes", False: "no"}),
            prediction=d.frame["prediction"].isin(["c0", "c2"]).map({True: "yes", False: "no"}),
        )[["id", "label", "prediction"]]
        for d in (before, after)
    ]
    assert_same_as_the_loop(
        ds(frames[0], "b.csv"),
        ds(frames[1], "a.csv"),
        TaskSpec(kind="binary", positive="yes"),
        CLASS_METRICS,
    )


# ------------------------------------------------------------------ batched randomization


@pytest.mark.parametrize("m", [0, 1, 5, 12, 13, 40])
def test_batched_paired_randomization_equals_one_metric_at_a_time(m):
    rng = np.random.default_rng(m)
    nb = rng.integers(0, 3, (4, 60)).astype(float)
    db = nb + rng.integers(0, 2, (4, 60))
    na, da = nb.copy(), db.copy()
    moved = rng.permutation(60)[:m]
    na[:, moved] = rng.integers(0, 3, (4, m))
    da[:, moved] = na[:, moved] + rng.integers(0, 2, (4, m))
    na[:, moved] += (na[:, moved] == nb[:, moved]) & (da[:, moved] == db[:, moved])
    da[:, moved] = np.maximum(da[:, moved], na[:, moved])  # every listed example moves
    expected = [paired_randomization_p(nb[i], db[i], na[i], da[i], draws=DRAWS) for i in range(4)]
    delta = []
    for i in range(4):
        dn, dd = (nb[i] - na[i])[moved], (db[i] - da[i])[moved]
        order = np.lexsort((dd, dn))
        delta.append(np.column_stack([dn[order], dd[order]]))
    totals = np.column_stack([nb.sum(1), db.sum(1), na.sum(1), da.sum(1)])
    observed = na.sum(1) / da.sum(1) - nb.sum(1) / db.sum(1)
    got = _paired_randomization_many(
        np.array(delta).reshape(4, m, 2), totals, observed, draws=DRAWS, seed=0
    )
    assert got.tolist() == expected


def test_dealt_p_equals_unpaired_randomization():
    # F1 contributions of one class: (0, 0) true negative, (0, 1) FP or FN, (2, 2) TP.
    rng = np.random.default_rng(1)
    values = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    pick_b, pick_a = rng.choice(3, 70, p=[0.7, 0.2, 0.1]), rng.choice(3, 50, p=[0.6, 0.1, 0.3])
    nb, db = values[pick_b].T
    na, da = values[pick_a].T
    counts = np.bincount(np.concatenate([pick_b, pick_a]), minlength=3)
    observed = na.sum() / da.sum() - nb.sum() / db.sum()
    assert _dealt_p(values, counts, 50, observed, draws=DRAWS, seed=0) == unpaired_randomization_p(
        nb, db, na, da, draws=DRAWS
    )


# ------------------------------------------------------------------ 10,000 classes


@pytest.fixture(scope="module")
def many_files(tmp_path_factory) -> tuple[str, str]:
    """The hostile 10,000-class file and a copy where 2,000 seeded predictions changed."""
    folder = tmp_path_factory.mktemp("many_compare")
    before = folder / "before.csv"
    before.write_bytes(many_classes())
    frame = pd.read_csv(before, dtype=str)
    rng = np.random.default_rng(1)
    rows = rng.choice(len(frame), 2000, replace=False)
    frame.loc[rows, "prediction"] = frame.loc[rows, "label"].to_numpy()[rng.permutation(2000)]
    frame.to_csv(folder / "after.csv", index=False)
    return str(before), str(folder / "after.csv")


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_ten_thousand_classes_compare_quickly(many_files, fmt):
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["compare", *many_files, "--format", fmt])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert seconds < MAX_SECONDS, f"compare --format {fmt} took {seconds:.1f} s"
    if fmt == "json":
        classes = json.loads(result.output)["classes"]
        assert len(classes) == 10_000
        # BEFORE: each class once right, once predicted as the next class, and the previous
        # class's second row predicted as it: TP 1, FP 1, FN 1 -> precision = recall = 1/2.
        assert {c["precision"]["before"] for c in classes} == {0.5}
        assert {c["recall"]["before"] for c in classes} == {0.5}
        assert {c["f1"]["test"] for c in classes} == {"randomization"}


def test_ten_thousand_classes_on_different_examples_compare_quickly(many_files):
    # AFTER without its first five rows: the files no longer hold the same examples, so F1
    # is dealt (unpaired) for every class; a class keeps McNemar for recall where its own
    # examples are all in both, and classes 0-4 lose one: Fisher's test (counts under 5).
    before = pd.read_csv(many_files[0], dtype=str)
    after = pd.read_csv(many_files[1], dtype=str).iloc[5:]
    start = time.perf_counter()
    result = compare_classes(ds(before, "b.csv"), ds(after, "a.csv"), task=MULTI)
    seconds = time.perf_counter() - start
    assert seconds < MAX_SECONDS, f"compare_classes took {seconds:.1f} s"
    assert len(result.table) == 10_000
    # class_00000 lost its right row: 0 of 1 recalled after (its wrong row, 10000, stays).
    assert result.table.loc["class_00000", "recall_after"] == 0.0
    assert set(result.changes["f1"]["test"]) == {"randomization"}
    assert result.changes["recall"].loc["class_00000", "test"] == "fisher"
    assert result.changes["recall"].loc["class_00009", "test"] == "mcnemar"
