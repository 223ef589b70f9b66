import streamlit as st

from slicewise.ui import agreement as ua
from slicewise.ui import (
    agreement_labels,
    agreement_report,
    agreement_review,
    agreement_rules,
    state,
)

ctx = state.page_start(
    "Label consistency", "Do our annotators agree on the labels?", icon=":material/groups:"
)
chosen = agreement_labels.choose_labels(ctx)  # a saved set, the demo labels or a file
agreement_labels.offer_to_save(ctx, chosen)  # decisions are stored against a saved set
link = agreement_labels.choose_link(ctx, chosen)  # ground truth, predictions and tags
rules, apply_all = agreement_rules.sidebar(chosen.ann, link.target)
result = ua.analysis(chosen.ann, rules if apply_all else ua.RuleChoice(), link.target)
agreement_report.headline(result, rules.active and apply_all)

tab_ann, tab_cls, tab_queue, tab_tags, tab_rules = st.tabs(
    ["Annotators", "Classes", "Review queue", "HLP per tag", "Standardise & export"]
)
with tab_ann:
    agreement_report.annotators_tab(result)
with tab_cls:
    agreement_report.classes_tab(result)
with tab_queue:
    rev = agreement_review.review_tab(ctx, chosen, link, result)
with tab_tags:
    agreement_report.hlp_tab(ctx, chosen, link, result)
with tab_rules:
    agreement_rules.export_tab(ctx, chosen, rules, apply_all, rev)
