import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.errors import DataError
from slicewise.core.rules import describe_rule
from slicewise.ui import data, media, review_sample, state, tagging, widgets
from slicewise.ui.conditions import condition_rows
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

ctx = state.page_start("Tag errors", "Which errors share a cause?", icon=":material/sell:")
loaded = data.require_dataset(ctx)
store, user, did = ctx.store, ctx.user, loaded.dataset_id
# A viewer sees everything and changes nothing: the write controls are disabled, saying why.
annotate = state.can(ctx, ANNOTATOR)
no_role = None if annotate else state.needs(ANNOTATOR)
ds = loaded.dataset
tags = loaded.tag_names
try:
    correct = data.example_correct(loaded)
except DataError as exc:  # the task does not fit the data (e.g. a positive class gone)
    state.show_error(exc)
    st.stop()
summary = st.container()  # coverage: drawn by the grid's fragment, which a tick reruns

SHOWN = "tag_editor_shown"  # the grid last drawn: its key, its rows' ids, the cells saved
SELECTION = "tag_selection"  # picked rows (ids), the one shown beside the grid


def undo() -> None:
    """Undo the user's last tag change (a tick, a rule, tagged rows, reviewed marks)."""
    state.run_write(
        store.undo_last,
        did,
        user=user,
        success=lambda done: f"Undone: {done}" if done else "Nothing to undo",
    )


def set_selection(ids: list[str]) -> None:
    """Pick these rows (all of the page, or none): a new grid shows them ticked."""
    sel = st.session_state[SELECTION]
    sel.update(ids=list(ids), focus=ids[-1] if ids else None, gen=sel["gen"] + 1)


def tag_selected(value: bool) -> None:
    """Tag (or untag) every picked example as the tag chosen in the bar."""
    tag = st.session_state.get("tag_bulk_tag")
    ids = st.session_state[SELECTION]["ids"]
    if tag and ids:
        verb = "tagged" if value else "untagged"
        state.run_write(
            store.set_tag,
            did,
            ids,
            tag,
            value,
            user=user,
            success=lambda n: f"{n:,} of {len(ids):,} picked examples {verb} {tag}",
        )


def mark_reviewed(ids: list[str]) -> None:
    """Record that the user has looked at the rows shown."""
    state.run_write(
        store.mark_reviewed,
        did,
        ids,
        user=user,
        success=f"Marked {len(ids):,} examples as reviewed",
    )


# Widgets whose options change (a tag renamed or deleted, another dataset): a stale value is
# replaced before they are drawn (ui.widgets), never shown nor acted on.
for key in ("tag_rename_old", "tag_delete_name", "tag_rule_tag", "tag_bulk_tag"):
    widgets.keep_valid(key, tags, default=None)
for key in ("tag_merge_sources", "tag_f_tags"):
    widgets.keep_valid_many(key, tags)

# ----------------------------------------------------------------------------- manage tags
with st.expander("Tags: create, rename, merge, delete", icon=":material/sell:", expanded=not tags):
    a, b, c, d = st.columns(4)
    with a:
        new_tag = st.text_input("New tag", placeholder="e.g. car_noise", key="tag_new")
        if st.button(
            "Create", key="tag_create", disabled=not (annotate and new_tag.strip()), help=no_role
        ):
            state.run_write(
                store.create_tag,
                did,
                new_tag.strip(),
                user=user,
                success=f"Created tag {new_tag.strip()}",
            )
            st.rerun()
    with b:
        old = st.selectbox(
            "Rename", tags, key="tag_rename_old", index=None, placeholder="Choose a tag"
        )
        new = st.text_input("to", key="tag_rename_new")
        if st.button(
            "Rename",
            key="tag_rename",
            disabled=not (annotate and old and new.strip()),
            help=no_role,
        ):
            state.run_write(
                store.rename_tag,
                did,
                old,
                new.strip(),
                user=user,
                success=f"Renamed {old} to {new.strip()}",
            )
            st.rerun()
    with c:
        sources = st.multiselect(
            "Merge", tags, key="tag_merge_sources", placeholder="Tags to merge"
        )
        target = st.text_input("into (existing or new tag)", key="tag_merge_target")
        if st.button(
            "Merge",
            key="tag_merge",
            disabled=not (annotate and sources and target.strip()),
            help=no_role,
        ):
            state.run_write(
                store.merge_tags,
                did,
                sources,
                target.strip(),
                user=user,
                success=f"Merged {', '.join(sources)} into {target.strip()}",
            )
            st.rerun()
    with d:
        doomed = st.selectbox(
            "Delete", tags, key="tag_delete_name", index=None, placeholder="Choose a tag"
        )
        sure = st.checkbox("Yes, remove it from every example", key="tag_delete_sure")
        if st.button(
            "Delete", key="tag_delete", disabled=not (annotate and doomed and sure), help=no_role
        ):
            state.run_write(
                store.delete_tag, did, doomed, user=user, success=f"Deleted tag {doomed}"
            )
            st.rerun()

# ----------------------------------------------------------------------------- rule
rule_cols = [c for c in ds.frame.columns if c != "id"]
with st.expander("Tag by a rule on metadata", icon=":material/rule:"):
    st.caption(
        "Every condition must hold. A tag tells the most when it marks every example "
        "with the property, right or wrong: then its accuracy can be compared."
    )
    conditions = condition_rows("tag_rule", rule_cols, first=1)
    r4, r5, r6 = st.columns([2, 1, 2], vertical_alignment="bottom")
    rule_tag = r4.selectbox(
        "Tag",
        tags,
        key="tag_rule_tag",
        index=None,
        placeholder="Create a tag first" if not tags else "Choose a tag",
    )
    action = r5.radio("Action", ["tag", "untag"], horizontal=True, key="tag_rule_action")
    rule_errors_only = r6.checkbox(
        "Errors only",
        value=False,
        key="tag_rule_errors",
        help="Tag only the examples the model gets wrong: the tag then says nothing about the "
        "examples it gets right, so the tag's accuracy cannot be read",
    )
    if conditions:
        try:
            hit = data.rule_matches(loaded, conditions)
        except DataError as exc:
            state.show_error(exc)
        else:
            if rule_errors_only:
                hit = hit & ~correct
            n_hit = int(hit.sum())
            st.info(
                f"**{n_hit:,}** examples match {code(describe_rule(conditions))}"
                + ("" if rule_errors_only else f" ({int((hit & ~correct).sum()):,} of them errors)")
                + (f"; {action} them as **{md(rule_tag)}**" if rule_tag else ""),
                icon=":material/filter_alt:",
            )
            # The key holds what the button promises: a value typed without Enter and then
            # a click arrive in one run, and must not apply another rule than the one shown.
            promised = hash(
                (describe_rule(conditions), rule_errors_only, rule_tag, action, n_hit, did)
            )
            if st.button(
                f"Apply to {n_hit:,} examples",
                key=f"tag_rule_apply_{promised}",
                type="primary",
                disabled=not (annotate and rule_tag and n_hit),
                help=no_role,
            ):
                # Tagging by a rule makes the tag known where the rule looked (every example,
                # or the errors), as `slicewise tag --db` does; untagging leaves that as it was.
                scope = (
                    ("errors" if rule_errors_only else "all")
                    if action == "tag"
                    else state.read(store.tag_scopes, did).get(rule_tag, "none")
                )
                state.run_write(
                    store.apply_tag_rule,
                    did,
                    tagging.ids_at(ds.frame, hit.nonzero()[0]),
                    rule_tag,
                    action == "tag",
                    scope=scope,
                    user=user,
                    rule=describe_rule(conditions),
                    success=lambda n: f"{n:,} examples changed ({rule_tag})",
                )
                st.rerun()

# ----------------------------------------------------------------------------- sample
sample_rows = review_sample.section(ctx, loaded, correct)

# ----------------------------------------------------------------------------- filters
f1, f2, f3, f4 = st.columns([1, 1, 2, 2])
errors_only = f1.toggle(
    "Errors only",
    value=False,
    key="tag_f_errors",
    help="Hide the examples the model gets right (errors come first anyway)",
)
untagged_only = f2.toggle("Untagged only", key="tag_f_untagged")
tag_filter = f3.multiselect("With tags", tags, key="tag_f_tags", placeholder="Any tag")
search = f4.text_input(
    "Search id, label or prediction", key="tag_f_search", placeholder="words to find"
)
labels = data.distinct_values(loaded, "label")
preds = data.distinct_values(loaded, "prediction")
label_filter = pred_filter = None
if labels is not None or preds is not None:
    g1, g2, _ = st.columns([1, 1, 2])
    if labels is not None:
        widgets.keep_valid("tag_f_label", labels, default=None)
        label_filter = g1.selectbox(
            "Label", labels, index=None, key="tag_f_label", placeholder="Any label"
        )
    if preds is not None:
        widgets.keep_valid("tag_f_pred", preds, default=None)
        pred_filter = g2.selectbox(
            "Prediction", preds, index=None, key="tag_f_pred", placeholder="Any prediction"
        )
with st.expander(
    "Where metadata…",
    icon=":material/filter_alt:",
    expanded=bool(st.session_state.get("tag_f_where_n")),
):
    where = condition_rows("tag_f_where", rule_cols, first=0, add_label="Add a metadata condition")
filters = Filters(
    errors_only=errors_only,
    untagged_only=untagged_only,
    tags=tuple(tag_filter),
    label=label_filter,
    prediction=pred_filter,
    search=search,
    where=tuple(where),
)

# ----------------------------------------------------------------------------- grid options
media_kinds = data.media_kinds(loaded)
images = [c for c, kind in media_kinds.items() if kind == "image"]
has_score = "score" in ds.frame.columns
o1, o2, o3 = st.columns([1, 2, 4], vertical_alignment="bottom")
size = o1.selectbox("Rows per page", (25, 50, 100, 250), index=1, key="tag_page_size")
orders = list(ORDERS) if has_score else ["errors"]
widgets.keep_valid("tag_order", orders)
order = o2.selectbox(
    "Order",
    orders,
    key="tag_order",
    format_func=ORDERS.get,
    disabled=not has_score,
    help="Sort by the model's score (confidence)" if has_score else "The data has no score column",
)
show_key = f"tag_show_cols_{did}"
plain = [c for c in ds.metadata_columns if c not in media_kinds]
st.session_state.setdefault(show_key, images[:2] + plain[:2])
widgets.keep_valid_many(show_key, ds.metadata_columns)
show_cols = o3.multiselect(
    "Show columns",
    ds.metadata_columns,
    key=show_key,
    placeholder="Metadata columns to show",
    help="Image columns show as thumbnails",
)


# ----------------------------------------------------------------------------- the grid
@st.fragment
def grid_and_example(filters: Filters, order: str, size: int, show_cols: tuple[str, ...]) -> None:
    """Coverage, the grid and the example picked in it.

    A fragment: a tick, a pick, a page or a button here reruns only this part of the page
    (what a tick changes), not the filters and forms above.
    """
    loaded = data.load_current(ctx)  # the newest tags (cached per revision)
    # A tick is saved before anything is drawn, so one run both saves it and shows the new
    # state. The ticks are read from the grid the last run drew (its key and the ids of its
    # rows): a grid another session's write made stale still tags the rows it showed.
    # Cells already saved are remembered, so a rerun never saves one twice.
    last = st.session_state.get(SHOWN)
    if last and last["did"] == did:
        edited = (st.session_state.get(last["key"]) or {}).get("edited_rows") or {}
        fresh = tagging.unsaved_edits(edited, last["done"])
        changes = tagging.edits_to_changes(fresh, last["ids"], loaded.tag_names)
        if changes:
            saved = [
                state.run_write(store.set_tag, did, ids, tag, value, user=user)
                for (tag, value), ids in changes.items()
            ]
            if not all(saved):  # redraw the grid from the store: no unsaved tick shown
                last["failed"] = True
            loaded = data.load_current(ctx)
    state.show_flash()  # what the callbacks of this fragment (tag picked rows, undo) said
    ds, tags = loaded.dataset, loaded.tag_names
    correct = data.example_correct(loaded)

    tagged, errors = data.tag_coverage(loaded)
    with summary:
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
            disabled=not annotate,
            help=no_role
            or "Undo your last tag change: a tick, a rule, tagged rows or reviewed marks",
        )

    try:
        positions = data.filtered_positions(loaded, filters, order=order)
    except DataError as exc:  # a bad metadata condition in the filter bar
        state.show_error(exc)
        return
    # "Show only this sample": the review sample's rows. Every key below holds which rows
    # are listed, so a page, a pick or a tick never lands on another list's row.
    listed = (
        filters,
        order,
        size,
        did,
        None if sample_rows is None else hash(sample_rows.tobytes()),
    )
    if sample_rows is not None:
        positions = review_sample.within(positions, sample_rows)
    pages = tagging.page_count(len(positions), size)
    page = st.pagination(pages, key=f"tag_page_{hash(listed)}")
    page_pos = tagging.page_positions(positions, page, size)
    shown_ids = [str(i) for i in tagging.ids_at(ds.frame, page_pos)]

    # The grid is one st.data_editor: tags are checkboxes that save on a tick, and the first
    # column ("Pick") selects rows. st.dataframe reports selected rows but cannot be edited;
    # st.data_editor can be edited but reports no selection. A spreadsheet has both in one
    # grid, so the selection is an editable checkbox column (the same gesture as a
    # dataframe's row-selection box) whose ticks the page keeps, by example id, for the
    # rows shown; the example beside the grid is the one picked last.
    scope = hash((listed, page))
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
    editor_key = (
        f"tag_editor_{did}_{loaded.rev}_{hash((listed, page, show_cols, selection['gen']))}"
    )
    st.session_state["tag_editor_key"] = editor_key
    if last and last["key"] == editor_key:
        edits = (st.session_state.get(editor_key) or {}).get("edited_rows") or {}
        selection["ids"], selection["focus"] = tagging.update_selection(
            selection["ids"],
            selection["focus"],
            tagging.selection_edits(edits, last["ids"]),
            shown_ids,
        )
    st.session_state[SELECTION] = selection
    picked = selection["ids"]

    left, right = st.columns([2, 1], gap="medium")
    with left:
        bar = st.container(horizontal=True, vertical_alignment="bottom")
        bulk_tag = bar.selectbox(
            "Tag picked rows as",
            tags,
            key="tag_bulk_tag",
            index=None,
            placeholder="Choose a tag",
            width=200,
        )
        ready = bool(annotate and picked and bulk_tag)
        bar.button(
            "Tag",
            key="tag_bulk_add",
            icon=":material/sell:",
            on_click=tag_selected,
            args=(True,),
            disabled=not ready,
            type="primary",
            help=no_role or f"Tag the {len(picked):,} picked examples",
        )
        bar.button(
            "Untag",
            key="tag_bulk_remove",
            on_click=tag_selected,
            args=(False,),
            disabled=not ready,
            help=no_role or f"Untag the {len(picked):,} picked examples",
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
        st.caption(
            f"{len(positions):,} examples match ({ORDERS[order].lower()}) · page "
            f"{page} of {pages:,} · {len(picked):,} picked · tick a tag to save it at "
            "once; tick Pick to see an example and to tag several at once"
        )
        thumbs = {
            c: [media.thumbnail(v, db=ctx.db) for v in ds.frame[c].iloc[page_pos]]
            for c in show_cols
            if c in images
        }
        before = tagging.editor_frame(
            ds.frame,
            ds.tags,
            correct,
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
            **{
                t: st.column_config.CheckboxColumn(t.replace("_", " "), default=False) for t in tags
            },
        }
        grid_order = [
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
        editable = {SELECT_COLUMN, *tags} if annotate else {SELECT_COLUMN}
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
        if last is None or last["key"] != editor_key:
            last = {"did": did, "key": editor_key, "ids": shown_ids, "done": {}}
        st.session_state[SHOWN] = last
        st.button(
            f"Mark the {len(shown_ids):,} shown rows as reviewed",
            key="tag_mark_reviewed",
            icon=":material/done_all:",
            on_click=mark_reviewed,
            args=(shown_ids,),
            disabled=not (annotate and shown_ids),
            help=no_role,
        )

    with right:
        if not len(page_pos):
            st.info("No example matches these filters.", icon=":material/filter_alt_off:")
            return
        focus = selection["focus"]
        at = shown_ids.index(focus) if focus in shown_ids else 0
        show_example(loaded, int(page_pos[at]), picked=focus in shown_ids)


# ----------------------------------------------------------------------------- one example
def show_example(loaded: data.Loaded, pos: int, *, picked: bool) -> None:
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
        media.show_media(col, kind, row[col], db=ctx.db)
    meta = {c: row[c] for c in ds.metadata_columns}
    if meta:
        st.dataframe(
            {"column": list(meta), "value": [str(v) for v in meta.values()]},
            hide_index=True,
            placeholder="–",
        )
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
            disabled=not annotate,
            help=no_role,
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
            "Save correction", type="primary", disabled=not annotate, help=no_role
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


grid_and_example(filters, order, size, tuple(show_cols))
