"""Production slice mix (core.drift.mix): shares, reference slices on production rows, and the
post-stratified accuracy to expect, each checked against a computation by hand on the raw
tables (pandas groupby, numpy quantiles), never against our own output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.dataset import dataset_from_frame
from slicewise.core.drift.mix import (
    expected_accuracy,
    production_memberships,
    read_production,
    slice_mix,
)
from slicewise.core.errors import MissingColumnError, MissingValuesError


def _table(n: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Predictions of a model whose accuracy differs by device; ``shift`` tilts the mix."""
    rng = np.random.default_rng(seed)
    p_device = np.array([0.5, 0.3, 0.2]) + shift * np.array([-0.3, 0.0, 0.3])
    device = rng.choice(["android", "ios", "web"], n, p=p_device)
    label = rng.choice(["cat", "dog"], n)
    right = rng.random(n) < pd.Series(device).map({"android": 0.9, "ios": 0.75, "web": 0.55})
    other = np.where(label == "cat", "dog", "cat")
    return pd.DataFrame(
        {
            "label": label,
            "prediction": np.where(right, label, other),
            "device": device,
            "age": rng.normal(40 + 15 * shift, 12, n),
        }
    )


def _hand_poststratified(ref: pd.DataFrame, prod: pd.DataFrame, by: str) -> float:
    """Sum over the values of ``by`` of reference accuracy x production share."""
    accuracy = (ref["label"] == ref["prediction"]).groupby(ref[by]).mean()
    share = prod[by].value_counts(normalize=True)
    return float((accuracy * share).sum())


@pytest.mark.parametrize(("seed", "shift"), [(1, 0.0), (2, 0.5), (3, 0.9)])
def test_expected_accuracy_on_a_partition_is_accuracy_times_production_share(seed, shift):
    ref, prod = _table(3000, seed=seed), _table(2000, seed=seed + 100, shift=shift)
    mix = slice_mix(dataset_from_frame(ref, name="ref.csv"), prod, slice_by=["device"])
    assert mix.loc["All data", "expected_accuracy"] == pytest.approx(
        _hand_poststratified(ref, prod, "device"), abs=1e-12
    )
    for value in ("android", "ios", "web"):
        row = mix.loc[f"device = {value}"]
        mask_r, mask_p = ref["device"] == value, prod["device"] == value
        assert row["reference_n"] == mask_r.sum() and row["production_n"] == mask_p.sum()
        assert row["reference_share"] == pytest.approx(mask_r.mean())
        assert row["production_share"] == pytest.approx(mask_p.mean())
        hand_acc = (ref["label"] == ref["prediction"])[mask_r].mean()
        assert row["accuracy"] == pytest.approx(hand_acc)
        # A slice that is a stratum expects its own reference accuracy.
        assert row["expected_accuracy"] == pytest.approx(hand_acc)
    assert mix.loc["All data", "uncovered_n"] == 0


def test_interval_is_the_stratified_variance_plus_the_production_shares_variance():
    ref, prod = _table(1500, seed=4), _table(900, seed=5, shift=0.6)
    mix = slice_mix(dataset_from_frame(ref), prod, slice_by=["device"])
    correct = ref["label"] == ref["prediction"]
    p = correct.groupby(ref["device"]).mean()
    n = ref["device"].value_counts()
    q = prod["device"].value_counts(normalize=True)
    est = (p * q).sum()
    var = (q**2 * p * (1 - p) / n).sum() + (q * (p - est) ** 2).sum() / len(prod)
    low, high = est - 1.959963984540054 * np.sqrt(var), est + 1.959963984540054 * np.sqrt(var)
    assert mix.loc["All data", ["expected_low", "expected_high"]].tolist() == pytest.approx(
        [low, high], abs=1e-12
    )


@pytest.mark.parametrize("n_reference", [150, 400])
def test_the_95_percent_interval_covers_the_population_accuracy_about_95_percent(n_reference):
    """Draw reference and production samples from known strata; count the coverage."""
    rng = np.random.default_rng(n_reference)
    p_true = np.array([0.9, 0.75, 0.6, 0.8])
    ref_share, prod_share = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.1, 0.2, 0.3, 0.4])
    truth = float(p_true @ prod_share)
    reps, hits = 1000, 0
    for _ in range(reps):
        strata = rng.choice(4, n_reference, p=ref_share)
        correct = rng.random(n_reference) < p_true[strata]
        est = expected_accuracy(correct, strata, rng.choice(4, 600, p=prod_share))
        hits += est["low"] <= truth <= est["high"]
    # Binomial spread of the count at 95%: 3 standard deviations of 1000 draws is 0.021.
    assert abs(hits / reps - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps)


def test_numeric_slices_use_the_reference_bin_edges_not_production_quantiles():
    ref, prod = _table(2000, seed=6), _table(1000, seed=7, shift=0.8)
    prod.loc[prod.index[:3], "age"] = [-50.0, 500.0, np.nan]  # beyond the reference's range
    mix = slice_mix(dataset_from_frame(ref), prod, slice_by=["age"], bins=4)
    edges = np.unique(np.quantile(ref["age"], [0, 0.25, 0.5, 0.75, 1]))
    codes = np.clip(np.digitize(prod["age"], edges[1:-1]), 0, len(edges) - 2)
    known = prod["age"].notna()
    hand = pd.Series(codes[known]).value_counts().sort_index() / len(prod)
    # The bins in ascending order (the mix lists slices by their share change).
    bins = [
        n
        for n in production_memberships(
            dataset_from_frame(ref), prod, slice_by=["age"], bins=4
        ).info.index
        if n.startswith("age in")
    ]
    age_rows = mix.loc[bins]
    assert age_rows["production_share"].to_numpy() == pytest.approx(hand.to_numpy())
    assert age_rows["reference_share"].to_numpy() == pytest.approx([0.25] * 4, abs=1e-3)
    # The production's own quartiles would give 0.25 each; the shift shows in the shares.
    assert age_rows["production_share"].iloc[-1] > 0.4
    assert mix.loc["All data", "uncovered_n"] == 1  # the missing age: no reference slice


def _tagged(n: int, *, seed: int, p_a: float, p_b: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) < p_a, rng.random(n) < p_b
    acc = 0.9 - 0.2 * a - 0.3 * b + 0.25 * (a & b)  # tags interact: not additive
    label = rng.choice(["x", "y"], n)
    pred = np.where(rng.random(n) < acc, label, np.where(label == "x", "y", "x"))
    return pd.DataFrame({"label": label, "prediction": pred, "blurry": a, "dark": b})


@pytest.mark.parametrize(("p_a", "p_b"), [(0.6, 0.2), (0.1, 0.7), (0.3, 0.3)])
def test_overlapping_tags_are_weighted_by_their_combination(p_a, p_b):
    ref = _tagged(4000, seed=8, p_a=0.3, p_b=0.3)
    prod = _tagged(3000, seed=9, p_a=p_a, p_b=p_b).drop(columns="label")
    mix = slice_mix(dataset_from_frame(ref), prod)
    correct = (ref["label"] == ref["prediction"]).to_numpy()
    combo_ref = ref["blurry"].astype(int) * 2 + ref["dark"].astype(int)
    combo_prod = prod["blurry"].astype(int) * 2 + prod["dark"].astype(int)
    # Importance weight of each reference row: production share / reference share of its
    # combination of tags.
    weight = combo_ref.map(
        combo_prod.value_counts(normalize=True) / combo_ref.value_counts(normalize=True)
    )
    assert mix.loc["All data", "expected_accuracy"] == pytest.approx(
        np.average(correct, weights=weight), abs=1e-12
    )
    blurry = ref["blurry"].to_numpy()
    w_blurry = combo_ref[blurry].map(
        combo_prod[prod["blurry"]].value_counts(normalize=True)
        / combo_ref[blurry].value_counts(normalize=True)
    )
    assert mix.loc["blurry", "expected_accuracy"] == pytest.approx(
        np.average(correct[blurry], weights=w_blurry), abs=1e-12
    )
    untagged = ~(ref["blurry"] | ref["dark"])
    assert mix.loc["No tag", "expected_accuracy"] == pytest.approx(correct[untagged].mean())


def test_a_combination_the_reference_never_holds_is_counted_left_out_and_warned():
    ref = _tagged(2000, seed=10, p_a=0.3, p_b=0.3)
    ref = ref[~(ref["blurry"] & ref["dark"])].reset_index(drop=True)
    prod = _tagged(1000, seed=11, p_a=0.5, p_b=0.5)
    both = prod["blurry"] & prod["dark"]
    warnings: list[str] = []
    mix = slice_mix(dataset_from_frame(ref), prod, warnings=warnings, source_name="prod.csv")
    assert mix.loc["All data", "uncovered_n"] == both.sum() > 0
    assert mix.loc["dark", "uncovered_n"] == both.sum()
    assert any(f"{both.sum()} of 1000 rows" in w and "prod.csv" in w for w in warnings)
    kept = prod[~both]
    correct = ref["label"] == ref["prediction"]
    combo_ref = ref["blurry"].astype(int) * 2 + ref["dark"].astype(int)
    combo_prod = kept["blurry"].astype(int) * 2 + kept["dark"].astype(int)
    hand = (correct.groupby(combo_ref).mean() * combo_prod.value_counts(normalize=True)).sum()
    assert mix.loc["All data", "expected_accuracy"] == pytest.approx(hand, abs=1e-12)


@pytest.mark.parametrize(
    "slice_by", [["device"], ["age"], ["device", "age"], []], ids=lambda s: "+".join(s) or "none"
)
def test_production_identical_to_reference_expects_the_reference_accuracy(slice_by):
    ref = _table(1200, seed=12)
    mix = slice_mix(dataset_from_frame(ref), ref.drop(columns="label"), slice_by=slice_by)
    hand = (ref["label"] == ref["prediction"]).mean()
    assert mix.loc["All data", "expected_accuracy"] == pytest.approx(hand, abs=1e-12)
    assert mix["production_share"].to_numpy() == pytest.approx(mix["reference_share"])


def test_one_slice_expects_the_reference_accuracy():
    ref, prod = _table(800, seed=13).assign(site="berlin"), _table(500, seed=14, shift=0.9)
    mix = slice_mix(dataset_from_frame(ref), prod.assign(site="berlin"), slice_by=["site"])
    assert list(mix.index) == ["All data", "site = berlin"]
    hand = (ref["label"] == ref["prediction"]).mean()
    assert mix["expected_accuracy"].tolist() == pytest.approx([hand, hand], abs=1e-12)


def test_labelled_production_shows_its_measured_accuracy_per_slice():
    ref, prod = _table(1000, seed=15), _table(700, seed=16, shift=0.4)
    prod.loc[prod.index[:50], "label"] = None  # some rows unlabelled
    mix = slice_mix(dataset_from_frame(ref), prod, slice_by=["device"])
    labelled = prod["label"].notna()
    right = prod["label"] == prod["prediction"]
    assert mix.loc["All data", "production_labelled_n"] == labelled.sum()
    assert mix.loc["All data", "production_accuracy"] == pytest.approx(right[labelled].mean())
    for value in ("android", "ios", "web"):
        mask = labelled & (prod["device"] == value)
        assert mix.loc[f"device = {value}", "production_accuracy"] == pytest.approx(
            right[mask].mean()
        )


def test_unlabelled_production_has_no_measured_accuracy():
    ref, prod = _table(300, seed=17), _table(200, seed=18)
    mix = slice_mix(dataset_from_frame(ref), prod.drop(columns="label"), slice_by=["device"])
    assert (mix["production_labelled_n"] == 0).all()
    assert mix["production_accuracy"].isna().all()


def test_a_category_the_reference_never_holds_is_in_no_slice_and_warned():
    ref, prod = _table(600, seed=19), _table(400, seed=20)
    prod.loc[prod.index[:7], "device"] = "smart tv"
    warnings: list[str] = []
    mem = production_memberships(dataset_from_frame(ref), prod, slice_by=["device"])
    assert mem.unseen == {"device": 7}
    assert not mem.production.iloc[:7].any(axis=None)
    slice_mix(dataset_from_frame(ref), prod, slice_by=["device"], warnings=warnings)
    assert any("'device'" in w and "7 of 400 rows" in w for w in warnings)


def test_production_rows_are_read_with_the_reference_roles_and_threshold():
    ref = _table(400, seed=21).drop(columns="prediction")
    rng = np.random.default_rng(21)
    ref["confidence"] = rng.random(len(ref))
    prod = ref.drop(columns="label").iloc[:100]
    reference = dataset_from_frame(ref, positive="dog", threshold=0.6)
    sample = read_production(reference, prod)
    hand = np.where(prod["confidence"] >= 0.6, "dog", "cat")
    assert sample.frame["prediction"].tolist() == hand.tolist()
    assert sample.frame["score"].to_numpy() == pytest.approx(prod["confidence"].to_numpy())
    assert not sample.labelled.any()


@pytest.mark.parametrize(
    ("drop", "slice_by", "error", "message"),
    [
        ("device", ["device"], MissingColumnError, "no column 'device'"),
        ("prediction", [], MissingColumnError, "'prediction'"),
        ("noisy", [], MissingColumnError, "'noisy'"),
        ("label", ["label"], MissingColumnError, "no column 'label'"),
    ],
)
def test_a_production_file_missing_a_column_the_reference_needs_is_refused(
    drop, slice_by, error, message
):
    ref = _table(200, seed=22).assign(noisy=lambda d: d["age"] > 40)
    prod = _table(100, seed=23).assign(noisy=lambda d: d["age"] > 40).drop(columns=drop)
    if drop != "label":
        prod = prod.drop(columns="label")
    with pytest.raises(error, match=message) as info:
        slice_mix(dataset_from_frame(ref), prod, slice_by=slice_by, source_name="prod.csv")
    assert str(info.value).startswith("prod.csv: ")


def test_missing_predictions_in_production_are_refused_with_their_rows():
    ref, prod = _table(100, seed=24), _table(50, seed=25)
    prod.loc[[3, 9], "prediction"] = None
    with pytest.raises(MissingValuesError, match="rows 5, 11"):
        read_production(dataset_from_frame(ref), prod)


def _ages(ages: list[float]) -> pd.DataFrame:
    n = len(ages)
    return pd.DataFrame(
        {"label": ["cat", "dog"] * (n // 2) + ["cat"] * (n % 2), "prediction": ["cat"] * n}
    ).assign(age=ages)


@pytest.mark.parametrize(
    ("ages", "below", "above"),
    [
        ([-5.0, -1.0, 0.0, 50.0, 99.0, 100.0, 150.0, 200.0, np.nan, 30.0], 2, 3),
        ([0.0, 10.0, 24.75, 99.0, 99.0, np.nan], 0, 0),  # the edges themselves are inside
        ([120.0, 99.5, 1e6, 60.0], 0, 3),
        ([-0.001, -3.0, 5.0, 80.0], 2, 0),
    ],
    ids=["both-sides", "none", "above-only", "below-only"],
)
def test_numeric_values_outside_the_reference_range_are_counted_and_kept_in_the_edge_bins(
    ages, below, above
):
    ref = _ages([float(a) for a in range(100)])  # edges at the quartiles: 0 ... 99
    prod = _ages(ages).drop(columns="label")
    warnings: list[str] = []
    mix = slice_mix(
        dataset_from_frame(ref, name="ref.csv"), prod, slice_by=["age"], bins=4,
        warnings=warnings, source_name="prod.csv",
    )  # fmt: skip
    mem = production_memberships(dataset_from_frame(ref), prod, slice_by=["age"], bins=4)
    assert (mem.outside["age"].below, mem.outside["age"].above) == (below, above)
    assert mix.attrs["outside"] == {"age": below + above}
    # The rows outside stay in the lowest and the highest bin, the edges at 0 and 99.
    known = np.array([a for a in ages if not np.isnan(a)])
    first = int((known < 24.75).sum())
    last = int((known >= 74.25).sum())
    by_bin = mem.production.sum()
    assert by_bin.iloc[0] == first and by_bin.iloc[-1] == last
    said = [w for w in warnings if "outside ref.csv's range [0, 99]" in w]
    if below + above:
        assert len(said) == 1 and said[0].startswith("prod.csv: column 'age'")
        assert f"in {below + above} of {len(ages)} rows ({below} below, {above} above)" in said[0]
    else:
        assert said == []


def test_a_column_not_cut_into_bins_has_no_range_to_leave():
    ref, prod = _table(300, seed=24), _table(200, seed=25)
    mix = slice_mix(dataset_from_frame(ref), prod, slice_by=["device"])
    assert mix.attrs["outside"] == {}
