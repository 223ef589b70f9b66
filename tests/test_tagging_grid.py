"""The grid's pure helpers (ui.tagging, ui.media): row orders, picked rows, the grid frame,
media detection and data URIs. Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from slicewise.ui.media import data_uri_bytes
from slicewise.ui.tagging import (
    META_PREFIX,
    SCORE_COLUMN,
    SELECT_COLUMN,
    editor_frame,
    edits_to_changes,
    kept_in_order,
    media_columns,
    row_order,
    selection_edits,
    unsaved_edits,
    update_selection,
)

#             row:     0     1       2     3
CORRECT = np.array([True, False, True, False])
SCORE = np.array([0.5, np.nan, 0.2, 0.5])


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("errors", [1, 3, 0, 2]),  # errors 1, 3 then the rest, each in file order
        ("score_asc", [2, 0, 3, 1]),  # .2, .5 (row 0 before row 3: ties in file order), NaN last
        ("score_desc", [0, 3, 2, 1]),  # .5 (0, 3), .2, NaN last
    ],
)
def test_row_orders(order, expected):
    assert row_order(CORRECT, SCORE, order).tolist() == expected


@pytest.mark.parametrize(("order", "score"), [("score_asc", None), ("by_name", SCORE)])
def test_an_order_that_cannot_be_made_is_refused(order, score):
    with pytest.raises(ValueError, match="cannot order"):
        row_order(CORRECT, score, order)


def test_kept_rows_follow_the_order():
    mask = np.array([True, True, False, True])
    assert kept_in_order(mask, np.array([2, 0, 3, 1])).tolist() == [0, 3, 1]


SHOWN = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("selected", "focus", "edits", "expected"),
    [
        ([], None, {"b": True}, (["b"], "b")),  # first pick is shown
        (["b"], "b", {"b": True, "c": True}, (["b", "c"], "c")),  # the newest pick is shown
        (["b", "c"], "c", {"b": True, "c": False}, (["b"], "b")),  # unpicked: the last left
        (["b"], "b", {"b": False}, ([], None)),  # nothing picked
        (["x"], "x", {}, ([], None)),  # not on this page
        (["a", "c"], "a", {"a": True, "c": True}, (["a", "c"], "a")),  # nothing new: focus stays
        ([], None, {"c": True, "a": True}, (["a", "c"], "c")),  # two at once: the lower
    ],
)
def test_picked_rows_and_the_example_shown(selected, focus, edits, expected):
    assert update_selection(selected, focus, edits, SHOWN) == expected


def test_pick_ticks_are_read_apart_from_tag_ticks():
    edited = {
        0: {SELECT_COLUMN: True, "blurry": True},
        1: {"blurry": False},
        5: {SELECT_COLUMN: True},
    }  # row 5 is not on the grid
    assert selection_edits(edited, ["a", "b"]) == {"a": True}
    assert edits_to_changes(edited, ["a", "b"], ["blurry"]) == {
        ("blurry", True): ["a"],
        ("blurry", False): ["b"],
    }


def test_the_grid_frame_keeps_metadata_apart_from_its_own_columns():
    # a file may have columns named like the grid's own ("pick", "score" is a role)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "label": ["a", "b", None],
            "prediction": ["a"] * 3,
            "score": [0.1, None, 0.3],
            "pick": ["x", "y", "z"],
            "snr": [1.5, None, 3.0],
        }
    )
    tags = pd.DataFrame({"pick": [True, False, True]})  # and a tag may be called "pick"
    out = editor_frame(
        frame,
        tags,
        np.array([True, False, False]),
        np.array([2, 0]),
        corrected_ids={"1"},
        show_human=False,
        columns=["pick", "snr"],
        selected={"3"},
    )
    assert out.columns.tolist() == [
        SELECT_COLUMN,
        "id",
        "label",
        "prediction",
        SCORE_COLUMN,
        META_PREFIX + "pick",
        META_PREFIX + "snr",
        "correct",
        "corrected",
        "pick",
    ]
    assert out["id"].tolist() == ["3", "1"]
    assert out[SELECT_COLUMN].tolist() == [True, False]
    assert out["label"].tolist() == ["", "a"]  # a missing label shows blank
    assert out[SCORE_COLUMN].tolist() == [0.3, 0.1]
    assert out[META_PREFIX + "pick"].tolist() == ["z", "x"]
    assert out["pick"].tolist() == [True, True]  # the tag
    assert out["correct"].tolist() == [False, True]
    assert out["corrected"].tolist() == [False, True]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["a.png", "b.JPG?x=1", None], "image"),
        (["data:image/png;base64,AAAA", "data:image/jpeg;base64,AAAA"], "image"),
        (["data:audio/wav;base64,AAAA", "c.wav"], "audio"),
        (["data:text/plain;base64,AAAA", "notes"], None),
    ],
)
def test_media_columns_know_paths_urls_and_data_uris(values, kind):
    found = media_columns(pd.DataFrame({"m": values}), ["m"])
    assert found.get("m") == kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("data:image/png;base64," + base64.b64encode(_png()).decode(), ("image/png", _png())),
        ("data:image/png;base64,not base64!", None),
        ("data:image/png,plain", None),  # not base64: not decoded
        ("https://x.invalid/a.png", None),
    ],
)
def test_data_uris_decode_to_their_bytes(value, expected):
    assert data_uri_bytes(value) == expected


def test_each_grid_edit_is_handled_once_and_a_cell_ticked_again_counts_again():
    done: dict = {}
    assert unsaved_edits({3: {"blurry": True}}, done) == {3: {"blurry": True}}
    assert unsaved_edits({3: {"blurry": True}}, done) == {}  # the same run again
    assert unsaved_edits({3: {"blurry": True, "night": True}}, done) == {3: {"night": True}}
    assert unsaved_edits({3: {"blurry": False, "night": True}}, done) == {3: {"blurry": False}}
    assert unsaved_edits({3: {"blurry": True, "night": True}}, done) == {3: {"blurry": True}}
