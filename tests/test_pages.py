"""Every page renders, and the workflow's writes reach the store and the analysis.

Pages run in Streamlit's AppTest against a temporary database seeded with a small speech
dataset (text task, tags from x/blank columns, human labels on half the rows).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok, shown, table_with, texts
from pagetest import run_page as app
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
USER = "Ana"

pytestmark = pytest.mark.usefixtures("fresh")

# (file, heading substring, {widget kind: minimum count})
PAGES = [
    ("app.py", "what to fix first", {"page_link": 5, "metric": 4, "progress": 1}),
    (
        "pages/1_Load_data.py",
        "Which predictions",
        {"file_uploader": 1, "button": 4, "dataframe": 1},
    ),
    (
        "pages/2_Tag_errors.py",
        "Which errors share a cause",
        {
            "data_editor": 1,
            "toggle": 2,
            "multiselect": 2,
            "metric": 2,
            "progress": 1,
            "text_input": 5,
        },
    ),
    (
        "pages/3_Slices_vs_HLP.py",
        "human-level performance",
        {"dataframe": 1, "multiselect": 1, "number_input": 2, "slider": 1},
    ),
    (
        "pages/4_Prioritise.py",
        "work on first",
        {"data_editor": 1, "dataframe": 2, "multiselect": 1},
    ),
    ("pages/5_Export.py", "share what we found", {"download_button": 4}),
]
PAGE_FILES = [p[0] for p in PAGES]


# ----------------------------------------------------------------------------- fixtures


def speech_frame(n: int = 60) -> pd.DataFrame:
    """A small lecture-like speech dataset: car noise is the weak slice."""
    rng = np.random.default_rng(7)
    phrases = [
        "stir fried lettuce recipe",
        "sweetened coffee",
        "sail away song",
        "weather in paris",
        "call mom",
        "play some jazz",
    ]
    wrong = {
        "stir fried lettuce recipe": "stir fry lettuce recipe",
        "sweetened coffee": "swedish coffee",
        "sail away song": "sell away some",
        "weather in paris": "whether in paris",
        "call mom": "call tom",
        "play some jazz": "play sum jazz",
    }
    rows = []
    for i in range(n):
        label = phrases[i % len(phrases)]
        car = i % 3 == 0
        people = i % 4 == 0
        # car noise: 50% wrong; people noise: 25% wrong; clean: ~8% wrong
        err = (
            (car and i % 2 == 0)
            or (people and i % 8 == 0)
            or (not car and not people and i % 13 == 0)
        )
        rows.append(
            {
                "id": f"utt-{i:03d}",
                "audio_path": f"audio/missing-{i:03d}.wav",
                "label": label,
                "prediction": wrong[label] if err else label,
                "human_label": (label if i % 2 == 0 else None),
                "car_noise": "x" if car else "",
                "people_noise": "x" if people else "",
                "device": "car_kit" if car else ("ios" if i % 2 else "android"),
                "snr_db": float(np.round(rng.normal(10, 3), 1)),
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def seeded(store) -> int:
    """The speech dataset stored in project 'Test'; returns its id."""
    frame = speech_frame()
    mapping = ColumnMapping(
        label="label",
        prediction="prediction",
        id="id",
        human="human_label",
        tag_columns=("car_noise", "people_noise"),
    )
    dataset = dataset_from_frame(frame, mapping, name="speech.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(project, "Speech", dataset, task=TaskSpec(kind="text"), user="seed")


def slice_table(at: AppTest) -> pd.DataFrame:
    return table_with(at, "95% interval")


def slice_row(at: AppTest, name: str) -> pd.Series:
    return slice_table(at).set_index("slice").loc[name]


# ----------------------------------------------------------------------------- every page


@pytest.mark.parametrize(("page", "heading", "widgets"), PAGES, ids=PAGE_FILES)
def test_page_renders_with_its_heading_and_widgets(seeded, page, heading, widgets):
    at = app(page, seeded)
    assert_ok(at)
    assert heading.lower() in at.title[0].value.lower()
    assert not at.error, texts(at.error)
    for kind, minimum in widgets.items():
        assert len(getattr(at, kind)) >= minimum, (kind, len(getattr(at, kind)))
    # the sidebar shows the user, the project and the dataset
    assert at.sidebar.text_input(key="user_name").value == USER
    assert at.sidebar.selectbox(key="dataset_id").value == seeded


@pytest.mark.parametrize("page", PAGE_FILES[2:])
def test_pages_show_an_empty_state_without_a_dataset(page):
    at = app(page)
    assert_ok(at)
    assert "no dataset" in texts(at.info).lower()
    assert "load a file or open the demo project" in texts(at.info).lower()
    assert not at.dataframe and not at.data_editor


def test_home_page_empty_state_links_to_load_data():
    at = app("app.py")
    assert_ok(at)
    assert "load a file or open the demo project" in texts(at.info).lower()
    assert any("Load" in str(link.proto.label) for link in at.page_link)


def test_home_page_headline_numbers(seeded, store):
    at = app("app.py", seeded)
    metrics = {m.label: m.value for m in at.metric}
    frame = store.load_dataset(seeded).frame
    assert metrics["Examples"] == f"{len(frame):,}"
    errors = int((frame["label"] != frame["prediction"]).sum())
    assert metrics["Errors"] == f"{errors:,}"


# ----------------------------------------------------------------------------- tag errors


def test_applying_a_rule_tags_the_matches_and_the_slice_count_follows(seeded, store):
    frame = store.load_dataset(seeded).frame
    at = app("pages/2_Tag_errors.py", seeded)
    at.text_input(key="tag_new").set_value("car_kit").run()  # enables the button
    at.button(key="tag_create").click().run()
    assert_ok(at)
    assert "car_kit" in store.list_tags(seeded)["name"].tolist()

    at.selectbox(key="tag_rule_column").set_value("device")
    at.selectbox(key="tag_rule_op").set_value("==")
    at.text_input(key="tag_rule_value").set_value("car_kit")
    at.selectbox(key="tag_rule_tag").set_value("car_kit")
    at.checkbox(key="tag_rule_errors").uncheck()
    at.run()
    expected = int((frame["device"] == "car_kit").sum())
    assert f"**{expected:,}** examples match" in texts(at.info)
    next(b for b in at.button if (b.key or "").startswith("tag_rule_apply")).click().run()
    assert_ok(at)

    matrix = store.tag_matrix(seeded)
    assert int(matrix["car_kit"].sum()) == expected
    assert (store.events(seeded)["user"].iloc[-1]) == USER

    slices = app("pages/3_Slices_vs_HLP.py", seeded)
    assert_ok(slices)
    # device == car_kit is exactly the car_noise tag: one row, both names.
    row = slice_row(slices, "Car noise")
    assert int(row["n"]) == expected and row["also"] == "car_kit"


def test_ticking_a_tag_in_the_table_saves_it_and_changes_the_slice(seeded, store):
    before = store.tag_matrix(seeded)
    slices = app("pages/3_Slices_vs_HLP.py", seeded)
    n_before = int(slice_row(slices, "People noise")["n"])

    at = app("pages/2_Tag_errors.py", seeded)
    editor = at.data_editor[0]
    rows = editor.value
    untagged = rows.index[~rows["people_noise"]][0]
    example = rows.loc[untagged, "id"]
    key = at.session_state["tag_editor_key"]
    at.session_state[key] = {
        "edited_rows": {int(untagged): {"people_noise": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_ok(at)

    after = store.tag_matrix(seeded)
    pos = store.load_dataset(seeded).frame["id"].astype(str).tolist().index(example)
    assert not before["people_noise"].iat[pos]
    assert after["people_noise"].iat[pos]
    assert int(after["people_noise"].sum()) == int(before["people_noise"].sum()) + 1

    slices = app("pages/3_Slices_vs_HLP.py", seeded)
    assert int(slice_row(slices, "People noise")["n"]) == n_before + 1


def test_filters_and_paging_show_only_a_page(seeded, store):
    at = app("pages/2_Tag_errors.py", seeded, tag_page_size=25)
    rows = at.data_editor[0].value
    frame = store.load_dataset(seeded).frame
    errors = int((frame["label"] != frame["prediction"]).sum())
    assert errors < 25 and len(rows) == 25  # every example by default, errors first
    assert not rows["correct"].iloc[:errors].any() and rows["correct"].iloc[errors:].all()
    at.toggle(key="tag_f_errors").set_value(True).run()
    rows = at.data_editor[0].value
    assert len(rows) == errors and not rows["correct"].any()

    at.toggle(key="tag_f_errors").set_value(False).run()
    rows = at.data_editor[0].value
    assert len(rows) == 25
    assert at.pagination[0].num_pages == -(-len(frame) // 25)
    at.pagination[0].set_value(3).run()
    assert len(at.data_editor[0].value) == len(frame) - 50

    at.text_input(key="tag_f_search").set_value("coffee").run()
    rows = at.data_editor[0].value
    assert len(rows) and rows["label"].str.contains("coffee").all()


def test_a_label_correction_is_stored_marked_and_raises_accuracy(seeded, store):
    home = app("app.py", seeded)
    accuracy_before = float(home.metric[1].value.rstrip("%"))

    at = app("pages/2_Tag_errors.py", seeded)
    first = at.data_editor[0].value.iloc[0]
    assert not first["correct"]
    at.text_input(key=f"tag_new_label_{seeded}_{first['id']}").set_value(first["prediction"])
    at.text_input(key=f"tag_reason_{seeded}_{first['id']}").set_value("the prediction is right")
    at.button[[b.label for b in at.button].index("Save correction")].click().run()
    assert_ok(at)

    fixes = store.corrections(seeded)
    assert fixes[["example_id", "corrected", "reason", "user"]].values.tolist() == [
        [first["id"], first["prediction"], "the prediction is right", USER]
    ]

    at.toggle(key="tag_f_errors").set_value(False).run()
    at.text_input(key="tag_f_search").set_value(first["id"]).run()
    row = at.data_editor[0].value.iloc[0]
    assert row["corrected"] and row["correct"]

    home = app("app.py", seeded)
    assert float(home.metric[1].value.rstrip("%")) > accuracy_before


def test_creating_renaming_merging_and_deleting_tags(seeded, store):
    at = app("pages/2_Tag_errors.py", seeded)
    at.selectbox(key="tag_rename_old").set_value("car_noise")
    at.text_input(key="tag_rename_new").set_value("engine_noise").run()
    at.button(key="tag_rename").click().run()
    assert store.list_tags(seeded)["name"].tolist() == ["engine_noise", "people_noise"]

    at.multiselect(key="tag_merge_sources").set_value(["engine_noise", "people_noise"])
    at.text_input(key="tag_merge_target").set_value("noise").run()
    at.button(key="tag_merge").click().run()
    assert store.list_tags(seeded)["name"].tolist() == ["noise"]

    at.selectbox(key="tag_delete_name").set_value("noise").run()
    assert at.button(key="tag_delete").disabled  # not confirmed yet
    assert store.list_tags(seeded)["name"].tolist() == ["noise"]
    at.checkbox(key="tag_delete_sure").check().run()
    at.button(key="tag_delete").click().run()
    assert_ok(at)
    assert store.list_tags(seeded).empty


def test_a_bad_rule_value_is_an_error_not_a_traceback(seeded):
    at = app("pages/2_Tag_errors.py", seeded)
    at.selectbox(key="tag_rule_column").set_value("snr_db")
    at.selectbox(key="tag_rule_op").set_value(">")
    at.text_input(key="tag_rule_value").set_value("loud").run()
    assert_ok(at)
    assert "'snr_db' holds numbers" in texts(at.error)
    at.selectbox(key="tag_rule_op").set_value("regex")
    at.text_input(key="tag_rule_value").set_value("([").run()
    assert_ok(at)
    assert "not a valid regex" in texts(at.error)


# ----------------------------------------------------------------------------- slices


def test_hlp_entered_for_a_tag_is_saved_and_used(seeded, store):
    at = app("pages/3_Slices_vs_HLP.py", seeded)
    key = next(n.key for n in at.number_input if n.key.endswith("_car_noise"))
    at.number_input(key=key).set_value(97.0).run()
    assert_ok(at)
    assert store.tag_settings(seeded)["hlp"] == {"car_noise": pytest.approx(0.97)}
    row = slice_row(at, "Car noise")
    assert row["HLP"] == pytest.approx(97.0)
    assert row["HLP source"] == "entered"


def test_slicing_by_metadata_adds_column_slices(seeded):
    at = app("pages/3_Slices_vs_HLP.py", seeded)
    at.multiselect(key="shared_slice_by").set_value(["device"]).run()
    assert_ok(at)
    table = slice_table(at)
    names = table["slice"].tolist() + [
        n for also in table.get("also", []) if also for n in also.split("; ")
    ]
    assert {"device = android", "device = car_kit", "device = ios"} <= set(names)


def test_text_task_shows_wer_and_classification_shows_classes(seeded, store):
    at = app("pages/3_Slices_vs_HLP.py", seeded)
    assert "WER" in slice_table(at).columns
    with pytest.raises(AssertionError):
        table_with(at, "support")

    frame = pd.DataFrame(
        {
            "id": range(30),
            "label": ["ok", "scratch", "dent"] * 10,
            "prediction": ["ok", "ok", "dent"] * 10,
            "tags": ["blurry", "", "reflection"] * 10,
        }
    )
    ds = dataset_from_frame(frame, ColumnMapping(tags_column="tags"), name="inspection.csv")
    project = store.get_or_create_project("Test", user="seed")
    did = store.save_dataset(
        project, "Inspection", ds, task=TaskSpec(kind="binary", positive="scratch"), user="seed"
    )
    at = app("pages/3_Slices_vs_HLP.py", did)
    assert_ok(at)
    table = slice_table(at)
    assert {"Precision", "Recall", "F1", "FPR", "FNR"} <= set(table.columns)
    classes = table_with(at, "support")
    assert classes.set_index("class").loc["scratch", "recall"] == 0


# ----------------------------------------------------------------------------- prioritise


def ranked_slices(at: AppTest) -> list[str]:
    table = table_with(at, "potential gain")
    return table.dropna(subset=["rank"]).sort_values("rank")["slice"].tolist()


def test_importance_changes_the_ranking_order(seeded, store):
    # Each tag has fewer human labels than MIN_HUMAN_LABELS (not ranked on them): enter HLPs.
    for tag in ("car_noise", "people_noise"):
        store.set_tag_settings(seeded, tag, hlp=0.95, user="seed")
    at = app("pages/4_Prioritise.py", seeded)
    order = ranked_slices(at)
    assert len(order) == 2
    last = order[-1]
    tag = last.lower().replace(" ", "_")
    weights = at.data_editor[0].value
    row = int(weights.index[weights["tag"] == tag][0])
    first_row = int(weights.index[weights["tag"] != tag][0])
    at.session_state[at.data_editor[0].key] = {
        "edited_rows": {row: {"importance": 5}, first_row: {"importance": 1}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_ok(at)
    settings = store.tag_settings(seeded)
    assert settings["importance"][tag] == 5
    assert ranked_slices(at)[0] == last
    assert ranked_slices(at) == order[::-1]


def test_not_significant_gaps_are_marked(seeded, store):
    # People noise has too few human labels to compare (tests/test_hlp.py): enter an HLP.
    store.set_tag_settings(seeded, "people_noise", hlp=0.99, user="seed")
    at = app("pages/4_Prioritise.py", seeded)
    marks = table_with(at, "potential gain").set_index("slice")["gap significant?"]
    assert marks["People noise"].startswith("yes")
    # an entered HLP just above the slice's accuracy: a gap that could be chance
    store.set_tag_settings(seeded, "people_noise", hlp=0.40, user="seed")
    at.run()
    marks = table_with(at, "potential gain").set_index("slice")["gap significant?"]
    assert "not significant" in marks["People noise"]
    assert any("not statistically significant" in shown(m) for m in at.markdown)


# ----------------------------------------------------------------------------- export


def test_each_download_is_saved_and_listed(seeded, store):
    at = app("pages/5_Export.py", seeded)
    names = [b.proto.file_name if hasattr(b.proto, "file_name") else "" for b in at.download_button]
    assert len(at.download_button) == 4, names
    at.download_button(key="export_html").click().run()
    assert_ok(at)
    reports = store.list_reports(seeded)
    assert reports["fmt"].tolist() == ["html"]
    assert reports["created_by"].tolist() == [USER]
    assert reports["filename"].iloc[0].startswith("slicewise-Speech-")
    content = store.report_content(int(reports["id"].iloc[0])).decode()
    assert content.startswith("<!DOCTYPE html>") and "Car noise" in content
    assert table_with(at, "filename")["filename"].tolist() == reports["filename"].tolist()
    assert at.download_button(key="export_again_btn")


# ----------------------------------------------------------------------------- load data


GOOD = b"id,label,prediction,car_noise\n1,a,a,x\n2,b,a,\n3,a,b,x\n4,b,b,\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"id,expected,prediction\n1,a,a\n2,b,a\n",
            ["no label column", "'expected'", "'prediction'"],
        ),
        (
            b"id,label,prediction\n1,a,a\n2,,a\n3,b,b\n",
            ["'label'", "missing in 1 of 3 rows", "row 3"],
        ),
        (b"id,label,prediction\n1,a,a\n1,b,a\n", ["id column 'id' repeats", "unique"]),
    ],
    ids=["label column missing", "label missing in a row", "duplicate ids"],
)
def test_a_bad_upload_shows_an_error_naming_the_column(store, content, expected):
    at = app("pages/1_Load_data.py")
    at.file_uploader(key="load_upload").set_value(("bad.csv", content, "text/csv")).run()
    assert_ok(at)
    at.button[[b.label for b in at.button].index("Check and save")].click().run()
    assert_ok(at)
    message = texts(at.error)
    assert "bad.csv" in message
    for part in expected:
        assert part in message
    assert store.list_datasets().empty


def test_a_good_upload_is_saved_and_selected(store):
    at = app("pages/1_Load_data.py")
    at.file_uploader(key="load_upload").set_value(("tiny.csv", GOOD, "text/csv")).run()
    assert_ok(at)
    assert not at.error
    keys = [s.key for s in at.selectbox]
    label_key = next(k for k in keys if k and k.endswith("_label"))
    assert at.selectbox(key=label_key).value == "label"  # detected
    assert at.multiselect[0].value == ["car_noise"]
    at.button[[b.label for b in at.button].index("Check and save")].click().run()
    assert_ok(at)
    datasets = store.list_datasets()
    assert datasets["name"].tolist() == ["tiny"]
    assert datasets["created_by"].tolist() == [USER]
    did = int(datasets["id"].iloc[0])
    assert at.session_state["dataset_id"] == did
    assert store.tag_matrix(did)["car_noise"].tolist() == [True, False, True, False]


def test_rename_and_delete_with_confirmation(seeded, store):
    at = app("pages/1_Load_data.py", seeded)
    at.text_input(key=f"load_rename_{seeded}").set_value("Voice search").run()
    at.button(key="load_rename_btn").click().run()
    assert store.dataset_info(seeded)["name"] == "Voice search"

    at.button(key="load_delete").click().run()
    assert "cannot be undone" in texts(at.warning)
    assert len(store.list_datasets()) == 1
    at.button(key="load_delete_no").click().run()
    assert len(store.list_datasets()) == 1
    at.button(key="load_delete").click().run()
    at.button(key="load_delete_yes").click().run()
    assert_ok(at)
    assert store.list_datasets().empty


def test_opening_the_demo_project(store):
    at = app("pages/1_Load_data.py")
    at.button(key="load_open_demo").click().run()
    assert_ok(at)
    assert not at.error, texts(at.error)
    demo = store.list_datasets()
    assert len(demo) == 3  # inspection, speech, retrained speech
    assert at.session_state["dataset_id"] in demo["id"].tolist()


# ----------------------------------------------------------------------------- details


def test_a_refused_write_is_shown_as_an_error(seeded, store):
    at = app("pages/2_Tag_errors.py", seeded)
    at.selectbox(key="tag_rename_old").set_value("car_noise")
    at.text_input(key="tag_rename_new").set_value("people_noise").run()
    at.button(key="tag_rename").click().run()
    assert_ok(at)
    assert "already has a tag named 'people_noise'" in texts(at.error)
    assert store.list_tags(seeded)["name"].tolist() == ["car_noise", "people_noise"]


def test_the_example_panel_shows_the_word_diff_and_a_missing_media_file(seeded):
    at = app("pages/2_Tag_errors.py", seeded)
    panel = "\n".join(str(m.value) for m in at.markdown)  # the Markdown source
    assert "~~" in panel and "**" in panel  # missed and wrongly predicted words
    assert "file not found on the server" in texts(at.caption)


def test_a_link_with_a_dataset_opens_it(seeded):
    at = AppTest.from_file(str(ROOT / "pages/3_Slices_vs_HLP.py"), default_timeout=TIMEOUT)
    at.query_params["dataset"] = str(seeded)
    at.run()
    assert_ok(at)
    assert at.session_state["dataset_id"] == seeded
    assert slice_table(at)["n"].iloc[0] == 60


@pytest.mark.parametrize(
    ("values", "op", "value", "expected"),
    [
        ([1.0, 2.0, None, 5.0], ">=", "2", [False, True, False, True]),
        ([1.0, 2.0, None, 5.0], "!=", "2", [True, False, False, True]),
        (["car_kit", "ios", None, "CAR_KIT"], "==", "car_kit", [True, False, False, False]),
        (["car_kit", "ios", None, "CAR_KIT"], "contains", "kit", [True, False, False, True]),
        (["car_kit", "ios", None, "a.b"], "contains", ".", [False, False, False, True]),
        (["car_kit", "ios", None, "android"], "regex", "^(ios|and)", [False, True, False, True]),
        (["1", "10", None, "x"], ">", "2", [False, True, False, False]),
    ],
)
def test_rules_are_vectorised_comparisons(values, op, value, expected):
    from slicewise.ui.tagging import rule_mask

    assert rule_mask(pd.Series(values, name="c"), op, value).tolist() == expected


def test_word_diff_marks_missed_and_extra_words():
    from slicewise.ui.tagging import word_diff, word_diff_markdown

    assert word_diff("sail away song", "sell away some") == [
        ("missing", "sail"),
        ("extra", "sell"),
        ("equal", "away"),
        ("missing", "song"),
        ("extra", "some"),
    ]
    assert word_diff_markdown("a_b *c*", "a_b") == "a\\_b :red[~~\\*c\\*~~]"


# ----------------------------------------------------------------------------- hostile names

EVIL = "![x](https://evil.invalid/pixel.png)"
ALL_PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]


def _outside_code_spans(text: str) -> str:
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", text, flags=re.S)


@pytest.mark.parametrize("page", ALL_PAGES)
def test_names_and_values_from_files_never_render_as_markdown_images(store, page):
    frame = pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(12)],
            "label": [f"a {EVIL}", "b"] * 6,
            "prediction": [f"a {EVIL}", "b", "b", "b"] * 3,
            f"night {EVIL}": ["x", ""] * 6,
            "device": [f"cam {EVIL}", "web"] * 6,
        }
    )
    dataset = dataset_from_frame(frame, ColumnMapping(id="id"), name=f"{EVIL}.csv")
    project = store.get_or_create_project(f"Team {EVIL}", user=f"ann {EVIL}")
    did = store.save_dataset(
        project, f"**Ev** {EVIL}", dataset, task=TaskSpec(), user=f"ann {EVIL}"
    )
    at = app(page, did, user_name=f"ann {EVIL}")
    assert_ok(at)
    elements = [
        *at.markdown,
        *at.caption,
        *at.info,
        *at.success,
        *at.warning,
        *at.error,
        *at.toast,
        *at.title,
        *at.subheader,
    ]
    outside = _outside_code_spans("\n".join(str(e.value) for e in elements))  # the source
    assert not re.search(r"(?<!\\)!\[|(?<!\\)\]\(", outside), outside
