"""Ranking by production share: gap × the slice's share of production traffic, said so."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.errors import InvalidValueError
from slicewise.core.prioritize import describe_priorities, rank_rule, rank_slices


@pytest.fixture
def table():
    """Two slices and the overall row: car_noise has the larger gap, clean_speech the
    larger test share."""
    t = pd.DataFrame(
        {
            "kind": ["overall", "tag", "tag"],
            "accuracy": [0.9, 0.94, 0.89],
            "hlp": [0.92, 0.95, 0.93],
            "share": [1.0, 0.60, 0.40],
        },
        index=["All data", "clean_speech", "car_noise"],
    )
    t["gap"] = t["hlp"] - t["accuracy"]
    t["potential_gain"] = t["gap"] * t["share"]
    return t


def _order(gap: pd.Series, share: dict) -> list[str]:
    """The slices by descending gap × share, computed here."""
    gains = {name: gap[name] * s for name, s in share.items()}
    return sorted(gains, key=gains.get, reverse=True)


@pytest.mark.parametrize(
    "production",
    [
        {"clean_speech": 0.95, "car_noise": 0.05},
        {"clean_speech": 0.80, "car_noise": 0.10},
    ],
)
def test_production_share_reverses_the_order_of_two_slices(table, production):
    test_order = _order(table["gap"], table["share"].drop("All data").to_dict())
    want = _order(table["gap"], production)
    assert want == list(reversed(test_order))  # the case really reverses the order
    assert list(rank_slices(table).index[:2]) == test_order
    ranked = rank_slices(table, production_share=production)
    assert list(ranked.index[:2]) == want
    for name, share in production.items():
        assert ranked.loc[name, "share"] == pytest.approx(share)
        assert ranked.loc[name, "test_share"] == pytest.approx(table.loc[name, "share"])
        gain = (table.loc[name, "hlp"] - table.loc[name, "accuracy"]) * share
        assert ranked.loc[name, "potential_gain"] == pytest.approx(gain)
        assert ranked.loc[name, "priority"] == pytest.approx(gain)
    assert set(ranked["share_basis"]) == {"production"}


def test_a_series_works_like_a_mapping_and_a_slice_it_omits_is_not_ranked(table):
    ranked = rank_slices(table, production_share=pd.Series({"car_noise": 0.3}))
    assert ranked.loc["car_noise", "rank"] == 1
    assert pd.isna(ranked.loc["clean_speech", "share"])
    assert pd.isna(ranked.loc["clean_speech", "rank"])


def test_without_production_share_the_table_keeps_the_test_share(table):
    ranked = rank_slices(table)
    assert "test_share" not in ranked.columns and "share_basis" not in ranked.columns
    assert "production" not in rank_rule(ranked)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_a_share_outside_0_to_1_is_refused(table, bad):
    with pytest.raises(InvalidValueError, match="car_noise"):
        rank_slices(table, production_share={"car_noise": bad})


@pytest.mark.parametrize(
    ("production", "words", "absent"),
    [
        (None, "on 40% of the data", "production traffic"),
        ({"clean_speech": 0.9, "car_noise": 0.25}, "on 25% of production traffic", "of the data"),
    ],
)
def test_advice_says_which_share_it_quotes(table, production, words, absent):
    ranked = rank_slices(table, production_share=production)
    line = next(s for s in describe_priorities(ranked) if s.startswith("Car noise"))
    assert words in line and absent not in line


def test_rank_rule_says_the_share_is_productions(table):
    ranked = rank_slices(table, production_share={"clean_speech": 0.5, "car_noise": 0.5})
    assert "production traffic" in rank_rule(ranked)


# ------------------------------------------------------------------ CLI: analyze --production


@pytest.fixture
def files(tmp_path):
    # region A: 15/20 correct, B: 16/20 (test shares 1/2 each); production 2 A for 8 B
    reference = pd.DataFrame(
        {
            "region": ["A"] * 20 + ["B"] * 20,
            "label": ["y"] * 40,
            "prediction": ["y"] * 15 + ["n"] * 5 + ["y"] * 16 + ["n"] * 4,
        }
    )
    production = pd.DataFrame({"region": ["A"] * 2 + ["B"] * 8, "prediction": ["y"] * 10})
    ref, prod = tmp_path / "ref.csv", tmp_path / "prod.csv"
    reference.to_csv(ref, index=False)
    production.to_csv(prod, index=False)
    return ref, prod, reference, production


def _analyze(*args):
    return CliRunner().invoke(main, ["analyze", *map(str, args)])


def test_analyze_with_production_ranks_by_production_share_and_says_so(files):
    ref, prod, reference, production = files
    common = ("--slice-by", "region", "--target", "0.95", "--format", "json")
    correct = reference["label"] == reference["prediction"]
    gap = {r: 0.95 - correct[reference["region"] == r].mean() for r in ("A", "B")}
    test_share = {r: (reference["region"] == r).mean() for r in ("A", "B")}
    prod_share = {r: (production["region"] == r).mean() for r in ("A", "B")}
    want_test = [f"region = {r}" for r in _order(pd.Series(gap), test_share)]
    want_prod = [f"region = {r}" for r in _order(pd.Series(gap), prod_share)]
    assert want_test == list(reversed(want_prod))

    before = _analyze(ref, *common)
    assert before.exit_code == 0, before.output
    assert [s["name"] for s in json.loads(before.stdout)["slices"][:2]] == want_test

    result = _analyze(ref, *common, "--production", prod)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    slices = data["slices"][:2]
    assert [s["name"] for s in slices] == want_prod
    for s in slices:
        region = s["name"].removeprefix("region = ")
        assert s["share"] == pytest.approx(prod_share[region])
        assert s["test_share"] == pytest.approx(test_share[region])
        assert s["share_basis"] == "production"
    assert "production traffic" in data["ranked_by"]
    assert "production share" in result.stderr


def test_analyze_with_a_production_file_lacking_the_slice_column_is_one_line(files, tmp_path):
    ref, _, _, _ = files
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"prediction": ["y", "n"]}).to_csv(bad, index=False)
    result = _analyze(ref, "--slice-by", "region", "--target", "0.95", "--production", bad)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("slicewise: error: ") and "region" in lines[-1]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("baseline", "said", "not_said"),
    [
        (("--target", "0.95"), "ranked by gap × production share", "excess error"),
        ((), "ranked by excess error × production share", "by gap ×"),
    ],
    ids=["target", "no-baseline"],
)
def test_production_note_names_what_was_multiplied_by_the_share(files, baseline, said, not_said):
    ref, prod, _, _ = files
    result = _analyze(ref, "--slice-by", "region", *baseline, "--production", prod)
    assert result.exit_code == 0, result.output
    assert said in result.stderr and not_said not in result.stderr
