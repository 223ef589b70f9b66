"""Many people at once: page times of concurrent browser sessions and the server's peak memory.

    python benchmarks/bench_load.py                          # 10 people, 1,000,000 rows
    python benchmarks/bench_load.py --sessions 3 --rows 100000 --rounds 1
    python benchmarks/bench_load.py --db /tmp/load.db       # reuse (or build once) a store
    python benchmarks/bench_load.py --think 0 0 --ramp 0    # everyone clicks at once, nonstop

Generated predictions (:func:`benchmarks.generate.make_predictions`: 12 tags, a score,
metadata, a human label) are saved in a throwaway store; ``slicewise app`` serves it on a
free loopback port (the real command, so its process tree is what is measured). One headless
Chromium (Debian's, driven by Playwright; flags in ``tests/browser.py``) holds one browser
context per person (``--sessions``; its own cookies, cache and Streamlit session). A person
opens the home page (one more person every ``--ramp`` seconds), then follows the sidebar's
links through *Slices vs HLP*, *Prioritise*, *Tag errors* and *Export*, once and then
``--rounds`` more times, reading each page for ``--think`` seconds (drawn uniformly, seeded).

A **page time** runs from the navigation (the link's click, or ``goto`` for the home page)
until the page's heading and main content (a table, the tagging grid, the download buttons)
are shown and Streamlit's run has finished (the app's ``data-test-script-state`` is
``notRunning`` and the running indicator is gone). Page times of the **first visit** (the
home page and the first tour: the person's browser loads Streamlit's scripts, and Plotly's on
the first chart; the server fills its caches) are reported apart from those **afterwards**
(the next tours, which start once everyone has made the first); the p95 target is on the
pages afterwards. The browsers run at the lowest CPU priority
(``--browser-nice 19``): on a real team server they run on people's own computers, here they
share the server's cores and would otherwise take most of its CPU.

The server's memory is the resident set (RSS, from ``/proc``) summed over the process tree
of ``slicewise app`` (the command and the Streamlit server it starts), sampled every 0.1 s;
the peak is reported, with the CPU time the server and the browsers used and the load
average before and after (the machine may be shared). Exits 1 when the p95 or the peak miss
their targets (``--p95-target`` seconds, ``--rss-target`` GB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.generate import make_predictions  # noqa: E402
from slicewise.core.dataset import dataset_from_frame  # noqa: E402
from slicewise.core.store import Store  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

P95_TARGET_S = 3.0
RSS_TARGET_GB = 3.0
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Page:
    """A page of the tour: its sidebar label, its heading and a selector of its main content."""

    label: str
    heading: str
    content: str


HOME = Page(
    "app", "Slicewise: where is the model wrong, and what to fix first?", '[data-testid="stMetric"]'
)
TOUR = (
    Page(
        "Slices vs HLP",
        "Where does the model trail human-level performance?",
        '[data-testid="stDataFrame"]',
    ),
    Page("Prioritise", "What should we work on first?", '[data-testid="stDataFrame"]'),
    Page("Tag errors", "Which errors share a cause?", '[data-testid="glide-cell-1-0"]'),
    Page("Export", "How do we share what we found?", '[data-testid="stDownloadButton"]'),
)

# Resolves once the run that drew ``heading`` has finished and drawn ``content`` (either may be
# null: then Streamlit's run has finished): checked on every change of the page (a
# MutationObserver), so waiting costs no CPU while the page does not change, and no round trip
# to Playwright per check.
SHOWN = """([heading, content]) => new Promise(resolve => {
  const shown = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    const headed = heading === null
      || Array.from(document.querySelectorAll('h1')).some(e => e.textContent.includes(heading));
    return headed && (content === null || document.querySelector(content) !== null);
  };
  if (shown()) return resolve(true);
  const watch = new MutationObserver(() => {
    if (shown()) { watch.disconnect(); resolve(true); }
  });
  watch.observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                           characterData: true});
})"""


def build_store(db: Path, rows: int) -> int:
    """Save ``rows`` generated predictions in a new store at ``db``; return the dataset id."""
    with Store(db) as store:
        project = store.get_or_create_project("load", user="bench")
        return store.save_dataset(
            project,
            "load",
            dataset_from_frame(make_predictions(rows)),
            task=TaskSpec(),
            user="bench",
        )


_TICK = os.sysconf("SC_CLK_TCK")


def process_table() -> dict[int, tuple[int, float, int]]:
    """Every process: ``{pid: (parent pid, CPU seconds used, resident bytes)}`` from ``/proc``.

    CPU is user + system time; processes that end while being read are left out.
    """
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/statm") as f:
                rss = int(f.read().split()[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
        # after the command: state, ppid, ... utime (14th field of stat), stime (15th)
        out[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, rss)
    return out


def descendants(table: dict[int, tuple[int, float, int]], root: int) -> set[int]:
    """``root`` and every process below it in ``table`` (from :func:`process_table`)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            found.add(pid)
        todo.extend(children.get(pid, []))
    return found


class Sampler(threading.Thread):
    """Sample the server's and the browser's process trees every ``interval`` seconds.

    Keeps the server tree's peak resident memory (RSS summed over its processes: pages shared
    between processes count once per process, an upper bound) and the CPU seconds each tree
    used (the last reading of every process seen, so processes that ended still count).
    """

    def __init__(self, server: int, interval: float = 0.1, *, browser_nice: int = 0) -> None:
        super().__init__(daemon=True)
        self.server, self.interval, self.browser_nice = server, interval, browser_nice
        self.peak = 0
        self.cpu: dict[str, dict[int, float]] = {"server": {}, "browser": {}}
        self._start_cpu: dict[int, float] = {}
        self._done = threading.Event()
        self.sample(first=True)

    def sample(self, *, first: bool = False) -> None:
        """Take one reading."""
        table = process_table()
        server = descendants(table, self.server)
        ours = descendants(table, os.getpid()) - server - {os.getpid()}
        self.peak = max(self.peak, sum(table[p][2] for p in server))
        for name, pids in (("server", server), ("browser", ours)):
            for pid in pids:
                if first:
                    self._start_cpu[pid] = table[pid][1]
                self.cpu[name][pid] = table[pid][1] - self._start_cpu.get(pid, 0.0)
        if self.browser_nice:
            renice(ours, self.browser_nice)

    def run(self) -> None:  # noqa: D102
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> tuple[int, float, float]:
        """Stop sampling; return (peak server RSS in bytes, server CPU s, browser CPU s)."""
        self._done.set()
        self.join()
        self.sample()
        return (self.peak, sum(self.cpu["server"].values()), sum(self.cpu["browser"].values()))


def renice(pids: set[int], nice: int) -> None:
    """Give every thread of ``pids`` the CPU priority ``nice`` (Linux: nice is per thread).

    Chromium raises its GPU process's priority itself; this lowers it again.
    """
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in map(int, tasks):
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) != nice:
                    os.setpriority(os.PRIO_PROCESS, tid, nice)
            except OSError:  # ended meanwhile
                continue


# Streamlit options for a server nobody looks at: no browser tab, no file watcher (edits
# elsewhere in the checkout must not rerun pages), no usage statistics.
HEADLESS = (
    "--server.headless",
    "true",
    "--server.fileWatcherType",
    "none",
    "--browser.gatherUsageStats",
    "false",
)


def start_server(
    command: list[str], port: int, env: dict[str, str], log: Path, name: str
) -> subprocess.Popen:
    """Run ``command``, a Streamlit server on loopback ``port``; return once it answers.

    Its output goes to the file ``log``. Raises ``RuntimeError`` (naming ``name`` and ``log``)
    when it exits, or when ``/_stcore/health`` does not answer ``ok`` within 90 s.
    """
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_app(proc)
    raise RuntimeError(f"{name} did not answer within 90 s: see {log}")


def start_app(db: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """Start ``slicewise app`` on ``db`` (localhost, ``port``); return once it answers."""
    entry = "from slicewise.core.cli import entry_point; entry_point()"
    command = [sys.executable, "-c", entry, "app", "--db", str(db), "--port", str(port)]
    log = db.with_suffix(".server.log")
    return start_server([*command, "--no-demo", *HEADLESS], port, env, log, "slicewise app")


def stop_app(proc: subprocess.Popen) -> None:
    """Stop ``slicewise app`` with SIGTERM (it forwards the signal to its server)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _shown(page, target: Page, timeout_ms: int) -> None:
    """Wait until ``target`` is shown and its run has finished (``TimeoutError`` after)."""
    await asyncio.wait_for(
        page.evaluate(SHOWN, [target.heading, target.content]), timeout_ms / 1000
    )


@dataclass(frozen=True)
class Plan:
    """What each simulated person does.

    Person ``i`` opens the app ``i * ramp`` seconds after the first, then tours the pages
    ``rounds`` times, reading each page for ``think`` seconds (drawn uniformly).
    """

    rounds: int = 2
    think: tuple[float, float] = (5.0, 15.0)
    ramp: float = 1.0
    timeout_ms: int = 300_000


async def session(
    browser,
    base: str,
    dataset_id: int,
    plan: Plan,
    times: list[dict],
    number: int,
    first_done: asyncio.Barrier,
) -> None:
    """One person: open the home page, then follow the sidebar through the tour.

    The first tour (``tour`` 0, the home page included) is the person's first visit: their
    browser loads Streamlit's scripts (and Plotly's on the first chart) and the server may
    fill its caches. Once everyone has made it (``first_done``), ``plan.rounds`` more tours.
    Before each click the person reads for a time drawn uniformly from ``plan.think``
    (seeded by ``number``, so runs repeat), as load-testing tools do (Locust's
    ``wait_time``).
    """
    rng = random.Random(number)
    await asyncio.sleep(number * plan.ramp)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(plan.timeout_ms)
    try:
        start = time.perf_counter()
        await page.goto(f"{base}/?dataset={dataset_id}")
        await _shown(page, HOME, plan.timeout_ms)
        times.append(
            {"session": number, "tour": 0, "page": "Home", "seconds": time.perf_counter() - start}
        )
        for tour in range(plan.rounds + 1):
            if tour == 1:
                await first_done.wait()
            for target in TOUR:
                await asyncio.sleep(rng.uniform(*plan.think))
                link = page.locator('[data-testid="stSidebarNav"] a', has_text=target.label).first
                start = time.perf_counter()
                await link.click()
                await _shown(page, target, plan.timeout_ms)
                times.append(
                    {
                        "session": number,
                        "tour": tour,
                        "page": target.label,
                        "seconds": time.perf_counter() - start,
                    }
                )
    finally:
        await context.close()


async def drive(
    base: str, dataset_id: int, *, sessions: int, plan: Plan, chromium: str
) -> list[dict]:
    """Run ``sessions`` browser contexts at once in one headless Chromium; return page times."""
    from browser import FLAGS
    from playwright.async_api import async_playwright

    times: list[dict] = []
    first_done = asyncio.Barrier(sessions)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        try:
            await asyncio.gather(
                *(
                    session(browser, base, dataset_id, plan, times, i, first_done)
                    for i in range(sessions)
                )
            )
        finally:
            await browser.close()
    return times


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def figures(values: list[float]) -> str:
    """Median, p95 and maximum of ``values`` (seconds) as text."""
    return (
        f"median {statistics.median(values):.2f} s, p95 {percentile(values, 95):.2f} s, "
        f"max {max(values):.2f} s"
    )


def report(times: list[dict]) -> tuple[list[float], list[float]]:
    """Print page times per page, for first visits and afterwards; return both lists."""
    first = [r["seconds"] for r in times if r["tour"] == 0]
    later = [r["seconds"] for r in times if r["tour"] > 0]
    for name in ["Home", *(p.label for p in TOUR)]:
        for label, tours in (("first visit", (0,)), ("afterwards", None)):
            values = [
                r["seconds"]
                for r in times
                if r["page"] == name and (r["tour"] in tours if tours else r["tour"] > 0)
            ]
            if values:
                print(f"  {name:<14} {label:<12} {len(values):>3} loads: {figures(values)}")
    print(f"first visits (home and first tour): {figures(first)}")
    if later:
        print(f"afterwards (the next tours):        {figures(later)}")
    print(f"all pages:                          {figures(first + later)}")
    return first, later


def load_averages(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    """The machine's load averages (:func:`os.getloadavg`) before and after a run, as text."""
    return (
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{v:.2f}" for v in before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in after)
    )


def main() -> None:
    """Build (or reuse) the store, serve it, drive the browsers, print figures, check targets."""
    from browser import CHROMIUM, free_port

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sessions", type=int, default=10, help="concurrent browser contexts")
    ap.add_argument(
        "--rounds", type=int, default=2, help="tours of the pages after the first (default 2)"
    )
    ap.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(5.0, 15.0),
        metavar=("MIN", "MAX"),
        help="seconds a person reads a page before the next click, drawn "
        "uniformly (default 5 15; 0 0 clicks on as soon as a page is shown)",
    )
    ap.add_argument(
        "--ramp",
        type=float,
        default=1.0,
        help="seconds between one person opening the app and the next (default 1)",
    )
    ap.add_argument(
        "--browser-nice",
        type=int,
        default=19,
        help="CPU priority of the browsers (default 19, the lowest: they stand for "
        "people's own computers and must not take the server's CPU; 0: as started)",
    )
    ap.add_argument(
        "--chromium",
        default=CHROMIUM,
        help=f"the browser (default {CHROMIUM}, as the end-to-end tests use)",
    )
    ap.add_argument(
        "--db",
        type=Path,
        help="store to use; built with --rows if it does not exist (default: a temporary one)",
    )
    ap.add_argument(
        "--p95-target",
        type=float,
        default=P95_TARGET_S,
        help="seconds, for the pages after the first visit (default 3)",
    )
    ap.add_argument("--rss-target", type=float, default=RSS_TARGET_GB, help="GB (10^9 bytes)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds one page may take")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "load.db"
        if db.exists():
            with Store(db) as store:
                datasets = store.list_datasets()
            dataset_id, rows = int(datasets["id"].iloc[0]), int(datasets["row_count"].iloc[0])
            print(f"using {db}: dataset {dataset_id}, {rows:,} rows", flush=True)
        else:
            t = time.perf_counter()
            dataset_id, rows = build_store(db, args.rows), args.rows
            print(f"saved {rows:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
        port = free_port()
        proc = start_app(db, port, {**os.environ})
        sampler = Sampler(proc.pid, browser_nice=args.browser_nice)
        idle = sampler.peak
        sampler.start()
        load_before = os.getloadavg()
        t = time.perf_counter()
        try:
            times = asyncio.run(
                drive(
                    f"http://127.0.0.1:{port}",
                    dataset_id,
                    sessions=args.sessions,
                    chromium=args.chromium,
                    plan=Plan(args.rounds, tuple(args.think), args.ramp, int(args.timeout * 1000)),
                )
            )
        finally:
            wall = time.perf_counter() - t
            peak, server_cpu, browser_cpu = sampler.stop()
            load_after = os.getloadavg()
            stop_app(proc)

    print(
        f"{args.sessions} people on {rows:,} rows, one opening the app every {args.ramp:g} s:"
        f" home, then {args.rounds + 1} tours of {len(TOUR)} pages, reading "
        f"{args.think[0]:g}-{args.think[1]:g} s per page; browsers at nice "
        f"{args.browser_nice}: {len(times)} page loads in {wall:.1f} s"
    )
    _, later = report(times)
    p95 = percentile(later, 95) if later else float("nan")
    print(
        f"server RSS: idle {idle / 1e9:.2f} GB, peak {peak / 1e9:.2f} GB (process tree of "
        "slicewise app)"
    )
    print(
        f"CPU used: server {server_cpu:.1f} s ({server_cpu / len(times):.2f} s a page), "
        f"browsers {browser_cpu:.1f} s, in {wall:.1f} s on {os.cpu_count()} cores"
    )
    print(load_averages(load_before, load_after))
    ok_time, ok_rss = p95 < args.p95_target, peak < args.rss_target * 1e9
    print(
        f"targets: p95 after the first visit < {args.p95_target:g} s: "
        f"{'met' if ok_time else 'NOT met'} ({p95:.2f} s); peak RSS < {args.rss_target:g} GB: "
        f"{'met' if ok_rss else 'NOT met'} ({peak / 1e9:.2f} GB)"
    )
    raise SystemExit(0 if ok_time and ok_rss else 1)


if __name__ == "__main__":
    main()
