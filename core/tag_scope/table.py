"""Per-tag figures in the per-slice metrics table: scopes of tag rows, estimates put in place.

A metrics table (:func:`core.metrics.compute_slice_metrics`) has one row per slice, tags
among them. This module decides each tag row's scope from the table's counts
(:func:`infer_row_scopes`), computes the figures of the rows whose scope needs no
per-example data (:func:`count_figures`) or of every tag row from the examples
(:func:`table_figures`), and writes the estimates into the table (:func:`apply_tag_figures`),
so that a partly known tag never shows a 0% accuracy or a gap it cannot support. The
estimator itself is in :mod:`core.tag_scope.figures`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from slicewise.core.errors import InvalidValueError
from slicewise.core.slice_names import UNTAGGED
from slicewise.core.tag_scope.figures import (
    estimate_tag_figures,
    figures_from_counts,
    untagged_known,
)

#: What a caller may say about a tag's base values (``auto`` infers it, see
#: :func:`infer_row_scopes`).
FILE_SCOPES = ("auto", "all", "errors")
#: :func:`infer_row_scopes` reads a blank-for-no tag that only errors carry as filled on
#: errors when a tag unrelated to the errors would be carried only by errors less often.
CHANCE_ALL_ERRORS = 0.01

#: Task metrics a partly known tag cannot give (they need every example of the slice).
_EXACT_ONLY = ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")
#: Estimated columns copied from the figures into the table's partly known rows.
_ESTIMATED = (
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


def count_figures(table: pd.DataFrame, scopes: Mapping[str, str]) -> pd.DataFrame:
    """Figures of tag rows whose scope is ``all`` or ``errors``, from a metrics table's counts.

    ``table`` is a :func:`core.metrics.compute_slice_metrics` table (``n`` and ``errors`` per
    row, ``All data`` first); ``scopes`` maps row name -> ``all`` or ``errors``. A scope
    needs no per-example data: ``all`` knows every example, ``errors`` every error and no
    correct one, so the engines that only count (DuckDB) give the same figures. Returns
    :func:`core.tag_scope.figures.figures_from_counts`'s frame indexed by row name.
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
            scope = _auto_scope(table, row, error_rate, blank=str(source) in blank)
        out[str(row)] = scope
    if UNTAGGED in table.index and out:
        out[UNTAGGED] = "errors" if "errors" in out.values() else "all"
    return out


def _auto_scope(table: pd.DataFrame, row: object, error_rate: float, *, blank: bool) -> str:
    """Return ``errors`` when a blank-for-no tag row is carried by errors only, beyond chance.

    Were the tag unrelated to the model's errors, all ``n`` carriers would be errors with
    probability ``error_rate ** n``; below :data:`CHANCE_ALL_ERRORS` the tag reads as filled
    on the errors only. Otherwise ``all``.
    """
    n = table.at[row, "n"] if row in table.index else 0
    errors = table.at[row, "errors"] if row in table.index else 0
    chance = error_rate**n if n > 0 else 1.0
    return "errors" if blank and n > 0 and errors == n and chance < CHANCE_ALL_ERRORS else "all"


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
    out = _with_exact_scope(table)
    rows = figures.index[(figures["scope"] != "all") & figures.index.isin(out.index)]
    if not len(rows):
        return out
    partial = out.index.isin(rows)
    _put_estimates(out, figures.loc[rows], rows)
    _settle_baseline(out, partial)
    for col in _EXACT_ONLY:
        for name in (col, f"{col}_ci_low", f"{col}_ci_high"):
            if name in out.columns:
                out.loc[partial, name] = np.nan
    return out


def _with_exact_scope(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``table`` with the scope columns as for exact rows.

    ``scope`` ``all``, ``reviewed`` = ``n``, ``max_gain`` = errors / all examples, and
    ``error_share``'s and ``share``'s intervals equal to the value.
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
    return out


def _put_estimates(out: pd.DataFrame, f: pd.DataFrame, rows: pd.Index) -> None:
    """Write the figures ``f`` of the partly known ``rows`` into ``out`` (in place).

    ``n`` becomes the tagged examples seen, ``errors`` the rounded estimate (``Int64``, NA
    where none), the estimated columns and ``error_rate = 1 − accuracy`` the estimates.
    """
    out["n"] = out["n"].astype(np.int64)
    out.loc[rows, "n"] = (f["tagged_errors"] + f["tagged_correct"]).to_numpy()
    out.loc[rows, "scope"] = f["scope"].to_numpy()
    out.loc[rows, "reviewed"] = f["reviewed"].to_numpy()
    est = f["errors_est"].to_numpy(dtype=float)
    out["errors"] = out["errors"].astype("Int64")
    out.loc[rows, "errors"] = pd.array(np.where(np.isnan(est), pd.NA, np.rint(est)), dtype="Int64")
    for col in _ESTIMATED:
        out.loc[rows, col] = f[col].to_numpy(dtype=float)
    out.loc[rows, "error_rate"] = 1 - f["accuracy"].to_numpy(dtype=float)


def _settle_baseline(out: pd.DataFrame, partial: np.ndarray) -> None:
    """Keep a typed HLP on sampled rows, drop every other baseline of partly known rows.

    In place. A user-given or target HLP on a ``sample`` row keeps its gap
    ``hlp − accuracy``, its potential gain ``gap × share``, its gap interval
    ``[hlp − accuracy_ci_high, hlp − accuracy_ci_low]`` and ``significant`` = the HLP lies
    outside the accuracy interval. Other partly known rows lose the HLP (``hlp_source``
    ``none``), the gap, its interval and test.
    """
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


def table_figures(
    correct: np.ndarray,
    tags: pd.DataFrame,
    known: pd.DataFrame,
    row_names: Mapping[str, str],
    *,
    untagged_row: str | None,
) -> pd.DataFrame:
    """Estimate every tag row (and the ``No tag`` row) of a table, keyed by row name.

    ``correct`` (length N), ``tags`` and ``known`` (N × tags) are as for
    :func:`estimate_tag_figures`; ``row_names`` maps tag -> its row name in the table (see
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
