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
from slicewise.ui.text import md

ctx = state.page_start(
    "Compare iterations", "Did the last change help every slice?", icon=":material/compare_arrows:"
)
if ctx.project_id is None:
    state.empty_state("No project yet.")
    st.stop()
store = ctx.store
# A damaged store (StoreDamaged): each read shows its message instead of a traceback.
iterations = state.read(store.list_iterations, ctx.project_id)

# ----------------------------------------------------------------------------- save
with st.expander(
    "Save the current dataset as an iteration",
    icon=":material/bookmark_add:",
    expanded=len(iterations) < 2,
):
    if ctx.dataset_id is None:
        st.caption("Select a dataset in the sidebar first.")
    else:
        loaded = data.require_dataset(ctx)
        st.caption(
            f"Snapshot of **{md(loaded.name)}** as it is now (its tags, corrections and "
            "per-slice table), with what produced it. Iterations are listed below, "
            "oldest first."
        )
        with st.form("cmp_save_form", clear_on_submit=True, border=False):
            c1, c2, c3 = st.columns(3)
            model_name = c1.text_input("Model name", key="cmp_model", placeholder="e.g. speech-asr")
            model_version = c2.text_input(
                "Model version", key="cmp_version", placeholder="e.g. 1.2"
            )
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

if len(iterations) < 2:
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
    st.stop()

# ----------------------------------------------------------------------------- choose
rows = {int(r["id"]): r for r in iterations.to_dict("records")}
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
    st.stop()
columns = uc.slice_by_options(ctx, rows[after_id])
widgets.keep_valid_many("cmp_slice_by", columns)
slice_by = st.multiselect(
    "Also slice by a column",
    columns,
    key="cmp_slice_by",
    placeholder="e.g. race, region" if columns else "No column to slice by",
    help="One slice per value, as on Slices vs HLP (e.g. FPR by race)",
)
hidden = uc.unsliceable_options(ctx, rows[after_id])
if hidden:
    st.caption(settings.unsliceable_note(hidden, data.slice_value_limit()))
try:
    result = uc.compare_iterations(ctx, rows[before_id], rows[after_id], slice_by=slice_by)
except DataError as exc:
    state.show_error(exc)
    st.stop()
table = result.table
overall = compare_overall(table)
st.caption(f"Examples: {md(result.how)}.")

# ----------------------------------------------------------------------------- headline
for line in cv.callouts(table):  # what got worse while the whole improved comes first
    st.warning(line, icon=":material/trending_down:")
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Accuracy, all data",
    views.percent(overall["accuracy_after"]),
    delta=f"{100 * overall['delta']:+.1f} pts",
    help=f"Before: {views.percent(overall['accuracy_before'])}",
)
c2.metric("p-value (all data)", f"{overall['p_value']:.2g}", help=cv.TEST_NAMES[overall["test"]])
c3.metric("Slices better", len(overall["improved"]), help="Significant improvements")
c4.metric(
    "Slices worse",
    len(overall["regressed"]),
    help="Significant regressions",
    delta=-len(overall["regressed"]) if overall["regressed"] else None,
)

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
    view, config = cv.comparison_view(table)
    st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="cmp_table")
    st.caption(
        "Change and gaps in accuracy points (gap = HLP − accuracy). A change is "
        "significant at the 5% level: McNemar's exact test on the examples whose "
        "outcome changed where a slice holds the same examples in both iterations, "
        "otherwise the pooled two-proportion z-test (Fisher's exact test for small "
        "counts)."
    )
    st.plotly_chart(tidy_chart(change_chart(table)), key="cmp_change_chart")
else:
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

classes = uc.class_changes(result)
if classes is not None:
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
st.subheader("Every iteration of the project")
labels = tuple(uc.iteration_label(rows[i]) for i in ids)
with state.section("The chart of every iteration"):
    hist = uc.history(ctx.db, tuple(ids), labels)
    st.plotly_chart(history_chart(hist), key="cmp_history_chart")
shown = iterations.assign(
    notes=[", ".join(f"{k}={v}" for k, v in n.items()) for n in iterations["notes"]],
    iteration=list(labels),
)[
    [
        "iteration",
        "dataset_name",
        "source_name",
        "row_count",
        "content_hash",
        "notes",
        "created_by",
        "created_at",
    ]
]
shown["content_hash"] = shown["content_hash"].str[:12]
st.dataframe(
    shown,
    hide_index=True,
    placeholder="–",
    key="cmp_history",
    column_config={
        "iteration": st.column_config.TextColumn("Iteration"),
        "dataset_name": st.column_config.TextColumn("Dataset"),
        "source_name": st.column_config.TextColumn("File"),
        "row_count": st.column_config.NumberColumn("Rows", format="localized"),
        "content_hash": st.column_config.TextColumn("File hash", help="SHA-256 of the file"),
        "notes": st.column_config.TextColumn("Notes", width="large"),
        "created_by": st.column_config.TextColumn("Saved by"),
        "created_at": st.column_config.TextColumn("Saved at (UTC)"),
    },
)
with state.section("The lineage download"):  # it reads every record of the project
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
