"""Show an example's audio or image (path, URL or data URI); thumbnails for the grid.

A missing or unreadable file is said in a caption, never raised.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.ui.context import DEMO_DIR, ROOT
from slicewise.ui.tagging import is_data_uri, is_url, resolve_media
from slicewise.ui.text import code, md

#: Longest side of a grid thumbnail, in pixels.
THUMB_PX = 96
#: Image files larger than this get no thumbnail (decoding them would stall the grid).
MAX_THUMB_FILE_BYTES = 25_000_000


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
    inline = data_uri_bytes(str(value)) if is_data_uri(value) else None
    source: Any = (
        inline[1]
        if inline
        else str(value)
        if is_url(value)
        else resolve_media(str(value), media_roots(db))
    )
    if source is None:
        if is_data_uri(value):
            st.caption(f"{md(column)}: the data URI is not base64 media and cannot be shown")
        else:
            st.caption(f"{md(column)}: {code(value)} — file not found on the server")
        return
    try:
        if kind == "audio":
            st.audio(source if inline else str(source))
        else:
            st.image(
                source if inline else str(source), caption=md(column) if inline else str(value)
            )
    except Exception as exc:  # a broken media file must not break the page
        shown = "the data URI" if inline else code(value)
        st.caption(f"{md(column)}: {shown} cannot be shown ({type(exc).__name__})")


def data_uri_bytes(value: str) -> tuple[str, bytes] | None:
    """Decode a base64 ``data:`` URI into (media type, bytes); ``None`` when it is not one."""
    head, sep, body = str(value).partition(",")
    if not sep or not head.lower().startswith("data:") or not head.lower().endswith(";base64"):
        return None
    try:
        return head[5:-7], base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


@st.cache_data(max_entries=4096, show_spinner=False)
def _thumbnail(path: str, mtime: float, size: int) -> str | None:
    """Return a JPEG data URI of the image at ``path`` shrunk to ``size`` px.

    ``mtime`` is only a cache key: a file changed on disk gets a new thumbnail.
    """
    from PIL import Image

    with warnings.catch_warnings():  # a huge or odd image is skipped, not a page warning
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as image:
                image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
                image.thumbnail((size, size))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="JPEG", quality=80)
        except Exception:  # any unreadable image: no thumbnail
            return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail(value: Any, *, db: str) -> str | None:
    """Return what the grid's image column shows for ``value``.

    A URL or data URI is shown as it is; a local file (found as :func:`show_media` finds
    it) as a small cached data URI; ``None`` when missing, too big or unreadable.
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value)
    if is_url(text) or is_data_uri(text):
        return text
    path = resolve_media(text, media_roots(db))
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size > MAX_THUMB_FILE_BYTES:
        return None
    return _thumbnail(str(path), stat.st_mtime, THUMB_PX)
