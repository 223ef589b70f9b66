"""A project tag made on one dataset does not blur another dataset's figures.

Tags belong to the project (store migration 4), so a dataset sees the tags made on the
others; one never given nor reviewed on this dataset's examples is left out of its analysis,
so "No tag" keeps its count and the advice to tag more errors. Pages run in AppTest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pagetest import assert_ok, table_with, texts
from pagetest import run_page as app

from slicewise.core.demo import create_demo_project

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("fresh")


def test_the_demo_inspection_dataset_shows_only_its_own_tags(store):
    ids = create_demo_project(store, ROOT / "demo_data")
    inspection = ids[-1]
    assert store.load_dataset(inspection).source_name.startswith("inspection")
    at = app("pages/4_Prioritise.py", inspection)
    assert_ok(at)
    slices = table_with(at, "potential gain")["slice"].tolist()
    assert "Car noise" not in slices and "Clean speech" not in slices
    assert "Reflection" in slices
    shown = texts([*at.markdown, *at.caption])
    # 42% of the inspection errors carry none of its tags (see `slicewise analyze`)
    assert "Tag more errors: 42% of the errors carry no tag yet" in shown
