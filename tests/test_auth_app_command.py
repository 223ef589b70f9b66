"""`slicewise app --host` serves the network only with sign-in set up (or --no-auth).

Sign-in counts when a Streamlit secrets file has an ``[auth]`` table (the user's, the app
folder's, or one given with ``--secrets.files``) or proxy sign-in is given
(``--proxy-header`` and ``--trusted-proxy``, or their environment variables). The decision
and what the server is started with are checked here with the server launch replaced by a
recorder: binding a network address in a test would expose it. The real server started
this way is driven in ``test_auth_oidc_e2e.py`` and ``test_auth_proxy_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from slicewise.core import cli
from tests.oidc_fixture import EXAMPLE_AUTH_SECRETS as AUTH


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli.main, ["app", "--db", str(tmp_path / "x.db"), "--no-demo", *args])


def test_without_sign_in_the_network_is_refused_and_says_how_to_set_it_up(launched, tmp_path):
    out = run(tmp_path, "--host", "0.0.0.0")
    assert out.exit_code == 2
    assert "sign-in is not set up" in out.output
    for hint in ("[auth]", "--proxy-header", "--no-auth"):
        assert hint in out.output
    assert not launched and not (tmp_path / "x.db").exists()


def test_oidc_secrets_given_with_secrets_files_count_as_sign_in(launched, tmp_path, monkeypatch):
    (tmp_path / "team.toml").write_text(AUTH, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a relative path: the server runs from the app folder
    out = run(tmp_path, "--host", "0.0.0.0", "--secrets.files", "team.toml")
    assert out.exit_code == 0, out.output
    assert "sign-in: OpenID Connect" in out.output
    cmd = launched["cmd"]
    assert cmd[cmd.index("--secrets.files") + 1] == str(tmp_path / "team.toml")
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0"


def test_oidc_secrets_in_the_users_streamlit_folder_count(launched, tmp_path):
    folder = tmp_path / "home" / ".streamlit"
    folder.mkdir(parents=True)
    (folder / "secrets.toml").write_text(AUTH, encoding="utf-8")
    out = run(tmp_path, "--host", "0.0.0.0")
    assert out.exit_code == 0, out.output
    assert "sign-in: OpenID Connect" in out.output


def test_a_secrets_file_without_auth_does_not_count(launched, tmp_path):
    (tmp_path / "other.toml").write_text('api_key = "x"\n', encoding="utf-8")
    out = run(tmp_path, "--host", "0.0.0.0", f"--secrets.files={tmp_path / 'other.toml'}")
    assert out.exit_code == 2 and "sign-in is not set up" in out.output


@pytest.mark.parametrize("how", ["options", "environment"])
def test_proxy_sign_in_counts_and_reaches_the_server(launched, tmp_path, monkeypatch, how):
    if how == "options":
        args = [
            "--proxy-header",
            "X-Forwarded-Email",
            "--trusted-proxy",
            "127.0.0.1",
            "--trusted-proxy",
            "10.0.0.0/8",
        ]
    else:
        args = []
        monkeypatch.setenv("SLICEWISE_PROXY_HEADER", "X-Forwarded-Email")
        monkeypatch.setenv("SLICEWISE_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")
    out = run(tmp_path, "--host", "0.0.0.0", *args)
    assert out.exit_code == 0, out.output
    assert "sign-in: proxy header X-Forwarded-Email" in out.output
    env = launched["env"]
    assert env["SLICEWISE_PROXY_HEADER"] == "X-Forwarded-Email"
    assert env["SLICEWISE_TRUSTED_PROXIES"] == "127.0.0.1/32,10.0.0.0/8"
    assert env["FORWARDED_ALLOW_IPS"] == ""  # the server sees the proxy, not X-Forwarded-For


def test_local_mode_passes_no_proxy_settings(launched, tmp_path):
    out = run(tmp_path)
    assert out.exit_code == 0, out.output
    assert "sign-in" not in out.output
    assert "SLICEWISE_PROXY_HEADER" not in launched["env"]
    assert "FORWARDED_ALLOW_IPS" not in launched["env"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proxy-header", "X-Forwarded-Email"], "but no trusted proxy"),
        (["--trusted-proxy", "127.0.0.1"], "but no header"),
        (["--proxy-header", "X-Email", "--trusted-proxy", "proxy.internal"], "not host names"),
        (["--proxy-header", "X Email", "--trusted-proxy", "127.0.0.1"], "not a header name"),
    ],
)
def test_bad_proxy_options_are_one_line_errors(launched, tmp_path, args, message):
    out = run(tmp_path, *args)
    assert out.exit_code == 2
    assert out.output.startswith("slicewise: error:") and message in out.output
    assert not launched and not (tmp_path / "x.db").exists()


def test_oidc_and_proxy_together_are_refused(launched, tmp_path):
    (tmp_path / "team.toml").write_text(AUTH, encoding="utf-8")
    out = run(
        tmp_path,
        "--secrets.files",
        str(tmp_path / "team.toml"),
        "--proxy-header",
        "X-Email",
        "--trusted-proxy",
        "127.0.0.1",
    )
    assert out.exit_code == 2 and "keep one" in out.output


def test_a_broken_secrets_file_is_named(launched, tmp_path):
    (tmp_path / "team.toml").write_text("[auth\n", encoding="utf-8")
    out = run(tmp_path, "--host", "0.0.0.0", "--secrets.files", str(tmp_path / "team.toml"))
    assert out.exit_code == 2 and "team.toml: not a valid secrets file" in out.output


def test_secrets_files_needs_a_path(launched, tmp_path):
    out = run(tmp_path, "--secrets.files")
    assert out.exit_code == 2 and "--secrets.files needs a path" in out.output
