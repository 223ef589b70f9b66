import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.errors import DataError
from slicewise.ui import data, export, settings, state, widgets
from slicewise.ui.text import md

ctx = state.page_start("Export", "How do we share what we found?", icon=":material/download:")
loaded = data.require_dataset(ctx)
slice_by, bins = settings.shared_slice_by(loaded)
# The Prioritise page's ranking choices, so the report ranks as that page shows.
protected, rank_by = settings.shared_ranking(loaded)
st.caption(
    f"Report of **{md(loaded.name)}** for a manager: the headline, what to do next, "
    "every slice in rank order, per-class results, label corrections and how the "
    "baseline was measured"
    + (f"; also sliced by {md(', '.join(slice_by))}" if slice_by else "")
    + (f"; protected: {md(', '.join(protected))}" if protected else "")
    + ". Each download is also kept in the project, listed below."
)
# A viewer downloads; keeping a copy in the project is an annotator's write.
keep = state.can(ctx, ANNOTATOR)
if not keep:
    st.caption(f"Your downloads are not kept in the project: {state.needs(ANNOTATOR)}")

cols = st.columns(len(export.FORMATS))
for col, (fmt, label, mime) in zip(cols, export.FORMATS, strict=True):
    try:
        content = export.build_report(
            loaded, fmt, slice_by=slice_by, bins=bins, protected=protected, rank_by=rank_by
        )
    except DataError as exc:
        state.show_error(exc)
        st.stop()
    name = export.filename(loaded, fmt)
    col.download_button(
        label,
        content,
        file_name=name,
        mime=mime,
        key=f"export_{fmt}",
        icon=":material/download:",
        on_click=export.save_download if keep else "ignore",
        args=(loaded.dataset_id, fmt, name, content) if keep else None,
    )
    col.caption(md(name))

st.subheader("Saved reports")
try:
    reports = ctx.store.list_reports(loaded.dataset_id)
except DataError as exc:  # e.g. StoreDamaged: the downloads above still work
    state.show_error(exc)
    st.stop()
if reports.empty:
    st.caption("None yet: a report is saved here each time you download it.")
    st.stop()
st.dataframe(
    reports.drop(columns=["dataset_id"]),
    hide_index=True,
    placeholder="–",
    key="export_reports",
    column_config={"size": st.column_config.NumberColumn("size", format="bytes")},
)
ids = reports["id"].astype(int).tolist()
names = dict(zip(ids, reports["filename"], strict=True))
# the reports change with the dataset in use: a report of another dataset is never offered
chosen = widgets.selectbox(
    st, "Download again", ids, key="export_again", format_func=lambda i: f"{names[i]} (#{i})"
)
fmt = str(reports.loc[reports["id"] == chosen, "fmt"].iloc[0])
with state.section("This saved report"):  # a damaged store: it may not be readable
    st.download_button(
        "Download",
        export.saved_content(ctx.store, chosen, fmt),
        file_name=names[chosen],
        mime=export.MIME.get(fmt, "application/octet-stream"),
        key="export_again_btn",
        on_click="ignore",
        icon=":material/download:",
    )
