"""Take the README's screenshots: the app on the demo project in headless Chromium.

Run from the repository root: ``python docs/take_screenshots.py`` (needs Debian's chromium).
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PAGES = {
    "home": "",
    "tag_errors": "Tag_errors",
    "slices_vs_hlp": "Slices_vs_HLP",
    "prioritise": "Prioritise",
    "label_consistency": "Label_consistency",
    "compare_iterations": "Compare_iterations",
    "suggested_slices": "Suggested_slices",
}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    """Start the app on a fresh demo database and screenshot each page."""
    port = 8765
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SLICEWISE_DB": str(Path(tmp) / "shots.db")}
        subprocess.run(
            [sys.executable, "-m", "slicewise.core.cli", "demo"], cwd=ROOT, env=env, check=True
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for name, path in PAGES.items():
                    page.goto(f"http://127.0.0.1:{port}/{path}")
                    page.wait_for_selector('[data-testid="stApp"]')
                    page.wait_for_function(
                        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                        timeout=60_000,
                    )
                    page.wait_for_timeout(4000)
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "home")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
