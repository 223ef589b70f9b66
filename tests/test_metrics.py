import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import (
    OVERALL,
    UNTAGGED,
    binomial_test_p,
    build_slices,
    compute_class_report,
    compute_confusion_matrix,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
    compute_word_errors,
    mcnemar_exact_p,
    wilson_interval,
)
from slicewise.core.task import TaskSpec


@pytest.fixture
def small():
    """Eight examples, two overlapping tags, one metadata column, a human label."""
    df = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(8)],
            "label": list("aabbaabb"),
            "prediction": list("abbbaaba"),
            "human_label": list("aabbabbb"),
            "car": ["x", "", "x", "", "x", "", "", ""],
            "people": ["x", "x", "", "", "", "", "", "x"],
            "region": list("EEWWEEWW"),
        }
    )
    return dataset_from_frame(df, name="small.csv")


# ---------------------------------------------------------------- hand-worked values


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # textbook Wilson 95% interval for 8/10
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_interval_matches_hand_worked_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_is_nan_for_empty_slice():
    lo, hi = wilson_interval(np.array([0.0]), np.array([0.0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (1, 6, 2 * (1 + 7) / 128),  # 2 * P(X <= 1), X ~ Bin(7, 1/2)
        (3, 3, 1.0),
        (0, 0, 1.0),
        (0, 5, 2 / 32),
    ],
)
def test_mcnemar_exact_p_matches_binomial_sums(b, c, expected):
    assert mcnemar_exact_p(np.array([b]), np.array([c]))[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("k", "n", "p0", "expected"),
    [
        (3, 10, 0.5, 2 * 176 / 1024),  # 2 * P(X <= 3), X ~ Bin(10, 1/2)
        (5, 10, 0.5, 1.0),
        (10, 10, 0.5, 2 / 1024),
    ],
)
def test_binomial_test_doubles_smaller_tail(k, n, p0, expected):
    assert binomial_test_p(np.array([k]), np.array([n]), np.array([p0]))[0] == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("ref", "hyp", "dist"),
    [
        ("stir fried lettuce recipe", "stir fry lettuce recipe", 1),
        ("sail away song", "sell away some", 2),
        ("let's catch up", "let's ketchup", 2),
        ("", "hello there", 2),
        ("a b c", "a b c", 0),
    ],
)
def test_word_errors_count_word_edits(ref, hyp, dist):
    assert compute_word_errors([ref], [hyp])["word_errors"].tolist() == [dist]


def test_small_table_matches_hand_counts(small):
    table = analyze(small, slice_by=["region"])
    # car = e0, e2, e4: labels a, b, a; predictions a, b, a -> all correct.
    assert table.loc["car", "n"] == 3
    assert table.loc["car", "accuracy"] == 1.0
    # people = e0, e1, e7: predictions a, b, a vs labels a, a, b -> 1 of 3 correct.
    assert table.loc["people", "accuracy"] == pytest.approx(1 / 3)
    assert table.loc["people", "error_share"] == pytest.approx(2 / 2)
    # humans on people: a, a, b vs a, a, b -> 3 of 3.
    assert table.loc["people", "hlp"] == 1.0
    # 3 human labels are fewer than MIN_HUMAN_LABELS: the HLP is shown, not compared or
    # ranked (the gap of 2/3 from 3 labels was the old definition; see tests/test_hlp.py).
    assert table.loc["people", "hlp_n"] == 3
    assert np.isnan(table.loc["people", "gap"])
    assert np.isnan(table.loc["people", "potential_gain"])
    assert table.loc[OVERALL, "accuracy"] == pytest.approx(6 / 8)
    assert table.loc[OVERALL, "hlp"] == pytest.approx(7 / 8)
    # No tag: e3, e5, e6 -> predictions b, a, b vs labels b, a, b: all correct.
    assert table.loc[UNTAGGED, "n"] == 3
    assert table.loc[UNTAGGED, "errors"] == 0
    assert table.loc["region = W", "n"] == 4
    # No slice has a usable HLP, so none is ranked by gap; they are ranked by excess error.
    assert set(table["rank_basis"].dropna()) == {"excess"}
    assert table.loc["people", "hlp_source"] == "too_few"


def test_user_hlp_overrides_human_label_and_says_so(small):
    table = analyze(small, hlp={"car": 0.5})
    assert table.loc["car", "hlp"] == 0.5
    assert table.loc["car", "hlp_source"] == "user"
    assert table.loc["car", "gap"] == pytest.approx(-0.5)
    assert table.loc["people", "hlp_source"] == "too_few"  # 3 human labels


def test_hlp_outside_unit_interval_is_rejected(small):
    with pytest.raises(InvalidValueError, match="between 0 and 1"):
        analyze(small, hlp={"car": 93})


def test_no_human_column_gives_no_hlp():
    df = pd.DataFrame({"label": [1, 0, 1, 1], "prediction": [1, 1, 1, 0], "t": [1, 1, 0, 0]})
    table = analyze(dataset_from_frame(df))
    assert table["hlp"].isna().all()
    assert set(table["hlp_source"]) == {"none"}
    assert not table["significant"].any()


# ---------------------------------------------------------------- task metrics


def test_binary_metrics_match_sklearn():
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

    rng = np.random.default_rng(3)
    y = rng.choice(["spam", "ham"], 300)
    p = np.where(rng.random(300) < 0.75, y, rng.choice(["spam", "ham"], 300))
    tag = rng.random(300) < 0.4
    df = pd.DataFrame({"label": y, "prediction": p, "noisy": tag})
    task = TaskSpec(kind="binary", positive="spam")
    table = analyze(dataset_from_frame(df), task=task)
    for name, mask in ((OVERALL, np.ones(300, bool)), ("noisy", tag)):
        yt, yp = y[mask], p[mask]
        tn, fp, fn, tp = confusion_matrix(yt, yp, labels=["ham", "spam"]).ravel()
        row = table.loc[name]
        assert row["precision"] == pytest.approx(precision_score(yt, yp, pos_label="spam"))
        assert row["recall"] == pytest.approx(recall_score(yt, yp, pos_label="spam"))
        assert row["f1"] == pytest.approx(f1_score(yt, yp, pos_label="spam"))
        assert row["fpr"] == pytest.approx(fp / (fp + tn))
        assert row["fnr"] == pytest.approx(fn / (fn + tp))


def test_binary_needs_a_positive_class_that_occurs():
    df = pd.DataFrame({"label": ["a", "b"], "prediction": ["a", "a"]})
    with pytest.raises(InvalidValueError, match="never occurs"):
        analyze(dataset_from_frame(df), task=TaskSpec(kind="binary", positive="c"))


def test_text_accuracy_uses_normalisation_and_wer_counts_words():
    df = pd.DataFrame(
        {
            "label": ["Stir fried lettuce recipe", "Sweetened coffee", "Let's catch up"],
            "prediction": ["stir fried  lettuce recipe.", "Swedish coffee", "let's ketchup"],
            "noisy": [0, 1, 1],
        }
    )
    table = analyze(dataset_from_frame(df), task=TaskSpec(kind="text"))
    assert table.loc[OVERALL, "accuracy"] == pytest.approx(1 / 3)
    # word errors 0 + 1 + 2 over 4 + 2 + 3 reference words
    assert table.loc[OVERALL, "wer"] == pytest.approx(3 / 9)
    assert table.loc["noisy", "wer"] == pytest.approx(3 / 5)


def test_regression_mae_rmse_and_tolerance():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 5.0, 3.0])
    df = pd.DataFrame({"label": y, "prediction": p, "big": [0, 0, 1, 1]})
    table = analyze(dataset_from_frame(df), task=TaskSpec(kind="regression", tolerance=0.5))
    assert table.loc[OVERALL, "mae"] == pytest.approx(np.mean(np.abs(p - y)))
    assert table.loc[OVERALL, "rmse"] == pytest.approx(math.sqrt(np.mean((p - y) ** 2)))
    assert table.loc[OVERALL, "accuracy"] == pytest.approx(2 / 4)
    assert table.loc["big", "mae"] == pytest.approx(1.5)


def test_class_report_and_confusion_matrix_match_sklearn():
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(5)
    classes = ["ok", "scratch", "dent", "pit"]
    y = rng.choice(classes, 400, p=[0.6, 0.2, 0.15, 0.05])
    p = np.where(rng.random(400) < 0.8, y, rng.choice(classes, 400))
    frame = pd.DataFrame({"label": y, "prediction": p})
    cm = compute_confusion_matrix(frame)
    order = list(cm.index)
    assert (cm.to_numpy() == confusion_matrix(y, p, labels=order)).all()
    report = compute_class_report(frame).loc[order]
    prec, rec, f1, sup = precision_recall_fscore_support(y, p, labels=order, zero_division=0)
    np.testing.assert_allclose(report["precision"], prec)
    np.testing.assert_allclose(report["recall"], rec)
    np.testing.assert_allclose(report["f1"], f1)
    assert list(report["support"]) == list(sup)


# ---------------------------------------------------------------- slices


def test_numeric_slice_by_uses_quantile_bins_that_cover_every_row():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "label": rng.integers(0, 2, 103),
            "prediction": rng.integers(0, 2, 103),
            "snr": rng.normal(size=103),
        }
    )
    ds = dataset_from_frame(df, ColumnMapping(tag_columns=()))
    membership, info = build_slices(ds, slice_by=["snr"], bins=4)
    assert membership.shape[1] == 4
    assert (membership.sum(axis=1) == 1).all()
    assert set(info["kind"]) == {"column"}


def test_slice_by_unknown_column_is_a_clear_error(small):
    with pytest.raises(InvalidValueError, match="cannot slice by 'nope'"):
        analyze(small, slice_by=["nope"])


# ---------------------------------------------------------------- oracle and invariants


def _random_dataset(seed: int, n: int):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame(
        {
            "label": y,
            "prediction": np.where(rng.random(n) < 0.7, y, rng.choice(["a", "b", "c"], n)),
            "human_label": np.where(rng.random(n) < 0.9, y, rng.choice(["a", "b", "c"], n)),
            "t1": rng.random(n) < 0.3,
            "t2": rng.random(n) < 0.5,
            "grp": rng.choice(["north", "south"], n),
        }
    )
    return df


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_slice_matches_a_direct_mask_computation(seed):
    df = _random_dataset(seed, 250)
    table = analyze(dataset_from_frame(df), slice_by=["grp"])
    correct = df["label"] == df["prediction"]
    human = df["label"] == df["human_label"]
    masks = {
        "t1": df["t1"],
        "t2": df["t2"],
        "grp = north": df["grp"] == "north",
        "grp = south": df["grp"] == "south",
        OVERALL: pd.Series(True, index=df.index),
        UNTAGGED: ~(df["t1"] | df["t2"]),
    }
    for name, mask in masks.items():
        row = table.loc[name]
        assert row["n"] == mask.sum()
        assert row["accuracy"] == pytest.approx(correct[mask].mean())
        assert row["hlp"] == pytest.approx(human[mask].mean())
        assert row["error_share"] == pytest.approx((~correct & mask).sum() / (~correct).sum())
        b = (correct & ~human & mask).sum()
        c = (~correct & human & mask).sum()
        assert row["p_value"] == pytest.approx(mcnemar_exact_p(np.array([b]), np.array([c]))[0])


frames = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "label": st.lists(st.sampled_from("abc"), min_size=n, max_size=n),
            "prediction": st.lists(st.sampled_from("abc"), min_size=n, max_size=n),
            "human_label": st.lists(st.sampled_from("abc"), min_size=n, max_size=n),
            "t1": st.lists(st.booleans(), min_size=n, max_size=n),
            "t2": st.lists(st.booleans(), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=60, deadline=None)
@given(data=frames, seed=st.integers(0, 2**16))
def test_invariants_hold_for_random_tables(data, seed):
    df = pd.DataFrame(data)
    table = analyze(dataset_from_frame(df))
    shuffled = df.sample(frac=1, random_state=seed).reset_index(drop=True)
    table2 = analyze(dataset_from_frame(shuffled))
    pd.testing.assert_frame_equal(table.sort_index(), table2.sort_index())
    fractions = [
        "share",
        "accuracy",
        "accuracy_ci_low",
        "accuracy_ci_high",
        "hlp",
        "error_rate",
        "error_share",
    ]
    values = table[fractions].to_numpy(dtype=float)
    assert np.all((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1))
    has_n = table["n"] > 0
    assert (table.loc[has_n, "accuracy_ci_low"] <= table.loc[has_n, "accuracy"] + 1e-12).all()
    assert (table.loc[has_n, "accuracy"] <= table.loc[has_n, "accuracy_ci_high"] + 1e-12).all()
    overall = table.loc[OVERALL]
    assert overall["n"] == len(df)
    # Tagged errors plus untagged errors cover every error at least once.
    # t2 may be shown once under t1 (same members), which then counts its errors.
    tagged_or_not = table.loc[
        [r for r in ("t1", "t2", UNTAGGED) if r in table.index], "errors"
    ].sum()
    assert tagged_or_not >= overall["errors"]
    assert (
        table.loc[UNTAGGED, "errors"] + ((df.t1 | df.t2) & (df.label != df.prediction)).sum()
        == overall["errors"]
    )


def test_counts_are_the_same_from_metrics_code_whatever_computes_them(small):
    """Metrics depend on counts alone: a hand-built count table gives the same metrics."""
    task = TaskSpec()
    outcomes = compute_outcomes(small.frame, task)
    membership, _ = build_slices(small)
    counts = compute_slice_counts(membership, outcomes, tag_columns=["car", "people"])
    by_hand = counts.copy()
    by_hand.loc["people", ["n", "correct", "human_n", "human_correct"]] = [3, 1, 3, 3]
    m1 = compute_slice_metrics(counts, task=task)
    m2 = compute_slice_metrics(by_hand, task=task)
    pd.testing.assert_frame_equal(m1, m2)


@pytest.mark.parametrize(
    ("correct", "tags", "expected"),
    [
        ([True, False, False, False], {"a": [1, 1, 0, 0], "b": [0, 0, 1, 0]}, (2, 3)),
        ([False, False], {}, (0, 2)),
        ([True, True], {"a": [1, 0]}, (0, 0)),
    ],
)
def test_tag_coverage_counts_errors_with_any_tag(correct, tags, expected):
    from slicewise.core.metrics import compute_tag_coverage

    frame = pd.DataFrame(
        {k: np.array(v, dtype=bool) for k, v in tags.items()}, index=range(len(correct))
    )
    assert compute_tag_coverage(np.array(correct), frame) == expected
