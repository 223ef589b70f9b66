import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.errors import DataError
from slicewise.ui import data, drift_charts, production, settings, state
from slicewise.ui.text import md

ctx = state.page_start(
    "Production drift",
    "Has production moved away from the test set?",
    icon=":material/monitoring:",
)
loaded = data.require_dataset(ctx)
stored = production.samples(ctx, loaded)

with st.expander("Upload a production sample", expanded=stored.empty):
    production.upload_section(ctx, loaded)
if stored.empty:
    st.info(
        "No production sample yet. Upload a table of the predictions your model made on "
        "production traffic (labels optional, a time column for monitoring) to compare it "
        f"with the test set. {production.columns_note(loaded)}",
        icon=":material/info:",
    )
    st.stop()

sample_id = production.choose_sample(ctx, stored)
info = stored.set_index("id").loc[sample_id]
production.delete_button(ctx, sample_id)
saved = state.read(ctx.store.drift_thresholds, production.project_of(loaded), what="Thresholds")
try:
    table = production.sample_table(ctx.db, sample_id)
except DataError as exc:
    state.show_error(exc)
    st.stop()

st.subheader("Feature drift")
features = production.features_choice(loaded, table, sample_id)
if not features:
    st.info(
        "No feature to compare: choose at least one in *Features compared* (the columns "
        "both files hold, besides ids, labels, predictions and scores).",
        icon=":material/info:",
    )
    st.stop()
thresholds = production.watched_thresholds(features, saved)
try:
    drift = production.drift_table(loaded, ctx.db, sample_id, features, thresholds)
except DataError as exc:
    state.show_error(exc)
    st.stop()
crossed = drift[drift["crossed"].fillna(False).astype(bool)]
if len(crossed):
    st.error(
        f"{len(crossed)} feature{'s' if len(crossed) != 1 else ''} crossed the threshold: "
        f"{md(', '.join(map(str, crossed['feature'])))}.",
        icon=":material/notifications_active:",
    )
else:
    st.success("No feature crossed its threshold.", icon=":material/check_circle:")
view, config = production.drift_view(drift)
st.dataframe(view, hide_index=True, column_config=config, key="drift_table")
st.caption(
    "Features that moved most (drift ÷ threshold) first. Categorical features: L-infinity "
    "distance, the largest change of a category's share (TFDV); numeric features: "
    "Jensen-Shannon divergence in bits over the test set's quantile bins. PSI: population "
    "stability index."
)
with st.expander("Alarm thresholds (saved for the project)"):
    production.thresholds_inputs(ctx, loaded, drift, editable=state.can(ctx, ANNOTATOR))

feature = st.selectbox("Compare the shares of", list(drift["feature"]), key="drift_feature")
with state.section("The shares"):
    shares = production.shares(loaded, ctx.db, sample_id, feature)
    st.plotly_chart(drift_charts.shares_chart(shares, feature), key="drift_shares")

st.subheader("Slice mix: what the shift does to the model")
slice_by, bins = settings.slice_by_widgets(loaded)
with state.section("The slice mix"):
    mix, warnings = production.mix(loaded, ctx.db, sample_id, tuple(slice_by), bins)
    for line in warnings:
        st.warning(md(line))
    st.metric("Slice mix moved (L-infinity)", f"{mix.attrs['linf']:.3f}", border=True)
    view, config = production.mix_view(mix)
    st.dataframe(view, hide_index=True, column_config=config, key="drift_mix")
    st.caption(
        "Slices that moved most (share change: production share − test share) first. "
        "L-infinity: the largest change of a share over the "
        f"{md(mix.attrs.get('linf_partition', 'slices'))} (TFDV's distance). Expected "
        f"accuracy on production traffic: {md(mix.attrs.get('estimator', ''))}"
    )
    estimate = production.cbpe(loaded, ctx.db, sample_id, tuple(slice_by), bins)
    if estimate is not None:
        st.markdown("**Accuracy estimated from the model's confidence (CBPE)**")
        view, config = production.cbpe_view(estimate)
        st.dataframe(view, hide_index=True, column_config=config, key="drift_cbpe")
        st.caption(
            "Mean calibrated probability of being right on the production rows "
            f"(calibration: {md(estimate.attrs.get('calibration', ''))}); interval ± 3 "
            "sampling errors."
        )

st.subheader("Monitoring over time")
options = ["(none)", *map(str, table.columns)]
default = info["time_column"] if info["time_column"] in options else "(none)"
c1, c2 = st.columns(2)
time_column = c1.selectbox(
    "Time column", options, index=options.index(default), key="drift_time_column"
)
window = c2.selectbox("Window", ["1d", "7d", "30d", "500 rows"], index=1, key="drift_window")
if time_column == "(none)":
    st.info("Choose the column holding each row's timestamp to see drift per window.")
    st.stop()
with state.section("The monitoring view"):
    per_window = production.windows(
        loaded, ctx.db, sample_id, time_column, window, features, thresholds
    )
    for note in per_window.attrs.get("notes", []):
        st.caption(md(note))
    for note in production.window_notes(per_window):
        st.caption(note)
    watched = st.selectbox("Feature", list(drift["feature"]), key="drift_window_feature")
    st.plotly_chart(drift_charts.windows_chart(per_window, watched), key="drift_windows")
    if per_window["accuracy"].notna().any():
        st.plotly_chart(drift_charts.accuracy_chart(per_window), key="drift_accuracy")
    alarms = per_window[per_window["crossed"].fillna(False).astype(bool)]
    st.caption(f"{len(alarms)} threshold crossing{'s' if len(alarms) != 1 else ''} over "
               f"{per_window['window'].nunique()} windows.")  # fmt: skip
