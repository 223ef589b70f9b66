"""core.report.render_report, the one report-format switch (CLI and Export page alike)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from slicewise.core.report import (
    EXTENSIONS,
    FORMATS,
    REPORT_FORMATS,
    RenderedReport,
    compute_class_results,
    render_report,
)

# A ranked-table shape with two rows, written by hand: All data and one tag.
TABLE = pd.DataFrame(
    {
        "kind": ["overall", "tag"],
        "n": [10, 4],
        "share": [1.0, 0.4],
        "accuracy": [0.7, 0.25],
        "errors": [3, 3],
        "error_share": [1.0, 1.0],
    },
    index=pd.Index(["All data", "=noisy"], name=None),
)
PAIRS = pd.DataFrame({"label": ["a", "a", "b"], "prediction": ["a", "b", "b"], "count": [5, 1, 4]})


def test_formats_have_their_mime_types_and_extensions():
    assert FORMATS == ("csv", "markdown", "json", "html")
    assert {f: REPORT_FORMATS[f].mime for f in FORMATS} == {
        "csv": "text/csv",
        "markdown": "text/markdown",
        "json": "application/json",
        "html": "text/html",
    }
    assert EXTENSIONS == {"csv": "csv", "markdown": "md", "json": "json", "html": "html"}
    assert [f for f in FORMATS if REPORT_FORMATS[f].detailed] == ["markdown", "json", "html"]


def test_csv_is_the_neutralised_slice_table():
    out = render_report(TABLE, "csv", dataset="d")
    assert isinstance(out, RenderedReport) and out[1:] == ("text/csv", "csv")
    rows = list(csv.reader(io.StringIO(out.text, newline="")))
    assert rows[0][0] == "name" and [r[0] for r in rows[1:]] == ["All data", "'=noisy"]


def test_json_carries_dataset_task_and_classes():
    classes = compute_class_results(task="classification", pairs=PAIRS)
    out = render_report(TABLE, "json", dataset="d", task="classification", classes=classes)
    doc = json.loads(out.text)
    assert (doc["dataset"], doc["task"]) == ("d", "classification")
    assert doc["overall"]["n"] == 10 and [s["name"] for s in doc["slices"]] == ["=noisy"]
    # recall of a: 5 of 6 labelled a were predicted a
    per = {c["class"]: c for c in doc["per_class"]}
    assert per["a"]["recall"] == pytest.approx(5 / 6)
    assert not out.text.endswith("\n")


def test_markdown_and_html_take_the_default_title_or_the_given_one():
    md = render_report(TABLE, "markdown", dataset="speech")
    assert md.text.startswith("# Slicewise report: speech\n") and md.extension == "md"
    page = render_report(TABLE, "html", dataset="speech", title="Mine <b>")
    assert "<title>Mine &lt;b&gt;</title>" in page.text and page.mime == "text/html"


def test_an_unknown_format_is_refused_by_name():
    with pytest.raises(ValueError, match="'pdf'.*csv, markdown, json, html"):
        render_report(TABLE, "pdf")
