"""End to end in a real headless Chromium: upload, tag, compare with HLP, export.

Starts ``streamlit run app.py`` on a free loopback port with a temporary database and drives
Debian's Chromium with Playwright. Screenshots of every page are kept in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from browser import BROWSER_MARKS, chromium_page, shot, streamlit_server, wait_idle

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    with streamlit_server(tmp / "e2e.db") as base:
        yield {"base": base, "db": tmp / "e2e.db", "tmp": tmp}


@pytest.fixture(scope="module")
def page(server):
    with chromium_page(downloads=True) as pg:
        yield pg


def _choose(page, label: str, option: str) -> None:
    box = (
        page.locator('[data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
        .first
    )
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    wait_idle(page)


@pytest.fixture(scope="module")
def upload_csv(server):
    df = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(12)],
            "label": [
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "dog",
            ],
            "prediction": [
                "cat",
                "cat",
                "cat",
                "dog",
                "dog",
                "dog",
                "cat",
                "cat",
                "cat",
                "dog",
                "dog",
                "dog",
            ],
            "human_label": [
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "dog",
                "cat",
                "cat",
                "cat",
                "dog",
                "cat",
                "dog",
            ],
            "blurry": ["x", "", "", "", "x", "", "", "", "", "", "", ""],
            "camera": ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b"],
        }
    )
    path = server["tmp"] / "pets <b>.csv"
    df.to_csv(path, index=False)
    return path, df


def test_whole_workflow_in_a_real_browser(server, page, upload_csv):
    path, df = upload_csv
    base = server["base"]

    # Home with no dataset: an empty state that says what to do.
    page.goto(base)
    wait_idle(page)
    page.get_by_text("Load a file or open the demo project").first.wait_for()
    shot(page, "0_home_empty")

    # Load data: upload through the file input, keep the detected mapping, save.
    page.goto(f"{base}/Load_data")
    wait_idle(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("First rows of the file").wait_for()
    wait_idle(page)
    shot(page, "1_load_data_mapping")
    page.get_by_role("button", name=re.compile("Check and save")).click()
    # The confirmation, not the "Saved datasets" heading that is always on the page.
    page.get_by_text(re.compile(r"Saved .+ in the project")).first.wait_for(timeout=60_000)
    wait_idle(page)
    shot(page, "1_load_data_saved")

    from slicewise.core.store import Store

    store = Store(server["db"])
    datasets = store.list_datasets()
    assert len(datasets) == 1
    did = int(datasets["id"].iloc[0])
    assert int(datasets["row_count"].iloc[0]) == len(df)
    before = int(store.tag_matrix(did)["blurry"].sum())
    assert before == 2

    # Tag errors: tag every example whose label is "dog" as blurry, with a rule (a rule
    # applies to all examples unless "Errors only" is ticked).
    page.goto(f"{base}/Tag_errors")
    wait_idle(page)
    page.get_by_text("Coverage:").first.wait_for()
    shot(page, "2_tag_errors")
    page.get_by_text("Tag by a rule on metadata").click()
    wait_idle(page)
    value = page.get_by_label("Value", exact=True)
    value.fill("dog")
    value.press("Enter")
    wait_idle(page)
    _choose(page, "Tag", "blurry")
    dogs = df[df.label == "dog"]
    page.get_by_role("button", name=f"Apply to {len(dogs)} examples").click()
    wait_idle(page)
    page.wait_for_timeout(1000)
    tags = store.tag_matrix(did)["blurry"]
    expected = set(df.loc[df.blurry == "x", "id"]) | set(dogs["id"])
    frame_ids = store.load_dataset(did).frame["id"].astype(str)
    assert set(frame_ids[tags.to_numpy()]) == expected
    shot(page, "2_tag_errors_after_rule")

    # Slices vs HLP and Prioritise render the table and charts.
    page.goto(f"{base}/Slices_vs_HLP")
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "3_slices_vs_hlp")
    page.goto(f"{base}/Prioritise")
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    shot(page, "4_prioritise")

    # Export: the HTML report downloads, is self-contained and shows the new tag count.
    page.goto(f"{base}/Export")
    wait_idle(page)
    shot(page, "5_export")
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile("HTML")).click()
    download = info.value
    assert re.fullmatch(r"slicewise-.*-\d{4}-\d{2}-\d{2}\.html", download.suggested_filename)
    html = Path(download.path()).read_text(encoding="utf-8")
    assert "<svg" in html  # the chart: inline SVG, no script
    assert not re.search(r"<script|(src|href)\s*=", html)
    row = re.search(r"<tr><td>[^<]*</td><td>blurry</td><td>(\d+)</td>", html)
    assert row, "the blurry row is in the report"
    assert int(row.group(1)) == len(expected)
    wait_idle(page)
    assert len(store.list_reports(did)) >= 1
