"""The sections of the *Compare iterations* page (:mod:`ui.compare_page`), each alone.

Each section runs in Streamlit's AppTest from a small script; the whole page on the demo
project is in ``test_compare_pages.py``.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 60


def _pair_script():
    import streamlit as st

    from slicewise.ui import compare_page

    rows = {
        3: {"id": 3, "model_name": "asr", "model_version": "1.0", "data_version": ""},
        7: {"id": 7, "model_name": "asr", "model_version": "1.1", "data_version": "v2"},
        8: {"id": 8, "model_name": "asr", "model_version": "", "data_version": ""},
    }
    st.session_state["got"] = compare_page.choose_pair(rows)


def test_choose_pair_defaults_to_the_last_two_and_refuses_one_twice():
    at = AppTest.from_function(_pair_script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.session_state["got"] == (7, 8)
    assert at.selectbox(key="cmp_before").value == 7
    assert at.selectbox(key="cmp_before").options == ["#3 asr 1.0", "#7 asr 1.1 · v2", "#8 asr"]
    at.selectbox(key="cmp_before").select(8).run()
    assert at.session_state["got"] is None
    assert at.info[0].value == "Choose two different iterations."


def _too_few_script():
    import pandas as pd
    import streamlit as st

    from slicewise.ui import compare_page

    n = st.session_state.get("n", 0)
    frame = pd.DataFrame({"id": [1], "project_id": [5], "model_name": ["asr"]})
    compare_page.too_few(frame.iloc[:n])


def test_too_few_shows_the_one_iteration_without_its_project():
    at = AppTest.from_function(_too_few_script, default_timeout=TIMEOUT).run()
    assert "at least two iterations" in at.info[0].value
    assert not at.dataframe
    at.session_state["n"] = 1
    at.run()
    assert list(at.dataframe[0].value.columns) == ["id", "model_name"]


def _headline_script():
    import pandas as pd

    from slicewise.ui import compare_page

    table = pd.DataFrame(
        {
            "kind": ["overall", "tag", "tag"],
            "accuracy_before": [0.6, 0.9, 0.5],
            "accuracy_after": [0.8, 0.7, 0.75],
            "delta": [0.2, -0.2, 0.25],
            "p_value": [0.031, 0.01, 0.002],
            "test": ["mcnemar", "mcnemar", "fisher"],
            "significant": [True, True, True],
            "improvement": [True, False, True],
            "regression": [False, True, False],
            "worse_while_overall_better": [False, True, False],
        },
        index=["All data", "car_noise", "quiet"],
    )
    compare_page.headline(table)


def test_headline_warns_first_then_counts_slices_better_and_worse():
    at = AppTest.from_function(_headline_script, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.warning) == 1 and at.warning[0].value.startswith("**Car noise** got worse")
    metrics = {m.label: m for m in at.metric}
    assert metrics["Accuracy, all data"].value == "80.0%"  # 0.8 of all data
    assert metrics["Accuracy, all data"].delta == "+20.0 pts"
    assert metrics["p-value (all data)"].value == "0.031"
    assert metrics["Slices better"].value == "1"  # quiet; all data is not a slice
    assert metrics["Slices worse"].value == "1"  # car_noise
    assert metrics["Slices worse"].delta == "-1"
