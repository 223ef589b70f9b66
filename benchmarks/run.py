"""Slicewise's speed suite: median-of-5 timings and peak memory, with peers in the same run.

    pip install -e ".[bench]" && python benchmarks/run.py            # 1M rows (default)
    python benchmarks/run.py --rows 200000 --quick                   # a smaller run
    python benchmarks/run.py --targets [--only pandas,stream] [--rows 1000000] [--out FILE]
                                          # issue 17's targets beside their peers (targets.py)

Peers run on the same data in the same process, so the ratios hold on a noisy machine:
a plain pandas loop over slices, a numpy matrix computation of the same counts (the
near-limit reference), fairlearn's MetricFrame (one per slice column, on 100,000 rows) and
``krippendorff.alpha`` for agreement.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import TAGS, make_annotations, make_predictions  # noqa: E402
from slicewise.core.analysis import analyze  # noqa: E402
from slicewise.core.dataset import dataset_from_frame  # noqa: E402
from slicewise.core.metrics import Z_95  # noqa: E402

SLICE_BY = ["factory", "snr_db"]
rows_out: list[dict] = []


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak traced allocation of one call, in MB (numpy and pandas report to tracemalloc)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def record(
    name: str,
    seconds: float,
    *,
    peer: str = "",
    peer_seconds: float | None = None,
    target: str = "",
    ok: bool | None = None,
    memory: str = "",
) -> None:
    """Keep one result row for the final table."""
    ratio = f"{peer_seconds / seconds:.1f}× faster" if peer_seconds else ""
    if peer_seconds and seconds > peer_seconds:
        ratio = f"{seconds / peer_seconds:.2f}× the peer's time"
    rows_out.append(
        {
            "measure": name,
            "seconds": f"{seconds:.3f}",
            "peer": peer,
            "peer seconds": "" if peer_seconds is None else f"{peer_seconds:.3f}",
            "ratio": ratio,
            "peak memory": memory,
            "target": target,
            "met": "" if ok is None else ("yes" if ok else "NO"),
        }
    )
    print(f"  {name}: {seconds:.3f} s {ratio}", flush=True)


# ----------------------------------------------------------------------------- peers


def pandas_loop(df: pd.DataFrame) -> pd.DataFrame:
    """The obvious pandas way: one boolean mask and a few means per slice."""
    correct = df["label"] == df["prediction"]
    human = df["label"] == df["human_label"]
    errors = (~correct).sum()
    out = []
    masks = {t: df[t] == "x" for t in TAGS}
    for col in SLICE_BY:
        if pd.api.types.is_numeric_dtype(df[col]):
            binned = pd.qcut(df[col], 4, duplicates="drop")
            for v in binned.cat.categories:
                masks[f"{col} {v}"] = binned == v
        else:
            for v in df[col].unique():
                masks[f"{col}={v}"] = df[col] == v
    for name, m in masks.items():
        n = m.sum()
        acc = correct[m].mean()
        hlp = human[m].mean()
        out.append((name, n, n / len(df), acc, hlp, hlp - acc, (~correct[m]).sum() / errors))
    return pd.DataFrame(out, columns=["slice", "n", "share", "acc", "hlp", "gap", "err_share"])


def numpy_reference(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Near-limit reference: the same per-slice counts with one matrix product in numpy."""
    y, p, h = arrays["label"], arrays["prediction"], arrays["human"]
    correct = y == p
    hc = y == h
    x = np.stack(
        [np.ones(len(y)), correct, np.ones(len(y)), hc, correct & ~hc, ~correct & hc], axis=1
    ).astype(np.float64)
    cols = [arrays[t] for t in TAGS]
    for values in arrays["slice_values"]:  # binning is part of the work, as in ours
        if values.dtype.kind == "f":
            edges = np.quantile(values, np.linspace(0, 1, 5))
            codes, k = np.searchsorted(edges[1:-1], values, side="right"), 4
        else:
            codes, uniq = pd.factorize(values)
            k = len(uniq)
        cols += [codes == j for j in range(k)]
    m = np.stack(cols, axis=1).astype(np.float64)
    counts = m.T @ x
    n, k = counts[:, 0], counts[:, 1]
    pr = k / n
    denom = 1 + Z_95**2 / n
    centre = (pr + Z_95**2 / (2 * n)) / denom
    half = Z_95 * np.sqrt(pr * (1 - pr) / n + Z_95**2 / (4 * n**2)) / denom
    gain = (counts[:, 3] / counts[:, 2] - pr) * n / len(y)
    return np.stack([centre - half, centre + half, np.argsort(-gain)], axis=1)


def reference_inputs(df: pd.DataFrame) -> dict:
    """Arrays for the numpy reference (tags parsed before timing, as in a loaded Dataset)."""
    out = {
        "label": df["label"].to_numpy(object),
        "prediction": df["prediction"].to_numpy(object),
        "human": df["human_label"].to_numpy(object),
    }
    for t in TAGS:
        out[t] = (df[t] == "x").to_numpy()
    out["slice_values"] = [df[col].to_numpy() for col in SLICE_BY]
    return out


def fairlearn_peer(df: pd.DataFrame) -> list:
    """fairlearn's MetricFrame, one per slice column (it has no overlapping-tag mode)."""
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score

    frames = []
    for col in [*TAGS, *SLICE_BY]:
        feature = df[col] if col not in ("snr_db",) else pd.qcut(df[col], 4, duplicates="drop")
        frames.append(
            MetricFrame(
                metrics=accuracy_score,
                y_true=df["label"],
                y_pred=df["prediction"],
                sensitive_features=feature,
            ).by_group
        )
    return frames


# ----------------------------------------------------------------------------- suites


def bench_table(df: pd.DataFrame) -> None:
    """The full per-slice table against the numpy reference, the pandas loop and fairlearn."""
    print(f"per-slice table on {len(df):,} rows", flush=True)
    ds = dataset_from_frame(df)
    ours = median_time(lambda: analyze(ds, slice_by=SLICE_BY))
    ref_in = reference_inputs(df)
    ref = median_time(lambda: numpy_reference(ref_in))
    record(
        f"per-slice table ({len(df):,} rows, {len(TAGS)} tags, 2 slice-by)",
        ours,
        peer="numpy reference",
        peer_seconds=ref,
        target="≤ 2× numpy reference",
        ok=ours <= 2 * ref,
        memory=f"{peak_mb(lambda: analyze(ds, slice_by=SLICE_BY)):.0f} MB",
    )
    loop = median_time(lambda: pandas_loop(df), repeat=3)
    record("  same, vs a pandas loop over slices", ours, peer="pandas loop", peer_seconds=loop)


def bench_fairlearn(df: pd.DataFrame) -> None:
    """MetricFrame is slow: compare at 100,000 rows."""
    small = df.head(100_000).reset_index(drop=True)
    ds = dataset_from_frame(small)
    ours = median_time(lambda: analyze(ds, slice_by=SLICE_BY))
    try:
        theirs = median_time(lambda: fairlearn_peer(small), repeat=3)
    except ImportError:
        print("  fairlearn not installed (pip install -e '.[bench]'): skipped")
        return
    record(
        "per-slice table (100,000 rows)",
        ours,
        peer="fairlearn MetricFrame",
        peer_seconds=theirs,
        target="≥ 100× faster than MetricFrame",
        ok=theirs >= 100 * ours,
    )


def bench_cli(csv: Path) -> None:
    """`slicewise analyze` on the CSV, end to end, against pandas' own read_csv."""
    read = median_time(lambda: pd.read_csv(csv, low_memory=False), repeat=5)
    cmd = [
        sys.executable,
        "-m",
        "slicewise.core.cli",
        "analyze",
        str(csv),
        "--slice-by",
        "factory",
        "--slice-by",
        "snr_db",
        "--format",
        "json",
        "--output",
        os.devnull,
    ]
    # The wrapper times the CLI's process alone (start to exit) and reads its peak RSS.
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True); print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    times, peaks = [], []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", wrapper, *cmd],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        seconds, rss = out.stdout.strip().splitlines()[-1].split()
        times.append(float(seconds))
        peaks.append(int(rss) / 1024)
    cli = statistics.median(times)
    peak = max(peaks)
    record(
        "slicewise analyze, 1 CSV end to end",
        cli,
        peer="pandas read_csv",
        peer_seconds=read,
        target="≤ read_csv + 1.5 s; < 1,200 MB",
        ok=cli <= read + 1.5 and peak < 1200,
        memory=f"{peak:.0f} MB RSS",
    )


def bench_reopen(df: pd.DataFrame, db: Path) -> int:
    """Save the dataset once, then reopen it with a new Store (a restart)."""
    from slicewise.core.store import Store
    from slicewise.core.task import TaskSpec

    store = Store(db)
    pid = store.get_or_create_project("bench", user="bench")
    existing = store.list_datasets(pid)
    if len(existing):
        did = int(existing["id"].iloc[0])
    else:
        did = store.save_dataset(
            pid, "bench", dataset_from_frame(df), task=TaskSpec(), user="bench"
        )
    store.set_tag(did, [str(i) for i in df["id"].head(5000)], TAGS[0], True, user="bench")
    seconds = median_time(lambda: Store(db).load_dataset(did))
    record(f"reopen a saved {len(df):,}-row dataset", seconds, target="< 2 s", ok=seconds < 2)
    return did


def bench_app(db: Path, dataset_id: int) -> None:
    """A widget change with the dataset loaded (AppTest): Prioritise and one page of Tag errors."""
    from streamlit.testing.v1 import AppTest

    os.environ["SLICEWISE_DB"] = str(db)
    from slicewise.ui import state

    def page(file: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "pages" / file), default_timeout=600)
        at.session_state[state.DATASET] = dataset_id
        at.run()
        assert not at.exception, at.exception
        return at

    at = page("4_Prioritise.py")
    choices = [
        ["factory"],
        ["device"],
        ["region"],
        ["factory", "device"],
        ["snr_db"],
        ["brightness"],
    ]
    times = []
    for choice in choices:
        at.multiselect(key=state.SLICE_BY).set_value(choice)
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    sec = statistics.median(times[1:])
    record("app: Prioritise, change slice-by (AppTest)", sec, target="< 0.5 s", ok=sec < 0.5)

    at = page("2_Tag_errors.py")
    times = []
    for size in (25, 100, 250, 50, 25, 100):
        at.selectbox(key="tag_page_size").set_value(size)
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    sec = statistics.median(times[1:])
    record("app: Tag errors, change the page (AppTest)", sec, target="< 0.5 s", ok=sec < 0.5)


def bench_agreement(items: int) -> None:
    """All agreement metrics for ``items`` × 5 annotators, against krippendorff.alpha."""
    import krippendorff

    from slicewise.core.agreement import summarize_annotations

    labels = make_annotations(items)
    ours = median_time(lambda: summarize_annotations(labels))
    codes = pd.factorize(labels["label"])[0].astype(float)
    item = pd.factorize(labels["item"])[0]
    ann = pd.factorize(labels["annotator"])[0]
    matrix = np.full((ann.max() + 1, item.max() + 1), np.nan)
    matrix[ann, item] = codes
    theirs = median_time(
        lambda: krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"),
        repeat=3,
    )
    record(
        f"agreement metrics ({items:,} items × 5 annotators)",
        ours,
        peer="krippendorff.alpha (alpha only)",
        peer_seconds=theirs,
        target="< 1 s",
        ok=ours < 1,
    )


def main() -> None:
    """Run every benchmark and print the table (``--targets``: issue 17's targets instead)."""
    if "--targets" in sys.argv[1:]:
        from benchmarks.targets import main as targets_main

        targets_main([a for a in sys.argv[1:] if a != "--targets"])
        return
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="skip the app and fairlearn runs")
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = ap.parse_args()
    print(
        f"Slicewise benchmarks — {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}",
        flush=True,
    )
    df = make_predictions(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "predictions.csv"
        df.to_csv(csv, index=False)
        bench_table(df)
        if not args.quick:
            bench_fairlearn(df)
        bench_cli(csv)
        did = bench_reopen(df, Path(tmp) / "bench.db")
        if not args.quick:
            bench_app(Path(tmp) / "bench.db", did)
        bench_agreement(args.items)
    table = pd.DataFrame(rows_out)
    print()
    print(table.to_string(index=False))
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if args.markdown:
        lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(map(str, r)) + " |" for r in table.itertuples(index=False)]
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
