"""One final label per item: the review decision, else the majority vote; ties need review.

Expected values are worked by hand in the comments; the majority-vote oracle counts votes
with :class:`collections.Counter`, independently of ``core.agreement``.
"""

from __future__ import annotations

from collections import Counter
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from slicewise.core import agreement as ag
from slicewise.core.errors import DataError, MissingColumnError

# a: cat cat dog      -> majority cat, 2/3
# b: cat dog          -> tie (1 vs 1), one of them 1/2
# c: dog dog cat      -> majority dog 2/3, but a reviewer decides cat -> cat, 1/3
# d: fox              -> a single vote: majority fox, 1/1
# e: cat dog fox fox  -> majority fox 2/4
# f: cat cat dog dog  -> tie 2/4, resolved by a decision "borderline" -> 0/4 voted that
LABELS = pd.DataFrame(
    [
        ("a", "x", "cat"),
        ("a", "y", "cat"),
        ("a", "z", "dog"),
        ("b", "x", "cat"),
        ("b", "y", "dog"),
        ("c", "x", "dog"),
        ("c", "y", "dog"),
        ("c", "z", "cat"),
        ("d", "x", "fox"),
        ("e", "w", "cat"),
        ("e", "x", "dog"),
        ("e", "y", "fox"),
        ("e", "z", "fox"),
        ("f", "w", "cat"),
        ("f", "x", "cat"),
        ("f", "y", "dog"),
        ("f", "z", "dog"),
    ],
    columns=["item", "annotator", "label"],
)
DECISIONS = pd.DataFrame(
    {
        "item": ["c", "f"],
        "decision": ["cat", ag.BORDERLINE],
        "note": ["", "cannot tell"],
        "user": ["Ana", "Ben"],
        "at": ["2024-01-01", "2024-01-02"],
    }
)


def _rows(table: pd.DataFrame) -> dict[str, tuple]:
    return {
        r.item: (
            None if pd.isna(r.final_label) else r.final_label,
            r.decided_by,
            r.n_votes,
            round(r.agreement, 6),
        )
        for r in table.itertuples(index=False)
    }


def test_columns_are_the_documented_ones():
    table = ag.compute_final_labels(LABELS)
    assert list(table.columns) == list(ag.FINAL_LABEL_COLUMNS)
    assert table["item"].tolist() == list("abcdef")


def test_majority_vote_and_ties_without_decisions():
    assert _rows(ag.compute_final_labels(LABELS)) == {
        "a": ("cat", ag.BY_MAJORITY, 3, round(2 / 3, 6)),
        "b": (None, ag.BY_TIE, 2, 0.5),
        "c": ("dog", ag.BY_MAJORITY, 3, round(2 / 3, 6)),
        "d": ("fox", ag.BY_MAJORITY, 1, 1.0),
        "e": ("fox", ag.BY_MAJORITY, 4, 0.5),
        "f": (None, ag.BY_TIE, 4, 0.5),
    }
    assert ag.BY_TIE == "tie — needs review"


def test_a_decision_overrides_the_majority_and_resolves_a_tie():
    table = ag.compute_final_labels(LABELS, DECISIONS)
    assert _rows(table) == {
        "a": ("cat", ag.BY_MAJORITY, 3, round(2 / 3, 6)),
        "b": (None, ag.BY_TIE, 2, 0.5),
        "c": ("cat", ag.BY_DECISION, 3, round(1 / 3, 6)),  # 1 of 3 said cat
        "d": ("fox", ag.BY_MAJORITY, 1, 1.0),
        "e": ("fox", ag.BY_MAJORITY, 4, 0.5),
        "f": (ag.BORDERLINE, ag.BY_DECISION, 4, 0.0),  # nobody voted "borderline"
    }
    by_item = table.set_index("item")
    assert by_item.loc["c", ["reviewer", "note"]].tolist() == ["Ana", ""]
    assert by_item.loc["f", ["reviewer", "note"]].tolist() == ["Ben", "cannot tell"]
    assert by_item.loc["f", "tied_labels"] == "cat | dog"  # kept: what the reviewer resolved
    assert by_item.loc["a", ["reviewer", "note", "tied_labels"]].tolist() == ["", "", ""]


@pytest.mark.parametrize(
    ("decisions", "expected_c"),
    [
        # a note alone is not a decision: the majority stands
        (
            pd.DataFrame({"item": ["c"], "decision": [None], "note": ["ask"], "user": ["Ana"]}),
            ("dog", ag.BY_MAJORITY),
        ),
        # the last row of an item counts
        (
            pd.DataFrame(
                {
                    "item": ["c", "c"],
                    "decision": ["cat", "dog"],
                    "note": ["", ""],
                    "user": ["Ana", "Ben"],
                }
            ),
            ("dog", ag.BY_DECISION),
        ),
        # a decision on an item that is not in the labels is ignored
        (
            pd.DataFrame({"item": ["zz"], "decision": ["cat"], "note": [""], "user": ["Ana"]}),
            ("dog", ag.BY_MAJORITY),
        ),
        # no decisions at all
        (pd.DataFrame(columns=["item", "decision", "note", "user", "at"]), ("dog", ag.BY_MAJORITY)),
    ],
)
def test_which_decision_rows_count(decisions, expected_c):
    table = ag.compute_final_labels(LABELS, decisions).set_index("item")
    assert tuple(table.loc["c", ["final_label", "decided_by"]]) == expected_c
    assert len(table) == 6


def test_decisions_without_the_documented_columns_are_a_typed_error():
    with pytest.raises(MissingColumnError, match="'user'") as info:
        ag.compute_final_labels(
            LABELS, pd.DataFrame({"item": ["a"], "decision": ["cat"], "note": [""]})
        )
    assert isinstance(info.value, DataError)


def test_numeric_classes_and_ids_compare_as_text():
    # item 7: 1 1 2 -> 1 (2/3); a decision "2" overrides it -> 1/3 voted 2
    labels = pd.DataFrame({"item": [7, 7, 7], "annotator": ["x", "y", "z"], "label": [1, 1, 2]})
    plain = ag.compute_final_labels(labels)
    assert plain.loc[0, ["item", "final_label", "decided_by"]].tolist() == [
        "7",
        "1",
        ag.BY_MAJORITY,
    ]
    decided = ag.compute_final_labels(
        labels, pd.DataFrame({"item": ["7"], "decision": ["2"], "note": [""], "user": ["Ana"]})
    )
    assert decided.loc[0, "final_label"] == "2"
    assert decided.loc[0, "agreement"] == pytest.approx(1 / 3)


def test_majority_matches_an_independent_count_on_random_labels():
    rng = np.random.default_rng(7)
    rows = [
        (f"i{i}", f"a{j}", rng.choice(["p", "q", "r"]))
        for i in range(200)
        for j in range(int(rng.integers(1, 6)))
    ]
    labels = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    table = ag.compute_final_labels(labels).set_index("item")
    for item, group in labels.groupby("item"):
        counts = Counter(group["label"]).most_common()
        top = counts[0][1]
        tied = len([c for c in counts if c[1] == top]) > 1
        row = table.loc[item]
        assert row["n_votes"] == len(group)
        assert row["agreement"] == pytest.approx(top / len(group))
        if tied:
            assert row["decided_by"] == ag.BY_TIE and pd.isna(row["final_label"])
        else:
            assert row["decided_by"] == ag.BY_MAJORITY and row["final_label"] == counts[0][0]


def test_the_csv_is_one_row_per_item_and_safe_for_spreadsheets():
    labels = pd.concat(
        [
            LABELS,
            pd.DataFrame([("=cmd()", "x", "cat"), ("=cmd()", "y", "cat")], columns=LABELS.columns),
        ]
    )
    text = ag.final_labels_csv(labels, DECISIONS)
    table = pd.read_csv(StringIO(text), keep_default_na=False, dtype=str)
    assert list(table.columns) == list(ag.FINAL_LABEL_COLUMNS)
    assert len(table) == 7
    assert "=cmd()" not in set(table["item"])  # neutralised, not a formula
    assert table.set_index("item").loc["c", "decided_by"] == ag.BY_DECISION
