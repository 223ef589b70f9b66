"""Who is there: OpenID Connect sign-in, a trusted proxy's header, or the name typed locally.

:func:`who_is_there` is called by the sidebar (:func:`ui.sidebar.sidebar`) on every run. The
mode comes from the configuration (:func:`core.auth_config.choose_mode`):

- ``"oidc"``: an ``[auth]`` table in Streamlit's secrets. Until ``st.user.is_logged_in``, the
  page shows a sign-in screen whose button calls ``st.login()``, and stops.
- ``"proxy"``: ``$SLICEWISE_PROXY_HEADER`` and ``$SLICEWISE_TRUSTED_PROXIES`` (set by
  ``slicewise app --proxy-header/--trusted-proxy``). The identity is read from the header only
  when the connection comes from a trusted proxy; otherwise the page refuses and stops.
- ``"local"``: no sign-in; the sidebar's typed name is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from slicewise.core.auth_config import (
    ProxySettings,
    SignInMode,
    check_server_sees_proxy,
    choose_mode,
    identity_from_claims,
    identity_from_headers,
    is_trusted_peer,
    read_proxy_settings,
)
from slicewise.core.errors import DataError
from slicewise.ui.text import code, md


@dataclass(frozen=True)
class SignIn:
    """The sign-in mode and, when signed in, who.

    Attributes
    ----------
    mode
        ``"oidc"``, ``"proxy"`` or ``"local"``.
    identity
        The signed-in user (OpenID Connect ``email`` or ``sub``, or the proxy's header);
        ``None`` in local mode, where the typed name is used.
    """

    mode: SignInMode
    identity: str | None = None


def oidc_configured() -> bool:
    """Whether Streamlit's secrets hold an ``[auth]`` table (OpenID Connect sign-in)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all (StreamlitSecretNotFoundError)
        return False


def who_is_there() -> SignIn:
    """Return who uses this session; nobody signed in gets a sign-in or refusal screen.

    That screen stops the page (``st.stop``). A configuration error (both modes configured,
    a malformed proxy setting) is shown with ``st.error`` and stops the page too: without
    a valid configuration nobody can be named.
    """
    try:
        proxy = read_proxy_settings(os.environ)
        mode = choose_mode(oidc=oidc_configured(), proxy=proxy)
        if mode == "proxy":
            check_server_sees_proxy(os.environ)
    except DataError as exc:
        st.error(f"Sign-in is misconfigured: {md(exc)}", icon=":material/error:")
        st.stop()
    if mode == "oidc":
        return SignIn("oidc", _oidc_identity())
    if mode == "proxy":
        assert proxy is not None
        return SignIn("proxy", _proxy_identity(proxy))
    return SignIn("local")


def _oidc_identity() -> str:
    claims = st.user.to_dict()  # before any sign-in it may lack even "is_logged_in"
    if claims.get("is_logged_in") is not True:
        _sign_in_screen()
    identity = identity_from_claims(claims)
    if identity is None:
        st.error(
            "The sign-in provider named no user (no email or sub claim). Ask whoever "
            "runs this server to request the `openid email` scopes.",
            icon=":material/error:",
        )
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()
    return identity


def _sign_in_screen() -> None:
    st.title("Sign in to Slicewise")
    st.markdown(
        "This Slicewise server is shared by a team: sign in to see and change its "
        "projects. Every change you make is saved under your name."
    )
    st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
    st.stop()


def _proxy_identity(proxy: ProxySettings) -> str:
    peer = st.context.ip_address
    if not is_trusted_peer(peer, proxy.trusted):
        where = (
            md(peer)
            if isinstance(peer, str)
            else "this machine"
            if peer is None
            else "an unknown address"
        )
        st.title("Sign-in refused")
        st.error(
            f"This server accepts users only through its sign-in proxy, and this "
            f"connection came from {where}, which is not one. Use the address your team "
            "was given.",
            icon=":material/block:",
        )
        st.stop()
    headers = st.context.headers
    pairs = [(name, value) for name in headers for value in headers.get_all(name)]
    identity = identity_from_headers(pairs, proxy.header)
    if identity is None:
        st.title("Sign-in refused")
        st.error(
            f"The sign-in proxy sent no user in the {code(proxy.header)} header (or sent "
            "it more than once). Ask whoever runs this server to check the proxy's "
            "settings.",
            icon=":material/block:",
        )
        st.stop()
    return identity
