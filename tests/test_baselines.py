"""Baselines beyond one human label: per-row human accuracy, annotators, majority, older, target.

Issue 14, points 4 and 7. HLP as the lecture defines it is one person's accuracy: a per-row
human accuracy (or annotators' labels) gives it as a mean, a majority label is flagged as an
upper bound, and an older system or a target can stand in for HLP. Expected values come from
scipy (paired t-test, t interval, binomial tails), statsmodels (exact McNemar, Wilson) or are
worked by hand in comments. Small fixtures only: the real files in ../shared are not read.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pagetest import assert_ok
from pagetest import run_page as app
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from slicewise.core.agreement import annotations_from_frame
from slicewise.core.analysis import analyze
from slicewise.core.baselines import (
    BASIS_HUMAN_ACCURACY,
    BASIS_MAJORITY,
    BASIS_SINGLE,
    Baseline,
    human_accuracy_from_annotations,
    is_majority_name,
    paired_mean_difference,
    student_t_two_sided_p,
    with_older_system,
)
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.errors import DataError, InvalidValueError
from slicewise.core.metrics import OVERALL
from slicewise.core.task import TaskSpec
from slicewise.ui.loading import LoadOptions

MINE = [
    "hlp",
    "hlp_source",
    "hlp_basis",
    "baseline",
    "hlp_n",
    "hlp_ci_low",
    "hlp_ci_high",
    "paired_accuracy",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
    "p_value",
    "significant",
]

# ----------------------------------------------------------------------------- fixtures


def cifar_like(n: int = 120, seed: int = 3) -> pd.DataFrame:
    """A CIFAR-10H-like file: label, prediction, a majority label, per-row human accuracy.

    Rows 5 and 17 have no human accuracy (nobody rated them); ``group`` splits the rows in
    two slices of 60, each with at least 30 rated rows.
    """
    rng = np.random.default_rng(seed)
    label = rng.choice(["cat", "dog", "ship"], n)
    wrong = rng.random(n) < 0.2
    prediction = np.where(wrong, np.where(label == "cat", "dog", "cat"), label)
    majority = np.where(rng.random(n) < 0.05, "ship", label)
    accuracy = np.round(rng.uniform(0.3, 1.0, n), 3)
    accuracy[[5, 17]] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "label": label,
            "prediction": prediction,
            "human_majority": majority,
            "human_accuracy": accuracy,
            "group": np.where(np.arange(n) % 2 == 0, "a", "b"),
        }
    )


def ds(frame: pd.DataFrame, mapping: ColumnMapping | None = None, name: str = "h.csv"):
    return dataset_from_frame(frame, mapping or ColumnMapping(id="id"), name=name)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# ----------------------------------------------------------------------------- Student's t


@pytest.mark.parametrize(
    "t, df", [(0.0, 5), (1.0, 1), (2.2, 9), (-3.5, 29), (1.96, 10_000), (12.0, 3)]
)
def test_two_sided_t_tail_matches_scipy(t, df):
    assert student_t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-9)


def test_paired_sums_give_scipys_paired_t_test_and_intervals():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 45)
    b = (rng.random(45) < 0.7).astype(float)
    got = paired_mean_difference(
        np.array([45.0]), [a.sum()], [(a * a).sum()], [b.sum()], [(b * b).sum()], [(a * b).sum()]
    )
    test = stats.ttest_rel(a, b)
    low, high = test.confidence_interval()
    assert got["mean_d"][0] == pytest.approx((a - b).mean())
    assert got["p_value"][0] == pytest.approx(test.pvalue, rel=1e-8)
    assert (got["d_ci_low"][0], got["d_ci_high"][0]) == pytest.approx((low, high), rel=1e-8)
    a_low, a_high = stats.t.interval(0.95, 44, loc=a.mean(), scale=stats.sem(a))
    assert (got["a_ci_low"][0], got["a_ci_high"][0]) == pytest.approx((a_low, a_high), rel=1e-8)


def test_differences_that_do_not_vary_are_a_certain_gap_or_none():
    # a = 1 and b = 1 everywhere: d = 0, p = 1; a = 1, b = 0: d = 1 on every example, p = 0.
    same = paired_mean_difference(np.array([40.0]), [40.0], [40.0], [40.0], [40.0], [40.0])
    apart = paired_mean_difference(np.array([40.0]), [40.0], [40.0], [0.0], [0.0], [0.0])
    assert same["p_value"][0] == 1.0 and same["d_ci_low"][0] == same["d_ci_high"][0] == 0.0
    assert apart["p_value"][0] == 0.0 and apart["mean_d"][0] == 1.0


# ----------------------------------------------------------------------------- human accuracy


def test_hlp_is_the_mean_human_accuracy_paired_with_the_model_on_the_same_rows():
    frame = cifar_like()
    table = analyze(ds(frame), slice_by=["group"])
    correct = (frame["label"] == frame["prediction"]).to_numpy(dtype=float)
    acc = frame["human_accuracy"].to_numpy()
    for name, mask in (
        (OVERALL, np.ones(len(frame), bool)),
        ("group = a", (frame["group"] == "a").to_numpy()),
        ("group = b", (frame["group"] == "b").to_numpy()),
    ):
        rated = mask & ~np.isnan(acc)
        a, m = acc[rated], correct[rated]
        row = table.loc[name]
        test = stats.ttest_rel(a, m)
        assert row["hlp_source"] == "human_accuracy"
        assert row["hlp_basis"] == BASIS_HUMAN_ACCURACY == "mean single-annotator accuracy"
        assert row["baseline"] == "HLP"
        assert row["hlp_n"] == rated.sum()
        assert row["hlp"] == pytest.approx(a.mean())
        assert row["paired_accuracy"] == pytest.approx(m.mean())
        assert row["accuracy"] == pytest.approx(correct[mask].mean())  # all rows of the slice
        assert row["gap"] == pytest.approx((a - m).mean())
        assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-7)
        assert (row["gap_ci_low"], row["gap_ci_high"]) == pytest.approx(
            tuple(test.confidence_interval()), rel=1e-7
        )
        assert (row["hlp_ci_low"], row["hlp_ci_high"]) == pytest.approx(
            stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a)), rel=1e-7
        )


def test_human_accuracy_takes_precedence_over_the_majority_label_which_is_an_upper_bound():
    frame = cifar_like()
    both = analyze(ds(frame)).loc[OVERALL]
    majority_only = analyze(ds(frame, ColumnMapping(id="id", human_accuracy=""))).loc[OVERALL]
    assert both["hlp_source"] == "human_accuracy"
    assert both["hlp"] == pytest.approx(np.nanmean(frame["human_accuracy"]))
    # Without the column: the majority label's agreement with the label, flagged.
    assert majority_only["hlp_source"] == "human_label"
    assert majority_only["hlp_basis"] == BASIS_MAJORITY
    assert majority_only["hlp_basis"] == "majority label — an upper bound on one person"
    assert majority_only["hlp"] == pytest.approx((frame["human_majority"] == frame["label"]).mean())
    assert majority_only["hlp"] > both["hlp"]


def test_too_few_rated_rows_show_the_mean_but_no_gap():
    frame = cifar_like()
    frame.loc[frame["group"] == "b", "human_accuracy"] = np.nan
    frame.loc[frame.index[1:20:2], "human_accuracy"] = 0.5  # 10 rated rows in group b
    row = analyze(ds(frame), slice_by=["group"]).loc["group = b"]
    assert (row["hlp_source"], row["hlp_n"], row["hlp"]) == ("too_few", 10, 0.5)
    assert row["hlp_basis"] == BASIS_HUMAN_ACCURACY
    assert np.isnan(row["gap"]) and np.isnan(row["gap_ci_low"]) and np.isnan(row["p_value"])


@pytest.mark.parametrize(
    "column, detected",
    [
        ("human_accuracy", "human_accuracy"),
        ("Human Accuracy", "Human Accuracy"),
        ("annotator_accuracy", "annotator_accuracy"),
        ("accuracy", None),
    ],
)
def test_the_human_accuracy_role_is_detected_by_name(column, detected):
    frame = cifar_like().rename(columns={"human_accuracy": column})
    assert ds(frame).mapping.human_accuracy == detected


BAD_VALUES = [
    (
        "1.5",
        "holds '1.5' in row 3; a human accuracy is the probability that one person labels "
        "the example right, a number between 0 and 1",
    ),
    ("95", "holds '95' in row 3; a human accuracy is the probability"),
    ("-0.2", "holds '-0.2' in row 3"),
    ("high", "holds 'high' in row 3; human accuracies must be numbers"),
    ("inf", "holds 'inf' in row 3; human accuracies must be finite numbers"),
]


def bad_file(tmp_path, value: str):
    path = tmp_path / "h.csv"
    path.write_text(
        f"id,label,prediction,human_accuracy\n1,a,a,0.5\n2,a,b,{value}\n3,b,b,\n4,b,a,0.25\n"
    )
    return path


@pytest.mark.parametrize("value, message", BAD_VALUES)
def test_a_human_accuracy_outside_0_1_or_not_a_number_names_file_column_and_row(
    tmp_path, value, message
):
    path = bad_file(tmp_path, value)
    with pytest.raises(InvalidValueError) as caught:
        load_dataset(path)
    text = str(caught.value)
    assert text.startswith("h.csv: the human accuracy column 'human_accuracy' ")
    assert message in text
    code, _, err = run("analyze", str(path))
    assert code == 2 and err.count("\n") == 1 and message in err


@pytest.mark.parametrize("value, message", BAD_VALUES)
def test_the_duckdb_engine_refuses_the_same_cells_with_the_same_message(tmp_path, value, message):
    from slicewise.core.engine_duckdb import DuckDBFile

    path = bad_file(tmp_path, value)
    with pytest.raises(InvalidValueError) as pandas_error:
        load_dataset(path)
    with pytest.raises(InvalidValueError) as duck_error:
        DuckDBFile(path)
    assert str(duck_error.value) == str(pandas_error.value)


# ----------------------------------------------------------------------------- annotators


def test_annotators_give_each_example_the_share_that_chose_its_label():
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "label": ["a", "a", "b", "1"],
            "prediction": ["a", "b", "b", "1"],
        }
    )
    votes = annotations_from_frame(
        pd.DataFrame(
            {
                "item": ["1", "1", "1", "2", "4", "4", "99"],
                "annotator": ["x", "y", "z", "x", "x", "y", "x"],
                "label": ["a", "a", "b", "b", "1.0", "yes", "a"],
            }
        ),
        source_name="votes.csv",
    )
    values, notes = human_accuracy_from_annotations(votes, ds(frame))
    # 1: two of three chose a; 2: nobody chose a; 3: not annotated; 4: 1.0 and yes are class 1.
    np.testing.assert_allclose(values, [2 / 3, 0.0, np.nan, 1.0])
    assert notes and "1 of its 4 items is no example id of h.csv" in notes[0] and "'99'" in notes[0]


def test_annotations_need_ids_that_match(tmp_path):
    frame = pd.DataFrame({"id": ["1", "2"], "label": ["a", "b"], "prediction": ["a", "a"]})
    votes = annotations_from_frame(
        pd.DataFrame({"item": ["7"], "annotator": ["x"], "label": ["a"]}), source_name="votes.csv"
    )
    with pytest.raises(InvalidValueError, match=r"votes\.csv: none of its 1 items .* h\.csv"):
        human_accuracy_from_annotations(votes, ds(frame))
    no_id = dataset_from_frame(frame.drop(columns="id"), name="h.csv")
    with pytest.raises(InvalidValueError, match=r"h\.csv: has no id column"):
        human_accuracy_from_annotations(votes, no_id)


def test_cli_annotations_give_hlp_as_the_mean_share(tmp_path):
    frame = cifar_like(60).drop(columns=["human_accuracy", "human_majority"])
    frame.to_csv(tmp_path / "p.csv", index=False)
    # Three annotators per example: r1 always right, r2 right on even ids, r3 never right.
    rows = []
    for i, label in zip(frame["id"], frame["label"], strict=True):
        rows += [(i, "r1", label), (i, "r2", label if i % 2 == 0 else "zebra"), (i, "r3", "zebra")]
    pd.DataFrame(rows, columns=["example", "rater", "answer"]).to_csv(
        tmp_path / "v.csv", index=False
    )
    code, out, err = run(
        "analyze",
        str(tmp_path / "p.csv"),
        "--annotations",
        str(tmp_path / "v.csv"),
        "--format",
        "json",
    )
    assert code == 0, err
    overall = json.loads(out)["overall"]
    # Per example 2/3 (even id) or 1/3 (odd id), half of each: mean 1/2.
    assert overall["hlp"] == pytest.approx(0.5)
    assert overall["hlp_source"] == "human_accuracy"
    code, _, err = run(
        "analyze",
        str(tmp_path / "p.csv"),
        "--annotations",
        str(tmp_path / "v.csv"),
        "--engine",
        "duckdb",
    )
    assert code == 2 and "--engine pandas for --annotations" in err


# ----------------------------------------------------------------------------- majority flag


@pytest.mark.parametrize(
    "name, kind",
    [
        ("human_majority", "majority"),
        ("crowd_label", "majority"),
        ("consensus", "majority"),
        ("mv_label", "majority"),
        ("aggregate_label", "majority"),
        ("human_label", "single"),
        ("annotator", "single"),
        ("inspector_label", "single"),
    ],
)
def test_a_majority_label_is_read_from_the_human_columns_name(name, kind):
    assert is_majority_name(name) == (kind == "majority")
    frame = cifar_like().drop(columns="human_accuracy").rename(columns={"human_majority": name})
    dataset = ds(frame, ColumnMapping(id="id", human=name))
    assert dataset.mapping.human_kind == kind
    expected = BASIS_MAJORITY if kind == "majority" else BASIS_SINGLE
    assert analyze(dataset).loc[OVERALL, "hlp_basis"] == expected


def test_the_majority_flag_can_be_given_either_way(tmp_path):
    frame = cifar_like().drop(columns="human_accuracy")
    single = ds(frame, ColumnMapping(id="id", human_kind="single"))
    assert analyze(single).loc[OVERALL, "hlp_basis"] == "single human label"
    renamed = frame.rename(columns={"human_majority": "human_label"})
    renamed.to_csv(tmp_path / "p.csv", index=False)
    code, out, err = run("analyze", str(tmp_path / "p.csv"), "--human-majority", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["overall"]["hlp_source"] == "human_label"
    table = analyze(ds(renamed, ColumnMapping(id="id", human_kind="majority")))
    assert table.loc[OVERALL, "hlp_basis"] == BASIS_MAJORITY


@pytest.mark.parametrize(
    "mapping, message",
    [
        (ColumnMapping(human_kind="both"), "must be 'single' or 'majority', not 'both'"),
        (
            ColumnMapping(human="", human_kind="majority"),
            "a majority human label needs a human-label column",
        ),
    ],
)
def test_a_bad_human_kind_is_refused(mapping, message):
    with pytest.raises(InvalidValueError, match=message):
        ds(cifar_like(), mapping)


# ----------------------------------------------------------------------------- older system


def older_frame(n: int = 40) -> pd.DataFrame:
    """40 examples: the model right on 30, the older system right on 24.

    rows    model  older
     0-19   right  right
    20-29   right  wrong
    30-33   wrong  right
    34-39   wrong  wrong
    """
    label = np.array(["a", "b"] * (n // 2), dtype=object)
    other = np.where(label == "a", "b", "a")
    idx = np.arange(n)
    prediction = np.where(idx < 30, label, other)
    older = np.where((idx < 20) | ((idx >= 30) & (idx < 34)), label, other)
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in idx],
            "label": label,
            "prediction": prediction,
            "old_prediction": older,
        }
    )


def test_an_older_system_is_the_human_label_machinery_with_its_predictions():
    frame = older_frame()
    dataset = ds(frame, ColumnMapping(id="id", human="old_prediction", human_kind="single"))
    row = analyze(dataset, baseline=Baseline.older_system("old_prediction")).loc[OVERALL]
    # older right 24/40 = 0.6; model right 30/40; discordant: model only 10, older only 4.
    assert row["hlp_source"] == "older_system"
    assert row["baseline"] == "older system: old_prediction"
    assert row["hlp_basis"] == "older system old_prediction"
    assert row["hlp"] == pytest.approx(0.6) and row["paired_accuracy"] == pytest.approx(0.75)
    assert row["gap"] == pytest.approx(-0.15)
    assert row["p_value"] == pytest.approx(mcnemar([[20, 10], [4, 6]], exact=True).pvalue)
    low, high = proportion_confint(24, 40, method="wilson")
    assert (row["hlp_ci_low"], row["hlp_ci_high"]) == pytest.approx((low, high))
    assert row["gap_ci_low"] < -0.15 < row["gap_ci_high"]


def test_an_older_systems_file_is_joined_by_id(tmp_path):
    frame = older_frame()
    frame.drop(columns="old_prediction").to_csv(tmp_path / "new.csv", index=False)
    old = frame[["id", "label", "old_prediction"]].rename(columns={"old_prediction": "prediction"})
    extra = pd.DataFrame({"id": ["zz"], "label": ["a"], "prediction": ["a"]})
    pd.concat([old.iloc[::-1], extra]).to_csv(tmp_path / "v1.csv", index=False)  # reordered
    code, out, err = run(
        "analyze",
        str(tmp_path / "new.csv"),
        "--baseline-predictions",
        str(tmp_path / "v1.csv"),
        "--format",
        "json",
    )
    assert code == 0, err
    assert "v1.csv: 1 row with an id that is no example of new.csv left out" in err
    overall = json.loads(out)["overall"]
    assert overall["hlp_source"] == "older_system"
    assert overall["hlp"] == pytest.approx(0.6) and overall["gap"] == pytest.approx(-0.15)
    # The same table as the older predictions in a column of the file.
    same_file = analyze(
        ds(frame, ColumnMapping(id="id", human="old_prediction")),
        baseline=Baseline.older_system("v1.csv"),
    )
    joined, _ = with_older_system(
        load_dataset(tmp_path / "new.csv"), load_dataset(tmp_path / "v1.csv")
    )
    table = analyze(joined, baseline=Baseline.older_system("v1.csv"))
    pd.testing.assert_frame_equal(table[MINE], same_file.loc[table.index, MINE])


def test_an_older_systems_classes_take_the_datasets_spelling():
    frame = pd.DataFrame({"id": [1, 2, 3], "label": ["1", "0", "1"], "prediction": ["1", "1", "1"]})
    older = pd.DataFrame(
        {"id": [3, 2, 1], "label": ["1", "0", "1"], "prediction": ["true", "1.0", "yes"]}
    )
    joined, notes = with_older_system(ds(frame), ds(older, name="old.csv"))
    assert joined.frame["human"].tolist() == ["1", "1", "1"] and not notes


def test_without_ids_an_older_system_needs_as_many_rows():
    frame = older_frame().drop(columns="id")
    with pytest.raises(InvalidValueError, match=r"old\.csv: has 39 rows and new\.csv 40"):
        with_older_system(
            dataset_from_frame(frame, name="new.csv"),
            dataset_from_frame(frame.iloc[1:], name="old.csv"),
        )


def test_cli_older_system_column_and_conflicts(tmp_path):
    older_frame().to_csv(tmp_path / "p.csv", index=False)
    path = str(tmp_path / "p.csv")
    code, out, err = run(
        "analyze", path, "--baseline-prediction", "old_prediction", "--format", "json"
    )
    assert code == 0, err
    overall = json.loads(out)["overall"]
    assert (overall["hlp_source"], overall["hlp"]) == ("older_system", pytest.approx(0.6))
    for args, message in (
        (
            ["--target", "0.9", "--baseline-prediction", "old_prediction"],
            "give one baseline: --target or --baseline-prediction, not both",
        ),
        (
            ["--baseline-prediction", "old_prediction", "--human", "label"],
            "--baseline-prediction takes the human label's place",
        ),
        (
            ["--target", "0.9", "--human-accuracy", "x"],
            "--target is the baseline instead of HLP; leave out --human-accuracy",
        ),
        (["--target", "1.5"], "give a fraction between 0 and 1"),
        (["--target", "high"], "give a fraction between 0 and 1 or a percent"),
    ):
        code, _, err = run("analyze", path, *args)
        assert code == 2 and message in err and err.count("\n") == 1, err


# ----------------------------------------------------------------------------- target


def test_a_target_is_one_typed_value_for_every_slice_with_a_binomial_test():
    frame = older_frame()
    table = analyze(
        ds(frame.drop(columns="old_prediction")),
        baseline=Baseline.of_target(0.9),
        hlp={OVERALL: 0.8},
    )
    # A value typed for a row wins over the target there.
    assert table.loc[OVERALL, ["hlp_source", "baseline", "hlp"]].tolist() == ["user", "HLP", 0.8]
    table = analyze(ds(frame.drop(columns="old_prediction")), baseline=Baseline.of_target(0.9))
    row = table.loc[OVERALL]
    assert row["hlp_source"] == "target" and row["baseline"] == "target 90%"
    assert row["hlp_basis"] == "target" and row["hlp_n"] == 0
    assert row["gap"] == pytest.approx(0.9 - 0.75)
    # Two-sided exact test, the smaller tail doubled: 2 · P[X <= 30], X ~ Binomial(40, 0.9).
    assert row["p_value"] == pytest.approx(min(1, 2 * stats.binom.cdf(30, 40, 0.9)), rel=1e-8)
    low, high = proportion_confint(30, 40, method="wilson")
    assert (row["gap_ci_low"], row["gap_ci_high"]) == pytest.approx((0.9 - high, 0.9 - low))


@pytest.mark.parametrize(
    "value, label", [(0.95, "target 95%"), (0.955, "target 95.5%"), (1.0, "target 100%")]
)
def test_a_targets_name_is_a_short_percent(value, label):
    assert Baseline.of_target(value).label == label


@pytest.mark.parametrize("value", [1.5, -0.1, "x"])
def test_a_target_outside_0_1_is_refused(value):
    with pytest.raises(DataError):
        Baseline.of_target(value)


# ----------------------------------------------------------------------------- DuckDB parity


@pytest.mark.parametrize(
    "mapping, baseline",
    [
        (ColumnMapping(id="id"), None),
        (ColumnMapping(id="id", human_accuracy=""), None),
        (ColumnMapping(id="id", human_accuracy="", human_kind="single"), None),
        (
            ColumnMapping(id="id", human="old", human_accuracy="", human_kind="single"),
            Baseline.older_system("old"),
        ),
        (ColumnMapping(id="id"), Baseline.of_target(0.85)),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_gives_the_pandas_baseline_columns(tmp_path, mapping, baseline, fmt):
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    frame = cifar_like()
    frame["old"] = np.where(np.arange(len(frame)) % 3 == 0, "cat", frame["label"])
    path = tmp_path / f"p.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    slice_by = ["group", "human_accuracy"] if mapping.human_accuracy is None else ["group"]
    got = analyze_file_duckdb(path, mapping, slice_by=slice_by, baseline=baseline)
    expected = analyze(load_dataset(path, mapping), slice_by=slice_by, baseline=baseline)
    assert sorted(got.index) == sorted(expected.index)
    pd.testing.assert_frame_equal(got[MINE], expected.loc[got.index, MINE], check_dtype=False)


# ----------------------------------------------------------------------------- store and app


def test_an_old_stored_mapping_without_the_new_fields_still_loads(store):
    frame = cifar_like().drop(columns="human_accuracy")
    project = store.get_or_create_project("P", user="t")
    did = store.save_dataset(project, "d", ds(frame), task=TaskSpec(), user="t")
    with sqlite3.connect(store.path) as con:
        (text,) = con.execute("SELECT mapping FROM datasets WHERE id = ?", [did]).fetchone()
        old = {
            k: v for k, v in json.loads(text).items() if k not in ("human_accuracy", "human_kind")
        }
        con.execute("UPDATE datasets SET mapping = ? WHERE id = ?", [json.dumps(old), did])
    loaded = store.load_dataset(did)
    assert loaded.mapping.human_accuracy is None and loaded.mapping.human_kind is None
    assert analyze(loaded).loc[OVERALL, "hlp_basis"] == BASIS_SINGLE  # as before the flag


def test_a_stored_dataset_keeps_its_human_accuracy_and_majority_flag(store):
    project = store.get_or_create_project("P", user="t")
    did = store.save_dataset(project, "d", ds(cifar_like()), task=TaskSpec(), user="t")
    loaded = store.load_dataset(did)
    assert loaded.mapping.human_accuracy == "human_accuracy"
    assert loaded.mapping.human_kind == "majority"
    assert analyze(loaded).loc[OVERALL, "hlp_source"] == "human_accuracy"


def test_load_options_map_the_human_accuracy_role_and_the_majority_flag():
    options = LoadOptions(
        label="label",
        prediction="prediction",
        human="crowd",
        human_accuracy="p_right",
        human_majority=True,
    )
    mapping = options.mapping()
    assert (mapping.human_accuracy, mapping.human_kind) == ("p_right", "majority")
    off = LoadOptions(label="label", prediction="prediction").mapping()
    assert (off.human_accuracy, off.human_kind) == ("", None)  # switched off, not detected


@pytest.mark.usefixtures("fresh")
def test_load_data_offers_the_human_accuracy_role_and_the_majority_flag(store):
    data = cifar_like(40).to_csv(index=False).encode()
    at = app("pages/1_Load_data.py")
    at.file_uploader(key="load_upload").set_value(("cifar.csv", data, "text/csv")).run()
    assert_ok(at)
    hacc = [w for w in at.selectbox if w.key and w.key.endswith("_human_accuracy")]
    assert len(hacc) == 1 and hacc[0].value == "human_accuracy"
    majority = [w for w in at.checkbox if w.key and "_majority_" in w.key]
    assert len(majority) == 1 and majority[0].value is True  # human_majority: by its name
    at.button(key=next(b.key for b in at.button if b.key and b.key.endswith("_save"))).click()
    at.run()
    assert_ok(at, no_errors=True)
    did = int(store.list_datasets()["id"].max())
    mapping = store.load_dataset(did).mapping
    assert (mapping.human_accuracy, mapping.human_kind) == ("human_accuracy", "majority")
