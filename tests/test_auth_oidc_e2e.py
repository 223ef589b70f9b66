"""Sign-in with Streamlit's OpenID Connect, end to end, against a real provider.

``oidc-provider`` (npm) runs on the loopback (``tests/oidc_fixture.py``), ``slicewise app``
is given a ``secrets.toml`` pointing at it, and headless Chromium signs in through the
provider's own login and consent forms. Two users in two browser contexts each make a write;
each sees their own identity in the sidebar and in the event log, and the store recorded
each write under the identity that made it. Signing out goes through the provider.
"""

from __future__ import annotations

import re

import pytest

from slicewise.core.store import Store
from tests.browser import BROWSER_MARKS, CHROMIUM, FLAGS, free_port, shot, wait_idle
from tests.oidc_fixture import NODE_MARKS, oidc_provider, slicewise_app, write_secrets

pytestmark = [*BROWSER_MARKS, *NODE_MARKS]

WAIT = 90_000  # ms: a page run on a busy 2-core machine


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory):
    """The provider and an app with the demo project, signed in through it."""
    tmp = tmp_path_factory.mktemp("oidc")
    port = free_port()
    with oidc_provider(port) as provider:
        secrets = write_secrets(tmp, provider)
        db = tmp / "app.db"
        with slicewise_app(db, port, "--secrets.files", str(secrets)):
            yield provider, db


def _sign_in(page, provider, login: str) -> None:
    """Sign in as ``login`` through the provider's forms, from the app's sign-in screen."""
    page.goto(provider.app_origin + "/")
    page.get_by_role("button", name="Sign in").click(timeout=WAIT)
    page.wait_for_url(provider.issuer + "/interaction/**", timeout=WAIT)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click(timeout=WAIT)  # the consent form
    page.wait_for_url(provider.app_origin + "/**", timeout=WAIT)
    page.get_by_text("Signed in as").wait_for(timeout=WAIT)
    wait_idle(page)


def _create_tag(page, provider, name: str) -> None:
    page.goto(provider.app_origin + "/Tag_errors")
    page.get_by_text("Tags: create, rename, merge, delete").click(timeout=WAIT)
    box = page.get_by_label("New tag", exact=True)
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_text(f"Created tag {name}").wait_for(timeout=WAIT)
    wait_idle(page)


def _event_log_names(page, provider) -> list[str]:
    """The identities the Team page's event log offers to filter by (its "Only" choices)."""
    page.goto(provider.app_origin + "/Team")
    page.get_by_text("Who did what", exact=True).wait_for(timeout=WAIT)
    wait_idle(page)
    page.locator('[data-testid="stMultiSelect"]').filter(
        has=page.get_by_text("Only", exact=True)
    ).first.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=WAIT)
    return [t.strip() for t in options.all_inner_texts()]


def test_two_users_sign_in_through_a_real_provider_and_see_their_own_identity(signed_app):
    from playwright.sync_api import sync_playwright

    provider, db = signed_app
    users = {"ana": "ana@example.test", "bob": "bob@example.test"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            pages = {}
            for login in users:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(WAIT)
                page.goto(provider.app_origin + "/")
                # Nobody signed in: the sign-in screen, no project or data.
                page.get_by_text("Sign in to Slicewise").wait_for(timeout=WAIT)
                assert page.get_by_text("Current dataset").count() == 0
                _sign_in(page, provider, login)
                pages[login] = page

            store = Store(db)
            demo = int(store.list_projects()["id"].iloc[0])
            # The first to sign in (ana) owns the store; as an owner would on the Team page,
            # she makes bob an annotator of the demo project.
            store.set_member(demo, users["bob"], "annotator", user=users["ana"])

            for login, identity in users.items():
                page = pages[login]
                page.reload()
                page.get_by_text(f"Signed in as {identity}").wait_for(timeout=WAIT)
                _create_tag(page, provider, f"{login}_noise")
                shot(page, f"auth_oidc_{login}")

            tags_by = {row.user for row in store.events().itertuples() if row.kind == "tag.create"}
            assert tags_by == set(users.values())
            detail = {
                row.user: row.detail
                for row in store.events().itertuples()
                if row.kind == "tag.create"
            }
            for login, identity in users.items():
                assert f"{login}_noise" in detail[identity]

            for login, identity in users.items():
                page = pages[login]
                assert identity in _event_log_names(page, provider)
                # Still signed in after a reload (Streamlit's signed cookie).
                page.reload()
                page.get_by_text(f"Signed in as {identity}").wait_for(timeout=WAIT)
                other = next(v for v in users.values() if v != identity)
                assert page.get_by_text(re.compile(f"Signed in as {re.escape(other)}")).count() == 0

            # Signing out ends the provider's session too (its end-session page asks first).
            page = pages["ana"]
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Yes, sign me out").click(timeout=WAIT)
            page.get_by_text("Sign in to Slicewise").wait_for(timeout=WAIT)
            assert page.get_by_text("Signed in as").count() == 0
        finally:
            browser.close()
