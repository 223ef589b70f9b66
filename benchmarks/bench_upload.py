"""Upload to saved in the real app: wall time and the server's peak memory.

    python benchmarks/bench_upload.py                      # 5,000,000 rows
    python benchmarks/bench_upload.py --rows 1000000
    python benchmarks/bench_upload.py --csv /tmp/mine.csv  # a file of your own
    python benchmarks/bench_upload.py --pages              # then time the pages' first open

Generated predictions (:func:`benchmarks.generate.make_predictions`: 12 x/blank tags, a
score, metadata, a human label) are written once as CSV under ``--data`` (``/tmp``, never the
repository) and reused. ``streamlit run app.py`` serves a throwaway store on a free loopback
port; one headless Chromium (Debian's, driven by Playwright; flags in ``tests/browser.py``)
opens *Load data*, chooses the file in the uploader, waits until the form is shown (the file
read, its roles detected), presses *Check and save* and waits for the *Saved … in the
project* message. With ``--pages``, the home page and *Slices vs HLP*, *Prioritise* and *Tag
errors* are then opened once each, as someone does next.

**Upload to saved** runs from choosing the file until the saved message is shown and
Streamlit's run has finished (the app's ``data-test-script-state`` is ``notRunning`` and
the running indicator is gone); it is also reported in its two parts: upload and read (file
chosen to form shown) and check and save (button pressed to saved message). The server's
memory is the resident set (RSS, from ``/proc``) summed over the process tree of the
Streamlit server, sampled every 0.1 s (:class:`benchmarks.bench_load.Sampler`); the peak of
each part is reported. Exits 1 when upload to saved or the peak miss their targets
(``--seconds-target``, ``--rss-target`` GB).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.bench_load import (  # noqa: E402
    HOME,
    SHOWN,
    TOUR,
    Sampler,
    descendants,
    load_averages,
    process_table,
    start_server,
    stop_app,
)
from benchmarks.generate import make_predictions  # noqa: E402

SECONDS_TARGET = 30.0
RSS_TARGET_GB = 3.0
SAVED = re.compile(r"Saved .+ in the project")


def predictions_csv(rows: int, folder: Path) -> Path:
    """Return a CSV of ``rows`` generated predictions in ``folder`` (written once, reused)."""
    path = folder / f"predictions-{rows}.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        tmp = path.with_suffix(".csv.tmp")
        make_predictions(rows).to_csv(tmp, index=False)
        os.replace(tmp, path)
        print(f"wrote {path} in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def start_streamlit(db: Path, port: int) -> subprocess.Popen:
    """Start ``streamlit run app.py`` on ``db`` (loopback, ``port``); return once it answers."""
    from browser import streamlit_command

    command = [*streamlit_command(port), "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "SLICEWISE_DB": str(db)}
    return start_server(command, port, env, db.with_suffix(".server.log"), "streamlit")


def wait_idle(page) -> None:
    """Wait until Streamlit's run has finished (checked on every change of the page)."""
    page.evaluate(SHOWN, [None, None])


def server_rss(root: int) -> int:
    """Resident bytes of ``root``'s process tree now (summed, as :class:`Sampler` does)."""
    table = process_table()
    return sum(table[p][2] for p in descendants(table, root))


def upload(page, base: str, csv: Path, sampler: Sampler, timeout_ms: int) -> dict[str, float]:
    """Upload ``csv`` on *Load data* and save it; return seconds and peak bytes per part."""
    page.goto(f"{base}/Load_data")
    wait_idle(page)
    page.get_by_text("Upload predictions").first.wait_for()
    sampler.peak = 0
    start = time.perf_counter()
    page.locator('input[type="file"]').set_input_files(str(csv))
    page.get_by_text("First rows of the file").wait_for(timeout=timeout_ms)
    wait_idle(page)
    read = time.perf_counter()
    read_peak, sampler.peak = sampler.peak, 0
    held = server_rss(sampler.server)  # what the read file costs while the form is shown
    page.get_by_role("button", name=re.compile("Check and save")).click()
    page.get_by_text(SAVED).first.wait_for(timeout=timeout_ms)
    wait_idle(page)
    saved = time.perf_counter()
    return {
        "read_s": read - start,
        "save_s": saved - read,
        "total_s": saved - start,
        "read_peak": read_peak,
        "save_peak": sampler.peak,
        "held": held,
        # CPU seconds the server used since it started (reading /proc): less noisy than
        # wall time on a shared machine.
        "server_cpu": sum(sampler.cpu["server"].values()),
    }


def open_pages(page, base: str, timeout_ms: int) -> list[tuple[str, float]]:
    """Open the home page, then the first three pages of the tour; return their seconds."""
    times = []
    start = time.perf_counter()
    page.goto(base)
    page.evaluate(SHOWN, [HOME.heading, HOME.content])
    times.append(("Home", time.perf_counter() - start))
    for target in TOUR[:3]:
        link = page.locator('[data-testid="stSidebarNav"] a', has_text=target.label).first
        start = time.perf_counter()
        link.click()
        page.evaluate(SHOWN, [target.heading, target.content])
        times.append((target.label, time.perf_counter() - start))
    return times


def run(args: argparse.Namespace, csv: Path) -> tuple[dict[str, float], list, int]:
    """Serve a new store, drive the browser; return the upload's figures, page times, idle RSS."""
    from browser import FLAGS, free_port
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(dir=args.data) as tmp:
        port = free_port()
        proc = start_streamlit(Path(tmp) / "upload.db", port)
        sampler = Sampler(proc.pid)
        idle = sampler.peak
        sampler.start()
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=args.chromium, args=FLAGS, headless=True
                )
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.set_default_timeout(int(args.timeout * 1000))
                    result = upload(page, base, csv, sampler, int(args.timeout * 1000))
                    pages = open_pages(page, base, int(args.timeout * 1000)) if args.pages else []
                finally:
                    browser.close()
        finally:
            peak, _, _ = sampler.stop()
            stop_app(proc)
    # The upload's own peak; the pages opened afterwards (``--pages``) have theirs.
    result["peak"] = max(result["read_peak"], result["save_peak"])
    result["pages_peak"] = peak
    return result, pages, idle


def main() -> None:
    """Write (or reuse) the CSV, upload and save it in the app, print figures, check targets."""
    from browser import CHROMIUM

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--csv", type=Path, help="upload this file instead of generated predictions")
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("/tmp/slicewise-upload"),
        help="folder of the generated CSV and the throwaway store (default /tmp/slicewise-upload)",
    )
    ap.add_argument("--pages", action="store_true", help="then time the pages' first open")
    ap.add_argument("--chromium", default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    ap.add_argument("--timeout", type=float, default=600, help="seconds a step may take")
    ap.add_argument("--seconds-target", type=float, default=SECONDS_TARGET)
    ap.add_argument("--rss-target", type=float, default=RSS_TARGET_GB, help="GB (10^9 bytes)")
    args = ap.parse_args()

    csv = args.csv or predictions_csv(args.rows, args.data)
    args.data.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    r, pages, idle = run(args, csv)
    size = csv.stat().st_size
    print(f"{csv.name} ({size / 1e6:,.0f} MB) uploaded and saved in the app:")
    print(
        f"  upload and read (file chosen to form shown): {r['read_s']:6.1f} s, "
        f"server peak {r['read_peak'] / 1e9:.2f} GB, then holds {r['held'] / 1e9:.2f} GB"
    )
    print(
        f"  check and save (button to saved message):   {r['save_s']:6.1f} s, "
        f"server peak {r['save_peak'] / 1e9:.2f} GB"
    )
    print(
        f"  upload to saved:                            {r['total_s']:6.1f} s, "
        f"server peak {r['peak'] / 1e9:.2f} GB (idle {idle / 1e9:.2f} GB), "
        f"server CPU {r['server_cpu']:.1f} s"
    )
    for name, seconds in pages:
        print(f"  then {name:<14} first open {seconds:6.1f} s")
    if pages:
        print(f"  server peak with the pages open: {r['pages_peak'] / 1e9:.2f} GB")
    print(load_averages(load_before, os.getloadavg()))
    ok_time = r["total_s"] < args.seconds_target
    ok_rss = r["peak"] < args.rss_target * 1e9
    print(
        f"targets: upload to saved < {args.seconds_target:g} s: "
        f"{'met' if ok_time else 'NOT met'} ({r['total_s']:.1f} s); peak RSS < "
        f"{args.rss_target:g} GB: {'met' if ok_rss else 'NOT met'} ({r['peak'] / 1e9:.2f} GB)"
    )
    raise SystemExit(0 if ok_time and ok_rss else 1)


if __name__ == "__main__":
    main()
