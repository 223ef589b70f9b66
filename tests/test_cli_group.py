"""core.cli.group: a path the user cannot write or read is a one-line error, exit code 2."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo_data" / "inspection_predictions.csv"


def _slicewise(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", *args], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", str(DEMO), "--format", "html", "--output", "{missing}/report.html"],
        ["analyze", str(DEMO), "--format", "json", "--output", "{missing}/report.json"],
        ["tag", str(DEMO), "--rule", "camera == cam-3", "--tag", "t", "-o", "{missing}/o.csv"],
    ],
    ids=["analyze html", "analyze json", "tag -o"],
)
def test_output_into_a_folder_that_does_not_exist_names_the_path(tmp_path, args):
    missing = tmp_path / "no such folder"
    result = _slicewise(*(a.format(missing=missing) for a in args))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(missing) in lines[0] and "No such file or directory" in lines[0]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists()


def test_output_onto_a_folder_names_the_path(tmp_path):
    result = _slicewise("analyze", str(DEMO), "--format", "json", "--output", str(tmp_path))
    assert result.returncode == 2
    assert str(tmp_path) in result.stderr and "is a directory" in result.stderr.lower()
