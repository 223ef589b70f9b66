"""Metrics of the error-analysis table, derived from per-slice counts alone.

:func:`compute_slice_metrics` is the third of the three steps of :mod:`core.metrics`: it
reads only the counts of :mod:`core.metrics.counts`, so the same code serves counts
computed by pandas or by a SQL engine. It is made of named steps: the accuracy columns,
the baseline (HLP) the model is compared with and the gap's test, the task's own metrics,
then their intervals (:func:`core.intervals.add_metric_intervals`).

Columns of the table
--------------------
Indexed by slice name (``All data`` first):

- ``n``: examples; ``share``: n / all examples.
- ``accuracy``: correct / n (exact match; within tolerance for regression);
  ``accuracy_ci_low``, ``accuracy_ci_high``: 95% Wilson interval.
- ``errors``; ``error_rate`` = errors / n; ``error_share`` = errors / all errors (the
  lecture's "what fraction of errors has that tag").
- ``hlp``: the baseline's accuracy (human-level performance unless ``baseline`` says
  otherwise): the user's value where given; the target; the mean per-example human
  accuracy hacc_sum / hacc_n; or human_correct / human_n (agreement of the human-label
  column, or of the older system, with the label, on the examples that have one).
  Shown even when too few examples back it.
- ``hlp_source``, why the slice has (or lacks) a usable baseline: ``user`` (given;
  wins over everything), ``target``, ``human_accuracy`` (mean per-example human
  accuracy), ``human_label`` or ``older_system`` (measured on at least
  ``min_human_labels`` examples), ``too_few`` (measured on 1 to ``min_human_labels``
  − 1: ``hlp`` is shown but not compared) or ``none`` (no value).
- ``hlp_basis``, how it was measured, in words: ``single human label``, ``majority
  label — an upper bound on one person``, ``mean single-annotator accuracy``,
  ``older system NAME``, ``entered``, ``target``; None without a value.
- ``baseline``, which baseline the row uses: ``HLP``, ``older system: NAME`` or
  ``target 95%`` (:attr:`core.baselines.Baseline.label`); None without a value.
- ``hlp_n``: examples behind a measured ``hlp`` (``human_n`` or ``hacc_n``); 0 for a
  typed HLP or target (not measured on these examples) and where there is none.
- ``hlp_ci_low``, ``hlp_ci_high``: 95% interval of a measured ``hlp``: Wilson for a
  share of human labels (or older predictions), Student t for a mean human accuracy
  (:func:`core.baselines.paired_mean_difference`); NaN for a typed value and where
  there is none.
- ``paired_accuracy``: the model's accuracy on the same ``hlp_n`` examples,
  (human_correct − human_only + model_only) / human_n, or hacc_model / hacc_n; NaN
  where ``hlp_n`` is 0. ``accuracy`` stays the accuracy on all examples of the slice.
- ``gap``: HLP minus the model's accuracy on the same examples, positive where the
  model trails humans. With human labels (``human_label``) it is hlp −
  paired_accuracy = (human_only − model_only) / human_n, so that a slice where only
  some examples have a human label compares model and human on those examples only;
  with a mean human accuracy it is the mean of (human accuracy − model correct) over
  the examples that have one; with a user-given HLP or a target it is hlp − accuracy.
  NaN for ``too_few`` and ``none``.
  ``potential_gain`` = gap × share (accuracy points on all data if the gap closed).
- ``p_value``, ``significant``: whether the gap differs from zero. With human labels (or
  an older system) the test is McNemar's exact test on the paired examples; with a mean
  human accuracy, the paired t-test on the per-example differences; with a user-given
  HLP or a target, a two-sided exact binomial test of the slice's correct count against
  rate ``hlp``. NaN and False for ``too_few`` and ``none``.
- binary: ``precision``, ``recall``, ``f1``, ``fpr``, ``fnr``, ``negatives`` (FP + TN),
  ``positives`` (TP + FN); text: ``wer`` = word edit operations / reference words
  (jiwer's corpus WER; as in jiwer, a slice whose references are all empty has WER = its
  insertions); regression: ``mae``, ``rmse``.
- 95% intervals ``<m>_ci_low``, ``<m>_ci_high`` (:func:`core.intervals.add_metric_intervals`,
  from the counts alone): binary ``precision``, ``recall``, ``fpr``, ``fnr`` (Wilson,
  1927) and ``f1`` (seeded multinomial bootstrap of the confusion counts); text ``wer``
  (delta-method interval of a ratio); regression ``mae`` (Student t); none for RMSE.
  ``gap_ci_low``, ``gap_ci_high``: with human labels Newcombe's (1998) paired interval
  of (human_only − model_only) / human_n; with a user-given HLP (no sampling error)
  [hlp − accuracy_ci_high, hlp − accuracy_ci_low]; the same for an older system and
  a target; the Student t interval of the mean difference for a mean human accuracy;
  NaN for ``too_few`` and ``none``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.baselines import (
    BASIS_ENTERED,
    BASIS_HUMAN_ACCURACY,
    BASIS_MAJORITY,
    BASIS_SINGLE,
    BASIS_TARGET,
    Baseline,
    paired_mean_difference,
)
from slicewise.core.errors import InvalidValueError
from slicewise.core.intervals import (
    add_metric_intervals,
    paired_difference_interval,
    wilson_interval,
)
from slicewise.core.metrics.counts import exact_counts as _ints
from slicewise.core.metrics.counts import ratio as _div
from slicewise.core.metrics.exact_tests import binomial_test_p, mcnemar_exact_p
from slicewise.core.task import TaskSpec

#: Fewest human-labelled examples a slice needs before its HLP is compared with the model.
#: Below it the 95% Wilson interval of the HLP is too wide to rank on: at p = 0.5 its
#: half-width is ±16.8 points at n = 30, ±17.1 at n = 29, ±20.1 at n = 20 and ±26.3 at
#: n = 10, and one correct label gives 20.7–100%. Such a slice keeps its raw ``hlp`` and
#: ``hlp_n`` but gets no gap, potential gain or significance (``hlp_source`` ``too_few``).
MIN_HUMAN_LABELS = 30


def compute_slice_metrics(
    counts: pd.DataFrame,
    *,
    task: TaskSpec,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    min_human_labels: int = MIN_HUMAN_LABELS,
    baseline: Baseline | None = None,
) -> pd.DataFrame:
    """Derive every metric of the error-analysis table, derived from per-slice counts alone.

    Parameters
    ----------
    counts
        Output of :func:`compute_slice_counts` (first row is all data).
    task
        Decides which task metrics are added.
    hlp
        Human-level performance given by the user per slice name (fractions in [0, 1]); it
        takes precedence over the human-label column for those slices.
    alpha
        Significance level for the gap test.
    min_human_labels
        Fewest human-labelled examples a slice needs for its measured HLP to be compared
        with the model (default :data:`MIN_HUMAN_LABELS`, which gives the reason).
    baseline
        What the slices are compared with (:class:`core.baselines.Baseline`; default HLP
        from single human labels): ``hlp`` measures HLP from per-example human accuracy
        when the counts have any (``hacc_n``; it then takes precedence over the human-label
        column), else from the human-label column (``human_kind`` ``majority``: an upper
        bound on one person); ``older_system`` reads the human-label counts as an older
        system's predictions; ``target`` gives every slice the same typed value. ``hlp``
        values typed per slice win over all of them.

    Returns
    -------
    DataFrame indexed by slice name with columns:

    DataFrame indexed by slice name (``All data`` first) with the columns listed in the
    module notes (:mod:`core.metrics.slice_metrics`): size and accuracy, the baseline and
    the gap to it with its test, the task's own metrics, and their 95% intervals.

    Raises
    ------
    InvalidValueError
        An ``hlp`` value outside [0, 1].
    """
    out = _accuracy_columns(counts)
    _add_baseline_columns(
        out,
        counts,
        _typed_baseline(counts.index, hlp, baseline or Baseline()),
        alpha=alpha,
        min_human_labels=min_human_labels,
    )
    _add_task_columns(out, counts, task.kind)
    return add_metric_intervals(out, counts, kind=task.kind)


def _count(counts: pd.DataFrame, name: str) -> np.ndarray:
    """Return a count column as floats; 0 for counts computed before the column existed."""
    if name in counts.columns:
        return counts[name].to_numpy(dtype=float)
    return np.zeros(len(counts))


def _accuracy_columns(c: pd.DataFrame) -> pd.DataFrame:
    """Start the table: ``n``, ``share``, ``accuracy`` with its Wilson interval, the errors."""
    n = c["n"].to_numpy(dtype=float)
    total_n = n[0]
    errors = n - c["correct"].to_numpy()
    total_errors = errors[0]
    out = pd.DataFrame(index=c.index)
    out["n"] = n.astype(np.int64)
    out["share"] = _div(n, np.full_like(n, total_n))
    out["accuracy"] = _div(c["correct"], n)
    low, high = wilson_interval(c["correct"].to_numpy(), n)
    out["accuracy_ci_low"] = low
    out["accuracy_ci_high"] = high
    out["errors"] = errors.astype(np.int64)
    out["error_rate"] = _div(errors, n)
    out["error_share"] = _div(errors, np.full_like(errors, total_errors))
    return out


@dataclass(frozen=True)
class _Typed:
    """Where the baseline is a typed value (the user's per slice, or the target), and which."""

    base: Baseline
    use_user: np.ndarray  # slices with a value typed by the user
    use_target: np.ndarray  # the others, when the baseline is a target
    value: np.ndarray  # the typed value (NaN elsewhere)

    @property
    def typed(self) -> np.ndarray:
        """Slices whose baseline is typed rather than measured."""
        return self.use_user | self.use_target


def _typed_baseline(index: pd.Index, hlp: Mapping[str, float] | None, base: Baseline) -> _Typed:
    """Read the user's per-slice HLP (checked to be fractions) and the target, if any."""
    user = pd.Series(hlp or {}, dtype=float).reindex(index)
    if user.notna().any() and ((user.dropna() < 0) | (user.dropna() > 1)).any():
        bad = user[(user < 0) | (user > 1)]
        raise InvalidValueError(
            f"HLP for {bad.index[0]!r} is {bad.iloc[0]}; give a fraction between 0 and 1"
        )
    use_user = user.notna().to_numpy()
    use_target = ~use_user & (base.kind == "target")
    value = np.where(use_user, user.to_numpy(), base.target if base.kind == "target" else np.nan)
    return _Typed(base, use_user, use_target, value)


@dataclass(frozen=True)
class _Measured:
    """A baseline measured on the slice's own examples, and the gap's test against it."""

    source: str  # hlp_source where usable: human_accuracy, human_label or older_system
    basis: str  # hlp_basis, in words
    n: np.ndarray  # examples behind it (human_n or hacc_n)
    hlp: np.ndarray
    hlp_low: np.ndarray
    hlp_high: np.ndarray
    paired_accuracy: np.ndarray  # the model's accuracy on those examples
    gap: np.ndarray
    p_value: np.ndarray
    gap_low: np.ndarray
    gap_high: np.ndarray


def _by_human_accuracy(c: pd.DataFrame) -> _Measured:
    """HLP as the mean per-example human accuracy; the paired t-test of the gap."""
    acc = paired_mean_difference(
        _count(c, "hacc_n"),
        _count(c, "hacc_sum"),
        _count(c, "hacc_sq"),
        _count(c, "hacc_model"),
        _count(c, "hacc_model"),
        _count(c, "hacc_cross"),
    )
    return _Measured(
        "human_accuracy",
        BASIS_HUMAN_ACCURACY,
        _count(c, "hacc_n"),
        acc["mean_a"],
        acc["a_ci_low"],
        acc["a_ci_high"],
        acc["mean_b"],
        acc["mean_d"],
        acc["p_value"],
        acc["d_ci_low"],
        acc["d_ci_high"],
    )


def _by_human_labels(c: pd.DataFrame, base: Baseline) -> _Measured:
    """HLP as the human labels' (or an older system's) accuracy; McNemar's test of the gap."""
    human_n, human_correct = _count(c, "human_n"), _count(c, "human_correct")
    model_only, human_only = _count(c, "model_only"), _count(c, "human_only")
    h_low, h_high = wilson_interval(human_correct, human_n)
    gap_low, gap_high = paired_difference_interval(
        human_only, model_only, human_n, a=human_correct - human_only
    )
    older = base.kind == "older_system"
    return _Measured(
        "older_system" if older else "human_label",
        f"older system {base.name}"
        if older
        else BASIS_MAJORITY
        if base.human_kind == "majority"
        else BASIS_SINGLE,
        human_n,
        _div(c["human_correct"], c["human_n"]),
        h_low,
        h_high,
        # Model correct on the human-labelled examples = both correct + model only.
        _div(human_correct - human_only + model_only, human_n),
        _div(human_only - model_only, human_n),
        mcnemar_exact_p(model_only, human_only),
        gap_low,
        gap_high,
    )


def _add_baseline_columns(
    out: pd.DataFrame, c: pd.DataFrame, typed: _Typed, *, alpha: float, min_human_labels: int
) -> None:
    """Add the baseline, the gap to it and its test (``hlp`` ... ``significant``) to ``out``."""
    base = typed.base
    # Per-example human accuracy, when the file has it, is the HLP (over a human label).
    by_accuracy = base.kind == "hlp" and bool((_count(c, "hacc_n") > 0).any())
    m = _by_human_accuracy(c) if by_accuracy else _by_human_labels(c, base)
    measured = ~typed.typed & (m.n > 0) & (base.kind != "target")
    usable = measured & (m.n >= min_human_labels)
    use_user, use_target = typed.use_user, typed.use_target
    out["hlp"] = np.where(typed.typed, typed.value, m.hlp)
    out["hlp_source"] = np.select(
        [use_user, use_target, usable, measured], ["user", "target", m.source, "too_few"], "none"
    ).astype(object)
    out["hlp_basis"] = np.select(
        [use_user, use_target, measured], [BASIS_ENTERED, BASIS_TARGET, m.basis], None
    ).astype(object)
    out["baseline"] = np.select(
        [use_user, typed.typed | measured], ["HLP", base.label], None
    ).astype(object)
    out["hlp_n"] = np.where(measured, _ints(m.n), 0)
    out["hlp_ci_low"] = np.where(measured, m.hlp_low, np.nan)
    out["hlp_ci_high"] = np.where(measured, m.hlp_high, np.nan)
    out["paired_accuracy"] = np.where(measured, m.paired_accuracy, np.nan)
    out["gap"] = np.where(
        typed.typed, out["hlp"] - out["accuracy"], np.where(usable, m.gap, np.nan)
    )
    # The gap's interval where core.intervals.add_metric_intervals (which keeps these
    # values) does not set one: a mean human accuracy, an older system, a target.
    mine = usable & (m.source != "human_label")
    acc_low = out["accuracy_ci_low"].to_numpy(dtype=float)
    acc_high = out["accuracy_ci_high"].to_numpy(dtype=float)
    out["gap_ci_low"] = np.where(
        mine, m.gap_low, np.where(use_target, typed.value - acc_high, np.nan)
    )
    out["gap_ci_high"] = np.where(
        mine, m.gap_high, np.where(use_target, typed.value - acc_low, np.nan)
    )
    out["potential_gain"] = out["gap"] * out["share"]
    p_typed = binomial_test_p(c["correct"].to_numpy(), c["n"].to_numpy(dtype=float), typed.value)
    p = np.where(typed.typed, p_typed, np.where(usable, m.p_value, np.nan))
    out["p_value"] = p
    out["significant"] = np.where(np.isnan(p), False, p < alpha)


def _add_task_columns(out: pd.DataFrame, c: pd.DataFrame, kind: str) -> None:
    """Add the task's own metrics: binary rates, text WER, regression MAE and RMSE."""
    n = c["n"].to_numpy(dtype=float)
    if kind == "binary":
        tp, fp, fn, tn = (c[k].to_numpy() for k in ("tp", "fp", "fn", "tn"))
        out["precision"] = _div(tp, tp + fp)
        out["recall"] = _div(tp, tp + fn)
        out["f1"] = _div(2 * tp, 2 * tp + fp + fn)
        out["fpr"] = _div(fp, fp + tn)
        out["fnr"] = _div(fn, fn + tp)
        # Denominators of FPR and FNR, so rates can be set against the rest of the data.
        out["negatives"] = _ints(fp + tn)
        out["positives"] = _ints(tp + fn)
    elif kind == "text":
        ref_words = c["ref_words"].to_numpy(dtype=float)
        out["wer"] = np.where(
            ref_words > 0,
            _div(c["word_errors"], ref_words),
            np.where(n > 0, c["word_errors"], np.nan),
        )
    elif kind == "regression":
        out["mae"] = _div(c["abs_error"], n)
        out["rmse"] = np.sqrt(_div(c["sq_error"], n))
