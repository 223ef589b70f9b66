"""The sidebar: who is there, the project and the dataset in use, kept valid and in the URL.

Every page draws it through :func:`ui.state.page_start`; it returns the run's
:class:`ui.context.Context`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from slicewise.core import access
from slicewise.core.errors import DataError
from slicewise.core.store import Store
from slicewise.ui import auth
from slicewise.ui.context import (
    DATASET,
    IDENTITY,
    MODE,
    PENDING,
    PROJECT,
    USER,
    Context,
    current_user,
    db_path,
    get_store,
)
from slicewise.ui.links import apply_query_params, keep_in_url, keep_widget_values
from slicewise.ui.messages import flash, read
from slicewise.ui.text import md

_SIGNED_IN = "_store_signed_in"
_QUERY_APPLIED = "_query_applied"


def latest_dataset(store: Store, dataset_ids: Iterable[int]) -> int | None:
    """Return the dataset written most recently (created, tagged, renamed…) among the ids.

    "Most recently" is the newest entry of the store's event log about the dataset itself
    (:meth:`core.store.Store.last_event_id`: writes made through another dataset of its
    project do not count); ties, which only a log without the dataset's events can give,
    go to the newest id. ``None`` when there are no ids.
    """
    ids = [int(i) for i in dataset_ids]
    return max(ids, key=lambda i: (store.last_event_id(i), i)) if ids else None


def projects_not_shown(store: Store, user: str) -> int:
    """Return how many projects the store holds when ``user`` is a member of none (else 0).

    0 too while roles are not enforced (:meth:`core.store.Store.roles_enforced`: everyone
    sees every project) or when the projects cannot be read (the page says why).
    """
    if not read(store.roles_enforced, otherwise=False) or len(
        read(store.list_projects, user, otherwise=[None])
    ):
        return 0
    return len(read(store.list_projects, otherwise=[]))


def _on_project_change() -> None:
    # Switching project selects that project's latest dataset.
    store = get_store()
    project_id = st.session_state.get(PROJECT)
    datasets = store.list_datasets(project_id) if project_id is not None else None
    if datasets is not None and len(datasets):
        st.session_state[DATASET] = latest_dataset(store, datasets["id"])
    else:
        st.session_state.pop(DATASET, None)


def sidebar() -> Context:
    """Draw the sidebar (who, project, dataset) and return the selections.

    With sign-in configured, nobody signed in gets a sign-in (or refusal) screen and the
    page stops here (:func:`ui.auth.who_is_there`).

    Raises
    ------
    DataError
        The store's projects or datasets cannot be read (e.g. a damaged store).
    """
    store = get_store()
    who = _sign_in(store)
    _apply_link_and_pending(who)
    projects = store.list_projects(current_user())  # once roles apply: the user's own
    datasets = store.list_datasets()
    datasets = datasets[datasets["project_id"].isin(projects["id"])]
    project_names = dict(
        zip(projects["id"].astype(int), projects["name"].astype(str), strict=False)
    )
    dataset_rows = {int(r.id): r for r in datasets.itertuples(index=False)}
    _keep_selection_valid(store, project_names, dataset_rows)
    project_id = st.session_state.get(PROJECT)
    in_project = [i for i, r in dataset_rows.items() if int(r.project_id) == project_id]
    if st.session_state.get(DATASET) is None and in_project:
        st.session_state[DATASET] = latest_dataset(store, in_project)

    keep_in_url()
    keep_widget_values()
    with st.sidebar:
        _who(who)
        if not project_names:
            st.caption(
                "You are not a member of any project here."
                if projects_not_shown(store, current_user())
                else "No project yet: load a file or open the demo project."
            )
            owner = None if store.roles_enforced() else access.OWNER
            return Context(store, db_path(), None, None, current_user(), owner)
        _choose_project(store, project_names)
        _choose_dataset(in_project, dataset_rows)
    dataset_id = st.session_state.get(DATASET)
    return Context(
        store,
        db_path(),
        project_id,
        int(dataset_id) if dataset_id is not None else None,
        current_user(),
        store.role(project_id, current_user()) if project_id is not None else None,
    )


def _apply_link_and_pending(who: auth.SignIn) -> None:
    # A link such as /Tag_errors?dataset=3 opens that dataset (once per session); a dataset
    # chosen last run (state.select_dataset) becomes the one in use.
    if _QUERY_APPLIED not in st.session_state:
        st.session_state[_QUERY_APPLIED] = True
        apply_query_params(who)
    if PENDING in st.session_state:
        pending = st.session_state.pop(PENDING)
        if pending is None:
            st.session_state.pop(DATASET, None)
        else:
            st.session_state[DATASET] = int(pending)


def _keep_selection_valid(
    store: Store, project_names: dict[int, str], dataset_rows: dict[int, Any]
) -> None:
    # Keep the selections valid before the widgets are drawn.
    chosen = st.session_state.get(DATASET)
    if chosen is not None and int(chosen) not in dataset_rows:
        st.session_state.pop(DATASET, None)
        chosen = None
    if chosen is not None:
        st.session_state[PROJECT] = int(dataset_rows[int(chosen)].project_id)
    elif st.session_state.get(PROJECT) not in project_names:
        # A new session opens the latest dataset and its project (else the first project).
        latest = latest_dataset(store, dataset_rows)
        if latest is not None:
            st.session_state[DATASET] = latest
            st.session_state[PROJECT] = int(dataset_rows[latest].project_id)
        elif project_names:
            st.session_state[PROJECT] = next(iter(project_names))
        else:
            st.session_state.pop(PROJECT, None)


def _who(who: auth.SignIn) -> None:
    # The typed name (local mode), else the signed-in identity (and, with OIDC, sign out).
    if who.identity is None:
        st.text_input(
            "Your name",
            key=USER,
            placeholder="e.g. Ana",
            persist_state="session",
            help="Saved with every tag, label correction and setting you change.",
        )
        return
    st.markdown(
        f"Signed in as **{md(who.identity)}**",
        help="Saved with every tag, label correction and setting you change.",
    )
    if who.mode == "oidc":
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")


def _choose_project(store: Store, project_names: dict[int, str]) -> None:
    st.selectbox(
        "Project",
        list(project_names),
        key=PROJECT,
        format_func=lambda i: project_names.get(i, str(i)),
        on_change=_on_project_change,
        persist_state="session",
    )
    if store.roles_enforced():
        role = store.role(st.session_state[PROJECT], current_user())
        st.caption(
            f"Your role here: {role or 'none'}",
            help=f"{role}: {access.ROLE_HELP[role]}" if role else None,
        )


def _choose_dataset(in_project: list[int], dataset_rows: dict[int, Any]) -> None:
    if not in_project:
        st.caption("This project has no dataset yet.")
        return
    st.selectbox(
        "Dataset",
        in_project,
        key=DATASET,
        persist_state="session",
        format_func=lambda i: f"{dataset_rows[i].name} ({int(dataset_rows[i].row_count):,} rows)",
    )
    row = dataset_rows[int(st.session_state[DATASET])]
    st.caption(f"Task: {row.task_kind} · from {md(row.source_name)}")


def _sign_in(store: Store) -> auth.SignIn:
    # Who is there; a signed-in identity is recorded once per session with the store.
    who = auth.who_is_there()
    st.session_state[MODE] = who.mode
    if who.identity is None:
        st.session_state.pop(IDENTITY, None)
        return who
    st.session_state[IDENTITY] = who.identity
    if st.session_state.get(_SIGNED_IN) != who.identity:
        try:
            news = store.sign_in(who.identity)
        except DataError as exc:
            st.error(md(exc), icon=":material/error:")
            st.stop()
        st.session_state[_SIGNED_IN] = who.identity
        if news:  # e.g. the store's first user became the owner of every project
            flash(news, "warning")
    return who
