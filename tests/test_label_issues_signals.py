"""core.label_issues.signals: each signal read into arrays, checked on hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.errors import InvalidValueError
from slicewise.core.label_issues.signals import (
    annotator_votes,
    class_index,
    human_votes,
    probabilities,
)


def test_probabilities_are_normalised_and_scores_softmaxed():
    notes: list[str] = []
    frame = pd.DataFrame({"p_a": [0.2, 0.5], "p_b": [0.6, 0.5]})
    p = probabilities(frame, {"a": "p_a", "b": "p_b"}, notes)
    assert np.allclose(p, [[0.25, 0.75], [0.5, 0.5]]) and "divided by their sum" in notes[0]
    notes.clear()
    scores = pd.DataFrame({"s_a": [2.0], "s_b": [0.0]})
    p = probabilities(scores, {"a": "s_a", "b": "s_b"}, notes)
    e = np.exp(2.0)
    assert np.allclose(p, [[e / (e + 1), 1 / (e + 1)]]) and "softmax" in notes[0]
    with pytest.raises(InvalidValueError, match="missing or not numbers in 1 row"):
        probabilities(
            pd.DataFrame({"p_a": [0.5, None], "p_b": [0.5, 0.5]}), {"a": "p_a", "b": "p_b"}, []
        )


def test_human_votes_count_one_vote_per_labelled_example():
    frame = pd.DataFrame({"human": ["b", None, "a", "c"]})
    index = class_index(["a", "b"])
    votes, present, same = human_votes(
        frame, np.arange(4), np.array(["a", "a", "a", "a"], dtype=object), index, 2
    )
    assert votes.tolist() == [[0, 1], [0, 0], [1, 0], [0, 0]]  # "c" is no model class
    assert present.tolist() == [True, False, True, True]
    assert same.tolist() == [False, False, True, False]


def test_annotator_votes_are_matched_by_id_and_unknown_items_noted():
    frame = pd.DataFrame({"id": ["e1", "e2", "e3"]})
    table = pd.DataFrame(
        {
            "item": ["e1", "e1", "e1", "e2", "zz"],
            "annotator": ["r1", "r2", "r3", "r1", "r1"],
            "label": ["a", "b", "b", "a", "a"],
        }
    )
    notes: list[str] = []
    votes, total, agree = annotator_votes(
        table,
        frame,
        np.arange(3),
        np.array(["a", "a", "b"], dtype=object),
        class_index(["a", "b"]),
        2,
        notes,
    )
    assert votes.tolist() == [[1, 2], [1, 0], [0, 0]]
    assert total.tolist() == [3, 1, 0] and agree.tolist() == [1, 1, 0]
    assert notes == [
        "1 of 3 items of the annotations are not ids of the table (e.g. 'zz'): "
        "their votes were left out"
    ]
    with pytest.raises(InvalidValueError, match="none of the 1 items"):
        annotator_votes(table.iloc[4:], frame, np.arange(3), np.array(["a"] * 3), {}, 2, [])
