"""Find examples whose given label is probably wrong, from per-class model probabilities.

When the predictions file carries one probability (or score) column per class —
``prob_<class>``, ``proba_<class>``, ``probability_<class>``, ``score_<class>`` or
``<class>_prob`` — confident learning (Northcutt, Jiang & Chuang, JAIR 2021) estimates
which labels are wrong: :func:`cleanlab.filter.find_label_issues` does the work, and the
examples it flags are ranked by cleanlab's label quality score (the model's probability of
the given label, "self-confidence"; lowest first). The probabilities should be
out-of-sample (cross-validated or from a held-out model) for the estimate to be sound.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InvalidValueError, MissingColumnError, count_of, format_rows

PREFIXES: tuple[str, ...] = ("prob_", "proba_", "probability_", "score_", "p_")
SUFFIXES: tuple[str, ...] = ("_prob", "_proba", "_probability", "_score")
TAG_NAME = "likely_label_error"

#: Columns of :attr:`LabelIssues.issues`.
ISSUE_COLUMNS: tuple[str, ...] = (
    "id", "label", "suggested_label", "label_quality", "suggested_prob", "prediction", "row",
)


def _norm(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _classes(frame: pd.DataFrame) -> list[str]:
    classes: dict[str, None] = {}
    for col in ("label", "prediction"):
        if col in frame.columns:
            classes.update(dict.fromkeys(frame[col].dropna().astype(str).unique()))
    return sorted(classes)


def find_probability_columns(frame: pd.DataFrame,
                             classes: list[str] | None = None) -> dict[str, str]:
    """Detect one probability/score column per class.

    Parameters
    ----------
    frame
        A dataset frame (``label`` and ``prediction`` give the classes) or any table.
    classes
        Class names (default: the values of ``label`` and ``prediction``, as text).

    Returns
    -------
    dict
        ``{class: column}`` for the naming pattern (one prefix or suffix) matching the most
        classes, compared case-insensitively with spaces and hyphens read as ``_`` (class
        ``pit mark`` matches ``prob_pit_mark``). Empty when fewer than two classes match;
        it may miss some classes (:func:`find_label_issues` then names them).
    """
    classes = _classes(frame) if classes is None else [str(c) for c in classes]
    if len(classes) < 2:
        return {}
    numeric = {c for c in frame.columns
               if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])}
    by_name = {_norm(c): c for c in frame.columns if c in numeric}
    best: dict[str, str] = {}
    for pattern in [(p, "") for p in PREFIXES] + [("", s) for s in SUFFIXES]:
        found = {c: by_name[f"{pattern[0]}{_norm(c)}{pattern[1]}"] for c in classes
                 if f"{pattern[0]}{_norm(c)}{pattern[1]}" in by_name}
        if len(found) > len(best):
            best = found
    return best if len(best) >= 2 else {}


@dataclass
class LabelIssues:
    """The result of :func:`find_label_issues`.

    Attributes
    ----------
    issues
        The flagged examples, most likely wrong first, columns:

        - ``id``: the example id; ``row``: its position in the frame;
        - ``label``: the given label; ``suggested_label``: the most probable class;
        - ``label_quality``: cleanlab's self-confidence score, the probability of the
          given label (0 to 1; lower = more likely wrong);
        - ``suggested_prob``: the probability of ``suggested_label``;
        - ``prediction``: the model's prediction column, when present.
    n_checked
        Examples checked.
    columns
        ``{class: probability column}`` used.
    warnings
        Notes on the input (probabilities normalised, rare classes...).
    """

    issues: pd.DataFrame
    n_checked: int
    columns: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_issues(self) -> int:
        """How many examples are flagged."""
        return len(self.issues)


def _probabilities(frame: pd.DataFrame, columns: Mapping[str, str],
                   notes: list[str]) -> np.ndarray:
    cols = list(columns.values())
    raw = frame[cols].apply(pd.to_numeric, errors="coerce")
    p = raw.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidValueError(
            f"the probability columns ({', '.join(map(repr, cols))}) are missing or not "
            f"numbers in {count_of(len(rows), 'row')} ({format_rows(rows)}); fill them in or "
            "leave those "
            "rows out")
    if (p < 0).any() or (p > 1).any():
        notes.append("the class scores are not probabilities (outside 0-1): turned into "
                     "probabilities with a softmax per row")
        z = np.exp(p - p.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    total = p.sum(axis=1)
    if (total <= 0).any():
        rows = np.flatnonzero(total <= 0)
        raise InvalidValueError(f"the class probabilities are all 0 in {format_rows(rows)}; "
                                "every row needs some probability")
    if np.abs(total - 1).max() > 0.01:
        notes.append("the class probabilities do not sum to 1 in every row: divided by "
                     "their sum")
    return p / total[:, None]


def find_label_issues(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    filter_by: str = "prune_by_noise_rate",
) -> LabelIssues:
    """Flag examples whose label is probably wrong with confident learning (cleanlab).

    Parameters
    ----------
    frame
        A dataset frame: ``label``, optionally ``id`` and ``prediction``, and one probability
        column per class.
    columns
        ``{class: column}``; default :func:`find_probability_columns`. Classes that have a
        column but no example are allowed; every labelled class needs a column.
    filter_by
        cleanlab's filtering method (``prune_by_noise_rate``, ``prune_by_class``, ``both``,
        ``confident_learning``, ``predicted_neq_given``...).

    Returns
    -------
    LabelIssues

    Raises
    ------
    MissingColumnError
        No probability columns, or a labelled class without one.
    InvalidValueError
        Probabilities missing or not numbers in some rows.
    """
    from cleanlab.filter import find_label_issues as cl_find_label_issues
    from cleanlab.rank import get_label_quality_scores

    if "label" not in frame.columns:
        raise MissingColumnError("finding label errors needs a 'label' column")
    columns = dict(columns) if columns is not None else find_probability_columns(frame)
    if not columns:
        raise MissingColumnError(
            "no per-class probability columns found: add one column per class named "
            "prob_<class> (or score_<class>), e.g. prob_scratch, prob_ok, holding the "
            "model's probability of each class")
    absent = [c for c in columns.values() if c not in frame.columns]
    if absent:
        raise MissingColumnError(f"probability column {absent[0]!r} is not in the table")
    labels = frame["label"].astype("string")
    known = labels.notna().to_numpy()
    classes = list(columns)
    uncovered = sorted(set(labels[known].unique()) - set(classes))
    if uncovered:
        raise MissingColumnError(
            f"no probability column for the class{'es' if len(uncovered) > 1 else ''} "
            f"{', '.join(map(repr, uncovered[:10]))}; found columns for "
            f"{', '.join(map(repr, classes))} (name them like "
            f"{next(iter(columns.values()))!r})")
    notes: list[str] = []
    p = _probabilities(frame, columns, notes)
    codes = pd.Categorical(labels, categories=classes).codes.astype(np.int64)
    rows = np.flatnonzero(known)
    y, probs = codes[rows], p[rows]
    if len(rows) < len(frame):
        notes.append(f"{count_of(len(frame) - len(rows), 'example')} without a label "
                     f"{'was' if len(frame) - len(rows) == 1 else 'were'} not checked")
    counts = np.bincount(y, minlength=len(classes))
    empty = [c for c, k in zip(classes, counts, strict=True) if k == 0]
    if empty:
        # cleanlab needs every class labelled at least once: drop unused class columns.
        used = counts > 0
        remap = np.cumsum(used) - 1
        y, probs = remap[y], probs[:, used]
        probs = probs / probs.sum(axis=1, keepdims=True)
        classes = [c for c, u in zip(classes, used, strict=True) if u]
        notes.append(f"no example is labelled {', '.join(map(repr, empty))}: those classes "
                     "were left out")
    if len(classes) < 2 or len(rows) == 0:
        notes.append("fewer than two classes are labelled: nothing to check")
        flagged = np.zeros(len(rows), dtype=bool)
        quality = np.ones(len(rows))
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flagged = cl_find_label_issues(labels=y, pred_probs=probs, filter_by=filter_by)
            quality = get_label_quality_scores(y, probs, method="self_confidence")
        notes.extend(dict.fromkeys(str(w.message).strip() for w in caught))
    # Suggested classes in the label column's own type (1, not "1").
    first = pd.Series(frame["label"].to_numpy()[rows]).groupby(labels[known].to_numpy()).first()
    typed = np.asarray([first.get(c, c) for c in classes], dtype=object)
    best = probs.argmax(axis=1) if len(classes) else np.zeros(len(rows), dtype=np.int64)
    hit = np.flatnonzero(flagged)
    hit = hit[np.lexsort((hit, quality[hit]))]
    where = rows[hit]
    issues = pd.DataFrame({
        "id": (frame["id"].to_numpy()[where] if "id" in frame.columns else where),
        "label": frame["label"].to_numpy()[where],
        "suggested_label": typed[best[hit]] if len(classes) else np.empty(0, dtype=object),
        "label_quality": quality[hit],
        "suggested_prob": probs[hit, best[hit]] if len(classes) else np.empty(0),
        "prediction": (frame["prediction"].to_numpy()[where] if "prediction" in frame.columns
                       else np.full(len(where), None, dtype=object)),
        "row": where.astype(np.int64),
    })
    return LabelIssues(issues=issues.reset_index(drop=True), n_checked=len(rows),
                       columns=dict(columns), warnings=notes)
