"""A widget whose options depend on another never shows or returns a value not among them.

``ui.widgets`` replaces a stale value *before* the widget is drawn, by writing a valid one
under its key, so the browser is sent the new value (``set_value`` and ``raw_value`` on the
widget's message). Deleting the stale value instead, as pages used to, left the browser
showing the old value while the script went on with another one: the checks on the messages
below fail for that approach (``test_deleting_the_stale_value_leaves_the_browser_stale``).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _items_by_group() -> None:
    import streamlit as st

    from slicewise.ui import widgets

    groups = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"], "AB": ["a2", "b1"], "none": []}
    group = st.radio("Group", list(groups), key="group")
    items = groups[group]
    item = widgets.selectbox(
        st, "Item", items, key="item", index=st.session_state.get("start_index", 0)
    )
    st.markdown(f"acting on {item}")


def _items_by_group_deleting() -> None:
    import streamlit as st

    groups = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"]}
    group = st.radio("Group", list(groups), key="group")
    items = groups[group]
    if "item" in st.session_state and st.session_state["item"] not in items:
        del st.session_state["item"]
    item = st.selectbox("Item", items, key="item")
    st.markdown(f"acting on {item}")


def _classes_by_set() -> None:
    import streamlit as st

    from slicewise.ui import widgets

    sets = {"first": ["cat", "dog", "fox"], "second": ["dog", "owl"]}
    chosen = st.radio("Set", list(sets), key="set")
    radio_options = ["all", *sets[chosen]]
    widgets.keep_valid("show", radio_options)
    st.radio("Show", radio_options, key="show")
    widgets.keep_valid_many("merge", sets[chosen])
    st.multiselect("Merge", sets[chosen], key="merge")


def _acting_on(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("acting on"))


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("B", "b1"),  # a2 is not a B item: the first B item
        ("AB", "a2"),  # a2 is still an option: kept
    ],
)
def test_a_stale_item_is_replaced_and_the_browser_is_told(group, expected):
    at = AppTest.from_function(_items_by_group).run()
    at.selectbox(key="item").set_value("a2").run()
    assert _acting_on(at) == "acting on a2"
    at.radio(key="group").set_value(group).run()
    assert not at.exception
    box = at.selectbox(key="item")
    assert box.value == expected
    assert _acting_on(at) == f"acting on {expected}"
    if expected != "a2":  # replaced: the browser gets the value the script uses
        assert box.proto.set_value and box.proto.raw_value == expected


def test_the_replacement_is_the_widgets_own_default():
    at = AppTest.from_function(_items_by_group)
    at.session_state["start_index"] = 1
    at.run()
    assert at.selectbox(key="item").value == "a2"
    at.selectbox(key="item").set_value("a3").run()
    at.radio(key="group").set_value("B").run()
    assert at.selectbox(key="item").value == "b2"  # index 1 of the new options


def test_no_options_leave_the_box_empty_without_an_error():
    at = AppTest.from_function(_items_by_group).run()
    at.selectbox(key="item").set_value("a3").run()
    at.radio(key="group").set_value("none").run()
    assert not at.exception
    assert at.selectbox(key="item").value is None
    assert _acting_on(at) == "acting on None"


def test_deleting_the_stale_value_leaves_the_browser_stale():
    # The mechanism behind the review-queue bug, kept as a regression oracle: after a
    # delete the script acts on b1 but the browser is not told (no set_value), so it keeps
    # showing a2.
    at = AppTest.from_function(_items_by_group_deleting).run()
    at.selectbox(key="item").set_value("a2").run()
    at.radio(key="group").set_value("B").run()
    box = at.selectbox(key="item")
    assert _acting_on(at) == "acting on b1"
    assert not box.proto.set_value


def test_radio_and_multiselect_keep_only_current_options():
    at = AppTest.from_function(_classes_by_set).run()
    at.radio(key="show").set_value("fox").run()
    at.multiselect(key="merge").set_value(["cat", "dog"]).run()
    at.radio(key="set").set_value("second").run()
    assert not at.exception
    show = at.radio(key="show")
    assert show.value == "all" and show.proto.set_value and show.proto.raw_value == "all"
    merge = at.multiselect(key="merge")
    assert merge.value == ["dog"] and merge.proto.set_value
    assert list(merge.proto.raw_values) == ["dog"]


def _keep_valid_script() -> None:
    import streamlit as st

    from slicewise.ui import widgets

    st.session_state["out"] = widgets.keep_valid(
        "k", st.session_state["options"], **st.session_state.get("kw", {})
    )


@pytest.mark.parametrize(
    ("before", "options", "kw", "replaced", "after"),
    [
        ("x", ["x", "y"], {}, False, "x"),  # valid: untouched
        ("z", ["x", "y"], {}, True, "x"),  # stale: the first option
        ("z", ["x", "y"], {"default": "y"}, True, "y"),  # stale: the default given
        ("z", ["x", "y"], {"default": "q"}, True, "x"),  # a default not offered is not used
        ("z", [], {}, True, None),  # nothing to choose from
        (None, ["x"], {}, False, None),  # an empty box (index=None) stays empty
        ("1", [1, 2], {}, True, 1),  # "1" is not the option 1
    ],
)
def test_keep_valid(before, options, kw, replaced, after):
    at = AppTest.from_function(_keep_valid_script)
    at.session_state["k"] = before
    at.session_state["options"] = options
    at.session_state["kw"] = kw
    at.run()
    assert not at.exception
    assert at.session_state["out"] is replaced
    assert at.session_state["k"] == after


def test_keep_valid_writes_nothing_for_a_widget_not_drawn_yet():
    at = AppTest.from_function(_keep_valid_script)
    at.session_state["options"] = ["x"]
    at.run()
    assert at.session_state["out"] is False
    assert "k" not in at.session_state
