"""The sign-in settings without Streamlit: trusted proxies, the mode, secrets, identities."""

from __future__ import annotations

import ipaddress

import pytest

from slicewise.core import auth_config as ac
from slicewise.core.errors import InvalidValueError
from tests.oidc_fixture import EXAMPLE_AUTH_SECRETS as AUTH


def nets(*texts: str) -> tuple:
    return tuple(ipaddress.ip_network(t) for t in texts)


# ----------------------------------------------------------------------------- proxies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", nets("127.0.0.1/32")),
        ("127.0.0.1, 10.0.0.0/8 ::1", nets("127.0.0.1/32", "10.0.0.0/8", "::1/128")),
        (["127.0.0.1", "10.0.0.0/8,127.0.0.1"], nets("127.0.0.1/32", "10.0.0.0/8")),
        (" , ", ()),
        ("fd00::/8", nets("fd00::/8")),
    ],
)
def test_trusted_proxies_are_parsed_in_order_without_duplicates(text, expected):
    assert ac.parse_trusted_proxies(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("proxy.internal", "not host names"),
        ("localhost", "not host names"),
        ("10.0.0.5/8", "write the network address, e.g. 10.0.0.0/8"),
        ("300.1.1.1", "'300.1.1.1' is not a proxy address"),
        ("127.0.0.1;10.0.0.1", "'127.0.0.1;10.0.0.1'"),
    ],
)
def test_a_bad_proxy_address_is_refused_with_the_entry_and_the_fix(text, message):
    with pytest.raises(InvalidValueError, match="SLICEWISE_TRUSTED_PROXIES") as err:
        ac.parse_trusted_proxies(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("0.0.0.0/0", 2**32),  # every IPv4 client
        ("0.0.0.0/1", 2**31),
        ("127.0.0.1, 10.0.0.0/7", 2**25),
        ("::/0", 2**128),  # every IPv6 client
        ("::/6", 2**122),
    ],
)
def test_a_network_that_trusts_every_client_is_refused(text, addresses):
    # a trusted network holds the proxy, not the users: 0.0.0.0/0 would let anyone claim
    # to be anyone by sending the header
    with pytest.raises(InvalidValueError, match="anyone could claim") as err:
        ac.parse_trusted_proxies(text)
    assert f"{addresses:,} addresses" in str(err.value)


@pytest.mark.parametrize("text", ["10.0.0.0/8", "fc00::/7", "192.168.1.0/24"])
def test_a_private_range_or_narrower_is_accepted(text):
    assert [str(n) for n in ac.parse_trusted_proxies(text)] == [text]


@pytest.mark.parametrize(
    ("address", "trusted", "expected"),
    [
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.0.0.1", "10.0.0.0/8", False),
        ("192.0.2.1", "192.0.2.1", True),
        ("192.0.2.2", "192.0.2.1", False),
        (None, "127.0.0.1", True),  # Streamlit reports a loopback peer as None
        (None, "::1", True),
        (None, "127.0.0.0/8", True),
        (None, "10.0.0.0/8", False),
        ("::ffff:10.0.0.1", "10.0.0.0/8", True),  # an IPv4-mapped IPv6 peer
        ("fe80::1%eth0", "fe80::/10", True),  # a zone index
        ("2001:db8::1", "10.0.0.0/8", False),
        ("not an address", "10.0.0.0/8", False),
        ("10.0.0.1", "", False),
    ],
)
def test_only_peers_in_the_trusted_set_may_name_the_user(address, trusted, expected):
    assert ac.is_trusted_peer(address, ac.parse_trusted_proxies(trusted)) is expected


def test_a_peer_that_is_not_text_is_not_trusted():
    assert ac.is_trusted_peer(object(), nets("0.0.0.0/0")) is False  # type: ignore[arg-type]


def test_proxy_settings_come_from_two_environment_variables():
    env = {ac.PROXY_HEADER_ENV: " X-Forwarded-Email ", ac.TRUSTED_PROXIES_ENV: "127.0.0.1"}
    assert ac.read_proxy_settings(env) == ac.ProxySettings(
        "X-Forwarded-Email", nets("127.0.0.1/32")
    )
    assert ac.read_proxy_settings({}) is None
    assert ac.read_proxy_settings({ac.PROXY_HEADER_ENV: " ", ac.TRUSTED_PROXIES_ENV: ""}) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLICEWISE_PROXY_HEADER": "X-Forwarded-Email"}, "but no trusted proxy"),
        ({"SLICEWISE_TRUSTED_PROXIES": "127.0.0.1"}, "but no header"),
        (
            {"SLICEWISE_PROXY_HEADER": "X Email", "SLICEWISE_TRUSTED_PROXIES": "127.0.0.1"},
            "'X Email' is not a header name",
        ),
        (
            {"SLICEWISE_PROXY_HEADER": "X-Email:", "SLICEWISE_TRUSTED_PROXIES": "127.0.0.1"},
            "is not a header name",
        ),
        (
            {"SLICEWISE_PROXY_HEADER": "X-Email", "SLICEWISE_TRUSTED_PROXIES": ","},
            "names no address",
        ),
        (
            {"SLICEWISE_PROXY_HEADER": "X-Email", "SLICEWISE_TRUSTED_PROXIES": "gateway"},
            "not host names",
        ),
    ],
)
def test_half_or_malformed_proxy_settings_are_refused(env, message):
    with pytest.raises(InvalidValueError) as err:
        ac.read_proxy_settings(env)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("env", "ok"),
    [
        ({"FORWARDED_ALLOW_IPS": ""}, True),
        ({}, False),  # uvicorn's default believes X-Forwarded-For from the loopback
        ({"FORWARDED_ALLOW_IPS": "127.0.0.1"}, False),
        ({"FORWARDED_ALLOW_IPS": "*"}, False),
    ],
)
def test_proxy_mode_needs_a_server_that_ignores_x_forwarded_for(env, ok):
    if ok:
        ac.check_server_sees_proxy(env)
    else:
        with pytest.raises(InvalidValueError, match="slicewise app --proxy-header"):
            ac.check_server_sees_proxy(env)


# ----------------------------------------------------------------------------- mode


@pytest.mark.parametrize(
    ("oidc", "proxy", "mode"),
    [
        (True, None, "oidc"),
        (False, ac.ProxySettings("X-User", nets("127.0.0.1/32")), "proxy"),
        (False, None, "local"),
    ],
)
def test_the_mode_follows_what_is_configured(oidc, proxy, mode):
    assert ac.choose_mode(oidc=oidc, proxy=proxy) == mode
    assert mode in ac.SIGN_IN_MODES


def test_both_modes_at_once_are_refused():
    with pytest.raises(InvalidValueError, match="keep one"):
        ac.choose_mode(oidc=True, proxy=ac.ProxySettings("X-User", nets("127.0.0.1/32")))


# ----------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, False),
        ({"a.toml": AUTH}, True),
        ({"a.toml": 'api_key = "x"\n[db]\nurl = "y"\n'}, False),
        ({"a.toml": "[auth]\n"}, False),  # an empty table configures nothing
        ({"a.toml": "x = 1\n", "b.toml": AUTH}, True),
        ({"a.toml": '[auth.google]\nclient_id = "c"\n'}, True),  # a named provider
    ],
)
def test_oidc_is_configured_by_an_auth_table_in_a_secrets_file(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    paths = [tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "missing.toml"]
    assert ac.secrets_have_auth(paths) is expected


def test_a_kubernetes_style_secrets_folder_counts_by_its_auth_folder(tmp_path):
    assert ac.secrets_have_auth([tmp_path]) is False
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "client_id").write_text("c")
    assert ac.secrets_have_auth([tmp_path]) is True


def test_a_broken_secrets_file_is_named(tmp_path):
    bad = tmp_path / "secrets.toml"
    bad.write_text("[auth\nclient_id = 1\n", encoding="utf-8")
    with pytest.raises(InvalidValueError, match="not a valid secrets file") as err:
        ac.secrets_have_auth([bad])
    assert str(bad) in str(err.value)


def test_default_secrets_are_the_users_then_the_apps(tmp_path):
    app, home = tmp_path / "app", tmp_path / "home"
    assert ac.default_secrets_files(app, home) == [
        home / ".streamlit" / "secrets.toml",
        app / ".streamlit" / "secrets.toml",
    ]


# ----------------------------------------------------------------------------- identities


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"sub": "248289761001", "email": "ana@example.org"}, "ana@example.org"),
        ({"sub": "248289761001"}, "248289761001"),
        ({"sub": "248289761001", "email": "  "}, "248289761001"),
        ({"sub": " bob ", "email": None}, "bob"),
        ({"email": "x\ny@example.org", "sub": "s"}, "s"),  # control characters
        ({"email": "a" * 257, "sub": "s"}, "s"),  # too long
        ({"sub": 42}, None),
        ({}, None),
    ],
)
def test_the_identity_is_the_email_claim_else_sub(claims, identity):
    assert ac.identity_from_claims(claims) == identity


@pytest.mark.parametrize(
    ("headers", "identity"),
    [
        ({"x-forwarded-email": "ana@example.org"}, "ana@example.org"),  # any case
        ([("X-FORWARDED-EMAIL", " ana@example.org ")], "ana@example.org"),
        ([("X-Forwarded-Email", "a@x"), ("x-forwarded-email", "b@x")], None),  # sent twice
        ({"X-Forwarded-User": "ana"}, None),  # another header
        ({"X-Forwarded-Email": ""}, None),
        ({"X-Forwarded-Email": "ana\r\nX-Admin: 1"}, None),
        ({}, None),
    ],
)
def test_the_identity_comes_from_the_configured_header_only(headers, identity):
    assert ac.identity_from_headers(headers, "X-Forwarded-Email") == identity
