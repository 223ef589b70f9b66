"""Slice discovery: a planted weak slice ranks first, the search is lossless against brute
force and agrees with the sliceline package, p/q-values match independent oracles, chance
alone gives no significant slice, and the error tree and the CLI work.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from click.testing import CliRunner
from scipy import stats

from slicewise.core import discovery
from slicewise.core.charts.discovery import error_tree_chart
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.discovery import (
    SLICE_COLUMNS,
    TREE_COLUMNS,
    benjamini_hochberg,
    compute_error_tree,
    describe_error_tree,
    encode_conditions,
    error_indicator,
    find_error_slices,
    format_suggestions,
    slice_mask,
    slice_score,
    suggest_slices,
)
from slicewise.core.errors import InvalidValueError

ROOT = Path(__file__).resolve().parent.parent
PLANTED = {"region = north", "device = old"}


def planted_frame(
    n: int = 20_000, seed: int = 0, *, weak: float = 0.30, base: float = 0.05
) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight metadata columns; error rate ``base`` except ``weak`` in north AND old."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east", "west"], n),
            "device": rng.choice(["old", "new", "mid"], n),
            "browser": rng.choice(["chrome", "firefox", "safari", "edge", "other"], n),
            "plan": rng.choice(["free", "pro"], n),
            "lang": rng.choice(["en", "de", "fr", "es", "it", "nl"], n),
            "age": np.round(rng.normal(40, 12, n), 1),
            "snr_db": np.round(rng.uniform(0, 30, n), 2),
            "hour": rng.integers(0, 24, n),
        }
    )
    in_weak = (df["region"] == "north") & (df["device"] == "old")
    errors = rng.random(n) < np.where(in_weak, weak, base)
    return df, errors


def brute_force(
    df: pd.DataFrame, errors: np.ndarray, *, max_conditions: int, min_support: int, alpha: float
) -> pd.DataFrame:
    """Every conjunction of conditions on distinct columns, counted with boolean masks."""
    cond = encode_conditions(df)
    masks = {p.text: p.mask(df) for p in cond.predicates}
    by_col: dict[str, list[str]] = {}
    for p in cond.predicates:
        by_col.setdefault(p.column, []).append(p.text)
    rows = []
    rate = errors.mean()
    for level in range(1, max_conditions + 1):
        for cols in itertools.combinations(by_col, level):
            for combo in itertools.product(*(by_col[c] for c in cols)):
                m = np.logical_and.reduce([masks[t] for t in combo])
                n = int(m.sum())
                if n >= min_support:
                    rows.append({"key": frozenset(combo), "n": n, "errors": int(errors[m].sum())})
    out = pd.DataFrame(rows)
    out["score"] = slice_score(out["n"], out["errors"], n=len(df), overall_rate=rate, alpha=alpha)
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- the planted slice


@pytest.mark.parametrize("distinct", [True, False])
def test_planted_slice_ranks_first(distinct):
    df, errors = planted_frame()
    found = find_error_slices(df, errors, distinct=distinct)
    assert list(found.slices.columns) == list(SLICE_COLUMNS)
    top = found.slices.iloc[0]
    assert set(top["conditions"]) == PLANTED
    assert top["significant"] and top["q_value"] < 1e-50
    assert top["error_rate"] == pytest.approx(0.30, abs=0.03)
    assert top["lift"] > 3.5
    assert found.n_tested > 500
    assert "Benjamini-Hochberg" in found.fdr_note()


def test_planted_slice_ranks_first_from_a_dataset():
    df, errors = planted_frame()
    frame = df.assign(
        id=[f"ex-{i}" for i in range(len(df))],
        label="yes",
        prediction=np.where(errors, "no", "yes"),
    )
    ds = dataset_from_frame(frame, ColumnMapping(label="label", prediction="prediction", id="id"))
    assert (error_indicator(ds) == errors).all()
    found = suggest_slices(ds)
    assert set(found.slices["conditions"].iloc[0]) == PLANTED
    assert "id" not in found.columns and "age" in found.columns


def test_distinct_drops_refinements_of_better_slices():
    df, errors = planted_frame()
    keys = [frozenset(c) for c in find_error_slices(df, errors).slices["conditions"]]
    for i, a in enumerate(keys):
        assert not any(b <= a for b in keys[:i]), a
    every = find_error_slices(df, errors, distinct=False).slices["conditions"]
    assert set(every.iloc[1]) > PLANTED  # without the filter: refinements come next


# ----------------------------------------------------------------------------- oracles


@pytest.mark.parametrize("seed", [1, 2])
def test_search_is_lossless_against_brute_force(seed):
    """Pruning never loses a top slice: the top 15 equal those of an exhaustive search."""
    rng = np.random.default_rng(seed)
    n = 3000
    df = pd.DataFrame(
        {
            "a": rng.choice(list("pqr"), n),
            "b": rng.choice(list("xyzw"), n),
            "c": rng.choice(["u", "v"], n),
            "d": rng.normal(0, 1, n),
            "e": rng.choice(["k", "l", "m"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    p_err = 0.08 + 0.15 * ((df["a"] == "p") & (df["d"] > 0)) + 0.1 * (df["e"] == "m")
    errors = rng.random(n) < p_err
    for alpha in (0.95, 0.7):
        found = find_error_slices(df, errors, min_support=40, top=15, alpha=alpha, distinct=False)
        oracle = brute_force(df, errors, max_conditions=3, min_support=40, alpha=alpha)
        oracle = oracle[oracle["score"] > 0].head(15)
        assert np.allclose(found.slices["score"], oracle["score"])
        ours = {
            frozenset(c): (n_, e)
            for c, n_, e in zip(
                found.slices["conditions"], found.slices["n"], found.slices["errors"], strict=True
            )
        }
        theirs = {
            k: (n_, e)
            for k, n_, e in zip(oracle["key"], oracle["n"], oracle["errors"], strict=True)
        }
        assert ours == theirs


def test_counts_and_p_values_match_masks_and_scipy():
    df, errors = planted_frame(n=5000, seed=4)
    found = find_error_slices(df, errors, top=None, distinct=False)
    rate = errors.mean()
    assert len(found.slices) > 20
    for i in range(0, len(found.slices), max(1, len(found.slices) // 25)):
        row = found.slices.iloc[i]
        m = slice_mask(df, found.predicates[i])
        assert row["n"] == m.sum() and row["errors"] == errors[m].sum()
        assert row["error_rate"] == pytest.approx(errors[m].mean())
        assert row["lift"] == pytest.approx(errors[m].mean() / rate)
        p = stats.binomtest(int(row["errors"]), int(row["n"]), rate, alternative="greater").pvalue
        assert row["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert row["q_value"] >= row["p_value"]


def test_benjamini_hochberg_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(0).beta(0.4, 2, 500)
    expected = multitest.multipletests(p, method="fdr_bh")[1]
    assert np.allclose(benjamini_hochberg(p), expected)
    assert benjamini_hochberg(np.array([])).size == 0


def test_agrees_with_the_sliceline_package():
    sliceline = pytest.importorskip("sliceline")
    df, errors = planted_frame(n=4000, seed=5)
    cond = encode_conditions(df)
    binned = np.empty(cond.codes.shape, dtype=object)
    for f, col in enumerate(cond.columns):
        names = np.array([p.text for p in cond.predicates if p.column == col], dtype=object)
        binned[:, f] = names[cond.codes[:, f]]
    sf = sliceline.Slicefinder(alpha=0.95, k=5, max_l=3, min_sup=40, verbose=False)
    sf.fit(binned, errors.astype(float))
    theirs = [frozenset(v for v in s if v is not None) for s in sf.top_slices_]
    their_scores = [s["slice_score"] for s in sf.top_slices_statistics_]
    found = find_error_slices(df, errors, min_support=40, top=5, distinct=False)
    assert [frozenset(c) for c in found.slices["conditions"]] == theirs
    assert np.allclose(found.slices["score"], their_scores)


def test_chance_alone_gives_no_significant_slice():
    df, _ = planted_frame(seed=6)
    errors = np.random.default_rng(60).random(len(df)) < 0.07
    # alpha=1: every slice with an error rate above the whole has a positive score.
    found = find_error_slices(df, errors, top=None, distinct=False, alpha=1.0)
    assert found.n_tested > 500
    # Raw p-values do fall under 5% by chance; the BH-adjusted ones do not.
    assert (found.slices["p_value"] < 0.05).sum() > 0
    assert found.n_significant == 0


def test_row_order_does_not_matter():
    df, errors = planted_frame(n=6000, seed=7)
    order = np.random.default_rng(0).permutation(len(df))
    a = find_error_slices(df, errors).slices
    b = find_error_slices(df.iloc[order].reset_index(drop=True), errors[order]).slices
    pd.testing.assert_frame_equal(a, b)


def test_many_valued_columns_count_right(monkeypatch):
    """Slices matched by binary search (large key spaces) equal those of the lookup table."""
    df, errors = planted_frame(n=6000, seed=8)
    expected = find_error_slices(df, errors, top=None, distinct=False, alpha=0.99)
    monkeypatch.setattr(discovery.lattice, "LOOKUP_LIMIT", 0)
    found = find_error_slices(df, errors, top=None, distinct=False, alpha=0.99)
    assert found.slices["conditions"].map(len).max() == 3
    pd.testing.assert_frame_equal(found.slices, expected.slices)
    for i in range(0, len(found.slices), 7):
        m = slice_mask(df, found.predicates[i])
        assert found.slices["n"].iloc[i] == m.sum()
        assert found.slices["errors"].iloc[i] == errors[m].sum()


# ----------------------------------------------------------------------------- encoding


def test_conditions_encode_bins_values_and_missing():
    df = pd.DataFrame(
        {
            "snr": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, np.nan],
            "device": ["a", "b", "a", None, "b", "a", "b", "a"],
            "flag": [True, False] * 4,
            "line": [1, 2, 3, 1, 2, 3, 1, 2],
            "id": [f"x{i}" for i in range(8)],
            "const": ["same"] * 8,
        }
    )
    cond = encode_conditions(df, max_values=6)
    texts = [p.text for p in cond.predicates]
    assert texts[:5] == [
        "snr < 2.5",
        "snr in [2.5, 4)",
        "snr in [4, 5.5)",
        "snr >= 5.5",
        "snr is missing",
    ]
    assert "device = a" in texts and "device is missing" in texts
    assert "flag = True" in texts and "line = 3" in texts
    assert set(cond.skipped) == {"id", "const"}
    assert "distinct values" in cond.skipped["id"]
    dense = cond.matrix.toarray().astype(bool)
    assert (dense.sum(axis=1) == len(cond.columns)).all()  # one condition per column
    for j, p in enumerate(cond.predicates):
        assert (dense[:, j] == p.mask(df)).all(), p.text


def test_max_conditions_limits_the_slices():
    df, errors = planted_frame(n=5000)
    found = find_error_slices(df, errors, max_conditions=1, top=None)
    assert found.slices["conditions"].map(len).max() == 1


def test_columns_choose_what_is_searched():
    df, errors = planted_frame(n=5000)
    found = find_error_slices(df, errors, columns=["device", "plan"], top=None, distinct=False)
    used = {c.split(" ")[0] for conds in found.slices["conditions"] for c in conds}
    assert used <= {"device", "plan"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_conditions": 0}, "max_conditions must be 1 to 3"),
        ({"max_conditions": 4}, "max_conditions must be 1 to 3"),
        ({"alpha": 0}, "alpha"),
        ({"fdr": 1.5}, "fdr"),
        ({"min_support": 0}, "min_support"),
        ({"top": 0}, "top"),
        ({"columns": ["nope"]}, "'nope': no such column"),
    ],
)
def test_bad_settings(kwargs, message):
    df, errors = planted_frame(n=500)
    with pytest.raises(InvalidValueError, match=message):
        find_error_slices(df, errors, **kwargs)


def test_errors_must_align():
    df, errors = planted_frame(n=500)
    with pytest.raises(ValueError, match="499 values for 500 rows"):
        find_error_slices(df, errors[:-1])


@pytest.mark.parametrize(
    ("errors", "message"),
    [
        (np.zeros(500, dtype=bool), "no errors"),
        (np.ones(500, dtype=bool), "every prediction is wrong"),
    ],
)
def test_degenerate_errors_warn(errors, message):
    df, _ = planted_frame(n=500)
    found = find_error_slices(df, errors)
    assert found.slices.empty and list(found.slices.columns) == list(SLICE_COLUMNS)
    assert message in " ".join(found.warnings)


def test_no_usable_column_warns():
    df = pd.DataFrame({"id": [f"x{i}" for i in range(100)], "c": ["same"] * 100})
    found = find_error_slices(df, np.arange(100) % 3 == 0)
    assert found.slices.empty and "no metadata column" in found.warnings[0]


# ----------------------------------------------------------------------------- error tree


def test_error_tree_finds_the_planted_slice():
    df, errors = planted_frame()
    tree = compute_error_tree(df, errors, max_depth=3)
    assert list(tree.columns) == list(TREE_COLUMNS)
    root = tree.iloc[0]
    assert root["n"] == len(df) and root["errors"] == errors.sum()
    # Children partition their parent.
    for node in tree.itertuples():
        kids = tree[tree["parent"] == node.node]
        if not node.is_leaf:
            assert kids["n"].sum() == node.n and kids["errors"].sum() == node.errors
    leaves = tree[tree["is_leaf"]]
    assert leaves["n"].sum() == len(df)
    worst = leaves.sort_values("error_rate").iloc[-1]
    assert {"region = north", "device = old"} <= set(worst["path"])
    assert worst["error_rate"] > 0.25
    lines = describe_error_tree(tree, top=2)
    assert len(lines) == 2 and "region = north" in lines[0] and "errors" in lines[0]
    fig = error_tree_chart(tree)
    assert isinstance(fig, go.Figure) and fig.data[0].type == "icicle"
    assert len(fig.data[0].ids) == len(tree)


def test_error_tree_numeric_conditions_and_missing_values():
    rng = np.random.default_rng(2)
    n = 4000
    snr = rng.uniform(0, 30, n)
    snr[:200] = np.nan
    errors = rng.random(n) < np.where(np.isnan(snr) | (snr < 8), 0.4, 0.05)
    tree = compute_error_tree(pd.DataFrame({"snr": snr}), errors, max_depth=1)
    conds = set(tree["condition"])
    assert any(c.startswith("snr <= ") for c in conds)
    assert any(c.endswith("or missing") for c in conds)
    left = tree.iloc[1]
    assert left["error_rate"] > 0.3


def test_error_tree_is_empty_without_errors():
    df, _ = planted_frame(n=300)
    assert compute_error_tree(df, np.zeros(300, dtype=bool)).empty
    assert len(error_tree_chart(compute_error_tree(df, np.zeros(300, dtype=bool))).data) == 0


# ----------------------------------------------------------------------------- demo data


def test_demo_inspection_suggests_factory_c_and_cam_3():
    ds = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    found = suggest_slices(ds)
    top = found.slices.iloc[0]
    assert set(top["conditions"]) == {"factory = C", "camera = cam-3"}
    assert top["significant"]
    shown = {frozenset(c) for c in found.slices["conditions"].head(3)}
    assert frozenset({"factory = C"}) in shown and frozenset({"camera = cam-3"}) in shown
    assert found.columns == ["factory", "line", "camera", "phone_model"]  # no image_path
    text = format_suggestions(found, source="inspection")
    assert "factory = C AND camera = cam-3" in text and "Benjamini-Hochberg" in text


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def planted_csv(tmp_path) -> Path:
    df, errors = planted_frame()
    df = df.assign(label="ok", prediction=np.where(errors, "defect", "ok"))
    path = tmp_path / "planted.csv"
    df.to_csv(path, index=False)
    return path


def test_cli_json(planted_csv):
    result = CliRunner().invoke(
        main, ["suggest", str(planted_csv), "--format", "json", "--top", "5"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["slices"]) <= 5
    first = data["slices"][0]
    assert set(first["conditions"]) == PLANTED
    assert {
        "conditions",
        "n",
        "error_rate",
        "lift",
        "p_value",
        "q_value",
        "score",
        "significant",
    } <= set(first)
    assert first["significant"] is True
    assert data["n_tested"] > 0 and "Benjamini-Hochberg" in data["note"]


def test_cli_table_and_options(planted_csv):
    result = CliRunner().invoke(
        main,
        [
            "suggest",
            str(planted_csv),
            "--max-conditions",
            "1",
            "--min-support",
            "500",
            "--columns",
            "region,device",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region = north" in result.stdout and " AND " not in result.stdout.split("*")[0]
    assert "at least 500 examples" in result.stdout
    assert "Benjamini-Hochberg" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--columns", "nope"], "'nope': no such column"),
        (["--label", "nope"], "'nope'"),
    ],
)
def test_cli_errors_are_one_line(planted_csv, args, message):
    result = CliRunner().invoke(main, ["suggest", str(planted_csv), *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_rejects_four_conditions(planted_csv):
    result = CliRunner().invoke(main, ["suggest", str(planted_csv), "--max-conditions", "4"])
    assert result.exit_code == 2
