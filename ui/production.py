"""The production samples of a dataset on the pages: pick, upload, delete; cached drift calls.

A sample is stored with the dataset it was uploaded against (read with its column roles),
so the pages offer only the samples of the dataset on screen.

Stored samples never change after they are saved, so a sample's table is cached by
(database, sample id), and the sample read with the dataset's column roles
(:func:`production_sample`) by dataset, database and sample id: a page run reads it once,
however many analyses use it. Every analysis is one call into :mod:`core.drift`, cached per
loaded dataset (:data:`ui.data.BY_TASK`), sample and the widget values it depends on. No
function here reads ``st.session_state`` inside a cached function.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from slicewise.core.access import ANNOTATOR, OWNER
from slicewise.core.column_roles import quoted_list
from slicewise.core.drift import (
    MIN_WINDOW_ROWS,
    ProductionSample,
    category_shares,
    default_features,
    drift_windows,
    feature_drift,
    production_correct,
    read_production,
)
from slicewise.core.drift.cbpe import estimate_accuracy
from slicewise.core.drift.feature_columns import find_identifier_columns
from slicewise.core.drift.mix import production_columns, slice_mix
from slicewise.core.errors import DataError
from slicewise.core.prioritize import rank_slices
from slicewise.ui import state
from slicewise.ui.data import BY_TASK
from slicewise.ui.dataset_cache import Loaded, get_store_for
from slicewise.ui.loading import read_upload
from slicewise.ui.text import md

#: Session key of the production sample chosen on the pages (shared by Prioritise).
SAMPLE = "production_sample_id"
#: File types a production sample may be uploaded as (what the loader reads).
UPLOAD_TYPES = ["csv", "tsv", "txt", "parquet", "xlsx", "json", "jsonl"]

Thresholds = tuple[tuple[str, float], ...]


def project_of(loaded: Loaded) -> int:
    """Return the id of the project the loaded dataset belongs to."""
    return int(loaded.info["project_id"])


def samples(ctx: state.Context, loaded: Loaded) -> pd.DataFrame:
    """Return the loaded dataset's production samples, newest first (a bad read stops the page)."""
    return state.read(
        ctx.store.list_production_samples,
        dataset_id=loaded.dataset_id,
        what="The production samples",
    )


@st.cache_data(max_entries=4, show_spinner="Reading the production sample…")
def sample_table(db: str, sample_id: int) -> pd.DataFrame:
    """Return the stored table of production sample ``sample_id`` (immutable once saved)."""
    return get_store_for(db).load_production_sample(sample_id)


def _roles_key(loaded: Loaded) -> tuple[str, int, str, tuple[str, ...]]:
    """Key of what reading a sample with the dataset's roles depends on.

    The dataset's frame (mapping, number format, classes of its labels: ``frame_key``) and
    its tag columns (the sample's tags are aligned with them); not the tag values.
    """
    return (loaded.db, loaded.dataset_id, loaded.frame_key, tuple(loaded.tag_names))


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs={Loaded: _roles_key})
def production_sample(loaded: Loaded, db: str, sample_id: int) -> ProductionSample:
    """Return sample ``sample_id`` read with the loaded dataset's column roles (cached).

    :func:`core.drift.read_production` of :func:`sample_table`; the slice mix, CBPE and the
    accuracy per window take it as it is, so a page run reads the sample once.

    Raises
    ------
    DataError
        From :func:`core.drift.read_production` (a missing prediction or tag column...).
    """
    return read_production(
        loaded.dataset, sample_table(db, sample_id), source_name=_name(db, sample_id)
    )


def choose_sample(ctx: state.Context, stored: pd.DataFrame) -> int | None:
    """Draw a chooser of the stored samples; return the id chosen (the newest by default)."""
    if stored.empty:
        return None
    ids = [int(i) for i in stored["id"]]
    current = st.session_state.get(SAMPLE)
    if current not in ids:
        st.session_state[SAMPLE] = ids[0]
    names = dict(zip(ids, stored["name"], strict=True))
    info = {int(r.id): r for r in stored.itertuples()}
    return st.selectbox(
        "Production sample",
        ids,
        key=SAMPLE,
        format_func=lambda i: (
            f"{names[i]} — {info[i].row_count:,} rows, by "
            f"{info[i].created_by}, {str(info[i].created_at)[:16].replace('T', ' ')}"
        ),
    )


def columns_note(loaded: Loaded) -> str:
    """Say which column names a production file needs: this dataset's (Markdown-escaped).

    A stored sample keeps its cells as uploaded and is read with the column roles of the
    dataset it is compared with (:func:`core.drift.mix.production_columns`).
    """
    needed, optional = production_columns(loaded.dataset)
    text = (
        "The production file is read with this dataset's column names: it needs "
        f"{quoted_list(needed)}"
    )
    if optional:
        text += f" and may hold {quoted_list(optional)} (labels are optional)"
    return md(text + "; the other columns both files hold are compared as features.")


def upload_section(ctx: state.Context, loaded: Loaded) -> None:
    """Upload a production sample and save it beside the loaded dataset (owners)."""
    owner = state.can(ctx, OWNER)
    st.caption(columns_note(loaded))
    uploaded = st.file_uploader(
        "Upload a production sample (CSV, Parquet, Excel…)",
        type=UPLOAD_TYPES,
        key="drift_upload",
        disabled=not owner,
        help=None if owner else state.needs(OWNER),
    )
    if uploaded is None:
        return
    try:
        table, digest, warnings = read_upload(uploaded.name, uploaded.getvalue())
    except DataError as exc:
        state.show_error(exc)
        return
    for line in warnings:
        st.warning(md(line))
    st.caption(f"{md(uploaded.name)}: {len(table):,} rows, {table.shape[1]} columns")
    time_options = ["(none)", *[str(c) for c in table.columns]]
    c1, c2 = st.columns([2, 1])
    name = c1.text_input("Save as", value=uploaded.name, key="drift_upload_name")
    time_column = c2.selectbox("Time column", time_options, key="drift_upload_time")
    if st.button("Save production sample", key="drift_upload_save", type="primary"):
        saved = state.run_write(
            ctx.store.save_production_sample,
            loaded.dataset_id,
            name,
            table,
            source_name=uploaded.name,
            content_hash=str(digest),
            user=ctx.user,
            time_column=None if time_column == "(none)" else time_column,
            success=lambda sid: f"Saved production sample {name!r}.",
        )
        if saved:
            newest = ctx.store.list_production_samples(dataset_id=loaded.dataset_id)
            st.session_state[SAMPLE] = int(newest["id"].iloc[0])
        st.rerun()


def delete_button(ctx: state.Context, sample_id: int) -> None:
    """Draw a button deleting the chosen sample (owners)."""
    owner = state.can(ctx, OWNER)
    if st.button(
        "Delete this production sample",
        key="drift_delete",
        disabled=not owner,
        help=None if owner else state.needs(OWNER),
    ):
        state.run_write(
            ctx.store.delete_production_sample,
            sample_id,
            user=ctx.user,
            success="Production sample deleted.",
        )
        st.session_state.pop(SAMPLE, None)
        st.rerun()


# --------------------------------------------------------------------------- cached core calls


def features_choice(loaded: Loaded, production: pd.DataFrame, sample_id: int) -> tuple[str, ...]:
    """Draw "Features compared"; return the features chosen (in the reference's order).

    The options are the feature columns both tables hold (:func:`core.drift.
    default_features`), all chosen by default but those that look like identifiers or free
    text (:func:`core.drift.feature_columns.find_identifier_columns`, each named in a
    caption); a feature column of the dataset that the sample lacks is left out, named in
    one line. Empty when no feature is chosen (or shared).
    """
    reference = loaded.dataset.frame
    shared = default_features(reference, production, identifiers=True)
    ids = find_identifier_columns(reference, shared, reference_name=loaded.dataset.source_name)
    lacking = [c for c in default_features(reference, reference) if c not in production.columns]
    if lacking:
        st.caption(
            md(
                f"Not compared: the production sample lacks {quoted_list(lacking, limit=8)} "
                "of the test set."
            )
        )
    for note in ids["note"]:
        st.caption(md(note))
    chosen = st.multiselect(
        "Features compared",
        shared,
        default=[c for c in shared if c not in ids.index],
        key=f"drift_features::{sample_id}",
        help="The columns both files hold, besides ids, labels, predictions and scores.",
    )
    order = {c: k for k, c in enumerate(shared)}
    return tuple(sorted(chosen, key=order.__getitem__))


def watched_thresholds(features: Sequence[str], saved: Mapping[str, float]) -> Thresholds:
    """Return the saved thresholds of the features compared here (others would be refused)."""
    return tuple(sorted((f, float(v)) for f, v in saved.items() if f in set(features)))


@st.cache_data(max_entries=16, show_spinner="Measuring drift…", hash_funcs=BY_TASK)
def drift_table(
    loaded: Loaded, db: str, sample_id: int, features: tuple[str, ...], thresholds: Thresholds
) -> pd.DataFrame:
    """:func:`core.drift.feature_drift` of the sample's ``features`` against the dataset."""
    production = sample_table(db, sample_id)
    return feature_drift(
        loaded.dataset.frame,
        production,
        features=list(features),
        thresholds=dict(thresholds),
        reference_name=loaded.dataset.source_name,
        production_name=_name(db, sample_id),
    )


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_TASK)
def shares(loaded: Loaded, db: str, sample_id: int, feature: str) -> pd.DataFrame:
    """:func:`core.drift.category_shares` of one feature."""
    return category_shares(
        loaded.dataset.frame,
        sample_table(db, sample_id),
        feature,
        reference_name=loaded.dataset.source_name,
        production_name=_name(db, sample_id),
    )


@st.cache_data(max_entries=16, show_spinner="Weighing slices by production…", hash_funcs=BY_TASK)
def mix(
    loaded: Loaded, db: str, sample_id: int, slice_by: tuple[str, ...], bins: int
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`core.drift.mix.slice_mix` and its warnings."""
    warnings: list[str] = []
    table = slice_mix(
        loaded.dataset,
        production_sample(loaded, db, sample_id),
        slice_by=slice_by,
        bins=bins,
        task=loaded.task,
        warnings=warnings,
    )
    return table, warnings


@st.cache_data(max_entries=16, show_spinner="Estimating accuracy from confidence…",
               hash_funcs=BY_TASK)  # fmt: skip
def cbpe(
    loaded: Loaded, db: str, sample_id: int, slice_by: tuple[str, ...], bins: int
) -> pd.DataFrame | None:
    """:func:`core.drift.cbpe.estimate_accuracy`, or ``None`` when the reference has no score."""
    if "score" not in loaded.dataset.frame.columns:
        return None
    return estimate_accuracy(
        loaded.dataset,
        production_sample(loaded, db, sample_id),
        slice_by=slice_by,
        bins=bins,
        positive=loaded.task.positive,
    )


@st.cache_data(max_entries=16, show_spinner="Measuring drift per window…", hash_funcs=BY_TASK)
def windows(
    loaded: Loaded,
    db: str,
    sample_id: int,
    time_column: str,
    window: str,
    features: tuple[str, ...],
    thresholds: Thresholds,
) -> pd.DataFrame:
    """:func:`core.drift.drift_windows`, with the accuracy per window when it can be measured."""
    production = sample_table(db, sample_id)
    mapping = loaded.dataset.mapping
    label = mapping.label if mapping.label in production.columns else None
    prediction = mapping.prediction if mapping.prediction in production.columns else None
    if label is None or prediction is None:
        label = prediction = None
    correct = None
    if label is not None:  # judged as the slice mix judges (text normalised, class keys)
        try:
            correct = production_correct(loaded.dataset, production_sample(loaded, db, sample_id))
        except DataError:
            correct = None
    return drift_windows(
        loaded.dataset.frame,
        production,
        time_column=time_column,
        window=window,
        features=list(features),
        thresholds=dict(thresholds),
        label=label,
        prediction=prediction,
        correct=correct,
        reference_name=loaded.dataset.source_name,
        production_name=_name(db, sample_id),
    )


def production_shares(
    loaded: Loaded, db: str, sample_id: int, slice_by: Sequence[str], bins: int
) -> pd.Series:
    """Each slice's share of the production sample (:func:`mix`'s ``production_share``).

    Raises
    ------
    DataError
        As :func:`core.drift.mix.slice_mix`.
    """
    table, _ = mix(loaded, db, sample_id, tuple(slice_by), int(bins))
    return table["production_share"]


def _name(db: str, sample_id: int) -> str:
    """Return the sample's file name, for messages."""
    return str(get_store_for(db).production_sample_info(sample_id)["source_name"])


# --------------------------------------------------------------------------- views

#: The word the drift table shows for a feature past its threshold.
CROSSED = "⚠ crossed"
_PCT = {"format": "percent"}


def drift_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Return the drift table to show (``feature_drift``'s order) and its config."""
    view = pd.DataFrame(
        {
            "feature": table["feature"],
            "metric": table["metric"].map({"linf": "L-infinity", "js": "JS divergence"}),
            "drift": table["value"],
            "threshold": table["threshold"],
            "alarm": [CROSSED if c else "" for c in table["crossed"].fillna(False)],
            "PSI": table["psi"],
            "reference n": table["n_reference"],
            "production n": table["n_production"],
            "new categories": [", ".join(map(str, v)) for v in table["new_categories"]],
            "note": table["note"],
        }
    )
    config = {
        "drift": st.column_config.NumberColumn("drift", format="%.3f"),
        "threshold": st.column_config.NumberColumn("threshold", format="%.3f"),
        "PSI": st.column_config.NumberColumn("PSI", format="%.3f"),
    }
    return view, config


def mix_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Return the slice mix to show (:func:`core.drift.mix.slice_mix`) and its column config."""
    view = pd.DataFrame(
        {
            "slice": table.index.astype(str),
            "test share": table["reference_share"].to_numpy(),
            "production share": table["production_share"].to_numpy(),
            "share change": table["share_change"].to_numpy(),
            "test accuracy": table["accuracy"].to_numpy(),
            "expected accuracy": table["expected_accuracy"].to_numpy(),
            "95% low": table["expected_low"].to_numpy(),
            "95% high": table["expected_high"].to_numpy(),
            "measured in production": table["production_accuracy"].to_numpy(),
        }
    )
    config = {c: st.column_config.NumberColumn(c, format="percent") for c in view.columns[1:]}
    return view, config


def window_notes(per_window: pd.DataFrame) -> list[str]:
    """Name the windows that are empty or hold too few rows to judge (Markdown-escaped)."""
    out = []
    empty = per_window.loc[per_window["n"] == 0, "window"].unique().tolist()
    few = per_window["note"].astype(str).str.startswith("too few rows to judge")
    few = [w for w in per_window.loc[few, "window"].unique() if w not in empty]
    if empty:
        out.append(f"No rows in {quoted_list(empty, limit=8)}.")
    if few:
        out.append(
            f"Too few rows to judge in {quoted_list(few, limit=8)} (fewer than "
            f"{MIN_WINDOW_ROWS} with a value of a feature): their drift is shown but never "
            "counts as a crossing."
        )
    return [md(line) for line in out]


def cbpe_view(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Return the confidence-based estimate to show (``estimate_accuracy``)."""
    view = pd.DataFrame(
        {
            "slice": table.index.astype(str),
            "production n": table["production_n"].to_numpy(),
            "estimated accuracy": table["estimated_accuracy"].to_numpy(),
            "low": table["estimated_low"].to_numpy(),
            "high": table["estimated_high"].to_numpy(),
            "test accuracy": table["reference_accuracy"].to_numpy(),
            "measured in production": table["production_accuracy"].to_numpy(),
        }
    )
    config = {c: st.column_config.NumberColumn(c, format="percent") for c in view.columns[2:]}
    return view, config


def threshold_key(feature: str) -> str:
    """Return the session key of a feature's threshold input."""
    return f"drift_threshold::{feature}"


def _save_threshold(store_db: str, project_id: int, feature: str, user: str) -> None:
    value = st.session_state.get(threshold_key(feature))
    if value is None:
        return
    state.run_write(
        get_store_for(store_db).set_drift_thresholds,
        project_id,
        {feature: float(value)},
        user=user,
        success=f"Threshold of {feature!r} saved: {float(value):.3f}.",
    )


def thresholds_inputs(
    ctx: state.Context, loaded: Loaded, table: pd.DataFrame, *, editable: bool
) -> None:
    """One number input per feature of ``table``; a change is saved for the project at once."""
    columns = st.columns(4)
    for k, row in enumerate(table.itertuples()):
        columns[k % 4].number_input(
            f"{row.feature} ({'L-inf' if row.metric == 'linf' else 'JS'})",
            min_value=0.0,
            max_value=1.0 if row.metric == "linf" else 10.0,
            value=float(row.threshold),
            step=0.01,
            format="%.3f",
            key=threshold_key(str(row.feature)),
            disabled=not editable,
            help=None if editable else state.needs(ANNOTATOR),
            on_change=_save_threshold,
            args=(ctx.db, project_of(loaded), str(row.feature), ctx.user),
        )


# --------------------------------------------------------------------------- Prioritise

#: The choices of Prioritise's share switch.
SHARE_CHOICES = ("test set", "production")


def ranks_by_production() -> bool:
    """Return whether :func:`core.prioritize.rank_slices` takes a ``production_share``."""
    return "production_share" in inspect.signature(rank_slices).parameters


def share_switch(
    ctx: state.Context,
    loaded: Loaded,
    table: pd.DataFrame,
    *,
    slice_by: Sequence[str],
    bins: int,
    rank_by: str,
) -> pd.DataFrame:
    """Offer "Share of: test set / production" when the dataset has a production sample.

    With "production", ``table`` (a ranked analysis table) is ranked again with each
    slice's share of the dataset's sample chosen on *Production drift* (else its newest).
    Returns the table to show; says which share it weighs.
    """
    if not ranks_by_production():
        return table
    stored = state.read(
        ctx.store.list_production_samples,
        dataset_id=loaded.dataset_id,
        otherwise=None,
        what="Samples",
    )
    if stored is None or stored.empty:
        return table
    ids = [int(i) for i in stored["id"]]
    sample_id = st.session_state.get(SAMPLE)
    sample_id = sample_id if sample_id in ids else ids[0]
    name = stored.set_index("id").loc[sample_id, "name"]
    choice = st.radio(
        "Share of",
        SHARE_CHOICES,
        horizontal=True,
        key="prio_share",
        help="Weigh each slice's gap by its share of the test set, or of the production "
        f"sample {name!r} (chosen on the Production drift page).",
    )
    if choice != "production":
        st.caption("Share used: each slice's share of the test set.")
        return table
    try:
        shares = production_shares(loaded, ctx.db, sample_id, slice_by, bins)
        ranked = rank_slices(
            table,
            importance=dict(table["importance"]),
            ease=dict(table["ease"]),
            rank_by=rank_by,
            production_share=shares,
        )
    except DataError as exc:
        state.show_error(exc, "Ranked by test share: the production share cannot be used: ")
        return table
    st.caption(f"Share used: each slice's share of the production sample {md(repr(name))}.")
    return ranked
