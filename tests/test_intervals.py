"""Intervals on every metric (core/intervals.py): oracles, slow references, edge cases.

Proportions are checked against statsmodels' Wilson interval, the t quantile and the MAE
interval against scipy, Newcombe's paired interval against a published example and a
bootstrap, and the F1, MAE and WER intervals against seeded row bootstraps (the slow
reference: resample the rows, recompute the metric) and simulated coverage.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from slicewise.core.errors import DataError
from slicewise.core.intervals import (
    Z_95,
    add_metric_intervals,
    bootstrap_f1_interval,
    mae_interval,
    n_for_half_width,
    paired_difference_interval,
    student_t_quantile,
    wer_interval,
    wilson_interval,
)
from slicewise.core.metrics import (
    OVERALL,
    compute_class_report,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
)
from slicewise.core.tag_scope import apply_tag_figures
from slicewise.core.task import TaskSpec


def sm_wilson(k, n):
    """statsmodels' Wilson interval (the oracle), NaN for an empty denominator."""
    if n == 0:
        return (math.nan, math.nan)
    return proportion_confint(k, n, alpha=0.05, method="wilson")


def percentile(values, q):
    return float(np.percentile(values, 100 * q))


# ----------------------------------------------------------------------------- t quantile


@pytest.mark.parametrize("q", [0.975, 0.995, 0.9995, 0.9, 0.6, 0.025])
@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 100, 499, 500, 2_000, 10**6])
def test_t_quantile_matches_scipy(q, df):
    assert student_t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-8)


def test_t_quantile_is_nan_below_one_degree_of_freedom():
    got = student_t_quantile(0.975, np.array([0.0, np.nan, 1.0]))
    assert np.isnan(got[:2]).all() and got[2] == pytest.approx(12.7062047, rel=1e-7)


# ----------------------------------------------------------------------------- Newcombe


def test_paired_difference_matches_the_published_example():
    # Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, ch. 8:
    # complete response before/after consolidation therapy (Cavo et al., 2012), the table
    # [[59, 6], [16, 80]]: estimate -0.0621, Newcombe square-and-add 95% CI -0.1186 to -0.0046.
    low, high = paired_difference_interval(6, 16, 161, a=59)
    assert (6 - 16) / 161 == pytest.approx(-0.0621, abs=5e-5)
    assert low == pytest.approx(-0.1186, abs=5e-5)
    assert high == pytest.approx(-0.0046, abs=5e-5)


def test_paired_difference_hand_worked():
    # a = 30 both right, b = 8 first only, c = 2 second only, d = 10 neither; n = 50.
    # p1 = 38/50 = 0.76, p2 = 32/50 = 0.64, D = 0.12. Wilson from statsmodels:
    l1, u1 = sm_wilson(38, 50)  # 0.6259, 0.8570
    l2, u2 = sm_wilson(32, 50)  # 0.5014, 0.7586
    # ad - bc = 300 - 16 = 284 > n/2 = 25: phi = (284 - 25) / sqrt(38·12·32·18)
    #   = 259 / sqrt(262,656) = 259 / 512.50 = 0.5054
    phi = (284 - 25) / math.sqrt(38 * 12 * 32 * 18)
    assert phi == pytest.approx(0.5054, abs=1e-4)
    low = 0.12 - math.sqrt(
        (0.76 - l1) ** 2 - 2 * phi * (0.76 - l1) * (u2 - 0.64) + (u2 - 0.64) ** 2
    )
    high = 0.12 + math.sqrt(
        (0.64 - l2) ** 2 - 2 * phi * (0.64 - l2) * (u1 - 0.76) + (u1 - 0.76) ** 2
    )
    got = paired_difference_interval(8, 2, 50, a=30)
    assert got[0] == pytest.approx(low, abs=1e-12) and got[1] == pytest.approx(high, abs=1e-12)
    # low = 0.12 - sqrt(0.1341² - 2·0.5054·0.1341·0.1186 + 0.1186²) = 0.12 - 0.1264 = -0.0064
    # high = 0.12 + sqrt(0.1386² - 2·0.5054·0.1386·0.0970 + 0.0970²) = 0.12 + 0.1226 = 0.2426
    assert (round(low, 4), round(high, 4)) == (-0.0064, 0.2426)


def test_paired_difference_agrees_with_a_bootstrap_of_pairs():
    # 600 synthetic pairs, correlated sides; the slow reference resamples the pairs.
    rng = np.random.default_rng(3)
    first = rng.random(600) < 0.8
    second = np.where(rng.random(600) < 0.7, first, rng.random(600) < 0.7)
    a = int((first & second).sum())
    b = int((first & ~second).sum())
    c = int((~first & second).sum())
    low, high = paired_difference_interval(b, c, 600, a=a)
    boot = rng.integers(0, 600, size=(20_000, 600))
    diffs = (first[boot].sum(axis=1) - second[boot].sum(axis=1)) / 600
    # Within one accuracy point of the 2.5% and 97.5% percentiles (the interval is about
    # ±3 points here; the percentile's Monte Carlo error with 20,000 resamples is ~0.1 point).
    assert low == pytest.approx(percentile(diffs, 0.025), abs=0.01)
    assert high == pytest.approx(percentile(diffs, 0.975), abs=0.01)


@pytest.mark.parametrize(
    ("a", "b", "c", "n"),
    [
        (0, 0, 0, 1),
        (1, 0, 0, 1),
        (0, 1, 0, 1),
        (0, 0, 1, 1),
        (40, 0, 0, 40),
        (0, 0, 0, 40),
        (0, 40, 0, 40),
        (10, 5, 5, 20),
        (0, 3, 0, 3),
    ],
)
def test_paired_difference_edges_stay_in_range_and_cover_the_estimate(a, b, c, n):
    low, high = paired_difference_interval(b, c, n, a=a)
    d = (b - c) / n
    assert -1 <= low <= d <= high <= 1
    assert low < high  # never zero-width, not even on n = 1 or all-agreeing pairs


def test_paired_difference_is_nan_without_pairs_and_vectorised():
    low, high = paired_difference_interval([0, 8, 6], [0, 2, 16], [0, 50, 161], a=[0, 30, 59])
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] == pytest.approx(paired_difference_interval(8, 2, 50, a=30)[0])
    assert high[2] == pytest.approx(-0.0046, abs=5e-5)


# ----------------------------------------------------------------------------- F1 bootstrap


def f1_of(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize(("tp", "fp", "fn", "tn"), [(60, 15, 25, 300), (8, 2, 5, 30)])
def test_f1_interval_agrees_with_a_row_bootstrap(tp, fp, fn, tn):
    low, high = bootstrap_f1_interval(tp, fp, fn, tn)
    rows = np.repeat(np.arange(4), [tp, fp, fn, tn])  # 0 tp, 1 fp, 2 fn, 3 tn
    rng = np.random.default_rng(11)
    boot = rows[rng.integers(0, len(rows), size=(20_000, len(rows)))]
    t, p, n = ((boot == k).sum(axis=1) for k in range(3))
    f1 = f1_of(t, p, n)
    # 2,000 replicates against 20,000: the 2.5% percentile's Monte Carlo sd is about
    # sqrt(0.025·0.975/2000)/φ(1.96) = 0.06 standard errors of F1 for ours (0.02 for the
    # reference), so 0.25 standard errors is about four sds.
    tol = 0.25 * f1.std()
    assert low == pytest.approx(percentile(f1, 0.025), abs=tol)
    assert high == pytest.approx(percentile(f1, 0.975), abs=tol)
    assert low <= f1_of(tp, fp, fn) <= high


def test_f1_interval_is_seeded_and_depends_on_a_slice_s_counts_only():
    counts = np.array([[60, 15, 25, 300], [8, 2, 5, 30], [1, 0, 1, 0]], dtype=float)
    forward = bootstrap_f1_interval(*counts.T)
    backward = bootstrap_f1_interval(*counts[::-1].T)
    again = bootstrap_f1_interval(*counts.T)
    for end in (0, 1):
        np.testing.assert_array_equal(forward[end], backward[end][::-1])
        np.testing.assert_array_equal(forward[end], again[end])
        assert forward[end][1] == bootstrap_f1_interval(8, 2, 5, 30)[end]
    other_seed = bootstrap_f1_interval(*counts.T, seed=1)
    assert not np.array_equal(forward[0], other_seed[0])


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((0, 0, 0, 10), (math.nan, math.nan)),  # no positives predicted or true: F1 undefined
        ((0, 0, 0, 0), (math.nan, math.nan)),  # empty slice
        ((5, 0, 0, 7), (1.0, 1.0)),  # no errors: a bootstrap cannot draw one
        ((1, 0, 0, 0), (1.0, 1.0)),  # n = 1
        ((0, 3, 2, 5), (0.0, 0.0)),  # no true positive
    ],
)
def test_f1_interval_edges(counts, expected):
    low, high = bootstrap_f1_interval(*counts)
    np.testing.assert_array_equal([low, high], expected)


# ----------------------------------------------------------------------------- MAE


def test_mae_interval_is_scipy_s_t_interval_on_the_rows():
    rng = np.random.default_rng(5)
    err = rng.gamma(2.0, 1.5, 80) * rng.choice([-1, 1], 80)
    low, high = mae_interval(80, np.abs(err).sum(), (err**2).sum())
    a = np.abs(err)
    ref = stats.t.interval(0.95, 79, loc=a.mean(), scale=stats.sem(a))
    assert low == pytest.approx(ref[0], rel=1e-9) and high == pytest.approx(ref[1], rel=1e-9)


def test_mae_interval_agrees_with_a_row_bootstrap():
    rng = np.random.default_rng(6)
    err = rng.standard_t(5, 500) * 2
    a = np.abs(err)
    low, high = mae_interval(500, a.sum(), (err**2).sum())
    boot = a[rng.integers(0, 500, size=(20_000, 500))].mean(axis=1)
    # Percentile and t endpoints differ by the skew of the mean (~0.03 half-widths at
    # n = 500) plus Monte Carlo error (~0.015 half-widths at 20,000 resamples); 0.1
    # half-widths leaves room for both.
    tol = 0.1 * (high - low) / 2
    assert low == pytest.approx(percentile(boot, 0.025), abs=tol)
    assert high == pytest.approx(percentile(boot, 0.975), abs=tol)


def test_mae_interval_covers_the_true_mae_about_95_percent_of_the_time():
    # |e| with e ~ N(0, 2²): the true MAE is 2·sqrt(2/π). 4,000 data sets of 60 rows.
    rng = np.random.default_rng(7)
    err = rng.normal(0, 2, size=(4_000, 60))
    low, high = mae_interval(np.full(4_000, 60), np.abs(err).sum(axis=1), (err**2).sum(axis=1))
    truth = 2 * math.sqrt(2 / math.pi)
    coverage = np.mean((low <= truth) & (truth <= high))
    # Binomial sd of the coverage over 4,000 sets is 0.34 points: 95% ± 1.5 points.
    assert 0.935 <= coverage <= 0.965


@pytest.mark.parametrize(("n", "s1", "s2"), [(0, 0, 0), (1, 2.0, 4.0)])
def test_mae_interval_needs_two_rows(n, s1, s2):
    assert np.isnan(mae_interval(n, s1, s2)).all()


def test_mae_interval_of_exact_predictions_is_zero():
    assert mae_interval(10, 0.0, 0.0) == (0.0, 0.0)


# ----------------------------------------------------------------------------- WER


def speech(rng, n):
    """Per utterance: r reference words (1 + Poisson(9)), e = Binomial(r, 0.12) word errors
    plus Poisson(0.2) insertions, so the true WER is (0.12·10 + 0.2) / 10 = 0.14."""
    r = 1 + rng.poisson(9, n)
    e = rng.binomial(r, 0.12) + rng.poisson(0.2, n)
    return e.astype(float), r.astype(float)


def wer_sums(e, r, axis=None):
    return (
        e.sum(axis=axis),
        r.sum(axis=axis),
        (e * e).sum(axis=axis),
        (r * r).sum(axis=axis),
        (e * r).sum(axis=axis),
    )


def test_wer_interval_is_the_linearisation_on_the_rows():
    e, r = speech(np.random.default_rng(8), 120)
    ratio = e.sum() / r.sum()
    d = e - ratio * r  # residuals of the ratio estimator
    se = math.sqrt(np.sum(d * d) / (120 * 119)) / r.mean()
    t = stats.t.ppf(0.975, 119)
    low, high = wer_interval(120, *wer_sums(e, r))
    assert low == pytest.approx(ratio - t * se, rel=1e-9)
    assert high == pytest.approx(ratio + t * se, rel=1e-9)


def test_wer_interval_agrees_with_a_row_bootstrap():
    rng = np.random.default_rng(9)
    e, r = speech(rng, 400)
    low, high = wer_interval(400, *wer_sums(e, r))
    idx = rng.integers(0, 400, size=(20_000, 400))
    boot = e[idx].sum(axis=1) / r[idx].sum(axis=1)
    # As for MAE: skew of a ratio at n = 400 and Monte Carlo error are each a few
    # hundredths of a half-width; 0.1 half-widths holds both.
    tol = 0.1 * (high - low) / 2
    assert low == pytest.approx(percentile(boot, 0.025), abs=tol)
    assert high == pytest.approx(percentile(boot, 0.975), abs=tol)


def test_wer_interval_covers_the_true_wer_about_95_percent_of_the_time():
    rng = np.random.default_rng(10)
    sets, n = 4_000, 80
    e, r = speech(rng, sets * n)
    e, r = e.reshape(sets, n), r.reshape(sets, n)
    low, high = wer_interval(np.full(sets, n), *wer_sums(e, r, axis=1))
    coverage = np.mean((low <= 0.14) & (0.14 <= high))
    assert 0.935 <= coverage <= 0.965  # binomial sd 0.34 points over 4,000 sets


@pytest.mark.parametrize(("n", "e", "r"), [(0, 0, 0), (1, 2, 5), (3, 2, 0)])
def test_wer_interval_is_nan_without_two_rows_or_reference_words(n, e, r):
    assert np.isnan(wer_interval(n, e, r, e * e, r * r, e * r)).all()


# ----------------------------------------------------------------------------- planning


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 0.837, 0.99, 1.0])
@pytest.mark.parametrize("w", [0.01, 0.05, 0.1, 0.3])
def test_n_for_half_width_is_the_smallest_n(p, w):
    n = int(n_for_half_width(p, w))

    def half(m):
        low, high = wilson_interval(p * m, m)
        return (high - low) / 2

    assert half(n) <= w + 1e-12
    assert n == 1 or half(n - 1) > w


def test_n_for_half_width_hand_worked():
    # p = 0.5, ±5 points: h(n) = 1.96·sqrt(0.25·n + 1.96²/4) / (n + 1.96²);
    # h(381) = 1.96·sqrt(96.21) / 384.84 = 0.04996, h(380) = 1.96·sqrt(95.96) / 383.84 = 0.05002.
    assert int(n_for_half_width(0.5, 0.05)) == 381
    np.testing.assert_array_equal(n_for_half_width([0.5, 0.5], [0.05, 0.1]), [381, 93])


@pytest.mark.parametrize(
    ("p", "w", "msg"),
    [
        (1.2, 0.05, "between 0 and 1"),
        (-0.1, 0.05, "between 0 and 1"),
        (0.5, 0.0, "positive"),
        (0.5, -1, "positive"),
        (math.nan, 0.1, "between 0 and 1"),
    ],
)
def test_n_for_half_width_refuses_bad_input(p, w, msg):
    with pytest.raises(DataError, match=msg):
        n_for_half_width(p, w)


# ----------------------------------------------------------------------------- the table


BINARY = TaskSpec(kind="binary", positive="1")


def binary_frame():
    """240 seeded rows: label, prediction, human label, a group g (a, b, c) and a tiny
    group d of 4 rows; the model errs more on b."""
    rng = np.random.default_rng(12)
    n = 240
    group = np.array(["a"] * 100 + ["b"] * 100 + ["c"] * 36 + ["d"] * 4)
    label = (rng.random(n) < 0.4).astype(int)
    wrong = rng.random(n) < np.where(group == "b", 0.3, 0.1)
    pred = np.where(wrong, 1 - label, label)
    human = np.where(rng.random(n) < 0.05, 1 - label, label).astype(object)
    human[group == "c"] = None  # no human labels in c...
    human[np.flatnonzero(group == "c")[:10]] = label[group == "c"][:10]  # ...but 10
    return pd.DataFrame(
        {
            "label": label.astype(str),
            "prediction": pred.astype(str),
            "human": [None if h is None else str(h) for h in human],
            "g": group,
        }
    )


def table_for(frame, task, *, hlp=None, order=None):
    outcomes = compute_outcomes(frame, task)
    groups = order or sorted(frame["g"].unique())
    membership = pd.DataFrame({g: (frame["g"] == g).to_numpy() for g in groups})
    counts = compute_slice_counts(membership, outcomes)
    return counts, compute_slice_metrics(counts, task=task, hlp=hlp)


def test_binary_table_intervals_match_statsmodels_on_masks():
    frame = binary_frame()
    _, table = table_for(frame, BINARY)
    for name in ("a", "b", "c", "d", OVERALL):
        rows = frame if name == OVERALL else frame[frame["g"] == name]
        y, p = rows["label"] == "1", rows["prediction"] == "1"
        tp, fp = int((y & p).sum()), int((~y & p).sum())
        fn, tn = int((y & ~p).sum()), int((~y & ~p).sum())
        row = table.loc[name]
        for metric, (k, m) in {
            "precision": (tp, tp + fp),
            "recall": (tp, tp + fn),
            "fpr": (fp, fp + tn),
            "fnr": (fn, fn + tp),
        }.items():
            expected = sm_wilson(k, m)
            got = (row[f"{metric}_ci_low"], row[f"{metric}_ci_high"])
            np.testing.assert_allclose(got, expected, atol=1e-12)
        f1 = bootstrap_f1_interval(tp, fp, fn, tn)
        assert (row["f1_ci_low"], row["f1_ci_high"]) == (f1[0], f1[1])
        assert row["f1_ci_low"] <= row["f1"] <= row["f1_ci_high"]


def test_gap_interval_by_hlp_source():
    frame = binary_frame()
    counts, table = table_for(frame, BINARY, hlp={"d": 0.9})
    # a and b: 100 human labels each (human_label): Newcombe on the paired examples.
    for name in ("a", "b"):
        rows = frame[frame["g"] == name]
        model = rows["label"] == rows["prediction"]
        human = rows["label"] == rows["human"]
        a, b = int((model & human).sum()), int((human & ~model).sum())
        c = int((model & ~human).sum())
        assert table.loc[name, "hlp_source"] == "human_label"
        low, high = paired_difference_interval(b, c, len(rows), a=a)
        assert table.loc[name, "gap_ci_low"] == pytest.approx(low, abs=1e-12)
        assert table.loc[name, "gap_ci_high"] == pytest.approx(high, abs=1e-12)
        assert low <= table.loc[name, "gap"] <= high
    # c: 10 human labels (too_few): no gap, no interval.
    assert table.loc["c", "hlp_source"] == "too_few"
    assert np.isnan(table.loc["c", ["gap_ci_low", "gap_ci_high"]].astype(float)).all()
    # d: a typed HLP of 90% has no sampling error: 0.9 minus the accuracy's Wilson interval.
    d = table.loc["d"]
    assert d["hlp_source"] == "user"
    acc = sm_wilson(int((frame[frame["g"] == "d"].eval("label == prediction")).sum()), 4)
    assert d["gap_ci_low"] == pytest.approx(0.9 - acc[1], abs=1e-12)
    assert d["gap_ci_high"] == pytest.approx(0.9 - acc[0], abs=1e-12)


def test_a_gap_interval_set_by_another_baseline_is_kept():
    frame = binary_frame()
    counts, table = table_for(frame, BINARY)
    preset = table.copy()
    preset["gap_ci_low"] = [np.nan, -0.5, np.nan, np.nan, np.nan][: len(preset)]
    preset["gap_ci_high"] = [np.nan, 0.5, np.nan, np.nan, np.nan][: len(preset)]
    out = add_metric_intervals(preset, counts, kind="binary")
    assert (out.iloc[1]["gap_ci_low"], out.iloc[1]["gap_ci_high"]) == (-0.5, 0.5)
    pd.testing.assert_series_equal(out["gap_ci_low"].iloc[2:], table["gap_ci_low"].iloc[2:])


def test_slice_order_does_not_change_a_slice_s_intervals():
    frame = binary_frame()
    _, forward = table_for(frame, BINARY, order=["a", "b", "c", "d"])
    _, backward = table_for(frame, BINARY, order=["d", "c", "b", "a"])
    pd.testing.assert_frame_equal(forward, backward.loc[forward.index])


def test_empty_slice_and_zero_denominators_give_nan_not_errors():
    frame = pd.DataFrame(
        {"label": ["0", "0", "0"], "prediction": ["0", "0", "1"], "g": ["x", "x", "x"]}
    )
    outcomes = compute_outcomes(frame, BINARY)
    membership = pd.DataFrame({"x": [True, True, True], "empty": [False, False, False]})
    table = compute_slice_metrics(compute_slice_counts(membership, outcomes), task=BINARY)
    x, empty = table.loc["x"], table.loc["empty"]
    # No positives: recall and FNR are undefined, with their intervals; F1 = 0 / 1 is 0.
    for m in ("recall", "fnr"):
        assert np.isnan(x[[m, f"{m}_ci_low", f"{m}_ci_high"]].astype(float)).all()
    assert (x["f1"], x["f1_ci_low"], x["f1_ci_high"]) == (0.0, 0.0, 0.0)
    # Precision 0 of 1 predicted positive (Wilson 0% to 79.3%); FPR 1 of 3.
    np.testing.assert_allclose((x["precision_ci_low"], x["precision_ci_high"]), sm_wilson(0, 1))
    np.testing.assert_allclose((x["fpr_ci_low"], x["fpr_ci_high"]), sm_wilson(1, 3))
    cis = [c for c in table.columns if c.endswith(("_ci_low", "_ci_high"))]
    assert np.isnan(empty[cis].astype(float)).all()


def test_all_correct_slice():
    frame = pd.DataFrame(
        {"label": ["1", "0", "1", "1"], "prediction": ["1", "0", "1", "1"], "g": ["x"] * 4}
    )
    _, table = table_for(frame, BINARY)
    x = table.loc["x"]
    # Precision 3/3 and recall 3/3: Wilson 43.9% to 100%; FPR 0/1: 0% to 79.3%.
    np.testing.assert_allclose((x["precision_ci_low"], x["precision_ci_high"]), sm_wilson(3, 3))
    np.testing.assert_allclose((x["recall_ci_low"], x["recall_ci_high"]), sm_wilson(3, 3))
    np.testing.assert_allclose((x["fpr_ci_low"], x["fpr_ci_high"]), sm_wilson(0, 1))
    assert (x["f1_ci_low"], x["f1_ci_high"]) == (1.0, 1.0)  # documented: no error to draw


def test_text_table_has_a_wer_interval_from_additive_counts():
    rng = np.random.default_rng(13)
    words = np.array(["turn", "the", "lights", "on", "play", "jazz", "now", "please"])
    refs, hyps = [], []
    for _ in range(60):
        ref = list(rng.choice(words, rng.integers(2, 7)))
        hyp = [w if rng.random() > 0.2 else "uh" for w in ref]
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    frame = pd.DataFrame({"label": refs, "prediction": hyps, "g": ["p", "q"] * 30})
    task = TaskSpec(kind="text")
    counts, table = table_for(frame, task)
    outcomes = compute_outcomes(frame, task)
    for name in ("p", OVERALL):
        mask = np.ones(60, bool) if name == OVERALL else (frame["g"] == name).to_numpy()
        e = outcomes["word_errors"].to_numpy()[mask]
        r = outcomes["ref_words"].to_numpy()[mask]
        # The three new counts are plain sums over the slice.
        assert counts.loc[name, "word_errors_sq"] == (e * e).sum()
        assert counts.loc[name, "ref_words_sq"] == (r * r).sum()
        assert counts.loc[name, "word_errors_x_ref"] == (e * r).sum()
        low, high = wer_interval(mask.sum(), *wer_sums(e, r))
        assert table.loc[name, "wer_ci_low"] == pytest.approx(low)
        assert table.loc[name, "wer_ci_high"] == pytest.approx(high)
        assert low <= table.loc[name, "wer"] <= high


def test_regression_table_has_an_mae_interval_and_no_rmse_interval():
    rng = np.random.default_rng(14)
    y = rng.normal(10, 3, 50)
    frame = pd.DataFrame(
        {"label": y, "prediction": y + rng.normal(0, 1, 50), "g": ["p"] * 25 + ["q"] * 25}
    )
    _, table = table_for(frame, TaskSpec(kind="regression", tolerance=0.5))
    rows = frame[frame["g"] == "q"]
    a = (rows["prediction"] - rows["label"]).abs()
    ref = stats.t.interval(0.95, 24, loc=a.mean(), scale=stats.sem(a))
    np.testing.assert_allclose(
        table.loc["q", ["mae_ci_low", "mae_ci_high"]].astype(float), ref, rtol=1e-9
    )
    assert "rmse_ci_low" not in table.columns


# ----------------------------------------------------------------------------- per class


def test_class_report_intervals():
    frame = pd.DataFrame(
        {
            "label": list("aaaaabbbcc") * 3 + ["d"],
            "prediction": list("aaabbbbcca") * 3 + ["a"],
        }
    )
    report = compute_class_report(frame)
    n = len(frame)
    for cls, row in report.iterrows():
        y, p = frame["label"] == cls, frame["prediction"] == cls
        tp, fp, fn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum())
        np.testing.assert_allclose(
            (row["precision_ci_low"], row["precision_ci_high"]), sm_wilson(tp, tp + fp), atol=1e-12
        )
        np.testing.assert_allclose(
            (row["recall_ci_low"], row["recall_ci_high"]), sm_wilson(tp, tp + fn), atol=1e-12
        )
        f1 = bootstrap_f1_interval(tp, fp, fn, n - tp - fp - fn)
        np.testing.assert_array_equal((row["f1_ci_low"], row["f1_ci_high"]), f1)
    # d: support 1, never predicted; precision undefined, recall 0 of 1, F1 = 0.
    d = report.loc["d"]
    assert np.isnan(d["precision_ci_low"]) and d["recall_ci_high"] == pytest.approx(
        sm_wilson(0, 1)[1]
    )
    assert (d["f1_ci_low"], d["f1_ci_high"]) == (0.0, 0.0)


def test_z_is_the_95_percent_normal_quantile():
    assert stats.norm.ppf(0.975) == pytest.approx(Z_95, abs=1e-12)


def test_partly_known_tags_drop_the_intervals_they_cannot_have():
    frame = binary_frame()
    _, table = table_for(frame, BINARY, hlp={"a": 0.95})
    est = {
        "tagged_errors": 5,
        "tagged_correct": 20,
        "reviewed": 25,
        "errors_est": 12.0,
        "error_share": 0.3,
        "error_share_ci_low": 0.2,
        "error_share_ci_high": 0.4,
        "max_gain": 0.05,
        "share": 0.4,
        "share_ci_low": 0.3,
        "share_ci_high": 0.5,
        "accuracy": 0.8,
        "accuracy_ci_low": 0.7,
        "accuracy_ci_high": 0.88,
    }
    figures = pd.DataFrame(
        [{"scope": "sample", **est}, {"scope": "errors", **est}], index=["a", "b"]
    )
    out = apply_tag_figures(table, figures)
    task_cis = [
        f"{m}_ci_{end}"
        for m in ("precision", "recall", "f1", "fpr", "fnr")
        for end in ("low", "high")
    ]
    for name in ("a", "b"):
        assert np.isnan(out.loc[name, task_cis].astype(float)).all()
    # a: a typed HLP of 95% against the sample's estimated accuracy 80% (70% to 88%).
    assert out.loc["a", "gap"] == pytest.approx(0.15)
    assert out.loc["a", "gap_ci_low"] == pytest.approx(0.95 - 0.88)
    assert out.loc["a", "gap_ci_high"] == pytest.approx(0.95 - 0.70)
    # b: known only on errors: no gap, no interval. c (exact) keeps its own.
    assert np.isnan(out.loc["b", ["gap", "gap_ci_low", "gap_ci_high"]].astype(float)).all()
    pd.testing.assert_series_equal(
        out.loc[["c", "d"], "f1_ci_low"], table.loc[["c", "d"], "f1_ci_low"]
    )
