"""`slicewise app` serves this machine only by default and stops its server when stopped.

The real command runs in a subprocess (a real Streamlit server); the tests reach it over
HTTP on the loopback and on the machine's other address.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from slicewise.core.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _other_address() -> str | None:
    """An address of this machine other than the loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def _listening(port: int) -> bool:
    """Whether a server accepts connections on the port (a closed one refuses them; binding
    would also fail on connections the server closed, left in TIME_WAIT)."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = {**os.environ, "SLICEWISE_DB": str(tmp_path / "app.db")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from core.cli import entry_point; entry_point()",
            "app",
            "--port",
            str(port),
            "--no-demo",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while not _healthy("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("slicewise app did not start")
        time.sleep(0.5)
    yield proc, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_the_app_listens_on_this_machine_only_and_stops_with_its_command(server):
    proc, port = server
    other = _other_address()
    if other is not None:
        assert not _healthy(other, port)  # not served on the network
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not _listening(port), "the Streamlit server outlived slicewise app"


def test_the_server_stops_when_its_command_is_killed(server):
    # SIGKILL reaches no handler: the kernel's parent-death signal stops the server
    proc, port = server
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not _listening(port), "the Streamlit server outlived a killed slicewise app"


@pytest.mark.parametrize("host", ["127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_a_loopback_address_is_not_the_network(host):
    from slicewise.core.cli import _is_loopback

    assert _is_loopback(host)


@pytest.mark.parametrize(
    "args",
    [["--host", "0.0.0.0"], ["--host", "192.0.2.2"], ["--host", "::"], ["--host", "example.org"]],
)
def test_serving_the_network_without_sign_in_is_refused_unless_asked(args, tmp_path):
    out = CliRunner().invoke(main, ["app", "--db", str(tmp_path / "x.db"), *args])
    assert out.exit_code == 2
    assert "sign-in is not set up" in out.output and "--no-auth" in out.output
    assert not (tmp_path / "x.db").exists()  # refused before anything was made


@pytest.mark.parametrize(
    "args, ours",
    [
        (["--server.address", "0.0.0.0"], "--host"),
        (["--server.address=0.0.0.0"], "--host"),
        (["--server.port", "8642"], "--port"),  # else "Slicewise on ...:8501" names the wrong port
        (["--server.port=8642"], "--port"),
    ],
)
def test_the_address_and_port_are_given_with_our_options_only(args, ours, tmp_path):
    out = CliRunner().invoke(main, ["app", "--db", str(tmp_path / "x.db"), *args])
    assert out.exit_code == 2 and ours in out.output
    assert not (tmp_path / "x.db").exists()
