"""The review queue of the *Label consistency* page: resolve the items annotators disagree on.

A reviewer filters the queue (class pair, tag, status), decides one item at a time beside
its example, or edits decisions in the table; decisions are saved in the store against the
annotation set (:meth:`core.store.Store.save_review_decision`). The helpers that shape the
queue are in :mod:`ui.agreement_queue`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.access import ANNOTATOR
from slicewise.ui import agreement as ua
from slicewise.ui import agreement_queue as aq
from slicewise.ui import state, widgets
from slicewise.ui.agreement_labels import Chosen, Link
from slicewise.ui.text import md

NO_DECISIONS = pd.DataFrame(columns=["item", "decision", "note", "user", "at"])
SHOWN = "agree_queue_shown"  # what the last run's table showed, to apply a stale edit


@dataclass(frozen=True)
class Review:
    """The queue being reviewed and the decisions made on it.

    Attributes
    ----------
    set_id
        The annotation set (None: the labels are not saved; nothing can be decided).
    queue, annotators, classes
        From :func:`ui.agreement.analysis`.
    made
        The latest decision per item (:meth:`core.store.Store.review_decisions`).
    rev
        How many decisions were ever recorded (0 unsaved or unreadable): widget keys hold
        it, so a save by anyone redraws the decision widgets.
    may_review
        Whether the user may save decisions (an annotator of the set's project).
    """

    set_id: int | None
    queue: pd.DataFrame
    annotators: list[str]
    classes: list[str]
    made: pd.DataFrame
    rev: int
    may_review: bool


def save_decision(
    store, set_id: int, item: str, d_key: str, n_key: str, next_item: str | None
) -> None:
    """Save the reviewer's decision on one item, then move to the next one to review.

    ``item`` is the item whose votes the form showed (the button's own argument, from the
    run that drew them); the decision and note widgets are keyed by it. Should the Item box
    have sent another item with this click, nothing is saved.
    """
    if st.session_state.get("agree_item") not in (None, item):
        state.flash(
            f"The item changed to {st.session_state['agree_item']} before Save: "
            f"nothing was saved for {item}. Check its votes and save again.",
            "warning",
        )
        return
    decision = st.session_state.get(d_key)
    note = st.session_state.get(n_key) or ""
    if decision is None and not note.strip():
        state.flash("Choose a decision or write a note first", "warning")
        return
    saved = state.run_write(
        store.save_review_decision,
        set_id,
        item,
        decision=decision,
        note=note,
        user=state.current_user(),
        success=f"Saved {decision or 'a note'} for {item}",
    )
    if saved and next_item is not None:
        st.session_state["agree_item"] = next_item


def _read_decisions(
    ctx: state.Context, set_id: int | None, queue: pd.DataFrame
) -> tuple[pd.DataFrame, bool]:
    """Read the set's latest decisions and show the progress; also whether they were unreadable.

    A damaged store: no decisions (the message says why), and none can be saved.
    """
    made = (
        state.read(ctx.store.review_decisions, set_id, otherwise=None, what="The review decisions")
        if set_id is not None
        else NO_DECISIONS
    )
    unreadable, made = made is None, NO_DECISIONS if made is None else made
    done, progress = aq.progress_text(queue, made)
    st.progress(done / len(queue) if len(queue) else 1.0, text=progress)
    if set_id is None:
        st.info(
            "Save these labels as an annotation set (above) to record review decisions: "
            "they are stored with your name and survive a restart.",
            icon=":material/save:",
        )
    return made, unreadable


def _filters(result: dict[str, Any], made: pd.DataFrame, link: Link) -> pd.DataFrame:
    """Draw the class pair, tag and status filters; return the queue's items they keep."""
    queue, resolved = result["queue"], aq.resolved_items(made)
    f1, f2, f3 = st.columns([2, 2, 3])
    pairs = {f"{a} / {b}": (a, b) for a, b in aq.pair_options(result["confused"])}
    pair = widgets.selectbox(
        f1,
        "Class pair",
        [aq.ALL_PAIRS, *pairs],
        key="agree_pair",
        help="Items labelled with both classes, pairs annotators confuse most first",
    )
    tag_names = link.tag_names
    tag = widgets.selectbox(
        f2,
        "Tag",
        [aq.ALL_TAGS, *tag_names],
        key="agree_tag",
        disabled=not tag_names,
        help="Items carrying a tag of the linked dataset"
        if tag_names
        else "Link the items to a dataset with tags to filter by tag",
    )
    status = f3.radio("Show", aq.STATUSES, horizontal=True, key="agree_status")
    tag_items = None
    if tag != aq.ALL_TAGS and link.linked is not None:
        tag_items = link.linked.tags.index[link.linked.tags[tag].to_numpy(dtype=bool)]
    shown = aq.filter_queue(
        queue,
        result["annotator_list"],
        pair=pairs.get(pair),
        tag_items=tag_items,
        status=status,
        resolved=resolved,
    )
    if len(shown) != len(queue):
        st.caption(
            f"{len(shown):,} of {len(queue):,} items match the filters "
            f"({len(set(shown['item'].astype(str)) & resolved):,} resolved)."
        )
    return shown


def _review_state(
    ctx: state.Context, chosen: Chosen, result: dict[str, Any], made, unreadable: bool
) -> Review:
    """Return the decisions' revision and whether the user may review (an annotator of the set)."""
    store, set_id = ctx.store, chosen.set_id
    rev = (
        len(state.read(store.review_decisions, set_id, history=True, otherwise=NO_DECISIONS))
        if set_id is not None and not unreadable
        else 0
    )
    # Reviewing writes decisions in the set's project: an annotator's work there.
    may_review = set_id is not None and state.allowed(
        store, int(chosen.set_row.project_id), ctx.user, ANNOTATOR
    )
    return Review(
        set_id,
        result["queue"],
        result["annotator_list"],
        result["classes_list"],
        made,
        rev,
        may_review,
    )


def _decision_widgets(ctx, review: Review, form, item: str, row, items, resolved) -> None:
    """Decision, note and Save for one item (keyed by the set, the item and the revision)."""
    latest = review.made.set_index(review.made["item"].astype(str))
    current = latest.loc[item] if item in latest.index else None
    now = current["decision"] if current is not None else None
    options = aq.decision_options(row, review.annotators, review.classes, now)
    later = [i for i in items[items.index(item) + 1 :] if i not in resolved]
    # The decision and note widgets belong to the item shown: their keys hold it.
    set_id, rev = review.set_id, review.rev
    d_key, n_key = f"agree_decide_{set_id}_{item}_{rev}", f"agree_note_{set_id}_{item}_{rev}"
    c1, c2, c3 = form.columns([4, 4, 3], vertical_alignment="bottom")
    c1.selectbox(
        "Decision",
        options,
        key=d_key,
        index=options.index(now) if now in options else None,
        placeholder="the right label, or borderline",
        accept_new_options=True,
        help=f"The right label, or '{ag.BORDERLINE}' when the item is ambiguous",
    )
    c2.text_input(
        "Note for the labelling instructions",
        key=n_key,
        value=current["note"] if current is not None else "",
    )
    c3.button(
        "Save decision",
        key="agree_save_decision",
        type="primary",
        icon=":material/check:",
        on_click=save_decision,
        disabled=not review.may_review,
        help=None if review.may_review else state.needs(ANNOTATOR),
        args=(ctx.store, set_id, item, d_key, n_key, later[0] if later else None),
    )
    if current is not None:
        form.caption(f"Decided by {md(aq.by_line(current['user'], current['at']))}")


def _one_item(ctx: state.Context, review: Review, shown: pd.DataFrame, link: Link) -> None:
    """Review one item: its votes, the decision form, and its example beside them."""
    st.markdown("**Review one item**")
    resolved = aq.resolved_items(review.made)
    items = shown["item"].astype(str).tolist()
    table, kinds = ua.examples(link.target) if link.target is not None else (None, {})
    form, beside = st.columns([2, 1]) if kinds else (st.container(), None)
    c1, c2 = form.columns([1, 3], vertical_alignment="bottom")
    # The items change with the filters: the box shows, and the form below acts on, an
    # item of the current list (a stale one is replaced before the box is drawn).
    item = widgets.selectbox(
        c1,
        "Item",
        items,
        key="agree_item",
        format_func=lambda i: f"{i} ✓" if i in resolved else i,
    )
    row = shown.set_index(shown["item"].astype(str)).loc[item]
    c2.markdown(aq.item_votes(row, review.annotators))
    _decision_widgets(ctx, review, form, item, row, items, resolved)
    if beside is not None:
        with beside:
            aq.show_example(item, table, kinds, db=ctx.db)


def _editor_config(options: list[str]) -> dict[str, Any]:
    return {
        "entropy": st.column_config.NumberColumn(
            "Vote entropy", format="%.2f", help="0 = unanimous; higher = more contested"
        ),
        "decision": st.column_config.SelectboxColumn(
            "Decision", options=options, help="The right label, or 'borderline'"
        ),
        "note": st.column_config.TextColumn("Note"),
        "by": st.column_config.TextColumn("Decided by"),
    }


def _stale_edits(review: Review, editable: bool, editor_key: str) -> list:
    """Edits made on a table another reviewer's save has since redrawn.

    Such an edit arrives under the table's old key (the key holds the count of decisions),
    so the new table would drop it: it is applied to the rows that table showed.
    """
    last = st.session_state.pop(SHOWN, None)
    if (
        editable
        and last
        and last["key"] != editor_key
        and not last["applied"]
        and last["set"] == review.set_id
    ):
        edits = st.session_state.get(last["key"]) or {}
        return aq.stale_decisions(edits.get("edited_rows") or {}, last["rows"])
    return []


def _save_edits(ctx: state.Context, review: Review, changes: list) -> None:
    """Save the (item, decision, note) edits of the table; rerun when every one is saved."""
    ok = all(
        state.run_write(
            ctx.store.save_review_decision, review.set_id, i, decision=d, note=n, user=ctx.user
        )
        for i, d, n in changes
    )
    if ok:
        state.flash(f"Saved {len(changes)} review decision(s)")
        st.rerun()
    state.show_flash()


def _queue_table(ctx: state.Context, review: Review, shown: pd.DataFrame, fp: str) -> None:
    """Draw the queue as a table whose decision and note the reviewer edits (saved at once)."""
    size = st.select_slider(
        "Items shown", [25, 50, 100, 200, 500], value=50, key="agree_queue_size"
    )
    made = review.made
    view = aq.queue_view(shown.head(size), review.annotators, made)
    given = [d for d in made["decision"] if isinstance(d, str)]
    options = list(dict.fromkeys([*review.classes, ag.BORDERLINE, *given]))
    editable = review.set_id is not None and review.may_review
    digest = hashlib.sha256("\x1f".join(view["item"].astype(str)).encode()).hexdigest()[:10]
    editor_key = f"agree_queue_{review.set_id or fp}_{size}_{review.rev}_{digest}"
    stale = _stale_edits(review, editable, editor_key)
    edited = st.data_editor(
        view,
        hide_index=True,
        key=editor_key,
        num_rows="fixed",
        disabled=[c for c in view.columns if not editable or c not in ("decision", "note")],
        column_config=_editor_config(options),
    )
    changes = (aq.edited_decisions(view, edited) if editable else []) + stale
    st.session_state[SHOWN] = {
        "key": editor_key,
        "set": review.set_id,
        "applied": bool(changes),
        "rows": view[["item", "decision", "note"]].to_dict("records"),
    }
    if changes:
        _save_edits(ctx, review, changes)
    st.caption(
        f"{len(review.queue):,} items with disagreement, most contested first. Pick the right "
        f"label, mark the item '{ag.BORDERLINE}', or leave a note for the labelling "
        "instructions."
    )


def review_tab(ctx: state.Context, chosen: Chosen, link: Link, result: dict[str, Any]) -> int:
    """Draw the *Review queue* tab; return the count of decisions ever recorded (its revision)."""
    made, unreadable = _read_decisions(ctx, chosen.set_id, result["queue"])
    shown = _filters(result, made, link)
    review = _review_state(ctx, chosen, result, made, unreadable)
    if review.set_id is not None and len(shown):
        _one_item(ctx, review, shown, link)
    _queue_table(ctx, review, shown, chosen.ann.fingerprint())
    return review.rev
