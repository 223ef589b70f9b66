"""``slicewise analyze --engine``: every engine prints the pandas engine's report.

The pandas engine's output (JSON or CSV, byte for byte) is the reference each engine is
held to; bad options for an engine give one clear line (exit code 2). ``--engine auto``
is checked against the rule its help states, with the available memory pinned.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("duckdb")

from slicewise.core.cli import options  # noqa: E402
from slicewise.core.cli.group import main  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "demo_data"


def run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["analyze", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def report(path: Path, engine: str, fmt: str, *options) -> str:
    code, out, err = run(path, "--engine", engine, "--format", fmt, *options)
    assert code == 0, err
    return out


@pytest.mark.parametrize("engine", ["stream", "duckdb"])
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("inspection_predictions.csv", ("--slice-by", "factory", "--slice-by", "camera")),
        ("speech_predictions.csv", ("--slice-by", "device")),  # a text task
        ("speech_predictions.csv", ("--task", "classification", "--slice-by", "device")),
    ],
)
def test_json_reports_are_the_pandas_engines(engine, name, options):
    expected = report(DEMO / name, "pandas", "json", *options)
    got = report(DEMO / name, engine, "json", *options)
    assert got == expected
    parsed = json.loads(got)
    assert parsed  # a real report, not an empty document


def test_csv_report_of_a_parquet_file(tmp_path):
    frame = pd.read_csv(DEMO / "inspection_predictions.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "inspection.parquet"
    frame.to_parquet(path, index=False)
    expected = report(path, "pandas", "csv", "--slice-by", "camera")
    assert report(path, "stream", "csv", "--slice-by", "camera") == expected
    # Hand count: the CSV's "All data" row holds every example.
    table = pd.read_csv(io.StringIO(expected), index_col="name")
    assert table.loc["All data", "n"] == len(frame)


def test_a_binary_task_with_a_positive_class_and_dropped_rows(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_text(
        "id,label,prediction,group\n"
        + "".join(f"{i},{i % 2},{(i // 3) % 2},{'ab'[i % 2]}\n" for i in range(40))
        + "40,,1,a\n",
        encoding="utf-8",
    )
    args = ("--positive", "1", "--drop-missing", "--slice-by", "group")
    assert report(path, "stream", "json", *args) == report(path, "pandas", "json", *args)


def test_text_options_reach_the_streaming_engine(tmp_path):
    path = tmp_path / "speech.csv"
    path.write_text(
        "label,prediction\nTurn On,turn on\nhello world,Hello world!\nbye,by\n", encoding="utf-8"
    )
    for extra in ((), ("--keep-case",), ("--keep-punctuation",)):
        pandas_out = report(path, "pandas", "json", "--task", "text", *extra)
        assert report(path, "stream", "json", "--task", "text", *extra) == pandas_out
        inferred = report(path, "pandas", "json", *extra)
        assert report(path, "stream", "json", *extra) == inferred


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sheet", "Sheet1"), "--engine stream reads CSV/TSV and Parquet; use --engine pandas"),
        (("--annotations", "votes.csv"), "--engine stream reads one file; use --engine pandas"),
        (("--encoding", "latin-1"), "reads UTF-8 files, not latin-1"),
    ],
)
def test_options_an_engine_cannot_honour_give_one_line(args, message):
    code, out, err = run(DEMO / "inspection_predictions.csv", "--engine", "stream", *args)
    assert code == 2 and out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_workbook_on_the_streaming_engine_names_the_pandas_engine(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    code, _, err = run(path, "--engine", "stream")
    assert code == 2 and "--engine pandas" in err and "Traceback" not in err


def test_spark_without_pyspark_gives_a_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "slicewise.core.engine_spark", None)  # import fails
    code, _, err = run(DEMO / "inspection_predictions.csv", "--engine", "spark")
    assert code == 2
    assert "--engine spark cannot start" in err and "--engine stream or pandas" in err


def test_no_progress_line_when_stderr_is_not_a_terminal():
    code, _, err = run(DEMO / "inspection_predictions.csv", "--engine", "stream")
    assert code == 0
    assert "rows read" not in err and "\r" not in err


@pytest.mark.parametrize(
    ("content", "size", "available", "expected"),
    [
        (b"label,prediction\n", 10_000_000, 8_000_000_000, "pandas"),  # 60 MB of 4 GB
        (b"label,prediction\n", 1_000_000_000, 8_000_000_000, "stream"),  # 6 GB > 4 GB
        (b"PAR1", 100_000_000, 8_000_000_000, "pandas"),  # 3 GB < 4 GB
        (b"PAR1", 200_000_000, 8_000_000_000, "stream"),  # 6 GB > 4 GB
        (b"PK\x03\x04", 10**12, 8_000_000_000, "pandas"),  # only pandas reads workbooks
        (b"label,prediction\n", 10**12, None, "pandas"),  # memory unknown
    ],
)
def test_auto_streams_files_whose_table_outgrows_half_the_memory(
    tmp_path, monkeypatch, content, size, available, expected
):
    path = tmp_path / "f.bin"
    with path.open("wb") as fh:
        fh.write(content)
        fh.truncate(size)  # sparse: no disk used
    monkeypatch.setattr(options, "available_memory", lambda: available)
    assert options.choose_engine("auto", path) == expected
    assert options.choose_engine("duckdb", path) == "stream"
    assert options.choose_engine("pandas", path) == "pandas"


def test_available_memory_reads_proc_meminfo():
    found = options.available_memory()
    if Path("/proc/meminfo").exists():
        assert found is not None and found > 0


def test_auto_falls_back_to_pandas_for_options_only_pandas_honours(monkeypatch):
    # With no memory to spare, auto would stream this file; --baseline-predictions needs the
    # pandas engine, which auto then runs instead of refusing (--engine stream refuses).
    monkeypatch.setattr(options, "available_memory", lambda: 1)
    path = DEMO / "speech_predictions.csv"
    assert options.choose_engine("auto", path) == "stream"
    old = ("--baseline-predictions", DEMO / "speech_predictions_retrained.csv")
    expected = report(path, "pandas", "json", *old)
    assert report(path, "auto", "json", *old) == expected
    code, _, err = run(path, "--engine", "stream", *old)
    assert code == 2 and "--engine pandas" in err


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    "options",
    [
        ("--task", "binary", "--positive", "bird", "--drop-missing"),
        ("--task", "binary", "--positive", "bird"),
    ],
    ids=["rows left out", "all rows kept"],
)
def test_an_absent_positive_class_is_refused_as_the_pandas_engine_refuses_it(
    kind, options, tmp_path
):
    # Labels first met as zeta, alpha (not in alphabetical order); one row misses its label.
    df = pd.DataFrame(
        {
            "label": ["zeta", "alpha", "zeta", None if "--drop-missing" in options else "zeta"],
            "prediction": ["zeta", "zeta", "mid", "zeta"],
        }
    )
    path = tmp_path / f"pos.{kind}"
    df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path, index=False)
    expected = run(path, "--engine", "pandas", *options)
    assert expected[0] == 2 and "classes: 'zeta', 'alpha'" in expected[2]
    assert ("left out 1 of 4 rows" in expected[2]) == ("--drop-missing" in options)
    assert run(path, "--engine", "stream", *options) == expected
