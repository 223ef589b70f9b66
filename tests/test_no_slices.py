"""With no tag and no slice-by the tables hold one row, All data, everywhere.

Before this was tested, ``slicewise compare`` on two files without tags stopped with
``TypeError: Invalid value 'overall' for dtype 'float64'``: the slice-info frame of zero
slices had float64 columns. The files are the issue's: BEFORE right on 1 of 2 examples,
AFTER on 2 of 2, the same ids.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.analysis import analyze
from slicewise.core.charts import accuracy_vs_hlp_chart, priority_bubble_chart
from slicewise.core.charts.compare import change_chart, history_chart
from slicewise.core.cli import main
from slicewise.core.compare import (
    compare_datasets,
    compare_overall,
    compare_tables,
    find_regressions,
    iteration_history,
    review_order,
)
from slicewise.core.dataset import load_dataset
from slicewise.core.metrics import build_slices
from slicewise.core.prioritize import describe_priorities
from slicewise.core.report import FORMATS, report_dict, to_csv, to_html, to_json, to_markdown
from slicewise.core.slice_names import OVERALL

BEFORE = b"id,label,prediction\n1,a,a\n2,b,a\n"
AFTER = b"id,label,prediction\n1,a,a\n2,b,b\n"


@pytest.fixture
def before():
    return load_dataset(BEFORE, name="before.csv")


@pytest.fixture
def after():
    return load_dataset(AFTER, name="after.csv")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "before.csv").write_bytes(BEFORE)
    (tmp_path / "after.csv").write_bytes(AFTER)
    return tmp_path / "before.csv", tmp_path / "after.csv"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# ----------------------------------------------------------------------------- core


def test_zero_slices_give_an_empty_membership_and_an_info_frame_of_object_columns(before):
    membership, info = build_slices(before)
    assert membership.shape == (2, 0)
    assert info.empty and list(info.columns) == ["kind", "source"]
    assert all(d == np.dtype(object) for d in info.dtypes)  # float64 cannot take a kind


def test_analyze_gives_the_all_data_row_only(before):
    table = analyze(before)
    assert list(table.index) == [OVERALL]
    row = table.loc[OVERALL]
    assert row["kind"] == "overall" and row["n"] == 2 and row["accuracy"] == 0.5
    assert pd.isna(row["rank"])
    assert describe_priorities(table)  # a sentence, not an error


def test_compare_datasets_gives_all_data_and_mcnemar(before, after):
    table = compare_datasets(before, after)
    assert list(table.index) == [OVERALL]
    row = table.loc[OVERALL]
    assert row["kind"] == "overall"
    assert (row["n_before"], row["n_after"], row["n_paired"]) == (2, 2, 2)
    assert (row["accuracy_before"], row["accuracy_after"], row["delta"]) == (0.5, 1.0, 0.5)
    # one example went wrong -> right, none right -> wrong: b = 0, c = 1;
    # p = min(1, 2 * P[Binomial(1, 1/2) <= 0]) = min(1, 2 * 0.5) = 1
    assert (row["right_to_wrong"], row["wrong_to_right"]) == (0, 1)
    assert row["test"] == "mcnemar" and row["p_value"] == 1.0
    assert not row["significant"] and not row["worse_while_overall_better"]
    overall = compare_overall(table)
    assert overall["improved"] == overall["regressed"] == []
    assert overall["worse_while_overall_better"] == []
    assert list(review_order(table).index) == [OVERALL]
    assert find_regressions(table).empty
    assert len(change_chart(table).data) == 3  # one dumbbell line, before and after dots


def test_compare_tables_and_history_of_tables_without_slices(before, after):
    tables = [("v1", analyze(before)), ("v2", analyze(after))]
    table = compare_tables(tables[0][1], tables[1][1])
    assert list(table.index) == [OVERALL]
    assert table.loc[OVERALL, "kind"] == "overall"
    assert table.loc[OVERALL, ["n_before", "n_after"]].tolist() == [2, 2]
    history = iteration_history(tables)
    assert history["slice"].tolist() == [OVERALL, OVERALL]
    assert history["accuracy"].tolist() == [0.5, 1.0]
    assert len(history_chart(history).data) == 2  # accuracy and gap lines of All data


def test_charts_of_a_table_without_slices_are_empty(before):
    table = analyze(before)
    assert all(len(trace.x) == 0 for trace in accuracy_vs_hlp_chart(table).data)
    assert all(len(trace.x) == 0 for trace in priority_bubble_chart(table).data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_holds_the_all_data_row(before, fmt):
    table = analyze(before)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(to_csv(table))))
        assert [(r["name"], r["kind"], r["n"]) for r in rows] == [(OVERALL, "overall", "2")]
    elif fmt == "json":
        data = json.loads(to_json(table))
        assert data["overall"]["n"] == 2 and data["slices"] == []
        assert data == report_dict(table)
    elif fmt == "markdown":
        assert f"| – | {OVERALL} | 2 | 100.0% | 50.0% |" in to_markdown(table)
    else:
        page = to_html(table)
        assert f"<td>–</td><td>{OVERALL}</td><td>2</td>" in page


def test_the_duckdb_engine_gives_the_same_one_row_table(tmp_path, before):
    pytest.importorskip("duckdb")
    from slicewise.core import engine_duckdb as engine

    path = tmp_path / "before.csv"
    path.write_bytes(BEFORE)
    pd.testing.assert_frame_equal(engine.analyze_file_duckdb(path), analyze(before))


def test_suggested_slices_without_metadata_columns_find_nothing(before):
    from slicewise.core.discovery import suggest_slices

    found = suggest_slices(before)
    assert found.slices.empty


# ----------------------------------------------------------------------------- command line


def test_cli_compare_prints_all_data_and_exits_0(files):
    result = cli("compare", *files)
    assert result.exit_code == 0, result.output
    assert "All data: 50.0% -> 100.0% (+50.0 pts, mcnemar p=1)" in result.output


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_cli_compare_formats(files, fmt):
    result = cli("compare", *files, "--format", fmt, "--fail-on-regression", "0")
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["slices"] == []
        overall = data["overall"]
        assert (overall["accuracy_before"], overall["accuracy_after"]) == (0.5, 1.0)
        assert (overall["test"], overall["p_value"]) == ("mcnemar", 1.0)
    else:
        assert "| All data | 2 | 2 | 50.0% | 100.0% | +50.0 |" in result.stdout


@pytest.mark.parametrize("fmt", ["table", *FORMATS])
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_cli_analyze_every_format(files, fmt, engine):
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    result = cli("analyze", files[0], "--format", fmt, "--engine", engine)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["overall"]["accuracy"] == 0.5 and data["slices"] == []
    else:
        assert OVERALL in result.stdout
    if fmt == "table":
        assert "examples: 2   accuracy: 50.0%" in result.stdout


def test_numbers_hold_with_an_explicit_empty_slice_by(before, after):
    # slice_by=() and no tags: the paired sums still have an All data row
    table = compare_datasets(before, after, slice_by=())
    assert np.array_equal(table[["n_before", "n_after"]].to_numpy(), [[2, 2]])
