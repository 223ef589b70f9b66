"""A tag called "All data" or "No tag" is a tag: its own row, never the overall or untagged row.

Before, such a tag crashed ``analyze`` (a second "All data" row) or wrote its numbers under
the overall row's name in reports. Now the tag's row is ``<tag> (tag)`` (core.slice_names)
in every engine, table, export and command.

The file, by hand (tag A, tag B are the two parametrized tag names):

    id label prediction A B   correct
    1  a     a          x .   yes
    2  b     a          x x   no
    3  a     a          . .   yes
    4  b     b          . x   yes
    5  a     b          x .   no
    6  b     b          . .   yes

All data: n 6, accuracy 4/6. A: rows 1, 2, 5 -> n 3, accuracy 1/3. B: rows 2, 4 -> n 2,
accuracy 1/2. No tag: rows 3, 6 -> n 2, accuracy 1.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.compare import compare_datasets, compare_overall, compare_tables
from slicewise.core.dataset import load_dataset
from slicewise.core.report import report_dict, to_csv, to_html, to_json, to_markdown
from slicewise.core.slice_names import (
    OVERALL,
    UNTAGGED,
    is_reserved_name,
    settings_by_row,
    tag_slice_names,
)

EXPECTED = {"overall": (6, 4 / 6), "A": (3, 1 / 3), "B": (2, 1 / 2), "untagged": (2, 1.0)}
NAMES = [
    ("All data", "No tag"),
    ("all data", "no tag"),
    ("ALL_DATA", "No_Tag"),
    ("All  data", "no   tag"),
    (" All data ", " No tag "),
]


def csv_bytes(tag_a: str, tag_b: str, prediction: str = "aaabbb") -> bytes:
    rows = zip(range(1, 7), "ababab", prediction, "xx..x.", ".x.x..", strict=True)
    lines = [f"id,label,prediction,{tag_a},{tag_b}"]
    lines += [f"{i},{y},{p},{a.strip('.')},{b.strip('.')}" for i, y, p, a, b in rows]
    return ("\n".join(lines) + "\n").encode()


def data(tag_a: str, tag_b: str, prediction: str = "aaabbb"):
    return load_dataset(csv_bytes(tag_a, tag_b, prediction), name="tags.csv")


@pytest.fixture(params=NAMES, ids=[repr(n) for n in NAMES])
def dataset(request):
    return data(*request.param)


def tag_rows(dataset) -> tuple[str, str]:
    """The rows of tags A and B, as the reader is promised: '<tag> (tag)'."""
    a, b = (str(t) for t in dataset.tags.columns)
    return f"{a} (tag)", f"{b} (tag)"


def check_rows(rows: dict[str, tuple[str, int]], dataset) -> None:
    """``rows``: name -> (kind, n) as an export shows them."""
    row_a, row_b = tag_rows(dataset)
    assert rows[OVERALL] == ("overall", EXPECTED["overall"][0])
    assert rows[UNTAGGED] == ("untagged", EXPECTED["untagged"][0])
    assert rows[row_a] == ("tag", EXPECTED["A"][0])
    assert rows[row_b] == ("tag", EXPECTED["B"][0])
    assert len(rows) == 4


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", [n for pair in NAMES for n in pair] + ["no_tag", "NO TAG"])
def test_names_that_read_as_a_reserved_row_are_reserved(name):
    assert is_reserved_name(name)


@pytest.mark.parametrize("name", ["All data!", "data", "No tags", "untagged", "All", ""])
def test_other_names_are_not(name):
    assert not is_reserved_name(name)


def test_a_tag_already_called_like_the_renamed_one_keeps_its_name():
    names = tag_slice_names(["All data (tag)", "All data", "noisy", "noisy"])
    assert names == {
        "All data (tag)": "All data (tag)",
        "All data": "All data (tag) (2)",
        "noisy": "noisy",
    }


def test_the_file_keeps_the_tag_names_as_written(dataset):
    # the loader's tags are the file's; only the table rows are renamed
    assert all(is_reserved_name(t) for t in dataset.tags.columns)


# ----------------------------------------------------------------------------- analyze


def test_analyze_keeps_the_overall_and_untagged_rows_apart_from_the_tags(dataset):
    table = analyze(dataset)
    row_a, row_b = tag_rows(dataset)
    for name, key in ((OVERALL, "overall"), (row_a, "A"), (row_b, "B"), (UNTAGGED, "untagged")):
        n, accuracy = EXPECTED[key]
        assert table.loc[name, "n"] == n, name
        assert table.loc[name, "accuracy"] == pytest.approx(accuracy), name
    assert table["kind"].to_dict() == {
        OVERALL: "overall",
        row_a: "tag",
        row_b: "tag",
        UNTAGGED: "untagged",
    }


def test_hlp_and_weights_name_the_rows_and_stored_tag_settings_follow_their_tag(dataset):
    row_a, _ = tag_rows(dataset)
    tag_a = str(dataset.tags.columns[0])
    # the CLI and analyze take row names: "All data" is the overall row
    table = analyze(dataset, hlp={OVERALL: 0.9, row_a: 0.8}, importance={row_a: 5})
    assert table.loc[OVERALL, "hlp"] == 0.9 and table.loc[row_a, "hlp"] == 0.8
    assert table.loc[row_a, "importance"] == 5 and table.loc[OVERALL, "importance"] == 3
    assert table.loc[row_a, "rank"] == 1 and pd.isna(table.loc[OVERALL, "rank"])
    # the app stores settings per tag: re-keyed, a tag's HLP never reaches All data
    rows = settings_by_row({tag_a: 0.8, "gone": 0.7}, dataset.tags.columns)
    assert rows == {row_a: 0.8, "gone": 0.7}
    assert settings_by_row({OVERALL: 0.5, UNTAGGED: 0.5}, ["noisy"]) == {}


def test_the_duckdb_engine_names_and_counts_the_rows_alike(dataset, tmp_path):
    pytest.importorskip("duckdb")
    from slicewise.core.engine_duckdb import analyze_file_duckdb

    path = tmp_path / "tags.csv"
    path.write_bytes(csv_bytes(*(str(t) for t in dataset.tags.columns)))
    pd.testing.assert_frame_equal(analyze_file_duckdb(path), analyze(dataset))


def test_a_tag_named_like_a_column_slice_and_a_reserved_name_together(tmp_path):
    text = b"label,prediction,device,All data,device = ios\na,a,ios,x,x\nb,a,web,,\n"
    ds = load_dataset(text, name="c.csv")
    table = analyze(ds, slice_by=["device"])
    # The three slices of row 0 have the same members: shown once, under the first name.
    assert table["kind"].to_dict() == {
        OVERALL: "overall",
        "All data (tag)": "tag",
        "device = web": "column",
        UNTAGGED: "untagged",
    }
    assert table.loc["All data (tag)", "same_as"] == "device = ios; device = ios (2)"
    assert table.loc[OVERALL, "n"] == 2 and table.loc["All data (tag)", "n"] == 1


# ----------------------------------------------------------------------------- compare


def test_compare_keeps_the_rows_apart(dataset):
    tags = [str(t) for t in dataset.tags.columns]
    after = data(*tags, prediction="ababab")  # every prediction right
    table = compare_datasets(dataset, after)
    rows = {
        n: (k, int(v)) for n, k, v in zip(table.index, table["kind"], table["n_after"], strict=True)
    }
    check_rows(rows, dataset)
    row_a, _ = tag_rows(dataset)
    assert table.loc[OVERALL, "accuracy_before"] == pytest.approx(4 / 6)
    assert table.loc[row_a, "accuracy_before"] == pytest.approx(1 / 3)
    assert table.loc[OVERALL, "accuracy_after"] == table.loc[row_a, "accuracy_after"] == 1
    assert compare_overall(table)["n_before"] == 6
    stored = compare_tables(analyze(dataset), analyze(after))
    assert stored["kind"].to_dict() == table["kind"].to_dict()
    assert stored.loc[row_a, "n_before"] == 3


# ----------------------------------------------------------------------------- exports


def test_csv_export(dataset):
    rows = list(csv.DictReader(io.StringIO(to_csv(analyze(dataset)))))
    check_rows({r["name"]: (r["kind"], int(r["n"])) for r in rows}, dataset)


def test_json_export(dataset):
    table = analyze(dataset)
    data_ = json.loads(to_json(table))
    assert data_ == report_dict(table)
    assert data_["overall"]["n"] == 6
    assert data_["overall"]["accuracy"] == pytest.approx(4 / 6)
    rows = {s["name"]: (s["kind"], s["n"]) for s in data_["slices"]}
    check_rows({**rows, OVERALL: ("overall", data_["overall"]["n"])}, dataset)


def table_cells(text: str, row: str, cell: str) -> dict[str, list[str]]:
    """Cells of the rows of a Markdown or HTML table, by the row's name cell (the 2nd)."""
    out = {}
    for line in re.findall(row, text):
        cells = [c.strip() for c in re.findall(cell, line)]
        out[cells[1].replace("\\", "")] = cells
    return out


def test_markdown_export(dataset):
    text = to_markdown(analyze(dataset))
    rows = table_cells(text, r"(?m)^\|.*\|$", r"(?<=\|)([^|]*?)(?=\|)")
    rows = {k: v for k, v in rows.items() if k in (OVERALL, UNTAGGED, *tag_rows(dataset))}
    got = {name: int(cells[2]) for name, cells in rows.items() if name != "---"}
    row_a, row_b = tag_rows(dataset)
    assert got == {OVERALL: 6, row_a: 3, row_b: 2, UNTAGGED: 2}


def test_html_export(dataset):
    text = to_html(analyze(dataset))
    rows = table_cells(text, r"<tr><td>.*?</tr>", r"<td>(.*?)</td>")
    got = {name: int(cells[2]) for name, cells in rows.items()}
    row_a, row_b = tag_rows(dataset)
    assert got == {OVERALL: 6, row_a: 3, row_b: 2, UNTAGGED: 2}


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def path(dataset, tmp_path):
    out = tmp_path / "tags.csv"
    out.write_bytes(csv_bytes(*(str(t) for t in dataset.tags.columns)))
    return out


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_cli_analyze_json(dataset, path, engine):
    if engine == "duckdb":
        pytest.importorskip("duckdb")
    row_a, _ = tag_rows(dataset)
    result = cli("analyze", path, "--format", "json", "--engine", engine, "--hlp", f"{row_a}=80%")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["overall"]["n"] == 6 and out["overall"]["hlp"] is None
    rows = {s["name"]: (s["kind"], s["n"]) for s in out["slices"]}
    check_rows({**rows, OVERALL: ("overall", 6)}, dataset)
    assert next(s for s in out["slices"] if s["name"] == row_a)["hlp"] == 0.8


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "html"])
def test_cli_analyze_other_formats(dataset, path, fmt):
    result = cli("analyze", path, "--format", fmt)
    assert result.exit_code == 0, result.output
    shown = result.stdout.replace("\\", "")  # Markdown escapes "_"
    assert all(name in shown for name in tag_rows(dataset))
    if fmt == "table":
        assert "examples: 6   accuracy: 66.7%" in result.stdout


def test_cli_compare_json(dataset, path, tmp_path):
    after = tmp_path / "after.csv"
    after.write_bytes(csv_bytes(*(str(t) for t in dataset.tags.columns), prediction="ababab"))
    result = cli("compare", path, after, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["overall"]["n_before"] == 6 and out["overall"]["kind"] == "overall"
    rows = {s["name"]: (s["kind"], s["n_before"]) for s in out["slices"]}
    check_rows({**rows, OVERALL: ("overall", 6)}, dataset)
