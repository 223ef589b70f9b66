"""The pages on a damaged, read-only or full store: a message and what to do, never a traceback.

Issue 15: a full disk showed Streamlit's redacted error on upload and a raw
``sqlite3.OperationalError`` when a report was saved; a damaged database raised a raw
``DatabaseError``. Every page is run in AppTest on real faults (see ``tests/faults.py``).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from faults import build, counts, damage, dataset, read_only_mount, small_disk
from pagetest import ROOT, run_page, shown

from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui import export, state

ALL_PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]
LOAD, EXPORT = "pages/1_Load_data.py", "pages/5_Export.py"


def errors(at) -> str:
    return "\n".join(shown(e) for e in at.error)


def warnings(at) -> str:
    return "\n".join(shown(e) for e in at.warning)


def captions(at) -> str:
    return "\n".join(shown(e) for e in at.caption)


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_on_a_damaged_store_says_so_and_how_to_recover(fresh, page):
    ids = build(fresh)
    damage(fresh)  # the datasets and events tables: the sidebar cannot list the datasets
    at = run_page(page, ids["dataset"])
    assert not at.exception, [e.value for e in at.exception]
    text = errors(at)
    assert "damaged" in text and ".recover" in text and "restore a backup" in text, text
    assert "DatabaseError" not in text


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_on_a_read_only_store_shows_the_banner_and_no_traceback(
    fresh, tmp_path, monkeypatch, page
):
    ids = build(tmp_path / "disk" / "sw.db")
    with read_only_mount(tmp_path / "disk", tmp_path / "ro") as ro:
        monkeypatch.setenv("SLICEWISE_DB", str(ro / "sw.db"))
        at = run_page(page, ids["dataset"])
        assert not at.exception, [e.value for e in at.exception]
        assert "is open read-only" in warnings(at) and "read-only file system" in warnings(at)
        state._open_store.clear()  # let go of the mount


def test_write_controls_on_a_read_only_store_say_why(fresh, tmp_path, monkeypatch):
    ids = build(tmp_path / "disk" / "sw.db")
    with read_only_mount(tmp_path / "disk", tmp_path / "ro") as ro:
        monkeypatch.setenv("SLICEWISE_DB", str(ro / "sw.db"))
        at = run_page(LOAD, ids["dataset"])
        demo = at.button(key="load_open_demo")  # creating the demo would write
        assert demo.disabled and "read-only" in demo.help
        for key in ("load_delete", "load_rename_btn"):
            assert at.button(key=key).disabled and "read-only" in at.button(key=key).help
        at = run_page(EXPORT, ids["dataset"])
        assert "not kept in the project" in captions(at) and "read-only" in captions(at)
        state._open_store.clear()


def test_saving_a_report_on_a_full_database_shows_the_message(fresh):
    with Store(fresh) as store:  # 300 tags: a report of many pages
        pid = store.get_or_create_project("faults", user="ana")
        did = store.save_dataset(pid, "wide", dataset(tags=300), task=TaskSpec(), user="ana")
    before = counts(fresh)
    at = run_page(EXPORT, did)
    store = state.get_store()  # the store the page uses (one per path, cached)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")  # it may not grow by a page
    at.download_button(key="export_html").click().run()  # downloading saves a copy
    assert not at.exception, [e.value for e in at.exception]
    text = errors(at)
    assert "is full" in text and "nothing was saved" in text, text
    store.close()
    assert counts(fresh) == before


def test_uploading_to_a_full_disk_shows_the_message(fresh, tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    n = 60_000  # about 2 MB of CSV, 1 MB of Parquet: more than the disk has left
    labels = rng.choice(["cat", "dog"], n)
    table = pd.DataFrame(
        {
            "id": np.arange(n),
            "label": labels,
            "prediction": labels,
            "score": rng.random(n),
            "other": rng.random(n),
        }
    )
    data = table.to_csv(index=False).encode()
    with small_disk(tmp_path / "disk", "3m") as disk:
        db = disk / "sw.db"
        ids = build(db)
        before = counts(db)
        monkeypatch.setenv("SLICEWISE_DB", str(db))
        at = run_page(LOAD, ids["dataset"])
        at.file_uploader(key="load_upload").set_value(("big.csv", data, "text/csv")).run()
        assert not at.exception, [e.value for e in at.exception]
        room = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        (disk / "filler").write_bytes(b"\0" * max(room - 256 * 1024, 0))  # 256 KB left
        save = next(b for b in at.button if b.key and b.key.endswith("_save"))
        save.click().run()
        assert not at.exception, [e.value for e in at.exception]
        text = errors(at)
        assert "the disk holding" in text and "is full" in text, text
        assert any("Nothing was saved" in str(s.label) for s in at.status)
        state._open_store.clear()
        after = counts(db)
        # the new project is made (and committed) before the dataset: it stays, empty
        assert after["projects"] == before["projects"] + 1
        assert {k: v for k, v in after.items() if k not in ("projects", "events", "members")} == {
            k: v for k, v in before.items() if k not in ("projects", "events", "members")
        }
        assert sorted(p.name for p in (disk / "sw_files").iterdir()) == ["1"]


@pytest.mark.parametrize("table", ["tag_changes", "reports"])
def test_the_export_page_on_a_store_damaged_elsewhere_still_downloads(fresh, table):
    # Damage the sidebar does not read: the page opens with the banner and still works.
    ids = build(fresh)
    damage(fresh, (table,))
    at = run_page(EXPORT, ids["dataset"])
    assert not at.exception, [e.value for e in at.exception]
    assert "damaged" in errors(at) and ".recover" in errors(at)
    labels = [b.label for b in at.download_button]
    assert labels[:4] == [label for _, label, _ in export.FORMATS]
    assert ("Download" in labels) == (table != "reports")  # saved reports: read if intact
