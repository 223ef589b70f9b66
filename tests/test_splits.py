"""core.splits: exact class counts, balanced tags, reproducible, and scikit-learn as an oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slicewise.core.charts.splits import split_shares_chart
from slicewise.core.dataset import load_dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.splits import (
    assign_splits,
    compute_split_shares,
    split_dataset,
    splits_frame,
    stratification_label,
)

DEMO = Path(__file__).resolve().parents[1] / "demo_data"
SPLITS = ["train", "dev", "test"]


def inspection_100(seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    """The lecture's visual-inspection case: 100 examples, 30 defective, a few tags."""
    rng = np.random.default_rng(seed)
    labels = pd.Series(["defect"] * 30 + ["ok"] * 70)
    tags = pd.DataFrame(
        {
            "blurry": rng.random(100) < 0.25,
            "reflection": rng.random(100) < 0.15,
            "dark": rng.random(100) < 0.05,
        }
    )
    return labels, tags


def counts(splits: pd.Series, mask: pd.Series | np.ndarray) -> list[int]:
    mask = np.asarray(mask, dtype=bool)
    return [int(((splits == s).to_numpy() & mask).sum()) for s in SPLITS]


@pytest.mark.parametrize("with_tags", [False, True], ids=["label only", "label and tags"])
@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_100_examples_with_30_positives_split_18_6_6(with_tags, seed):
    labels, tags = inspection_100(seed)
    splits = assign_splits(labels, tags if with_tags else None, seed=seed)
    assert list(splits.cat.categories) == SPLITS
    assert counts(splits, np.ones(100)) == [60, 20, 20]
    assert counts(splits, labels == "defect") == [18, 6, 6]
    assert counts(splits, labels == "ok") == [42, 14, 14]


def test_same_seed_same_splits_other_seed_other_splits():
    labels, tags = inspection_100()
    a = assign_splits(labels, tags, seed=3)
    b = assign_splits(labels, tags, seed=3)
    c = assign_splits(labels, tags, seed=4)
    pd.testing.assert_series_equal(a, b)
    assert (a != c).any()
    assert counts(c, labels == "defect") == [18, 6, 6]


def test_tags_are_balanced_inside_every_class():
    labels, tags = inspection_100(5)
    splits = assign_splits(labels, tags, seed=5)
    sizes = {"train": 60, "dev": 20, "test": 20}
    for tag in tags.columns:
        for cls in ("defect", "ok"):
            mask = (labels == cls).to_numpy() & tags[tag].to_numpy()
            got = counts(splits, mask)
            expected = [mask.sum() * sizes[s] / 100 for s in SPLITS]
            # each split within one example of its proportional share (rare tags pooled)
            assert all(abs(g - e) <= 1.0 + 1e-9 for g, e in zip(got, expected, strict=True)), (
                tag,
                cls,
                got,
                expected,
            )


def test_balanced_tags_beat_a_random_split():
    labels, tags = inspection_100(11)
    balanced = compute_split_shares(assign_splits(labels, tags, seed=2), labels, tags)
    worst_random = 0.0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        random = pd.Series(
            pd.Categorical(rng.permutation(np.repeat(SPLITS, [60, 20, 20])), categories=SPLITS)
        )
        shares = compute_split_shares(random, labels, tags)
        worst_random = max(worst_random, shares["max_diff"].max())
    assert balanced["max_diff"].max() <= 0.03 + 1e-9  # under one example in a split of 20
    assert worst_random > 0.1


def test_class_counts_agree_with_scikit_learn_on_the_label_alone():
    from sklearn.model_selection import train_test_split

    def sklearn_counts(labels, n_dev, n_test, seed):
        idx = np.arange(len(labels))
        rest, test = train_test_split(idx, test_size=n_test, stratify=labels, random_state=seed)
        train, dev = train_test_split(
            rest, test_size=n_dev, stratify=labels.iloc[rest], random_state=seed
        )
        return {
            c: [int((labels.iloc[p] == c).sum()) for p in (train, dev, test)]
            for c in labels.unique()
        }

    labels, _ = inspection_100()  # no ties in the rounding: the same counts exactly
    ours = assign_splits(labels)
    for cls, want in sklearn_counts(labels, 20, 20, 0).items():
        assert counts(ours, labels == cls) == want
    rng = np.random.default_rng(0)  # ties: each count within one of scikit-learn's
    labels = pd.Series(rng.choice(["a", "b", "c", "d"], 250, p=[0.5, 0.3, 0.15, 0.05]))
    ours = assign_splits(labels, fractions={"train": 150, "dev": 50, "test": 50})
    for cls, want in sklearn_counts(labels, 50, 50, 0).items():
        got = counts(ours, labels == cls)
        assert sum(got) == sum(want)
        assert all(abs(g - w) <= 1 for g, w in zip(got, want, strict=True)), (cls, got, want)


def test_stratifying_the_combined_key_with_scikit_learn_loses_the_class_count():
    """The case in core.splits' docstring: why the allocation is hierarchical."""
    from sklearn.model_selection import train_test_split

    key = ["pos-a"] * 12 + ["pos-b"] * 18 + ["neg-a"] * 6 + ["neg-b"] * 32 + ["neg-c"] * 32
    labels = pd.Series([k[:3] for k in key])
    _, test = train_test_split(np.arange(100), test_size=20, stratify=key, random_state=0)
    assert int((labels.iloc[test] == "pos").sum()) == 7
    tags = pd.DataFrame({"a": [k.endswith("a") for k in key], "b": [k.endswith("b") for k in key]})
    splits = assign_splits(labels, tags, fractions={"train": 60, "dev": 20, "test": 20})
    assert counts(splits, labels == "pos") == [18, 6, 6]


def test_rare_combinations_and_single_examples_are_placed():
    labels = pd.Series(["x"] * 9 + ["y"])  # one example of y
    tags = pd.DataFrame({"t": [True] + [False] * 9})  # one tagged example
    splits = assign_splits(labels, tags, fractions={"train": 0.8, "test": 0.2})
    assert splits.value_counts().to_dict() == {"train": 8, "test": 2}
    assert splits.notna().all()


def test_numeric_targets_are_stratified_by_quantile_bins():
    y = pd.Series(np.linspace(0, 100, 200))
    classes = stratification_label(y)
    assert classes.nunique() == 5
    splits = assign_splits(y, seed=1)
    low = (y < 20).to_numpy()
    assert counts(splits, low) == [24, 8, 8]
    small = stratification_label(pd.Series([0, 1, 1, 0]))
    assert small.tolist() == ["0", "1", "1", "0"]


def test_no_label_stratification_balances_tags_only():
    labels = pd.Series([f"utterance {i}" for i in range(100)])  # all distinct (text task)
    tags = pd.DataFrame({"car": np.arange(100) < 40})
    splits = assign_splits(labels, tags, by_label=False)
    assert counts(splits, tags["car"]) == [24, 8, 8]


@pytest.mark.parametrize(
    ("fractions", "n", "message"),
    [
        ({"train": 1.0}, 10, "at least two"),
        ({"train": 0.8, "test": 0}, 10, "positive share"),
        ({"train": 0.8, "test": -0.2}, 10, "positive share"),
        ({"train": 0.5, "dev": 0.3, "test": 0.2}, 2, "cannot fill"),
        ({"train": 0.5, " ": 0.5}, 10, "distinct and non-empty"),
    ],
)
def test_bad_fractions(fractions, n, message):
    with pytest.raises(InvalidValueError, match=message):
        assign_splits(pd.Series(["a"] * n), fractions=fractions)


def test_tags_must_align():
    with pytest.raises(InvalidValueError, match="rows"):
        assign_splits(pd.Series(["a"] * 10), pd.DataFrame({"t": [True] * 9}))


def test_shares_table_chart_and_csv_on_the_demo_inspection_set():
    dataset = load_dataset(DEMO / "inspection_predictions.csv")
    splits = split_dataset(dataset, seed=42)
    assert splits.value_counts().to_dict() == {"train": 720, "dev": 240, "test": 240}
    shares = compute_split_shares(splits, dataset.frame["label"], dataset.tags)
    assert shares.iloc[0][["group", "n_all", "n_train", "n_dev", "n_test"]].tolist() == [
        "examples",
        1200,
        720,
        240,
        240,
    ]
    classes = shares[shares["group"] == "class"].set_index("name")
    for cls, row in classes.iterrows():
        n = int((dataset.frame["label"] == cls).sum())
        assert row["n_all"] == n
        assert row["n_train"] + row["n_dev"] + row["n_test"] == n
        assert row["share_all"] == pytest.approx(n / 1200)
        assert row["max_diff"] < 0.005  # within one example per split
    tag_rows = shares[shares["group"] == "tag"].set_index("name")
    assert set(tag_rows.index) == set(dataset.tags.columns)
    assert (tag_rows["max_diff"] < 0.02).all()
    fig = split_shares_chart(shares)
    assert [t.name for t in fig.data] == ["all", "train", "dev", "test"]
    assert len(fig.data[0].x) == len(shares) - 1
    out = splits_frame(dataset, splits)
    assert out["split"].tolist() == splits.astype(str).tolist()
    assert set(dataset.tags.columns) <= set(out.columns)
    assert len(out) == 1200 and out["id"].is_unique
    again = pd.read_csv(pd.io.common.StringIO(out.to_csv(index=False)))
    assert again["split"].value_counts().to_dict() == {"train": 720, "dev": 240, "test": 240}


def test_split_dataset_unknown_tag():
    dataset = load_dataset(DEMO / "inspection_predictions.csv")
    with pytest.raises(InvalidValueError, match="no tag 'smudge'"):
        split_dataset(dataset, tags=["smudge"])
