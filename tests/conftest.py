"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest
import streamlit as st

from slicewise.core.store import Store


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty database per test and no cached data or store from an earlier test."""
    db = tmp_path / "slicewise.db"
    monkeypatch.setenv("SLICEWISE_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store(fresh) -> Store:
    """A store on the test's own database."""
    return Store(fresh)


@pytest.fixture
def launched(monkeypatch, tmp_path):
    """Record ``slicewise app``'s server command and environment instead of starting it.

    No user secrets, no proxy settings from the environment; a checkout with its own
    ``.streamlit/secrets.toml`` skips.
    """
    seen: dict = {}

    def record(cmd, *, env, cwd):
        seen.update(cmd=cmd, env=env, cwd=cwd)
        return 0

    from slicewise.core import cli

    monkeypatch.setattr(cli.serve, "_run_forwarding_signals", record)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("SLICEWISE_PROXY_HEADER", "SLICEWISE_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    if (cli.ROOT / ".streamlit" / "secrets.toml").exists():
        pytest.skip("this checkout has its own .streamlit/secrets.toml")
    return seen
