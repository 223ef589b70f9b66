"""Confidence intervals of the per-slice metrics, from the additive counts alone.

Every metric of the error-analysis table derives from per-slice counts
(:data:`core.metrics.COUNT_COLUMNS`), and so does every interval here: the pandas and the
DuckDB engines give the same intervals because they give the same counts. All functions
take arrays (one value per slice) and return ``(low, high)`` arrays; a slice whose
interval is undefined (an empty denominator, a single example for a spread) gets NaN.

- Proportions (accuracy, precision, recall, FPR, FNR, HLP): the Wilson score interval
  (Wilson, 1927), :func:`wilson_interval`.
- A difference of paired proportions (HLP − the model's accuracy on the same examples):
  Newcombe's hybrid score interval for paired data, method 10 of Newcombe (1998),
  :func:`paired_difference_interval`.
- F1: a percentile bootstrap (Efron & Tibshirani, 1993, ch. 13) that redraws the confusion
  counts from a multinomial, :func:`bootstrap_f1_interval`.
- MAE: the Student t interval of a mean, from ``n``, Σ|e| and Σe², :func:`mae_interval`.
- WER = Σ errors / Σ reference words: the linearisation (delta-method) interval of a ratio
  estimator (Cochran, 1977, §6.4), from five sums, :func:`wer_interval`.
- Planning: :func:`n_for_half_width`, the examples needed for a Wilson interval of a given
  half-width ("review N more to confirm").

:func:`add_metric_intervals` puts them into the table of
:func:`core.metrics.compute_slice_metrics`. The F1, MAE and WER intervals are checked
against a slow row-level bootstrap, the rest against statsmodels, scipy and a published
example, in ``tests/test_intervals.py``.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22, 209-212. Newcombe, R. G. (1998). Improved confidence intervals for the difference
between binomial proportions based on paired data. Statistics in Medicine 17, 2635-2650.
Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Cochran, W. G. (1977).
Sampling Techniques, 3rd ed. Abramowitz, M. & Stegun, I. A. (1964). Handbook of
Mathematical Functions, 26.7.5. Fagerland, M. W., Lydersen, S. & Laake, P. (2017).
Statistical Analysis of Contingency Tables, ch. 8.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from slicewise.core.binomial import regularized_beta
from slicewise.core.errors import InvalidValueError

Z_95 = 1.959963984540054  # the 97.5% point of the standard normal

#: Bootstrap replicates of :func:`bootstrap_f1_interval` in the table; the Monte Carlo
#: error of a 2.5% percentile endpoint is then about 0.06 standard errors of F1.
N_BOOT = 2000

#: Distinct count rows whose replicates :func:`bootstrap_f1_interval` holds at once.
_BOOT_BLOCK = 256

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


# --------------------------------------------------------------------------- proportions


def wilson_interval(
    k: np.ndarray | float, n: np.ndarray | float, *, z: float = Z_95
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the Wilson score interval for a binomial proportion ``k / n`` (default 95%).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` (Wilson, 1927); NaN where
    ``n == 0``. The same values as statsmodels' ``proportion_confint(method="wilson")``.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def n_for_half_width(
    p: np.ndarray | float, half_width: np.ndarray | float, *, z: float = Z_95
) -> np.ndarray:
    """Return the smallest n whose Wilson interval at proportion ``p`` is ± ``half_width``.

    The half-width of the Wilson interval (:func:`wilson_interval`) at proportion ``p``
    on ``n`` examples is ``h(n) = z·sqrt(p(1-p)·n + z²/4) / (n + z²)``, which falls as n
    grows. ``h(n) <= w`` is the quadratic ``w²(n + z²)² − z²p(1-p)·n − z⁴/4 >= 0``; the
    answer is the ceiling of its larger root (at least 1), corrected by one step where
    rounding put it on the wrong side. Used for "review N more to confirm": the examples
    needed before a slice's accuracy is known to ± ``half_width``.

    Parameters
    ----------
    p
        Expected proportion(s) in [0, 1] (e.g. the slice's current accuracy).
    half_width
        Wanted half-width(s), as a fraction (0.05 for ±5 points), > 0.
    z
        Normal quantile of the interval (default 95%).

    Returns
    -------
    int64 array of the same shape: the examples needed (total, not additional).

    Raises
    ------
    InvalidValueError
        When a ``p`` is outside [0, 1] or a ``half_width`` is not positive.

    Examples
    --------
    >>> int(n_for_half_width(0.5, 0.05))
    381
    """
    p, w = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(half_width, dtype=float))
    if np.any(np.isnan(p) | (p < 0) | (p > 1)):
        raise InvalidValueError(
            "the expected proportion must be between 0 and 1; got "
            f"{p[np.isnan(p) | (p < 0) | (p > 1)][0]}"
        )
    if np.any(np.isnan(w) | (w <= 0)):
        raise InvalidValueError(
            "the interval's half-width must be a positive fraction "
            f"(0.05 for ±5 points); got {w[np.isnan(w) | (w <= 0)][0]}"
        )
    z2 = z * z
    pq = p * (1 - p)
    # w²n² + (2w²z² − z²pq)·n + (w²z⁴ − z⁴/4) >= 0: the larger root.
    qa, qb, qc = w * w, 2 * w * w * z2 - z2 * pq, w * w * z2 * z2 - z2 * z2 / 4
    root = (-qb + np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0))) / (2 * qa)
    n = np.maximum(np.ceil(root), 1)

    def half(m: np.ndarray) -> np.ndarray:
        return z * np.sqrt(pq * m + z2 / 4) / (m + z2)

    n = np.where(half(n) > w, n + 1, n)  # rounding left it one short
    n = np.where((n > 1) & (half(n - 1) <= w), n - 1, n)  # or one too many
    return n.astype(np.int64)


def paired_difference_interval(
    b: np.ndarray | float,
    c: np.ndarray | float,
    n: np.ndarray | float,
    *,
    a: np.ndarray | float,
    z: float = Z_95,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for the difference of two paired proportions, ``(b − c) / n``.

    Newcombe's hybrid score interval for paired data, method 10 of Newcombe (1998): of
    ``n`` pairs, ``a`` are successes on both sides, ``b`` on the first side only, ``c`` on
    the second only and ``d = n − a − b − c`` on neither. With ``p1 = (a + b)/n``,
    ``p2 = (a + c)/n``, their Wilson intervals ``(l1, u1)`` and ``(l2, u2)``
    (:func:`wilson_interval`) and the difference ``D = p1 − p2``:

        low  = D − sqrt((p1 − l1)² − 2φ(p1 − l1)(u2 − p2) + (u2 − p2)²)
        high = D + sqrt((p2 − l2)² − 2φ(p2 − l2)(u1 − p1) + (u1 − p1)²)

    where φ is Newcombe's corrected phi coefficient of the 2×2 table: with
    ``A = ad − bc`` and ``M = (a+b)(c+d)(a+c)(b+d)``, φ = (A − n/2)/√M when A > n/2,
    0 when 0 <= A <= n/2, A/√M when A < 0, and 0 when a margin is empty. Endpoints are
    clipped to [−1, 1]; NaN where ``n == 0``. It needs no iteration, is as good as the
    score methods in Newcombe's evaluation, and stays inside [−1, 1]. Checked against the
    published example of Fagerland, Lydersen & Laake (2017, ch. 8) and a bootstrap in the
    tests.

    In the table the pairs are the human-labelled examples, the first side the human
    label and the second the model: ``b = human_only``, ``c = model_only``, ``a`` = both
    correct, so ``(b − c)/n`` is the gap ``hlp − paired_accuracy``.
    """
    a, b, c, n = (np.asarray(v, dtype=float) for v in (a, b, c, n))
    d = n - a - b - c
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = (a + b) / n, (a + c) / n
        l1, u1 = wilson_interval(a + b, n, z=z)
        l2, u2 = wilson_interval(a + c, n, z=z)
        margins = (a + b) * (c + d) * (a + c) * (b + d)
        cross = a * d - b * c
        phi = np.where(cross > n / 2, cross - n / 2, np.where(cross < 0, cross, 0.0))
        phi = np.where(margins > 0, phi / np.sqrt(np.where(margins > 0, margins, 1.0)), 0.0)
        x1, y2 = p1 - l1, u2 - p2
        x2, y1 = p2 - l2, u1 - p1
        low = (p1 - p2) - np.sqrt(np.maximum(x1 * x1 - 2 * phi * x1 * y2 + y2 * y2, 0))
        high = (p1 - p2) + np.sqrt(np.maximum(x2 * x2 - 2 * phi * x2 * y1 + y1 * y1, 0))
    ok = n > 0
    return (np.where(ok, np.clip(low, -1, 1), np.nan), np.where(ok, np.clip(high, -1, 1), np.nan))


# --------------------------------------------------------------------------- F1


def bootstrap_f1_interval(
    tp: np.ndarray | float,
    fp: np.ndarray | float,
    fn: np.ndarray | float,
    tn: np.ndarray | float,
    *,
    seed: int = 0,
    n_boot: int = N_BOOT,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of F1 = 2TP / (2TP + FP + FN), from confusion counts.

    F1 depends on the four counts only, so resampling the ``n = tp + fp + fn + tn`` rows
    of a slice with replacement is the same as drawing the counts from a multinomial with
    probabilities ``(tp, fp, fn, tn) / n``; it is drawn as ``TP* ~ Binomial(n, tp/n)`` and
    ``(FP + FN)* ~ Binomial(n − TP*, (fp + fn)/(n − tp))``, which is that multinomial's
    law for the two sums F1 needs. The interval is the ``(1 − level)/2`` and
    ``(1 + level)/2`` percentiles of the ``n_boot`` replicates (Efron & Tibshirani, 1993,
    ch. 13; linear interpolation between order statistics), over the replicates where F1
    is defined (a replicate of true negatives only has none).

    Each slice's replicates come from a generator seeded by ``(seed, tp, fp, fn, tn)``,
    so a slice's interval depends on its counts alone: the same in every table, engine and
    order of slices, and on every run. NaN where F1 itself is undefined
    (``tp + fp + fn == 0``). A slice without errors (``fp + fn == 0``) gets ``[1, 1]``:
    a bootstrap never draws an error it has not seen, so read its accuracy's Wilson
    interval for how sure that is. Works for one-vs-rest per-class counts too.

    Parameters
    ----------
    tp, fp, fn, tn
        Confusion counts, one per slice (floats holding integers are fine).
    seed
        Base seed of the per-slice generators.
    n_boot
        Replicates per slice (default :data:`N_BOOT`).
    level
        Coverage of the interval.

    Returns
    -------
    ``(low, high)`` float arrays.
    """
    counts = _count_rows(tp, fp, fn, tn)
    shape = counts.shape[:-1]
    # Identical counts give identical replicates: draw once per distinct row, in blocks of
    # rows, so memory stays at _BOOT_BLOCK × n_boot floats however many slices or classes.
    keys, where = np.unique(counts.reshape(-1, 4), axis=0, return_inverse=True)
    low, high = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
    for start in range(0, len(keys), _BOOT_BLOCK):
        block = keys[start : start + _BOOT_BLOCK]
        reps = np.full((len(block), n_boot), np.nan)
        for i, key in enumerate(tuple(int(v) for v in row) for row in block):
            if key[0] + key[1] + key[2]:  # F1 is defined
                reps[i] = _f1_replicates(key, seed=seed, n_boot=n_boot)
        low[start : start + len(block)], high[start : start + len(block)] = _percentiles(
            reps, [(1 - level) / 2, (1 + level) / 2]
        )
    where = where.reshape(-1)
    return low[where].reshape(shape), high[where].reshape(shape)


def _count_rows(*counts: np.ndarray | float) -> np.ndarray:
    """Stack broadcast confusion counts into int64 rows of shape (..., 4); NaN counts as 0."""
    stacked = np.stack(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in counts)), axis=-1)
    return np.rint(np.nan_to_num(stacked)).astype(np.int64)


def _f1_replicates(key: tuple[int, int, int, int], *, seed: int, n_boot: int) -> np.ndarray:
    """Return ``n_boot`` bootstrap replicates of F1 for one slice's ``(tp, fp, fn, tn)``.

    Drawn as ``TP* ~ Binomial(n, tp/n)`` then ``(FP + FN)* ~ Binomial(n − TP*, (fp + fn)/(n −
    tp))`` from a generator seeded by ``(seed, *key)``; NaN for a replicate without TP, FP or
    FN. Needs ``tp + fp + fn > 0``.
    """
    t, f_p, f_n, _ = key
    n = sum(key)
    rng = np.random.default_rng([seed, *key])
    tp_star = rng.binomial(n, t / n, size=n_boot)
    rest = n - t
    err_star = (
        rng.binomial(n - tp_star, (f_p + f_n) / rest) if rest else np.zeros(n_boot, dtype=np.int64)
    )
    denom = 2 * tp_star + err_star
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * tp_star / np.where(denom > 0, denom, 1), np.nan)


def _percentiles(values: np.ndarray, qs: list[float]) -> list[np.ndarray]:
    """Row-wise quantiles (numpy's linear rule) over the non-NaN values; NaN for none."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    m = (~np.isnan(values)).sum(axis=1)
    out = []
    for q in qs:
        pos = q * np.maximum(m - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(m - 1, 0))
        frac = pos - lo
        v_lo = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
        v_hi = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
        out.append(np.where(m > 0, v_lo + frac * (v_hi - v_lo), np.nan))
    return out


# --------------------------------------------------------------------------- means and ratios


def student_t_quantile(q: float, df: np.ndarray | float) -> np.ndarray:
    """Return the ``q`` quantile of Student's t with ``df`` degrees of freedom (df >= 1).

    The Cornish-Fisher expansion of t in powers of 1/df to the fourth (Abramowitz &
    Stegun, 1964, 26.7.5) is exact to 1e-12 relative from df = 500 (for q up to 0.9995);
    below that it starts Newton steps on the t distribution function
    ``F(t) = 1/2 + I_x(1/2, df/2)/2`` with ``x = t²/(df + t²)``
    (:func:`core.binomial.regularized_beta`). F is concave above 0, so a step never lands
    above the root; steps are kept above the normal quantile (which the t quantile
    exceeds) and then rise to the root. Agrees with ``scipy.stats.t.ppf`` to 1e-8 relative
    (tested); written here because importing scipy.stats costs about a second. NaN where
    ``df`` < 1 or is NaN.
    """
    shape = np.shape(df)
    df = np.atleast_1d(np.asarray(df, dtype=float))
    if not 0 < q < 1:
        raise ValueError("q must be between 0 and 1")
    if q < 0.5:
        return -student_t_quantile(1 - q, df.reshape(shape))
    ok = df >= 1
    nu = np.where(ok, df, 1.0)
    z = math.sqrt(2) * _erfinv(2 * q - 1)
    g = [
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    ]
    t = z + sum(gk / nu ** (k + 1) for k, gk in enumerate(g))
    log_norm = (_lgamma((nu + 1) / 2) - _lgamma(nu / 2)).astype(float) - 0.5 * np.log(nu * np.pi)
    active = nu < 500
    for _ in range(50):  # Newton on a concave F from below: monotone, a few steps
        if not active.any():
            break
        tt, nn = t[active], nu[active]
        cdf = 0.5 + 0.5 * regularized_beta(0.5, nn / 2, tt * tt / (nn + tt * tt))
        pdf = np.exp(log_norm[active] - (nn + 1) / 2 * np.log1p(tt * tt / nn))
        step = (cdf - q) / pdf
        t[active] = np.maximum(tt - step, z)  # the t quantile is above the normal one
        done = np.abs(step) <= 1e-12 * np.abs(tt)
        active[np.flatnonzero(active)[done]] = False
    return np.where(ok, t, np.nan).reshape(shape)


def _erfinv(y: float) -> float:
    """Inverse error function by Newton steps on :func:`math.erf` (scalar, |y| < 1)."""
    x = 0.0
    for _ in range(100):
        step = (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        x -= step
        if abs(step) < 1e-15:
            break
    return x


def _level(z: float) -> float:
    """Coverage of a two-sided normal interval ±z: 2Φ(z) − 1 = erf(z/√2)."""
    return math.erf(z / math.sqrt(2))


def mae_interval(
    n: np.ndarray | float,
    abs_error: np.ndarray | float,
    sq_error: np.ndarray | float,
    *,
    z: float = Z_95,
) -> tuple[np.ndarray, np.ndarray]:
    """Student t interval of the mean absolute error, from three additive sums.

    With ``mae = Σ|e| / n`` and ``Σ|e|² = Σe²`` (``sq_error``), the sample variance of
    the absolute errors is ``s² = (Σe² − n·mae²) / (n − 1)`` and the interval is
    ``mae ± t(n−1)·s/√n`` (the t quantile at the coverage of ±z), the lower end floored at
    0. Count-derived, so every engine gives it; in the tests it matches
    ``scipy.stats.t.interval`` on the rows and a seeded row bootstrap. NaN where n < 2.
    """
    n, s1, s2 = (np.asarray(v, dtype=float) for v in (n, abs_error, sq_error))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / n
        var = np.maximum(s2 - n * mean * mean, 0) / (n - 1)
        half = student_t_quantile((1 + _level(z)) / 2, n - 1) * np.sqrt(var / n)
    ok = n >= 2
    return (np.where(ok, np.maximum(mean - half, 0), np.nan), np.where(ok, mean + half, np.nan))


def wer_interval(
    n: np.ndarray | float,
    word_errors: np.ndarray | float,
    ref_words: np.ndarray | float,
    word_errors_sq: np.ndarray | float,
    ref_words_sq: np.ndarray | float,
    word_errors_x_ref: np.ndarray | float,
    *,
    z: float = Z_95,
) -> tuple[np.ndarray, np.ndarray]:
    """Linearisation interval of the word error rate ``R = Σe / Σr`` (a ratio estimator).

    Per example, ``e`` word errors and ``r`` reference words. By the delta method
    (Cochran, 1977, §6.4) the variance of ``R`` is estimated from the residuals
    ``d = e − R·r``: ``V(R) = n/(n − 1) · Σd² / (Σr)²``, and
    ``Σd² = Σe² − 2R·Σe·r + R²·Σr²`` needs only the sums ``word_errors_sq`` (Σe²),
    ``word_errors_x_ref`` (Σe·r) and ``ref_words_sq`` (Σr²) kept with the counts. The
    interval is ``R ± t(n−1)·√V`` (t quantile at the coverage of ±z), the lower end
    floored at 0. Count-derived, so every engine gives it; in the tests it agrees with a
    seeded row bootstrap and covers the true WER of simulated data about 95% of the time.
    NaN where n < 2 or there are no reference words.
    """
    n, e, r, ee, rr, er = (
        np.asarray(v, dtype=float)
        for v in (n, word_errors, ref_words, word_errors_sq, ref_words_sq, word_errors_x_ref)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = e / r
        resid = np.maximum(ee - 2 * ratio * er + ratio * ratio * rr, 0)
        var = n / (n - 1) * resid / (r * r)
        half = student_t_quantile((1 + _level(z)) / 2, n - 1) * np.sqrt(var)
    ok = (n >= 2) & (r > 0)
    return (np.where(ok, np.maximum(ratio - half, 0), np.nan), np.where(ok, ratio + half, np.nan))


# --------------------------------------------------------------------------- the table


def add_metric_intervals(
    table: pd.DataFrame,
    counts: pd.DataFrame,
    *,
    kind: str,
    z: float = Z_95,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> pd.DataFrame:
    """Add the intervals of the task metrics and of the gap to a per-slice metrics table.

    Parameters
    ----------
    table
        Metrics of :func:`core.metrics.compute_slice_metrics` (before this call), with
        ``hlp_source``, ``hlp``, ``accuracy_ci_low`` and ``accuracy_ci_high``.
    counts
        The counts it was derived from (:data:`core.metrics.COUNT_COLUMNS`; a missing
        column counts as 0).
    kind
        The task kind: which task metrics get intervals.
    z, seed, n_boot
        Normal quantile (95%), bootstrap seed and replicates.

    Returns
    -------
    A copy of ``table`` with ``<m>_ci_low`` and ``<m>_ci_high`` (default 95%) for

    - binary: ``precision``, ``recall``, ``fpr``, ``fnr`` (Wilson on each one's numerator
      and denominator) and ``f1`` (:func:`bootstrap_f1_interval`);
    - text: ``wer`` (:func:`wer_interval`);
    - regression: ``mae`` (:func:`mae_interval`); RMSE gets none (its interval needs
      Σe⁴, which is not counted);
    - ``gap``: for ``hlp_source`` ``human_label`` Newcombe's paired interval of
      ``(human_only − model_only) / human_n`` (:func:`paired_difference_interval`); for
      ``user`` (a typed HLP has no sampling error) ``hlp − accuracy``'s interval,
      ``[hlp − accuracy_ci_high, hlp − accuracy_ci_low]``. A ``gap_ci_low/high`` another
      baseline already set is kept; other rows are NaN.
    """
    out = table.copy()
    for metric, (low, high) in _task_intervals(counts, kind, z=z, seed=seed, n_boot=n_boot):
        out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = low, high
    for name, values in zip(
        ("gap_ci_low", "gap_ci_high"), _gap_interval(out, counts, z=z), strict=True
    ):
        if name in out.columns:  # set by another baseline: keep those values
            theirs = out[name].to_numpy(dtype=float)
            values = np.where(np.isnan(theirs), values, theirs)
        out[name] = values
    return out


def _count_column(counts: pd.DataFrame, name: str) -> np.ndarray:
    """Return a count column as floats; zeros when ``counts`` has no such column."""
    if name in counts.columns:
        return counts[name].to_numpy(dtype=float)
    return np.zeros(len(counts))


def _task_intervals(
    counts: pd.DataFrame, kind: str, *, z: float, seed: int, n_boot: int
) -> list[tuple[str, tuple[np.ndarray, np.ndarray]]]:
    """Return ``(metric, (low, high))`` for the task metrics of ``kind``, in table order.

    See :func:`add_metric_intervals` for which metric gets which interval; an unknown kind
    gets none.
    """

    def col(name: str) -> np.ndarray:
        return _count_column(counts, name)

    if kind == "binary":
        tp, fp, fn, tn = (col(k) for k in ("tp", "fp", "fn", "tn"))
        return [
            ("precision", wilson_interval(tp, tp + fp, z=z)),
            ("recall", wilson_interval(tp, tp + fn, z=z)),
            (
                "f1",
                bootstrap_f1_interval(tp, fp, fn, tn, seed=seed, n_boot=n_boot, level=_level(z)),
            ),
            ("fpr", wilson_interval(fp, fp + tn, z=z)),
            ("fnr", wilson_interval(fn, fn + tp, z=z)),
        ]
    if kind == "text":
        sums = (
            "n",
            "word_errors",
            "ref_words",
            "word_errors_sq",
            "ref_words_sq",
            "word_errors_x_ref",
        )
        return [("wer", wer_interval(*(col(k) for k in sums), z=z))]
    if kind == "regression":
        return [("mae", mae_interval(col("n"), col("abs_error"), col("sq_error"), z=z))]
    return []


def _gap_interval(
    table: pd.DataFrame, counts: pd.DataFrame, *, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the gap's ``(low, high)`` per row, by ``hlp_source``; NaN for other sources.

    ``human_label``: Newcombe's paired interval of ``(human_only − model_only) / human_n``
    (:func:`paired_difference_interval`); ``user``: ``[hlp − accuracy_ci_high,
    hlp − accuracy_ci_low]`` (a typed HLP has no sampling error).
    """
    source = table["hlp_source"].to_numpy(dtype=object)
    human_only, model_only = (_count_column(counts, k) for k in ("human_only", "model_only"))
    paired = paired_difference_interval(
        human_only,
        model_only,
        _count_column(counts, "human_n"),
        a=_count_column(counts, "human_correct") - human_only,
        z=z,
    )
    hlp = table["hlp"].to_numpy(dtype=float)
    typed = (
        hlp - table["accuracy_ci_high"].to_numpy(dtype=float),
        hlp - table["accuracy_ci_low"].to_numpy(dtype=float),
    )
    low, high = (
        np.where(
            source == "human_label", paired[end], np.where(source == "user", typed[end], np.nan)
        )
        for end in (0, 1)
    )
    return low, high
