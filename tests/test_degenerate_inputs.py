"""Degenerate inputs through every entry point: the right numbers, or a typed error naming the file.

Issue 12 ("numbers that hold on real files"). Each dataset of :data:`CASES` is legal but
degenerate (no tags and no slice columns, one row, one class, all correct, all wrong, human
labels blank everywhere or given once, nested Parquet columns, empty transcripts, a binary task
with one class) or refused for a reason the user can fix (a positive class that occurs
nowhere). Every public entry point runs on each, from its CSV and its Parquet file:
:func:`core.analysis.analyze` (alone and sliced by a metadata column),
:func:`core.compare.compare_datasets` (against itself and against a copy whose predictions are
all right), :func:`core.discovery.suggest_slices`, :func:`core.splits.split_dataset`, every
report format, :mod:`core.lineage`, the CLI (one subprocess per file and command, run in the
background while the pages run) and every page in AppTest.

Accepted outcomes: a :class:`core.errors.DataError` whose message names the file, or the right
numbers. The numbers are worked out here from each case's hand-judged ``correct`` flags on
boolean masks (the oracle), never from the code under test.

:mod:`core.agreement` runs on degenerate annotation tables (one annotator, one item, everyone
agrees, a single label), with the agreement figures worked out by hand.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import streamlit as st
from pagetest import run_page, shown, texts

from slicewise.core import agreement as ag
from slicewise.core.analysis import analyze
from slicewise.core.cli import render
from slicewise.core.compare import compare_datasets
from slicewise.core.dataset import ColumnMapping, Dataset, load_dataset
from slicewise.core.discovery import slice_mask, suggest_slices
from slicewise.core.errors import DataError
from slicewise.core.lineage import export_lineage, lineage_json, load_lineage
from slicewise.core.metrics import MIN_HUMAN_LABELS
from slicewise.core.prioritize import rank_basis
from slicewise.core.report import FORMATS
from slicewise.core.splits import compute_split_shares, split_dataset
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
NAN = float("nan")
SIX = range(6)
NOISY = ["x", None] * 3  # a tag on rows 0, 2, 4
DEVICE = ["ios"] * 3 + ["web"] * 3  # a metadata column to slice by


@dataclass(frozen=True)
class Case:
    """A degenerate predictions file and what every entry point must make of it.

    Attributes
    ----------
    name
        The file's stem (``one_row`` gives ``one_row.csv`` and ``one_row.parquet``).
    columns
        The file's columns; ``None`` is a blank cell.
    correct
        Hand-judged: is each row's prediction right? Empty for a refused case.
    task, formats, slice_by
        The task, the file formats written, the metadata column sliced by (``None``: none).
    hlp
        The ``All data`` row's ``hlp_source``, ``hlp`` and ``hlp_n``, by hand.
    extra
        The ``All data`` row's task metrics (WER, precision...), by hand.
    refused
        For a refused case, a phrase of the error message (which also names the file).
    types
        Arrow types of columns the Parquet file must hold as such (lists, structs, maps).
    """

    name: str
    columns: dict[str, list[Any]]
    correct: tuple[bool, ...] = ()
    task: TaskSpec = field(default_factory=TaskSpec)
    formats: tuple[str, ...] = ("csv", "parquet")
    slice_by: str | None = "device"
    hlp: tuple[str, float, int] = ("none", NAN, 0)
    extra: dict[str, float] = field(default_factory=dict)
    refused: str = ""
    types: dict[str, pa.DataType] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.columns["label"])

    def file(self, fmt: str) -> str:
        return f"{self.name}.{fmt}"

    @property
    def options(self) -> dict[str, Any]:
        """Options of load_dataset that this case's task needs."""
        if self.task.kind == "text":
            return {"task": "text"}
        if self.task.kind == "binary":
            return {"positive": self.task.positive}
        return {}

    @property
    def cli_options(self) -> list[str]:
        if self.task.kind == "text":
            return ["--task", "text"]
        if self.task.kind == "binary":
            return ["--positive", str(self.task.positive)]
        return []

    def fixed(self) -> dict[str, list[Any]]:
        """The same file with every prediction right (the compare variant)."""
        return {**self.columns, "prediction": list(self.columns["label"])}


def _classes(labels: list[str], predictions: list[str], **more: list[Any]) -> dict[str, list]:
    return {
        "id": [f"e{i}" for i in range(len(labels))],
        "label": labels,
        "prediction": predictions,
        **more,
    }


TEXT = TaskSpec(kind="text")
BINARY = TaskSpec(kind="binary", positive="yes")

CASES = [
    # a/a right, b/a wrong, a/b wrong, b/b right; nothing to slice by and no tag
    Case(
        "no_slices",
        {"id": [1, 2, 3, 4], "label": ["a", "b", "a", "b"], "prediction": ["a", "a", "b", "b"]},
        (True, False, False, True),
        slice_by=None,
    ),
    Case("one_row", _classes(["cat"], ["cat"], noisy=["x"], device=["ios"]), (True,)),
    # one class under the value contract: yes, 1, true, TRUE, 1.0 and +1 are all "1";
    # row 3 predicts "no" (= 0), the only error
    Case(
        "one_class",
        _classes(
            ["yes", "1", "true", "TRUE", "1.0", "+1"],
            ["1", "yes", "True", "no", "1", "1"],
            noisy=NOISY,
            device=DEVICE,
        ),
        (True, True, True, False, True, True),
    ),
    Case(
        "all_correct",
        _classes(["a", "b"] * 3, ["a", "b"] * 3, noisy=NOISY, device=DEVICE),
        (True,) * 6,
    ),
    Case(
        "all_wrong",
        _classes(["a", "b"] * 3, ["b", "a"] * 3, noisy=NOISY, device=DEVICE),
        (False,) * 6,
    ),
    # a human_label column blank in every row (in Parquet: a column of Arrow type null)
    Case(
        "human_blank",
        _classes(
            ["a", "b"] * 3,
            ["a", "a", "b", "b", "a", "a"],
            human_label=[None] * 6,
            noisy=NOISY,
            device=DEVICE,
        ),
        (True, False, False, True, True, False),
    ),
    # one human label, on row 0, equal to the label: HLP 1/1, too few to compare
    Case(
        "one_human",
        _classes(
            ["a", "b"] * 3,
            ["a", "a", "b", "b", "a", "a"],
            human_label=["a"] + [None] * 5,
            noisy=NOISY,
            device=DEVICE,
        ),
        (True, False, False, True, True, False),
        hlp=("too_few", 1.0, 1),
    ),
    # list, struct and map columns (read as JSON text); labels a b a b a b, predictions
    # a a b a a b
    Case(
        "nested",
        _classes(
            ["a", "b"] * 3,
            ["a", "a", "b"] * 2,
            device=DEVICE,
            boxes=[[1, 2], [], None, [3], [1, 2], [3]],
            meta=[{"w": 1, "h": 2}] * 5 + [None],
            attrs=[[("k", "v")]] * 6,
        ),
        (True, False, False, False, True, True),
        formats=("parquet",),
        types={"boxes": pa.list_(pa.int64()), "attrs": pa.map_(pa.string(), pa.string())},
    ),
    # transcripts with empty strings (a silent clip; a model that said nothing). Word
    # errors: 0, 1 (mom -> tom), 2 (both words deleted), 1 (hello inserted), 0, 0 = 4 over
    # 0 + 2 + 2 + 0 + 2 + 2 = 8 reference words: WER 0.5
    Case(
        "text",
        _classes(
            ["", "call mom", "play jazz", "", "sweet coffee", "sail away"],
            ["", "call tom", "", "hello", "sweet coffee", "sail away"],
            noisy=NOISY,
            device=DEVICE,
        ),
        (True, False, False, False, True, True),
        task=TEXT,
        extra={"wer": 4 / 8},
    ),
    # positive "yes": tp rows 1, 5; fp rows 2, 4; fn row 3; tn row 0
    Case(
        "binary",
        _classes(
            ["no", "yes"] * 3, ["no", "yes", "yes", "no", "yes", "yes"], noisy=NOISY, device=DEVICE
        ),
        (True, True, False, False, False, True),
        task=BINARY,
        extra={"precision": 2 / 4, "recall": 2 / 3, "f1": 4 / 7, "fpr": 2 / 3, "fnr": 1 / 3},
    ),
    # binary with one class, the positive one (every part defective), one missed:
    # tp 5, fp 0, fn 1 (row 2), tn 0; the false positive rate has no negatives to count
    Case(
        "binary_one_class",
        _classes(
            ["yes"] * 6, ["yes", "yes", "no", "yes", "yes", "yes"], noisy=NOISY, device=DEVICE
        ),
        (True, True, False, True, True, True),
        task=BINARY,
        extra={"precision": 1.0, "recall": 5 / 6, "f1": 10 / 11, "fpr": NAN, "fnr": 1 / 6},
    ),
    # the positive class occurs in neither labels nor predictions: a typo, refused
    Case(
        "binary_no_positive",
        _classes(["no"] * 6, ["no"] * 6, noisy=NOISY, device=DEVICE),
        task=BINARY,
        refused="positive class 'yes'",
    ),
]
CASE = {c.name: c for c in CASES}
CELLS = [pytest.param(c, fmt, id=f"{c.name}.{fmt}") for c in CASES for fmt in c.formats]
OK_CELLS = [p for p in CELLS if not p.values[0].refused]


# ----------------------------------------------------------------------------- the oracle


def _blank(values: list[Any]) -> np.ndarray:
    return np.array([v is None or (isinstance(v, str) and not v.strip()) for v in values])


def expected_table(case: Case, *, sliced: bool, merge_same: bool = True) -> pd.DataFrame:
    """Per slice: n, accuracy, errors, error_share and the HLP, from boolean masks.

    With ``merge_same`` (the analysis table), a tag or column slice with exactly the rows of
    an earlier one (tags before column values; empty slices never) is left out and named in
    the earlier one's ``same_as`` ("; "-joined, "" when none). ``excess_error`` is the
    slice's error rate minus the rest's (NaN for All data and where a side is empty);
    ``rankable``: a tag or column slice with rows both in and out of it that errs more than
    the rest (``excess_error > 0``): with no baseline nothing else says there is room to
    gain, so a slice no worse than the rest gets no rank.
    """
    correct = np.array(case.correct, dtype=bool)
    masks = {"All data": np.ones(case.n, dtype=bool)}
    if "noisy" in case.columns:
        masks["noisy"] = ~_blank(case.columns["noisy"])
    if sliced and case.slice_by:
        values = np.array(case.columns[case.slice_by], dtype=object)
        for v in sorted(set(values)):
            masks[f"{case.slice_by} = {v}"] = values == v
    if "noisy" in case.columns:
        masks["No tag"] = _blank(case.columns["noisy"])
    same_as: dict[str, list[str]] = {name: [] for name in masks}
    if merge_same:
        slices = [k for k in masks if k not in ("All data", "No tag")]  # tags, then values
        for i, name in enumerate(slices):
            earlier = next(
                (k for k in slices[:i] if k in masks and (masks[k] == masks[name]).all()), None
            )
            if masks[name].any() and earlier is not None:
                same_as[earlier].append(name)
                del masks[name], same_as[name]
    human = case.columns.get("human_label")
    rows = {}
    total_errors = int((~correct).sum())
    for name, m in masks.items():
        n = int(m.sum())
        errors = int((~correct[m]).sum())
        inside = 0 < n < case.n  # rows on both sides of the slice
        rest_errors = total_errors - errors
        has_h = m & ~_blank(human) if human is not None else np.zeros(case.n, dtype=bool)
        h_n = int(has_h.sum())
        h_right = sum(human[i] == case.columns["label"][i] for i in np.flatnonzero(has_h))
        rows[name] = {
            "n": n,
            "errors": errors,
            "accuracy": (n - errors) / n if n else NAN,
            "error_share": errors / total_errors if total_errors else NAN,
            "hlp_source": (
                "none" if h_n == 0 else "too_few" if h_n < MIN_HUMAN_LABELS else "human_label"
            ),
            "hlp": h_right / h_n if h_n else NAN,
            "hlp_n": h_n,
            "same_as": "; ".join(same_as[name]),
            "excess_error": (
                errors / n - rest_errors / (case.n - n) if inside and name != "All data" else NAN
            ),
            "rankable": (
                inside
                and name not in ("All data", "No tag")
                and errors / n > rest_errors / (case.n - n)
            ),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def assert_table(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The analysis table has exactly the expected slices with the expected numbers."""
    assert sorted(table.index) == sorted(expected.index)
    got = table.loc[expected.index]
    for col in ("n", "errors", "hlp_n"):
        assert got[col].tolist() == expected[col].tolist(), col
    for col in ("accuracy", "error_share", "hlp"):
        assert got[col].to_numpy(dtype=float) == pytest.approx(
            expected[col].to_numpy(dtype=float), nan_ok=True
        ), col
    assert got["hlp_source"].tolist() == expected["hlp_source"].tolist()
    assert got["same_as"].tolist() == expected["same_as"].tolist()
    assert got["excess_error"].to_numpy(dtype=float) == pytest.approx(
        expected["excess_error"].to_numpy(dtype=float), nan_ok=True
    )
    # no slice has 30 human labels: none is ranked by its gap (there is none); with no
    # baseline anywhere, every slice with rows in and out of it that errs more than the
    # rest is ranked by excess error; the others (no worse than the rest) get no rank
    assert table["gap"].isna().all()
    ranked = table[table["rank"].notna()].sort_values("rank")
    assert sorted(ranked.index) == sorted(expected.index[expected["rankable"]])
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert (ranked["rank_basis"] == "excess").all()
    # also when no slice is ranked; with no slice at all there is nothing to rank by excess
    slices = table["kind"].isin(["tag", "column"])
    assert rank_basis(table) == ("excess" if slices.any() else "priority")
    # six examples make no slice significantly worse than the rest, so the order is by
    # excess gain = excess error x share alone, largest first
    assert not table["worse_than_rest"].any()
    gain = (
        expected.loc[ranked.index, "excess_error"]
        * expected.loc[ranked.index, "n"]
        / expected.loc["All data", "n"]
    ).to_numpy(dtype=float)
    assert ranked["excess_gain"].to_numpy(dtype=float) == pytest.approx(gain)
    assert (np.diff(gain) <= 1e-12).all()


def assert_names_file(exc: DataError, case: Case, fmt: str) -> None:
    assert case.file(fmt) in str(exc), str(exc)
    if case.refused:
        assert case.refused in str(exc), str(exc)


# ----------------------------------------------------------------------------- files


def write(columns: dict[str, list[Any]], path: Path, types: dict[str, pa.DataType]) -> Path:
    if path.suffix == ".csv":
        pd.DataFrame(columns).to_csv(path, index=False)
    else:
        pq.write_table(
            pa.table({k: pa.array(v, type=types.get(k)) for k, v in columns.items()}), path
        )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every case's files: ``(name, fmt)`` and ``(name + "-fixed", fmt)`` (all right)."""
    folder = tmp_path_factory.mktemp("degenerate")
    out = {}
    for case in CASES:
        for fmt in case.formats:
            out[case.name, fmt] = write(case.columns, folder / case.file(fmt), case.types)
            out[case.name + "-fixed", fmt] = write(
                case.fixed(), folder / f"{case.name}-fixed.{fmt}", case.types
            )
    return out


@pytest.fixture(scope="module")
def load(files):
    """Load a case's file (or its all-right copy) once per module."""
    cache: dict[tuple[str, str, bool], Dataset] = {}

    def get(case: Case, fmt: str, *, fixed: bool = False) -> Dataset:
        key = (case.name, fmt, fixed)
        if key not in cache:
            path = files[case.name + ("-fixed" if fixed else ""), fmt]
            cache[key] = load_dataset(path, **case.options)
        return cache[key]

    return get


# ----------------------------------------------------------------------------- analyze


@pytest.mark.parametrize("sliced", [False, True], ids=["whole", "sliced"])
@pytest.mark.parametrize(("case", "fmt"), CELLS)
def test_analyze(load, case, fmt, sliced):
    dataset = load(case, fmt)
    slice_by = [case.slice_by] if sliced and case.slice_by else []
    if case.refused:
        with pytest.raises(DataError) as err:
            analyze(dataset, task=case.task, slice_by=slice_by)
        assert_names_file(err.value, case, fmt)
        return
    table = analyze(dataset, task=case.task, slice_by=slice_by)
    assert_table(table, expected_table(case, sliced=sliced))
    overall = table.loc["All data"]
    source, hlp, hlp_n = case.hlp
    assert (overall["hlp_source"], overall["hlp_n"]) == (source, hlp_n)
    assert overall["hlp"] == pytest.approx(hlp, nan_ok=True)
    for metric, value in case.extra.items():
        assert overall[metric] == pytest.approx(value, nan_ok=True), metric


@pytest.mark.parametrize(
    ("name", "p_value"),
    [
        # the doubled one-sided exact binomial p of k right of n against HLP 0.9:
        ("one_row", 1.0),  # 1 of 1: min(1, 2 P[X >= 1] = 1.8)
        ("all_correct", 1.0),  # 3 of 3: min(1, 2 P[X >= 3] = 2 * 0.729)
        ("all_wrong", 2 * 0.1**3),  # 0 of 3: 2 P[X <= 0]
    ],
)
def test_an_entered_hlp_ranks_its_tag_alone(load, name, p_value):
    case = CASE[name]
    table = analyze(load(case, "csv"), task=case.task, hlp={"noisy": 0.9})
    noisy = expected_table(case, sliced=False).loc["noisy"]
    row = table.loc["noisy"]
    assert row["hlp_source"] == "user" and row["hlp_n"] == 0
    assert row["gap"] == pytest.approx(0.9 - noisy["accuracy"])
    assert row["potential_gain"] == pytest.approx((0.9 - noisy["accuracy"]) * noisy["n"] / case.n)
    assert row["p_value"] == pytest.approx(p_value)
    assert table["rank"].dropna().to_dict() == {"noisy": 1}


def test_text_slices_have_their_own_wer(load):
    # device = ios: refs "", "call mom", "play jazz" (4 words), errors 0 + 1 + 2 = 3;
    # device = web: refs "", "sweet coffee", "sail away" (4 words), errors 1 + 0 + 0 = 1;
    # noisy (rows 0, 2, 4): 0 + 2 + 0 errors over 0 + 2 + 2 words
    for fmt in CASE["text"].formats:
        table = analyze(load(CASE["text"], fmt), task=TEXT, slice_by=["device"])
        assert table.loc["device = ios", "wer"] == pytest.approx(3 / 4)
        assert table.loc["device = web", "wer"] == pytest.approx(1 / 4)
        assert table.loc["noisy", "wer"] == pytest.approx(2 / 4)


def test_nested_columns_read_as_text_and_slice_one_value_each(load):
    case = CASE["nested"]
    dataset = load(case, "parquet")
    assert any("'boxes'" in w and "'attrs'" in w for w in dataset.warnings), dataset.warnings
    table = analyze(dataset, slice_by=["boxes"])
    column = table[table["kind"] == "column"]
    # boxes [1, 2] on rows 0, 4 (right, right); [] on row 1 (wrong); missing on row 2
    # (wrong); [3] on rows 3, 5 (wrong, right)
    assert len(column) == 4 and column["n"].sum() == 6
    assert sorted(zip(column["n"], column["accuracy"], strict=True)) == [
        (1, 0.0),
        (1, 0.0),
        (2, 0.5),
        (2, 1.0),
    ]


@pytest.mark.parametrize("role", ["label", "prediction", "id", "human"])
def test_a_nested_column_cannot_take_a_role(files, role):
    mapping = ColumnMapping(**{role: "boxes"})
    with pytest.raises(DataError) as err:
        load_dataset(files["nested", "parquet"], mapping)
    assert "nested.parquet" in str(err.value) and "'boxes'" in str(err.value), str(err.value)


def test_a_positive_class_only_predicted_counts_as_false_alarms():
    # labels all "no" (a batch without defects), one false alarm on row 2: tp 0, fp 1,
    # fn 0, tn 5. The positive class occurs in the predictions, so it is no typo.
    data = b"id,label,prediction\n" + b"".join(
        f"{i},no,{'yes' if i == 2 else 'no'}\n".encode() for i in SIX
    )
    table = analyze(load_dataset(data, name="clean_batch.csv"), task=BINARY)
    overall = table.loc["All data"]
    assert (overall["n"], overall["errors"]) == (6, 1)
    assert overall[["precision", "f1", "fpr"]].tolist() == pytest.approx([0.0, 0.0, 1 / 6])
    assert np.isnan(overall["recall"]) and np.isnan(overall["fnr"])


def test_the_load_page_checks_the_positive_class_on_every_row():
    # the positive class first occurs on row 2,500: a check of the first rows would refuse
    from slicewise.ui.loading import LoadOptions, build_dataset

    frame = pd.DataFrame(
        {"id": range(3000), "label": ["ok"] * 2500 + ["scratch"] * 500, "prediction": ["ok"] * 3000}
    )
    options = LoadOptions(
        label="label", prediction="prediction", id="id", kind="binary", positive="scratch"
    )
    dataset = build_dataset(frame, options, source_name="late.csv", content_hash="", warnings=[])
    assert analyze(dataset, task=options.task()).loc["All data", "recall"] == 0.0
    with pytest.raises(DataError, match="late.csv: positive class 'dent'"):
        build_dataset(
            frame,
            LoadOptions(
                label="label", prediction="prediction", id="id", kind="binary", positive="dent"
            ),
            source_name="late.csv",
            content_hash="",
            warnings=[],
        )


# ----------------------------------------------------------------------------- compare


@pytest.mark.parametrize("other", ["itself", "fixed"])
@pytest.mark.parametrize(("case", "fmt"), CELLS)
def test_compare(load, case, fmt, other):
    before = load(case, fmt)
    after = before if other == "itself" else load(case, fmt, fixed=True)
    if case.refused:
        with pytest.raises(DataError) as err:
            compare_datasets(before, after, task=case.task)
        assert_names_file(err.value, case, fmt)
        return
    table = compare_datasets(
        before, after, task=case.task, slice_by=[case.slice_by] if case.slice_by else []
    )
    # compare keeps every slice, also one with the same rows as another
    expected = expected_table(case, sliced=True, merge_same=False)
    assert sorted(table.index) == sorted(expected.index)
    table = table.loc[expected.index]
    n = expected["n"].to_numpy()
    errors = expected["errors"].to_numpy()
    assert table["n_before"].tolist() == table["n_after"].tolist() == n.tolist()
    assert table["n_paired"].tolist() == n.tolist()
    acc = expected["accuracy"].to_numpy(dtype=float)
    assert table["accuracy_before"].to_numpy(dtype=float) == pytest.approx(acc, nan_ok=True)
    filled = n > 0
    assert (table["test"].to_numpy()[filled] == "mcnemar").all()
    if other == "itself":
        assert (table["right_to_wrong"] == 0).all() and (table["wrong_to_right"] == 0).all()
        assert table["delta"].to_numpy(dtype=float)[filled] == pytest.approx(0.0)
        after_acc = acc
        p = np.ones(len(n))
    else:
        # every error was fixed: McNemar b = 0, c = errors, p = min(1, 2 * 0.5 ** c)
        assert (table["right_to_wrong"] == 0).all()
        assert table["wrong_to_right"].tolist() == errors.tolist()
        after_acc = np.where(filled, 1.0, NAN)
        p = np.minimum(1.0, 2 * 0.5**errors)
    assert table["accuracy_after"].to_numpy(dtype=float) == pytest.approx(after_acc, nan_ok=True)
    assert table["p_value"].to_numpy(dtype=float)[filled] == pytest.approx(p[filled])
    assert not table["regression"].any()


# ----------------------------------------------------------------------------- suggest


@pytest.mark.parametrize(("case", "fmt"), CELLS)
def test_suggest_slices(load, case, fmt):
    dataset = load(case, fmt)
    if case.refused:
        with pytest.raises(DataError) as err:
            suggest_slices(dataset, task=case.task, min_support=1)
        assert_names_file(err.value, case, fmt)
        return
    found = suggest_slices(dataset, task=case.task, min_support=1)
    correct = np.array(case.correct, dtype=bool)
    errors = int((~correct).sum())
    assert (found.n, found.errors) == (case.n, errors)
    assert found.overall_error_rate == pytest.approx(errors / case.n)
    assert len(found.predicates) == len(found.slices)
    for predicates, row in zip(found.predicates, found.slices.itertuples(), strict=True):
        mask = slice_mask(dataset.frame, predicates)
        assert (row.n, row.errors) == (int(mask.sum()), int((~correct[mask]).sum()))
        assert row.error_rate == pytest.approx(row.errors / row.n)
    assert not found.slices["significant"].any()  # six examples prove nothing


# ----------------------------------------------------------------------------- splits


@pytest.mark.parametrize(("case", "fmt"), CELLS)
def test_balanced_splits(load, case, fmt):
    dataset = load(case, fmt)
    by_label = case.task.kind != "text"
    if case.n < 3:  # three splits need three examples
        with pytest.raises(DataError) as err:
            split_dataset(dataset, by_label=by_label)
        assert_names_file(err.value, case, fmt)
        assert "3 splits" in str(err.value)
        return
    splits = split_dataset(dataset, by_label=by_label)
    # 60/20/20 of 4 is 2.4/0.8/0.8 -> 2, 1, 1; of 6 is 3.6/1.2/1.2 -> 4, 1, 1
    sizes = {4: [2, 1, 1], 6: [4, 1, 1]}[case.n]
    assert splits.value_counts().reindex(["train", "dev", "test"]).tolist() == sizes
    shares = compute_split_shares(
        splits, dataset.frame["label"] if by_label else None, dataset.tags
    )
    per_split = shares[["n_train", "n_dev", "n_test"]].sum(axis=1)
    assert per_split.tolist() == shares["n_all"].tolist()
    tags = shares[shares["group"] == "tag"].set_index("name")["n_all"]
    for tag in tags.index:
        assert tags[tag] == int((~_blank(case.columns[tag])).sum())


# ----------------------------------------------------------------------------- reports


@pytest.mark.parametrize(("case", "fmt"), OK_CELLS)
def test_every_report_format(load, case, fmt):
    table = analyze(
        load(case, fmt), task=case.task, slice_by=[case.slice_by] if case.slice_by else []
    )
    expected = expected_table(case, sliced=True)
    overall = expected.loc["All data"]
    name = case.file(fmt)
    # the CLI's renderer: every format of core.report (markdown and HTML with the summary
    # and the charts) and the plain table
    outputs = {f: render(table, f, dataset=name, task=case.task.kind) for f in ("table", *FORMATS)}
    data = json.loads(outputs["json"])
    assert data["overall"]["n"] == case.n
    assert data["overall"]["accuracy"] == pytest.approx(overall["accuracy"])
    assert data["overall"]["hlp_source"] == case.hlp[0]
    assert sorted(s["name"] for s in data["slices"]) == sorted(expected.index[1:])
    assert {s["name"]: s["same_as"] for s in data["slices"]} == expected["same_as"].iloc[
        1:
    ].to_dict()
    # none ranked by gap; those ranked, by excess error over the rest (no baseline)
    assert all(s["gap"] is None for s in data["slices"])
    assert {s["name"] for s in data["slices"] if s["rank"] is not None} == set(
        expected.index[expected["rankable"]]
    )
    assert {s["rank_basis"] for s in data["slices"] if s["rank"] is not None} <= {"excess"}
    flat = pd.read_csv(io.StringIO(outputs["csv"]), keep_default_na=False)
    row = flat[flat["name"] == "All data"].iloc[0]
    assert int(row["n"]) == case.n
    assert float(row["accuracy"]) == pytest.approx(overall["accuracy"])
    accuracy = f"{100 * overall['accuracy']:.1f}%"
    assert f"| All data | {case.n} | 100.0% | {accuracy} |" in outputs["markdown"]
    html_table = outputs["html"].split("<table>")[1].split("</table>")[0]
    assert f"<td>All data</td><td>{case.n}</td><td>100.0%</td><td>{accuracy}</td>" in html_table
    assert f"examples: {case.n}   accuracy: {accuracy}" in outputs["table"]
    # a missing number is shown as such ("–"), never as "nan"
    for fmt_name, text in (
        ("markdown", outputs["markdown"]),
        ("html", html_table),
        ("table", outputs["table"]),
    ):
        words = text.replace("|", " ").replace("<", " ").replace(">", " ").lower().split()
        assert "nan" not in words and "nan%" not in words, fmt_name


# ----------------------------------------------------------------------------- annotations


@dataclass(frozen=True)
class AnnCase:
    """A degenerate annotation table and its figures, worked out by hand."""

    name: str
    content: bytes
    figures: dict[str, Any]
    annotator_accuracy: float  # the annotators' labels against the linked ground truth
    model_accuracy: float  # the linked predictions on the annotated items
    pairable: int  # labels on items with 2 or more labels
    warning: str = ""


NO_AGREEMENT = {
    "percent_agreement": None,
    "fleiss_kappa": None,
    "krippendorff_alpha": None,
    "gwet_ac1": None,
}
# Item 1 labelled a, b, a. Pairs: (a, b), (a, a), (b, a): P = 1/3. Class shares 2/3, 1/3:
# Fleiss Pe = 4/9 + 1/9 = 5/9, kappa = (1/3 - 5/9) / (4/9) = -1/2. Krippendorff: the
# coincidences o_aa = 1, o_ab = o_ba = 1 of n = 3 values, D_o = 2/3, D_e = 2·2·1/(3·2) = 2/3,
# alpha = 0. Gwet: Pe = (2/3·1/3 + 1/3·2/3) / 1 = 4/9, AC1 = (1/3 - 4/9) / (5/9) = -1/5.
ONE_ITEM = {
    "items": 1,
    "annotators": 3,
    "labels_total": 3,
    "classes": 2,
    "percent_agreement": 1 / 3,
    "fleiss_kappa": -0.5,
    "krippendorff_alpha": 0.0,
    "gwet_ac1": -0.2,
    "n_disagreements": 1,
}
ANN_CASES = [
    AnnCase(
        "one_annotator",
        b"item,annotator,label\n1,ann,a\n2,ann,b\n3,ann,a\n",
        {
            "items": 3,
            "annotators": 1,
            "labels_total": 3,
            "classes": 2,
            **NO_AGREEMENT,
            "n_disagreements": 0,
        },
        1.0,
        2 / 3,
        0,
        "only one annotator",
    ),
    AnnCase(
        "one_item", b"item,annotator,label\n1,ann,a\n1,bob,b\n1,cid,a\n", ONE_ITEM, 2 / 3, 1.0, 3
    ),
    AnnCase("one_item_wide", b"item,r1,r2,r3\n1,a,b,a\n", ONE_ITEM, 2 / 3, 1.0, 3),
    # every pair agrees on every item: P = 1, so kappa, alpha and AC1 are 1 whatever the
    # chance agreement (shares 4/6 a, 2/6 b)
    AnnCase(
        "all_agree",
        b"item,annotator,label\n1,ann,a\n1,bob,a\n2,ann,b\n2,bob,b\n3,ann,a\n3,bob,a\n",
        {
            "items": 3,
            "annotators": 2,
            "labels_total": 6,
            "classes": 2,
            "percent_agreement": 1.0,
            "fleiss_kappa": 1.0,
            "krippendorff_alpha": 1.0,
            "gwet_ac1": 1.0,
            "n_disagreements": 0,
        },
        1.0,
        2 / 3,
        6,
    ),
    AnnCase(
        "one_label",
        b"item,annotator,label\n1,ann,a\n",
        {
            "items": 1,
            "annotators": 1,
            "labels_total": 1,
            "classes": 1,
            **NO_AGREEMENT,
            "n_disagreements": 0,
        },
        1.0,
        1.0,
        0,
        "single class",
    ),
]
ANN = [pytest.param(c, id=c.name) for c in ANN_CASES]
# The items' predictions: ids 1, 2, 3 labelled a, b, a, all predicted a (row 2 wrong); the
# tag noisy on ids 1 and 3.
PREDICTIONS = b"id,label,prediction,noisy\n1,a,a,x\n2,b,a,\n3,a,a,x\n"


@pytest.mark.parametrize("ann_case", ANN)
def test_agreement_entry_points(ann_case):
    name = f"{ann_case.name}.csv"
    ann = ag.load_annotations(ann_case.content, name=name)
    if ann_case.warning:
        assert any(ann_case.warning in w and name in w for w in ann.warnings), ann.warnings
    codes = ag.encode_labels(ann.labels)
    figures = ag.summarize_annotations(codes)
    for key, value in ann_case.figures.items():
        if value is None:
            assert figures[key] is None, key
        else:
            assert figures[key] == pytest.approx(value), key
    summary = ag.compute_agreement_summary(codes)
    assert summary.loc["percent_agreement", "value"] == pytest.approx(
        ann_case.figures["percent_agreement"] or NAN, nan_ok=True
    )
    items, annotators = ann_case.figures["items"], ann_case.figures["annotators"]
    counts = ag.compute_label_counts(codes)
    assert counts.shape == (items, ann_case.figures["classes"])
    assert counts.to_numpy().sum() == ann_case.figures["labels_total"]
    assert ag.compute_coincidence_matrix(codes).to_numpy().sum() == pytest.approx(ann_case.pairable)
    assert ag.compute_cohen_kappa_matrix(codes).shape == (annotators, annotators)
    ag.compute_pairwise_agreement(codes)
    consensus = ag.compute_consensus(codes)
    assert len(consensus) == items
    stats = ag.compute_annotator_stats(codes)
    assert stats["n_labels"].sum() == ann_case.figures["labels_total"]
    assert len(ag.compute_annotator_weights(codes)) == annotators
    ag.compute_class_agreement(codes)
    assert len(ag.find_disagreements(codes)) == ann_case.figures["n_disagreements"]
    # two classes, a and b: one pair to confuse wherever some item is disagreed on
    assert len(ag.find_confused_pairs(codes)) == min(1, ann_case.figures["n_disagreements"])
    caution = ag.agreement_caution(summary)
    assert caution is None or isinstance(caution, str)

    linked = ag.link_predictions(codes, load_dataset(PREDICTIONS, name="items.csv"))
    by_slice = ag.compute_agreement_by_slice(
        codes,
        membership=linked.tags,
        truth=linked.info.get("truth"),
        prediction=linked.info.get("prediction"),
    )
    overall = by_slice.loc["All data"]
    assert overall["n"] == items
    assert overall["annotator_accuracy"] == pytest.approx(ann_case.annotator_accuracy)
    assert overall["model_accuracy"] == pytest.approx(ann_case.model_accuracy)
    assert (overall["hlp"], overall["hlp_source"]) == (
        pytest.approx(ann_case.annotator_accuracy),
        "truth",
    )


def test_a_blank_annotation_table_is_a_typed_error_naming_the_file():
    with pytest.raises(DataError) as err:
        ag.load_annotations(b"item,annotator,label\n1,ann,\n2,bob,\n", name="blank.csv")
    assert "blank.csv" in str(err.value) and "'label'" in str(err.value)


# ----------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def app_store(tmp_path_factory, load):
    """One database: a project per case (the case, its all-right copy, two iterations).

    The annotation tables are saved in project ``Labels`` beside their linked predictions.
    """
    db = tmp_path_factory.mktemp("degenerate_db") / "slicewise.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLICEWISE_DB", str(db))
        st.cache_data.clear()
        st.cache_resource.clear()
        store = Store(db)
        ids: dict[str, Any] = {}
        for case in CASES:
            fmt = case.formats[0]
            project = store.get_or_create_project(case.name, user="seed")
            did = store.save_dataset(
                project, case.name, load(case, fmt), task=case.task, user="seed"
            )
            fixed = store.save_dataset(
                project, "fixed", load(case, fmt, fixed=True), task=case.task, user="seed"
            )
            if not case.refused:
                for version, dataset_id in (("1", did), ("2", fixed)):
                    table = analyze(store.load_dataset(dataset_id), task=case.task)
                    store.save_iteration(
                        project,
                        dataset_id,
                        model_name="m",
                        model_version=version,
                        table=table,
                        user="seed",
                    )
            ids[case.name] = (project, did)
        project = store.get_or_create_project("Labels", user="seed")
        items = store.save_dataset(
            project,
            "items",
            load_dataset(PREDICTIONS, name="items.csv"),
            task=TaskSpec(),
            user="seed",
        )
        for ann_case in ANN_CASES:
            ann = ag.load_annotations(ann_case.content, name=f"{ann_case.name}.csv")
            set_id = store.save_annotation_set(
                project,
                ann_case.name,
                ann.labels,
                source_name=ann.source_name,
                content_hash=ann.content_hash,
                user="seed",
                linked_dataset_id=items,
            )
            ids[ann_case.name] = (items, set_id)
        yield store, ids
        store.close()
        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_lineage(app_store, case):
    store, ids = app_store
    project, did = ids[case.name]
    lineage = export_lineage(store, project)
    text = lineage_json(lineage)  # plain JSON: a NaN would raise here
    assert load_lineage(text) == lineage
    rows = {d["name"]: d["row_count"] for d in lineage["datasets"]}
    assert rows == {case.name: case.n, "fixed": case.n}
    if case.refused:
        assert lineage["iterations"] == []
        return
    first, second = lineage["iterations"]
    overall = next(r for r in first["table"]["rows"] if r["slice"] == "All data")
    assert overall["n"] == case.n
    assert overall["accuracy"] == pytest.approx(sum(case.correct) / case.n)
    fixed = next(r for r in second["table"]["rows"] if r["slice"] == "All data")
    assert fixed["accuracy"] == 1.0 and fixed["error_share"] is None  # 0 of 0 errors


# ----------------------------------------------------------------------------- pages

ALL_PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]
#: Pages that must refuse a case with one error box holding this phrase; all others show none.
_ANALYSIS_PAGES = (
    "app.py",
    "pages/2_Tag_errors.py",
    "pages/3_Slices_vs_HLP.py",
    "pages/4_Prioritise.py",
    "pages/5_Export.py",
    "pages/9_Suggested_slices.py",
)
PAGE_ERRORS = {("binary_no_positive", page): "positive class 'yes'" for page in _ANALYSIS_PAGES}
PAGE_ERRORS["one_row", "pages/8_Balanced_splits.py"] = "one_row.csv: 1 example cannot fill 3"


def assert_no_crash(at) -> list[str]:
    """No exception element and no traceback in an error box; return the error texts."""
    assert not at.exception, [e.value for e in at.exception]
    errors = [shown(e) for e in at.error]
    assert not any("Traceback" in e or "internal error" in e for e in errors), errors
    return errors


@pytest.mark.parametrize("page", ALL_PAGES)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_every_page(app_store, case, page):
    _, ids = app_store
    at = run_page(page, ids[case.name][1])
    errors = assert_no_crash(at)
    phrase = PAGE_ERRORS.get((case.name, page))
    if phrase is None:
        assert not errors, errors
    else:
        assert errors and all(phrase in e for e in errors), errors
        return
    if page == "app.py":
        metrics = {m.label: m.value for m in at.metric}
        errors_n = case.n - sum(case.correct)
        assert metrics["Examples"] == f"{case.n:,}"
        assert metrics["Errors"] == f"{errors_n:,}"
        assert metrics["Accuracy"] == f"{100 * sum(case.correct) / case.n:.1f}%"
    if page == "pages/7_Compare_iterations.py" and not case.refused:
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Accuracy, all data"] == "100.0%"  # the all-right copy is "after"


@pytest.mark.parametrize("ann_case", ANN)
def test_label_consistency_page_on_a_saved_set(app_store, ann_case):
    _, ids = app_store
    items, set_id = ids[ann_case.name]
    at = run_page(
        "pages/6_Label_consistency.py", items, agree_source="Saved annotation set", agree_set=set_id
    )
    assert not assert_no_crash(at)
    f = ann_case.figures
    assert (
        f"**{f['items']:,}** items · **{f['annotators']}** annotators · "
        f"**{f['labels_total']:,}** labels"
    ) in "\n".join(str(m.value) for m in at.markdown)
    if ann_case.warning:
        assert ann_case.warning in texts(at.warning)


# ----------------------------------------------------------------------------- the CLI

#: One file per case (its first format) goes through each command.
CLI_FILES = [pytest.param(c, c.formats[0], id=c.file(c.formats[0])) for c in CASES]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module", autouse=True)
def cli_runs(files, tmp_path_factory) -> dict[tuple[str, str], Future]:
    """Start every CLI run at once, in the background: the other tests run meanwhile.

    One subprocess per file and command; a spare core (of two in CI) runs them while the
    pages run in this process.
    """
    folder = tmp_path_factory.mktemp("degenerate_cli")
    (folder / "items.csv").write_bytes(PREDICTIONS)
    commands: dict[tuple[str, str], list[str]] = {}
    for param in CLI_FILES:
        case, fmt = param.values
        path = str(files[case.name, fmt])
        sliced = ["--slice-by", case.slice_by] if case.slice_by else []
        commands[case.name, "analyze"] = ["analyze", path, *sliced, *case.cli_options]
        commands[case.name, "suggest"] = ["suggest", path, "--min-support", "1", *case.cli_options]
        commands[case.name, "compare"] = [
            "compare",
            path,
            str(files[case.name + "-fixed", fmt]),
            *case.cli_options,
        ]
    for ann_case in ANN_CASES:
        path = folder / f"{ann_case.name}.csv"
        path.write_bytes(ann_case.content)
        commands[ann_case.name, "agreement"] = [
            "agreement",
            str(path),
            "--predictions",
            str(folder / "items.csv"),
        ]
    pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1))
    jobs = {key: pool.submit(_cli, *args) for key, args in commands.items()}
    yield jobs
    pool.shutdown(wait=True, cancel_futures=True)


def assert_clean_exit(result: subprocess.CompletedProcess, file: str, refused: str) -> None:
    """Exit 0 with only notes on stderr, or exit 2 with one line naming the file."""
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    if refused:
        assert result.returncode == 2, (result.returncode, result.stderr)
        errors = [line for line in lines if not line.startswith("slicewise: note: ")]
        assert len(errors) == 1 and errors[0].startswith("slicewise: error: "), result.stderr
        assert file in errors[0] and refused in errors[0], errors[0]
        assert result.stdout == ""
    else:
        assert result.returncode == 0, result.stderr
        assert all(line.startswith("slicewise: note: ") for line in lines), result.stderr


@pytest.mark.parametrize("command", ["analyze", "suggest", "compare"])
@pytest.mark.parametrize(("case", "fmt"), CLI_FILES)
def test_cli(cli_runs, case, fmt, command):
    result = cli_runs[case.name, command].result()
    assert_clean_exit(result, case.file(fmt), case.refused)
    if case.refused:
        return
    n, right = case.n, sum(case.correct)
    accuracy = f"{100 * right / n:.1f}%"
    if command == "analyze":
        assert f"task: {case.task.kind}   examples: {n}   accuracy: {accuracy}" in result.stdout
    elif command == "suggest":
        errors = n - right
        examples = "1 example" if n == 1 else f"{n} examples"  # "1 example", not "1 examples"
        wrong = "1 error" if errors == 1 else f"{errors} errors"
        assert result.stdout.startswith(
            f"{case.file(fmt)}: {examples}, {wrong} ({100 * errors / n:.1f}%); searched "
        ), result.stdout
        if case.slice_by is None:  # nothing to search: said so, not a blank
            assert "; searched no column (up to 3 conditions" in result.stdout
    else:
        assert f"All data: {accuracy} -> 100.0%" in result.stdout


@pytest.mark.parametrize("ann_case", ANN)
def test_cli_agreement(cli_runs, ann_case):
    result = cli_runs[ann_case.name, "agreement"].result()
    file = f"{ann_case.name}.csv"
    assert_clean_exit(result, file, "")
    f = ann_case.figures
    assert result.stdout.startswith(
        f"{file}: {f['items']} items, {f['annotators']} annotators, {f['labels_total']} labels, "
        f"{f['classes']} classes; {f['n_disagreements']} items with disagreement"
    ), result.stdout
    assert "accuracy vs ground truth" in result.stdout  # HLP per tag, from the linked labels
