import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.charts import priority_bubble_chart
from slicewise.core.errors import DataError
from slicewise.core.prioritize import describe_priorities, rank_rule
from slicewise.ui import data, production, settings, state, views
from slicewise.ui.text import md

ctx = state.page_start(
    "Prioritise", "What should we work on first?", icon=":material/low_priority:"
)
loaded = data.require_dataset(ctx)
slice_by, bins = settings.slice_by_widgets(loaded)

left, right = st.columns([1, 1])
with left:
    st.markdown("**Importance and ease per tag** — 1 to 5, 3 is neutral; saved at once")
    settings.weights_editor(loaded, user=ctx.user, editable=state.can(ctx, ANNOTATOR))
    protected, rank_by = settings.ranking_widgets(loaded, slice_by)

try:
    table = data.analysis_table(
        loaded, slice_by=[*slice_by, *protected], bins=bins, protected=protected, rank_by=rank_by
    )
except DataError as exc:
    state.show_error(exc)
    st.stop()
table = production.share_switch(
    ctx, loaded, table, slice_by=[*slice_by, *protected], bins=bins, rank_by=rank_by
)

with right:
    st.markdown("**What to do next**")
    for line in describe_priorities(table):
        st.markdown(f"- {md(line)}")

view, config = views.priority_view(table)
st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="prio_table")
st.caption(
    f"Ordered by rank: {md(rank_rule(table))}. Gaps are measured against "
    f"{md(views.baseline_name(table))}. '{views.NOT_SIGNIFICANT}': the gap could be "
    "chance (5% level) — check it with more examples before investing."
)
st.plotly_chart(priority_bubble_chart(table), key="prio_chart")
