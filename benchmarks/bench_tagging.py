"""Tagging in a real browser: time from ticking a tag in the grid to saved and to shown.

    python benchmarks/bench_tagging.py                      # 100,000 rows, 1 warm-up + 6 ticks
    python benchmarks/bench_tagging.py --rows 20000 --ticks 3

Generated predictions (:func:`benchmarks.generate.make_predictions`: 12 tags, a score,
metadata) are saved in a temporary store; ``streamlit run app.py`` serves it and Debian's
Chromium (headless, driven by Playwright; helpers in ``tests/browser.py``) opens *Tag errors*.
Each tick selects the grid cell of an example without the tag (a click on its id, then the
arrow keys) and presses Space, the grid's own toggle key. Two times are taken from the key
press:

- **saved**: until the store holds it (its revision moves and the tag matrix has the tag),
  polled from this process;
- **shown**: until the page's run has finished (the browser's own clock: the app's
  ``data-test-script-state`` goes back to ``notRunning``) and the grid, redrawn from the
  store, shows the tick.

The first tick is a warm-up (caches fill); the medians of the others are the result; the
target is under 1 s for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.generate import make_predictions  # noqa: E402
from slicewise.core.dataset import dataset_from_frame  # noqa: E402
from slicewise.core.store import Store  # noqa: E402
from slicewise.core.task import TaskSpec  # noqa: E402

TARGET_S = 1.0
TAG = "blurry"
HEADER_PX = 35  # the grid's header and row height without thumbnails (Streamlit's default)
ROW_PX = 35
PICK_PX = 75  # the first (Pick) column is "small"

_IDLE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)
# Browser-side clock: the key press and every change of the app's run state.
_WATCH = """() => {
  window.__sw = {keys: [], runs: []};
  window.addEventListener('keydown', () => window.__sw.keys.push(performance.now()), true);
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => window.__sw.runs.push(
      [app.getAttribute('data-test-script-state'), performance.now()]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# Milliseconds from the last key press to the end of the first run that started after it.
_SHOWN_MS = """() => {
  const t0 = window.__sw.keys[window.__sw.keys.length - 1];
  let started = false;
  for (const [s, t] of window.__sw.runs) {
    if (t < t0) continue;
    if (s === 'running') started = true;
    else if (started && s === 'notRunning') return t - t0;
  }
  return null;
}"""


def build_store(db: Path, rows: int) -> int:
    """Save ``rows`` generated predictions in a new store at ``db``; return the dataset id."""
    with Store(db) as store:
        project = store.get_or_create_project("bench", user="bench")
        return store.save_dataset(
            project,
            "tagging",
            dataset_from_frame(make_predictions(rows)),
            task=TaskSpec(),
            user="bench",
        )


def _settle(page, timeout: int = 180_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(_IDLE, timeout=timeout)


def _cell(page, col: int, row: int):
    return page.locator(f'[data-testid="glide-cell-{col}-{row}"]').first


def _column(page, header: str) -> int:
    """Index of the grid column headed ``header`` (the grid's accessible table)."""
    page.wait_for_function(
        "h => Array.from(document.querySelectorAll('[role=\"grid\"] th'))"
        ".some(th => th.textContent === h)",
        arg=header,
    )
    heads = page.locator('[role="grid"] th').all_text_contents()
    return heads.index(header)


def _select_cell(page, col: int, row: int) -> None:
    """Select a grid cell: click the row's id (column 1), then move right with the keys."""
    canvas = page.locator('[data-testid="stDataFrameResizable"] canvas').first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + PICK_PX + 12, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2)
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=\"glide-cell-1-{row}\"]')"
        "?.getAttribute('aria-selected') === 'true'"
    )
    for _ in range(col - 1):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"() => document.querySelector("
        f"'[data-testid=\"glide-cell-{col}-{row}\"]')"
        "?.getAttribute('aria-selected') === 'true'"
    )


def tick_times(
    page, base: str, db: Path, dataset_id: int, *, ticks: int, tag: str = TAG
) -> list[dict]:
    """Tick ``tag`` on ``ticks`` untagged examples, one after another; time each one.

    Returns one dict per tick: ``id`` (the example), ``saved`` and ``shown`` (seconds).
    """
    page.goto(f"{base}/Tag_errors?dataset={dataset_id}")
    _cell(page, 1, 0).wait_for(state="attached", timeout=180_000)  # the grid is drawn
    _settle(page)
    page.evaluate(_WATCH)
    store = Store(db)
    out = []
    row = 0
    for _ in range(ticks):
        col = _column(page, tag.replace("_", " "))
        while _cell(page, col, row).text_content() != "false":  # the next untagged row
            row += 1
        example = _cell(page, 1, row).text_content()
        _select_cell(page, col, row)
        rev = store.revision(dataset_id)
        start = time.perf_counter()
        page.keyboard.press(" ")
        while store.revision(dataset_id) == rev:
            if time.perf_counter() - start > 60:
                raise TimeoutError(f"the tick on {example} was not saved within 60 s")
            time.sleep(0.005)
        saved = time.perf_counter() - start
        frame_ids = store.load_dataset(dataset_id).frame["id"].astype(str)
        pos = frame_ids.tolist().index(example)
        assert bool(store.tag_matrix(dataset_id)[tag].iat[pos]), f"{example} not tagged {tag}"
        page.wait_for_function(f"() => ({_SHOWN_MS})() !== null", timeout=60_000)
        shown_ms = page.evaluate(_SHOWN_MS)
        _settle(page)
        assert _cell(page, col, row).text_content() == "true", f"the grid does not show {example}"
        out.append({"id": example, "saved": saved, "shown": shown_ms / 1000})
        row += 1
    store.close()
    return out


def summary(times: list[dict]) -> dict[str, float]:
    """Medians of the warm ticks (all but the first), in seconds."""
    warm = times[1:] or times
    return {k: statistics.median(t[k] for t in warm) for k in ("saved", "shown")}


def main() -> None:
    """Build the store, run the app and the browser, print every tick and the medians."""
    from browser import chromium_page, streamlit_server

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--ticks", type=int, default=6, help="warm ticks (after one warm-up)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tagging.db"
        t = time.perf_counter()
        did = build_store(db, args.rows)
        print(f"saved {args.rows:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
        with streamlit_server(db) as base, chromium_page() as page:
            times = tick_times(page, base, db, did, ticks=args.ticks + 1)
    for i, t in enumerate(times):
        print(
            f"  tick {i}{' (warm-up)' if i == 0 else ''}: {t['id']}: saved {t['saved']:.3f} s,"
            f" shown {t['shown']:.3f} s"
        )
    med = summary(times)
    ok = all(v < TARGET_S for v in med.values())
    print(
        f"median of {len(times) - 1} warm ticks at {args.rows:,} rows: "
        f"saved {med['saved']:.3f} s, shown {med['shown']:.3f} s "
        f"(target < {TARGET_S:g} s: {'met' if ok else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
