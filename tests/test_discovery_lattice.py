"""core.discovery.lattice: membership of conjunctions and the pruned enumeration, by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from slicewise.core.discovery import encode_conditions, lattice, slice_mask
from slicewise.core.discovery.lattice import drop_refinements, evaluate_lattice, membership_matrix


def small_frame(seed: int = 3, rows: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], rows),
            "b": rng.choice(["p", "q"], rows),
            "c": rng.choice(["u", "v", "w", None], rows),
        }
    )
    errors = rng.random(rows) < np.where(df["a"].eq("x") & df["b"].eq("p"), 0.6, 0.1)
    return df, errors


@pytest.mark.parametrize("limit", [lattice.LOOKUP_LIMIT, 0])
def test_membership_matches_the_masks_of_every_pair(monkeypatch, limit):
    monkeypatch.setattr(lattice, "LOOKUP_LIMIT", limit)  # 0: the binary-search path
    df, _ = small_frame()
    cond = encode_conditions(df)
    pairs = np.array(
        [
            (i, j)
            for i, j in itertools.combinations(range(len(cond.predicates)), 2)
            if cond.feature[i] != cond.feature[j]
        ]
    )
    m = membership_matrix(cond, pairs).toarray().astype(bool)
    for s, (i, j) in enumerate(pairs):
        expected = slice_mask(df, [cond.predicates[i], cond.predicates[j]])
        assert (m[:, s] == expected).all()


def test_drop_refinements_keeps_slices_that_add_nothing_to_an_earlier_one_out():
    keys = [(1,), (1, 2), (3,), (2, 4), (1, 3, 4)]
    # ranked 0, 1, 2, 3, 4: (1, 2) and (1, 3, 4) contain (1,), so they go; (2, 4) stays.
    assert drop_refinements(np.arange(5), keys, None).tolist() == [0, 2, 3]
    assert drop_refinements(np.arange(5), keys, 2).tolist() == [0, 2]
    assert drop_refinements(np.array([1, 0]), keys, None).tolist() == [1, 0]


def test_every_evaluated_count_is_the_count_of_its_mask():
    df, errors = small_frame()
    cond = encode_conditions(df)
    n, rate = len(df), errors.mean()
    found = evaluate_lattice(
        cond,
        errors.astype(float),
        max_conditions=3,
        min_support=10,
        k_best=np.inf,
        score_kw={"n": n, "overall_rate": rate, "alpha": 0.95},
    )
    # Level 1: every condition with at least 10 examples, counted by pandas.
    level1 = {cond.predicates[int(k[0])].text for k in found.keys[0]}
    sizes = {p.text: int(p.mask(df).sum()) for p in cond.predicates}
    assert level1 == {t for t, s in sizes.items() if s >= 10}
    for keys, size, err in zip(found.keys, found.sizes, found.errors, strict=True):
        for key, s, e in zip(keys, size, err, strict=True):
            mask = slice_mask(df, [cond.predicates[int(i)] for i in key])
            assert s == mask.sum() >= 10
            assert e == errors[mask].sum()
    assert len(found.keys) >= 2  # the planted pair a = x AND b = p is reached
    assert any(
        {cond.predicates[int(i)].text for i in key} == {"a = x", "b = p"} for key in found.keys[1]
    )
