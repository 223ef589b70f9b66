"""Likely label errors: probability columns detected, cleanlab finds planted label flips.

The fixture adds per-class probability columns to the demo inspection predictions (in
memory; the committed demo files have none) and flips some labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.discovery import candidate_columns
from slicewise.core.errors import InvalidValueError, MissingColumnError
from slicewise.core.label_issues import ISSUE_COLUMNS, find_label_issues, find_probability_columns

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo_data" / "inspection_predictions.csv"


def prob_name(cls: str) -> str:
    return "prob_" + cls.replace(" ", "_")


def with_probabilities(flip: float = 0.06, seed: int = 3) -> tuple[pd.DataFrame, set[str]]:
    """The demo inspection table with prob_<class> columns and some labels flipped.

    The probabilities concentrate on the true label (a held-out model that is right ~85% of
    the time); the labels of a ``flip`` share of examples are replaced by another class, so
    the probabilities contradict them. Returns the table and the flipped ids.
    """
    raw = pd.read_csv(DEMO, keep_default_na=False, na_values=[""])
    rng = np.random.default_rng(seed)
    classes = sorted(raw["label"].unique())
    k, n = len(classes), len(raw)
    truth = pd.Categorical(raw["label"], categories=classes).codes
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += rng.normal(3.0, 1.0, n)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    flipped = rng.random(n) < flip
    other = (truth + rng.integers(1, k, n)) % k
    given = np.where(flipped, other, truth)
    out = raw.copy()
    out["label"] = np.asarray(classes, dtype=object)[given]
    for j, cls in enumerate(classes):
        out[prob_name(cls)] = np.round(probs[:, j], 6)
    return out, set(out.loc[flipped, "id"])


def dataset_with_probabilities(**kwargs):
    frame, flipped = with_probabilities(**kwargs)
    mapping = ColumnMapping(
        label="label", prediction="prediction", id="id", human="human_label", tags_column="tags"
    )
    return dataset_from_frame(frame, mapping, name="inspection_probs.csv"), flipped


# ----------------------------------------------------------------------------- detection


def test_probability_columns_are_detected_with_spaces_in_class_names():
    ds, _ = dataset_with_probabilities()
    cols = find_probability_columns(ds.frame)
    assert cols == {c: prob_name(c) for c in sorted(ds.frame["label"].unique())}
    assert cols["pit mark"] == "prob_pit_mark"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["prob_a", "prob_b"], {"a": "prob_a", "b": "prob_b"}),
        (["score_a", "score_b"], {"a": "score_a", "b": "score_b"}),
        (["A_Prob", "B_Prob"], {"a": "A_Prob", "b": "B_Prob"}),
        (["Proba-A", "Proba-B", "prob_a"], {"a": "Proba-A", "b": "Proba-B"}),
        (["prob_a"], {}),  # one class is not a distribution
        (["confidence"], {}),
    ],
)
def test_detection_patterns(names, expected):
    frame = pd.DataFrame(
        {"label": ["a", "b"], "prediction": ["a", "a"], **{c: [0.5, 0.5] for c in names}}
    )
    assert find_probability_columns(frame) == expected


def test_text_columns_are_not_probabilities():
    frame = pd.DataFrame({"label": ["a", "b"], "prob_a": ["x", "y"], "prob_b": ["x", "y"]})
    assert find_probability_columns(frame) == {}


def test_slice_search_leaves_probability_columns_out():
    ds, _ = dataset_with_probabilities()
    cols = candidate_columns(ds)
    assert not [c for c in cols if c.startswith("prob_")]
    assert {"factory", "camera", "line", "phone_model"} <= set(cols)


# ----------------------------------------------------------------------------- finding


def test_planted_label_flips_are_found_and_ranked():
    ds, flipped = dataset_with_probabilities()
    found = find_label_issues(ds.frame)
    issues = found.issues
    assert list(issues.columns) == list(ISSUE_COLUMNS)
    assert found.n_checked == ds.n
    hit = set(issues["id"])
    recall = len(hit & flipped) / len(flipped)
    precision = len(hit & flipped) / len(hit)
    assert recall >= 0.8, recall
    assert precision >= 0.7, precision
    # Ranked by label quality, lowest (most likely wrong) first.
    assert issues["label_quality"].is_monotonic_increasing
    # The top of the list is almost all real flips.
    assert len(set(issues["id"].head(20)) & flipped) >= 18


def test_label_quality_is_the_probability_of_the_given_label():
    ds, _ = dataset_with_probabilities()
    # Probabilities only: the suggestion is the model's (humans: test_label_issue_signals.py).
    found = find_label_issues(ds.frame, use_human=False)
    cols = find_probability_columns(ds.frame)
    frame = ds.frame.set_index("id")
    for row in found.issues.head(30).itertuples():
        p = frame.loc[row.id, list(cols.values())].to_numpy(dtype=float)
        p = p / p.sum()
        given = list(cols).index(row.label)
        assert row.label_quality == pytest.approx(p[given], abs=1e-9)
        assert row.suggested_label == list(cols)[int(np.argmax(p))]
        assert row.suggested_prob == pytest.approx(p.max(), abs=1e-9)
        assert frame.loc[row.id, "label"] == row.label


def test_clean_labels_give_few_issues():
    ds, _ = dataset_with_probabilities(flip=0.0)
    found = find_label_issues(ds.frame)
    assert found.n_issues <= 0.03 * ds.n


def test_unnormalised_scores_and_logits_are_turned_into_probabilities():
    frame, flipped = with_probabilities()
    cols = [c for c in frame.columns if c.startswith("prob_")]
    scaled = frame.copy()
    scaled[cols] = scaled[cols] * 0.5
    logits = frame.copy()
    logits[cols] = np.log(logits[cols].clip(lower=1e-9))
    base = find_label_issues(frame)
    for variant, word in ((scaled, "sum to 1"), (logits, "softmax")):
        found = find_label_issues(variant)
        assert any(word in w for w in found.warnings), found.warnings
        assert set(found.issues["id"]) == set(base.issues["id"])


def test_integer_classes_are_found_and_suggested_in_their_spelling():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    p = np.full((n, 3), 0.05)
    p[np.arange(n), y] = 0.9
    given = y.copy()
    given[:20] = (y[:20] + 1) % 3
    frame = pd.DataFrame(
        {"label": given, "prediction": y, **{f"prob_{j}": p[:, j] for j in range(3)}}
    )
    ds = dataset_from_frame(frame)
    found = find_label_issues(ds.frame)
    assert set(found.issues["row"]) == set(range(20))
    # Classes are text (core.values): the suggestion is the class as the file writes it.
    assert (found.issues["suggested_label"].to_numpy() == y[found.issues["row"]].astype(str)).all()


def test_a_class_with_a_column_but_no_example_is_allowed():
    frame, _ = with_probabilities()
    frame["prob_crack"] = 0.0
    columns = {**find_probability_columns(frame), "crack": "prob_crack"}
    found = find_label_issues(frame, columns=columns)
    assert found.n_issues > 0
    assert found.columns["crack"] == "prob_crack"
    assert any("'crack'" in w for w in found.warnings), found.warnings


# ----------------------------------------------------------------------------- bad input


def test_no_probability_columns_is_a_clear_error():
    ds = load_dataset(DEMO)
    with pytest.raises(MissingColumnError, match=r"prob_<class>"):
        find_label_issues(ds.frame)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda f: f.drop(columns=["prob_dent"]), MissingColumnError, r"'dent'"),
        (
            lambda f: f.assign(prob_ok=f["prob_ok"].mask(f.index.isin([4, 9]))),
            InvalidValueError,
            r"2 rows \(rows 6, 11\)",
        ),
        (
            lambda f: f.assign(**{c: 0.0 for c in f.columns if c.startswith("prob_")}),
            InvalidValueError,
            r"all 0",
        ),
    ],
)
def test_bad_probabilities(change, error, message):
    frame, _ = with_probabilities()
    with pytest.raises(error, match=message):
        find_label_issues(change(frame))
