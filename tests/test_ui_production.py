"""The Production drift page reads a production sample once per page run (ui/production.py).

The slice mix, the confidence-based estimate (CBPE) and the accuracy per window all take the
sample read with the dataset's column roles (:func:`core.drift.read_production`); the page
reads it once per (database, sample, dataset roles) and hands the same sample to each.
Pages run in Streamlit's AppTest on a temporary store (see tests/conftest.py).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok, table_with
from pagetest import run_page as app

import slicewise.core.drift.mix as drift_mix
import slicewise.core.drift.windows as drift_windows
import slicewise.ui.production as ui_production
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.drift import estimate_accuracy, slice_mix
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")

PAGE = "pages/10_Production_drift.py"
N = 400
M = 200


def _reference() -> pd.DataFrame:
    """Half north (even rows), half south; north errs on rows 0, 10, 20...: accuracy 0.8;
    south on rows 1, 5, 9...: accuracy 0.5. The score is 0.7 where the prediction is 1,
    0.3 where it is 0, nudged by the row so it has many values."""
    i = np.arange(N)
    site = np.where(i % 2 == 0, "north", "south")
    label = i % 3 % 2
    wrong = np.where(site == "south", i % 4 == 1, i % 10 == 0)
    prediction = np.where(wrong, 1 - label, label)
    return pd.DataFrame(
        {
            "label": label,
            "prediction": prediction,
            "score": np.where(prediction == 1, 0.7, 0.3) + (i % 7) / 100,
            "site": site,
            "device": np.where(i % 5 == 0, "phone", "laptop"),
        }
    )


def _production() -> pd.DataFrame:
    """180 of 200 rows north, labelled; wrong on every 4th row (rows 0, 4, 8...): accuracy
    0.75 overall, 45/180 wrong in north, 5/20 in south. One row every 5 hours from
    2024-01-01 (about 42 days)."""
    j = np.arange(M)
    prediction = j % 2
    return pd.DataFrame(
        {
            "label": np.where(j % 4 == 0, 1 - prediction, prediction),
            "prediction": prediction,
            "score": np.where(prediction == 1, 0.7, 0.3) + (j % 7) / 100,
            "site": np.where(j < 180, "north", "south"),
            "device": np.where(j % 5 == 0, "phone", "laptop"),
            "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(j * 5, unit="h")).astype(str),
        }
    )


@pytest.fixture
def with_sample(store: Store) -> tuple[int, int]:
    """A scored reference dataset and a labelled, timed sample of it: (dataset, sample)."""
    project = store.get_or_create_project("Test", user="seed")
    dataset = dataset_from_frame(_reference(), ColumnMapping(), name="test.csv")
    did = store.save_dataset(
        project, "Ref", dataset, task=TaskSpec(kind="binary", positive="1"), user="seed"
    )
    sid = store.save_production_sample(
        did, "prod", _production(), source_name="prod.csv", user="seed", time_column="ts"
    )
    return did, sid


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """Count the reads of a production sample, by file name; the real reader still runs.

    Every name the reader is called by is wrapped: the page's own and the two in core that
    read a raw table handed to them (:func:`core.drift.mix.production_memberships`,
    :func:`core.drift.production_correct`), so a raw table passed again is counted too.
    """
    counts: Counter = Counter()
    real = drift_mix.read_production

    def counted(reference, table, *, source_name="production"):
        counts[source_name] += 1
        return real(reference, table, source_name=source_name)

    for module in (ui_production, drift_mix, drift_windows):
        monkeypatch.setattr(module, "read_production", counted)
    return counts


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


def _analyses_shown(at) -> None:
    """The three analyses that read the sample all ran: slice mix, CBPE, accuracy per window."""
    assert_ok(at)
    table_with(at, "production share")
    table_with(at, "estimated accuracy")
    # shares, drift per window, accuracy per window (drawn only when it is measured)
    assert _charts(at) == 3


def _rerun_nothing(at):
    return at


def _new_window(at):
    return at.selectbox(key="drift_window").set_value("30d").run()


def _new_feature(at):
    return at.selectbox(key="drift_feature").set_value("device").run()


@pytest.mark.parametrize(
    "then",
    [_rerun_nothing, _new_window, _new_feature],
    ids=["first run", "window changed", "feature changed"],
)
def test_a_page_run_reads_the_production_sample_once(with_sample, reads, then):
    did, _ = with_sample
    at = app(PAGE, did, shared_slice_by=["site"])
    _analyses_shown(at)
    at = then(at)
    _analyses_shown(at)
    assert reads == {"prod.csv": 1}


def test_new_slices_reuse_the_sample_already_read(with_sample, reads):
    did, _ = with_sample
    _analyses_shown(app(PAGE, did, shared_slice_by=["site"]))
    at = app(PAGE, did, shared_slice_by=["site", "device"])
    _analyses_shown(at)
    assert "device = phone" in set(table_with(at, "production share")["slice"])
    assert reads == {"prod.csv": 1}


def test_each_sample_is_read_once(store, with_sample, reads):
    did, first = with_sample
    second = store.save_production_sample(
        did, "later", _production(), source_name="later.csv", user="seed", time_column="ts"
    )
    at = app(PAGE, did, shared_slice_by=["site"])  # the newest sample by default
    _analyses_shown(at)
    at.selectbox(key="production_sample_id").set_value(first).run()
    _analyses_shown(at)
    at.selectbox(key="production_sample_id").set_value(second).run()
    _analyses_shown(at)
    assert reads == {"later.csv": 1, "prod.csv": 1}


def test_a_new_tag_column_reads_the_sample_again_with_it(store, with_sample, reads):
    did, _ = with_sample
    _analyses_shown(app(PAGE, did, shared_slice_by=["site"]))
    store.create_tag(did, "blurry", user="seed")
    at = app(PAGE, did, shared_slice_by=["device"])
    _analyses_shown(at)
    mix = table_with(at, "production share").set_index("slice")
    # The sample has no tag column: none of its rows carries the new tag.
    assert mix.loc["blurry", "production share"] == pytest.approx(0.0)
    assert mix.loc["No tag", "production share"] == pytest.approx(1.0)
    assert reads == {"prod.csv": 2}


def test_the_numbers_shown_are_those_of_core_on_the_raw_table(store, with_sample):
    did, _ = with_sample
    at = app(PAGE, did, shared_slice_by=["site"])
    _analyses_shown(at)
    mix = table_with(at, "production share").set_index("slice")
    cbpe = table_with(at, "estimated accuracy").set_index("slice")
    # By hand: north 0.9 of production; expected 0.9 * 0.8 + 0.1 * 0.5; measured 0.75.
    assert mix.loc["site = north", "production share"] == pytest.approx(0.9)
    assert mix.loc["All data", "expected accuracy"] == pytest.approx(0.9 * 0.8 + 0.1 * 0.5)
    assert mix.loc["All data", "measured in production"] == pytest.approx(0.75)
    assert cbpe.loc["site = south", "production n"] == 20
    assert cbpe.loc["All data", "measured in production"] == pytest.approx(0.75)
    # Core handed the raw table (it reads the sample itself) gives the same numbers.
    reference, raw = store.load_dataset(did), _production()
    task = TaskSpec(kind="binary", positive="1")
    core_mix = slice_mix(reference, raw, slice_by=["site"], task=task, source_name="prod.csv")
    core_cbpe = estimate_accuracy(
        reference, raw, slice_by=["site"], positive="1", source_name="prod.csv"
    )
    pd.testing.assert_frame_equal(
        mix.reset_index(), ui_production.mix_view(core_mix)[0], check_dtype=False
    )
    pd.testing.assert_frame_equal(
        cbpe.reset_index(), ui_production.cbpe_view(core_cbpe)[0], check_dtype=False
    )
