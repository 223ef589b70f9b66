"""The DuckDB engine on 10 million rows, within a 1 GB memory limit, beside the pandas engine.

Generates (or reuses) a 10,000,000-row Parquet file of ``generate.make_predictions`` data,
written 1,000,000 rows at a time so generating it stays modest in memory, then times
``analyze_file_duckdb`` on it (median of 3, each run in a fresh process so its peak RSS is
its own) and, for comparison, both engines on the first 1,000,000 rows (checking they give
the same table).

    python benchmarks/bench_duckdb.py [--rows 10000000] [--dir /tmp/slicewise-duckdb]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

CHUNK = 1_000_000
SLICE_BY = ["device", "snr_db"]


def write_parquet(path: Path, rows: int) -> None:
    """Write ``rows`` predictions to ``path`` in chunks of 1,000,000 (unique ids throughout)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from generate import make_predictions

    tmp = path.with_suffix(".partial")
    writer = None
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            df = make_predictions(n, seed=7 + start // CHUNK)
            df["id"] = np.char.add("ex-", np.arange(start, start + n).astype(str))
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
            print(f"  wrote rows {start:,}-{start + n:,}", flush=True)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)


def head_parquet(src: Path, dest: Path, rows: int) -> None:
    """Copy the first ``rows`` rows of ``src`` (whole row groups) to ``dest``."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src)
    table = pf.read_row_groups(list(range(max(1, rows // CHUNK)))).slice(0, rows)
    pq.write_table(table, dest, row_group_size=CHUNK)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss carries the parent's over fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, path: str, memory_limit: str | None, table_out: str | None) -> None:
    """One timed run in this process; print seconds, rows and peak RSS as JSON."""
    t0 = time.perf_counter()
    if engine == "duckdb":
        from slicewise.core.engine_duckdb import analyze_file_duckdb

        table = analyze_file_duckdb(path, slice_by=SLICE_BY, memory_limit=memory_limit)
    else:
        from slicewise.core.analysis import analyze
        from slicewise.core.dataset import load_dataset

        table = analyze(load_dataset(path), slice_by=SLICE_BY)
    seconds = time.perf_counter() - t0
    if table_out:
        table.to_pickle(table_out)
    peak_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": int(table.loc["All data", "n"]),
                "slices": len(table),
                "peak_rss_mb": peak_mb,
            }
        )
    )


def measure(
    engine: str,
    path: Path,
    *,
    repeat: int,
    memory_limit: str | None = None,
    table_out: Path | None = None,
) -> dict:
    runs = []
    for _ in range(repeat):
        cmd = [sys.executable, __file__, "--child", engine, str(path)]
        if memory_limit:
            cmd += ["--memory-limit", memory_limit]
        if table_out:
            cmd += ["--table-out", str(table_out)]
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=True, cwd=HERE.parent
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "rows": runs[0]["rows"],
        "slices": runs[0]["slices"],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "all_seconds": [round(r["seconds"], 2) for r in runs],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--compare-rows", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/slicewise-duckdb"))
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--table-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.memory_limit, args.table_out)
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    big = args.dir / f"predictions_{args.rows}.parquet"
    if not big.exists():
        print(f"generating {args.rows:,} rows into {big}", flush=True)
        t0 = time.perf_counter()
        write_parquet(big, args.rows)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    small = args.dir / f"predictions_{args.compare_rows}.parquet"
    if not small.exists():
        head_parquet(big, small, args.compare_rows)
    print(
        f"file: {big} ({big.stat().st_size / 1e6:.0f} MB), slice by {', '.join(SLICE_BY)}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )

    results = [
        ("duckdb", big, measure("duckdb", big, repeat=args.repeat, memory_limit=args.memory_limit)),
        (
            "duckdb",
            small,
            measure(
                "duckdb",
                small,
                repeat=args.repeat,
                memory_limit=args.memory_limit,
                table_out=args.dir / "table_duckdb.pkl",
            ),
        ),
        (
            "pandas",
            small,
            measure("pandas", small, repeat=args.repeat, table_out=args.dir / "table_pandas.pkl"),
        ),
    ]
    print(
        f"{'engine':<8}{'rows':>12}{'slices':>8}{'seconds (median)':>18}{'runs':>22}"
        f"{'peak RSS MB':>13}"
    )
    for engine, _, r in results:
        print(
            f"{engine:<8}{r['rows']:>12,}{r['slices']:>8}{r['seconds']:>18.2f}"
            f"{str(r['all_seconds']):>22}{r['peak_rss_mb']:>13.0f}"
        )
    if args.memory_limit:
        print(f"(duckdb memory_limit={args.memory_limit})")

    import pandas as pd

    a = pd.read_pickle(args.dir / "table_pandas.pkl")
    b = pd.read_pickle(args.dir / "table_duckdb.pkl")
    pd.testing.assert_frame_equal(b, a, rtol=1e-9)
    print(
        f"{args.compare_rows:,} rows: the duckdb table equals the pandas table "
        f"({a.shape[0]} slices x {a.shape[1]} columns)"
    )


if __name__ == "__main__":
    main()
