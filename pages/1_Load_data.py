import streamlit as st

from slicewise.core.access import OWNER
from slicewise.core.baselines import is_majority_name
from slicewise.core.demo import DEMO_PROJECT, create_demo_project
from slicewise.core.errors import DataError
from slicewise.core.task import TASK_KINDS
from slicewise.core.values import parse_na_values
from slicewise.ui import loading, state
from slicewise.ui.loading import NONE, TAG_SOURCES
from slicewise.ui.text import md

ctx = state.page_start(
    "Load data", "Which predictions do you want to analyse?", icon=":material/upload_file:"
)
store, user = ctx.store, ctx.user

# ----------------------------------------------------------------------------- demo
st.subheader("Start from the demo project")
demo = state.read(loading.demo_datasets, store, DEMO_PROJECT)
demo = demo[demo["project_id"].isin(state.read(store.list_projects, user)["id"])]  # visible
st.caption(
    "Speech recognition transcripts tagged car noise / people noise / low bandwidth, "
    "and a visual-inspection classifier — the lecture's two examples."
)
# A demo the user sees opens; else (re)creating it writes, as the user: on a writable store,
# by an owner of the demo project or, when there is none, by anyone (who then owns it).
demo_project = state.read(loading.project_named, store, DEMO_PROJECT)
may_demo = bool(len(demo)) or (
    not store.read_only
    and (demo_project is None or state.allowed(store, demo_project, user, OWNER))
)
if (
    st.button(
        "Open the demo project",
        icon=":material/play_arrow:",
        type="primary",
        key="load_open_demo",
        disabled=not may_demo,
        help=None if may_demo else state.needs(OWNER, project=DEMO_PROJECT),
    )
    and may_demo
):
    if len(demo):
        state.select_dataset(int(demo["id"].min()))
        state.flash(f"Opened the demo project ({len(demo)} datasets)")
        st.rerun()
    demo_error: DataError | None = None
    with st.status("Creating the demo project…", expanded=True) as status:
        try:
            status.write("Reading and checking the demo files; storing them")
            ids = create_demo_project(store, state.DEMO_DIR, user=user)
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

# ----------------------------------------------------------------------------- upload
st.subheader("Upload predictions")
just_saved = "load_saved" in st.session_state  # the form still shows the saved file
if just_saved:
    saved_name, saved_project = st.session_state.pop("load_saved")
    st.success(
        f"Saved **{md(saved_name)}** in the project **{md(saved_project)}**. Next: tag its errors.",
        icon=":material/check_circle:",
    )
    state.page_link(state.TAG_PAGE, "Tag errors", ":material/sell:")
uploaded = st.file_uploader(
    "A CSV, TSV, Parquet or Excel .xlsx file (also .gz, .bz2 or a .zip holding one) with one "
    "row per example: a label and a prediction column, optionally an id, a human label, tags "
    "and metadata",
    type=loading.UPLOAD_TYPES,
    key="load_upload",
)

if uploaded is not None:
    fid = uploaded.file_id
    raw = None
    read_error: DataError | None = None
    with st.status(f"Reading {md(uploaded.name)}…") as status:
        try:
            raw, digest, warnings = loading.read_upload(
                uploaded.name, fid, _data=uploaded.getvalue()
            )
        except DataError as exc:
            status.update(label=f"{md(uploaded.name)} cannot be read", state="error")
            read_error = exc
        else:
            status.update(
                label=f"Read {md(uploaded.name)}: {len(raw):,} rows × {raw.shape[1]} columns",
                state="complete",
            )
    if read_error is not None:  # shown at once, not inside the (collapsed) status box
        st.error(md(read_error), icon=":material/error:")
    if raw is not None:
        for w in warnings:
            st.warning(md(w))
        st.caption("First rows of the file")
        st.dataframe(raw.head(10), hide_index=True, placeholder="–")
        detected = loading.detected_mapping(fid, _df=raw)
        cols = [str(c) for c in raw.columns]
        k = f"load_{fid}_"

        st.markdown("**Columns** — detected from their names; change any that is wrong.")
        c1, c2, c3 = st.columns(3)
        label = c1.selectbox(
            "Label (ground truth)",
            cols,
            key=k + "label",
            index=loading.role_index(cols, detected.label),
            placeholder="Choose the label column",
        )
        prediction = c2.selectbox(
            "Prediction",
            [NONE, *cols],
            key=k + "prediction",
            index=loading.role_index([NONE, *cols], detected.prediction or NONE),
        )
        id_col = c3.selectbox(
            "Example id",
            [NONE, *cols],
            key=k + "id",
            index=loading.role_index([NONE, *cols], detected.id or NONE),
        )
        human = c1.selectbox(
            "Human label (for HLP)",
            [NONE, *cols],
            key=k + "human",
            index=loading.role_index([NONE, *cols], detected.human or NONE),
        )
        score = c2.selectbox(
            "Score / confidence",
            [NONE, *cols],
            key=k + "score",
            index=loading.role_index([NONE, *cols], detected.score or NONE),
        )
        human_accuracy = c3.selectbox(
            "Human accuracy (for HLP)",
            [NONE, *cols],
            key=k + "human_accuracy",
            index=loading.role_index([NONE, *cols], detected.human_accuracy or NONE),
            help="Per example, the probability (0–1) that one person labels it right, e.g. "
            "the share of annotators choosing the true class. HLP is then its mean, "
            "and it takes precedence over the human label.",
        )
        human_majority = False
        if loading.optional(human):
            human_majority = c1.checkbox(
                "The human label is a majority of several people",
                key=k + f"majority_{human}",
                value=is_majority_name(human),
                help="A majority (crowd, consensus) label is right more often than one person: "
                "its HLP is an upper bound on human-level performance.",
            )

        st.markdown("**Task**")
        t1, t2 = st.columns(2)
        guess = loading.guess_task(fid, label, _df=raw) if label else "classification"
        kind = t1.selectbox(
            "Task kind",
            TASK_KINDS,
            index=TASK_KINDS.index(guess),
            key=k + f"kind_{label}",
            help="classification: exact match; binary: adds precision/recall "
            "for a positive class; text: transcripts compared after "
            "normalisation, with WER; regression: MAE/RMSE",
        )
        positive = threshold = tolerance = None
        lowercase = strip_punct = collapse = True
        if kind == "binary" and label:
            positive = t2.selectbox(
                "Positive class",
                loading.class_options(fid, label, _df=raw),
                key=k + f"positive_{label}",
            )
        if loading.optional(prediction) is None and loading.optional(score):
            threshold = t2.number_input(
                "Predict the positive class when score ≥", value=0.5, key=k + "threshold"
            )
        if kind == "regression":
            tolerance = t2.number_input(
                "Count as correct when |error| ≤", value=None, min_value=0.0, key=k + "tolerance"
            )
        if kind == "text":
            lowercase = t2.checkbox("Ignore case", value=True, key=k + "lower")
            strip_punct = t2.checkbox("Ignore punctuation", value=True, key=k + "punct")
            collapse = t2.checkbox("Ignore extra spaces", value=True, key=k + "spaces")

        st.markdown("**Tags** — the error categories already marked in the file, if any")
        # A file may hold both: a delimited tags column and true/false tag columns.
        source_default = (
            3
            if detected.tags_column and detected.tag_columns
            else 1
            if detected.tags_column
            else 0
            if detected.tag_columns
            else 2
        )
        tag_source = st.radio(
            "Tag source", TAG_SOURCES, index=source_default, horizontal=True, key=k + "tag_source"
        )
        tag_columns: list[str] = []
        tags_column = delimiter = None
        # A column chosen for a role above is not a tag: it leaves the options and the choice.
        tag_options = loading.without_roles(
            cols,
            (label, *map(loading.optional, (prediction, id_col, human, score, human_accuracy))),
        )
        if tag_source in (TAG_SOURCES[0], TAG_SOURCES[3]):
            tags_key = k + "tag_columns"
            proposed = st.session_state.get(tags_key, detected.tag_columns or ())
            st.session_state[tags_key] = [c for c in proposed if c in tag_options]
            tag_columns = st.multiselect(
                "Tag columns (true/false, 1/0, yes/no or x/blank)", tag_options, key=tags_key
            )
        if tag_source in (TAG_SOURCES[1], TAG_SOURCES[3]):
            d1, d2 = st.columns(2)
            tags_column = d1.selectbox(
                "Column holding the tags",
                tag_options,
                index=loading.role_index(tag_options, detected.tags_column),
                key=k + "tags_column",
            )
            delimiter = loading.DELIMITERS[
                d2.selectbox("Delimiter", list(loading.DELIMITERS), key=k + "delimiter")
            ]
        drop_missing = st.checkbox(
            "Drop rows with a missing label or prediction (instead of stopping)", key=k + "drop"
        )
        st.markdown(
            "**Values** — blank cells are missing; NA, N/A, null and None are values "
            "(a class, North America) unless listed here"
        )
        v1, v2, v3 = st.columns(3)
        na_values = v1.text_input(
            "Also missing (comma-separated)", placeholder="e.g. NA, N/A", key=k + "na_values"
        )
        decimal = loading.DECIMAL_MARKS[
            v2.selectbox("Decimal mark", list(loading.DECIMAL_MARKS), key=k + "decimal")
        ]
        thousands = loading.THOUSANDS_SEPARATORS[
            v3.selectbox(
                "Thousands separator", list(loading.THOUSANDS_SEPARATORS), key=k + "thousands"
            )
        ]

        st.markdown("**Save as**")
        s1, s2 = st.columns(2)
        mine = state.read(store.list_projects, user)
        project_names = mine["name"].astype(str).tolist()
        # A new file goes to a new project named after it; type a project's name to add to it.
        project = s1.text_input(
            "Project",
            value=loading.default_name(uploaded.name),
            key=k + "project",
            help="Projects are chosen by name: type an existing project's name to add this "
            "dataset to it, or a new name to create one. Existing projects: "
            + (", ".join(project_names) or "none yet"),
        )
        # a new project: anyone, who owns it; an existing one: its owners; read-only: nobody
        may_save = not store.read_only
        if project.strip() in project_names:
            s1.caption(f"Adds to the existing project **{md(project.strip())}**")
            target = int(mine.loc[mine["name"] == project.strip(), "id"].iloc[0])
            may_save = state.allowed(store, target, user, OWNER)
        else:
            s1.caption("Creates a new project")
        name = s2.text_input(
            "Dataset name", value=loading.default_name(uploaded.name), key=k + "name"
        )
        # A taken name is said here, once: saving is off until another name is typed.
        taken = (
            bool(project.strip() and name.strip())
            and state.read(loading.dataset_named, store, project, name) is not None
        )
        if taken and not just_saved:  # just saved: taken by the dataset saved
            s2.warning(
                f"The project **{md(project.strip())}** already has a dataset named "
                f"**{md(name.strip())}**: choose another name",
                icon=":material/warning:",
            )

        options = loading.LoadOptions(
            label=label,
            prediction=loading.optional(prediction),
            id=loading.optional(id_col),
            human=loading.optional(human),
            score=loading.optional(score),
            tag_source=tag_source,
            tag_columns=tuple(tag_columns),
            tags_column=tags_column,
            tag_delimiter=delimiter,
            kind=kind,
            positive=positive,
            threshold=threshold,
            tolerance=tolerance,
            lowercase=lowercase,
            strip_punctuation=strip_punct,
            collapse_whitespace=collapse,
            drop_missing=drop_missing,
            na_values=parse_na_values(na_values),
            decimal=decimal,
            thousands=thousands,
            human_accuracy=loading.optional(human_accuracy),
            human_majority=human_majority,
        )
        if not may_save:
            save_help = state.needs(OWNER)
        elif taken:
            save_help = (
                "Saved: upload another file, or type another dataset name to save it again"
                if just_saved
                else "Type another dataset name (or project)"
            )
        else:
            save_help = None
        if (
            st.button(
                "Check and save",
                type="primary",
                icon=":material/save:",
                key=k + "save",
                disabled=not may_save or taken,
                help=save_help,
            )
            and may_save
            and not taken
        ):
            save_error: DataError | None = None
            with st.status("Checking and saving…", expanded=True) as status:
                try:
                    status.write(f"Checking {len(raw):,} rows against the mapping")
                    dataset = loading.build_dataset(
                        raw,
                        options,
                        source_name=uploaded.name,
                        content_hash=digest,
                        warnings=warnings,
                    )
                    status.write(f"Storing {dataset.n:,} examples and {dataset.tags.shape[1]} tags")
                    did = loading.save(
                        store, dataset, options, project=project, name=name, user=user
                    )
                except DataError as exc:
                    status.update(
                        label=loading.save_failure_label(exc), state="error", expanded=False
                    )
                    save_error = exc
                else:
                    status.update(label="Saved", state="complete")
                    state.select_dataset(did)
                    st.session_state["load_saved"] = (name.strip(), project.strip())
                    st.rerun()
            if save_error is not None:  # the reason, at once (not inside the status box)
                state.show_error(save_error)

# ----------------------------------------------------------------------------- saved
st.subheader("Saved datasets")
visible = state.read(store.list_projects, user)  # once roles apply: the user's projects only
every = state.read(store.list_datasets)
datasets = every[every["project_id"].isin(visible["id"])]
# The dataset chosen below in the last run was deleted since (in another tab, or by someone
# else): say so, and act on no other dataset this run (a click meant for it is dropped).
was = st.session_state.get("load_manage")
gone = (
    was is not None
    and int(was) not in set(every["id"].astype(int))
    and was != st.session_state.pop("load_deleted_here", None)
)
if gone:
    st.warning(
        f"**{md(st.session_state.get('load_manage_name', f'Dataset {was}'))}** "
        f"(id {was}) was deleted meanwhile, in another tab or by someone else; a "
        "click meant for it did nothing.",
        icon=":material/warning:",
    )
    st.session_state.pop("load_manage")  # said once; another dataset is chosen below
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
ids = list(names)
# Open/Rename/Delete act on the dataset in use whenever it changes (sidebar, save, demo).
if (
    st.session_state.get("load_manage_follows") != ctx.dataset_id
    or st.session_state.get("load_manage") not in ids
):
    st.session_state["load_manage_follows"] = ctx.dataset_id
    st.session_state["load_manage"] = ctx.dataset_id if ctx.dataset_id in ids else ids[0]
chosen = st.selectbox(
    "Dataset", ids, format_func=lambda i: f"{names[i]} (id {i})", key="load_manage"
)
st.session_state["load_manage_name"] = names[chosen]
owner = state.allowed(
    store, int(datasets.loc[datasets["id"] == chosen, "project_id"].iloc[0]), user, OWNER
)
o1, o2 = st.columns(2, vertical_alignment="bottom")
if o1.button("Open", icon=":material/folder_open:", key="load_open") and not gone:
    state.select_dataset(chosen)
    state.flash(f"Opened {names[chosen]}")
    st.rerun()
if (
    o2.button(
        "Delete…",
        icon=":material/delete:",
        key="load_delete",
        disabled=not owner,
        help=None if owner else state.needs(OWNER),
    )
    and not gone
):
    st.session_state["load_confirm_delete"] = chosen
r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
new_name = r1.text_input(
    "New name", value=names[chosen], key=f"load_rename_{chosen}", disabled=not owner
)
if (
    r2.button(
        "Rename",
        icon=":material/edit:",
        key="load_rename_btn",
        disabled=not owner,
        help=None if owner else state.needs(OWNER),
    )
    and not gone
):
    state.run_write(
        store.rename_dataset, chosen, new_name, user=user, success=f"Renamed to {new_name.strip()}"
    )
    st.rerun()
if st.session_state.get("load_confirm_delete") == chosen:
    st.warning(
        f"Delete **{md(names[chosen])}** with its tags, label corrections and reports? "
        "This cannot be undone (the history of changes is kept)."
    )
    y, n = st.columns(2)
    if y.button("Yes, delete it", type="primary", key="load_delete_yes"):
        st.session_state.pop("load_confirm_delete")
        if state.run_write(
            store.delete_dataset, chosen, user=user, success=f"Deleted {names[chosen]}"
        ):
            st.session_state["load_deleted_here"] = chosen  # no "deleted meanwhile" for it
        if ctx.dataset_id == chosen:
            state.select_dataset(None)
        st.rerun()
    if n.button("Cancel", key="load_delete_no"):
        st.session_state.pop("load_confirm_delete")
        st.rerun()
