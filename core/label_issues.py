"""Find examples whose given label is probably wrong, from every signal the file holds.

Three kinds of evidence can speak about an example's given label:

- **the model**: one probability (or score) column per class — ``prob_<class>``,
  ``proba_<class>``, ``probability_<class>``, ``score_<class>`` or ``<class>_prob`` —
  read with confident learning (Northcutt, Jiang & Chuang, JAIR 2021):
  :func:`cleanlab.filter.find_label_issues` flags the examples whose label the
  probabilities contradict. The probabilities should be out-of-sample (cross-validated or
  from a held-out model) for the estimate to be sound;
- **the human-label column** (``human``): a second person's label of the same example;
- **annotator votes**: a multi-annotator label set (:mod:`core.agreement`'s long table of
  item, annotator, label), whose items are the examples' ids.

:func:`find_label_issues` combines them with the rule written in its docstring: humans
who confirm the given label veto the model, and the model and the humans naming the same
other class flag an example the model alone would not. With probabilities only, the result
is confident learning's, ranked by cleanlab's self-confidence, as before.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slicewise.core.errors import (
    InvalidValueError,
    MissingColumnError,
    RowNumbers,
    count_of,
    format_rows,
)
from slicewise.core.values import as_text, class_keys

if TYPE_CHECKING:
    from slicewise.core.agreement import Annotations

PREFIXES: tuple[str, ...] = ("prob_", "proba_", "probability_", "score_", "p_")
SUFFIXES: tuple[str, ...] = ("_prob", "_proba", "_probability", "_score")
TAG_NAME = "likely_label_error"

#: Columns of :attr:`LabelIssues.issues`.
ISSUE_COLUMNS: tuple[str, ...] = (
    "id",
    "label",
    "suggested_label",
    "quality_score",
    "label_quality",
    "suggested_prob",
    "human_label",
    "annotator_share",
    "n_annotators",
    "signals",
    "prediction",
    "row",
)

#: The signals :func:`find_label_issues` can use, as :attr:`LabelIssues.issues` names them.
SIGNALS: tuple[str, ...] = ("model", "human", "annotators")

#: Share of the human opinions that must choose the given label to confirm it.
CONFIRM_SHARE = 0.5


def _norm(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _classes(frame: pd.DataFrame) -> list[str]:
    classes: dict[str, None] = {}
    for col in ("label", "prediction"):
        if col in frame.columns:
            classes.update(dict.fromkeys(frame[col].dropna().astype(str).unique()))
    return sorted(classes)


def find_probability_columns(
    frame: pd.DataFrame, classes: list[str] | None = None
) -> dict[str, str]:
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
    numeric = {
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    by_name = {_norm(c): c for c in frame.columns if c in numeric}
    best: dict[str, str] = {}
    for pattern in [(p, "") for p in PREFIXES] + [("", s) for s in SUFFIXES]:
        found = {
            c: by_name[f"{pattern[0]}{_norm(c)}{pattern[1]}"]
            for c in classes
            if f"{pattern[0]}{_norm(c)}{pattern[1]}" in by_name
        }
        if len(found) > len(best):
            best = found
    return best if len(best) >= 2 else {}


@dataclass
class LabelIssues:
    """The result of :func:`find_label_issues`.

    Attributes
    ----------
    issues
        The flagged examples, most likely wrong first (lowest ``quality_score``), columns:

        - ``id``: the example id; ``row``: its position in the frame;
        - ``label``: the given label; ``suggested_label``: the class with the most combined
          support (the most probable class when only probabilities are used);
        - ``quality_score``: the combined support for the given label, 0 to 1, lower =
          more likely wrong: the mean of the model's probability of it and the share of the
          human opinions (human label and annotator votes) choosing it; the model's
          probability alone for an example without a human opinion;
        - ``label_quality``: cleanlab's self-confidence score, the model's probability of
          the given label (0 to 1; lower = more likely wrong);
        - ``suggested_prob``: the model's probability of ``suggested_label``;
        - ``human_label``: the file's human label (missing when absent or not used);
        - ``annotator_share``: share of the annotators who chose the given label (NaN
          without annotator votes); ``n_annotators``: how many labelled the example;
        - ``signals``: the sources that say the given label is wrong, in the order of
          :data:`SIGNALS`, joined by ``", "`` (e.g. ``"model, human"``);
        - ``prediction``: the model's prediction column, when present.
    n_checked
        Examples checked.
    columns
        ``{class: probability column}`` used.
    warnings
        Notes on the input (probabilities normalised, rare classes...).
    signals
        The signals used: ``"model"``, then ``"human"`` when the frame has human labels and
        ``"annotators"`` when annotator votes were given and matched some example.
    n_model_flags
        Examples confident learning flagged from the probabilities alone.
    n_confirmed
        Of those, how many the humans confirmed (not flagged).
    n_added
        Examples flagged because the model's most probable class is also the humans' most
        chosen one, though confident learning did not flag them.
    """

    issues: pd.DataFrame
    n_checked: int
    columns: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=lambda: ["model"])
    n_model_flags: int = 0
    n_confirmed: int = 0
    n_added: int = 0

    @property
    def n_issues(self) -> int:
        """How many examples are flagged."""
        return len(self.issues)

    def summary(self) -> str:
        """Return one line saying what was flagged and which signals decided it.

        Examples
        --------
        >>> LabelIssues(pd.DataFrame(), n_checked=10, columns={}, n_model_flags=3).summary()
        '0 of 10 examples flagged; signals: model (confident learning flagged 3)'
        """
        text = (
            f"{self.n_issues:,} of {count_of(self.n_checked, 'example')} flagged; "
            f"signals: {', '.join(self.signals)} (confident learning flagged "
            f"{self.n_model_flags:,}"
        )
        if len(self.signals) > 1:
            text += (
                f"; humans confirmed the given label of {self.n_confirmed:,} of them; "
                f"{self.n_added:,} more where the model and the humans name the same "
                "other class"
            )
        return text + ")"


def _probabilities(frame: pd.DataFrame, columns: Mapping[str, str], notes: list[str]) -> np.ndarray:
    cols = list(columns.values())
    raw = frame[cols].apply(pd.to_numeric, errors="coerce")
    p = raw.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InvalidValueError(
            f"the probability columns ({', '.join(map(repr, cols))}) are missing or not "
            f"numbers in {count_of(len(rows), 'row')} "
            f"({format_rows(rows, numbering=RowNumbers.of_frame(frame))}); fill them in or "
            "leave those "
            "rows out"
        )
    if (p < 0).any() or (p > 1).any():
        notes.append(
            "the class scores are not probabilities (outside 0-1): turned into "
            "probabilities with a softmax per row"
        )
        z = np.exp(p - p.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    total = p.sum(axis=1)
    if (total <= 0).any():
        rows = np.flatnonzero(total <= 0)
        raise InvalidValueError(
            f"the class probabilities are all 0 in "
            f"{format_rows(rows, numbering=RowNumbers.of_frame(frame))}; every row needs some "
            "probability"
        )
    if np.abs(total - 1).max() > 0.01:
        notes.append("the class probabilities do not sum to 1 in every row: divided by their sum")
    return p / total[:, None]


def _class_index(classes: list[str]) -> dict[str, int]:
    """``{comparison key: position}`` of the model's classes (:func:`core.values.class_keys`)."""
    keys = class_keys(pd.Series(classes, dtype=object)).tolist()
    return {k: j for j, k in reversed(list(enumerate(keys)))}


def _human_votes(
    frame: pd.DataFrame,
    rows: np.ndarray,
    label_keys: np.ndarray,
    index: dict[str, int],
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the human-label column as one vote per example.

    Returns the votes per model class (rows × classes), whether each example has a human
    label, and whether it equals the given label (compared by class key).
    """
    keys = class_keys(as_text(frame["human"])).iloc[rows]
    present = keys.notna().to_numpy(dtype=bool)
    votes = np.zeros((len(rows), n_classes))
    col = keys.map(index).fillna(-1).to_numpy(dtype=np.int64)
    keys = keys.to_numpy(dtype=object)
    ok = col >= 0
    votes[np.flatnonzero(ok), col[ok]] = 1.0
    return votes, present, present & (keys == label_keys)


def _annotator_votes(
    annotations: pd.DataFrame | Annotations,
    frame: pd.DataFrame,
    rows: np.ndarray,
    label_keys: np.ndarray,
    index: dict[str, int],
    n_classes: int,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count the annotators' labels of each example (items matched to ``id`` as text).

    Returns the votes per model class (rows × classes), the number of annotators per
    example and how many of them chose the given label (compared by class key).
    """
    from slicewise.core.agreement import Annotations, encode_labels

    if isinstance(annotations, Annotations):
        table, name = annotations.labels, annotations.source_name
    else:
        table, name = annotations, "the annotations"
    codes = encode_labels(table)
    items = as_text(pd.Series(codes.items, dtype=object)).to_numpy(dtype=object)
    ids = (
        as_text(frame["id"])
        if "id" in frame.columns
        else pd.Series(np.arange(len(frame)).astype(str), dtype=object)
    )
    position = pd.Series(np.arange(len(frame)), index=ids.to_numpy(dtype=object))
    position = position[~position.index.duplicated()]
    where = position.reindex(items).to_numpy(dtype=float)
    found = ~np.isnan(where)
    if not found.any():
        shown = ", ".join(map(repr, items[:3]))
        raise InvalidValueError(
            f"none of the {len(items):,} items of {name} (e.g. {shown}) is an id of the "
            f"table (its ids look like {', '.join(map(repr, ids.iloc[:3]))}); the item "
            "column must hold the predictions' ids"
        )
    if not found.all():
        notes.append(
            f"{int((~found).sum()):,} of {len(items):,} items of {name} are not ids "
            f"of the table (e.g. {', '.join(map(repr, items[~found][:3]))}): their "
            "votes were left out"
        )
    to_row = np.full(len(frame), -1, dtype=np.int64)
    to_row[rows] = np.arange(len(rows))
    cells = codes.cells
    frame_pos = np.where(found, np.nan_to_num(where, nan=0), 0).astype(np.int64)[cells.item]
    r = np.where(found[cells.item], to_row[frame_pos], -1)
    class_keys_ = class_keys(as_text(pd.Series(codes.classes, dtype=object))).to_numpy(
        dtype=object
    )[cells.cls]
    col = pd.Series(class_keys_, dtype=object).map(index).fillna(-1).to_numpy(dtype=np.int64)
    inside = r >= 0
    votes = np.zeros((len(rows), n_classes))
    hit = inside & (col >= 0)
    np.add.at(votes, (r[hit], col[hit]), cells.count[hit])
    total = np.bincount(r[inside], weights=cells.count[inside], minlength=len(rows))
    same = inside.copy()
    same[inside] = class_keys_[inside] == label_keys[r[inside]]
    agree = np.bincount(r[same], weights=cells.count[same], minlength=len(rows))
    return votes, total.astype(np.int64), agree.astype(np.int64)


def find_label_issues(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    filter_by: str = "prune_by_noise_rate",
    use_human: bool = True,
    annotations: pd.DataFrame | Annotations | None = None,
) -> LabelIssues:
    """Flag examples whose given label is probably wrong, from every signal present.

    The signals (see the module docstring): the model's out-of-sample class
    probabilities p, always; the human label h (``human`` column), when present; the
    annotators' labels of the example, when ``annotations`` are given. The human label and
    the annotator votes are pooled as *human opinions* (votes v, n of them; s = v(y) / n the
    share choosing the given label y). The rule:

    1. **confirmed**: an example whose given label at least half the human opinions choose
       (s ≥ 1/2, :data:`CONFIRM_SHARE`) is never flagged — a person independent of the
       label agreeing with it is strong evidence it is right;
    2. otherwise it is **flagged** when (a) confident learning flags it from p (cleanlab's
       ``find_label_issues``, as without humans), or (b) the model's most probable class
       ĉ ≠ y is also the humans' most chosen class (two independent sources name the same
       other class, which cleanlab's per-class thresholds may have missed);
    3. flags are **ranked** by the combined support for the given label,
       ``quality_score`` = (p(y) + s) / 2, lowest first (p(y) alone without a human
       opinion), ties by row; ``suggested_label`` is the class k with the most support
       (p(k) + v(k) / n) / 2.

    With probabilities only, this is confident learning (Northcutt, Jiang & Chuang, JAIR
    2021), ranked by self-confidence p(y), exactly as before humans were used. Pooling
    a model's probabilities with annotators' votes by a plain average of their support
    follows the weighted ensemble of CROWDLAB (Goh, Mueller & Tkachenko, 2022), here with
    equal weights for the model and the humans; the human veto mirrors the practice of
    having a person confirm each cleanlab flag before a label is changed. On sklearn's
    digits with 59 planted flips and a 90%-correct human label, the veto lifts precision
    from 67% to 92% and rule (b) lifts recall from 85% to 93%
    (``tests/test_label_issue_signals.py``).

    Parameters
    ----------
    frame
        A dataset frame: ``label``, optionally ``id``, ``prediction`` and ``human``, and
        one probability column per class.
    columns
        ``{class: column}``; default :func:`find_probability_columns`. Classes that have a
        column but no example are allowed; every labelled class needs a column.
    filter_by
        cleanlab's filtering method (``prune_by_noise_rate``, ``prune_by_class``, ``both``,
        ``confident_learning``, ``predicted_neq_given``...).
    use_human
        Use the ``human`` column as a signal (when present).
    annotations
        Multi-annotator labels of the examples: a long table with columns ``item`` (the
        examples' ids), ``annotator`` and ``label``, or an
        :class:`core.agreement.Annotations`. Items that are no id of the frame are left out
        with a note.

    Returns
    -------
    LabelIssues
        The flags, each with the signals that say its label is wrong.

    Raises
    ------
    MissingColumnError
        No ``label`` or probability columns, or a labelled class without one; annotations
        without the item, annotator and label columns.
    InvalidValueError
        Probabilities missing or not numbers in some rows; no annotated item is an id of the
        frame.
    MissingValuesError, DuplicateIdError
        Annotations with blank cells, or an annotator labelling an item twice.

    Examples
    --------
    >>> frame = pd.DataFrame({"label": ["a", "a", "b", "b"], "human": ["a", "b", "b", None],
    ...                       "prob_a": [0.9, 0.1, 0.2, 0.7], "prob_b": [0.1, 0.9, 0.8, 0.3]})
    >>> found = find_label_issues(frame, filter_by="predicted_neq_given")
    >>> found.issues[["row", "label", "suggested_label", "signals"]].to_dict("records")
    [{'row': 1, 'label': 'a', 'suggested_label': 'b', 'signals': 'model, human'}, \
{'row': 3, 'label': 'b', 'suggested_label': 'a', 'signals': 'model'}]
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
            "model's probability of each class"
        )
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
            f"{next(iter(columns.values()))!r})"
        )
    notes: list[str] = []
    p = _probabilities(frame, columns, notes)
    codes = pd.Categorical(labels, categories=classes).codes.astype(np.int64)
    rows = np.flatnonzero(known)
    y, probs = codes[rows], p[rows]
    if len(rows) < len(frame):
        notes.append(
            f"{count_of(len(frame) - len(rows), 'example')} without a label "
            f"{'was' if len(frame) - len(rows) == 1 else 'were'} not checked"
        )
    counts = np.bincount(y, minlength=len(classes))
    empty = [c for c, k in zip(classes, counts, strict=True) if k == 0]
    if empty:
        # cleanlab needs every class labelled at least once: drop unused class columns.
        used = counts > 0
        remap = np.cumsum(used) - 1
        y, probs = remap[y], probs[:, used]
        probs = probs / probs.sum(axis=1, keepdims=True)
        classes = [c for c, u in zip(classes, used, strict=True) if u]
        notes.append(
            f"no example is labelled {', '.join(map(repr, empty))}: those classes were left out"
        )
    n, k = len(rows), len(classes)
    if k < 2 or n == 0:
        notes.append("fewer than two classes are labelled: nothing to check")
        model_flags = np.zeros(n, dtype=bool)
        quality = np.ones(n)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model_flags = np.asarray(
                cl_find_label_issues(labels=y, pred_probs=probs, filter_by=filter_by), dtype=bool
            )
            quality = get_label_quality_scores(y, probs, method="self_confidence")
        notes.extend(dict.fromkeys(str(w.message).strip() for w in caught))

    # Human opinions: the human-label column and the annotators' votes, pooled.
    label_keys = class_keys(labels).to_numpy(dtype=object)[rows]
    index = _class_index(classes)
    signals = ["model"]
    votes = np.zeros((n, k))
    n_votes = np.zeros(n)
    n_given = np.zeros(n)
    human = np.full(n, None, dtype=object)
    human_says = np.zeros(n, dtype=bool)
    if use_human and "human" in frame.columns:
        h_votes, h_present, h_given = _human_votes(frame, rows, label_keys, index, k)
        if h_present.any():
            signals.append("human")
            votes += h_votes
            n_votes += h_present
            n_given += h_given
            human = frame["human"].to_numpy(dtype=object)[rows]
            human[~h_present] = None
            human_says = h_present & ~h_given
    n_annotators = np.zeros(n, dtype=np.int64)
    annotator_given = np.zeros(n, dtype=np.int64)
    if annotations is not None:
        a_votes, n_annotators, annotator_given = _annotator_votes(
            annotations, frame, rows, label_keys, index, k, notes
        )
        if n_annotators.any():
            signals.append("annotators")
            votes += a_votes
            n_votes += n_annotators
            n_given += annotator_given
    has = n_votes > 0
    confirmed = has & (n_given >= CONFIRM_SHARE * n_votes)
    support = probs.copy()
    support[has] = (probs[has] + votes[has] / n_votes[has, None]) / 2
    at = np.arange(n)
    score = support[at, y] if k else np.ones(n)
    model_best = probs.argmax(axis=1) if k else np.zeros(n, dtype=np.int64)
    if k:
        best_votes = votes[at, model_best]
        concur = has & (model_best != y) & (best_votes > 0) & (best_votes >= votes.max(axis=1))
    else:
        concur = np.zeros(n, dtype=bool)
    flagged = (model_flags | concur) & ~confirmed

    # Suggested classes in the label column's own type (1, not "1").
    first = pd.Series(frame["label"].to_numpy()[rows]).groupby(labels[known].to_numpy()).first()
    typed = np.asarray([first.get(c, c) for c in classes], dtype=object)
    best = support.argmax(axis=1) if k else np.zeros(n, dtype=np.int64)
    hit = np.flatnonzero(flagged)
    hit = hit[np.lexsort((hit, score[hit]))]
    where = rows[hit]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_annotators > 0, annotator_given / np.maximum(n_annotators, 1), np.nan)
    says = np.column_stack(
        [
            model_flags | (model_best != y),
            human_says,
            (n_annotators > 0) & (annotator_given < CONFIRM_SHARE * n_annotators),
        ]
    )
    # Every subset of SIGNALS as text, indexed by its bit mask (bit j: SIGNALS[j] says so).
    combos = np.array(
        [
            ", ".join(s for j, s in enumerate(SIGNALS) if mask >> j & 1)
            for mask in range(1 << len(SIGNALS))
        ],
        dtype=object,
    )
    issues = pd.DataFrame(
        {
            "id": (frame["id"].to_numpy()[where] if "id" in frame.columns else where),
            "label": frame["label"].to_numpy()[where],
            "suggested_label": typed[best[hit]] if k else np.empty(0, dtype=object),
            "quality_score": score[hit],
            "label_quality": quality[hit],
            "suggested_prob": probs[hit, best[hit]] if k else np.empty(0),
            "human_label": human[hit],
            "annotator_share": share[hit],
            "n_annotators": n_annotators[hit],
            "signals": combos[says[hit] @ (1 << np.arange(len(SIGNALS)))],
            "prediction": (
                frame["prediction"].to_numpy()[where]
                if "prediction" in frame.columns
                else np.full(len(where), None, dtype=object)
            ),
            "row": where.astype(np.int64),
        }
    )
    return LabelIssues(
        issues=issues.reset_index(drop=True),
        n_checked=n,
        columns=dict(columns),
        warnings=notes,
        signals=signals,
        n_model_flags=int(model_flags.sum()),
        n_confirmed=int((model_flags & confirmed).sum()),
        n_added=int((concur & ~model_flags & ~confirmed).sum()),
    )
