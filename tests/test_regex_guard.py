"""User regexes run on RE2: no pattern can hold the server, what RE2 cannot run is refused.

Issue 15: on *Tag errors*, a rule ``note regex (a|a)+(?!a)c`` on a note holding 25 ``a`` and
``!`` held the server for 45.7 s (Python's ``re`` backtracks; each extra ``a`` doubles it).
Here: patterns that backtrack exponentially in ``re`` answer in well under a second on RE2;
lookarounds and back-references are refused with a message that names the file, column and
pattern and says what to write instead; RE2 prints nothing to stderr; the answers equal
Python's ``re.search`` (case-insensitive) wherever ``re`` answers quickly (short texts).
The timings are loose guards (< 1 s for what took 45 s), not benchmarks.
"""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.errors import DataError, InvalidValueError, UnsupportedRegexError
from slicewise.core.rules import Condition, compile_user_regex, regex_mask, rule_mask

EVIL = "a" * 25 + "!"  # the note: 25 a's and no c, so (a|a)+c must fail everywhere


def notes(*values) -> pd.DataFrame:
    return pd.DataFrame({"note": list(values)})


# --------------------------------------------------------------------- linear time


@pytest.mark.parametrize(
    "pattern",
    [
        "(a|a)+c",  # the rule without its lookahead: 2^25 paths in re
        "(a+)+$",  # nested quantifiers, anchored: the textbook ReDoS
        "(a|aa)+!b",  # overlapping alternatives
        "^(a*)*c",
    ],
)
@pytest.mark.parametrize("length", [25, 100_000])
def test_patterns_that_backtrack_in_re_answer_at_once(pattern, length):
    frame = notes("a" * length + "!", None, "AAC")
    start = time.perf_counter()
    hit = rule_mask(frame, [Condition("note", "regex", pattern)], source="notes.csv")
    assert time.perf_counter() - start < 1.0
    # "a…a!" has no c and no "!b", and "(a+)+$" needs the text to end in a's; only "AAC"
    # (case-insensitive) can match, and does for the patterns ending in c.
    assert hit.tolist() == [False, False, pattern.endswith("c")]


def test_a_million_notes_are_searched_in_well_under_a_second_per_hundred_thousand():
    frame = notes(*([EVIL, "loud car", None] * 100_000))
    start = time.perf_counter()
    hit = rule_mask(frame, [Condition("note", "regex", "(a|a)+c|^LOUD")])
    assert time.perf_counter() - start < 2.0
    assert int(hit.sum()) == 100_000


# --------------------------------------------------------------------- same answers as re


PATTERNS = [
    "^(loud|quiet)",
    "car$",
    r"\bkit\b",
    r"\d{2,}",
    "[aeiou]{3}",
    "k.t",
    "(?i)CAR",
    "x|kit",
    r"^\s*$",
    "é",
    "n.{0,3}ise",
    r"\w+_\w+",
]
TEXTS = [
    "Loud car",
    "quiet",
    "car kit",
    "CAR_KIT 12",
    "kit",
    "   ",
    "",
    "café noise",
    "queue",
    "kat",
    "noise",
    "kiT 7",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_answers_equal_python_re_search_ignoring_case(pattern):
    hit = regex_mask(pd.Series(TEXTS + [None]), pattern, column="note")
    expected = [bool(re.search(pattern, t, re.IGNORECASE)) for t in TEXTS] + [False]
    assert hit.tolist() == expected


def test_numbers_and_booleans_are_read_as_text():
    frame = pd.DataFrame({"snr": [2.5, 12.0, None], "flag": [True, False, None]})
    assert rule_mask(frame, [Condition("snr", "regex", r"^1\d\.")]).tolist() == [False, True, False]
    assert rule_mask(frame, [Condition("flag", "regex", "^t")]).tolist() == [True, False, False]


# --------------------------------------------------------------------- refused constructs


@pytest.mark.parametrize(
    ("pattern", "construct", "advice"),
    [
        ("(a|a)+(?!a)c", "a negative lookahead (?!...)", "character class"),
        ("(?!a)", "a negative lookahead (?!...)", "second condition"),
        ("(?=x)", "a lookahead (?=...)", "'cats'"),
        ("cat(?=s)", "a lookahead (?=...)", "'cats'"),
        ("(?<=x)", "a lookbehind (?<=...)", "'big cat'"),
        ("(?<!x)y", "a negative lookbehind (?<!...)", "'^cat'"),
        (r"(a)\1", r"a back-reference \1", "'(ab)(ab)'"),
        ("(?P<w>a)(?P=w)", "a named back-reference (?P=name)", "repeated text out"),
        ("(?>a+)b", "an atomic group (?>...)", "plain group"),
        ("a++", "a possessive quantifier ++", "+ alone"),
        (r"car\Z", r"\Z", "use $"),
        ("a{1001}", "a counted repetition over 1000", "+ or *"),
    ],
)
def test_what_re2_cannot_run_is_refused_with_what_to_write(pattern, construct, advice):
    with pytest.raises(UnsupportedRegexError) as info:
        rule_mask(notes(EVIL), [Condition("note", "regex", pattern)], source="notes.csv")
    message = str(info.value)
    assert isinstance(info.value, InvalidValueError) and isinstance(info.value, DataError)
    assert message.startswith(f"notes.csv: column 'note': the regex {pattern!r} uses {construct}")
    assert "RE2" in message and advice in message


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("([", "missing ]"),
        ("(a", "missing )"),
        ("*a", "no argument for repetition operator"),
    ],
)
def test_a_pattern_that_is_no_regex_says_why(pattern, reason):
    with pytest.raises(InvalidValueError) as info:
        compile_user_regex(pattern, column="note", source="notes.csv")
    assert not isinstance(info.value, UnsupportedRegexError)
    assert str(info.value).startswith(
        f"notes.csv: column 'note': {pattern!r} is not a valid regex: {reason}"
    )


def test_a_refused_pattern_prints_nothing_to_stderr(capfd):
    for pattern in ("(?=x)", "([", r"(a)\1"):
        with pytest.raises(InvalidValueError):
            compile_user_regex(pattern, column="note")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_refused_rule_answers_at_once_and_is_one_line_in_the_cli(tmp_path):
    path = tmp_path / "notes.csv"
    pd.DataFrame(
        {"id": ["n1", "n2"], "label": ["a", "b"], "prediction": ["a", "a"], "note": [EVIL, "aac"]}
    ).to_csv(path, index=False)
    start = time.perf_counter()
    result = CliRunner().invoke(
        main,
        [
            "tag",
            str(path),
            "--rule",
            "note regex (a|a)+(?!a)c",
            "--tag",
            "slow",
            "-o",
            str(tmp_path / "out.csv"),
        ],
    )
    assert time.perf_counter() - start < 5.0  # loading included; the refusal itself is instant
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert (
        "notes.csv: column 'note': the regex '(a|a)+(?!a)c' uses a negative lookahead"
        in result.output
    )
