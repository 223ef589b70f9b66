"""Real storage faults for the tests: damaged pages, read-only files and mounts, full disks.

- :func:`damage` zeroes whole pages of a store's database (the root pages of some tables)
  and leaves its 100-byte header alone, as issue 15 did with ``dd``.
- :func:`as_nobody` runs Python code as the user ``nobody`` in a child process (root, as in
  CI, ignores file modes, so a ``chmod 0444`` file is only read-only to another user).
- :func:`read_only_mount` bind-mounts a folder read-only (even root gets ``EROFS``).
- :func:`small_disk` mounts a tmpfs of a few megabytes: writes past it fail with ``ENOSPC``.

The mounts need root and a kernel that lets this process mount (true on this machine and
in CI); where they cannot be made the tests using them are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slicewise.core.dataset import ColumnMapping, Dataset, dataset_from_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
PROJECT = "faults"
USER = "ana"


def frame(rows: int = 40, *, tags: int = 1, seed: int = 0) -> pd.DataFrame:
    """Predictions of ``rows`` examples (ids ``e0000``…) with ``tags`` boolean tag columns.

    A random ``score`` column keeps the Parquet file large (about 9 bytes a row).
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(["cat", "dog", "fox"], rows)
    wrong = rng.random(rows) < 0.25
    out = pd.DataFrame(
        {
            "id": [f"e{i:04d}" for i in range(rows)],
            "label": labels,
            "prediction": np.where(wrong, np.roll(labels, 1), labels),
            "score": rng.random(rows),
        }
    )
    flags = pd.DataFrame(
        {
            f"tag_{j:03d}_with_a_name_long_enough_to_fill_pages": rng.random(rows) < 0.3
            for j in range(tags)
        }
    )
    return pd.concat([out, flags], axis=1)


def dataset(rows: int = 40, *, tags: int = 1, seed: int = 0, name: str = "pets") -> Dataset:
    """A validated :class:`core.dataset.Dataset` of :func:`frame`."""
    table = frame(rows, tags=tags, seed=seed)
    mapping = ColumnMapping(id="id", tag_columns=tuple(table.columns[4:]))
    return dataset_from_frame(table, mapping, name=f"{name}.csv")


def build(db: Path) -> dict[str, int]:
    """Make a store at ``db`` holding a dataset, a hand tag value and a report; close it."""
    with Store(db) as store:
        pid = store.get_or_create_project(PROJECT, user=USER)
        did = store.save_dataset(pid, "pets", dataset(), task=TaskSpec(), user=USER)
        store.create_tag(did, "blurry", user=USER)
        store.set_tag(did, ["e0001", "e0002"], "blurry", True, user=USER)
        rid = store.save_report(did, "md", "report.md", "# what we found\n", user=USER)
    return {"project": pid, "dataset": did, "report": rid}


def counts(db: Path) -> dict[str, int]:
    """Rows of every table, read with a plain SQLite connection (not the store).

    Read-write, so that closing it removes the ``-wal`` and ``-shm`` files it made (a
    ``mode=ro`` connection leaves them behind, owned by this user).
    """
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def files(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (relative paths, sorted; [] if it is absent)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def integrity_ok(db: Path) -> bool:
    """``PRAGMA integrity_check`` on a plain SQLite connection: ``True`` when it says ok."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def damage(db: Path, tables: tuple[str, ...] = ("datasets", "events")) -> list[int]:
    """Zero the root page of each of ``tables`` in the closed database; return the pages.

    The header (the first 100 bytes of page 1, where SQLite reads the page size and the
    schema version) and the schema (page 1) are left as they were.
    """
    conn = sqlite3.connect(db)
    try:
        roots = dict(
            conn.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").fetchall()
        )
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    pages = [int(roots[t]) for t in tables]
    assert 1 not in pages
    header = db.read_bytes()[:100]
    with open(db, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * size)
            f.write(b"\0" * size)
    assert db.read_bytes()[:100] == header
    return pages


def can_mount() -> str | None:
    """Why mounts cannot be made here (``None`` when they can)."""
    if os.geteuid() != 0:
        return "mounting needs root"
    probe = Path(tempfile.mkdtemp(prefix="sw-mount-probe-"))
    try:
        made = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)],
            capture_output=True,
            text=True,
        )
        if made.returncode:
            return f"mount is not permitted here: {made.stderr.strip()}"
        subprocess.run(["umount", str(probe)], check=True)
        return None
    finally:
        probe.rmdir()


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(path)], check=True)  # still busy: detach it


@contextmanager
def small_disk(where: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``where`` (created) for the block; skip where impossible."""
    why = can_mount()
    if why:
        pytest.skip(why)
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        _unmount(where)


@contextmanager
def read_only_mount(source: Path, where: Path) -> Iterator[Path]:
    """Bind-mount ``source`` read-only at ``where`` for the block; skip where impossible."""
    why = can_mount()
    if why:
        pytest.skip(why)
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(source), str(where)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], check=True)
        yield where
    finally:
        _unmount(where)


@contextmanager
def shared_tmp() -> Iterator[Path]:
    """A temporary folder that the user ``nobody`` can reach (pytest's are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="sw-faults-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


# Run in the child before it drops to nobody: every module it will need is loaded while
# they can be read (Python and its packages live under /root here), by one real round trip
# through a store in a folder of its own.
_WARM_UP = """
import json, os, sys, tempfile
from pathlib import Path
sys.path[:0] = [{root!r}, {tests!r}]
from click.testing import CliRunner
from slicewise.core.cli import main
from slicewise.core.store import Store
import faults
with tempfile.TemporaryDirectory() as tmp:
    faults.build(Path(tmp) / "warm.db")
    with Store(Path(tmp) / "warm.db") as warm:
        warm.load_dataset(1); warm.list_datasets(); warm.events()
    CliRunner().invoke(main, ["tag", "--db", str(Path(tmp) / "warm.db"), "--dataset", "1",
                              "--rule", "label == cat", "--tag", "warm"])
os.setgid({uid}); os.setuid({uid})
"""


def as_nobody(code: str) -> dict:
    """Run ``code`` as the user ``nobody``; return the JSON object it prints last."""
    if os.geteuid() != 0:
        pytest.skip("running as another user needs root")
    script = _WARM_UP.format(root=str(ROOT), tests=str(ROOT / "tests"), uid=NOBODY) + code
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd="/", timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
