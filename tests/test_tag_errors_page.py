"""The *Tag errors* page as a spreadsheet: rules with several conditions over all examples,
metadata filters, the grid (score, chosen columns, thumbnails, order by score), a picked row
shown beside the grid, several rows tagged at once, one-run ticks, undo and reviewed marks.

Runs the page in Streamlit's AppTest on a 12-row table whose expected rows are worked out by
hand in the comments below.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from pagetest import USER, assert_ok, table_with, texts
from pagetest import run_page as app
from PIL import Image

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.tagging import META_PREFIX, SCORE_COLUMN, SELECT_COLUMN

PAGE = "pages/2_Tag_errors.py"
pytestmark = pytest.mark.usefixtures("fresh")

#   id   label pred  right score device  snr  blurry
#   e00  cat   cat   yes   .91   car_kit 3.0  x
#   e01  dog   cat   no    .55   car_kit 8.0
#   e02  cat   dog   no    .62   ios     2.0
#   e03  dog   dog   yes   .97   car_kit 4.5
#   e04  cat   cat   yes   .40   android 1.0
#   e05  dog   cat   no    .35   car_kit 2.5  x
#   e06  cat   cat   yes   .88   ios     9.0
#   e07  dog   dog   yes   .72   android 6.0
#   e08  cat   dog   no    .51   android 3.5
#   e09  dog   dog   yes   .83   car_kit 7.0
#   e10  cat   cat   yes   .66   ios     4.0
#   e11  dog   cat   no    .45   car_kit 1.5
IDS = [f"e{i:02d}" for i in range(12)]
ERRORS = ["e01", "e02", "e05", "e08", "e11"]
ERRORS_FIRST = ERRORS + ["e00", "e03", "e04", "e06", "e07", "e09", "e10"]
# by score: .35 e05, .40 e04, .45 e11, .51 e08, .55 e01, .62 e02, .66 e10, .72 e07, .83 e09,
# .88 e06, .91 e00, .97 e03
BY_SCORE = ["e05", "e04", "e11", "e08", "e01", "e02", "e10", "e07", "e09", "e06", "e00", "e03"]


def _png_data_uri(rgb: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), rgb).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def did(store: Store, fresh) -> int:
    """The table above in project 'Test'; e01's image is a file next to the database."""
    Image.new("RGB", (300, 200), (200, 30, 30)).save(fresh.parent / "e01.png")
    frame = pd.DataFrame(
        {
            "id": IDS,
            "label": ["cat", "dog"] * 6,
            "prediction": [
                "cat",
                "cat",
                "dog",
                "dog",
                "cat",
                "cat",
                "cat",
                "dog",
                "dog",
                "dog",
                "cat",
                "cat",
            ],
            "score": [0.91, 0.55, 0.62, 0.97, 0.40, 0.35, 0.88, 0.72, 0.51, 0.83, 0.66, 0.45],
            "device": [
                "car_kit",
                "car_kit",
                "ios",
                "car_kit",
                "android",
                "car_kit",
                "ios",
                "android",
                "android",
                "car_kit",
                "ios",
                "car_kit",
            ],
            "snr_db": [3.0, 8.0, 2.0, 4.5, 1.0, 2.5, 9.0, 6.0, 3.5, 7.0, 4.0, 1.5],
            "image": [_png_data_uri((10 * i, 0, 0)) for i in range(12)],
            "blurry": ["x", "", "", "", "", "x", "", "", "", "", "", ""],
        }
    )
    frame.loc[1, "image"] = "e01.png"
    dataset = dataset_from_frame(
        frame, ColumnMapping(id="id", tag_columns=("blurry",)), name="pets.csv"
    )
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(project, "Pets", dataset, task=TaskSpec(), user="seed")


def grid(at) -> pd.DataFrame:
    return at.data_editor[0].value


def edit(at, cells: dict[int, dict[str, bool]]):
    """Send grid edits ({row: {column: value}}) the way the browser does, and run."""
    at.session_state[at.session_state["tag_editor_key"]] = {
        "edited_rows": cells,
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_ok(at, no_errors=True)
    return at


def tagged(store: Store, did: int, tag: str) -> set[str]:
    ids = store.load_dataset(did).frame["id"].astype(str).to_numpy()
    return set(ids[store.tag_matrix(did)[tag].to_numpy(dtype=bool)])


def with_tag(at, name: str):
    at.text_input(key="tag_new").set_value(name).run()
    at.button(key="tag_create").click().run()
    assert_ok(at, no_errors=True)
    return at


# ----------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("errors_only", "expected", "note"),
    [
        # car_kit: e00 e01 e03 e05 e09 e11; with snr < 5: e00 (3.0) e03 (4.5) e05 (2.5) e11 (1.5)
        (False, {"e00", "e03", "e05", "e11"}, "**4** examples match"),
        # of which errors: e05, e11
        (True, {"e05", "e11"}, "**2** examples match"),
    ],
)
def test_a_rule_with_two_conditions_applies_to_all_examples_by_default(
    did, store, errors_only, expected, note
):
    at = with_tag(app(PAGE, did), "noisy")
    assert at.checkbox(key="tag_rule_errors").value is False  # all examples by default
    at.selectbox(key="tag_rule_column").set_value("device")
    at.selectbox(key="tag_rule_op").set_value("==")
    at.text_input(key="tag_rule_value").set_value("car_kit").run()
    at.button(key="tag_rule_add").click().run()
    at.selectbox(key="tag_rule_column_1").set_value("snr_db")
    at.selectbox(key="tag_rule_op_1").set_value("<")
    at.text_input(key="tag_rule_value_1").set_value("5")
    at.selectbox(key="tag_rule_tag").set_value("noisy")
    if errors_only:
        at.checkbox(key="tag_rule_errors").check()
    at.run()
    assert_ok(at, no_errors=True)
    info = texts(at.info)
    assert note in info and "device == car_kit AND snr_db < 5" in info
    if not errors_only:
        assert "(2 of them errors)" in info
    next(b for b in at.button if (b.key or "").startswith("tag_rule_apply")).click().run()
    assert_ok(at, no_errors=True)
    assert tagged(store, did, "noisy") == expected
    # where the tag is known now: every example, or only the errors (as `slicewise tag`)
    assert store.tag_scopes(did)["noisy"] == ("errors" if errors_only else "all")
    assert (store.events(did)["user"] == USER).any()


def test_removing_a_condition_moves_the_next_one_up(did):
    at = app(PAGE, did)
    at.text_input(key="tag_rule_value").set_value("car_kit").run()
    at.button(key="tag_rule_add").click().run()
    at.selectbox(key="tag_rule_column_1").set_value("snr_db")
    at.selectbox(key="tag_rule_op_1").set_value(">=")
    at.text_input(key="tag_rule_value_1").set_value("4").run()
    at.button(key="tag_rule_remove_0").click().run()
    assert_ok(at, no_errors=True)
    assert at.session_state["tag_rule_n"] == 1
    assert (
        at.selectbox(key="tag_rule_column").value,
        at.selectbox(key="tag_rule_op").value,
        at.text_input(key="tag_rule_value").value,
    ) == ("snr_db", ">=", "4")
    # snr >= 4: e01 e03 e06 e07 e09 e10
    assert "**6** examples match" in texts(at.info)


@pytest.mark.parametrize(
    ("row", "column", "op", "value", "message"),
    [
        (1, "snr_db", ">", "loud", "pets.csv: column 'snr_db' holds numbers"),
        (1, "device", "regex", "([", "pets.csv: column 'device': '([' is not a valid regex"),
    ],
)
def test_a_bad_condition_is_an_error_naming_the_file_and_column(
    did, row, column, op, value, message
):
    at = app(PAGE, did)
    at.text_input(key="tag_rule_value").set_value("car_kit").run()
    at.button(key="tag_rule_add").click().run()
    at.selectbox(key=f"tag_rule_column_{row}").set_value(column)
    at.selectbox(key=f"tag_rule_op_{row}").set_value(op)
    at.text_input(key=f"tag_rule_value_{row}").set_value(value).run()
    assert_ok(at)
    assert message in texts(at.error)


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("conditions", "toggles", "expected"),
    [
        ([], {}, ERRORS_FIRST),  # every example, errors first
        ([], {"tag_f_errors": True}, ERRORS),
        ([("device", "==", "ios")], {}, ["e02", "e06", "e10"]),
        # snr >= 4: e01 e03 e06 e07 e09 e10; not ios: drops e06 e10
        ([("snr_db", ">=", "4"), ("device", "!=", "ios")], {}, ["e01", "e03", "e07", "e09"]),
        ([("snr_db", ">=", "4"), ("device", "!=", "ios")], {"tag_f_errors": True}, ["e01"]),
        # untagged (blurry on e00, e05) and car_kit: e01 e03 e09 e11 → errors first
        ([("device", "==", "car_kit")], {"tag_f_untagged": True}, ["e01", "e11", "e03", "e09"]),
    ],
)
def test_metadata_conditions_filter_the_grid_without_a_tag(did, conditions, toggles, expected):
    at = app(PAGE, did)
    for i, (column, op, value) in enumerate(conditions):
        at.button(key="tag_f_where_add").click().run()
        k = "" if i == 0 else f"_{i}"
        at.selectbox(key=f"tag_f_where_column{k}").set_value(column)
        at.selectbox(key=f"tag_f_where_op{k}").set_value(op)
        at.text_input(key=f"tag_f_where_value{k}").set_value(value).run()
    for key, value in toggles.items():
        at.toggle(key=key).set_value(value).run()
    assert_ok(at, no_errors=True)
    assert grid(at)["id"].tolist() == expected


@pytest.mark.parametrize(
    ("search", "label", "expected"),
    [
        ("e1", None, ["e11", "e10"]),
        (None, "dog", ["e01", "e05", "e11", "e03", "e07", "e09"]),
    ],
)
def test_search_and_label_filters_still_work(did, search, label, expected):
    at = app(PAGE, did)
    if search:
        at.text_input(key="tag_f_search").set_value(search).run()
    if label:
        at.selectbox(key="tag_f_label").set_value(label).run()
    assert grid(at)["id"].tolist() == expected


def test_a_bad_filter_condition_is_an_error_not_a_traceback(did):
    at = app(PAGE, did)
    at.button(key="tag_f_where_add").click().run()
    at.selectbox(key="tag_f_where_column").set_value("snr_db")
    at.selectbox(key="tag_f_where_op").set_value("<")
    at.text_input(key="tag_f_where_value").set_value("quiet").run()
    assert_ok(at)
    assert "column 'snr_db' holds numbers" in texts(at.error)


# ----------------------------------------------------------------------------- the grid


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("errors", ERRORS_FIRST),
        ("score_asc", BY_SCORE),
        ("score_desc", BY_SCORE[::-1]),
    ],
)
def test_the_grid_sorts_by_score(did, order, expected):
    at = app(PAGE, did)
    assert at.selectbox(key="tag_order").value == "errors"  # the default
    at.selectbox(key="tag_order").set_value(order).run()
    rows = grid(at)
    assert rows["id"].tolist() == expected
    scores = dict(
        zip(
            IDS,
            [0.91, 0.55, 0.62, 0.97, 0.40, 0.35, 0.88, 0.72, 0.51, 0.83, 0.66, 0.45],
            strict=True,
        )
    )
    assert rows[SCORE_COLUMN].tolist() == [scores[i] for i in expected]


def test_the_grid_shows_chosen_columns_and_image_thumbnails(did):
    at = app(PAGE, did)
    # image columns and the first other metadata columns are shown by default
    show = f"tag_show_cols_{did}"
    assert at.multiselect(key=show).value == ["image", "device", "snr_db"]
    rows = grid(at).set_index("id")
    assert rows.loc["e02", META_PREFIX + "device"] == "ios"
    assert rows.loc["e02", META_PREFIX + "snr_db"] == 2.0
    # a data URI is shown as it is; a local file as a small JPEG data URI
    assert rows.loc["e00", META_PREFIX + "image"] == _png_data_uri((0, 0, 0))
    thumb = rows.loc["e01", META_PREFIX + "image"]
    assert thumb.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1]))) as image:
        assert max(image.size) <= 96
    at.multiselect(key=show).set_value(["snr_db"]).run()
    assert_ok(at, no_errors=True)
    assert [c for c in grid(at).columns if c.startswith(META_PREFIX)] == [META_PREFIX + "snr_db"]


def test_ticking_a_tag_saves_it_and_shows_it_in_the_same_run(did, store):
    at = app(PAGE, did)
    assert at.metric[1].value == "20%"  # e05 of 5 errors is blurry
    row = grid(at)["id"].tolist().index("e01")
    edit(at, {row: {"blurry": True}})
    assert tagged(store, did, "blurry") == {"e00", "e05", "e01"}
    assert grid(at).set_index("id").loc["e01", "blurry"]
    assert at.metric[1].value == "40%"  # the coverage follows without another run
    edit(at, {row: {"blurry": True}})  # the same edits again: nothing is saved twice
    assert (store.events(did)["kind"] == "tag.set").sum() == 1


# ----------------------------------------------------------------------------- selection


def test_picking_a_row_shows_that_example_beside_the_grid(did):
    at = app(PAGE, did)
    assert at.subheader[0].value == "Example e01"  # the first row until one is picked
    edit(at, {2: {SELECT_COLUMN: True}})  # e05
    assert at.subheader[0].value == "Example e05"
    assert "Picked in the grid" in texts(at.caption)
    assert "Score: `0.35`" in texts(at.caption)
    edit(at, {2: {SELECT_COLUMN: True}, 4: {SELECT_COLUMN: True}})  # and e11: the newest
    assert at.subheader[0].value == "Example e11"
    assert grid(at)[SELECT_COLUMN].tolist() == [False, False, True, False, True] + [False] * 7
    edit(at, {2: {SELECT_COLUMN: True}, 4: {SELECT_COLUMN: False}})  # e11 unpicked
    assert at.subheader[0].value == "Example e05"
    meta = table_with(at, "column").set_index("column")["value"]
    assert meta["device"] == "car_kit" and meta["snr_db"] == "2.5"


def test_several_picked_rows_are_tagged_and_untagged_at_once(did, store):
    at = with_tag(app(PAGE, did), "noisy")
    edit(at, {0: {SELECT_COLUMN: True}, 3: {SELECT_COLUMN: True}})  # e01, e08
    at.selectbox(key="tag_bulk_tag").set_value("noisy").run()
    at.button(key="tag_bulk_add").click().run()
    assert_ok(at, no_errors=True)
    assert tagged(store, did, "noisy") == {"e01", "e08"}
    rows = grid(at).set_index("id")
    assert rows.loc[["e01", "e08"], "noisy"].all() and rows["noisy"].sum() == 2
    assert rows.loc[["e01", "e08"], SELECT_COLUMN].all()  # the selection stays
    at.button(key="tag_bulk_remove").click().run()
    assert tagged(store, did, "noisy") == set()


def test_select_page_and_clear(did, store):
    at = with_tag(app(PAGE, did), "checked")
    at.toggle(key="tag_f_errors").set_value(True).run()
    at.button(key="tag_select_page").click().run()
    assert grid(at)[SELECT_COLUMN].all()
    at.selectbox(key="tag_bulk_tag").set_value("checked").run()
    at.button(key="tag_bulk_add").click().run()
    assert tagged(store, did, "checked") == set(ERRORS)
    at.button(key="tag_select_clear").click().run()
    assert not grid(at)[SELECT_COLUMN].any()
    assert at.button(key="tag_bulk_add").disabled


def test_a_filter_change_drops_the_selection(did):
    at = app(PAGE, did)
    edit(at, {0: {SELECT_COLUMN: True}})
    at.toggle(key="tag_f_errors").set_value(True).run()
    assert not grid(at)[SELECT_COLUMN].any()
    assert at.subheader[0].value == "Example e01"


# ----------------------------------------------------------------------------- undo, reviewed


def test_undo_reverts_the_last_tick(did, store):
    at = app(PAGE, did)
    row = grid(at)["id"].tolist().index("e02")
    edit(at, {row: {"blurry": True}})
    assert "e02" in tagged(store, did, "blurry")
    at.button(key="tag_undo").click().run()
    assert_ok(at, no_errors=True)
    assert tagged(store, did, "blurry") == {"e00", "e05"}
    assert not grid(at).set_index("id").loc["e02", "blurry"]


def test_mark_shown_rows_as_reviewed(did, store):
    at = app(PAGE, did)
    at.toggle(key="tag_f_errors").set_value(True).run()
    at.button(key="tag_mark_reviewed").click().run()
    assert_ok(at, no_errors=True)
    reviewed = store.reviewed_matrix(did)
    ids = store.load_dataset(did).frame["id"].astype(str).to_numpy()
    assert set(ids[reviewed.to_numpy(dtype=bool).all(axis=1)]) == set(ERRORS)
    assert np.isin(ids[reviewed.to_numpy(dtype=bool).any(axis=1)], ERRORS).all()


def test_switching_to_a_dataset_without_the_chosen_column_and_tag_is_clean(did, store):
    other = store.save_dataset(
        store.get_or_create_project("Other", user="seed"),
        "Plain",
        dataset_from_frame(
            pd.DataFrame(
                {
                    "id": ["p1", "p2"],
                    "label": ["a", "b"],
                    "prediction": ["a", "a"],
                    "site": ["x", "y"],
                }
            ),
            ColumnMapping(id="id"),
            name="plain.csv",
        ),
        task=TaskSpec(),
        user="seed",
    )
    at = with_tag(app(PAGE, did), "noisy")
    at.selectbox(key="tag_rule_column").set_value("device")
    at.text_input(key="tag_rule_value").set_value("ios")
    at.selectbox(key="tag_rule_tag").set_value("noisy")
    at.multiselect(key="tag_f_tags").set_value(["noisy"])
    at.selectbox(key="tag_order").set_value("score_desc").run()
    at.session_state["_pending_dataset_id"] = other  # as ui.state.select_dataset does
    at.run()
    assert_ok(at, no_errors=True)
    assert at.selectbox(key="tag_rule_column").value == "label"  # device is not in plain.csv
    assert at.selectbox(key="tag_rule_tag").value is None
    assert at.multiselect(key="tag_f_tags").value == []
    assert at.selectbox(key="tag_order").value == "errors"  # plain.csv has no score
    assert grid(at)["id"].tolist() == ["p2", "p1"]


def test_a_value_typed_without_enter_and_a_click_never_apply_another_rule(did, store):
    # The preview promised the examples of "device == car_kit"; the value is changed and the
    # old button clicked in the same run: nothing is applied, the new button shows the count.
    at = with_tag(app(PAGE, did), "noisy")
    at.selectbox(key="tag_rule_column").set_value("device")
    at.selectbox(key="tag_rule_op").set_value("==")
    at.text_input(key="tag_rule_value").set_value("car_kit")
    at.selectbox(key="tag_rule_tag").set_value("noisy").run()
    promised = next(b for b in at.button if (b.key or "").startswith("tag_rule_apply"))
    assert promised.label == "Apply to 6 examples"
    at.text_input(key="tag_rule_value").set_value("ios")
    promised.click().run()
    assert_ok(at, no_errors=True)
    assert tagged(store, did, "noisy") == set()
    shown = next(b for b in at.button if (b.key or "").startswith("tag_rule_apply"))
    assert shown.label != "Apply to 6 examples"
