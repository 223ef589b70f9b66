"""The *Compare iterations* and *Balanced splits* pages on the demo project and small data.

Pages run in Streamlit's AppTest against a temporary database: the demo project (speech
baseline and retrained model saved as two iterations) or the lecture's 100-image case.
"""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok as _assert_ok
from pagetest import run_page as app
from pagetest import table_with, texts
from scipy import stats

from slicewise.core.compare import compare_datasets
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.demo import BASELINE, RETRAINED, create_demo_project
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
COMPARE = "pages/7_Compare_iterations.py"
SPLITS = "pages/8_Balanced_splits.py"
TIMEOUT = 60
USER = "Ana"

assert_ok = partial(_assert_ok, no_errors=True)
pytestmark = pytest.mark.usefixtures("fresh")

# (file, heading substring, {widget kind: minimum count})
PAGES = [
    (
        COMPARE,
        "help every slice",
        {
            "selectbox": 2,
            "metric": 4,
            "dataframe": 2,
            "warning": 1,
            "text_input": 4,
            "text_area": 1,
            "download_button": 1,
        },
    ),
    (
        SPLITS,
        "every split looks alike",
        {
            "number_input": 4,
            "toggle": 1,
            "multiselect": 1,
            "metric": 4,
            "dataframe": 1,
            "download_button": 1,
        },
    ),
]


@pytest.fixture
def demo(store) -> dict[str, int]:
    """The demo project; returns dataset ids by name."""
    create_demo_project(store, ROOT / "demo_data")
    datasets = store.list_datasets()
    return dict(zip(datasets["name"], datasets["id"].astype(int), strict=True))


@pytest.fixture
def inspection_100(store) -> int:
    """The lecture's small-data case: 100 phone images, 30 defective, two tags."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "id": [f"img-{i:03d}" for i in range(100)],
            "label": ["defect"] * 30 + ["ok"] * 70,
            "prediction": ["defect"] * 24 + ["ok"] * 6 + ["ok"] * 66 + ["defect"] * 4,
            "blurry": rng.random(100) < 0.2,
            "reflection": rng.random(100) < 0.1,
        }
    )
    mapping = ColumnMapping(
        label="label", prediction="prediction", id="id", tag_columns=("blurry", "reflection")
    )
    project = store.get_or_create_project("Inspection", user="seed")
    return store.save_dataset(
        project,
        "100 images",
        dataset_from_frame(frame, mapping),
        task=TaskSpec(kind="classification"),
        user="seed",
    )


# ----------------------------------------------------------------------------- every page


@pytest.mark.parametrize(("page", "heading", "widgets"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_with_its_heading_and_widgets(demo, page, heading, widgets):
    at = app(page, demo[BASELINE])
    assert_ok(at)
    assert heading.lower() in at.title[0].value.lower()
    for kind, minimum in widgets.items():
        assert len(getattr(at, kind)) >= minimum, (kind, len(getattr(at, kind)))
    assert len(at.get("plotly_chart")) >= 1
    assert at.sidebar.selectbox(key="dataset_id").value == demo[BASELINE]


@pytest.mark.parametrize("page", [COMPARE, SPLITS])
def test_pages_show_an_empty_state_without_data(page):
    at = app(page)
    assert not at.exception
    assert "load a file or open the demo project" in texts(at.info).lower()
    assert not at.dataframe


# ----------------------------------------------------------------------------- compare


def test_compare_page_shows_the_demo_improvement_and_regression(demo, store):
    at = app(COMPARE, demo[BASELINE])
    assert_ok(at)
    history = store.list_iterations(store.dataset_info(demo[BASELINE])["project_id"])
    assert at.selectbox(key="cmp_before").value == int(history["id"].iloc[0])
    assert at.selectbox(key="cmp_after").value == int(history["id"].iloc[1])
    # The slice that got worse while all data improved is called out first.
    assert len(at.warning) == 1
    assert (
        "**Low bandwidth** got worse while all data improved: 70.0% → 62.0%" in at.warning[0].value
    )
    assert "McNemar (paired) p = 0.0022, significant" in at.warning[0].value

    view = table_with(at, "verdict").set_index("slice")
    assert list(view.index[:2]) == ["All data", "Low bandwidth"]
    expected = compare_datasets(
        store.load_dataset(demo[BASELINE]),
        store.load_dataset(demo[RETRAINED]),
        task=TaskSpec(kind="text"),
    )
    for name, tag in (
        ("Car noise", "car_noise"),
        ("Low bandwidth", "low_bandwidth"),
        ("Clean speech", "clean_speech"),
        ("All data", "All data"),
    ):
        row, want = view.loc[name], expected.loc[tag]
        assert row["accuracy before"] == pytest.approx(100 * want["accuracy_before"])
        assert row["accuracy after"] == pytest.approx(100 * want["accuracy_after"])
        assert row["test"] == "McNemar (paired)"
        b, c = int(want["right_to_wrong"]), int(want["wrong_to_right"])
        oracle = stats.binomtest(min(b, c), b + c).pvalue if b + c else 1.0
        assert row["p-value"] == pytest.approx(oracle, rel=1e-9)
    assert view.loc["Car noise", "accuracy before"] == pytest.approx(89.0)
    assert view.loc["Car noise", "accuracy after"] == pytest.approx(93.0)
    assert view.loc["Car noise", "gap after"] == pytest.approx(0.0, abs=1e-9)
    assert view.loc["Low bandwidth", "verdict"] == "⚠ worse (significant)"
    assert view.loc["Car noise", "verdict"] == "better (significant)"
    metrics = {m.label: m for m in at.metric}
    assert metrics["Accuracy, all data"].value == "92.5%"
    assert metrics["Accuracy, all data"].delta == "+1.3 pts"
    assert metrics["Slices worse"].value == "1"
    assert "the same 5,000 examples in both" in texts(at.caption)


def test_swapping_before_and_after_flips_the_change(demo, store):
    at = app(COMPARE, demo[BASELINE])
    first, second = at.selectbox(key="cmp_before").value, at.selectbox(key="cmp_after").value
    at.selectbox(key="cmp_before").set_value(second)
    at.selectbox(key="cmp_after").set_value(first).run()
    assert_ok(at)
    view = table_with(at, "verdict").set_index("slice")
    assert view.loc["Low bandwidth", "change"] == pytest.approx(8.0)
    assert view.loc["Car noise", "change"] == pytest.approx(-4.0)
    assert not at.warning  # all data got worse: nothing to call out


def test_saving_the_current_dataset_as_an_iteration(demo, store):
    project = int(store.dataset_info(demo[RETRAINED])["project_id"])
    before = len(store.list_iterations(project))
    at = app(COMPARE, demo[RETRAINED])
    at.text_input(key="cmp_model").set_value("speech-asr")
    at.text_input(key="cmp_version").set_value("1.2")
    at.text_input(key="cmp_data").set_value("v3: relabelled low bandwidth")
    at.text_area(key="cmp_notes").set_value("learning_rate = 0.0001\ncode_commit: 99aa00\n")
    at.button[0].click().run()
    assert_ok(at)
    history = store.list_iterations(project)
    assert len(history) == before + 1
    saved = history.iloc[-1]
    assert (saved["model_name"], saved["model_version"], saved["data_version"]) == (
        "speech-asr",
        "1.2",
        "v3: relabelled low bandwidth",
    )
    assert saved["notes"] == {"learning_rate": 0.0001, "code_commit": "99aa00"}
    assert saved["dataset_id"] == demo[RETRAINED] and saved["created_by"] == USER
    assert store.events()["kind"].iloc[-1] == "iteration.save"
    table = store.iteration_table(int(saved["id"]))
    assert table.loc["car_noise", "accuracy"] == pytest.approx(0.93)


def test_a_bad_notes_line_is_refused_and_nothing_saved(demo, store):
    project = int(store.dataset_info(demo[RETRAINED])["project_id"])
    before = len(store.list_iterations(project))
    at = app(COMPARE, demo[RETRAINED])
    at.text_input(key="cmp_model").set_value("m")
    at.text_area(key="cmp_notes").set_value("just words")
    at.button[0].click().run()
    assert "notes, line 1" in texts(at.error)
    assert len(store.list_iterations(project)) == before


def test_one_iteration_asks_for_another(store, inspection_100):
    from slicewise.core.analysis import analyze

    project = int(store.dataset_info(inspection_100)["project_id"])
    at = app(COMPARE, inspection_100)
    assert_ok(at)
    assert "save at least two iterations" in texts(at.info).lower()
    store.save_iteration(
        project,
        inspection_100,
        model_name="m",
        table=analyze(store.load_dataset(inspection_100)),
        user="seed",
    )
    at = app(COMPARE, inspection_100)
    assert "save at least two iterations" in texts(at.info).lower()
    assert len(at.dataframe) == 1  # the one iteration


def test_a_deleted_dataset_falls_back_to_the_saved_tables(demo, store):
    store.delete_dataset(demo[BASELINE], user="seed")
    at = app(COMPARE, demo[RETRAINED])
    assert_ok(at)
    assert "was deleted" in texts(at.caption)
    view = table_with(at, "verdict").set_index("slice")
    assert view.loc["Low bandwidth", "test"] == "two-proportion z"
    assert view.loc["Low bandwidth", "change"] == pytest.approx(-8.0)
    kb, ka, n = 210, 186, 300  # 70% and 62% of 300: unpaired, so less sure
    pooled = (kb + ka) / (2 * n)
    z = (ka / n - kb / n) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    assert view.loc["Low bandwidth", "p-value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_history_chart_and_lineage_download(demo, store):
    import json

    at = app(COMPARE, demo[BASELINE])
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    history = json.loads(charts[1].proto.spec)
    names = {trace.get("name") for trace in history["data"]}
    assert {"All data", "Car noise", "Low bandwidth"} <= names
    assert len(table_with(at, "iteration")) == 2


# ----------------------------------------------------------------------------- splits


def test_balanced_splits_give_18_6_6_positives(store, inspection_100):
    at = app(SPLITS, inspection_100)
    assert_ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert [metrics[f"{s} examples"] for s in ("Train", "Dev", "Test")] == ["60", "20", "20"]
    view = table_with(at, "max diff").set_index("name")
    assert view.loc["defect", ["n all", "n train", "n dev", "n test"]].tolist() == [30, 18, 6, 6]
    assert view.loc["defect", ["train", "dev", "test"]].tolist() == pytest.approx([30.0] * 3)
    assert at.toggle(key=f"split_by_label_{inspection_100}").value
    assert "blurry" in at.multiselect(key=f"split_tags_{inspection_100}").value


def test_split_seed_and_fractions(store, inspection_100):
    at = app(SPLITS, inspection_100)
    at.number_input(key="split_train").set_value(80)
    at.number_input(key="split_dev").set_value(10)
    at.number_input(key="split_test").set_value(10).run()
    assert_ok(at)
    view = table_with(at, "max diff").set_index("name")
    assert view.loc["defect", ["n train", "n dev", "n test"]].tolist() == [24, 3, 3]
    at.number_input(key="split_seed").set_value(7).run()
    assert table_with(at, "max diff").set_index("name").loc[
        "defect", ["n train", "n dev", "n test"]
    ].tolist() == [24, 3, 3]
    at.number_input(key="split_dev").set_value(30).run()
    assert "add up to 120%" in texts(at.warning)


def test_split_download_is_the_data_with_a_split_column(store, inspection_100):
    from slicewise.core.splits import assign_splits, splits_frame

    at = app(SPLITS, inspection_100)
    assert_ok(at)
    assert at.get("download_button")
    # The button's bytes are splits_frame(...).to_csv of the page's splits (seed 0).

    dataset = store.load_dataset(inspection_100)
    splits = assign_splits(dataset.frame["label"], dataset.tags, seed=0)
    csv = splits_frame(dataset, splits).to_csv(index=False)
    back = pd.read_csv(io.StringIO(csv))
    assert back["split"].value_counts().to_dict() == {"train": 60, "dev": 20, "test": 20}
    assert back.groupby("split")["label"].apply(lambda s: (s == "defect").sum()).to_dict() == {
        "train": 18,
        "dev": 6,
        "test": 6,
    }
    view = table_with(at, "max diff").set_index("name")
    for tag in ("Blurry", "Reflection"):
        n = int(dataset.tags[tag.lower()].sum())
        assert view.loc[tag, "n all"] == n
        assert view.loc[tag, "n train"] == int(
            ((back["split"] == "train") & back[tag.lower()]).sum()
        )


def test_text_task_splits_balance_tags_without_classes(demo):
    at = app(SPLITS, demo[BASELINE])
    assert_ok(at)
    assert not at.toggle(key=f"split_by_label_{demo[BASELINE]}").value
    view = table_with(at, "max diff")
    assert set(view["group"]) == {"examples", "tag"}
    assert view["max diff"].max() < 0.05
