"""core.compare against independent computations on boolean masks.

Oracles: scipy.stats.binomtest for McNemar's exact test on (b, c), statsmodels'
proportions_ztest (pooled) for the two-proportion z-test, a hypergeometric sum for Fisher's
exact test, and accuracies counted directly on each slice's mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from slicewise.core.charts.compare import history_chart
from slicewise.core.compare import (
    COMPARE_COLUMNS,
    compare_datasets,
    compare_overall,
    compare_tables,
    describe_pairing,
    find_regressions,
    iteration_history,
    review_order,
    two_proportion_p,
)
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import OVERALL, UNTAGGED
from slicewise.core.task import TaskSpec

DEMO = Path(__file__).resolve().parents[1] / "demo_data"
MAPPING = ColumnMapping(
    label="label", prediction="prediction", id="id", tag_columns=("noisy", "night")
)
CLASSIFICATION = TaskSpec(kind="classification")


def frame(n: int = 400, seed: int = 0, accuracy: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.choice(["cat", "dog", "bird"], n)
    right = rng.random(n) < accuracy
    return pd.DataFrame(
        {
            "id": [f"ex-{i}" for i in range(n)],
            "label": label,
            "prediction": np.where(right, label, "fox"),
            "noisy": rng.random(n) < 0.3,
            "night": rng.random(n) < 0.2,
            "device": rng.choice(["ios", "android"], n),
        }
    )


def retrain(df: pd.DataFrame, seed: int, accuracy: float) -> pd.DataFrame:
    """Same examples, new predictions."""
    out = df.copy()
    rng = np.random.default_rng(seed)
    right = rng.random(len(df)) < accuracy
    out["prediction"] = np.where(right, df["label"], "fox")
    return out


def ds(df: pd.DataFrame, mapping: ColumnMapping = MAPPING):
    return dataset_from_frame(df, mapping, name="t.csv")


def correct(df: pd.DataFrame) -> pd.Series:
    return (df["label"] == df["prediction"]).set_axis(df["id"])


def masks(df: pd.DataFrame) -> dict[str, pd.Series]:
    d = df.set_index("id")
    return {
        OVERALL: pd.Series(True, index=d.index),
        "noisy": d["noisy"],
        "night": d["night"],
        "device = android": d["device"] == "android",
        "device = ios": d["device"] == "ios",
        UNTAGGED: ~(d["noisy"] | d["night"]),
    }


# --------------------------------------------------------------------------- paired


def test_paired_comparison_matches_masks_and_binomtest():
    before = frame()
    after = retrain(before, seed=1, accuracy=0.86)
    got = compare_datasets(ds(before), ds(after), task=CLASSIFICATION, slice_by=["device"])
    assert list(got.columns) == list(COMPARE_COLUMNS)
    assert list(got.index) == [
        OVERALL,
        "noisy",
        "night",
        "device = android",
        "device = ios",
        UNTAGGED,
    ]
    cb, ca = correct(before), correct(after)
    for name, mask in masks(before).items():
        row = got.loc[name]
        b = int((mask & cb & ~ca).sum())
        c = int((mask & ~cb & ca).sum())
        assert row["test"] == "mcnemar", name
        assert row["n_before"] == row["n_after"] == row["n_paired"] == mask.sum()
        assert row["accuracy_before"] == pytest.approx(cb[mask].mean())
        assert row["accuracy_after"] == pytest.approx(ca[mask].mean())
        assert row["delta"] == pytest.approx((c - b) / mask.sum())
        assert (row["right_to_wrong"], row["wrong_to_right"]) == (b, c)
        expected = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
        assert row["p_value"] == pytest.approx(expected, rel=1e-9), name
        assert row["significant"] == (expected < 0.05)
        assert row["regression"] == (expected < 0.05 and c < b)
        assert row["improvement"] == (expected < 0.05 and c > b)


def test_rows_order_does_not_change_a_paired_comparison():
    before = frame()
    after = retrain(before, seed=2, accuracy=0.9)
    shuffled = after.sample(frac=1, random_state=3).reset_index(drop=True)
    a = compare_datasets(ds(before), ds(after), task=CLASSIFICATION)
    b = compare_datasets(ds(before), ds(shuffled), task=CLASSIFICATION)
    pd.testing.assert_frame_equal(a, b)


def test_hlp_and_gap_on_each_side():
    before = frame()
    before["human"] = np.where(np.arange(len(before)) % 10 == 0, "fox", before["label"])
    after = retrain(before, seed=4, accuracy=0.85)
    mapping = ColumnMapping(
        label="label",
        prediction="prediction",
        id="id",
        human="human",
        tag_columns=("noisy", "night"),
    )
    got = compare_datasets(ds(before, mapping), ds(after, mapping), task=CLASSIFICATION)
    human_ok = (before["human"] == before["label"]).set_axis(before["id"])
    for name in (OVERALL, "noisy"):
        mask = masks(before)[name]
        hlp = human_ok[mask].mean()
        row = got.loc[name]
        assert row["hlp_before"] == pytest.approx(hlp) == row["hlp_after"]
        assert row["gap_before"] == pytest.approx(hlp - correct(before)[mask].mean())
        assert row["gap_after"] == pytest.approx(hlp - correct(after)[mask].mean())
    plain = frame()
    given = compare_datasets(
        ds(plain),
        ds(retrain(plain, seed=4, accuracy=0.85)),
        task=CLASSIFICATION,
        hlp={"noisy": 0.95},
    )
    assert given.loc["noisy", "gap_after"] == pytest.approx(
        0.95 - given.loc["noisy", "accuracy_after"]
    )
    assert np.isnan(given.loc["night", "hlp_before"])


# --------------------------------------------------------------------------- unpaired


def test_disjoint_examples_use_the_pooled_two_proportion_test():
    from statsmodels.stats.proportion import proportions_ztest

    before = frame(400, seed=5, accuracy=0.8)
    after = frame(500, seed=6, accuracy=0.87)
    after["id"] = [f"new-{i}" for i in range(len(after))]
    got = compare_datasets(ds(before), ds(after), task=CLASSIFICATION)
    assert (got["n_paired"] == 0).all()
    for name in (OVERALL, "noisy", UNTAGGED):
        mb, ma = masks(before)[name], masks(after)[name]
        kb, ka = int(correct(before)[mb].sum()), int(correct(after)[ma].sum())
        row = got.loc[name]
        assert row["test"] == "two-proportion", name
        _, expected = proportions_ztest([kb, ka], [int(mb.sum()), int(ma.sum())])
        assert row["p_value"] == pytest.approx(expected, rel=1e-9), name
        assert row["n_before"] == mb.sum() and row["n_after"] == ma.sum()


def _fisher_by_hand(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher: sum of the tables at most as likely as the observed one."""
    total_right, n = k1 + k2, n1 + n2
    dist = stats.hypergeom(n, total_right, n1)
    support = np.arange(max(0, total_right - n2), min(n1, total_right) + 1)
    probs = dist.pmf(support)
    observed = dist.pmf(k1)
    return float(min(1.0, probs[probs <= observed * (1 + 1e-7)].sum()))


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "test"),
    [
        (3, 10, 9, 10, "fisher"),
        (20, 20, 12, 20, "fisher"),
        (18, 20, 11, 20, "two-proportion"),  # expected counts 5.5 and up
        (2, 4, 30, 31, "fisher"),
        (60, 100, 75, 100, "two-proportion"),
        (10, 10, 10, 10, "two-proportion"),  # nothing can differ: p = 1
    ],
)
def test_small_counts_use_fishers_exact_test(k1, n1, k2, n2, test):
    p, used = two_proportion_p(np.array([k1]), np.array([n1]), np.array([k2]), np.array([n2]))
    assert used[0] == test
    if test == "fisher":
        assert p[0] == pytest.approx(_fisher_by_hand(k1, n1, k2, n2), rel=1e-9)
    elif k1 == n1 and k2 == n2:
        assert p[0] == 1.0
    else:
        z = (k2 / n2 - k1 / n1) / np.sqrt(
            (k1 + k2) / (n1 + n2) * (1 - (k1 + k2) / (n1 + n2)) * (1 / n1 + 1 / n2)
        )
        assert p[0] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_empty_side_has_no_test():
    p, used = two_proportion_p(np.array([0]), np.array([0]), np.array([3]), np.array([4]))
    assert used[0] == "none" and np.isnan(p[0])


def test_partly_shared_examples_pair_only_the_slices_that_hold_the_same_examples():
    before = frame(300, seed=7)
    after = retrain(before, seed=8, accuracy=0.85)
    # AFTER drops ten untagged examples and adds five new night ones.
    drop = before.index[~(before["noisy"] | before["night"])][:10]
    extra = frame(5, seed=9)
    extra["id"] = [f"extra-{i}" for i in range(5)]
    extra["night"], extra["noisy"] = True, False
    after = pd.concat([after.drop(index=drop), extra], ignore_index=True)
    got = compare_datasets(ds(before), ds(after), task=CLASSIFICATION)
    pairing = describe_pairing(ds(before), ds(after))
    assert (pairing.n_before, pairing.n_after, pairing.n_matched) == (300, 295, 290)
    assert not pairing.paired and "only before" in pairing.describe()
    assert got.loc["noisy", "test"] == "mcnemar"  # untouched slice: same examples
    assert got.loc["night", "test"] in ("two-proportion", "fisher")
    assert got.loc[OVERALL, "test"] in ("two-proportion", "fisher")
    assert got.loc[UNTAGGED, "n_before"] == got.loc[UNTAGGED, "n_after"] + 10
    assert got.loc["night", "n_after"] == got.loc["night", "n_before"] + 5


# --------------------------------------------------------------------------- tags


def test_tags_are_the_union_taken_from_after_when_ids_match():
    before = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "label": list("xxxx"),
            "prediction": list("xxyy"),
            "old": [1, 1, 0, 0],
            "shared": [1, 0, 0, 0],
        }
    )
    after = pd.DataFrame(
        {
            "id": ["a", "b", "c", "e"],
            "label": list("xxxx"),
            "prediction": list("xxxx"),
            "new": [0, 0, 1, 1],
            "shared": [0, 1, 1, 0],
        }
    )
    b = dataset_from_frame(before, ColumnMapping(id="id", tag_columns=("old", "shared")))
    a = dataset_from_frame(after, ColumnMapping(id="id", tag_columns=("new", "shared")))
    got = compare_datasets(b, a, task=CLASSIFICATION)
    assert list(got.index) == [OVERALL, "new", "shared", "old", UNTAGGED]
    # shared: AFTER's value for a, b, c (b, c); BEFORE's for d (0) -> b, c on both sides
    assert got.loc["shared", ["n_before", "n_after", "n_paired"]].tolist() == [2, 2, 2]
    assert got.loc["shared", "test"] == "mcnemar"
    # old exists only BEFORE: BEFORE's values everywhere (a, b)
    assert got.loc["old", ["n_before", "n_after"]].tolist() == [2, 2]
    # new exists only AFTER: c, e; d (BEFORE only) is not in it
    assert got.loc["new", ["n_before", "n_after", "n_paired"]].tolist() == [1, 2, 1]
    assert got.loc[OVERALL, ["n_before", "n_after", "n_paired"]].tolist() == [4, 4, 3]


def test_slice_by_a_column_only_before_has():
    before = frame(120, seed=10)
    after = retrain(before, seed=11, accuracy=0.9).drop(columns="device")
    got = compare_datasets(ds(before), ds(after), task=CLASSIFICATION, slice_by=["device"])
    android = masks(before)["device = android"]
    assert got.loc["device = android", "n_after"] == android.sum()
    assert got.loc["device = android", "test"] == "mcnemar"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"slice_by": ["colour"]}, "cannot slice by 'colour'"),
    ],
)
def test_bad_options_raise(kwargs, message):
    d = ds(frame(20))
    with pytest.raises(InvalidValueError, match=message):
        compare_datasets(d, d, task=CLASSIFICATION, **kwargs)


# --------------------------------------------------------------------------- summaries


def test_worse_while_overall_better_is_called_out_first():
    before = frame(600, seed=12, accuracy=0.8)
    after = before.copy()
    rng = np.random.default_rng(13)
    night = before["night"].to_numpy()
    fix = ~night & (rng.random(len(before)) < 0.6)
    breaks = night & (rng.random(len(before)) < 0.5)
    after["prediction"] = np.where(
        fix, before["label"], np.where(breaks, "fox", before["prediction"])
    )
    got = compare_datasets(ds(before), ds(after), task=CLASSIFICATION)
    assert got.loc[OVERALL, "delta"] > 0
    assert got.loc["night", "delta"] < 0 and got.loc["night", "worse_while_overall_better"]
    assert got.loc["night", "regression"]
    ordered = review_order(got)
    assert list(ordered.index[:2]) == [OVERALL, "night"]
    assert ordered.index[-1] == UNTAGGED
    summary = compare_overall(got)
    worse = summary["worse_while_overall_better"]
    assert worse[0] == "night"  # worst first; other slices may dip by chance
    assert set(worse) == set(got.index[(got["delta"] < 0) & (got["kind"] != "overall")])
    assert "night" in summary["regressed"] and summary["delta"] > 0
    assert isinstance(summary["n_before"], int) and isinstance(summary["p_value"], float)
    drop = -100 * got.loc["night", "delta"]
    assert list(find_regressions(got, points=drop - 1).index) == ["night"]
    assert find_regressions(got, points=drop + 1).empty
    with pytest.raises(InvalidValueError):
        find_regressions(got, points=-1)


def test_compare_tables_uses_the_unpaired_test_on_stored_tables():
    from slicewise.core.analysis import analyze

    before, after = frame(300, seed=14), frame(250, seed=15, accuracy=0.9)
    tb, ta = analyze(ds(before), task=CLASSIFICATION), analyze(ds(after), task=CLASSIFICATION)
    ta = ta.drop(index="night")  # a slice only one side has
    got = compare_tables(tb, ta)
    assert got.index[0] == OVERALL and got.index[-1] == UNTAGGED
    assert got.loc["night", "test"] == "none" and got.loc["night", "n_after"] == 0
    after["id"] = [f"n-{i}" for i in range(len(after))]
    direct = compare_datasets(ds(before), ds(after), task=CLASSIFICATION)
    for name in (OVERALL, "noisy", UNTAGGED):
        for col in ("n_before", "n_after", "accuracy_before", "accuracy_after", "test", "p_value"):
            assert got.loc[name, col] == pytest.approx(direct.loc[name, col]), (name, col)


def test_iteration_history_and_chart():
    from slicewise.core.analysis import analyze

    tables = [
        (f"v{i}", analyze(ds(frame(200, seed=20 + i, accuracy=0.7 + 0.1 * i)), task=CLASSIFICATION))
        for i in range(3)
    ]
    history = iteration_history(tables)
    assert list(history.columns) == [
        "iteration",
        "step",
        "slice",
        "kind",
        "n",
        "accuracy",
        "hlp",
        "gap",
    ]
    overall = history[history["slice"] == OVERALL]
    assert overall["iteration"].tolist() == ["v0", "v1", "v2"]
    assert overall["accuracy"].tolist() == [t.loc[OVERALL, "accuracy"] for _, t in tables]
    fig = history_chart(history)
    names = {t.name for t in fig.data}
    assert {OVERALL, "Noisy", "Night"} <= names
    assert len(fig.data) == 2 * 3  # accuracy and gap for all data and two tags
    with pytest.raises(InvalidValueError, match="unique"):
        iteration_history([("a", tables[0][1]), ("a", tables[1][1])])


# --------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo_comparison():
    before = load_dataset(DEMO / "speech_predictions.csv")
    after = load_dataset(DEMO / "speech_predictions_retrained.csv")
    return before, after, compare_datasets(before, after, task=TaskSpec(kind="text"))


def test_demo_retrained_model_improves_car_noise_and_regresses_low_bandwidth(demo_comparison):
    before, after, got = demo_comparison
    raw_b = pd.read_csv(DEMO / "speech_predictions.csv", dtype=str, keep_default_na=False)
    raw_a = pd.read_csv(DEMO / "speech_predictions_retrained.csv", dtype=str, keep_default_na=False)

    def norm(s: pd.Series) -> pd.Series:
        return (
            s.str.lower()
            .str.replace(r"[^\w\s']|(?<!\w)'|'(?!\w)|_", " ", regex=True)
            .str.split()
            .str.join(" ")
        )

    ok_b = norm(raw_b["label"]) == norm(raw_b["prediction"])
    ok_a = norm(raw_a["label"]) == norm(raw_a["prediction"])
    for tag in ("car_noise", "low_bandwidth", "clean_speech", "people_noise"):
        mask = raw_b[tag] == "x"
        b, c = int((mask & ok_b & ~ok_a).sum()), int((mask & ~ok_b & ok_a).sum())
        row = got.loc[tag]
        assert row["test"] == "mcnemar"
        assert (row["right_to_wrong"], row["wrong_to_right"]) == (b, c)
        assert row["p_value"] == pytest.approx(stats.binomtest(min(b, c), b + c).pvalue, rel=1e-9)
    assert got.loc["car_noise", ["accuracy_before", "accuracy_after"]].tolist() == pytest.approx(
        [0.89, 0.93]
    )
    assert got.loc[
        "low_bandwidth", ["accuracy_before", "accuracy_after"]
    ].tolist() == pytest.approx([0.70, 0.62])
    assert got.loc["car_noise", "improvement"] and got.loc["car_noise", "p_value"] < 1e-6
    assert got.loc["low_bandwidth", "regression"]
    assert 0.001 < got.loc["low_bandwidth", "p_value"] < 0.01
    assert not got.loc["clean_speech", "significant"]
    assert got.loc[OVERALL, "improvement"]
    assert compare_overall(got)["worse_while_overall_better"] == ["low_bandwidth"]
    # the gap to HLP closes on car noise and opens on low bandwidth
    assert got.loc["car_noise", "gap_before"] == pytest.approx(0.04)
    assert got.loc["car_noise", "gap_after"] == pytest.approx(0.0, abs=1e-9)
    assert got.loc["low_bandwidth", "gap_after"] == pytest.approx(0.08)
    assert describe_pairing(before, after).paired


# --------------------------------------------------------------------------- CLI


SPEECH = DEMO / "speech_predictions.csv"
RETRAINED = DEMO / "speech_predictions_retrained.csv"


def cli(*args):
    from click.testing import CliRunner

    from slicewise.core.cli import main

    return CliRunner().invoke(main, ["compare", *map(str, args)])


def demo_discordant(tag: str) -> tuple[int, int]:
    """(right -> wrong, wrong -> right) on a demo tag, counted on the raw CSV files."""
    raw_b = pd.read_csv(SPEECH, dtype=str, keep_default_na=False)
    raw_a = pd.read_csv(RETRAINED, dtype=str, keep_default_na=False)

    def norm(s: pd.Series) -> pd.Series:
        return (
            s.str.lower()
            .str.replace(r"[^\w\s']|(?<!\w)'|'(?!\w)|_", " ", regex=True)
            .str.split()
            .str.join(" ")
        )

    ok_b = norm(raw_b["label"]) == norm(raw_b["prediction"])
    ok_a = norm(raw_a["label"]) == norm(raw_a["prediction"])
    mask = raw_b[tag] == "x" if tag != OVERALL else pd.Series(True, index=raw_b.index)
    return int((mask & ok_b & ~ok_a).sum()), int((mask & ~ok_b & ok_a).sum())


def test_cli_json_has_the_documented_keys_and_correct_p_values():
    import json

    result = cli(SPEECH, RETRAINED, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"overall", "slices"}
    slices = {s["name"]: s for s in data["slices"]}
    assert OVERALL not in slices and UNTAGGED in slices
    for s in slices.values():
        assert {
            "name",
            "accuracy_before",
            "accuracy_after",
            "delta",
            "p_value",
            "test",
            "significant",
            "regression",
        } <= set(s)
    for tag in ("car_noise", "low_bandwidth", "clean_speech", "people_noise"):
        b, c = demo_discordant(tag)
        assert slices[tag]["test"] == "mcnemar"
        assert slices[tag]["p_value"] == pytest.approx(
            stats.binomtest(min(b, c), b + c).pvalue, rel=1e-9
        )
    b, c = demo_discordant(OVERALL)
    assert data["overall"]["p_value"] == pytest.approx(
        stats.binomtest(min(b, c), b + c).pvalue, rel=1e-9
    )
    assert slices["car_noise"]["accuracy_before"] == pytest.approx(0.89)
    assert slices["car_noise"]["accuracy_after"] == pytest.approx(0.93)
    assert slices["car_noise"]["improvement"] and not slices["car_noise"]["regression"]
    assert slices["low_bandwidth"]["delta"] == pytest.approx(-0.08)
    assert slices["low_bandwidth"]["regression"]
    assert data["overall"]["worse_while_overall_better"] == ["low_bandwidth"]


def test_cli_table_calls_out_the_regression_first():
    result = cli(SPEECH, RETRAINED)
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    first = [w[0] for w in lines if len(w) > 10 and w[0] != "matched:"]  # the table rows
    assert first[:3] == ["slice", "All", "low_bandwidth"]  # header, all data, the regression
    assert (
        "! low_bandwidth got worse while all data improved: 70.0% -> 62.0% (-8.0 pts, "
        "mcnemar p=0.00223, significant)" in result.stdout
    )
    assert "car_noise improved: 89.0% -> 93.0%" in result.stdout
    markdown = cli(SPEECH, RETRAINED, "--format", "markdown")
    assert "| low_bandwidth | 300 | 300 | 70.0% | 62.0% | -8.0 |" in markdown.stdout


@pytest.mark.parametrize(("points", "code"), [(0, 1), (5, 1), (7.9, 1), (8.5, 0), (20, 0)])
def test_cli_fail_on_regression(points, code):
    result = cli(SPEECH, RETRAINED, "--fail-on-regression", points, "--format", "json")
    assert result.exit_code == code, result.output
    if code:
        assert "slicewise: regression: low_bandwidth fell 8.0 points" in result.stderr
    else:
        assert "regression:" not in result.stderr


def test_cli_unpaired_files_use_the_two_proportion_test(tmp_path):
    import json

    from statsmodels.stats.proportion import proportions_ztest

    before = frame(300, seed=30)
    after = frame(260, seed=31, accuracy=0.9)
    after["id"] = [f"n{i}" for i in range(len(after))]
    before.to_csv(tmp_path / "b.csv", index=False)
    after.to_csv(tmp_path / "a.csv", index=False)
    result = cli(tmp_path / "b.csv", tmp_path / "a.csv", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["overall"]["test"] == "two-proportion"
    kb, ka = int(correct(before).sum()), int(correct(after).sum())
    _, expected = proportions_ztest([kb, ka], [300, 260])
    assert data["overall"]["p_value"] == pytest.approx(expected, rel=1e-9)


def test_cli_id_option_and_row_number_note(tmp_path):
    df = frame(50, seed=40).rename(columns={"id": "utt"})
    df.to_csv(tmp_path / "b.csv", index=False)
    retrain(df, seed=41, accuracy=0.9).to_csv(tmp_path / "a.csv", index=False)
    named = cli(tmp_path / "b.csv", tmp_path / "a.csv", "--id", "utt")
    assert named.exit_code == 0, named.output
    assert "matched by id" in named.stdout and "by position" not in named.stderr
    df.drop(columns="utt").to_csv(tmp_path / "b2.csv", index=False)
    unnamed = cli(tmp_path / "b2.csv", tmp_path / "a.csv")
    assert unnamed.exit_code == 0, unnamed.output
    assert "rows are matched by position" in unnamed.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", RETRAINED], "no such file"),
        ([SPEECH, DEMO / "inspection_predictions.csv"], "looks like a text task"),
        ([SPEECH, RETRAINED, "--slice-by", "colour"], "cannot slice by 'colour'"),
        ([SPEECH, RETRAINED, "--id", "nope"], "nope"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, message):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slicewise: error:"), result.stderr
    assert message in lines[0]


def test_cli_negative_threshold_is_a_usage_error():
    result = cli(SPEECH, RETRAINED, "--fail-on-regression", "-1")
    assert result.exit_code == 2
