import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture
def csv_file(tmp_path):
    df = pd.DataFrame(
        {
            "id": range(10),
            "y_true": list("aaaaabbbbb"),
            "y_pred": list("aaabbbbbba"),
            "human": list("aaaaabbbba"),
            "noisy": ["yes", "yes", "no", "yes", "yes", "no", "no", "no", "no", "yes"],
            "region": ["EU"] * 5 + ["US"] * 5,
        }
    )
    path = tmp_path / "preds.csv"
    df.to_csv(path, index=False)
    return path


def test_analyze_json_has_the_documented_keys_and_values(csv_file):
    result = run("analyze", csv_file, "--format", "json", "--slice-by", "region")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["overall"]) >= {"n", "accuracy", "hlp"}
    assert data["overall"]["n"] == 10
    assert data["overall"]["accuracy"] == pytest.approx(7 / 10)
    assert data["overall"]["hlp"] == pytest.approx(9 / 10)
    noisy = next(s for s in data["slices"] if s["name"] == "noisy")
    # noisy rows 0, 1, 3, 4, 9: predictions a, a, b, b, a vs labels a, a, a, a, b
    assert noisy["n"] == 5
    assert noisy["accuracy"] == pytest.approx(2 / 5)
    assert noisy["share"] == pytest.approx(0.5)
    for key in (
        "name",
        "n",
        "share",
        "accuracy",
        "accuracy_ci_low",
        "accuracy_ci_high",
        "hlp",
        "gap",
        "error_rate",
        "error_share",
        "potential_gain",
        "rank",
        "significant",
    ):
        assert key in noisy
    names = [s["name"] for s in data["slices"]]
    assert "region = EU" in names


def test_analyze_binary_adds_precision_recall(csv_file):
    result = run("analyze", csv_file, "--positive", "a", "--format", "json")
    assert result.returncode == 0, result.stderr
    overall = json.loads(result.stdout)["overall"]
    # positives a: labels rows 0-4, predicted a at rows 0, 1, 2, 9
    assert overall["precision"] == pytest.approx(3 / 4)
    assert overall["recall"] == pytest.approx(3 / 5)


def test_hlp_option_overrides_and_marks_source(csv_file):
    result = run("analyze", csv_file, "--hlp", "noisy=95%", "--format", "json")
    noisy = next(s for s in json.loads(result.stdout)["slices"] if s["name"] == "noisy")
    assert noisy["hlp"] == pytest.approx(0.95)
    assert noisy["hlp_source"] == "user"


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "html"])
def test_every_format_renders(csv_file, fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    result = run("analyze", csv_file, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "noisy" in text


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", (), "empty"),
        ("a,b\n1,2\n", (), "no label column"),
        ("label,prediction\n", (), "no data rows"),
        ("label,prediction\na,b\n", ("--hlp", "x=2"), "between 0 and 1"),
        ("label,prediction\na,b\n", ("--slice-by", "nope"), "cannot slice by"),
        ("label,prediction\na,\nb,b\n", (), "missing in 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run("analyze", path, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = run("analyze", tmp_path / "nope.csv")
    assert result.returncode == 2
    assert "nope.csv" in result.stderr


def test_demo_command_creates_the_demo_project(tmp_path):
    import os

    db = tmp_path / "demo.db"
    env = {**os.environ, "SLICEWISE_DB": str(db)}
    result = run("demo", env=env)
    assert result.returncode == 0, result.stderr
    from slicewise.core.store import Store

    datasets = Store(db).list_datasets()
    assert len(datasets) == 3  # inspection, speech, retrained speech
    assert datasets["row_count"].min() > 100


MANY = 3000


@pytest.fixture
def many_slices_csv(tmp_path):
    """A file with one slice per region: its report is larger than a pipe's buffer."""
    path = tmp_path / "many.csv"
    pd.DataFrame(
        {
            "label": ["a", "b"] * (MANY // 2),
            "prediction": ["a"] * MANY,
            "region": [f"r{i:04d}" for i in range(MANY)],
        }
    ).to_csv(path, index=False)
    return path


def test_read_only_commands_deliver_all_output_before_their_fast_exit(many_slices_csv):
    # All of the JSON must be flushed before the process leaves with os._exit.
    result = run(
        "analyze",
        many_slices_csv,
        "--slice-by",
        "region",
        "--format",
        "json",
        "--max-slices",
        str(MANY),
    )  # over the default cap of 1,000 slices
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 65536
    data = json.loads(result.stdout)
    assert len([s for s in data["slices"] if s["name"].startswith("region")]) == MANY


def test_a_reader_that_stops_early_gets_no_traceback(many_slices_csv):
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slicewise.core.cli",
            "analyze",
            str(many_slices_csv),
            "--slice-by",
            "region",
            "--format",
            "csv",
            "--max-slices",
            str(MANY),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout.read(10) == b'"name","ki'  # like `| head -c 10`; all quoted
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert "Traceback" not in err
