"""Tests for ui.tag_grid.grid_columns: the order and editability of the tagging grid."""

from __future__ import annotations

from slicewise.ui.tag_grid import grid_columns
from slicewise.ui.tagging import (
    CORRECTED_COLUMN,
    META_PREFIX,
    SCORE_COLUMN,
    SELECT_COLUMN,
    STATUS_COLUMN,
)


def test_thumbnails_come_before_the_label_and_other_metadata_after_the_marks():
    config, order = grid_columns(["car_noise"], ("photo", "site"), {"photo": ["..."]}, None)
    assert order == [
        SELECT_COLUMN,
        "id",
        META_PREFIX + "photo",
        "label",
        "prediction",
        "car_noise",
        SCORE_COLUMN,
        STATUS_COLUMN,
        CORRECTED_COLUMN,
        META_PREFIX + "site",
        "human",
    ]
    assert config[META_PREFIX + "photo"]["type_config"]["type"] == "image"
    assert config["car_noise"]["label"] == "car noise"  # underscores read as spaces
    assert config[SELECT_COLUMN]["pinned"] is True


def test_text_width_applies_to_label_and_prediction():
    config, _ = grid_columns([], (), {}, 170)
    assert config["label"]["width"] == 170 and config["prediction"]["width"] == 170
