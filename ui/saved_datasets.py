"""*Load data*, *Saved datasets*: list the user's datasets; open, rename or delete one.

Session keys: ``load_manage`` (the dataset chosen), ``load_manage_name`` (its name, to name
it once deleted), ``load_manage_follows`` (the dataset in use it last followed),
``load_confirm_delete`` (the dataset whose deletion awaits a yes) and ``load_deleted_here``
(deleted by this session: no "deleted meanwhile" for it).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from slicewise.core.access import OWNER
from slicewise.ui import loading, state
from slicewise.ui.context import Context
from slicewise.ui.text import md

MANAGE = "load_manage"
_NAME = "load_manage_name"
_FOLLOWS = "load_manage_follows"
_CONFIRM = "load_confirm_delete"
_DELETED_HERE = "load_deleted_here"


def saved_section(ctx: Context) -> None:
    """Draw *Saved datasets*: the table of the user's datasets and the chosen one's actions.

    Stops the page (``st.stop``) when there is none. A dataset chosen in the last run and
    deleted since (another tab, someone else) is said, and no click acts this run.
    """
    store, user = ctx.store, ctx.user
    st.subheader("Saved datasets")
    visible = state.read(store.list_projects, user)  # once roles apply: the user's projects only
    every = state.read(store.list_datasets)
    datasets = every[every["project_id"].isin(visible["id"])]
    gone = _deleted_meanwhile(every)
    if datasets.empty:
        st.caption("None yet.")
        st.stop()
    st.dataframe(
        loading.with_project_names(datasets, visible),
        hide_index=True,
        placeholder="–",
        column_config={
            "id": st.column_config.NumberColumn("id", format="%d"),
            "row_count": st.column_config.NumberColumn("rows", format="localized"),
        },
    )
    names = dict(zip(datasets["id"].astype(int), datasets["name"], strict=False))
    chosen = _choose(ctx, names)
    project_id = int(datasets.loc[datasets["id"] == chosen, "project_id"].iloc[0])
    owner = state.allowed(store, project_id, user, OWNER)
    manage_dataset(ctx, chosen, names[chosen], owner=owner, gone=gone)


def _deleted_meanwhile(every: pd.DataFrame) -> bool:
    # The dataset chosen below in the last run was deleted since (in another tab, or by
    # someone else): say so, and act on no other dataset this run (a click meant for it is
    # dropped).
    was = st.session_state.get(MANAGE)
    gone = (
        was is not None
        and int(was) not in set(every["id"].astype(int))
        and was != st.session_state.pop(_DELETED_HERE, None)
    )
    if gone:
        st.warning(
            f"**{md(st.session_state.get(_NAME, f'Dataset {was}'))}** "
            f"(id {was}) was deleted meanwhile, in another tab or by someone else; a "
            "click meant for it did nothing.",
            icon=":material/warning:",
        )
        st.session_state.pop(MANAGE)  # said once; another dataset is chosen below
    return gone


def _choose(ctx: Context, names: dict[int, str]) -> int:
    # Open/Rename/Delete act on the dataset in use whenever it changes (sidebar, save, demo).
    ids = list(names)
    if st.session_state.get(_FOLLOWS) != ctx.dataset_id or st.session_state.get(MANAGE) not in ids:
        st.session_state[_FOLLOWS] = ctx.dataset_id
        st.session_state[MANAGE] = ctx.dataset_id if ctx.dataset_id in ids else ids[0]
    chosen = st.selectbox("Dataset", ids, format_func=lambda i: f"{names[i]} (id {i})", key=MANAGE)
    st.session_state[_NAME] = names[chosen]
    return chosen


def manage_dataset(ctx: Context, chosen: int, name: str, *, owner: bool, gone: bool) -> None:
    """Draw *Open*, *Delete…* (with its confirmation) and *Rename* for the dataset ``chosen``.

    ``owner``: the user owns its project (else renaming and deleting are off, saying why);
    ``gone``: the dataset chosen last run was deleted meanwhile, so no click acts.
    """
    store, user = ctx.store, ctx.user
    o1, o2 = st.columns(2, vertical_alignment="bottom")
    if o1.button("Open", icon=":material/folder_open:", key="load_open") and not gone:
        state.select_dataset(chosen)
        state.flash(f"Opened {name}")
        st.rerun()
    no_role = None if owner else state.needs(OWNER)
    delete = o2.button(
        "Delete…", icon=":material/delete:", key="load_delete", disabled=not owner, help=no_role
    )
    if delete and not gone:
        st.session_state[_CONFIRM] = chosen
    r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
    new_name = r1.text_input(
        "New name", value=name, key=f"load_rename_{chosen}", disabled=not owner
    )
    rename = r2.button(
        "Rename", icon=":material/edit:", key="load_rename_btn", disabled=not owner, help=no_role
    )
    if rename and not gone:
        state.run_write(
            store.rename_dataset,
            chosen,
            new_name,
            user=user,
            success=f"Renamed to {new_name.strip()}",
        )
        st.rerun()
    if st.session_state.get(_CONFIRM) == chosen:
        _confirm_delete(ctx, chosen, name)


def _confirm_delete(ctx: Context, chosen: int, name: str) -> None:
    # The yes/cancel of a deletion; deleting the dataset in use selects none.
    st.warning(
        f"Delete **{md(name)}** with its tags, label corrections and reports? "
        "This cannot be undone (the history of changes is kept)."
    )
    y, n = st.columns(2)
    if y.button("Yes, delete it", type="primary", key="load_delete_yes"):
        st.session_state.pop(_CONFIRM)
        if state.run_write(
            ctx.store.delete_dataset, chosen, user=ctx.user, success=f"Deleted {name}"
        ):
            st.session_state[_DELETED_HERE] = chosen  # no "deleted meanwhile" for it
        if ctx.dataset_id == chosen:
            state.select_dataset(None)
        st.rerun()
    if n.button("Cancel", key="load_delete_no"):
        st.session_state.pop(_CONFIRM)
        st.rerun()
