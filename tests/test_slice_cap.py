"""A cap on slices, checked before anything per slice is built, in every engine and the app.

Issue 15: ``--slice-by session`` on 1,000,000 unique values asked for 931 GiB (pandas) and was
killed at 18 GB (DuckDB); ``--slice-by label`` on 100,000 classes took 255 s and 19.7 GB.
Here: exactly the cap passes and one more slice is refused, with a message naming the file,
the column, its number of values and the cap, and saying how to bin; missing values count as
a slice; several columns count together; numbers are binned so they always pass; the cap is
set by ``--max-slices`` or ``SLICEWISE_MAX_SLICES``; the issue's two files are refused in under
10 s and 2 GB by both engines (a child process measured by its parent); the app's slice-by
chooser leaves out the columns over the cap and says which and why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pagetest import assert_ok, texts
from pagetest import run_page as app

from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.compare import compare_datasets, compare_slice_metrics
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.engine_duckdb import analyze_file_duckdb
from slicewise.core.errors import DataError, InvalidValueError, TooManySlicesError
from slicewise.core.limits import MAX_SLICES, MAX_SLICES_ENV, max_slices
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
N = 40


def small_frame() -> pd.DataFrame:
    """40 examples: device has 5 values, region 4 and blanks, session 40, snr 40 numbers."""
    i = np.arange(N)
    return pd.DataFrame(
        {
            "id": [f"e{k:02d}" for k in i],
            "label": np.where(i % 3 == 0, "dog", "cat"),
            "prediction": np.where(i % 4 == 0, "dog", "cat"),
            "device": [f"d{k % 5}" for k in i],
            "region": [None if k % 8 == 0 else f"r{k % 4}" for k in i],  # r0 at 4, 12, 20...
            "session": [f"s{k:03d}" for k in i],
            "snr": i * 0.5,
        }
    )


@pytest.fixture
def csv_file(tmp_path) -> Path:
    path = tmp_path / "calls.csv"
    small_frame().to_csv(path, index=False)
    return path


def run_engine(engine: str, path: Path, slice_by: list[str], cap: int | None) -> pd.DataFrame:
    if engine == "duckdb":
        return analyze_file_duckdb(path, slice_by=slice_by, max_slices=cap)
    return analyze(load_dataset(path), slice_by=slice_by, max_slices=cap)


def column_rows(table: pd.DataFrame) -> int:
    """Slices of the slice-by columns, also those shown once for having a twin's members."""
    rows = table[table["kind"] == "column"]
    twins = sum(len(s.split("; ")) for s in rows.get("same_as", ()) if s)  # not in compare
    return len(rows) + twins


REGION_SLICES = 5  # r0, r1, r2, r3 and "(missing)" (rows 0, 8, 16...)
ENGINES = ["pandas", "duckdb"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("columns", "slices"),
    [
        (["device"], 5),
        (["region"], REGION_SLICES),  # missing values are a slice of their own
        (["device", "region"], 5 + REGION_SLICES),  # columns count together
    ],
)
def test_exactly_the_cap_passes_and_one_more_slice_is_refused(csv_file, engine, columns, slices):
    table = run_engine(engine, csv_file, columns, slices)
    assert column_rows(table) == slices
    with pytest.raises(TooManySlicesError) as info:
        run_engine(engine, csv_file, columns, slices - 1)
    message = str(info.value)
    last = columns[-1]
    own = REGION_SLICES if last == "region" else 5
    assert message.startswith(f"calls.csv: cannot slice by {last!r}: it has ")
    assert f"{own} different values" in message
    assert f"over the cap of {slices - 1} slices" in message
    assert "bin it into a column with fewer values" in message and "--max-slices" in message
    if len(columns) > 1:
        assert "together with the 5 slices of the columns before it" in message
    assert isinstance(info.value, InvalidValueError) and isinstance(info.value, DataError)


@pytest.mark.parametrize("engine", ENGINES)
def test_numbers_are_binned_so_they_pass_a_small_cap(csv_file, engine):
    table = run_engine(engine, csv_file, ["snr"], 4)  # 40 values, 4 quantile bins
    assert column_rows(table) == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_the_environment_sets_the_cap(csv_file, engine, monkeypatch):
    monkeypatch.setenv(MAX_SLICES_ENV, "4")
    with pytest.raises(TooManySlicesError, match="over the cap of 4 slices"):
        run_engine(engine, csv_file, ["device"], None)
    monkeypatch.setenv(MAX_SLICES_ENV, "5")
    assert column_rows(run_engine(engine, csv_file, ["device"], None)) == 5


@pytest.mark.parametrize("text", ["lots", "0", "-3", "2.5"])
def test_a_bad_cap_in_the_environment_is_a_typed_error_naming_it(text, monkeypatch):
    monkeypatch.setenv(MAX_SLICES_ENV, text)
    with pytest.raises(InvalidValueError, match=MAX_SLICES_ENV):
        max_slices()


def test_the_default_cap_is_a_thousand(monkeypatch):
    monkeypatch.delenv(MAX_SLICES_ENV, raising=False)
    assert max_slices() == MAX_SLICES == 1000
    with pytest.raises(InvalidValueError, match="at least 1"):
        max_slices(0)


def test_compare_refuses_before_building_slices():
    frame = small_frame()
    mapping = ColumnMapping(id="id")
    before = dataset_from_frame(frame, mapping, name="v1.csv")
    after = dataset_from_frame(frame.assign(prediction="cat"), mapping, name="v2.csv")
    assert column_rows(compare_datasets(before, after, slice_by=["session"], max_slices=N)) == N
    with pytest.raises(
        TooManySlicesError,
        match=r"v1\.csv \+ v2\.csv: cannot slice by "
        r"'session': it has 40 different values",
    ):
        compare_datasets(before, after, slice_by=["session"], max_slices=N - 1)
    with pytest.raises(TooManySlicesError, match="over the cap of 39 slices"):
        compare_slice_metrics(
            before, after, metrics=["accuracy"], slice_by=["session"], max_slices=N - 1
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_the_cli_takes_max_slices_and_refuses_in_one_line(csv_file, engine):
    args = ["analyze", str(csv_file), "--slice-by", "device", "--engine", engine]
    assert CliRunner().invoke(main, [*args, "--max-slices", "5"]).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--max-slices", "4"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "calls.csv: cannot slice by 'device'" in result.output


def test_compare_in_the_cli_takes_max_slices(csv_file):
    result = CliRunner().invoke(
        main,
        ["compare", str(csv_file), str(csv_file), "--slice-by", "session", "--max-slices", "39"],
    )
    assert result.exit_code == 2
    assert "cannot slice by 'session': it has 40 different values" in result.output


# --------------------------------------------------------------------- the files

# A parent process runs the CLI and reports its wall time and the peak memory of its one
# child (ru_maxrss of RUSAGE_CHILDREN is in KiB on Linux): nothing else runs in it.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - start, "code": done.returncode,
                  "stderr": done.stderr, "peak_kib":
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""
MAX_SECONDS = 10
MAX_KIB = 2 * 1024 * 1024


def measured(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "slicewise.core.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def million_sessions(tmp_path_factory) -> Path:
    """1,000,000 examples of 3 classes, each with its own session id."""
    n = 1_000_000
    rng = np.random.default_rng(15)
    y = rng.choice(np.array(["a", "b", "c"]), n)
    p = np.where(rng.random(n) < 0.8, y, rng.choice(np.array(["a", "b", "c"]), n))
    path = tmp_path_factory.mktemp("cap") / "sessions.csv"
    pd.DataFrame(
        {
            "id": np.arange(n),
            "label": y,
            "prediction": p,
            "session": np.char.add("s", np.arange(n).astype(str)),
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def hundred_thousand_classes(tmp_path_factory) -> Path:
    """100,000 classes, two rows each: the first predicted right, the second as the next."""
    k = 100_000
    labels = [f"class_{i:06d}" for i in range(k)]
    path = tmp_path_factory.mktemp("cap") / "classes.csv"
    pd.DataFrame(
        {
            "id": range(2 * k),
            "label": labels + labels,
            "prediction": labels + labels[1:] + labels[:1],
        }
    ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("engine", ENGINES)
def test_a_million_unique_values_are_refused_quickly_and_small(million_sessions, engine):
    got = measured(
        "analyze",
        str(million_sessions),
        "--slice-by",
        "session",
        "--engine",
        engine,
        "--format",
        "json",
    )
    assert got["code"] == 2, got["stderr"]
    assert "sessions.csv: cannot slice by 'session': it has " in got["stderr"]
    assert "over the cap of 1,000 slices" in got["stderr"]
    assert got["seconds"] < MAX_SECONDS, got
    assert got["peak_kib"] < MAX_KIB, got


@pytest.mark.parametrize("engine", ENGINES)
def test_slicing_by_a_label_of_100000_classes_is_refused(hundred_thousand_classes, engine):
    got = measured(
        "analyze",
        str(hundred_thousand_classes),
        "--slice-by",
        "label",
        "--engine",
        engine,
        "--format",
        "json",
    )
    assert got["code"] == 2, got["stderr"]
    assert "classes.csv: cannot slice by 'label': it has " in got["stderr"]
    assert got["seconds"] < MAX_SECONDS, got
    assert got["peak_kib"] < MAX_KIB, got


@pytest.mark.parametrize("engine", ENGINES)
def test_the_per_class_report_of_100000_classes_stays_linear(hundred_thousand_classes, engine):
    # Without a slice-by the per-class table and the bounded confusion matrix are built
    # from per-class counts (tests/test_many_classes.py): 3-5 s and 0.3-0.4 GB here.
    got = measured("analyze", str(hundred_thousand_classes), "--engine", engine)
    assert got["code"] == 0, got["stderr"]
    assert got["seconds"] < 60, got
    assert got["peak_kib"] < MAX_KIB, got


# --------------------------------------------------------------------- the app


@pytest.fixture
def did(fresh) -> int:
    """calls.csv's frame in project 'Test', with 60 sessions instead of 40 (over 50)."""
    frame = pd.concat(
        [
            small_frame(),
            small_frame()
            .iloc[:20]
            .assign(id=[f"x{k:02d}" for k in range(20)], session=[f"t{k:02d}" for k in range(20)]),
        ],
        ignore_index=True,
    )
    store = Store(fresh)
    dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name="calls.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(project, "Calls", dataset, task=TaskSpec(), user="seed")


def test_the_chooser_leaves_out_columns_with_too_many_values_and_says_why(did):
    at = app("pages/3_Slices_vs_HLP.py", did)
    assert_ok(at, no_errors=True)
    options = at.multiselect(key="shared_slice_by").options
    assert "session" not in options
    assert {"device", "region", "snr", "label", "prediction"} <= set(options)
    assert "Not offered: session (60 values): over 50 values" in texts(at.caption)


def test_the_servers_cap_lowers_what_the_chooser_offers(did, monkeypatch):
    monkeypatch.setenv(MAX_SLICES_ENV, "4")
    at = app("pages/3_Slices_vs_HLP.py", did)
    assert_ok(at, no_errors=True)
    options = at.multiselect(key="shared_slice_by").options
    assert "device" not in options and "session" not in options  # 5 and 60 values
    assert "snr" in options  # binned
    note = texts(at.caption)
    assert "device (5 values)" in note and "session (60 values)" in note
    assert "over 4 values" in note
