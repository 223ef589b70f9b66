"""ui.load_form: the *Upload predictions* form's sections and the options they give."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("fresh")


def probe() -> None:
    """Draw the roles, task, tags and values sections for a small table; keep the options."""
    import pandas as pd
    import streamlit as st

    from slicewise.core.dataset import detect_mapping
    from slicewise.ui import load_form, loading

    raw = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "label": ["cat", "dog", "cat"],
            "prediction": ["cat", "cat", "cat"],
            "human_label": ["cat", "dog", "dog"],
            "blurry": ["x", "", "x"],
        }
    )
    k, cols = "load_f_", [str(c) for c in raw.columns]
    detected = detect_mapping(raw)
    roles = load_form.column_roles(k, cols, detected)
    task = load_form.task_options(k, "f", raw, roles)
    tags = load_form.tag_options(k, cols, detected, roles)
    values = load_form.value_options(k)
    st.session_state["got"] = loading.LoadOptions(**roles, **task, **tags, **values)


def test_detected_roles_fill_the_options_and_a_role_is_never_a_tag():
    at = AppTest.from_function(probe, default_timeout=30).run()
    assert not at.exception
    got = at.session_state["got"]
    assert (got.label, got.prediction, got.id, got.human) == (
        "label",
        "prediction",
        "id",
        "human_label",
    )
    assert (got.score, got.human_accuracy, got.human_majority) == (None, None, False)
    assert got.kind == "classification" and got.positive is None
    # text normalisation is only asked for a text task; its defaults hold otherwise
    assert got.lowercase and got.strip_punctuation and got.collapse_whitespace
    assert got.tag_source == "Boolean columns" and got.tag_columns == ("blurry",)
    assert (got.drop_missing, got.na_values, got.decimal, got.thousands) == (
        False,
        (),
        None,
        None,
    )
    # Making the tag column the human label takes it out of the tags (options and choice).
    at.selectbox(key="load_f_human").set_value("blurry").run()
    got = at.session_state["got"]
    assert got.human == "blurry" and got.tag_columns == ()
    assert "blurry" not in at.multiselect(key="load_f_tag_columns").options


def test_a_binary_task_asks_for_its_positive_class_and_values_are_parsed():
    at = AppTest.from_function(probe, default_timeout=30).run()
    at.selectbox(key="load_f_kind_label").set_value("binary").run()
    at.text_input(key="load_f_na_values").input("NA, -").run()
    got = at.session_state["got"]
    assert got.kind == "binary"
    assert got.positive == "cat"  # the most frequent class comes first
    assert set(got.na_values) == {"NA", "-"}
