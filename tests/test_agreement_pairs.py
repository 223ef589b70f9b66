"""Pairwise Cohen's kappa from per-pair sums (core/agreement/pairs.py) against independent paths.

Oracles: :func:`sklearn.metrics.cohen_kappa_score` on every annotator pair (the items both
labelled, from a pandas self-join), and the pair-list computation the project used before
(every pair of labels on an item, keys sorted with :func:`numpy.unique`), kept here verbatim in
substance so the new sums must be bit-identical to it. Every case runs with tiny blocks (many
block boundaries), the default blocks, and the sort path for grouping pairs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from slicewise.core import agreement as ag
from slicewise.core.agreement import pairs as pairs_mod
from slicewise.core.agreement.pairs import count_pairs

# The real CIFAR-10H counts beside the checkout, when present (never part of the project).
CIFAR10H = (
    Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cifar10h" / "cifar10h-counts.npy"
)


def random_long(
    seed: int, *, items: int, annotators: int, classes: int, missing: float
) -> pd.DataFrame:
    """Random long table; rows shuffled so no order is assumed."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, items)
    rows = [
        (f"i{i}", f"a{a}", f"c{truth[i] if rng.random() < 0.7 else rng.integers(0, classes)}")
        for i in range(items)
        for a in range(annotators)
        if rng.random() >= missing
    ]
    df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def sklearn_pairs(labels: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float, float]]:
    """Per annotator pair (a < b): shared items, p_o and sklearn's kappa (NaN if undefined)."""
    wide = labels.pivot(index="item", columns="annotator", values="label")
    out = {}
    for a, b in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        if both.empty:
            continue
        po = float((both[a] == both[b]).mean())
        if both[a].nunique() == 1 and both[b].nunique() == 1 and both[a].iloc[0] == both[b].iloc[0]:
            kappa = np.nan  # p_e = 1: sklearn returns nan with a warning
        else:
            kappa = cohen_kappa_score(both[a], both[b])
        out[(a, b)] = (len(both), po, kappa)
    return out


def pair_list_reference(codes: ag.LabelCodes) -> pd.DataFrame:
    """The earlier pair-list algorithm: every label pair on an item, keys sorted and grouped."""
    n_ann, n_cls = len(codes.annotators), max(len(codes.classes), 1)
    order = np.argsort(codes.item, kind="stable")
    item, ann, lab = codes.item[order], codes.annotator[order], codes.label[order]
    keys = []
    for d in range(1, len(item)):
        i = np.flatnonzero(item[d:] == item[:-d])
        if not len(i):
            break
        a1, a2, l1, l2 = ann[i], ann[i + d], lab[i], lab[i + d]
        swap = a1 > a2
        lo, hi = np.where(swap, a2, a1), np.where(swap, a1, a2)
        llo, lhi = np.where(swap, l2, l1), np.where(swap, l1, l2)
        keys.append(((lo * n_ann + hi) * n_cls + llo) * n_cls + lhi)
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    pair, llo, lhi = uniq // (n_cls * n_cls), (uniq // n_cls) % n_cls, uniq % n_cls
    pairs, inv = np.unique(pair, return_inverse=True)
    n = np.bincount(inv, weights=counts)
    agree = np.bincount(inv, weights=counts * (llo == lhi))
    ma = np.zeros((len(pairs), n_cls))
    mb = np.zeros((len(pairs), n_cls))
    np.add.at(ma, (inv, llo), counts)
    np.add.at(mb, (inv, lhi), counts)
    po = agree / n
    pe = (ma * mb).sum(axis=1) / (n * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(np.isclose(pe, 1.0), np.nan, (po - pe) / (1 - pe))
    return pd.DataFrame(
        {
            "annotator_a": codes.annotators[pairs // n_ann].to_numpy(),
            "annotator_b": codes.annotators[pairs % n_ann].to_numpy(),
            "n_items": n.astype(np.int64),
            "agreement": po,
            "chance_agreement": pe,
            "cohen_kappa": kappa,
        }
    )


@pytest.fixture(params=["tiny blocks", "default blocks", "sorted keys"])
def grouping(request, monkeypatch):
    """Run a test with blocks of a few pairs, the default blocks, or the sort path."""
    if request.param == "tiny blocks":
        monkeypatch.setattr(pairs_mod, "BLOCK_PAIRS", 3)
    elif request.param == "sorted keys":
        monkeypatch.setattr(pairs_mod, "DENSE_BINS_PER_PAIR", 0)
        monkeypatch.setattr(pairs_mod, "DENSE_BINS_FREE", 0)
    return request.param


CASES = [
    dict(seed=1, items=60, annotators=6, classes=3, missing=0.4),
    dict(seed=2, items=40, annotators=12, classes=5, missing=0.7),
    dict(seed=3, items=25, annotators=3, classes=2, missing=0.0),
    dict(seed=4, items=90, annotators=20, classes=8, missing=0.85),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_every_pair_matches_sklearn_cohen_kappa(case, grouping):
    labels = random_long(**case)
    expected = sklearn_pairs(labels)
    got = ag.compute_pairwise_agreement(labels).set_index(["annotator_a", "annotator_b"])
    assert set(got.index) == set(expected)
    for key, (n, po, kappa) in expected.items():
        row = got.loc[key]
        assert row["n_items"] == n
        assert row["agreement"] == pytest.approx(po, abs=1e-12)
        if np.isnan(kappa):
            assert np.isnan(row["cohen_kappa"])
        else:
            assert row["cohen_kappa"] == pytest.approx(kappa, abs=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
def test_pairs_are_bit_identical_to_the_pair_list_algorithm(case, grouping):
    codes = ag.encode_labels(random_long(**case))
    got = ag.compute_pairwise_agreement(codes)
    pd.testing.assert_frame_equal(got, pair_list_reference(codes), check_exact=True)


@pytest.mark.parametrize("min_items", [1, 3, 5])
@pytest.mark.parametrize("case", CASES[:2], ids=lambda c: f"seed{c['seed']}")
def test_means_of_kappa_match_sklearn(case, min_items, grouping):
    labels = random_long(**case)
    expected = sklearn_pairs(labels)
    use = {k: v for k, v in expected.items() if v[0] >= min_items and not np.isnan(v[2])}
    summary = ag.compute_agreement_summary(labels, min_pair_items=min_items)
    row = summary.loc["mean_pairwise_cohen_kappa"]
    assert row["value"] == pytest.approx(np.mean([v[2] for v in use.values()]), abs=1e-12)
    assert row["observed_agreement"] == pytest.approx(
        np.mean([v[1] for v in use.values()]), abs=1e-12
    )
    assert row["n_pairs"] == len(use)
    stats = ag.compute_annotator_stats(labels, min_pair_items=min_items)
    for name in stats.index:
        mine = [v[2] for k, v in use.items() if name in k]
        got = stats.at[name, "mean_cohen_kappa"]
        if mine:
            assert got == pytest.approx(np.mean(mine), abs=1e-12)
        else:
            assert np.isnan(got)


@pytest.mark.parametrize("min_items", [1, 4])
def test_kappa_matrix_is_the_pairs_both_ways(min_items, grouping):
    labels = random_long(**CASES[0])
    expected = sklearn_pairs(labels)
    mat = ag.compute_cohen_kappa_matrix(labels, min_items=min_items)
    names = sorted(labels["annotator"].unique())
    assert list(mat.index) == names and list(mat.columns) == names
    assert np.all(np.diag(mat.to_numpy()) == 1.0)
    for a, b in itertools.combinations(names, 2):
        n, _, kappa = expected.get((a, b), (0, np.nan, np.nan))
        want = kappa if n >= min_items else np.nan
        for x, y in ((a, b), (b, a)):
            if np.isnan(want):
                assert np.isnan(mat.at[x, y])
            else:
                assert mat.at[x, y] == pytest.approx(want, abs=1e-12)


def test_hand_worked_pair_sums():
    # A and B share i1..i4: labels (x,x) (x,y) (y,y) (z,y); C shares i1 with A, B only
    labels = pd.DataFrame(
        [
            ("i1", "A", "x"), ("i1", "B", "x"), ("i1", "C", "x"),
            ("i2", "A", "x"), ("i2", "B", "y"),
            ("i3", "A", "y"), ("i3", "B", "y"),
            ("i4", "A", "z"), ("i4", "B", "y"),
            ("i5", "C", "z"),
        ],
        columns=["item", "annotator", "label"],
    )  # fmt: skip
    pc = count_pairs(ag.encode_labels(labels))
    # pairs (A,B), (A,C), (B,C); A's marginals on i1..i4: x2 y1 z1; B's: x1 y3
    assert pc.low.tolist() == [0, 0, 1] and pc.high.tolist() == [1, 2, 2]
    assert pc.n.tolist() == [4, 1, 1]
    assert pc.agree.tolist() == [2, 1, 1]
    assert pc.chance.tolist() == [2 * 1 + 1 * 3 + 1 * 0, 1, 1]
    po, pe, kappa = pc.kappa()
    assert po[0] == 0.5 and pe[0] == 5 / 16
    assert kappa[0] == pytest.approx((0.5 - 5 / 16) / (1 - 5 / 16))
    assert np.isnan(kappa[1]) and np.isnan(kappa[2])  # one shared item, same label: p_e = 1


@pytest.mark.parametrize(
    "rows",
    [
        [("i1", "A", "x"), ("i2", "B", "y")],  # no item with two labels
        [("i1", "A", "x"), ("i2", "A", "y")],  # a single annotator
    ],
)
def test_no_shared_items_gives_no_pairs(rows):
    labels = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    assert len(count_pairs(ag.encode_labels(labels)).n) == 0
    assert ag.compute_pairwise_agreement(labels).empty
    assert np.isnan(ag.compute_agreement_summary(labels).at["mean_pairwise_cohen_kappa", "value"])


@pytest.mark.parametrize("where", [0, 5, 9])
def test_a_repeated_item_annotator_pair_is_named_with_its_rows(where):
    labels = random_long(**CASES[2]).head(10)
    labels = pd.concat([labels, labels.iloc[[where]]], ignore_index=True)
    # file rows: the header is line 1, so positions `where` and 10 are rows where + 2 and 12
    with pytest.raises(ag.DuplicateAnnotationError, match=rf"pair: rows {where + 2}, 12\)"):
        ag.encode_labels(labels)


@pytest.mark.skipif(not CIFAR10H.exists(), reason="the CIFAR-10H counts are not on this machine")
def test_cifar10h_counts_with_random_annotators():
    """Real counts (no annotator ids published): count figures equal the count-table path."""
    import krippendorff

    counts = np.load(CIFAR10H)
    rng = np.random.default_rng(5)
    item = np.repeat(np.arange(len(counts)), counts.sum(axis=1))
    label = np.concatenate([np.repeat(np.arange(counts.shape[1]), row) for row in counts])
    annotator = np.concatenate([rng.choice(2571, int(m), replace=False) for m in counts.sum(1)])
    labels = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
    summary = ag.compute_agreement_summary(labels)
    from_counts = ag.compute_agreement_from_counts(counts)
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1"):
        assert summary.at[key, "value"] == pytest.approx(from_counts.at[key, "value"], abs=1e-12)
    expected_alpha = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    assert summary.at["krippendorff_alpha", "value"] == pytest.approx(expected_alpha, abs=1e-9)
    sub = ag.encode_labels(labels[labels["item"] < 400])
    pd.testing.assert_frame_equal(
        ag.compute_pairwise_agreement(sub), pair_list_reference(sub), check_exact=True
    )
