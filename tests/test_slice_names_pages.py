"""The app offers the label, prediction and human-label columns to slice by under their file
names, and keeps a tag called "All data" apart from the overall row (its HLP included).
"""

from __future__ import annotations

import pytest
from pagetest import assert_ok, table_with
from pagetest import run_page as app

from slicewise.core.dataset import ColumnMapping, load_dataset
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")

SLICES = "pages/3_Slices_vs_HLP.py"
# 10 examples; the label column is true_category (see tests/test_slice_by_role_columns.py
# for the hand counts): cat 3/4 right with HLP 3/4, dog 2/3 with HLP 3/3.
TEXT = (
    "id,true_category,guess,second_opinion,site,All data\n"
    "1,cat,cat,cat,N,x\n2,cat,cat,cat,S,x\n3,cat,dog,cat,N,\n4,cat,cat,dog,S,\n"
    "5,dog,dog,dog,N,\n6,dog,cat,dog,S,x\n7,dog,dog,dog,N,\n"
    "8,bird,bird,bird,S,\n9,bird,cat,bird,N,\n10,fish,fish,,S,\n"
)


@pytest.fixture
def seeded(store) -> int:
    mapping = ColumnMapping(
        label="true_category", prediction="guess", human="second_opinion", tag_columns=("All data",)
    )
    dataset = load_dataset(TEXT.encode(), mapping, name="classes.csv")
    project = store.get_or_create_project("Test", user="seed")
    return store.save_dataset(
        project, "Classes", dataset, task=TaskSpec(kind="classification"), user="seed"
    )


def slice_rows(at):
    return table_with(at, "95% interval").set_index("slice")


def test_the_label_column_is_offered_by_its_file_name_and_gives_per_class_rows(seeded):
    at = app(SLICES, seeded)
    assert_ok(at, no_errors=True)
    options = at.multiselect(key="shared_slice_by").options
    assert options[:3] == ["true_category", "guess", "second_opinion"]
    assert "site" in options and "label" not in options
    at.multiselect(key="shared_slice_by").set_value(["true_category"]).run()
    assert_ok(at, no_errors=True)
    view = slice_rows(at)
    assert view.loc["true_category = cat", "n"] == 4
    assert view.loc["true_category = cat", "accuracy"] == pytest.approx(75.0)
    assert view.loc["true_category = dog", "accuracy"] == pytest.approx(200 / 3)
    assert view.loc["true_category = cat", "kind"] == "column"


def test_a_tag_called_all_data_is_its_own_row_with_its_own_hlp(seeded, store):
    store.set_tag_settings(seeded, "All data", user="seed", hlp=0.8)
    at = app(SLICES, seeded)
    assert_ok(at, no_errors=True)
    view = slice_rows(at)
    assert view.loc["All data", "kind"] == "overall" and view.loc["All data", "n"] == 10
    tag = view.loc["All data (tag)"]
    assert tag["kind"] == "tag" and tag["n"] == 3  # rows 1, 2, 6
    assert tag["HLP"] == pytest.approx(80.0) and tag["HLP source"] == "entered"
    assert view.loc["All data", "HLP source"] != "entered"
    # the HLP input of the tag shows the entered value
    key = next(n.key for n in at.number_input if n.key.endswith("_All data"))
    assert at.number_input(key=key).value == pytest.approx(80.0)


@pytest.mark.parametrize("page", ["pages/4_Prioritise.py", "pages/5_Export.py", "app.py"])
def test_other_pages_render_with_a_tag_called_all_data(seeded, page):
    at = app(page, seeded, shared_slice_by=["true_category"])
    assert_ok(at, no_errors=True)


# ----------------------------------------------------------------------------- no slices

PAGES = [
    "app.py",
    "pages/3_Slices_vs_HLP.py",
    "pages/4_Prioritise.py",
    "pages/5_Export.py",
    "pages/9_Suggested_slices.py",
    "pages/7_Compare_iterations.py",
]


@pytest.fixture
def bare(store) -> int:
    """Two examples, no tag, no metadata: every table has the All data row only."""
    dataset = load_dataset(b"id,label,prediction\n1,a,a\n2,b,a\n", name="before.csv")
    project = store.get_or_create_project("Bare", user="seed")
    return store.save_dataset(
        project, "Before", dataset, task=TaskSpec(kind="classification"), user="seed"
    )


@pytest.mark.parametrize("page", PAGES)
def test_pages_work_with_no_tag_and_no_column_to_slice_by(bare, page):
    at = app(page, bare)
    assert_ok(at, no_errors=True)


def test_compare_page_with_no_slices(bare, store):
    from slicewise.core.analysis import analyze

    after = load_dataset(b"id,label,prediction\n1,a,a\n2,b,b\n", name="after.csv")
    project = int(store.dataset_info(bare)["project_id"])
    after_id = store.save_dataset(
        project, "After", after, task=TaskSpec(kind="classification"), user="seed"
    )
    for dataset_id in (bare, after_id):
        store.save_iteration(
            project,
            dataset_id,
            model_name="m",
            table=analyze(store.load_dataset(dataset_id)),
            user="seed",
        )
    at = app("pages/7_Compare_iterations.py", after_id)
    assert_ok(at, no_errors=True)
    view = table_with(at, "verdict").set_index("slice")
    assert list(view.index) == ["All data"]
    assert view.loc["All data", ["accuracy before", "accuracy after"]].tolist() == [50.0, 100.0]
    assert view.loc["All data", "p-value"] == 1.0  # McNemar: b = 0, c = 1
