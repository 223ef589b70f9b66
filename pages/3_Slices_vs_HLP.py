import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.charts import accuracy_vs_hlp_chart, confusion_heatmap, tidy_chart
from slicewise.core.errors import DataError
from slicewise.core.metrics import MIN_HUMAN_LABELS
from slicewise.ui import data, settings, state, views

ctx = state.page_start(
    "Slices vs HLP",
    "Where does the model trail human-level performance?",
    icon=":material/bar_chart:",
)
loaded = data.require_dataset(ctx)
slice_by, bins = settings.slice_by_widgets(loaded)

try:
    table = data.analysis_table(loaded, slice_by=slice_by, bins=bins)
except DataError as exc:
    state.show_error(exc)
    st.stop()

# ----------------------------------------------------------------------------- HLP entry
settings.hlp_inputs(loaded, table, user=ctx.user, editable=state.can(ctx, ANNOTATOR))
hlp_note = settings.hlp_source_note(loaded)
if hlp_note:
    st.caption(hlp_note)

# ----------------------------------------------------------------------------- table, chart
view, config = views.slice_view(table, loaded.task.kind)
st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="slices_table")
st.caption(
    "Accuracy and HLP intervals are 95% Wilson intervals. Gap = HLP − the model's "
    "accuracy on the same human-labelled examples, in points (on all examples for an "
    f"entered HLP); '{views.NOT_SIGNIFICANT}' means the gap could be chance at the 5% "
    f"level. A slice needs at least {MIN_HUMAN_LABELS} human labels to be compared."
)
too_few = views.too_few_note(table)
if too_few:
    st.info(too_few, icon=":material/person_search:")
st.plotly_chart(tidy_chart(accuracy_vs_hlp_chart(table)), key="slices_chart")

# ----------------------------------------------------------------------------- per class
if loaded.task.kind in ("classification", "binary"):
    st.subheader("Per class")
    report, matrix = data.class_views(loaded)
    left, right = st.columns([1, 1])
    class_table, class_config = views.class_view(report)
    left.dataframe(class_table, hide_index=True, column_config=class_config, key="slices_classes")
    right.plotly_chart(confusion_heatmap(matrix), key="slices_confusion")
    if len(report) > len(matrix):
        right.caption(
            f"{len(report):,} classes: the {len(matrix) - 1} most frequent are shown; "
            "the rest are summed in '(other)'."
        )
