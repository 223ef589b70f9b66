import streamlit as st

from core.errors import DataError
from core.metrics import compute_tag_coverage
from ui import data, media, state, tagging
from ui.tagging import CORRECTED_COLUMN, OPERATORS, STATUS_COLUMN, Filters
from ui.text import code, md

ctx = state.page_start("Tag errors", "Which errors share a cause?", icon=":material/sell:")
loaded = data.require_dataset(ctx)
store, user, did = ctx.store, ctx.user, loaded.dataset_id
ds = loaded.dataset
tags = loaded.tag_names
try:
    correct = data.example_outcomes(loaded)["correct"].to_numpy(dtype=bool)
except DataError as exc:  # the task does not fit the data (e.g. a positive class gone)
    st.error(md(exc), icon=":material/error:")
    st.stop()
corrected_ids = set(loaded.corrections["example_id"].astype(str))

# ----------------------------------------------------------------------------- coverage
tagged, errors = compute_tag_coverage(correct, ds.tags)
m1, m2, m3 = st.columns([1, 1, 3], vertical_alignment="center")
m1.metric("Errors", f"{errors:,}", help="Examples the model gets wrong")
m2.metric("Errors tagged", f"{tagged / errors:.0%}" if errors else "–",
          help="Share of errors with at least one tag")
m3.progress(tagged / errors if errors else 1.0,
            text=f"Coverage: {tagged:,} of {errors:,} errors carry at least one tag"
            + ("" if tagged < errors else " — every error is explained by a tag"))

# ----------------------------------------------------------------------------- manage tags
with st.expander("Tags: create, rename, merge, delete", icon=":material/sell:",
                 expanded=not tags):
    a, b, c, d = st.columns(4)
    with a:
        new_tag = st.text_input("New tag", placeholder="e.g. car_noise", key="tag_new")
        if st.button("Create", key="tag_create", disabled=not new_tag.strip()):
            state.run_write(store.create_tag, did, new_tag.strip(), user=user,
                            success=f"Created tag {new_tag.strip()}")
            st.rerun()
    with b:
        old = st.selectbox("Rename", tags, key="tag_rename_old", index=None,
                           placeholder="Choose a tag")
        new = st.text_input("to", key="tag_rename_new")
        if st.button("Rename", key="tag_rename", disabled=not (old and new.strip())):
            state.run_write(store.rename_tag, did, old, new.strip(), user=user,
                            success=f"Renamed {old} to {new.strip()}")
            st.rerun()
    with c:
        sources = st.multiselect("Merge", tags, key="tag_merge_sources",
                                 placeholder="Tags to merge")
        target = st.text_input("into (existing or new tag)", key="tag_merge_target")
        if st.button("Merge", key="tag_merge", disabled=not (sources and target.strip())):
            state.run_write(store.merge_tags, did, sources, target.strip(), user=user,
                            success=f"Merged {', '.join(sources)} into {target.strip()}")
            st.rerun()
    with d:
        doomed = st.selectbox("Delete", tags, key="tag_delete_name", index=None,
                              placeholder="Choose a tag")
        sure = st.checkbox("Yes, remove it from every example", key="tag_delete_sure")
        if st.button("Delete", key="tag_delete", disabled=not (doomed and sure)):
            state.run_write(store.delete_tag, did, doomed, user=user,
                            success=f"Deleted tag {doomed}")
            st.rerun()

# ----------------------------------------------------------------------------- rule
with st.expander("Tag by a rule on metadata", icon=":material/rule:"):
    rule_cols = [c for c in ds.frame.columns if c != "id"]
    r1, r2, r3 = st.columns([2, 1, 2])
    column = r1.selectbox("Column", rule_cols, key="tag_rule_column")
    op = r2.selectbox("Operator", OPERATORS, key="tag_rule_op")
    value = r3.text_input("Value", key="tag_rule_value", placeholder="e.g. car_kit or 5")
    r4, r5, r6 = st.columns([2, 1, 2], vertical_alignment="bottom")
    rule_tag = r4.selectbox("Tag", tags, key="tag_rule_tag", index=None,
                            placeholder="Create a tag first" if not tags else "Choose a tag")
    action = r5.radio("Action", ["tag", "untag"], horizontal=True, key="tag_rule_action")
    errors_only = r6.checkbox("Errors only", value=True, key="tag_rule_errors")
    if value.strip() and column:
        try:
            hit = data.rule_matches(loaded, column, op, value)
        except DataError as exc:
            st.error(md(exc))
        else:
            if errors_only:
                hit = hit & ~correct
            n_hit = int(hit.sum())
            st.info(f"**{n_hit:,}** examples match {code(f'{column} {op} {value}')}"
                    + ("" if errors_only else f" ({int((hit & ~correct).sum()):,} of them errors)")
                    + (f"; {action} them as **{md(rule_tag)}**" if rule_tag else ""),
                    icon=":material/filter_alt:")
            if st.button(f"Apply to {n_hit:,} examples", key="tag_rule_apply", type="primary",
                         disabled=not (rule_tag and n_hit)):
                ids = tagging.ids_at(ds.frame, hit.nonzero()[0])
                state.run_write(store.set_tag, did, ids, rule_tag, action == "tag", user=user,
                                success=lambda n: f"{n:,} examples changed ({rule_tag})")
                st.rerun()

# ----------------------------------------------------------------------------- filters
f1, f2, f3, f4 = st.columns([1, 1, 2, 2])
errors_only = f1.toggle("Errors only", value=True, key="tag_f_errors")
untagged_only = f2.toggle("Untagged only", key="tag_f_untagged")
tag_filter = f3.multiselect("With tags", tags, key="tag_f_tags", placeholder="Any tag")
search = f4.text_input("Search id, label or prediction", key="tag_f_search",
                       placeholder="words to find")
labels = data.distinct_values(loaded, "label")
preds = data.distinct_values(loaded, "prediction")
label_filter = pred_filter = None
if labels is not None or preds is not None:
    g1, g2, _ = st.columns([1, 1, 2])
    if labels is not None:
        label_filter = g1.selectbox("Label", labels, index=None, key="tag_f_label",
                                    placeholder="Any label")
    if preds is not None:
        pred_filter = g2.selectbox("Prediction", preds, index=None, key="tag_f_pred",
                                   placeholder="Any prediction")
filters = Filters(errors_only=errors_only, untagged_only=untagged_only, tags=tuple(tag_filter),
                  label=label_filter, prediction=pred_filter, search=search)
positions = data.filtered_positions(loaded, filters)

# ----------------------------------------------------------------------------- table
p1, p2 = st.columns([1, 4], vertical_alignment="bottom")
size = p1.selectbox("Rows per page", (25, 50, 100, 250), index=1, key="tag_page_size")
pages = tagging.page_count(len(positions), size)
with p2:
    page = st.pagination(pages, key=f"tag_page_{hash((filters, size, did))}")
page_pos = tagging.page_positions(positions, page, size)
st.caption(f"{len(positions):,} examples match the filters (errors first) · page {page} of "
           f"{pages:,} · tick a tag to save it at once")
before = tagging.editor_frame(ds.frame, ds.tags, correct, page_pos, corrected_ids,
                              show_human=ds.has_human)
config = {
    "id": st.column_config.TextColumn("id", pinned=True),
    "label": st.column_config.TextColumn("Label", width="medium"),
    "prediction": st.column_config.TextColumn("Prediction", width="medium"),
    "human": st.column_config.TextColumn("Human label"),
    STATUS_COLUMN: st.column_config.CheckboxColumn("✓", help="The model is right",
                                                   width="small"),
    CORRECTED_COLUMN: st.column_config.CheckboxColumn(
        "✎", help="The label was corrected", width="small"),
    **{t: st.column_config.CheckboxColumn(t.replace("_", " "), default=False) for t in tags},
}
editor_key = f"tag_editor_{did}_{loaded.rev}_{hash((filters, size, page))}"
st.session_state["tag_editor_key"] = editor_key
# A tick on a table that another session's write has made stale arrives under the table's
# old key (the key holds the revision), so the new table would drop it: apply it to the rows
# that table showed.
last = st.session_state.pop("tag_editor_shown", None)
stale = {}
if last and last["key"] != editor_key and not last["applied"]:
    edits = st.session_state.get(last["key"]) or {}
    stale = tagging.edits_to_changes(edits.get("edited_rows") or {}, last["ids"], tags)
order = ["id", "label", "prediction", *tags, STATUS_COLUMN, CORRECTED_COLUMN, "human"]
after = st.data_editor(before, key=editor_key, hide_index=True, column_config=config,
                       column_order=[c for c in order if c in before.columns],
                       disabled=[c for c in before.columns if c not in tags], num_rows="fixed",
                       height=min(38 + 35 * max(len(before), 1), 600))
changes = tagging.tag_changes(before, after, tags)
for change, ids in stale.items():
    changes.setdefault(change, []).extend(ids)
st.session_state["tag_editor_shown"] = {"key": editor_key, "ids": before["id"].tolist(),
                                        "applied": bool(changes)}
if changes:
    ok = all(state.run_write(store.set_tag, did, ids, tag, value, user=user)
             for (tag, value), ids in changes.items())
    if ok:
        st.rerun()
    state.show_flash()  # not saved: say why here (a rerun would retry the same edit)

# ----------------------------------------------------------------------------- one example
if not len(page_pos):
    st.info("No example matches these filters.", icon=":material/filter_alt_off:")
    st.stop()
st.subheader("One example")
page_ids = before["id"].tolist()
chosen = st.selectbox("Example", range(len(page_ids)), key=f"tag_example_{editor_key}",
                      format_func=lambda i: f"{page_ids[i]} — {before['label'].iat[i]}")
row = ds.frame.iloc[int(page_pos[chosen])]
left, right = st.columns([3, 2])
with left:
    if loaded.task.kind == "text":
        st.markdown("**Label → prediction** (~~missed words~~, **wrongly predicted words**)")
        st.markdown(tagging.word_diff_markdown(row["label"], row["prediction"]))
    else:
        st.markdown(f"**Label:** {code(row['label'])} · **Prediction:** {code(row['prediction'])}")
    if ds.has_human:
        st.caption(f"Human label: {md(row['human'])}")
    for col, kind in tagging.media_columns(ds.frame, ds.metadata_columns).items():
        media.show_media(col, kind, row[col], db=ctx.db)
    meta = {c: row[c] for c in ds.metadata_columns}
    if meta:
        st.dataframe({"column": list(meta), "value": [str(v) for v in meta.values()]},
                     hide_index=True, placeholder="–")
with right:
    example_id = str(row["id"])
    if example_id in corrected_ids:
        fix = loaded.corrections[loaded.corrections["example_id"].astype(str) == example_id]
        fix = fix.iloc[-1]
        st.info(f"Label corrected by {md(fix['user'])} from {code(fix['original'])} to "
                f"{code(fix['corrected'])}" + (f": {md(fix['reason'])}" if fix["reason"] else ""),
                icon=":material/edit_note:")
        if st.button("Revert to the original label", key=f"tag_revert_{example_id}"):
            state.run_write(store.revert_correction, did, row["id"], user=user,
                            success=f"Restored the original label of {example_id}")
            st.rerun()
    with st.form(f"tag_correct_{example_id}", border=True):
        st.markdown("**Correct the label**")
        new_label = st.text_input("Correct label", value=str(row["label"]),
                                  key=f"tag_new_label_{example_id}")
        reason = st.text_input("Reason", placeholder="e.g. inconsistent transcription rule",
                               key=f"tag_reason_{example_id}")
        if st.form_submit_button("Save correction", type="primary"):
            if new_label.strip() == str(row["label"]).strip():
                st.warning("The new label is the same as the current one.")
            else:
                state.run_write(store.correct_label, did, row["id"], new_label.strip(),
                                user=user, reason=reason,
                                success=f"Corrected the label of {example_id}")
                st.rerun()
