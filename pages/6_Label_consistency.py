import pandas as pd
import streamlit as st

from core import agreement as ag
from core.errors import DataError
from ui import agreement as ua
from ui import data, state

ctx = state.page_start("Label consistency", "Do our annotators agree on the labels?",
                       icon=":material/groups:")

# ----------------------------------------------------------------------------- labels
source = st.radio("Labels", ["Demo annotations", "Upload a label file"], horizontal=True,
                  key="agree_source",
                  help="Long form: one row per (item, annotator, label), optionally time and "
                       "comment. Wide form: one row per item, one column per annotator.")
try:
    if source == "Demo annotations":
        ann = ua.demo_labels()
        st.caption("Five annotators labelled 300 phone images from the inspection demo "
                   "(3-5 labels each); the items are ids of the demo predictions.")
    else:
        upload = st.file_uploader("A CSV, TSV or Parquet file of labels",
                                  type=["csv", "tsv", "txt", "tab", "parquet", "pq"],
                                  key="agree_upload")
        if upload is None:
            st.info("Upload a label file, or look at the demo annotations first.",
                    icon=":material/info:")
            st.stop()
        raw = upload.getvalue()
        cols = ua.columns_of(upload.name, upload.file_id, _data=raw)
        with st.expander("Columns (detected from their names)"):
            c1, c2, c3, c4 = st.columns(4)
            detect = "(detect)"
            layout = c1.selectbox("Layout", ua.LEVELS, key="agree_layout")
            item = c2.selectbox("Item id", [detect, *cols], key="agree_item_col")
            who = c3.selectbox("Annotator (long form)", [detect, *cols], key="agree_ann_col")
            lab = c4.selectbox("Label (long form)", [detect, *cols], key="agree_label_col")
        options = tuple((k, None if v == detect else v) for k, v in
                        (("item", item), ("annotator", who), ("label", lab))) + \
            (("layout", layout),)
        ann = ua.read_labels(upload.name, upload.file_id, options, _data=raw)
except DataError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
for warning in ann.warnings:
    st.warning(warning, icon=":material/warning:")
fp = ann.fingerprint()

# ----------------------------------------------------------------------------- link
link_options = [ua.NO_LINK]
if ctx.dataset_id is not None:
    link_options.append("Selected dataset")
link_options.append(ua.DEMO_LINK)
if source == "Demo annotations":
    default = ua.DEMO_LINK
else:
    default = "Selected dataset" if ctx.dataset_id is not None else ua.NO_LINK
choice = st.selectbox("Link the items to predictions (ground truth, model prediction, tags)",
                      link_options, index=link_options.index(default), key="agree_link")
linked = None
try:
    if choice == "Selected dataset":
        loaded = data.load_current(ctx)
        linked = ua.link(fp, f"store:{loaded.key}", _labels=ann.labels, _dataset=loaded.dataset)
    elif choice == ua.DEMO_LINK:
        linked = ua.link(fp, "demo", _labels=ann.labels, _dataset=ua.demo_predictions())
except DataError as exc:
    st.warning(f"Not linked: {exc}", icon=":material/link_off:")
if linked is not None:
    for warning in linked.warnings:
        st.caption(warning)
link_key = choice if linked is not None else ua.NO_LINK

# ----------------------------------------------------------------------------- rules
with st.sidebar:
    st.markdown("**Standardise labels**")
    result0 = ua.analysis(fp, ua.RuleChoice(), link_key, _labels=ann.labels, _linked=linked)
    merge = st.multiselect("Merge classes", result0["classes_list"], key="agree_merge",
                           help="e.g. deep scratch + shallow scratch → scratch")
    target = st.text_input("into", key="agree_merge_target",
                           placeholder=" + ".join(merge) if merge else "merged class name")
    lowercase = st.checkbox("Lower-case", key="agree_lower")
    punct = st.checkbox("Drop punctuation", key="agree_punct")
    repl = st.text_area("Replacements (one per line, before -> after)", key="agree_repl",
                        placeholder="Umm, -> Um,", height=80)
    apply_all = st.toggle("Show the page with the rules applied", key="agree_apply")
rules = ua.RuleChoice(merge=tuple(merge), target=(target or " + ".join(merge)).strip(),
                      lowercase=lowercase, strip_punctuation=punct,
                      replacements=ua.parse_replacements(repl))
labels = ann.labels
if rules.active and apply_all:
    labels, _ = ua.cleaned(fp, rules, _labels=ann.labels)
result = ua.analysis(fp, rules if apply_all else ua.RuleChoice(), link_key, _labels=labels,
                     _linked=linked)

# ----------------------------------------------------------------------------- metrics
fig = result["figures"]
st.markdown(f"**{fig['items']:,}** items · **{fig['annotators']}** annotators · "
            f"**{fig['labels_total']:,}** labels · **{fig['classes']}** classes · "
            f"**{fig['n_disagreements']:,}** items with disagreement ({fig['n_ties']} tied)"
            + (" · *rules applied*" if rules.active and apply_all else ""))
summary = result["summary"]
cols = st.columns(len(ua.KEY_METRICS))
for col, key in zip(cols, ua.KEY_METRICS, strict=True):
    if key in summary.index:
        row = summary.loc[key]
        col.metric(row["name"], ua.fmt(row["value"]), help=row["definition"],
                   delta=None if key == "percent_agreement" or pd.isna(row["observed_agreement"])
                   else f"raw {ua.fmt(row['observed_agreement'], 2)}", delta_color="off",
                   delta_arrow="off")
if result["caution"]:
    st.warning(result["caution"], icon=":material/balance:")
st.dataframe(ua.summary_view(summary), hide_index=True, column_config=ua.SUMMARY_CONFIG,
             key="agree_summary")

tab_ann, tab_cls, tab_queue, tab_tags, tab_rules = st.tabs(
    ["Annotators", "Classes", "Review queue", "HLP per tag", "Standardise & export"])

with tab_ann:
    left, right = st.columns([4, 3])
    view = ua.annotator_view(result["annotators"])
    left.dataframe(view, hide_index=True, key="agree_annotators", column_config={
        **ua.percent_config([c for c in view.columns if "agreement" in c or c == "accuracy"]),
        "mean kappa": st.column_config.NumberColumn(format="%.3f")})
    left.caption("Agreement with consensus: share of an annotator's labels equal to the other "
                 "annotators' majority (the annotator's own vote left out). Lowest first: "
                 "talk to them about the labelling instructions.")
    if len(result["kappa"]) <= 40:
        right.plotly_chart(ua.kappa_heatmap(result["kappa"]), key="agree_kappa_chart")
    else:
        right.caption(f"{len(result['kappa'])} annotators: too many for a readable heatmap.")

with tab_cls:
    st.markdown("**Classes annotators confuse** — candidates to merge, or to define better")
    pairs = ua.confused_view(result["confused"])
    st.dataframe(pairs.head(20), hide_index=True, key="agree_confused", column_config={
        "share of disagreement": ua.PERCENT,
        "observed / chance": st.column_config.NumberColumn(format="%.2f"),
        "alpha if merged": st.column_config.NumberColumn(format="%.3f"),
        "alpha change": st.column_config.NumberColumn(format="%+.3f")})
    st.markdown("**Per class**")
    classes = result["classes"].reset_index()
    classes["share"] = 100 * classes["share"]
    classes["specific_agreement"] = 100 * classes["specific_agreement"]
    st.dataframe(classes, hide_index=True, key="agree_classes", column_config={
        **ua.percent_config(["share", "specific_agreement"]),
        "alpha_vs_rest": st.column_config.NumberColumn(format="%.3f")})

with tab_queue:
    queue = result["queue"]
    made = ua.decisions(fp)
    size = st.select_slider("Items shown", [25, 50, 100, 200, 500], value=50,
                            key="agree_queue_size")
    view = ua.queue_view(queue.head(size), result["annotator_list"], made)
    options = [*result["classes_list"], ag.BORDERLINE]
    edited = st.data_editor(
        view, hide_index=True, key=f"agree_queue_{fp}_{size}", num_rows="fixed",
        disabled=[c for c in view.columns if c not in ("decision", "note")],
        column_config={
            "entropy": st.column_config.NumberColumn("Vote entropy", format="%.2f",
                                                     help="0 = unanimous; higher = more "
                                                          "contested"),
            "decision": st.column_config.SelectboxColumn("Decision", options=options,
                                                         help="The right label, or "
                                                              "'borderline'"),
            "note": st.column_config.TextColumn("Note")})
    if ua.record_edits(view, edited, made, ctx.user):
        st.toast("Decision saved for this session", icon=":material/check_circle:")
    st.caption(f"{len(queue):,} items with disagreement, most contested first. Decisions "
               f"are kept for this session only ({len(made)} so far): download them below.")

with tab_tags:
    if linked is None:
        st.info("Link the items to predictions to see HLP per tag.", icon=":material/link:")
    st.dataframe(ua.slice_view(result["by_slice"]), hide_index=True, key="agree_slices",
                 column_config={**ua.percent_config(
                     ["percent agreement", "HLP", "model accuracy",
                      "model agrees with annotators"]),
                     "alpha": st.column_config.NumberColumn(format="%.3f"),
                     "AC1": st.column_config.NumberColumn(format="%.3f")})
    st.caption("HLP: annotators' accuracy against the ground truth when there is one, "
               "otherwise the chance that two random annotators agree. When the ground truth "
               "is itself a human label, raising label consistency raises HLP.")

with tab_rules:
    if not rules.active:
        st.info("Choose classes to merge or a normalisation in the sidebar to preview how "
                "every metric changes.", icon=":material/merge:")
    else:
        st.markdown(f"**Rules:** {'; '.join(r.name for r in rules.rules())}")
        prev = ua.preview(fp, rules, _labels=ann.labels)
        st.dataframe(prev.reset_index(drop=True), hide_index=True, key="agree_preview",
                     column_config={c: st.column_config.NumberColumn(format="%.3f")
                                    for c in ("before", "after")} | {
                         "change": st.column_config.NumberColumn(format="%+.3f")})
        clean, log = ua.cleaned(fp, rules, _labels=ann.labels)
        labels_csv, log_csv = ag.changelog_csv(clean, log)
        c1, c2 = st.columns(2)
        c1.download_button("Cleaned labels (CSV)", labels_csv, "labels_cleaned.csv",
                           "text/csv", key="agree_dl_labels", icon=":material/download:")
        c2.download_button(f"Change log: {len(log):,} changes (CSV)", log_csv,
                           "labels_changelog.csv", "text/csv", key="agree_dl_log",
                           icon=":material/download:")
    made = ua.decisions(fp)
    st.download_button(f"Review decisions: {len(made)} (CSV)",
                       ua.decisions_frame(made).to_csv(index=False), "review_decisions.csv",
                       "text/csv", key="agree_dl_decisions", icon=":material/download:",
                       disabled=not made)
