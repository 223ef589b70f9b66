"""What kind of task the predictions are for, and how an answer counts as correct."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

TaskKind = Literal["classification", "binary", "text", "regression"]
TASK_KINDS: tuple[str, ...] = ("classification", "binary", "text", "regression")


@dataclass(frozen=True)
class TextNormalization:
    """How transcripts are normalised before an exact-match comparison.

    Parameters
    ----------
    lowercase
        Compare case-insensitively.
    strip_punctuation
        Drop every character that is neither a letter, a digit, whitespace nor an apostrophe
        inside a word ("let's" keeps its apostrophe).
    collapse_whitespace
        Trim and turn every run of whitespace into one space.
    replacements
        Literal ``(old, new)`` pairs applied first, in order (e.g. ``("Umm,", "Um,")``).
    """

    lowercase: bool = True
    strip_punctuation: bool = True
    collapse_whitespace: bool = True
    replacements: tuple[tuple[str, str], ...] = ()

    def apply(self, values: pd.Series) -> pd.Series:
        """Return ``values`` normalised, vectorised over the Series; missing stays missing."""
        s = values.astype("string")
        for old, new in self.replacements:
            s = s.str.replace(old, new, regex=False)
        if self.lowercase:
            s = s.str.lower()
        if self.strip_punctuation:
            s = s.str.replace(r"[^\w\s']|(?<!\w)'|'(?!\w)|_", " ", regex=True)
        if self.collapse_whitespace:
            s = s.str.replace(r"\s+", " ", regex=True).str.strip()
        return s


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
        Regression only: absolute error at or under which a prediction counts as correct.
    normalization
        Text only.
    """

    kind: TaskKind = "classification"
    positive: str | None = None
    threshold: float | None = None
    tolerance: float | None = None
    normalization: TextNormalization = field(default_factory=TextNormalization)


_WORDS = re.compile(r"\S+")


def infer_task_kind(labels: pd.Series) -> TaskKind:
    """Guess the task kind from the label column.

    Rules: floats that are not all whole numbers with more than 20 distinct values mean
    ``regression``; strings averaging two or more words mean ``text``; anything else is
    ``classification`` (binary needs a positive class, so it is never guessed).
    """
    values = labels.dropna()
    if values.empty:
        return "classification"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        arr = values.to_numpy(dtype=float)
        if values.nunique() > 20 and not np.all(np.mod(arr, 1) == 0):
            return "regression"
        return "classification"
    sample = values.astype(str).head(2000)
    if sample.str.count(r"\S+").mean() >= 2:
        return "text"
    return "classification"
