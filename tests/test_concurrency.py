"""Many writers, one database: nothing is lost and every session sees the same state.

``test_store.py`` already runs four *threads* against one store; here four *processes*
(spawned, each with its own connection) hammer the same dataset, and two app sessions tag
the same example.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 4
PER_WRITER = 500
TAG = "flag"


def example_id(i: int) -> str:
    return f"ex-{i:05d}"


def writer(db: str, dataset_id: int, k: int, barrier) -> None:
    """One process: open the store, wait for the others, then 500 one-example tag changes."""
    store = Store(db)
    barrier.wait(timeout=120)
    for i in range(k * PER_WRITER, (k + 1) * PER_WRITER):
        assert store.set_tag(dataset_id, [example_id(i)], TAG, True, user=f"writer-{k}") == 1
    store.close()


@pytest.fixture
def shared_db(tmp_path) -> tuple[Path, int]:
    n = WRITERS * PER_WRITER + 100  # a few examples nobody touches
    frame = pd.DataFrame(
        {
            "id": [example_id(i) for i in range(n)],
            "label": ["a", "b"] * (n // 2),
            "prediction": ["a"] * n,
        }
    )
    path = tmp_path / "shared.db"
    with Store(path) as store:
        did = store.save_dataset(
            store.get_or_create_project("p", user="seed"),
            "d",
            dataset_from_frame(frame, ColumnMapping(id="id")),
            task=TaskSpec(),
            user="seed",
        )
        store.create_tag(did, TAG, user="seed")
    return path, did


def test_four_processes_writing_at_once_lose_no_tag_change(shared_db, monkeypatch):
    # A spawned child re-runs the parent's __main__, where an earlier AppTest leaves a page.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    path, did = shared_db
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=writer, args=(str(path), did, k, barrier)) for k in range(WRITERS)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WRITERS, "a writer failed (see its stderr)"
    elapsed = time.perf_counter() - start

    total = WRITERS * PER_WRITER
    with Store(path) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        frame_ids = store.load_dataset(did).frame["id"]
        tagged = store.tag_matrix(did)[TAG].to_numpy()
        events = store.events(did)
    assert int(tagged.sum()) == total
    assert set(frame_ids[tagged]) == {example_id(i) for i in range(total)}
    sets = events[events["kind"] == "tag.set"]
    assert len(sets) == total
    seen = {}
    for user, detail in zip(sets["user"], sets["detail"], strict=True):
        d = json.loads(detail)
        assert d["changed"] == 1 and d["tag"] == TAG
        seen[d["example_ids"][0]] = user
    assert len(seen) == total
    assert all(seen[example_id(i)] == f"writer-{i // PER_WRITER}" for i in range(total))
    assert elapsed < 240


# ----------------------------------------------------------------------------- two sessions


PAGE = str(ROOT / "pages" / "2_Tag_errors.py")


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> tuple[Path, int]:
    path = tmp_path / "app.db"
    monkeypatch.setenv("SLICEWISE_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    frame = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(12)],
            "label": ["cat", "dog", "bird"] * 4,
            "prediction": ["dog", "dog", "cat"] * 4,  # 8 errors
            "car_noise": ["x", ""] * 6,
            "people_noise": ["x"] + [""] * 11,
        }
    )
    with Store(path) as store:
        did = store.save_dataset(
            store.get_or_create_project("p", user="seed"),
            "d",
            dataset_from_frame(frame, ColumnMapping(id="id")),
            task=TaskSpec(),
            user="seed",
        )
    yield path, did
    st.cache_data.clear()
    st.cache_resource.clear()


def session(user: str, did: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["user_name"] = user
    at.session_state["dataset_id"] = did
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tick(at: AppTest, example: str, tag: str, value: bool) -> None:
    """Edit one cell of the session's tag table as it is shown now, then rerun."""
    rows = at.data_editor[0].value
    row = int(rows.index[rows["id"] == example][0])
    at.session_state[at.session_state["tag_editor_key"]] = {
        "edited_rows": {row: {tag: value}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown(at: AppTest, example: str) -> dict[str, bool]:
    rows = at.data_editor[0].value.set_index("id")
    return {t: bool(rows.at[example, t]) for t in ("car_noise", "people_noise")}


def test_two_sessions_tagging_the_same_example_agree(app_db):
    path, did = app_db
    a, b = session("Ana", did), session("Ben", did)
    example = "u3"  # an error without tags
    assert shown(a, example) == shown(b, example) == {"car_noise": False, "people_noise": False}

    tick(a, example, "people_noise", True)
    # Ben's table is stale: it still shows people_noise unticked. He ticks car_noise.
    tick(b, example, "car_noise", True)
    with Store(path) as store:
        pos = store.load_dataset(did).frame["id"].tolist().index(example)
        matrix = store.tag_matrix(did)
        events = store.events(did)
        sets = events[events["kind"] == "tag.set"]
    assert matrix.loc[pos].to_dict() == {"car_noise": True, "people_noise": True}
    assert [
        (u, json.loads(d)["tag"]) for u, d in zip(sets["user"], sets["detail"], strict=True)
    ] == [("Ana", "people_noise"), ("Ben", "car_noise")]

    # the same change from both: recorded once
    tick(a, "u9", "people_noise", True)
    tick(b, "u9", "people_noise", True)
    with Store(path) as store:
        assert (store.events(did)["kind"] == "tag.set").sum() == 3

    a.run()
    b.run()
    for at in (a, b):
        assert shown(at, example) == {"car_noise": True, "people_noise": True}
        assert shown(at, "u9")["people_noise"]
    coverage = {m.label: m.value for m in a.metric}
    assert coverage == {m.label: m.value for m in b.metric}
    assert coverage["Errors"] == "8"

    # an untick in one session is what the other sees next
    tick(b, example, "people_noise", False)
    a.run()
    assert shown(a, example) == {"car_noise": True, "people_noise": False}
