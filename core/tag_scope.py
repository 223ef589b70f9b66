"""Honest per-tag figures when a tag's status is known only on the examples someone reviewed.

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
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import wilson_interval
from slicewise.core.slice_names import UNTAGGED

#: Where a tag's status is known: every example, the errors only, a sample of both, nowhere.
SCOPES = ("all", "errors", "sample", "none")
#: What a caller may say about a tag's base values (``auto`` infers it, see
#: :func:`infer_row_scopes`).
FILE_SCOPES = ("auto", "all", "errors")

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
#: :func:`infer_row_scopes` reads a blank-for-no tag that only errors carry as filled on
#: errors when a tag unrelated to the errors would be carried only by errors less often.
CHANCE_ALL_ERRORS = 0.01
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
    bool DataFrame shaped like ``tags``.
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


def _posterior(
    x: np.ndarray, k: np.ndarray, full: np.ndarray, rng: np.random.Generator, draws: int
) -> np.ndarray:
    """Draws of a stratum proportion: Jeffreys Beta where sampled, the exact value where full."""
    a = np.where(k > 0, x + 0.5, 1.0)
    b = np.where(k > 0, k - x + 0.5, 1.0)
    out = rng.beta(a, b, size=(draws, len(x)))
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(k > 0, x / k, np.nan)
    return np.where(full, exact, out)


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

    ``n_e``, ``n_c``: errors and correct examples in the data; per tag (arrays aligned with
    ``index``): ``k_e``, ``k_c`` known examples and ``x_e``, ``x_c`` known examples that carry
    the tag, in each stratum. Every engine that can count these gets the same figures.
    """
    k_e, k_c, x_e, x_c = (np.asarray(a, dtype=float) for a in (k_e, k_c, x_e, x_c))
    n_all = n_e + n_c
    # A stratum is settled when all of it is known (an empty stratum always is).
    full_e, full_c = k_e >= n_e, k_c >= n_c
    some_e, some_c = full_e | (k_e > 0), full_c | (k_c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_e = np.where(k_e > 0, x_e / k_e, 0.0)
        p_c = np.where(k_c > 0, x_c / k_c, 0.0)
        t_e, t_c = n_e * p_e, n_c * p_c
        both = some_e & some_c
        share = np.where(both, (t_e + t_c) / n_all, np.nan) if n_all else np.full(len(k_e), np.nan)
        accuracy = np.where(both & (t_e + t_c > 0), t_c / (t_e + t_c), np.nan)
        error_share = np.where(k_e > 0, p_e, np.nan)
        max_gain = np.where(some_e, t_e / n_all, np.nan) if n_all else np.full(len(k_e), np.nan)
    lo, hi = wilson_interval(x_e, k_e)
    lo = np.where(full_e, error_share, np.where(k_e > 0, lo, np.nan))
    hi = np.where(full_e, error_share, np.where(k_e > 0, hi, np.nan))

    exact = full_e & full_c
    s_lo, s_hi = share.copy(), share.copy()
    a_lo, a_hi = accuracy.copy(), accuracy.copy()
    sampled = both & ~exact
    if sampled.any() and draws:  # the Monte Carlo only where a stratum was sampled
        rng = np.random.default_rng(seed)
        cols = np.flatnonzero(sampled)
        pe = (
            _posterior(x_e[cols], k_e[cols], full_e[cols], rng, draws)
            if n_e
            else np.zeros((draws, len(cols)))
        )
        pc = (
            _posterior(x_c[cols], k_c[cols], full_c[cols], rng, draws)
            if n_c
            else np.zeros((draws, len(cols)))
        )
        te, tc = n_e * pe, n_c * pc
        with np.errstate(divide="ignore", invalid="ignore"):
            acc_d = np.where(te + tc > 0, tc / (te + tc), np.nan)
        s_lo[cols], s_hi[cols] = np.percentile((te + tc) / n_all, [2.5, 97.5], axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no estimate
            a_lo[cols], a_hi[cols] = np.nanpercentile(acc_d, [2.5, 97.5], axis=0)
    scope = np.select([exact, both, some_e & (k_e > 0)], ["all", "sample", "errors"], "none")
    s_lo, s_hi = np.where(both, s_lo, np.nan), np.where(both, s_hi, np.nan)
    a_lo = np.where(np.isnan(accuracy), np.nan, a_lo)
    a_hi = np.where(np.isnan(accuracy), np.nan, a_hi)
    out = pd.DataFrame(
        {
            "scope": scope.astype(object),
            "reviewed": (k_e + k_c).astype(np.int64),
            "reviewed_errors": k_e.astype(np.int64),
            "reviewed_correct": k_c.astype(np.int64),
            "tagged_errors": x_e.astype(np.int64),
            "tagged_correct": x_c.astype(np.int64),
            "errors_est": np.where(some_e, t_e, np.nan),
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
    return out


def count_figures(table: pd.DataFrame, scopes: Mapping[str, str]) -> pd.DataFrame:
    """Figures of tag rows whose scope is ``all`` or ``errors``, from a metrics table's counts.

    ``table`` is a :func:`core.metrics.compute_slice_metrics` table (``n`` and ``errors`` per
    row, ``All data`` first); ``scopes`` maps row name -> ``all`` or ``errors``. A scope
    needs no per-example data: ``all`` knows every example, ``errors`` every error and no
    correct one, so the engines that only count (DuckDB) give the same figures.
    """
    rows = [r for r in scopes if r in table.index]
    n_all = float(table["n"].iloc[0]) if len(table) else 0.0
    n_e = float(table["errors"].iloc[0]) if len(table) else 0.0
    n = table.loc[rows, "n"].to_numpy(dtype=float)
    err = table.loc[rows, "errors"].to_numpy(dtype=float)
    on_errors = np.array([scopes[r] == "errors" for r in rows], dtype=bool)
    k_e = np.full(len(rows), n_e)
    k_c = np.where(on_errors, 0.0, n_all - n_e)
    x_c = np.where(on_errors, 0.0, n - err)
    return figures_from_counts(n_e, n_all - n_e, k_e, k_c, err, x_c, index=rows)


def infer_row_scopes(
    table: pd.DataFrame,
    info: pd.DataFrame,
    given: str | Mapping[str, str] = "auto",
    *,
    blank_tags: Collection[str] = (),
) -> dict[str, str]:
    """Decide each tag row's scope (and ``No tag``'s) from a metrics table's counts.

    Parameters
    ----------
    table, info
        A :func:`core.metrics.compute_slice_metrics` table and its slice info.
    given
        ``auto``, ``all`` or ``errors`` for every tag, or a mapping tag -> one of those (tags
        left out take the value under ``"*"``, else ``auto``).
    blank_tags
        Tags whose file writes "no" as a blank (:attr:`core.dataset.Dataset.blank_tags`).

    Returns
    -------
    dict row name -> ``all`` or ``errors``. ``auto`` reads a blank-for-no tag carried by
    ``n`` examples, every one of them an error, as filled on errors only when that is
    unlikely by chance (``error_rate ** n`` below :data:`CHANCE_ALL_ERRORS`; at an error
    rate of 16% that is 3 examples or more, at 99% never for fewer than 459): that is how the
    lecture's spreadsheet is filled, and the reading never claims an accuracy the file cannot
    support (say ``all`` when correct examples were reviewed too). A tag whose file says
    "no" explicitly (0, false) is known everywhere. ``No tag`` is known only where every tag
    is: ``errors`` when any tag is.

    Raises
    ------
    InvalidValueError
        A scope other than ``auto``, ``all`` or ``errors``.
    """
    blank = {str(t) for t in blank_tags}
    total = float(table["n"].iloc[0]) if len(table) else 0.0
    error_rate = float(table["errors"].iloc[0]) / total if total else 0.0
    default = given if isinstance(given, str) else given.get("*", "auto")
    out: dict[str, str] = {}
    tags = info[info["kind"] == "tag"] if len(info) else info
    for row, source in zip(tags.index, tags["source"] if len(tags) else [], strict=True):
        scope = default if isinstance(given, str) else given.get(str(source), default)
        if scope not in FILE_SCOPES:
            raise InvalidValueError(
                f"tag {source!r}: unknown scope {scope!r}; use one of auto, all, errors"
            )
        if scope == "auto":
            n = table.at[row, "n"] if row in table.index else 0
            errors = table.at[row, "errors"] if row in table.index else 0
            # Only errors carry it, and that is unlikely by chance: were the tag unrelated
            # to the model's errors, all n carriers would be errors with probability
            # error_rate ** n.
            chance = error_rate**n if n > 0 else 1.0
            scope = (
                "errors"
                if str(source) in blank and n > 0 and errors == n and chance < CHANCE_ALL_ERRORS
                else "all"
            )
        out[str(row)] = scope
    if UNTAGGED in table.index and out:
        out[UNTAGGED] = "errors" if "errors" in out.values() else "all"
    return out


def untagged_known(tags: pd.DataFrame, known: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (carries no tag, known for every tag): the ``No tag`` row as one more tag.

    An example is known to carry no tag only where every tag's status is known on it.
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


#: Task metrics a partly known tag cannot give (they need every example of the slice).
_EXACT_ONLY = ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")


def apply_tag_figures(table: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """Put the estimates of partly known tags into a per-slice metrics table.

    Parameters
    ----------
    table
        Output of :func:`core.metrics.compute_slice_metrics` (indexed by row name).
    figures
        :func:`estimate_tag_figures` re-indexed by the table's row names (tags and, when
        tags exist, ``No tag``); rows of ``table`` not in it are exact.

    Returns
    -------
    A copy of ``table`` with added columns ``scope``, ``reviewed``, ``max_gain``,
    ``error_share_ci_low/high`` and ``share_ci_low/high`` (exact rows: scope ``all``,
    intervals equal to the value), and, on rows whose scope is not ``all``:

    - ``errors``: only errors known: ``n`` = tagged errors seen, ``errors`` = estimated
      errors in the tag, ``error_share`` and ``max_gain`` kept; ``share``, ``accuracy``,
      ``error_rate``, HLP, gap, potential gain and task metrics (with their intervals) are
      NaN (never 0% accuracy) and ``hlp_source`` is ``none``, so the row is not ranked.
    - ``sample``: ``n`` = tagged examples seen; ``share``, ``accuracy`` (with its interval),
      ``error_rate`` and ``errors`` are the stratified estimates; with a user-given HLP the
      gap is ``hlp − accuracy`` (``gap_ci_low/high`` from the accuracy interval) and
      ``significant`` says whether the HLP lies outside the accuracy interval (no
      p-value); a human-label HLP is not estimated from a sample.
    - ``none``: not reviewed: every figure NaN.
    """
    out = table.copy()
    n_all = float(out["n"].iloc[0]) if len(out) else 0.0
    errors = out["errors"].to_numpy(dtype=float)
    out["scope"] = pd.Series("all", index=out.index, dtype=object)
    out["reviewed"] = out["n"].to_numpy()
    out["max_gain"] = errors / n_all if n_all else np.nan
    for col in ("error_share", "share"):
        out[f"{col}_ci_low"] = out[col]
        out[f"{col}_ci_high"] = out[col]
    rows = figures.index[(figures["scope"] != "all") & figures.index.isin(out.index)]
    if not len(rows):
        return out
    f = figures.loc[rows]
    partial = out.index.isin(rows)
    out["n"] = out["n"].astype(np.int64)
    out.loc[rows, "n"] = (f["tagged_errors"] + f["tagged_correct"]).to_numpy()
    out.loc[rows, "scope"] = f["scope"].to_numpy()
    out.loc[rows, "reviewed"] = f["reviewed"].to_numpy()
    est = f["errors_est"].to_numpy(dtype=float)
    out["errors"] = out["errors"].astype("Int64")
    out.loc[rows, "errors"] = pd.array(np.where(np.isnan(est), pd.NA, np.rint(est)), dtype="Int64")
    for col in (
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
    ):
        out.loc[rows, col] = f[col].to_numpy(dtype=float)
    out.loc[rows, "error_rate"] = 1 - f["accuracy"].to_numpy(dtype=float)
    user = out["hlp_source"].isin(["user", "target"]).to_numpy() & partial  # typed values
    sample = (out["scope"] == "sample").to_numpy()
    keep_user = user & sample
    hlp = out["hlp"].to_numpy(dtype=float)
    gap = hlp - out["accuracy"].to_numpy(dtype=float)
    outside = (hlp > out["accuracy_ci_high"].to_numpy(dtype=float)) | (
        hlp < out["accuracy_ci_low"].to_numpy(dtype=float)
    )
    drop = partial & ~keep_user
    out.loc[drop, ["hlp", "hlp_ci_low", "hlp_ci_high"]] = np.nan
    out.loc[drop, "hlp_n"] = 0
    out.loc[drop, "hlp_source"] = "none"
    for col in ("hlp_basis", "baseline"):  # core.baselines: what the dropped value was
        if col in out.columns:
            out.loc[drop, col] = None
    out.loc[partial, ["paired_accuracy", "p_value"]] = np.nan
    out["gap"] = np.where(keep_user, gap, np.where(partial, np.nan, out["gap"]))
    out["potential_gain"] = np.where(
        keep_user,
        gap * out["share"].to_numpy(dtype=float),
        np.where(partial, np.nan, out["potential_gain"]),
    )
    out["significant"] = np.where(
        keep_user, outside, np.where(partial, False, out["significant"].astype(bool))
    )
    for col in _EXACT_ONLY:
        for name in (col, f"{col}_ci_low", f"{col}_ci_high"):
            if name in out.columns:
                out.loc[partial, name] = np.nan
    if "gap_ci_low" in out.columns:  # a typed HLP minus the estimated accuracy's interval
        out["gap_ci_low"] = np.where(
            keep_user,
            hlp - out["accuracy_ci_high"].to_numpy(float),
            np.where(partial, np.nan, out["gap_ci_low"]),
        )
        out["gap_ci_high"] = np.where(
            keep_user,
            hlp - out["accuracy_ci_low"].to_numpy(float),
            np.where(partial, np.nan, out["gap_ci_high"]),
        )
    return out


def table_figures(
    correct: np.ndarray,
    tags: pd.DataFrame,
    known: pd.DataFrame,
    row_names: Mapping[str, str],
    *,
    untagged_row: str | None,
) -> pd.DataFrame:
    """Estimate every tag row (and the ``No tag`` row) of a table, keyed by row name.

    ``row_names`` maps tag -> its row name in the table (see
    :func:`core.slice_names.tag_slice_names`); ``untagged_row`` is the name of the row of
    examples with no tag (``None`` when the table has none).
    """
    figures = estimate_tag_figures(correct, tags, known)
    figures.index = pd.Index([row_names[str(t)] for t in tags.columns], dtype=object)
    if untagged_row is not None and tags.shape[1]:
        none, known_all = untagged_known(tags, known)
        extra = estimate_tag_figures(
            correct, pd.DataFrame({untagged_row: none}), pd.DataFrame({untagged_row: known_all})
        )
        figures = pd.concat([figures, extra])
    return figures


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
