"""The bad-input battery through the CLI and through the app's upload.

Every file of :mod:`hostile_files` (malformed, hostile or just awkward) goes through
``python -m slicewise.core.cli analyze FILE`` in a subprocess and through the *Load data* page in
AppTest. An invalid file ends in one clear message (exit code 2 and one stderr line naming
the file; ``st.error`` in the app) with nothing saved and everything saved before unchanged;
a valid one gives the right numbers. Never a traceback.

The loader's own error types and messages are tested case by case in ``test_dataset.py``
(``BAD_INPUTS``); here the same kinds of file go end to end.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from hostile_files import (
    SAME_RESULTS,
    TEST_UPLOAD_LIMIT_MB,
    check_numbers,
    params,
    summary_from_json,
    summary_from_table,
    write_all,
)
from pagetest import texts
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
LOAD_PAGE = str(ROOT / "pages" / "1_Load_data.py")
TIMEOUT = 120
USER = "Ana"

# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Run ``slicewise analyze FILE --format json`` on every file, two at a time."""
    folder = tmp_path_factory.mktemp("battery_cli")
    files = write_all(folder, "cli")

    def run(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "slicewise.core.cli", "analyze", str(path), "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = dict(zip(files, pool.map(run, files.values()), strict=True))
    return done


@pytest.mark.parametrize(("name", "make_bytes", "expected", "message", "numbers"), params("cli"))
def test_cli_battery(cli_results, name, make_bytes, expected, message, numbers):
    result = cli_results[name]
    assert "Traceback" not in result.stderr, result.stderr
    if expected == "error":
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (result.returncode, result.stderr)
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("slicewise: error: "), lines[0]
        assert name in lines[0] and message in lines[0], lines[0]
        assert result.stdout == ""
    else:
        assert result.returncode == 0, result.stderr
        notes = result.stderr.strip().splitlines()
        assert all(line.startswith("slicewise: note: ") for line in notes), result.stderr
        check_numbers(summary_from_json(json.loads(result.stdout)), numbers)


@pytest.mark.parametrize(("first", "second"), SAME_RESULTS)
def test_the_same_data_in_two_forms_gives_the_same_report(cli_results, first, second):
    a, b = (json.loads(cli_results[n].stdout) for n in (first, second))
    assert a["task"] == b["task"] == "classification"
    assert a["overall"] == b["overall"]
    assert a["slices"] == b["slices"]


# ----------------------------------------------------------------------------- the app


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    """A fresh database holding one dataset (with a tag change and a label correction)."""
    path = tmp_path / "battery.db"
    monkeypatch.setenv("SLICEWISE_DB", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "label": ["x", "y", "x", "y"],
            "prediction": ["x", "x", "x", "y"],
            "noisy": [1, 0, 1, 0],
        }
    )
    with Store(path) as store:
        project = store.get_or_create_project("Before", user="seed")
        did = store.save_dataset(
            project,
            "earlier",
            dataset_from_frame(
                frame, ColumnMapping(id="id", tag_columns=("noisy",)), name="earlier.csv"
            ),
            task=TaskSpec(),
            user="seed",
        )
        store.set_tag(did, ["b"], "noisy", True, user="seed")
        store.correct_label(did, "b", "x", user="seed", reason="typo")
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def snapshot(path: Path) -> dict:
    """Every row of every table, and every file beside the database with its hash."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out: dict = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        conn.close()
    files_dir = path.parent / f"{path.stem}_files"
    out["files"] = {
        str(p.relative_to(files_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(files_dir.rglob("*"))
        if p.is_file()
    }
    return out


def added_rows(before: dict, after: dict) -> dict:
    """What ``after`` holds beyond ``before``; fails if anything of ``before`` is gone."""
    added = {}
    for key, old in before.items():
        new = after[key]
        if isinstance(old, dict):
            assert all(new.get(k) == v for k, v in old.items()), f"{key} changed"
            added[key] = sorted(set(new) - set(old))
        else:
            assert set(old) <= set(new), f"rows of {key} changed or vanished"
            added[key] = sorted(set(new) - set(old))
    return added


def errors_of(at: AppTest) -> str:
    return texts(at.error)  # as shown: Markdown escapes undone


def upload_and_save(name: str, data: bytes) -> AppTest:
    """Upload a file on the Load data page and, if it was read, press 'Check and save'."""
    at = AppTest.from_file(LOAD_PAGE, default_timeout=TIMEOUT)
    at.session_state["user_name"] = USER
    at.run()
    mime = "application/octet-stream" if name.endswith(".parquet") else "text/csv"
    at.file_uploader(key="load_upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.label for b in at.button]
    if not at.error and "Check and save" in labels:
        at.button[labels.index("Check and save")].click().run()
        assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def upload_limit():
    """Lower the configured upload limit for the over-limit file; restore it after."""
    old = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", TEST_UPLOAD_LIMIT_MB)
    yield
    st_config.set_option("server.maxUploadSize", old)


@pytest.mark.parametrize(("name", "make_bytes", "expected", "message", "numbers"), params("app"))
def test_app_battery(db, request, name, make_bytes, expected, message, numbers):
    if name.startswith("over_upload_limit"):
        request.getfixturevalue("upload_limit")
    before = snapshot(db)
    at = upload_and_save(name, make_bytes())
    after = snapshot(db)
    if expected == "error":
        shown = errors_of(at)
        assert name in shown and message in shown, shown
        assert after == before  # nothing half-saved, nothing changed
        return
    assert not at.error, errors_of(at)
    added = added_rows(before, after)
    assert len(added["datasets"]) == 1 and added["files"], added
    with Store(db) as store:
        saved = store.list_datasets()
        did = int(saved.loc[saved["name"] == Path(name).stem, "id"].iloc[0])
        assert at.session_state["dataset_id"] == did
        info = store.dataset_info(did)
        table = analyze(store.load_dataset(did), task=info["task"])
    check_numbers(summary_from_table(table), numbers)


def test_the_upload_guard_reads_the_configured_limit(monkeypatch):
    from slicewise.ui import loading

    monkeypatch.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working folder
    st_config.get_config_options(force_reparse=True)
    configured = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit = configured["server"]["maxUploadSize"]
    assert loading.upload_limit_mb() == limit
    loading.check_upload_size("fits.csv", limit * 1024 * 1024)
    with pytest.raises(Exception, match=rf"^big\.csv: .* over the upload limit of {limit} MB"):
        loading.check_upload_size("big.csv", limit * 1024 * 1024 + 1)


def test_a_save_refused_after_reading_leaves_no_project_behind(db):
    at = AppTest.from_file(LOAD_PAGE, default_timeout=TIMEOUT)
    at.session_state["user_name"] = USER
    at.run()
    good = b"id,label,prediction\n1,a,a\n2,b,a\n"
    at.file_uploader(key="load_upload").set_value(("good.csv", good, "text/csv")).run()
    keys = [t.key for t in at.text_input]
    at.text_input(key=next(k for k in keys if k and k.endswith("_project"))).set_value(
        "Brand new project"
    )
    at.text_input(key=next(k for k in keys if k and k.endswith("_name"))).set_value("   ")
    before = snapshot(db)
    at.button[[b.label for b in at.button].index("Check and save")].click().run()
    assert not at.exception
    assert "give the dataset a name" in errors_of(at)
    assert snapshot(db) == before
