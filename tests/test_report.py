import datetime as dt
import json
import re

import pandas as pd
import pytest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import dataset_from_frame
from slicewise.core.report import (
    escape_markdown,
    neutralise_formula,
    report_filename,
    safe_filename,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)


@pytest.fixture
def hostile_table():
    df = pd.DataFrame(
        {
            "label": ["<script>alert(1)</script>", "=cmd()", "b", "b"],
            "prediction": ["<script>alert(1)</script>", "b", "b", "=cmd()"],
            "human_label": ["<script>alert(1)</script>", "=cmd()", "b", "b"],
            "<b>bold|tag": [1, 1, 0, 0],
            "=HYPERLINK(1)": [0, 1, 1, 0],
        }
    )
    return analyze(dataset_from_frame(df))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-A1", "'-A1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("safe", "safe"),
        (3, 3),
        ("-1", "-1"),
        ("+1", "+1"),  # plain numbers: a spreadsheet reads a number, no formula
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_export_neutralises_formula_names(hostile_table):
    text = to_csv(hostile_table)
    assert "'=HYPERLINK(1)" in text
    assert "\n=HYPERLINK" not in text


def test_html_escapes_user_strings(hostile_table):
    page = to_html(hostile_table, title="<script>x</script>", summary=["<img src=x>"])
    assert "<script>x</script>" not in page
    assert "&lt;b&gt;bold|tag" in page
    assert "<img src=x>" not in page


def test_html_is_self_contained_with_charts(hostile_table):
    page = to_html(hostile_table, generated=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert not re.search(r"<script", page)  # the chart is inline SVG: no script at all
    assert page.count("<svg") == 1
    assert "2026-01-01" in page


def test_markdown_escapes_table_characters(hostile_table):
    md = to_markdown(hostile_table)
    assert "\\<b\\>bold\\|tag" in md
    assert escape_markdown("a|b*c") == "a\\|b\\*c"


def test_json_round_trips_the_table(hostile_table):
    data = json.loads(to_json(hostile_table))
    names = {s["name"] for s in data["slices"]}
    assert "<b>bold|tag" in names
    assert data["overall"]["n"] == 4


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Speech: voice search", "slicewise-Speech-voice-search-2026-11-23.csv"),
        ("../../etc/passwd", "slicewise-etc-passwd-2026-11-23.csv"),
        ("", "slicewise-dataset-2026-11-23.csv"),
    ],
)
def test_report_filename_is_sanitised(name, expected):
    assert report_filename(name, "csv", day=dt.date(2026, 11, 23)) == expected


def test_safe_filename_has_no_separators():
    assert "/" not in safe_filename("a/b\\c") and "\\" not in safe_filename("a/b\\c")
