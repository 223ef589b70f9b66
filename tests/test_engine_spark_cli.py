"""``slicewise analyze --engine spark`` prints the pandas engine's output (core.engine_spark).

The expected output is the same command with ``--engine pandas``; the runs share the test
run's local Spark session (in-process, through click's runner).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from spark_fixture import spark_fixture  # noqa: F401  (the fixture "spark")

from slicewise.core.cli import main

pytestmark = pytest.mark.spark


def _analyze(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["analyze", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("demo_data/speech_predictions.csv", ["--format", "csv"]),
        ("demo_data/inspection_predictions.csv", ["--format", "json", "--slice-by", "factory"]),
    ],
)
def test_same_output_as_pandas(spark, name, options):
    code, expected, _ = _analyze(name, "--engine", "pandas", *options)
    assert code == 0
    code, got, err = _analyze(name, "--engine", "spark", *options)
    assert code == 0, err
    assert got == expected


def test_a_bad_file_is_one_clear_line(spark, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("label,prediction\na,a\nb\nc,c\n")
    code, out, err = _analyze(path, "--engine", "spark")
    assert code != 0 and not out
    assert "Traceback" not in err
    assert "ragged.csv" in err and "line 3" in err


def test_a_folder_of_parquet_parts_gives_the_whole_files_table(spark, tmp_path):
    frame = pd.read_csv("demo_data/inspection_predictions.csv", dtype=str, keep_default_na=False)
    half = len(frame) // 2
    whole = tmp_path / "whole.parquet"
    frame.iloc[: 2 * half].to_parquet(whole, index=False)
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[half : 2 * half].to_parquet(folder / "part-1.parquet", index=False)
    options = ["--format", "csv", "--slice-by", "factory"]
    code, expected, _ = _analyze(whole, "--engine", "pandas", *options)
    assert code == 0
    code, got, err = _analyze(f"{folder}/", "--engine", "spark", *options)
    assert code == 0, err
    assert got == expected


def test_java_start_up_lines_stay_off_the_terminal(tmp_path):
    # A fresh process starts its own JVM: its stderr holds slicewise's lines only.
    pytest.importorskip("pyspark")
    path = tmp_path / "p.csv"
    path.write_text("label,prediction\na,a\nb,a\na,b\n")
    done = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "analyze", str(path), "--engine", "spark"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "label" in done.stdout or "overall" in done.stdout.lower()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert all(line.startswith("slicewise") for line in lines), lines
