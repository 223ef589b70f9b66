"""core.agreement: published worked examples, library oracles, invariances, loading, rules, CLI.

Published values
----------------
- Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters,
  5 categories: P̄ = 0.378, P̄e = 0.213, kappa = 0.210.
- Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers × 12
  units example with missing data: nominal 0.743, ordinal 0.815, interval 0.849.
- Gwet (2014), Handbook of Inter-Rater Reliability, the same 4 raters × 12 subjects
  (irrCAC's ``cac.raw4raters``): Pa = 0.8182, Pe = 0.1903, AC1 = 0.7754; Fleiss' kappa
  generalised to missing ratings 0.7612 (Pe = 0.2387).
- Cohen's kappa, Wikipedia's worked example: 50 proposals, 20 yes/yes, 5 yes/no, 10 no/yes,
  15 no/no: kappa = 0.4.
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from slicewise.core import agreement as ag
from slicewise.core.dataset import load_dataset
from slicewise.core.errors import DataError, DuplicateIdError, EmptyFileError, MissingColumnError

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo_data"

# ----------------------------------------------------------------------------- fixtures

FLEISS_1971 = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Krippendorff (2011): observers A-D (rows) × units 1-12 (columns); None = missing.
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def long_from_ratings(ratings: dict[str, list], *, letters: bool = False) -> pd.DataFrame:
    rows = []
    for annotator, values in ratings.items():
        for unit, v in enumerate(values, start=1):
            if v is not None:
                rows.append((f"u{unit:02d}", annotator, "abcde"[v - 1] if letters else v))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def long_from_counts(counts: np.ndarray) -> pd.DataFrame:
    """One label per count; annotator ids are positions (count-based metrics ignore them)."""
    rows = []
    for i, row in enumerate(counts):
        labels = np.repeat(np.arange(len(row)), row)
        rows += [(f"s{i}", f"r{j}", f"c{k}") for j, k in enumerate(labels)]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def random_labels(
    seed: int,
    *,
    items: int = 80,
    annotators: int = 5,
    classes: int = 4,
    missing: float = 0.3,
    numeric: bool = False,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    rows = []
    for i in range(items):
        for a in range(annotators):
            if rng.random() < missing:
                continue
            k = truth[i] if rng.random() < 0.6 else rng.integers(0, classes)
            rows.append((f"i{i:03d}", f"a{a}", int(k) + 1 if numeric else f"class{k}"))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


@pytest.fixture(scope="module")
def demo_labels() -> pd.DataFrame:
    return ag.load_annotations(DEMO / "inspection_annotations.csv").labels


def reliability_matrix(labels: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Annotators × items with NaN for missing; classes as codes 0..k-1 (value domain)."""
    classes = sorted(labels["label"].unique())
    code = {c: i for i, c in enumerate(classes)}
    wide = labels.assign(code=labels["label"].map(code)).pivot(
        index="annotator", columns="item", values="code"
    )
    return wide.to_numpy(dtype=float), classes


# ----------------------------------------------------------------------------- published


def test_fleiss_1971_worked_example_from_counts():
    s = ag.compute_agreement_from_counts(FLEISS_1971)
    assert s.at["fleiss_kappa", "value"] == pytest.approx(0.210, abs=5e-4)
    assert s.at["fleiss_kappa", "observed_agreement"] == pytest.approx(0.378, abs=5e-4)
    assert s.at["fleiss_kappa", "chance_agreement"] == pytest.approx(0.213, abs=5e-4)
    assert "mean_pairwise_cohen_kappa" not in s.index


def test_fleiss_1971_worked_example_from_the_long_table():
    s = ag.compute_agreement_summary(long_from_counts(FLEISS_1971))
    assert s.at["fleiss_kappa", "value"] == pytest.approx(0.2099, abs=1e-4)
    assert s.at["percent_agreement", "value"] == pytest.approx(0.378, abs=5e-4)


def test_krippendorff_2011_example_nominal_ordinal_interval():
    s = ag.compute_agreement_summary(long_from_ratings(KRIPPENDORFF_2011))
    assert s.at["krippendorff_alpha", "value"] == pytest.approx(0.743, abs=5e-4)
    assert s.at["krippendorff_alpha_ordinal", "value"] == pytest.approx(0.815, abs=5e-4)
    assert s.at["krippendorff_alpha_interval", "value"] == pytest.approx(0.849, abs=5e-4)
    # unit 12 has one value: not pairable; 40 pairable values in 11 units
    assert s.at["krippendorff_alpha", "n_items"] == 11
    assert s.at["krippendorff_alpha", "n_labels"] == 40


def test_gwet_handbook_example_ac1_and_fleiss_with_missing_ratings():
    s = ag.compute_agreement_summary(long_from_ratings(KRIPPENDORFF_2011, letters=True))
    assert s.at["gwet_ac1", "value"] == pytest.approx(0.7754, abs=1e-4)
    assert s.at["gwet_ac1", "observed_agreement"] == pytest.approx(0.8182, abs=1e-4)
    assert s.at["gwet_ac1", "chance_agreement"] == pytest.approx(0.1903, abs=1e-4)
    assert s.at["fleiss_kappa", "value"] == pytest.approx(0.7612, abs=1e-4)
    assert s.at["fleiss_kappa", "chance_agreement"] == pytest.approx(0.2387, abs=1e-4)
    # text labels: no ordinal/interval alpha
    assert "krippendorff_alpha_ordinal" not in s.index


def test_cohen_kappa_textbook_example():
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    rows = [
        (f"p{i}", who, lab) for i, (a, b) in enumerate(pairs) for who, lab in (("A", a), ("B", b))
    ]
    labels = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    pw = ag.compute_pairwise_agreement(labels)
    assert len(pw) == 1
    assert pw.at[0, "cohen_kappa"] == pytest.approx(0.4)
    assert pw.at[0, "agreement"] == pytest.approx(0.7)
    assert pw.at[0, "chance_agreement"] == pytest.approx(0.5)
    assert pw.at[0, "n_items"] == 50


# ----------------------------------------------------------------------------- oracles


def naive_percent_agreement(labels: pd.DataFrame) -> float:
    shares = []
    for _, g in labels.groupby("item"):
        v = g["label"].tolist()
        if len(v) < 2:
            continue
        pairs = list(itertools.combinations(v, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return float(np.mean(shares))


def naive_ac1(labels: pd.DataFrame) -> float:
    """Gwet (2008/2014) AC1 with missing ratings, written out per item."""
    classes = sorted(labels["label"].unique())
    q = len(classes)
    pa_terms, pi = [], np.zeros(q)
    groups = list(labels.groupby("item"))
    for _, g in groups:
        r = g["label"].value_counts()
        m = len(g)
        for j, c in enumerate(classes):
            pi[j] += r.get(c, 0) / m
        if m >= 2:
            pa_terms.append(sum(n * (n - 1) for n in r) / (m * (m - 1)))
    pi /= len(groups)
    pa = np.mean(pa_terms)
    pe = np.sum(pi * (1 - pi)) / (q - 1)
    return float((pa - pe) / (1 - pe))


@pytest.mark.parametrize("seed", range(6))
def test_random_data_matches_krippendorff_package(seed):
    krippendorff = pytest.importorskip("krippendorff")
    labels = random_labels(seed, numeric=True)
    s = ag.compute_agreement_summary(labels)
    rel, classes = reliability_matrix(labels)
    values = np.asarray(classes, dtype=float)
    rel_values = np.where(np.isnan(rel), np.nan, values[np.nan_to_num(rel).astype(int)])
    for key, level in (
        ("krippendorff_alpha", "nominal"),
        ("krippendorff_alpha_ordinal", "ordinal"),
        ("krippendorff_alpha_interval", "interval"),
    ):
        expected = krippendorff.alpha(reliability_data=rel_values, level_of_measurement=level)
        assert s.at[key, "value"] == pytest.approx(expected, abs=1e-9), level


@pytest.mark.parametrize("seed", range(6))
def test_random_data_matches_sklearn_cohen_kappa_for_every_pair(seed):
    labels = random_labels(seed, annotators=4)
    pw = ag.compute_pairwise_agreement(labels).set_index(["annotator_a", "annotator_b"])
    wide = labels.pivot(index="item", columns="annotator", values="label")
    assert len(pw) == 6
    for a, b in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        expected = cohen_kappa_score(both[a], both[b])
        assert pw.at[(a, b), "cohen_kappa"] == pytest.approx(expected, abs=1e-12)
        assert pw.at[(a, b), "n_items"] == len(both)
    s = ag.compute_agreement_summary(labels, min_pair_items=1)
    assert s.at["mean_pairwise_cohen_kappa", "value"] == pytest.approx(pw["cohen_kappa"].mean())
    matrix = ag.compute_cohen_kappa_matrix(labels)
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T, equal_nan=True)
    assert (np.diag(matrix) == 1).all()


@pytest.mark.parametrize("seed", range(4))
def test_random_complete_data_matches_statsmodels_fleiss(seed):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    labels = random_labels(seed, missing=0.0)
    counts = ag.compute_label_counts(labels).to_numpy()
    expected = inter_rater.fleiss_kappa(counts, method="fleiss")
    s = ag.compute_agreement_summary(labels)
    assert s.at["fleiss_kappa", "value"] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_random_data_matches_naive_percent_agreement_and_ac1(seed):
    labels = random_labels(seed, missing=0.4)
    s = ag.compute_agreement_summary(labels)
    assert s.at["percent_agreement", "value"] == pytest.approx(naive_percent_agreement(labels))
    assert s.at["gwet_ac1", "value"] == pytest.approx(naive_ac1(labels))


def test_coincidence_matrix_rows_sum_to_pairable_values():
    labels = long_from_ratings(KRIPPENDORFF_2011)
    o = ag.compute_coincidence_matrix(labels)
    assert np.allclose(o.to_numpy(), o.to_numpy().T)
    # Krippendorff (2011): n_1..n_5 = 9, 13, 10, 5, 3 (unit 12's lone value excluded)
    assert o.sum(axis=1).tolist() == pytest.approx([9, 13, 10, 5, 3])
    assert o.loc[1, 1] == pytest.approx(7)
    assert o.loc[1, 2] == pytest.approx(4 / 3)


# ----------------------------------------------------------------------------- invariance

METRIC_KEYS = [
    "percent_agreement",
    "mean_pairwise_cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
]


@pytest.mark.parametrize("metric", METRIC_KEYS)
def test_metrics_do_not_depend_on_row_order_or_names(metric):
    labels = random_labels(11)
    base = ag.compute_agreement_summary(labels).at[metric, "value"]
    shuffled = labels.sample(frac=1, random_state=3).reset_index(drop=True)
    renamed = labels.assign(
        label=labels["label"].map(lambda s: s.upper() + "!"),
        annotator="x" + labels["annotator"],
        item="z" + labels["item"],
    )
    for variant in (shuffled, renamed):
        assert ag.compute_agreement_summary(variant).at[metric, "value"] == pytest.approx(
            base, abs=1e-12
        )


def test_perfect_agreement_and_a_single_class():
    perfect = pd.DataFrame(
        {"item": list("aabbcc"), "annotator": list("xyxyxy"), "label": list("ppqqpp")}
    )
    s = ag.compute_agreement_summary(perfect, min_pair_items=1)
    assert s["value"].tolist() == pytest.approx([1.0] * 5)
    # the only pair shares 3 items: below the default minimum of 5, no mean kappa
    assert np.isnan(ag.compute_agreement_summary(perfect).at["mean_pairwise_cohen_kappa", "value"])
    one = perfect.assign(label="p")
    s1 = ag.compute_agreement_summary(one)
    assert s1.at["percent_agreement", "value"] == 1.0
    assert s1.loc[["fleiss_kappa", "krippendorff_alpha", "gwet_ac1"], "value"].isna().all()


def test_items_with_one_label_count_for_shares_not_for_agreement():
    labels = pd.DataFrame(
        {"item": ["a", "a", "b"], "annotator": ["x", "y", "x"], "label": ["p", "p", "q"]}
    )
    s = ag.compute_agreement_summary(labels)
    assert s.at["percent_agreement", "value"] == 1.0
    assert s.at["percent_agreement", "n_items"] == 1
    # pi = (1 + 0)/2, (0 + 1)/2: Fleiss Pe = 0.5
    assert s.at["fleiss_kappa", "chance_agreement"] == pytest.approx(0.5)


def test_caution_when_raw_agreement_is_high_but_kappa_low():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        rare = rng.random() < 0.04
        for a in range(3):
            lab = "defect" if (rare and rng.random() < 0.5) else "ok"
            rows.append((f"i{i}", f"a{a}", lab))
    labels = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    s = ag.compute_agreement_summary(labels)
    msg = ag.agreement_caution(s)
    assert msg is not None and "chance agreement" in msg
    assert (
        ag.agreement_caution(ag.compute_agreement_summary(long_from_ratings(KRIPPENDORFF_2011)))
        is None
    )


# ----------------------------------------------------------------------------- consensus


def test_majority_vote_flags_ties_and_breaks_them_by_overall_frequency():
    labels = pd.DataFrame(
        {
            "item": ["a"] * 3 + ["b"] * 2 + ["c"] * 2 + ["d"],
            "annotator": ["x", "y", "z", "x", "y", "x", "z", "x"],
            "label": ["p", "p", "q", "p", "q", "q", "q", "r"],
        }
    )
    cons = ag.compute_consensus(labels)
    assert cons.loc["a", ["consensus", "votes", "tie", "unanimous"]].tolist() == [
        "p",
        2,
        False,
        False,
    ]
    assert cons.at["a", "vote_share"] == pytest.approx(2 / 3)
    assert bool(cons.at["b", "tie"]) and cons.at["b", "tied_labels"] == "p | q"
    # q has 4 labels overall, p 3: the tie goes to the more common class
    assert cons.at["b", "consensus"] == "q"
    assert cons.at["b", "entropy"] == pytest.approx(1.0)
    assert bool(cons.at["c", "unanimous"]) and cons.at["c", "entropy"] == 0
    assert cons.at["d", "n_labels"] == 1


def test_quality_weighted_consensus_follows_the_reliable_annotators():
    labels = pd.DataFrame(
        {
            "item": ["t"] * 4 + ["u"] * 4 + ["w"] * 2,
            "annotator": ["good1", "good2", "good3", "bad"] * 2 + ["good1", "bad"],
            "label": ["p", "p", "p", "q", "q", "q", "q", "p", "p", "q"],
        }
    )
    weights = ag.compute_annotator_weights(labels)
    # good1 agrees with the others' majority on t and u, not on w (where only bad is left)
    assert weights.to_dict() == pytest.approx(
        {"good1": 2 / 3, "good2": 1.0, "good3": 1.0, "bad": 0.0}
    )
    plain = ag.compute_consensus(labels)
    weighted = ag.compute_consensus(labels, weights="agreement")
    assert bool(plain.at["w", "tie"])
    assert weighted.at["w", "consensus"] == "p" and not bool(weighted.at["w", "tie"])
    custom = ag.compute_consensus(labels, weights={"bad": 5.0, "good1": 1.0})
    assert custom.at["w", "consensus"] == "q"


def naive_loo_agreement(labels: pd.DataFrame) -> dict[str, float]:
    hits, seen = {}, {}
    for _, g in labels.groupby("item"):
        for _, row in g.iterrows():
            others = g[g["annotator"] != row["annotator"]]["label"].value_counts()
            if others.empty or (len(others) > 1 and others.iloc[0] == others.iloc[1]):
                continue
            a = row["annotator"]
            seen[a] = seen.get(a, 0) + 1
            hits[a] = hits.get(a, 0) + (others.index[0] == row["label"])
    return {a: hits[a] / seen[a] for a in seen}


@pytest.mark.parametrize("seed", range(3))
def test_annotator_stats_against_a_direct_computation(seed):
    labels = random_labels(seed, items=40, annotators=4, classes=3)
    truth = pd.Series({f"i{i:03d}": f"class{i % 3}" for i in range(40)})
    stats = ag.compute_annotator_stats(labels, truth=truth)
    expected = naive_loo_agreement(labels)
    for a, value in expected.items():
        assert stats.at[a, "agreement_with_consensus"] == pytest.approx(value)
    merged = labels.assign(truth=labels["item"].map(truth))
    acc = (merged["label"] == merged["truth"]).groupby(merged["annotator"]).mean()
    assert stats["accuracy"].to_dict() == pytest.approx(acc.to_dict())
    with_others = []
    for a in stats.index:
        vals = []
        for _, g in labels.groupby("item"):
            if a in set(g["annotator"]) and len(g) >= 2:
                mine = g.loc[g["annotator"] == a, "label"].iloc[0]
                rest = g.loc[g["annotator"] != a, "label"]
                vals.append((rest == mine).mean())
        with_others.append(np.mean(vals))
    assert stats["agreement_with_others"].tolist() == pytest.approx(with_others)


# ----------------------------------------------------------------------------- classes


def test_confused_pairs_merge_preview_equals_recomputing_after_the_merge(demo_labels):
    pairs = ag.find_confused_pairs(demo_labels)
    assert pairs["coincidences"].is_monotonic_decreasing
    for row in pairs.head(4).itertuples():
        cleaned, _ = ag.apply_rules(
            demo_labels, [ag.MergeClasses((row.class_a, row.class_b), "merged")]
        )
        s = ag.compute_agreement_summary(cleaned)
        assert row.alpha_if_merged == pytest.approx(s.at["krippendorff_alpha", "value"])
        assert row.percent_agreement_if_merged == pytest.approx(s.at["percent_agreement", "value"])
        both = demo_labels.groupby("item")["label"].agg(
            lambda v, a=row.class_a, b=row.class_b: {a, b} <= set(v)
        )
        assert row.n_items == int(both.sum())


def test_class_agreement_alpha_vs_rest_equals_a_binary_recode(demo_labels):
    table = ag.compute_class_agreement(demo_labels)
    assert table["n_labels"].sum() == len(demo_labels)
    for cls in table.index[:3]:
        binary = demo_labels.assign(label=np.where(demo_labels["label"] == cls, "yes", "no"))
        alpha = ag.compute_agreement_summary(binary).at["krippendorff_alpha", "value"]
        assert table.at[cls, "alpha_vs_rest"] == pytest.approx(alpha)


def test_demo_annotations_reproduce_the_planted_structure(demo_labels):
    ds = load_dataset(DEMO / "inspection_predictions.csv")
    linked = ag.link_predictions(demo_labels, ds)
    assert linked.info["in_dataset"].all() and not linked.warnings
    stats = ag.compute_annotator_stats(demo_labels, truth=linked.info["truth"])
    assert stats.index[0] == "ann-4"  # the weakest annotator comes first
    assert stats.at["ann-4", "accuracy"] == pytest.approx(0.73, abs=0.03)
    assert stats.drop("ann-4")["accuracy"].between(0.85, 0.93).all()
    pairs = ag.find_confused_pairs(demo_labels)
    top = {frozenset(p) for p in pairs.head(4)[["class_a", "class_b"]].itertuples(index=False)}
    assert frozenset({"dent", "scratch"}) in top and frozenset({"ok", "pit mark"}) in top


# ----------------------------------------------------------------------------- slices, HLP


def test_agreement_by_slice_matches_a_mask_oracle(demo_labels):
    ds = load_dataset(DEMO / "inspection_predictions.csv")
    linked = ag.link_predictions(demo_labels, ds)
    table = ag.compute_agreement_by_slice(
        demo_labels,
        membership=linked.tags,
        truth=linked.info["truth"],
        prediction=linked.info["prediction"],
    )
    assert table.index[0] == ag.OVERALL
    assert list(table.index[1:]) == list(linked.tags.columns)
    for tag in linked.tags.columns:
        items = linked.tags.index[linked.tags[tag]]
        sub = demo_labels[demo_labels["item"].isin(items)]
        s = ag.compute_agreement_summary(sub)
        row = table.loc[tag]
        assert row["n"] == sub["item"].nunique()
        for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1"):
            assert row[key] == pytest.approx(s.at[key, "value"]), (tag, key)
        merged = sub.assign(truth=sub["item"].map(linked.info["truth"]))
        acc = (merged["label"] == merged["truth"]).groupby(merged["item"]).mean().mean()
        assert row["annotator_accuracy"] == pytest.approx(acc)
        assert row["hlp"] == pytest.approx(acc) and row["hlp_source"] == "truth"
        info = linked.info.loc[sub["item"].unique()]
        assert row["model_accuracy"] == pytest.approx((info["truth"] == info["prediction"]).mean())


def test_hlp_is_two_annotator_agreement_when_truth_is_a_human_label(demo_labels):
    truth = demo_labels.groupby("item")["label"].first()
    table = ag.compute_agreement_by_slice(demo_labels, truth=truth, truth_is_human=True)
    row = table.loc[ag.OVERALL]
    assert row["hlp_source"] == "agreement"
    assert row["hlp"] == pytest.approx(naive_percent_agreement(demo_labels))
    no_truth = ag.compute_agreement_by_slice(demo_labels)
    assert np.isnan(no_truth.at[ag.OVERALL, "annotator_accuracy"])


def test_empty_slice_has_n_zero_and_nan_metrics(demo_labels):
    membership = pd.DataFrame({"never": False}, index=demo_labels["item"].unique())
    table = ag.compute_agreement_by_slice(demo_labels, membership=membership)
    assert table.at["never", "n"] == 0
    assert np.isnan(table.at["never", "fleiss_kappa"])


def test_link_predictions_reports_unknown_items(demo_labels):
    ds = load_dataset(DEMO / "inspection_predictions.csv")
    extra = pd.concat(
        [
            demo_labels,
            pd.DataFrame({"item": ["nope"] * 2, "annotator": ["a", "b"], "label": ["ok", "ok"]}),
        ]
    )
    linked = ag.link_predictions(extra, ds)
    assert not linked.info.at["nope", "in_dataset"]
    assert "1 of 301" in linked.warnings[0]
    with pytest.raises(DataError, match="none of the"):
        ag.link_predictions(extra[extra["item"] == "nope"], ds)


def test_review_queue_puts_the_most_contested_items_first(demo_labels):
    ds = load_dataset(DEMO / "inspection_predictions.csv")
    queue = ag.find_disagreements(demo_labels, linked=ag.link_predictions(demo_labels, ds))
    cons = ag.compute_consensus(demo_labels)
    assert len(queue) == int((~cons["unanimous"]).sum())
    assert queue["entropy"].is_monotonic_decreasing
    assert {"truth", "prediction", "ann-1", "ann-5"} <= set(queue.columns)
    first = queue.iloc[0]
    given = demo_labels[demo_labels["item"] == first["item"]].set_index("annotator")["label"]
    for a, lab in given.items():
        assert first[a] == lab


# ----------------------------------------------------------------------------- rules


def test_merge_rule_changes_labels_and_logs_each_change(demo_labels):
    rule = ag.MergeClasses(("scratch", "dent"), "scratch or dent")
    cleaned, log = ag.apply_rules(demo_labels, [rule])
    assert set(cleaned["label"]) == {"ok", "pit mark", "discoloration", "scratch or dent"}
    n = int(demo_labels["label"].isin(["scratch", "dent"]).sum())
    assert len(log) == n and list(log.columns) == ag.CHANGELOG_COLUMNS
    assert set(log["rule"]) == {"merge scratch, dent -> scratch or dent"}
    assert demo_labels["label"].isin(["scratch"]).any()  # the input is not modified
    preview = ag.preview_rules(demo_labels, [rule])
    assert preview.at["n_classes", "change"] == -1
    assert (preview.loc[METRIC_KEYS, "change"] > 0).all()
    csv_labels, csv_log = ag.changelog_csv(cleaned, log)
    assert list(pd.read_csv(io.StringIO(csv_log)).columns) == ag.CHANGELOG_COLUMNS
    assert len(pd.read_csv(io.StringIO(csv_labels))) == len(demo_labels)


def test_normalise_transcripts_like_the_lecture():
    labels = pd.DataFrame(
        {
            "item": ["q1"] * 3,
            "annotator": ["a", "b", "c"],
            "label": [
                "Um, nearest gas station",
                "Umm, nearest gas station",
                "um,  nearest gas station",
            ],
        }
    )
    rule = ag.NormalizeText(replacements=(("Umm,", "Um,"),), lowercase=True)
    cleaned, log = ag.apply_rules(labels, [rule])
    assert cleaned["label"].nunique() == 1
    assert cleaned["label"].iloc[0] == "um, nearest gas station"
    assert len(log) == 3
    before = ag.compute_agreement_summary(labels).at["percent_agreement", "value"]
    after = ag.preview_rules(labels, [rule]).at["percent_agreement", "after"]
    assert before == 0 and after == 1
    # whole words only: "Ummm," is not "Umm,"
    assert rule.transform("Ummm, x") == "ummm, x"
    strip = ag.NormalizeText(strip_punctuation=True)
    assert strip.transform("nearest [unintelligible], please!") == "nearest [unintelligible] please"


def test_rules_leave_numeric_labels_numeric():
    labels = long_from_ratings(KRIPPENDORFF_2011)
    cleaned, log = ag.apply_rules(labels, [ag.MergeClasses(("4", "5"), "4")])
    assert pd.api.types.is_integer_dtype(cleaned["label"])
    assert set(cleaned["label"]) == {1, 2, 3, 4}
    assert len(log) == 3  # the three 5s
    with pytest.raises(DataError):
        ag.MergeClasses((), "x")


# ----------------------------------------------------------------------------- loading


def write(tmp_path: Path, text: str, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_long_form_with_time_and_comment(tmp_path):
    path = write(
        tmp_path,
        "image_id,rater,class,duration,notes\n1,r1,cat,2.5,\n1,r2,dog,3,"
        "blurry\n2,r1,cat,1.0,\n2,r2,cat,,\n3,r1,dog,,\n",
    )
    ann = ag.load_annotations(path)
    assert ann.layout == "long"
    assert ann.columns["item"] == "image_id" and ann.columns["annotator"] == "rater"
    assert list(ann.labels.columns) == ["item", "annotator", "label", "time", "comment"]
    assert ann.labels["item"].tolist() == ["1", "1", "2", "2", "3"]
    assert any("1 of 3 items have a single label" in w for w in ann.warnings)


def test_load_wide_form(tmp_path):
    path = write(tmp_path, "item,ann_a,ann_b,ann_c\nx,1,1,2\ny,3,,3\nz,2,2,2\n")
    ann = ag.load_annotations(path)
    assert ann.layout == "wide"
    assert set(ann.labels["annotator"]) == {"ann_a", "ann_b", "ann_c"}
    assert len(ann.labels) == 8
    # Labels are text as written (core.values), the blank (y, ann_b) left out.
    assert sorted(ann.labels["label"].tolist()) == ["1", "1", "2", "2", "2", "2", "3", "3"]
    explicit = ag.load_annotations(path, annotators=["ann_a", "ann_b"])
    assert set(explicit.labels["annotator"]) == {"ann_a", "ann_b"}


def test_blank_labels_are_left_out_with_a_warning(tmp_path):
    path = write(tmp_path, "item,annotator,label\na,x,p\na,y,\nb,x,q\nb,y,q\n")
    ann = ag.load_annotations(path)
    assert len(ann.labels) == 3
    assert any("no label" in w and "row 3" in w for w in ann.warnings)


def test_duplicates_can_keep_the_last_label(tmp_path):
    path = write(tmp_path, "item,annotator,label\na,x,p\na,x,q\na,y,q\n")
    ann = ag.load_annotations(path, duplicates="last")
    assert ann.labels["label"].tolist() == ["q", "q"]
    assert any("replaced by the last" in w for w in ann.warnings)


ERROR_CASES = [
    ("", EmptyFileError, "empty"),
    ("item,annotator,label\n", EmptyFileError, "no data rows"),
    (
        "item,annotator,label\na,x,p\na,x,q\n",
        DuplicateIdError,
        "annotator 'x' labelled item 'a' more than once .*with different labels: rows 2, 3",
    ),
    (
        "item,annotator,label\na,x,p\n,y,q\n",
        DataError,
        "item column 'item' is blank in 1 of 2 rows \\(row 3\\)",
    ),
    ("item,annotator,score,extra\na,x,1,2\n", MissingColumnError, "no label column found"),
    ("annotator,label\nx,p\n", MissingColumnError, "no item column found"),
    ("foo,bar\n1,2\n", MissingColumnError, "neither an annotator column"),
    ("item,ann\na,p\n", MissingColumnError, "wide form needs one column per annotator"),
    ("item,a,b\nx,p,q\nx,p,p\n", DuplicateIdError, "item 'x' appears on more than one row"),
    ("item,annotator,label\na,x,\n", DataError, "label column 'label' is empty in every row"),
]


@pytest.mark.parametrize(("text", "error", "message"), ERROR_CASES)
def test_bad_files_raise_typed_errors_naming_file_column_and_rows(tmp_path, text, error, message):
    path = write(tmp_path, text)
    with pytest.raises(error, match=message) as info:
        ag.load_annotations(path)
    assert isinstance(info.value, DataError)
    if "rows" in message or "column" in message:
        assert str(info.value).startswith("labels.csv")


def test_explicit_columns_must_exist(tmp_path):
    path = write(tmp_path, "item,annotator,label\na,x,p\n")
    with pytest.raises(MissingColumnError, match="no column 'who' for the annotator"):
        ag.load_annotations(path, annotator="who")


def test_functions_check_the_long_table():
    with pytest.raises(MissingColumnError, match="'annotator'"):
        ag.compute_agreement_summary(pd.DataFrame({"item": [1], "label": ["a"]}))
    dup = pd.DataFrame({"item": ["a", "a"], "annotator": ["x", "x"], "label": ["p", "q"]})
    with pytest.raises(DuplicateIdError):
        ag.encode_labels(dup)


# ----------------------------------------------------------------------------- speed


def big_labels(items: int, annotators: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    classes = np.array(["ok", "scratch", "dent", "pit mark", "discoloration"])
    truth = rng.integers(0, 5, items)
    lab = np.where(
        rng.random((items, annotators)) < 0.85,
        truth[:, None],
        rng.integers(0, 5, (items, annotators)),
    )
    ids = np.char.add("img-", np.arange(items).astype(str))
    return pd.DataFrame(
        {
            "item": np.repeat(ids, annotators),
            "annotator": np.tile([f"ann-{a}" for a in range(annotators)], items),
            "label": classes[lab.ravel()],
        }
    )


def test_100k_items_by_5_annotators_is_fast():
    labels = big_labels(100_000)
    start = time.perf_counter()
    codes = ag.encode_labels(labels)
    ag.compute_agreement_summary(codes)
    ag.compute_consensus(codes)
    ag.compute_annotator_stats(codes)
    ag.compute_class_agreement(codes)
    ag.find_confused_pairs(codes)
    elapsed = time.perf_counter() - start
    # ~0.5 s on a 2-core machine; the bound only catches an accidental quadratic path
    assert elapsed < 4, elapsed


# ----------------------------------------------------------------------------- CLI


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "agreement", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_json_has_the_documented_keys():
    result = run_cli(DEMO / "inspection_annotations.csv", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in (
        "items",
        "annotators",
        "labels_total",
        "percent_agreement",
        "fleiss_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
        "mean_pairwise_cohen_kappa",
        "n_disagreements",
    ):
        assert key in data
    expected = ag.summarize_annotations(
        ag.load_annotations(DEMO / "inspection_annotations.csv").labels
    )
    assert data["items"] == 300 and data["annotators"] == 5
    assert data["labels_total"] == 1157
    assert data["fleiss_kappa"] == pytest.approx(expected["fleiss_kappa"])
    assert data["n_disagreements"] == expected["n_disagreements"]


def test_cli_table_and_csv(tmp_path):
    table = run_cli(DEMO / "inspection_annotations.csv")
    assert table.returncode == 0, table.stderr
    assert "Krippendorff" in table.stdout and "Percent agreement" in table.stdout
    path = write(tmp_path, "unit,coder,code\n1,a,x\n1,b,x\n2,a,y\n2,b,x\n")
    csv_out = run_cli(
        path, "--item", "unit", "--annotator", "coder", "--label", "code", "--format", "csv"
    )
    assert csv_out.returncode == 0, csv_out.stderr
    table = pd.read_csv(io.StringIO(csv_out.stdout))
    assert table.columns[0] == "metric" and "percent_agreement" in set(table["metric"])


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "item,annotator,label\na,x,p\na,x,q\n")
    result = run_cli(path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "more than once" in result.stderr
    missing = run_cli(tmp_path / "nope.csv")
    assert missing.returncode == 2 and "no such file" in missing.stderr
