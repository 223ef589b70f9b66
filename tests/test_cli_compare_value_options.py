"""``compare`` and ``drift`` take --na-values/--decimal/--thousands as one ValueOptions.

Both commands declare the cell options with the shared ``@packed_value_options``; these
tests check the options keep their place in each command, reach the reader parsed, and
change what the commands read.
"""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from slicewise.core.cli import compare as compare_module
from slicewise.core.cli import main
from slicewise.core.cli.options import ReadOptions, ValueOptions, packed_value_options


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (ValueOptions(), {"na_values": (), "decimal": None, "thousands": None}),
        (ValueOptions("", ".", ","), {"na_values": (), "decimal": ".", "thousands": ","}),
        (
            ValueOptions(" NA, x,,x ", ",", "."),
            {"na_values": ("NA", "x"), "decimal": ",", "thousands": "."},
        ),
    ],
    ids=["nothing-given", "marks-only", "tokens-trimmed-and-deduplicated"],
)
def test_value_options_reading_parses_tokens_and_keeps_the_marks(given, want):
    assert given.reading() == want


def test_read_options_values_are_its_cell_options_alone():
    read = ReadOptions(label="y", na_values="NA", decimal=",", thousands=" ")
    assert read.values == ValueOptions(na_values="NA", decimal=",", thousands=" ")


def test_packed_value_options_arrive_as_one_value_options():
    seen = {}

    @click.command()
    @click.argument("file")
    @packed_value_options
    @click.option("--top", type=int, default=3)
    def command(file, values, top):
        seen.update(file=file, values=values, top=top)

    args = ["f.csv", "--na-values", "NA", "--thousands", "'", "--top", "7"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    assert seen == {"file": "f.csv", "values": ValueOptions("NA", None, "'"), "top": 7}


#: Each command's parameters around the cell options, in --help order (as released).
NEIGHBOURS = {
    "drift": ["bins", "sheet", "fmt", "na_values", "decimal", "thousands", "output"],
    "compare": ["gate_classes", "output", "na_values", "decimal", "thousands", "max_slices"],
}


@pytest.mark.parametrize("command", sorted(NEIGHBOURS))
def test_cell_options_keep_their_place_names_and_choices(command):
    params = [p.name for p in main.commands[command].params]
    start = params.index(NEIGHBOURS[command][0])
    assert params[start : start + len(NEIGHBOURS[command])] == NEIGHBOURS[command]
    by_name = {p.name: p for p in main.commands[command].params}
    assert by_name["na_values"].opts == ["--na-values"] and by_name["na_values"].metavar == "TOKENS"
    assert list(by_name["decimal"].type.choices) == [".", ","]
    assert list(by_name["thousands"].type.choices) == [",", ".", " ", "'"]


def _write(path, rows):
    path.write_text("id,label,prediction\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        ([], {"na_values": (), "decimal": None, "thousands": None}),
        (
            ["--na-values", "NA,n/a", "--decimal", ",", "--thousands", "."],
            {"na_values": ("NA", "n/a"), "decimal": ",", "thousands": "."},
        ),
    ],
    ids=["defaults", "all-given"],
)
def test_compare_hands_the_cell_options_to_both_loads(tmp_path, monkeypatch, extra, want):
    calls = []

    def spy(path, mapping, **kwargs):
        calls.append((path.name, kwargs))
        raise compare_module.DataError("stop here")

    monkeypatch.setattr(compare_module, "load_dataset", spy)
    before = _write(tmp_path / "before.csv", ["1,a,a"])
    after = _write(tmp_path / "after.csv", ["1,a,a"])
    result = CliRunner().invoke(main, ["compare", str(before), str(after), *extra])
    assert result.exit_code == 2 and "stop here" in result.output
    name, kwargs = calls[0]
    assert name == "before.csv"
    assert {k: kwargs[k] for k in want} == want
    assert kwargs["missing"] == "fail" and kwargs["encoding"] is None and kwargs["sep"] is None


@pytest.mark.parametrize(
    ("extra", "exit_code", "n_before"),
    [
        # NA is a value (a class) unless --na-values says otherwise.
        (["--drop-missing"], 0, 4),
        (["--na-values", "NA", "--drop-missing"], 0, 3),
        (["--na-values", "common", "--drop-missing"], 0, 3),
        (["--na-values", "NA"], 2, None),
    ],
    ids=["NA-a-class", "NA-missing-dropped", "common-tokens-dropped", "NA-missing-refused"],
)
def test_compare_reads_na_values_as_missing_only_when_told(tmp_path, extra, exit_code, n_before):
    rows = ["1,a,a", "2,b,a", "3,NA,a", "4,b,b"]
    before = _write(tmp_path / "before.csv", rows)
    after = _write(tmp_path / "after.csv", rows)
    args = ["compare", str(before), str(after), "--format", "json", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == exit_code, result.output
    if exit_code == 2:
        assert "before.csv" in result.output and "row 4" in result.output
    else:
        overall = json.loads(result.stdout)["overall"]
        assert overall["n_before"] == n_before == overall["n_after"]


@pytest.mark.parametrize(
    ("extra", "missing"),
    [([], 0.0), (["--na-values", "NA"], 2 / 8), (["--na-values", "NA,none"], 3 / 8)],
    ids=["NA-a-category", "NA-missing", "two-tokens-missing"],
)
def test_drift_reads_na_values_as_missing_only_when_told(tmp_path, extra, missing):
    cells = ["a", "NA", "b", "none", "a", "NA", "b", "a"]
    ref = tmp_path / "ref.csv"
    prod = tmp_path / "prod.csv"
    ref.write_text("colour\n" + "".join(f"{c}\n" for c in cells), encoding="utf-8")
    prod.write_text("colour\n" + "a\nb\n" * 4, encoding="utf-8")
    args = ["drift", str(ref), str(prod), "--format", "json", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    (feature,) = json.loads(result.stdout)["features"]
    assert feature["feature"] == "colour"
    assert feature["missing_reference"] == pytest.approx(missing)
    assert feature["missing_production"] == 0.0
