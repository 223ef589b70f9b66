"""The store, the session-state keys and what a page may do: the :class:`Context` of a run.

Session-state keys shared by every page (page-specific keys are prefixed with the page name):

- ``dataset_id`` (:data:`DATASET`): the dataset in use (sidebar selectbox, kept across pages).
- ``project_id`` (:data:`PROJECT`): the project whose datasets the sidebar lists.
- ``user_name`` (:data:`USER`): the display name typed in the sidebar (local mode, no sign-in).
- ``_signed_in_identity``: the signed-in user (OpenID Connect or trusted proxy, see
  :mod:`ui.auth`); when set it, not the typed name, is passed as ``user=`` to every write.
- ``shared_slice_by`` (:data:`SLICE_BY`): metadata columns chosen on *Slices vs HLP*, reused
  by *Prioritise* and *Export*.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from slicewise.core import access
from slicewise.core.store import Store

DB_ENV = "SLICEWISE_DB"
ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo_data"

PROJECT = "project_id"
DATASET = "dataset_id"
USER = "user_name"
SLICE_BY = "shared_slice_by"
PENDING = "_pending_dataset_id"  # the dataset to select at the start of the next run
IDENTITY = "_signed_in_identity"
MODE = "_sign_in_mode"
ANONYMOUS = "anonymous"
#: The file read on *Load data* (:class:`ui.load_form.Upload`): kept for that page's reruns
#: only; any other page lets it go (its uploader is empty when the page is opened again).
UPLOAD_READ = "load_read"


def db_path() -> str:
    """Return the database path from ``$SLICEWISE_DB`` ("" means the store's default)."""
    return os.environ.get(DB_ENV, "")


@st.cache_resource(max_entries=4, show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path or None)


def get_store() -> Store:
    """Return the store for the current database path (one per path, shared by sessions)."""
    return _open_store(db_path())


@dataclass(frozen=True)
class Context:
    """What the sidebar selected: the store, the project, the dataset and the user.

    ``role`` is the user's role in the project (:meth:`core.store.Store.role`: ``"owner"``
    for everyone on a store without members; ``None`` for a non-member or no project);
    :func:`can` asks whether it allows a write.
    """

    store: Store
    db: str
    project_id: int | None
    dataset_id: int | None
    user: str
    role: str | None = None


def can(ctx: Context, needed: str) -> bool:
    """Return whether the user's role in the selected project allows what needs ``needed``.

    ``needed`` is one of :data:`core.access.ROLES`; pages disable the controls it refuses
    (the store refuses the write anyway, see :data:`core.access.ACTIONS`). A read-only
    store allows nothing (:attr:`core.store.Store.read_only`; :func:`needs` says why).
    """
    return not ctx.store.read_only and access.allows(ctx.role, needed)


def allowed(store: Store, project_id: int, user: str, needed: str) -> bool:
    """Return whether ``user``'s role in another project than the selected one allows it."""
    return not store.read_only and access.allows(store.role(project_id, user), needed)


def needs(needed: str, *, project: str | None = None) -> str:
    """Return the help text of a control disabled for want of the role ``needed``.

    ``project`` names the project when it is not the one selected in the sidebar (e.g.
    the demo project). On a read-only store, why nothing can be saved there
    (:func:`read_only_help`).
    """
    if project is not None:
        return (
            read_only_help(get_store())
            or f"Needs the {needed} role in the project {project!r}: ask one of its "
            "owners to give it to you on the Team page."
        )
    return (
        read_only_help(get_store())
        or f"Needs the {needed} role in this project: ask an owner on the Team page."
    )


def read_only_help(store: Store) -> str | None:
    """Return why write controls are off (for their ``help``), or ``None`` when they are not."""
    if not store.read_only:
        return None
    return (
        "The store is read-only, so nothing can be saved"
        + (" (it is damaged)" if store.damaged else "")
        + ": see the message at the top."
    )


def current_user() -> str:
    """Return the signed-in identity, else the name typed in the sidebar, else ``anonymous``."""
    identity = st.session_state.get(IDENTITY)
    if identity:
        return str(identity)
    name = str(st.session_state.get(USER) or "").strip()
    return name or ANONYMOUS


def select_dataset(dataset_id: int | None) -> None:
    """Make ``dataset_id`` the dataset in use from the next run on (safe after widgets exist)."""
    st.session_state[PENDING] = dataset_id
