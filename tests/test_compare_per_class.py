"""Per-class results of `compare`: precision, recall, F1, their tests, the confusion matrices.

Fixture: ten pets (4 cats, 4 dogs, 2 birds) scored by two models, repeated ``k`` times with
fresh ids. Expected values are counted by hand in the comments; the tests' p-values come from
McNemar's formula by hand, statsmodels' pooled z-test, scipy's Fisher test and brute-force
enumeration of every relabelling with scikit-learn's f1_score.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from sklearn.metrics import f1_score
from statsmodels.stats.proportion import proportions_ztest

from slicewise.core.cli import main
from slicewise.core.compare import (
    CHANGE_COLUMNS,
    compare_classes,
    paired_randomization_p,
    unpaired_randomization_p,
)
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import InvalidValueError
from slicewise.core.task import TaskSpec

MAPPING = ColumnMapping(label="label", prediction="prediction", id="id")
MULTI = TaskSpec(kind="classification")

LABELS = ["cat"] * 4 + ["dog"] * 4 + ["bird"] * 2
BEFORE = ["cat", "cat", "dog", "cat", "dog", "dog", "dog", "cat", "bird", "dog"]
AFTER = ["cat", "cat", "cat", "cat", "dog", "cat", "cat", "cat", "bird", "bird"]


def pets(predictions: list[str], k: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"p{i}" for i in range(10 * k)], "label": LABELS * k, "prediction": predictions * k}
    )


def ds(frame: pd.DataFrame, name: str = "t.csv"):
    return dataset_from_frame(frame, MAPPING, name=name)


def test_per_class_values_and_confusion_matrices():
    result = compare_classes(ds(pets(BEFORE)), ds(pets(AFTER)), task=MULTI)
    t = result.table
    # Rare classes first: bird (2), then cat and dog (4 each, in name order).
    assert list(t.index) == ["bird", "cat", "dog"]
    assert t["support_before"].tolist() == [2, 4, 4] == t["support_after"].tolist()
    # Before: cat TP 3 of 4 labelled, 4 predicted (3 cats + dog #7); dog TP 3 of 4, 5
    # predicted (cat #2, dogs 4-6, bird #9); bird TP 1 of 2, 1 predicted.
    # After: cat TP 4 of 4, 7 predicted (4 cats + dogs 5-7); dog TP 1, 1 predicted; bird 2/2.
    expected = {
        "precision": {"cat": (3 / 4, 4 / 7), "dog": (3 / 5, 1.0), "bird": (1.0, 1.0)},
        "recall": {"cat": (3 / 4, 1.0), "dog": (3 / 4, 1 / 4), "bird": (1 / 2, 1.0)},
        "f1": {"cat": (6 / 8, 8 / 11), "dog": (6 / 9, 2 / 5), "bird": (2 / 3, 1.0)},
    }
    for metric, by_class in expected.items():
        for name, (b, a) in by_class.items():
            assert t.loc[name, f"{metric}_before"] == pytest.approx(b), (metric, name)
            assert t.loc[name, f"{metric}_after"] == pytest.approx(a), (metric, name)
            assert t.loc[name, f"{metric}_delta"] == pytest.approx(a - b), (metric, name)
    order = ["bird", "cat", "dog"]
    assert result.confusion_before.loc[order, order].to_numpy().tolist() == [
        [1, 0, 1],
        [0, 3, 1],
        [0, 1, 3],
    ]
    assert result.confusion_after.loc[order, order].to_numpy().tolist() == [
        [2, 0, 0],
        [0, 4, 0],
        [0, 3, 1],
    ]
    assert result.confusion_before.index.name == "label"
    assert result.confusion_before.columns.name == "prediction"
    for change in result.changes.values():
        assert tuple(change.columns) == CHANGE_COLUMNS
        assert (change["kind"] == "class").all()


@pytest.mark.parametrize(
    ("name", "p"),
    [
        # k = 5 copies: dog loses 2 right answers per copy (b = 10, c = 0):
        # p = 2 * P[Bin(10, 1/2) <= 0] = 2 / 1024. Cat and bird gain one per copy (c = 5):
        # p = 2 / 32.
        ("dog", 2 / 1024),
        ("cat", 2 / 32),
        ("bird", 2 / 32),
    ],
)
def test_recall_uses_mcnemar_on_the_examples_of_the_class(name, p):
    result = compare_classes(ds(pets(BEFORE, 5)), ds(pets(AFTER, 5)), task=MULTI)
    row = result.changes["recall"].loc[name]
    assert row["test"] == "mcnemar"
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert (
        row["n_before"]
        == row["n_after"]
        == row["n_paired"]
        == {"dog": 20, "cat": 20, "bird": 10}[name]
    )
    assert bool(row["regression"]) == (name == "dog")  # p < 0.05 and recall fell
    assert bool(row["improvement"]) is False  # 0.0625 is not below 0.05


def test_precision_is_unpaired_where_the_predicted_examples_differ():
    result = compare_classes(ds(pets(BEFORE, 5)), ds(pets(AFTER, 5)), task=MULTI)
    cat = result.changes["precision"].loc["cat"]
    # Cat precision 15/20 before, 20/35 after; the smallest expected cell is
    # 20 * 20/55 = 7.3 >= 5: the pooled z-test.
    assert cat["test"] == "two-proportion"
    _, expected = proportions_ztest([15, 20], [20, 35])
    assert cat["p_value"] == pytest.approx(expected, rel=1e-9)
    dog = result.changes["precision"].loc["dog"]
    # Dog 15/25 before, 5/5 after: an expected cell of 5 * 10/30 < 5, Fisher's test.
    assert dog["test"] == "fisher"
    assert dog["p_value"] == pytest.approx(stats.fisher_exact([[15, 10], [5, 0]]).pvalue)


def f1_of(labels: np.ndarray, pred: np.ndarray, positive: str) -> float:
    """F1 of one class counted directly: 2TP / (2TP + FP + FN), 0 when undefined."""
    tp = np.sum((labels == positive) & (pred == positive))
    wrong = np.sum((labels == positive) != (pred == positive))
    return 2 * tp / (2 * tp + wrong) if 2 * tp + wrong else 0.0


def brute_force_f1_p(labels, before, after, positive) -> float:
    """Swap the two models' predictions on every subset of examples (2**n relabellings)."""
    labels, before, after = map(np.asarray, (labels, before, after))

    def f1(pred):
        return f1_of(labels, pred, positive)

    observed = f1(after) - f1(before)
    assert f1(after) == pytest.approx(f1_score(labels, after, labels=[positive], average=None)[0])
    hits = 0
    for swap in itertools.product([False, True], repeat=len(labels)):
        s = np.array(swap)
        diff = f1(np.where(s, before, after)) - f1(np.where(s, after, before))
        hits += abs(diff) >= abs(observed) - 1e-12
    return hits / 2 ** len(labels)


def test_f1_on_the_same_examples_uses_exact_paired_randomization():
    # Class "1": before finds 2 of 6 positives (F1 = 4 / 8 = 0.5), after all 6 (F1 = 1).
    # Four examples changed; swapping j of them gives F1 difference
    # (12 - 2j)/(12 - j) - (4 + 2j)/(8 + j): 0.5, 0.24, 0, -0.24, -0.5 for j = 0..4, so
    # only j = 0 and j = 4 (1 relabelling each of 16) are as extreme: p = 2/16.
    labels = ["1"] * 6 + ["0"] * 2
    before = ["1", "1", "0", "0", "0", "0", "0", "0"]
    after = ["1"] * 6 + ["0"] * 2
    frame = pd.DataFrame({"id": range(8), "label": labels})
    result = compare_classes(
        ds(frame.assign(prediction=before)),
        ds(frame.assign(prediction=after)),
        task=MULTI,
        metrics=["f1"],
    )
    row = result.changes["f1"].loc["1"]
    assert (row["before"], row["after"]) == (pytest.approx(0.5), pytest.approx(1.0))
    assert row["test"] == "randomization"
    assert row["p_value"] == pytest.approx(2 / 16)
    assert row["p_value"] == pytest.approx(brute_force_f1_p(labels, before, after, "1"))
    # The pets: the oracle swaps all 10 examples (1,024 relabellings).
    pets_result = compare_classes(ds(pets(BEFORE)), ds(pets(AFTER)), task=MULTI, metrics=["f1"])
    for name in ("cat", "dog", "bird"):
        assert pets_result.changes["f1"].loc[name, "p_value"] == pytest.approx(
            brute_force_f1_p(LABELS, BEFORE, AFTER, name)
        ), name


def test_paired_randomization_does_not_depend_on_row_order():
    rng = np.random.default_rng(5)
    nb, na = rng.integers(0, 3, 200).astype(float), rng.integers(0, 3, 200).astype(float)
    db, da = nb + rng.integers(0, 2, 200), na + rng.integers(0, 2, 200)
    order = rng.permutation(200)
    assert paired_randomization_p(nb, db, na, da) == paired_randomization_p(
        nb[order], db[order], na[order], da[order]
    )


def test_f1_on_different_examples_uses_unpaired_randomization():
    # Before: 6 examples, after: 6 others; the oracle deals the 12 pooled examples into two
    # sets of 6 in all C(12, 6) = 924 ways. The tool draws 1,999 deals: within 0.03.
    labels = ["1", "1", "1", "0", "0", "1"]
    before_pred = ["1", "0", "0", "1", "0", "0"]
    after_pred = ["1", "1", "1", "0", "0", "1"]
    b = ds(
        pd.DataFrame(
            {"id": [f"b{i}" for i in range(6)], "label": labels, "prediction": before_pred}
        )
    )
    a = ds(
        pd.DataFrame({"id": [f"a{i}" for i in range(6)], "label": labels, "prediction": after_pred})
    )
    row = compare_classes(b, a, task=MULTI, metrics=["f1"]).changes["f1"].loc["1"]
    assert row["test"] == "randomization" and row["n_paired"] == 0
    y = np.array(labels * 2)
    pred = np.array(before_pred + after_pred)
    observed = f1_score(y[6:], pred[6:], pos_label="1") - f1_score(y[:6], pred[:6], pos_label="1")
    hits = total = 0
    for chosen in itertools.combinations(range(12), 6):
        side = np.zeros(12, dtype=bool)
        side[list(chosen)] = True
        diff = f1_of(y[side], pred[side], "1") - f1_of(y[~side], pred[~side], "1")
        hits += abs(diff) >= abs(observed) - 1e-12
        total += 1
    assert row["p_value"] == pytest.approx(hits / total, abs=0.03)
    # Seeded: the same data gives the same p-value; two identical sets give p = 1.
    tp_b = (np.array(labels) == "1") & (np.array(before_pred) == "1")
    tp_a = (np.array(labels) == "1") & (np.array(after_pred) == "1")
    parts_b = (2.0 * tp_b, tp_b + (np.array(labels) == "1") + (np.array(before_pred) == "1"))
    parts_a = (2.0 * tp_a, tp_a + (np.array(labels) == "1") + (np.array(after_pred) == "1"))
    assert unpaired_randomization_p(*parts_b, *parts_a) == row["p_value"]
    assert unpaired_randomization_p(*parts_b, *parts_b) == 1.0


def test_classes_match_across_spellings():
    before = pets(BEFORE).replace({"cat": "1", "dog": "0", "bird": "2"})
    after = pets(AFTER).replace({"cat": "1.0", "dog": "0.0", "bird": "2.0"})
    result = compare_classes(ds(before), ds(after), task=MULTI)
    assert len(result.table) == 3
    assert result.table["support_before"].sum() == 10
    assert result.confusion_after.to_numpy().sum() == 10


@pytest.mark.parametrize(
    ("kind", "metrics", "message"),
    [
        ("text", ["recall"], "per-class results need a classification task"),
        ("regression", ["recall"], "per-class results need a classification task"),
        ("classification", ["wer"], "a class has no WER"),
        ("classification", ["bogus"], "unknown metric 'bogus'"),
    ],
)
def test_bad_per_class_requests_raise(kind, metrics, message):
    frame = pets(BEFORE)
    with pytest.raises(InvalidValueError, match=message):
        compare_classes(ds(frame), ds(frame), task=TaskSpec(kind=kind), metrics=metrics)


# --------------------------------------------------------------------------- CLI


def cli(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


@pytest.fixture
def pet_files(tmp_path):
    pets(BEFORE, 5).to_csv(tmp_path / "before.csv", index=False)
    pets(AFTER, 5).to_csv(tmp_path / "after.csv", index=False)
    return tmp_path / "before.csv", tmp_path / "after.csv"


def test_cli_json_has_classes_and_confusion_matrices(pet_files):
    result = cli(*pet_files, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    classes = {c["class"]: c for c in data["classes"]}
    assert list(classes) == ["bird", "cat", "dog"]
    dog = classes["dog"]
    assert (dog["support_before"], dog["support_after"]) == (20, 20)
    assert dog["recall"]["before"] == pytest.approx(0.75)
    assert dog["recall"]["after"] == pytest.approx(0.25)
    assert dog["recall"]["test"] == "mcnemar"
    assert dog["recall"]["p_value"] == pytest.approx(2 / 1024)
    assert dog["precision"]["after"] == pytest.approx(1.0)
    assert set(dog["f1"]) >= {"before", "after", "delta", "test", "p_value", "significant"}
    cm = data["confusion_matrix"]
    assert cm["before"]["labels"] == ["bird", "cat", "dog"]
    assert cm["before"]["counts"] == [[5, 0, 5], [0, 15, 5], [0, 5, 15]]
    assert cm["after"]["counts"] == [[10, 0, 0], [0, 20, 0], [0, 15, 5]]
    assert "slice_metrics" not in data  # a multiclass task has no per-slice FPR


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_cli_text_shows_the_per_class_table_and_matrices(pet_files, fmt):
    result = cli(*pet_files, "--format", fmt)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Per class" in out and "Confusion matrix before" in out
    assert "Confusion matrix after" in out
    if fmt == "markdown":
        # dog: 20 labelled on each side; precision 60.0% -> 100.0%, recall 75.0% -> 25.0%.
        assert "| dog | 20 | 20 | 60.0% | 100.0% | +40.0 |" in out
        assert "| label dog | 0 | 15 | 5 |" in out
    else:
        line = next(x for x in out.splitlines() if x.split()[:1] == ["dog"])
        assert "75.0%" in line and "25.0%" in line and "0.00195" in line


def test_cli_binary_per_class_uses_both_classes(tmp_path):
    frame = pd.DataFrame({"id": range(8), "label": [1] * 6 + [0] * 2})
    frame.assign(prediction=[1, 1, 0, 0, 0, 0, 0, 0]).to_csv(tmp_path / "b.csv", index=False)
    frame.assign(prediction=[1] * 6 + [0] * 2).to_csv(tmp_path / "a.csv", index=False)
    result = cli(tmp_path / "b.csv", tmp_path / "a.csv", "--positive", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    classes = {c["class"]: c for c in data["classes"]}
    assert classes["1"]["f1"]["p_value"] == pytest.approx(2 / 16)
    assert classes["0"]["recall"]["before"] == pytest.approx(1.0)
    # Class 0's precision: 2 of 6 predicted 0 before, 2 of 2 after.
    assert classes["0"]["precision"]["before"] == pytest.approx(2 / 6)
    assert data["confusion_matrix"]["after"]["counts"] == [[2, 0], [0, 6]]


# --------------------------------------------------------------------------- the page


PAGE = "pages/7_Compare_iterations.py"


@pytest.fixture
def threshold_project(store) -> int:
    """Two iterations of a binary task: the threshold lowered; ``night`` is a tag.

    Night: 20 negatives (FP 4 -> 12), 10 positives (TP 5 -> 8); the rest: 20 negatives
    (FP 2 -> 3), 10 positives (TP 6 both). FPR of night 20% -> 60% (McNemar c = 8,
    p = 2 * 2**-8); class 0's recall 34/40 = 85% -> 25/40 = 62.5%.
    """
    from slicewise.core.analysis import analyze

    rows = []
    for night, neg, fp_b, fp_a, pos, tp_b, tp_a in (
        (True, 20, 4, 12, 10, 5, 8),
        (False, 20, 2, 3, 10, 6, 6),
    ):
        rows += [(night, 0, int(i < fp_b), int(i < fp_a)) for i in range(neg)]
        rows += [(night, 1, int(i < tp_b), int(i < tp_a)) for i in range(pos)]
    frame = pd.DataFrame(rows, columns=["night", "label", "before", "after"])
    frame.insert(0, "id", [f"x{i}" for i in range(len(frame))])
    frame["shift"] = np.where(frame["night"], "late", "early")  # metadata, for slice-by
    mapping = ColumnMapping(label="label", prediction="prediction", id="id", tag_columns=("night",))
    task = TaskSpec(kind="binary", positive="1")
    project = store.get_or_create_project("Threshold", user="seed")
    ids = []
    for side in ("before", "after"):
        data = dataset_from_frame(
            frame[["id", "night", "shift", "label"]].assign(prediction=frame[side]),
            mapping,
            name=f"{side}.csv",
        )
        did = store.save_dataset(project, side, data, task=task, user="seed")
        store.save_iteration(
            project,
            did,
            model_name=f"model {side}",
            table=analyze(store.load_dataset(did), task=task),
            user="seed",
        )
        ids.append(did)
    return ids[1]


@pytest.mark.usefixtures("fresh")
def test_page_shows_per_class_results_and_follows_the_chosen_metric(threshold_project):
    from pagetest import assert_ok, run_page, table_with

    at = run_page(PAGE, threshold_project)
    assert_ok(at, no_errors=True)
    picker = at.selectbox(key="cmp_metric")
    assert picker.options[:1] == ["Accuracy: correct / examples (a class's accuracy is its recall)"]
    assert len(picker.options) == 6  # accuracy, recall, precision, F1, FPR, FNR
    classes = table_with(at, "recall before").set_index("class")
    assert classes.loc["0", "recall before"] == pytest.approx(85.0)
    assert classes.loc["0", "recall after"] == pytest.approx(62.5)
    assert classes.loc["0", "recall p"] == pytest.approx(2 * 2.0**-9)
    assert classes.loc["1", "n before"] == 20
    assert len(at.dataframe) >= 4  # slices, classes, two confusion matrices (and history)

    at.selectbox(key="cmp_metric").set_value("fpr").run()
    assert_ok(at, no_errors=True)
    view = table_with(at, "verdict").set_index("slice")
    assert list(view.index[:2]) == ["All data", "Night"]
    night = view.loc["Night"]
    assert (night["before"], night["after"]) == (pytest.approx(20.0), pytest.approx(60.0))
    assert night["p-value"] == pytest.approx(2 * 2.0**-8)
    assert night["verdict"] == "⚠ worse (significant)"
    assert night["n before"] == 20

    at.multiselect(key="cmp_slice_by").set_value(["shift"]).run()
    assert_ok(at, no_errors=True)
    view = table_with(at, "verdict").set_index("slice")
    late = view.loc["shift = late"]
    assert (late["before"], late["after"]) == (pytest.approx(20.0), pytest.approx(60.0))
    assert view.loc["shift = early", "p-value"] == pytest.approx(1.0)  # FP 2 -> 3: c = 1
