"""In a real headless Chromium, the review queue saves the decision on the item it shows.

The issue's steps on the demo annotations (``python -m slicewise.core.cli demo``): open *Label
consistency* → Review queue, change "Class pair" to a pair the first item is not labelled
with, choose a decision, Save. Before the fix the Item box kept the old id while the votes
and the save belonged to another item. Here the decision read back from the store must be on
the item the Item box shows, and the votes shown must be that item's labels.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

import pytest
from browser import BROWSER_MARKS, ROOT, chromium_page, streamlit_server, wait_idle
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

USER = "Rita Reviewer"
VOTE = re.compile(r"(ann-\d+): ([^·]+?)\s*(?:·|$)")

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e_review_integrity")
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
    # No file watcher: a source file saved meanwhile would leave the "Source file changed"
    # prompt up, which is not an idle app.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "none")
        with streamlit_server(db) as base:
            yield {"base": base, "db": db}


def _chosen(page, label: str) -> str:
    """The option a selectbox shows (its combobox input's value)."""
    return page.get_by_role("combobox", name=label, exact=True).input_value()


def _choose(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.press("ArrowDown")  # opens the list
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)


def _votes_shown(page) -> dict[str, str]:
    """The annotators' votes the review form shows: {annotator: label}."""
    text = page.get_by_text(re.compile(r"^ann-\d+: ")).first.inner_text()
    return dict(VOTE.findall(text))


def test_the_saved_decision_is_on_the_item_shown_after_changing_the_class_pair(server):
    from slicewise.core.agreement import BORDERLINE, find_confused_pairs
    from slicewise.core.store import Store

    store = Store(server["db"])
    set_id = int(store.list_annotation_sets()["id"].iloc[0])
    labels = store.load_annotation_set(set_id)
    given = {
        str(item): dict(zip(g["annotator"].astype(str), g["label"].astype(str), strict=True))
        for item, g in labels.groupby("item")
    }
    pairs = find_confused_pairs(labels).head(30)

    with chromium_page() as page:
        page.goto(f"{server['base']}/Label_consistency")
        wait_idle(page)
        name = page.get_by_role("textbox", name="Your name")
        name.fill(USER)
        name.press("Enter")
        wait_idle(page)
        page.get_by_role("tab", name="Review queue").click()
        wait_idle(page)
        first = _chosen(page, "Item")
        assert _votes_shown(page) == given[first]

        # a pair the first item is not labelled with: the item list no longer holds it
        pair = next(
            f"{a} / {b}"
            for a, b in zip(pairs["class_a"], pairs["class_b"], strict=True)
            if not {a, b} <= set(given[first].values())
        )
        _choose(page, "Class pair", pair)
        assert _chosen(page, "Class pair") == pair
        # Under load the rerun can start after wait_idle saw the page idle: give the item
        # list up to 30 s to follow the pair (it never does if the page is wrong).
        with contextlib.suppress(PlaywrightTimeout):
            expect(page.get_by_role("combobox", name="Item", exact=True)).not_to_have_value(
                first, timeout=30_000
            )
        wait_idle(page)
        item = _chosen(page, "Item")
        assert item != first
        a, b = pair.split(" / ")
        assert {a, b} <= set(given[item].values())
        assert _votes_shown(page) == given[item]  # the votes are the shown item's

        decision = page.get_by_role("combobox", name="Decision", exact=True)
        decision.click()  # it takes a typed label too, so the list opens on a key
        decision.press("ArrowDown")
        page.get_by_role("option", name=BORDERLINE, exact=True).first.click()
        wait_idle(page)
        page.get_by_role("button", name="Save decision").click()
        wait_idle(page)
        page.get_by_text(re.compile(r"^1 of [\d,]+ disagreements resolved")).first.wait_for()

    made = store.review_decisions(set_id)
    assert made[["item", "decision", "user"]].values.tolist() == [[item, BORDERLINE, USER]]
