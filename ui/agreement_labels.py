"""Which labels the *Label consistency* page measures, saving them, and their link to predictions.

Three sources: a saved annotation set (its review decisions are stored), the demo
annotations, or an uploaded file (:mod:`core.agreement.loading`). Labels that are not
saved can be saved as an annotation set; the items can be joined to a dataset of
predictions (:func:`ui.agreement.link`). Widget keys start with ``agree_``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.access import OWNER
from slicewise.core.demo import DEMO_ANNOTATIONS, DEMO_PROJECT
from slicewise.core.errors import DataError
from slicewise.ui import agreement as ua
from slicewise.ui import data, state, widgets
from slicewise.ui.agreement_views import set_label
from slicewise.ui.text import md

LABEL_PROJECT = "Label review"  # where labels are saved when there is no project yet
SAVED, DEMO, UPLOAD = "Saved annotation set", "Demo annotations", "Upload a label file"
PENDING_SET = "_agree_pending_set"
NO_SETS = pd.DataFrame(columns=["id", "project_id", "name", "content_hash"])
SELECTED = "Selected dataset"
DEMO_CAPTION = (
    "Five annotators labelled 300 phone images from the inspection demo (3-5 labels each)"
)


@dataclass(frozen=True)
class Chosen:
    """The labels the page measures, where they are saved, and what the user can reach.

    Attributes
    ----------
    ann
        The labels.
    source
        :data:`SAVED`, :data:`DEMO` or :data:`UPLOAD`.
    set_row
        The annotation set's row (:meth:`core.store.Store.list_annotation_sets`) when the
        labels are saved, else None.
    projects
        {project id: name} of the user's projects.
    datasets
        The datasets of those projects (:meth:`core.store.Store.list_datasets`).
    """

    ann: ag.Annotations
    source: str
    set_row: Any | None
    projects: dict[int, str]
    datasets: pd.DataFrame

    @property
    def set_id(self) -> int | None:
        """The annotation set's id, None when the labels are not saved."""
        return int(self.set_row.id) if self.set_row is not None else None

    @property
    def dataset_names(self) -> dict[int, str]:
        """{dataset id: name} of the reachable datasets."""
        d = self.datasets
        return dict(zip(d["id"].astype(int), d["name"].astype(str), strict=True))


@dataclass(frozen=True)
class Link:
    """The predictions the items are joined to: ``target`` and ``linked`` None when unlinked.

    ``target_id`` is the stored dataset's id (None for the demo predictions or no link).
    """

    target: ua.LinkTarget | None = None
    target_id: int | None = None
    linked: ag.LinkedItems | None = None

    @property
    def tag_names(self) -> list[str]:
        """Tags of the linked dataset (none without a link)."""
        return [str(t) for t in self.linked.tags.columns] if self.linked is not None else []


# --------------------------------------------------------------------------- choosing


def _reachable(ctx: state.Context) -> tuple[pd.DataFrame, dict[int, str], pd.DataFrame]:
    """Return the saved sets, projects and datasets the user can reach (damaged store: no sets)."""
    store = ctx.store
    project_rows = state.read(store.list_projects, ctx.user)  # once roles apply: their own
    sets = state.read(
        store.list_annotation_sets, otherwise=NO_SETS, what="The saved annotation sets"
    )
    sets = sets[sets["project_id"].isin(project_rows["id"])]
    projects = dict(
        zip(project_rows["id"].astype(int), project_rows["name"].astype(str), strict=True)
    )
    datasets = state.read(store.list_datasets)
    return sets, projects, datasets[datasets["project_id"].isin(project_rows["id"])]


def _source_radio(sets: pd.DataFrame) -> str:
    sources = ([SAVED] if len(sets) else []) + [DEMO, UPLOAD]
    widgets.keep_valid("agree_source", sources)
    return st.radio(
        "Labels",
        sources,
        horizontal=True,
        key="agree_source",
        help="A saved annotation set keeps its review decisions. Long form: one row "
        "per (item, annotator, label), optionally time and comment. Wide form: "
        "one row per item, one column per annotator.",
    )


def _saved(ctx: state.Context, sets: pd.DataFrame, projects: dict[int, str]) -> tuple:
    """Return the annotation set picked (the open project's first by default) and its labels."""
    ids = [int(i) for i in sets["id"]]
    rows = {int(r.id): r for r in sets.itertuples(index=False)}
    mine = [i for i in ids if int(rows[i].project_id) == ctx.project_id]
    chosen = widgets.selectbox(
        st,
        "Annotation set",
        ids,
        key="agree_set",
        index=ids.index(mine[0]) if mine else 0,
        format_func=lambda i: set_label(rows[i], projects),
    )
    row = rows[int(chosen)]
    ann = ua.saved_labels(ctx.db, int(row.id), str(row.content_hash), str(row.source_name))
    st.caption(
        f"From {md(row.source_name)}, saved by {md(row.created_by)} on "
        f"{str(row.created_at)[:10]}. Review decisions are stored with your "
        "name."
    )
    return ann, row


def _demo(sets: pd.DataFrame, projects: dict[int, str]) -> tuple:
    """Return the demo labels and their annotation set when they were saved."""
    ann = ua.demo_labels()
    same = sets[sets["content_hash"] == ann.content_hash]
    if not len(same):
        st.caption(f"{DEMO_CAPTION}; the items are ids of the demo predictions.")
        return ann, None
    row = next(same.itertuples(index=False))
    project = projects.get(int(row.project_id), "?")
    st.caption(
        f"{DEMO_CAPTION}, saved as the annotation set {md(repr(row.name))}"
        f" of project {md(project)}."
    )
    return ann, row


def _uploaded() -> ag.Annotations:
    """Return the labels of an upload, read with the columns chosen (stops without one)."""
    upload = st.file_uploader(
        "A CSV, TSV, Parquet or Excel .xlsx file of labels (also .gz, .bz2 or a .zip holding one)",
        type=["csv", "tsv", "txt", "tab", "parquet", "pq", "xlsx", "gz", "bz2", "zip"],
        key="agree_upload",
    )
    if upload is None:
        st.info(
            "Upload a label file, or look at the demo annotations first.",
            icon=":material/info:",
        )
        st.stop()
    file = ua.Upload(upload.name, upload.file_id, upload.getvalue())
    cols = ua.columns_of(file)
    with st.expander("Columns (detected from their names)"):
        c1, c2, c3, c4 = st.columns(4)
        detect = "(detect)"
        layout = c1.selectbox("Layout", ua.LEVELS, key="agree_layout")
        # the column lists change with the file: a column of the last file is dropped
        item = widgets.selectbox(c2, "Item id", [detect, *cols], key="agree_item_col")
        who = widgets.selectbox(c3, "Annotator (long form)", [detect, *cols], key="agree_ann_col")
        lab = widgets.selectbox(c4, "Label (long form)", [detect, *cols], key="agree_label_col")
    options = tuple(
        (k, None if v == detect else v)
        for k, v in (("item", item), ("annotator", who), ("label", lab))
    ) + (("layout", layout),)
    return ua.read_labels(file, options)


def choose_labels(ctx: state.Context) -> Chosen:
    """Draw the source of the labels and return them (the run stops on unreadable labels)."""
    if PENDING_SET in st.session_state:  # a set was just saved: open it
        st.session_state["agree_source"] = SAVED
        st.session_state["agree_set"] = st.session_state.pop(PENDING_SET)
    sets, projects, datasets = _reachable(ctx)
    source = _source_radio(sets)
    row = None
    try:
        if source == SAVED:
            ann, row = _saved(ctx, sets, projects)
        elif source == DEMO:
            ann, row = _demo(sets, projects)
        else:
            ann = _uploaded()
    except DataError as exc:
        state.show_error(exc)
        st.stop()
    for warning in ann.warnings:
        st.warning(md(warning), icon=":material/warning:")
    return Chosen(ann, source, row, projects, datasets)


# --------------------------------------------------------------------------- saving


def save_set(ctx: state.Context, project_name: str | None, name: str, ann, link_id) -> None:
    """Save the labels as an annotation set and open it (the next run shows it).

    ``project_name`` is created when it is new (None: the open project); ``link_id`` is the
    dataset whose examples were labelled, or None. A refused save shows its message.
    """
    store = ctx.store
    try:
        project = (
            ctx.project_id
            if project_name is None
            else store.get_or_create_project(project_name, user=ctx.user)
        )
        set_id = store.save_annotation_set(
            project,
            name,
            ann.labels,
            source_name=ann.source_name,
            content_hash=ann.content_hash,
            user=ctx.user,
            linked_dataset_id=link_id,
        )
    except DataError as exc:
        state.show_error(exc)
        return
    st.session_state[PENDING_SET] = set_id
    state.flash(f"Saved the annotation set {name!r}: review decisions are now stored")
    st.rerun()


def _default_project(ctx: state.Context, chosen: Chosen) -> str:
    """Return the project to save the labels in by default.

    The demo's project for the demo labels; for a file, the open project when its dataset
    holds the labelled items, else a new project named after the file.
    """
    if chosen.source == DEMO:
        return DEMO_PROJECT
    ann, projects = chosen.ann, chosen.projects
    current = (
        state.read(data.load_current, ctx, otherwise=None, what="The selected dataset")
        if ctx.dataset_id is not None and ctx.project_id in projects
        else None
    )
    if (
        current is not None
        and ann.labels["item"].astype(str).isin(current.dataset.frame["id"].astype(str)).any()
    ):
        return projects[ctx.project_id]
    return Path(ann.source_name).stem or LABEL_PROJECT


def _link_and_name(ctx, chosen: Chosen, in_project: list[int]) -> tuple[int | None, str]:
    """Default dataset the items are ids of, and default name of the set."""
    if chosen.source == DEMO:
        names = chosen.dataset_names
        link = next((i for i in in_project if names[i] == DEMO_ANNOTATIONS[2]), None)
        return link, DEMO_ANNOTATIONS[0]
    link = ctx.dataset_id if ctx.dataset_id in in_project else None
    return link, Path(chosen.ann.source_name).stem or "labels"


def _save_form(ctx: state.Context, chosen: Chosen, default_project: str) -> None:
    """Project, name and linked dataset of the set to save, and the Save button."""
    projects, datasets, names = chosen.projects, chosen.datasets, chosen.dataset_names
    labels_key = chosen.ann.content_hash[:16]
    project_names = sorted(set(projects.values()) | {default_project}, key=str.casefold)
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
    target = next((i for i, n in projects.items() if n == project_label), None)
    in_project = (
        [int(i) for i in datasets.loc[datasets["project_id"] == target, "id"]]
        if target is not None
        else []
    )
    default_link, default_name = _link_and_name(ctx, chosen, in_project)
    set_name = c1.text_input("Name", value=default_name, key=f"agree_save_name_{labels_key}")
    link_choices = [None, *in_project]
    link_id = widgets.selectbox(
        c2,
        "Its items are ids of",
        link_choices,
        index=link_choices.index(default_link),
        key=f"agree_save_link_{labels_key}_{target}",
        format_func=lambda i: "no dataset" if i is None else names[i],
        help="A dataset of the project whose examples were labelled (ground truth, "
        "predictions, tags)",
    )
    # A new project: anyone, who owns it; an existing one: its owners.
    may_save = target is None or state.allowed(ctx.store, target, ctx.user, OWNER)
    if c3.button(
        "Save annotation set",
        key="agree_save_set",
        icon=":material/save:",
        disabled=not may_save,
        help=None if may_save else state.needs(OWNER),
    ):
        save_set(ctx, project_label, set_name, chosen.ann, link_id)
    st.caption(
        f"Saved in project {md(project_label)}"
        + ("" if target is not None else " (created on saving)")
        + ". Review decisions are then stored with your name and survive a restart."
    )


def offer_to_save(ctx: state.Context, chosen: Chosen) -> None:
    """Offer to save labels that are not an annotation set yet, so decisions can be stored."""
    if chosen.set_id is not None:
        return
    default_project = _default_project(ctx, chosen)
    with st.expander(
        "Save these labels as an annotation set to review them",
        icon=":material/save:",
        expanded=chosen.source == UPLOAD,
    ):
        _save_form(ctx, chosen, default_project)


# --------------------------------------------------------------------------- link


def _link_choice(ctx: state.Context, chosen: Chosen) -> tuple[str, str, int | None]:
    """Draw the link picker; return the choice, the linked-dataset option, the set's dataset."""
    row = chosen.set_row
    linked_id = None
    if row is not None and pd.notna(row.linked_dataset_id):
        linked_id = int(row.linked_dataset_id)
    linked_option = f"Linked dataset: {chosen.dataset_names.get(linked_id, '')}"
    options = [ua.NO_LINK]
    if linked_id is not None:
        options.append(linked_option)
    if ctx.dataset_id is not None and ctx.dataset_id != linked_id:
        options.append(SELECTED)
    options.append(ua.DEMO_LINK)
    if linked_id is not None:
        default = linked_option
    elif chosen.source == DEMO:
        default = ua.DEMO_LINK
    else:
        default = SELECTED if SELECTED in options else ua.NO_LINK
    choice = widgets.selectbox(
        st,
        "Link the items to predictions (ground truth, model prediction, tags)",
        options,
        index=options.index(default),
        key="agree_link",
    )
    return choice, linked_option, linked_id


def choose_link(ctx: state.Context, chosen: Chosen) -> Link:
    """Draw the link picker and join the items to the predictions chosen.

    A link that fails (the dataset unreadable, no item among its ids) is shown as a warning
    and the page goes on unlinked; the link's own warnings are shown as captions.
    """
    choice, linked_option, linked_id = _link_choice(ctx, chosen)
    link = Link()
    try:
        if choice in (SELECTED, linked_option):
            target_id = ctx.dataset_id if choice == SELECTED else linked_id
            loaded = data.load_current(dataclasses.replace(ctx, dataset_id=target_id))
            target = ua.LinkTarget(f"store:{loaded.key}", loaded.dataset)
            link = Link(target, target_id, ua.link(chosen.ann, target))
        elif choice == ua.DEMO_LINK:
            target = ua.LinkTarget("demo", ua.demo_predictions())
            link = Link(target, None, ua.link(chosen.ann, target))
    except DataError as exc:
        st.warning(f"Not linked: {md(state.error_text(exc))}", icon=":material/link_off:")
        link = Link()
    if link.linked is not None:
        for warning in link.linked.warnings:
            st.caption(md(warning))
    return link
