"""Likely label errors from every signal: human labels and annotator votes veto or add flags.

Measures :func:`core.label_issues.find_label_issues`'s combined rule against the
probabilities-only ranking on planted label flips (scikit-learn's digits, a cross-validated
LogisticRegression's out-of-fold probabilities, a human label right 90% of the time),
checks that a label every annotator confirms is never flagged, works small cases by hand,
and checks the rule on CIFAR-10H's 511,000 human labels when ``../shared`` holds them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from slicewise.core.agreement import DuplicateAnnotationError
from slicewise.core.errors import InvalidValueError, MissingColumnError
from slicewise.core.label_issues import find_label_issues

ROOT = Path(__file__).resolve().parent.parent
CIFAR10H = ROOT.parent / "shared" / "realdata" / "cifar10h"
N_FLIPS = 59


def precision_recall(found, truth: np.ndarray) -> tuple[float, float]:
    """Precision and recall of the flagged rows against a boolean mask of real errors."""
    rows = found.issues["row"].to_numpy()
    hits = int(truth[rows].sum())
    return hits / max(len(rows), 1), hits / int(truth.sum())


@pytest.fixture(scope="module")
def digits() -> tuple[pd.DataFrame, np.ndarray]:
    """Digits with 59 planted flips, out-of-fold probabilities and a 90%-correct human label.

    The model is trained on the flipped labels (as it would be in practice); each
    example's probabilities come from the fold that did not train on it.
    """
    x, truth = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    n, k = len(truth), 10
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, N_FLIPS, replace=False)] = True
    given = np.where(flipped, (truth + rng.integers(1, k, n)) % k, truth)
    human = np.where(rng.random(n) < 0.9, truth, (truth + rng.integers(1, k, n)) % k)
    probs = cross_val_predict(
        LogisticRegression(max_iter=1000), x / 16, given, cv=5, method="predict_proba"
    )
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "label": given,
            "prediction": probs.argmax(1),
            "human": human,
            **{f"prob_{j}": probs[:, j] for j in range(k)},
        }
    )
    return frame, flipped


# ----------------------------------------------------------------------------- measured


def test_every_signal_beats_probabilities_alone_on_planted_flips(digits):
    frame, flipped = digits
    alone = find_label_issues(frame, use_human=False)
    combined = find_label_issues(frame)
    p0, r0 = precision_recall(alone, flipped)
    p1, r1 = precision_recall(combined, flipped)
    print(
        f"\nprobabilities only: {alone.n_issues} flags, precision {p0:.1%}, recall {r0:.1%}"
        f"\nwith the human label: {combined.n_issues} flags, precision {p1:.1%}, "
        f"recall {r1:.1%} ({combined.summary()})"
    )
    assert p1 > p0
    assert r1 > r0
    assert combined.signals == ["model", "human"]
    assert alone.signals == ["model"]
    # The counts add up: cleanlab's flags, less those humans confirmed, plus those added.
    assert combined.n_issues == (combined.n_model_flags - combined.n_confirmed + combined.n_added)
    assert combined.n_model_flags == alone.n_issues


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_flag_has_half_of_the_human_opinions_for_its_label(digits, seed):
    """Oracle: the pooled share is recounted from the long table with a groupby."""
    frame, _ = digits
    rng = np.random.default_rng(seed)
    truth_like = frame["human"].to_numpy()
    items = np.repeat(frame["id"].to_numpy(), 3)
    votes = np.where(
        rng.random(len(items)) < 0.7, np.repeat(truth_like, 3), rng.integers(0, 10, len(items))
    )
    long = pd.DataFrame(
        {
            "item": items.astype(str),
            "annotator": np.tile(["a", "b", "c"], len(frame)),
            "label": votes,
        }
    )
    found = find_label_issues(frame, annotations=long)
    assert found.signals == ["model", "human", "annotators"]
    given = frame.set_index("id")["label"]
    agree = (
        long.assign(given=given.reindex(long["item"].astype(int)).to_numpy())
        .eval("label == given")
        .groupby(long["item"].astype(int))
        .sum()
    )
    human_agree = (frame["human"] == frame["label"]).to_numpy().astype(int)
    share = (agree.reindex(frame["id"]).to_numpy() + human_agree) / 4
    assert (share[found.issues["row"]] < 0.5).all()
    assert found.issues["n_annotators"].eq(3).all()
    assert np.allclose(
        found.issues["annotator_share"], agree.reindex(found.issues["id"]).to_numpy() / 3
    )


# ----------------------------------------------------------------------------- the rule


def contradicted(n: int = 300, n_wrong: int = 20, seed: int = 0) -> pd.DataFrame:
    """Three classes; the model puts 0.9 on the true class; the first rows' labels are wrong."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    probs = np.full((n, 3), 0.05)
    probs[np.arange(n), truth] = 0.9
    given = truth.copy()
    given[:n_wrong] = (truth[:n_wrong] + 1) % 3
    names = np.array(["cat", "dog", "fox"], dtype=object)
    return pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(n)],
            "label": names[given],
            "prediction": names[truth],
            **{f"prob_{c}": probs[:, j] for j, c in enumerate(names)},
        }
    )


@pytest.mark.parametrize("n_annotators", [2, 3, 7])
@pytest.mark.parametrize("human", ["none", "disagrees"])
def test_a_label_every_annotator_confirms_is_never_flagged(n_annotators, human):
    frame = contradicted()
    if human == "disagrees":  # a human label naming the model's class: outvoted
        frame["human"] = frame["prediction"]
    alone = find_label_issues(frame, use_human=False)
    assert set(alone.issues["row"]) == set(range(20))  # the model alone flags all 20
    long = pd.DataFrame(
        [
            (i, f"ann{a}", lab)
            for i, lab in zip(frame["id"][:20], frame["label"][:20], strict=True)
            for a in range(n_annotators)
        ],
        columns=["item", "annotator", "label"],
    )
    found = find_label_issues(frame, annotations=long)
    assert found.n_issues == 0
    assert found.n_confirmed == 20
    assert found.n_model_flags == 20


def test_the_model_and_a_human_naming_the_same_class_add_a_flag():
    # 2 classes; every label fits (p = 0.9) but row 0's: 0.45 for its label, 0.55 for the
    # other. Confident learning's per-class threshold is the class's mean self-confidence
    # (~0.9), which 0.55 does not reach: cleanlab leaves row 0 alone.
    n = 200
    label = np.where(np.arange(n) % 2 == 0, "a", "b").astype(object)
    p_a = np.where(label == "a", 0.9, 0.1)
    p_a[0] = 0.45
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "label": label,
            "prediction": np.where(p_a >= 0.5, "a", "b"),
            "prob_a": p_a,
            "prob_b": 1 - p_a,
        }
    )
    assert find_label_issues(frame).n_issues == 0
    frame["human"] = label
    frame.loc[0, "human"] = "b"
    found = find_label_issues(frame)
    assert found.issues["row"].tolist() == [0]
    row = found.issues.iloc[0]
    assert row["signals"] == "model, human"
    assert row["suggested_label"] == "b"
    assert row["human_label"] == "b"
    # (p(a) + share of humans choosing a) / 2 = (0.45 + 0) / 2
    assert row["quality_score"] == pytest.approx(0.225)
    assert (found.n_model_flags, found.n_confirmed, found.n_added) == (0, 0, 1)


def hand_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four examples (integer ids), their human labels and five annotators' votes."""
    frame = pd.DataFrame(
        {
            "id": [10, 11, 12, 13],
            "label": ["cat", "dog", "cat", "dog"],
            "prediction": ["dog", "cat", "dog", "dog"],
            "human": [None, "dog", "cat", None],
            "prob_cat": [0.2, 0.7, 0.1, 0.05],
            "prob_dog": [0.8, 0.3, 0.9, 0.95],
        }
    )
    long = pd.DataFrame(
        {
            "item": ["10", "10", "10", "11", "11", "12", "12", "99"],
            "annotator": ["a", "b", "c", "a", "b", "a", "b", "a"],
            "label": ["dog", "dog", "cat", "cat", "cat", "cat", "dog", "cat"],
        }
    )
    return frame, long


def test_scores_suggestions_and_signals_by_hand():
    frame, long = hand_frame()
    found = find_label_issues(frame, annotations=long, filter_by="predicted_neq_given")
    got = found.issues.set_index("id")
    # id 10: cat; votes dog, dog, cat: share 1/3; (0.2 + 1/3) / 2; dog (0.8 + 2/3) / 2.
    # id 11: dog; human dog + votes cat, cat: share 1/3; (0.3 + 1/3) / 2; suggests cat.
    # id 12: cat; human cat + votes cat, dog: share 2/3 >= 1/2: confirmed, not flagged.
    # id 13: dog, p(dog) = 0.95: nothing says it is wrong.
    assert got.index.tolist() == [10, 11]
    assert got["quality_score"].tolist() == pytest.approx([(0.2 + 1 / 3) / 2, (0.3 + 1 / 3) / 2])
    assert got["label_quality"].tolist() == pytest.approx([0.2, 0.3])
    assert got["suggested_label"].tolist() == ["dog", "cat"]
    assert got["suggested_prob"].tolist() == pytest.approx([0.8, 0.7])
    assert got["annotator_share"].tolist() == pytest.approx([1 / 3, 0.0])
    assert got["n_annotators"].tolist() == [3, 2]
    assert got["human_label"].isna().tolist() == [True, False]
    assert got.loc[11, "human_label"] == "dog"
    assert got["signals"].tolist() == ["model, annotators", "model, annotators"]
    assert (found.n_model_flags, found.n_confirmed, found.n_added) == (3, 1, 0)
    assert any("1 of 4 items of the annotations" in w and "'99'" in w for w in found.warnings), (
        found.warnings
    )


def test_probabilities_only_keeps_confident_learning_and_its_order():
    frame = contradicted(n_wrong=30).drop(columns=[])
    found = find_label_issues(frame)
    issues = found.issues
    assert found.signals == ["model"]
    assert np.allclose(issues["quality_score"], issues["label_quality"])
    assert issues["label_quality"].is_monotonic_increasing
    assert set(issues["signals"]) == {"model"}
    assert issues["human_label"].isna().all() and issues["annotator_share"].isna().all()
    # A human column switched off gives the same list as no human column.
    with_human = frame.assign(human=frame["prediction"])
    off = find_label_issues(with_human, use_human=False)
    pd.testing.assert_frame_equal(off.issues, issues)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda t: t.drop(columns=["annotator"]), MissingColumnError, r"'annotator'"),
        (
            lambda t: t.assign(item=["z"] * len(t)).drop_duplicates(["item", "annotator"]),
            InvalidValueError,
            r"none of the 1 items of the annotations \(e\.g\. 'z'\) is an id",
        ),
        (
            lambda t: pd.concat([t, t.iloc[[0]]]),
            DuplicateAnnotationError,
            r"annotator 'a' labelled item '10' more than once",
        ),
    ],
)
def test_bad_annotations(change, error, message):
    frame, long = hand_frame()
    with pytest.raises(error, match=message):
        find_label_issues(frame, annotations=change(long))


# ----------------------------------------------------------------------------- real data


@pytest.mark.skipif(not CIFAR10H.is_dir(), reason="../shared/realdata is not here")
def test_cifar10h_annotators_veto_flags_they_confirm():
    counts = pd.read_csv(CIFAR10H / "cifar10h_counts_with_truth.csv")
    model = pd.read_csv(CIFAR10H / "resnet18_test_predictions.csv")
    names = [c.removeprefix("count_") for c in counts.columns if c.startswith("count_")]
    votes = counts[[f"count_{c}" for c in names]].to_numpy()
    frame = pd.DataFrame(
        {
            "id": counts["cifar10_test_idx"],
            "label": counts["true_category"],
            "prediction": np.asarray(names)[model["pred_label"]],
            **{f"prob_{c}": model[f"prob_{c}"] for c in names},
        }
    )
    # The counts as a long table: one row per label, annotators numbered within an image.
    long = pd.DataFrame(
        {
            "item": np.repeat(np.repeat(frame["id"].to_numpy(), len(names)), votes.ravel()),
            "label": np.repeat(np.tile(np.asarray(names), len(frame)), votes.ravel()),
        }
    )
    long["annotator"] = long.groupby("item").cumcount()
    given = np.array([names.index(c) for c in frame["label"]])
    share = votes[np.arange(len(frame)), given] / votes.sum(axis=1)
    humans_disagree = share < 0.5
    alone = find_label_issues(frame)
    combined = find_label_issues(frame, annotations=long)
    p0 = humans_disagree[alone.issues["row"]].mean()
    p1 = humans_disagree[combined.issues["row"]].mean()
    print(
        f"\nCIFAR-10H: probabilities only {alone.n_issues} flags, {p0:.0%} with most "
        f"annotators against the label; with the votes {combined.n_issues}, {p1:.0%}"
    )
    # Image 20, a horse all 52 annotators call a horse, is a probabilities-only flag.
    assert share[20] == 1.0 and 20 in set(alone.issues["id"])
    assert 20 not in set(combined.issues["id"])
    assert (share[combined.issues["row"]] < 0.5).all()
    assert np.allclose(combined.issues["annotator_share"], share[combined.issues["row"]])
    assert p1 > p0
