"""Human-level performance has its own count and interval; too few human labels do not rank.

Expected values are worked by hand in comments, or come from statsmodels (Wilson interval,
exact McNemar test).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pagetest import assert_ok, table_with, texts
from pagetest import run_page as app
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from slicewise.core.analysis import analyze
from slicewise.core.charts import accuracy_vs_hlp_chart
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.metrics import (
    MIN_HUMAN_LABELS,
    OVERALL,
    UNTAGGED,
    compute_slice_metrics,
    wilson_interval,
)
from slicewise.core.prioritize import (
    describe_priorities,
    format_hlp,
    rank_basis,
    rank_rule,
    too_few_text,
)
from slicewise.core.report import to_json, to_markdown
from slicewise.core.task import TaskSpec

# ----------------------------------------------------------------------------- fixtures


def one_human_label(n: int = 1000) -> pd.DataFrame:
    """The issue's file: ``n`` predictions, a tag on every 4th row, one human label (row 0)."""
    rng = np.random.default_rng(12)
    label = rng.choice(["ok", "scratch", "dent"], n)
    wrong = rng.random(n) < 0.2
    prediction = np.where(wrong, np.where(label == "ok", "dent", "ok"), label)
    human = np.full(n, None, dtype=object)
    human[0] = label[0]  # the only human label, and it is right
    return pd.DataFrame(
        {
            "id": range(n),
            "label": label,
            "prediction": prediction,
            "human_label": human,
            "blurry": np.where(np.arange(n) % 4 == 0, "x", ""),
        }
    )


def tag_errs_more(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the same file with ``blurry`` also on the wrong rows ``i % 4 == 1``.

    A tag worse than the rest: row 0 (the one human label) stays tagged, and the tag gains
    only errors, so its error rate rises above that of the rows outside it.
    """
    wrong = (frame["label"] != frame["prediction"]).to_numpy()
    extra = wrong & (np.arange(len(frame)) % 4 == 1)
    return frame.assign(blurry=np.where((frame["blurry"] == "x").to_numpy() | extra, "x", ""))


def paired_frame() -> pd.DataFrame:
    """One tag ``t`` on 60 rows, 40 of them human-labelled, and 20 untagged rows.

    rows  model  human      tag t
    10    right  right      x
    20    wrong  right      x
     5    wrong  wrong      x
     5    right  wrong      x
    10    wrong  (none)     x
    10    right  (none)     x
    20    right  right      (untagged)
    """
    spec = [
        (10, True, True),
        (20, False, True),
        (5, False, False),
        (5, True, False),
        (10, False, None),
        (10, True, None),
    ]
    rows = []
    for count, model_right, human_right in spec:
        for _ in range(count):
            human = None if human_right is None else ("a" if human_right else "b")
            rows.append(
                {
                    "label": "a",
                    "prediction": "a" if model_right else "b",
                    "human_label": human,
                    "t": "x",
                }
            )
    rows += [{"label": "a", "prediction": "a", "human_label": "a", "t": ""}] * 20
    return pd.DataFrame(rows)


def tag_with_human_labels(k: int) -> pd.DataFrame:
    """80 rows; tag ``t`` on the first 40, of which the first ``k`` carry a human label.

    In ``t`` the model is right on even rows (20 of 40) and the human on every labelled row.
    """
    n = 80
    i = np.arange(n)
    human = np.where(i < k, "a", None).astype(object)
    human[40:] = "a"  # untagged rows are all labelled
    return pd.DataFrame(
        {
            "label": "a",
            "prediction": np.where(i % 2 == 0, "a", "b"),
            "human_label": human,
            "t": np.where(i < 40, "x", ""),
        }
    )


def ds(frame: pd.DataFrame):
    return dataset_from_frame(frame, ColumnMapping(human="human_label"), name="test.csv")


# ----------------------------------------------------------------------------- the issue


def test_one_human_label_in_a_thousand_is_shown_not_ranked_by_gap():
    frame = one_human_label()
    table = analyze(ds(frame))
    overall = table.loc[OVERALL]
    assert overall["hlp"] == 1.0  # the raw HLP stays visible
    assert overall["hlp_n"] == 1
    assert overall["hlp_source"] == "too_few"
    assert np.isnan(overall["gap"]) and np.isnan(overall["potential_gain"])
    assert np.isnan(overall["p_value"]) and not overall["significant"]
    # Wilson 95% interval for 1 of 1 (statsmodels agrees below): 20.7% to 100%.
    assert overall["hlp_ci_low"] == pytest.approx(0.2065, abs=1e-4)
    assert overall["hlp_ci_high"] == pytest.approx(1.0)
    # row 0 carries the tag (0 % 4 == 0): the tag has the one label, No tag has none.
    assert table.loc["blurry", "hlp_source"] == "too_few"
    assert table.loc[UNTAGGED, "hlp_source"] == "none"
    # No slice has a usable baseline, so none is ranked by its gap: slices are ranked by their
    # excess error over the rest instead (issue 14), and only those that err more than the
    # rest. By hand from the fixture: the tag errs on 47 of its 250 rows (18.8%), the rest on
    # 155 of 750 (20.7%): it errs less, so it gets no rank. All data and No tag never do.
    assert table["gap"].isna().all()
    tagged = (frame["blurry"] == "x").to_numpy()
    wrong = (frame["label"] != frame["prediction"]).to_numpy()
    excess = wrong[tagged].mean() - wrong[~tagged].mean()
    assert excess < 0
    assert table.loc["blurry", "excess_gain"] == pytest.approx(excess * tagged.mean())
    assert table["rank"].isna().all() and table["rank_basis"].isna().all()
    assert rank_basis(table) == "excess"  # the basis is kept though nothing is ranked
    assert rank_rule(table).startswith("no baseline: slices worse than the rest")
    assert format_hlp(overall) == "100.0% (n = 1, too few human labels)"

    # The same file with a tag that errs more than the rest: ranked, by excess gain.
    worse = tag_errs_more(frame)
    table = analyze(ds(worse))
    assert table.loc["blurry", "hlp_source"] == "too_few"
    assert table["gap"].isna().all()
    assert table["rank"].dropna().to_dict() == {"blurry": 1}
    assert table["rank_basis"].dropna().to_dict() == {"blurry": "excess"}
    # By hand: (error rate in the tag - error rate elsewhere) x share.
    tagged = (worse["blurry"] == "x").to_numpy()
    excess = wrong[tagged].mean() - wrong[~tagged].mean()
    assert excess > 0
    assert table.loc["blurry", "excess_gain"] == pytest.approx(excess * tagged.mean())
    assert table.loc["blurry", "priority"] == pytest.approx(excess * tagged.mean())


def test_cli_header_and_json_say_too_few():
    runner = CliRunner()
    with runner.isolated_filesystem():
        one_human_label().to_csv("preds.csv", index=False)
        plain = runner.invoke(main, ["analyze", "preds.csv"])
        as_json = runner.invoke(main, ["analyze", "preds.csv", "--format", "json"])
    assert plain.exit_code == 0, plain.output
    head = plain.output.splitlines()[0]
    assert "HLP: 100.0% (n = 1, too few human labels)" in head
    assert "Too few human labels to compare with HLP" in plain.output
    overall = json.loads(as_json.output)["overall"]
    assert overall["hlp_source"] == "too_few"
    assert overall["hlp_n"] == 1
    assert overall["gap"] is None and overall["potential_gain"] is None
    assert overall["significant"] is False


# ----------------------------------------------------------------------------- threshold


@pytest.mark.parametrize(
    ("k", "source", "ranked"),
    [
        (MIN_HUMAN_LABELS - 1, "too_few", False),
        (MIN_HUMAN_LABELS, "human_label", True),
    ],
)
def test_minimum_human_labels_decides_whether_a_slice_is_compared(k, source, ranked):
    table = analyze(ds(tag_with_human_labels(k)))
    row = table.loc["t"]
    assert row["hlp_n"] == k
    assert row["hlp_source"] == source
    assert row["hlp"] == 1.0  # shown either way
    # the model is right on the even rows among the first k: ceil(k / 2)
    model_right = (k + 1) // 2
    assert row["paired_accuracy"] == pytest.approx(model_right / k)
    assert row["accuracy"] == pytest.approx(20 / 40)  # all rows of the slice
    if ranked:
        assert row["gap"] == pytest.approx(1 - model_right / k)
        assert row["rank"] == 1 and row["rank_basis"] == "priority"
        assert not np.isnan(row["p_value"])
    else:
        assert np.isnan(row["gap"]) and np.isnan(row["potential_gain"])
        assert np.isnan(row["p_value"]) and not row["significant"]
        # Not ranked by gap; with no slice compared, by excess error over the rest instead:
        # t errs on its 20 odd rows of 40, the rest on 20 of 40 -> excess 0, excess gain 0:
        # it errs no more than the rest, so it gets no rank (the basis is still "excess").
        assert row["excess_error"] == pytest.approx(0.0)
        assert row["excess_gain"] == pytest.approx(0.0)
        assert pd.isna(row["rank"]) and pd.isna(row["rank_basis"])
        assert rank_basis(table) == "excess"


def test_minimum_is_about_a_wide_interval():
    # The reason given for MIN_HUMAN_LABELS: at p = 0.5 the Wilson half-width is ±16.8
    # points at n = 30 and wider below.
    low, high = wilson_interval(15, 30)
    assert (high - low) / 2 == pytest.approx(0.168, abs=5e-4)
    low, high = wilson_interval(14.5, 29)
    assert (high - low) / 2 > 0.168


def test_threshold_can_be_set_per_call():
    counts = pd.DataFrame(
        {
            "n": [10.0],
            "correct": [5.0],
            "human_n": [10.0],
            "human_correct": [9.0],
            "model_only": [0.0],
            "human_only": [4.0],
        },
        index=[OVERALL],
    ).reindex(
        columns=["n", "correct", "human_n", "human_correct", "model_only", "human_only"],
        fill_value=0.0,
    )
    assert compute_slice_metrics(counts, task=TaskSpec()).loc[OVERALL, "hlp_source"] == "too_few"
    table = compute_slice_metrics(counts, task=TaskSpec(), min_human_labels=10)
    assert table.loc[OVERALL, "hlp_source"] == "human_label"
    assert table.loc[OVERALL, "gap"] == pytest.approx(0.4)  # (4 - 0) / 10


# ----------------------------------------------------------------------------- interval


@pytest.mark.parametrize(
    ("k", "n"), [(1, 1), (0, 1), (29, 29), (25, 30), (0, 45), (171, 200), (500, 1000)]
)
def test_hlp_interval_is_statsmodels_wilson(k, n):
    frame = pd.DataFrame(
        {"label": ["a"] * n, "prediction": ["a"] * n, "human_label": ["a"] * k + ["b"] * (n - k)}
    )
    table = analyze(ds(frame))
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert table.loc[OVERALL, "hlp_ci_low"] == pytest.approx(low, abs=1e-12)
    assert table.loc[OVERALL, "hlp_ci_high"] == pytest.approx(high, abs=1e-12)
    assert table.loc[OVERALL, "hlp_n"] == n


# ----------------------------------------------------------------------------- paired gap


def test_gap_compares_model_and_human_on_the_same_examples():
    table = analyze(ds(paired_frame()))
    t = table.loc["t"]
    # By hand: 40 human-labelled rows; human right on 10 + 20 = 30 -> HLP 0.75; model right
    # on 10 + 5 = 15 of them -> paired accuracy 0.375; gap 0.75 - 0.375 = 0.375, which is
    # (human only 20 - model only 5) / 40. Accuracy on all 60 rows: (10 + 5 + 10) / 60.
    assert t["n"] == 60 and t["hlp_n"] == 40
    assert t["hlp"] == pytest.approx(0.75)
    assert t["paired_accuracy"] == pytest.approx(0.375)
    assert t["accuracy"] == pytest.approx(25 / 60)
    assert t["gap"] == pytest.approx(0.375)  # not 0.75 - 25/60 = 0.333
    assert t["potential_gain"] == pytest.approx(0.375 * 60 / 80)
    # McNemar's exact test on the 2x2 table of the 40 paired rows, from statsmodels.
    expected = mcnemar([[10, 5], [20, 5]], exact=True).pvalue
    assert t["p_value"] == pytest.approx(expected)
    # All data: 60 labelled rows, human right on 50, model right on 15 + 20 = 35.
    overall = table.loc[OVERALL]
    assert overall["hlp_n"] == 60
    assert overall["gap"] == pytest.approx((50 - 35) / 60)
    assert overall["accuracy"] == pytest.approx(45 / 80)


def test_full_coverage_gap_is_hlp_minus_accuracy():
    frame = paired_frame()
    frame = frame[frame["human_label"].notna()]
    table = analyze(ds(frame))
    assert np.allclose(table["paired_accuracy"], table["accuracy"])
    usable = table[table["hlp_source"] == "human_label"]  # No tag has 20 labels: too few
    assert list(usable.index) == ["t", OVERALL]
    assert np.allclose(usable["gap"], usable["hlp"] - usable["accuracy"])


# ----------------------------------------------------------------------------- user HLP


def test_user_hlp_is_unaffected_by_few_human_labels():
    frame = one_human_label()
    entered = {"blurry": 0.9, OVERALL: 0.95}
    with_labels = analyze(ds(frame), hlp=entered)
    without = analyze(dataset_from_frame(frame.drop(columns="human_label")), hlp=entered)
    for name, value in entered.items():
        row = with_labels.loc[name]
        assert row["hlp_source"] == "user"
        assert row["hlp"] == value
        assert row["gap"] == pytest.approx(value - row["accuracy"])  # on all examples
        assert row["hlp_n"] == 0
        assert np.isnan(row["hlp_ci_low"]) and np.isnan(row["hlp_ci_high"])
        assert np.isnan(row["paired_accuracy"])
        for col in ("gap", "potential_gain", "p_value", "significant", "rank"):
            a, b = row[col], without.loc[name, col]
            assert (pd.isna(a) and pd.isna(b)) or a == b, (name, col, a, b)
    assert with_labels.loc["blurry", "rank"] == 1
    assert format_hlp(with_labels.loc[OVERALL]) == "95.0% (entered)"


# ----------------------------------------------------------------------------- displays


def test_words_for_too_few():
    assert too_few_text(1) == "1 human label — too few to compare; at least 30 needed"
    assert too_few_text(12) == "12 human labels — too few to compare; at least 30 needed"


def test_summary_and_markdown_name_the_slices_with_too_few():
    table = analyze(ds(tag_with_human_labels(3)))
    lines = describe_priorities(table)
    # One line names the slice, and says how slices are ranked meanwhile; no "No baseline"
    # line (there are human labels) and no "No slice has enough" (a slice has some).
    too_few = [s for s in lines if s.startswith("Too few human labels")]
    assert too_few == [
        "Too few human labels to compare with HLP (at least 30 needed), not "
        "ranked by gap: T (3) — label more of their examples or enter an HLP; "
        "meanwhile slices are ranked by how much more they err than the rest"
    ]
    assert not any(s.startswith(("No baseline", "No slice has enough")) for s in lines)
    md = to_markdown(table, summary=lines)
    assert "3 human labels — too few to compare; at least 30 needed" in md
    data = json.loads(to_json(table))
    t = next(s for s in data["slices"] if s["name"] == "t")
    assert t["hlp_source"] == "too_few" and t["hlp_n"] == 3
    # not ranked by gap; and t errs on 20 of 40 like the rest (20 of 40): no excess, no rank
    assert t["gap"] is None and t["rank"] is None and t["rank_basis"] is None
    # the rule is stated though nothing is ranked: by excess error (no baseline)
    assert data["ranked_by"] == rank_rule(table)
    assert data["ranked_by"].startswith("no baseline: slices worse than the rest")


def test_summary_says_too_few_when_no_tag_has_a_human_label():
    frame = one_human_label()
    frame.loc[0, "blurry"] = ""  # the one human label is now on an untagged row
    table = analyze(ds(frame))
    assert table.loc["blurry", "hlp_n"] == 0 and table.loc[UNTAGGED, "hlp_n"] == 1
    lines = describe_priorities(table)
    # No tag or column slice has a human label (only All data and No tag have the one):
    # the table-wide line, not the per-slice "Too few" one nor "No baseline".
    assert lines[0] == (
        "No slice has enough human labels to compare with HLP (at least 30 "
        "needed; the most in any slice is 1): label more examples or enter an "
        "HLP per tag; meanwhile slices are ranked by how much more they err "
        "than the rest"
    )
    assert not any(s.startswith(("Too few human labels", "No baseline")) for s in lines)
    # The tag, rows 4, 8, ... (249 of 1000), errs no more than the rest: not ranked, no
    # advice of its own.
    tagged = (frame["blurry"] == "x").to_numpy()
    wrong = (frame["label"] != frame["prediction"]).to_numpy()
    assert wrong[tagged].mean() <= wrong[~tagged].mean()
    assert table["rank"].isna().all()
    assert not any(s.startswith("Blurry") for s in lines)
    # Then the untagged errors (the ceiling of tagging them), and why nothing is ranked.
    assert len(lines) == 3
    assert lines[1].startswith("Tag more errors: ") and "carry no tag yet" in lines[1]
    assert lines[2].startswith("No slice errs more than the rest of the data")


def test_chart_draws_the_hlp_interval_and_hatches_too_few():
    table = analyze(ds(paired_frame()))
    table.loc["t", "hlp_source"] = "too_few"  # as if it had too few: the drawing follows
    fig = accuracy_vs_hlp_chart(table)
    bar = fig.data[1]
    assert bar.name == "Human-level performance"
    t = table.loc["t"]
    assert bar.error_y.array[0] == pytest.approx(100 * (t["hlp_ci_high"] - t["hlp"]))
    assert bar.error_y.arrayminus[0] == pytest.approx(100 * (t["hlp"] - t["hlp_ci_low"]))
    assert bar.marker.pattern.shape[0] == "/"
    assert "too few" in fig.layout.title.text


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_engine_gives_the_same_hlp_columns(tmp_path, fmt):
    pytest.importorskip("duckdb")
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    frame = paired_frame()
    path = tmp_path / f"p.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
    mapping = ColumnMapping(human="human_label")
    got = analyze_file_duckdb(path, mapping)
    expected = analyze(ds(frame))
    cols = [
        "hlp",
        "hlp_source",
        "hlp_n",
        "hlp_ci_low",
        "hlp_ci_high",
        "paired_accuracy",
        "gap",
        "potential_gain",
        "p_value",
        "rank",
    ]
    pd.testing.assert_frame_equal(got[cols], expected.loc[got.index, cols], check_dtype=False)


# ----------------------------------------------------------------------------- pages


@pytest.fixture
def seeded_few(store) -> int:
    """The issue's file in the store: one human label, on a row of the ``blurry`` tag.

    The tag also covers the wrong rows ``i % 4 == 1`` (:func:`tag_errs_more`), so it errs
    more than the rest and is ranked by excess error.
    """
    frame = tag_errs_more(one_human_label(200))
    mapping = ColumnMapping(id="id", human="human_label", tag_columns=("blurry",))
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project,
        "Few",
        dataset_from_frame(frame, mapping, name="f.csv"),
        task=TaskSpec(),
        user="seed",
    )


def test_pages_say_too_few_in_words_and_do_not_rank_by_gap(seeded_few):
    words = "1 human label — too few to compare; at least 30 needed"
    slices = app("pages/3_Slices_vs_HLP.py", seeded_few)
    assert_ok(slices, no_errors=True)
    rows = table_with(slices, "95% interval").set_index("slice")
    assert rows.loc["Blurry", "HLP source"] == words
    assert rows.loc["Blurry", "HLP n"] == 1
    assert rows.loc["Blurry", "HLP interval"] == "20.7–100.0%"
    assert pd.isna(rows.loc["Blurry", "gap"])
    assert words in texts(slices.info)

    prio = app("pages/4_Prioritise.py", seeded_few)
    assert_ok(prio, no_errors=True)
    ranked = table_with(prio, "potential gain").set_index("slice")
    # Ranked, but not by its (missing) gap: by excess error over the rest, and said so.
    assert pd.isna(ranked.loc["Blurry", "gap"]) and pd.isna(ranked.loc["Blurry", "potential gain"])
    assert ranked.loc["Blurry", "rank"] == 1
    assert "excess gain" in ranked.columns
    assert "Ordered by rank: no baseline" in texts(prio.caption)
    assert ranked.loc["Blurry", "HLP from"] == words
    advice = texts(prio.markdown)
    # the slice with too few is named, with how slices are ranked meanwhile; the table-wide
    # lines ("No slice has enough", "No baseline") are not given
    assert (
        "Too few human labels to compare with HLP (at least 30 needed), not ranked by gap: "
        "Blurry (1) — label more of their examples or enter an HLP; meanwhile slices are "
        "ranked by how much more they err than the rest" in advice
    )
    assert "No slice has enough human labels" not in advice
    assert "No baseline" not in advice

    home = app("app.py", seeded_few)
    assert_ok(home, no_errors=True)
    assert words in texts(home.caption)
