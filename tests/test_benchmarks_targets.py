"""The speed-target harness (benchmarks/targets.py): its peer computes the same counts, its
measurements and table are sound. No timing is asserted: the machine is shared."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from benchmarks import target_data, targets
from benchmarks.generate import TAGS, make_predictions
from benchmarks.peers import PEER_COUNTS, peer_sql

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[pd.DataFrame, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("bench")
    frame = make_predictions(600, seed=3)
    frame.loc[5, "human_label"] = None  # a row without a human label
    paths = {"csv": folder / "p.csv", "parquet": folder / "p.parquet"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"], index=False)
    return frame, paths


def _expected(rows: pd.DataFrame) -> tuple[int, ...]:
    """The peer's counts of ``rows``, computed with pandas (an independent path)."""
    c = rows["label"] == rows["prediction"]
    hn = rows["human_label"].notna()
    hc = rows["human_label"] == rows["label"]
    return (len(rows), c.sum(), hn.sum(), hc.sum(), (c & ~hc).sum(), (hc & ~c).sum())


def _peer_rows(path: Path) -> pd.DataFrame:
    sql = peer_sql(str(path), tags=TAGS, slice_by=["factory"], bins=["snr_db"])
    return duckdb.connect().execute(sql).df()


def _one_set(got: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of the grouping set of ``key`` alone (every other key NULL)."""
    keys = [c for c in got.columns if c not in (*PEER_COUNTS, "grouping_id")]
    others = got[[k for k in keys if k != key]].isna().all(axis=1)
    return got[others & got[key].notna()]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_peer_counts_every_slice_as_pandas_does(small, kind):
    frame, paths = small
    got = _peer_rows(paths[kind])
    counts = list(PEER_COUNTS)
    overall = got[got.drop(columns=[*counts, "grouping_id"]).isna().all(axis=1)]
    assert tuple(overall[counts].iloc[0]) == _expected(frame)
    for i, tag in enumerate(TAGS):
        rows = _one_set(got, f"t{i}")
        assert tuple(rows[rows[f"t{i}"]][counts].iloc[0]) == _expected(frame[frame[tag] == "x"])
    untagged = _one_set(got, "untagged")
    none = ~(frame[TAGS] == "x").any(axis=1)
    assert tuple(untagged[untagged["untagged"]][counts].iloc[0]) == _expected(frame[none])
    by_factory = _one_set(got, "s0").set_index("s0")
    for value, rows in frame.groupby("factory"):
        assert tuple(by_factory.loc[value, counts]) == _expected(rows)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_peer_bins_and_confusion_match_pandas(small, kind):
    frame, paths = small
    got = _peer_rows(paths[kind])
    bins = _one_set(got, "b0").set_index("b0")["n"].sort_index()
    # pandas' quantile bins: the same edges (linear interpolation), left-closed like ours.
    edges = np.quantile(frame["snr_db"], [0.25, 0.5, 0.75])
    codes = np.searchsorted(edges, frame["snr_db"], side="right")
    assert bins.tolist() == np.bincount(codes, minlength=4).tolist()
    assert sorted(bins.tolist()) == sorted(pd.qcut(frame["snr_db"], 4).value_counts().tolist())
    pairs = got[got["y"].notna() & got["p"].notna()].set_index(["y", "p"])["n"]
    crosstab = pd.crosstab(frame["label"], frame["prediction"]).stack()
    assert pairs.sort_index().to_dict() == crosstab[crosstab > 0].to_dict()


def test_prediction_files_are_one_table_in_two_formats_and_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(target_data, "CHUNK", 400)  # three chunks: ids must stay unique
    paths = target_data.prediction_files(tmp_path, 1000, log=lambda _: None)
    csv = pd.read_csv(paths["csv"], keep_default_na=False)
    parquet = pd.read_parquet(paths["parquet"])
    assert len(csv) == len(parquet) == 1000
    assert csv["id"].is_unique and csv["id"].iloc[-1] == "ex-999"
    pd.testing.assert_frame_equal(
        csv[["id", "label", "factory", *TAGS]], parquet[["id", "label", "factory", *TAGS]]
    )
    assert not list(tmp_path.glob("*.partial"))
    before = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    logged = []
    again = target_data.prediction_files(tmp_path, 1000, log=logged.append)
    assert again == paths and not logged
    assert {k: p.stat().st_mtime_ns for k, p in again.items()} == before


@pytest.mark.parametrize("rows", [0, -5])
def test_prediction_files_refuse_no_rows(tmp_path, rows):
    with pytest.raises(ValueError, match="at least 1"):
        target_data.prediction_files(tmp_path, rows)


@pytest.mark.parametrize("megabytes", [150, 300])
def test_run_process_reports_the_child_peak_memory(megabytes):
    code = f"b = bytearray({megabytes} * 2**20); b[::4096] = b'x' * len(b[::4096])"
    run = targets.run_process([sys.executable, "-c", code])
    assert run.returncode == 0
    mb = megabytes * 2**20 / 1e6  # the table reports MB of 10^6 bytes
    assert mb <= run.peak_mb < mb + 200  # the interpreter adds a few tens of MB
    assert run.seconds > 0


def test_run_process_does_not_count_this_process_memory():
    # Linux carries a parent's peak RSS into a forked child's ru_maxrss: the harness holds
    # generated data, so its children must not report it as theirs.
    held = np.ones(400 * 2**20 // 8)  # 400 MB in this process
    run = targets.run_process([sys.executable, "-c", "pass"])
    assert held.sum() > 0 and run.returncode == 0
    assert run.peak_mb < 100


def test_run_process_ends_a_command_past_its_timeout():
    run = targets.run_process([sys.executable, "-c", "import time; time.sleep(60)"], timeout=2)
    assert run.returncode != 0


@pytest.mark.parametrize("status", [1, 3])
def test_run_process_keeps_a_failure_and_its_message(status):
    code = f"import sys; sys.stderr.write('boom here'); sys.exit({status})"
    run = targets.run_process([sys.executable, "-c", code])
    assert run.returncode == status and "boom here" in run.stderr


def _run(seconds: float, mb: float = 100.0, rc: int = 0) -> targets.Run:
    return targets.Run(seconds, mb, rc, "" if rc == 0 else "Error: bad file x.csv")


def test_fill_pairs_takes_the_median_of_per_pair_ratios():
    row = targets.Row("t", 10, "ours", "peer")
    ours = [_run(3.0, 300), _run(5.0, 310), _run(2.0, 290)]
    peer = [_run(1.0, 200), _run(4.0, 210), _run(2.0, 205)]
    assert targets.fill_pairs(row, ours, peer)
    assert row.pair_ratios == [3.0, 1.25, 1.0]
    assert row.ratio == 1.25  # not 3.0 / 2.0, the ratio of the medians
    assert (row.ours_s, row.peer_s, row.ours_mb, row.peer_mb) == (3.0, 2.0, 310, 210)


def test_fill_pairs_marks_a_failed_run_as_an_error():
    row = targets.Row("t", 10, "ours", "peer")
    assert not targets.fill_pairs(row, [_run(1.0), _run(1.0, rc=2)], [_run(1.0), _run(1.0)])
    assert row.status == "ERROR" and "bad file x.csv" in row.note and row.ratio is None


@pytest.mark.parametrize(("ratio", "status"), [(1.4, "PASS"), (2.0, "PASS"), (2.6, "FAIL")])
def test_agreement_rows_come_from_bench_agreement(monkeypatch, ratio, status):
    calls = []

    def run(items, labels_per_item, repeats):
        calls.append((items, labels_per_item, repeats))
        figures = {"seconds": 2 * ratio, "peer_seconds": 2.0, "ratios": [ratio, ratio]}
        return [{"name": "CLI", **figures, "ratio": ratio, "target": 2.0, "peak_mb": 90.0}]

    fake = types.ModuleType("benchmarks.bench_agreement")
    fake.run = run
    monkeypatch.setitem(sys.modules, "benchmarks.bench_agreement", fake)
    import benchmarks

    monkeypatch.setattr(benchmarks, "bench_agreement", fake, raising=False)
    (row,) = targets.agreement_target(100, 5, 2)
    assert calls == [(100, 5, 2)]
    assert (row.rows, row.ratio, row.status, row.limit) == (500, ratio, status, "<= 2x")
    assert (row.ours_s, row.peer_s, row.ours_mb) == (2 * ratio, 2.0, 90)
    assert row.pair_ratios == [ratio, ratio]


def test_table_cells_show_ratio_pairs_and_memory():
    row = targets.Row("pandas", 1_000_000, "ours", "read_csv", ours_s=3.0, peer_s=2.0)
    row.ratio, row.pair_ratios, row.ours_mb, row.peer_mb = 1.5, [1.4, 1.5, 1.6], 900.0, 600.0
    row.memory_limit, row.status, row.limit = "<= 1.5x peer", "PASS", "<= 1.5x"
    cells = dict(zip(targets.COLUMNS, targets.cells(row), strict=True))
    assert cells["rows"] == "1,000,000" and cells["ratio (pairs)"] == "1.50x (1.40, 1.50, 1.60)"
    assert cells["memory"] == "900 MB (peer 600 MB, 1.50x); <= 1.5x peer"
    md = targets.markdown([row], "# head")
    assert md.count("\n|") == 3 and "| PASS |" in md


@pytest.mark.parametrize("only", ["nope", "pandas,spork"])
def test_unknown_targets_are_refused(only):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--targets", "--only", only],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode != 0 and "unknown target" in out.stderr


def test_harness_runs_pandas_and_stream_at_tiny_size(tmp_path):
    out = tmp_path / "table"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--targets", "--rows", "2000"]
    cmd += ["--only", "pandas,stream", "--repeats", "1", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [*cmd, "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a target missed, not a crash
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["target"] for r in rows] == [
        "pandas engine analyze, CSV",
        "streaming engine analyze, Parquet",
    ]
    for r in rows:
        assert r["rows"] == 2000 and r["status"] in ("PASS", "FAIL"), r
        assert len(r["pair_ratios"]) == 1 and r["ratio"] == r["pair_ratios"][0]
        assert 0.01 < r["ratio"] < 1000 and r["ours_s"] > 0 and r["peer_s"] > 0
        assert r["ours_mb"] > 20 and r["peer_mb"] > 20
    assert "| pandas engine analyze, CSV" in out.with_suffix(".md").read_text()
    assert (tmp_path / "predictions_2000.csv").exists()


@pytest.mark.parametrize(
    ("seconds", "peak_gb", "status"), [(12.0, 1.0, "PASS"), (31.0, 1.0, "FAIL"), (5.0, 3.2, "FAIL")]
)
def test_app_row_comes_from_bench_upload(monkeypatch, tmp_path, seconds, peak_gb, status):
    uploaded = []

    def run(args, csv):
        uploaded.append(pd.read_csv(csv).shape)
        figures = {"total_s": seconds, "read_s": 1.0, "save_s": seconds - 1.0}
        return {**figures, "peak": peak_gb * 1e9}, [], 0

    fake = types.ModuleType("benchmarks.bench_upload")
    fake.run = run
    monkeypatch.setitem(sys.modules, "benchmarks.bench_upload", fake)
    import benchmarks

    monkeypatch.setattr(benchmarks, "bench_upload", fake, raising=False)
    row = targets.app_target(tmp_path, 300)
    assert uploaded[0][0] == 300
    assert (row.rows, row.ours_s, row.status) == (300, seconds, status)
    assert row.ours_mb == pytest.approx(peak_gb * 1000)  # MB: 10^6 bytes
