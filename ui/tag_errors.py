"""Sections of *Tag errors* above the grid: manage tags, tag by a rule, filters, grid options.

The grid itself and the example beside it are in :mod:`ui.tag_grid`. Every write goes
through :func:`ui.state.run_write` (a refused or failed write is a message, not a
traceback); controls a viewer may not use are disabled with ``page.no_role`` as help.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from slicewise.core.errors import DataError
from slicewise.core.rules import describe_rule
from slicewise.ui import data, state, tagging, widgets
from slicewise.ui.conditions import condition_rows
from slicewise.ui.data import Loaded
from slicewise.ui.tag_grid import TagPage
from slicewise.ui.tagging import ORDERS, Filters
from slicewise.ui.text import code, md


def keep_tag_widgets_valid(tags: list[str]) -> None:
    """Replace a stale tag choice (a tag renamed or deleted, another dataset) before drawing.

    A stale value is never shown nor acted on (:mod:`ui.widgets`).
    """
    for key in ("tag_rename_old", "tag_delete_name", "tag_rule_tag", "tag_bulk_tag"):
        widgets.keep_valid(key, tags, default=None)
    for key in ("tag_merge_sources", "tag_f_tags"):
        widgets.keep_valid_many(key, tags)


def manage_tags(page: TagPage, tags: list[str]) -> None:
    """Draw the expander that creates, renames, merges and deletes tags."""
    with st.expander(
        "Tags: create, rename, merge, delete", icon=":material/sell:", expanded=not tags
    ):
        a, b, c, d = st.columns(4)
        with a:
            _create_tag(page)
        with b:
            _rename_tag(page, tags)
        with c:
            _merge_tags(page, tags)
        with d:
            _delete_tag(page, tags)


def _create_tag(page: TagPage) -> None:
    new_tag = st.text_input("New tag", placeholder="e.g. car_noise", key="tag_new")
    if st.button(
        "Create",
        key="tag_create",
        disabled=not (page.annotate and new_tag.strip()),
        help=page.no_role,
    ):
        state.run_write(
            page.ctx.store.create_tag,
            page.did,
            new_tag.strip(),
            user=page.ctx.user,
            success=f"Created tag {new_tag.strip()}",
        )
        st.rerun()


def _rename_tag(page: TagPage, tags: list[str]) -> None:
    old = st.selectbox("Rename", tags, key="tag_rename_old", index=None, placeholder="Choose a tag")
    new = st.text_input("to", key="tag_rename_new")
    if st.button(
        "Rename",
        key="tag_rename",
        disabled=not (page.annotate and old and new.strip()),
        help=page.no_role,
    ):
        state.run_write(
            page.ctx.store.rename_tag,
            page.did,
            old,
            new.strip(),
            user=page.ctx.user,
            success=f"Renamed {old} to {new.strip()}",
        )
        st.rerun()


def _merge_tags(page: TagPage, tags: list[str]) -> None:
    sources = st.multiselect("Merge", tags, key="tag_merge_sources", placeholder="Tags to merge")
    target = st.text_input("into (existing or new tag)", key="tag_merge_target")
    if st.button(
        "Merge",
        key="tag_merge",
        disabled=not (page.annotate and sources and target.strip()),
        help=page.no_role,
    ):
        state.run_write(
            page.ctx.store.merge_tags,
            page.did,
            sources,
            target.strip(),
            user=page.ctx.user,
            success=f"Merged {', '.join(sources)} into {target.strip()}",
        )
        st.rerun()


def _delete_tag(page: TagPage, tags: list[str]) -> None:
    doomed = st.selectbox(
        "Delete", tags, key="tag_delete_name", index=None, placeholder="Choose a tag"
    )
    sure = st.checkbox("Yes, remove it from every example", key="tag_delete_sure")
    if st.button(
        "Delete",
        key="tag_delete",
        disabled=not (page.annotate and doomed and sure),
        help=page.no_role,
    ):
        state.run_write(
            page.ctx.store.delete_tag,
            page.did,
            doomed,
            user=page.ctx.user,
            success=f"Deleted tag {doomed}",
        )
        st.rerun()


def rule_columns(loaded: Loaded) -> list[str]:
    """Columns a rule or a metadata filter may test: every column but the id."""
    return [c for c in loaded.dataset.frame.columns if c != "id"]


def tag_by_rule(page: TagPage, loaded: Loaded, correct: np.ndarray) -> None:
    """Draw the expander that tags (or untags) every example matching metadata conditions."""
    tags = loaded.tag_names
    with st.expander("Tag by a rule on metadata", icon=":material/rule:"):
        st.caption(
            "Every condition must hold. A tag tells the most when it marks every example "
            "with the property, right or wrong: then its accuracy can be compared."
        )
        conditions = condition_rows("tag_rule", rule_columns(loaded), first=1)
        r4, r5, r6 = st.columns([2, 1, 2], vertical_alignment="bottom")
        rule_tag = r4.selectbox(
            "Tag",
            tags,
            key="tag_rule_tag",
            index=None,
            placeholder="Create a tag first" if not tags else "Choose a tag",
        )
        action = r5.radio("Action", ["tag", "untag"], horizontal=True, key="tag_rule_action")
        errors_only = r6.checkbox(
            "Errors only",
            value=False,
            key="tag_rule_errors",
            help="Tag only the examples the model gets wrong: the tag then says nothing about "
            "the examples it gets right, so the tag's accuracy cannot be read",
        )
        if not conditions:
            return
        try:
            hit = data.rule_matches(loaded, conditions)
        except DataError as exc:
            state.show_error(exc)
            return
        if errors_only:
            hit = hit & ~correct
        _apply_rule(page, loaded, conditions, hit, correct, (rule_tag, action, errors_only))


def _apply_rule(
    page: TagPage,
    loaded: Loaded,
    conditions: list,
    hit: np.ndarray,
    correct: np.ndarray,
    choice: tuple[str | None, str, bool],
) -> None:
    """Say what the rule matches and draw the button applying it.

    ``choice`` is (tag, "tag" or "untag", errors only) as chosen in the expander.
    """
    rule_tag, action, errors_only = choice
    did, store = page.did, page.ctx.store
    n_hit = int(hit.sum())
    st.info(
        f"**{n_hit:,}** examples match {code(describe_rule(conditions))}"
        + ("" if errors_only else f" ({int((hit & ~correct).sum()):,} of them errors)")
        + (f"; {action} them as **{md(rule_tag)}**" if rule_tag else ""),
        icon=":material/filter_alt:",
    )
    # The key holds what the button promises: a value typed without Enter and then a click
    # arrive in one run, and must not apply another rule than the one shown.
    promised = hash((describe_rule(conditions), errors_only, rule_tag, action, n_hit, did))
    if st.button(
        f"Apply to {n_hit:,} examples",
        key=f"tag_rule_apply_{promised}",
        type="primary",
        disabled=not (page.annotate and rule_tag and n_hit),
        help=page.no_role,
    ):
        # Tagging by a rule makes the tag known where the rule looked (every example, or the
        # errors), as `slicewise tag --db` does; untagging leaves that as it was.
        scope = (
            ("errors" if errors_only else "all")
            if action == "tag"
            else state.read(store.tag_scopes, did).get(rule_tag, "none")
        )
        state.run_write(
            store.apply_tag_rule,
            did,
            tagging.ids_at(loaded.dataset.frame, hit.nonzero()[0]),
            rule_tag,
            action == "tag",
            scope=scope,
            user=page.ctx.user,
            rule=describe_rule(conditions),
            success=lambda n: f"{n:,} examples changed ({rule_tag})",
        )
        st.rerun()


def filter_bar(loaded: Loaded) -> Filters:
    """Draw the filters above the grid and return what they keep."""
    f1, f2, f3, f4 = st.columns([1, 1, 2, 2])
    errors_only = f1.toggle(
        "Errors only",
        value=False,
        key="tag_f_errors",
        help="Hide the examples the model gets right (errors come first anyway)",
    )
    untagged_only = f2.toggle("Untagged only", key="tag_f_untagged")
    tag_filter = f3.multiselect(
        "With tags", loaded.tag_names, key="tag_f_tags", placeholder="Any tag"
    )
    search = f4.text_input(
        "Search id, label or prediction", key="tag_f_search", placeholder="words to find"
    )
    label_filter, pred_filter = _class_filters(loaded)
    with st.expander(
        "Where metadata…",
        icon=":material/filter_alt:",
        expanded=bool(st.session_state.get("tag_f_where_n")),
    ):
        where = condition_rows(
            "tag_f_where", rule_columns(loaded), first=0, add_label="Add a metadata condition"
        )
    return Filters(
        errors_only=errors_only,
        untagged_only=untagged_only,
        tags=tuple(tag_filter),
        label=label_filter,
        prediction=pred_filter,
        search=search,
        where=tuple(where),
    )


def _class_filters(loaded: Loaded) -> tuple[str | None, str | None]:
    """Label and prediction filters, offered when the column has few values (≤ 200)."""
    labels = data.distinct_values(loaded, "label")
    preds = data.distinct_values(loaded, "prediction")
    label_filter = pred_filter = None
    if labels is None and preds is None:
        return None, None
    g1, g2, _ = st.columns([1, 1, 2])
    if labels is not None:
        widgets.keep_valid("tag_f_label", labels, default=None)
        label_filter = g1.selectbox(
            "Label", labels, index=None, key="tag_f_label", placeholder="Any label"
        )
    if preds is not None:
        widgets.keep_valid("tag_f_pred", preds, default=None)
        pred_filter = g2.selectbox(
            "Prediction", preds, index=None, key="tag_f_pred", placeholder="Any prediction"
        )
    return label_filter, pred_filter


def grid_options(loaded: Loaded) -> tuple[int, str, tuple[str, ...]]:
    """Draw rows per page, order and metadata columns shown; return (size, order, columns)."""
    ds = loaded.dataset
    kinds = data.media_kinds(loaded)
    images = [c for c, kind in kinds.items() if kind == "image"]
    has_score = "score" in ds.frame.columns
    o1, o2, o3 = st.columns([1, 2, 4], vertical_alignment="bottom")
    size = o1.selectbox("Rows per page", (25, 50, 100, 250), index=1, key="tag_page_size")
    orders = list(ORDERS) if has_score else ["errors"]
    widgets.keep_valid("tag_order", orders)
    order = o2.selectbox(
        "Order",
        orders,
        key="tag_order",
        format_func=ORDERS.get,
        disabled=not has_score,
        help="Sort by the model's score (confidence)"
        if has_score
        else "The data has no score column",
    )
    show_key = f"tag_show_cols_{loaded.dataset_id}"
    plain = [c for c in ds.metadata_columns if c not in kinds]
    st.session_state.setdefault(show_key, images[:2] + plain[:2])
    widgets.keep_valid_many(show_key, ds.metadata_columns)
    show_cols = o3.multiselect(
        "Show columns",
        ds.metadata_columns,
        key=show_key,
        placeholder="Metadata columns to show",
        help="Image columns show as thumbnails",
    )
    return size, order, tuple(show_cols)
