"""ui/agreement.py: cached steps keyed on the key each input carries (``BY_KEY``).

Expected values are hand-worked on a four-label table: the counts of a cache's calls are
read from the core function it wraps, patched to count.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.ui import agreement as ua


@pytest.fixture(autouse=True)
def _clear():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def _annotations(labels: list[str], content_hash: str = "h1") -> ag.Annotations:
    frame = pd.DataFrame(
        {"item": ["a", "a", "b", "b"], "annotator": ["x", "y", "x", "y"], "label": labels}
    )
    return ag.annotations_from_frame(
        frame, item="item", annotator="annotator", label="label", content_hash=content_hash
    )


def test_annotations_are_keyed_on_their_fingerprint_not_their_cells(monkeypatch):
    calls = []
    real = ag.apply_rules
    monkeypatch.setattr(ag, "apply_rules", lambda *a: calls.append(1) or real(*a))
    rules = ua.RuleChoice(lowercase=True)
    first = _annotations(["Cat", "cat", "Dog", "dog"])
    same_key = _annotations(["Cat", "cat", "Dog", "dog"])
    clean, log = ua.cleaned(first, rules)
    ua.cleaned(same_key, rules)  # another object, same fingerprint: from the cache
    assert len(calls) == 1
    # Lower-casing changes two of the four labels ("Cat" and "Dog").
    assert clean["label"].tolist() == ["cat", "cat", "dog", "dog"]
    assert len(log) == 2
    ua.cleaned(_annotations(["Cat", "cat", "Dog", "dog"], content_hash="h2"), rules)
    assert len(calls) == 2  # another fingerprint: computed again


def test_labels_under_leaves_the_labels_as_given_without_a_rule():
    ann = _annotations(["Cat", "cat", "Dog", "dog"])
    assert ua.labels_under(ann, ua.RuleChoice()) is ann.labels
    merged = ua.labels_under(ann, ua.RuleChoice(merge=("Cat", "cat"), target="feline"))
    assert merged["label"].tolist() == ["feline", "feline", "Dog", "dog"]


def test_final_labels_follow_the_decisions_key():
    ann = _annotations(["cat", "dog", "dog", "dog"])
    none = pd.DataFrame(columns=["item", "decision", "note", "user", "at"])
    decided = pd.DataFrame(
        {"item": ["a"], "decision": ["cat"], "note": [""], "user": ["Ben"], "at": ["t"]}
    )

    def final(decisions: ua.Decisions) -> dict[str, str]:
        text = ua.final_labels(ann, ua.RuleChoice(), decisions)
        table = pd.read_csv(io.StringIO(text), keep_default_na=False)
        return dict(zip(table["item"].astype(str), table["final_label"], strict=True))

    # Item a: one vote each way, a tie; item b: both "dog".
    before = final(ua.Decisions(none, "1:0"))
    assert before["b"] == "dog"
    assert before["a"] != "cat"
    # Same key, other table: the cache answers (the key names the decisions).
    assert final(ua.Decisions(decided, "1:0")) == before
    assert final(ua.Decisions(decided, "1:1"))["a"] == "cat"


def test_upload_is_keyed_on_name_and_file_id():
    data = b"item,annotator,label\na,x,cat\na,y,dog\n"
    assert ua.columns_of(ua.Upload("l.csv", "f1", data)) == ["item", "annotator", "label"]
    # Same name and id: the bytes are not read again.
    assert ua.columns_of(ua.Upload("l.csv", "f1", b"other,cols\n1,2\n")) == [
        "item",
        "annotator",
        "label",
    ]
    assert ua.columns_of(ua.Upload("l.csv", "f2", b"other,cols\n1,2\n")) == ["other", "cols"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Umm, -> Um,", (("Umm,", "Um,"),)),
        ("a => b\nno arrow\n -> empty before\nc → d", (("a", "b"), ("c", "d"))),
    ],
)
def test_parse_replacements(text, expected):
    assert ua.parse_replacements(text) == expected
