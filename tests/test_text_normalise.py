"""Tests for core.text_normalise: the one normaliser of the text task and Label consistency.

Every expected value is worked out by hand from the documented rule of each option.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import pandas as pd
import pytest

from slicewise.core import agreement as ag
from slicewise.core.errors import InvalidValueError
from slicewise.core.task import TextNormalization
from slicewise.core.text_normalise import normalise_text

# Every step off, so a case exercises one option alone.
OFF = {
    "unicode_form": None,
    "lowercase": False,
    "strip_punctuation": False,
    "collapse_whitespace": False,
}


def only(**options):
    return {**OFF, **options}


# (raw, expected, options)
CASES = [
    # replacements: literal, in order, case-sensitive, anywhere (the defaults)
    pytest.param("Umm, yes", "Um, yes", only(replacements=(("Umm,", "Um,"),)), id="replace"),
    pytest.param("umm, yes", "umm, yes", only(replacements=(("Umm,", "Um,"),)), id="case-kept"),
    pytest.param("a", "c", only(replacements=(("a", "b"), ("b", "c"))), id="in-order"),
    pytest.param("um umbrella", "uh uhbrella", only(replacements=(("um", "uh"),)), id="anywhere"),
    pytest.param("ab", "ab", only(replacements=(("", "x"),)), id="empty-old-skipped"),
    pytest.param("a", "\\1", only(replacements=(("a", "\\1"),)), id="new-is-literal"),
    pytest.param(
        "a", "\\1", only(replacements=(("A", "\\1"),), match_case=False), id="new-literal-regex"
    ),
    # match_case=False: any case of old, new as written
    pytest.param(
        "UMM, yes", "um, yes", only(replacements=(("umm", "um"),), match_case=False), id="any-case"
    ),
    # whole_words=True: not inside a longer word; bounds only on letter/digit ends
    pytest.param(
        "um umbrella", "uh umbrella", only(replacements=(("um", "uh"),), whole_words=True), id="ww"
    ),
    pytest.param(
        "Ummm, x",
        "Ummm, x",
        only(replacements=(("Umm,", "Um,"),), whole_words=True),
        id="ww-long",
    ),
    pytest.param(
        "xUmm, y",
        "xUmm, y",
        only(replacements=(("Umm,", "Um,"),), whole_words=True),
        id="ww-inside-word",
    ),
    pytest.param(
        "xUmm, y", "xUm, y", only(replacements=(("Umm,", "Um,"),)), id="literal-inside-word"
    ),
    pytest.param(
        "x[unintelligible]y",
        "x[inaudible]y",
        only(replacements=(("[unintelligible]", "[inaudible]"),), whole_words=True),
        id="ww-bracket-ends-need-no-bound",
    ),
    pytest.param(
        "um_x um",
        "um_x uh",
        only(replacements=(("um", "uh"),), whole_words=True),
        id="ww-under",
    ),
    # unicode_form
    pytest.param("cafe\u0301", "caf\u00e9", only(unicode_form="NFC"), id="nfc-composes"),
    pytest.param("caf\u00e9", "cafe\u0301", only(unicode_form="NFD"), id="nfd-decomposes"),
    pytest.param("\ufb01ne \uff21", "fine A", only(unicode_form="NFKC"), id="nfkc-folds"),
    pytest.param("\ufb01ne", "\ufb01ne", only(unicode_form="NFC"), id="nfc-keeps-ligature"),
    pytest.param("cafe\u0301", "cafe\u0301", only(), id="no-unicode-form"),
    # lowercase: str.lower, not case folding
    pytest.param("ÉCOLE Straße", "école straße", only(lowercase=True), id="lower"),
    # strip_punctuation
    pytest.param("Hi, there!", "Hi there", only(strip_punctuation=True), id="punct-removed"),
    pytest.param("well...ok", "well ok", only(strip_punctuation=True), id="between-words-space"),
    pytest.param("e-mail", "e mail", only(strip_punctuation=True), id="hyphen-splits"),
    pytest.param("a_b", "a b", only(strip_punctuation=True), id="underscore"),
    pytest.param("Let’s", "Let's", only(strip_punctuation=True), id="typographic-apostrophe"),
    pytest.param("`tick`", "tick", only(strip_punctuation=True), id="backtick-quote"),
    pytest.param("dogs' 'x'", "dogs x", only(strip_punctuation=True), id="outer-apostrophes"),
    pytest.param("rock'n'roll", "rock'n'roll", only(strip_punctuation=True), id="inner-kept"),
    pytest.param("“quoted” 50%", "quoted 50", only(strip_punctuation=True), id="quotes-percent"),
    pytest.param("¿qué?", "qué", only(strip_punctuation=True), id="inverted-question"),
    pytest.param("ok 👍", "ok ", only(strip_punctuation=True), id="symbol-removed"),
    pytest.param(
        "nearest [unintelligible], please!",
        "nearest [unintelligible] please",
        only(strip_punctuation=True),
        id="tags-keep-brackets",
    ),
    pytest.param("[noise],hello", "[noise] hello", only(strip_punctuation=True), id="tag-word"),
    # collapse_whitespace: any Unicode whitespace run -> one space, trimmed
    pytest.param(
        "  a\t\nb\u00a0 c  ", "a b c", only(collapse_whitespace=True), id="collapse-and-trim"
    ),
    pytest.param("  a  b ", "  a  b ", only(), id="spaces-kept"),
    # the defaults are the text task's: every step on, NFC
    pytest.param("Umm, Let’s  GO!", "umm let's go", {}, id="defaults"),
    pytest.param("?!", "", {}, id="nothing-left"),
]


@pytest.mark.parametrize(("raw", "expected", "options"), CASES)
def test_each_option(raw, expected, options):
    assert normalise_text(raw, **options) == expected


def test_steps_run_in_order():
    # replacement before lower-case (so "I'm" still matches), then punctuation, then spaces
    out = normalise_text("I'm  OK.", replacements=(("I'm", "I am"),))
    assert out == "i am ok"
    # replacements run before NFC: a composed "é" does not match a decomposed one
    decomposed = "cafe\u0301"
    out = normalise_text(decomposed, replacements=(("caf\u00e9", "coffee"),), lowercase=False)
    assert out == "caf\u00e9"


def test_unknown_unicode_form_is_a_clear_error():
    with pytest.raises(InvalidValueError, match="unicode_form must be one of NFC"):
        normalise_text("x", unicode_form="NFX")


RAW = [
    "Umm, nearest gas station",
    "um,  Nearest   gas-station!",
    "Let’s go to the [unintelligible], please",
    "cafe\u0301 au lait",
    "rock'n'roll 'quoted' dogs'",
    "UMM umbrella",
    "",
    "...",
]

OPTION_GRID = [
    dict(
        zip(
            (
                "lowercase",
                "strip_punctuation",
                "collapse_whitespace",
                "match_case",
                "whole_words",
                "unicode_form",
            ),
            combo,
            strict=True,
        ),
        replacements=(("Umm,", "Um,"), ("um", "uh")),
    )
    for combo in itertools.product(
        (False, True), (False, True), (False, True), (False, True), (False, True), (None, "NFC")
    )
]


@pytest.mark.parametrize("options", OPTION_GRID)
def test_agreement_rule_and_task_normalise_alike(options):
    """The Label consistency rule and the text task give the same text for the same options."""
    task = TextNormalization(**options).apply(pd.Series(RAW)).tolist()
    rule = ag.NormalizeText(**options)
    assert task == [rule.transform(t) for t in RAW]
    assert task == rule.apply(pd.Series(RAW)).tolist()
    assert task == [normalise_text(t, **options) for t in RAW]


def test_rule_and_task_defaults_differ_only_as_documented():
    raw = "Umm, Let’s  GO! umbrella"
    # the task: lower-case, no punctuation, literal case-sensitive replacements
    assert TextNormalization(replacements=(("um", "uh"),)).apply(pd.Series([raw]))[0] == (
        "umm let's go uhbrella"
    )
    # the rule: only spaces (and NFC) unless asked; whole-word, any-case replacements
    assert ag.NormalizeText(replacements=(("um", "uh"),)).transform(raw) == (
        "Umm, Let’s GO! umbrella"
    )
    assert ag.NormalizeText(replacements=(("umm,", "Um,"),)).transform(raw) == (
        "Um, Let’s GO! umbrella"
    )


def test_cleaned_labels_match_how_predictions_are_compared():
    labels = pd.DataFrame(
        {
            "item": ["q1", "q1", "q2", "q2"],
            "annotator": ["a", "b", "a", "b"],
            "label": ["Let’s go!", "let's  go", "e-mail me", "E-mail  me."],
        }
    )
    rule = ag.NormalizeText(lowercase=True, strip_punctuation=True)
    cleaned, log = ag.apply_rules(labels, [rule])
    assert cleaned["label"].tolist() == ["let's go", "let's go", "e mail me", "e mail me"]
    assert len(log) == 4
    task = TextNormalization().apply(labels["label"]).tolist()
    assert cleaned["label"].tolist() == task


def test_make_demo_uses_the_one_normaliser():
    path = Path(__file__).resolve().parents[1] / "demo_data" / "make_demo.py"
    spec = importlib.util.spec_from_file_location("make_demo_norm", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.normalise_text is normalise_text
    assert not hasattr(module, "normalize_text")
