"""The Production drift page in headless Chromium, on a stored reference and production sample."""

from __future__ import annotations

import pytest
from browser import BROWSER_MARKS, chromium_page, shot, streamlit_server, wait_idle
from test_production_drift_page import _production, _reference

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

pytestmark = BROWSER_MARKS


def test_the_drift_page_opens_in_a_real_browser_without_an_exception(tmp_path):
    db = tmp_path / "drift.db"
    with Store(db) as store:
        project = store.get_or_create_project("Test", user="seed")
        dataset = dataset_from_frame(_reference(), ColumnMapping(), name="test.csv")
        did = store.save_dataset(
            project, "Ref", dataset, task=TaskSpec(kind="binary", positive="1"), user="seed"
        )
        store.save_production_sample(
            did, "prod", _production(), source_name="prod.csv", user="seed",
            time_column="ts",
        )  # fmt: skip
    with streamlit_server(db) as base, chromium_page() as page:
        page.goto(f"{base}/Production_drift")
        wait_idle(page)
        page.get_by_text("Feature drift", exact=True).wait_for(timeout=60_000)
        page.get_by_text("Monitoring over time", exact=True).wait_for(timeout=60_000)
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
        )
        page.wait_for_function(
            "() => !document.querySelector('[data-testid^=\"stSkeleton\"]')", timeout=60_000
        )
        shot(page, "production-drift")
        exceptions = page.locator('[data-testid="stException"]')
        if exceptions.count():
            pytest.fail(f"exception on the page: {exceptions.first.inner_text()}")
        assert page.get_by_text("Feature drift", exact=True).is_visible()
        assert page.get_by_text("crossed the threshold", exact=False).first.is_visible()
