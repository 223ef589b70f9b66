import dataclasses

import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.errors import DataError
from slicewise.ui import data, review_sample, state, tag_errors, tag_grid

ctx = state.page_start("Tag errors", "Which errors share a cause?", icon=":material/sell:")
loaded = data.require_dataset(ctx)
# A viewer sees everything and changes nothing: the write controls are disabled, saying why.
annotate = state.can(ctx, ANNOTATOR)
page = tag_grid.TagPage(
    ctx, loaded.dataset_id, annotate, None if annotate else state.needs(ANNOTATOR)
)
try:
    correct = data.example_correct(loaded)
except DataError as exc:  # the task does not fit the data (e.g. a positive class gone)
    state.show_error(exc)
    st.stop()
summary = st.container()  # coverage: drawn by the grid's fragment, which a tick reruns

# Widgets whose options change: a stale value is replaced before they are drawn.
tag_errors.keep_tag_widgets_valid(loaded.tag_names)
tag_errors.manage_tags(page, loaded.tag_names)
tag_errors.tag_by_rule(page, loaded, correct)
sample_rows = review_sample.section(ctx, loaded, correct)
filters = tag_errors.filter_bar(loaded)
size, order, show_cols = tag_errors.grid_options(loaded)
page = dataclasses.replace(page, summary=summary, sample_rows=sample_rows)
tag_grid.grid_and_example(page, filters, order, size, show_cols)
