"""What kind of task the predictions are for, and how an answer counts as correct."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.text_normalise import normalise_text

TaskKind = Literal["classification", "binary", "text", "regression"]
TASK_KINDS: tuple[str, ...] = ("classification", "binary", "text", "regression")


@dataclass(frozen=True)
class TextNormalization:
    """How transcripts are normalised before an exact-match comparison.

    The options of :func:`core.text_normalise.normalise_text`, which defines every step
    exactly; the Label consistency rule :class:`core.agreement.NormalizeText` takes the same
    options with other defaults. Steps, in order: ``replacements``, Unicode normalisation,
    ``lowercase``, ``strip_punctuation``, ``collapse_whitespace``.

    Parameters
    ----------
    lowercase
        Compare case-insensitively.
    strip_punctuation
        Drop every character that is neither a letter, a digit, whitespace, a square
        bracket nor an apostrophe inside a word ("let's" keeps its apostrophe; typographic
        apostrophes such as "let’s" count as "'"; "[noise]" keeps its brackets).
        Punctuation between two words ("well...ok", "hello_world") becomes one space so the
        words stay apart; elsewhere ("Hi, there!") it is simply removed.
    collapse_whitespace
        Trim and turn every run of whitespace into one space.
    replacements
        Literal ``(old, new)`` pairs applied first, in order (e.g. ``("Umm,", "Um,")``);
        case-sensitive and anywhere in the text unless ``match_case`` / ``whole_words``
        say otherwise.
    unicode_form
        Unicode normal form applied after the replacements (``"NFC"`` makes a composed "é"
        equal a decomposed one); ``None`` skips it.
    match_case
        Replacements match only with the same case (default); ``False``: any case.
    whole_words
        Replacements match only whole words/phrases (``"um"`` leaves "umbrella" alone);
        default ``False``: any occurrence.
    """

    lowercase: bool = True
    strip_punctuation: bool = True
    collapse_whitespace: bool = True
    replacements: tuple[tuple[str, str], ...] = ()
    unicode_form: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = "NFC"
    match_case: bool = True
    whole_words: bool = False

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` normalised, vectorised over the Series; missing stays missing.

        ``""`` is an empty transcript, not a missing one: it stays ``""``, and so does a
        transcript the steps empty (``"..."`` with ``strip_punctuation``, ``"  "`` with
        ``collapse_whitespace``). Only missing values (None, NaN, ``pd.NA``) come back as
        ``pd.NA``. Each distinct value is normalised once (transcripts repeat a lot), then
        mapped back; values that are not text are normalised as their text (``3`` is
        ``"3"``).

        Examples
        --------
        >>> TextNormalization().apply(pd.Series(["Hi, there!", "", "...", None])).tolist()
        ['hi there', '', '', <NA>]
        """
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = pd.Series(uniques, dtype=object).astype("string")
        options = asdict(self)
        normed = np.array([normalise_text(t, **options) for t in texts], dtype=object)
        out = np.empty(len(codes), dtype=object)
        out[:] = None
        known = codes >= 0
        out[known] = normed[codes[known]]
        return pd.Series(out, index=values.index, dtype="string")


@dataclass(frozen=True)
class TaskSpec:
    """The task kind and the options that decide whether a prediction is correct.

    Parameters
    ----------
    kind
        ``classification`` (exact match of any label type), ``binary`` (classification with
        a ``positive`` class, adding precision/recall/F1/FPR/FNR), ``text`` (exact match after
        ``normalization``, plus word error rate) or ``regression`` (MAE, RMSE; correct when
        ``|error| <= tolerance`` if a tolerance is given).
    positive
        The positive class for ``binary``.
    threshold
        With a score column and no prediction column: predict ``positive`` when
        ``score >= threshold``.
    tolerance
        Regression only: absolute error at or under which a prediction counts as correct; a
        finite number >= 0.
    normalization
        Text only.

    Raises
    ------
    InvalidValueError
        A ``tolerance`` that is negative, infinite, NaN or no number (a negative one would
        count nothing as correct, not even an exact match).
    """

    kind: TaskKind = "classification"
    positive: str | None = None
    threshold: float | None = None
    tolerance: float | None = None
    normalization: TextNormalization = field(default_factory=TextNormalization)

    def __post_init__(self) -> None:
        """Refuse a tolerance no error can be compared with (the one place it enters)."""
        if self.tolerance is None:
            return
        try:
            tol = float(self.tolerance)
        except (TypeError, ValueError):
            tol = math.nan
        if not (math.isfinite(tol) and tol >= 0):
            raise InvalidValueError(
                f"the tolerance must be a finite number >= 0 (the absolute error still counted "
                f"as correct), not {self.tolerance!r} (CLI: --tolerance)"
            )


_WORDS = re.compile(r"\S+")


def infer_task_kind(labels: pd.Series) -> TaskKind:
    """Guess the task kind from the label column.

    Rules: numbers that are not all whole, with more than 20 distinct values, mean
    ``regression``; strings averaging two or more words that are mostly distinct (more than
    20 distinct values, or at least half the values distinct) mean ``text``, since a few
    multi-word class names ("no defect", "New York") are still classes; anything else is
    ``classification`` (binary needs a positive class, so it is never guessed).
    """
    values = labels.head(50_000).dropna()  # a guess: the first rows are plenty, and cheap
    if values.empty:
        return "classification"
    if not pd.api.types.is_numeric_dtype(values):  # labels are read as text: numbers in it?
        text = values.astype("string").str.strip()
        # The first cells decide cheaply for class names; all of them for numbers.
        if pd.to_numeric(text.head(100), errors="coerce").notna().all():
            numbers = pd.to_numeric(text, errors="coerce")
            if numbers.notna().all():
                values = numbers.astype(float)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        arr = arr[np.isfinite(arr)]
        if values.nunique() > 20 and not np.all(np.mod(arr, 1) == 0):
            return "regression"
        return "classification"
    sample = values.astype("string").head(2000)
    if sample.str.count(_WORDS.pattern).mean() >= 2:
        distinct = sample.nunique()
        if distinct > 20 or distinct >= 0.5 * len(sample):
            return "text"
    return "classification"
