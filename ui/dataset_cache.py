"""The selected dataset, read from the store once and shared by every session.

Keys are plain values: the database path, the dataset id, a *frame key* that changes when
the examples change (a label correction) and a *tags fingerprint* that changes when the tag
matrix changes. The store's revision (the newest event id that may change the dataset: its
own, or a change to its project's tags, reviews and corrections made through any of the
project's datasets) decides when the small things (tags, settings, scopes, reviews,
corrections) are read again; a write by one user moves it for every session.

**Shared, read-only.** The examples and the tag and reviewed matrices are
``st.cache_resource``: one object in memory that every session uses (``st.cache_data``
would unpickle a copy per call, per session, per rerun). Numpy arrays handed out are made
read-only (:func:`frozen`) and frames are handed out as shallow copies (:func:`shared`,
pandas' copy-on-write), so one session can neither write into another's data nor add a
column to it. Nothing here reads ``st.session_state``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core.dataset import Dataset
from slicewise.core.errors import DataError
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.state import Context, empty_state, get_store, show_error


def _hash_frame(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "empty:" + "|".join(map(str, frame.columns))
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("|".join(map(str, frame.columns)).encode())
    return h.hexdigest()[:16]


def frozen(value: Any) -> Any:
    """Make the numpy arrays in ``value`` read-only (also inside tuples); return ``value``.

    For an ``st.cache_resource`` result shared by every session: writing into it raises
    ``ValueError: assignment destination is read-only`` instead of changing another
    session's data. Frames are protected by handing them out with :func:`shared`.
    """
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            frozen(item)
    return value


def shared(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a shallow copy of a shared frame: its data is shared, not copied.

    With pandas' copy-on-write, a change made to the copy (a cell, a new column) stays in
    the copy; the shared frame never sees it.
    """
    return frame.copy(deep=False)


def revision(store: Store, dataset_id: int) -> int:
    """Return the dataset's revision: it changes after any write that may change it."""
    return store.revision(dataset_id)


# --------------------------------------------------------------------------- loading


@st.cache_data(max_entries=8, show_spinner=False)
def _small_state(db: str, dataset_id: int, rev: int) -> dict[str, Any]:
    """Read what is cheap and changes often: info, tag list, settings, scopes, corrections.

    ``rev`` is :meth:`core.store.Store.revision`, which a change made through any dataset of
    the project moves (tags, reviews and corrections belong to the project).
    """
    store = get_store_for(db)
    info = store.dataset_info(dataset_id)
    corrections = store.corrections(dataset_id)
    key_part = (
        _hash_frame(corrections[["example_id", "corrected"]].astype(str))
        if len(corrections)
        else "none"
    )
    return {
        "info": info,
        "tags": store.list_tags(dataset_id),
        "settings": store.tag_settings(dataset_id),
        "scopes": store.tag_scopes(dataset_id),
        "corrections": corrections,
        "frame_key": f"{dataset_id}:{info.get('content_hash', '')}:{key_part}",
    }


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _load_frame(db: str, dataset_id: int, frame_key: str) -> Dataset:
    """Load the dataset (label corrections applied); re-read only when ``frame_key`` changes.

    A resource, not ``cache_data``: ``cache_data`` unpickles a fresh copy on every run,
    which costs ~0.7 s per rerun for a million transcripts. One object shared by every
    session: :func:`load_current` hands its frame out as a shallow copy (:func:`shared`).
    """
    return get_store_for(db).load_dataset(dataset_id)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_tags(db: str, dataset_id: int, rev: int) -> tuple[pd.DataFrame, str]:
    """Read the tag matrix and fingerprint it (so unchanged tags keep downstream caches)."""
    tags = get_store_for(db).tag_matrix(dataset_id).astype(bool).reset_index(drop=True)
    return tags, _hash_frame(tags)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load_reviewed(db: str, dataset_id: int, rev: int) -> pd.DataFrame:
    """Read where each tag was reviewed by hand (:meth:`core.store.Store.reviewed_matrix`)."""
    return get_store_for(db).reviewed_matrix(dataset_id).astype(bool).reset_index(drop=True)


def reviewed_matrix(loaded: Loaded) -> pd.DataFrame:
    """Where a person reviewed each tag of the loaded dataset (bool, aligned with its rows).

    True where the example was marked reviewed or has a hand value for the tag; cached per
    revision. With :attr:`Loaded.scopes` it says where each tag's status is known
    (:func:`core.tag_scope.known_matrix`).
    """
    return shared(_load_reviewed(loaded.db, loaded.dataset_id, loaded.rev))


def get_store_for(db: str) -> Store:
    """Return the shared store of ``db`` (the argument keys the caller's cache)."""
    del db  # the store is keyed on $SLICEWISE_DB by get_store; kept for cache keys
    return get_store()


@dataclass(frozen=True)
class Loaded:
    """The dataset in use with everything the pages need about it."""

    db: str
    dataset_id: int
    rev: int
    dataset: Dataset
    task: TaskSpec
    info: dict[str, Any]
    tag_list: pd.DataFrame
    settings: dict[str, dict[str, float]]
    corrections: pd.DataFrame
    frame_key: str
    tags_key: str
    #: Where each tag's status is known in this dataset: tag -> "all" | "errors" | "none"
    #: (:meth:`core.store.Store.tag_scopes`).
    scopes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The dataset's name in the store."""
        return str(self.info.get("name", f"dataset {self.dataset_id}"))

    @property
    def tag_names(self) -> list[str]:
        """Tags in matrix order."""
        return [str(c) for c in self.dataset.tags.columns]

    @property
    def key(self) -> tuple[str, int, str, str]:
        """Cache key of the data (frame and tags)."""
        return (self.db, self.dataset_id, self.frame_key, self.tags_key)


def load_current(ctx: Context) -> Loaded:
    """Load the selected dataset (cached) with its tags, settings and corrections."""
    assert ctx.dataset_id is not None
    rev = revision(ctx.store, ctx.dataset_id)
    small = _small_state(ctx.db, ctx.dataset_id, rev)
    base = _load_frame(ctx.db, ctx.dataset_id, small["frame_key"])
    tags, tags_key = _load_tags(ctx.db, ctx.dataset_id, rev)
    if len(tags) != len(base.frame):  # defensive: the matrix must align with the rows
        tags = base.tags
        tags_key = _hash_frame(tags)
    # Shallow copies of the shared frames: a change a page makes stays in its own copy.
    dataset = replace(base, frame=shared(base.frame), tags=shared(tags))
    info = small["info"]
    task = info.get("task") or TaskSpec()
    return Loaded(
        ctx.db,
        ctx.dataset_id,
        rev,
        dataset,
        task,
        info,
        small["tags"],
        small["settings"],
        small["corrections"],
        small["frame_key"],
        tags_key,
        small["scopes"],
    )


# --------------------------------------------------------------------------- guard


def require_dataset(ctx: Context) -> Loaded:
    """Load the selected dataset, or show an empty state / the error and stop (data guard)."""
    if ctx.dataset_id is None:
        empty_state("No dataset is selected.")
        st.stop()
    try:
        return load_current(ctx)
    except DataError as exc:
        show_error(exc, "The dataset cannot be opened: ")
        st.stop()
        raise  # unreachable: st.stop() raises
