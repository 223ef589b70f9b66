"""Per-tag figures estimated from the examples whose tag status is known.

The lecture's error analysis tags a spreadsheet of the model's *errors*: a tag then says
which share of the errors it explains, but nothing about the correct examples, so its
accuracy is unknown (computed naively it reads 0%, and its "gap" ranks first). Slicewise
therefore keeps, per tag, which examples are *known* (reviewed) and estimates each tag's
figures from them, stratified by whether the model is right.

Estimator (stratified Horvitz–Thompson). The examples split into two strata, the model's
errors ``e`` (``N_e`` examples) and its correct examples ``c`` (``N_c``). In stratum ``h``,
``k_h`` examples are known for the tag and ``x_h`` of them carry it; the known examples are
taken as a simple random sample of their stratum (exact when ``k_h = N_h``; true by design
for :func:`draw_review_sample`; an assumption, said in the app, for hand-picked reviews).
Each known example stands for ``N_h / k_h`` examples, so

- errors in the tag ``T_e = N_e · x_e / k_e``, correct examples in it ``T_c = N_c · x_c / k_c``;
- ``error_share = x_e / k_e`` (the lecture's "fraction of errors with that tag");
- ``max_gain = T_e / N``: accuracy points on all data if every error in the tag were fixed
  (the ceiling of working on it);
- ``share = (T_e + T_c) / N``, ``accuracy = T_c / (T_e + T_c)`` (a ratio estimator).

Scopes: ``all`` (every example known: the exact counts stand), ``errors`` (only errors
known: error share and ceiling, never an accuracy), ``sample`` (known on some examples of
both strata: every figure estimated, with intervals), ``none`` (not reviewed here).

Intervals (95%). ``error_share``: Wilson score interval on ``x_e`` of ``k_e`` (without a
finite-population correction, so conservative; a point when ``k_e = N_e``). ``share`` and
``accuracy``: percentile interval of a seeded Monte Carlo over the two stratum proportions,
each drawn from its Jeffreys posterior Beta(x + ½, k − x + ½) (fixed when the stratum is
fully known) — the Jeffreys interval of Brown, Cai & DasGupta (2001), propagated through the
ratio. Coverage is checked against simulation with known truth in tests/test_tag_scope.py.

References
----------
Horvitz, D. G. & Thompson, D. J. (1952). A generalization of sampling without replacement
from a finite universe. JASA 47, 663-685. Wilson, E. B. (1927). Probable inference, the law
of succession, and statistical inference. JASA 22, 209-212. Brown, L. D., Cai, T. T. &
DasGupta, A. (2001). Interval estimation for a binomial proportion. Statistical Science 16,
101-133.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.intervals import wilson_interval

#: Where a tag's status is known: every example, the errors only, a sample of both, nowhere.
SCOPES = ("all", "errors", "sample", "none")

#: Columns of :func:`estimate_tag_figures`.
FIGURE_COLUMNS = (
    "scope",
    "reviewed",
    "reviewed_errors",
    "reviewed_correct",
    "tagged_errors",
    "tagged_correct",
    "errors_est",
    "error_share",
    "error_share_ci_low",
    "error_share_ci_high",
    "max_gain",
    "share",
    "share_ci_low",
    "share_ci_high",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
)
_DRAWS = 4000


def known_matrix(
    correct: np.ndarray,
    tags: pd.DataFrame,
    scopes: Mapping[str, str],
    *,
    reviewed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return where each tag's status is known: its scope, plus examples reviewed by hand.

    ``scopes`` maps tag -> ``all`` (known everywhere), ``errors`` (on the model's errors) or
    ``none`` (nowhere; tags left out are ``all``); ``reviewed`` is an optional bool matrix
    (same rows, columns named by tag) of examples a person looked at for that tag. Returns a
    bool DataFrame shaped like ``tags`` (N examples × tags).

    Raises
    ------
    InvalidValueError
        A scope other than ``all``, ``errors`` or ``none``.
    """
    correct = np.asarray(correct, dtype=bool)
    out = np.zeros(tags.shape, dtype=bool)
    for j, tag in enumerate(tags.columns):
        scope = scopes.get(str(tag), "all")
        if scope == "all":
            out[:, j] = True
        elif scope == "errors":
            out[:, j] = ~correct
        elif scope != "none":
            raise InvalidValueError(
                f"tag {tag!r}: unknown scope {scope!r}; use all, errors or none"
            )
        if reviewed is not None and tag in reviewed.columns:
            out[:, j] |= reviewed[tag].to_numpy(dtype=bool)
    return pd.DataFrame(out, columns=tags.columns, index=tags.index)


def estimate_tag_figures(
    correct: np.ndarray,
    tags: pd.DataFrame,
    known: pd.DataFrame,
    *,
    seed: int = 0,
    draws: int = _DRAWS,
) -> pd.DataFrame:
    """Estimate each tag's share, error share, ceiling and accuracy from its known examples.

    Parameters
    ----------
    correct
        Bool array of length N: the model is right on the example.
    tags, known
        Bool DataFrames of shape (N, tags): carries the tag; the tag's status is known.
    seed, draws
        The Monte Carlo of the ``share`` and ``accuracy`` intervals (reproducible).

    Returns
    -------
    DataFrame indexed by tag with the columns :data:`FIGURE_COLUMNS`: ``scope`` (see the
    module docstring), ``reviewed`` (known examples) and its split into
    ``reviewed_errors``/``reviewed_correct``, ``tagged_errors``/``tagged_correct`` (known
    examples that carry the tag), then the estimates ``errors_est`` (T_e), ``error_share``
    with its Wilson interval, ``max_gain`` (T_e / N), ``share`` and ``accuracy`` with their
    Monte Carlo intervals. NaN where the data cannot say: no ``accuracy`` or ``share`` unless
    both strata are known somewhere (a stratum with no examples at all counts as known).

    Raises
    ------
    InvalidValueError
        ``tags`` and ``known`` differ in shape or columns, or do not match ``correct``.
    """
    correct = np.asarray(correct, dtype=bool)
    if (
        tags.shape != known.shape
        or list(tags.columns) != list(known.columns)
        or len(correct) != len(tags)
    ):
        raise InvalidValueError(
            f"tag matrix {tags.shape}, known matrix {known.shape} and "
            f"{len(correct)} outcomes do not line up"
        )
    t = tags.to_numpy(dtype=bool)
    k = known.to_numpy(dtype=bool)
    err = ~correct
    n_all, n_e = float(len(correct)), float(err.sum())
    n_c = n_all - n_e
    k_e = k[err].sum(axis=0).astype(float)
    k_c = k[~err].sum(axis=0).astype(float)
    x_e = (t & k)[err].sum(axis=0).astype(float)
    x_c = (t & k)[~err].sum(axis=0).astype(float)
    return figures_from_counts(
        n_e, n_c, k_e, k_c, x_e, x_c, index=[str(c) for c in tags.columns], seed=seed, draws=draws
    )


@dataclass(frozen=True)
class _Strata:
    """Per-tag counts of the two strata, errors ``e`` and correct examples ``c``.

    ``n_e``, ``n_c``: examples in each stratum; ``k_*``: known examples per tag; ``x_*``:
    known examples that carry the tag (float arrays, one entry per tag).
    """

    n_e: float
    n_c: float
    k_e: np.ndarray
    k_c: np.ndarray
    x_e: np.ndarray
    x_c: np.ndarray

    @property
    def n_all(self) -> float:
        """Examples in the data."""
        return self.n_e + self.n_c

    @property
    def full_e(self) -> np.ndarray:
        """The errors are all known (an empty stratum always is)."""
        return self.k_e >= self.n_e

    @property
    def full_c(self) -> np.ndarray:
        """The correct examples are all known (an empty stratum always is)."""
        return self.k_c >= self.n_c

    @property
    def some_e(self) -> np.ndarray:
        """Something is known about the errors."""
        return self.full_e | (self.k_e > 0)

    @property
    def both(self) -> np.ndarray:
        """Something is known about both strata: share and accuracy can be estimated."""
        return self.some_e & (self.full_c | (self.k_c > 0))


def figures_from_counts(
    n_e: float,
    n_c: float,
    k_e: np.ndarray,
    k_c: np.ndarray,
    x_e: np.ndarray,
    x_c: np.ndarray,
    *,
    index: Sequence[str],
    seed: int = 0,
    draws: int = _DRAWS,
) -> pd.DataFrame:
    """Compute :func:`estimate_tag_figures` from per-stratum counts alone.

    Parameters
    ----------
    n_e, n_c
        Errors and correct examples in the data.
    k_e, k_c
        Per tag (arrays aligned with ``index``): known examples in each stratum.
    x_e, x_c
        Per tag: known examples that carry the tag, in each stratum.
    index
        The tags' names.
    seed, draws
        The Monte Carlo of the ``share`` and ``accuracy`` intervals (reproducible).

    Returns
    -------
    DataFrame indexed by ``index``, columns :data:`FIGURE_COLUMNS` (the same for every engine).
    """
    k_e, k_c, x_e, x_c = (np.asarray(a, dtype=float) for a in (k_e, k_c, x_e, x_c))
    s = _Strata(n_e, n_c, k_e, k_c, x_e, x_c)
    t_e, share, accuracy, error_share, max_gain = _point_estimates(s)
    lo, hi = _error_share_interval(s, error_share)
    exact = s.full_e & s.full_c
    (s_lo, s_hi), (a_lo, a_hi) = _monte_carlo_intervals(s, share, accuracy, exact, seed, draws)
    scope = np.select([exact, s.both, s.some_e & (k_e > 0)], ["all", "sample", "errors"], "none")
    return pd.DataFrame(
        {
            "scope": scope.astype(object),
            "reviewed": (k_e + k_c).astype(np.int64),
            "reviewed_errors": k_e.astype(np.int64),
            "reviewed_correct": k_c.astype(np.int64),
            "tagged_errors": x_e.astype(np.int64),
            "tagged_correct": x_c.astype(np.int64),
            "errors_est": np.where(s.some_e, t_e, np.nan),
            "error_share": error_share,
            "error_share_ci_low": lo,
            "error_share_ci_high": hi,
            "max_gain": max_gain,
            "share": share,
            "share_ci_low": s_lo,
            "share_ci_high": s_hi,
            "accuracy": accuracy,
            "accuracy_ci_low": a_lo,
            "accuracy_ci_high": a_hi,
        },
        index=pd.Index(list(index), dtype=object),
    )


def _point_estimates(s: _Strata) -> tuple[np.ndarray, ...]:
    """Return ``(T_e, share, accuracy, error_share, max_gain)`` per tag (module docstring).

    NaN where the counts cannot say: ``share`` and ``accuracy`` need both strata known
    somewhere (and ``accuracy`` some example in the tag), ``error_share`` some known error.
    """
    n_all, both = s.n_all, s.both
    with np.errstate(divide="ignore", invalid="ignore"):
        p_e = np.where(s.k_e > 0, s.x_e / s.k_e, 0.0)
        p_c = np.where(s.k_c > 0, s.x_c / s.k_c, 0.0)
        t_e, t_c = s.n_e * p_e, s.n_c * p_c
        nowhere = np.full(len(s.k_e), np.nan)
        share = np.where(both, (t_e + t_c) / n_all, np.nan) if n_all else nowhere
        accuracy = np.where(both & (t_e + t_c > 0), t_c / (t_e + t_c), np.nan)
        error_share = np.where(s.k_e > 0, p_e, np.nan)
        max_gain = np.where(s.some_e, t_e / n_all, np.nan) if n_all else nowhere.copy()
    return t_e, share, accuracy, error_share, max_gain


def _error_share_interval(s: _Strata, error_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval of ``x_e`` of ``k_e``; the point when every error is known, NaN if none."""
    lo, hi = wilson_interval(s.x_e, s.k_e)
    full_e = s.full_e
    lo = np.where(full_e, error_share, np.where(s.k_e > 0, lo, np.nan))
    hi = np.where(full_e, error_share, np.where(s.k_e > 0, hi, np.nan))
    return lo, hi


def _posterior(
    x: np.ndarray, k: np.ndarray, full: np.ndarray, rng: np.random.Generator, draws: int
) -> np.ndarray:
    """Draws of a stratum proportion: Jeffreys Beta where sampled, the exact value where full.

    Returns an array of shape (draws, len(x)).
    """
    a = np.where(k > 0, x + 0.5, 1.0)
    b = np.where(k > 0, k - x + 0.5, 1.0)
    out = rng.beta(a, b, size=(draws, len(x)))
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(k > 0, x / k, np.nan)
    return np.where(full, exact, out)


def _monte_carlo_intervals(
    s: _Strata,
    share: np.ndarray,
    accuracy: np.ndarray,
    exact: np.ndarray,
    seed: int,
    draws: int,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return the 95% percentile intervals ``((share lo, hi), (accuracy lo, hi))`` per tag.

    Only tags known in both strata but not everywhere are simulated (a seeded Monte Carlo of
    ``draws`` Jeffreys draws per stratum, errors drawn first); every other tag keeps the point
    estimate as both ends. NaN where the point estimate is (or the share has no estimate).
    """
    s_lo, s_hi = share.copy(), share.copy()
    a_lo, a_hi = accuracy.copy(), accuracy.copy()
    sampled = s.both & ~exact
    if sampled.any() and draws:
        _simulate(s, np.flatnonzero(sampled), seed, draws, (s_lo, s_hi), (a_lo, a_hi))
    both, no_accuracy = s.both, np.isnan(accuracy)
    s_lo, s_hi = np.where(both, s_lo, np.nan), np.where(both, s_hi, np.nan)
    a_lo = np.where(no_accuracy, np.nan, a_lo)
    a_hi = np.where(no_accuracy, np.nan, a_hi)
    return (s_lo, s_hi), (a_lo, a_hi)


def _simulate(
    s: _Strata,
    cols: np.ndarray,
    seed: int,
    draws: int,
    share_ends: tuple[np.ndarray, np.ndarray],
    accuracy_ends: tuple[np.ndarray, np.ndarray],
) -> None:
    """Fill the Monte Carlo percentile intervals of the tags ``cols`` into the end arrays."""
    rng = np.random.default_rng(seed)
    pe = (
        _posterior(s.x_e[cols], s.k_e[cols], s.full_e[cols], rng, draws)
        if s.n_e
        else np.zeros((draws, len(cols)))
    )
    pc = (
        _posterior(s.x_c[cols], s.k_c[cols], s.full_c[cols], rng, draws)
        if s.n_c
        else np.zeros((draws, len(cols)))
    )
    te, tc = s.n_e * pe, s.n_c * pc
    with np.errstate(divide="ignore", invalid="ignore"):
        acc_d = np.where(te + tc > 0, tc / (te + tc), np.nan)
    (s_lo, s_hi), (a_lo, a_hi) = share_ends, accuracy_ends
    s_lo[cols], s_hi[cols] = np.percentile((te + tc) / s.n_all, [2.5, 97.5], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no estimate
        a_lo[cols], a_hi[cols] = np.nanpercentile(acc_d, [2.5, 97.5], axis=0)


def untagged_known(tags: pd.DataFrame, known: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (carries no tag, known for every tag): the ``No tag`` row as one more tag.

    Both are bool arrays of length N (rows of ``tags``). An example is known to carry no tag
    only where every tag's status is known on it.
    """
    return (~tags.to_numpy(dtype=bool).any(axis=1), known.to_numpy(dtype=bool).all(axis=1))


def draw_review_sample(
    correct: np.ndarray, sizes: Mapping[str, int], *, seed: int, eligible: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Draw the lecture's review sample: a seeded random sample of errors and of correct examples.

    Parameters
    ----------
    correct
        Bool array of length N.
    sizes
        ``{"errors": n_e, "correct": n_c}``: how many of each to draw (at most the stratum's
        size; a stratum may be left out).
    seed
        Seed of ``numpy.random.default_rng``: the same seed draws the same sample.
    eligible
        Optional bool mask of examples that may be drawn (e.g. not yet reviewed).

    Returns
    -------
    dict stratum -> sorted int64 positions, drawn without replacement, uniformly within the
    stratum (so each drawn example stands for ``N_h / n_h`` of its stratum).

    Raises
    ------
    InvalidValueError
        An unknown stratum or a negative size.
    """
    correct = np.asarray(correct, dtype=bool)
    pool = np.ones(len(correct), dtype=bool) if eligible is None else np.asarray(eligible, bool)
    rng = np.random.default_rng(seed)
    out = {}
    for stratum in ("errors", "correct"):
        if stratum not in sizes:
            continue
        size = int(sizes[stratum])
        if size < 0:
            raise InvalidValueError(f"sample size for {stratum} is {size}; use 0 or more")
        members = np.flatnonzero(pool & (~correct if stratum == "errors" else correct))
        take = min(size, len(members))
        out[stratum] = np.sort(rng.choice(members, size=take, replace=False)).astype(np.int64)
    unknown = set(sizes) - {"errors", "correct"}
    if unknown:
        raise InvalidValueError(
            f"unknown sample stratum {sorted(unknown)[0]!r}; use errors and correct"
        )
    return out


def sample_figures(
    correct: np.ndarray,
    tags: pd.DataFrame,
    positions: np.ndarray,
    *,
    reviewed: np.ndarray | None = None,
) -> pd.DataFrame:
    """Estimate every tag from one review sample alone (:func:`estimate_tag_figures`).

    ``positions`` are the sample's rows (from :func:`draw_review_sample`); ``reviewed``, an
    optional bool array over the sample, keeps only the examples already reviewed (the
    estimate then rests on those). Returns the figures indexed by tag.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if reviewed is not None:
        positions = positions[np.asarray(reviewed, dtype=bool)]
    known = np.zeros(len(correct), dtype=bool)
    known[positions] = True
    mask = pd.DataFrame(
        np.repeat(known[:, None], tags.shape[1], axis=1), columns=tags.columns, index=tags.index
    )
    return estimate_tag_figures(correct, tags, mask)
