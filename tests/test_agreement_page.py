"""The *Label consistency* page renders on the demo annotations; rules, review and linking work.

Pages run in Streamlit's AppTest against a temporary database (empty, or holding the demo
inspection dataset).
"""

from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st
from pagetest import ROOT, TIMEOUT, USER, assert_ok, run_page, shown, table_with
from streamlit.testing.v1 import AppTest

from slicewise.core import agreement as ag
from slicewise.core.dataset import load_dataset
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

PAGE = "pages/6_Label_consistency.py"

pytestmark = pytest.mark.usefixtures("fresh")


def app(dataset_id: int | None = None, **state) -> AppTest:
    return run_page(PAGE, dataset_id, **state)


# (file, heading substring, {widget kind: minimum count})
PAGES = [
    (
        PAGE,
        "annotators agree",
        {
            "metric": 5,
            "dataframe": 5,
            "data_editor": 1,
            "multiselect": 1,
            "radio": 1,
            "toggle": 1,
            "plotly_chart": 1,
            "download_button": 1,
        },
    ),
]


@pytest.fixture
def seeded(fresh) -> int:
    """The demo inspection predictions stored as the selected dataset; returns its id."""
    store = Store(fresh)
    dataset = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project, "Inspection", dataset, task=TaskSpec(kind="classification"), user="seed"
    )


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def demo_summary():
    labels = ag.load_annotations(ROOT / "demo_data" / "inspection_annotations.csv").labels
    return ag.compute_agreement_summary(labels)


@pytest.mark.parametrize(("page", "heading", "widgets"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_on_the_demo_annotations(page, heading, widgets, demo_summary):
    at = app()
    assert_ok(at)
    assert heading in at.title[0].value.lower()
    assert not at.error
    for kind, minimum in widgets.items():
        found = len(at.get(kind)) if kind == "plotly_chart" else len(getattr(at, kind))
        assert found >= minimum, (kind, found)
    shown = metrics(at)
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1"):
        row = demo_summary.loc[key]
        assert shown[row["name"]] == f"{row['value']:.3f}"
    # each metric is shown beside the raw agreement it corrects
    summary = table_with(at, "raw agreement")
    assert summary["raw agreement"].notna().all()


def test_merge_preview_changes_the_metrics_shown(demo_summary):
    at = app()
    before = metrics(at)
    at.sidebar.multiselect(key="agree_merge").set_value(["dent", "scratch"]).run()
    assert_ok(at)
    preview = table_with(at, "change").set_index("name")
    alpha = demo_summary.at["krippendorff_alpha", "value"]
    assert preview.at["Krippendorff's alpha", "before"] == pytest.approx(alpha)
    assert preview.at["Krippendorff's alpha", "after"] > alpha
    assert preview.at["Classes", "change"] == -1
    assert metrics(at) == before  # a preview only, until the rules are applied

    at.sidebar.toggle(key="agree_apply").set_value(True).run()
    assert_ok(at)
    after = metrics(at)
    merged_alpha = preview.at["Krippendorff's alpha", "after"]
    assert after["Krippendorff's alpha"] == f"{merged_alpha:.3f}"
    assert after["Percent agreement"] != before["Percent agreement"]
    assert any("rules applied" in shown(m) for m in at.markdown)
    labels = [b.label for b in at.download_button]
    assert any(label.startswith("Change log") for label in labels)


@pytest.fixture
def demo(fresh) -> dict[str, int]:
    """The demo project (``slicewise demo``): its annotation set and inspection dataset."""
    from slicewise.core.demo import DEMO_ANNOTATIONS, create_demo_project

    store = Store(fresh)
    create_demo_project(store, ROOT / "demo_data")
    sets = store.list_annotation_sets()
    datasets = store.list_datasets()
    inspection = int(datasets.loc[datasets["name"] == DEMO_ANNOTATIONS[2], "id"].iloc[0])
    return {
        "set": int(sets["id"].iloc[0]),
        "dataset": inspection,
        "project": int(sets["project_id"].iloc[0]),
    }


def progress(at: AppTest) -> str:
    texts = [p.proto.text for p in at.get("progress")]
    return next(t for t in texts if "disagreements resolved" in t)


def edit_queue(at: AppTest, edits: dict[int, dict[str, str]]) -> None:
    key = at.data_editor[0].key
    assert key.startswith("agree_queue_")
    at.session_state[key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert_ok(at)


def test_the_demo_annotation_set_is_saved_linked_to_the_inspection_dataset(demo, fresh):
    store = Store(fresh)
    row = store.list_annotation_sets().iloc[0]
    assert row["name"] == "Inspection annotations"
    assert row["linked_dataset_id"] == demo["dataset"]
    labels = ag.load_annotations(ROOT / "demo_data" / "inspection_annotations.csv").labels
    pd.testing.assert_frame_equal(store.load_annotation_set(demo["set"]), labels)
    at = app(demo["dataset"])
    assert_ok(at)
    assert at.radio(key="agree_source").value == "Saved annotation set"
    assert at.selectbox(key="agree_set").value == demo["set"]
    assert at.selectbox(key="agree_link").value == "Linked dataset: Visual inspection"


def test_unsaved_labels_cannot_be_reviewed_until_saved(seeded, fresh):
    at = app(seeded)
    assert_ok(at)
    assert at.radio(key="agree_source").value == "Demo annotations"
    assert "0 of" in progress(at)
    assert "Save these labels as an annotation set" in "\n".join(shown(i) for i in at.info)
    assert at.button(key="agree_use_hlp").disabled
    at.button(key="agree_save_set").click().run()
    assert_ok(at)
    store = Store(fresh)
    sets = store.list_annotation_sets()
    assert sets["name"].tolist() == ["Inspection annotations"]
    assert sets["created_by"].tolist() == [USER]
    assert at.radio(key="agree_source").value == "Saved annotation set"
    assert at.selectbox(key="agree_set").value == int(sets["id"].iloc[0])


def test_an_uploaded_label_file_is_saved_linked_to_the_selected_dataset(seeded, fresh):
    data = (ROOT / "demo_data" / "inspection_annotations.csv").read_bytes()
    at = app(seeded, agree_source="Upload a label file")
    at.file_uploader(key="agree_upload").set_value(("round2.csv", data, "text/csv")).run()
    assert_ok(at)
    assert next(t for t in at.text_input if t.key.startswith("agree_save_name_")).value == "round2"
    assert (
        next(s for s in at.selectbox if s.key and s.key.startswith("agree_save_link_")).value
        == seeded
    )
    at.button(key="agree_save_set").click().run()
    assert_ok(at)
    sets = Store(fresh).list_annotation_sets()
    assert sets[["name", "source_name", "linked_dataset_id", "created_by"]].values.tolist() == [
        ["round2", "round2.csv", seeded, USER]
    ]
    assert at.selectbox(key="agree_link").value == "Linked dataset: Inspection"
    assert not at.button(key="agree_use_hlp").disabled
    # the same name again is one clear error
    at.radio(key="agree_source").set_value("Upload a label file").run()
    at.file_uploader(key="agree_upload").set_value(("round2.csv", data, "text/csv")).run()
    at.button(key="agree_save_set").click().run()
    assert_ok(at)
    assert any("already has an annotation set named 'round2'" in shown(e) for e in at.error)
    assert len(Store(fresh).list_annotation_sets()) == 1


def test_a_decision_in_the_queue_is_saved_to_the_store_and_survives_a_restart(demo, fresh):
    at = app(demo["dataset"])
    assert_ok(at)
    before = progress(at)
    total = int(before.split(" of ")[1].split()[0].replace(",", ""))
    assert before.startswith("0 of ")
    rows = at.data_editor[0].value
    assert rows["entropy"].is_monotonic_decreasing
    item = rows["item"].iloc[0]
    edit_queue(at, {0: {"decision": ag.BORDERLINE, "note": "glare hides the mark"}})
    made = Store(fresh).review_decisions(demo["set"])
    assert made[["item", "decision", "note", "user"]].values.tolist() == [
        [item, ag.BORDERLINE, "glare hides the mark", USER]
    ]
    assert progress(at) == f"1 of {total} disagreements resolved"
    assert any(b.label == "Review decisions: 1 (CSV)" for b in at.download_button)
    # a new session on a new server process (caches cleared) reads it back
    st.cache_data.clear()
    st.cache_resource.clear()
    again = app(demo["dataset"])
    assert_ok(again)
    first = again.data_editor[0].value.set_index("item").loc[item]
    assert first["decision"] == ag.BORDERLINE and first["by"].startswith(USER)
    assert progress(again) == f"1 of {total} disagreements resolved"


def test_an_edit_on_a_queue_another_reviewer_just_changed_is_kept(demo, fresh):
    at = app(demo["dataset"])
    rows = at.data_editor[0].value
    mine, theirs = rows["item"].iloc[0], rows["item"].iloc[1]
    Store(fresh).save_review_decision(demo["set"], theirs, decision="ok", user="Ben")
    edit_queue(at, {0: {"decision": "dent"}})  # made on the table drawn before Ben's save
    made = Store(fresh).review_decisions(demo["set"]).set_index("item")
    assert made.loc[mine, ["decision", "user"]].tolist() == ["dent", USER]
    assert made.loc[theirs, ["decision", "user"]].tolist() == ["ok", "Ben"]
    assert progress(at).startswith("2 of ")


def test_the_review_form_saves_a_label_and_moves_to_the_next_item(demo, fresh):
    at = app(demo["dataset"])
    item = at.selectbox(key="agree_item").value
    assert item == at.data_editor[0].value["item"].iloc[0]
    decide = next(s for s in at.selectbox if s.key and s.key.startswith("agree_decide_"))
    decide.set_value("dent")
    next(t for t in at.text_input if t.key.startswith("agree_note_")).set_value(
        "a dent catches the light"
    )
    at.button(key="agree_save_decision").click().run()
    assert_ok(at)
    made = Store(fresh).review_decisions(demo["set"])
    assert made[["item", "decision", "note", "user"]].values.tolist() == [
        [item, "dent", "a dent catches the light", USER]
    ]
    assert progress(at).startswith("1 of ")
    assert at.selectbox(key="agree_item").value != item  # on to the next one
    # a note alone is kept, but does not resolve the item
    nxt = at.selectbox(key="agree_item").value
    next(t for t in at.text_input if t.key.startswith("agree_note_")).set_value("ask Ben")
    at.button(key="agree_save_decision").click().run()
    assert_ok(at)
    made = Store(fresh).review_decisions(demo["set"]).set_index("item")
    assert made.at[nxt, "note"] == "ask Ben" and made.at[nxt, "decision"] is None
    assert progress(at).startswith("1 of ") and "1 with a note only" in progress(at)


def test_filters_by_class_pair_tag_and_status_narrow_the_queue(demo):
    at = app(demo["dataset"])
    at.select_slider(key="agree_queue_size").set_value(500).run()
    everything = at.data_editor[0].value
    pair = at.selectbox(key="agree_pair").options[1]
    a, b = pair.split(" / ")
    at.selectbox(key="agree_pair").set_value(pair).run()
    assert_ok(at)
    narrowed = at.data_editor[0].value
    assert 0 < len(narrowed) < len(everything)
    annotators = [c for c in narrowed.columns if c.startswith("ann-")]
    for _, row in narrowed.iterrows():
        given = set(row[annotators])
        assert a in given and b in given
    assert f"{len(narrowed)} of {len(everything)} items match" in "\n".join(
        shown(c) for c in at.caption
    )

    at.selectbox(key="agree_pair").set_value("All class pairs").run()
    at.selectbox(key="agree_tag").set_value("blurry").run()
    assert_ok(at)
    tagged = at.data_editor[0].value
    demo_tags = load_dataset(ROOT / "demo_data" / "inspection_predictions.csv")
    blurry = set(demo_tags.frame["id"].astype(str)[demo_tags.tags["blurry"].to_numpy()])
    assert 0 < len(tagged) < len(everything)
    assert set(tagged["item"]) <= blurry

    edit_queue(at, {0: {"decision": "ok"}})
    at.radio(key="agree_status").set_value("Resolved").run()
    assert at.data_editor[0].value["item"].tolist() == [tagged["item"].iloc[0]]
    at.radio(key="agree_status").set_value("To review").run()
    assert len(at.data_editor[0].value) == len(tagged) - 1


def test_hlp_per_tag_is_saved_for_slices_vs_hlp_with_its_source(demo, fresh):
    at = app(demo["dataset"])
    table = table_with(at, "HLP").set_index("slice")
    button = at.button(key="agree_use_hlp")
    assert not button.disabled
    button.click().run()
    assert_ok(at)
    store = Store(fresh)
    hlp = store.tag_settings(demo["dataset"])["hlp"]
    tags = [t for t in table.index if t != "All data" and table.at[t, "items"] > 0]
    assert set(hlp) == set(tags)
    for tag in tags:
        assert 100 * hlp[tag] == pytest.approx(table.at[tag, "HLP"])
    kinds = store.events(demo["dataset"])["kind"].tolist()
    assert kinds[-1] == "annotation_set.hlp"
    assert set(store.hlp_sources(demo["dataset"])) == set(tags)

    slices = AppTest.from_file(str(ROOT / "pages/3_Slices_vs_HLP.py"), default_timeout=TIMEOUT)
    slices.session_state["user_name"] = USER
    slices.session_state["dataset_id"] = demo["dataset"]
    slices.run()
    assert_ok(slices)
    captions = "\n".join(shown(c) for c in slices.caption)
    assert "the annotator set 'Inspection annotations' (saved by Ana" in captions
    hlp_table = table_with(slices, "HLP source").set_index("slice")
    assert (
        hlp_table.loc[[t for t in hlp_table.index if t in hlp], "HLP source"] == "entered"
    ).all()


def test_linking_the_selected_dataset_shows_hlp_per_tag(seeded):
    at = app(seeded)
    at.selectbox(key="agree_link").set_value("Selected dataset").run()
    assert_ok(at)
    table = table_with(at, "HLP").set_index("slice")
    assert {"All data", "blurry", "reflection"} <= set(table.index)
    assert (table["HLP from"] == "accuracy vs ground truth").all()
    queue = at.data_editor[0].value
    assert {"prediction", "truth"} <= set(queue.columns)
    annotators = table_with(at, "agreement with consensus")
    assert annotators["annotator"].iloc[0] == "ann-4"
    assert "accuracy" in annotators.columns


def test_without_predictions_hlp_is_two_annotator_agreement(demo_summary):
    at = app(agree_link="No predictions")
    assert_ok(at)
    table = table_with(at, "HLP").set_index("slice")
    assert list(table.index) == ["All data"]
    assert table.at["All data", "HLP"] == pytest.approx(
        100 * demo_summary.at["percent_agreement", "value"]
    )
    assert "Link the items" in "\n".join(shown(i) for i in at.info)


def test_upload_mode_without_a_file_shows_an_empty_state():
    at = app(agree_source="Upload a label file")
    assert_ok(at)
    assert "Upload a label file" in "\n".join(shown(i) for i in at.info)
    assert not at.dataframe


WIDE = b"image,ann_a,ann_b,ann_c\nx1,cat,cat,dog\nx2,dog,dog,dog\nx3,cat,,cat\nx4,bird,cat,cat\n"


def test_an_uploaded_wide_file_is_measured():
    at = app(agree_source="Upload a label file")
    at.file_uploader(key="agree_upload").set_value(("wide.csv", WIDE, "text/csv")).run()
    assert_ok(at)
    assert not at.error
    labels = ag.load_annotations(WIDE, name="wide.csv").labels
    expected = ag.compute_agreement_summary(labels).at["percent_agreement", "value"]
    assert metrics(at)["Percent agreement"] == f"{expected:.3f}"
    assert any("4** items · **3** annotators" in shown(m) for m in at.markdown)


def test_an_uploaded_bad_file_is_one_error_not_a_traceback():
    at = app(agree_source="Upload a label file")
    bad = b"item,annotator,label\na,x,p\na,x,q\n"
    at.file_uploader(key="agree_upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert_ok(at)
    assert len(at.error) == 1
    assert "bad.csv" in shown(at.error[0]) and "more than once" in shown(at.error[0])
    assert not at.metric


def test_a_caution_when_raw_agreement_is_high_but_kappa_low():
    rows = ["item,annotator,label"]
    for i in range(200):
        labels = ["ok", "ok", "ok"]
        if i % 25 == 0:
            labels = ["defect", "ok", "ok"]
        if i % 50 == 0:
            labels = ["defect", "defect", "ok"]
        rows += [f"i{i},a{j},{lab}" for j, lab in enumerate(labels)]
    data = ("\n".join(rows) + "\n").encode()
    at = app(agree_source="Upload a label file")
    at.file_uploader(key="agree_upload").set_value(("rare.csv", data, "text/csv")).run()
    assert_ok(at)
    cautions = [shown(w) for w in at.warning if "chance agreement" in shown(w)]
    assert len(cautions) == 1 and "AC1" in cautions[0]


def test_an_uploaded_label_file_chooses_its_project(seeded, fresh):
    # Items that are the open dataset's ids: its project; other items: a new project named
    # after the file (never the demo by default).
    store = Store(fresh)
    project = store.dataset_info(seeded)["project_id"]
    name = store.list_projects().set_index("id").loc[project, "name"]
    data = (ROOT / "demo_data" / "inspection_annotations.csv").read_bytes()
    at = app(seeded, agree_source="Upload a label file")
    at.file_uploader(key="agree_upload").set_value(("round2.csv", data, "text/csv")).run()
    assert_ok(at)
    box = next(s for s in at.selectbox if s.key and s.key.startswith("agree_save_project_"))
    assert box.value == name
    other = b"item,annotator,label\nq-1,a,cat\nq-1,b,dog\nq-2,a,cat\nq-2,b,cat\n"
    at.file_uploader(key="agree_upload").set_value(("pets_round1.csv", other, "text/csv")).run()
    assert_ok(at)
    box = next(s for s in at.selectbox if s.key and s.key.startswith("agree_save_project_"))
    assert box.value == "pets_round1"
    at.button(key="agree_save_set").click().run()
    assert_ok(at)
    projects = Store(fresh).list_projects().set_index("id")["name"]
    sets = Store(fresh).list_annotation_sets()
    assert projects[int(sets["project_id"].iloc[0])] == "pets_round1"
