"""The *Suggested slices* page: suggestions, one-click tags, the error tree, label errors.

Pages run in Streamlit's AppTest against a temporary database holding the demo inspection
predictions, with per-class probability columns and flipped labels added in memory (see
``tests/test_label_issues.py``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pagetest import ROOT, USER, assert_ok, run_page, table_with, texts
from streamlit.testing.v1 import AppTest
from test_label_issues import dataset_with_probabilities

from slicewise.core.dataset import load_dataset
from slicewise.core.discovery import slice_mask, suggest_slices
from slicewise.core.label_issues import TAG_NAME, find_label_issues
from slicewise.core.task import TaskSpec

PAGE = "pages/9_Suggested_slices.py"

pytestmark = pytest.mark.usefixtures("fresh")


def app(dataset_id: int | None = None, **state) -> AppTest:
    return run_page(PAGE, dataset_id, **state)


# (file, heading substring, {widget kind: minimum count})
PAGES = [
    (
        PAGE,
        "hide the most errors",
        {
            "multiselect": 1,
            "slider": 1,
            "number_input": 1,
            "metric": 4,
            "dataframe": 2,
            "selectbox": 1,
            "button": 2,
            "select_slider": 1,
            "plotly_chart": 1,
        },
    ),
]


@pytest.fixture
def seeded(store) -> int:
    """Demo inspection predictions with prob_<class> columns; returns the dataset id."""
    dataset, _ = dataset_with_probabilities()
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project, "Inspection", dataset, task=TaskSpec(kind="classification"), user="seed"
    )


@pytest.fixture
def plain(store) -> int:
    """The committed demo inspection file as it is (no probability columns)."""
    dataset = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project, "Plain", dataset, task=TaskSpec(kind="classification"), user="seed"
    )


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("page", "heading", "widgets"), PAGES, ids=[PAGE])
def test_page_renders_with_its_heading_and_widgets(seeded, page, heading, widgets):
    at = app(seeded)
    assert_ok(at)
    assert heading.lower() in at.title[0].value.lower()
    assert not at.error, texts(at.error)
    for kind, minimum in widgets.items():
        found = len(at.get(kind)) if kind == "plotly_chart" else len(getattr(at, kind))
        assert found >= minimum, (kind, found)


def test_suggestions_show_factory_c_and_the_fdr_note(plain):
    at = app(plain)
    table = table_with(at, "q-value")
    assert table["slice"].iloc[0] == "factory = C AND camera = cam-3"
    assert {"n", "error rate", "lift", "q-value", "significant"} <= set(table.columns)
    assert table["significant"].iloc[0] == "yes"
    info = texts(at.info)
    assert "Benjamini-Hochberg" in info and "false discoveries" in info


def test_no_dataset_shows_the_empty_state():
    at = app()
    assert_ok(at)
    assert "No dataset" in texts(at.info)


# ----------------------------------------------------------------------------- tagging


def test_one_click_turns_a_suggestion_into_a_tag(plain, store):
    seeded = plain
    at = app(seeded)
    button(at, "suggest_tag").click()
    at.run()
    assert_ok(at)
    rule = "factory = C AND camera = cam-3"
    assert rule in list(store.list_tags(seeded)["name"])
    ds = store.load_dataset(seeded)
    found = suggest_slices(ds)
    expected = slice_mask(ds.frame, found.predicates[0])
    tags = store.tag_matrix(seeded)
    assert (tags[rule].to_numpy() == expected).all()
    assert int(expected.sum()) == int(found.slices["n"].iloc[0])
    events = store.events(seeded)
    made = events[events["kind"] == "tag.create"].iloc[-1]
    assert json.loads(made["detail"])["tag"] == rule and made["user"] == USER
    setting = events[events["kind"] == "tag.set"].iloc[-1]
    assert json.loads(setting["detail"])["tag"] == rule and setting["user"] == USER
    # The button is now disabled: the tag exists.
    assert button(at, "suggest_tag").disabled


def test_another_suggestion_can_be_chosen(plain, store):
    seeded = plain
    at = app(seeded)
    pick = next(s for s in at.selectbox if s.key == "suggest_pick")
    pick.set_value(1).run()
    button(at, "suggest_tag").click()
    at.run()
    assert_ok(at)
    names = list(store.list_tags(seeded)["name"])
    assert "camera = cam-3" in names


def test_settings_change_the_search(seeded):
    at = app(seeded)
    next(s for s in at.slider if s.key == "suggest_max_conditions").set_value(1).run()
    assert_ok(at)
    table = table_with(at, "q-value")
    assert not table["slice"].str.contains(" AND ").any()


# ----------------------------------------------------------------------------- label errors


def test_likely_label_errors_are_listed_and_sent_to_review(seeded, store):
    at = app(seeded)
    issues = table_with(at, "suggested label")
    ds = store.load_dataset(seeded)
    expected = find_label_issues(ds.frame).issues
    assert len(issues) == len(expected) > 0
    assert list(issues["id"]) == [str(i) for i in expected["id"]]
    button(at, "suggest_review").click()
    at.run()
    assert_ok(at)
    assert TAG_NAME in list(store.list_tags(seeded)["name"])
    tags = store.tag_matrix(seeded)
    tagged = set(ds.frame.loc[tags[TAG_NAME].to_numpy(dtype=bool), "id"])
    assert tagged == set(expected["id"])
    assert f"{len(expected):,} examples carry" in texts(at.caption)


def test_without_probability_columns_the_page_says_how_to_add_them(plain):
    at = app(plain)
    assert_ok(at)
    assert "prob_<class>" in texts(at.info)
    assert not [b for b in at.button if b.key == "suggest_review"]
    assert np.any([b.key == "suggest_tag" for b in at.button])
