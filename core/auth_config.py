"""How the app knows who is there: the sign-in settings, without Streamlit.

Three sign-in modes (:data:`SIGN_IN_MODES`), chosen by :func:`choose_mode`:

- ``"oidc"``: Streamlit's built-in OpenID Connect (``st.login``), configured by an ``[auth]``
  table in a Streamlit secrets file (:func:`secrets_have_auth`). The identity is the user's
  ``email`` claim, else ``sub`` (:func:`identity_from_claims`).
- ``"proxy"``: a reverse proxy that signs users in (e.g. oauth2-proxy) puts the identity in a
  request header, ``$SLICEWISE_PROXY_HEADER``; it is believed only when the connection comes
  from an address in ``$SLICEWISE_TRUSTED_PROXIES`` (:func:`read_proxy_settings`,
  :func:`is_trusted_peer`, :func:`identity_from_headers`), by a server that sees the
  proxy's own address (:func:`check_server_sees_proxy`).
- ``"local"``: no sign-in; the name typed in the sidebar (one user on this machine).

The Streamlit side is :mod:`ui.auth`; the ``slicewise app`` command uses
:func:`secrets_have_auth` and :func:`read_proxy_settings` to decide whether sign-in is set up.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from slicewise.core.errors import InvalidValueError

#: Environment variable naming the header that carries the identity in proxy mode.
PROXY_HEADER_ENV = "SLICEWISE_PROXY_HEADER"
#: Environment variable with the proxies' addresses or networks, comma-separated.
TRUSTED_PROXIES_ENV = "SLICEWISE_TRUSTED_PROXIES"
#: The sign-in modes, see the module docstring.
SIGN_IN_MODES = ("oidc", "proxy", "local")
#: uvicorn's setting (Streamlit's web server) of the peers whose X-Forwarded-For it believes.
FORWARDED_ALLOW_IPS_ENV = "FORWARDED_ALLOW_IPS"
#: Longest identity accepted from a header or a token, in characters.
MAX_IDENTITY_LENGTH = 256

SignInMode = Literal["oidc", "proxy", "local"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# A header field name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOOPBACK_PEERS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ProxySettings:
    """Trusted-proxy sign-in: which header names the user, and which peers may set it.

    Attributes
    ----------
    header
        The request header holding the signed-in identity (e.g. ``X-Forwarded-Email``).
    trusted
        The networks the proxy connects from; a single address is a /32 (or /128) network.
    """

    header: str
    trusted: tuple[Network, ...]


def parse_trusted_proxies(
    text: str | Iterable[str], *, source: str = TRUSTED_PROXIES_ENV
) -> tuple[Network, ...]:
    """Parse proxy addresses and networks (``"127.0.0.1, 10.0.0.0/8, ::1"``).

    Parameters
    ----------
    text
        Comma- or space-separated IPv4/IPv6 addresses and CIDR networks, or several such
        strings (one per ``--trusted-proxy`` option).
    source
        Where the text came from, named in error messages.

    Returns
    -------
    tuple of ipaddress networks
        In the order given, duplicates dropped.

    Raises
    ------
    InvalidValueError
        An entry is not an address or network (host names are not accepted: a proxy is
        trusted by the address it connects from), a network has host bits set
        (``10.0.0.5/8``: write ``10.0.0.0/8``), or a network is wider than a /8 (IPv4) or
        /7 (IPv6), such as ``0.0.0.0/0``, which would trust every client.

    Examples
    --------
    >>> [str(n) for n in parse_trusted_proxies("127.0.0.1, 10.0.0.0/8")]
    ['127.0.0.1/32', '10.0.0.0/8']
    """
    parts = [text] if isinstance(text, str) else list(text)
    networks: list[Network] = []
    for part in parts:
        for entry in re.split(r"[,\s]+", part.strip()):
            if not entry:
                continue
            try:
                network = ipaddress.ip_network(entry, strict=True)
            except ValueError as exc:
                hint = (
                    "write the network address, e.g. 10.0.0.0/8"
                    if "host bits" in str(exc)
                    else "give IP addresses or networks such as 127.0.0.1 or 10.0.0.0/8, "
                    "not host names"
                )
                raise InvalidValueError(
                    f"{source}: {entry!r} is not a proxy address ({hint})"
                ) from None
            if _too_wide(network):
                raise InvalidValueError(
                    f"{source}: {entry!r} trusts {network.num_addresses:,} addresses: the "
                    "header would be believed from any client there, so anyone could claim "
                    "to be anyone; give the proxy's own addresses (at most a /8 IPv4 or "
                    "/7 IPv6 network)"
                )
            if network not in networks:
                networks.append(network)
    return tuple(networks)


def _too_wide(network: Network) -> bool:
    # A trusted network is where the proxy runs, not where users are: wider than a private
    # range (10.0.0.0/8 in IPv4, fc00::/7 in IPv6) is a mistake such as 0.0.0.0/0 that
    # trusts every client.
    return network.prefixlen < (8 if network.version == 4 else 7)


def is_trusted_peer(address: str | None, trusted: Iterable[Network]) -> bool:
    """Whether a connection from ``address`` may set the identity header.

    Parameters
    ----------
    address
        The peer's IP address as ``st.context.ip_address`` reports it; ``None`` is a loopback
        peer (Streamlit reports 127.0.0.1 and ::1 as ``None``), trusted when 127.0.0.1 or ::1
        is. An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is checked as its IPv4 address.
    trusted
        Networks from :func:`parse_trusted_proxies`.

    Returns
    -------
    bool
        False for an unparseable address or an empty trusted set.
    """
    trusted = tuple(trusted)
    candidates = _LOOPBACK_PEERS if address is None else (address,)
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        try:
            ip = ipaddress.ip_address(candidate.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip.version == net.version and ip in net for net in trusted):
            return True
    return False


def check_header_name(name: str, *, source: str = PROXY_HEADER_ENV) -> str:
    """Return the header name stripped, or raise if it cannot be a header name.

    Raises
    ------
    InvalidValueError
        Empty, or holding characters not allowed in a header name (spaces, colons…).
    """
    name = name.strip()
    if not _HEADER_NAME.fullmatch(name):
        raise InvalidValueError(
            f"{source}: {name!r} is not a header name; give one such as X-Forwarded-Email"
        )
    return name


def read_proxy_settings(environ: Mapping[str, str]) -> ProxySettings | None:
    """Read proxy mode from ``$SLICEWISE_PROXY_HEADER`` and ``$SLICEWISE_TRUSTED_PROXIES``.

    Returns
    -------
    ProxySettings or None
        None when neither variable is set (or both are blank).

    Raises
    ------
    InvalidValueError
        Only one of the two is set (a header without trusted proxies would be believed from
        nobody; trusted proxies without a header name nothing), or either is malformed.
    """
    header = environ.get(PROXY_HEADER_ENV, "").strip()
    trusted_text = environ.get(TRUSTED_PROXIES_ENV, "").strip()
    if not header and not trusted_text:
        return None
    if not trusted_text:
        raise InvalidValueError(
            f"a proxy header is given ({header!r}: --proxy-header or {PROXY_HEADER_ENV}) but "
            f"no trusted proxy: give the addresses the proxy connects from (--trusted-proxy "
            f"or {TRUSTED_PROXIES_ENV}), e.g. 127.0.0.1"
        )
    if not header:
        raise InvalidValueError(
            f"trusted proxies are given (--trusted-proxy or {TRUSTED_PROXIES_ENV}) but no "
            f"header: give the header the proxy puts the user in (--proxy-header or "
            f"{PROXY_HEADER_ENV}), e.g. X-Forwarded-Email"
        )
    trusted = parse_trusted_proxies(trusted_text)
    if not trusted:
        raise InvalidValueError(f"{TRUSTED_PROXIES_ENV} names no address")
    return ProxySettings(check_header_name(header), trusted)


def check_server_sees_proxy(environ: Mapping[str, str]) -> None:
    """Check that the web server reports the proxy's own address, not X-Forwarded-For.

    Streamlit's server (uvicorn) replaces the peer address with the ``X-Forwarded-For``
    header of a loopback peer unless ``$FORWARDED_ALLOW_IPS`` is set, and empty, in its
    environment; the proxy check would then test an address the request itself claims.
    ``slicewise app`` sets it in proxy mode.

    Raises
    ------
    InvalidValueError
        ``$FORWARDED_ALLOW_IPS`` is unset or not empty.
    """
    if environ.get(FORWARDED_ALLOW_IPS_ENV) != "":
        raise InvalidValueError(
            f"proxy sign-in needs the server to see the proxy's own address: start the app "
            f"with `slicewise app --proxy-header ... --trusted-proxy ...`, or set "
            f"{FORWARDED_ALLOW_IPS_ENV} to an empty value for `streamlit run`"
        )


def secrets_have_auth(paths: Iterable[Path]) -> bool:
    """Whether any Streamlit secrets location configures OpenID Connect (an ``[auth]`` table).

    Parameters
    ----------
    paths
        Secrets locations as Streamlit's ``secrets.files`` option lists them: TOML files, or
        Kubernetes-style folders (one sub-folder per table). Missing ones are skipped.

    Returns
    -------
    bool
        True when a file has a non-empty ``auth`` table, or a folder an ``auth`` sub-folder.

    Raises
    ------
    InvalidValueError
        A secrets file is not valid TOML (the message names the file and the parser's line).
    """
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            if (path / "auth").is_dir():
                return True
            continue
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidValueError(f"{path}: not a valid secrets file ({exc})") from None
        auth = data.get("auth")
        if isinstance(auth, dict) and auth:
            return True
    return False


def default_secrets_files(app_dir: Path, home: Path) -> list[Path]:
    """Where Streamlit looks for secrets when ``secrets.files`` is not given.

    The user's ``~/.streamlit/secrets.toml``, then the app folder's
    ``.streamlit/secrets.toml`` (``slicewise app`` runs Streamlit from the app folder).
    """
    return [home / ".streamlit" / "secrets.toml", app_dir / ".streamlit" / "secrets.toml"]


def choose_mode(*, oidc: bool, proxy: ProxySettings | None) -> SignInMode:
    """Choose the sign-in mode from what is configured.

    Raises
    ------
    InvalidValueError
        Both OpenID Connect and proxy mode are configured: which one names the user would be
        ambiguous.
    """
    if oidc and proxy is not None:
        raise InvalidValueError(
            f"both OpenID Connect ([auth] in secrets.toml) and proxy sign-in ({PROXY_HEADER_ENV})"
            " are configured; keep one"
        )
    if oidc:
        return "oidc"
    return "proxy" if proxy is not None else "local"


def clean_identity(value: object) -> str | None:
    """Return an identity stripped, or None if blank, too long or holding control characters."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > MAX_IDENTITY_LENGTH or _CONTROL.search(value):
        return None
    return value


def identity_from_claims(claims: Mapping[str, object]) -> str | None:
    """Return the identity in OpenID Connect claims: ``email``, else ``sub``.

    Examples
    --------
    >>> identity_from_claims({"sub": "248289761001", "email": "ana@example.org"})
    'ana@example.org'
    >>> identity_from_claims({"sub": "248289761001"})
    '248289761001'
    """
    return clean_identity(claims.get("email")) or clean_identity(claims.get("sub"))


def identity_from_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], header: str
) -> str | None:
    """Return the identity in request header ``header`` (name matched case-insensitively).

    Parameters
    ----------
    headers
        The request headers: a mapping, or ``(name, value)`` pairs where a name may repeat.
    header
        The header to read (:attr:`ProxySettings.header`).

    Returns
    -------
    str or None
        None when the header is absent, given more than once (which value the proxy set
        would be unclear), blank, longer than :data:`MAX_IDENTITY_LENGTH` or holding control
        characters. Call only for a trusted peer (:func:`is_trusted_peer`).
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    wanted = header.lower()
    values = [value for name, value in pairs if str(name).lower() == wanted]
    return clean_identity(values[0]) if len(values) == 1 else None
