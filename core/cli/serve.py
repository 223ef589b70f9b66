"""``slicewise app``: start the web app (Streamlit), with sign-in checked before it serves.

The server runs as a child process that stops with this one (signals forwarded, and on
Linux the kernel's parent-death signal).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from slicewise.core.cli.group import DEMO_DIR, ROOT, main
from slicewise.core.cli.options import db_option

if TYPE_CHECKING:
    from slicewise.core.auth_config import ProxySettings
    from slicewise.core.store import Store


@main.command("app", context_settings={"ignore_unknown_options": True})
@db_option
@click.option("--port", type=int, default=8501, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default serves this machine only; another "
    "address (e.g. 0.0.0.0, the network) needs sign-in set up (OpenID Connect "
    "in .streamlit/secrets.toml, or --proxy-header) or --no-auth.",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve a network address without sign-in: anyone who reaches the port can "
    "read and change every project.",
)
@click.option(
    "--proxy-header",
    envvar="SLICEWISE_PROXY_HEADER",
    metavar="NAME",
    help="Sign-in by a proxy (e.g. oauth2-proxy): the request header that names the "
    "user, e.g. X-Forwarded-Email. Believed only from --trusted-proxy addresses.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="SLICEWISE_TRUSTED_PROXIES",
    metavar="ADDRESS",
    help="Address or network (CIDR) the sign-in proxy connects from; repeat or "
    "separate with commas, e.g. 127.0.0.1.",
)
@click.option("--no-demo", is_flag=True, help="Do not create the demo project on first start.")
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_command(
    db: Path | None,
    port: int,
    host: str,
    no_auth: bool,
    proxy_header: str | None,
    trusted_proxies: tuple[str, ...],
    no_demo: bool,
    streamlit_args: tuple[str, ...],
) -> None:
    """Start the Slicewise web app (Streamlit) on the demo data, on this machine only.

    Sign-in is OpenID Connect when a Streamlit secrets file has an ``[auth]`` table, or a
    trusted proxy's header with ``--proxy-header``/``--trusted-proxy``; without either, the
    app serves one user on this machine and refuses a network ``--host`` unless ``--no-auth``.
    """
    from slicewise.core.limits import max_slices as slice_cap

    given = {a.split("=")[0] for a in streamlit_args}
    if "--server.address" in given:
        raise click.UsageError("give the address with --host, not --server.address")
    if "--server.port" in given:  # else the announced address would name the wrong port
        raise click.UsageError("give the port with --port, not --server.port")
    streamlit_args, secrets = _secrets_locations(streamlit_args)
    proxy, mode = _sign_in(host, no_auth, proxy_header, trusted_proxies, secrets)
    slice_cap()  # a bad SLICEWISE_MAX_SLICES is refused here, not on every page later
    store = _open_store(db, no_demo)
    cmd = streamlit_command(port, host, streamlit_args)
    shown = "localhost" if host in LOCAL_HOSTS else host
    sign_in = {
        "oidc": "  — sign-in: OpenID Connect",
        "proxy": f"  — sign-in: proxy header {proxy.header if proxy else ''}",
        "local": ""
        if _is_loopback(host)
        else "  — no sign-in: anyone on the network can change every project",
    }[mode]
    click.echo(f"Slicewise on http://{shown}:{port}  (database: {store.path}){sign_in}", err=True)
    env = _server_env(store.path, proxy)
    raise SystemExit(_run_forwarding_signals(cmd, env=env, cwd=ROOT))


def streamlit_command(port: int, host: str, flags: Sequence[str] = ()) -> list[str]:
    """Return the command line that serves the app with Streamlit on ``host``:``port``.

    ``flags``: further ``streamlit run`` options, after the port and address (e.g.
    ``["--server.headless", "true"]``). The server is this Python's ``streamlit`` module,
    run on the app's ``app.py``; run it from the app folder (:data:`core.cli.group.ROOT`)
    with the database in ``SLICEWISE_DB``.

    Examples
    --------
    >>> streamlit_command(8501, "127.0.0.1")[-4:]
    ['--server.port', '8501', '--server.address', '127.0.0.1']
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        host,
        *flags,
    ]


def _sign_in(
    host: str,
    no_auth: bool,
    proxy_header: str | None,
    trusted_proxies: tuple[str, ...],
    secrets: list[Path],
) -> tuple[ProxySettings | None, str]:
    """Return the proxy settings and the sign-in mode; refuse a network host without sign-in.

    Raises
    ------
    click.UsageError
        ``host`` serves the network, no sign-in is set up and ``--no-auth`` is not given.
    """
    from slicewise.core import auth_config

    proxy = auth_config.read_proxy_settings(
        {
            auth_config.PROXY_HEADER_ENV: proxy_header or "",
            auth_config.TRUSTED_PROXIES_ENV: ",".join(trusted_proxies),
        }
    )
    mode = auth_config.choose_mode(oidc=auth_config.secrets_have_auth(secrets), proxy=proxy)
    if not _is_loopback(host) and mode == "local" and not no_auth:
        raise click.UsageError(
            f"--host {host} serves the network, and sign-in is not set up: anyone who reaches "
            "the port could read and change every project. Set up sign-in (an [auth] section "
            "in .streamlit/secrets.toml, or --proxy-header with --trusted-proxy), serve this "
            "machine only (the default, 127.0.0.1), or pass --no-auth to serve the network "
            "without sign-in."
        )
    return proxy, mode


def _open_store(db: Path | None, no_demo: bool) -> Store:
    """Open (or create) the store; build the demo project in an empty one unless told not to."""
    from slicewise.core.demo import create_demo_project
    from slicewise.core.store import Store

    store = Store(db)
    if store.read_only:  # the app shows it too, on every page
        click.echo(f"slicewise: warning: {store.read_only_reason}", err=True)
    elif not no_demo and store.list_datasets().empty:
        create_demo_project(store, DEMO_DIR)
    return store


def _server_env(db: Path, proxy: ProxySettings | None) -> dict[str, str]:
    """Return the server's environment: the database, and the proxy settings when given."""
    from slicewise.core import auth_config

    env = {**os.environ, "SLICEWISE_DB": str(db)}
    for name in (auth_config.PROXY_HEADER_ENV, auth_config.TRUSTED_PROXIES_ENV):
        env.pop(name, None)
    if proxy is not None:
        env[auth_config.PROXY_HEADER_ENV] = proxy.header
        env[auth_config.TRUSTED_PROXIES_ENV] = ",".join(map(str, proxy.trusted))
        # The server must see the proxy's own address, not the client address the proxy
        # writes in X-Forwarded-For (uvicorn believes it from the loopback by default).
        env[auth_config.FORWARDED_ALLOW_IPS_ENV] = ""
    return env


def _secrets_locations(streamlit_args: tuple[str, ...]) -> tuple[tuple[str, ...], list[Path]]:
    """Return the Streamlit arguments (secrets paths made absolute) and the secrets read.

    The server runs from the app folder, so a relative path is resolved here, from where
    ``slicewise app`` was started. Without ``--secrets.files`` Streamlit reads
    ``~/.streamlit/secrets.toml`` and the app folder's ``.streamlit/secrets.toml``.
    """
    from slicewise.core.auth_config import default_secrets_files

    args = list(streamlit_args)
    given: list[Path] = []
    i = 0
    while i < len(args):
        name, eq, value = args[i].partition("=")
        if name == "--secrets.files":
            if not eq:
                if i + 1 >= len(args):
                    raise click.UsageError("--secrets.files needs a path")
                i += 1
                value = args[i]
            path = Path(value).expanduser().resolve()
            given.append(path)
            args[i] = f"--secrets.files={path}" if eq else str(path)
        i += 1
    return tuple(args), given or default_secrets_files(ROOT, Path.home())


#: Addresses that serve this machine only.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """Return a pre-exec hook asking Linux to SIGTERM the child when ``parent`` dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request: stop now
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def _run_forwarding_signals(cmd: list[str], *, env: dict[str, str], cwd: Path) -> int:
    """Run ``cmd``, passing SIGTERM, SIGINT and SIGHUP on to it; return its exit code.

    Stopping ``slicewise app`` then stops the server too, instead of leaving it holding the
    port. On Linux the child also gets SIGTERM when this process dies in a way no handler
    sees (SIGKILL, a crash): the kernel's parent-death signal, ``prctl(PR_SET_PDEATHSIG)``.
    """
    child = subprocess.Popen(cmd, env=env, cwd=cwd, preexec_fn=_die_with_parent(os.getpid()))

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # the child got SIGINT as well; wait for it to finish
            continue
