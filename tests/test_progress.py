"""The progress line (core/progress.py): drawn on a terminal, silent in a pipe.

The terminal is a real pseudo-terminal (``pty``): a child process whose standard error is
its slave end reports progress, and the master end reads what a user would see. The pipe
case runs the same child with standard error piped: nothing may be written.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from slicewise.core.progress import ProgressLine

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
from slicewise.core.progress import ProgressLine
with ProgressLine("slicewise: preds.csv", interval=0) as progress:
    for done in (250_000, 500_000, 750_000, 1_000_000):
        progress(done, 1_000_000)
    for done in (400_000, 1_000_000):  # a second pass over the data
        progress(done, 1_000_000)
print("done")
"""


def run_child(stderr) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=ROOT,
        timeout=120,
        check=True,
    )


def read_terminal(columns: int = 0) -> tuple[subprocess.CompletedProcess, str]:
    """Run the child on a pseudo-terminal (``columns`` wide when given); return what shows."""
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        result = run_child(slave)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child is gone and the terminal drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return result, seen.decode()


def test_on_a_terminal_the_line_says_rows_read_of_total_and_batches():
    result, text = read_terminal()
    assert result.stdout == b"done\n"
    # Hand-written expectations: each call is one batch; 250,000 of 1,000,000 is 25%.
    assert "slicewise: preds.csv: 250,000 of 1,000,000 rows read (25%), 1 batch counted" in text
    assert "1,000,000 of 1,000,000 rows read (100%), 4 batches counted" in text
    assert "pass 2: 400,000 of 1,000,000 rows read (40%), 1 batch counted" in text
    assert "\r" in text  # redrawn in place
    assert text.endswith("\r")  # and cleared at the end, so output starts on a clean line


@pytest.mark.parametrize("stderr", [subprocess.PIPE, subprocess.DEVNULL])
def test_in_a_pipe_nothing_is_written(stderr):
    result = run_child(stderr)
    assert result.stdout == b"done\n"
    if stderr == subprocess.PIPE:
        assert result.stderr == b""


@pytest.mark.parametrize(
    ("done", "total", "line"),
    [
        (0, 10, "w: 0 of 10 rows read (0%), 1 batch counted"),
        (5, None, "w: 5 rows read, 1 batch counted"),
        (1234567, 2469134, "w: 1,234,567 of 2,469,134 rows read (50%), 1 batch counted"),
    ],
)
def test_the_line_of_a_count(done, total, line):
    stream = io.StringIO()
    progress = ProgressLine("w", stream, interval=0, enabled=True)
    progress(done, total)
    assert stream.getvalue() == "\r" + line
    progress.close()
    assert stream.getvalue().endswith("\r" + " " * len(line) + "\r")


def test_a_stream_that_is_no_terminal_gets_nothing_and_phases_too():
    stream = io.StringIO()  # isatty() is False
    progress = ProgressLine("w", stream, interval=0)
    progress(1, 2)
    progress.phase("reading f.csv")
    progress.close()
    assert not progress.enabled and stream.getvalue() == ""


def test_redraws_are_throttled_but_the_last_of_a_pass_is_drawn():
    stream = io.StringIO()
    progress = ProgressLine("w", stream, interval=3600, enabled=True)
    for done in range(1, 11):
        progress(done, 10)
    drawn = stream.getvalue().split("\r")[1:]
    # The first call draws (nothing drawn yet), then only the last of the pass.
    assert [d.split(" rows")[0] for d in drawn] == ["w: 1 of 10", "w: 10 of 10"]
    assert drawn[-1].startswith("w: 10 of 10 rows read (100%), 10 batches counted")


@pytest.mark.parametrize("columns", [40, 60])
def test_a_line_never_wraps_a_narrow_terminal_and_keeps_its_counts(columns):
    # A wrapped line leaves stale lines above the output ("\r" redraws only its last row).
    _, text = read_terminal(columns)
    drawn = [part.rstrip(" ") for part in text.split("\r") if part.strip()]
    assert drawn and all(len(part) <= columns - 1 for part in drawn)
    # The counts (the end of the line) survive; the label is what is cut.
    counts = "rows read (40%), 1 batch counted"
    assert any(part.endswith(counts) for part in drawn)
    assert any(part.startswith("…") for part in drawn)
