"""Page scaffolding: :func:`page_start` and :func:`empty_state`, and the names pages use.

The pieces live in rooms named for what they hold; this module starts a page with them and
re-exports their public names, so that ``from slicewise.ui import state`` then
``state.read(...)``, ``state.Context``… keep working:

- :mod:`ui.context`: the store, the session-state keys, the :class:`Context` of a run, who
  the user is and what their role allows (:func:`can`, :func:`needs`).
- :mod:`ui.messages`: flash messages, shown errors and the guards around store reads and
  writes (:func:`read`, :func:`section`, :func:`run_write`).
- :mod:`ui.links`: page paths, the workflow, the query parameters and :func:`page_link`.
- :mod:`ui.sidebar`: the sidebar drawing the selections (:func:`sidebar`).
"""

from __future__ import annotations

import streamlit as st

from slicewise.core.errors import DataError
from slicewise.ui.context import (
    ANONYMOUS,
    DATASET,
    DB_ENV,
    DEMO_DIR,
    PROJECT,
    ROOT,
    SLICE_BY,
    UPLOAD_READ,
    USER,
    Context,
    _open_store,
    allowed,
    can,
    current_user,
    db_path,
    get_store,
    needs,
    read_only_help,
    select_dataset,
)
from slicewise.ui.links import (
    COMPARE_PAGE,
    EXPORT_PAGE,
    LABELS_PAGE,
    LOAD_PAGE,
    PRIORITISE_PAGE,
    SLICES_PAGE,
    SPLITS_PAGE,
    SUGGEST_PAGE,
    TAG_PAGE,
    TEAM_PAGE,
    WORKFLOW,
    link_params,
    page_link,
)
from slicewise.ui.messages import (
    ADVICE_SHOWN,
    error_text,
    flash,
    read,
    read_only_banner,
    run_write,
    section,
    show_error,
    show_flash,
)
from slicewise.ui.sidebar import latest_dataset, projects_not_shown, sidebar
from slicewise.ui.text import md

__all__ = [
    "ANONYMOUS",
    "COMPARE_PAGE",
    "DATASET",
    "DB_ENV",
    "DEMO_DIR",
    "EXPORT_PAGE",
    "LABELS_PAGE",
    "LOAD_PAGE",
    "PRIORITISE_PAGE",
    "PROJECT",
    "ROOT",
    "SLICES_PAGE",
    "SLICE_BY",
    "SPLITS_PAGE",
    "SUGGEST_PAGE",
    "TAG_PAGE",
    "TEAM_PAGE",
    "USER",
    "WORKFLOW",
    "Context",
    "_open_store",
    "allowed",
    "can",
    "current_user",
    "db_path",
    "empty_state",
    "error_text",
    "flash",
    "get_store",
    "latest_dataset",
    "link_params",
    "needs",
    "page_link",
    "page_start",
    "projects_not_shown",
    "read",
    "read_only_banner",
    "read_only_help",
    "run_write",
    "section",
    "select_dataset",
    "show_error",
    "show_flash",
    "sidebar",
]


def page_start(
    title: str,
    question: str,
    *,
    icon: str = ":material/analytics:",
    layout: str = "wide",
    keeps_upload: bool = False,
) -> Context:
    """Configure the page, draw the sidebar, the heading (the page's question) and messages.

    A read-only or damaged store gets a banner under the heading (:func:`read_only_banner`);
    a damaged one whose projects or datasets cannot be read stops the page with the reason.
    A page other than *Load data* (``keeps_upload`` false) lets the file read there go: a
    table of millions of rows that only that page's form uses.
    """
    st.set_page_config(page_title=f"{title} · Slicewise", page_icon=icon, layout=layout)
    st.session_state.pop(ADVICE_SHOWN, None)  # a new run: nothing shown yet
    if not keeps_upload:
        st.session_state.pop(UPLOAD_READ, None)
    try:
        ctx = sidebar()
    except DataError as exc:  # e.g. StoreDamaged: the list of datasets cannot be read
        st.title(question)
        show_error(exc)
        st.stop()
    st.title(question)
    read_only_banner(ctx.store)
    show_flash()
    return ctx


def empty_state(message: str = "No dataset yet.") -> None:
    """Say there is nothing to show and link to *Load data*; does not stop the script.

    Someone who is a member of none of the store's projects is told that instead, and whom
    to ask (:func:`projects_not_shown`).
    """
    user = current_user()
    others = projects_not_shown(get_store(), user)
    if others:
        st.info(
            f"You ({md(user)}) are not a member of any project here (this store holds "
            f"{others} project{'s' if others != 1 else ''}): ask an owner of one to add "
            "you on its Team page, or load a file to start a project of your own.",
            icon=":material/person_off:",
        )
    else:
        st.info(f"{message} Load a file or open the demo project to start.", icon=":material/info:")
    page_link(LOAD_PAGE, "Load a file or open the demo project", ":material/upload_file:")
