"""The Streamlit command line: one builder for ``slicewise app`` and the browser tests.

``slicewise app`` is run with the server launch replaced by a recorder, so no server starts;
the expected command lines are written out by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from slicewise.core import cli
from slicewise.core.cli.serve import streamlit_command
from tests import browser

ROOT = Path(__file__).resolve().parent.parent


def _base(port: str) -> list[str]:
    app = str(ROOT / "app.py")
    return [sys.executable, "-m", "streamlit", "run", app, "--server.port", port]


@pytest.mark.parametrize(
    ("port", "host", "flags"),
    [
        (8501, "127.0.0.1", []),
        (9000, "::1", ["--server.headless", "true"]),
        (1234, "0.0.0.0", ("--theme.base=dark", "--server.maxUploadSize", "50")),
    ],
    ids=["no-flags", "list-flags", "tuple-flags"],
)
def test_streamlit_command_puts_port_address_then_the_flags(port, host, flags):
    want = [*_base(str(port)), "--server.address", host, *flags]
    assert streamlit_command(port, host, flags) == want


def test_browser_tests_serve_headless_on_loopback_without_file_watcher():
    want = [*_base("8765"), "--server.address", "127.0.0.1"]
    want += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    assert browser.streamlit_command(8765) == want


@pytest.mark.parametrize(
    ("args", "port", "host", "flags"),
    [
        ([], "8501", "127.0.0.1", []),
        (["--port", "9001", "--host", "localhost"], "9001", "localhost", []),
        (
            ["--port", "9002", "--server.headless", "true", "--theme.base=dark"],
            "9002",
            "127.0.0.1",
            ["--server.headless", "true", "--theme.base=dark"],
        ),
    ],
    ids=["defaults", "port-and-host", "streamlit-flags-passed-on"],
)
def test_app_command_launches_streamlit_with_its_port_host_and_flags(
    launched, tmp_path, args, port, host, flags
):
    db = tmp_path / "x.db"
    out = CliRunner().invoke(cli.main, ["app", "--db", str(db), "--no-demo", *args])
    assert out.exit_code == 0, out.output
    assert launched["cmd"] == [*_base(port), "--server.address", host, *flags]
    assert Path(launched["cwd"]) == ROOT
    assert launched["env"]["SLICEWISE_DB"] == str(db)
