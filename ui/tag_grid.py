"""The grid of *Tag errors*: coverage, the tagging grid, its picks and the example beside it.

One ``st.data_editor``: tags are checkboxes saved on a tick, and the first column ("Pick")
selects rows. ``st.dataframe`` reports selected rows but cannot be edited;
``st.data_editor`` can be edited but reports no selection. A spreadsheet has both in one
grid, so the selection is an editable checkbox column (the same gesture as a dataframe's
row-selection box) whose ticks the page keeps, by example id, for the rows shown; the
example beside the grid is the one picked last.

Session keys: :data:`SHOWN` (the grid last drawn: its key, its rows' ids, the cells saved)
and :data:`SELECTION` (picked ids, the one shown, a generation that a new grid bumps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from slicewise.core.errors import DataError
from slicewise.ui import data, media, review_sample, state, tagging
from slicewise.ui.data import Loaded
from slicewise.ui.tagging import (
    CORRECTED_COLUMN,
    META_PREFIX,
    ORDERS,
    SCORE_COLUMN,
    SELECT_COLUMN,
    STATUS_COLUMN,
    Filters,
)
from slicewise.ui.text import code, md

SHOWN = "tag_editor_shown"  # the grid last drawn: its key, its rows' ids, the cells saved
SELECTION = "tag_selection"  # picked rows (ids), the one shown beside the grid


@dataclass(frozen=True)
class TagPage:
    """Who tags what on *Tag errors*: the sidebar's context and what the user may do.

    ``annotate`` says whether the user may write; ``no_role`` is the help text of the
    controls disabled otherwise (None when allowed). ``summary`` is the container above the
    filters where the grid's fragment draws the coverage; ``sample_rows`` the review
    sample's rows the grid is limited to (None: every row).
    """

    ctx: state.Context
    did: int
    annotate: bool
    no_role: str | None
    summary: Any = None
    sample_rows: np.ndarray | None = None


# ----------------------------------------------------------------------------- callbacks


def undo(page: TagPage) -> None:
    """Undo the user's last tag change (a tick, a rule, tagged rows, reviewed marks)."""
    state.run_write(
        page.ctx.store.undo_last,
        page.did,
        user=page.ctx.user,
        success=lambda done: f"Undone: {done}" if done else "Nothing to undo",
    )


def set_selection(ids: list[str]) -> None:
    """Pick these rows (all of the page, or none): a new grid shows them ticked."""
    sel = st.session_state[SELECTION]
    sel.update(ids=list(ids), focus=ids[-1] if ids else None, gen=sel["gen"] + 1)


def tag_selected(page: TagPage, value: bool) -> None:
    """Tag (or untag) every picked example as the tag chosen in the bar."""
    tag = st.session_state.get("tag_bulk_tag")
    ids = st.session_state[SELECTION]["ids"]
    if tag and ids:
        verb = "tagged" if value else "untagged"
        state.run_write(
            page.ctx.store.set_tag,
            page.did,
            ids,
            tag,
            value,
            user=page.ctx.user,
            success=lambda n: f"{n:,} of {len(ids):,} picked examples {verb} {tag}",
        )


def mark_reviewed(page: TagPage, ids: list[str]) -> None:
    """Record that the user has looked at the rows shown."""
    state.run_write(
        page.ctx.store.mark_reviewed,
        page.did,
        ids,
        user=page.ctx.user,
        success=f"Marked {len(ids):,} examples as reviewed",
    )


# ----------------------------------------------------------------------------- steps


def save_ticks(page: TagPage, last: dict[str, Any] | None) -> Loaded:
    """Save the ticks of the grid drawn last, then return the newest loaded dataset.

    A tick is saved before anything is drawn, so one run both saves it and shows the new
    state. The ticks are read from the grid the last run drew (its key and the ids of its
    rows): a grid another session's write made stale still tags the rows it showed. Cells
    already saved are remembered in ``last["done"]``, so a rerun never saves one twice; a
    failed save sets ``last["failed"]`` (the grid is then redrawn from the store).
    """
    loaded = data.load_current(page.ctx)  # the newest tags (cached per revision)
    if not last or last["did"] != page.did:
        return loaded
    edited = (st.session_state.get(last["key"]) or {}).get("edited_rows") or {}
    fresh = tagging.unsaved_edits(edited, last["done"])
    changes = tagging.edits_to_changes(fresh, last["ids"], loaded.tag_names)
    if not changes:
        return loaded
    saved = [
        state.run_write(page.ctx.store.set_tag, page.did, ids, tag, value, user=page.ctx.user)
        for (tag, value), ids in changes.items()
    ]
    if not all(saved):  # redraw the grid from the store: no unsaved tick shown
        last["failed"] = True
    return data.load_current(page.ctx)


def show_coverage(page: TagPage, loaded: Loaded) -> None:
    """Draw errors, the share tagged, a coverage bar and Undo in ``page.summary``."""
    tagged, errors = data.tag_coverage(loaded)
    with page.summary:
        m1, m2, m3, m4 = st.columns([2, 2, 5, 1.5], vertical_alignment="center")
        m1.metric("Errors", f"{errors:,}", help="Examples the model gets wrong")
        m2.metric(
            "Errors tagged",
            f"{tagged / errors:.0%}" if errors else "–",
            help="Share of errors with at least one tag",
        )
        m3.progress(
            tagged / errors if errors else 1.0,
            text=f"Coverage: {tagged:,} of {errors:,} errors carry at least one tag"
            + ("" if tagged < errors else " — every error is explained by a tag"),
        )
        m4.button(
            "Undo",
            key="tag_undo",
            icon=":material/undo:",
            on_click=undo,
            args=(page,),
            disabled=not page.annotate,
            help=page.no_role
            or "Undo your last tag change: a tick, a rule, tagged rows or reviewed marks",
        )


def current_selection(scope: int, last: dict[str, Any] | None) -> dict[str, Any]:
    """Return the picks kept for the rows listed in ``scope`` (a list and a page).

    A new scope starts with no pick and a new generation (so a new grid is drawn); a failed
    save of the last grid bumps the generation too.
    """
    selection = st.session_state.get(SELECTION) or {
        "scope": None,
        "ids": [],
        "focus": None,
        "gen": 0,
    }
    if selection["scope"] != scope:
        selection = {"scope": scope, "ids": [], "focus": None, "gen": selection["gen"] + 1}
    if last and last.pop("failed", False):
        selection["gen"] += 1
    return selection


def apply_picks(
    selection: dict[str, Any], last: dict[str, Any] | None, editor_key: str, shown_ids: list[str]
) -> None:
    """Apply the Pick ticks of the grid drawn last when it is the grid ``editor_key``."""
    if last and last["key"] == editor_key:
        edits = (st.session_state.get(editor_key) or {}).get("edited_rows") or {}
        selection["ids"], selection["focus"] = tagging.update_selection(
            selection["ids"],
            selection["focus"],
            tagging.selection_edits(edits, last["ids"]),
            shown_ids,
        )
    st.session_state[SELECTION] = selection


def pick_bar(page: TagPage, tags: list[str], picked: list[str], shown_ids: list[str]) -> None:
    """Draw the bar above the grid: tag or untag the picked rows, pick all or none."""
    bar = st.container(horizontal=True, vertical_alignment="bottom")
    bulk_tag = bar.selectbox(
        "Tag picked rows as",
        tags,
        key="tag_bulk_tag",
        index=None,
        placeholder="Choose a tag",
        width=200,
    )
    ready = bool(page.annotate and picked and bulk_tag)
    bar.button(
        "Tag",
        key="tag_bulk_add",
        icon=":material/sell:",
        on_click=tag_selected,
        args=(page, True),
        disabled=not ready,
        type="primary",
        help=page.no_role or f"Tag the {len(picked):,} picked examples",
    )
    bar.button(
        "Untag",
        key="tag_bulk_remove",
        on_click=tag_selected,
        args=(page, False),
        disabled=not ready,
        help=page.no_role or f"Untag the {len(picked):,} picked examples",
    )
    bar.button(
        "All",
        key="tag_select_page",
        icon=":material/select_all:",
        on_click=set_selection,
        args=(shown_ids,),
        disabled=not shown_ids,
        help="Pick every row of this page",
    )
    bar.button(
        "None",
        key="tag_select_clear",
        icon=":material/deselect:",
        on_click=set_selection,
        args=([],),
        disabled=not picked,
        help="Clear the picks",
    )


def grid_columns(
    tags: list[str], show_cols: tuple[str, ...], thumbs: dict[str, Any], text_width: int | None
) -> tuple[dict[str, Any], list[str]]:
    """Return the grid's column configuration and its column order.

    Pick and id first (pinned), thumbnails, label and prediction, the tags, then the score,
    the ✓ (model right) and ✎ (label corrected) marks, other metadata and the human label.
    """
    config = {
        SELECT_COLUMN: st.column_config.CheckboxColumn(
            "Pick",
            help="Pick to see the example beside the grid and to tag several at once",
            width="small",
            pinned=True,
        ),
        "id": st.column_config.TextColumn("id", pinned=True),
        "label": st.column_config.TextColumn("Label", width=text_width),
        "prediction": st.column_config.TextColumn("Prediction", width=text_width),
        SCORE_COLUMN: st.column_config.NumberColumn(
            "Score", format="%.3f", help="The model's score (confidence)"
        ),
        "human": st.column_config.TextColumn("Human label"),
        STATUS_COLUMN: st.column_config.CheckboxColumn(
            "✓", help="The model is right", width="small"
        ),
        CORRECTED_COLUMN: st.column_config.CheckboxColumn(
            "✎", help="The label was corrected", width="small"
        ),
        **{
            META_PREFIX + c: (
                st.column_config.ImageColumn(c, help="Thumbnail")
                if c in thumbs
                else st.column_config.Column(c)
            )
            for c in show_cols
        },
        **{t: st.column_config.CheckboxColumn(t.replace("_", " "), default=False) for t in tags},
    }
    order = [
        SELECT_COLUMN,
        "id",
        *(META_PREFIX + c for c in show_cols if c in thumbs),
        "label",
        "prediction",
        *tags,
        SCORE_COLUMN,
        STATUS_COLUMN,
        CORRECTED_COLUMN,
        *(META_PREFIX + c for c in show_cols if c not in thumbs),
        "human",
    ]
    return config, order


def draw_grid(
    page: TagPage,
    loaded: Loaded,
    page_pos: np.ndarray,
    show_cols: tuple[str, ...],
    picked: list[str],
    editor_key: str,
) -> None:
    """Draw the tagging grid of the rows at ``page_pos`` (editable: Pick, and the tags)."""
    ds, tags = loaded.dataset, loaded.tag_names
    images = [c for c, kind in data.media_kinds(loaded).items() if kind == "image"]
    thumbs = {
        c: [media.thumbnail(v, db=page.ctx.db) for v in ds.frame[c].iloc[page_pos]]
        for c in show_cols
        if c in images
    }
    before = tagging.editor_frame(
        ds.frame,
        ds.tags,
        data.example_correct(loaded),
        page_pos,
        set(loaded.corrections["example_id"].astype(str)),
        show_human=ds.has_human,
        columns=show_cols,
        thumbnails=thumbs,
        selected=set(picked),
    )
    # Transcripts are long: a fixed width keeps the tags in view (the example beside the
    # grid shows the whole text, with its word differences).
    text_width = 170 if loaded.task.kind == "text" else None
    config, grid_order = grid_columns(tags, show_cols, thumbs, text_width)
    editable = {SELECT_COLUMN, *tags} if page.annotate else {SELECT_COLUMN}
    row_px = 64 if thumbs else 35
    st.data_editor(
        before,
        key=editor_key,
        hide_index=True,
        column_config=config,
        column_order=[c for c in grid_order if c in before.columns],
        disabled=[c for c in before.columns if c not in editable],
        num_rows="fixed",
        row_height=row_px,
        height=min(38 + row_px * max(len(before), 1), 640),
    )


# ----------------------------------------------------------------------------- the fragment


@st.fragment
def grid_and_example(
    page: TagPage, filters: Filters, order: str, size: int, show_cols: tuple[str, ...]
) -> None:
    """Coverage, the grid and the example picked in it.

    A fragment: a tick, a pick, a page or a button here reruns only this part of the page
    (what a tick changes), not the filters and forms above.
    """
    last = st.session_state.get(SHOWN)
    loaded = save_ticks(page, last)
    state.show_flash()  # what the callbacks of this fragment (tag picked rows, undo) said
    show_coverage(page, loaded)
    try:
        positions = data.filtered_positions(loaded, filters, order=order)
    except DataError as exc:  # a bad metadata condition in the filter bar
        state.show_error(exc)
        return
    # "Show only this sample": the review sample's rows. Every key below holds which rows
    # are listed, so a page, a pick or a tick never lands on another list's row.
    sample = page.sample_rows
    listed = (filters, order, size, page.did, None if sample is None else hash(sample.tobytes()))
    if sample is not None:
        positions = review_sample.within(positions, sample)
    pages = tagging.page_count(len(positions), size)
    page_no = st.pagination(pages, key=f"tag_page_{hash(listed)}")
    page_pos = tagging.page_positions(positions, page_no, size)
    shown_ids = [str(i) for i in tagging.ids_at(loaded.dataset.frame, page_pos)]

    selection = current_selection(hash((listed, page_no)), last)
    gen = hash((listed, page_no, show_cols, selection["gen"]))
    editor_key = f"tag_editor_{page.did}_{loaded.rev}_{gen}"
    st.session_state["tag_editor_key"] = editor_key
    apply_picks(selection, last, editor_key, shown_ids)
    picked = selection["ids"]

    left, right = st.columns([2, 1], gap="medium")
    with left:
        pick_bar(page, loaded.tag_names, picked, shown_ids)
        st.caption(
            f"{len(positions):,} examples match ({ORDERS[order].lower()}) · page "
            f"{page_no} of {pages:,} · {len(picked):,} picked · tick a tag to save it at "
            "once; tick Pick to see an example and to tag several at once"
        )
        draw_grid(page, loaded, page_pos, show_cols, picked, editor_key)
        if last is None or last["key"] != editor_key:
            last = {"did": page.did, "key": editor_key, "ids": shown_ids, "done": {}}
        st.session_state[SHOWN] = last
        st.button(
            f"Mark the {len(shown_ids):,} shown rows as reviewed",
            key="tag_mark_reviewed",
            icon=":material/done_all:",
            on_click=mark_reviewed,
            args=(page, shown_ids),
            disabled=not (page.annotate and shown_ids),
            help=page.no_role,
        )

    with right:
        if not len(page_pos):
            st.info("No example matches these filters.", icon=":material/filter_alt_off:")
            return
        focus = selection["focus"]
        at = shown_ids.index(focus) if focus in shown_ids else 0
        show_example(page, loaded, int(page_pos[at]), picked=focus in shown_ids)


# ----------------------------------------------------------------------------- one example


def show_example(page: TagPage, loaded: Loaded, pos: int, *, picked: bool) -> None:
    """Show the example at row ``pos``: label, prediction, media, metadata, tags, correction."""
    ds, tags = loaded.dataset, loaded.tag_names
    row = ds.frame.iloc[pos]
    example_id = str(row["id"])
    st.subheader(f"Example {md(example_id)}")
    st.caption(
        "Picked in the grid" if picked else "The first row: tick Pick on a row to see it here"
    )
    if loaded.task.kind == "text":
        st.markdown("**Label → prediction** (~~missed words~~, **wrongly predicted words**)")
        st.markdown(tagging.word_diff_markdown(row["label"], row["prediction"]))
    else:
        st.markdown(f"**Label:** {code(row['label'])} · **Prediction:** {code(row['prediction'])}")
    if "score" in ds.frame.columns:
        st.caption(f"Score: {code(row['score'])}")
    if ds.has_human:
        st.caption(f"Human label: {md(row['human'])}")
    carried = [t for t in tags if bool(ds.tags[t].iat[pos])]
    st.caption("Tags: " + (", ".join(md(t) for t in carried) if carried else "none"))
    for col, kind in data.media_kinds(loaded).items():
        media.show_media(col, kind, row[col], db=page.ctx.db)
    meta = {c: row[c] for c in ds.metadata_columns}
    if meta:
        st.dataframe(
            {"column": list(meta), "value": [str(v) for v in meta.values()]},
            hide_index=True,
            placeholder="–",
        )
    correction(page, loaded, row)


def correction(page: TagPage, loaded: Loaded, row: Any) -> None:
    """Show the example's last label correction (with Revert) and the form to correct it."""
    did, example_id = page.did, str(row["id"])
    store, user = page.ctx.store, page.ctx.user
    fixes = loaded.corrections[loaded.corrections["example_id"].astype(str) == example_id]
    if len(fixes):
        fix = fixes.iloc[-1]
        st.info(
            f"Label corrected by {md(fix['user'])} from {code(fix['original'])} to "
            f"{code(fix['corrected'])}" + (f": {md(fix['reason'])}" if fix["reason"] else ""),
            icon=":material/edit_note:",
        )
        if st.button(
            "Revert to the original label",
            key=f"tag_revert_{did}_{example_id}",
            disabled=not page.annotate,
            help=page.no_role,
        ):
            state.run_write(
                store.revert_correction,
                did,
                row["id"],
                user=user,
                success=f"Restored the original label of {example_id}",
            )
            st.rerun()  # the whole page: the labels changed
    with st.form(f"tag_correct_{did}_{example_id}", border=True):
        st.markdown("**Correct the label**")
        new_label = st.text_input(
            "Correct label", value=str(row["label"]), key=f"tag_new_label_{did}_{example_id}"
        )
        reason = st.text_input(
            "Reason",
            placeholder="e.g. inconsistent transcription rule",
            key=f"tag_reason_{did}_{example_id}",
        )
        if st.form_submit_button(
            "Save correction", type="primary", disabled=not page.annotate, help=page.no_role
        ):
            if new_label.strip() == str(row["label"]).strip():
                st.warning("The new label is the same as the current one.")
            else:
                state.run_write(
                    store.correct_label,
                    did,
                    row["id"],
                    new_label.strip(),
                    user=user,
                    reason=reason,
                    success=f"Corrected the label of {example_id}",
                )
                st.rerun()  # the whole page: the labels changed
