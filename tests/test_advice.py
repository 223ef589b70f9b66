"""Advice that follows the evidence: the rank order rule and one advice rule per case.

Each test builds a small table whose evidence makes exactly one rule hold, and checks the
rule that fired (``action``) and the numbers its sentence quotes, computed here by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from slicewise.core.analysis import analyze, mark_same_members
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import build_slices
from slicewise.core.prioritize import (
    ACTIONS,
    RANK_RULES,
    TARGET_HALF_WIDTH,
    advise,
    describe_priorities,
    fairness_disparities,
    fairness_lines,
    likely_protected,
    rank_rule,
    rank_slices,
)

ROOT = Path(__file__).resolve().parent.parent


def _frame(groups: dict[str, tuple[int, int, int]], *, seed: int = 0) -> pd.DataFrame:
    """Rows per ``site``: (examples, model errors, human errors), shuffled.

    The human label is wrong on the first ``human errors`` examples of the site that the
    model gets right (then on its errors), so HLP and the paired gap are known by hand.
    """
    rows = []
    for site, (n, wrong, human_wrong) in groups.items():
        for i in range(n):
            model_ok = i >= wrong
            human_ok = not (i >= wrong and i < wrong + human_wrong) if human_wrong else True
            rows.append(
                {
                    "label": "a",
                    "prediction": "a" if model_ok else "b",
                    "human": "a" if human_ok else "c",
                    "site": site,
                }
            )
    frame = pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)
    frame.insert(0, "id", range(len(frame)))
    return frame


def _table(frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return analyze(
        dataset_from_frame(frame, ColumnMapping(human="human")), slice_by=["site"], **kwargs
    )


def _action(advice: pd.DataFrame, name: str) -> str:
    return advice.set_index("slice").loc[name, "action"]


def test_slices_worse_than_the_rest_rank_above_bigger_ones_that_are_not():
    # "big": 600 examples, 60 errors (10%, like the rest); "bad": 100 examples, 30 errors.
    # By gap × share alone "big" would come first (gap 10 pts × 60% vs 30 pts × 10%).
    frame = _frame({"big": (600, 60, 0), "bad": (100, 30, 0), "other": (300, 30, 0)})
    table = _table(frame)
    assert table.loc["site = big", "potential_gain"] > table.loc["site = bad", "potential_gain"]
    assert table.loc["site = bad", "worse_than_rest"]
    assert not table.loc["site = big", "worse_than_rest"]
    assert table.loc["site = bad", "rank"] == 1
    assert table.loc["site = big", "rank"] > 1
    assert rank_rule(table) == RANK_RULES["priority"]


def test_the_demo_ranks_the_tags_above_every_phone_model_and_advises_no_phone_model():
    table = analyze(
        load_dataset(ROOT / "demo_data" / "inspection_predictions.csv"), slice_by=["phone_model"]
    )
    ranked = table[table["rank"].notna()].sort_values("rank")
    phones = [n for n in ranked.index if n.startswith("phone_model")]
    assert list(ranked.index[:2]) == ["reflection", "blurry"]
    assert all(ranked.loc[p, "rank"] > ranked.loc["blurry", "rank"] for p in phones)
    advice = advise(table, top=len(ranked))
    for phone in phones:
        assert _action(advice, phone) != "collect"
    assert not any("collect more examples where phone_model" in t for t in advice["text"])


def test_lower_bound_ranking_uses_the_gaps_interval():
    # Same gap and share; "few" has 40 examples, "many" 400: the lower bound favours "many".
    t = pd.DataFrame(
        {
            "kind": ["overall", "tag", "tag"],
            "share": [1.0, 0.1, 0.1],
            "gap": [0.1, 0.2, 0.2],
            "gap_ci_low": [0.05, 0.01, 0.15],
            "hlp_source": "user",
        },
        index=["All data", "few", "many"],
    )
    t["potential_gain"] = t["gap"] * t["share"]
    by_gap = rank_slices(t)
    by_low = rank_slices(t, rank_by="lower_bound")
    assert by_gap.loc["few", "rank"] == 1  # a tie kept in table order
    assert by_low.loc["many", "rank"] == 1
    assert by_low.loc["many", "priority"] == pytest.approx(0.15 * 0.1)
    assert rank_rule(by_low) == RANK_RULES["lower_bound"]


def test_an_unknown_rank_basis_is_a_typed_error():
    with pytest.raises(InvalidValueError, match="cannot rank by"):
        rank_slices(pd.DataFrame({"potential_gain": [0.1], "share": [1.0]}), rank_by="gap")


def test_without_any_baseline_the_table_is_ranked_by_excess_error():
    frame = _frame({"bad": (100, 30, 0), "ok": (400, 40, 0)}).drop(columns="human")
    table = analyze(dataset_from_frame(frame, ColumnMapping()), slice_by=["site"])
    assert table["hlp"].isna().all()
    bad = table.loc["site = bad"]
    # (30/100 − 40/400) × 100/500 = 0.2 × 0.2
    assert bad["excess_gain"] == pytest.approx((0.30 - 0.10) * 0.2)
    assert bad["rank"] == 1 and bad["rank_basis"] == "excess"
    advice = advise(table)
    assert advice["action"].iloc[0] == "no_baseline"
    assert _action(advice, "site = bad") == "collect"
    assert rank_rule(table) == RANK_RULES["excess"]


def test_little_headroom_when_at_or_above_the_baseline():
    t = pd.DataFrame(
        {
            "kind": ["overall", "tag"],
            "share": [1.0, 0.5],
            "gap": [0.02, -0.01],
            "accuracy": [0.9, 0.95],
            "n": [1000, 500],
        },
        index=["All data", "easy"],
    )
    t["potential_gain"] = t["gap"] * t["share"]
    advice = advise(rank_slices(t))
    assert _action(advice, "easy") == "little_headroom"
    assert "little headroom" in advice["text"].iloc[0]


def test_low_human_agreement_in_a_slice_says_fix_the_labels_first():
    # "murky": humans wrong on 40 of 200 (HLP 80%), elsewhere 10 of 800 wrong (98.75%).
    frame = _frame({"murky": (200, 60, 40), "clear": (800, 80, 10)})
    table = _table(frame)
    murky = table.loc["site = murky"]
    _, high = proportion_confint(160, 200, method="wilson")
    assert murky["hlp"] == pytest.approx(0.8)
    assert high < table.loc["All data", "hlp"]  # the rule's condition, independently
    advice = advise(table)
    assert _action(advice, "site = murky") == "fix_labels"
    line = advice.set_index("slice").loc["site = murky", "text"]
    assert "80.0% here vs 95.0% overall" in line


def test_a_small_slice_asks_for_the_examples_a_5_point_interval_needs():
    # "tiny": 12 examples, 6 errors; the rest 1000 with 50 errors.
    frame = _frame({"tiny": (12, 6, 0), "rest": (1000, 50, 0)}).drop(columns="human")
    table = analyze(
        dataset_from_frame(frame, ColumnMapping()),
        slice_by=["site"],
        hlp={"site = tiny": 0.95, "site = rest": 0.95},
    )
    advice = advise(table)
    assert _action(advice, "site = tiny") == "review_more"
    # Independently: the smallest n whose Wilson half-width at p = 0.5 is <= 5 points.
    n = next(
        m
        for m in range(2, 2000)
        if np.diff(proportion_confint(m / 2, m, method="wilson"))[0] / 2 <= TARGET_HALF_WIDTH
    )
    line = advice.set_index("slice").loc["site = tiny", "text"]
    assert f"review about {n - 12:,} more" in line
    assert "only 12 examples" in line


def test_a_protected_attribute_gets_fairness_wording_never_collect_more():
    frame = _frame({"A": (300, 90, 0), "B": (700, 70, 0)})
    frame = frame.rename(columns={"site": "group"})
    table = analyze(
        dataset_from_frame(frame, ColumnMapping(human="human")),
        slice_by=["group"],
        protected=["group"],
    )
    assert table.loc["group = A", "protected"] and table.loc["group = A", "protected_by"] == "group"
    advice = advise(table)
    assert _action(advice, "group = A") == "fairness"
    assert not any("collect more" in t for t in advice["text"])
    line = advice.set_index("slice").loc["group = A", "text"]
    # 90/300 vs 70/700
    assert "error rate 30.0% vs 10.0% for the rest" in line and "for fairness" in line


def test_fairness_compares_fpr_and_fnr_with_the_rest_of_the_data():
    # Binary: group A has FP 30 of 100 negatives, FN 10 of 100 positives; group B has
    # FP 10 of 100 and FN 30 of 100: equal error rates, opposite FPR and FNR.
    rows = []
    for group, fp, fn in (("A", 30, 10), ("B", 10, 30)):
        rows += [{"group": group, "label": 0, "prediction": int(i < fp)} for i in range(100)]
        rows += [{"group": group, "label": 1, "prediction": int(i >= fn)} for i in range(100)]
    frame = pd.DataFrame(rows)
    from slicewise.core.task import TaskSpec

    table = analyze(
        dataset_from_frame(frame, ColumnMapping()),
        slice_by=["group"],
        protected=["group"],
        task=TaskSpec(kind="binary", positive="1"),
    )
    found = fairness_disparities(table).set_index(["slice", "rate"])
    a_fpr = found.loc[("group = A", "false positive rate")]
    assert a_fpr["value"] == pytest.approx(0.30) and a_fpr["rest"] == pytest.approx(0.10)
    assert a_fpr["p_value"] == pytest.approx(proportions_ztest([10, 30], [100, 100])[1])
    assert a_fpr["significant"]
    error = found.loc[("group = A", "error rate")]
    assert error["value"] == pytest.approx(0.20) and not error["significant"]
    lines = dict(fairness_lines(table))
    assert "false positive rate 30.0% vs 10.0% for the rest" in lines["group = A"]
    assert "false negative rate 30.0% vs 10.0% for the rest" in lines["group = B"]


def test_a_protected_attribute_without_disparity_says_so():
    frame = _frame({"A": (500, 50, 0), "B": (500, 50, 0)}).rename(columns={"site": "group"})
    table = analyze(
        dataset_from_frame(frame, ColumnMapping(human="human")),
        slice_by=["group"],
        protected=["group"],
    )
    advice = advise(table)
    fair = advice[advice["action"] == "fairness"]
    assert len(fair) == 1 and "no group's error rates differ significantly" in fair["text"].iloc[0]


def test_untagged_errors_are_named_with_their_share():
    frame = pd.DataFrame(
        {
            "label": ["a"] * 10,
            "prediction": ["b"] * 5 + ["a"] * 5,
            "blurry": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        }
    )
    table = analyze(dataset_from_frame(frame, ColumnMapping()))
    advice = advise(table)
    tag_more = advice[advice["action"] == "tag_more"]
    assert len(tag_more) == 1
    assert tag_more["text"].iloc[0].startswith("Tag more errors: 80% of the errors")  # 4 of 5


def test_every_action_is_documented():
    t = pd.DataFrame(
        {
            "kind": ["overall", "tag"],
            "share": [1.0, 0.5],
            "gap": [0.02, 0.1],
            "accuracy": [0.9, 0.8],
            "n": [1000, 500],
        },
        index=["All data", "x"],
    )
    t["potential_gain"] = t["gap"] * t["share"]
    advice = advise(rank_slices(t))
    assert set(advice["action"]) <= set(ACTIONS)
    assert describe_priorities(rank_slices(t)) == advice["text"].tolist()


def test_identical_slices_are_shown_once_with_both_names():
    frame = pd.DataFrame(
        {
            "label": list("aaaabbbb"),
            "prediction": list("abaabbab"),
            "night": [1, 1, 0, 0, 0, 0, 0, 0],
            "dark": [1, 1, 0, 0, 0, 0, 0, 0],
            "cam": ["x", "x", "y", "y", "y", "y", "y", "y"],
        }
    )
    dataset = dataset_from_frame(frame, ColumnMapping(tag_columns=("night", "dark")))
    membership, info = build_slices(dataset, slice_by=["cam"])
    marked = mark_same_members(membership, info)
    assert marked.loc["dark", "same_as"] == "night"
    assert marked.loc["cam = x", "same_as"] == "night"
    assert pd.isna(marked.loc["cam = y", "same_as"])
    table = analyze(dataset, slice_by=["cam"])
    assert "dark" not in table.index and "cam = x" not in table.index
    assert table.loc["night", "same_as"] == "dark; cam = x"
    assert table.loc["cam = y", "same_as"] == ""


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_cli_audits_a_protected_column_and_ranks_by_lower_bound(tmp_path, engine):
    from click.testing import CliRunner

    from slicewise.core.cli import main

    frame = _frame({"A": (300, 90, 0), "B": (700, 70, 0)}).rename(columns={"site": "group"})
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(path),
            "--human",
            "human",
            "--protected",
            "group",
            "--rank-by",
            "lower_bound",
            "--engine",
            engine,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    import json

    slices = {s["name"]: s for s in json.loads(result.output)["slices"]}
    assert slices["group = A"]["protected"] is True  # sliced by without --slice-by
    assert slices["group = A"]["rank_basis"] == "lower_bound"


@pytest.mark.parametrize(
    ("name", "protected"),
    [
        ("race", True),
        ("age_cat", True),
        ("Gender", True),
        ("driver_sex", True),
        ("AgeGroup", True),
        ("marital-status", True),
        ("page", False),
        ("stage", False),
        ("colourway", False),
        ("phone_model", False),
        ("usage", False),
    ],
)
def test_columns_named_like_a_protected_attribute_are_found(name, protected):
    assert (likely_protected([name]) == [name]) is protected


def test_the_cli_reads_a_race_column_as_protected_unless_told_otherwise(tmp_path):
    from click.testing import CliRunner

    from slicewise.core.cli import main

    frame = _frame({"A": (300, 90, 0), "B": (700, 70, 0)}).rename(columns={"site": "race"})
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    runner = CliRunner()
    auto = runner.invoke(main, ["analyze", str(path), "--slice-by", "race"])
    assert auto.exit_code == 0, auto.output
    assert "race read as protected" in auto.output
    assert "race = A (protected attribute)" in auto.output
    off = runner.invoke(main, ["analyze", str(path), "--slice-by", "race", "--protected", "none"])
    assert "protected attribute" not in off.output and "collect more" in off.output


def test_the_duckdb_engine_shows_identical_slices_once_as_pandas_does(tmp_path):
    from slicewise.core.engine_duckdb import DuckDBFile

    frame = pd.DataFrame(
        {
            "label": list("aaaabbbb"),
            "prediction": list("abaabbab"),
            "night": [1, 1, 0, 0, 0, 0, 0, 0],
            "dark": [1, 1, 0, 0, 0, 0, 0, 0],
            "cam": ["x", "x", "y", "y", "y", "y", "y", "y"],
            "dim": [0, 0, 1, 1, 0, 0, 0, 0],
        }
    )
    path = tmp_path / "same.csv"
    frame.to_csv(path, index=False)
    mapping = ColumnMapping(tag_columns=("night", "dark", "dim"))
    with DuckDBFile(path, mapping) as source:
        by_sql = source.analyze(slice_by=["cam"])
    by_pandas = analyze(load_dataset(path, mapping), slice_by=["cam"])
    assert list(by_sql.index) == list(by_pandas.index)
    assert by_sql.loc["night", "same_as"] == "dark; cam = x"
    assert by_sql.loc["dim", "same_as"] == ""  # same size as night, other members


def test_charts_name_the_baseline_and_rank_by_excess_without_one():
    from slicewise.core.charts import accuracy_vs_hlp_chart, priority_bubble_chart

    frame = _frame({"bad": (100, 30, 0), "ok": (400, 40, 0)}).drop(columns="human")
    dataset = dataset_from_frame(frame, ColumnMapping())
    without = analyze(dataset, slice_by=["site"])
    bubbles = priority_bubble_chart(without)
    assert len(bubbles.data[0].x) == 2  # not an empty chart
    assert bubbles.layout.yaxis.title.text.startswith("Error rate − the rest's")
    # (30/100 − 40/400) in points for "bad"
    got = dict(zip(bubbles.data[0].text, bubbles.data[0].y, strict=True))
    assert got["site = bad"] == pytest.approx(20.0)  # a column value, as the table names it
    table = without.assign(baseline="target 95%")
    assert accuracy_vs_hlp_chart(table).layout.title.text == "Accuracy vs target 95%"


def test_the_json_report_carries_the_advice_actions_first_things_first():
    from slicewise.core.report import report_dict

    table = analyze(
        load_dataset(ROOT / "demo_data" / "inspection_predictions.csv"), slice_by=["phone_model"]
    )
    advice = report_dict(table)["advice"]
    # What to do first (collect, fix labels, tag more), then what not to do.
    assert [a["action"] for a in advice[:3]] == ["collect", "fix_labels", "tag_more"]
    assert advice[0]["slice"] == "reflection" and advice[1]["slice"] == "blurry"
    assert all(a["action"] == "not_worse" for a in advice[3:])


def test_protected_none_beside_a_column_keeps_the_column(tmp_path):
    from click.testing import CliRunner

    from slicewise.core.cli import main

    frame = _frame({"A": (300, 90, 0), "B": (700, 70, 0)}).rename(columns={"site": "race"})
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    out = CliRunner().invoke(
        main, ["analyze", str(path), "--protected", "none", "--protected", "race"]
    )
    assert out.exit_code == 0, out.output
    assert "race = A (protected attribute)" in out.output


def test_the_confusion_heatmap_reads_class_names_as_categories():
    from slicewise.core.charts import confusion_heatmap
    from slicewise.core.metrics import compute_confusion_matrix

    frame = pd.DataFrame({"label": ["0", "1", "1"], "prediction": ["0", "0", "1"]})
    fig = confusion_heatmap(compute_confusion_matrix(frame))
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.type == "category"
