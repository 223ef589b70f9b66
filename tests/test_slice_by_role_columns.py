"""Slicing by the label, prediction or human-label column under the file's own name.

The loader holds the roles as ``label``, ``prediction``, ``human`` in ``Dataset.frame``;
``--slice-by true_category`` (the file's label column) used to say "no such column". Now it
gives one row per class, ``true_category = cat``...: each class's accuracy (its recall)
beside its HLP, the lecture's "accuracy in rare classes".

The file, by hand (``second_opinion`` is the human label, row 10 has none):

    row  true_category  guess  second_opinion  site
    1    cat            cat    cat             N
    2    cat            cat    cat             S
    3    cat            dog    cat             N
    4    cat            cat    dog             S
    5    dog            dog    dog             N
    6    dog            cat    dog             S
    7    dog            dog    dog             N
    8    bird           bird   bird            S
    9    bird           cat    bird            N
    10   fish           fish   -               S

Per class (label): cat 3/4 right, HLP 3/4 (row 4's human label is dog); dog 2/3, HLP 3/3;
bird 1/2, HLP 2/2; fish 1/1, no HLP (no human label).
Per prediction: cat rows 1, 2, 4, 6, 9 -> 3/5 right; dog rows 3, 5, 7 -> 2/3; bird 1/1;
fish 1/1. Per human label: cat rows 1-3 -> 2/3; dog rows 4-7 -> 3/4; bird 1/2;
(missing) row 10 -> 1/1.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import recall_score

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.compare import compare_datasets
from slicewise.core.dataset import ColumnMapping, load_dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import build_slices, compute_class_report

TEXT = (
    "id,true_category,guess,second_opinion,site\n"
    "1,cat,cat,cat,N\n2,cat,cat,cat,S\n3,cat,dog,cat,N\n4,cat,cat,dog,S\n"
    "5,dog,dog,dog,N\n6,dog,cat,dog,S\n7,dog,dog,dog,N\n"
    "8,bird,bird,bird,S\n9,bird,cat,bird,N\n10,fish,fish,,S\n"
)
MAPPING = ColumnMapping(
    label="true_category", prediction="guess", human="second_opinion", tag_columns=()
)
CLASSES = ["bird", "cat", "dog", "fish"]  # slices come sorted
BY_LABEL = {
    "bird": (2, 1 / 2, 1.0),
    "cat": (4, 3 / 4, 3 / 4),
    "dog": (3, 2 / 3, 1.0),
    "fish": (1, 1.0, np.nan),
}  # class: (n, accuracy, HLP)
BY_PREDICTION = {"bird": (1, 1.0), "cat": (5, 3 / 5), "dog": (3, 2 / 3), "fish": (1, 1.0)}
BY_HUMAN = {"bird": (2, 1 / 2), "cat": (3, 2 / 3), "dog": (4, 3 / 4), "(missing)": (1, 1.0)}


@pytest.fixture
def dataset():
    return load_dataset(TEXT.encode(), MAPPING, name="classes.csv")


@pytest.fixture
def path(tmp_path):
    out = tmp_path / "classes.csv"
    out.write_text(TEXT)
    return out


def rows(table: pd.DataFrame, column: str) -> dict[str, tuple]:
    """(n, accuracy) per value of ``column``, including slices shown once under another
    slice with the same members (listed in its ``same_as``)."""
    out = {}
    for name, row in table.iterrows():
        for alias in [name, *filter(None, str(row.get("same_as", "")).split("; "))]:
            if alias.startswith(f"{column} = "):
                out[alias.removeprefix(f"{column} = ")] = (int(row["n"]), row["accuracy"])
    return out


# ----------------------------------------------------------------------------- core


def test_slicing_by_the_label_gives_per_class_accuracy_and_hlp(dataset):
    table = analyze(dataset, slice_by=["true_category"])
    names = {f"true_category = {c}" for c in CLASSES}
    assert {n for n in table.index if n.startswith("true_category")} == names
    for cls, (n, accuracy, hlp) in BY_LABEL.items():
        row = table.loc[f"true_category = {cls}"]
        assert row["kind"] == "column" and row["n"] == n
        assert row["accuracy"] == pytest.approx(accuracy)
        assert row["hlp"] == pytest.approx(hlp, nan_ok=True)


def test_per_class_accuracy_is_the_recall_of_each_class(dataset):
    # independent oracles: scikit-learn's per-class recall and the class report
    table = analyze(dataset, slice_by=["true_category"])
    y, p = dataset.frame["label"], dataset.frame["prediction"]
    recall = recall_score(y, p, labels=CLASSES, average=None)
    got = [table.loc[f"true_category = {c}", "accuracy"] for c in CLASSES]
    assert got == pytest.approx(recall)
    report = compute_class_report(dataset.frame)
    assert got == pytest.approx(report.loc[CLASSES, "recall"].to_numpy())


def test_slicing_by_the_prediction_and_the_human_label(dataset):
    table = analyze(dataset, slice_by=["guess", "second_opinion"])
    assert rows(table, "guess") == pytest.approx(BY_PREDICTION)
    assert rows(table, "second_opinion") == pytest.approx(BY_HUMAN)


def test_the_canonical_names_still_work_and_name_their_rows_so(dataset):
    table = analyze(dataset, slice_by=["label"])
    assert {k: v[0] for k, v in rows(table, "label").items()} == {
        c: v[0] for c, v in BY_LABEL.items()
    }


def test_slice_info_names_the_column_as_the_user_did(dataset):
    _, info = build_slices(dataset, slice_by=["true_category"])
    assert set(info["source"]) == {"true_category"} and set(info["kind"]) == {"column"}


def test_an_unknown_column_lists_the_role_columns_by_their_file_names(dataset):
    with pytest.raises(InvalidValueError, match="cannot slice by 'category'") as err:
        analyze(dataset, slice_by=["category"])
    message = str(err.value)
    assert "classes.csv" in message
    for name in ("'true_category'", "'guess'", "'second_opinion'", "'site'"):
        assert name in message


def test_slicing_by_the_score_column_under_its_name(tmp_path):
    text = "label,prediction,confidence\n" + "".join(
        f"{'ab'[i % 2]},{'ab'[i % 3 == 0]},{i / 10}\n" for i in range(10)
    )
    ds = load_dataset(text.encode(), name="s.csv")
    table = analyze(ds, slice_by=["confidence"], bins=2)
    names = [n for n in table.index if n.startswith("confidence in [")]
    assert len(names) == 2 and table.loc[names, "n"].sum() == 10


def test_the_duckdb_engine_slices_by_the_role_columns_alike(dataset, path):
    pytest.importorskip("duckdb")
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    slice_by = ["true_category", "guess", "second_opinion", "site"]
    pd.testing.assert_frame_equal(
        analyze_file_duckdb(path, MAPPING, slice_by=slice_by), analyze(dataset, slice_by=slice_by)
    )


def test_compare_slices_by_the_label_in_each_file(dataset):
    after_text = TEXT.replace("3,cat,dog", "3,cat,cat").replace("9,bird,cat", "9,bird,bird")
    after = load_dataset(after_text.encode(), MAPPING, name="after.csv")
    table = compare_datasets(dataset, after, slice_by=["true_category"])
    assert table.loc["true_category = cat", ["n_before", "n_after"]].tolist() == [4, 4]
    assert table.loc["true_category = cat", "accuracy_before"] == pytest.approx(3 / 4)
    assert table.loc["true_category = cat", "accuracy_after"] == pytest.approx(1.0)
    assert table.loc["true_category = bird", "wrong_to_right"] == 1
    assert table.loc["true_category = dog", "delta"] == 0
    assert table.loc["true_category = cat", "kind"] == "column"


# ----------------------------------------------------------------------------- command line


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


ROLE_OPTIONS = ("--label", "true_category", "--prediction", "guess")


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_cli_analyze_slice_by_the_label(path, engine):
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    result = cli(
        "analyze",
        path,
        *ROLE_OPTIONS,
        "--human",
        "second_opinion",
        "--slice-by",
        "true_category",
        "--format",
        "json",
        "--engine",
        engine,
    )
    assert result.exit_code == 0, result.output
    slices = {s["name"]: s for s in json.loads(result.stdout)["slices"]}
    for cls, (n, accuracy, hlp) in BY_LABEL.items():
        row = slices[f"true_category = {cls}"]
        assert row["kind"] == "column" and row["n"] == n
        assert row["accuracy"] == pytest.approx(accuracy)
        assert (row["hlp"] is None) if np.isnan(hlp) else row["hlp"] == pytest.approx(hlp)


def test_cli_compare_slice_by_the_label(path):
    result = cli(
        "compare", path, path, *ROLE_OPTIONS, "--slice-by", "true_category", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    slices = {s["name"]: s for s in json.loads(result.stdout)["slices"]}
    assert {n: s["n_before"] for n, s in slices.items()} == {
        f"true_category = {c}": v[0] for c, v in BY_LABEL.items()
    }
