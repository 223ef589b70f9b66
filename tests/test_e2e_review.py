"""End to end in a real headless Chromium: resolve an item of the label review queue.

Starts ``streamlit run app.py`` on a free loopback port with a temporary database holding the
demo project (``python -m core.cli demo``: its annotation set is linked to the inspection
dataset), opens *Label consistency*, decides the first item of the review queue and checks
the store. The screenshot is kept in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
USER = "Rita Reviewer"
PROGRESS = re.compile(r"([\d,]+) of ([\d,]+) disagreements resolved")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                       "(the README's test command installs it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e_review")
    db = tmp / "review.db"
    env = {**os.environ, "SLICEWISE_DB": str(db)}
    seeded = subprocess.run([sys.executable, "-m", "core.cli", "demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    yield {"base": base, "db": db}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(300)


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _progress(page) -> tuple[int, int]:
    text = page.get_by_text(PROGRESS).first.inner_text()
    done, total = PROGRESS.search(text).groups()
    return int(done.replace(",", "")), int(total.replace(",", ""))


def _chosen(page, label: str) -> str:
    """The option a selectbox shows (its combobox input's value)."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def test_the_review_queue_resolves_an_item_in_a_real_browser(server, page):
    from core.agreement import BORDERLINE
    from core.store import Store

    base = server["base"]
    page.goto(f"{base}/Label_consistency")
    _wait_idle(page)
    name = page.get_by_role("textbox", name="Your name")
    name.fill(USER)
    name.press("Enter")
    _wait_idle(page)

    # The demo's saved annotation set is open, linked to its dataset.
    page.get_by_text("Saved annotation set").first.wait_for()
    assert _chosen(page, "Annotation set").startswith("Inspection annotations")
    assert _chosen(page, "Link the items to predictions (ground truth, model prediction, "
                   "tags)") == "Linked dataset: Visual inspection"
    page.get_by_role("tab", name="Review queue").click()
    _wait_idle(page)
    done, total = _progress(page)
    assert done == 0 and total > 50

    # The first item of the queue is the one under review; decide it and save.
    item = _chosen(page, "Item")
    store = Store(server["db"])
    set_id = int(store.list_annotation_sets()["id"].iloc[0])
    labels = store.load_annotation_set(set_id)
    assert item in set(labels["item"].astype(str))
    decision = page.get_by_role("combobox", name="Decision", exact=True)
    decision.click()  # it takes a typed label too, so the list opens on a key
    decision.press("ArrowDown")
    page.get_by_role("option", name=BORDERLINE, exact=True).first.click()
    _wait_idle(page)
    note = page.get_by_role("textbox", name="Note for the labelling instructions")
    note.fill("glare hides the mark: say how to label it")
    note.press("Enter")
    _wait_idle(page)
    page.get_by_role("button", name="Save decision").click()
    _wait_idle(page)
    page.get_by_text(re.compile(rf"^1 of {total:,} disagreements resolved")).first.wait_for()

    made = store.review_decisions(set_id)
    assert made[["item", "decision", "note", "user"]].values.tolist() == [
        [item, BORDERLINE, "glare hides the mark: say how to label it", USER]]
    assert _progress(page) == (1, total)
    # the form moved on to the next item to review
    assert _chosen(page, "Item") not in (item, f"{item} ✓")
    _shot(page, "6_label_consistency")

    # A reload (a new session) reads the decision back from the store.
    page.reload()
    _wait_idle(page)
    page.get_by_role("tab", name="Review queue").click()
    _wait_idle(page)
    assert _progress(page) == (1, total)
