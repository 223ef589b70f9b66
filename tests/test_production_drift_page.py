"""The Production drift page: empty states, an uploaded sample's drift, thresholds saved; the
Prioritise page's switch to production shares.

Pages run in Streamlit's AppTest on a temporary store (see tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pagetest import USER, assert_ok, table_with, texts
from pagetest import run_page as app

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.production import CROSSED, threshold_key

pytestmark = pytest.mark.usefixtures("fresh")

PAGE = "pages/10_Production_drift.py"
PRIORITISE = "pages/4_Prioritise.py"
N = 400


def _reference() -> pd.DataFrame:
    """Half north, half south; north (even rows) errs on rows 0, 10, 20...: accuracy 0.8;
    south (odd rows) on rows 1, 5, 9...: accuracy 0.5."""
    i = np.arange(N)
    site = np.where(i % 2 == 0, "north", "south")
    label = i % 3 % 2
    wrong = np.where(site == "south", i % 4 == 1, i % 10 == 0)
    return pd.DataFrame(
        {
            "id": i,
            "label": label,
            "prediction": np.where(wrong, 1 - label, label),
            "site": site,
            "device": np.where(i % 5 == 0, "phone", "laptop"),
        }
    )


def _production(north: float = 0.9) -> pd.DataFrame:
    """``north`` of the rows from north (the reference has 0.5), device mix unchanged.

    Rows 0..n-1 over 40 days, one timestamp per row; no labels.
    """
    n = 200
    i = np.arange(n)
    site = np.where(i < round(north * n), "north", "south")
    return pd.DataFrame(
        {
            "prediction": (i % 2).astype(str),
            "site": site,
            "device": np.where(i % 5 == 0, "phone", "laptop"),
            "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(i * 5, unit="h")).astype(str),
        }
    )


@pytest.fixture
def stored(store: Store) -> tuple[int, int]:
    """A reference dataset of project "Test"; returns (project id, dataset id)."""
    dataset = dataset_from_frame(_reference(), ColumnMapping(), name="test.csv")
    project = store.get_or_create_project("Test", user="seed")
    did = store.save_dataset(
        project, "Ref", dataset, task=TaskSpec(kind="binary", positive="1"), user="seed"
    )
    return project, did


@pytest.fixture
def with_sample(store: Store, stored) -> tuple[int, int, int]:
    """``stored`` plus a production sample 90% north; returns (project, dataset, sample)."""
    project, did = stored
    sid = store.save_production_sample(
        did, "prod", _production(), source_name="prod.csv", user="seed",
        time_column="ts",
    )  # fmt: skip
    return project, did, sid


def test_without_a_dataset_the_page_sends_to_load_data():
    at = app(PAGE)
    assert_ok(at)
    assert "No dataset is selected." in texts(at.info)


def test_without_a_production_sample_the_page_says_to_upload_one(stored):
    at = app(PAGE, stored[1])
    assert_ok(at, no_errors=True)
    assert "No production sample yet. Upload" in texts(at.info)


def test_a_stored_sample_shows_the_drift_table_with_the_crossed_threshold(with_sample):
    at = app(PAGE, with_sample[1])
    assert_ok(at)
    table = table_with(at, "alarm").set_index("feature")
    # L-infinity by hand: north is 0.5 of the reference and 0.9 of production
    assert table.loc["site", "drift"] == pytest.approx(0.4)
    assert table.loc["site", "alarm"] == CROSSED
    # device: 1 in 5 phones in both tables
    assert table.loc["device", "drift"] == pytest.approx(0.0)
    assert table.loc["device", "alarm"] == ""
    assert list(table.index)[0] == "site"  # moved most, first
    assert "crossed the threshold: site" in texts(at.error)
    assert any("Feature drift" in h.value for h in at.subheader)


def test_the_slice_mix_puts_test_share_beside_production_share(with_sample):
    at = app(PAGE, with_sample[1], shared_slice_by=["site"])
    assert_ok(at)
    mix = table_with(at, "production share").set_index("slice")
    assert mix.loc["site = north", "test share"] == pytest.approx(0.5)
    assert mix.loc["site = north", "production share"] == pytest.approx(0.9)
    assert mix.loc["site = north", "test accuracy"] == pytest.approx(0.8)
    # post-stratified: sum of slice accuracy x production share (north 0.8, south 0.5)
    assert mix.loc["All data", "expected accuracy"] == pytest.approx(0.9 * 0.8 + 0.1 * 0.5)


def test_a_time_column_shows_the_monitoring_view(with_sample):
    at = app(PAGE, with_sample[1])
    assert_ok(at)
    assert at.selectbox(key="drift_time_column").value == "ts"
    assert "threshold crossing" in texts(at.caption)


def test_raising_a_threshold_saves_it_and_clears_the_alarm(store, with_sample):
    project, did, _ = with_sample
    at = app(PAGE, did)
    at.number_input(key=threshold_key("site")).set_value(0.5).run()
    assert_ok(at)
    assert Store(store.path).drift_thresholds(project) == {"site": 0.5}
    table = table_with(at, "alarm").set_index("feature")
    assert table.loc["site", "threshold"] == pytest.approx(0.5)
    assert table.loc["site", "alarm"] == ""


def test_a_viewer_cannot_change_thresholds(store, with_sample):
    project, did, _ = with_sample
    store.set_member(project, USER, "viewer", user="seed")
    at = app(PAGE, did)
    assert_ok(at)
    assert at.number_input(key=threshold_key("site")).disabled


def _without_prediction() -> pd.DataFrame:
    return _production().drop(columns="prediction")


def _bad_timestamps() -> pd.DataFrame:
    table = _production()
    table.loc[3, "ts"] = "not a date"
    return table


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_without_prediction, "prediction"),
        (_bad_timestamps, "'ts'"),
    ],
    ids=["missing prediction column", "timestamp that does not parse"],
)
def test_a_bad_production_sample_gives_a_message_not_a_traceback(store, stored, make, expected):
    project, did = stored
    store.save_production_sample(
        did, "bad", make(), source_name="bad.csv", user="seed", time_column="ts"
    )
    at = app(PAGE, did)
    assert_ok(at)
    assert at.error, "no message shown"
    assert expected in texts(at.error)
    assert "Traceback" not in texts(at.error)


def test_prioritise_switches_to_production_shares_and_says_so(with_sample):
    at = app(PRIORITISE, with_sample[1], shared_slice_by=["site"])
    assert_ok(at)
    switch = at.radio(key="prio_share")
    assert switch.options == ["test set", "production"]
    test_table = table_with(at, "share")
    switch.set_value("production").run()
    assert_ok(at)
    prod_table = table_with(at, "share").set_index("slice")
    # shares are shown in percent: north is 90% of production, 50% of the test set
    assert prod_table.loc["site = north", "share"] == pytest.approx(90)
    assert prod_table.loc["site = south", "share"] == pytest.approx(10)
    assert test_table.set_index("slice").loc["site = north", "share"] == pytest.approx(50)
    shown = texts([*at.markdown, *at.caption])
    assert "share of production traffic" in shown
    assert "Share used: each slice's share of the production sample 'prod'" in shown


def test_prioritise_has_no_switch_without_a_production_sample(stored):
    at = app(PRIORITISE, stored[1])
    assert_ok(at)
    assert not [r for r in at.radio if r.key == "prio_share"]


# ------------------------------------------------------------- columns, slices, windows


def test_the_page_names_the_columns_a_production_file_needs(stored):
    at = app(PAGE, stored[1])
    assert_ok(at, no_errors=True)
    shown = texts(at.info)
    assert "read with this dataset's column names: it needs 'prediction'" in shown
    assert "may hold 'label'" in shown


def test_a_sample_is_read_with_the_references_own_column_names(store):
    frame = _reference().rename(columns={"label": "truth", "prediction": "guess"})
    mapping = ColumnMapping(label="truth", prediction="guess")
    project = store.get_or_create_project("Test", user="seed")
    did = store.save_dataset(
        project, "Ref", dataset_from_frame(frame, mapping, name="test.csv"),
        task=TaskSpec(kind="binary", positive="1"), user="seed",
    )  # fmt: skip
    at = app(PAGE, did)
    assert "it needs 'guess'" in texts(at.info) and "may hold 'truth'" in texts(at.info)
    # A file with the default names, not the reference's: the message names the column.
    store.save_production_sample(did, "prod", _production(), source_name="prod.csv", user="seed")
    at = app(PAGE, did, shared_slice_by=["site"])
    assert_ok(at)
    assert "has no column 'guess'" in texts(at.error)
    # With the reference's names it is read: north 0.9 of production, 0.5 of the test set.
    store.save_production_sample(
        did, "renamed", _production().rename(columns={"prediction": "guess"}),
        source_name="renamed.csv", user="seed",
    )  # fmt: skip
    at = app(PAGE, did, shared_slice_by=["site"])
    assert_ok(at)
    mix = table_with(at, "production share").set_index("slice")
    assert mix.loc["site = north", "production share"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("slice_by", "order", "linf"),
    [
        # site: north 0.5 -> 0.9 (+0.4), south 0.5 -> 0.1 (-0.4): L-infinity 0.4.
        (["site"], ["site = north", "site = south"], "0.400"),
        # combinations (north|south x phone|laptop): test 0.1, 0.4, 0.1, 0.4; production
        # 36, 144, 4, 16 of 200 rows = 0.18, 0.72, 0.02, 0.08: L-infinity 0.32. The device
        # mix did not move (0 change): listed last.
        (
            ["site", "device"],
            ["site = north", "site = south", "device = laptop", "device = phone"],
            "0.320",
        ),
    ],
    ids=["site", "site and device"],
)
def test_the_slice_mix_lists_slices_by_share_change_and_shows_its_linf(
    with_sample, slice_by, order, linf
):
    at = app(PAGE, with_sample[1], shared_slice_by=slice_by)
    assert_ok(at)
    mix = table_with(at, "share change")
    assert mix["slice"].tolist() == ["All data", *order]
    assert mix["share change"].tolist()[:3] == pytest.approx([0.0, 0.4, -0.4])
    metric = [m for m in at.metric if "L-infinity" in m.label]
    assert len(metric) == 1 and metric[0].value == linf


def test_new_categories_are_listed_not_an_error(store, stored):
    project, did = stored
    table = _production()
    table.loc[:9, "device"] = "smart tv"
    store.save_production_sample(did, "new", table, source_name="new.csv", user="seed")
    at = app(PAGE, did)
    assert_ok(at)
    drift = table_with(at, "alarm").set_index("feature")
    assert drift.loc["device", "new categories"] == "smart tv"
    assert "smart tv" not in texts(at.error)


def test_empty_windows_and_windows_with_too_few_rows_are_named(store, stored):
    project, did = stored
    # 40 rows on 2024-01-01, none in the week after, 5 rows on 2024-01-15.
    table = _production().iloc[:45].copy()
    table["ts"] = ["2024-01-01 10:00"] * 40 + ["2024-01-15 10:00"] * 5
    store.save_production_sample(
        did, "gaps", table, source_name="gaps.csv", user="seed", time_column="ts"
    )
    at = app(PAGE, did)
    assert_ok(at)
    shown = texts(at.caption)
    assert "No rows in '2024-01-08'." in shown
    assert "Too few rows to judge in '2024-01-15' (fewer than 30" in shown


# ------------------------------------------------------------- samples per dataset


def _problems(at) -> list[str]:
    """The st.error messages besides the drift alarm (a crossed threshold is one too)."""
    return [e.value for e in at.error if "crossed the threshold" not in e.value]


def _second_dataset(store: Store, project: int) -> int:
    """A second dataset of the project whose feature is "region", not "site"/"device"."""
    frame = _reference().rename(columns={"site": "region"}).drop(columns="device")
    return store.save_dataset(
        project, "Other", dataset_from_frame(frame, ColumnMapping(), name="other.csv"),
        task=TaskSpec(kind="binary", positive="1"), user="seed",
    )  # fmt: skip


@pytest.fixture
def two_datasets(store: Store, stored) -> dict[str, tuple[int, int]]:
    """Two datasets of one project, each with a sample made for it: {name: (dataset, sample)}."""
    project, first = stored
    second = _second_dataset(store, project)
    mine = store.save_production_sample(
        first, "for ref", _production(), source_name="ref_prod.csv", user="seed"
    )
    # Saved last: the newest sample of the project belongs to the other dataset.
    theirs = store.save_production_sample(
        second, "for other", _production().rename(columns={"site": "region"}).drop(
            columns="device"), source_name="other_prod.csv", user="seed",
    )  # fmt: skip
    return {"Ref": (first, mine), "Other": (second, theirs)}


@pytest.mark.parametrize(("dataset", "other"), [("Ref", "Other"), ("Other", "Ref")])
def test_the_drift_page_offers_only_the_samples_of_the_dataset_on_screen(
    two_datasets, dataset, other
):
    did, sid = two_datasets[dataset]
    at = app(PAGE, did, production_sample_id=two_datasets[other][1])
    assert_ok(at)
    assert _problems(at) == []
    chooser = at.selectbox(key="production_sample_id")
    assert len(chooser.options) == 1 and chooser.options[0].startswith(f"for {dataset.lower()}")
    assert chooser.value == sid
    expected = {"Ref": {"site", "device"}, "Other": {"region"}}[dataset]
    assert set(table_with(at, "alarm")["feature"]) == expected


@pytest.mark.parametrize("dataset", ["Ref", "Other"])
def test_prioritise_weighs_by_a_sample_of_its_own_dataset(two_datasets, dataset):
    did, _ = two_datasets[dataset]
    column = "site" if dataset == "Ref" else "region"
    at = app(PRIORITISE, did, shared_slice_by=[column])
    at.radio(key="prio_share").set_value("production").run()
    assert_ok(at, no_errors=True)
    table = table_with(at, "share").set_index("slice")
    # 180 of the 200 production rows are "north" in both samples.
    assert table.loc[f"{column} = north", "share"] == pytest.approx(90)
    assert f"production sample 'for {dataset.lower()}'" in texts(at.caption)


def test_a_dataset_without_samples_offers_none_of_the_projects_other_samples(store, stored):
    project, did = stored
    other = _second_dataset(store, project)
    store.save_production_sample(other, "theirs", _production(), source_name="x.csv", user="s")
    at = app(PAGE, did)
    assert_ok(at, no_errors=True)
    assert "No production sample yet. Upload" in texts(at.info)
    at = app(PRIORITISE, did)
    assert_ok(at, no_errors=True)
    assert not [r for r in at.radio if r.key == "prio_share"]


# ------------------------------------------------------------- features compared


def test_a_feature_the_sample_lacks_is_left_out_with_a_note_not_a_stop(store, stored):
    _, did = stored
    sid = store.save_production_sample(
        did, "no device", _production().drop(columns="device"), source_name="nd.csv", user="s"
    )
    at = app(PAGE, did)
    assert_ok(at)
    assert _problems(at) == []
    chosen = at.multiselect(key=f"drift_features::{sid}")
    assert chosen.options == ["site"] and chosen.value == ["site"]
    assert "Not compared: the production sample lacks 'device' of the test set." in texts(
        at.caption
    )
    table = table_with(at, "alarm").set_index("feature")
    assert list(table.index) == ["site"]
    assert table.loc["site", "drift"] == pytest.approx(0.4)  # north 0.5 -> 0.9, by hand
    assert any("Slice mix" in h.value for h in at.subheader)


@pytest.mark.parametrize(("chosen", "expected"), [(["device"], ["device"]), (["site"], ["site"])])
def test_features_compared_limits_the_drift_table_to_the_chosen_ones(with_sample, chosen, expected):
    _, did, sid = with_sample
    at = app(PAGE, did)
    select = at.multiselect(key=f"drift_features::{sid}")
    assert select.value == ["site", "device"]  # all shared features by default
    select.set_value(chosen).run()
    assert_ok(at)
    assert table_with(at, "alarm")["feature"].tolist() == expected


def test_choosing_no_feature_says_to_choose_one(with_sample):
    _, did, sid = with_sample
    at = app(PAGE, did)
    at.multiselect(key=f"drift_features::{sid}").set_value([]).run()
    assert_ok(at, no_errors=True)
    assert "No feature to compare" in texts(at.info)


# ------------------------------------------------------------- degenerate samples


def _three_rows() -> pd.DataFrame:
    return _production().iloc[[0, 100, 199]].reset_index(drop=True)


def _only_new_categories() -> pd.DataFrame:
    table = _production()
    table["site"] = "east"
    table["device"] = "smart tv"
    return table


@pytest.mark.parametrize("make", [_three_rows, _only_new_categories], ids=["3 rows", "only new"])
def test_a_degenerate_sample_shows_the_page_without_a_traceback(store, stored, make):
    _, did = stored
    store.save_production_sample(
        did, "odd", make(), source_name="odd.csv", user="seed", time_column="ts"
    )
    at = app(PAGE, did, shared_slice_by=["site", "device"])
    assert_ok(at)
    assert "Traceback" not in texts([*at.error, *at.warning])
    assert set(table_with(at, "alarm")["feature"]) == {"site", "device"}


@pytest.mark.parametrize("tagged", ["none", "all"], ids=["tag with no row", "no untagged row"])
def test_project_tags_without_rows_do_not_break_the_slice_mix(store, with_sample, tagged):
    _, did, _ = with_sample
    store.create_tag(did, "blurry", user="seed")
    if tagged == "all":
        store.set_tag(did, list(range(N)), "blurry", True, user="seed")
    at = app(PAGE, did, shared_slice_by=["site"])
    assert_ok(at)
    assert "Traceback" not in texts(at.error)
    mix = table_with(at, "production share").set_index("slice")
    # The sample has no tag column: all its rows are untagged. The test set: none or all
    # of its 400 rows carry the tag.
    share = 1.0 if tagged == "all" else 0.0
    assert mix.loc["blurry", "test share"] == pytest.approx(share)
    assert mix.loc["No tag", "test share"] == pytest.approx(1 - share)
    assert mix.loc["blurry", "production share"] == pytest.approx(0.0)
    assert mix.loc["No tag", "production share"] == pytest.approx(1.0)
