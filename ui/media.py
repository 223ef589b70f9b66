"""Show an example's audio or image from a path or URL, without failing on a missing file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ui.state import DEMO_DIR, ROOT
from ui.tagging import is_url, resolve_media
from ui.text import code, md


def media_roots(db: str) -> list[Path]:
    """Folders a relative media path is looked up in: demo data, the repo, the database's."""
    roots = [DEMO_DIR, ROOT]
    if db:
        roots.append(Path(db).expanduser().parent)
    return roots


def show_media(column: str, kind: str, value: Any, *, db: str) -> None:
    """Play or show one media value; say so when the file is missing or unreadable."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return
    source = str(value) if is_url(value) else resolve_media(str(value), media_roots(db))
    if source is None:
        st.caption(f"{md(column)}: {code(value)} — file not found on the server")
        return
    try:
        if kind == "audio":
            st.audio(str(source))
        else:
            st.image(str(source), caption=str(value))
    except Exception as exc:  # a broken media file must not break the page
        st.caption(f"{md(column)}: {code(value)} cannot be shown ({type(exc).__name__})")
