"""*Load data*, *Start from the demo project*: open the demo project, or create it."""

from __future__ import annotations

import streamlit as st

from slicewise.core.access import OWNER
from slicewise.core.demo import DEMO_PROJECT, create_demo_project
from slicewise.core.errors import DataError
from slicewise.ui import loading, state
from slicewise.ui.context import DEMO_DIR, Context


def demo_section(ctx: Context) -> None:
    """Draw *Start from the demo project* and its *Open the demo project* button.

    A demo the user sees opens (its first dataset selected); else (re)creating it writes, as
    the user: on a writable store, by an owner of the demo project or, when there is none, by
    anyone (who then owns it). A demo that cannot be created says why
    (:class:`core.errors.DataError`).
    """
    store, user = ctx.store, ctx.user
    st.subheader("Start from the demo project")
    demo = state.read(loading.demo_datasets, store, DEMO_PROJECT)
    demo = demo[demo["project_id"].isin(state.read(store.list_projects, user)["id"])]  # visible
    st.caption(
        "Speech recognition transcripts tagged car noise / people noise / low bandwidth, "
        "and a visual-inspection classifier — the lecture's two examples."
    )
    demo_project = state.read(loading.project_named, store, DEMO_PROJECT)
    may_demo = bool(len(demo)) or (
        not store.read_only
        and (demo_project is None or state.allowed(store, demo_project, user, OWNER))
    )
    clicked = st.button(
        "Open the demo project",
        icon=":material/play_arrow:",
        type="primary",
        key="load_open_demo",
        disabled=not may_demo,
        help=None if may_demo else state.needs(OWNER, project=DEMO_PROJECT),
    )
    if not (clicked and may_demo):
        return
    if len(demo):
        state.select_dataset(int(demo["id"].min()))
        state.flash(f"Opened the demo project ({len(demo)} datasets)")
        st.rerun()
    _create_demo(ctx)


def _create_demo(ctx: Context) -> None:
    # Create the demo project and select its first dataset; the reason, at once, if it fails.
    demo_error: DataError | None = None
    with st.status("Creating the demo project…", expanded=True) as status:
        try:
            status.write("Reading and checking the demo files; storing them")
            ids = create_demo_project(ctx.store, DEMO_DIR, user=ctx.user)
        except DataError as exc:
            status.update(label="The demo project could not be created", state="error")
            demo_error = exc
        else:
            status.update(label="Demo project ready", state="complete")
            state.select_dataset(ids[0])
            state.flash("Demo project created")
            st.rerun()
    if demo_error is not None:
        state.show_error(demo_error)
