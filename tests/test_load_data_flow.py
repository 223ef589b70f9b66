"""Load data does not trap (issue 13): roles leave the tags, refusals show at once, names.

The *Load data* page is walked in Streamlit's AppTest with a small COMPAS-like file: its
0/1 columns ``is_recid``, ``two_year_recid`` and ``high_risk`` must not end up as tags once
chosen as label and prediction (or, for ``is_recid``, at all); a save goes to a new project
named after the file, not to the demo; Rename/Delete and the sidebar follow the saved
dataset; a new session opens the latest dataset. The tag-column detection the page, the
pandas loader (CLI) and the DuckDB engine share is tested on names that are and are not
proposed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pagetest import assert_ok, shown, texts
from pagetest import run_page as app
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame, detect_mapping, load_dataset
from slicewise.core.demo import DEMO_PROJECT
from slicewise.core.engine_duckdb import DuckDBFile
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

pytestmark = pytest.mark.usefixtures("fresh")

LOAD = "pages/1_Load_data.py"
FILE = "compas_small.csv"
# A COMPAS-like file: is_recid / two_year_recid are outcomes, high_risk is the model's
# prediction (score_text == High), juvenile_flag and night are real tags.
COMPAS = (
    b"id,is_recid,score_text,race,two_year_recid,high_risk,juvenile_flag,night\n"
    b"1,1,High,A,1,1,0,x\n"
    b"2,0,Low,B,0,0,1,\n"
    b"3,1,Medium,A,1,0,0,x\n"
    b"4,0,Low,B,0,0,0,\n"
    b"5,1,High,A,0,1,1,\n"
    b"6,0,Low,B,0,0,0,x\n"
    b"7,0,Medium,A,1,0,0,\n"
    b"8,1,High,B,1,1,1,\n"
)
# Boolean-like columns of COMPAS in file order, less is_recid (named is_*): what detection
# proposes before any role is chosen.
PROPOSED = ["two_year_recid", "high_risk", "juvenile_flag", "night"]


def seed(store: Store, project: str, name: str) -> int:
    """Store a three-row dataset called ``name`` in ``project``; return its id."""
    frame = pd.DataFrame({"id": [1, 2, 3], "label": list("aab"), "prediction": list("abb")})
    dataset = dataset_from_frame(frame, ColumnMapping(id="id", tag_columns=()), name=f"{name}.csv")
    pid = store.get_or_create_project(project, user="seed")
    return store.save_dataset(pid, name, dataset, task=TaskSpec(), user="seed")


def key_ending(widgets, suffix: str) -> str:
    """The key of the one widget whose key ends with ``suffix`` (form keys carry a file id)."""
    keys = [w.key for w in widgets if w.key and w.key.endswith(suffix)]
    assert len(keys) == 1, keys
    return keys[0]


def upload(at: AppTest, *, label: str | None = None, prediction: str | None = None) -> AppTest:
    """Upload the COMPAS-like file and choose the label and prediction columns."""
    at.file_uploader(key="load_upload").set_value((FILE, COMPAS, "text/csv")).run()
    assert_ok(at)
    if label:
        at.selectbox(key=key_ending(at.selectbox, "_label")).set_value(label)
    if prediction:
        at.selectbox(key=key_ending(at.selectbox, "_prediction")).set_value(prediction)
    return at.run()


def save(at: AppTest) -> AppTest:
    at.button(key=key_ending(at.button, "_save")).click().run()
    assert_ok(at)
    return at


def tag_choice(at: AppTest):
    return at.multiselect(key=key_ending(at.multiselect, "_tag_columns"))


def top_level_errors(at: AppTest) -> str:
    """The st.error boxes drawn directly in the page, not inside a status box or expander."""
    return "\n".join(shown(e) for e in at.main.children.values() if e.type == "error")


# ----------------------------------------------------------------------------- the walk


def test_roles_leave_the_tags_and_the_save_goes_to_a_new_project_named_after_the_file(store):
    demo = seed(store, DEMO_PROJECT, "demo speech")
    at = app(LOAD)  # a session that opened the demo: its dataset is the one in use
    assert at.session_state["dataset_id"] == demo

    upload(at)
    assert tag_choice(at).value == PROPOSED  # is_recid: not proposed (named is_*)
    upload(at, label="two_year_recid", prediction="high_risk")
    assert tag_choice(at).value == ["juvenile_flag", "night"]
    assert not {"two_year_recid", "high_risk"} & set(tag_choice(at).options)
    project = at.text_input(key=key_ending(at.text_input, "_project"))
    assert project.value == "compas_small"  # the file's stem, not the demo project
    assert "Creates a new project" in texts(at.caption)

    save(at)
    assert not at.error, texts(at.error)
    assert "in the project **compas_small**" in texts(at.success)
    saved = store.list_datasets()
    projects = store.list_projects().set_index("name")["id"]
    row = saved[saved["name"] == "compas_small"].iloc[0]
    did, pid = int(row["id"]), int(projects["compas_small"])
    assert int(row["project_id"]) == pid
    assert list(store.tag_matrix(did).columns) == ["juvenile_flag", "night"]
    # the sidebar and Open/Rename/Delete point at the saved dataset
    assert at.sidebar.selectbox(key="project_id").value == pid
    assert at.sidebar.selectbox(key="dataset_id").value == did
    assert at.selectbox(key="load_manage").value == did
    at.button(key="load_delete").click().run()
    assert "compas_small" in texts(at.warning) and "demo speech" not in texts(at.warning)
    at.button(key="load_delete_no").click().run()
    at.text_input(key=f"load_rename_{did}").set_value("compas v1").run()
    at.button(key="load_rename_btn").click().run()
    assert_ok(at)
    assert store.dataset_info(did)["name"] == "compas v1"
    assert store.dataset_info(demo)["name"] == "demo speech"

    fresh_session = app(LOAD)  # the latest dataset, and its project
    assert fresh_session.session_state["dataset_id"] == did
    assert fresh_session.sidebar.selectbox(key="project_id").value == pid


def test_a_taken_name_names_the_project_and_the_dataset_at_once(store):
    seed(store, "compas_small", "compas_small")
    before = store.list_datasets()
    at = upload(app(LOAD), label="two_year_recid", prediction="high_risk")
    assert "Adds to the existing project **compas_small**" in texts(at.caption)
    assert "already has a dataset named **compas_small**" in texts(at.warning)  # before saving
    # said once: saving is off until another name is typed (tests/test_load_data_names.py)
    assert at.button(key=key_ending(at.button, "_save")).disabled
    assert not at.error
    pd.testing.assert_frame_equal(store.list_datasets(), before)


@pytest.mark.parametrize(
    ("label", "prediction", "project", "expected"),
    [
        (None, "high_risk", FILE.removesuffix(".csv"), "no label column found"),
        (
            "two_year_recid",
            "two_year_recid",
            "compas_small",
            "cannot be both the label and the prediction",
        ),
        ("two_year_recid", "high_risk", "   ", "give the project a name"),
    ],
    ids=["no label", "label is the prediction", "blank project"],
)
def test_a_refused_save_shows_its_reason_at_the_top_level(
    store, label, prediction, project, expected
):
    at = upload(app(LOAD), label=label, prediction=prediction)
    at.text_input(key=key_ending(at.text_input, "_project")).set_value(project).run()
    save(at)
    shown = top_level_errors(at)
    assert FILE in shown and expected in shown, texts(at.error)
    assert store.list_datasets().empty and store.list_projects().empty


@pytest.mark.parametrize(
    "write",
    [
        lambda store, did: store.rename_dataset(did, "renamed", user="u"),
        lambda store, did: store.create_tag(did, "blurry", user="u"),
    ],
    ids=["renamed", "tagged"],
)
def test_a_new_session_opens_the_latest_dataset_and_its_project(store, write):
    older = seed(store, "Alpha", "older")
    newer = seed(store, "Beta", "newer")
    projects = store.list_projects().set_index("name")["id"]
    at = app(LOAD)
    assert at.session_state["dataset_id"] == newer  # created last
    assert at.sidebar.selectbox(key="project_id").value == projects["Beta"]
    write(store, older)  # now the older one was written last
    at = app(LOAD)
    assert at.session_state["dataset_id"] == older
    assert at.sidebar.selectbox(key="project_id").value == projects["Alpha"]


# ----------------------------------------------------------------------------- detection

VALUES = {"0/1": [1, 0, 1], "x/blank": ["x", None, "x"], "true/false": [True, False, True]}


@pytest.mark.parametrize("values", list(VALUES), ids=list(VALUES))
@pytest.mark.parametrize(
    ("name", "proposed"),
    [
        ("car_noise", True),
        ("blurry", True),
        ("Low bandwidth", True),
        ("نویز", True),  # Persian "noise": letters of any script are words
        ("🔇", True),  # no word at all: nothing says outcome
        ("juvenile_flag", True),
        ("tag_dark", True),
        ("label_flag", True),  # a tag or flag word says it is a tag, whatever else it says
        ("two_year_recid", True),  # nothing in the name says outcome: proposed until chosen
        ("is_recid", False),  # is_*: a property usually predicted, not a cause of errors
        ("isRecid", False),
        ("IS-FRAUD", False),
        ("target", False),
        ("outcome", False),
        ("two_year_outcome", False),
        ("fraud_label", False),
        ("y", False),
        ("high_prob", False),
        ("pred_positive", False),
        ("score_high", False),
        ("result", False),
    ],
)
def test_a_boolean_column_is_proposed_as_a_tag_only_when_its_name_allows(name, proposed, values):
    df = pd.DataFrame({"label": list("aba"), "prediction": list("abb"), name: VALUES[values]})
    assert (name in detect_mapping(df).tag_columns) is proposed


def test_the_app_the_pandas_loader_and_the_duckdb_engine_propose_the_same_tags(tmp_path: Path):
    path = tmp_path / FILE
    path.write_bytes(COMPAS)
    mapping = ColumnMapping(label="two_year_recid", prediction="high_risk")
    # chosen roles are not tags; is_recid is never proposed
    assert load_dataset(path, mapping).mapping.tag_columns == ("juvenile_flag", "night")
    engine = DuckDBFile(path, mapping)
    try:
        assert engine.mapping.tag_columns == ("juvenile_flag", "night")
    finally:
        engine.close()
    assert detect_mapping(pd.read_csv(path)).tag_columns == tuple(PROPOSED)


def test_a_file_with_a_tags_column_and_tag_columns_keeps_both(store):
    data = b"id,label,prediction,tags,cam3_error\n" + b"".join(
        f"{i},a,{'b' if i % 3 == 0 else 'a'},{'blurry' if i % 2 else ''},"
        f"{'x' if i % 6 == 0 else ''}\n".encode()
        for i in range(60)
    )
    at = app(LOAD)
    at.file_uploader(key="load_upload").set_value(("both.csv", data, "text/csv")).run()
    assert_ok(at)
    at.radio(key=key_ending(at.radio, "_tag_source")).set_value("Both").run()
    tag_choice(at).set_value(["cam3_error"])
    at.run()
    save(at)
    assert not at.error, texts(at.error)
    did = int(store.list_datasets()["id"].max())
    assert set(store.tag_matrix(did).columns) == {"blurry", "cam3_error"}
