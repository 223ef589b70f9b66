"""The sections of the *Compare iterations* page, in the order the page draws them.

Save an iteration, choose the two to compare, the headline, the per-slice table and chart,
the per-class table, and every iteration with the project's lineage. The numbers come from
:mod:`ui.compare` (cached over :mod:`core.compare`), the tables are shaped by
:mod:`ui.compare_views` and the charts drawn by :mod:`core.charts.compare`; these functions
only lay them out. Widget keys start with ``cmp_``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core.access import OWNER
from slicewise.core.charts import tidy_chart
from slicewise.core.charts.compare import change_chart, history_chart
from slicewise.core.compare import compare_overall
from slicewise.core.errors import DataError
from slicewise.core.lineage import export_lineage, lineage_json
from slicewise.ui import compare as uc
from slicewise.ui import compare_views as cv
from slicewise.ui import data, settings, state, views, widgets
from slicewise.ui.data import Loaded
from slicewise.ui.text import md

# ----------------------------------------------------------------------------- save


def save_section(ctx: state.Context, iterations: pd.DataFrame) -> None:
    """Draw the expander that saves the current dataset as an iteration (open below two)."""
    with st.expander(
        "Save the current dataset as an iteration",
        icon=":material/bookmark_add:",
        expanded=len(iterations) < 2,
    ):
        if ctx.dataset_id is None:
            st.caption("Select a dataset in the sidebar first.")
            return
        loaded = data.require_dataset(ctx)
        st.caption(
            f"Snapshot of **{md(loaded.name)}** as it is now (its tags, corrections and "
            "per-slice table), with what produced it. Iterations are listed below, "
            "oldest first."
        )
        _save_form(ctx, loaded)


def _save_form(ctx: state.Context, loaded: Loaded) -> None:
    with st.form("cmp_save_form", clear_on_submit=True, border=False):
        c1, c2, c3 = st.columns(3)
        model_name = c1.text_input("Model name", key="cmp_model", placeholder="e.g. speech-asr")
        model_version = c2.text_input("Model version", key="cmp_version", placeholder="e.g. 1.2")
        data_version = c3.text_input(
            "Data version", key="cmp_data", placeholder="e.g. v3: + relabelled car noise"
        )
        notes = st.text_area(
            "Notes: one name = value per line",
            key="cmp_notes",
            placeholder="learning_rate = 0.0003\ncode_commit = 8d41e07",
            height=90,
        )
        owner = state.can(ctx, OWNER)
        if st.form_submit_button(
            "Save iteration",
            icon=":material/save:",
            type="primary",
            disabled=not owner,
            help=None if owner else state.needs(OWNER),
        ):
            if not model_name.strip():
                state.flash("Give the model a name", "error")
            else:
                uc.save_iteration(
                    ctx,
                    loaded,
                    model_name=model_name,
                    model_version=model_version,
                    data_version=data_version,
                    notes_text=notes,
                )
            st.rerun()


def too_few(iterations: pd.DataFrame) -> None:
    """Ask for a second iteration; show the one saved, if any."""
    st.info(
        "Save at least two iterations of this project (e.g. the baseline model and the "
        "retrained one) to compare them.",
        icon=":material/info:",
    )
    if len(iterations):
        st.dataframe(
            iterations.drop(columns=["project_id"]),
            hide_index=True,
            placeholder="–",
            key="cmp_history_one",
        )


# ----------------------------------------------------------------------------- choose


def iteration_rows(iterations: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Each iteration's row of ``Store.list_iterations`` by its id, oldest first."""
    return {int(r["id"]): r for r in iterations.to_dict("records")}


def choose_pair(rows: dict[int, dict[str, Any]]) -> tuple[int, int] | None:
    """Draw the Before and After pickers (default: the last two); None when both are one.

    ``rows`` maps each iteration's id to its row of ``Store.list_iterations``, oldest first.
    """
    ids = list(rows)
    left, right = st.columns(2)
    # the iterations change with the project: one of another project falls back to the defaults
    before_id = widgets.selectbox(
        left,
        "Before",
        ids,
        index=len(ids) - 2,
        key="cmp_before",
        format_func=lambda i: uc.iteration_label(rows[i]),
    )
    after_id = widgets.selectbox(
        right,
        "After",
        ids,
        index=len(ids) - 1,
        key="cmp_after",
        format_func=lambda i: uc.iteration_label(rows[i]),
    )
    if before_id == after_id:
        st.info("Choose two different iterations.", icon=":material/info:")
        return None
    return before_id, after_id


def comparison(
    ctx: state.Context, before: dict[str, Any], after: dict[str, Any]
) -> uc.Comparison | None:
    """Draw the slice-by picker, then compare two iterations; None on a data error.

    The columns offered are those of the AFTER iteration's dataset; a
    :class:`core.errors.DataError` is shown in place of the comparison.
    """
    columns = uc.slice_by_options(ctx, after)
    widgets.keep_valid_many("cmp_slice_by", columns)
    slice_by = st.multiselect(
        "Also slice by a column",
        columns,
        key="cmp_slice_by",
        placeholder="e.g. race, region" if columns else "No column to slice by",
        help="One slice per value, as on Slices vs HLP (e.g. FPR by race)",
    )
    hidden = uc.unsliceable_options(ctx, after)
    if hidden:
        st.caption(settings.unsliceable_note(hidden, data.slice_value_limit()))
    try:
        result = uc.compare_iterations(ctx, before, after, slice_by=slice_by)
    except DataError as exc:
        state.show_error(exc)
        return None
    st.caption(f"Examples: {md(result.how)}.")
    return result


# ----------------------------------------------------------------------------- results


def headline(table: pd.DataFrame) -> None:
    """Slices worse while all data improved, then accuracy, p-value and slices better/worse."""
    overall = compare_overall(table)
    for line in cv.callouts(table):  # what got worse while the whole improved comes first
        st.warning(line, icon=":material/trending_down:")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Accuracy, all data",
        views.percent(overall["accuracy_after"]),
        delta=f"{100 * overall['delta']:+.1f} pts",
        help=f"Before: {views.percent(overall['accuracy_before'])}",
    )
    c2.metric(
        "p-value (all data)", f"{overall['p_value']:.2g}", help=cv.TEST_NAMES[overall["test"]]
    )
    c3.metric("Slices better", len(overall["improved"]), help="Significant improvements")
    c4.metric(
        "Slices worse",
        len(overall["regressed"]),
        help="Significant regressions",
        delta=-len(overall["regressed"]) if overall["regressed"] else None,
    )


def slice_section(result: uc.Comparison) -> None:
    """Draw the metric picker (when the task has more than accuracy), slice table and chart."""
    options = uc.metric_options(result)
    metric = (
        widgets.selectbox(
            st,
            "Metric per slice",
            options,
            key="cmp_metric",
            format_func=uc.metric_label,
            help="What the slice table and chart compare",
        )
        if len(options) > 1
        else "accuracy"
    )
    if metric == "accuracy":
        view, config = cv.comparison_view(result.table)
        st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="cmp_table")
        st.caption(
            "Change and gaps in accuracy points (gap = HLP − accuracy). A change is "
            "significant at the 5% level: McNemar's exact test on the examples whose "
            "outcome changed where a slice holds the same examples in both iterations, "
            "otherwise the pooled two-proportion z-test (Fisher's exact test for small "
            "counts)."
        )
        st.plotly_chart(tidy_chart(change_chart(result.table)), key="cmp_change_chart")
        return
    changes = uc.metric_changes(result, metric)
    view, config = cv.metric_view(changes)
    st.dataframe(
        view, hide_index=True, placeholder="–", column_config=config, key="cmp_metric_table"
    )
    st.caption(
        f"{md(uc.metric_label(metric))}, counted on its own examples in each slice. "
        "A change is significant at the 5% level: McNemar's exact test on the same "
        "examples for a rate, else the two-proportion z-test (Fisher's for small "
        "counts); approximate randomization for F1 and WER; Welch's t-test for MAE on "
        "different examples."
    )
    st.plotly_chart(tidy_chart(change_chart(changes)), key="cmp_change_chart")


def class_section(result: uc.Comparison) -> None:
    """Per-class changes and both confusion matrices; nothing for a task without classes."""
    classes = uc.class_changes(result)
    if classes is None:
        return
    st.subheader("Per class")
    view, config = cv.class_view(classes)
    st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="cmp_classes")
    st.caption(
        "Each class against the rest; rare classes first. Changes in points; "
        "hover a p-value's header for its test."
    )
    with st.expander("Confusion matrices (rows: label, columns: prediction)"):
        left, right = st.columns(2)
        left.caption("Before")
        left.dataframe(classes.confusion_before, key="cmp_confusion_before")
        right.caption("After")
        right.dataframe(classes.confusion_after, key="cmp_confusion_after")


# ----------------------------------------------------------------------------- history


def history_section(ctx: state.Context, iterations: pd.DataFrame) -> None:
    """Every iteration: each slice's chart across them, then the table of iterations."""
    st.subheader("Every iteration of the project")
    rows = iteration_rows(iterations)
    ids = tuple(rows)
    labels = tuple(uc.iteration_label(rows[i]) for i in ids)
    with state.section("The chart of every iteration"):
        hist = uc.history(ctx.db, ids, labels)
        st.plotly_chart(history_chart(hist), key="cmp_history_chart")
    view, config = cv.history_view(iterations, labels)
    st.dataframe(view, hide_index=True, placeholder="–", key="cmp_history", column_config=config)


def lineage_download(ctx: state.Context) -> None:
    """Offer every dataset, iteration, tag rule and decision of the project as JSON."""
    with state.section("The lineage download"):  # it reads every record of the project
        store = ctx.store
        project = store.list_projects().set_index("id").loc[ctx.project_id, "name"]
        st.download_button(
            "Download the project's lineage (JSON)",
            lineage_json(export_lineage(store, ctx.project_id)),
            file_name=f"slicewise-lineage-{pd.Timestamp.now('UTC'):%Y-%m-%d}.json",
            mime="application/json",
            key="cmp_lineage",
            on_click="ignore",
            icon=":material/download:",
            help=f"Every dataset, iteration, tag rule and decision of {project}, with who and when",
        )
