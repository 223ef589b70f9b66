"""*Load data*, *Upload predictions*: read a file, map its columns, check and save it.

The form's widgets are keyed ``load_<file id>_<field>`` so that another upload starts afresh;
reading, detecting and saving are :mod:`ui.loading`'s (and core's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core.access import OWNER
from slicewise.core.baselines import is_majority_name
from slicewise.core.dataset import ColumnMapping
from slicewise.core.errors import DataError
from slicewise.core.task import TASK_KINDS
from slicewise.core.values import parse_na_values
from slicewise.ui import loading, state
from slicewise.ui.context import UPLOAD_READ, Context
from slicewise.ui.loading import NONE, TAG_SOURCES
from slicewise.ui.text import md

#: Session key: (dataset name, project name) of the dataset saved in the last run.
SAVED = "load_saved"
#: Session key: the :class:`Upload` read last (its table is kept for this page's reruns).
READ = UPLOAD_READ


@dataclass(frozen=True)
class Upload:
    """A file read from the uploader.

    ``name`` is the file's name, ``file_id`` Streamlit's id of the upload (it keys the form's
    widgets), ``raw`` the table read (rows × columns, as in the file), ``digest`` its content
    hash and ``warnings`` what the reader noticed (:func:`core.dataset.read_table`).
    """

    name: str
    file_id: str
    raw: pd.DataFrame
    digest: str
    warnings: list[str]


def upload_section(ctx: Context) -> None:
    """Draw *Upload predictions*: the uploader, then the form of the file read.

    A file that cannot be read is said at once, with the reason; a file read is shown
    (its first rows) with the form mapping it (:func:`upload_form`).
    """
    st.subheader("Upload predictions")
    just_saved = SAVED in st.session_state  # the form still shows the saved file
    if just_saved:
        saved_name, saved_project = st.session_state.pop(SAVED)
        st.success(
            f"Saved **{md(saved_name)}** in the project **{md(saved_project)}**. "
            "Next: tag its errors.",
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
    if uploaded is None:
        st.session_state.pop(READ, None)  # the file was removed: so is its table
        return
    upload = _read(uploaded)
    if upload is not None:
        upload_form(ctx, upload, just_saved=just_saved)


def _read(uploaded: Any) -> Upload | None:
    # The file read (once per upload, kept for the session: one table, never pickled); None,
    # the reason shown, when it cannot be read.
    kept = st.session_state.get(READ)
    if isinstance(kept, Upload) and kept.file_id == uploaded.file_id:
        return kept
    st.session_state.pop(READ, None)  # the last file's table goes before the next is read
    result: Upload | None = None
    read_error: DataError | None = None
    size = f"{uploaded.size / 1e6:,.1f} MB" if uploaded.size >= 1e5 else f"{uploaded.size:,} B"
    with st.status(f"Reading {md(uploaded.name)} ({size})…") as status:
        try:
            raw, digest, warnings = loading.read_upload(uploaded.name, uploaded.getvalue())
        except DataError as exc:
            status.update(label=f"{md(uploaded.name)} cannot be read", state="error")
            read_error = exc
        else:
            result = Upload(uploaded.name, uploaded.file_id, raw, digest, warnings)
            st.session_state[READ] = result
            status.update(
                label=f"Read {md(uploaded.name)}: {len(raw):,} rows × {raw.shape[1]} columns",
                state="complete",
            )
    if read_error is not None:  # shown at once, not inside the (collapsed) status box
        st.error(md(read_error), icon=":material/error:")
    return result


def upload_form(ctx: Context, upload: Upload, *, just_saved: bool) -> None:
    """Draw the form of a file read: its columns' roles, the task, tags, values and names.

    ``just_saved``: the file was saved in the last run (its name is then taken, unsaid).
    *Check and save* stores it (:func:`save_button`).
    """
    raw, fid = upload.raw, upload.file_id
    for w in upload.warnings:
        st.warning(md(w))
    st.caption("First rows of the file")
    st.dataframe(raw.head(10), hide_index=True, placeholder="–")
    detected = loading.detected_mapping(fid, _df=raw)
    cols = [str(c) for c in raw.columns]
    k = f"load_{fid}_"
    roles = column_roles(k, cols, detected)
    task = task_options(k, fid, raw, roles)
    tags = tag_options(k, cols, detected, roles)
    values = value_options(k)
    options = loading.LoadOptions(**roles, **task, **tags, **values)
    project, name, may_save, taken = save_as(ctx, k, upload.name, just_saved=just_saved)
    save_button(
        ctx,
        k,
        upload,
        options,
        project=project,
        name=name,
        blocked=_save_blocked(may_save, taken, just_saved),
    )


def column_roles(k: str, cols: list[str], detected: ColumnMapping) -> dict[str, Any]:
    """Draw the *Columns* choosers (pre-set to the detected roles); return the roles chosen.

    Returns the :class:`ui.loading.LoadOptions` fields ``label``, ``prediction``, ``id``,
    ``human``, ``score``, ``human_accuracy`` (``None``: no such column) and
    ``human_majority``.
    """
    st.markdown("**Columns** — detected from their names; change any that is wrong.")
    c1, c2, c3 = st.columns(3)
    label = c1.selectbox(
        "Label (ground truth)",
        cols,
        key=k + "label",
        index=loading.role_index(cols, detected.label),
        placeholder="Choose the label column",
    )
    optional = [NONE, *cols]

    def chooser(column: Any, title: str, field: str, **kwargs: Any) -> str | None:
        found = getattr(detected, field) or NONE
        index = loading.role_index(optional, found)
        picked = column.selectbox(title, optional, key=k + field, index=index, **kwargs)
        return loading.optional(picked)

    prediction = chooser(c2, "Prediction", "prediction")
    id_col = chooser(c3, "Example id", "id")
    human = chooser(c1, "Human label (for HLP)", "human")
    score = chooser(c2, "Score / confidence", "score")
    human_accuracy = chooser(
        c3,
        "Human accuracy (for HLP)",
        "human_accuracy",
        help="Per example, the probability (0–1) that one person labels it right, e.g. "
        "the share of annotators choosing the true class. HLP is then its mean, "
        "and it takes precedence over the human label.",
    )
    human_majority = False
    if human:
        human_majority = c1.checkbox(
            "The human label is a majority of several people",
            key=k + f"majority_{human}",
            value=is_majority_name(human),
            help="A majority (crowd, consensus) label is right more often than one person: "
            "its HLP is an upper bound on human-level performance.",
        )
    return {
        "label": label,
        "prediction": prediction,
        "id": id_col,
        "human": human,
        "score": score,
        "human_accuracy": human_accuracy,
        "human_majority": human_majority,
    }


def task_options(k: str, fid: str, raw: pd.DataFrame, roles: dict[str, Any]) -> dict[str, Any]:
    """Draw the *Task* choices (kind guessed from the label); return their option fields.

    Returns ``kind``, ``positive``, ``threshold``, ``tolerance``, ``lowercase``,
    ``strip_punctuation`` and ``collapse_whitespace`` (:class:`ui.loading.LoadOptions`).
    """
    label = roles["label"]
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
    out: dict[str, Any] = {"kind": kind, "positive": None, "threshold": None, "tolerance": None}
    if kind == "binary" and label:
        out["positive"] = t2.selectbox(
            "Positive class",
            loading.class_options(fid, label, _df=raw),
            key=k + f"positive_{label}",
        )
    if roles["prediction"] is None and roles["score"]:
        out["threshold"] = t2.number_input(
            "Predict the positive class when score ≥", value=0.5, key=k + "threshold"
        )
    if kind == "regression":
        out["tolerance"] = t2.number_input(
            "Count as correct when |error| ≤", value=None, min_value=0.0, key=k + "tolerance"
        )
    text = kind == "text"
    out["lowercase"] = not text or t2.checkbox("Ignore case", value=True, key=k + "lower")
    out["strip_punctuation"] = not text or t2.checkbox(
        "Ignore punctuation", value=True, key=k + "punct"
    )
    out["collapse_whitespace"] = not text or t2.checkbox(
        "Ignore extra spaces", value=True, key=k + "spaces"
    )
    return out


def tag_options(
    k: str, cols: list[str], detected: ColumnMapping, roles: dict[str, Any]
) -> dict[str, Any]:
    """Draw the *Tags* choices: where the file's tags are, if anywhere.

    Returns ``tag_source``, ``tag_columns``, ``tags_column`` and ``tag_delimiter``
    (:class:`ui.loading.LoadOptions`). A column given a role in ``roles`` is never a tag.
    """
    st.markdown("**Tags** — the error categories already marked in the file, if any")
    # A file may hold both: a delimited tags column and true/false tag columns.
    delimited, columns = detected.tags_column, detected.tag_columns
    source_default = 3 if delimited and columns else 1 if delimited else 0 if columns else 2
    tag_source = st.radio(
        "Tag source", TAG_SOURCES, index=source_default, horizontal=True, key=k + "tag_source"
    )
    out: dict[str, Any] = {
        "tag_source": tag_source,
        "tag_columns": (),
        "tags_column": None,
        "tag_delimiter": None,
    }
    # A column chosen for a role above is not a tag: it leaves the options and the choice.
    fields = ("label", "prediction", "id", "human", "score", "human_accuracy")
    tag_options = loading.without_roles(cols, (roles[f] for f in fields))
    if tag_source in (TAG_SOURCES[0], TAG_SOURCES[3]):
        tags_key = k + "tag_columns"
        proposed = st.session_state.get(tags_key, detected.tag_columns or ())
        st.session_state[tags_key] = [c for c in proposed if c in tag_options]
        out["tag_columns"] = tuple(
            st.multiselect(
                "Tag columns (true/false, 1/0, yes/no or x/blank)", tag_options, key=tags_key
            )
        )
    if tag_source in (TAG_SOURCES[1], TAG_SOURCES[3]):
        d1, d2 = st.columns(2)
        out["tags_column"] = d1.selectbox(
            "Column holding the tags",
            tag_options,
            index=loading.role_index(tag_options, detected.tags_column),
            key=k + "tags_column",
        )
        out["tag_delimiter"] = loading.DELIMITERS[
            d2.selectbox("Delimiter", list(loading.DELIMITERS), key=k + "delimiter")
        ]
    return out


def value_options(k: str) -> dict[str, Any]:
    """Draw how missing rows and values are read; return their option fields.

    Returns ``drop_missing``, ``na_values``, ``decimal`` and ``thousands``
    (:class:`ui.loading.LoadOptions`).
    """
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
        v3.selectbox("Thousands separator", list(loading.THOUSANDS_SEPARATORS), key=k + "thousands")
    ]
    return {
        "drop_missing": drop_missing,
        "na_values": parse_na_values(na_values),
        "decimal": decimal,
        "thousands": thousands,
    }


def save_as(
    ctx: Context, k: str, file_name: str, *, just_saved: bool
) -> tuple[str, str, bool, bool]:
    """Draw *Save as* (project and dataset names); return them, may-save and name-taken.

    A new file goes to a new project named after it; typing an existing project's name adds
    to it (its owners only). A dataset name taken in the project is said here, once.
    """
    store, user = ctx.store, ctx.user
    st.markdown("**Save as**")
    s1, s2 = st.columns(2)
    mine = state.read(store.list_projects, user)
    project_names = mine["name"].astype(str).tolist()
    project = s1.text_input(
        "Project",
        value=loading.default_name(file_name),
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
    name = s2.text_input("Dataset name", value=loading.default_name(file_name), key=k + "name")
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
    return project, name, may_save, taken


def _save_blocked(may_save: bool, taken: bool, just_saved: bool) -> str | None:
    # Why *Check and save* is off (its help), or None when it is on.
    if not may_save:
        return state.needs(OWNER)
    if taken:
        return (
            "Saved: upload another file, or type another dataset name to save it again"
            if just_saved
            else "Type another dataset name (or project)"
        )
    return None


def save_button(
    ctx: Context,
    k: str,
    upload: Upload,
    options: loading.LoadOptions,
    *,
    project: str,
    name: str,
    blocked: str | None,
) -> None:
    """Draw *Check and save*: check the file against ``options``, store it and select it.

    ``blocked`` says why saving is off (``None``: on). A refused save shows the reason at
    once; nothing is stored (:func:`ui.loading.save`).
    """
    clicked = st.button(
        "Check and save",
        type="primary",
        icon=":material/save:",
        key=k + "save",
        disabled=blocked is not None,
        help=blocked,
    )
    if not clicked or blocked is not None:
        return
    save_error: DataError | None = None
    with st.status("Checking and saving…", expanded=True) as status:
        steps = _Steps(status, 3)
        try:
            steps(f"Checking {len(upload.raw):,} rows against the mapping")
            dataset = loading.build_dataset(
                upload.raw,
                options,
                source_name=upload.name,
                content_hash=upload.digest,
                warnings=upload.warnings,
            )
            did = loading.save(
                ctx.store,
                dataset,
                options,
                project=project,
                name=name,
                user=ctx.user,
                on_step=steps,
            )
        except DataError as exc:
            status.update(label=loading.save_failure_label(exc), state="error", expanded=False)
            save_error = exc
        else:
            steps.done()
            status.update(label="Saved", state="complete")
            state.select_dataset(did)
            st.session_state[SAVED] = (name.strip(), project.strip())
            st.rerun()
    if save_error is not None:  # the reason, at once (not inside the status box)
        state.show_error(save_error)


class _Steps:
    """Say each step of a long run in ``status`` with a bar of how many of ``total`` are done."""

    def __init__(self, status: Any, total: int) -> None:
        self.status, self.total, self.started = status, total, 0
        self.bar = status.progress(0.0, text=f"Step 1 of {total}")

    def __call__(self, label: str) -> None:
        """Start the next step, ``label`` (the one before it is done)."""
        self.started += 1
        self.status.write(label)
        done = (self.started - 1) / self.total
        self.bar.progress(done, text=f"Step {self.started} of {self.total}: {label}")

    def done(self) -> None:
        """Every step is done."""
        self.bar.progress(1.0, text=f"{self.total} of {self.total} steps done")
