"""Issue 17's speed targets, each beside its peer in the same run, one table.

    python benchmarks/targets.py                          # 1M and 10M rows, app 5M, CIFAR-10H size
    python benchmarks/targets.py --rows 1000000 --only pandas,stream --repeats 3
    python benchmarks/run.py --targets --rows 2000 --only pandas,stream   # the same, via run.py

Every timed run is its own process, started from the command line a user would type
(``python -m slicewise.core.cli analyze FILE --engine ...``; the peer's
:mod:`benchmarks.peers`), so its wall time (start to exit, imports included) and its peak
resident memory (``ru_maxrss`` of ``wait4``: the largest process of its tree) are its own.
Ours and the peer alternate (``--repeats`` pairs, who goes first alternating too, after one
untimed read of the file so both find it in the page cache); a target's ratio is the median
of the per-pair ratios (ours / peer), which holds on a shared machine better than a ratio
of medians. Targets (``--only``):

``pandas``   ``analyze`` (pandas engine) on the CSV <= 1.5x ``pandas.read_csv`` of it
             (<= 2x from 10M rows); peak memory <= 1.5x read_csv's. One row per ``--rows``.
``stream``   ``analyze --engine stream`` (``duckdb`` until ``stream`` exists) on the Parquet
             file of the largest ``--rows`` <= 2x one DuckDB ``GROUP BY GROUPING SETS``
             computing the same counts (:func:`benchmarks.peers.peer_sql`); memory < 1 GB.
``spark``    ``analyze --engine spark`` on the same Parquet file against the same DuckDB
             statement: recorded, no target (``--spark-repeats`` pairs, default 1).
``app``      upload to saved in the app (:mod:`benchmarks.bench_upload`), ``--app-rows``:
             < 30 s, server peak < 3 GB.
``agreement`` ``agreement`` on a CIFAR-10H-sized long file (:mod:`benchmarks.bench_agreement`)
             <= 2x ``krippendorff.alpha``.

Data are generated once per size under ``--data-dir`` (default ``~/.cache/slicewise-bench``,
never the repository) and reused. ``--out FILE`` writes the table as JSON (``FILE.json``) and
Markdown (``FILE.md``). Exits 1 when a target is not met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import TAGS  # noqa: E402
from benchmarks.target_data import DEFAULT_DATA_DIR, prediction_files  # noqa: E402

TARGETS = ("pandas", "stream", "spark", "app", "agreement")
SLICE_BY = ("factory", "snr_db")  # one column by value, one numeric in quantile bins
PANDAS_LIMIT, PANDAS_LIMIT_10M, PANDAS_MEMORY_LIMIT = 1.5, 2.0, 1.5
STREAM_LIMIT, STREAM_MEMORY_MB = 2.0, 1000.0  # MB: 10^6 bytes throughout
APP_SECONDS, APP_MEMORY_MB = 30.0, 3000.0
AGREEMENT_LIMIT = 2.0


@dataclass
class Run:
    """One process run: wall seconds, peak RSS (MB, 10^6 bytes), exit status, end of stderr."""

    seconds: float
    peak_mb: float
    returncode: int
    stderr: str = ""


@dataclass
class Row:
    """One line of the table (``status``: PASS, FAIL, recorded, ERROR or n/a)."""

    target: str
    rows: int
    ours: str
    peer: str
    ours_s: float | None = None
    peer_s: float | None = None
    ratio: float | None = None
    pair_ratios: list[float] = field(default_factory=list)
    limit: str = ""
    ours_mb: float | None = None
    peer_mb: float | None = None
    memory_limit: str = ""
    status: str = "n/a"
    note: str = ""


# Started by a small launcher: on Linux a process's peak RSS (ru_maxrss) starts from its
# parent's at fork (exec keeps the old image's high-water mark), so a child forked from this
# process, which holds generated data, would report this process's memory as its own.
_LAUNCHER = (
    "import json, os, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(json.dumps([time.perf_counter() - t, usage.ru_maxrss, "
    "os.waitstatus_to_exitcode(status)]))\n"
)


def run_process(cmd: list[str], *, timeout: float = 3600.0) -> Run:
    """Run ``cmd`` (output discarded) and measure it.

    Parameters
    ----------
    cmd
        The command line.
    timeout
        Seconds after which its process group is killed (then ``returncode`` is negative).

    Returns
    -------
    Run
        Wall seconds from start to exit (timed by a small launcher process, so this
        process's start-up of it is not counted); peak resident memory in MB (10^6 bytes)
        of the largest process of its tree (Linux ``wait4`` ``ru_maxrss``, KiB); exit
        status; the last 2,000 characters of its standard error.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, *cmd],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=ROOT,
            start_new_session=True,  # one group, so a timeout ends the command too
        )
        timer = threading.Timer(timeout, os.killpg, (proc.pid, 9))
        timer.start()
        try:
            out, _ = proc.communicate()
        finally:
            timer.cancel()
        err.seek(0)
        text = err.read().decode(errors="replace")[-2000:]
    try:
        seconds, rss_kib, status = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):  # the launcher itself was killed
        return Run(float("nan"), float("nan"), proc.returncode or -9, text)
    return Run(seconds, rss_kib * 1024 / 1e6, status, text)


def warm(path: Path) -> None:
    """Read ``path`` once, untimed, so the first timed run does not pay for the disk alone."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def pairs(ours: list[str], peer: list[str], repeats: int) -> tuple[list[Run], list[Run]]:
    """Run ``ours`` and ``peer`` ``repeats`` times each, interleaved, alternating who is first."""
    a, b = [], []
    for k in range(repeats):
        if k % 2 == 0:
            a.append(run_process(ours))
            b.append(run_process(peer))
        else:
            b.append(run_process(peer))
            a.append(run_process(ours))
        print(
            f"    pair {k + 1}: ours {a[-1].seconds:.2f} s, peer {b[-1].seconds:.2f} s",
            flush=True,
        )
    return a, b


def fill_pairs(row: Row, ours: list[Run], peer: list[Run]) -> bool:
    """Put the pairs' medians, per-pair ratios and peak memories in ``row``.

    Returns False (and marks ``row`` ERROR with the failing command's message) when a run
    failed.
    """
    failed = [r for r in ours + peer if r.returncode != 0]
    if failed:
        row.status = "ERROR"
        row.note = failed[0].stderr.strip()[-300:] or f"exit status {failed[0].returncode}"
        return False
    row.ours_s = statistics.median(r.seconds for r in ours)
    row.peer_s = statistics.median(r.seconds for r in peer)
    row.pair_ratios = [round(a.seconds / b.seconds, 3) for a, b in zip(ours, peer, strict=True)]
    row.ratio = statistics.median(row.pair_ratios)
    row.ours_mb = max(r.peak_mb for r in ours)
    row.peer_mb = max(r.peak_mb for r in peer)
    return True


def cli(path: Path, engine: str) -> list[str]:
    """The ``slicewise analyze`` command line of the targets on ``path`` with ``engine``."""
    cmd = [sys.executable, "-m", "slicewise.core.cli", "analyze", str(path)]
    for column in SLICE_BY:
        cmd += ["--slice-by", column]
    return [*cmd, "--engine", engine, "--format", "json", "--output", os.devnull]


def peer(kind: str, path: Path) -> list[str]:
    """The command line of a peer (:mod:`benchmarks.peers`) on ``path``."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "peers.py"), kind, str(path)]
    if kind == "duckdb":
        cmd += ["--tags", ",".join(TAGS), "--slice-by", SLICE_BY[0], "--bin", SLICE_BY[1]]
    return cmd


def engines() -> set[str]:
    """The ``--engine`` choices ``slicewise analyze`` offers now (read from its ``--help``)."""
    out = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "analyze", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout
    for line in out.splitlines():
        if "--engine [" in line:
            return set(line.split("[", 1)[1].split("]", 1)[0].split("|"))
    return set()


def pandas_target(files: dict[str, Path], rows: int, repeats: int) -> Row:
    """The pandas engine on the CSV against ``pandas.read_csv`` (time and peak memory)."""
    limit = PANDAS_LIMIT_10M if rows >= 10_000_000 else PANDAS_LIMIT
    row = Row(
        "pandas engine analyze, CSV",
        rows,
        "slicewise analyze --engine pandas",
        "pandas.read_csv",
        limit=f"<= {limit:g}x",
        memory_limit=f"<= {PANDAS_MEMORY_LIMIT:g}x peer",
    )
    warm(files["csv"])
    ours, theirs = pairs(cli(files["csv"], "pandas"), peer("read_csv", files["csv"]), repeats)
    if fill_pairs(row, ours, theirs):
        ok_memory = row.ours_mb <= PANDAS_MEMORY_LIMIT * row.peer_mb
        row.status = "PASS" if row.ratio <= limit and ok_memory else "FAIL"
    return row


def engine_target(
    files: dict[str, Path], rows: int, repeats: int, engine: str, available: set[str]
) -> Row:
    """The streaming engine (or Spark) on the Parquet file against one DuckDB statement."""
    spark = engine == "spark"
    used = engine if engine in available or spark else "duckdb"
    row = Row(
        f"{'Spark local' if spark else 'streaming engine'} analyze, Parquet",
        rows,
        f"slicewise analyze --engine {used}",
        "DuckDB GROUP BY GROUPING SETS",
        limit="recorded" if spark else f"<= {STREAM_LIMIT:g}x",
        memory_limit="" if spark else f"< {STREAM_MEMORY_MB:g} MB",
    )
    if used not in available:
        row.note = f"--engine {used} is not offered by slicewise analyze yet"
        return row
    if used != engine:
        row.note = f"--engine {engine} is not offered yet: measured --engine {used}"
    warm(files["parquet"])
    ours, theirs = pairs(cli(files["parquet"], used), peer("duckdb", files["parquet"]), repeats)
    if fill_pairs(row, ours, theirs):
        if spark:
            row.status = "recorded"
        else:
            ok = row.ratio <= STREAM_LIMIT and row.ours_mb < STREAM_MEMORY_MB
            row.status = "PASS" if ok else "FAIL"
    return row


def app_target(data_dir: Path, rows: int) -> Row:
    """Upload to saved in the app, through :func:`benchmarks.bench_upload.run`."""
    row = Row(
        "app upload to saved",
        rows,
        "app: choose the CSV, Check and save",
        "",
        limit=f"< {APP_SECONDS:g} s",
        memory_limit=f"server < {APP_MEMORY_MB / 1000:g} GB",
    )
    try:
        from benchmarks import bench_upload

        browser = __import__("browser")  # tests/browser.py, on sys.path after bench_upload
    except ImportError as exc:
        row.note = f"benchmarks/bench_upload.py cannot run here: {exc}"
        return row
    csv = prediction_files(data_dir, rows)["csv"]
    args = argparse.Namespace(data=data_dir, chromium=browser.CHROMIUM, timeout=600.0, pages=False)
    try:
        result, _, _ = bench_upload.run(args, csv)
    except Exception as exc:  # noqa: BLE001 - a failed run is a row of the table, not a crash
        row.status, row.note = "ERROR", f"{type(exc).__name__}: {exc}"[:300]
        return row
    row.ours_s, row.ours_mb = result["total_s"], result["peak"] / 1e6
    ok = row.ours_s < APP_SECONDS and result["peak"] < APP_MEMORY_MB * 1e6
    row.status = "PASS" if ok else "FAIL"
    row.note = f"read {result['read_s']:.1f} s, check and save {result['save_s']:.1f} s"
    return row


def _pick(found: dict, *names: str):
    """The first of ``names`` that ``found`` holds (bench_agreement's keys may be spelt so)."""
    return next((found[n] for n in names if n in found), None)


def agreement_target(items: int, labels_per_item: int, repeats: int) -> list[Row]:
    """``agreement`` against ``krippendorff.alpha``, through :func:`benchmarks.bench_agreement.run`.

    ``run(items=, labels_per_item=, repeats=)`` returns rows with ``name``, ``seconds`` and
    ``peer_seconds`` (medians), ``ratio`` (median of the per-pair ratios ours / peer),
    ``ratios``, ``target`` (the ratio's limit), ``peer_name``, and for runs in their own
    process ``peak_mb`` and ``peer_peak_mb``.
    """
    rows = items * labels_per_item
    try:
        from benchmarks import bench_agreement
    except ImportError as exc:
        return [Row("agreement", rows, "", "krippendorff.alpha", note=f"not available: {exc}")]
    try:
        found = bench_agreement.run(items=items, labels_per_item=labels_per_item, repeats=repeats)
    except Exception as exc:  # noqa: BLE001 - a failed run is a row of the table, not a crash
        note = f"{type(exc).__name__}: {exc}"[:300]
        return [Row("agreement", rows, "", "krippendorff.alpha", status="ERROR", note=note)]
    out = []
    for r in found:
        limit = _pick(r, "target", "limit") or AGREEMENT_LIMIT
        row = Row(
            f"agreement: {_pick(r, 'name', 'target_name') or 'agreement'}",
            int(_pick(r, "labels", "rows") or rows),
            "slicewise agreement",
            _pick(r, "peer_name") or "krippendorff.alpha",
            ours_s=_pick(r, "seconds", "seconds ours", "ours_s"),
            peer_s=_pick(r, "peer_seconds", "seconds peer", "peer_s"),
            ratio=_pick(r, "ratio"),
            pair_ratios=list(_pick(r, "pair ratios", "pair_ratios", "ratios") or []),
            limit=f"<= {float(limit):g}x",
        )
        if row.ratio is None and row.ours_s and row.peer_s:
            row.ratio = row.ours_s / row.peer_s
        row.ours_mb, row.peer_mb = _pick(r, "peak_mb"), _pick(r, "peer_peak_mb")
        row.status = "n/a" if row.ratio is None else "PASS" if row.ratio <= limit else "FAIL"
        out.append(row)
    return out


# ----------------------------------------------------------------------------- the table

COLUMNS = (
    "target",
    "rows",
    "ours s",
    "peer",
    "peer s",
    "ratio (pairs)",
    "limit",
    "memory",
    "status",
)


def _memory(row: Row) -> str:
    """The memory cell: ours, the peer's (and their ratio), the limit."""
    if row.ours_mb is None:
        return ""
    text = f"{row.ours_mb:,.0f} MB"
    if row.peer_mb:
        text += f" (peer {row.peer_mb:,.0f} MB, {row.ours_mb / row.peer_mb:.2f}x)"
    return f"{text}; {row.memory_limit}" if row.memory_limit else text


def cells(row: Row) -> list[str]:
    """The table's cells of ``row`` (:data:`COLUMNS`)."""

    def sec(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
    if row.pair_ratios:
        ratio += " (" + ", ".join(f"{r:.2f}" for r in row.pair_ratios) + ")"
    return [
        row.target + (f" [{row.ours}]" if row.ours else ""),
        f"{row.rows:,}",
        sec(row.ours_s),
        row.peer,
        sec(row.peer_s),
        ratio,
        row.limit,
        _memory(row),
        row.status,
    ]


def markdown(rows: list[Row], header: str) -> str:
    """The table as Markdown, notes below it."""
    lines = [header, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows]
    notes = [f"- {r.target} ({r.rows:,} rows): {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def plain(rows: list[Row]) -> str:
    """The table as aligned text for the terminal."""
    table = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[k]) for line in table) for k in range(len(COLUMNS))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table]
    notes = [f"  note - {r.target} ({r.rows:,} rows): {r.note}" for r in rows if r.note]
    return "\n".join(text + notes)


# ----------------------------------------------------------------------------- the run


def parser(ap: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The targets' options (added to ``ap``, e.g. run.py's, or a new parser)."""
    ap = ap or argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--only",
        default=",".join(TARGETS),
        help=f"comma-separated targets to run (default all: {','.join(TARGETS)})",
    )
    ap.add_argument(
        "--rows",
        default="1000000,10000000",
        help="comma-separated row counts: pandas runs at each, stream and spark at the largest "
        "(default 1000000,10000000)",
    )
    ap.add_argument("--repeats", type=int, default=3, help="interleaved pairs per target")
    ap.add_argument(
        "--spark-repeats",
        type=int,
        default=1,
        help="pairs for Spark, recorded without a target (default 1: a local run takes minutes)",
    )
    ap.add_argument("--app-rows", type=int, default=5_000_000)
    ap.add_argument("--items", type=int, default=10_000, help="agreement: items (CIFAR-10H)")
    ap.add_argument("--labels-per-item", type=int, default=51)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--out", type=Path, help="write the table to OUT.json and OUT.md")
    return ap


def run_targets(args: argparse.Namespace) -> list[Row]:
    """Run the chosen targets (``args`` from :func:`parser`); print and return the rows.

    Raises
    ------
    SystemExit
        On an unknown target name or a bad ``--rows``/``--repeats``.
    """
    only = [t.strip() for t in str(args.only).split(",") if t.strip()]
    unknown = sorted(set(only) - set(TARGETS))
    if unknown:
        raise SystemExit(f"unknown target(s) {', '.join(unknown)}: choose from {TARGETS}")
    try:
        sizes = sorted({int(str(n).replace("_", "")) for n in str(args.rows).split(",")})
    except ValueError:
        raise SystemExit(f"--rows takes comma-separated whole numbers, got {args.rows!r}") from None
    if not sizes or sizes[0] < 1 or args.repeats < 1:
        raise SystemExit("--rows and --repeats must be at least 1")
    available = engines() if {"stream", "spark"} & set(only) else set()
    out: list[Row] = []

    def add(made: Row | list[Row]) -> None:
        for r in made if isinstance(made, list) else [made]:
            out.append(r)
            print(f"  -> {'  '.join(cells(r))}", flush=True)

    for n in sizes if "pandas" in only else []:
        print(f"pandas engine on {n:,} rows (CSV)", flush=True)
        add(pandas_target(prediction_files(args.data_dir, n), n, args.repeats))
    for engine in [e for e in ("stream", "spark") if e in only]:
        print(f"--engine {engine} on {sizes[-1]:,} rows (Parquet)", flush=True)
        files = prediction_files(args.data_dir, sizes[-1])
        repeats = max(1, args.spark_repeats) if engine == "spark" else args.repeats
        add(engine_target(files, sizes[-1], repeats, engine, available))
    if "app" in only:
        print(f"app upload to saved, {args.app_rows:,} rows", flush=True)
        add(app_target(args.data_dir, args.app_rows))
    if "agreement" in only:
        print(f"agreement, {args.items:,} items x {args.labels_per_item} labels", flush=True)
        add(agreement_target(args.items, args.labels_per_item, args.repeats))
    return out


def header() -> str:
    """One line naming the machine, its load and the date."""
    return (
        f"Slicewise speed targets (issue 17) - {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )


def report(rows: list[Row], args: argparse.Namespace, started: str) -> bool:
    """Print the table, write ``--out`` files; return whether every target with one was met."""
    ended = header()
    print()
    print(started)
    print(plain(rows))
    print(f"(after the run: load average {os.getloadavg()[0]:.2f})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"header": started, "after": ended, "command": sys.argv, "rows": []}
        payload["rows"] = [asdict(r) for r in rows]
        args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(markdown(rows, started))
        print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return all(r.status not in ("FAIL", "ERROR") for r in rows)


def main(argv: list[str] | None = None) -> None:
    """Run the targets from the command line (see the module docstring)."""
    args = parser().parse_args(argv)
    started = header()
    print(started, flush=True)
    rows = run_targets(args)
    raise SystemExit(0 if report(rows, args, started) else 1)


if __name__ == "__main__":
    main()
