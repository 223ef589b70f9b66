"""Role cells that score alike are counted as one class: the same table, far fewer groups.

:func:`core.batches.role_classes.role_classes` puts the first pass's role combinations in
classes of equal outcomes (checked here against outcomes worked out by hand), and the
streaming engine's counting pass, merged by those classes, gives the pandas engine's table
(:mod:`engines`) for classification, binary, text and regression tasks, rows left out,
tags and binned slices. Where classes cannot be exact (float roles, a sliced role) none
are made; where a class would lose rows the pass counts them plainly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb")

from engines import assert_same  # noqa: E402

from slicewise.core.batches import role_classes as rc  # noqa: E402
from slicewise.core.batches.pins import Pins  # noqa: E402
from slicewise.core.batches.plan import build_plan  # noqa: E402
from slicewise.core.column_roles import ColumnMapping  # noqa: E402
from slicewise.core.engine_stream.source import open_source  # noqa: E402
from slicewise.core.errors import RowNumbers  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

CLASSES = [f"c{i}" for i in range(8)]


def _table(n: int = 4_000, seed: int = 3, *, missing: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(CLASSES, n)
    prediction = np.where(rng.random(n) < 0.7, label, rng.choice(CLASSES, n))
    human = np.where(rng.random(n) < 0.8, label, rng.choice(CLASSES, n))
    df = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "label": label,
            "prediction": prediction,
            "human_label": human,
            "blurry": np.where(rng.random(n) < 0.2, "x", ""),
            "night": np.where(rng.random(n) < 0.1, "yes", "no"),
            "factory": rng.choice(["A", "B", "C"], n),
            "snr_db": np.round(rng.normal(20, 5, n), 1),
        }
    )
    if missing:
        df.loc[rng.choice(n, 40, replace=False), "label"] = None
    return df


def _write(df: pd.DataFrame, tmp_path, kind: str):
    path = tmp_path / f"t.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    return path


def test_classes_are_the_distinct_outcomes_worked_by_hand():
    frame = pd.DataFrame(
        {
            "label": ["a", "a", "b", "b", "c", "a", "b", "c", "a", "c"],
            "prediction": ["a", "b", "b", "a", "c", "c", "b", "a", "b", "c"],
            "human_label": ["a", "a", "a", "b", "c", "b", "b", "c", "c", "a"],
        },
        dtype="string",
    )
    weights = np.array([5, 1, 2, 3, 4, 6, 2, 1, 1, 1])
    first = np.array([9, 1, 4, 0, 7, 2, 12, 11, 10, 13])
    from slicewise.core.batches.plan import batch_mapping

    mapping = batch_mapping(
        ColumnMapping(label="label", prediction="prediction", human="human_label")
    )
    load = {"mapping": mapping, "source_name": "t", "pins": Pins()}
    got = rc.role_classes((frame, weights, first), load, TaskSpec("classification"), RowNumbers())
    # By hand, (model right, human right): (1,1) rows 0 4 6; (0,1) rows 1 3 7; (1,0) rows
    # 2 9; (0,0) rows 5 8.
    classes = got.cells[rc.CLASS].to_numpy()
    assert classes[0] == classes[4] == classes[6]
    assert classes[1] == classes[3] == classes[7]
    assert classes[2] == classes[9] and classes[5] == classes[8]
    assert len(set(classes)) == 4
    # The representative of a class is its combination met first in the file: rows 4
    # (first row 7 of 9, 7, 12), 3 (0), 2 (4) and 5 (2).
    reps = got.representatives.loc[classes[[0, 1, 2, 5]]]
    assert reps["label"].tolist() == ["c", "b", "b", "a"]
    assert reps["prediction"].tolist() == ["c", "a", "b", "c"]
    expected_pairs = {("a", "a"): 5, ("a", "b"): 2, ("b", "b"): 4, ("b", "a"): 3}
    expected_pairs |= {("c", "c"): 5, ("a", "c"): 6, ("c", "a"): 1}
    assert got.pairs.to_dict() == {k: float(v) for k, v in expected_pairs.items()}


def test_no_classes_when_they_would_not_halve_the_combinations():
    frame = pd.DataFrame({"label": ["a", "b", "a"], "prediction": ["a", "b", "b"]}, dtype="string")
    from slicewise.core.batches.plan import batch_mapping

    load = {"mapping": batch_mapping(ColumnMapping(label="label", prediction="prediction"))}
    load["pins"] = Pins()
    groups = (frame, np.ones(3, np.int64), np.arange(3))
    assert rc.role_classes(groups, load, TaskSpec("classification"), RowNumbers()) is None


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("options", "make"),
    [
        pytest.param({}, {}, id="classification with a human label"),
        pytest.param({"missing": "drop"}, {"missing": True}, id="rows left out"),
        pytest.param({"task": TaskSpec("binary", positive="c1")}, {}, id="binary"),
        pytest.param({"hlp": {"blurry": 0.9}}, {}, id="hlp given"),
    ],
)
def test_merged_counting_gives_the_pandas_table(options, make, kind, tmp_path):
    path = _write(_table(**make), tmp_path, kind)
    assert_same(path, slice_by=["factory", "snr_db"], **options)
    with open_source(path) as source:
        load = {k: v for k, v in options.items() if k == "missing"}
        plan = build_plan(source, slice_by=["factory", "snr_db"], **load)
        assert plan.roles is not None  # the merge ran: 8 x 8 x 8 cells, few outcomes
        assert len(plan.roles.representatives) <= 8
        assert plan.roles.cells[rc.CLASS].nunique() == len(plan.roles.representatives)


def test_merged_counting_counts_far_fewer_groups(tmp_path):
    path = _write(_table(), tmp_path, "parquet")
    with open_source(path) as source:
        plan = build_plan(source, slice_by=["factory"])
        plain = sum(len(b.rows) for b in source.batches(plan.count_columns, group=True))
        merged = sum(
            len(b.rows) for b in source.batches(plan.count_columns, group=True, roles=plan.roles)
        )
    assert merged * 3 < plain


def test_text_task_merges_transcripts_with_equal_word_counts(tmp_path):
    rng = np.random.default_rng(5)
    words = ["turn", "left", "right", "stop", "go"]
    refs = [" ".join(rng.choice(words, 3)) for _ in range(400)]
    hyps = [r if rng.random() < 0.6 else " ".join(rng.choice(words, 3)) for r in refs]
    df = pd.DataFrame({"label": refs, "prediction": hyps, "noisy": rng.choice(["x", ""], 400)})
    path = _write(df, tmp_path, "parquet")
    assert_same(path, task=TaskSpec("text"))


def test_regression_with_whole_number_errors_gives_the_pandas_table(tmp_path):
    rng = np.random.default_rng(9)
    n = 2_000
    df = pd.DataFrame(
        {"label": rng.integers(0, 10, n), "prediction": rng.integers(0, 10, n)}
    ).assign(region=rng.choice(["n", "s"], n))
    path = _write(df, tmp_path, "parquet")
    assert_same(path, task=TaskSpec("regression"), slice_by=["region"])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param(lambda df: df.assign(label=df["label"].str[1:].astype(float)), "floats"),
        pytest.param(lambda df: df, "sliced by label"),
    ],
)
def test_no_classes_where_they_could_not_be_exact(change, why, tmp_path):
    df = change(_table(1_000))
    if why == "floats":
        df["prediction"] = df["prediction"].str[1:].astype(float)
        df["human_label"] = df["human_label"].str[1:].astype(float)
    path = _write(df, tmp_path, "parquet")
    slice_by = ["label"] if why == "sliced by label" else []
    with open_source(path) as source:
        assert build_plan(source, slice_by=slice_by).roles is None
    assert_same(path, slice_by=slice_by)


def test_a_class_that_loses_rows_is_counted_plainly(tmp_path, monkeypatch):
    path = _write(_table(1_500), tmp_path, "csv")
    real = rc.role_classes

    def losing(*args, **kwargs):
        found = real(*args, **kwargs)
        cells = found.cells.iloc[1:]  # one combination missing: its rows find no class
        return rc.RoleClasses(found.columns, cells, found.representatives, found.pairs)

    monkeypatch.setattr("slicewise.core.batches.planning.role_classes", losing)
    assert_same(path, slice_by=["factory"])
