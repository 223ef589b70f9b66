"""Standardising labels on the *Label consistency* page: the rules, and the downloads.

The sidebar picks classes to merge and text normalisations (:class:`ui.agreement.RuleChoice`,
applied by :func:`core.agreement.apply_rules`); the *Standardise & export* tab previews how
every metric changes under them and offers the cleaned labels, the change log, the review
decisions and the final labels as CSV.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.report import to_safe_csv
from slicewise.ui import agreement as ua
from slicewise.ui import state, widgets
from slicewise.ui.agreement_labels import Chosen
from slicewise.ui.text import md

NO_DECISIONS = pd.DataFrame(columns=["item", "decision", "note", "user", "at"])


def sidebar(ann: ag.Annotations, target: ua.LinkTarget | None) -> tuple[ua.RuleChoice, bool]:
    """Draw the rules in the sidebar; return them and whether the page applies them.

    The classes offered to merge are those of the labels as given.
    """
    with st.sidebar:
        st.markdown("**Standardise labels**")
        classes = ua.analysis(ann, ua.RuleChoice(), target)["classes_list"]
        widgets.keep_valid_many("agree_merge", classes)
        merge = st.multiselect(
            "Merge classes",
            classes,
            key="agree_merge",
            help="e.g. deep scratch + shallow scratch → scratch",
        )
        target_name = st.text_input(
            "into",
            key="agree_merge_target",
            placeholder=" + ".join(merge) if merge else "merged class name",
        )
        lowercase = st.checkbox("Lower-case", key="agree_lower")
        punct = st.checkbox("Drop punctuation", key="agree_punct")
        repl = st.text_area(
            "Replacements (one per line, before -> after)",
            key="agree_repl",
            placeholder="Umm, -> Um,",
            height=80,
        )
        apply_all = st.toggle("Show the page with the rules applied", key="agree_apply")
    rules = ua.RuleChoice(
        merge=tuple(merge),
        target=(target_name or " + ".join(merge)).strip(),
        lowercase=lowercase,
        strip_punctuation=punct,
        replacements=ua.parse_replacements(repl),
    )
    return rules, apply_all


def _rule_downloads(ann: ag.Annotations, rules: ua.RuleChoice) -> None:
    """Before/after of every metric under the rules, the cleaned labels and the change log."""
    st.markdown(f"**Rules:** {md('; '.join(r.name for r in rules.rules()))}")
    st.dataframe(
        ua.preview(ann, rules).reset_index(drop=True),
        hide_index=True,
        placeholder="–",
        key="agree_preview",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("before", "after")}
        | {"change": st.column_config.NumberColumn(format="%+.3f")},
    )
    clean, log = ua.cleaned(ann, rules)
    labels_csv, log_csv = ag.changelog_csv(clean, log)
    c1, c2 = st.columns(2)
    c1.download_button(
        "Cleaned labels (CSV)",
        labels_csv,
        "labels_cleaned.csv",
        "text/csv",
        key="agree_dl_labels",
        icon=":material/download:",
    )
    c2.download_button(
        f"Change log: {len(log):,} changes (CSV)",
        log_csv,
        "labels_changelog.csv",
        "text/csv",
        key="agree_dl_log",
        icon=":material/download:",
    )


def _decision_downloads(
    ctx: state.Context, chosen: Chosen, choice: ua.RuleChoice, rev: int, rules_shown: bool
) -> None:
    """Offer the review decisions and the final labels (``choice`` applied) as CSV."""
    set_id = chosen.set_id
    made = (
        state.read(
            ctx.store.review_decisions, set_id, otherwise=NO_DECISIONS, what="The review decisions"
        )
        if set_id is not None
        else NO_DECISIONS
    )
    c1, c2 = st.columns(2)
    c1.download_button(
        f"Review decisions: {len(made)} (CSV)",
        to_safe_csv(made),
        "review_decisions.csv",
        "text/csv",
        key="agree_dl_decisions",
        icon=":material/download:",
        disabled=made.empty,
    )
    row = chosen.set_row
    final_name = str(row.name) if row is not None else Path(chosen.ann.source_name).stem
    c2.download_button(
        "Final labels: one per item (CSV)",
        ua.final_labels(chosen.ann, choice, ua.Decisions(made, f"{set_id}:{rev}")),
        ua.final_labels_file_name(final_name),
        "text/csv",
        key="agree_dl_final",
        icon=":material/download:",
        help="The review decision where there is one, otherwise the "
        "annotators' majority vote; ties are marked 'tie — needs review'. "
        "With the number of votes and the share agreeing with the final "
        "label" + (" (rules applied)" if rules_shown else ""),
    )


def export_tab(
    ctx: state.Context, chosen: Chosen, rules: ua.RuleChoice, apply_all: bool, rev: int
) -> None:
    """Draw the *Standardise & export* tab; ``rev`` counts the set's recorded decisions."""
    if not rules.active:
        st.info(
            "Choose classes to merge or a normalisation in the sidebar to preview how "
            "every metric changes.",
            icon=":material/merge:",
        )
    else:
        _rule_downloads(chosen.ann, rules)
    choice = rules if apply_all else ua.RuleChoice()
    _decision_downloads(ctx, chosen, choice, rev, rules.active and apply_all)
