"""Word error rate for text (speech) tasks: jiwer's counts, empty transcripts as values.

Expected values are worked by hand in the comments and checked against jiwer called
directly (the field's reference implementation).
"""

import jiwer
import numpy as np
import pandas as pd
import pytest

import slicewise.core.metrics.outcomes as outcomes_mod
from slicewise.core.metrics import (
    OVERALL,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
    compute_word_errors,
)
from slicewise.core.task import TaskSpec, TextNormalization

TEXT = TaskSpec(kind="text")

# The issue's file (--task text --slice-by noise); "" is an empty transcript.
LABELS = [
    "turn the lights on",
    "play some jazz music",
    "",
    "",
    "what time is it",
    "set an alarm for seven",
]
PREDICTIONS = [
    "turn the light on",
    "play some jazz music",
    "",
    "okay",
    "",
    "set an alarm for eleven",
]
NOISE = ["car", "car", "street", "street", "street", "car"]


def table_of(labels, predictions, groups, task=TEXT):
    """Outcomes -> counts -> metrics, one slice per group value (membership built here)."""
    frame = pd.DataFrame({"label": labels, "prediction": predictions})
    outcomes = compute_outcomes(frame, task)
    groups = pd.Series(groups)
    membership = pd.DataFrame({g: (groups == g).to_numpy() for g in sorted(set(groups))})
    counts = compute_slice_counts(membership, outcomes)
    return outcomes, compute_slice_metrics(counts, task=task)


def test_the_issue_example_gives_jiwer_figures():
    outcomes, table = table_of(LABELS, PREDICTIONS, NOISE)
    # Per row (edits / reference words): 1 substitution / 4, 0 / 4, 0 / 0, 1 insertion / 0,
    # 4 deletions / 4, 1 substitution / 5.
    assert outcomes["word_errors"].tolist() == [1, 0, 0, 1, 4, 1]
    assert outcomes["ref_words"].tolist() == [4, 4, 0, 0, 4, 5]
    # Rows 2 and 3 are exact matches ("" vs "" included).
    assert outcomes["correct"].tolist() == [0, 1, 1, 0, 0, 0]
    assert table.loc[OVERALL, "accuracy"] == pytest.approx(2 / 6)
    assert table.loc[OVERALL, "wer"] == pytest.approx(7 / 17)  # 41.2%
    assert table.loc["street", "wer"] == pytest.approx(5 / 4)  # 125%: 1 + 4 edits, 4 words
    assert table.loc["car", "wer"] == pytest.approx(2 / 13)
    # The same numbers from jiwer on the raw lists.
    assert table.loc[OVERALL, "wer"] == pytest.approx(jiwer.wer(LABELS, PREDICTIONS))
    for noise in ("car", "street"):
        rows = [i for i, g in enumerate(NOISE) if g == noise]
        assert table.loc[noise, "wer"] == pytest.approx(
            jiwer.wer([LABELS[i] for i in rows], [PREDICTIONS[i] for i in rows])
        )


# (reference, hypothesis, substitutions, deletions, insertions, reference words), by hand.
PAIRS = [
    pytest.param("", "", 0, 0, 0, 0, id="empty-vs-empty"),
    pytest.param("", "okay", 0, 0, 1, 0, id="empty-vs-word"),
    pytest.param("", "okay then", 0, 0, 2, 0, id="empty-vs-words"),
    pytest.param("what time is it", "", 0, 4, 0, 4, id="words-vs-empty"),
    pytest.param("turn the lights on", "turn the light on", 1, 0, 0, 4, id="substitution"),
    pytest.param("play some jazz", "play some smooth jazz", 0, 0, 1, 3, id="insertion"),
    pytest.param(
        "set an alarm for seven", "set alarm for eleven", 1, 1, 0, 5, id="deletion-and-substitution"
    ),
    pytest.param("a b c", "c b a", 2, 0, 0, 3, id="reversed"),  # 2 substitutions is minimal
    pytest.param("let's catch up", "let's ketchup", 1, 1, 0, 3, id="merged-words"),
    pytest.param("same words", "same words", 0, 0, 0, 2, id="equal"),
]


@pytest.mark.parametrize(("ref", "hyp", "s", "d", "i", "words"), PAIRS)
def test_word_errors_match_hand_counts_and_jiwer(ref, hyp, s, d, i, words):
    got = compute_word_errors([ref], [hyp]).iloc[0]
    assert (got["substitutions"], got["deletions"], got["insertions"]) == (s, d, i)
    assert got["word_errors"] == s + d + i
    assert got["ref_words"] == words
    direct = jiwer.process_words(ref, hyp)
    assert (direct.substitutions, direct.deletions, direct.insertions) == (s, d, i)
    # jiwer's WER: edits / reference words; with an empty reference, the insertions.
    assert jiwer.wer(ref, hyp) == pytest.approx((s + d + i) / words if words else i)


@pytest.mark.parametrize(("ref", "hyp", "s", "d", "i", "words"), PAIRS)
def test_outcomes_score_each_pair_as_jiwer(ref, hyp, s, d, i, words):
    outcomes = compute_outcomes(pd.DataFrame({"label": [ref], "prediction": [hyp]}), TEXT)
    assert outcomes["word_errors"].tolist() == [s + d + i]
    assert outcomes["ref_words"].tolist() == [words]
    assert outcomes["correct"].tolist() == [float(ref == hyp)]


def test_word_errors_of_many_pairs_in_one_call():
    refs = [p.values[0] for p in PAIRS]
    hyps = [p.values[1] for p in PAIRS]
    got = compute_word_errors(refs, hyps)
    assert got["word_errors"].tolist() == [sum(p.values[2:5]) for p in PAIRS]
    assert got["ref_words"].tolist() == [p.values[5] for p in PAIRS]
    assert got["word_errors"].sum() / got["ref_words"].sum() == pytest.approx(jiwer.wer(refs, hyps))


def test_word_errors_split_on_any_whitespace():
    # Words are runs of non-whitespace: tabs and repeated spaces separate words too.
    got = compute_word_errors(["hello   world", " a\tb\nc "], ["hello\tworld", "a b c"])
    assert got["word_errors"].tolist() == [0, 0]
    assert got["ref_words"].tolist() == [2, 3]


def test_word_errors_of_no_pairs_and_mismatched_lengths():
    assert compute_word_errors([], []).shape == (0, 5)
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        compute_word_errors(["a", "b"], ["a"])


def test_jiwer_is_called_once_on_the_distinct_pairs(monkeypatch):
    calls = []
    real = jiwer.process_words

    def spy(reference, hypothesis, *args, **kwargs):
        calls.append(list(zip(reference, hypothesis, strict=True)))
        return real(reference, hypothesis, *args, **kwargs)

    monkeypatch.setattr(jiwer, "process_words", spy)
    frame = pd.DataFrame(
        {
            "label": ["a b", "a b", "A b!", "", "", "c"],
            "prediction": ["a c", "a c", "a c", "", "x", None],
        }
    )
    outcomes = compute_outcomes(frame, TEXT)
    # "A b!" normalises to "a b": three rows share one pair; the missing prediction is left out.
    assert len(calls) == 1
    assert sorted(calls[0]) == [("", ""), ("", "x"), ("a b", "a c")]
    assert outcomes["word_errors"].tolist() == [1, 1, 1, 0, 1, 0]


def test_many_rows_agree_with_jiwer_row_by_row():
    rng = np.random.default_rng(42)
    vocab = np.array(["turn", "on", "the", "light", "play", "jazz", "off"])

    def sentence():
        return " ".join(rng.choice(vocab, rng.integers(0, 5)))  # 0 words: ""

    labels = [sentence() for _ in range(300)]
    preds = [lab if rng.random() < 0.3 else sentence() for lab in labels]
    outcomes = compute_outcomes(pd.DataFrame({"label": labels, "prediction": preds}), TEXT)
    for k in range(len(labels)):
        direct = jiwer.process_words(labels[k], preds[k])
        edits = direct.substitutions + direct.deletions + direct.insertions
        assert outcomes["word_errors"].iat[k] == edits
        assert outcomes["ref_words"].iat[k] == len(direct.references[0])
    assert outcomes["word_errors"].sum() / outcomes["ref_words"].sum() == pytest.approx(
        jiwer.wer(labels, preds)
    )


def test_a_slice_of_empty_references_follows_jiwer():
    # Slice "silent": references all empty, 1 + 2 inserted words -> jiwer's WER is 3, the
    # insertion count; slice "quiet": all empty and correct -> 0.
    labels = ["", "", "", "", "go"]
    preds = ["okay", "a b", "", "", "go"]
    groups = ["silent", "silent", "quiet", "quiet", "speech"]
    _, table = table_of(labels, preds, groups)
    assert table.loc["silent", "wer"] == jiwer.wer(labels[:2], preds[:2]) == 3
    assert table.loc["quiet", "wer"] == jiwer.wer(labels[2:4], preds[2:4]) == 0
    assert table.loc["speech", "wer"] == 0
    assert table.loc[OVERALL, "wer"] == pytest.approx(jiwer.wer(labels, preds)) == 3


def test_an_empty_slice_has_no_wer():
    frame = pd.DataFrame({"label": ["a"], "prediction": ["b"]})
    counts = compute_slice_counts(pd.DataFrame({"none": [False]}), compute_outcomes(frame, TEXT))
    assert np.isnan(compute_slice_metrics(counts, task=TEXT).loc["none", "wer"])


@pytest.mark.parametrize(
    ("label", "prediction", "correct", "errors", "words"),
    [
        ("...", "", 1, 0, 0),  # punctuation only: an empty transcript
        ("", "?!", 1, 0, 0),
        ("  ", "", 1, 0, 0),  # whitespace only, collapsed
        ("Hi!", "?!", 0, 1, 1),  # "hi" vs "": 1 deletion
        ("...", "Okay.", 0, 1, 0),  # "" vs "okay": 1 insertion
        ("Hello, world", "hello world", 1, 0, 2),
    ],
)
def test_transcripts_that_normalise_to_empty_are_empty(label, prediction, correct, errors, words):
    frame = pd.DataFrame({"label": [label], "prediction": [prediction]})
    outcomes = compute_outcomes(frame, TEXT)[["correct", "word_errors", "ref_words"]]
    assert outcomes.iloc[0].tolist() == [correct, errors, words]


def test_normalisation_keeps_empty_apart_from_missing():
    values = pd.Series(["", "...", "  ", None, np.nan, "Hi, there!"], dtype=object)
    out = TextNormalization().apply(values)
    assert out.iloc[:3].tolist() == ["", "", ""]
    assert out.iloc[3:5].isna().all()
    assert out.iloc[5] == "hi there"


@pytest.mark.parametrize(
    ("label", "prediction"),
    [
        ("what time is it", None),
        (None, "okay"),
        (None, None),
        ("what time is it", np.nan),
    ],
)
def test_a_missing_value_is_not_an_empty_transcript(label, prediction):
    frame = pd.DataFrame({"label": [label, ""], "prediction": [prediction, ""]})
    outcomes = compute_outcomes(frame, TEXT)[["correct", "word_errors", "ref_words"]]
    # Missing: not correct, nothing to score. The empty pair next to it is correct.
    assert outcomes.iloc[0].tolist() == [0, 0, 0]
    assert outcomes.iloc[1].tolist() == [1, 0, 0]


def test_empty_human_transcripts_count_as_answers():
    frame = pd.DataFrame(
        {"label": ["", "", "go"], "prediction": ["x", "", "go"], "human": ["", None, "stop"]}
    )
    outcomes = compute_outcomes(frame, TEXT)
    assert outcomes["human_n"].tolist() == [1, 0, 1]  # "" is an answer; None is not
    assert outcomes["human_correct"].tolist() == [1, 0, 0]
    assert outcomes["human_only"].tolist() == [1, 0, 0]


def test_pairs_beyond_one_jiwer_block_are_counted(monkeypatch):
    monkeypatch.setattr(outcomes_mod, "_JIWER_BLOCK", 2)
    refs = [p.values[0] for p in PAIRS]
    hyps = [p.values[1] for p in PAIRS]
    got = compute_word_errors(refs, hyps)
    assert got["word_errors"].tolist() == [sum(p.values[2:5]) for p in PAIRS]
    assert got["ref_words"].tolist() == [p.values[5] for p in PAIRS]
