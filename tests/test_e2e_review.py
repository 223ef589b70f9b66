"""End to end in a real headless Chromium: resolve an item of the label review queue.

Starts ``streamlit run app.py`` on a free loopback port with a temporary database holding the
demo project (``python -m slicewise.core.cli demo``: its annotation set is linked to the inspection
dataset), opens *Label consistency*, decides the first item of the review queue and checks
the store. The screenshot is kept in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from browser import BROWSER_MARKS, ROOT, chromium_page, shot, streamlit_server, wait_idle

USER = "Rita Reviewer"
PROGRESS = re.compile(r"([\d,]+) of ([\d,]+) disagreements resolved")

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e_review")
    db = tmp / "review.db"
    env = {**os.environ, "SLICEWISE_DB": str(db)}
    seeded = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    with streamlit_server(db) as base:
        yield {"base": base, "db": db}


@pytest.fixture(scope="module")
def page(server):
    with chromium_page() as pg:
        yield pg


def _progress(page) -> tuple[int, int]:
    text = page.get_by_text(PROGRESS).first.inner_text()
    done, total = PROGRESS.search(text).groups()
    return int(done.replace(",", "")), int(total.replace(",", ""))


def _chosen(page, label: str) -> str:
    """The option a selectbox shows (its combobox input's value)."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def test_the_review_queue_resolves_an_item_in_a_real_browser(server, page):
    from slicewise.core.agreement import BORDERLINE
    from slicewise.core.store import Store

    base = server["base"]
    page.goto(f"{base}/Label_consistency")
    wait_idle(page)
    name = page.get_by_role("textbox", name="Your name")
    name.fill(USER)
    name.press("Enter")
    wait_idle(page)

    # The demo's saved annotation set is open, linked to its dataset.
    page.get_by_text("Saved annotation set").first.wait_for()
    assert _chosen(page, "Annotation set").startswith("Inspection annotations")
    assert (
        _chosen(page, "Link the items to predictions (ground truth, model prediction, tags)")
        == "Linked dataset: Visual inspection"
    )
    page.get_by_role("tab", name="Review queue").click()
    wait_idle(page)
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
    wait_idle(page)
    note = page.get_by_role("textbox", name="Note for the labelling instructions")
    note.fill("glare hides the mark: say how to label it")
    note.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Save decision").click()
    wait_idle(page)
    page.get_by_text(re.compile(rf"^1 of {total:,} disagreements resolved")).first.wait_for()

    made = store.review_decisions(set_id)
    assert made[["item", "decision", "note", "user"]].values.tolist() == [
        [item, BORDERLINE, "glare hides the mark: say how to label it", USER]
    ]
    assert _progress(page) == (1, total)
    # the form moved on to the next item to review
    assert _chosen(page, "Item") not in (item, f"{item} ✓")
    shot(page, "6_label_consistency")

    # A reload (a new session) reads the decision back from the store.
    page.reload()
    wait_idle(page)
    page.get_by_role("tab", name="Review queue").click()
    wait_idle(page)
    assert _progress(page) == (1, total)
