"""One user's regex rule cannot hold the server: the issue's ReDoS, in the page and for real.

Issue 15 measured it on a real server: on *Tag errors*, the rule ``note regex (a|a)+(?!a)c``
on notes of 25 ``a`` and ``!``, evaluated as it is typed, held ``/_stcore/health`` for 45.7 s.
Here the same page runs twice: in AppTest (the refusal, and the result of ``(a|a)+c``, which
backtracks as badly in Python's ``re`` but is linear in RE2), and on a real Streamlit server
driven by headless Chromium, where a second browser session loads a page and a probe polls
the health endpoint while the first session types both rules: every probe answers in under
a second (beyond the slowest answer of the same probe on the idle server, which on this shared
2-core machine can itself approach a second) and the second session's page renders.
"""

from __future__ import annotations

import threading
import time
import urllib.request

import pandas as pd
import pytest
from browser import BROWSER_MARKS, CHROMIUM, FLAGS, streamlit_server, wait_idle
from pagetest import assert_ok, texts
from pagetest import run_page as app

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

PAGE = "pages/2_Tag_errors.py"
EVIL = "a" * 25 + "!"
LINEAR = "(a|a)+c"  # RE2 runs it; Python's re tries 2^25 ways on each evil note
REFUSED = "(a|a)+(?!a)c"  # the rule: a lookahead RE2 does not run


def save_notes(db) -> int:
    """Six examples, three with the evil note; one note ("AAC") matches LINEAR."""
    frame = pd.DataFrame(
        {
            "id": [f"n{i}" for i in range(6)],
            "label": ["cat", "dog"] * 3,
            "prediction": ["cat", "cat", "dog", "dog", "cat", "cat"],
            "note": [EVIL, EVIL, EVIL, "AAC", "quiet", None],
        }
    )
    store = Store(db)
    dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name="notes.csv")
    project = store.get_or_create_project("Test", user="seed")
    did = store.save_dataset(project, "Notes", dataset, task=TaskSpec(), user="seed")
    store.close()
    return did


# ----------------------------------------------------------------------------- AppTest


@pytest.mark.parametrize(
    ("pattern", "shown"),
    [
        (LINEAR, "**1** examples match"),
        (REFUSED, "notes.csv: column 'note': the regex '(a|a)+(?!a)c' uses a negative lookahead"),
    ],
)
def test_the_rule_answers_at_once_on_the_page(fresh, pattern, shown):
    did = save_notes(fresh)
    at = app(PAGE, did)
    at.selectbox(key="tag_rule_column").set_value("note")
    at.selectbox(key="tag_rule_op").set_value("regex")
    start = time.perf_counter()
    at.text_input(key="tag_rule_value").set_value(pattern).run()
    assert time.perf_counter() - start < 20  # a whole page run; the rule took 45 s alone
    assert_ok(at)
    assert shown in texts(at.info) + texts(at.error)


# ----------------------------------------------------------------------------- real server


class HealthProbe(threading.Thread):
    """Poll ``/_stcore/health`` every 50 ms and keep the slowest answer (seconds)."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.url, self.slowest, self.answers = f"{base}/_stcore/health", 0.0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=60) as reply:
                    answered = reply.read() == b"ok"
            except OSError:  # refused or reset: as bad as no answer
                answered = False
            took = time.perf_counter() - start
            self.slowest = max(self.slowest, took if answered else float("inf"))
            self.answers += 1
            self.done.wait(0.05)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    field = (
        page.locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
        .first.get_by_role("combobox")
    )
    field.click()
    if field.get_attribute("aria-expanded") != "true":
        field.press("ArrowDown")  # a click during a rerun can land before the list listens
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)


def browser_test(test):
    """Mark one test as a browser test (the AppTest ones above run without Chromium)."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@browser_test
def test_a_regex_rule_never_holds_the_server_for_another_session(tmp_path):
    from playwright.sync_api import sync_playwright

    db = tmp_path / "shared.db"
    did = save_notes(db)
    with streamlit_server(db) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            typist = browser.new_context().new_page()
            other = browser.new_context().new_page()
            for page in (typist, other):
                page.set_default_timeout(30_000)
            typist.goto(f"{base}/Tag_errors?dataset={did}&user=Ana")
            wait_idle(typist)
            typist.get_by_text("Tag by a rule on metadata").click()
            wait_idle(typist)
            choose(typist, "Column", "note")
            choose(typist, "Operator", "regex")

            idle = HealthProbe(base)  # how slow the machine alone makes an answer
            idle.start()
            time.sleep(3)
            idle.done.set()
            idle.join(timeout=60)
            probe = HealthProbe(base)
            probe.start()
            value = typist.get_by_label("Value", exact=True)
            for pattern, answer in (
                (LINEAR, "1 examples match"),
                (REFUSED, "uses a negative lookahead"),
            ):
                value.fill(pattern)
                value.press("Enter")  # the rule runs now, as it is typed
                start = time.perf_counter()
                other.goto(f"{base}/?dataset={did}&user=Bo")  # another user, meanwhile
                wait_idle(other)
                assert time.perf_counter() - start < 30
                typist.get_by_text(answer).first.wait_for(timeout=30_000)
            probe.done.set()
            probe.join(timeout=60)
            assert probe.answers > 0 and idle.answers > 0
            assert probe.slowest < 1.0 + idle.slowest, (
                f"the health endpoint took {probe.slowest:.1f} s ({idle.slowest:.1f} s idle)"
            )
        finally:
            browser.close()
