"""Shared plumbing of the end-to-end tests: a Streamlit server and a headless Chromium page.

Debian's ``chromium`` is driven by Playwright with ``executable_path`` (``playwright install``
cannot download here); the server runs ``streamlit run app.py`` on a free loopback port with
the database given.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slicewise.core.cli.serve import streamlit_command as app_command_line

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Marks for a browser test module: skipped (with the reason) only where chromium is absent.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (the README's test command installs it)",
    ),
]


def free_port() -> int:
    """Return a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """Return the command serving the app (store from ``SLICEWISE_DB``) on loopback ``port``."""
    # Source edits elsewhere in the checkout must not raise "source changed" prompts.
    flags = ["--server.headless", "true", "--server.fileWatcherType", "none"]
    return app_command_line(port, "127.0.0.1", flags)


@contextmanager
def streamlit_server(db: Path) -> Iterator[str]:
    """Run the app on ``db`` and yield its base URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "SLICEWISE_DB": str(db)}
    # The server's output goes to a file: a pipe nobody reads would block it once full.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        streamlit_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        else:
            log.seek(0)
            pytest.fail("streamlit did not start: " + log.read().decode()[-2000:])
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def chromium_page(*, downloads: bool = False) -> Iterator[object]:
    """Yield a Playwright page in headless Chromium, 1400×1000."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=downloads
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(300)


def shot(page, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
