"""Local mode (no sign-in) in Chromium: the name, dataset and slice-by survive a reload.

They are kept in the address (``?user=Ana&dataset=2&slice_by=device``), they stay when
moving to another page (also when they came from the address rather than from typing), and
the app's page links carry them, so a link opens the same view in a new tab.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from slicewise.core.demo import create_demo_project
from slicewise.core.store import Store
from tests.browser import BROWSER_MARKS, ROOT, chromium_page, shot, streamlit_server, wait_idle

pytestmark = BROWSER_MARKS

WAIT = 90_000  # ms


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("local") / "app.db"
    ids = create_demo_project(Store(db), ROOT / "demo_data")
    with streamlit_server(db) as base:
        yield base, ids


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_name_dataset_and_slice_by_survive_a_reload_and_travel_in_links(demo):
    base, ids = demo
    with chromium_page() as page:
        page.set_default_timeout(WAIT)
        page.goto(base + "/")
        wait_idle(page)
        name = page.get_by_label("Your name", exact=True)
        name.fill("Ana")
        name.press("Enter")
        wait_idle(page)
        box = (
            page.locator('[data-testid="stSelectbox"]')
            .filter(has=page.get_by_text("Dataset", exact=True))
            .first
        )
        box.click()
        page.get_by_role("option").nth(1).click()  # not the one opened by default
        wait_idle(page)
        page.wait_for_function("() => location.search.includes('user=Ana')", timeout=WAIT)
        chosen = _query(page)["dataset"]
        assert len(chosen) == 1 and int(chosen[0]) in ids

        page.goto(base + "/Slices_vs_HLP?" + urlparse(page.url).query)
        wait_idle(page)
        page.locator('[data-testid="stMultiSelect"]').filter(
            has=page.get_by_text("Also slice by a column", exact=True)
        ).first.click()
        page.get_by_role("option", name="device", exact=True).click()
        page.keyboard.press("Escape")
        wait_idle(page)
        page.wait_for_function("() => location.search.includes('slice_by=device')", timeout=WAIT)

        page.reload()
        wait_idle(page)
        expect(page.get_by_label("Your name", exact=True)).to_have_value("Ana", timeout=WAIT)
        assert _query(page)["dataset"] == chosen
        page.locator('[data-testid="stMultiSelect"]').get_by_text("device", exact=True).wait_for(
            timeout=WAIT
        )
        shot(page, "auth_local_reload")

        # To the home page within the session (Streamlit's own navigation, which drops the
        # query): its workflow links carry the view.
        page.locator('a[data-testid="stSidebarNavLink"]').first.click()
        page.get_by_text("Workflow", exact=True).wait_for(timeout=WAIT)
        wait_idle(page)
        # Values that came from the address, not from typing, stay on another page too.
        expect(page.get_by_label("Your name", exact=True)).to_have_value("Ana", timeout=WAIT)
        link = (
            page.locator('a[data-testid="stPageLink-NavLink"]').filter(has_text="Prioritise").first
        )  # its text also holds the icon's name
        href = urlparse(link.get_attribute("href") or "")
        assert parse_qs(href.query) == {"dataset": chosen, "slice_by": ["device"], "user": ["Ana"]}
