"""Slicewise home page: what the tool does, the workflow, and the current dataset at a glance.

Run with ``slicewise app`` (or ``streamlit run app.py``); the numbered files in ``pages/``
are the workflow steps.
"""

import pandas as pd
import streamlit as st

from slicewise.core.errors import DataError
from slicewise.ui import data, state, views
from slicewise.ui.text import code, md

ctx = state.page_start(
    "Slicewise",
    "Slicewise: where is the model wrong, and what to fix first?",
    icon=":material/analytics:",
    layout="centered",
)
st.markdown(
    "Slicewise helps you do **error analysis** the way a data-centric team does it:\n\n"
    "1. tag the model's errors by cause, like a spreadsheet (car noise, people noise, "
    "low bandwidth…);\n"
    "2. compare accuracy on each tag with **human-level performance (HLP)**;\n"
    "3. work first where the gap to HLP × the share of data is largest."
)

st.subheader("Workflow")
for page, label, icon, what in state.WORKFLOW:
    left, right = st.columns([1, 3], vertical_alignment="center")
    with left:
        state.page_link(page, label, icon)
    right.caption(what)

st.subheader("Current dataset")
if ctx.dataset_id is None:
    state.empty_state("No dataset yet.")
    st.stop()

try:
    loaded = data.load_current(ctx)
    table = data.analysis_table(loaded)
except DataError as exc:
    state.show_error(exc)
    st.stop()

head = views.headline(table)
st.markdown(
    f"**{md(loaded.name)}** — {loaded.task.kind} task, "
    f"{len(loaded.tag_names)} tags, from {code(loaded.dataset.source_name)}"
)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Examples", f"{head['n']:,}")
c2.metric("Accuracy", views.percent(head["accuracy"]))
c3.metric("Errors", f"{head['errors']:,}")
# too few human labels: no headline HLP (1 label of 1 agreeing reads as "HLP 100%")
too_few = head["hlp_source"] == "too_few"
c4.metric(
    "HLP",
    "–" if too_few else views.percent(head["hlp"]),
    delta=None if pd.isna(head["gap"]) else f"{-100 * head['gap']:+.1f} pts vs HLP",
    help=f"Human-level performance on all data: {head['hlp_basis']}",
)
if too_few:
    c4.caption(head["hlp_basis"])
tagged, errors = data.tag_coverage(loaded)  # cached per tags and task, not per run
st.progress(
    tagged / errors if errors else 1.0,
    text=f"{tagged:,} of {errors:,} errors carry at least one tag",
)
