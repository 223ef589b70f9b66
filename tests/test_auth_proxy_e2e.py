"""Sign-in by a trusted proxy's header, end to end: `slicewise app --proxy-header` in Chromium.

The browser plays the proxy: Playwright sends the identity header (``extra_http_headers``)
on every request, the WebSocket's included, from 127.0.0.1. Trusted when 127.0.0.1 is a
trusted proxy (also when the request carries the ``X-Forwarded-For`` a real proxy adds:
the server checks the connection's own peer, not that header); refused from an address that
is not one, and refused without the header.
"""

from __future__ import annotations

import pytest

from slicewise.core.store import Store
from tests.browser import BROWSER_MARKS, CHROMIUM, FLAGS, free_port, shot, wait_idle
from tests.oidc_fixture import slicewise_app

pytestmark = BROWSER_MARKS

WAIT = 90_000  # ms
HEADER = "X-Forwarded-Email"


def _open(browser, base: str, headers: dict[str, str]):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, extra_http_headers=headers
    )
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(base + "/")
    return page


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def test_a_trusted_proxy_names_the_user_and_writes_carry_that_name(tmp_path, chromium):
    db = tmp_path / "app.db"
    with slicewise_app(
        db, free_port(), "--proxy-header", HEADER, "--trusted-proxy", "127.0.0.1"
    ) as base:
        page = _open(chromium, base, {HEADER: "carol@example.test"})
        page.get_by_text("Signed in as carol@example.test").wait_for(timeout=WAIT)
        wait_idle(page)
        assert page.get_by_role("button", name="Sign out").count() == 0  # the proxy signs out
        assert page.get_by_label("Your name", exact=True).count() == 0  # cannot be typed
        shot(page, "auth_proxy_signed_in")

        page.goto(base + "/Tag_errors")
        page.get_by_text("Tags: create, rename, merge, delete").click(timeout=WAIT)
        box = page.get_by_label("New tag", exact=True)
        box.fill("proxy_noise")
        box.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Create", exact=True).click()
        page.get_by_text("Created tag proxy_noise").wait_for(timeout=WAIT)
        events = Store(db).events()
        made = events[events["kind"] == "tag.create"]
        assert made["user"].tolist() == ["carol@example.test"]

        # Behind a real proxy the request also says whom the proxy serves: still the proxy's
        # connection, so still trusted, and the header still names the user.
        page = _open(
            chromium, base, {HEADER: "dan@example.test", "X-Forwarded-For": "198.51.100.7"}
        )
        page.get_by_text("Signed in as dan@example.test").wait_for(timeout=WAIT)

        # A trusted connection without the header names nobody: refused.
        page = _open(chromium, base, {})
        page.get_by_text("Sign-in refused").wait_for(timeout=WAIT)
        page.get_by_text("sent no user").wait_for(timeout=WAIT)
        assert page.get_by_text("Current dataset").count() == 0


def test_the_header_from_an_untrusted_address_is_refused(tmp_path, chromium):
    with slicewise_app(
        tmp_path / "app.db", free_port(), "--proxy-header", HEADER, "--trusted-proxy", "192.0.2.1"
    ) as base:
        page = _open(chromium, base, {HEADER: "mallory@example.test"})
        page.get_by_text("Sign-in refused").wait_for(timeout=WAIT)
        page.get_by_text("which is not one").wait_for(timeout=WAIT)
        wait_idle(page)
        shot(page, "auth_proxy_refused")
        assert page.get_by_text("mallory").count() == 0
        assert page.get_by_text("Current dataset").count() == 0
