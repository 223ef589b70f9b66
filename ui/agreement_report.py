"""What the *Label consistency* page reports: headline metrics, annotators, classes, HLP per tag.

The figures are those of :func:`ui.agreement.analysis`; the tables are shaped by
:mod:`ui.agreement_views`, the heatmap drawn by :func:`core.charts.kappa_heatmap`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.charts import kappa_heatmap
from slicewise.ui import agreement_views as av
from slicewise.ui import state
from slicewise.ui.agreement_labels import Chosen, Link
from slicewise.ui.text import md

MAX_HEATMAP = 40  # annotators: more make an unreadable heatmap


def headline(result: dict[str, Any], rules_applied: bool) -> None:
    """Show the counts of items, annotators, labels, classes; the key metrics; the metrics table."""
    fig = result["figures"]
    st.markdown(
        f"**{fig['items']:,}** items · **{fig['annotators']}** annotators · "
        f"**{fig['labels_total']:,}** labels · **{fig['classes']}** classes · "
        f"**{fig['n_disagreements']:,}** items with disagreement ({fig['n_ties']} tied)"
        + (" · *rules applied*" if rules_applied else "")
    )
    summary = result["summary"]
    cols = st.columns(len(av.KEY_METRICS))
    for col, key in zip(cols, av.KEY_METRICS, strict=True):
        if key in summary.index:
            row = summary.loc[key]
            col.metric(
                row["name"],
                av.fmt(row["value"]),
                help=row["definition"],
                delta=None
                if key == "percent_agreement" or pd.isna(row["observed_agreement"])
                else f"raw {av.fmt(row['observed_agreement'], 2)}",
                delta_color="off",
                delta_arrow="off",
            )
    if result["caution"]:
        st.warning(md(result["caution"]), icon=":material/balance:")
    st.dataframe(
        av.summary_view(summary),
        hide_index=True,
        placeholder="–",
        column_config=av.SUMMARY_CONFIG,
        key="agree_summary",
    )


def annotators_tab(result: dict[str, Any]) -> None:
    """Per-annotator agreement (lowest first) and the pairwise kappa heatmap."""
    left, right = st.columns([4, 3])
    view = av.annotator_view(result["annotators"])
    left.dataframe(
        view,
        hide_index=True,
        key="agree_annotators",
        column_config={
            **av.percent_config([c for c in view.columns if "agreement" in c or c == "accuracy"]),
            "mean kappa": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    left.caption(
        "Agreement with consensus: share of an annotator's labels equal to the other "
        "annotators' majority (the annotator's own vote left out). Lowest first: "
        "talk to them about the labelling instructions."
    )
    if len(result["kappa"]) <= MAX_HEATMAP:
        right.plotly_chart(kappa_heatmap(result["kappa"]), key="agree_kappa_chart")
    else:
        right.caption(f"{len(result['kappa'])} annotators: too many for a readable heatmap.")


def classes_tab(result: dict[str, Any]) -> None:
    """Class pairs annotators confuse, and agreement per class."""
    st.markdown("**Classes annotators confuse** — candidates to merge, or to define better")
    st.dataframe(
        av.confused_view(result["confused"]).head(20),
        hide_index=True,
        placeholder="–",
        key="agree_confused",
        column_config={
            "share of disagreement": av.PERCENT,
            "observed / chance": st.column_config.NumberColumn(format="%.2f"),
            "alpha if merged": st.column_config.NumberColumn(format="%.3f"),
            "alpha change": st.column_config.NumberColumn(format="%+.3f"),
        },
    )
    st.markdown("**Per class**")
    classes = result["classes"].reset_index()
    classes["share"] = 100 * classes["share"]
    classes["specific_agreement"] = 100 * classes["specific_agreement"]
    st.dataframe(
        classes,
        hide_index=True,
        placeholder="–",
        key="agree_classes",
        column_config={
            **av.percent_config(["share", "specific_agreement"]),
            "alpha_vs_rest": st.column_config.NumberColumn(format="%.3f"),
        },
    )


def _apply_hlp(store, set_id: int, dataset_id: int, values: dict[str, float]) -> None:
    """Save the annotators' per-tag HLP into the dataset's tag settings and select it."""
    if state.run_write(
        store.apply_annotation_hlp,
        set_id,
        dataset_id,
        values,
        user=state.current_user(),
        success=f"Saved the HLP of {len(values)} tag(s) for Slices vs HLP",
    ):
        state.select_dataset(dataset_id)


def _why_not_apply(ctx: state.Context, chosen: Chosen, link: Link, values: dict) -> str | None:
    """Why the HLP cannot be saved into the linked dataset's settings (None: it can)."""
    if chosen.set_id is None:
        return "Save the labels as an annotation set first"
    if link.target_id is None:
        return "Link the items to a stored dataset (the set's linked dataset or the selected one)"
    if not values:
        return "No tag of the linked dataset has annotated items"
    datasets = chosen.datasets
    owner_of = dict(
        zip(datasets["id"].astype(int), datasets["project_id"].astype(int), strict=True)
    )
    if link.target_id not in owner_of or not state.allowed(
        ctx.store, owner_of[link.target_id], ctx.user, ANNOTATOR
    ):
        return state.needs(ANNOTATOR)
    return None


def hlp_tab(ctx: state.Context, chosen: Chosen, link: Link, result: dict[str, Any]) -> None:
    """Agreement and HLP per tag of the linked dataset, and saving that HLP to its settings."""
    if link.linked is None:
        st.info("Link the items to predictions to see HLP per tag.", icon=":material/link:")
    st.dataframe(
        av.slice_view(result["by_slice"]),
        hide_index=True,
        placeholder="–",
        key="agree_slices",
        column_config={
            **av.percent_config(
                ["percent agreement", "HLP", "model accuracy", "model agrees with annotators"]
            ),
            "alpha": st.column_config.NumberColumn(format="%.3f"),
            "AC1": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.caption(
        "HLP: annotators' accuracy against the ground truth when there is one, "
        "otherwise the chance that two random annotators agree. When the ground truth "
        "is itself a human label, raising label consistency raises HLP."
    )
    values = av.hlp_to_apply(result["by_slice"], link.tag_names)
    why = _why_not_apply(ctx, chosen, link, values)
    c1, c2 = st.columns([1, 2], vertical_alignment="center")
    c1.button(
        "Use as HLP on Slices vs HLP",
        key="agree_use_hlp",
        icon=":material/person:",
        disabled=why is not None,
        on_click=_apply_hlp,
        args=(ctx.store, chosen.set_id, link.target_id, values),
        help=why
        or f"Saves the HLP of {len(values)} tag(s) into the tag settings of "
        f"{chosen.dataset_names.get(link.target_id, 'the dataset')}",
    )
    if values:
        c2.caption("HLP to save: " + ", ".join(f"{t} {100 * v:.1f}%" for t, v in values.items()))
    elif why:
        c2.caption(why + ".")
