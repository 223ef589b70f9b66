"""``slicewise analyze --engine spark`` prints the pandas engine's output (core.engine_spark).

The expected output is the same command with ``--engine pandas``; the runs share the test
run's local Spark session (in-process, through click's runner).
"""

from __future__ import annotations

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
