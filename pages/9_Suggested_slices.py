import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.charts.discovery import error_tree_chart
from slicewise.core.discovery import describe_error_tree
from slicewise.core.errors import DataError
from slicewise.ui import data, state, views
from slicewise.ui import discovery as ud
from slicewise.ui.text import code, md

ctx = state.page_start(
    "Suggested slices", "Which slices hide the most errors?", icon=":material/travel_explore:"
)
loaded = data.require_dataset(ctx)
ds = loaded.dataset
did, store, user = loaded.dataset_id, ctx.store, ctx.user
annotate = state.can(ctx, ANNOTATOR)  # a viewer reads the suggestions, tags nothing
no_role = None if annotate else state.needs(ANNOTATOR)

st.markdown(
    "Slicewise searched the metadata for combinations of up to three conditions "
    "(e.g. `device = android AND snr_db < 10`) where the model errs far more often "
    "than on the whole. Turn a suggestion into a tag to follow it on *Slices vs HLP* "
    "and *Prioritise*."
)

# ----------------------------------------------------------------------------- settings
columns = ud.searchable_columns(loaded)
c1, c2, c3 = st.columns([3, 1, 1])
# Keyed by dataset: the columns and the default minimum belong to one dataset (a keyed
# widget would keep another dataset's choice and ignore the new default).
chosen = c1.multiselect(
    "Columns to search",
    columns,
    default=columns,
    key=f"suggest_columns_{did}",
    help="Numeric columns are cut into quartiles; ids and free text "
    "(over 50 distinct values) are left out.",
)
max_conditions = c2.slider("Conditions per slice", 1, 3, 3, key="suggest_max_conditions")
min_support = c3.number_input(
    "Min. examples per slice",
    min_value=1,
    value=ud.default_min_support(ds.n),
    step=10,
    key=f"suggest_min_support_{did}",
)

try:
    found = ud.suggestions(loaded, tuple(chosen), max_conditions, int(min_support))
except DataError as exc:
    state.show_error(exc)
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Examples", f"{found.n:,}")
m2.metric("Error rate", views.percent(found.overall_error_rate))
m3.metric("Slices evaluated", f"{found.n_tested:,}")
m4.metric("Significant suggestions", f"{found.n_significant:,}")
for warning in found.warnings:
    st.warning(md(warning), icon=":material/warning:")
if found.skipped:
    st.caption("Left out: " + "; ".join(f"`{c}` ({why})" for c, why in found.skipped.items()))

# ----------------------------------------------------------------------------- suggestions
st.subheader("Suggested slices")
view, config = ud.suggestion_view(found)
st.dataframe(view, hide_index=True, placeholder="–", column_config=config, key="suggest_table")
st.info(
    "**Guard against chance.** " + found.fdr_note() + " Ranked by the SliceLine score, "
    "which weighs the excess error rate against the slice's size; a slice that only adds "
    "conditions to a higher-ranked one is left out.",
    icon=":material/science:",
)

if len(found.slices):
    pick = st.selectbox(
        "Suggestion to tag",
        range(len(found.slices)),
        key="suggest_pick",
        format_func=lambda i: (
            f"{i + 1}. {ud.rule_text(found, i)} — "
            f"{int(found.slices['n'].iloc[i]):,} examples, "
            f"{views.percent(found.slices['error_rate'].iloc[i])} errors"
        ),
    )
    rule = ud.rule_text(found, pick)
    exists = rule in loaded.tag_names
    if st.button(
        f"Tag these {int(found.slices['n'].iloc[pick]):,} examples",
        type="primary",
        key="suggest_tag",
        disabled=exists or not annotate,
        icon=":material/sell:",
        help=no_role
        or "Creates a tag named after the rule (saved with your name) "
        "holding every example of the slice, errors and correct ones "
        "alike.",
    ):
        ids = ud.slice_ids(loaded, found, pick)
        state.run_write(
            ud.tag_examples,
            store,
            did,
            rule,
            ids,
            user=user,
            success=lambda n: f"Tagged {n:,} examples as “{rule}”",
        )
        st.rerun()
    if exists:
        st.caption(f"“{md(rule)}” is already a tag: see it on *Slices vs HLP* and *Prioritise*.")
    else:
        st.caption("The tag is named after the rule; rename it on *Tag errors* if you like.")

# ----------------------------------------------------------------------------- error tree
st.subheader("Error tree")
st.caption(
    "A shallow decision tree that predicts “is this prediction an error?” from the "
    "same columns: each box is a group of examples (width = examples), coloured by "
    "its error rate."
)
depth = st.select_slider("Tree depth", options=[1, 2, 3, 4], value=3, key="suggest_depth")
tree = ud.error_tree(loaded, tuple(chosen), depth, int(min_support))
if len(tree):
    st.plotly_chart(error_tree_chart(tree), key="suggest_tree")
    for line in describe_error_tree(tree, top=3):
        st.markdown(f"- {md(line)}")
else:
    st.caption("No tree: there is no usable column, or no error to explain.")

# ----------------------------------------------------------------------------- label errors
st.subheader("Likely label errors")
prob_columns = ud.probability_columns(loaded)
if not prob_columns:
    st.info(
        "Add the model's probability of each class to the file, one column per class "
        "named `prob_<class>` (e.g. `prob_scratch`, `prob_ok`), to find examples whose "
        "given label is probably wrong (confident learning, cleanlab).",
        icon=":material/info:",
    )
    st.stop()
try:
    issues = ud.label_issues(loaded)
except DataError as exc:
    state.show_error(exc)
    st.stop()
st.markdown(
    f"**{issues.n_issues:,}** of {issues.n_checked:,} examples have a label that is "
    "probably wrong, most likely first: confident learning (cleanlab) on the model's "
    "probabilities (columns "
    + ", ".join(code(c) for c in issues.columns.values())
    + "), checked against the human label and annotators where the file has them."
)
st.caption(md(issues.summary()))
for note in issues.warnings:
    st.caption(f"Note: {md(note)}")
issue_table, issue_config = ud.issue_view(issues)
st.dataframe(
    issue_table, hide_index=True, placeholder="–", column_config=issue_config, key="suggest_issues"
)
if issues.n_issues:
    ids = issues.issues["id"].tolist()
    tagged = (
        int(ds.tags[ud.TAG_NAME].to_numpy(dtype=bool).sum())
        if ud.TAG_NAME in loaded.tag_names
        else 0
    )
    if st.button(
        f"Send {len(ids):,} to review",
        key="suggest_review",
        icon=":material/rate_review:",
        disabled=not annotate,
        help=no_role
        or f"Tags them as “{ud.TAG_NAME}”: filter by that tag on Tag "
        "errors, where a reviewer can correct the label.",
    ):
        state.run_write(
            ud.tag_examples,
            store,
            did,
            ud.TAG_NAME,
            ids,
            user=user,
            success=lambda n: f"{n:,} examples tagged “{ud.TAG_NAME}”",
        )
        st.rerun()
    if tagged:
        st.caption(f"{tagged:,} examples carry “{ud.TAG_NAME}”.")
    state.page_link(state.TAG_PAGE, "Review them on Tag errors", ":material/sell:")
st.caption(
    "The probabilities should come from a model that did not train on these "
    "examples (cross-validated or held out); otherwise it has memorised their labels."
)
