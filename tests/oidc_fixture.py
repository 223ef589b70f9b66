"""A real OpenID Connect provider and a `slicewise app` signed in through it, for the tests.

The provider is the ``oidc-provider`` npm package (``tests/oidc/provider.mjs``), run by
Node on a free loopback port; its packages are installed with ``npm ci`` the first time
(the npm registry must be reachable then). The app is the real ``slicewise app`` command with
a throwaway database, given a ``secrets.toml`` that points Streamlit's ``st.login`` at that
provider with ``--secrets.files``. Tests needing Node are skipped, with the reason, only
where ``node`` and ``npm`` are absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import free_port

ROOT = Path(__file__).resolve().parent.parent
OIDC_DIR = ROOT / "tests" / "oidc"
NODE = shutil.which("node")
NPM = shutil.which("npm")
CLIENT_ID = "slicewise-test"
CLIENT_SECRET = "slicewise-test-secret-not-a-real-one"  # noqa: S105 - a test provider's
#: An ``[auth]`` section as a team writes it (no provider behind it: for settings checks).
EXAMPLE_AUTH_SECRETS = (
    '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
    'cookie_secret = "s"\nclient_id = "c"\nclient_secret = "x"\n'
    'server_metadata_url = "https://id.example.org/.well-known/openid-configuration"\n'
)
#: Generous: on a busy 2-core machine Streamlit takes 10-30 s to start.
START_TIMEOUT = 120

#: Marks for a module that needs Node: skipped, with the reason, only where it is absent.
NODE_MARKS = [
    pytest.mark.skipif(
        NODE is None or NPM is None,
        reason="node and npm are not installed (apt-get install "
        "nodejs npm); the OpenID Connect provider runs on Node",
    )
]


@dataclass(frozen=True)
class Provider:
    """A running test provider: its issuer URL and the app origin its client redirects to."""

    issuer: str
    app_origin: str

    @property
    def metadata_url(self) -> str:
        """The provider's discovery document."""
        return f"{self.issuer}/.well-known/openid-configuration"


def ensure_node_modules() -> None:
    """Install the provider's packages from ``package-lock.json`` if not installed yet."""
    if (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    done = subprocess.run(
        [NPM, "ci", "--no-audit", "--no-fund"],
        cwd=OIDC_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in {OIDC_DIR} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _wait_for(
    url: str, proc: subprocess.Popen, log, what: str, expect: bytes | None = None
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200 and (expect is None or r.read() == expect):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    log.seek(0)
    pytest.fail(f"{what} did not start: " + log.read().decode(errors="replace")[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def oidc_provider(app_port: int) -> Iterator[Provider]:
    """Run the test provider with one client redirecting to ``localhost:app_port``."""
    ensure_node_modules()
    port = free_port()
    app_origin = f"http://localhost:{app_port}"
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [
            NODE,
            str(OIDC_DIR / "provider.mjs"),
            str(port),
            f"{app_origin}/oauth2callback",
            CLIENT_ID,
            CLIENT_SECRET,
        ],
        cwd=OIDC_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    provider = Provider(f"http://127.0.0.1:{port}", app_origin)
    try:
        _wait_for(provider.metadata_url, proc, log, "the OpenID Connect provider")
        yield provider
    finally:
        _stop(proc)
        log.close()


def write_secrets(folder: Path, provider: Provider) -> Path:
    """Write a ``secrets.toml`` whose ``[auth]`` section signs in with ``provider``."""
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{provider.app_origin}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(24).hex()}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n'
        # Streamlit asks for prompt=select_account, which this provider does not offer.
        "[auth.client_kwargs]\n"
        'prompt = "login"\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def slicewise_app(
    db: Path, port: int, *args: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run ``slicewise app`` on ``db`` and ``port`` with extra ``args``; yield its base URL.

    The server's output goes to a file (a pipe nobody reads would block it once full) and is
    shown if it does not start. It is stopped (SIGTERM, then SIGKILL) afterwards.
    """
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from core.cli import entry_point; entry_point()",
            "app",
            "--db",
            str(db),
            "--port",
            str(port),
            *args,
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/_stcore/health", proc, log, "slicewise app", expect=b"ok")
        yield base
    finally:
        _stop(proc)
        log.close()
