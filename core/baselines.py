"""What a slice's accuracy is compared with: human-level performance, an older system, a target.

The lecture names three baselines for a slice's accuracy: human-level performance (HLP),
the state of the art (here: a target value) and the older system. Each row of the
error-analysis table says which one it uses (``baseline``) and how it was measured
(``hlp_basis``); the ``hlp*`` columns hold the baseline's value whatever it is, and the gap is
always baseline − model accuracy (:func:`core.metrics.compute_slice_metrics`).

HLP as the lecture defines it is the accuracy of *one* person labelling an example:

- **Per-row human accuracy** (the ``human_accuracy`` role, or annotators' labels through
  :func:`human_accuracy_from_annotations`): a number in [0, 1] per example, the probability
  that a single human labels it right (CIFAR-10H: the share of its ~51 annotators choosing
  the true class). A slice's HLP is the mean over its examples with a value; the gap is
  paired with the model's accuracy on the same examples, with a Student-t interval and a
  paired t-test on the per-example differences (:func:`paired_mean_difference`).
- **A human label** (the ``human`` role): one person's label per example; the slice's HLP is
  the share that agree with the label (exact McNemar test against the model). When that
  label is a *majority* of several people (``human_kind`` ``majority``) it is right more
  often than any one of them, so its HLP is an upper bound on one person's.

The **older system** is exactly the human-label machinery with the older predictions standing
in for the human label (paired counts, McNemar), and a **target** is a typed HLP for every
slice (exact binomial test against it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slicewise.core.binomial import regularized_beta
from slicewise.core.errors import InvalidValueError, count_of
from slicewise.core.intervals import student_t_quantile
from slicewise.core.values import as_text, class_keys

if TYPE_CHECKING:
    from slicewise.core.agreement import Annotations
    from slicewise.core.dataset import Dataset

#: ``Baseline.kind`` values.
BASELINE_KINDS: tuple[str, ...] = ("hlp", "older_system", "target")
#: ``ColumnMapping.human_kind`` values: one person's label, or a majority of several.
HUMAN_KINDS: tuple[str, ...] = ("single", "majority")

#: ``hlp_basis`` wording, by how the baseline of a row was measured.
BASIS_SINGLE = "single human label"
BASIS_MAJORITY = "majority label — an upper bound on one person"
BASIS_HUMAN_ACCURACY = "mean single-annotator accuracy"
BASIS_ENTERED = "entered"
BASIS_TARGET = "target"

#: Words that mark a human-label column as a majority (or other aggregate) of several people,
#: compared with the words of its name (:func:`core.dataset.name_words`).
MAJORITY_WORDS = frozenset(
    {
        "majority",
        "consensus",
        "crowd",
        "aggregate",
        "aggregated",
        "mv",
        "vote",
        "voted",
        "votes",
        "plurality",
    }
)


@dataclass(frozen=True)
class Baseline:
    """The baseline an error-analysis table compares each slice's accuracy with.

    Attributes
    ----------
    kind
        ``hlp`` (human-level performance: a human-label column, per-row human accuracy, or
        values typed per slice), ``older_system`` (an older model's predictions stand in for
        the human label) or ``target`` (one accuracy for every slice).
    name
        The older system's name (its file or column), shown in ``baseline`` and
        ``hlp_basis``.
    target
        The target accuracy in [0, 1] (``kind`` ``target``).
    human_kind
        ``single`` (one person's label per example) or ``majority`` (a majority or other
        aggregate of several people: its HLP is an upper bound on one person's).

    Examples
    --------
    >>> Baseline().label, Baseline.older_system("v1.csv").label, Baseline.of_target(0.95).label
    ('HLP', 'older system: v1.csv', 'target 95%')
    """

    kind: str = "hlp"
    name: str = ""
    target: float | None = None
    human_kind: str = "single"

    def __post_init__(self) -> None:
        if self.kind not in BASELINE_KINDS:
            raise InvalidValueError(
                f"baseline kind must be one of {', '.join(BASELINE_KINDS)}, not {self.kind!r}"
            )
        if self.human_kind not in HUMAN_KINDS:
            raise InvalidValueError(
                f"the human label kind must be 'single' or 'majority', not {self.human_kind!r}"
            )
        if self.kind == "target":
            check_fraction(self.target, "the target")

    @classmethod
    def older_system(cls, name: str) -> Baseline:
        """Return the baseline of an older system called ``name`` (a file or a column)."""
        return cls(kind="older_system", name=str(name))

    @classmethod
    def of_target(cls, value: float) -> Baseline:
        """Return a target accuracy (a fraction in [0, 1]) for every slice."""
        return cls(kind="target", target=value)

    @property
    def label(self) -> str:
        """The short name every table shows in its ``baseline`` column."""
        if self.kind == "older_system":
            return f"older system: {self.name}"
        if self.kind == "target":
            return f"target {format_percent(self.target)}"
        return "HLP"


def format_percent(value: float | None) -> str:
    """Write a fraction as a short percent: ``0.95`` -> ``95%``, ``0.955`` -> ``95.5%``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.4g}%"


def check_fraction(value: Any, what: str) -> float:
    """Return ``value`` as a float in [0, 1], or raise naming ``what``.

    Raises
    ------
    InvalidValueError
        Not a number, or outside [0, 1].
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{what} must be a number between 0 and 1, not {value!r}") from None
    if not 0 <= x <= 1:
        raise InvalidValueError(
            f"{what} is {value!r}; give a fraction between 0 and 1 (or a percent such as 95%)"
        )
    return x


def parse_fraction(text: str, what: str) -> float:
    """Read ``0.95`` or ``95%`` as a fraction in [0, 1] (a CLI option's value).

    Raises
    ------
    InvalidValueError
        Not a number, or outside [0, 1].

    Examples
    --------
    >>> parse_fraction("95%", "--target"), parse_fraction("0.9", "--target")
    (0.95, 0.9)
    """
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    except ValueError:
        raise InvalidValueError(
            f"{what} {text!r}: give a fraction between 0 and 1 or a percent such as 95%"
        ) from None
    return check_fraction(value, f"{what} {text!r}")


def is_majority_name(name: Any) -> bool:
    """Whether a human-label column's name says it aggregates several people.

    A word of :data:`MAJORITY_WORDS` in the name (``human_majority``, ``crowd_label``,
    ``consensus``, ``mv_label``).

    Examples
    --------
    >>> [is_majority_name(n) for n in ("human_majority", "crowd_majority_pred", "human_label")]
    [True, True, False]
    """
    from slicewise.core.column_roles import name_words  # it imports this module

    return bool(MAJORITY_WORDS.intersection(name_words(name)))


def dataset_baseline(dataset: Dataset) -> Baseline:
    """Return the HLP baseline a loaded dataset's mapping describes (single or majority)."""
    kind = getattr(dataset.mapping, "human_kind", None) or "single"
    return Baseline(human_kind=kind if kind in HUMAN_KINDS else "single")


# --------------------------------------------------------------------------- Student's t


def student_t_two_sided_p(t: np.ndarray | float, df: np.ndarray | float) -> np.ndarray:
    """Return the two-sided tail ``P[|T| >= |t|]`` of Student's t with ``df`` degrees of freedom.

    ``P[|T| >= t] = I_{df / (df + t²)}(df / 2, 1 / 2)``, the regularized incomplete beta
    function (Abramowitz & Stegun 26.7.1 and 26.5.27) of :mod:`core.binomial`, so that no
    scipy import is needed. NaN where ``df <= 0`` or ``t`` is NaN; 0 where ``t`` is infinite.
    """
    t, df = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    out = np.full(t.shape, np.nan)
    ok = (df > 0) & ~np.isnan(t)
    if ok.any():
        tt, dd = np.abs(t[ok]), df[ok]
        with np.errstate(invalid="ignore", over="ignore"):
            x = np.where(np.isinf(tt), 0.0, dd / (dd + tt * tt))
        out[ok] = regularized_beta(dd / 2, np.full_like(dd, 0.5), x)
    return out


def paired_mean_difference(
    n: np.ndarray,
    sum_a: np.ndarray,
    sum_a2: np.ndarray,
    sum_b: np.ndarray,
    sum_b2: np.ndarray,
    sum_ab: np.ndarray,
    *,
    level: float = 0.95,
) -> dict[str, np.ndarray]:
    """Compare paired per-example values ``a`` and ``b`` from their sums alone.

    With ``d = a − b`` per example: ``Σd = Σa − Σb``, ``Σd² = Σa² − 2Σab + Σb²``, the mean
    ``d̄ = Σd / n`` and the sample variance ``s² = (Σd² − (Σd)² / n) / (n − 1)``. The
    interval is Student's t, ``d̄ ± t_{(1+level)/2, n−1} · s / √n``, and the p-value that of
    the paired t-test ``t = d̄ / (s / √n)`` with ``n − 1`` degrees of freedom (Student, 1908;
    the test ``scipy.stats.ttest_rel`` computes; the quantile is
    :func:`core.intervals.student_t_quantile`). ``a``'s own mean gets the one-sample
    t-interval, clipped to [0, 1]. Where the differences do not vary (``s = 0``) the
    p-value is 1 when ``d̄ = 0`` and 0 otherwise, and the interval is the point.

    Parameters
    ----------
    n
        Examples with both values, per slice.
    sum_a, sum_a2, sum_b, sum_b2, sum_ab
        ``Σa``, ``Σa²``, ``Σb``, ``Σb²`` and ``Σab`` over those examples.
    level
        Confidence level of the intervals.

    Returns
    -------
    dict of arrays: ``mean_a``, ``a_ci_low``, ``a_ci_high``, ``mean_b``, ``mean_d``,
    ``d_ci_low``, ``d_ci_high``, ``p_value``; NaN where ``n`` is 0 (means) or below 2
    (intervals and p-value).
    """
    n = np.asarray(n, dtype=float)
    sa, sa2, sb, sb2, sab = (
        np.asarray(v, dtype=float) for v in (sum_a, sum_a2, sum_b, sum_b2, sum_ab)
    )
    two = n >= 2
    mean_a, se_a = _mean_and_standard_error(n, sa, sa2)
    mean_d, se_d = _mean_and_standard_error(n, sa - sb, sa2 - 2 * sab + sb2)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_b = np.where(n > 0, sb / n, np.nan)
    p, flat = _paired_t_p_value(n, mean_d, se_d)
    crit = student_t_quantile((1 + level) / 2, np.where(two, n - 1, np.nan))
    se_d = np.where(flat, 0.0, se_d)
    return {
        "mean_a": mean_a,
        "a_ci_low": np.clip(mean_a - crit * se_a, 0, 1),
        "a_ci_high": np.clip(mean_a + crit * se_a, 0, 1),
        "mean_b": mean_b,
        "mean_d": mean_d,
        "d_ci_low": mean_d - crit * se_d,
        "d_ci_high": mean_d + crit * se_d,
        "p_value": np.where(two, p, np.nan),
    }


def _mean_and_standard_error(
    n: np.ndarray, total: np.ndarray, total_sq: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean ``Σx / n`` (NaN where n = 0) and its standard error ``s / √n``.

    ``s² = (Σx² − (Σx)² / n) / (n − 1)``, floored at 0 against rounding; NaN where n < 2.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.where(n >= 2, np.maximum(total_sq - total * total / n, 0) / (n - 1), np.nan)
        return mean, np.sqrt(var / n)


def _paired_t_p_value(
    n: np.ndarray, mean_d: np.ndarray, se_d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the paired t-test's two-sided p-value and where the differences are flat.

    ``t = d̄ / se`` with ``n − 1`` degrees of freedom; differences whose standard error is
    rounding noise (at most 1e-12 of max(1, |d̄|)) are flat: p = 1 when d̄ is 0 too, else 0.
    """
    two = n >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        # Differences that barely vary are rounding noise in the sums: treat as constant.
        tiny = 1e-12 * np.maximum(1.0, np.abs(mean_d))
        flat = two & (se_d <= tiny)
        t = np.where(flat, np.nan, mean_d / np.where(flat, 1, se_d))
    p = student_t_two_sided_p(t, np.where(two, n - 1, 0))
    return np.where(flat, np.where(np.abs(mean_d) <= tiny, 1.0, 0.0), p), flat


# --------------------------------------------------------------------------- sources


def human_accuracy_from_annotations(
    annotations: Annotations, dataset: Dataset
) -> tuple[np.ndarray, list[str]]:
    """Per-example human accuracy from annotators' labels: the share that chose the label.

    The annotations are :mod:`core.agreement`'s long table (item, annotator, label); each
    item is matched to an example by its id (both as trimmed text, :mod:`core.values`), and
    an annotator's label equals the example's label when their classes are the same
    (:func:`core.values.class_keys`: ``1``, ``1.0`` and ``yes`` are one class). The share of
    an example's annotators who chose its label estimates the probability that one person
    labels it right (CIFAR-10H's ``human_accuracy``); its mean over a slice is the slice's HLP.

    Returns
    -------
    (values, notes)
        ``values``: float array aligned with ``dataset.frame``, NaN for examples no
        annotator labelled; ``notes``: legal but notable facts (items that are no example).

    Raises
    ------
    InvalidValueError
        The dataset has no id column, or no annotated item is one of its ids; the message
        names both files.
    """
    from slicewise.core.agreement import encode_labels  # core.agreement imports core.metrics

    source, name = dataset.source_name, annotations.source_name
    if dataset.mapping.id is None:
        raise InvalidValueError(
            f"{source}: has no id column, so the annotations of {name} cannot be matched to "
            "its examples; choose the id column (CLI: --id COLUMN) holding the annotations' "
            "item ids"
        )
    codes = encode_labels(annotations.labels)
    items = as_text(pd.Series(codes.items, dtype=object)).to_numpy(dtype=object)
    ids = as_text(dataset.frame["id"]).to_numpy(dtype=object)
    where, notes = _item_positions(items, ids, name=name, source=source)
    cells = codes.cells
    row = where[cells.item]
    inside = row >= 0
    label_keys = class_keys(dataset.frame["label"]).to_numpy(dtype=object)
    cell_keys = class_keys(as_text(pd.Series(codes.classes, dtype=object))).to_numpy(dtype=object)[
        cells.cls
    ]
    right = np.zeros(len(cells.item), dtype=bool)
    right[inside] = cell_keys[inside] == label_keys[row[inside]]
    n = len(ids)
    total = np.bincount(row[inside], weights=cells.count[inside], minlength=n)
    agree = np.bincount(row[inside & right], weights=cells.count[inside & right], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(total > 0, agree / np.where(total > 0, total, 1), np.nan)
    return values, notes


def _item_positions(
    items: np.ndarray, ids: np.ndarray, *, name: str, source: str
) -> tuple[np.ndarray, list[str]]:
    """Return each annotated item's example row (int64, −1 for none) and notes on misses.

    ``items`` and ``ids`` are trimmed text; an id that occurs twice matches its first row.

    Raises
    ------
    InvalidValueError
        No item is an id; the message names both files and shows examples of each.
    """
    position = pd.Series(np.arange(len(ids)), index=ids)
    position = position[~position.index.duplicated()]
    where = position.reindex(items).to_numpy(dtype=float)
    found = ~np.isnan(where)
    if not found.any():
        raise InvalidValueError(
            f"{name}: none of its {len(items):,} items (e.g. "
            f"{', '.join(map(repr, items[:3]))}) is an id of {source} (its ids look like "
            f"{', '.join(map(repr, ids[:3]))}); the item column must hold the examples' ids"
        )
    notes = []
    if not found.all():
        missing = items[~found]
        k = int((~found).sum())
        notes.append(
            f"{name}: {k:,} of its {len(items):,} items {'is' if k == 1 else 'are'} "
            f"no example id of {source} (e.g. {', '.join(map(repr, missing[:3]))}); "
            "their labels were left out"
        )
    return np.where(found, np.nan_to_num(where), -1).astype(np.int64), notes


def with_human_accuracy(dataset: Dataset, values: np.ndarray) -> Dataset:
    """Return ``dataset`` with per-example human accuracy ``values`` (NaN: none) as its role.

    The frame's ``human_accuracy`` column is set (replacing one the file gave); the
    mapping keeps its column names.

    Raises
    ------
    InvalidValueError
        ``values`` of another length than the dataset, or outside [0, 1].
    """
    values = np.asarray(values, dtype=float)
    if len(values) != dataset.n:
        raise InvalidValueError(
            f"{dataset.source_name}: {len(values):,} human accuracies for {dataset.n:,} examples"
        )
    bad = ~np.isnan(values) & ((values < 0) | (values > 1))
    if bad.any():
        raise InvalidValueError(
            f"{dataset.source_name}: human accuracy must lie in [0, 1]; "
            f"{count_of(int(bad.sum()), 'value')} do not"
        )
    frame = dataset.frame.copy()
    frame["human_accuracy"] = values
    return replace(dataset, frame=frame)


def with_older_system(dataset: Dataset, older: Dataset) -> tuple[Dataset, list[str]]:
    """Return ``dataset`` with ``older``'s predictions in the place of the human label.

    Examples are matched by id (compared as trimmed text); when either file has no id
    column they are matched by row position, which needs as many rows in both. An older
    prediction is given the dataset's spelling of its class (:func:`core.values.class_keys`),
    so ``1.0`` and ``1`` stay one class; examples the older system did not predict have no
    baseline value (masked like a missing human label). A human-accuracy column is dropped:
    the older system is the baseline now.

    Returns
    -------
    (dataset, notes)
        The new dataset, and notes (older rows that are no example, examples without an older
        prediction).

    Raises
    ------
    InvalidValueError
        No id in common, or rows matched by position with different row counts; the message
        names both files.
    """
    frame = dataset.frame
    if dataset.mapping.id is None or older.mapping.id is None:
        values, notes = _older_by_position(dataset, older)
    else:
        values, notes = _older_by_id(dataset, older)
    older_values = pd.Series(values, dtype=object)
    if "task" not in dataset.options:  # classes: the dataset's spelling of each class
        older_values = _in_dataset_spelling(frame, older_values)
    new = frame.drop(columns=[c for c in ("human", "human_accuracy") if c in frame.columns])
    new.insert(min(3, len(new.columns)), "human", older_values.to_numpy(dtype=object))
    new.attrs = dict(frame.attrs)
    mapping = replace(dataset.mapping, human=None, human_accuracy=None, human_kind=None)
    return replace(dataset, frame=new, mapping=mapping), notes


def _older_by_position(dataset: Dataset, older: Dataset) -> tuple[np.ndarray, list[str]]:
    """Return ``older``'s predictions row by row (object array) and a note saying so.

    Raises
    ------
    InvalidValueError
        The two files differ in row count.
    """
    source, name = dataset.source_name, older.source_name
    if len(older.frame) != len(dataset.frame):
        raise InvalidValueError(
            f"{name}: has {len(older.frame):,} rows and {source} {len(dataset.frame):,}; "
            "without an id column in both files examples are matched by row position, which "
            "needs as many rows: give both files an id column (CLI: --id COLUMN names it in "
            "both)"
        )
    values = older.frame["prediction"].to_numpy(dtype=object)
    return values, [f"{source}, {name}: matched by row position (a file has no id column)"]


def _older_by_id(dataset: Dataset, older: Dataset) -> tuple[np.ndarray, list[str]]:
    """Return ``older``'s prediction per example of ``dataset``, matched by trimmed-text id.

    The object array holds NaN for examples without an older prediction; the notes count
    those and the older rows whose id is no example.

    Raises
    ------
    InvalidValueError
        No id in common; the message shows ids of both files.
    """
    source, name = dataset.source_name, older.source_name
    ids = as_text(dataset.frame["id"]).to_numpy(dtype=object)
    old_ids = as_text(older.frame["id"]).to_numpy(dtype=object)
    by_id = pd.Series(older.frame["prediction"].to_numpy(dtype=object), index=old_ids)
    found = pd.Index(ids).isin(old_ids)
    if not found.any():
        raise InvalidValueError(
            f"{name}: none of its ids (e.g. {', '.join(map(repr, old_ids[:3]))}) is an id "
            f"of {source} (e.g. {', '.join(map(repr, ids[:3]))}); the older system's "
            "predictions must carry the examples' ids"
        )
    notes: list[str] = []
    extra = int((~pd.Index(old_ids).isin(ids)).sum())
    if extra:
        notes.append(
            f"{name}: {count_of(extra, 'row')} with an id that is no example of {source} left out"
        )
    if not found.all():
        notes.append(
            f"{source}: {count_of(int((~found).sum()), 'example')} without an "
            f"older prediction in {name} (no baseline value there)"
        )
    return by_id.reindex(ids).to_numpy(dtype=object), notes


def _in_dataset_spelling(frame: pd.DataFrame, older_values: pd.Series) -> pd.Series:
    """Return older predictions spelled as the dataset spells each class; None where missing.

    A class is found by :func:`core.values.class_keys` among the frame's labels and
    predictions (first spelling wins); a class the dataset never shows keeps its own text.
    """
    shown = pd.concat([frame["label"], frame["prediction"]], ignore_index=True)
    spelling = pd.Series(
        shown.to_numpy(dtype=object), index=class_keys(as_text(shown)).to_numpy(dtype=object)
    )
    spelling = spelling[~spelling.index.duplicated()]
    keys = class_keys(as_text(older_values))
    mapped = spelling.reindex(keys.to_numpy(dtype=object)).to_numpy(dtype=object)
    text = as_text(older_values).to_numpy(dtype=object)
    older_values = pd.Series(np.where(pd.isna(mapped), text, mapped), dtype=object)
    older_values[keys.isna().to_numpy()] = None
    return older_values
