"""The review queue's item shown is always the item saved (*Label consistency* page).

The issue: change "Class pair"; the Item box kept the old id while the votes were another
item's, and Save recorded the decision on that other item. Here each filter (class pair,
tag, status) is changed so that the item under review leaves the list, then a decision is
saved; the decision read back from the store must be on the item the box shows, whose votes
(checked against the stored labels) and example are the ones drawn. The browser is told the
new item (the box's message carries it), which a delete of the stale value did not do.

AppTest against a temporary database holding the demo project (``slicewise demo``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pytest
from pagetest import ROOT, USER, assert_ok, run_page, shown
from streamlit.testing.v1 import AppTest

from slicewise.core import agreement as ag
from slicewise.core.dataset import load_dataset
from slicewise.core.store import Store

PAGE = "pages/6_Label_consistency.py"
VOTE = re.compile(r"\*\*(ann-\d+)\*\*: ([^·]+?)\s*(?:·|$)")

pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def demo(fresh) -> dict:
    """The demo project: its annotation set (linked to the inspection dataset) and labels."""
    from slicewise.core.demo import DEMO_ANNOTATIONS, create_demo_project

    store = Store(fresh)
    create_demo_project(store, ROOT / "demo_data")
    sets = store.list_annotation_sets()
    datasets = store.list_datasets()
    set_id = int(sets["id"].iloc[0])
    labels = store.load_annotation_set(set_id)
    given = {
        str(item): dict(zip(g["annotator"].astype(str), g["label"].astype(str), strict=True))
        for item, g in labels.groupby("item")
    }
    return {
        "set": set_id,
        "labels": labels,
        "given": given,
        "store": store,
        "db": fresh,
        "dataset": int(datasets.loc[datasets["name"] == DEMO_ANNOTATIONS[2], "id"].iloc[0]),
    }


def _votes(at: AppTest) -> dict[str, str]:
    """The annotators' votes the review form shows: {annotator: label}."""
    text = next(shown(m) for m in at.markdown if shown(m).startswith("**ann-"))
    return dict(VOTE.findall(text))


def _decision_box(at: AppTest):
    return next(s for s in at.selectbox if s.key and s.key.startswith("agree_decide_"))


# Each change makes the first item of the queue leave the item list.
def _change_pair(at: AppTest, demo: dict, first: str) -> None:
    pairs = [p for p in at.selectbox(key="agree_pair").options if p != "All class pairs"]
    pair = next(p for p in pairs if not set(p.split(" / ")) <= set(demo["given"][first].values()))
    at.selectbox(key="agree_pair").set_value(pair).run()


def _change_tag(at: AppTest, demo: dict, first: str) -> None:
    dataset = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    ids = dataset.frame["id"].astype(str).to_numpy()
    has = {str(t): set(ids[dataset.tags[t].to_numpy(dtype=bool)]) for t in dataset.tags}
    queue = set(at.data_editor[0].value["item"])
    tag = next(
        t
        for t in at.selectbox(key="agree_tag").options
        if t in has and first not in has[t] and has[t] & queue
    )
    at.selectbox(key="agree_tag").set_value(tag).run()


def _change_status(at: AppTest, demo: dict, first: str) -> None:
    # Another reviewer resolves the item meanwhile; "To review" then leaves it out.
    demo["store"].save_review_decision(demo["set"], first, decision="ok", user="Ben")
    at.radio(key="agree_status").set_value("To review").run()


CHANGES: dict[str, Callable[[AppTest, dict, str], None]] = {
    "class pair": _change_pair,
    "tag": _change_tag,
    "status": _change_status,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_after_a_filter_change_the_item_shown_is_the_item_saved(demo, change):
    at = run_page(PAGE, demo["dataset"])
    assert_ok(at)
    first = at.selectbox(key="agree_item").value
    assert _votes(at) == demo["given"][first]

    CHANGES[change](at, demo, first)
    assert_ok(at, no_errors=True)
    box = at.selectbox(key="agree_item")
    item = box.value
    assert item != first
    assert item in set(at.data_editor[0].value["item"])  # an item of the filtered list
    # the browser is sent the item the form acts on (else it would keep showing `first`)
    assert box.proto.set_value and box.proto.raw_value == item
    assert _votes(at) == demo["given"][item]
    decide = _decision_box(at)
    assert f"_{item}_" in decide.key  # the decision widget belongs to the item shown

    decide.set_value("dent")
    at.button(key="agree_save_decision").click().run()
    assert_ok(at, no_errors=True)
    made = demo["store"].review_decisions(demo["set"])
    mine = made[made["user"] == USER]
    assert mine[["item", "decision"]].values.tolist() == [[item, "dent"]]
    assert [shown(t) for t in at.toast] == [f"Saved dent for {item}"]


def test_several_filter_changes_in_a_row_keep_box_votes_and_save_together(demo):
    at = run_page(PAGE, demo["dataset"])
    first = at.selectbox(key="agree_item").value
    _change_pair(at, demo, first)
    at.selectbox(key="agree_item").set_value(at.selectbox(key="agree_item").options[-1]).run()
    picked = at.selectbox(key="agree_item").value
    _change_tag(at, demo, picked)
    at.selectbox(key="agree_pair").set_value("All class pairs").run()
    assert_ok(at, no_errors=True)
    item = at.selectbox(key="agree_item").value
    assert item in set(at.data_editor[0].value["item"])
    assert _votes(at) == demo["given"][item]
    _decision_box(at).set_value(ag.BORDERLINE)
    at.button(key="agree_save_decision").click().run()
    made = demo["store"].review_decisions(demo["set"])
    assert made[["item", "decision", "user"]].values.tolist() == [[item, ag.BORDERLINE, USER]]


def test_a_save_sent_with_another_item_in_the_box_saves_nothing(demo):
    # A browser whose Item box holds another item than the one whose votes the form drew
    # (e.g. Save clicked while an item change was on its way): refused, said, not saved.
    at = run_page(PAGE, demo["dataset"])
    drawn = at.selectbox(key="agree_item").value
    other = at.selectbox(key="agree_item").options[1]
    _decision_box(at).set_value("dent").run()
    at.selectbox(key="agree_item").set_value(other)
    at.button(key="agree_save_decision").click().run()
    assert_ok(at)
    assert demo["store"].review_decisions(demo["set"]).empty
    warnings = [shown(w) for w in at.warning]
    assert any(f"nothing was saved for {drawn}" in w for w in warnings), warnings
    assert at.selectbox(key="agree_item").value == other  # the box and the form agree again
    assert _votes(at) == demo["given"][other]


def test_the_shown_items_example_is_beside_its_votes(demo):
    # The demo's images are not shipped: the example is the item's own image path, said
    # missing; a file put where the database is found is shown.
    at = run_page(PAGE, demo["dataset"])
    item = at.selectbox(key="agree_item").value
    captions = [shown(c) for c in at.caption]
    assert any(f"images/{item}.png" in c and "not found" in c for c in captions), captions
    _change_pair(at, demo, item)
    other = at.selectbox(key="agree_item").value
    captions = [shown(c) for c in at.caption]
    assert any(f"images/{other}.png" in c for c in captions)
    assert not any(f"images/{item}.png" in c for c in captions)

    from PIL import Image

    (demo["db"].parent / "images").mkdir()
    Image.new("RGB", (4, 4), "red").save(demo["db"].parent / "images" / f"{other}.png")
    at.run()
    assert_ok(at)
    images = at.get("image")
    assert len(images) == 1 and images[0].proto.imgs[0].caption == f"images/{other}.png"
    assert not any(
        f"images/{other}.png" in shown(c) and "not found" in shown(c) for c in at.caption
    )


def test_the_final_labels_download_is_offered_with_the_sets_name(demo):
    at = run_page(PAGE, demo["dataset"])
    assert_ok(at)
    button = next(b for b in at.download_button if b.key == "agree_dl_final")
    assert button.label == "Final labels: one per item (CSV)"
    assert not button.disabled


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Inspection annotations", "Inspection_annotations_final_labels.csv"),
        ("round 2 / ../etc", "round_2_etc_final_labels.csv"),
        ("..", "labels_final_labels.csv"),
    ],
)
def test_final_labels_file_name(name, expected):
    from slicewise.ui.agreement import final_labels_file_name

    assert final_labels_file_name(name) == expected


def test_final_labels_csv_of_the_page_applies_the_stored_decisions(demo):
    from slicewise.ui.agreement import RuleChoice, final_labels_csv

    store = demo["store"]
    store.save_review_decision(demo["set"], "img-0564", decision="dent", user="Ben")
    made = store.review_decisions(demo["set"])
    text = final_labels_csv("fp", RuleChoice(), "1:1", _labels=demo["labels"], _decisions=made)
    from io import StringIO

    table = pd.read_csv(StringIO(text), keep_default_na=False).set_index("item")
    assert len(table) == len(demo["given"])
    assert table.loc["img-0564", ["final_label", "decided_by", "reviewer"]].tolist() == [
        "dent",
        "review decision",
        "Ben",
    ]
