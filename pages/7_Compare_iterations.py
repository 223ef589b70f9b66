import streamlit as st

from slicewise.ui import compare_page, state

ctx = state.page_start(
    "Compare iterations", "Did the last change help every slice?", icon=":material/compare_arrows:"
)
if ctx.project_id is None:
    state.empty_state("No project yet.")
    st.stop()
# A damaged store (StoreDamaged): each read shows its message instead of a traceback.
iterations = state.read(ctx.store.list_iterations, ctx.project_id)
compare_page.save_section(ctx, iterations)
if len(iterations) < 2:
    compare_page.too_few(iterations)
    st.stop()

rows = compare_page.iteration_rows(iterations)
pair = compare_page.choose_pair(rows)  # None: the same iteration twice
if pair is None:
    st.stop()
result = compare_page.comparison(ctx, rows[pair[0]], rows[pair[1]])  # None: shown an error
if result is None:
    st.stop()

compare_page.headline(result.table)
compare_page.slice_section(result)  # accuracy or the chosen metric per slice, and its chart
compare_page.class_section(result)
compare_page.history_section(ctx, iterations)
compare_page.lineage_download(ctx)
