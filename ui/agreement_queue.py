"""The review queue of the *Label consistency* page: filters, table, edits and examples.

Pure helpers over the queue of :func:`core.agreement.find_disagreements` and the decisions
of :meth:`core.store.Store.review_decisions` (columns ``item``, ``decision``, ``note``,
``user``, ``at``); :mod:`ui.agreement_review` draws the queue with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.dataset import Dataset
from slicewise.ui import media
from slicewise.ui.tagging import media_columns

ALL_PAIRS = "All class pairs"
ALL_TAGS = "All tags"
STATUSES = ("All", "To review", "Resolved")


def pair_options(confused: pd.DataFrame, limit: int = 30) -> list[tuple[str, str]]:
    """Return the class pairs annotators confuse most, as (class a, class b)."""
    head = confused.head(limit)
    return [(str(a), str(b)) for a, b in zip(head["class_a"], head["class_b"], strict=True)]


def filter_queue(
    queue: pd.DataFrame,
    annotators: Sequence[str],
    *,
    pair: tuple[str, str] | None = None,
    tag_items: Sequence[str] | None = None,
    status: str = "All",
    resolved: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Keep the queue's items matching every filter given.

    ``pair``: labelled with both classes; ``tag_items``: the items carrying a tag;
    ``status``: to review or resolved, ``resolved`` being the items with a decision.
    """
    keep = np.ones(len(queue), dtype=bool)
    items = queue["item"].astype(str)
    if pair is not None:
        cols = [a for a in annotators if a in queue.columns]
        given = (
            queue[cols].astype(object).map(lambda v: None if v is None or v != v else str(v))
            if cols
            else queue[[]]
        )
        keep &= (given == pair[0]).any(axis=1).to_numpy() & (given == pair[1]).any(
            axis=1
        ).to_numpy()
    if tag_items is not None:
        keep &= items.isin(set(map(str, tag_items))).to_numpy()
    if status == "To review":
        keep &= ~items.isin(resolved).to_numpy()
    elif status == "Resolved":
        keep &= items.isin(resolved).to_numpy()
    return queue[keep]


def resolved_items(made: pd.DataFrame) -> set[str]:
    """Items with a decision (a label or borderline), from :meth:`Store.review_decisions`."""
    return set(made.loc[made["decision"].notna(), "item"].astype(str))


def progress_text(queue: pd.DataFrame, made: pd.DataFrame) -> tuple[int, str]:
    """How many of the queue's items are resolved, and the sentence saying so."""
    done = int(queue["item"].astype(str).isin(resolved_items(made)).sum())
    noted = int(
        queue["item"]
        .astype(str)
        .isin(set(made.loc[made["decision"].isna(), "item"].astype(str)))
        .sum()
    )
    text = f"{done:,} of {len(queue):,} disagreements resolved"
    if noted:
        text += f" · {noted:,} with a note only"
    return done, text


def by_line(user: Any, at: Any) -> str:
    """``user · 2024-05-01 12:30`` for who decided and when (empty without a user)."""
    if not isinstance(user, str):
        return ""
    return f"{user} · {str(at)[:16].replace('T', ' ')}"


def queue_view(queue: pd.DataFrame, annotators: Sequence[str], made: pd.DataFrame) -> pd.DataFrame:
    """Shape the review queue with the decision and note the reviewer edits, and who decided."""
    cols = ["item", "entropy", "consensus", "tie", *[a for a in annotators if a in queue]]
    cols += [c for c in ("prediction", "truth") if c in queue.columns]
    view = queue[cols].copy()
    for a in annotators:
        if a in view:
            view[a] = view[a].map(lambda v: "" if v is None or v != v else str(v))
    view["consensus"] = view["consensus"].astype(str)
    latest = made.set_index(made["item"].astype(str))
    items = view["item"].astype(str)

    # Text columns even when the queue is empty (no disagreement): a data editor refuses a
    # text column over the float dtype an empty list would give.
    def text(values: list[Any]) -> pd.Series:
        return pd.Series(values, index=view.index, dtype=object)

    view["decision"] = text(
        [latest.at[i, "decision"] if i in latest.index else None for i in items]
    )
    view["note"] = text([latest.at[i, "note"] if i in latest.index else "" for i in items])
    view["by"] = text(
        [
            by_line(latest.at[i, "user"], latest.at[i, "at"]) if i in latest.index else ""
            for i in items
        ]
    )
    return view


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def edited_decisions(
    before: pd.DataFrame, after: pd.DataFrame
) -> list[tuple[str, str | None, str]]:
    """Return (item, decision, note) for each row whose decision or note was changed."""
    out = []
    for i in range(min(len(before), len(after))):
        new_d, new_n = _cell(after["decision"].iat[i]), _cell(after["note"].iat[i]) or ""
        old_d, old_n = _cell(before["decision"].iat[i]), _cell(before["note"].iat[i]) or ""
        if (new_d, new_n) != (old_d, old_n):
            out.append((str(before["item"].iat[i]), new_d, new_n))
    return out


def stale_decisions(
    edited_rows: dict[Any, dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[tuple[str, str | None, str]]:
    """Turn a data editor's ``edited_rows`` on a table since redrawn into decisions.

    ``rows`` are the (item, decision, note) records the old table showed, in order; edits of
    rows out of range or of other columns are ignored.
    """
    out = []
    for row, cells in edited_rows.items():
        r = int(row)
        if not 0 <= r < len(rows) or not ({"decision", "note"} & set(cells)):
            continue
        shown = rows[r]
        old = (_cell(shown.get("decision")), _cell(shown.get("note")) or "")
        new = (
            _cell(cells.get("decision", shown.get("decision"))),
            _cell(cells.get("note", shown.get("note"))) or "",
        )
        if new != old:
            out.append((str(shown["item"]), *new))
    return out


def decision_options(
    row: pd.Series, annotators: Sequence[str], classes: Sequence[str], current: str | None = None
) -> list[str]:
    """Choices for one item: its labels (most given first), borderline, then other classes."""
    given = [str(row[a]) for a in annotators if a in row.index and _cell(row[a]) is not None]
    first = list(pd.Series(given, dtype=object).value_counts(sort=True).index) if given else []
    out = list(dict.fromkeys([*first, ag.BORDERLINE, *map(str, classes)]))
    if current and current not in out:
        out.append(current)
    return out


def item_votes(row: pd.Series, annotators: Sequence[str]) -> str:
    """One line: what each annotator said about an item, then truth and prediction."""
    parts = [
        f"**{a}**: {row[a]}" for a in annotators if a in row.index and _cell(row[a]) is not None
    ]
    for col, name in (("truth", "ground truth"), ("prediction", "model")):
        if col in row.index and _cell(row[col]) is not None:
            parts.append(f"*{name}*: {row[col]}")
    return " · ".join(parts)


#: Metadata columns shown as the example's text when the linked dataset has one (lower-case).
TEXT_COLUMN_NAMES = (
    "text",
    "sentence",
    "transcript",
    "utterance",
    "prompt",
    "content",
    "document",
    "caption",
    "question",
    "input",
    "input_text",
)


def example_columns(dataset: Dataset) -> dict[str, str]:
    """Return the linked dataset's columns showing an example: {column: image|audio|text}.

    Image and audio columns as :func:`ui.tagging.media_columns` finds them; text columns by
    name (:data:`TEXT_COLUMN_NAMES`), non-numeric ones only.
    """
    meta = dataset.metadata_columns
    out = media_columns(dataset.frame, meta)
    for col in meta:
        values = dataset.frame[col]
        if (
            col not in out
            and str(col).strip().lower() in TEXT_COLUMN_NAMES
            and not pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_bool_dtype(values)
        ):
            out[str(col)] = "text"
    return out


def show_example(item: str, table: pd.DataFrame, kinds: dict[str, str], *, db: str) -> None:
    """Show the item's image, audio or text from the linked dataset (nothing if not in it)."""
    if item not in table.index:
        st.caption(f"{item} is not in the linked dataset: no example to show.")
        return
    row = table.loc[item]
    for col, kind in kinds.items():
        value = row[col]
        if kind == "text":
            if isinstance(value, str) and value.strip():
                st.caption(col)
                st.text(value)
        else:
            media.show_media(col, kind, value, db=db)
