"""Sessions share one read-only copy of a dataset, and a write by one is seen by the others.

Each ``AppTest`` is its own Streamlit session in this process, as two browsers are on one
server: ``st.cache_resource`` (ui/data.py) gives both the same objects. A small probe script
loads the dataset as every page does (``ui.data.load_current``) and hands what it got back
to the test through the session state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pagetest import assert_ok
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
OWNER = "seed"  # the first user of the store: may write
WORKFLOW_PAGES = [
    "app.py",
    "pages/2_Tag_errors.py",
    "pages/3_Slices_vs_HLP.py",
    "pages/4_Prioritise.py",
    "pages/5_Export.py",
]
pytestmark = pytest.mark.usefixtures("fresh")


def probe() -> None:
    """Load the selected dataset as a page does; keep what it got in the session state."""
    import streamlit as st

    from slicewise.ui import data, state
    from slicewise.ui.tagging import Filters

    store = state.get_store()
    did = st.session_state["dataset_id"]
    write = st.session_state.get("probe_write")
    if write:  # (tag, example id): this session tags it, as a tick in the grid does
        store.set_tag(did, [write[1]], write[0], True, user="seed")
    loaded = data.load_current(state.Context(store, state.db_path(), None, did, "seed"))
    st.session_state["got"] = {
        "loaded": loaded,
        "base": data._load_frame(loaded.db, did, loaded.frame_key),
        "outcomes": data.example_outcomes(loaded),
        "correct": data.example_correct(loaded),
        "positions": data.filtered_positions(loaded, Filters()),
        "coverage": data.tag_coverage(loaded),
    }
    st.write("probed")


def session(dataset_id: int, **state) -> AppTest:
    """A new session running :func:`probe` once."""
    at = AppTest.from_function(probe, default_timeout=60)
    at.session_state["dataset_id"] = dataset_id
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert_ok(at, no_errors=True)
    return at


def got(at: AppTest) -> dict:
    return at.session_state["got"]


@pytest.fixture
def dataset_id(store) -> int:
    """40 examples with a score, a metadata column and a ``noisy`` tag on every 4th."""
    n = 40
    frame = pd.DataFrame(
        {
            "id": [f"ex-{i}" for i in range(n)],
            "label": ["cat" if i % 2 else "dog" for i in range(n)],
            "prediction": ["cat" if i % 3 else "dog" for i in range(n)],
            "human_label": ["cat" if i % 2 else "dog" for i in range(n)],
            "score": np.linspace(0, 1, n),
            "site": ["a" if i % 5 else "b" for i in range(n)],
            "noisy": ["x" if i % 4 == 1 else "" for i in range(n)],
        }
    )
    mapping = ColumnMapping(
        label="label",
        prediction="prediction",
        id="id",
        human="human_label",
        score="score",
        tag_columns=("noisy",),
    )
    project = store.get_or_create_project("P", user=OWNER)
    return store.save_dataset(
        project, "D", dataset_from_frame(frame, mapping, name="d.csv"), task=TaskSpec(), user=OWNER
    )


def test_two_sessions_share_one_copy_of_the_dataset(dataset_id):
    a, b = got(session(dataset_id)), got(session(dataset_id))
    assert a["base"] is b["base"]  # one loaded dataset in memory
    assert a["correct"] is b["correct"] and a["positions"] is b["positions"]
    for name, column in (("frame", "score"), ("tags", "noisy")):
        x, y = getattr(a["loaded"].dataset, name), getattr(b["loaded"].dataset, name)
        assert x is not y  # each session has its own (copy-on-write) frame object...
        assert np.shares_memory(x[column].to_numpy(), y[column].to_numpy()), name  # ...not data
    assert np.shares_memory(
        a["outcomes"]["correct"].to_numpy(), b["outcomes"]["correct"].to_numpy()
    )


@pytest.mark.parametrize("key", ["correct", "positions"])
def test_shared_arrays_are_read_only(dataset_id, key):
    array = got(session(dataset_id))[key]
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[0] = array[1]


@pytest.mark.parametrize(("name", "column"), [("frame", "score"), ("tags", "noisy")])
def test_a_change_to_one_sessions_frame_stays_in_that_session(dataset_id, name, column):
    a, b = got(session(dataset_id)), got(session(dataset_id))
    mine = getattr(a["loaded"].dataset, name)
    before = getattr(b["loaded"].dataset, name)[column].copy()
    mine.loc[0, column] = mine.loc[1, column] if name == "tags" else 123.0
    mine["added"] = 1
    other = getattr(got(session(dataset_id))["loaded"].dataset, name)
    pd.testing.assert_series_equal(other[column], before)
    assert "added" not in other.columns


def test_a_write_by_one_session_is_seen_by_the_other_after_a_rerun(dataset_id):
    # from the fixture's rules: example i is an error when its label (i odd: cat) differs
    # from its prediction (i a multiple of 3: dog), and tagged noisy when i % 4 == 1
    errors = [i for i in range(40) if (i % 2 == 1) != (i % 3 != 0)]
    tagged = [i for i in errors if i % 4 == 1]
    assert 2 in errors and 2 not in tagged
    reader = session(dataset_id)
    first = got(reader)
    assert first["coverage"] == (len(tagged), len(errors))
    writer = got(session(dataset_id, probe_write=("noisy", "ex-2")))
    assert writer["loaded"].rev > first["loaded"].rev
    reader.run()  # the reader's next run (any widget change, a page switch)
    again = got(reader)
    assert again["loaded"].rev == writer["loaded"].rev
    assert bool(again["loaded"].dataset.tags.loc[2, "noisy"])
    assert again["coverage"] == (len(tagged) + 1, len(errors))
    assert not first["loaded"].dataset.tags.loc[2, "noisy"]  # what the old run read is kept


@pytest.mark.parametrize("page", WORKFLOW_PAGES)
def test_no_page_changes_the_shared_data(dataset_id, page):
    before = got(session(dataset_id))
    snapshot = {name: getattr(before["base"], name).copy(deep=True) for name in ("frame", "tags")}
    outcomes = before["outcomes"].copy(deep=True)
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.session_state["user_name"] = OWNER
    at.session_state["dataset_id"] = dataset_id
    assert_ok(at.run())
    after = got(session(dataset_id))
    assert after["base"] is before["base"]
    for name, frame in snapshot.items():
        pd.testing.assert_frame_equal(getattr(after["base"], name), frame)
    pd.testing.assert_frame_equal(after["outcomes"], outcomes)
