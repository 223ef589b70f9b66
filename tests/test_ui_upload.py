"""Uploading on *Load data* (ui.load_form, ui.loading): read once, kept, saved with progress.

A file is read once per upload and its table kept for the session's reruns (never pickled by
``st.cache_data``, which for 5M rows took 9 s and 1.2 GB to store and 3 s per rerun); a new
upload replaces it and removing the file drops it. *Check and save* says each step and how
many are done. Expected values are counted by hand from the small files below.
"""

from __future__ import annotations

import pytest
from pagetest import assert_ok, run_page
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.ui import load_form, loading

pytestmark = pytest.mark.usefixtures("fresh")

LOAD = "pages/1_Load_data.py"
# 3 rows; "night" is an x/blank tag column.
GOOD = b"id,label,prediction,night\n1,a,a,x\n2,b,a,\n3,a,b,x\n"
# 4 rows, another file.
OTHER = b"id,label,prediction\n1,a,a\n2,b,b\n3,a,b\n4,b,a\n"
# Row 3 (the second data row) has no label: the check refuses it.
MISSING = b"id,label,prediction,night\n1,a,a,x\n2,,a,\n3,a,b,x\n"


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The names of the files read by the page (core's reader, counted)."""
    seen: list[str] = []
    real = loading.read_table

    def counted(data, *, name):
        seen.append(name)
        return real(data, name=name)

    monkeypatch.setattr(loading, "read_table", counted)
    return seen


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="load_upload").set_value((name, data, "text/csv")).run()
    assert_ok(at)
    return at


def save_key(at: AppTest) -> str:
    keys = [b.key for b in at.button if b.key and b.key.endswith("_save")]
    assert len(keys) == 1, keys
    return keys[0]


def test_a_file_is_read_once_and_its_table_kept_for_the_reruns(reads):
    at = upload(run_page(LOAD), "good.csv", GOOD)
    kept = at.session_state[load_form.READ]
    assert (kept.name, len(kept.raw), list(kept.raw.columns)) == (
        "good.csv",
        3,
        ["id", "label", "prediction", "night"],
    )
    # Two more runs and a widget change: the same table, never read again nor copied.
    at.run()
    name_key = [t.key for t in at.text_input if t.key and t.key.endswith("_name")][0]
    at.text_input(key=name_key).set_value("renamed").run()
    assert_ok(at)
    assert at.session_state[load_form.READ] is kept
    assert reads == ["good.csv"]


def test_a_new_file_replaces_the_table_and_removing_it_drops_it(reads):
    at = upload(run_page(LOAD), "good.csv", GOOD)
    first = at.session_state[load_form.READ]
    upload(at, "other.csv", OTHER)
    second = at.session_state[load_form.READ]
    assert (second.name, len(second.raw)) == ("other.csv", 4)
    assert second.file_id != first.file_id
    assert reads == ["good.csv", "other.csv"]
    at.file_uploader(key="load_upload").set_value(None).run()
    assert_ok(at)
    assert load_form.READ not in at.session_state


@pytest.mark.parametrize("page", ["app.py", "pages/8_Balanced_splits.py", "pages/2_Tag_errors.py"])
def test_another_page_lets_the_table_go(page):
    at = run_page("app.py")
    at.switch_page(LOAD).run()
    upload(at, "good.csv", GOOD)
    at.run()  # Load data's own reruns keep it
    assert len(at.session_state[load_form.READ].raw) == 3
    at.switch_page(page).run()
    assert_ok(at)
    assert load_form.READ not in at.session_state


@pytest.mark.parametrize(
    ("data", "rows"),
    [(GOOD, 3), (OTHER, 4)],
)
def test_a_save_keeps_the_table_and_the_file_is_not_read_again(reads, fresh, data, rows):
    at = upload(run_page(LOAD), "file.csv", data)
    kept = at.session_state[load_form.READ]
    at.button(key=save_key(at)).click().run()
    assert_ok(at, no_errors=True)
    assert "Saved **file** in the project **file**" in at.success[0].value
    assert at.session_state[load_form.READ] is kept
    assert reads == ["file.csv"]
    with Store(fresh) as store:
        assert store.list_datasets()["row_count"].tolist() == [rows]


def test_a_refused_save_shows_the_step_it_stopped_at():
    at = upload(run_page(LOAD), "missing.csv", MISSING)
    at.button(key=save_key(at)).click().run()
    assert_ok(at)
    # The first of three steps (check, tag scopes, write) was running when it failed.
    bars = at.get("progress")
    assert [b.proto.text for b in bars] == ["Step 1 of 3: Checking 3 rows against the mapping"]
    assert any("Checking 3 rows against the mapping" in m.value for m in at.markdown)
    assert "missing in 1 of 3 rows" in at.error[0].value.replace("\\", "")


@pytest.mark.parametrize(
    ("tag_columns", "tags"),
    [(("night",), 1), ((), 0)],
)
def test_save_says_each_step_before_it_runs(store, tag_columns, tags):
    import pandas as pd

    frame = pd.DataFrame(
        {"id": ["1", "2", "3"], "label": ["a", "b", "a"], "prediction": ["a", "a", "b"]}
    )
    frame["night"] = ["x", "", "x"]
    dataset = dataset_from_frame(frame, ColumnMapping(id="id", tag_columns=tag_columns))
    said: list[str] = []
    options = loading.LoadOptions(label="label", prediction="prediction", id="id")
    did = loading.save(
        store, dataset, options, project="p", name="d", user="u", on_step=said.append
    )
    assert said == [
        "Finding where the file's tags are known (on every example, or on errors only)",
        f"Writing 3 examples and {tags} tags to the store",
    ]
    assert store.list_datasets()["id"].tolist() == [did]
