"""The report a manager reads: headline, advice, readable slice table, per class, corrections.

Expected values are computed independently: counts by hand in comments, Wilson intervals with
statsmodels (``proportion_confint(method="wilson")``), per-class figures and the confusion
matrix with scikit-learn. The fixtures are built here (no file of ../shared).
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from statsmodels.stats.proportion import proportion_confint

from slicewise.core.analysis import analyze
from slicewise.core.cli import main, render
from slicewise.core.dataset import dataset_from_frame
from slicewise.core.prioritize import describe_priorities, rank_rule
from slicewise.core.report import (
    READABLE_NAMES,
    compute_class_results,
    report_dict,
    share_chart_svg,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)
from slicewise.core.task import TaskSpec


def wilson(k: int, n: int) -> tuple[float, float]:
    return proportion_confint(k, n, alpha=0.05, method="wilson")


def pct_range(low: float, high: float) -> str:
    return f"{100 * low:.1f}–{100 * high:.1f}%"


# ----------------------------------------------------------------------------- fixtures


def ranked_frame() -> pd.DataFrame:
    """200 examples, every one with a correct human label (HLP 100%), two disjoint tags.

    - ``small``: 40 examples, 16 errors (40%); the rest errs 24/160 = 15%: worse than the
      rest. Gap 0.40 × share 0.20 = priority 0.08.
    - ``big``: 140 examples, 21 errors (15%); the rest errs 19/60 = 31.7%: not worse.
      Gap 0.15 × share 0.70 = priority 0.105, higher than ``small``'s.
    - 20 untagged examples with 3 errors. All data: 40 errors of 200 (80.0% accuracy).
    """
    parts = []
    for tag, n, errors in (("small", 40, 16), ("big", 140, 21), ("", 20, 3)):
        wrong = np.arange(n) < errors
        parts.append(
            pd.DataFrame(
                {
                    "label": ["ok"] * n,
                    "prediction": np.where(wrong, "defect", "ok"),
                    "human_label": ["ok"] * n,
                    "small": [1 if tag == "small" else 0] * n,
                    "big": [1 if tag == "big" else 0] * n,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def ranked():
    return analyze(dataset_from_frame(ranked_frame()))


def headline_frame() -> pd.DataFrame:
    """40 examples: the model is right on 30 (75.0%), the human label on 36 (90.0%).

    Human wrong on rows 0-3 (model right there), model wrong on rows 30-39: the gap is
    HLP − the model's accuracy on the same 40 examples = 90.0 − 75.0 = 15.0 points.
    """
    n = 40
    model_wrong = np.arange(n) >= 30
    human_wrong = np.arange(n) < 4
    return pd.DataFrame(
        {
            "label": ["cat"] * 20 + ["dog"] * 20,
            "prediction": np.where(model_wrong, "bird", ["cat"] * 20 + ["dog"] * 20),
            "human_label": np.where(human_wrong, "bird", ["cat"] * 20 + ["dog"] * 20),
        }
    )


def binary_frame() -> pd.DataFrame:
    """A binary task by group; positives are ``1``.

    Group A: 30 negatives with 12 false positives (FPR 40%), 20 positives with 4 false
    negatives (FNR 20%). Group B: 30 negatives with 3 false positives (FPR 10%), 20
    positives with 8 false negatives (FNR 40%).
    """
    rows = []
    for group, fp, fn in (("A", 12, 4), ("B", 3, 8)):
        rows += [(group, 0, 1 if i < fp else 0) for i in range(30)]
        rows += [(group, 1, 0 if i < fn else 1) for i in range(20)]
    return pd.DataFrame(rows, columns=["group", "label", "prediction"])


# ----------------------------------------------------------------------------- headline


def test_headline_values_are_the_data_s(tmp_path):
    table = analyze(dataset_from_frame(headline_frame()))
    md = to_markdown(table, dataset="pets.csv", task="classification")
    acc_low, acc_high = wilson(30, 40)
    hlp_low, hlp_high = wilson(36, 40)
    glance = md.split("## At a glance")[1].split("## What to do next")[0]
    assert "- **Dataset:** pets.csv" in glance
    assert "- **Task:** classification" in glance
    assert "- **Examples:** 40" in glance
    assert f"- **Accuracy:** 75.0% (95% interval {pct_range(acc_low, acc_high)})" in glance
    assert f"- **HLP:** 90.0% (n = 40, 95% CI {100 * hlp_low:.1f}–{100 * hlp_high:.1f}%)" in glance
    assert "- **Gap:** the model is 15.0 points below HLP" in glance
    page = to_html(table, dataset="pets.csv", task="classification")
    assert f"<dt>Accuracy</dt><dd>75.0% (95% interval {pct_range(acc_low, acc_high)})</dd>" in page
    assert "<dt>Gap</dt><dd>the model is 15.0 points below HLP" in page


def test_headline_says_there_is_no_baseline():
    frame = headline_frame().drop(columns="human_label")
    md = to_markdown(analyze(dataset_from_frame(frame)))
    assert "- **Baseline:** none" in md
    assert "## How the baseline was measured" in md and "No baseline" in md


def test_binary_headline_gives_fpr_and_fnr_with_intervals():
    frame = binary_frame()
    table = analyze(dataset_from_frame(frame), task=TaskSpec(kind="binary", positive="1"))
    md = to_markdown(table, task="binary")
    # all data: 15 false positives of 60 negatives, 12 false negatives of 40 positives
    fpr = wilson(15, 60)
    fnr = wilson(12, 40)
    assert f"- **False-positive rate:** 25.0% (95% interval {pct_range(*fpr)})" in md
    assert f"- **False-negative rate:** 30.0% (95% interval {pct_range(*fnr)})" in md


# ----------------------------------------------------------------------------- advice


def test_what_to_do_next_is_the_first_three_sentences_of_the_advice(ranked):
    advice = describe_priorities(ranked)
    md = to_markdown(ranked)
    todo = md.split("## What to do next")[1].split("## Slices")[0]
    for i, sentence in enumerate(advice[:3], 1):
        assert f"{i}. {sentence}" in todo.replace("\\", "")
    assert "4. " not in todo


# ----------------------------------------------------------------------------- slice table


def _markdown_table(md: str, section: str) -> tuple[list[str], list[list[str]]]:
    """The first table under ``## section``: header cells and body rows."""
    text = md.split(f"## {section}")[1]
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    rows = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    end = next((i for i, r in enumerate(rows[2:], 2) if len(r) != len(rows[0])), len(rows))
    return rows[0], rows[2:end]


def test_slice_table_has_readable_names_and_json_keeps_machine_names(ranked):
    md = to_markdown(ranked)
    header, _ = _markdown_table(md, "Slices")
    for name in (
        "Rank",
        "Slice",
        "Accuracy",
        "95% interval",
        "HLP",
        "Gap (points)",
        "Share of errors",
        "Errors vs rest (points)",
        "Priority",
    ):
        assert name in header
    assert not [h for h in header if "_" in h]  # no snake_case in the readable table
    page = to_html(ranked)
    heads = re.findall(r"<th>([^<]*)</th>", page.split("<table>")[1].split("</table>")[0])
    assert heads == header
    data = json.loads(to_json(ranked))
    assert {"error_share", "accuracy_ci_low", "priority", "rank"} <= set(data["slices"][0])
    csv_header = next(csv.reader(io.StringIO(to_csv(ranked))))
    assert "error_share" in csv_header and "Share of errors" not in csv_header


def test_order_stated_is_the_order_shown(ranked):
    # ``small`` is worse than the rest but has the lower priority (0.08 < 0.105): the stated
    # rule puts slices worse than the rest first, so it is rank 1 above ``big``.
    md = to_markdown(ranked)
    rule = rank_rule(ranked)
    assert rule.startswith("slices worse than the rest of the data first")
    assert f"Ordered by rank: {rule}." in md
    header, rows = _markdown_table(md, "Slices")
    shown = [(r[header.index("Rank")], r[header.index("Slice")]) for r in rows]
    assert shown[:2] == [("1", "small"), ("2", "big")]
    assert [s for _, s in shown[2:]] == ["All data", "No tag"]  # unranked rows follow
    assert [r[header.index("Priority")] for r in rows[:2]] == ["8.00", "10.50"]
    assert [r[header.index("Worse than rest")] for r in rows[:2]] == ["yes", "no"]
    # the JSON lists the slices in the same order and says the rule
    data = json.loads(to_json(ranked))
    assert [s["name"] for s in data["slices"]] == ["small", "big", "No tag"]
    assert data["ranked_by"] == rule


def test_identical_slices_are_shown_once_with_both_names():
    frame = ranked_frame()
    frame["tiny"] = frame["small"]  # the same 40 examples under another name
    table = analyze(dataset_from_frame(frame))
    _, rows = _markdown_table(to_markdown(table), "Slices")
    names = [r[1] for r in rows]
    assert names.count("small (also: tiny)") == 1
    assert not [n for n in names if n.startswith("tiny")]


# ----------------------------------------------------------------------------- per class


@pytest.fixture(scope="module")
def pets():
    frame = headline_frame()
    return frame, analyze(dataset_from_frame(frame))


def test_per_class_table_and_confusion_matrix_match_sklearn(pets):
    frame, table = pets
    classes = compute_class_results(frame, task="classification")
    order = ["bird", "cat", "dog"]
    precision, recall, f1, support = precision_recall_fscore_support(
        frame["label"], frame["prediction"], labels=order, zero_division=np.nan
    )
    cm = confusion_matrix(frame["label"], frame["prediction"], labels=order)
    data = report_dict(table, classes=classes)
    per = {r["class"]: r for r in data["per_class"]}
    for i, c in enumerate(order):
        assert per[c]["support"] == support[i]
        for key, expected in (("precision", precision[i]), ("recall", recall[i]), ("f1", f1[i])):
            got = per[c][key]
            assert (got is None and np.isnan(expected)) or got == pytest.approx(expected)
    assert data["confusion_matrix"] == {
        "labels": order,
        "predictions": order,
        "counts": cm.tolist(),
    }
    md = to_markdown(table, classes=classes)
    header, rows = _markdown_table(md, "Per class")
    assert header[:4] == [
        "Class",
        READABLE_NAMES["support"],
        READABLE_NAMES["predicted"],
        READABLE_NAMES["precision"],
    ]
    cat = next(r for r in rows if r[0] == "cat")
    assert cat[header.index("Recall")].startswith(f"{100 * recall[1]:.1f}%")
    assert "| dog | 10 | 0 | 10 |" in md  # dogs (rows 20-39): 10 right, 10 called birds
    page = to_html(table, classes=classes)
    assert '<table class="classes">' in page and '<table class="matrix">' in page


def test_regression_and_text_have_no_classes():
    assert compute_class_results(headline_frame(), task="regression") is None
    assert compute_class_results(headline_frame(), task="text") is None


def test_json_has_null_per_class_without_classes(pets):
    data = json.loads(to_json(pets[1]))
    assert data["per_class"] is None and data["confusion_matrix"] is None


# ----------------------------------------------------------------------------- corrections


CORRECTIONS = pd.DataFrame(
    {
        "example_id": ["7", "12", "13"],
        "original": ["cat", "dog", "<b>x</b>"],
        "corrected": ["dog", "cat", "cat"],
        "reason": ["blurry", "", "typo"],
        "user": ["alice", "bob", "alice"],
        "at": [
            "2026-01-02T10:00:00+00:00",
            "2026-01-03T11:00:00+00:00",
            "2026-01-03T12:00:00+00:00",
        ],
    }
)


def test_corrections_say_which_labels_and_by_whom(pets):
    _, table = pets
    md = to_markdown(table, corrections=CORRECTIONS)
    assert "3 labels corrected by alice (2), bob (1)." in md
    assert "| 7 | cat | dog | alice | 2026-01-02T10:00:00+00:00 | blurry |" in md
    page = to_html(table, corrections=CORRECTIONS)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    data = json.loads(to_json(table, corrections=CORRECTIONS))
    assert [c["user"] for c in data["corrections"]] == ["alice", "bob", "alice"]
    assert "No label has been corrected." in to_markdown(table, corrections=CORRECTIONS[:0])
    assert "Label corrections" not in to_markdown(table)  # not known: no section


# ----------------------------------------------------------------------------- HTML


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", 'x" onload="y', "a|b"])
def test_html_is_self_contained_and_escapes_every_name(name):
    frame = ranked_frame().rename(columns={"small": name})
    frame["prediction"] = frame["prediction"].replace({"defect": name})
    table = analyze(dataset_from_frame(frame))
    classes = compute_class_results(frame, task="classification")
    page = to_html(table, title=name, classes=classes, corrections=CORRECTIONS)
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)\s*=", page)  # nothing fetched, nothing linked
    assert "http" not in page
    assert name not in page if "<" in name or '"' in name else True
    assert page.count("<svg") == 1
    assert len(page.encode()) < 200_000


def test_chart_draws_one_row_per_slice_and_nothing_without_slices(ranked):
    svg = share_chart_svg(ranked)
    # small, big and No tag: two bars each (share of data, share of errors)
    assert svg.count("<rect") == 3 + 2 * 3  # three legend swatches
    small = svg.split("small</title></text>")[1].split("<title>big")[0]
    big = svg.split("big</title></text>")[1]
    assert "#b91c1c" in small and "#b91c1c" not in big  # red: worse than the rest
    assert share_chart_svg(ranked.loc[["All data"]]) == ""


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def binary_csv(tmp_path):
    path = tmp_path / "binary.csv"
    binary_frame().to_csv(path, index=False)
    return path


def _analyze(path, *args):
    result = CliRunner().invoke(
        main, ["analyze", str(path), "--slice-by", "group", "--positive", "1", *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_json_has_fpr_fnr_with_intervals_and_per_class(binary_csv):
    data = json.loads(_analyze(binary_csv, "--format", "json"))
    a = next(s for s in data["slices"] if s["name"] == "group = A")
    low, high = wilson(12, 30)  # group A: 12 false positives of 30 negatives
    assert a["fpr"] == pytest.approx(0.4)
    assert (a["fpr_ci_low"], a["fpr_ci_high"]) == pytest.approx((low, high))
    low, high = wilson(8, 20)  # group B: 8 false negatives of 20 positives
    b = next(s for s in data["slices"] if s["name"] == "group = B")
    assert (b["fnr"], b["fnr_ci_low"], b["fnr_ci_high"]) == pytest.approx((0.4, low, high))
    # label 0: 60, predicted 1 on 15; label 1: 40, predicted 0 on 12
    assert data["confusion_matrix"]["counts"] == [[45, 15], [12, 28]]
    assert [r["class"] for r in data["per_class"]] == ["1", "0"]  # rarest first


@pytest.mark.parametrize("fmt", ["html", "markdown"])
def test_cli_reports_show_fpr_with_its_interval_and_per_class(binary_csv, fmt):
    text = _analyze(binary_csv, "--format", fmt)
    low, high = wilson(12, 30)
    shown = {
        "markdown": f"40.0% ({pct_range(low, high)})",  # group A's FPR
        "html": f'40.0%<br><span class="ci">{pct_range(low, high)}</span>',
    }
    assert shown[fmt] in text
    assert "False-positive rate" in text and "Confusion matrix" in text


def test_cli_table_has_a_per_class_section(binary_csv):
    text = _analyze(binary_csv)
    assert "per class, rarest first" in text
    low, high = wilson(12, 30)
    assert f"40.0% ({100 * low:.1f}–{100 * high:.1f})" in text


def test_render_without_classes_keeps_every_format(ranked):
    for fmt in ("table", "json", "csv", "markdown", "html"):
        assert "small" in render(ranked, fmt, dataset="d.csv", task="classification")


def test_duckdb_confusion_matrix_gives_the_pandas_per_class_table(binary_csv):
    pytest.importorskip("duckdb")
    from slicewise.core.engine_duckdb import DuckDBFile

    frame = pd.read_csv(binary_csv)
    expected = compute_class_results(dataset_from_frame(frame).frame, task="binary")
    with DuckDBFile(binary_csv) as source:
        source.analyze(task=TaskSpec(kind="binary", positive="1"))
        got = compute_class_results(task="binary", pairs=source.confusion_pairs())
    pd.testing.assert_frame_equal(got.confusion, expected.confusion)
    pd.testing.assert_frame_equal(got.pairs, expected.pairs)
    pd.testing.assert_frame_equal(got.per_class, expected.per_class)


# ----------------------------------------------------------------------------- baselines


def test_a_target_is_named_as_the_baseline(tmp_path):
    path = tmp_path / "pets.csv"
    headline_frame().drop(columns="human_label").to_csv(path, index=False)
    result = CliRunner().invoke(
        main, ["analyze", str(path), "--target", "90%", "--format", "markdown"]
    )
    assert result.exit_code == 0, result.output
    md = result.stdout
    # 75.0% accuracy against a 90% target: 15.0 points below
    assert "- **Target 90%:** 90.0%" in md
    assert "- **Gap:** the model is 15.0 points below target 90%" in md
    header, _ = _markdown_table(md, "Slices")
    assert "Baseline" in header and "HLP" not in header
    assert "Target (1 row): a target accuracy the team set." in md


def test_a_majority_label_is_said_to_be_an_upper_bound(tmp_path):
    path = tmp_path / "pets.csv"
    headline_frame().rename(columns={"human_label": "crowd_majority"}).to_csv(path, index=False)
    result = CliRunner().invoke(
        main,
        [
            "analyze",
            str(path),
            "--human",
            "crowd_majority",
            "--human-majority",
            "--format",
            "markdown",
        ],
    )
    assert result.exit_code == 0, result.output
    how = result.stdout.split("## How the baseline was measured")[1]
    assert "upper bound on one person" in how
