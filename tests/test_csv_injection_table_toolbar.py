"""Tables offer no CSV download of their own: Streamlit's would not neutralise formulas.

Streamlit's table toolbar writes its "Download as CSV" file in the browser, quoting only
cells with a comma, a quote or a line break, so a cell ``=1+1`` would run in a spreadsheet.
``.streamlit/config.toml`` sets ``client.disableDataExport``; here a real server and a
headless Chromium show a table of an uploaded file whose toolbar has its other actions but
no CSV download. (With the option off, the same toolbar lists "Download as CSV".)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from browser import BROWSER_MARKS, chromium_page, streamlit_server, wait_idle

pytestmark = BROWSER_MARKS
ROOT = Path(__file__).resolve().parent.parent


def test_the_app_config_turns_off_the_tables_own_export():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


def test_a_table_toolbar_has_no_csv_download(tmp_path):
    upload = tmp_path / "hostile.csv"
    upload.write_text("label,prediction,note\na,a,=1+1\nb,a,x;=1+1\n")
    with streamlit_server(tmp_path / "toolbar.db") as base, chromium_page() as page:
        page.goto(f"{base}/Load_data")
        wait_idle(page)
        page.locator('input[type="file"]').set_input_files(str(upload))
        page.get_by_text("First rows of the file").wait_for()
        wait_idle(page)
        page.locator('[data-testid="stDataFrame"]').first.hover()
        toolbar = page.locator('[data-testid="stElementToolbar"]').first
        toolbar.get_by_role("button", name="Search").wait_for()
        labels = [b.get_attribute("aria-label") for b in toolbar.get_by_role("button").all()]
        assert "Search" in labels and "Download as CSV" not in labels, labels
