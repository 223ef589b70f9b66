"""Without pyspark or Java, --engine spark says what to install (core.engine_spark.session).

Each case runs in a subprocess whose environment lacks the piece (``JAVA_HOME`` pointing
nowhere, pyspark hidden), so no Spark session of the test run is disturbed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

OPEN = (
    "from slicewise.core.engine_spark import open_source\n"
    "from slicewise.core.errors import DataError\n"
    "try:\n"
    "    with open_source({path!r}) as s: print('opened')\n"
    "except DataError as exc:\n"
    "    print(type(exc).__name__ + ': ' + str(exc))\n"
)


def _run(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("label,prediction\na,a\nb,a\n")
    return str(path)


@pytest.mark.parametrize("java_home", ["/nowhere", "/tmp"])
def test_java_home_without_java_names_it(csv_file, java_home):
    out = _run(OPEN.format(path=csv_file), JAVA_HOME=java_home, SPARK_REMOTE="")
    assert out.startswith("SparkUnavailableError: --engine spark needs Java 17")
    assert f"JAVA_HOME ({java_home}) holds no bin/java" in out


def test_no_java_on_the_path(csv_file):
    code = "import os; os.environ.pop('JAVA_HOME', None)\n" + OPEN.format(path=csv_file)
    out = _run(code, PATH="/nonexistent", SPARK_REMOTE="")
    assert "no java found" in out and "openjdk-17-jre-headless" in out


def test_without_pyspark(csv_file):
    code = "import sys; sys.modules['pyspark'] = None\n" + OPEN.format(path=csv_file)
    out = _run(code)
    assert out.startswith("SparkUnavailableError: --engine spark needs pyspark")


def test_cli_says_it_in_one_line(csv_file):
    done = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "analyze", csv_file, "--engine", "spark"],
        capture_output=True,
        text=True,
        env={**os.environ, "JAVA_HOME": "/nowhere", "SPARK_REMOTE": ""},
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "needs Java 17" in done.stderr and "JAVA_HOME (/nowhere)" in done.stderr
