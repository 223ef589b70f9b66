"""A writer killed with SIGKILL mid-write leaves a sound database holding all or none of it.

Two bulk writes are killed at random moments: importing a 300,000-row dataset
(``Store.save_dataset``) and a rule tagging 100,000 examples (one ``Store.set_tag`` call).
A spawned child says when it starts the write; the parent waits a random delay (up to a bit
more than the write takes) and kills it. Afterwards ``PRAGMA integrity_check`` passes, every
dataset row has its files and every files folder its row, the killed write is there entirely
or not at all, what was saved before is unchanged, and the app opens the database.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import pickle
import random
import signal
import sqlite3
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
KILLS = 5
BIG = 300_000
RULE = 100_000
SEED = 20261123
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


@pytest.fixture(autouse=True)
def plain_main(monkeypatch):
    """A spawned child re-runs the parent's ``__main__``; AppTest leaves a page script there."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


# ----------------------------------------------------------------------------- children


def import_child(db: str, dataset_file: str, name: str, conn) -> None:
    """Save the pickled dataset as ``name``; say "start" just before the write."""
    with open(dataset_file, "rb") as fh:
        dataset = pickle.load(fh)
    store = Store(db)
    project = store.get_or_create_project("crash", user="child")
    conn.send("start")
    start = time.perf_counter()
    store.save_dataset(project, name, dataset, task=TaskSpec(), user="child")
    conn.send(("done", time.perf_counter() - start))


def rule_child(db: str, dataset_id: int, tag: str, conn) -> None:
    """Tag the first 100,000 examples with ``tag`` in one call; say "start" just before."""
    store = Store(db)
    ids = [example_id(i) for i in range(RULE)]
    conn.send("start")
    start = time.perf_counter()
    store.set_tag(dataset_id, ids, tag, True, user="child")
    conn.send(("done", time.perf_counter() - start))


def worst_moment_child(db: str, action: str, arg, conn) -> None:
    """Save (``arg``: a pickled dataset file) or delete (``arg``: its id), and die by SIGKILL
    right after the dataset's folder is moved, before the transaction commits (if it moves
    there)."""
    real_replace = os.replace

    def replace_then_die(src, dst):
        real_replace(src, dst)
        if Path(dst if action == "save" else src).name.isdigit():
            os.kill(os.getpid(), signal.SIGKILL)

    store = Store(db)
    os.replace = replace_then_die
    conn.send("start")
    if action == "save":
        with open(arg, "rb") as fh:
            dataset = pickle.load(fh)
        store.save_dataset(
            store.get_or_create_project("crash", user="child"),
            "worst",
            dataset,
            task=TaskSpec(),
            user="child",
        )
    else:
        store.delete_dataset(arg, user="child")
    conn.send(("done", 0.0))


def kill_midway(target, args: tuple, delay: float) -> tuple[bool, float]:
    """Run ``target`` in a spawned child, SIGKILL it ``delay`` s after it starts the write.

    Returns whether the child had finished the write, and how long the write took (when it
    finished) or how long it had run when killed.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(*args, child))
    proc.start()
    child.close()  # so that a child dying early is seen as an end of file, not a silence
    try:
        started = parent.poll(120)
        assert started, f"the child never started its write (exit code {proc.exitcode})"
        assert parent.recv() == "start"
        start = time.perf_counter()
        proc.join(delay)  # returns early if the child ends by itself
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
        took = time.perf_counter() - start
        proc.join(30)
        try:
            message = parent.recv() if parent.poll(0) else None
        except EOFError:
            message = None
        finished = isinstance(message, tuple) and message[0] == "done"
        assert proc.exitcode == (0 if finished and proc.exitcode == 0 else -signal.SIGKILL)
        return finished, message[1] if finished else took
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()


# ----------------------------------------------------------------------------- checks


def files_dir(db: Path) -> Path:
    return db.parent / f"{db.stem}_files"


def raw_state(db: Path) -> dict:
    """Check the database as the kill left it; return its rows (no Store code runs)."""
    conn = sqlite3.connect(db)  # opening replays or drops the WAL, as any reader would
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        datasets = {
            r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, name, row_count FROM datasets")
        }
        saves = {
            r[0] for r in conn.execute("SELECT dataset_id FROM events WHERE kind = 'dataset.save'")
        }
        overrides = dict(
            conn.execute(
                "SELECT t.name, count(o.example_id) FROM tags t LEFT JOIN "
                "tag_overrides o ON o.tag_id = t.id GROUP BY t.id"
            )
        )
        sets = dict(
            conn.execute(
                "SELECT json_extract(detail, '$.tag'), "
                "sum(json_extract(detail, '$.changed')) FROM events "
                "WHERE kind = 'tag.set' GROUP BY 1"
            )
        )
    finally:
        conn.close()
    for did, (name, rows) in datasets.items():  # no dataset row without its files
        folder = files_dir(db) / str(did)
        assert pq.read_metadata(folder / "frame.parquet").num_rows == rows, name
        assert pq.read_metadata(folder / "tags.parquet").num_rows == rows, name
        assert did in saves, name
    return {"datasets": datasets, "overrides": overrides, "sets": sets}


def orphan_folders(db: Path, datasets: dict) -> list[str]:
    """Numbered files folders that no dataset row owns."""
    folder = files_dir(db)
    return sorted(
        p.name for p in folder.iterdir() if p.name.isdigit() and int(p.name) not in datasets
    )


def fingerprint(db: Path, dataset_id: int) -> tuple:
    """Everything a user sees of a dataset: rows, tags, corrections, file hashes."""
    with Store(db) as store:
        ds = store.load_dataset(dataset_id)
        frame_hash = pd.util.hash_pandas_object(ds.frame, index=False).sum()
        tags = ds.tags.to_numpy().tobytes()
        fixes = store.corrections(dataset_id).to_numpy().tolist()
    files = sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (files_dir(db) / str(dataset_id)).iterdir()
    )
    return int(frame_hash), hashlib.sha256(tags).hexdigest(), fixes, files


def app_opens(db: Path, dataset_id: int, monkeypatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SLICEWISE_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["user_name"] = "after-crash"
        at.session_state["dataset_id"] = dataset_id
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert len(at.metric) >= 4
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


# ----------------------------------------------------------------------------- data


def example_id(i: int) -> str:
    return f"img-{i:06d}"


def big_frame(n: int = BIG) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    classes = np.array(["ok", "scratch", "dent", "stain"])
    return pd.DataFrame(
        {
            "id": [example_id(i) for i in range(n)],
            "label": classes[rng.integers(0, 4, n)],
            "prediction": classes[rng.integers(0, 4, n)],
            "blurry": rng.random(n) < 0.2,
            "camera": rng.choice(["a", "b", "c"], n),
            "note": [f"inspection note {i}" for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, float]:
    """The 300k-row dataset pickled for the children, and how long saving it takes."""
    folder = tmp_path_factory.mktemp("big")
    dataset = dataset_from_frame(
        big_frame(), ColumnMapping(id="id", tag_columns=("blurry",)), name="big.csv"
    )
    path = folder / "dataset.pickle"
    path.write_bytes(pickle.dumps(dataset))
    with Store(folder / "timing.db") as store:
        start = time.perf_counter()
        store.save_dataset(
            store.get_or_create_project("t", user="t"), "t", dataset, task=TaskSpec(), user="t"
        )
        took = time.perf_counter() - start
    return path, took


def seed_before(db: Path) -> int:
    """A small dataset with edits, saved before any crash: it must come out unchanged."""
    frame = pd.DataFrame(
        {"id": range(50), "label": ["a", "b"] * 25, "prediction": ["a"] * 50, "night": [1, 0] * 25}
    )
    with Store(db) as store:
        did = store.save_dataset(
            store.get_or_create_project("before", user="seed"),
            "before",
            dataset_from_frame(frame, ColumnMapping(id="id")),
            task=TaskSpec(),
            user="seed",
        )
        store.set_tag(did, [1, 3], "night", True, user="seed")
        store.correct_label(did, 5, "a", user="seed", reason="checked")
    return did


def delays(took: float) -> list[float]:
    rng = random.Random(SEED)
    return [rng.uniform(0.0, 1.1 * took) for _ in range(KILLS)]


# ----------------------------------------------------------------------------- tests


def test_killed_import_leaves_all_or_none(tmp_path, big, monkeypatch):
    dataset_file, _ = big
    db = tmp_path / "crash.db"
    before = seed_before(db)
    finished, took = kill_midway(import_child, (str(db), str(dataset_file), "uncut"), 120)
    assert finished  # how long a child takes for the whole write: the kills fall within
    kept = fingerprint(db, before)
    outcomes: list[str] = []
    seen: set[str] = set()
    for k, delay in enumerate(delays(took)):
        name = f"big-{k}"
        finished, _ = kill_midway(import_child, (str(db), str(dataset_file), name), delay)
        state = raw_state(db)
        saved = [did for did, (n, _) in state["datasets"].items() if n == name]
        if finished:
            assert saved, f"{name}: the child finished but the dataset is gone"
        if saved:
            assert state["datasets"][saved[0]][1] == BIG
            assert state["overrides"].get("blurry", 0) == 0
        # a kill while the Parquet files were being written leaves a staging folder
        staged = {p.name for p in files_dir(db).glob(".staging-*")}
        outcomes.append("all" if saved else "none (mid-write)" if staged - seen else "none")
        seen |= staged
        with Store(db):  # opening the store clears what a killed save left behind
            pass
        assert orphan_folders(db, raw_state(db)["datasets"]) == [], (name, delay)
    assert fingerprint(db, before) == kept
    print(f"import kills: {KILLS}, outcomes {outcomes}, a child's write takes {took:.2f}s")
    app_opens(db, before, monkeypatch)  # the sidebar lists every dataset left


def test_killed_rule_leaves_all_or_none(tmp_path, monkeypatch):
    db = tmp_path / "rule.db"
    before = seed_before(db)
    frame = big_frame(RULE + 20_000)
    with Store(db) as store:
        did = store.save_dataset(
            store.get_or_create_project("p", user="seed"),
            "rules",
            dataset_from_frame(frame, ColumnMapping(id="id")),
            task=TaskSpec(),
            user="seed",
        )
        for k in range(KILLS + 1):
            store.create_tag(did, f"rule-{k}", user="seed")
        assert frame["id"].iloc[:RULE].tolist() == [example_id(i) for i in range(RULE)]
    finished, took = kill_midway(rule_child, (str(db), did, f"rule-{KILLS}"), 120)
    assert finished
    kept = fingerprint(db, before)
    outcomes = []
    for k, delay in enumerate(delays(took)):
        tag = f"rule-{k}"
        finished, _ = kill_midway(rule_child, (str(db), did, tag), delay)
        state = raw_state(db)
        n, logged = state["overrides"][tag], state["sets"].get(tag)
        assert n in (0, RULE), (tag, n)
        assert (logged == RULE) if n else logged is None, (tag, logged)
        if finished:
            assert n == RULE
        outcomes.append("all" if n else "none")
        assert orphan_folders(db, state["datasets"]) == []
    with Store(db) as store:
        matrix = store.tag_matrix(did)
        assert [int(matrix[f"rule-{k}"].sum()) for k in range(KILLS)] == [
            RULE if o == "all" else 0 for o in outcomes
        ]
    assert fingerprint(db, before) == kept
    print(f"rule kills: {KILLS}, outcomes {outcomes}, a child's write takes {took:.2f}s")
    app_opens(db, did, monkeypatch)


def small_dataset_file(folder: Path) -> Path:
    path = folder / "small.pickle"
    path.write_bytes(pickle.dumps(dataset_from_frame(big_frame(1_000), ColumnMapping(id="id"))))
    return path


def test_a_save_killed_between_moving_its_files_and_committing(tmp_path):
    db = tmp_path / "worst.db"
    before = seed_before(db)
    kept = fingerprint(db, before)
    assert not kill_midway(
        worst_moment_child, (str(db), "save", str(small_dataset_file(tmp_path))), 30
    )[0]
    state = raw_state(db)
    assert [n for n, _ in state["datasets"].values()] == ["before"]  # none of the save
    with Store(db) as store:  # the files moved in before the kill are not left behind
        assert orphan_folders(db, state["datasets"]) == []
        assert store.list_datasets()["name"].tolist() == ["before"]
    assert fingerprint(db, before) == kept


def test_a_delete_killed_between_moving_its_files_and_committing(tmp_path):
    db = tmp_path / "worst.db"
    before = seed_before(db)
    kept = fingerprint(db, before)
    with Store(db) as store:
        doomed = store.save_dataset(
            store.get_or_create_project("p", user="seed"),
            "doomed",
            pickle.loads(small_dataset_file(tmp_path).read_bytes()),
            task=TaskSpec(),
            user="seed",
        )
    assert not kill_midway(worst_moment_child, (str(db), "delete", doomed), 30)[0]
    state = raw_state(db)  # no row without its files: all or none of the delete
    with Store(db) as store:
        left = raw_state(db)["datasets"]
        assert orphan_folders(db, left) == []
        assert not [p for p in files_dir(db).iterdir() if p.name.startswith(".deleted-")]
        if doomed in state["datasets"]:
            assert len(store.load_dataset(doomed).frame) == 1_000
    assert fingerprint(db, before) == kept
