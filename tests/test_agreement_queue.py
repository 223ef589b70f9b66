"""ui/agreement_queue.py: filtering and editing the review queue (hand-worked tables)."""

from __future__ import annotations

import pandas as pd

from slicewise.core import agreement as ag
from slicewise.ui import agreement_queue as aq

QUEUE = pd.DataFrame(
    {
        "item": ["i1", "i2", "i3"],
        "entropy": [1.0, 0.9, 0.5],
        "consensus": ["cat", "dog", "cat"],
        "tie": [True, False, False],
        "x": ["cat", "dog", "cat"],
        "y": ["dog", "dog", "bird"],
    }
)
MADE = pd.DataFrame(
    {
        "item": ["i1", "i3"],
        "decision": ["cat", None],
        "note": ["", "unclear"],
        "user": ["Ben", "Ann"],
        "at": ["2024-05-01T12:30:00", "2024-05-02T08:00:00"],
    }
)


def test_filters_by_pair_tag_and_status():
    both = aq.filter_queue(QUEUE, ["x", "y"], pair=("cat", "dog"))
    assert both["item"].tolist() == ["i1"]  # only i1 has a cat and a dog vote
    tagged = aq.filter_queue(QUEUE, ["x", "y"], tag_items=["i2", "i3"])
    assert tagged["item"].tolist() == ["i2", "i3"]
    resolved = aq.resolved_items(MADE)
    assert resolved == {"i1"}  # i3 has a note only
    assert aq.filter_queue(QUEUE, ["x", "y"], status="To review", resolved=resolved)[
        "item"
    ].tolist() == ["i2", "i3"]
    assert aq.filter_queue(QUEUE, ["x", "y"], status="Resolved", resolved=resolved)[
        "item"
    ].tolist() == ["i1"]


def test_progress_counts_decisions_and_notes():
    done, text = aq.progress_text(QUEUE, MADE)
    assert done == 1
    assert text == "1 of 3 disagreements resolved · 1 with a note only"


def test_queue_view_shows_who_decided():
    view = aq.queue_view(QUEUE, ["x", "y"], MADE)
    # i3 has a note only: no decision (missing)
    assert [d if isinstance(d, str) else None for d in view["decision"]] == ["cat", None, None]
    assert view["note"].tolist() == ["", "", "unclear"]
    assert view["by"].tolist() == ["Ben · 2024-05-01 12:30", "", "Ann · 2024-05-02 08:00"]


def test_edits_and_stale_edits_become_decisions():
    view = aq.queue_view(QUEUE, ["x", "y"], MADE)
    edited = view.copy()
    edited.loc[1, "decision"] = "dog"
    edited.loc[2, "note"] = "unclear"  # unchanged
    assert aq.edited_decisions(view, edited) == [("i2", "dog", "")]
    rows = view[["item", "decision", "note"]].to_dict("records")
    stale = aq.stale_decisions({"2": {"decision": "bird"}, "7": {"decision": "x"}}, rows)
    assert stale == [("i3", "bird", "unclear")]  # row 7 does not exist


def test_decision_options_put_the_item_votes_first():
    row = QUEUE.iloc[0]
    options = aq.decision_options(row, ["x", "y"], ["bird", "cat", "dog"], current="fox")
    assert options[:2] in (["cat", "dog"], ["dog", "cat"])  # one vote each
    assert options[2:] == [ag.BORDERLINE, "bird", "fox"]
    assert aq.item_votes(row, ["x", "y"]) == "**x**: cat · **y**: dog"
