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
