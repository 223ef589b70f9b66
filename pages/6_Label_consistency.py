import dataclasses
import hashlib
from pathlib import Path

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.access import ANNOTATOR, OWNER
from slicewise.core.charts import kappa_heatmap
from slicewise.core.demo import DEMO_ANNOTATIONS, DEMO_PROJECT
from slicewise.core.errors import DataError
from slicewise.core.report import to_safe_csv
from slicewise.ui import agreement as ua
from slicewise.ui import data, state, widgets
from slicewise.ui.text import md

LABEL_PROJECT = "Label review"  # where labels are saved when there is no project yet

ctx = state.page_start(
    "Label consistency", "Do our annotators agree on the labels?", icon=":material/groups:"
)
store = ctx.store
SAVED, DEMO, UPLOAD = "Saved annotation set", "Demo annotations", "Upload a label file"
PENDING_SET = "_agree_pending_set"
NO_COLUMNS = pd.DataFrame(columns=["item", "decision", "note", "user", "at"])
NO_SETS = pd.DataFrame(columns=["id", "project_id", "name", "content_hash"])


def _save_set(
    project_name: str | None,
    name: str,
    labels,
    source_name: str,
    content_hash: str,
    link_id: int | None,
) -> None:
    """Save the labels as an annotation set and open it (the next run shows it)."""
    try:
        project = (
            ctx.project_id
            if project_name is None
            else store.get_or_create_project(project_name, user=ctx.user)
        )
        set_id = store.save_annotation_set(
            project,
            name,
            labels,
            source_name=source_name,
            content_hash=content_hash,
            user=ctx.user,
            linked_dataset_id=link_id,
        )
    except DataError as exc:
        state.show_error(exc)
        return
    st.session_state[PENDING_SET] = set_id
    state.flash(f"Saved the annotation set {name!r}: review decisions are now stored")
    st.rerun()


def _save_decision(set_id: int, item: str, d_key: str, n_key: str, next_item: str | None) -> None:
    """Save the reviewer's decision on one item, then move to the next one to review.

    ``item`` is the item whose votes the form showed (the button's own argument, from the
    run that drew them); the decision and note widgets are keyed by it. Should the Item box
    have sent another item with this click, nothing is saved.
    """
    if st.session_state.get("agree_item") not in (None, item):
        state.flash(
            f"The item changed to {st.session_state['agree_item']} before Save: "
            f"nothing was saved for {item}. Check its votes and save again.",
            "warning",
        )
        return
    decision = st.session_state.get(d_key)
    note = st.session_state.get(n_key) or ""
    if decision is None and not note.strip():
        state.flash("Choose a decision or write a note first", "warning")
        return
    saved = state.run_write(
        store.save_review_decision,
        set_id,
        item,
        decision=decision,
        note=note,
        user=state.current_user(),
        success=f"Saved {decision or 'a note'} for {item}",
    )
    if saved and next_item is not None:
        st.session_state["agree_item"] = next_item


def _apply_hlp(set_id: int, dataset_id: int, values: dict[str, float]) -> None:
    """Save the annotators' per-tag HLP into the dataset's tag settings and select it."""
    if state.run_write(
        store.apply_annotation_hlp,
        set_id,
        dataset_id,
        values,
        user=state.current_user(),
        success=f"Saved the HLP of {len(values)} tag(s) for Slices vs HLP",
    ):
        state.select_dataset(dataset_id)


# ----------------------------------------------------------------------------- labels
if PENDING_SET in st.session_state:  # a set was just saved: open it
    st.session_state["agree_source"] = SAVED
    st.session_state["agree_set"] = st.session_state.pop(PENDING_SET)
project_rows = state.read(store.list_projects, ctx.user)  # once roles apply: the user's own
# A damaged store: the saved sets are left out (with the message); demo and uploads still work.
sets = state.read(store.list_annotation_sets, otherwise=NO_SETS, what="The saved annotation sets")
sets = sets[sets["project_id"].isin(project_rows["id"])]
projects = dict(zip(project_rows["id"].astype(int), project_rows["name"].astype(str), strict=True))
datasets = state.read(store.list_datasets)
datasets = datasets[datasets["project_id"].isin(project_rows["id"])]
dataset_names = dict(zip(datasets["id"].astype(int), datasets["name"].astype(str), strict=True))
sources = ([SAVED] if len(sets) else []) + [DEMO, UPLOAD]
widgets.keep_valid("agree_source", sources)
source = st.radio(
    "Labels",
    sources,
    horizontal=True,
    key="agree_source",
    help="A saved annotation set keeps its review decisions. Long form: one row "
    "per (item, annotator, label), optionally time and comment. Wide form: "
    "one row per item, one column per annotator.",
)
set_row = None
try:
    if source == SAVED:
        ids = [int(i) for i in sets["id"]]
        rows = {int(r.id): r for r in sets.itertuples(index=False)}
        mine = [i for i in ids if int(rows[i].project_id) == ctx.project_id]
        chosen = widgets.selectbox(
            st,
            "Annotation set",
            ids,
            key="agree_set",
            index=ids.index(mine[0]) if mine else 0,
            format_func=lambda i: ua.set_label(rows[i], projects),
        )
        set_row = rows[int(chosen)]
        ann = ua.saved_labels(
            ctx.db, int(set_row.id), str(set_row.content_hash), str(set_row.source_name)
        )
        st.caption(
            f"From {md(set_row.source_name)}, saved by {md(set_row.created_by)} on "
            f"{str(set_row.created_at)[:10]}. Review decisions are stored with your "
            "name."
        )
    elif source == DEMO:
        ann = ua.demo_labels()
        same = sets[sets["content_hash"] == ann.content_hash]
        if len(same):
            set_row = next(same.itertuples(index=False))
            project = projects.get(int(set_row.project_id), "?")
            st.caption(
                "Five annotators labelled 300 phone images from the inspection demo "
                f"(3-5 labels each), saved as the annotation set {md(repr(set_row.name))}"
                f" of project {md(project)}."
            )
        else:
            st.caption(
                "Five annotators labelled 300 phone images from the inspection demo "
                "(3-5 labels each); the items are ids of the demo predictions."
            )
    else:
        upload = st.file_uploader(
            "A CSV, TSV, Parquet or Excel .xlsx file of labels (also "
            ".gz, .bz2 or a .zip holding one)",
            type=["csv", "tsv", "txt", "tab", "parquet", "pq", "xlsx", "gz", "bz2", "zip"],
            key="agree_upload",
        )
        if upload is None:
            st.info(
                "Upload a label file, or look at the demo annotations first.",
                icon=":material/info:",
            )
            st.stop()
        raw = upload.getvalue()
        cols = ua.columns_of(upload.name, upload.file_id, _data=raw)
        with st.expander("Columns (detected from their names)"):
            c1, c2, c3, c4 = st.columns(4)
            detect = "(detect)"
            layout = c1.selectbox("Layout", ua.LEVELS, key="agree_layout")
            # the column lists change with the file: a column of the last file is dropped
            item = widgets.selectbox(c2, "Item id", [detect, *cols], key="agree_item_col")
            who = widgets.selectbox(
                c3, "Annotator (long form)", [detect, *cols], key="agree_ann_col"
            )
            lab = widgets.selectbox(c4, "Label (long form)", [detect, *cols], key="agree_label_col")
        options = tuple(
            (k, None if v == detect else v)
            for k, v in (("item", item), ("annotator", who), ("label", lab))
        ) + (("layout", layout),)
        ann = ua.read_labels(upload.name, upload.file_id, options, _data=raw)
except DataError as exc:
    state.show_error(exc)
    st.stop()
for warning in ann.warnings:
    st.warning(md(warning), icon=":material/warning:")
fp = ann.fingerprint()
set_id = int(set_row.id) if set_row is not None else None

if set_id is None:  # offer to save the labels, so decisions can be stored
    labels_key = ann.content_hash[:16]
    # The project: the demo's for the demo labels; for a file, the open project when its
    # dataset holds the labelled items, else a new project named after the file.
    if source == DEMO:
        default_project = DEMO_PROJECT
    else:
        default_project = Path(ann.source_name).stem or LABEL_PROJECT
        current = (
            state.read(data.load_current, ctx, otherwise=None, what="The selected dataset")
            if ctx.dataset_id is not None and ctx.project_id in projects
            else None
        )
        if (
            current is not None
            and ann.labels["item"].astype(str).isin(current.dataset.frame["id"].astype(str)).any()
        ):
            default_project = projects[ctx.project_id]
    project_names = sorted(set(projects.values()) | {default_project}, key=str.casefold)
    with st.expander(
        "Save these labels as an annotation set to review them",
        icon=":material/save:",
        expanded=source == UPLOAD,
    ):
        c0, c1, c2, c3 = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
        # Keyed by the labels: a keyed widget ignores a new default, so another file (or the
        # demo) must not keep the project, name and link chosen for the last one.
        project_label = widgets.selectbox(
            c0,
            "Project",
            project_names,
            index=project_names.index(default_project),
            key=f"agree_save_project_{labels_key}",
            format_func=lambda n: n if n in projects.values() else f"{n} (new)",
            help="Where the annotation set and its review decisions are kept",
        )
        target_project = next((i for i, n in projects.items() if n == project_label), None)
        in_project = (
            [int(i) for i in datasets.loc[datasets["project_id"] == target_project, "id"]]
            if target_project is not None
            else []
        )
        if source == DEMO:
            default_link = next(
                (i for i in in_project if dataset_names[i] == DEMO_ANNOTATIONS[2]), None
            )
            default_name = DEMO_ANNOTATIONS[0]
        else:
            default_link = ctx.dataset_id if ctx.dataset_id in in_project else None
            default_name = Path(ann.source_name).stem or "labels"
        set_name = c1.text_input("Name", value=default_name, key=f"agree_save_name_{labels_key}")
        link_choices = [None, *in_project]
        link_id = widgets.selectbox(
            c2,
            "Its items are ids of",
            link_choices,
            index=link_choices.index(default_link),
            key=f"agree_save_link_{labels_key}_{target_project}",
            format_func=lambda i: "no dataset" if i is None else dataset_names[i],
            help="A dataset of the project whose examples were labelled (ground truth, "
            "predictions, tags)",
        )
        # A new project: anyone, who owns it; an existing one: its owners.
        may_save = target_project is None or state.allowed(store, target_project, ctx.user, OWNER)
        if c3.button(
            "Save annotation set",
            key="agree_save_set",
            icon=":material/save:",
            disabled=not may_save,
            help=None if may_save else state.needs(OWNER),
        ):
            _save_set(
                project_label, set_name, ann.labels, ann.source_name, ann.content_hash, link_id
            )
        st.caption(
            f"Saved in project {md(project_label)}"
            + ("" if target_project is not None else " (created on saving)")
            + ". Review decisions are then stored with your name and survive a restart."
        )

# ----------------------------------------------------------------------------- link
linked_id = None
if set_row is not None and pd.notna(set_row.linked_dataset_id):
    linked_id = int(set_row.linked_dataset_id)
LINKED = f"Linked dataset: {dataset_names.get(linked_id, '')}"
link_options = [ua.NO_LINK]
if linked_id is not None:
    link_options.append(LINKED)
if ctx.dataset_id is not None and ctx.dataset_id != linked_id:
    link_options.append("Selected dataset")
link_options.append(ua.DEMO_LINK)
if linked_id is not None:
    default = LINKED
elif source == DEMO:
    default = ua.DEMO_LINK
else:
    default = "Selected dataset" if "Selected dataset" in link_options else ua.NO_LINK
choice = widgets.selectbox(
    st,
    "Link the items to predictions (ground truth, model prediction, tags)",
    link_options,
    index=link_options.index(default),
    key="agree_link",
)
linked = None
link_key = ua.NO_LINK
target_id = None  # the stored dataset the items are linked to
link_data = None  # the linked dataset (its image, audio or text is shown in the queue)
try:
    if choice in ("Selected dataset", LINKED):
        target_id = ctx.dataset_id if choice == "Selected dataset" else linked_id
        loaded = data.load_current(dataclasses.replace(ctx, dataset_id=target_id))
        link_key = f"store:{loaded.key}"
        linked = ua.link(fp, link_key, _labels=ann.labels, _dataset=loaded.dataset)
        link_data = loaded.dataset
    elif choice == ua.DEMO_LINK:
        link_key = "demo"
        link_data = ua.demo_predictions()
        linked = ua.link(fp, link_key, _labels=ann.labels, _dataset=link_data)
except DataError as exc:
    st.warning(f"Not linked: {md(state.error_text(exc))}", icon=":material/link_off:")
    target_id, link_key, link_data = None, ua.NO_LINK, None
if linked is not None:
    for warning in linked.warnings:
        st.caption(md(warning))

# ----------------------------------------------------------------------------- rules
with st.sidebar:
    st.markdown("**Standardise labels**")
    result0 = ua.analysis(fp, ua.RuleChoice(), link_key, _labels=ann.labels, _linked=linked)
    widgets.keep_valid_many("agree_merge", result0["classes_list"])
    merge = st.multiselect(
        "Merge classes",
        result0["classes_list"],
        key="agree_merge",
        help="e.g. deep scratch + shallow scratch → scratch",
    )
    target = st.text_input(
        "into",
        key="agree_merge_target",
        placeholder=" + ".join(merge) if merge else "merged class name",
    )
    lowercase = st.checkbox("Lower-case", key="agree_lower")
    punct = st.checkbox("Drop punctuation", key="agree_punct")
    repl = st.text_area(
        "Replacements (one per line, before -> after)",
        key="agree_repl",
        placeholder="Umm, -> Um,",
        height=80,
    )
    apply_all = st.toggle("Show the page with the rules applied", key="agree_apply")
rules = ua.RuleChoice(
    merge=tuple(merge),
    target=(target or " + ".join(merge)).strip(),
    lowercase=lowercase,
    strip_punctuation=punct,
    replacements=ua.parse_replacements(repl),
)
labels = ann.labels
if rules.active and apply_all:
    labels, _ = ua.cleaned(fp, rules, _labels=ann.labels)
result = ua.analysis(
    fp, rules if apply_all else ua.RuleChoice(), link_key, _labels=labels, _linked=linked
)

# ----------------------------------------------------------------------------- metrics
fig = result["figures"]
st.markdown(
    f"**{fig['items']:,}** items · **{fig['annotators']}** annotators · "
    f"**{fig['labels_total']:,}** labels · **{fig['classes']}** classes · "
    f"**{fig['n_disagreements']:,}** items with disagreement ({fig['n_ties']} tied)"
    + (" · *rules applied*" if rules.active and apply_all else "")
)
summary = result["summary"]
cols = st.columns(len(ua.KEY_METRICS))
for col, key in zip(cols, ua.KEY_METRICS, strict=True):
    if key in summary.index:
        row = summary.loc[key]
        col.metric(
            row["name"],
            ua.fmt(row["value"]),
            help=row["definition"],
            delta=None
            if key == "percent_agreement" or pd.isna(row["observed_agreement"])
            else f"raw {ua.fmt(row['observed_agreement'], 2)}",
            delta_color="off",
            delta_arrow="off",
        )
if result["caution"]:
    st.warning(md(result["caution"]), icon=":material/balance:")
st.dataframe(
    ua.summary_view(summary),
    hide_index=True,
    placeholder="–",
    column_config=ua.SUMMARY_CONFIG,
    key="agree_summary",
)

tab_ann, tab_cls, tab_queue, tab_tags, tab_rules = st.tabs(
    ["Annotators", "Classes", "Review queue", "HLP per tag", "Standardise & export"]
)

with tab_ann:
    left, right = st.columns([4, 3])
    view = ua.annotator_view(result["annotators"])
    left.dataframe(
        view,
        hide_index=True,
        key="agree_annotators",
        column_config={
            **ua.percent_config([c for c in view.columns if "agreement" in c or c == "accuracy"]),
            "mean kappa": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    left.caption(
        "Agreement with consensus: share of an annotator's labels equal to the other "
        "annotators' majority (the annotator's own vote left out). Lowest first: "
        "talk to them about the labelling instructions."
    )
    if len(result["kappa"]) <= 40:
        right.plotly_chart(kappa_heatmap(result["kappa"]), key="agree_kappa_chart")
    else:
        right.caption(f"{len(result['kappa'])} annotators: too many for a readable heatmap.")

with tab_cls:
    st.markdown("**Classes annotators confuse** — candidates to merge, or to define better")
    pairs = ua.confused_view(result["confused"])
    st.dataframe(
        pairs.head(20),
        hide_index=True,
        placeholder="–",
        key="agree_confused",
        column_config={
            "share of disagreement": ua.PERCENT,
            "observed / chance": st.column_config.NumberColumn(format="%.2f"),
            "alpha if merged": st.column_config.NumberColumn(format="%.3f"),
            "alpha change": st.column_config.NumberColumn(format="%+.3f"),
        },
    )
    st.markdown("**Per class**")
    classes = result["classes"].reset_index()
    classes["share"] = 100 * classes["share"]
    classes["specific_agreement"] = 100 * classes["specific_agreement"]
    st.dataframe(
        classes,
        hide_index=True,
        placeholder="–",
        key="agree_classes",
        column_config={
            **ua.percent_config(["share", "specific_agreement"]),
            "alpha_vs_rest": st.column_config.NumberColumn(format="%.3f"),
        },
    )

with tab_queue:
    queue = result["queue"]
    annotators = result["annotator_list"]
    # A damaged store: no decisions (the message says why), and none can be saved.
    made = (
        state.read(store.review_decisions, set_id, otherwise=None, what="The review decisions")
        if set_id is not None
        else NO_COLUMNS
    )
    unreadable, made = made is None, NO_COLUMNS if made is None else made
    resolved = ua.resolved_items(made)
    done, progress = ua.progress_text(queue, made)
    st.progress(done / len(queue) if len(queue) else 1.0, text=progress)
    if set_id is None:
        st.info(
            "Save these labels as an annotation set (above) to record review decisions: "
            "they are stored with your name and survive a restart.",
            icon=":material/save:",
        )

    f1, f2, f3 = st.columns([2, 2, 3])
    pairs = {f"{a} / {b}": (a, b) for a, b in ua.pair_options(result["confused"])}
    pair_names = [ua.ALL_PAIRS, *pairs]
    pair = widgets.selectbox(
        f1,
        "Class pair",
        pair_names,
        key="agree_pair",
        help="Items labelled with both classes, pairs annotators confuse most first",
    )
    tag_names = [str(t) for t in linked.tags.columns] if linked is not None else []
    tag = widgets.selectbox(
        f2,
        "Tag",
        [ua.ALL_TAGS, *tag_names],
        key="agree_tag",
        disabled=not tag_names,
        help="Items carrying a tag of the linked dataset"
        if tag_names
        else "Link the items to a dataset with tags to filter by tag",
    )
    status = f3.radio("Show", ua.STATUSES, horizontal=True, key="agree_status")
    tag_items = None
    if tag != ua.ALL_TAGS and linked is not None:
        tag_items = linked.tags.index[linked.tags[tag].to_numpy(dtype=bool)]
    shown = ua.filter_queue(
        queue,
        annotators,
        pair=pairs.get(pair),
        tag_items=tag_items,
        status=status,
        resolved=resolved,
    )
    if len(shown) != len(queue):
        st.caption(
            f"{len(shown):,} of {len(queue):,} items match the filters "
            f"({len(set(shown['item'].astype(str)) & resolved):,} resolved)."
        )
    rev = (
        len(state.read(store.review_decisions, set_id, history=True, otherwise=NO_COLUMNS))
        if set_id is not None and not unreadable
        else 0
    )
    latest = made.set_index(made["item"].astype(str))

    # Reviewing writes decisions in the set's project: an annotator's work there.
    review = set_id is not None and state.allowed(
        store, int(set_row.project_id), ctx.user, ANNOTATOR
    )
    if set_id is not None and len(shown):
        st.markdown("**Review one item**")
        items = shown["item"].astype(str).tolist()
        example_table, example_kinds = (
            ua.examples(link_key, _dataset=link_data) if link_data is not None else (None, {})
        )
        form, beside = st.columns([2, 1]) if example_kinds else (st.container(), None)
        c1, c2 = form.columns([1, 3], vertical_alignment="bottom")
        # The items change with the filters: the box shows, and the form below acts on, an
        # item of the current list (a stale one is replaced before the box is drawn).
        item = widgets.selectbox(
            c1,
            "Item",
            items,
            key="agree_item",
            format_func=lambda i: f"{i} ✓" if i in resolved else i,
        )
        row = shown.set_index(shown["item"].astype(str)).loc[item]
        c2.markdown(ua.item_votes(row, annotators))
        current = latest.loc[item] if item in latest.index else None
        now = current["decision"] if current is not None else None
        options = ua.decision_options(row, annotators, result["classes_list"], now)
        later = [i for i in items[items.index(item) + 1 :] if i not in resolved]
        # The decision and note widgets belong to the item shown: their keys hold it.
        d_key, n_key = f"agree_decide_{set_id}_{item}_{rev}", f"agree_note_{set_id}_{item}_{rev}"
        c1, c2, c3 = form.columns([4, 4, 3], vertical_alignment="bottom")
        c1.selectbox(
            "Decision",
            options,
            key=d_key,
            index=options.index(now) if now in options else None,
            placeholder="the right label, or borderline",
            accept_new_options=True,
            help=f"The right label, or '{ag.BORDERLINE}' when the item is ambiguous",
        )
        c2.text_input(
            "Note for the labelling instructions",
            key=n_key,
            value=current["note"] if current is not None else "",
        )
        c3.button(
            "Save decision",
            key="agree_save_decision",
            type="primary",
            icon=":material/check:",
            on_click=_save_decision,
            disabled=not review,
            help=None if review else state.needs(ANNOTATOR),
            args=(set_id, item, d_key, n_key, later[0] if later else None),
        )
        if current is not None:
            form.caption(f"Decided by {md(ua._by(current['user'], current['at']))}")
        if beside is not None:
            with beside:
                ua.show_example(item, example_table, example_kinds, db=ctx.db)

    size = st.select_slider(
        "Items shown", [25, 50, 100, 200, 500], value=50, key="agree_queue_size"
    )
    view = ua.queue_view(shown.head(size), annotators, made)
    options = list(
        dict.fromkeys(
            [
                *result["classes_list"],
                ag.BORDERLINE,
                *[d for d in made["decision"] if isinstance(d, str)],
            ]
        )
    )
    editable = set_id is not None and review
    digest = hashlib.sha256("\x1f".join(view["item"].astype(str)).encode()).hexdigest()[:10]
    editor_key = f"agree_queue_{set_id or fp}_{size}_{rev}_{digest}"
    # An edit made on a table that another reviewer's save has made stale arrives under the
    # table's old key (the key holds the count of decisions), so the new table would drop
    # it: apply it to the rows that table showed.
    last = st.session_state.pop("agree_queue_shown", None)
    stale = []
    if (
        editable
        and last
        and last["key"] != editor_key
        and not last["applied"]
        and last["set"] == set_id
    ):
        edits = st.session_state.get(last["key"]) or {}
        stale = ua.stale_decisions(edits.get("edited_rows") or {}, last["rows"])
    edited = st.data_editor(
        view,
        hide_index=True,
        key=editor_key,
        num_rows="fixed",
        disabled=[c for c in view.columns if not editable or c not in ("decision", "note")],
        column_config={
            "entropy": st.column_config.NumberColumn(
                "Vote entropy", format="%.2f", help="0 = unanimous; higher = more contested"
            ),
            "decision": st.column_config.SelectboxColumn(
                "Decision", options=options, help="The right label, or 'borderline'"
            ),
            "note": st.column_config.TextColumn("Note"),
            "by": st.column_config.TextColumn("Decided by"),
        },
    )
    changes = (ua.edited_decisions(view, edited) if editable else []) + stale
    st.session_state["agree_queue_shown"] = {
        "key": editor_key,
        "set": set_id,
        "applied": bool(changes),
        "rows": view[["item", "decision", "note"]].to_dict("records"),
    }
    if changes:
        ok = all(
            state.run_write(
                store.save_review_decision, set_id, i, decision=d, note=n, user=ctx.user
            )
            for i, d, n in changes
        )
        if ok:
            state.flash(f"Saved {len(changes)} review decision(s)")
            st.rerun()
        state.show_flash()
    st.caption(
        f"{len(queue):,} items with disagreement, most contested first. Pick the right "
        f"label, mark the item '{ag.BORDERLINE}', or leave a note for the labelling "
        "instructions."
    )

with tab_tags:
    if linked is None:
        st.info("Link the items to predictions to see HLP per tag.", icon=":material/link:")
    st.dataframe(
        ua.slice_view(result["by_slice"]),
        hide_index=True,
        placeholder="–",
        key="agree_slices",
        column_config={
            **ua.percent_config(
                ["percent agreement", "HLP", "model accuracy", "model agrees with annotators"]
            ),
            "alpha": st.column_config.NumberColumn(format="%.3f"),
            "AC1": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.caption(
        "HLP: annotators' accuracy against the ground truth when there is one, "
        "otherwise the chance that two random annotators agree. When the ground truth "
        "is itself a human label, raising label consistency raises HLP."
    )
    values = ua.hlp_to_apply(result["by_slice"], tag_names)
    why = None
    if set_id is None:
        why = "Save the labels as an annotation set first"
    elif target_id is None:
        why = "Link the items to a stored dataset (the set's linked dataset or the selected one)"
    elif not values:
        why = "No tag of the linked dataset has annotated items"
    else:
        owner_of = dict(
            zip(datasets["id"].astype(int), datasets["project_id"].astype(int), strict=True)
        )
        if target_id not in owner_of or not state.allowed(
            store, owner_of[target_id], ctx.user, ANNOTATOR
        ):
            why = state.needs(ANNOTATOR)
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    c1.button(
        "Use as HLP on Slices vs HLP",
        key="agree_use_hlp",
        icon=":material/person:",
        disabled=why is not None,
        on_click=_apply_hlp,
        args=(set_id, target_id, values),
        help=why
        or f"Saves the HLP of {len(values)} tag(s) into the tag settings of "
        f"{dataset_names.get(target_id, 'the dataset')}",
    )
    if values:
        c2.caption("HLP to save: " + ", ".join(f"{t} {100 * v:.1f}%" for t, v in values.items()))
    elif why:
        c2.caption(why + ".")

with tab_rules:
    if not rules.active:
        st.info(
            "Choose classes to merge or a normalisation in the sidebar to preview how "
            "every metric changes.",
            icon=":material/merge:",
        )
    else:
        st.markdown(f"**Rules:** {md('; '.join(r.name for r in rules.rules()))}")
        prev = ua.preview(fp, rules, _labels=ann.labels)
        st.dataframe(
            prev.reset_index(drop=True),
            hide_index=True,
            placeholder="–",
            key="agree_preview",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in ("before", "after")
            }
            | {"change": st.column_config.NumberColumn(format="%+.3f")},
        )
        clean, log = ua.cleaned(fp, rules, _labels=ann.labels)
        labels_csv, log_csv = ag.changelog_csv(clean, log)
        c1, c2 = st.columns(2)
        c1.download_button(
            "Cleaned labels (CSV)",
            labels_csv,
            "labels_cleaned.csv",
            "text/csv",
            key="agree_dl_labels",
            icon=":material/download:",
        )
        c2.download_button(
            f"Change log: {len(log):,} changes (CSV)",
            log_csv,
            "labels_changelog.csv",
            "text/csv",
            key="agree_dl_log",
            icon=":material/download:",
        )
    made = (
        state.read(
            store.review_decisions, set_id, otherwise=NO_COLUMNS, what="The review decisions"
        )
        if set_id is not None
        else NO_COLUMNS
    )
    c1, c2 = st.columns(2)
    c1.download_button(
        f"Review decisions: {len(made)} (CSV)",
        to_safe_csv(made),
        "review_decisions.csv",
        "text/csv",
        key="agree_dl_decisions",
        icon=":material/download:",
        disabled=made.empty,
    )
    final_name = str(set_row.name) if set_row is not None else Path(ann.source_name).stem
    c2.download_button(
        "Final labels: one per item (CSV)",
        ua.final_labels_csv(
            fp,
            rules if apply_all else ua.RuleChoice(),
            f"{set_id}:{rev}",
            _labels=labels,
            _decisions=made,
        ),
        ua.final_labels_file_name(final_name),
        "text/csv",
        key="agree_dl_final",
        icon=":material/download:",
        help="The review decision where there is one, otherwise the "
        "annotators' majority vote; ties are marked 'tie — needs review'. "
        "With the number of votes and the share agreeing with the final "
        "label" + (" (rules applied)" if rules.active and apply_all else ""),
    )
