"""The Prioritise page ranks without a baseline, audits protected columns, and states its rule.

Pages run in Streamlit's AppTest on a temporary store (see tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok, table_with, texts
from pagetest import run_page as app

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.prioritize import RANK_RULES
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")


def _frame() -> pd.DataFrame:
    """Binary predictions without human labels; group A has twice B's false positives."""
    rng = np.random.default_rng(3)
    n = 800
    group = np.where(np.arange(n) % 2 == 0, "A", "B")
    label = rng.integers(0, 2, n)
    flip = rng.random(n) < np.where((group == "A") & (label == 0), 0.4, 0.1)
    site = np.where(np.arange(n) % 4 == 0, "north", "south")
    return pd.DataFrame(
        {
            "id": range(n),
            "label": label,
            "prediction": np.where(flip, 1 - label, label),
            "group": group,
            "site": site,
        }
    )


@pytest.fixture
def stored(store) -> int:
    dataset = dataset_from_frame(_frame(), ColumnMapping(), name="loans.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project, "Loans", dataset, task=TaskSpec(kind="binary", positive="1"), user="seed"
    )


def test_without_a_baseline_the_page_ranks_by_excess_error_and_says_so(stored):
    at = app("pages/4_Prioritise.py", stored, shared_slice_by=["site"])
    assert_ok(at)
    table = table_with(at, "excess gain")
    assert table["rank"].notna().any()
    assert not table["slice"].isin(["None"]).any()
    shown = texts([*at.markdown, *at.caption])
    assert RANK_RULES["excess"].split(":")[0] in shown  # the caption names the rule
    assert "No baseline to compare with" in shown


def test_a_protected_column_gets_a_fairness_audit_on_the_page(stored):
    at = app("pages/4_Prioritise.py", stored, prio_protected=["group"])
    assert_ok(at)
    shown = texts([*at.markdown, *at.caption])
    assert "group = A (protected attribute): " in shown
    assert "false positive rate" in shown
    assert "collect more examples where group" not in shown
