"""Tests for core.task: text normalisation and task-kind inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicewise.core.task import TASK_KINDS, TaskSpec, TextNormalization, infer_task_kind

# (raw text, expected normalised text, TextNormalization options)
NORMALIZATION_CASES = [
    pytest.param("Hello World", "hello world", {}, id="case"),
    pytest.param("Hello World", "Hello World", {"lowercase": False}, id="case-kept"),
    pytest.param("Hello, world!", "hello world", {}, id="punctuation"),
    pytest.param(
        "Hi, there",
        "hi there",
        {"collapse_whitespace": False},
        id="punctuation-next-to-space-adds-no-space",
    ),
    pytest.param("well...ok", "well ok", {}, id="punctuation-between-words-splits"),
    pytest.param("hello_world", "hello world", {}, id="underscore"),
    pytest.param("Let's go", "let's go", {}, id="apostrophe-in-word-kept"),
    pytest.param("Let’s go", "let's go", {}, id="typographic-apostrophe"),
    pytest.param("don't stop!", "don't stop", {}, id="apostrophe-before-punctuation"),
    pytest.param("'quoted' words", "quoted words", {}, id="quote-marks-dropped"),
    pytest.param("the dogs' toys", "the dogs toys", {}, id="trailing-apostrophe-dropped"),
    pytest.param("rock'n'roll", "rock'n'roll", {}, id="inner-apostrophes-kept"),
    pytest.param(
        "Hello, world!", "hello, world!", {"strip_punctuation": False}, id="punctuation-kept"
    ),
    pytest.param("café au lait", "café au lait", {}, id="accents-kept"),
    pytest.param("cafe\u0301", "café", {}, id="decomposed-accent-composed"),
    pytest.param("  many \t spaces\n here ", "many spaces here", {}, id="whitespace"),
    pytest.param("a\u00a0b", "a b", {}, id="non-breaking-space"),
    pytest.param(
        "  many   spaces ", "  many   spaces ", {"collapse_whitespace": False}, id="whitespace-kept"
    ),
    pytest.param("Umm, yes", "um yes", {"replacements": (("Umm,", "Um,"),)}, id="replacement"),
    pytest.param(
        "umm, yes",
        "umm yes",
        {"replacements": (("Umm,", "Um,"),)},
        id="replacement-is-case-sensitive",
    ),
    pytest.param(
        "Umm, yes",
        "um yes",
        {"replacements": (("Umm", "Um"), ("Um", "um"))},
        id="replacements-in-order",
    ),
    pytest.param(
        "I'm OK.",
        "i am ok",
        {"replacements": (("I'm", "I am"),)},
        id="replacement-before-lowercase-and-punctuation",
    ),
    pytest.param("5-6 people", "5 6 people", {}, id="digits"),
    pytest.param("", "", {}, id="empty"),
    pytest.param("?!", "", {}, id="only-punctuation"),
]


@pytest.mark.parametrize(("raw", "expected", "options"), NORMALIZATION_CASES)
def test_text_normalization(raw, expected, options):
    out = TextNormalization(**options).apply(pd.Series([raw]))
    assert out.iloc[0] == expected


def test_normalization_keeps_missing_and_index():
    values = pd.Series(["A.", None, np.nan, 3], index=[7, 8, 9, 10])
    out = TextNormalization().apply(values)
    assert out.index.tolist() == [7, 8, 9, 10]
    assert out.iloc[0] == "a" and out.iloc[3] == "3"
    assert out.iloc[1:3].isna().all()


def test_normalized_label_and_prediction_match():
    norm = TextNormalization(replacements=(("Umm,", "Um,"),))
    labels = pd.Series(["Um, let's go.", "Hello   world"])
    preds = pd.Series(["Umm, Let’s go", "hello, world!"])
    assert (norm.apply(labels) == norm.apply(preds)).tolist() == [True, True]


def test_task_spec_defaults():
    spec = TaskSpec()
    assert spec.kind == "classification" and spec.kind in TASK_KINDS
    assert spec.normalization == TextNormalization()


# (label values, expected kind)
INFER_CASES = [
    pytest.param(["cat", "dog", "cat"], "classification", id="strings"),
    pytest.param([0, 1, 1, 0], "classification", id="binary-ints"),
    pytest.param([True, False, True], "classification", id="booleans"),
    pytest.param(list(range(100)), "classification", id="many-ints"),
    pytest.param([float(i) for i in range(100)], "classification", id="whole-floats"),
    pytest.param([0.5, 1.5, 2.5] * 3, "classification", id="few-distinct-floats"),
    pytest.param(list(np.linspace(0, 10, 50)), "regression", id="continuous"),
    pytest.param(
        list(np.linspace(0, 10, 50)) + [np.nan, np.inf],
        "regression",
        id="continuous-with-nan-and-inf",
    ),
    pytest.param([f"the quick fox number {i}" for i in range(30)], "text", id="transcripts"),
    pytest.param(["turn left", "turn right", "stop now"], "text", id="few-distinct-phrases"),
    pytest.param(["no defect", "scratch mark"] * 40, "classification", id="multi-word-class-names"),
    pytest.param(
        ["New York", "Los Angeles", "San Diego"] * 20, "classification", id="two-word-classes"
    ),
    pytest.param([None, None], "classification", id="all-missing"),
    pytest.param([], "classification", id="empty"),
]


@pytest.mark.parametrize(("values", "expected"), INFER_CASES)
def test_infer_task_kind(values, expected):
    assert infer_task_kind(pd.Series(values, dtype=object if not values else None)) == expected


def test_infer_task_kind_with_nullable_dtypes():
    floats = pd.Series(np.linspace(0, 1, 40), dtype="Float64")
    floats[3] = pd.NA
    assert infer_task_kind(floats) == "regression"
    assert infer_task_kind(pd.Series([1, 2, pd.NA], dtype="Int64")) == "classification"
